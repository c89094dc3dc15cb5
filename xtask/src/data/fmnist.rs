//! `cargo xtask data fmnist`: Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; 60,000 + 10,000
//! grey 28×28 images of clothing, 10 classes) from the Debian package `dataset-fashion-mnist`.
//!
//! The package is fetched with `apt-get download` (no root needed, nothing installed) into a
//! temporary folder and unpacked with `dpkg-deb -x`, which only extracts files: no maintainer
//! script or install hook runs. Its four gzip'd IDX files
//! (`usr/share/datasets/fashion-mnist/*-ubyte.gz`, already under the official names) are checked
//! against the sizes and SHA-256 digests pinned in [`FILES`] and copied to
//! `<DATA_DIR>/fmnist/`. A second run that finds them intact does nothing. The loader
//! (`datasets::load(DatasetName::Fmnist, ..)`, through `mnist::data::load`) reads them gzip'd.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::{fs, io};

use anyhow::{bail, Context, Result};

use super::{check, Check, Expected, TempDir};

/// The Debian package that carries Fashion-MNIST.
const PACKAGE: &str = "dataset-fashion-mnist";
/// Where the files are inside the package.
const PACKAGE_FOLDER: &str = "usr/share/datasets/fashion-mnist";
/// The gzip header every file starts with (`1f 8b`, deflate, no flags).
const GZIP: u32 = 0x1f8b_0800;

/// The four files of `dataset-fashion-mnist` 0.0~git20200523.55506a9-1 (Debian bookworm), the
/// upstream files of zalandoresearch/fashion-mnist; digests computed once with `sha256sum` over
/// the unpacked package.
pub const FILES: [Expected; 4] = [
    Expected {
        name: "train-images-idx3-ubyte.gz",
        size: 26_421_856,
        magic: GZIP,
        sha256: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    },
    Expected {
        name: "train-labels-idx1-ubyte.gz",
        size: 29_491,
        magic: GZIP,
        sha256: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    },
    Expected {
        name: "t10k-images-idx3-ubyte.gz",
        size: 4_422_079,
        magic: GZIP,
        sha256: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    },
    Expected {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 5_125,
        magic: GZIP,
        sha256: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    },
];

/// Makes sure `<data_dir>/fmnist` holds the four verified files, fetching them when it does not;
/// returns that folder.
///
/// # Errors
/// When apt-get or dpkg-deb is missing or fails, the package's files are not the pinned ones, or
/// the folder cannot be written.
pub fn ensure(data_dir: &Path) -> Result<PathBuf> {
    let target = data_dir.join("fmnist");
    if intact(&target)? {
        println!(
            "Fashion-MNIST is already in {}: 4 files with the pinned sizes and SHA-256; nothing to do.",
            target.display()
        );
        print!("{}", file_table());
        return Ok(target);
    }
    let tmp = TempDir::new("fmnist")?;
    let fallback = format!(
        "or download the official files ({}) from https://github.com/zalandoresearch/fashion-mnist \
         (data/fashion/) into {}",
        FILES.map(|f| f.name).join(", "),
        target.display()
    );
    let deb = apt_download(tmp.path(), &fallback)?;
    let unpacked = tmp.path().join("unpacked");
    run_tool(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
        "dpkg-deb",
        &fallback,
    )?;
    let folder = unpacked.join(PACKAGE_FOLDER);
    for expected in &FILES {
        let path = folder.join(expected.name);
        let found = check(&path, expected).with_context(|| format!("cannot read {}", path.display()))?;
        if found != Check::Ok {
            bail!(
                "{} in {}: {found}; expected {} bytes with SHA-256 {}. The package is not the one \
                 pinned here: do not use it ({fallback})",
                expected.name,
                deb.display(),
                expected.size,
                expected.sha256
            );
        }
    }
    fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?;
    for expected in &FILES {
        let from = folder.join(expected.name);
        let dest = target.join(expected.name);
        // Copy under a temporary name, then rename: an interrupted copy never looks finished.
        let partial = target.join(format!("{}.partial", expected.name));
        fs::copy(&from, &partial)
            .with_context(|| format!("cannot copy {} to {}", from.display(), partial.display()))?;
        fs::rename(&partial, &dest)
            .with_context(|| format!("cannot rename {} to {}", partial.display(), dest.display()))?;
    }
    println!(
        "Fashion-MNIST is in {} (from Debian {}; sizes and SHA-256 verified):",
        target.display(),
        deb.file_name().unwrap_or_default().to_string_lossy()
    );
    print!("{}", file_table());
    Ok(target)
}

/// True when the four files in `target` are as pinned; a damaged one is reported.
fn intact(target: &Path) -> Result<bool> {
    let mut intact = true;
    for expected in &FILES {
        let path = target.join(expected.name);
        match check(&path, expected).with_context(|| format!("cannot read {}", path.display()))? {
            Check::Ok => {}
            Check::Missing => intact = false,
            problem => {
                eprintln!(
                    "xtask: {}: {problem}; fetching Fashion-MNIST again",
                    path.display()
                );
                intact = false;
            }
        }
    }
    Ok(intact)
}

/// Runs `apt-get download dataset-fashion-mnist` in `dir`; returns the `.deb` it wrote.
fn apt_download(dir: &Path, fallback: &str) -> Result<PathBuf> {
    eprintln!("xtask: $ apt-get download {PACKAGE}   (in {})", dir.display());
    run_tool(
        Command::new("apt-get")
            .args(["download", PACKAGE])
            .current_dir(dir),
        "apt-get",
        fallback,
    )?;
    let debs: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    match debs.as_slice() {
        [deb] => Ok(deb.clone()),
        _ => bail!(
            "`apt-get download {PACKAGE}` wrote {} .deb files in {}, expected 1",
            debs.len(),
            dir.display()
        ),
    }
}

/// Runs `cmd` (the program `name`), failing with its stderr and `fallback` when it fails.
fn run_tool(cmd: &mut Command, name: &str, fallback: &str) -> Result<()> {
    let output = match cmd.stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => bail!(
            "`{name}` was not found on PATH; it is needed to fetch {PACKAGE} (a Debian/Ubuntu \
             system has it), {fallback}"
        ),
        Err(err) => return Err(err).with_context(|| format!("cannot start `{name}`")),
    };
    if !output.status.success() {
        bail!(
            "`{name}` failed ({}): {}; if the package is unknown, run `apt-get update` first, \
             {fallback}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// One line per file: name, size, SHA-256.
fn file_table() -> String {
    FILES
        .iter()
        .map(|f| format!("  {:<27} {:>9} bytes  sha256 {}\n", f.name, f.size, f.sha256))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_files_have_the_official_names() {
        let official: Vec<String> = [
            "train-images-idx3",
            "train-labels-idx1",
            "t10k-images-idx3",
            "t10k-labels-idx1",
        ]
        .iter()
        .map(|f| format!("{f}-ubyte.gz"))
        .collect();
        assert_eq!(FILES.map(|f| f.name.to_owned()).to_vec(), official);
        for f in &FILES {
            assert_eq!(f.sha256.len(), 64, "{}", f.name);
            assert!(f
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn a_damaged_copy_is_not_intact() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!intact(dir.path()).unwrap());
        // Right size and gzip header, wrong content: caught by the digest.
        let f = &FILES[3];
        let mut bytes = vec![0u8; f.size as usize];
        bytes[..4].copy_from_slice(&GZIP.to_be_bytes());
        fs::write(dir.path().join(f.name), bytes).unwrap();
        assert!(matches!(
            check(&dir.path().join(f.name), f).unwrap(),
            Check::Sha256(_)
        ));
    }
}
