//! Data shared by the dataset loaders of every domain: the data directory, the IDX format,
//! errors that name the file and say how to get it, and mini-batches.
//!
//! - [`idx`]: the IDX file format (MNIST, Fashion-MNIST), raw or gzip'd;
//! - [`batches`] / [`Batches`]: mini-batches in a deterministic, seedable order that a checkpoint
//!   can resume mid-epoch from a [`BatchPosition`].
//!
//! The data directory is `$PISA_DATA_DIR` when set, else `data/` (relative to the current
//! directory: the repository root when run through cargo or xtask); see [`data_root`]. Each
//! dataset has its own folder in it (`data/mnist/`).
//!
//! A missing or corrupt file is a [`DataError`] that names the file and says how to get it.

mod batches;
pub mod idx;

use std::path::PathBuf;

pub use batches::{batches, epoch_order, permutation, BatchPosition, Batches};

/// The environment variable that moves the data directory (`cargo xtask data --dir` also
/// writes elsewhere).
pub const DATA_DIR_ENV: &str = "PISA_DATA_DIR";

/// The data directory: `$PISA_DATA_DIR` when set and not empty, else `data` (relative).
pub fn data_root() -> PathBuf {
    std::env::var_os(DATA_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("data"), PathBuf::from)
}

/// Why a dataset could not be loaded. Every variant names the file and ends with a hint:
/// the command that fetches the data, or where to put the official files.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file is in none of its accepted forms.
    #[error("missing {} (also looked for {}); {hint}", path.display(), also.display())]
    Missing {
        /// The preferred (raw) path.
        path: PathBuf,
        /// The other accepted path (gzip'd).
        also: PathBuf,
        /// How to get the file.
        hint: String,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {}: {error}; {hint}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
        /// How to get the file.
        hint: String,
    },
    /// The file is not what it should be.
    #[error("{} is corrupt: {problem}; {hint}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: Corruption,
        /// How to get the file again.
        hint: String,
    },
    /// Two files that go together (images and labels) hold different numbers of examples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels; {hint}",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Its number of images.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Its number of labels.
        labels: usize,
        /// How to get the files again.
        hint: String,
    },
}

/// What is wrong with a corrupt file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corruption {
    /// It starts like gzip but does not decompress.
    #[error("bad gzip data ({0})")]
    Gzip(String),
    /// It is shorter than its own header.
    #[error("only {len} bytes, shorter than the IDX header ({needed} bytes)")]
    Header {
        /// The file's length (after decompression).
        len: usize,
        /// The header's length.
        needed: usize,
    },
    /// Its magic number is not the expected one.
    #[error(
        "IDX magic number {found:#010x}, expected {expected:#010x} (unsigned bytes, {} dimension(s))",
        expected & 0xff
    )]
    Magic {
        /// The first four bytes, big-endian.
        found: u32,
        /// What they should be.
        expected: u32,
    },
    /// The data after the header is not exactly as long as the dimensions say: truncated, or
    /// followed by extra bytes.
    #[error("{found} data bytes after the header, but dimensions {dims:?} need {needed}")]
    Length {
        /// The dimensions in the header.
        dims: Vec<usize>,
        /// The bytes they need.
        needed: usize,
        /// The bytes there are.
        found: usize,
    },
    /// The dimensions are not the dataset's.
    #[error("dimensions {found:?}, expected {expected}")]
    Dims {
        /// The dimensions in the header.
        found: Vec<usize>,
        /// What they should be, e.g. `[N, 28, 28]`.
        expected: &'static str,
    },
    /// A label is not a class of the dataset.
    #[error("label {value} at index {index} is not in 0..{classes}")]
    Label {
        /// Where.
        index: usize,
        /// The label.
        value: u8,
        /// The number of classes.
        classes: u8,
    },
}
