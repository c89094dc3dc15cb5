//! `cargo xtask vision`: the paper's image classifiers (crate `vision`, paper §5.2 / Table 3),
//! one run or a comparison through the one experiment path (`crate::experiment`).
//!
//! - `cargo xtask vision [--models resnet34] [--optimizer sisa] [-- VISION-ARGS]` fetches
//!   CIFAR-10 when it is missing (`cargo xtask data cifar10`), builds `vision` in release mode
//!   and trains one run per model in `runs/vision-<model>/<optimizer>/`. Arguments after `--`
//!   go to `vision train` (`--epochs`, `--examples`, `--valid`, `--test-examples`,
//!   `--schedule`, `--threads`, ...).
//! - `--compare sgd,adam,adamw,adabelief,sisa --seeds 2` (also `--sweep sigma=0.1,1`) runs
//!   `<optimizer>[-<key><value>]-seed<k>` per model, skipping finished runs, writes each model's
//!   `compare.md` (test accuracy over steps, goal max) with the Table 3 figures appended — the
//!   paper's metric (best test accuracy over epochs) beside the honest ones (final epoch; test
//!   accuracy at the best validation epoch), mean ± std over seeds — then `runs/vision-table.md`
//!   (rows the optimizers, columns the models, best / final test accuracy).
//! - `cargo xtask vision params --model densenet121`: the model's parameter count.
//!
//! ```text
//! cargo xtask vision --models vgg11 --compare sgd,adam,adabelief,sisa --seeds 2 -- --epochs 4 --examples 5000 --valid 1000 --test-examples 2000
//! ```

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::cargo::{build_release, run_checked, run_release, Target};
use crate::experiment::{self, plan, ExperimentArgs, Headline, Place};
use crate::setup;
use crate::tables::{self, Column};

/// The vision headline: test accuracy over steps, higher is better.
const HEADLINE: Headline<'static> = Headline {
    metric: "test/accuracy",
    x: "step",
    goal: "max",
};

/// The models `vision train` takes (`resnet18-imagenet` with `-- --dataset imagenet --data DIR`).
const MODELS: [&str; 6] = [
    "vgg11",
    "resnet18",
    "resnet34",
    "densenet121",
    "vgg-tiny",
    "resnet18-imagenet",
];

/// The Table 3 columns of a comparison, from each run's `summary.json`.
const COLUMNS: [Column<'static>; 5] = [
    Column {
        title: "best test acc % (paper's metric)",
        field: "best_test_accuracy",
        scale: 100.0,
        digits: 2,
    },
    Column {
        title: "final test acc %",
        field: "final_test_accuracy",
        scale: 100.0,
        digits: 2,
    },
    Column {
        title: "test acc % at best valid (honest)",
        field: "test_accuracy_at_best_valid",
        scale: 100.0,
        digits: 2,
    },
    Column {
        title: "epochs",
        field: "epochs",
        scale: 1.0,
        digits: 0,
    },
    Column {
        title: "train images/s",
        field: "train_images_per_s",
        scale: 1.0,
        digits: 0,
    },
];

/// Arguments of `cargo xtask vision`.
#[derive(Args, Debug, Default, PartialEq, Eq)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VisionArgs {
    /// `params`: a model's parameter count.
    #[command(subcommand)]
    pub command: Option<VisionCommand>,
    /// `--optimizer`, `--compare`, `--seeds`, `--sweep`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Models (comma-separated): vgg11, resnet18, resnet34, densenet121, vgg-tiny,
    /// resnet18-imagenet.
    #[arg(long, value_delimiter = ',', default_value = "resnet34")]
    pub models: Vec<String>,
    /// Where run folders go (runs land in `<runs-dir>/vision-<model>/`).
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// More `vision train` arguments.
    #[arg(last = true)]
    pub rest: Vec<String>,
}

/// The subcommands of `cargo xtask vision`.
#[derive(Subcommand, Debug, PartialEq, Eq)]
pub enum VisionCommand {
    /// `vision params` with the arguments that follow (`--model NAME [--list]`).
    Params {
        /// `vision params` arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Runs `cargo xtask vision`.
///
/// # Errors
/// An unknown model, a flag that belongs before `--`, a failed build or run, or a table that
/// cannot be written.
pub fn run(args: &VisionArgs) -> Result<()> {
    if let Some(model) = args.models.iter().find(|m| !MODELS.contains(&m.as_str())) {
        bail!("--models: unknown model `{model}`; known: {}", MODELS.join(", "));
    }
    let has = |flag: &str| (args.rest.iter()).any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    if has("--model") {
        bail!("--model after `--`: use `cargo xtask vision --models ...` (one run folder per model)");
    }
    let toolchain = setup::ensure_toolchain()?;
    build_release(&toolchain, "vision", Target::Bin("vision"))?;
    let vision = |subcommand: &str| -> Result<std::process::Command> {
        let mut cmd = run_release(&toolchain, "vision", Target::Bin("vision"))?;
        cmd.arg(subcommand);
        Ok(cmd)
    };
    if let Some(VisionCommand::Params { args: rest }) = &args.command {
        return run_checked(vision("params")?.args(rest));
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let runs_dir = cwd.join(&args.runs_dir);
    let mut data = Vec::new();
    // CIFAR-10 is fetched when it is what the runs read; CIFAR-100 and ImageNet trees come from
    // the user (`-- --dataset imagenet --data DIR`).
    if !has("--data") && !has("--dataset") {
        let dir = crate::data::cifar10::ensure(&crate::data::default_data_dir(), None)
            .context("fetching CIFAR-10 (`cargo xtask data cifar10`)")?;
        data = vec!["--data".into(), cwd.join(dir).into_os_string()];
    }
    let (config, rest) = experiment::take_config(&args.rest);
    let config = config.map(|c| cwd.join(c));
    let request = args.experiment.request(config.as_deref());
    if request.is_experiment() {
        experiment::check_rest(&rest)?;
    }
    let mut grid = Vec::new();
    for model in &args.models {
        let domain = format!("vision-{model}");
        let launch = || -> Result<std::process::Command> {
            let mut cmd = vision("train")?;
            cmd.args(["--model", model]).args(&data).args(&rest);
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
        let compare_md = experiment::run(&toolchain, place, &planned, HEADLINE, config.as_deref(), &launch)?;
        let names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
        let summaries = tables::read_summaries(&place.dir(), &names)?;
        let dataset = summaries
            .iter()
            .find_map(|(_, s)| s.get("dataset").and_then(|d| d.as_str()))
            .unwrap_or("unknown data")
            .to_string();
        let table = format!(
            "\n## {model}: Table 3 figures\n\nData: {dataset}\n\n{}",
            tables::render(&summaries, &COLUMNS)
        );
        let mut md = std::fs::read_to_string(&compare_md)
            .with_context(|| format!("cannot read {}", compare_md.display()))?;
        md += &table;
        std::fs::write(&compare_md, &md).with_context(|| format!("cannot write {}", compare_md.display()))?;
        print!("{table}");
        grid.push((model.clone(), place.dir()));
    }
    if !grid.is_empty() {
        let out = runs_dir.join("vision-table.md");
        let written = crate::report::grid(&toolchain, &grid, HEADLINE, &out)?;
        println!(
            "xtask: the table over {} model(s): {}",
            grid.len(),
            written.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        vision: VisionArgs,
    }

    #[test]
    fn flags_parse_into_models_and_pass_through() {
        let cli = Cli::try_parse_from([
            "x",
            "--models",
            "vgg11,resnet18",
            "--compare",
            "sgd,sisa",
            "--seeds",
            "2",
            "--",
            "--epochs",
            "3",
        ])
        .unwrap();
        assert_eq!(cli.vision.models, ["vgg11", "resnet18"]);
        assert_eq!(cli.vision.experiment.compare, ["sgd", "sisa"]);
        assert_eq!(cli.vision.rest, ["--epochs", "3"]);
        let params = Cli::try_parse_from(["x", "params", "--model", "vgg11"]).unwrap();
        assert_eq!(
            params.vision.command,
            Some(VisionCommand::Params {
                args: vec!["--model".into(), "vgg11".into()]
            })
        );
    }
}
