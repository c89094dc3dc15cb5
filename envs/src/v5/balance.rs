//! The two balance tasks, `InvertedPendulum-v5` and `InvertedDoublePendulum-v5`. Their constants other
//! than `healthy_reward` are written into Gymnasium's `step`, not kwargs; they are named here.

use super::Outcome;
use crate::env::Info;

/// `InvertedPendulum-v5`: the episode ends once `|qpos[1]|` (the pole's angle, radians) exceeds this.
pub(crate) const PENDULUM_MAX_ANGLE: f64 = 0.2;

/// `InvertedPendulum-v5`'s `step` after the physics, on its observation `[qpos, qvel]`: terminates on a
/// non-finite observation or a fallen pole; reward 1 while balanced, 0 on the terminal step.
pub(crate) fn inverted_pendulum(obs: &[f64]) -> Outcome {
    let terminated = !obs.iter().all(|v| v.is_finite()) || obs[1].abs() > PENDULUM_MAX_ANGLE;
    let reward = if terminated { 0.0 } else { 1.0 };
    let mut info = Info::default();
    info.insert("reward_survive", reward);
    Outcome {
        reward,
        terminated,
        info,
    }
}

/// `InvertedDoublePendulum-v5`'s `healthy_reward` (paid while the tip is high enough).
pub(crate) const DOUBLE_PENDULUM_HEALTHY_REWARD: f64 = 10.0;

/// `InvertedDoublePendulum-v5`: the episode ends once the tip's height is at or below this (metres).
pub(crate) const DOUBLE_PENDULUM_MIN_TIP_HEIGHT: f64 = 1.0;

/// `InvertedDoublePendulum-v5`'s `step` after the physics: `tip` is the world position of the `tip` site
/// (`site_xpos[0]`: x, y, z), `qvel` the joint velocities. Terminates when the tip is at or below
/// [`DOUBLE_PENDULUM_MIN_TIP_HEIGHT`]; reward `alive − distance penalty − velocity penalty`.
pub(crate) fn inverted_double_pendulum(tip: [f64; 3], qvel: &[f64]) -> Outcome {
    let [x, _, y] = tip;
    let (v1, v2) = (qvel[1], qvel[2]);
    let terminated = y <= DOUBLE_PENDULUM_MIN_TIP_HEIGHT;
    let dist_penalty = 0.01 * x.powi(2) + (y - 2.0).powi(2);
    let vel_penalty = 1e-3 * v1.powi(2) + 5e-3 * v2.powi(2);
    let alive_bonus = if terminated {
        0.0
    } else {
        DOUBLE_PENDULUM_HEALTHY_REWARD
    };
    let reward = alive_bonus - dist_penalty - vel_penalty;
    let mut info = Info::default();
    info.insert("reward_survive", alive_bonus);
    info.insert("distance_penalty", -dist_penalty);
    info.insert("velocity_penalty", -vel_penalty);
    Outcome {
        reward,
        terminated,
        info,
    }
}
