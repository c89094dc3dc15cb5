//! `cargo xtask <cmd>`: the single entry point of pisa-rs.
//!
//! It provisions libtorch (a pinned PyPI `torch` in a cached virtual environment), then runs
//! cargo with the environment `tch` needs. One module per subcommand; see `cargo xtask --help`.

mod bench;
mod cache;
mod cargo;
mod check;
mod data;
mod demo;
mod env;
mod experiment;
mod fed;
mod gan;
mod gpu_check;
mod llm;
mod lstm;
mod mnist;
mod mpi;
mod mujoco;
mod report;
mod rl;
mod setup;
mod suite;
mod tables;
mod test;
mod vision;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Command-line interface of `cargo xtask`.
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "pisa-rs task runner",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands; every one but `setup` and `env` runs cargo after `setup`.
#[derive(Subcommand)]
enum Command {
    /// Create the cached Python venv with the pinned torch (idempotent, fast when done);
    /// `--mujoco` also provisions MuJoCo for the envs crate's `mujoco` feature.
    Setup(setup::SetupArgs),
    /// Print `export` lines so that `eval "$(cargo xtask env)"` makes plain cargo work.
    Env,
    /// Fast checks only: `cargo fmt --check` and `cargo clippy -D warnings`.
    Check,
    /// fmt, clippy, then `cargo test --workspace`; args after `--` go to `cargo test`.
    Test(test::TestArgs),
    /// The envs crate's `gym-rs` adapter: clippy and tests; fails naming the apt packages (cmake,
    /// libsdl2-dev, libsdl2-gfx-dev) when they are missing.
    CheckGymRs,
    /// Run the least-squares example with every config in `configs/least_squares/`.
    Demo,
    /// Benchmarks that compare pisa-rs with a baseline side by side.
    Bench(bench::BenchArgs),
    /// Fetch a dataset into the data directory (default `data/`), verified: `data mnist`.
    Data(data::DataArgs),
    /// Write `report.md` and comparison plots for a domain's runs: `report runs/<domain>`.
    Report(report::ReportArgs),
    /// GPT-2 with NSISA, Muon, AdamW: `llm train --preset tiny --optimizer nsisa`, `--compare`.
    Llm(llm::LlmArgs),
    /// PPO / A2C with any optimizer: `rl --env humanoid [--algo a2c] [--compare adam,sisa]`,
    /// `rl eval --checkpoint DIR [--gif out.gif]`.
    Rl(rl::RlArgs),
    /// AWD-LSTM language models: `lstm --layers 3 --optimizer sisa`, `--compare adam,adabelief,sisa`
    /// (`--seeds N`, `--sweep key=v1,v2`), `lstm sample --checkpoint DIR`.
    Lstm(lstm::LstmArgs),
    /// WGAN / WGAN-GP with FID: `gan --dataset mnist --optimizer sisa`, `--compare adam,sisa --seeds 5`,
    /// `--sweep sigma=0.1,1`, `gan sample --run DIR`.
    Gan(gan::GanArgs),
    /// The small MNIST CNN: `mnist --optimizer sisa`, `--compare adam,sisa --seeds 3`,
    /// `--sweep sigma=0.01,0.1,1` (compared on test accuracy); args after `--` go to `mnist`.
    Mnist(mnist::MnistArgs),
    /// Federated learning (paper §5.1, Table 2): `fed --compare sisa,fedavg,fedprox,scaffold,fednova
    /// --seeds 3`, `--datasets mnist,fmnist --partitions label:1,label:2`, `fed partition --dataset mnist --clients 10 --out P.json`.
    Fed(fed::FedArgs),
    /// Vision (paper §5.2, Table 3): `vision --models vgg11,resnet34 --compare sgd,adam,adabelief,sisa
    /// --seeds 2 -- --epochs 4 --examples 5000`, `vision params --model densenet121`.
    Vision(vision::VisionArgs),
    /// Starts a program as N MPI ranks (`mpirun` with the toolchain's environment; installs
    /// OpenMPI when missing and root): `launch --nproc 4 [--hostfile F] -- <program> <args>`.
    Launch(mpi::LaunchArgs),
    /// Every `#[ignore]`d CUDA test and `bench optim|llm|gan --device cuda`, under 8 minutes, one
    /// results file; `--prepare DIR` only builds DIR with a `run.sh` for a GPU machine without cargo.
    GpuCheck(gpu_check::GpuCheckArgs),
    /// The paper's experiments at one scale and one report beside the paper's numbers:
    /// `suite --preset smoke|cpu|gpu [--only heterogeneity,rl] [--seeds N] [--out DIR] [--dry-run]`.
    Suite(suite::SuiteArgs),
}

/// Runs the command; an error is printed as one `a: b: c` chain (no backtrace) with exit code 1.
fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Setup(args) => setup::run(&args),
        Command::Env => env::run(),
        Command::Check => check::run(),
        Command::Test(args) => test::run(&args),
        Command::CheckGymRs => test::check_gym_rs(),
        Command::Demo => demo::run(),
        Command::Bench(args) => bench::run(&args),
        Command::Data(args) => data::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Llm(args) => llm::run(&args),
        Command::Rl(args) => rl::run(&args),
        Command::Lstm(args) => lstm::run(&args),
        Command::Gan(args) => gan::run(&args),
        Command::Mnist(args) => mnist::run(&args),
        Command::Fed(args) => fed::run(&args),
        Command::Vision(args) => vision::run(&args),
        Command::Launch(args) => mpi::launch(&args),
        Command::GpuCheck(args) => gpu_check::run(&args),
        Command::Suite(args) => suite::run(&args),
    }
}
