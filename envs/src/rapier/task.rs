//! What the rapier backend needs to know of each of the seven Gymnasium v5 tasks: models, frame skips,
//! floor friction, observation sizes (the reward, termination and reset-noise rules are `crate::v5`'s).

/// The seven tasks (defined with their rules in `crate::v5`, shared with the MuJoCo backend); the rapier
/// backend's facts about each follow.
pub use crate::v5::Task;

impl Task {
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
