//! `cargo xtask setup --mujoco`: provision MuJoCo 3.17.0 for the `envs` crate's `mujoco` feature.
//!
//! `mujoco-rs` =7.0.0 (+mj-3.17.0) links `libmujoco.so` dynamically from `MUJOCO_DYNAMIC_LINK_DIR` and
//! needs the library on `LD_LIBRARY_PATH` at run time. Both the library and the Gymnasium task XML
//! files come from PyPI wheels (the only source reachable everywhere here): `mujoco==3.17.0` holds
//! `libmujoco.so.3.17.0` and the C headers, `gymnasium==1.4.0` holds `envs/mujoco/assets/*.xml`.
//! They are laid out once under the cache directory:
//!
//! ```text
//! $PISA_CACHE_DIR/mujoco-3.17.0/
//!   lib/libmujoco.so.3.17.0, lib/libmujoco.so -> libmujoco.so.3.17.0
//!   include/mujoco/*.h
//!   assets/{ant,half_cheetah,hopper,humanoid,...}.xml
//!   stamp.json
//! ```
//!
//! The layout is built in a temporary sibling folder and renamed into place, so an interrupted setup
//! leaves nothing half-done; a usable stamp makes later calls free. `cargo xtask env` exports
//! [`MujocoInstall::env_vars`] whenever this layout exists.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::cache::prepend_path;

/// The MuJoCo release `mujoco-rs` =7.0.0+mj-3.17.0 is built for (PyPI `mujoco`).
pub const MUJOCO_VERSION: &str = "3.17.0";

/// The Gymnasium release whose task XML files (and v5 task code) the envs crate follows.
pub const GYMNASIUM_VERSION: &str = "1.4.0";

/// Variable naming the folder of the Gymnasium task XML files (read by `envs`).
pub const ASSETS_VAR: &str = "PISA_MUJOCO_ASSETS";

/// Variable `mujoco-rs`'s build script reads: the folder holding `libmujoco.so`.
pub const LINK_DIR_VAR: &str = "MUJOCO_DYNAMIC_LINK_DIR";

/// XML files the envs crate loads; setup fails if the wheel lacks one.
const REQUIRED_ASSETS: [&str; 7] = [
    "ant.xml",
    "half_cheetah.xml",
    "hopper.xml",
    "humanoid.xml",
    "inverted_double_pendulum.xml",
    "inverted_pendulum.xml",
    "walker2d_v5.xml",
];

/// Extracts what we need from the two wheels (zip files): `python - MJ_WHEEL GYM_WHEEL OUT`.
const EXTRACT_PY: &str = r#"
import os, pathlib, sys, zipfile
mj_wheel, gym_wheel, version, out = sys.argv[1:5]
out = pathlib.Path(out)
def write(z, name, dest):
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(z.read(name))
with zipfile.ZipFile(mj_wheel) as z:
    lib = f"mujoco/libmujoco.so.{version}"
    write(z, lib, out / "lib" / f"libmujoco.so.{version}")
    os.chmod(out / "lib" / f"libmujoco.so.{version}", 0o755)
    for name in z.namelist():
        if name.startswith("mujoco/include/") and not name.endswith("/"):
            write(z, name, out / "include" / name[len("mujoco/include/"):])
with zipfile.ZipFile(gym_wheel) as z:
    prefix = "gymnasium/envs/mujoco/assets/"
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith(".xml") and "/" not in name[len(prefix):]:
            write(z, name, out / "assets" / name[len(prefix):])
"#;

/// A provisioned MuJoCo; this is also the stamp file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MujocoInstall {
    /// `<cache>/mujoco-<version>`.
    pub root: PathBuf,
    /// The MuJoCo version (PyPI `mujoco`).
    pub mujoco_version: String,
    /// The Gymnasium version the XML files come from.
    pub gymnasium_version: String,
}

impl MujocoInstall {
    /// `<root>/lib`, holding `libmujoco.so`.
    pub fn lib_dir(&self) -> PathBuf {
        self.root.join("lib")
    }

    /// `<root>/assets`, holding the task XML files.
    pub fn assets_dir(&self) -> PathBuf {
        self.root.join("assets")
    }

    /// Whether this install is the pinned pair and still complete on disk.
    fn is_usable(&self) -> bool {
        self.mujoco_version == MUJOCO_VERSION
            && self.gymnasium_version == GYMNASIUM_VERSION
            && self.lib_dir().join("libmujoco.so").is_file()
            && REQUIRED_ASSETS
                .iter()
                .all(|a| self.assets_dir().join(a).is_file())
    }

    /// What a cargo command building or running the `mujoco` feature needs: `MUJOCO_DYNAMIC_LINK_DIR`,
    /// `LD_LIBRARY_PATH` with the library folder first (after `existing_ld_path`), `PISA_MUJOCO_ASSETS`.
    ///
    /// # Errors
    /// When a path contains the path-list separator `:`.
    pub fn env_vars(
        &self,
        existing_ld_path: Option<&std::ffi::OsStr>,
    ) -> Result<Vec<(&'static str, OsString)>> {
        Ok(vec![
            (LINK_DIR_VAR, self.lib_dir().into_os_string()),
            (
                "LD_LIBRARY_PATH",
                prepend_path(&self.lib_dir(), existing_ld_path)?,
            ),
            (ASSETS_VAR, self.assets_dir().into_os_string()),
        ])
    }
}

/// `<cache>/mujoco-<version>`.
pub fn install_dir(cache: &Path) -> PathBuf {
    cache.join(format!("mujoco-{MUJOCO_VERSION}"))
}

fn stamp_path(root: &Path) -> PathBuf {
    root.join("stamp.json")
}

/// The provisioned MuJoCo, or `None` when `cargo xtask setup --mujoco` has not run (nothing is fetched).
pub fn installed(cache: &Path) -> Option<MujocoInstall> {
    let text = fs::read_to_string(stamp_path(&install_dir(cache))).ok()?;
    serde_json::from_str::<MujocoInstall>(&text)
        .ok()
        .filter(MujocoInstall::is_usable)
}

/// Returns the provisioned MuJoCo, fetching and laying it out first when needed (idempotent).
///
/// `python` runs `pip download` and the wheel extraction (any Python 3 with pip).
///
/// # Errors
/// When pip cannot fetch the wheels (network, platform without a `mujoco` wheel), a wheel lacks a
/// file the layout needs, or the cache is not writable; the message says which.
pub fn ensure_mujoco(cache: &Path, python: &Path) -> Result<MujocoInstall> {
    if let Some(install) = installed(cache) {
        return Ok(install);
    }
    let root = install_dir(cache);
    let tmp = cache.join(format!("mujoco-{MUJOCO_VERSION}.tmp"));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let wheels = tmp.join("wheels");
    eprintln!(
        "xtask: fetching mujoco=={MUJOCO_VERSION} (libmujoco, headers) and gymnasium=={GYMNASIUM_VERSION} \
         (task XML files) from PyPI, about 30 MB, once"
    );
    run_to_stderr(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--progress-bar",
                "off",
                "--disable-pip-version-check",
                "--dest",
            ])
            .arg(&wheels)
            .arg(format!("mujoco=={MUJOCO_VERSION}"))
            .arg(format!("gymnasium=={GYMNASIUM_VERSION}")),
    )
    .with_context(|| {
        format!(
            "pip could not download mujoco=={MUJOCO_VERSION} and gymnasium=={GYMNASIUM_VERSION}: check \
             network access to PyPI (a manylinux x86-64 or aarch64 machine is needed for the mujoco wheel)"
        )
    })?;
    let mj_wheel = find_wheel(&wheels, &format!("mujoco-{MUJOCO_VERSION}-"))?;
    let gym_wheel = find_wheel(&wheels, &format!("gymnasium-{GYMNASIUM_VERSION}-"))?;
    let layout = tmp.join("layout");
    run_to_stderr(
        Command::new(python)
            .args(["-c", EXTRACT_PY])
            .arg(&mj_wheel)
            .arg(&gym_wheel)
            .arg(MUJOCO_VERSION)
            .arg(&layout),
    )
    .with_context(|| {
        format!(
            "cannot extract {} and {}",
            mj_wheel.display(),
            gym_wheel.display()
        )
    })?;
    link_library(&layout.join("lib"))?;
    let install = MujocoInstall {
        root: root.clone(),
        mujoco_version: MUJOCO_VERSION.into(),
        gymnasium_version: GYMNASIUM_VERSION.into(),
    };
    for asset in REQUIRED_ASSETS {
        ensure!(
            layout.join("assets").join(asset).is_file(),
            "{} has no envs/mujoco/assets/{asset}",
            gym_wheel.display()
        );
    }
    fs::write(
        stamp_path(&layout),
        serde_json::to_string_pretty(&install)? + "\n",
    )
    .context("cannot write the MuJoCo stamp")?;
    let _ = fs::remove_dir_all(&root);
    fs::rename(&layout, &root)
        .with_context(|| format!("cannot move {} to {}", layout.display(), root.display()))?;
    let _ = fs::remove_dir_all(&tmp);
    ensure!(
        install.is_usable(),
        "MuJoCo layout in {} is incomplete after setup",
        root.display()
    );
    eprintln!("xtask: MuJoCo {MUJOCO_VERSION} ready in {}", root.display());
    Ok(install)
}

/// The one wheel in `dir` whose name starts with `prefix`.
fn find_wheel(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(prefix) && name.ends_with(".whl") {
            return Ok(path);
        }
    }
    bail!("pip downloaded no {prefix}*.whl into {}", dir.display())
}

/// `lib/libmujoco.so -> libmujoco.so.<version>`, the name the linker looks for.
fn link_library(lib: &Path) -> Result<()> {
    let versioned = format!("libmujoco.so.{MUJOCO_VERSION}");
    ensure!(
        lib.join(&versioned).is_file(),
        "the mujoco wheel has no {versioned}"
    );
    let link = lib.join("libmujoco.so");
    let _ = fs::remove_file(&link);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&versioned, &link)
        .with_context(|| format!("cannot create {}", link.display()))?;
    #[cfg(not(unix))]
    fs::copy(lib.join(&versioned), &link).with_context(|| format!("cannot create {}", link.display()))?;
    Ok(())
}

/// Runs `cmd` with its stdout sent to our stderr (stdout stays clean for `cargo xtask env`).
fn run_to_stderr(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    ensure!(status.success(), "{:?} failed ({status})", cmd.get_program());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_install(cache: &Path) -> MujocoInstall {
        let root = install_dir(cache);
        fs::create_dir_all(root.join("lib")).unwrap();
        fs::create_dir_all(root.join("assets")).unwrap();
        fs::write(
            root.join("lib").join(format!("libmujoco.so.{MUJOCO_VERSION}")),
            "",
        )
        .unwrap();
        link_library(&root.join("lib")).unwrap();
        for a in REQUIRED_ASSETS {
            fs::write(root.join("assets").join(a), "<mujoco/>").unwrap();
        }
        MujocoInstall {
            root,
            mujoco_version: MUJOCO_VERSION.into(),
            gymnasium_version: GYMNASIUM_VERSION.into(),
        }
    }

    #[test]
    fn stamp_and_layout_make_an_install() {
        let cache = tempfile::tempdir().unwrap();
        assert_eq!(installed(cache.path()), None);
        let install = fake_install(cache.path());
        // Layout without stamp: not provisioned.
        assert_eq!(installed(cache.path()), None);
        fs::write(
            stamp_path(&install.root),
            serde_json::to_string(&install).unwrap(),
        )
        .unwrap();
        assert_eq!(installed(cache.path()), Some(install.clone()));
        // ensure_mujoco takes the fast path without running Python at all.
        assert_eq!(
            ensure_mujoco(cache.path(), Path::new("no-such-python")).unwrap(),
            install
        );
        // A missing task file or another version makes it unusable again.
        fs::remove_file(install.assets_dir().join("humanoid.xml")).unwrap();
        assert_eq!(installed(cache.path()), None);
        let old = MujocoInstall {
            mujoco_version: "3.3.5".into(),
            ..install
        };
        assert!(!old.is_usable());
    }

    #[test]
    fn env_vars_point_at_lib_and_assets() {
        let install = MujocoInstall {
            root: PathBuf::from("/c/mujoco-3.17.0"),
            mujoco_version: MUJOCO_VERSION.into(),
            gymnasium_version: GYMNASIUM_VERSION.into(),
        };
        let vars = install.env_vars(Some("/t/lib".as_ref())).unwrap();
        assert_eq!(
            vars,
            vec![
                (LINK_DIR_VAR, OsString::from("/c/mujoco-3.17.0/lib")),
                ("LD_LIBRARY_PATH", OsString::from("/c/mujoco-3.17.0/lib:/t/lib")),
                (ASSETS_VAR, OsString::from("/c/mujoco-3.17.0/assets")),
            ]
        );
    }

    #[test]
    fn a_failing_python_is_a_clear_error() {
        let cache = tempfile::tempdir().unwrap();
        let err = ensure_mujoco(cache.path(), Path::new("/nonexistent/python")).unwrap_err();
        assert!(format!("{err:#}").contains("mujoco==3.17.0"), "{err:#}");
        assert_eq!(installed(cache.path()), None);
    }
}
