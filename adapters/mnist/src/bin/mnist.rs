//! A small CNN on MNIST, trained with any optimizer of the registry: the classifier part of
//! `cargo xtask demo`.
//!
//! ```text
//! cargo xtask data mnist
//! cargo run --release -p mnist --bin mnist -- --optimizer sisa      # SISA, m = 4 nodes
//! cargo run --release -p mnist --bin mnist -- --optimizer adamw
//! ```
//!
//! Each step takes a mini-batch of `--batch` examples; the PISA family splits it into m
//! contiguous node batches (α_i = slice share, spec §6), baselines average the node gradients.
//! Every optimizer sees the same examples in the same order for the same `--seed`. Logged:
//! `train/loss` every step, `test/accuracy` and `test/loss` every `--eval-every` steps, to
//! `runs/<domain>/<name>/metrics.csv` and TensorBoard. Expected: about 98 % test accuracy after
//! one epoch (60,000 examples) with SISA, Adam and AdamW alike.
//!
//! The training is [`mnist::train::train`] on the run skeleton ([`runs::session::Session`]).

use anyhow::Result;
use clap::Parser;
use mnist::train::{train, TrainConfig};
use runs::session::RunArgs;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "Train a small CNN on MNIST with any pisa-rs optimizer")]
struct Args {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    config: TrainConfig,
}

fn main() -> ExitCode {
    runs::cli::exit(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    train(&args.config, &args.run)?;
    Ok(())
}
