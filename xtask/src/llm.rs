//! `cargo xtask llm <train|finetune|sample>`: GPT-2 with PISA-family optimizers (crate `llm`).
//!
//! - `train [--preset tiny] [--optimizer nsisa] [--compare adamw,muon,nsisa] [--seeds N]
//!   [--steps N] [--data DIR] [--runs DIR] [-- LLM-ARGS]`: makes the token shards when `--data`
//!   is not given (`cargo xtask data text`), builds the `llm` binary in release mode and trains
//!   one run (`runs/llm/<preset>-<optimizer>/`); with `--compare` and/or `--seeds`, the runs
//!   `<optimizer>-seed<k>` in `runs/llm-<preset>/` through the shared experiment path
//!   (`crate::experiment`: finished runs skipped, interrupted ones resumed, then `compare.md`
//!   and the validation-loss plots). Defaults fit a 2-core CPU in minutes
//!   per optimizer (tiny preset, 8 × 64 tokens per step). Arguments after `--` go to
//!   `llm train` as they are (see `llm train --help`).
//! - `finetune -- --from <hf dir> --data <text file> ...` and `sample -- --checkpoint <dir>
//!   --prompt ...`: `llm finetune` / `llm sample` with the given arguments.

use std::path::PathBuf;

use anyhow::{ensure, Result};
use clap::{Args, Subcommand};

use crate::cargo::{release_program, run_checked, Target};
use crate::data::{default_data_dir, text::ensure_text_shards};
use crate::experiment::{self, plan, Headline, Place, Request};
use crate::setup;

/// Arguments of `cargo xtask llm`.
#[derive(Args, Debug)]
pub struct LlmArgs {
    #[command(subcommand)]
    what: LlmCommand,
}

/// The `llm` subcommands.
#[derive(Subcommand, Debug)]
enum LlmCommand {
    /// Pre-train a GPT-2 preset (CPU: minutes with the defaults); `--compare` several optimizers.
    Train(Box<TrainArgs>),
    /// Fine-tune a Hugging Face checkpoint: arguments after `--` go to `llm finetune`.
    Finetune(PassArgs),
    /// Generate text: arguments after `--` go to `llm sample`.
    Sample(PassArgs),
}

/// Arguments of `cargo xtask llm train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Model preset (tiny, test, nano, gpt2, gpt2-medium, ...).
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Optimizer of a single run.
    #[arg(long, default_value = "nsisa")]
    pub optimizer: String,
    /// Compare these optimizers (comma-separated) instead of one run.
    #[arg(long, value_delimiter = ',')]
    pub compare: Vec<String>,
    /// Seeds: N (0..N) or a..b; with --compare or --seeds the runs are
    /// `<runs>/llm-<preset>/<optimizer>-seed<k>` through the shared experiment path (finished
    /// runs skipped, interrupted ones resumed, `compare.md` and plots of the validation loss).
    #[arg(long)]
    pub seeds: Option<String>,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
    /// Training steps.
    #[arg(long, default_value_t = 300)]
    pub steps: u64,
    /// Sequences per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Sequence length.
    #[arg(long, default_value_t = 64)]
    pub seq: usize,
    /// Validation tokens per evaluation (evaluations: every steps/10).
    #[arg(long, default_value_t = 4096)]
    pub val_tokens: usize,
    /// Token shards [default: DATA_DIR/text, made from the corpora].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Torch threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// `--nproc`, `--hostfile`: each run as MPI ranks, the nodes spread over them.
    #[command(flatten)]
    pub ranks: crate::mpi::RankArgs,
    /// More `llm train` arguments.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// Arguments passed through to the `llm` binary.
#[derive(Args, Debug)]
pub struct PassArgs {
    /// The `llm` arguments.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// Runs `cargo xtask llm`.
pub fn run(args: &LlmArgs) -> Result<()> {
    match &args.what {
        LlmCommand::Train(t) => train(t),
        LlmCommand::Finetune(p) => pass("finetune", &p.rest),
        LlmCommand::Sample(p) => pass("sample", &p.rest),
    }
}

/// `llm <sub> rest...`.
fn pass(sub: &str, rest: &[String]) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let mut cmd = release_program(&toolchain, "llm", Target::Bin("llm"))?;
    run_checked(cmd.arg(sub).args(rest))
}

/// The `llm` arguments every run of `t` shares: threads, preset, lengths, data, then the
/// arguments after `--`.
fn shared_args(t: &TrainArgs, data: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let head: Vec<String> = [
        "--threads",
        &t.threads.to_string(),
        "train",
        "--preset",
        &t.preset,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut tail: Vec<String> = [
        "--steps",
        &t.steps.to_string(),
        "--batch",
        &t.batch.to_string(),
        "--seq",
        &t.seq.to_string(),
        "--eval-every",
        &(t.steps / 10).max(1).to_string(),
        "--val-tokens",
        &t.val_tokens.to_string(),
        "--data",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    tail.push(data.display().to_string());
    tail.extend(t.rest.iter().cloned());
    (head, tail)
}

/// The `llm train` arguments of one plain run (`runs/llm/<preset>-<optimizer>/`).
pub fn train_args(t: &TrainArgs, optimizer: &str, data: &std::path::Path) -> Vec<String> {
    let (head, tail) = shared_args(t, data);
    let name = format!("{}-{optimizer}", t.preset);
    let own = ["--optimizer", optimizer, "--name", &name].map(String::from);
    [head, own.to_vec(), tail].concat()
}

/// The validation loss, lower is better: what an LLM comparison tabulates and plots.
const HEADLINE: Headline<'static> = Headline {
    metric: "val/loss",
    x: "step",
    goal: "min",
};

fn train(t: &TrainArgs) -> Result<()> {
    let data = match &t.data {
        Some(d) => d.clone(),
        None => ensure_text_shards(&default_data_dir(), None)?,
    };
    let toolchain = setup::ensure_toolchain()?;
    let request = Request {
        optimizer: &t.optimizer,
        compare: &t.compare,
        seeds: t.seeds.as_deref(),
        sweep: None,
        config: None,
    };
    if request.is_experiment() {
        experiment::check_rest(&t.rest)?;
        let runs = std::path::absolute(&t.runs)?;
        let domain = format!("llm-{}", t.preset);
        let place = Place {
            runs: &runs,
            domain: &domain,
        };
        let planned = plan(&request, &place.dir())?;
        let (head, tail) = shared_args(t, &data);
        let launch = || -> Result<std::process::Command> {
            let mut cmd = t.ranks.program(&toolchain, "llm", "llm")?;
            cmd.args(&head).args(&tail);
            Ok(cmd)
        };
        experiment::run(&toolchain, place, &planned, HEADLINE, None, &launch)?;
        return Ok(());
    }
    ensure!(!t.optimizer.is_empty(), "--optimizer: empty optimizer name");
    let mut cmd = t.ranks.program(&toolchain, "llm", "llm")?;
    cmd.args(train_args(t, &t.optimizer, &data));
    if t.runs != std::path::Path::new("runs") {
        cmd.arg("--runs").arg(std::path::absolute(&t.runs)?);
    }
    run_checked(&mut cmd)
}

/// The demo's tiny-GPT step: 40 NSISA steps (m = 4) of the `test` preset on the corpora's
/// shards, then a short greedy sample. Returns the run folder.
///
/// # Errors
/// When the data cannot be made or the runs fail.
pub fn demo(toolchain: &setup::Toolchain, runs: &std::path::Path) -> Result<PathBuf> {
    let data = ensure_text_shards(&default_data_dir(), None)?;
    if runs.exists() {
        std::fs::remove_dir_all(runs)?;
    }
    let mut cmd = release_program(toolchain, "llm", Target::Bin("llm"))?;
    cmd.args([
        "--threads",
        "2",
        "train",
        "--preset",
        "test",
        "--optimizer",
        "nsisa",
        "--name",
        "nsisa",
    ])
    .args([
        "--steps",
        "40",
        "--batch",
        "8",
        "--seq",
        "32",
        "--eval-every",
        "20",
        "--val-tokens",
        "4096",
    ])
    .arg("--data")
    .arg(&data)
    .arg("--runs")
    .arg(runs);
    run_checked(&mut cmd)?;
    let run = runs.join("llm").join("nsisa");
    let mut sample = crate::cargo::run_release(toolchain, "llm", Target::Bin("llm"))?;
    sample
        .args([
            "sample",
            "--prompt",
            "It was",
            "--max-new",
            "16",
            "--temperature",
            "0",
            "--checkpoint",
        ])
        .arg(&run);
    run_checked(&mut sample)?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: LlmArgs,
    }

    #[test]
    fn train_arguments_reach_the_binary() {
        let cli = Cli::parse_from([
            "x",
            "train",
            "--compare",
            "adamw,nsisa",
            "--steps",
            "50",
            "--",
            "--bf16",
        ]);
        let LlmCommand::Train(t) = cli.args.what else {
            panic!("train")
        };
        assert_eq!(t.compare, ["adamw", "nsisa"]);
        let a = train_args(&t, "nsisa", std::path::Path::new("d"));
        let s = a.join(" ");
        assert!(
            s.starts_with("--threads 2 train --preset tiny --optimizer nsisa --name tiny-nsisa --steps 50"),
            "{s}"
        );
        assert!(s.ends_with("--data d --bf16"), "{s}");
    }
}
