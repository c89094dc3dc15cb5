//! `cargo xtask lstm`: AWD-LSTM language models with PISA-family optimizers (crate `lstm`).
//!
//! - `cargo xtask lstm [--layers 3] [--optimizer sisa] [-- LSTM-ARGS]`: makes the PTB-like
//!   corpus when `--data` is not given (`cargo xtask data ptb-like`), builds the `lstm` binary
//!   in release mode and trains with the AWD-LSTM defaults (200 epochs: days on a CPU; pass
//!   `--epochs`, `--max-windows`, `--emb` for short runs). Arguments after `--` go to
//!   `lstm train` as they are (see `lstm train --help`), e.g. `-- --resume`.
//! - `--compare adam,adabelief,sisa` (with `--seeds N|a..b` and `--sweep key=v1,v2`: the one
//!   experiment path of `crate::experiment`): runs `<optimizer>[-<key><value>]-seed<k>` on the
//!   same corpus, skipping finished ones, then `runs/lstm-<layers>/compare.md` from `report
//!   compare` on `valid/ppl` over steps (goal min; mean ± std over seeds,
//!   `plots/compare_valid_ppl*.png`), followed by the validation-selected (honest) test
//!   perplexity and the best test perplexity over epochs (paper protocol), per group (mean ±
//!   std over seeds) and per run, labelled with the corpus. E.g. `cargo xtask lstm --layers 1
//!   --compare adam,sisa --seeds 3 -- --epochs 2 --max-windows 20`.
//! - `cargo xtask lstm sample --checkpoint DIR`: text from a checkpoint.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Deserialize;

use crate::cargo::{build_release, run_checked, run_release, Target};
use crate::data::{default_data_dir, ptb_like::ensure_ptb_like};
use crate::experiment::{self, plan, ExperimentArgs, Headline, Place};
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
    /// `--optimizer`, `--compare`, `--seeds`, `--sweep`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
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
    let train = |rest: &[String]| -> Result<std::process::Command> {
        let mut cmd = run_release(toolchain, "lstm", Target::Bin("lstm"))?;
        cmd.arg("train")
            .args(["--layers", &args.layers.to_string()])
            .arg("--data")
            .arg(&data)
            .args(rest);
        Ok(cmd)
    };
    let domain_name = format!("lstm-{}", args.layers);
    let domain = runs.join(&domain_name);
    let (config, rest) = experiment::take_config(&args.rest);
    let config = config.map(|c| absolute(&c)).transpose()?;
    let request = args.experiment.request(config.as_deref());
    if !request.is_experiment() {
        let mut cmd = train(&args.rest)?;
        cmd.args(["--optimizer", &args.experiment.optimizer])
            .arg("--runs")
            .arg(&runs);
        run_checked(&mut cmd).with_context(|| format!("the {} run", args.experiment.optimizer))?;
        return Ok(domain);
    }
    experiment::check_rest(&rest)?;
    let place = Place {
        runs: &runs,
        domain: &domain_name,
    };
    let planned = plan(&request, &domain)?;
    let launch = || train(&rest);
    let compare_md = experiment::run(toolchain, place, &planned, HEADLINE, config.as_deref(), &launch)?;
    let names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
    let table = compare_table(&domain, &names)?;
    let mut md = std::fs::read_to_string(&compare_md)
        .with_context(|| format!("cannot read {}", compare_md.display()))?;
    md += "\n## Test perplexity: honest and paper protocol\n\n";
    md += &table;
    std::fs::write(&compare_md, &md).with_context(|| format!("cannot write {}", compare_md.display()))?;
    print!("{table}");
    println!(
        "\nThe comparison (curves, mean ± std over seeds, these tables): {}",
        compare_md.display()
    );
    Ok(domain)
}

/// The LSTM's headline metric: validation perplexity over steps, lower is better.
const HEADLINE: Headline<'static> = Headline {
    metric: "valid/ppl",
    x: "step",
    goal: "min",
};

/// The fields of an LSTM run's `summary.json` the tables show (the `lstm` crate's `Figures`,
/// flattened into the summary, plus its `steps`); every one optional, since a run stopped by a
/// non-finite loss has no figures.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LstmSummary {
    /// What the corpus is (real PTB and PTB-like numbers must not be mixed).
    pub corpus: Option<String>,
    /// LSTM layers.
    pub layers: Option<u64>,
    /// Embedding size.
    pub emb: Option<u64>,
    /// Epochs done.
    pub epochs: Option<u64>,
    /// Training steps done.
    pub steps: Option<u64>,
    /// Best validation perplexity over epochs.
    pub best_valid_ppl: Option<f64>,
    /// Its epoch.
    pub best_valid_epoch: Option<u64>,
    /// Test perplexity at the best validation epoch: the honest number.
    pub test_ppl_at_best_valid: Option<f64>,
    /// Best test perplexity over epochs: the protocol of the authors' scripts.
    pub best_test_ppl: Option<f64>,
    /// Its epoch.
    pub best_test_epoch: Option<u64>,
    /// Training tokens per second.
    pub train_tokens_per_s: Option<f64>,
}

/// Reads `<domain>/<name>/summary.json` of every run in `names`, typed.
///
/// # Errors
/// When a summary is missing or not a summary.
fn read_summaries(domain: &Path, names: &[String]) -> Result<Vec<(String, LstmSummary)>> {
    names
        .iter()
        .map(|name| {
            let path = domain.join(name).join("summary.json");
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let summary = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an LSTM run summary", path.display()))?;
            Ok((name.clone(), summary))
        })
        .collect()
}

/// The perplexity tables of the runs `<domain>/<name>/summary.json`: per group (mean ± std
/// over seeds), then per run.
///
/// # Errors
/// When a summary is missing or unreadable.
pub fn compare_table(domain: &Path, names: &[String]) -> Result<String> {
    let summaries = read_summaries(domain, names)?;
    Ok(format!(
        "{}\n{}",
        render_group_table(&summaries),
        render_rows(&summaries)
    ))
}

/// The Markdown table of `(name, summary.json)` pairs, read as [`LstmSummary`] (a summary
/// that is not one shows dashes).
#[cfg(test)]
pub fn render_table(summaries: &[(String, serde_json::Value)]) -> String {
    let typed: Vec<(String, LstmSummary)> = summaries
        .iter()
        .map(|(name, s)| {
            (
                name.clone(),
                serde_json::from_value(s.clone()).unwrap_or_default(),
            )
        })
        .collect();
    render_rows(&typed)
}

/// A number with `digits` decimals, `–` when absent.
fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_owned(), |x| format!("{x:.digits$}"))
}

/// An optional integer, `–` when absent.
fn int(v: Option<u64>) -> String {
    v.map_or("–".to_owned(), |x| x.to_string())
}

/// The corpus line of the tables: the first run's corpus.
fn corpus_line(summaries: &[(String, LstmSummary)]) -> String {
    let corpus = summaries
        .iter()
        .find_map(|(_, s)| s.corpus.as_deref())
        .unwrap_or("unknown corpus");
    format!("Corpus: {corpus}\n\n")
}

/// One row per run: the honest and the paper-protocol test perplexity with their epochs.
fn render_rows(summaries: &[(String, LstmSummary)]) -> String {
    let mut out = corpus_line(summaries);
    out += "| optimizer | layers | emb | epochs | steps | test ppl at best valid (honest) | best test ppl over epochs (paper protocol) | best valid ppl | train tokens/s |\n";
    out += "|---|---|---|---|---|---|---|---|---|\n";
    for (name, s) in summaries {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} (epoch {}) | {} (epoch {}) | {} | {} |",
            int(s.layers),
            int(s.emb),
            int(s.epochs),
            int(s.steps),
            num(s.test_ppl_at_best_valid, 2),
            int(s.best_valid_epoch),
            num(s.best_test_ppl, 2),
            int(s.best_test_epoch),
            num(s.best_valid_ppl, 2),
            num(s.train_tokens_per_s, 0),
        );
    }
    out
}

/// Mean ± sample std of the present values, and how many there are.
fn mean_std(values: &[Option<f64>]) -> String {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    if v.is_empty() {
        return "–".into();
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    format!("{m:.2} ± {sd:.2}")
}

/// One row per group (`<group>-seed<k>` runs): the honest and the paper-protocol test
/// perplexity, mean ± sample std over its seeds.
fn render_group_table(summaries: &[(String, LstmSummary)]) -> String {
    let mut groups: Vec<(&str, Vec<&LstmSummary>)> = Vec::new();
    for (name, s) in summaries {
        let group = name.rsplit_once("-seed").map_or(name.as_str(), |(g, _)| g);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, runs)) => runs.push(s),
            None => groups.push((group, vec![s])),
        }
    }
    let mut out = corpus_line(summaries);
    out += "| group | seeds | test ppl at best valid (honest) mean ± std | best test ppl over epochs (paper protocol) mean ± std |\n";
    out += "|---|---|---|---|\n";
    for (group, runs) in groups {
        let honest: Vec<Option<f64>> = runs.iter().map(|s| s.test_ppl_at_best_valid).collect();
        let paper: Vec<Option<f64>> = runs.iter().map(|s| s.best_test_ppl).collect();
        let _ = writeln!(
            out,
            "| {group} | {} | {} | {} |",
            runs.len(),
            mean_std(&honest),
            mean_std(&paper)
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
        experiment: ExperimentArgs {
            compare: vec!["sisa".into(), "adam".into()],
            ..ExperimentArgs::default()
        },
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
        assert_eq!(cli.args.train.experiment.compare, ["adam", "sisa"]);
        assert_eq!(cli.args.train.rest, ["--epochs", "2"]);
        let cli = Cli::try_parse_from(["lstm", "sample", "--checkpoint", "runs/x"]).unwrap();
        assert!(
            matches!(cli.args.command, Some(LstmCommand::Sample(ref s)) if s.checkpoint == Path::new("runs/x"))
        );
        let cli = Cli::try_parse_from(["lstm"]).unwrap();
        assert_eq!(
            (
                cli.args.train.layers,
                cli.args.train.experiment.optimizer.as_str()
            ),
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

    #[test]
    fn groups_average_the_perplexities_over_seeds() {
        let run = |honest: f64, paper: f64| LstmSummary {
            corpus: Some("PTB-like".into()),
            test_ppl_at_best_valid: Some(honest),
            best_test_ppl: Some(paper),
            ..LstmSummary::default()
        };
        let summaries = vec![
            ("adam-seed0".to_string(), run(110.0, 100.0)),
            ("adam-seed1".to_string(), run(130.0, 120.0)),
            ("sisa-sigma0.1-seed0".to_string(), LstmSummary::default()),
        ];
        let table = render_group_table(&summaries);
        assert!(table.starts_with("Corpus: PTB-like\n"), "{table}");
        assert!(
            table.contains("| adam | 2 | 120.00 ± 14.14 | 110.00 ± 14.14 |"),
            "{table}"
        );
        assert!(table.contains("| sisa-sigma0.1 | 1 | – | – |"), "{table}");
        let rows = render_rows(&summaries);
        assert!(
            rows.contains("| sisa-sigma0.1-seed0 | – | – | – | – | – (epoch –) |"),
            "{rows}"
        );
    }

    #[test]
    fn summaries_are_read_typed() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("sisa-seed0");
        std::fs::create_dir_all(&run).unwrap();
        let json = r#"{"status": "finished", "optimizer": "sisa", "nodes": 4, "seed": 0, "steps": 40,
            "wall_time_s": 1.0, "corpus": "PTB-like", "split": "time", "layers": 1, "emb": 200,
            "hidden": 200, "parameters": 10, "batch": 20, "epochs": 2, "best_valid_ppl": 600.0,
            "best_valid_epoch": 2, "test_ppl_at_best_valid": 512.345, "best_test_ppl": 500.0,
            "best_test_epoch": 1, "train_tokens_per_s": 1234.4}"#;
        std::fs::write(run.join("summary.json"), json).unwrap();
        let table = compare_table(dir.path(), &["sisa-seed0".into()]).unwrap();
        assert!(
            table.contains(
                "| sisa-seed0 | 1 | 200 | 2 | 40 | 512.35 (epoch 2) | 500.00 (epoch 1) | 600.00 | 1234 |"
            ),
            "{table}"
        );
        let err = compare_table(dir.path(), &["adam-seed0".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("adam-seed0"), "{err}");
        std::fs::write(run.join("summary.json"), r#"{"steps": "many"}"#).unwrap();
        let err = format!(
            "{:#}",
            compare_table(dir.path(), &["sisa-seed0".into()]).unwrap_err()
        );
        assert!(err.contains("not an LSTM run summary"), "{err}");
    }

    #[test]
    fn seeds_and_sweep_parse() {
        let cli = Cli::try_parse_from([
            "lstm",
            "--compare",
            "sisa",
            "--seeds",
            "0..3",
            "--sweep",
            "sigma=0.5,1",
        ])
        .unwrap();
        assert_eq!(cli.args.train.experiment.seeds.as_deref(), Some("0..3"));
        assert_eq!(cli.args.train.experiment.sweep.as_deref(), Some("sigma=0.5,1"));
    }
}
