//! Federated runs: SISA against FedAvg, FedProx, SCAFFOLD and FedNova on label-skewed clients
//! (the paper's §5.1 / Table 2), and the partitions themselves.
//!
//! ```text
//! cargo xtask data mnist
//! fed train --dataset mnist --partition label:1 --clients 10 --rounds 50 --optimizer sisa
//! fed train --optimizer fedavg --lr 0.01 --local-epochs 1 --momentum 0.9
//! fed partition --dataset mnist --partition label:1 --clients 10 --seed 0 --out P.json
//! ```
//!
//! `train` writes `runs/fed/<name>/` (metrics per round: `train/loss`, `test/loss`,
//! `test/accuracy`, `comm/bytes`; `partition.json`; `summary.json` with the best and final
//! accuracy and the rounds to `--target-accuracy`). `partition` writes the per-client label
//! counts `{"clients": [{"labels": {"0": 5923, ...}, "n": ...}, ...]}` and trains nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use fed::partition::Partition;
use fed::train::{shards, train, FedConfig};
use runs::cli::{in_range, UsageError};
use runs::session::RunArgs;

#[derive(Parser, Debug)]
#[command(about = "Federated learning with pisa-rs: SISA and the FedAvg family on NIID-Bench partitions")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train one run (`--optimizer sisa|fedavg|fedprox|scaffold|fednova|adam|...`).
    Train(Box<TrainArgs>),
    /// Write a partition's per-client label counts as JSON, without training.
    Partition(PartitionArgs),
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    config: FedConfig,
}

#[derive(clap::Args, Debug)]
struct PartitionArgs {
    /// mnist, fmnist, cifar10 or a9a.
    #[arg(long, default_value = "mnist")]
    dataset: datasets::DatasetName,
    /// The dataset's folder (default: $PISA_DATA_DIR/DATASET or data/DATASET).
    #[arg(long)]
    data: Option<PathBuf>,
    /// iid, label:k, dir:β, quantity:β.
    #[arg(long, default_value = "label:1")]
    partition: Partition,
    /// Clients, 1 to 10,000.
    #[arg(long, default_value_t = 10, value_parser = in_range(1usize, 10_000))]
    clients: usize,
    /// The seed (the same as a run's `--seed` gives the run's partition).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the JSON [default: stdout].
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    runs::cli::exit(run())
}

fn run() -> Result<()> {
    match Args::parse().command {
        Command::Train(args) => {
            train(&args.config, &args.run)?;
        }
        Command::Partition(args) => {
            let config = FedConfig {
                dataset: args.dataset,
                data: args.data.clone(),
                partition: args.partition,
                clients: args.clients,
                ..FedConfig::defaults()
            };
            let dir = args.data.unwrap_or_else(|| args.dataset.default_dir());
            let data = datasets::load(args.dataset, &dir)?;
            let labels = data.train_labels()?;
            let shards = shards(&config, &labels, data.classes, args.seed).map_err(UsageError::from)?;
            let text = serde_json::to_string_pretty(&shards.summary(&labels))?;
            match args.out {
                Some(path) => std::fs::write(&path, text + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}
