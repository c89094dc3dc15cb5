//! The crate's one error type.

use crate::backend::Backend;

/// Everything that can go wrong when making, resetting or stepping an environment.
///
/// Bad input (an invalid action, an unknown id, a bad wrapper parameter) is reported here and never
/// panics; every message says what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    /// A discrete action for a continuous action space or the other way round.
    #[error("{env} takes {expected} actions, got a {got} action")]
    ActionKind {
        /// The environment (or wrapper) that rejected the action.
        env: String,
        /// `"discrete"` or `"continuous"`: what the action space wants.
        expected: &'static str,
        /// What was passed.
        got: &'static str,
    },
    /// A continuous action with the wrong number of components.
    #[error("{env} takes actions with {expected} components, got {got}")]
    ActionLength {
        /// The environment (or wrapper) that rejected the action.
        env: String,
        /// Components the action space has.
        expected: usize,
        /// Components passed.
        got: usize,
    },
    /// A continuous action component that is NaN or infinite.
    #[error("{env}: action component {index} is {value}; actions must be finite")]
    NonFiniteAction {
        /// The environment (or wrapper) that rejected the action.
        env: String,
        /// Index of the offending component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A discrete action outside `0..n`.
    #[error("{env}: discrete action {action} is out of range; the action space is Discrete({n}), so 0..{n}")]
    DiscreteOutOfRange {
        /// The environment (or wrapper) that rejected the action.
        env: String,
        /// The action passed.
        action: usize,
        /// Number of actions.
        n: usize,
    },
    /// `step` before the first `reset`.
    #[error("{env}: step() called before reset(); call reset() first")]
    ResetNeeded {
        /// The environment.
        env: String,
    },
    /// A state for `reset_to_state` of the wrong length or with a non-finite value.
    #[error("{env}: invalid state: {reason}")]
    InvalidState {
        /// The environment.
        env: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An id that no backend knows.
    #[error("unknown environment id `{id}`; known ids: {known}")]
    UnknownId {
        /// The id asked for.
        id: String,
        /// The known ids and their aliases, comma-separated.
        known: String,
    },
    /// A backend whose cargo feature this build lacks (`mujoco`).
    #[error(
        "the {backend} backend is not in this build: compile `envs` with the cargo feature \
         `{backend}` after `cargo xtask setup --mujoco` (`cargo xtask rl --backend mujoco` does both), \
         or use Backend::Auto (rapier3d); ids of the classic-control backend: {available}"
    )]
    BackendNotImplemented {
        /// The backend asked for.
        backend: Backend,
        /// Ids that work in this build, comma-separated.
        available: String,
    },
    /// An id that exists, but not on the backend asked for.
    #[error("`{id}` is not available on the {backend} backend{hint}")]
    UnsupportedBackend {
        /// The Gymnasium id.
        id: String,
        /// The backend asked for.
        backend: Backend,
        /// Where to find it instead (starts with "; " when not empty).
        hint: String,
    },
    /// A backend name that does not parse.
    #[error("unknown backend `{0}`; known backends: auto, classic, rapier, mujoco")]
    UnknownBackend(String),
    /// A wrapper or vector-env parameter out of its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Its value, printed.
        value: String,
        /// The valid range.
        reason: String,
    },
    /// A wrapper applied to an environment whose spaces it cannot handle.
    #[error("{wrapper} cannot wrap {env}: {reason}")]
    IncompatibleSpace {
        /// The wrapper.
        wrapper: &'static str,
        /// The wrapped environment.
        env: String,
        /// Why.
        reason: String,
    },
    /// A batch of actions whose size does not match the number of environments.
    #[error("vector env of {num_envs} environments got {got} {what}")]
    BatchSize {
        /// Number of sub-environments.
        num_envs: usize,
        /// What was passed, counted.
        got: usize,
        /// What was counted (e.g. "discrete actions", "action values for 2 components each").
        what: String,
    },
    /// [`Env::render`](crate::Env::render) on an environment that cannot draw itself.
    #[error("{0} cannot render frames")]
    RenderUnsupported(String),
    /// A MuJoCo model that cannot be loaded: assets not provisioned, file missing, or rejected by MuJoCo.
    #[error("cannot load MuJoCo model {path}: {reason}")]
    MujocoModel {
        /// The XML file (or the variable that should name its folder).
        path: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A gym-rs environment (`envs::gym_rs`, feature `gym-rs`) that cannot be adapted or stopped working:
    /// a space or action without an equivalent, or a panic inside it.
    #[error("{env} (gym-rs adapter): {reason}")]
    GymRs {
        /// The environment's id.
        env: String,
        /// What went wrong.
        reason: String,
    },
    /// A PNG or GIF that could not be encoded or written.
    #[error("cannot write image {path}: {reason}")]
    ImageWrite {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// `Result` with [`EnvError`].
pub type Result<T, E = EnvError> = std::result::Result<T, E>;
