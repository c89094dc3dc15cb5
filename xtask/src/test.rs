//! `cargo xtask test`: cheapest checks first (fmt, clippy, docs), then `cargo test --workspace`
//! (unit, integration and doc tests), then the envs crate's `mujoco` feature with MuJoCo provisioned
//! (`setup --mujoco`), then pisa-core's `mpi` feature under `mpirun` with OpenMPI provisioned
//! (`setup --mpi`; skipped with the command to run when it is missing and xtask is not root).
//! Stops at the first failure with a non-zero exit.
//!
//! The envs crate's `gym-rs` feature is opt-in (`--gym-rs`, or `cargo xtask check-gym-rs` alone): it needs
//! system packages (cmake, SDL2, SDL2_gfx; ~40 s of apt) and its first build compiles SDL2 from source
//! and the rapier stack again under other dependency features (~8 min on 2 busy cores), too slow for
//! every run. Without the flag the step is skipped with a message.

use anyhow::{bail, Result};
use clap::Args;

use crate::cargo::{cargo, run_checked};
use crate::check::fmt_and_clippy;
use crate::setup;

/// Arguments of `cargo xtask test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    /// Extra arguments for `cargo test`, after `--` (e.g. `-- --release -- --ignored`).
    #[arg(last = true)]
    pub cargo_test_args: Vec<String>,
    /// Also clippy and test the envs crate's `gym-rs` feature (needs cmake, pkg-config, libsdl2-dev and
    /// libsdl2-gfx-dev; fails naming the missing ones).
    #[arg(long)]
    pub gym_rs: bool,
}

/// Runs the `test` subcommand.
pub fn run(args: &TestArgs) -> Result<()> {
    if args.gym_rs {
        // Fail before the long part when the feature cannot build.
        require_gym_rs_deps()?;
    }
    let toolchain = setup::ensure_toolchain()?;
    fmt_and_clippy(&toolchain)?;
    let mut test = cargo(&toolchain, &["test", "--workspace"])?;
    test.args(&args.cargo_test_args);
    run_checked(&mut test)?;
    suite_smoke()?;
    mujoco_tests(&toolchain, args)?;
    mpi_tests(&toolchain, args)?;
    if args.gym_rs {
        return gym_rs_tests(&toolchain, &args.cargo_test_args);
    }
    let hint = match gym_rs_missing() {
        Some(missing) => format!("it needs {missing} (`{GYM_RS_APT}`), then "),
        None => String::new(),
    };
    eprintln!(
        "xtask: skipped the envs crate's `gym-rs` feature (opt-in, slow first build): {hint}run \
         `cargo xtask test --gym-rs` or `cargo xtask check-gym-rs`"
    );
    Ok(())
}

/// The suite's smoke step: `cargo xtask suite --preset smoke --only least-squares --out
/// target/suite-smoke` end to end (the release least-squares example, the run folders, the
/// report), then checks that the report judged all five least-squares claims reproduced. The
/// other experiments need datasets a fresh clone lacks; `cargo xtask suite --preset smoke` runs
/// them all.
fn suite_smoke() -> Result<()> {
    let out = crate::cache::project_root().join("target/suite-smoke");
    let args = crate::suite::SuiteArgs {
        preset: crate::suite::catalogue::Scale::Smoke,
        only: vec!["least-squares".into()],
        seeds: None,
        out: Some(out.clone()),
        dry_run: false,
        report_only: false,
    };
    crate::suite::run(&args)?;
    let md = std::fs::read_to_string(out.join("index.md"))?;
    let reproduced = md
        .lines()
        .filter(|l| l.starts_with("| least-squares |") && l.contains("| reproduced |"))
        .count();
    if reproduced != 5 || !out.join("index.html").is_file() {
        bail!(
            "the suite's smoke report {} judged {reproduced} of the 5 least-squares claims reproduced",
            out.join("index.md").display()
        );
    }
    eprintln!(
        "xtask: suite smoke report: {} (5 of 5 least-squares claims reproduced)",
        out.join("index.md").display()
    );
    Ok(())
}

/// The envs and rl crates' `mujoco` feature: provisions MuJoCo (`setup --mujoco`: two PyPI wheels,
/// seconds once cached), then clippy of both and the tests with MuJoCo linked: envs' (Gymnasium
/// parity goldens) and rl's `fidelity` test (both backends on a tiny budget).
fn mujoco_tests(toolchain: &setup::Toolchain, args: &TestArgs) -> Result<()> {
    let env = setup::mujoco_cargo_env(toolchain)?;
    let mut clippy = cargo(
        toolchain,
        &[
            "clippy",
            "-p",
            "envs",
            "-p",
            "rl",
            "--features",
            "envs/mujoco,rl/mujoco",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run_checked(clippy.envs(env.iter().cloned()))?;
    let mut test = cargo(toolchain, &["test", "-p", "envs", "--features", "mujoco"])?;
    test.args(&args.cargo_test_args);
    run_checked(test.envs(env.iter().cloned()))?;
    let mut fidelity = cargo(
        toolchain,
        &["test", "-p", "rl", "--features", "mujoco", "--test", "fidelity"],
    )?;
    fidelity.args(&args.cargo_test_args);
    run_checked(fidelity.envs(env))
}

/// pisa-core's and mnist's `mpi` features: OpenMPI provisioned (`setup --mpi`), then clippy and
/// the tests that run the least-squares example and the MNIST CNN under `mpirun`
/// (`pisa-core/tests/mpi.rs`, `adapters/mnist/tests/dist.rs`, `fed/tests/dist.rs`); then pisa-core's `nccl` feature:
/// clippy and `tests/nccl.rs` without its two-GPU test.
fn mpi_tests(toolchain: &setup::Toolchain, args: &TestArgs) -> Result<()> {
    if let Err(e) = crate::mpi::ensure() {
        eprintln!("xtask: skipped pisa-core's `mpi` feature: {e:#}");
        return Ok(());
    }
    // pisa-core's least-squares runs, the MNIST CNN and training run, GPT-2 training, the
    // federated clients: one build.
    let features = [
        "-p",
        "pisa-core",
        "-p",
        "mnist",
        "-p",
        "llm",
        "-p",
        "fed",
        "--features",
        "pisa-core/mpi,mnist/mpi,llm/mpi,fed/mpi",
    ];
    let mut clippy = cargo(toolchain, &["clippy"])?;
    clippy
        .args(features)
        .args(["--all-targets", "--", "-D", "warnings"]);
    run_checked(&mut clippy)?;
    // The least-squares tests run the example binary under mpirun: build it with MPI first.
    let mut example = cargo(toolchain, &["build", "-p", "pisa-core", "--features", "mpi"])?;
    run_checked(example.args(["--example", "least_squares"]))?;
    let mut test = cargo(toolchain, &["test"])?;
    test.args(features)
        .args(["--test", "mpi", "--test", "dist"])
        .args(&args.cargo_test_args);
    run_checked(&mut test)?;
    // The `nccl` features (cudarc loads NCCL at run time, so they build without CUDA): clippy of
    // pisa-core and of the domain binaries `--nproc` builds with it, then one build of
    // `tests/nccl.rs`, whose GPU-free test runs; the two-GPU test is #[ignore]d (`cargo test -p
    // pisa-core --features nccl --test nccl -- --ignored` on a GPU machine).
    let mut clippy = cargo(
        toolchain,
        &[
            "clippy",
            "-p",
            "pisa-core",
            "-p",
            "fed",
            "-p",
            "llm",
            "-p",
            "mnist",
            "--features",
            "pisa-core/nccl,fed/nccl,llm/nccl,mnist/nccl",
        ],
    )?;
    run_checked(clippy.args(["--all-targets", "--", "-D", "warnings"]))?;
    let mut test = cargo(toolchain, &["test", "-p", "pisa-core", "--features", "nccl"])?;
    run_checked(test.args(["--test", "nccl"]).args(&args.cargo_test_args))
}

/// What installs the `gym-rs` feature's system dependencies on Debian/Ubuntu (about 40 s).
const GYM_RS_APT: &str = "apt-get install -y cmake pkg-config libsdl2-dev libsdl2-gfx-dev";

/// The `gym-rs` feature's system dependencies that are missing, described (`None` when all are there):
/// gym-rs 0.3.0 builds SDL2 from source with cmake and links the system SDL2_gfx, found by pkg-config.
fn gym_rs_missing() -> Option<String> {
    let found = crate::cargo::succeeds;
    let mut missing = Vec::new();
    if !found("cmake", &["--version"]) {
        missing.push("cmake");
    }
    if !found("pkg-config", &["--version"]) {
        missing.push("pkg-config");
    } else {
        for (module, package) in [("sdl2", "libsdl2-dev"), ("SDL2_gfx", "libsdl2-gfx-dev")] {
            if !found("pkg-config", &["--exists", module]) {
                missing.push(package);
            }
        }
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// The envs crate's `gym-rs` feature: clippy, then its tests (`envs/tests/gym_rs.rs`).
fn gym_rs_tests(toolchain: &setup::Toolchain, cargo_test_args: &[String]) -> Result<()> {
    let features = ["-p", "envs", "--features", "gym-rs"];
    let mut clippy = cargo(toolchain, &["clippy"])?;
    clippy
        .args(features)
        .args(["--all-targets", "--", "-D", "warnings"]);
    run_checked(&mut clippy)?;
    let mut test = cargo(toolchain, &["test"])?;
    test.args(features).args(cargo_test_args);
    run_checked(&mut test)
}

/// Runs `cargo xtask check-gym-rs`: the `gym-rs` feature's clippy and tests, failing with the packages
/// to install when its system dependencies are missing.
pub fn check_gym_rs() -> Result<()> {
    require_gym_rs_deps()?;
    let toolchain = setup::ensure_toolchain()?;
    gym_rs_tests(&toolchain, &[])
}

/// Fails with the packages to install when the `gym-rs` feature's system dependencies are missing.
fn require_gym_rs_deps() -> Result<()> {
    match gym_rs_missing() {
        None => Ok(()),
        Some(missing) => bail!(
            "the envs crate's `gym-rs` feature needs cmake, pkg-config and the SDL2 and SDL2_gfx development \
             packages; missing: {missing}. Install them (Debian/Ubuntu, as root) with `{GYM_RS_APT}`"
        ),
    }
}
