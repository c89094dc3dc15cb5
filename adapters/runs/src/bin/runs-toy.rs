//! `runs-toy`: the toy regression of [`runs::toy`] as a binary, with every flag of the run
//! skeleton. The reliability tests run it to kill, interrupt, corrupt and resume real processes;
//! it is also the shortest example of a domain binary.
//!
//! ```text
//! cargo run -p runs --bin runs-toy -- --steps 200 --checkpoint-every 10 --sleep-ms 20
//! # Ctrl-C: the step finishes, a checkpoint is written, summary.json says "interrupted", exit 130
//! cargo run -p runs --bin runs-toy -- --steps 200 --checkpoint-every 10 --resume
//! ```

use std::process::ExitCode;

use clap::Parser;
use runs::session::RunArgs;
use runs::toy::{train, ToyConfig};

#[derive(Parser, Debug)]
#[command(about = "Train a one-weight regression on the pisa-rs run skeleton (for tests and as a template)")]
struct Args {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    config: ToyConfig,
}

fn main() -> ExitCode {
    let args = Args::parse();
    runs::cli::exit(train(&args.config, &args.run).map(drop).map_err(Into::into))
}
