//! The [`Env`] trait and what `reset` and `step` return.

use crate::error::{EnvError, Result};
use crate::render::Frame;
use crate::space::{Action, Space};

/// Statistics of a finished episode, as Gymnasium's `RecordEpisodeStatistics` puts them in
/// `info["episode"]` (`r`, `l`, `t`).
#[derive(Clone, Debug, PartialEq)]
pub struct EpisodeStats {
    /// Sum of the rewards of the episode (`r`), as seen where the statistics wrapper sits.
    pub episode_return: f64,
    /// Number of steps of the episode (`l`).
    pub length: u64,
    /// Wall-clock seconds since the episode's reset, rounded to microseconds (`t`). Not deterministic.
    pub duration_s: f64,
}

/// Gymnasium's `info` dict: episode statistics plus named scalar diagnostics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Info {
    /// Set on the step that ends an episode by [`RecordEpisodeStatistics`](crate::wrappers::RecordEpisodeStatistics).
    pub episode: Option<EpisodeStats>,
    /// Named scalars (reward terms, positions, ...) in insertion order; empty for classic control.
    pub values: Vec<(&'static str, f64)>,
}

impl Info {
    /// The scalar stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }

    /// Stores `value` under `key`, replacing an earlier value.
    pub fn insert(&mut self, key: &'static str, value: f64) {
        match self.values.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.values.push((key, value)),
        }
    }
}

/// What [`Env::reset`] returns: Gymnasium's `(obs, info)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reset {
    /// First observation of the episode, flat (see [`Env`] on `f64`).
    pub obs: Vec<f64>,
    /// Reset info.
    pub info: Info,
}

/// What [`Env::step`] returns: Gymnasium's `(obs, reward, terminated, truncated, info)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Observation after the step, flat.
    pub obs: Vec<f64>,
    /// Reward of the transition.
    pub reward: f64,
    /// The task reached a terminal state (the pole fell, the robot is unhealthy): do not bootstrap.
    pub terminated: bool,
    /// The episode was cut for a reason outside the task, usually a time limit: bootstrap from `obs`.
    pub truncated: bool,
    /// Step info.
    pub info: Info,
}

impl Step {
    /// `terminated || truncated`: the episode is over and the environment needs a reset.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A reinforcement-learning environment with Gymnasium's semantics.
///
/// * [`reset`](Env::reset)`(Some(seed))` reseeds the environment's generator and starts an episode;
///   `reset(None)` starts one from the generator's current stream. Environments are built with a seed,
///   so the first `reset(None)` equals `reset(Some(seed))` of that seed: the same seed gives the same
///   trajectory under the same actions, bit for bit.
/// * [`step`](Env::step) validates the action against [`action_space`](Env::action_space) and returns a
///   typed error for a wrong kind, a wrong length, a NaN/∞ component or a discrete action out of range,
///   never a panic. Stepping before the first reset is an error; stepping after `terminated` without a
///   reset does what the Gymnasium environment does (CartPole then gives reward 0).
/// * Observations are flat `f64` vectors whatever the space's [`Dtype`](crate::Dtype): a `float32`
///   observation (classic control) is the `f32` value widened without loss, so it is exactly
///   Gymnasium's; a `float64` one (the MuJoCo tasks) keeps its full precision. Rewards are `f64`
///   (Python floats). Continuous actions are `f32`, as Gymnasium's action boxes are `np.float32`.
///
/// `Send` so that a [`SyncVectorEnv`](crate::SyncVectorEnv) can step copies on threads.
pub trait Env: Send {
    /// Gymnasium id of the task (e.g. `"CartPole-v1"`), used in messages.
    fn id(&self) -> &str;

    /// Space the observations live in.
    fn observation_space(&self) -> &Space;

    /// Space the actions live in.
    fn action_space(&self) -> &Space;

    /// Starts an episode, reseeding first when `seed` is given.
    ///
    /// # Errors
    /// Backend failures (none for classic control).
    fn reset(&mut self, seed: Option<u64>) -> Result<Reset>;

    /// Advances one step.
    ///
    /// # Errors
    /// An invalid action (see [`Space::validate_action`]), or [`EnvError::ResetNeeded`](crate::EnvError::ResetNeeded)
    /// before the first reset.
    fn step(&mut self, action: Action<'_>) -> Result<Step>;

    /// Draws the current state headless into a `width × height` RGB frame (Gymnasium's
    /// `render_mode="rgb_array"`), with [`crate::render`]. Wrappers forward it.
    ///
    /// # Errors
    /// [`EnvError::RenderUnsupported`] for an environment that cannot draw itself (the default),
    /// [`EnvError::InvalidParameter`] for a size outside [`render::check_size`](crate::render::check_size),
    /// [`EnvError::ResetNeeded`] before the first reset.
    fn render(&mut self, width: u32, height: u32) -> Result<Frame> {
        let _ = (width, height);
        Err(EnvError::RenderUnsupported(self.id().to_string()))
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn id(&self) -> &str {
        (**self).id()
    }
    fn observation_space(&self) -> &Space {
        (**self).observation_space()
    }
    fn action_space(&self) -> &Space {
        (**self).action_space()
    }
    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        (**self).reset(seed)
    }
    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        (**self).step(action)
    }
    fn render(&mut self, width: u32, height: u32) -> Result<Frame> {
        (**self).render(width, height)
    }
}
