//! The seven Gymnasium v5 tasks: models, frame skips, reset noise, observations, rewards, termination.

/// One of Gymnasium's MuJoCo v5 tasks that the rapier backend builds.
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

/// How reset noise is drawn: Gymnasium's `uniform(−s, s)` or `s · standard_normal()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Noise {
    Uniform(f64),
    Normal(f64),
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

    /// Gymnasium's MJCF model (`envs/assets/`, MIT, from Gymnasium).
    pub(crate) fn xml(self) -> &'static str {
        match self {
            Task::InvertedPendulum => include_str!("../../assets/inverted_pendulum.xml"),
            Task::InvertedDoublePendulum => include_str!("../../assets/inverted_double_pendulum.xml"),
            Task::HalfCheetah => include_str!("../../assets/half_cheetah.xml"),
            Task::Hopper => include_str!("../../assets/hopper.xml"),
            Task::Walker2d => include_str!("../../assets/walker2d_v5.xml"),
            Task::Ant => include_str!("../../assets/ant.xml"),
            Task::Humanoid => include_str!("../../assets/humanoid.xml"),
        }
    }

    /// Physics steps per environment step (Gymnasium's `frame_skip`).
    pub fn frame_skip(self) -> u32 {
        match self {
            Task::InvertedPendulum => 2,
            Task::Hopper | Task::Walker2d => 4,
            _ => 5,
        }
    }

    /// Friction of the model's floor geom (after its `<default>` class), `None` without a floor.
    pub(crate) fn floor_friction(self) -> Option<f64> {
        match self {
            Task::InvertedPendulum | Task::InvertedDoublePendulum => None,
            Task::HalfCheetah => Some(0.4),
            Task::Walker2d => Some(0.7),
            Task::Hopper | Task::Ant | Task::Humanoid => Some(1.0),
        }
    }

    /// Reset noise added to `init_qpos` and `init_qvel`.
    pub(crate) fn reset_noise(self) -> (Noise, Noise) {
        match self {
            Task::InvertedPendulum => (Noise::Uniform(0.01), Noise::Uniform(0.01)),
            Task::InvertedDoublePendulum | Task::HalfCheetah | Task::Ant => {
                (Noise::Uniform(0.1), Noise::Normal(0.1))
            }
            Task::Hopper | Task::Walker2d => (Noise::Uniform(5e-3), Noise::Uniform(5e-3)),
            Task::Humanoid => (Noise::Uniform(1e-2), Noise::Uniform(1e-2)),
        }
    }

    /// Length of the observation vector (Gymnasium v5's default options).
    pub fn obs_dim(self) -> usize {
        match self {
            Task::InvertedPendulum => 4,
            Task::InvertedDoublePendulum => 9,
            Task::HalfCheetah | Task::Walker2d => 17,
            Task::Hopper => 11,
            Task::Ant => 105,
            Task::Humanoid => 348,
        }
    }
}
