//! `cargo xtask check`: the fast checks, `cargo fmt --check` then `cargo clippy -D warnings`.

use anyhow::Result;

use crate::cargo::{cargo, run_checked};
use crate::setup::{self, Toolchain};

/// Runs the `check` subcommand.
pub fn run() -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    fmt_and_clippy(&toolchain)
}

/// `cargo fmt --all --check`, then `cargo clippy --workspace --all-targets -- -D warnings`;
/// stops at the first failure.
///
/// # Errors
/// When either check fails.
pub fn fmt_and_clippy(toolchain: &Toolchain) -> Result<()> {
    run_checked(&mut cargo(toolchain, &["fmt", "--all", "--check"])?)?;
    run_checked(&mut cargo(
        toolchain,
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
    )?)
}
