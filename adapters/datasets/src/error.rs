//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong loading a dataset. Every variant names the file; a missing one
/// says how to get it (the `cargo xtask data <name>` command or the official files).
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file or folder the loader needs is not there.
    #[error("{path}: not found; {hint}")]
    MissingFile {
        /// The file or folder.
        path: PathBuf,
        /// What to do.
        hint: String,
    },
    /// A file is there but its content is wrong.
    #[error("{path}: corrupt: {message}")]
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the line number for text files).
        message: String,
    },
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The IDX loader (MNIST, Fashion-MNIST) failed; the message names the file.
    #[error(transparent)]
    Data(#[from] runs::data::DataError),
    /// Labels that are not class indices (an `i64` CPU tensor of values ≥ 0).
    #[error("labels: {0}")]
    BadLabels(String),
    /// A dataset name that is not one of [`crate::DatasetName`]'s.
    #[error("unknown dataset `{name}`; known: {known}")]
    UnknownName {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
}

/// `Result` with [`DatasetError`].
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;
