//! `cargo xtask gan`: WGAN / WGAN-GP with PISA-family optimizers and FID (crate `gan`).
//!
//! - `cargo xtask gan [--model wgan-gp] [--dataset cifar10] [--optimizer sisa] [-- GAN-ARGS]`:
//!   fetches what is missing (`cargo xtask data cifar10` or `data mnist`, and
//!   `data fid-inception`), builds the `gan` binary in release mode and trains with the paper's
//!   defaults (64×64 CIFAR-10, batch 64, 100 epochs, FID every 10 epochs on 6,400 fakes, final
//!   FID on 64,000: days on a CPU; pass e.g. `-- --epochs 2 --train-images 6400 --fid-samples 500
//!   --final-fid-samples 1000 --fid-real-samples 2000` for a short run). Arguments after `--` go
//!   to `gan train` as they are (see `gan train --help`), e.g. `-- --resume`.
//! - `--compare adam,rmsprop,adabelief,sisa --seeds 5` (`--runs 5` is the same; also
//!   `--seeds 2..5` and `--sweep key=v1,v2`: the one experiment path of `crate::experiment`):
//!   runs `<optimizer>[-<key><value>]-seed<k>` under `<runs-dir>/gan-<model>-<dataset>/`,
//!   skipping finished ones, then `report compare` on `fid` over epochs (goal min):
//!   `compare.md` with the final-FID table, `plots/compare_fid.png` (FID over epochs, mean ±
//!   std) and `plots/compare_fid_box.png` (box plot of the final FIDs).
//! - `cargo xtask gan sample --run runs/gan-wgan-gp-cifar10/sisa --n 64`: an image grid from the
//!   run's latest checkpoint (or `--checkpoint <run>/checkpoints/generator/step-N`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::cargo::{build_release, run_checked, run_release, Target};
use crate::data::default_data_dir;
use crate::experiment::{self, plan, Headline, Place, Request};
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
    /// Seeded runs per optimizer when comparing: an alias of `--seeds N` (seeds 0..N).
    #[arg(long, default_value_t = 1, conflicts_with = "seeds")]
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
    let runs_dir = absolute(&t.runs_dir)?;
    let train = |rest: &[String]| -> Result<std::process::Command> {
        let mut cmd = run_release(&toolchain, "gan", Target::Bin("gan"))?;
        cmd.args(["train", "--model", &t.model, "--dataset", &t.dataset]);
        cmd.args(rest);
        Ok(cmd)
    };
    let seeds = seeds(t)?;
    let (config, rest) = experiment::take_config(&t.rest);
    let config = config.map(|c| absolute(&c)).transpose()?;
    let request = Request {
        optimizer: &t.optimizer,
        compare: &t.compare,
        seeds: seeds.as_deref(),
        sweep: t.sweep.as_deref(),
        config: config.as_deref(),
    };
    if !request.is_experiment() {
        let mut cmd = train(&t.rest)?;
        cmd.args(["--optimizer", &t.optimizer]);
        cmd.arg("--runs").arg(&runs_dir).args(["--domain", &domain]);
        return run_checked(&mut cmd);
    }
    experiment::check_rest(&rest)?;
    let place = Place {
        runs: &runs_dir,
        domain: &domain,
    };
    let planned = plan(&request, &place.dir())?;
    let launch = || train(&rest);
    experiment::run(&toolchain, place, &planned, HEADLINE, config.as_deref(), &launch).map(drop)
}

/// The `--seeds` spec of `t`: `--seeds`, else `--runs N` as `N` when it asks for more than one.
fn seeds(t: &TrainArgs) -> Result<Option<String>> {
    match (&t.seeds, t.runs) {
        (Some(spec), _) => Ok(Some(spec.clone())),
        (None, 0) => anyhow::bail!("--runs 0: at least one run per optimizer"),
        (None, 1) => Ok(None),
        (None, n) => Ok(Some(n.to_string())),
    }
}

/// The GAN's headline metric: FID over epochs, lower is better.
const HEADLINE: Headline<'static> = Headline {
    metric: "fid",
    x: "epoch",
    goal: "min",
};

/// A path made absolute against the current directory (cargo runs in the repository root).
fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()?.join(path))
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
        assert_eq!(seeds(&cli.args.train).unwrap().as_deref(), Some("3"));
        let cli = Cli::try_parse_from(["gan", "sample", "--run", "runs/x/sisa", "--n", "16"]).unwrap();
        assert!(matches!(
            cli.args.command,
            Some(GanCommand::Sample(SampleArgs { n: 16, .. }))
        ));
    }

    #[test]
    fn runs_is_an_alias_of_seeds() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["gan"], args].concat()).map(|c| c.args.train);
        let t = parse(&["--seeds", "2..4", "--sweep", "sigma=0.1,1"]).unwrap();
        assert_eq!(seeds(&t).unwrap().as_deref(), Some("2..4"));
        assert_eq!(t.sweep.as_deref(), Some("sigma=0.1,1"));
        assert_eq!(seeds(&parse(&[]).unwrap()).unwrap(), None);
        assert!(seeds(&parse(&["--runs", "0"]).unwrap()).is_err());
        assert!(parse(&["--runs", "3", "--seeds", "2"]).is_err());
        let t = parse(&["--runs-dir", "runs/cmp"]).unwrap();
        assert_eq!(t.runs_dir, PathBuf::from("runs/cmp"));
    }
}
