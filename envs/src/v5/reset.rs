//! `reset_model`: the noise Gymnasium's v5 tasks add to the initial state, and `_get_reset_info`.

use super::{Task, ANT, HALF_CHEETAH, HOPPER, HUMANOID, WALKER2D};
use crate::env::Info;
use crate::rng::NumpyRng;

/// How `reset_model` perturbs the initial velocities (positions always get `uniform(−s, s)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VelocityNoise {
    /// `init_qvel + uniform(−s, s, nv)`.
    Uniform,
    /// `init_qvel + s · standard_normal(nv)`.
    Normal,
}

impl Task {
    /// `reset_noise_scale` (the `s` of the noise).
    pub(crate) fn reset_noise_scale(self) -> f64 {
        match self {
            Task::HalfCheetah | Task::Ant | Task::InvertedDoublePendulum => 0.1,
            Task::Hopper | Task::Walker2d => 5e-3,
            Task::Humanoid | Task::InvertedPendulum => 1e-2,
        }
    }

    /// How `reset_model` draws the initial velocities.
    pub(crate) fn velocity_noise(self) -> VelocityNoise {
        match self {
            Task::HalfCheetah | Task::Ant | Task::InvertedDoublePendulum => VelocityNoise::Normal,
            _ => VelocityNoise::Uniform,
        }
    }

    /// `reset_model`'s initial `(qpos, qvel)`: `init_qpos + uniform(−s, s, nq)`, then the velocities as
    /// [`Task::velocity_noise`] says, all from `rng` in that order. `standard_normal` is the backend's
    /// normal sampler (numpy's ziggurat for MuJoCo, [`NumpyRng::standard_normal`] for rapier).
    pub(crate) fn noisy_initial_state(
        self,
        rng: &mut NumpyRng,
        init_qpos: &[f64],
        init_qvel: &[f64],
        mut standard_normal: impl FnMut(&mut NumpyRng) -> f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let s = self.reset_noise_scale();
        let qpos = init_qpos.iter().map(|q| q + rng.uniform(-s, s)).collect();
        let qvel = match self.velocity_noise() {
            VelocityNoise::Uniform => init_qvel.iter().map(|v| v + rng.uniform(-s, s)).collect(),
            VelocityNoise::Normal => init_qvel.iter().map(|v| v + s * standard_normal(rng)).collect(),
        };
        (qpos, qvel)
    }

    /// `reset`'s info (Gymnasium's `_get_reset_info`) for the state `qpos`; `init_z` is `init_qpos[1]`.
    pub(crate) fn reset_info(self, qpos: &[f64], init_z: f64) -> Info {
        match self {
            Task::HalfCheetah => HALF_CHEETAH.reset_info(qpos),
            Task::Hopper => HOPPER.reset_info(qpos, init_z),
            Task::Walker2d => WALKER2D.reset_info(qpos, init_z),
            Task::Ant => ANT.reset_info(qpos),
            Task::Humanoid => HUMANOID.reset_info(qpos),
            Task::InvertedPendulum | Task::InvertedDoublePendulum => Info::default(),
        }
    }
}
