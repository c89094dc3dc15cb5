//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong writing or reading event files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("create log directory", "write", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An image's buffer does not match its stated shape, or its shape is not supported.
    #[error("image {tag:?}: {reason}")]
    InvalidImage {
        /// The image's tag.
        tag: String,
        /// What is wrong.
        reason: String,
    },
    /// PNG encoding failed.
    #[error("image {tag:?}: PNG encoding failed: {source}")]
    Png {
        /// The image's tag.
        tag: String,
        /// The encoder's error.
        #[source]
        source: png::EncodingError,
    },
    /// A histogram was asked of no values, of non-finite values, or with zero bins.
    #[error("histogram {tag:?}: {reason}")]
    InvalidHistogram {
        /// The histogram's tag.
        tag: String,
        /// What is wrong.
        reason: String,
    },
    /// The hparams run name is not a plain relative directory name.
    #[error("hparams run name {0:?} must be a non-empty relative path without `..`")]
    InvalidRunName(String),
    /// The file ends inside a record. TensorBoard treats this as a record still being written;
    /// [`read_events`](crate::read_events) reports it, since a finished file must not end so.
    #[error("{}: truncated record at byte {offset}: {reason}", path.display())]
    Truncated {
        /// The event file.
        path: PathBuf,
        /// Byte offset of the record's start.
        offset: u64,
        /// Which part is missing.
        reason: String,
    },
    /// A record's masked CRC32C does not match its bytes: the file is corrupt.
    #[error("{}: bad {part} CRC in record at byte {offset} (stored {stored:#010x}, computed {computed:#010x})", path.display())]
    BadCrc {
        /// The event file.
        path: PathBuf,
        /// Byte offset of the record's start.
        offset: u64,
        /// `"length"` or `"data"`.
        part: &'static str,
        /// The masked CRC stored in the file.
        stored: u32,
        /// The masked CRC of the bytes read.
        computed: u32,
    },
    /// A record passed its CRCs but is not a valid `Event` protobuf.
    #[error("{}: record at byte {offset} is not an Event: {source}", path.display())]
    Decode {
        /// The event file.
        path: PathBuf,
        /// Byte offset of the record's start.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: prost::DecodeError,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}
