//! `cargo xtask bench <what>`: benchmarks that time pisa-rs and a baseline side by side in one
//! run on the same machine, and report ratios.

mod optim;
mod record;
mod report;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

/// Arguments of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCommand,
}

/// The benchmarks.
#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Optimizer step time and state memory: pisa-rs vs. PyTorch's AdamW (foreach and fused).
    Optim(OptimArgs),
}

/// Arguments of `cargo xtask bench optim`.
#[derive(Args, Debug)]
pub struct OptimArgs {
    /// Where the tensors live.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// A few steps only: checks that everything runs, timings are rough.
    #[arg(long)]
    pub quick: bool,
}

/// A torch device, spelled as both benchmark programs expect it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The CPU.
    Cpu,
    /// The first CUDA GPU.
    Cuda,
}

impl Device {
    /// `"cpu"` or `"cuda"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        }
    }
}

/// Runs the `bench` subcommand.
pub fn run(args: &BenchArgs) -> Result<()> {
    match &args.what {
        BenchCommand::Optim(optim_args) => optim::run(optim_args),
    }
}
