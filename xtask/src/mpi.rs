//! OpenMPI for PISA's nodes in several processes: provisioning (`cargo xtask setup --mpi`, and
//! `cargo xtask test` / `launch` when missing) and `cargo xtask launch`, a thin wrapper of
//! `mpirun` with the toolchain's environment.
//!
//! pisa-core's `mpi` feature (rsmpi) builds against the system MPI and generates its bindings
//! with bindgen, which needs libclang: on Debian/Ubuntu `openmpi-bin libopenmpi-dev
//! libclang-dev`. They are installed with apt when missing and xtask runs as root; otherwise
//! the command to run is printed.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::cargo::run_checked;
use crate::setup;

/// The Debian/Ubuntu packages pisa-core's `mpi` feature and `mpirun` need.
pub const APT_PACKAGES: [&str; 3] = ["openmpi-bin", "libopenmpi-dev", "libclang-dev"];

/// Arguments of `cargo xtask launch`.
#[derive(Args, Debug)]
pub struct LaunchArgs {
    /// Processes (ranks) to start; the optimizer's node count must be a multiple of it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub nproc: u32,
    /// An MPI hostfile (one line per machine: `host slots=N`) to spread the ranks over several
    /// machines; every machine needs the same binary and data at the same paths.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// The program and its arguments, after `--` (build it first, e.g. `cargo build --release
    /// -p pisa-core --features mpi --example least_squares`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// The missing pieces of the MPI toolchain, described (`None` when all are there).
pub fn missing() -> Option<String> {
    let mut missing = Vec::new();
    let runs = crate::cargo::succeeds;
    if !runs("mpirun", &["--version"]) {
        missing.push("mpirun (openmpi-bin)");
    }
    if !runs("mpicc", &["--showme:version"]) {
        missing.push("the MPI headers (libopenmpi-dev)");
    }
    let libclang = [
        "/usr/lib",
        "/usr/lib64",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ]
    .iter()
    .chain(&[
        "/usr/lib/llvm-14/lib",
        "/usr/lib/llvm-15/lib",
        "/usr/lib/llvm-16/lib",
    ])
    .any(|dir| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libclang.so"))
        })
    }) || std::env::var_os("LIBCLANG_PATH").is_some();
    if !libclang {
        missing.push("libclang (libclang-dev)");
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

fn apt_command() -> String {
    format!(
        "apt-get install -y --no-install-recommends {}",
        APT_PACKAGES.join(" ")
    )
}

/// Whether xtask runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs OpenMPI and libclang with apt when missing and running as root.
///
/// # Errors
/// When they are missing and cannot be installed here: the message names the command to run.
pub fn ensure() -> Result<()> {
    let Some(what) = missing() else {
        return Ok(());
    };
    if !is_root() {
        bail!(
            "MPI needs {what}; install them as root (Debian/Ubuntu): `sudo {}`",
            apt_command()
        );
    }
    eprintln!("xtask: MPI needs {what}; installing with apt");
    let install = |update: bool| -> Result<()> {
        if update {
            run_checked(Command::new("apt-get").args(["update", "-q"]))?;
        }
        run_checked(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(APT_PACKAGES)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    // A fresh image often has no package lists yet: update and retry once.
    install(false).or_else(|_| install(true))?;
    match missing() {
        None => Ok(()),
        Some(still) => bail!("after `{}`, still missing: {still}", apt_command()),
    }
}

/// `mpirun`'s arguments for `nproc` ranks: `--oversubscribe` when more ranks than cores on one
/// machine, `--allow-run-as-root` as root, the toolchain's library path exported to every rank
/// (`-x LD_LIBRARY_PATH`).
pub fn mpirun_args(nproc: u32, hostfile: Option<&std::path::Path>, cores: usize, root: bool) -> Vec<String> {
    let mut args = vec!["-np".to_string(), nproc.to_string()];
    match hostfile {
        Some(file) => args.extend(["--hostfile".to_string(), file.display().to_string()]),
        None if nproc as usize > cores => args.push("--oversubscribe".into()),
        None => {}
    }
    if root {
        args.push("--allow-run-as-root".into());
    }
    args.extend(["-x".to_string(), "LD_LIBRARY_PATH".to_string()]);
    args
}

/// Runs `cargo xtask launch`.
///
/// # Errors
/// When MPI is missing and cannot be installed, or the job fails.
pub fn launch(args: &LaunchArgs) -> Result<()> {
    ensure()?;
    let toolchain = setup::ensure_toolchain()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cmd = Command::new("mpirun");
    cmd.args(mpirun_args(
        args.nproc,
        args.hostfile.as_deref(),
        cores,
        is_root(),
    ))
    .args(&args.command);
    toolchain.apply(&mut cmd)?;
    run_checked(&mut cmd).context("the MPI job failed (each rank's error is printed above)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpirun_gets_oversubscription_root_and_the_library_path_when_needed() {
        let args = mpirun_args(4, None, 2, true);
        assert_eq!(
            args,
            [
                "-np",
                "4",
                "--oversubscribe",
                "--allow-run-as-root",
                "-x",
                "LD_LIBRARY_PATH"
            ]
        );
        let args = mpirun_args(2, Some(std::path::Path::new("hosts")), 2, false);
        assert_eq!(args, ["-np", "2", "--hostfile", "hosts", "-x", "LD_LIBRARY_PATH"]);
        assert_eq!(
            mpirun_args(2, None, 2, false),
            ["-np", "2", "-x", "LD_LIBRARY_PATH"]
        );
    }
}
