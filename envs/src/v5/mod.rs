//! Gymnasium 1.4's v5 rules of the seven MuJoCo tasks, shared by both backends: rewards, healthy
//! states, termination, `info`, and the reset noise.
//!
//! Gymnasium's `envs/mujoco/*_v5.py` with their default kwargs, as pure functions over what a backend
//! measured after its physics steps (positions, velocities, the action, `cfrc_ext`, the tip site). The
//! backends ([`crate::rapier`] and, with the cargo feature `mujoco`, `crate::mujoco`) only measure;
//! every rule lives here once:
//!
//! | task | rules | termination |
//! |---|---|---|
//! | `HalfCheetah-v5` | [`HALF_CHEETAH`] | never |
//! | `Hopper-v5`, `Walker2d-v5` | [`HOPPER`], [`WALKER2D`] | unhealthy: state, height or angle |
//! | `Ant-v5` | [`ANT`] | unhealthy: non-finite state or torso height |
//! | `Humanoid-v5` | [`HUMANOID`] | unhealthy: torso height |
//! | `InvertedPendulum-v5` | [`inverted_pendulum`] | non-finite observation or pole angle > 0.2 |
//! | `InvertedDoublePendulum-v5` | [`inverted_double_pendulum`] | tip height ≤ 1 |
//!
//! The kwargs (weights, healthy ranges, contact ranges) are the fields of one `const` per task; the reset
//! noise (`reset_noise_scale`, uniform or normal velocities) and the reset `info` are methods of [`Task`].
//!
//! # Summation order
//! The MuJoCo backend reproduces Gymnasium's rewards bit for bit (`tests/mujoco_parity.rs`), so the
//! arithmetic here is Gymnasium's operation for operation and must not be "simplified": terms are
//! grouped as Gymnasium groups them (e.g. Ant's `(forward + healthy) − (ctrl + contact)`, not a left-to-
//! right chain); sums over arrays use numpy's pairwise order ([`np_sum`](numpy_sum::np_sum)); and the
//! control cost of every task but Humanoid is `weight · np.sum(np.square(action))` on the `float32`
//! action, which numpy (NEP 50) evaluates in `float32` ([`ctrl_cost_f32`](numpy_sum::ctrl_cost_f32)).
//! Everything else is `float64`.

mod balance;
mod locomotion;
pub(crate) mod numpy_sum;
mod reset;

pub(crate) use balance::{inverted_double_pendulum, inverted_pendulum};
pub(crate) use locomotion::{ANT, HALF_CHEETAH, HOPPER, HUMANOID, WALKER2D};

use crate::env::Info;

/// What a step's rules decide: Gymnasium's `reward`, `terminated` and `info` (the scalar entries).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outcome {
    /// The step's reward.
    pub reward: f64,
    /// The task reached a terminal state.
    pub terminated: bool,
    /// `info`: positions, velocities and reward terms, in Gymnasium's key order.
    pub info: Info,
}

/// One of Gymnasium's seven MuJoCo v5 tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// `InvertedPendulum-v5`: balance a pole on a cart (obs 4, act 1).
    InvertedPendulum,
    /// `InvertedDoublePendulum-v5`: balance two poles on a cart (obs 9, act 1).
    InvertedDoublePendulum,
    /// `HalfCheetah-v5`: planar runner (obs 17, act 6).
    HalfCheetah,
    /// `Hopper-v5`: planar one-legged hopper (obs 11, act 3).
    Hopper,
    /// `Walker2d-v5`: planar biped (obs 17, act 6).
    Walker2d,
    /// `Ant-v5`: quadruped (obs 105, act 8).
    Ant,
    /// `Humanoid-v5`: 3-D humanoid (obs 348, act 17).
    Humanoid,
}

impl Task {
    /// Every task, in registry order.
    pub const ALL: [Task; 7] = [
        Task::HalfCheetah,
        Task::Ant,
        Task::Humanoid,
        Task::Hopper,
        Task::Walker2d,
        Task::InvertedPendulum,
        Task::InvertedDoublePendulum,
    ];

    /// Gymnasium id.
    pub fn id(self) -> &'static str {
        match self {
            Task::InvertedPendulum => "InvertedPendulum-v5",
            Task::InvertedDoublePendulum => "InvertedDoublePendulum-v5",
            Task::HalfCheetah => "HalfCheetah-v5",
            Task::Hopper => "Hopper-v5",
            Task::Walker2d => "Walker2d-v5",
            Task::Ant => "Ant-v5",
            Task::Humanoid => "Humanoid-v5",
        }
    }

    /// The task with Gymnasium id `id`.
    pub fn from_id(id: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.id() == id)
    }
}

#[cfg(test)]
mod tests;
