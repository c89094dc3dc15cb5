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

/// `--nproc N [--hostfile F]` of the domain commands whose binaries spread the optimizer's nodes
/// over MPI ranks (`fed`, `mnist`, `llm train`): every run becomes one MPI job.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct RankArgs {
    /// MPI ranks per run: the optimizer's nodes spread over them (the node count must be a
    /// multiple). On CUDA every rank takes the GPU of its local rank and NCCL moves the
    /// tensors; 1 runs one process.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub nproc: u32,
    /// An MPI hostfile (`host slots=N` per line) to spread the ranks over several machines with
    /// the same checkout and data paths.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
}

impl Default for RankArgs {
    fn default() -> Self {
        Self {
            nproc: 1,
            hostfile: None,
        }
    }
}

impl RankArgs {
    /// The command that runs the release binary `bin` of `package` with these ranks, ready for
    /// the binary's arguments. One rank: the plain build and `cargo run`. Several: MPI provisioned
    /// when missing, the binary built with the `mpi` feature (and `nccl` when `nvidia-smi` sees
    /// a GPU), started by `mpirun` ([`mpirun_args`]) with the toolchain's environment and, for
    /// NCCL, torch's `libnccl.so.2` linked as the `libnccl.so` cudarc opens.
    ///
    /// # Errors
    /// When MPI cannot be provisioned, the build fails, or NCCL's library is not found.
    pub fn program(&self, toolchain: &setup::Toolchain, package: &str, bin: &str) -> Result<Command> {
        use crate::cargo::{build_release, cargo, run_release, stdout_of, Target};
        if self.nproc == 1 && self.hostfile.is_none() {
            build_release(toolchain, package, Target::Bin(bin))?;
            return run_release(toolchain, package, Target::Bin(bin));
        }
        ensure()?;
        let gpus = crate::cargo::succeeds("nvidia-smi", &["-L"]);
        let features = rank_features(gpus);
        run_checked(&mut cargo(
            toolchain,
            &[
                "build",
                "--release",
                "-p",
                package,
                "--features",
                features,
                "--bin",
                bin,
            ],
        )?)?;
        let metadata = stdout_of(&mut cargo(
            toolchain,
            &["metadata", "--format-version", "1", "--no-deps"],
        )?)?;
        let target: PathBuf = serde_json::from_str::<serde_json::Value>(&metadata)
            .ok()
            .and_then(|m| m.get("target_directory")?.as_str().map(PathBuf::from))
            .context("`cargo metadata` names no target directory")?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut cmd = Command::new("mpirun");
        cmd.args(mpirun_args(
            self.nproc,
            self.hostfile.as_deref(),
            cores,
            is_root(),
        ))
        .arg(target.join("release").join(bin));
        toolchain.apply(&mut cmd)?;
        if gpus {
            let ld = std::env::join_paths(
                std::iter::once(nccl_link_dir(toolchain)?).chain(
                    cmd.get_envs()
                        .find(|(k, _)| *k == "LD_LIBRARY_PATH")
                        .and_then(|(_, v)| v)
                        .map(|v| std::env::split_paths(v).collect::<Vec<_>>())
                        .unwrap_or_default(),
                ),
            )
            .context("a library path holds the path-list separator")?;
            cmd.env("LD_LIBRARY_PATH", ld);
        }
        Ok(cmd)
    }
}

/// The cargo features of a domain binary run as ranks: NCCL too where there are GPUs.
fn rank_features(gpus: bool) -> &'static str {
    match gpus {
        true => "mpi,nccl",
        false => "mpi",
    }
}

/// A cache folder holding `libnccl.so` → torch's `libnccl.so.2` (torch's wheels ship only the
/// versioned name; cudarc opens the plain one), or `PISA_NCCL_LIB` when set.
fn nccl_link_dir(toolchain: &setup::Toolchain) -> Result<PathBuf> {
    let site = toolchain.libtorch.parent().map(PathBuf::from).unwrap_or_default();
    let mut candidates: Vec<PathBuf> = std::env::var_os("PISA_NCCL_LIB")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(toolchain.libtorch.join("lib").join("libnccl.so.2"));
    if let Ok(entries) = std::fs::read_dir(site.join("nvidia")) {
        candidates.extend(
            entries
                .flatten()
                .map(|e| e.path().join("lib").join("libnccl.so.2")),
        );
    }
    let lib = candidates.into_iter().find(|p| p.is_file()).context(
        "torch's libnccl.so.2 was not found beside libtorch: set PISA_NCCL_LIB=/path/to/libnccl.so.2",
    )?;
    let dir = crate::cache::cache_dir()?.join("nccl");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let link = dir.join("libnccl.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&lib, &link).with_context(|| format!("cannot link {}", link.display()))?;
    Ok(dir)
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
    fn ranks_default_to_one_process_and_take_nccl_only_with_gpus() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            ranks: RankArgs,
        }
        use clap::Parser;
        assert_eq!(Cli::try_parse_from(["x"]).unwrap().ranks, RankArgs::default());
        assert_eq!(Cli::try_parse_from(["x", "--nproc", "2"]).unwrap().ranks.nproc, 2);
        assert!(Cli::try_parse_from(["x", "--nproc", "0"]).is_err());
        assert_eq!((rank_features(false), rank_features(true)), ("mpi", "mpi,nccl"));
    }

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
