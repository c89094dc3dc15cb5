//! `cargo xtask fed`: federated runs (crate `fed`) over datasets × partitions, alone or
//! compared through the one experiment path (`crate::experiment`), and the paper's Table 2
//! layout over the cells.
//!
//! - `cargo xtask fed [--optimizer sisa] [--datasets mnist] [--partitions label:1] [-- FED-ARGS]`
//!   fetches each dataset when it is missing (`cargo xtask data <name>`), builds `fed` in release
//!   mode and trains one run per cell in `runs/fed-<dataset>-<partition>/<optimizer>/`
//!   (`label:1` → `label1`). Arguments after `--` go to `fed train` (`--clients`, `--rounds`,
//!   `--lr`, `--local-epochs`, `--threads`, ...).
//! - `--compare sisa,fedavg,fedprox,scaffold,fednova --seeds 3` (also `--sweep sigma=100,1000`)
//!   runs `<optimizer>[-<key><value>]-seed<k>` in every cell, skipping finished runs, writes each
//!   cell's `compare.md` (test accuracy over rounds, goal max), then `runs/fed-table.md`: rows
//!   the algorithms, columns the cells, entries best / final test accuracy mean ± std.
//! - `cargo xtask fed partition --dataset mnist --partition label:1 --clients 10 --out P.json`
//!   writes a partition's per-client label counts (`fed partition`).
//!
//! ```text
//! cargo xtask fed --compare sisa,fedavg,fedprox,scaffold,fednova --seeds 3 -- --rounds 50
//! cargo xtask fed --datasets mnist,fmnist,cifar10 --partitions label:1,label:2,label:3 --compare sisa,fedavg -- --rounds 20
//! cargo xtask fed --datasets a9a --compare sisa,fedavg -- --clients 4
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::cargo::run_checked;
use crate::experiment::{self, plan, ExperimentArgs, Headline, Place};
use crate::setup;

/// The federated headline: global test accuracy over rounds, higher is better.
const HEADLINE: Headline<'static> = Headline {
    metric: "test/accuracy",
    x: "step",
    goal: "max",
};

/// The datasets `fed` reads.
const DATASETS: [&str; 4] = ["mnist", "fmnist", "cifar10", "a9a"];

/// Arguments of `cargo xtask fed`.
#[derive(Args, Debug, Default, PartialEq, Eq)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FedArgs {
    /// `partition`: write a partition's label counts instead of training.
    #[command(subcommand)]
    pub command: Option<FedCommand>,
    /// `--optimizer`, `--compare`, `--seeds`, `--sweep`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// `--nproc`, `--hostfile`: each run as MPI ranks, the clients spread over them.
    #[command(flatten)]
    pub ranks: crate::mpi::RankArgs,
    /// Datasets (comma-separated): mnist, fmnist, cifar10, a9a.
    #[arg(long, value_delimiter = ',', default_value = "mnist")]
    pub datasets: Vec<String>,
    /// Partitions (comma-separated): iid, label:k, dir:β, quantity:β.
    #[arg(long, value_delimiter = ',', default_value = "label:1")]
    pub partitions: Vec<String>,
    /// Where run folders go (runs land in `<runs-dir>/fed-<dataset>-<partition>/`).
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// More `fed train` arguments.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// The subcommands of `cargo xtask fed`.
#[derive(Subcommand, Debug, PartialEq, Eq)]
pub enum FedCommand {
    /// `fed partition` with the arguments that follow (the dataset fetched when missing).
    Partition {
        /// `fed partition` arguments: `--dataset mnist --partition label:1 --clients 10 --seed 0
        /// --out P.json`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// One (dataset, partition) cell: its domain folder and its column label in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cell {
    dataset: String,
    partition: String,
}

impl Cell {
    /// `fed-<dataset>-<partition without ':'>`.
    fn domain(&self) -> String {
        format!("fed-{}-{}", self.dataset, self.partition.replace(':', ""))
    }

    /// `mnist #C=1` for label skew (the paper's notation), else `mnist dir:0.5`.
    fn label(&self) -> String {
        match self.partition.strip_prefix("label:") {
            Some(k) => format!("{} #C={k}", self.dataset),
            None => format!("{} {}", self.dataset, self.partition),
        }
    }
}

/// The cells of `args`, dataset-major; unknown datasets refused.
fn cells(args: &FedArgs) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    for dataset in &args.datasets {
        if !DATASETS.contains(&dataset.as_str()) {
            bail!(
                "--datasets: unknown dataset `{dataset}`; known: {}",
                DATASETS.join(", ")
            );
        }
        for partition in &args.partitions {
            if partition.is_empty() || partition.contains(['/', ' ']) {
                bail!("--partitions: `{partition}` is not a partition (iid, label:k, dir:β, quantity:β)");
            }
            cells.push(Cell {
                dataset: dataset.clone(),
                partition: partition.clone(),
            });
        }
    }
    Ok(cells)
}

/// Fetches `dataset` into the data directory when it is missing; returns its folder.
fn ensure_data(dataset: &str) -> Result<PathBuf> {
    let data_dir = crate::data::default_data_dir();
    match dataset {
        "mnist" => crate::data::ensure_mnist(&data_dir),
        "fmnist" => crate::data::fmnist::ensure(&data_dir),
        "cifar10" => crate::data::cifar10::ensure(&data_dir, None),
        "a9a" => crate::data::a9a::ensure_shared(&data_dir),
        other => bail!("unknown dataset `{other}`"),
    }
    .with_context(|| format!("fetching {dataset} (`cargo xtask data {dataset}`)"))
}

/// Whether `flag` (or `flag=...`) is among `rest`.
fn has_flag(rest: &[String], flag: &str) -> bool {
    rest.iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

/// The value after `flag` in `args` (`--flag v` or `--flag=v`).
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let prefix = format!("{flag}=");
    args.iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix(&prefix) {
            Some(v) => Some(v),
            None if a == flag => args.get(i + 1).map(String::as_str),
            None => None,
        })
}

/// Runs `cargo xtask fed`.
pub fn run(args: &FedArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if let Some(FedCommand::Partition { args: rest }) = &args.command {
        let mut cmd = fed_command(&toolchain, &crate::mpi::RankArgs::default(), "partition")?;
        if !has_flag(rest, "--data") {
            let dataset = flag_value(rest, "--dataset").unwrap_or("mnist");
            cmd.arg("--data").arg(cwd.join(ensure_data(dataset)?));
        }
        return run_checked(cmd.args(rest));
    }
    for flag in ["--dataset", "--partition"] {
        if has_flag(&args.rest, flag) {
            bail!("{flag} after `--`: use `cargo xtask fed {flag}s ...` (one run folder per cell)");
        }
    }
    let cells = cells(args)?;
    let runs_dir = cwd.join(&args.runs_dir);
    let (config, rest) = experiment::take_config(&args.rest);
    let config = config.map(|c| cwd.join(c));
    let request = args.experiment.request(config.as_deref());
    if request.is_experiment() {
        experiment::check_rest(&rest)?;
    }
    let mut table = Vec::new();
    for cell in &cells {
        let mut data = Vec::new();
        if !has_flag(&rest, "--data") {
            data = vec![
                "--data".into(),
                cwd.join(ensure_data(&cell.dataset)?).into_os_string(),
            ];
        }
        let domain = cell.domain();
        let launch = || -> Result<std::process::Command> {
            let mut cmd = fed_command(&toolchain, &args.ranks, "train")?;
            cmd.args(["--dataset", &cell.dataset, "--partition", &cell.partition])
                .args(&data)
                .args(&rest);
            Ok(cmd)
        };
        let place = Place {
            runs: &runs_dir,
            domain: &domain,
        };
        if !request.is_experiment() {
            experiment::run_single(place, &args.experiment.optimizer, config.as_deref(), &launch)?;
            continue;
        }
        let planned = plan(&request, &place.dir())?;
        experiment::run(&toolchain, place, &planned, HEADLINE, config.as_deref(), &launch)?;
        table.push((cell.label(), place.dir()));
    }
    if !table.is_empty() {
        let out = runs_dir.join("fed-table.md");
        let written = crate::report::grid(&toolchain, &table, HEADLINE, &out)?;
        println!(
            "xtask: the table over {} cell(s): {}",
            table.len(),
            written.display()
        );
    }
    Ok(())
}

/// `fed <subcommand>` (built in release mode first).
fn fed_command(
    toolchain: &setup::Toolchain,
    ranks: &crate::mpi::RankArgs,
    subcommand: &str,
) -> Result<std::process::Command> {
    let mut cmd = ranks.program(toolchain, "fed", "fed")?;
    cmd.arg(subcommand);
    Ok(cmd)
}

/// The runs a parsed `cargo xtask fed` would start in each cell, under `runs_dir`.
#[cfg(test)]
fn planned(args: &FedArgs, runs_dir: &std::path::Path) -> Result<Vec<(String, Vec<experiment::PlannedRun>)>> {
    let request = args.experiment.request(None);
    cells(args)?
        .into_iter()
        .map(|cell| Ok((cell.domain(), plan(&request, &runs_dir.join(cell.domain()))?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: FedArgs,
    }

    #[test]
    fn cells_name_their_folders_and_columns() {
        let cli = Cli::try_parse_from([
            "fed",
            "--datasets",
            "mnist,a9a",
            "--partitions",
            "label:1,dir:0.5",
            "--compare",
            "sisa,fedavg",
            "--seeds",
            "2",
            "--",
            "--rounds",
            "5",
        ])
        .unwrap();
        assert_eq!(cli.args.rest, ["--rounds", "5"]);
        let planned = planned(&cli.args, std::path::Path::new("/r")).unwrap();
        let domains: Vec<&str> = planned.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            domains,
            [
                "fed-mnist-label1",
                "fed-mnist-dir0.5",
                "fed-a9a-label1",
                "fed-a9a-dir0.5"
            ]
        );
        let names: Vec<&str> = planned[0].1.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["sisa-seed0", "sisa-seed1", "fedavg-seed0", "fedavg-seed1"]
        );
        let labels: Vec<String> = cells(&cli.args).unwrap().iter().map(Cell::label).collect();
        assert_eq!(labels, ["mnist #C=1", "mnist dir:0.5", "a9a #C=1", "a9a dir:0.5"]);

        let cli = Cli::try_parse_from(["fed", "--datasets", "imagenet"]).unwrap();
        assert!(cells(&cli.args)
            .unwrap_err()
            .to_string()
            .contains("unknown dataset `imagenet`"));
        let cli = Cli::try_parse_from(["fed", "partition", "--dataset", "a9a", "--clients", "4"]).unwrap();
        let Some(FedCommand::Partition { args }) = &cli.args.command else {
            panic!("partition parsed as {:?}", cli.args.command);
        };
        assert_eq!(flag_value(args, "--dataset"), Some("a9a"));
        assert_eq!(
            flag_value(&["--dataset=fmnist".to_string()], "--dataset"),
            Some("fmnist")
        );
        let cli = Cli::try_parse_from(["fed"]).unwrap();
        assert_eq!(cli.args.experiment.optimizer, "sisa");
        assert_eq!(cells(&cli.args).unwrap()[0].domain(), "fed-mnist-label1");
    }
}
