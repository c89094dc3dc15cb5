//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong reading corpora, building models or training.
#[derive(Debug, thiserror::Error)]
pub enum LstmError {
    /// A corpus file is missing or unreadable.
    #[error("{path}: {source} (a corpus folder needs ptb.train.txt, ptb.valid.txt and ptb.test.txt; `cargo xtask data ptb-like` builds one)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A corpus file holds no sentence.
    #[error("{path}: no sentence in the file")]
    EmptyCorpus {
        /// The file.
        path: PathBuf,
    },
    /// A word outside a fixed vocabulary.
    #[error("unknown word `{word}` at {file}:{line}")]
    UnknownWord {
        /// The word.
        word: String,
        /// Where it was read.
        file: String,
        /// 1-based line.
        line: usize,
    },
    /// Fewer tokens than batch columns.
    #[error("{tokens} tokens cannot fill {batch} batch columns")]
    TooShort {
        /// Tokens available.
        tokens: usize,
        /// Columns requested.
        batch: usize,
    },
    /// A flag out of range or data too small for the settings (exit code 2); not transparent,
    /// so that the binary finds it in the error chain.
    #[error("invalid input")]
    Usage(#[from] runs::cli::UsageError),
    /// An invalid model or training setting.
    #[error("invalid setting: {0}")]
    Config(String),
    /// libtorch failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// The optimizer failed.
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
    /// A node split is impossible.
    #[error(transparent)]
    Split(#[from] runs::nodes::SplitError),
    /// The run skeleton: run folder, checkpoints, metrics, or a non-finite loss.
    #[error(transparent)]
    Session(Box<runs::session::SessionError>),
}

runs::session_error_conversions!(LstmError, Optimizer, Session);
