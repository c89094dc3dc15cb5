//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `gan`.
#[derive(Debug, thiserror::Error)]
pub enum GanError {
    /// A file or folder the caller needs is not there.
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
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A flag out of range or data too small for the settings (exit code 2); not transparent,
    /// so that the binary finds it in the error chain.
    #[error("invalid input")]
    Usage(#[from] runs::cli::UsageError),
    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Config(String),
    /// Feature statistics of different dimension or too few samples.
    #[error("FID statistics: {0}")]
    Stats(String),
    /// The MNIST loader failed.
    #[error(transparent)]
    Data(#[from] runs::data::DataError),
    /// An image dataset (CIFAR-10, an image folder) is missing or corrupt; names the file.
    #[error(transparent)]
    Dataset(#[from] datasets::DatasetError),
    /// An optimizer failed (including a non-finite node loss).
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
    /// Splitting a batch over the optimizer's nodes failed.
    #[error(transparent)]
    Split(#[from] runs::nodes::SplitError),
    /// libtorch failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// A sample grid could not be made or written.
    #[error(transparent)]
    Image(#[from] runs::image::ImageError),
    /// The TensorBoard event file.
    #[error("TensorBoard log: {0}")]
    TensorBoard(#[from] tfevents::Error),
    /// The run skeleton: run folder, checkpoints, metrics, or a non-finite loss.
    #[error(transparent)]
    Session(Box<runs::session::SessionError>),
}

/// `Result` with [`GanError`].
pub type Result<T, E = GanError> = std::result::Result<T, E>;

runs::session_error_conversions!(GanError, Optimizer, Session);
