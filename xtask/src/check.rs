//! `cargo xtask check`: the fast checks, `cargo fmt --check`, `cargo clippy -D warnings`, then
//! the API docs (`cargo doc --no-deps` with warnings denied: broken intra-doc links and
//! malformed doc comments fail).

use anyhow::Result;

use crate::cargo::{cargo, run_checked};
use crate::setup::{self, Toolchain};

/// Runs the `check` subcommand.
pub fn run() -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    fmt_and_clippy(&toolchain)
}

/// `cargo fmt --all --check`, `cargo clippy --workspace --all-targets -- -D warnings`, then
/// `cargo doc --workspace --no-deps` with `RUSTDOCFLAGS=-D warnings`; stops at the first
/// failure.
///
/// # Errors
/// When a check fails.
pub fn fmt_and_clippy(toolchain: &Toolchain) -> Result<()> {
    run_checked(&mut cargo(toolchain, &["fmt", "--all", "--check"])?)?;
    run_checked(&mut cargo(
        toolchain,
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
    )?)?;
    let mut doc = cargo(toolchain, &["doc", "--workspace", "--no-deps"])?;
    run_checked(doc.env("RUSTDOCFLAGS", "-D warnings"))
}
