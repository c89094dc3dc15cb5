//! `cargo xtask gan`: WGAN / WGAN-GP with PISA-family optimizers and FID (crate `gan`).
//!
//! - `cargo xtask gan [--model wgan-gp] [--dataset cifar10] [--optimizer sisa] [-- GAN-ARGS]`:
//!   fetches what is missing (`cargo xtask data cifar10` or `data mnist`, and
//!   `data fid-inception`), builds the `gan` binary in release mode and trains with the paper's
//!   defaults (64×64 CIFAR-10, batch 64, 100 epochs, FID every 10 epochs on 6,400 fakes, final
//!   FID on 64,000: days on a CPU; pass e.g. `-- --epochs 2 --train-images 6400 --fid-samples 500
//!   --final-fid-samples 1000 --fid-real-samples 2000` for a short run). Arguments after `--` go
//!   to `gan train` as they are (see `gan train --help`), e.g. `-- --resume`.
//! - `--compare adam,rmsprop,adabelief,sisa --runs 5` (or `--seeds 5`, `--seeds 2..5`, and
//!   `--sweep key=v1,v2`: the one experiment path of `crate::experiment`): runs
//!   `<optimizer>[-<key><value>]-seed<k>`, skipping finished ones, then `report compare`:
//!   `runs/gan-<model>-<dataset>/compare.md`
//!   with the final-FID table, `plots/compare_fid.png` (FID over epochs, mean ± std) and
//!   `plots/compare_fid_box.png` (box plot of the final FIDs).
//! - `cargo xtask gan sample --run runs/gan-wgan-gp-cifar10/sisa --n 64`: an image grid from the
//!   run's latest checkpoint (or `--checkpoint <run>/checkpoints/generator/step-N`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::cargo::{build_release, run_checked, run_release, Target};
use crate::data::default_data_dir;
use crate::experiment::{self, plan, Headline, Request};
use crate::setup;

/// Arguments of `cargo xtask gan`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GanArgs {
    #[command(subcommand)]
    command: Option<GanCommand>,
    #[command(flatten)]
    train: TrainArgs,
}

/// The `gan` subcommands besides training.
#[derive(Subcommand, Debug)]
enum GanCommand {
    /// An image grid from a checkpoint.
    Sample(SampleArgs),
}

/// Arguments of a training run (or comparison).
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// wgan or wgan-gp.
    #[arg(long, default_value = "wgan-gp")]
    pub model: String,
    /// cifar10, mnist or folder (with `-- --data DIR`).
    #[arg(long, default_value = "cifar10")]
    pub dataset: String,
    /// Optimizer of a single run.
    #[arg(long, default_value = "sisa")]
    pub optimizer: String,
    /// Compare these optimizers (comma-separated) instead of one run.
    #[arg(long, value_delimiter = ',')]
    pub compare: Vec<String>,
    /// Seeded runs per optimizer when comparing (seeds 0..runs; `--seeds` says the same).
    #[arg(long, default_value_t = 1)]
    pub runs: u64,
    /// Seeds: N (0..N) or a..b, one run each (overrides --runs).
    #[arg(long)]
    pub seeds: Option<String>,
    /// A grid over one optimizer setting, key=v1,v2,... (e.g. sigma=0.01,0.1,1).
    #[arg(long)]
    pub sweep: Option<String>,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// More `gan train` arguments.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// Arguments of `cargo xtask gan sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// A run folder (its latest checkpoint is used).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// A checkpoint folder `<run>/checkpoints/generator/step-N`.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Number of images.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Output PNG (default: `<run>/plots/samples-step-N.png`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `cargo xtask gan`.
pub fn run(args: &GanArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    if let Some(GanCommand::Sample(s)) = &args.command {
        build_release(&toolchain, "gan", Target::Bin("gan"))?;
        let mut cmd = run_release(&toolchain, "gan", Target::Bin("gan"))?;
        cmd.args(["sample", "--n", &s.n.to_string()]);
        for (flag, value) in [
            ("--run", &s.run),
            ("--checkpoint", &s.checkpoint),
            ("--out", &s.out),
        ] {
            if let Some(v) = value {
                cmd.arg(flag).arg(v);
            }
        }
        return run_checked(&mut cmd);
    }
    let t = &args.train;
    let data_dir = default_data_dir();
    let has = |flag: &str| {
        t.rest
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    if !has("--data") {
        match t.dataset.as_str() {
            "cifar10" => drop(crate::data::cifar10::ensure(&data_dir, None)?),
            "mnist" => drop(crate::data::ensure_mnist(&data_dir)?),
            _ => {}
        }
    }
    if !has("--inception") {
        crate::data::fid_inception::ensure(&data_dir)?;
    }
    build_release(&toolchain, "gan", Target::Bin("gan"))?;
    let domain = format!("gan-{}-{}", t.model, t.dataset);
    let launch = || -> Result<std::process::Command> {
        let mut cmd = run_release(&toolchain, "gan", Target::Bin("gan"))?;
        cmd.args(["train", "--model", &t.model, "--dataset", &t.dataset]);
        cmd.arg("--runs").arg(&t.runs_dir).args(["--domain", &domain]);
        cmd.args(&t.rest);
        Ok(cmd)
    };
    let runs = (t.runs > 1).then(|| t.runs.to_string());
    let request = Request {
        optimizer: &t.optimizer,
        compare: &t.compare,
        seeds: t.seeds.as_deref().or(runs.as_deref()),
        sweep: t.sweep.as_deref(),
    };
    if !request.is_experiment() {
        let mut cmd = launch()?;
        cmd.args(["--optimizer", &t.optimizer]);
        return run_checked(&mut cmd);
    }
    let headline = Headline {
        metric: "fid",
        x: "epoch",
        goal: "min",
    };
    let domain_dir = absolute(&t.runs_dir)?.join(&domain);
    experiment::run(&toolchain, &domain_dir, &plan(&request)?, headline, &launch).map(drop)
}

/// A path made absolute against the current directory (cargo runs in the repository root).
fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()?.join(path))
}

/// The demo step: a short WGAN-GP run with SISA (m = 2) on MNIST: 6,400 images, 1 epoch, 20
/// generator iterations of 5 critic iterations (base width 32), then the FID of 100 generated
/// images against 200 real ones (reference statistics cached after the first demo). On two CPU
/// cores this takes a few minutes, most of it in the Inception network; the FID of so few
/// samples is strongly biased and only shows that the pipeline works. Writes `out/sisa/`
/// (sample grids in `plots/`, TensorBoard in `tb/`); returns the last sample grid.
///
/// # Errors
/// When fetching MNIST or the FID network, the build or the run fails.
pub fn demo(toolchain: &setup::Toolchain, out: &std::path::Path) -> Result<PathBuf> {
    let data_dir = default_data_dir();
    crate::data::ensure_mnist(&data_dir)?;
    crate::data::fid_inception::ensure(&data_dir)?;
    build_release(toolchain, "gan", Target::Bin("gan"))?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| anyhow::anyhow!("cannot clear {}: {e}", out.display()))?;
    }
    let (runs, domain) = (
        out.parent().unwrap_or(std::path::Path::new(".")),
        out.file_name().unwrap_or_default().to_string_lossy().into_owned(),
    );
    let mut cmd = run_release(toolchain, "gan", Target::Bin("gan"))?;
    cmd.args([
        "train",
        "--model",
        "wgan-gp",
        "--dataset",
        "mnist",
        "--optimizer",
        "sisa",
    ])
    .arg("--runs")
    .arg(runs)
    .args([
        "--domain",
        &domain,
        "--base",
        "32",
        "--train-images",
        "6400",
        "--epochs",
        "1",
    ])
    .args([
        "--fid-every",
        "0",
        "--final-fid-samples",
        "100",
        "--fid-real-samples",
        "200",
        "--device",
        "cpu",
    ]);
    run_checked(&mut cmd)?;
    Ok(out.join("sisa").join("plots").join("samples-epoch-0001.png"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: GanArgs,
    }

    #[test]
    fn parses_training_comparison_and_sample() {
        let cli = Cli::try_parse_from([
            "gan",
            "--dataset",
            "mnist",
            "--compare",
            "adam,sisa",
            "--runs",
            "3",
            "--",
            "--epochs",
            "2",
        ])
        .unwrap();
        assert_eq!(cli.args.train.compare, ["adam", "sisa"]);
        assert_eq!(cli.args.train.runs, 3);
        assert_eq!(cli.args.train.rest, ["--epochs", "2"]);
        let cli = Cli::try_parse_from(["gan", "sample", "--run", "runs/x/sisa", "--n", "16"]).unwrap();
        assert!(matches!(
            cli.args.command,
            Some(GanCommand::Sample(SampleArgs { n: 16, .. }))
        ));
    }
}
