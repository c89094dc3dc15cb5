//! The five locomotion tasks: HalfCheetah, Hopper, Walker2d (one rule set, [`PlanarWalker`]), Ant and
//! Humanoid. Each struct holds the task's v5 default kwargs; its `step` turns what a backend measured
//! after the physics steps into Gymnasium's reward, termination and `info`.

use super::numpy_sum::{ctrl_cost_f32, np_sum};
use super::Outcome;
use crate::env::Info;

/// An open or closed interval `(low, high)` of Gymnasium's `*_range` kwargs.
pub(crate) type Range = (f64, f64);

/// `low < x < high`, Python's chained comparison.
fn strictly_inside((low, high): Range, x: f64) -> bool {
    low < x && x < high
}

/// The outcome of a task with `terminate_when_unhealthy = True` (the v5 default of Hopper, Walker2d, Ant
/// and Humanoid): the episode ends on the first unhealthy state.
fn ends_when_unhealthy(reward: f64, healthy: bool, info: Info) -> Outcome {
    Outcome {
        reward,
        terminated: !healthy,
        info,
    }
}

/// `HalfCheetah-v5`'s kwargs: no healthy state, never terminates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HalfCheetah {
    /// `forward_reward_weight`.
    pub forward_reward_weight: f64,
    /// `ctrl_cost_weight` (applied in `f32`, see [`ctrl_cost_f32`]).
    pub ctrl_cost_weight: f32,
}

/// `HalfCheetah-v5`'s defaults.
pub(crate) const HALF_CHEETAH: HalfCheetah = HalfCheetah {
    forward_reward_weight: 1.0,
    ctrl_cost_weight: 0.1,
};

impl HalfCheetah {
    /// `_get_reset_info`: `x_position`.
    pub(crate) fn reset_info(&self, qpos: &[f64]) -> Info {
        let mut info = Info::default();
        info.insert("x_position", qpos[0]);
        info
    }

    /// `step` after the physics: `x_velocity` of `qpos[0]` over the step, the `f32` action.
    pub(crate) fn step(&self, qpos: &[f64], x_velocity: f64, action: &[f32]) -> Outcome {
        let ctrl_cost = f64::from(ctrl_cost_f32(self.ctrl_cost_weight, action));
        let forward_reward = self.forward_reward_weight * x_velocity;
        let reward = forward_reward - ctrl_cost;
        let mut info = self.reset_info(qpos);
        info.insert("x_velocity", x_velocity);
        info.insert("reward_forward", forward_reward);
        info.insert("reward_ctrl", -ctrl_cost);
        Outcome {
            reward,
            terminated: false,
            info,
        }
    }
}

/// The kwargs of the planar walkers `Hopper-v5` and `Walker2d-v5`, which share their reward and
/// termination code and differ in the healthy ranges (Walker2d has no healthy state range).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PlanarWalker {
    /// `forward_reward_weight`.
    pub forward_reward_weight: f64,
    /// `ctrl_cost_weight` (applied in `f32`).
    pub ctrl_cost_weight: f32,
    /// `healthy_reward`, paid while healthy.
    pub healthy_reward: f64,
    /// `healthy_state_range` (open) for `state_vector()[2:]` (Hopper), `None` for Walker2d.
    pub healthy_state_range: Option<Range>,
    /// `healthy_z_range` (open) for `qpos[1]`.
    pub healthy_z_range: Range,
    /// `healthy_angle_range` (open) for `qpos[2]`.
    pub healthy_angle_range: Range,
}

/// `Hopper-v5`'s defaults.
pub(crate) const HOPPER: PlanarWalker = PlanarWalker {
    forward_reward_weight: 1.0,
    ctrl_cost_weight: 1e-3,
    healthy_reward: 1.0,
    healthy_state_range: Some((-100.0, 100.0)),
    healthy_z_range: (0.7, f64::INFINITY),
    healthy_angle_range: (-0.2, 0.2),
};

/// `Walker2d-v5`'s defaults.
pub(crate) const WALKER2D: PlanarWalker = PlanarWalker {
    forward_reward_weight: 1.0,
    ctrl_cost_weight: 1e-3,
    healthy_reward: 1.0,
    healthy_state_range: None,
    healthy_z_range: (0.8, 2.0),
    healthy_angle_range: (-1.0, 1.0),
};

impl PlanarWalker {
    /// `is_healthy`: the state (Hopper only), height `qpos[1]` and angle `qpos[2]` strictly inside their
    /// ranges (a NaN is outside every range).
    pub(crate) fn is_healthy(&self, qpos: &[f64], qvel: &[f64]) -> bool {
        let state_ok = self
            .healthy_state_range
            .is_none_or(|range| qpos[2..].iter().chain(qvel).all(|&s| strictly_inside(range, s)));
        state_ok
            && strictly_inside(self.healthy_z_range, qpos[1])
            && strictly_inside(self.healthy_angle_range, qpos[2])
    }

    /// `_get_reset_info`: `x_position` and `z_distance_from_origin` (`qpos[1] − init_qpos[1]`).
    pub(crate) fn reset_info(&self, qpos: &[f64], init_z: f64) -> Info {
        let mut info = Info::default();
        info.insert("x_position", qpos[0]);
        info.insert("z_distance_from_origin", qpos[1] - init_z);
        info
    }

    /// `step` after the physics: terminates when unhealthy; reward `(forward + healthy) − ctrl`.
    pub(crate) fn step(
        &self,
        qpos: &[f64],
        qvel: &[f64],
        x_velocity: f64,
        action: &[f32],
        init_z: f64,
    ) -> Outcome {
        let healthy = self.is_healthy(qpos, qvel);
        let forward_reward = self.forward_reward_weight * x_velocity;
        let healthy_reward = if healthy { self.healthy_reward } else { 0.0 };
        let ctrl_cost = f64::from(ctrl_cost_f32(self.ctrl_cost_weight, action));
        let reward = (forward_reward + healthy_reward) - ctrl_cost;
        let mut info = self.reset_info(qpos, init_z);
        info.insert("x_velocity", x_velocity);
        info.insert("reward_forward", forward_reward);
        info.insert("reward_ctrl", -ctrl_cost);
        info.insert("reward_survive", healthy_reward);
        ends_when_unhealthy(reward, healthy, info)
    }
}

/// `_get_reset_info` of Ant and Humanoid: `x_position`, `y_position`, `distance_from_origin`.
fn xy_info(qpos: &[f64]) -> Info {
    let mut info = Info::default();
    info.insert("x_position", qpos[0]);
    info.insert("y_position", qpos[1]);
    info.insert("distance_from_origin", qpos[0].hypot(qpos[1]));
    info
}

/// `Ant-v5`'s kwargs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ant {
    /// `forward_reward_weight`.
    pub forward_reward_weight: f64,
    /// `ctrl_cost_weight` (applied in `f32`).
    pub ctrl_cost_weight: f32,
    /// `contact_cost_weight`.
    pub contact_cost_weight: f64,
    /// `healthy_reward`.
    pub healthy_reward: f64,
    /// `healthy_z_range` (closed) for the torso height `qpos[2]`.
    pub healthy_z_range: Range,
    /// `contact_force_range`: every `cfrc_ext` entry is clipped into it.
    pub contact_force_range: Range,
}

/// `Ant-v5`'s defaults.
pub(crate) const ANT: Ant = Ant {
    forward_reward_weight: 1.0,
    ctrl_cost_weight: 0.5,
    contact_cost_weight: 5e-4,
    healthy_reward: 1.0,
    healthy_z_range: (0.2, 1.0),
    contact_force_range: (-1.0, 1.0),
};

impl Ant {
    /// `is_healthy`: a finite state and `low ≤ qpos[2] ≤ high`.
    pub(crate) fn is_healthy(&self, qpos: &[f64], qvel: &[f64]) -> bool {
        let (low, high) = self.healthy_z_range;
        qpos.iter().chain(qvel).all(|s| s.is_finite()) && low <= qpos[2] && qpos[2] <= high
    }

    /// `_get_reset_info`.
    pub(crate) fn reset_info(&self, qpos: &[f64]) -> Info {
        xy_info(qpos)
    }

    /// `contact_cost`: `weight · np.sum(np.square(np.clip(cfrc_ext, low, high)))` over the flat
    /// `cfrc_ext` of every body, the world body's six zeros first.
    pub(crate) fn contact_cost(&self, cfrc_ext: &[f64]) -> f64 {
        let (low, high) = self.contact_force_range;
        let squares: Vec<f64> = cfrc_ext.iter().map(|f| f.clamp(low, high).powi(2)).collect();
        self.contact_cost_weight * np_sum(&squares)
    }

    /// `step` after the physics: `velocity` is the torso's `(x, y)` velocity over the step, `cfrc_ext` as
    /// in [`Ant::contact_cost`]. Reward `(forward + healthy) − (ctrl + contact)`.
    pub(crate) fn step(
        &self,
        qpos: &[f64],
        qvel: &[f64],
        velocity: [f64; 2],
        action: &[f32],
        cfrc_ext: &[f64],
    ) -> Outcome {
        let [x_velocity, y_velocity] = velocity;
        let healthy = self.is_healthy(qpos, qvel);
        let forward_reward = self.forward_reward_weight * x_velocity;
        let healthy_reward = if healthy { self.healthy_reward } else { 0.0 };
        let ctrl_cost = f64::from(ctrl_cost_f32(self.ctrl_cost_weight, action));
        let contact_cost = self.contact_cost(cfrc_ext);
        let reward = (forward_reward + healthy_reward) - (ctrl_cost + contact_cost);
        let mut info = xy_info(qpos);
        info.insert("x_velocity", x_velocity);
        info.insert("y_velocity", y_velocity);
        info.insert("reward_forward", forward_reward);
        info.insert("reward_ctrl", -ctrl_cost);
        info.insert("reward_contact", -contact_cost);
        info.insert("reward_survive", healthy_reward);
        ends_when_unhealthy(reward, healthy, info)
    }
}

/// `Humanoid-v5`'s kwargs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Humanoid {
    /// `forward_reward_weight`.
    pub forward_reward_weight: f64,
    /// `ctrl_cost_weight`, on `data.ctrl` (`float64`, unlike the other tasks' `float32` action).
    pub ctrl_cost_weight: f64,
    /// `contact_cost_weight`.
    pub contact_cost_weight: f64,
    /// `contact_cost_range`: the contact cost is clipped into it.
    pub contact_cost_range: Range,
    /// `healthy_reward`.
    pub healthy_reward: f64,
    /// `healthy_z_range` (open) for the torso height `qpos[2]`.
    pub healthy_z_range: Range,
}

/// `Humanoid-v5`'s defaults.
pub(crate) const HUMANOID: Humanoid = Humanoid {
    forward_reward_weight: 1.25,
    ctrl_cost_weight: 0.1,
    contact_cost_weight: 5e-7,
    contact_cost_range: (f64::NEG_INFINITY, 10.0),
    healthy_reward: 5.0,
    healthy_z_range: (1.0, 2.0),
};

impl Humanoid {
    /// `is_healthy`: `low < qpos[2] < high`.
    pub(crate) fn is_healthy(&self, qpos: &[f64]) -> bool {
        strictly_inside(self.healthy_z_range, qpos[2])
    }

    /// `_get_reset_info`.
    pub(crate) fn reset_info(&self, qpos: &[f64]) -> Info {
        xy_info(qpos)
    }

    /// `contact_cost`: `np.clip(weight · np.sum(np.square(cfrc_ext)), low, high)` over the flat `cfrc_ext`
    /// of every body, the world body's six zeros first (a NaN stays NaN, as in numpy).
    pub(crate) fn contact_cost(&self, cfrc_ext: &[f64]) -> f64 {
        let squares: Vec<f64> = cfrc_ext.iter().map(|f| f * f).collect();
        let (low, high) = self.contact_cost_range;
        (self.contact_cost_weight * np_sum(&squares)).clamp(low, high)
    }

    /// `step` after the physics: `velocity` is the `(x, y)` velocity of the centre of mass over the step,
    /// `ctrl` MuJoCo's `data.ctrl` (the action in `f64`). Reward `(forward + healthy) − (ctrl + contact)`.
    pub(crate) fn step(&self, qpos: &[f64], velocity: [f64; 2], ctrl: &[f64], cfrc_ext: &[f64]) -> Outcome {
        let [x_velocity, y_velocity] = velocity;
        let healthy = self.is_healthy(qpos);
        let forward_reward = self.forward_reward_weight * x_velocity;
        let healthy_reward = if healthy { self.healthy_reward } else { 0.0 };
        let squares: Vec<f64> = ctrl.iter().map(|c| c * c).collect();
        let ctrl_cost = self.ctrl_cost_weight * np_sum(&squares);
        let contact_cost = self.contact_cost(cfrc_ext);
        let reward = (forward_reward + healthy_reward) - (ctrl_cost + contact_cost);
        let mut info = xy_info(qpos);
        info.insert("x_velocity", x_velocity);
        info.insert("y_velocity", y_velocity);
        info.insert("reward_survive", healthy_reward);
        info.insert("reward_forward", forward_reward);
        info.insert("reward_ctrl", -ctrl_cost);
        info.insert("reward_contact", -contact_cost);
        ends_when_unhealthy(reward, healthy, info)
    }
}
