//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong in the GPT-2 crate: bad configuration, bad checkpoint or data files.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// A model configuration is not usable.
    #[error("invalid GPT-2 configuration: {0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file exists but its content is not what it should be.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A checkpoint lacks a tensor the model needs.
    #[error("checkpoint {dir}: no tensor `{name}` (the model needs it; found e.g. {found})")]
    MissingTensor {
        /// The checkpoint directory.
        dir: PathBuf,
        /// The missing tensor's name (Hugging Face layout).
        name: String,
        /// A few names the checkpoint does hold.
        found: String,
    },
    /// A checkpoint tensor has the wrong shape.
    #[error("checkpoint {dir}: tensor `{name}` has shape {got:?}, the model expects {expected:?}")]
    ShapeMismatch {
        /// The checkpoint directory.
        dir: PathBuf,
        /// The tensor's name.
        name: String,
        /// Its shape in the checkpoint.
        got: Vec<i64>,
        /// The model's shape.
        expected: Vec<i64>,
    },
    /// A checkpoint holds tensors this GPT-2 does not know.
    #[error("checkpoint {dir}: unexpected tensors {names:?} (not a GPT-2 in the Hugging Face layout?)")]
    UnexpectedTensors {
        /// The checkpoint directory.
        dir: PathBuf,
        /// The unknown names.
        names: Vec<String>,
    },
    /// A libtorch error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// The optimizer's configuration or a step.
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
    /// A flag out of range or data too small for the settings (exit code 2); not transparent,
    /// so that the binary finds it in the error chain.
    #[error("invalid input")]
    Usage(#[from] runs::cli::UsageError),
    /// The optimizer's settings (an unknown optimizer, an invalid value such as `nodes = 0`).
    #[error(transparent)]
    Registry(#[from] runs::registry::RegistryError),
    /// A training setting that cannot work (batch, sequence length, data size).
    #[error("{0}")]
    Setting(String),
    /// The node replicas on several devices.
    #[error("node replicas: {0}")]
    Replica(String),
    /// `--node-devices`.
    #[error(transparent)]
    NodeDevices(#[from] crate::replicas::NodeDevicesError),
    /// The run skeleton: run folder, checkpoints, metrics, or a non-finite loss.
    #[error(transparent)]
    Session(Box<runs::session::SessionError>),
}

/// Result with [`LlmError`].
pub type Result<T, E = LlmError> = std::result::Result<T, E>;

impl LlmError {
    /// An [`LlmError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LlmError::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`LlmError::Corrupt`] for `path`.
    pub fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        LlmError::Corrupt {
            path: path.into(),
            message: message.into(),
        }
    }
}

runs::session_error_conversions!(LlmError, Optimizer, Session);
