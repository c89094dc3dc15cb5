//! `cargo xtask test`: cheapest checks first (fmt, clippy), then `cargo test --workspace`
//! (unit, integration and doc tests), then the envs crate's `mujoco` feature with MuJoCo provisioned
//! (`setup --mujoco`). Stops at the first failure with a non-zero exit.

use anyhow::Result;
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
}

/// Runs the `test` subcommand.
pub fn run(args: &TestArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    fmt_and_clippy(&toolchain)?;
    let mut test = cargo(&toolchain, &["test", "--workspace"])?;
    test.args(&args.cargo_test_args);
    run_checked(&mut test)?;
    mujoco_tests(&toolchain, args)
}

/// The envs crate's `mujoco` feature: provisions MuJoCo (`setup --mujoco`: two PyPI wheels, seconds
/// once cached), then clippy and the tests (Gymnasium parity goldens) with MuJoCo linked.
fn mujoco_tests(toolchain: &setup::Toolchain, args: &TestArgs) -> Result<()> {
    let env = setup::mujoco_cargo_env(toolchain)?;
    let mut clippy = cargo(
        toolchain,
        &[
            "clippy",
            "-p",
            "envs",
            "--features",
            "mujoco",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run_checked(clippy.envs(env.iter().cloned()))?;
    let mut test = cargo(toolchain, &["test", "-p", "envs", "--features", "mujoco"])?;
    test.args(&args.cargo_test_args);
    run_checked(test.envs(env))
}
