//! The one experiment path of every domain command (`cargo xtask gan|lstm|mnist`): the flags
//! `--compare a,b,c` (optimizers), `--seeds N` or `--seeds a..b`, and `--sweep key=v1,v2,...`
//! (one optimizer setting, e.g. `sigma=0.01,0.1,1`) expand into runs named
//! `<optimizer>[-<key><value>]-seed<k>` ([`plan`], from the `run-plan` crate the `rl` binary shares); each runs through the domain binary with
//! `--optimizer O --seed K --name NAME [--config F] --runs DIR --domain D` (the flags of
//! `runs::session::RunArgs`, which every training binary takes), a finished run is skipped and
//! an interrupted one resumed, and then `report compare` writes `compare.md` and the plots for
//! the domain's headline metric ([`run`]).
//!
//! Why one place: every domain compares optimizers the same way (named runs, seeds, one swept
//! setting, mean ± std over seeds), so the names, the resume rules and the comparison files
//! are the same whichever domain produced them.
//!
//! A swept value is written as a TOML override file `<domain dir>/sweep-<key>-<value>.toml`
//! holding `key = value` (the value parsed as TOML; a bare word becomes a string), on top of the
//! settings of a `--config FILE` given after `--`, and passed to the run as `--config`.
//!
//! ```text
//! cargo xtask gan --dataset mnist --compare adam,sisa --seeds 3 -- --epochs 2
//! cargo xtask lstm --layers 1 --compare sisa --seeds 0..2 --sweep sigma=0.01,0.1 -- --epochs 2
//! cargo xtask mnist --compare adam,sisa --seeds 3 -- --examples 6400
//! ```
//!
//! The last one runs `adam-seed0`, `adam-seed1`, `adam-seed2`, `sisa-seed0`, ... under
//! `runs/mnist/` and writes `runs/mnist/compare.md` with `plots/compare_test_accuracy*.png`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use run_plan::override_toml;
pub use run_plan::{ended, plan, Ended, PlannedRun, Request};

use crate::cargo::run_checked;
use crate::report;
use crate::setup::Toolchain;

/// The flags that make a domain command an experiment, written once and flattened into
/// `cargo xtask mnist` and `cargo xtask lstm` (`#[command(flatten)]`).
#[derive(clap::Args, Debug, Default, Clone, PartialEq, Eq)]
pub struct ExperimentArgs {
    /// Optimizer of a single run (or the one swept when --compare is not given).
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
}

impl ExperimentArgs {
    /// The request these flags make, starting from the `--config` file `config`.
    pub fn request<'a>(&'a self, config: Option<&'a Path>) -> Request<'a> {
        Request {
            optimizer: &self.optimizer,
            compare: &self.compare,
            seeds: self.seeds.as_deref(),
            sweep: self.sweep.as_deref(),
            config,
        }
    }
}

/// Takes `--config FILE` (or `--config=FILE`) out of the arguments after `--`: an experiment
/// passes its own `--config` (the sweep's override file, written on top of that one).
pub fn take_config(rest: &[String]) -> (Option<PathBuf>, Vec<String>) {
    let (mut config, mut kept) = (None, Vec::new());
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        if arg == "--config" {
            config = it.next().map(PathBuf::from);
        } else if let Some(file) = arg.strip_prefix("--config=") {
            config = Some(PathBuf::from(file));
        } else {
            kept.push(arg.clone());
        }
    }
    (config, kept)
}

/// Refuses, in an experiment, arguments after `--` that the experiment sets per run.
///
/// # Errors
/// Naming the flag and the experiment flag to use instead.
pub fn check_rest(rest: &[String]) -> Result<()> {
    for (flag, instead) in [
        ("--optimizer", "--compare"),
        ("--seed", "--seeds"),
        ("--name", "the names <optimizer>[-<key><value>]-seed<k>"),
        ("--runs", "the command's own runs-directory flag"),
        ("--domain", "the command's domain folder"),
        (
            "--resume",
            "nothing: interrupted runs are resumed and finished ones skipped",
        ),
    ] {
        if rest
            .iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        {
            bail!("{flag} after `--` is set per run by --compare/--seeds/--sweep; use {instead}");
        }
    }
    Ok(())
}

/// The domain's headline metric, which `report compare` tabulates and plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headline<'a> {
    /// The metric column (`fid`, `valid/ppl`, `test/accuracy`).
    pub metric: &'a str,
    /// The x column (`step` or a metric such as `epoch`).
    pub x: &'a str,
    /// `min` or `max`.
    pub goal: &'a str,
}

/// Where the runs go: `<runs>/<domain>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    /// The runs directory (`--runs` of the binaries), absolute.
    pub runs: &'a Path,
    /// The domain folder under it (`--domain`).
    pub domain: &'a str,
}

impl Place<'_> {
    /// `<runs>/<domain>`.
    pub fn dir(&self) -> PathBuf {
        self.runs.join(self.domain)
    }
}

/// Runs one plain run (no `--compare`, `--seeds` or `--sweep`) of `optimizer` in `place`
/// through `launch` (the domain binary with its own arguments; this adds `--optimizer --runs
/// --domain [--config]`), for domains with several domain folders (fed's cells, vision's
/// models).
///
/// # Errors
/// When the run fails.
pub fn run_single(
    place: Place<'_>,
    optimizer: &str,
    config: Option<&Path>,
    launch: &dyn Fn() -> Result<Command>,
) -> Result<()> {
    let mut cmd = launch()?;
    cmd.args(["--optimizer", optimizer])
        .arg("--runs")
        .arg(place.runs)
        .args(["--domain", place.domain]);
    if let Some(file) = config {
        cmd.arg("--config").arg(file);
    }
    run_checked(&mut cmd)
}

/// Runs `runs` in `place` one after the other through `launch` (the domain binary with its
/// own arguments; this adds `--optimizer --seed --name [--config] --runs --domain`), skipping
/// finished runs and those stopped by a non-finite loss, resuming interrupted ones
/// (`--resume`), then writes the comparison of `headline` over the groups of `runs`; returns
/// `compare.md`. `base_config` (a `--config` file given after `--`) is what sweep files start
/// from.
///
/// # Errors
/// When a run fails (other than by a non-finite loss) or the comparison cannot be written.
pub fn run(
    toolchain: &Toolchain,
    place: Place<'_>,
    runs: &[PlannedRun],
    headline: Headline<'_>,
    base_config: Option<&Path>,
    launch: &dyn Fn() -> Result<Command>,
) -> Result<PathBuf> {
    let domain_dir = place.dir();
    std::fs::create_dir_all(&domain_dir)
        .with_context(|| format!("cannot create {}", domain_dir.display()))?;
    let base = match base_config {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read --config {}", file.display()))?
            .parse::<toml::Table>()
            .with_context(|| format!("--config {} is not TOML", file.display()))?,
        None => toml::Table::new(),
    };
    for planned in runs {
        let folder = domain_dir.join(&planned.name);
        match ended(&folder) {
            Ended::Finished => {
                eprintln!("xtask: {} is finished; skipped", folder.display());
                continue;
            }
            Ended::Diverged => {
                eprintln!(
                    "xtask: {} stopped on a non-finite loss or divergence; skipped (delete it to run it again)",
                    folder.display()
                );
                continue;
            }
            Ended::No => {}
        }
        let mut cmd = launch()?;
        cmd.args(["--optimizer", &planned.optimizer])
            .args(["--seed", &planned.seed.to_string()])
            .args(["--name", &planned.name])
            .arg("--runs")
            .arg(place.runs)
            .args(["--domain", place.domain]);
        if let (Some((key, value)), Some(file)) = (&planned.setting, &planned.config) {
            std::fs::write(file, override_toml(&base, key, value)?)
                .with_context(|| format!("cannot write {}", file.display()))?;
        }
        if let Some(file) = &planned.config {
            cmd.arg("--config").arg(file);
        }
        if folder.join("metrics.csv").exists() {
            cmd.arg("--resume");
        }
        if let Err(e) = run_checked(&mut cmd) {
            if ended(&folder) != Ended::Diverged {
                return Err(e.context(format!("the run {}", planned.name)));
            }
            eprintln!(
                "xtask: {} stopped on a non-finite loss or divergence; compared as it is",
                planned.name
            );
        }
    }
    let mut groups: Vec<&str> = Vec::new();
    for planned in runs {
        if !groups.contains(&planned.group()) {
            groups.push(planned.group());
        }
    }
    let written = report::compare(toolchain, &domain_dir, headline, &groups)?;
    println!("Comparison: {}", written.display());
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_arguments_of_an_experiment() {
        let rest: Vec<String> = ["--epochs", "2", "--config", "c.toml", "--device=cpu"]
            .map(String::from)
            .to_vec();
        let (config, kept) = take_config(&rest);
        assert_eq!(config, Some(PathBuf::from("c.toml")));
        assert_eq!(kept, ["--epochs", "2", "--device=cpu"]);
        let (config, _) = take_config(&["--config=d.toml".to_string()]);
        assert_eq!(config, Some(PathBuf::from("d.toml")));
        assert!(check_rest(&kept).is_ok());
        for bad in ["--seed", "--name=x", "--resume", "--optimizer"] {
            let e = check_rest(&[bad.to_string()]).unwrap_err().to_string();
            assert!(e.starts_with(bad.split('=').next().unwrap()), "{e}");
        }
    }
}
