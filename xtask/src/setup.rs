//! `cargo xtask setup`: provision libtorch from the pinned PyPI `torch` wheel.
//!
//! `tch` =0.24.0 builds only against torch 2.11.0. The wheel is installed once into a virtual
//! environment in the cache directory (see [`crate::cache`]); a stamp file then records where
//! it lives, so later runs skip Python and pip entirely. A user who already has libtorch sets
//! `LIBTORCH`: builds then use it, and the venv is created only by commands that need Python.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::cache::{self, prepend_path};

/// The PyPI `torch` release that matches the pinned `tch` (=0.24.0).
pub const TORCH_VERSION: &str = "2.11.0";

/// The pinned TensorBoard: its `EventAccumulator` reads our event files back in tests, and
/// `tensorboard --logdir runs` shows them. It runs without TensorFlow.
pub const TENSORBOARD_VERSION: &str = "2.21.0";

/// Everything the venv gets, pinned.
fn pinned_packages() -> [String; 2] {
    [
        format!("torch=={TORCH_VERSION}"),
        format!("tensorboard=={TENSORBOARD_VERSION}"),
    ]
}

/// `tch`'s build switch for "ask Python where torch is"; xtask sets `LIBTORCH` instead and
/// removes this from children, because a change in either variable rebuilds torch-sys.
const LIBTORCH_USE_PYTORCH: &str = "LIBTORCH_USE_PYTORCH";

/// Arguments of `cargo xtask setup`.
#[derive(clap::Args, Debug, Default)]
pub struct SetupArgs {
    /// Also provision MuJoCo 3.17.0 and the Gymnasium task XML files (PyPI wheels, about 30 MB) for
    /// the envs crate's `mujoco` feature; `cargo xtask env` then exports what it needs.
    #[arg(long)]
    pub mujoco: bool,
    /// Also install OpenMPI and libclang (apt, as root; otherwise the command is printed) for
    /// pisa-core's `mpi` feature and `cargo xtask launch`.
    #[arg(long)]
    pub mpi: bool,
}

/// Runs the `setup` subcommand.
pub fn run(args: &SetupArgs) -> Result<()> {
    let toolchain = ensure_toolchain()?;
    eprintln!("xtask: libtorch ready: LIBTORCH={}", toolchain.libtorch.display());
    match &toolchain.python {
        Some(python) => eprintln!("xtask: Python for tests and benchmarks: {}", python.display()),
        None => eprintln!("xtask: no venv yet; `cargo xtask bench` creates it when needed"),
    }
    if args.mpi {
        crate::mpi::ensure()?;
        eprintln!("xtask: OpenMPI ready: `cargo xtask launch --nproc N -- <program>`");
    }
    if args.mujoco {
        let install = ensure_mujoco_with(&toolchain)?;
        eprintln!(
            "xtask: MuJoCo {}: {}; `eval \"$(cargo xtask env)\"` then `cargo test -p envs --features mujoco`",
            install.mujoco_version,
            install.root.display()
        );
    }
    Ok(())
}

/// Provisions MuJoCo (see [`crate::mujoco`]) and returns what a cargo command building or running the
/// envs crate's `mujoco` feature needs on top of `toolchain`'s environment: `MUJOCO_DYNAMIC_LINK_DIR`,
/// `PISA_MUJOCO_ASSETS`, and `LD_LIBRARY_PATH` with MuJoCo's `lib/` before the toolchain's (libtorch) one.
///
/// # Errors
/// As [`ensure_mujoco_with`]; a path containing `:`.
pub fn mujoco_cargo_env(toolchain: &Toolchain) -> Result<Vec<(&'static str, OsString)>> {
    let install = ensure_mujoco_with(toolchain)?;
    let torch_ld_path = toolchain
        .env_vars()?
        .into_iter()
        .find(|(k, _)| *k == "LD_LIBRARY_PATH")
        .map(|(_, v)| v);
    install.env_vars(torch_ld_path.as_deref())
}

/// Provisions MuJoCo (see [`crate::mujoco`]) with the toolchain's Python, else `python3`.
///
/// # Errors
/// As [`crate::mujoco::ensure_mujoco`].
pub fn ensure_mujoco_with(toolchain: &Toolchain) -> Result<crate::mujoco::MujocoInstall> {
    let python = toolchain
        .python
        .clone()
        .unwrap_or_else(|| PathBuf::from("python3"));
    crate::mujoco::ensure_mujoco(&cache::cache_dir()?, &python)
}

/// What cargo and its children need: where libtorch lives and which Python to offer.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The libtorch directory (holding `lib/` and `include/`), exported as `LIBTORCH`.
    pub libtorch: PathBuf,
    /// The venv's Python with torch, exported as `PISA_PYTHON` when it exists.
    pub python: Option<PathBuf>,
}

impl Toolchain {
    /// The variables to export: `LIBTORCH`, `LD_LIBRARY_PATH` with `$LIBTORCH/lib` first, and
    /// `PISA_PYTHON` when a venv exists.
    ///
    /// # Errors
    /// When a path contains the path-list separator `:`.
    pub fn env_vars(&self) -> Result<Vec<(&'static str, OsString)>> {
        let ld_path = prepend_path(
            &self.library_dir(),
            std::env::var_os("LD_LIBRARY_PATH").as_deref(),
        )?;
        let mut vars = vec![
            ("LIBTORCH", self.libtorch.clone().into_os_string()),
            ("LD_LIBRARY_PATH", ld_path),
        ];
        if let Some(python) = &self.python {
            vars.push(("PISA_PYTHON", python.clone().into_os_string()));
        }
        Ok(vars)
    }

    /// `$LIBTORCH/lib`, where the shared libraries are.
    pub fn library_dir(&self) -> PathBuf {
        self.libtorch.join("lib")
    }

    /// Gives `cmd` this toolchain's environment (and removes `LIBTORCH_USE_PYTORCH`).
    ///
    /// # Errors
    /// As [`Toolchain::env_vars`].
    pub fn apply(&self, cmd: &mut Command) -> Result<()> {
        cmd.envs(self.env_vars()?).env_remove(LIBTORCH_USE_PYTORCH);
        Ok(())
    }
}

/// Returns the toolchain, installing torch first when needed (idempotent).
///
/// # Errors
/// When `LIBTORCH` points to no libtorch, or the venv or the torch install fails.
pub fn ensure_toolchain() -> Result<Toolchain> {
    let cache = cache::cache_dir()?;
    if std::env::var_os(LIBTORCH_USE_PYTORCH).is_some() {
        eprintln!("xtask: note: ignoring {LIBTORCH_USE_PYTORCH}; xtask sets LIBTORCH instead");
    }
    if let Some(libtorch) = user_libtorch()? {
        let python = Some(venv_python(&venv_dir(&cache))).filter(|p| p.is_file());
        return Ok(Toolchain { libtorch, python });
    }
    let install = ensure_torch_venv(&cache)?;
    Ok(Toolchain {
        libtorch: install.torch_dir,
        python: Some(install.python),
    })
}

/// `LIBTORCH` from the user's environment, checked to look like libtorch.
fn user_libtorch() -> Result<Option<PathBuf>> {
    let Some(dir) = std::env::var_os("LIBTORCH")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
    else {
        return Ok(None);
    };
    ensure!(
        dir.join("lib").is_dir(),
        "LIBTORCH={} has no lib/ folder: point LIBTORCH at a libtorch {TORCH_VERSION} directory, \
         or unset it to let xtask install torch=={TORCH_VERSION} from PyPI",
        dir.display()
    );
    Ok(Some(dir))
}

/// A virtual environment holding the pinned torch; this is also the stamp file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorchInstall {
    /// The venv's Python interpreter.
    pub python: PathBuf,
    /// `os.path.dirname(torch.__file__)`: the libtorch directory inside the wheel.
    pub torch_dir: PathBuf,
    /// `torch.__version__`, e.g. `2.11.0+cu130`.
    pub torch_version: String,
}

impl TorchInstall {
    /// Whether this install is the pinned version and still on disk.
    fn is_usable(&self) -> bool {
        self.torch_version.starts_with(TORCH_VERSION)
            && self.python.is_file()
            && self.torch_dir.join("lib").is_dir()
    }
}

/// Returns the venv with the pinned torch, creating it and installing torch when needed.
///
/// Fast path: a usable stamp file means no process is started at all.
///
/// # Errors
/// When Python, venv creation, pip, or the version check fails; the message says what to do.
pub fn ensure_torch_venv(cache: &Path) -> Result<TorchInstall> {
    let stamp = stamp_path(cache);
    if let Some(install) = read_stamp(&stamp).filter(TorchInstall::is_usable) {
        return Ok(install);
    }
    let venv = venv_dir(cache);
    let python = venv_python(&venv);
    if !python.is_file() {
        create_venv(&venv, cache)?;
    }
    // pip is idempotent: with everything in place this takes seconds, and it happens only when
    // the stamp is missing (first run, or a new pin).
    pip_install_pinned(&python)?;
    let install = probe_torch(&python)?.with_context(|| {
        format!(
            "torch=={TORCH_VERSION} was installed but `import torch` fails in {}",
            venv.display()
        )
    })?;
    ensure!(
        install.torch_version.starts_with(TORCH_VERSION),
        "{} has torch {} but tch needs {TORCH_VERSION}: delete {} and run `cargo xtask setup` again",
        python.display(),
        install.torch_version,
        venv.display()
    );
    write_stamp(&stamp, &install)?;
    eprintln!(
        "xtask: torch {} installed in {}",
        install.torch_version,
        venv.display()
    );
    Ok(install)
}

/// `<cache>/torch-<version>.json`.
fn stamp_path(cache: &Path) -> PathBuf {
    cache.join(format!(
        "torch-{TORCH_VERSION}-tensorboard-{TENSORBOARD_VERSION}.json"
    ))
}

/// `<cache>/venv`.
fn venv_dir(cache: &Path) -> PathBuf {
    cache.join("venv")
}

/// The interpreter inside a venv.
fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The stamp's content, or `None` when it is missing or unreadable (then setup redoes the work).
fn read_stamp(stamp: &Path) -> Option<TorchInstall> {
    let text = fs::read_to_string(stamp).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the stamp atomically (temporary file, then rename).
fn write_stamp(stamp: &Path, install: &TorchInstall) -> Result<()> {
    let tmp = stamp.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(install)?;
    fs::write(&tmp, text + "\n").with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, stamp).with_context(|| format!("cannot write {}", stamp.display()))
}

/// The Python that creates the venv: `$PISA_PYTHON` unless it points into the venv itself
/// (as after `eval "$(cargo xtask env)"`), else `python3`.
fn base_python(venv: &Path) -> OsString {
    base_python_from(std::env::var_os("PISA_PYTHON"), venv)
}

/// [`base_python`] given the value of `PISA_PYTHON`.
fn base_python_from(pisa_python: Option<OsString>, venv: &Path) -> OsString {
    pisa_python
        .filter(|p| !p.is_empty() && !Path::new(p).starts_with(venv))
        .unwrap_or_else(|| OsString::from("python3"))
}

/// Creates the venv with `python -m venv`, falling back to `virtualenv` from PyPI where the
/// system Python lacks `ensurepip` (Debian/Ubuntu without `python3-venv`).
fn create_venv(venv: &Path, cache: &Path) -> Result<()> {
    let python = base_python(venv);
    fs::create_dir_all(cache)
        .with_context(|| format!("cannot create cache directory {}", cache.display()))?;
    eprintln!(
        "xtask: creating {} with `{} -m venv`",
        venv.display(),
        python.to_string_lossy()
    );
    let venv_ok = quiet_status(Command::new(&python).args(["-m", "venv"]).arg(venv))
        .with_context(|| cannot_run_python(&python))?;
    if venv_ok && venv_python(venv).is_file() {
        return Ok(());
    }
    eprintln!("xtask: `-m venv` failed (no ensurepip?); trying virtualenv from PyPI");
    let _ = fs::remove_dir_all(venv);
    let tools = cache.join("virtualenv-tool");
    run_to_stderr(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--upgrade", "--target"])
            .arg(&tools)
            .arg("virtualenv"),
    )
    .with_context(|| cannot_run_python(&python))?;
    run_to_stderr(
        Command::new(&python)
            .env("PYTHONPATH", &tools)
            .args(["-m", "virtualenv"])
            .arg(venv),
    )
    .with_context(|| format!("cannot create a venv at {}: install python3-venv", venv.display()))
}

fn cannot_run_python(python: &OsStr) -> String {
    format!(
        "cannot run `{}`: install Python 3.10+ with pip, or set PISA_PYTHON to such an interpreter",
        python.to_string_lossy()
    )
}

/// `pip install` of the pinned packages into the venv, progress bars off, output on stderr.
fn pip_install_pinned(python: &Path) -> Result<()> {
    let packages = pinned_packages();
    eprintln!(
        "xtask: installing {} from PyPI (a few GB, once; later runs skip this)",
        packages.join(" ")
    );
    run_to_stderr(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--progress-bar",
                "off",
                "--disable-pip-version-check",
            ])
            .args(&packages),
    )
    .with_context(|| {
        format!(
            "pip could not install {}: check network access to PyPI and free disk space (about 6 GB), \
             then run `cargo xtask setup` again",
            packages.join(" ")
        )
    })
}

/// Asks the venv's Python for torch's version and directory; `None` when torch is not importable.
fn probe_torch(python: &Path) -> Result<Option<TorchInstall>> {
    const PROBE: &str = "import json, os, torch; \
        print(json.dumps({'version': torch.__version__, 'dir': os.path.dirname(torch.__file__)}))";
    let output = Command::new(python)
        .args(["-W", "ignore", "-c", PROBE])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !output.status.success() {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Probe {
        version: String,
        dir: PathBuf,
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rfind(|l| l.starts_with('{')).unwrap_or_default();
    let probe: Probe =
        serde_json::from_str(line).with_context(|| format!("unexpected torch probe output: {stdout:?}"))?;
    Ok(Some(TorchInstall {
        python: python.to_path_buf(),
        torch_dir: probe.dir,
        torch_version: probe.version,
    }))
}

/// Runs `cmd` with its stdout sent to our stderr (stdout stays clean for `cargo xtask env`).
fn run_to_stderr(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` with its output discarded; true when it succeeded.
fn quiet_status(cmd: &mut Command) -> Result<bool> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok(status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_and_checks_the_version() {
        let cache = std::env::temp_dir().join(format!("xtask-stamp-test-{}", std::process::id()));
        fs::create_dir_all(cache.join("venv/bin")).unwrap();
        fs::create_dir_all(cache.join("torch/lib")).unwrap();
        fs::write(cache.join("venv/bin/python"), "").unwrap();
        let install = TorchInstall {
            python: cache.join("venv/bin/python"),
            torch_dir: cache.join("torch"),
            torch_version: format!("{TORCH_VERSION}+cu130"),
        };
        write_stamp(&stamp_path(&cache), &install).unwrap();
        let read = read_stamp(&stamp_path(&cache)).unwrap();
        assert_eq!(read, install);
        assert!(read.is_usable());
        let stale = TorchInstall {
            torch_version: "2.10.0".into(),
            ..install.clone()
        };
        assert!(!stale.is_usable());
        let gone = TorchInstall {
            torch_dir: cache.join("nowhere"),
            ..install
        };
        assert!(!gone.is_usable());
        fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn base_python_ignores_the_venv_itself() {
        let venv = Path::new("/c/venv");
        let from = |v: Option<&str>| base_python_from(v.map(OsString::from), venv);
        assert_eq!(from(None), "python3");
        assert_eq!(from(Some("")), "python3");
        assert_eq!(from(Some("/c/venv/bin/python")), "python3");
        assert_eq!(from(Some("/opt/py3.12/bin/python")), "/opt/py3.12/bin/python");
    }
}
