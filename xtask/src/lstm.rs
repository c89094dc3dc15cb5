//! `cargo xtask lstm`: AWD-LSTM language models with PISA-family optimizers (crate `lstm`).
//!
//! - `cargo xtask lstm [--layers 3] [--optimizer sisa] [-- LSTM-ARGS]`: makes the PTB-like
//!   corpus when `--data` is not given (`cargo xtask data ptb-like`), builds the `lstm` binary
//!   in release mode and trains with the AWD-LSTM defaults (200 epochs: days on a CPU; pass
//!   `--epochs`, `--max-windows`, `--emb` for short runs). Arguments after `--` go to
//!   `lstm train` as they are (see `lstm train --help`), e.g. `-- --resume`.
//! - `--compare adam,adabelief,sisa` (with `--seeds N` and `--sweep key=v1,v2`: the one
//!   experiment path of `crate::experiment`): runs `<optimizer>[-<key><value>]-seed<k>` on the
//!   same corpus, then `runs/lstm-<layers>/compare.md`: validation perplexity curves (mean ± std
//!   over seeds, `plots/compare_valid_ppl*.png`) and the validation-selected test perplexity
//!   and the best test perplexity over epochs side by side, labelled with the corpus.
//! - `cargo xtask lstm sample --checkpoint DIR`: text from a checkpoint.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::cargo::{build_release, run_checked, run_release, Target};
use crate::data::{default_data_dir, ptb_like::ensure_ptb_like};
use crate::experiment::{self, plan, Headline, Request};
use crate::setup::{self, Toolchain};

/// Arguments of `cargo xtask lstm`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LstmArgs {
    #[command(subcommand)]
    command: Option<LstmCommand>,
    #[command(flatten)]
    train: TrainArgs,
}

/// The `lstm` subcommands besides training.
#[derive(Subcommand, Debug)]
enum LstmCommand {
    /// Generate text from a checkpoint.
    Sample(SampleArgs),
}

/// Arguments of a training run (or comparison).
#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// LSTM layers (1-3); also picks the presets `lstm-<layers>` (Table A.1).
    #[arg(long, default_value_t = 3)]
    pub layers: usize,
    /// Optimizer of a single run.
    #[arg(long, default_value = "sisa")]
    pub optimizer: String,
    /// Compare these optimizers (comma-separated) instead of one run.
    #[arg(long, value_delimiter = ',')]
    pub compare: Vec<String>,
    /// Seeds: N (0..N) or a..b, one run each.
    #[arg(long)]
    pub seeds: Option<String>,
    /// A grid over one optimizer setting, key=v1,v2,... (e.g. sigma=0.01,0.1,1).
    #[arg(long)]
    pub sweep: Option<String>,
    /// PTB-format corpus folder [default: DATA_DIR/ptb-like, built from the corpora].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
    /// More `lstm train` arguments.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// Arguments of `cargo xtask lstm sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// A checkpoint folder (`runs/lstm-<layers>/<name>/checkpoints/step-N`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Words to generate.
    #[arg(long, default_value_t = 100)]
    pub words: usize,
    /// Softmax temperature.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
}

/// Runs `cargo xtask lstm`.
pub fn run(args: &LstmArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    build_release(&toolchain, "lstm", Target::Bin("lstm"))?;
    match &args.command {
        Some(LstmCommand::Sample(sample)) => {
            let mut cmd = run_release(&toolchain, "lstm", Target::Bin("lstm"))?;
            cmd.arg("sample")
                .arg("--checkpoint")
                .arg(absolute(&sample.checkpoint)?);
            cmd.args(["--words", &sample.words.to_string()]);
            cmd.args(["--temperature", &sample.temperature.to_string()]);
            run_checked(&mut cmd)
        }
        None => train(&toolchain, &args.train).map(drop),
    }
}

/// A path made absolute against the current directory (cargo runs in the repository root).
fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()
        .context("cannot read the current directory")?
        .join(path))
}

/// Trains one optimizer or compares several; returns the domain folder `<runs>/lstm-<layers>`.
///
/// # Errors
/// When the corpus cannot be made, a run fails, or the report cannot be written.
pub fn train(toolchain: &Toolchain, args: &TrainArgs) -> Result<PathBuf> {
    let data = match &args.data {
        Some(dir) => absolute(dir)?,
        None => ensure_ptb_like(&default_data_dir()).context("making the PTB-like corpus")?,
    };
    let runs = absolute(&args.runs)?;
    let launch = || -> Result<std::process::Command> {
        let mut cmd = run_release(toolchain, "lstm", Target::Bin("lstm"))?;
        cmd.arg("train")
            .args(["--layers", &args.layers.to_string()])
            .arg("--data")
            .arg(&data)
            .arg("--runs")
            .arg(&runs)
            .args(&args.rest);
        Ok(cmd)
    };
    let domain = runs.join(format!("lstm-{}", args.layers));
    let request = Request {
        optimizer: &args.optimizer,
        compare: &args.compare,
        seeds: args.seeds.as_deref(),
        sweep: args.sweep.as_deref(),
    };
    if !request.is_experiment() {
        let mut cmd = launch()?;
        cmd.args(["--optimizer", &args.optimizer]);
        run_checked(&mut cmd).with_context(|| format!("the {} run", args.optimizer))?;
        return Ok(domain);
    }
    let planned = plan(&request)?;
    let headline = Headline {
        metric: "valid/ppl",
        x: "step",
        goal: "min",
    };
    let compare_md = experiment::run(toolchain, &domain, &planned, headline, &launch)?;
    let names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
    let table = compare_table(&domain, &names)?;
    let mut md = std::fs::read_to_string(&compare_md)
        .with_context(|| format!("cannot read {}", compare_md.display()))?;
    md += "\n## Test perplexity: honest and paper protocol\n\n";
    md += &table;
    std::fs::write(&compare_md, &md).with_context(|| format!("cannot write {}", compare_md.display()))?;
    print!("{table}");
    println!(
        "\nThe comparison (curves, mean ± std over seeds, this table): {}",
        compare_md.display()
    );
    Ok(domain)
}

/// The comparison table of the runs `<domain>/<optimizer>/summary.json`.
///
/// # Errors
/// When a summary is missing or unreadable.
pub fn compare_table(domain: &Path, optimizers: &[String]) -> Result<String> {
    let mut summaries = Vec::new();
    for optimizer in optimizers {
        let path = domain.join(optimizer).join("summary.json");
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let summary: Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
        summaries.push((optimizer.clone(), summary));
    }
    Ok(render_table(&summaries))
}

/// The Markdown table of `(name, summary.json)` pairs.
pub fn render_table(summaries: &[(String, Value)]) -> String {
    let corpus = summaries
        .first()
        .and_then(|(_, s)| s["corpus"].as_str())
        .unwrap_or("unknown corpus");
    let mut out = format!("Corpus: {corpus}\n\n");
    out += "| optimizer | layers | emb | epochs | steps | test ppl at best valid (honest) | best test ppl over epochs (paper protocol) | best valid ppl | train tokens/s |\n";
    out += "|---|---|---|---|---|---|---|---|---|\n";
    let num = |v: &Value, digits: usize| v.as_f64().map_or("–".to_owned(), |x| format!("{x:.digits$}"));
    for (name, s) in summaries {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} (epoch {}) | {} (epoch {}) | {} | {} |",
            s["layers"],
            s["emb"],
            s["epochs"],
            s["steps"],
            num(&s["test_ppl_at_best_valid"], 2),
            s["best_valid_epoch"],
            num(&s["best_test_ppl"], 2),
            s["best_test_epoch"],
            num(&s["best_valid_ppl"], 2),
            num(&s["train_tokens_per_s"], 0),
        );
    }
    out
}

/// The short 1-layer step of `cargo xtask demo`: SISA and Adam on the PTB-like corpus, a few
/// windows of a small model; returns the comparison table's path.
///
/// # Errors
/// As [`train`].
pub fn demo(toolchain: &Toolchain, runs: &Path) -> Result<PathBuf> {
    build_release(toolchain, "lstm", Target::Bin("lstm"))?;
    if runs.exists() {
        std::fs::remove_dir_all(runs).with_context(|| format!("cannot clear {}", runs.display()))?;
    }
    let args = TrainArgs {
        layers: 1,
        compare: vec!["sisa".into(), "adam".into()],
        runs: runs.to_path_buf(),
        rest: [
            "--emb",
            "200",
            "--epochs",
            "2",
            "--max-windows",
            "20",
            "--eval-tokens",
            "10000",
            "--test-batch",
            "10",
            "--threads",
            "2",
        ]
        .map(String::from)
        .to_vec(),
        ..TrainArgs::default()
    };
    Ok(train(toolchain, &args)?.join("compare.md"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: LstmArgs,
    }

    #[test]
    fn parses_train_compare_and_sample() {
        let cli = Cli::try_parse_from([
            "lstm",
            "--layers",
            "1",
            "--compare",
            "adam,sisa",
            "--",
            "--epochs",
            "2",
        ])
        .unwrap();
        assert!(cli.args.command.is_none());
        assert_eq!(cli.args.train.layers, 1);
        assert_eq!(cli.args.train.compare, ["adam", "sisa"]);
        assert_eq!(cli.args.train.rest, ["--epochs", "2"]);
        let cli = Cli::try_parse_from(["lstm", "sample", "--checkpoint", "runs/x"]).unwrap();
        assert!(
            matches!(cli.args.command, Some(LstmCommand::Sample(ref s)) if s.checkpoint == Path::new("runs/x"))
        );
        let cli = Cli::try_parse_from(["lstm"]).unwrap();
        assert_eq!(
            (cli.args.train.layers, cli.args.train.optimizer.as_str()),
            (3, "sisa")
        );
    }

    #[test]
    fn table_labels_the_corpus_and_both_perplexities() {
        let s = serde_json::json!({
            "corpus": "PTB-like", "layers": 1, "emb": 200, "epochs": 2, "steps": 40,
            "test_ppl_at_best_valid": 512.345, "best_valid_epoch": 2, "best_test_ppl": 500.0,
            "best_test_epoch": 1, "best_valid_ppl": 600.0, "train_tokens_per_s": 1234.4
        });
        let table = render_table(&[("sisa".into(), s)]);
        assert!(table.starts_with("Corpus: PTB-like\n"));
        assert!(
            table.contains(
                "| sisa | 1 | 200 | 2 | 40 | 512.35 (epoch 2) | 500.00 (epoch 1) | 600.00 | 1234 |"
            ),
            "{table}"
        );
        assert!(table.contains("honest") && table.contains("paper protocol"));
    }
}
