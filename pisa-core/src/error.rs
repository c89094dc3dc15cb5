//! The error type of pisa-core.

/// Everything that can go wrong when building or stepping an optimizer.
///
/// Every variant says what was wrong and, where it helps, what to do instead; bad settings are
/// caught when an optimizer is built, never by a panic in the middle of training.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A hyperparameter is outside its valid range.
    #[error("invalid setting `{name}` = {value}: {reason}")]
    InvalidSetting {
        /// The setting's name as it appears in the configuration.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// Which values are valid.
        reason: String,
    },
    /// The node weights α_i are not a probability vector of the right length.
    #[error("invalid node weights {alpha:?}: {reason}")]
    InvalidNodeWeights {
        /// The weights as given.
        alpha: Vec<f64>,
        /// What is wrong with them.
        reason: String,
    },
    /// A named parameter group's patterns matched no trainable variable.
    #[error("parameter group `{group}` (patterns {patterns:?}) matches no trainable variable; known variables include {known:?}")]
    EmptyGroup {
        /// The group's name.
        group: String,
        /// The patterns the group was given.
        patterns: Vec<String>,
        /// A few of the variable names that exist.
        known: Vec<String>,
    },
    /// The optimizer was given no trainable parameters at all.
    #[error("no trainable parameters: the VarStore or group is empty")]
    NoParameters,
    /// Parameters of one group differ in dtype or device.
    #[error("parameter `{name}` is {found} but the group holds {expected}; put parameters of different dtype or device in separate groups")]
    MixedParameters {
        /// The parameter that differs.
        name: String,
        /// Its kind/device.
        found: String,
        /// The group's kind/device.
        expected: String,
    },
    /// A node's loss was NaN or infinite.
    #[error("node {node}'s loss is {value} at iteration {iteration}; the weights were left unchanged")]
    NonFiniteLoss {
        /// The node index i.
        node: usize,
        /// The loss value.
        value: f64,
        /// The outer iteration k.
        iteration: u64,
    },
    /// The protocol begin_iteration → node_step(i) for every i → end_iteration was broken.
    #[error("optimizer protocol violated: {0}")]
    Protocol(String),
    /// A saved optimizer state does not fit this optimizer.
    #[error("optimizer state mismatch: {0}")]
    StateMismatch(String),
    /// The schedule produced an unusable value (e.g. a zero learning rate makes σ = σ0/η infinite).
    #[error("schedule at iteration {iteration}: {reason}")]
    Schedule {
        /// The outer iteration.
        iteration: u64,
        /// What went wrong.
        reason: String,
    },
    /// A collective operation across ranks failed (see [`crate::collective`]).
    #[error("collective: {0}")]
    Collective(String),
    /// Another rank failed its part of the iteration (its own error names the cause); this
    /// rank stopped with it.
    #[error("rank(s) {ranks:?} failed at iteration {iteration}; every rank stopped (see the failing rank's error)")]
    RankFailed {
        /// The ranks that failed.
        ranks: Vec<usize>,
        /// The iteration.
        iteration: u64,
    },
    /// A configuration could not be parsed.
    #[error("configuration: {0}")]
    Config(String),
    /// Reading or writing a state file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// Result alias for pisa-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidSetting`].
    pub fn invalid(name: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Error::InvalidSetting {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Checks that `value` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, value, "must be finite and > 0"))
    }
}

/// Checks that `value` is finite and ≥ 0.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, value, "must be finite and >= 0"))
    }
}

/// Checks that `value` lies in [0, 1).
pub(crate) fn unit_interval(name: &'static str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(name, value, "must lie in [0, 1)"))
    }
}
