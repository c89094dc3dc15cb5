//! `cargo xtask bench <what>`: benchmarks that time pisa-rs and a baseline side by side in one
//! run on the same machine, and report ratios.

mod dist;
mod envs;
mod fed;
mod gan;
mod llm;
mod lstm;
mod optim;
mod record;
mod report;
mod rl;
mod rounds;
mod vision;

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
    /// PPO until CartPole-v1 / Pendulum-v1 are solved: pisa-rs vs. Stable-Baselines3.
    Rl(rl::RlBenchArgs),
    /// GPT-2 training tokens/s: pisa-rs vs. a nanoGPT-style PyTorch script; optimizer share and state.
    Llm(llm::LlmBenchArgs),
    /// AWD-LSTM training tokens/s: pisa-rs (Adam, SISA) vs. the same model in PyTorch.
    Lstm(lstm::LstmBenchArgs),
    /// Environment steps/s of each locomotion task: rapier3d (and MuJoCo) vs. Python Gymnasium.
    Envs(envs::EnvsArgs),
    /// WGAN(-GP) training images/s and FID Inception images/s: pisa-rs vs. the same model in PyTorch.
    Gan(gan::GanBenchArgs),
    /// The MNIST CNN over 1, 2 and 4 processes: pisa-rs over MPI (SISA, AdamW) vs. PyTorch DDP
    /// (gloo); iterations/s, scaling efficiency and bytes communicated.
    Dist(dist::DistBenchArgs),
    /// Seconds per federated round on MNIST, 10 clients (SISA, FedAvg): pisa-rs vs. the same
    /// rounds in PyTorch.
    Fed(fed::FedBenchArgs),
    /// CIFAR-10 training images/s, data loading included: pisa-rs vs. the same model, batch,
    /// augmentation and SGD in PyTorch (DataLoader with 2 workers).
    Vision(vision::VisionBenchArgs),
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
        BenchCommand::Rl(rl_args) => rl::run(rl_args),
        BenchCommand::Llm(llm_args) => llm::run(llm_args),
        BenchCommand::Lstm(lstm_args) => lstm::run(lstm_args),
        BenchCommand::Envs(envs_args) => envs::run(envs_args),
        BenchCommand::Gan(gan_args) => gan::run(gan_args),
        BenchCommand::Dist(dist_args) => dist::run(dist_args),
        BenchCommand::Fed(fed_args) => fed::run(fed_args),
        BenchCommand::Vision(vision_args) => vision::run(vision_args),
    }
}
