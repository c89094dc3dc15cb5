//! Running cargo (and other tools) from the repository root with the toolchain's environment.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::cache::project_root;
use crate::setup::Toolchain;

/// A `cargo <args>` command in the repository root with `toolchain`'s environment.
///
/// Uses the cargo that started xtask (`$CARGO`), so the toolchain stays the same.
///
/// # Errors
/// As [`Toolchain::apply`].
pub fn cargo(toolchain: &Toolchain, args: &[&str]) -> Result<Command> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args).current_dir(project_root()).stdin(Stdio::null());
    toolchain.apply(&mut cmd)?;
    Ok(cmd)
}

/// Whether `program args` runs and exits with status 0 (its output discarded): for probing
/// system tools.
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` with inherited output; fails unless it exits with status 0.
///
/// # Errors
/// When `cmd` cannot start or fails.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let shown = describe(cmd);
    eprintln!("xtask: $ {shown}");
    let status = cmd.status().with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout (stderr is inherited, so progress stays visible).
///
/// # Errors
/// When `cmd` cannot start, fails, or prints something that is not UTF-8.
pub fn stdout_of(cmd: &mut Command) -> Result<String> {
    let shown = describe(cmd);
    eprintln!("xtask: $ {shown}");
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !output.status.success() {
        bail!("`{shown}` failed ({})", output.status);
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed non-UTF-8 output"))
}

/// `program arg1 arg2 ...` for messages.
fn describe(cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy();
    let program = program.rsplit('/').next().unwrap_or_default().to_owned();
    cmd.get_args()
        .fold(program, |line, arg| line + " " + &arg.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_add_release_only_when_asked() {
        assert_eq!(Profile::Debug.flag(), &[] as &[&str]);
        assert_eq!(Profile::Release.flag(), ["--release"]);
    }

    #[test]
    fn describe_shows_program_name_and_args() {
        let mut cmd = Command::new("/usr/bin/cargo");
        cmd.args(["fmt", "--all", "--check"]);
        assert_eq!(describe(&cmd), "cargo fmt --all --check");
    }
}

/// A binary or example of the workspace.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// `--bin NAME`.
    Bin(&'a str),
    /// `--example NAME`.
    Example(&'a str),
}

impl Target<'_> {
    fn args(&self) -> [&str; 2] {
        match *self {
            Target::Bin(name) => ["--bin", name],
            Target::Example(name) => ["--example", name],
        }
    }
}

/// A cargo build profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `dev`: what `cargo test` has already built (no second libtorch wrapper build).
    Debug,
    /// `--release`: for runs whose speed matters.
    Release,
}

impl Profile {
    /// The profile's cargo flag, if any.
    fn flag(self) -> &'static [&'static str] {
        match self {
            Profile::Debug => &[],
            Profile::Release => &["--release"],
        }
    }
}

/// Builds `target` of `package` with `profile` (compiler output on stderr).
///
/// # Errors
/// When the build fails.
pub fn build(toolchain: &Toolchain, profile: Profile, package: &str, target: Target<'_>) -> Result<()> {
    let [flag, name] = target.args();
    let args = [&["build"], profile.flag(), &["-p", package, flag, name]].concat();
    run_checked(&mut cargo(toolchain, &args)?)
}

/// The `cargo run --quiet` command of an already built `target` of `profile`, ready for the
/// program's own arguments. Build first ([`build`]) so that compiling never mixes into the
/// program's output or its timings.
///
/// # Errors
/// As [`cargo`].
pub fn run(toolchain: &Toolchain, profile: Profile, package: &str, target: Target<'_>) -> Result<Command> {
    let [flag, name] = target.args();
    let args = [
        &["run", "--quiet"],
        profile.flag(),
        &["-p", package, flag, name, "--"],
    ]
    .concat();
    cargo(toolchain, &args)
}

/// [`build`] in release mode.
///
/// # Errors
/// When the build fails.
pub fn build_release(toolchain: &Toolchain, package: &str, target: Target<'_>) -> Result<()> {
    build(toolchain, Profile::Release, package, target)
}

/// [`run`] in release mode.
///
/// # Errors
/// As [`cargo`].
pub fn run_release(toolchain: &Toolchain, package: &str, target: Target<'_>) -> Result<Command> {
    run(toolchain, Profile::Release, package, target)
}

/// [`build_release`], then [`run_release`].
///
/// # Errors
/// When the build fails.
pub fn release_program(toolchain: &Toolchain, package: &str, target: Target<'_>) -> Result<Command> {
    build_release(toolchain, package, target)?;
    run_release(toolchain, package, target)
}
