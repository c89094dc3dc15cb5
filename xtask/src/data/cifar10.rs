//! `cargo xtask data cifar10`: unpacks the project's CIFAR-10 JPEG tarball
//! (`../shared/data/cifar10-jpeg.tar` beside the repository, or `--tar PATH`) into
//! `<DATA_DIR>/cifar10/cifar10-jpeg/{train,test}/<class>/NNNN.jpg` (50,000 + 10,000 32×32
//! images) with the system `tar`, after checking the tarball's SHA-256, and counts the images.
//!
//! The tarball is a lossy JPEG re-encoding of CIFAR-10 (about 0.9 KB per image): fine to compare
//! optimizers, not to quote absolute FIDs against papers. The loaders (`datasets::images`, used
//! by `gan`) also read the official binary batches (`data_batch_*.bin`) and any class-per-folder
//! tree: put those in `<DATA_DIR>/cifar10/` instead to use them.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::{sha256_hex, TempDir};
use crate::cache::project_root;

/// The tarball beside the repository, relative to the repository root.
const DEFAULT_TAR: &str = "../shared/data/cifar10-jpeg.tar";
/// Its SHA-256 (computed once with `sha256sum`).
const TAR_SHA256: &str = "06afdf532759f7a0e07dc35dda473aed6a8fb45a89d623e1284ef4db44293ec5";
/// The top folder inside the tarball.
const TOP: &str = "cifar10-jpeg";
/// Images per split.
const COUNTS: [(&str, usize); 2] = [("train", 50_000), ("test", 10_000)];

/// Arguments of `cargo xtask data cifar10`.
#[derive(clap::Args, Debug, PartialEq, Eq)]
pub struct Cifar10Args {
    /// The data directory [default: $PISA_DATA_DIR, else data/ at the repository root].
    #[arg(long, value_name = "DATA_DIR")]
    pub dir: Option<PathBuf>,
    /// The CIFAR-10 JPEG tarball [default: ../shared/data/cifar10-jpeg.tar beside the repository].
    #[arg(long)]
    pub tar: Option<PathBuf>,
}

/// Runs `cargo xtask data cifar10`.
///
/// # Errors
/// As [`ensure`].
pub fn run(args: &Cifar10Args) -> Result<()> {
    ensure(
        &args.dir.clone().unwrap_or_else(super::default_data_dir),
        args.tar.as_deref(),
    )
    .map(drop)
}

/// Makes sure `<data_dir>/cifar10/cifar10-jpeg` holds the unpacked tree; returns
/// `<data_dir>/cifar10`.
///
/// # Errors
/// When the tarball is missing or not the pinned one, `tar` fails, or images are missing.
pub fn ensure(data_dir: &Path, tar: Option<&Path>) -> Result<PathBuf> {
    let target = data_dir.join("cifar10");
    let tree = target.join(TOP);
    if counts_ok(&tree) {
        println!(
            "CIFAR-10 is already in {} (50,000 + 10,000 images); nothing to do.",
            tree.display()
        );
        return Ok(target);
    }
    let tar = tar.map_or_else(|| project_root().join(DEFAULT_TAR), Path::to_path_buf);
    if !tar.is_file() {
        bail!(
            "{}: not found. Give the CIFAR-10 JPEG tarball with --tar, or put the official binary \
             batches (data_batch_*.bin, test_batch.bin) or a class-per-folder tree in {}",
            tar.display(),
            target.display()
        );
    }
    let digest =
        sha256_hex(&mut File::open(&tar).with_context(|| format!("cannot read {}", tar.display()))?)?;
    if digest != TAR_SHA256 {
        bail!(
            "{}: SHA-256 {digest}, expected {TAR_SHA256}: not the pinned tarball",
            tar.display()
        );
    }
    fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?;
    let tmp = TempDir::new("cifar10")?;
    eprintln!("xtask: $ tar -xf {} -C {}", tar.display(), tmp.path().display());
    let output = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(tmp.path())
        .stdin(Stdio::null())
        .output()
        .context("cannot start `tar`")?;
    if !output.status.success() {
        bail!(
            "`tar -xf {}` failed: {}",
            tar.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if !counts_ok(&tmp.path().join(TOP)) {
        bail!(
            "{} does not hold 50,000 train and 10,000 test JPEGs",
            tar.display()
        );
    }
    if tree.exists() {
        fs::remove_dir_all(&tree).with_context(|| format!("cannot replace {}", tree.display()))?;
    }
    // Same file system in general is not guaranteed (temp dir): copy with `cp -r`, then rename.
    let partial = target.join(format!("{TOP}.partial"));
    let _ = fs::remove_dir_all(&partial);
    let status = Command::new("cp")
        .arg("-r")
        .arg(tmp.path().join(TOP))
        .arg(&partial)
        .status()
        .context("cannot start `cp`")?;
    if !status.success() {
        bail!("cannot copy the unpacked images to {}", partial.display());
    }
    fs::rename(&partial, &tree).with_context(|| format!("cannot rename to {}", tree.display()))?;
    println!(
        "CIFAR-10 is in {} (50,000 train + 10,000 test JPEGs, tarball SHA-256 verified)",
        tree.display()
    );
    Ok(target)
}

/// True when `tree/{train,test}` hold the expected number of `.jpg` files over 10 classes.
fn counts_ok(tree: &Path) -> bool {
    COUNTS.iter().all(|(split, expected)| {
        let Ok(classes) = fs::read_dir(tree.join(split)) else {
            return false;
        };
        let mut n_classes = 0;
        let mut n = 0;
        for class in classes.flatten() {
            n_classes += 1;
            n += fs::read_dir(class.path())
                .map(|files| {
                    files
                        .flatten()
                        .filter(|f| f.path().extension().is_some_and(|e| e == "jpg"))
                        .count()
                })
                .unwrap_or(0);
        }
        n_classes == 10 && n == *expected
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_need_every_image() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!counts_ok(dir.path()));
        fs::create_dir_all(dir.path().join("train/cat")).unwrap();
        fs::write(dir.path().join("train/cat/0000.jpg"), b"x").unwrap();
        assert!(!counts_ok(dir.path()));
        assert_eq!(TAR_SHA256.len(), 64);
    }
}
