//! The Rust side of the side-by-side benchmarks: `cargo xtask bench <domain>` runs these beside
//! the PyTorch scripts in this folder (`*_torch.py`), alternating rounds, and reports ratios.
//! Each subcommand prints JSON lines.
//!
//! ```text
//! cargo run --release -p bench -- gan --image-size 32 --base 32 --iters 20
//! cargo run --release -p bench -- lstm --optimizer sisa --layers 1 --windows 5
//! cargo run --release -p bench -- llm --preset tiny --optimizers adamw,nsisa
//! ```

use anyhow::Result;
use clap::{Parser, Subcommand};

mod gan;
mod llm;
mod lstm;

#[derive(Parser, Debug)]
#[command(about = "pisa-rs throughput benchmarks (one JSON line per measurement)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// WGAN(-GP) training images/s and FID feature images/s.
    Gan(gan::GanArgs),
    /// AWD-LSTM training tokens per second on synthetic tokens.
    Lstm(lstm::LstmArgs),
    /// GPT-2 training steps per optimizer: tokens/s, optimizer share, optimizer state.
    Llm(llm::LlmArgs),
}

fn main() -> std::process::ExitCode {
    runs::cli::exit(run(Cli::parse()))
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Gan(args) => gan::run(args),
        Command::Lstm(args) => lstm::run(&args),
        Command::Llm(args) => llm::run(&args),
    }
}
