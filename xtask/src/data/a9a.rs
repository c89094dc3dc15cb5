//! `cargo xtask data a9a`: the LIBSVM a9a files (UCI Adult, 123 binary features) copied from
//! `../shared/data/` beside the repository (or `--from DIR`, a folder with a user's copy of the
//! official `a9a` and `a9a.t`) into `<DATA_DIR>/a9a/`, checked against the sizes, SHA-256
//! digests and row counts pinned in [`FILES`]. A second run that finds both intact does nothing.
//! The loader is `datasets::load(DatasetName::A9a, ..)`, which also reads the official files
//! from any folder directly.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{sha256_hex, DirArg};
use crate::cache::project_root;

/// The folder with the files beside the repository, relative to the repository root.
const DEFAULT_FROM: &str = "../shared/data";

/// One pinned a9a file.
#[derive(Debug, Clone, Copy)]
pub struct A9aFile {
    /// The official name.
    pub name: &'static str,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256 (computed once with `sha256sum`).
    pub sha256: &'static str,
    /// Its number of examples (lines).
    pub rows: usize,
}

/// The training and test files as distributed by LIBSVM (binary.html#a9a).
pub const FILES: [A9aFile; 2] = [
    A9aFile {
        name: "a9a",
        size: 2_329_875,
        sha256: "f5d5ffd8d865ff41328e7ee043e4b020816914ff6843ff15b98905ddbedce906",
        rows: 32_561,
    },
    A9aFile {
        name: "a9a.t",
        size: 1_164_628,
        sha256: "1f448a153f0320399a7e40836eb207655b0bde0f21fc941cc472193daa9f5de9",
        rows: 16_281,
    },
];

/// Arguments of `cargo xtask data a9a`.
#[derive(clap::Args, Debug, PartialEq, Eq)]
pub struct A9aArgs {
    #[command(flatten)]
    dir: DirArg,
    /// The folder holding `a9a` and `a9a.t` [default: ../shared/data beside the repository].
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
}

/// Runs `cargo xtask data a9a`.
///
/// # Errors
/// As [`ensure`].
pub fn run(args: &A9aArgs) -> Result<()> {
    let data_dir = args.dir.dir.clone().unwrap_or_else(super::default_data_dir);
    let from = args
        .from
        .clone()
        .unwrap_or_else(|| project_root().join(DEFAULT_FROM));
    ensure(&data_dir, &from).map(drop)
}

/// [`ensure`] from the shared data folder next to the repository (`../shared/data`).
///
/// # Errors
/// As [`ensure`].
pub fn ensure_shared(data_dir: &Path) -> Result<PathBuf> {
    ensure(data_dir, &project_root().join(DEFAULT_FROM))
}

/// Makes sure `<data_dir>/a9a` holds both verified files, copying them from `from` when it does
/// not; returns that folder.
///
/// # Errors
/// When a file in `from` is missing or not the pinned one, or the folder cannot be written.
pub fn ensure(data_dir: &Path, from: &Path) -> Result<PathBuf> {
    let target = data_dir.join("a9a");
    let mut missing = Vec::new();
    for file in &FILES {
        let path = target.join(file.name);
        if !path.exists() {
            missing.push(file);
        } else if let Err(problem) = verify(&path, file) {
            eprintln!("xtask: {problem:#}; copying it again");
            missing.push(file);
        }
    }
    if missing.is_empty() {
        println!(
            "a9a is already in {} (sizes, SHA-256 and row counts as pinned); nothing to do.",
            target.display()
        );
        print!("{}", file_table());
        return Ok(target);
    }
    for file in &missing {
        let source = from.join(file.name);
        if !source.is_file() {
            bail!(
                "{}: not found. Give the folder holding the LIBSVM files a9a and a9a.t with --from \
                 (https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary.html#a9a), or put \
                 them in {} yourself",
                source.display(),
                target.display()
            );
        }
        verify(&source, file)?;
    }
    fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?;
    for file in missing {
        let source = from.join(file.name);
        let dest = target.join(file.name);
        // Copy under a temporary name, then rename: an interrupted copy never looks finished.
        let partial = target.join(format!("{}.partial", file.name));
        // Written afresh rather than `fs::copy`, which would keep a read-only source's mode.
        let written =
            File::open(&source).and_then(|mut src| std::io::copy(&mut src, &mut File::create(&partial)?));
        written.with_context(|| format!("cannot copy {} to {}", source.display(), partial.display()))?;
        fs::rename(&partial, &dest)
            .with_context(|| format!("cannot rename {} to {}", partial.display(), dest.display()))?;
    }
    println!(
        "a9a is in {} (from {}; sizes, SHA-256 and row counts verified):",
        target.display(),
        from.display()
    );
    print!("{}", file_table());
    Ok(target)
}

/// Checks `path` against `file`: size, then SHA-256, then the number of non-blank lines.
fn verify(path: &Path, file: &A9aFile) -> Result<()> {
    let size = fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size != file.size {
        bail!(
            "{}: {size} bytes, expected {}: not the pinned {}",
            path.display(),
            file.size,
            file.name
        );
    }
    let open = || File::open(path).with_context(|| format!("cannot read {}", path.display()));
    let digest = sha256_hex(&mut open()?)?;
    if digest != file.sha256 {
        bail!(
            "{}: SHA-256 {digest}, expected {}: not the pinned {}",
            path.display(),
            file.sha256,
            file.name
        );
    }
    let rows =
        count_rows(BufReader::new(open()?)).with_context(|| format!("cannot read {}", path.display()))?;
    if rows != file.rows {
        bail!("{}: {rows} rows, expected {}", path.display(), file.rows);
    }
    Ok(())
}

/// The number of non-blank lines.
fn count_rows(reader: impl std::io::BufRead) -> std::io::Result<usize> {
    let mut rows = 0;
    for line in reader.lines() {
        if !line?.trim().is_empty() {
            rows += 1;
        }
    }
    Ok(rows)
}

/// One line per file: name, size, rows, SHA-256.
fn file_table() -> String {
    FILES
        .iter()
        .map(|f| {
            format!(
                "  {:<6} {:>9} bytes {:>6} rows  sha256 {}\n",
                f.name, f.size, f.rows, f.sha256
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_skip_blank_lines() {
        assert_eq!(count_rows(&b"-1 1:1\n\n+1 2:1 \n  \n"[..]).unwrap(), 2);
        assert_eq!(count_rows(&b""[..]).unwrap(), 0);
    }

    #[test]
    fn copies_once_and_refuses_files_that_are_not_pinned() {
        let from = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let err = ensure(data.path(), from.path()).unwrap_err().to_string();
        assert!(err.contains("a9a: not found") && err.contains("--from"), "{err}");
        fs::write(from.path().join("a9a"), "-1 3:1\n").unwrap();
        fs::write(from.path().join("a9a.t"), "+1 3:1\n").unwrap();
        let err = format!("{:#}", ensure(data.path(), from.path()).unwrap_err());
        assert!(err.contains("not the pinned a9a"), "{err}");
        assert!(!data.path().join("a9a").exists());
    }

    /// The real files beside the repository, when they are there: copied once, then left alone.
    #[test]
    fn the_shared_files_are_the_pinned_ones() {
        let from = project_root().join(DEFAULT_FROM);
        if !from.join("a9a").is_file() {
            println!("skipped: no a9a in {}", from.display());
            return;
        }
        let data = tempfile::tempdir().unwrap();
        let target = ensure(data.path(), &from).unwrap();
        for f in &FILES {
            verify(&target.join(f.name), f).unwrap();
        }
        let before = fs::metadata(target.join("a9a")).unwrap().modified().unwrap();
        ensure(data.path(), &from).unwrap();
        let after = fs::metadata(target.join("a9a")).unwrap().modified().unwrap();
        assert_eq!(before, after);
    }
}
