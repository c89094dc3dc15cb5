//! The seven Gymnasium v5 MuJoCo tasks on MuJoCo: their XML file, frame skip and observation, ported from
//! Gymnasium 1.4's `envs/mujoco/*_v5.py` with the default kwargs, and the inputs of their rules.
//!
//! The reward, healthy and termination rules themselves are shared with the rapier backend in
//! [`crate::v5`]; this module measures their inputs on MuJoCo's `MjData`. Arithmetic follows the Python
//! code operation for operation (numpy's pairwise sums, `float32` control costs, Gymnasium's grouping of
//! terms; see [`crate::v5`]), so rewards equal Gymnasium's to the bit.

use mujoco_rs::prelude::{MjData, MjModel};

use crate::v5::{self, numpy_sum::np_sum};

/// The model type the environments hold.
pub(super) type Data = MjData<std::sync::Arc<MjModel>>;

/// A Gymnasium v5 MuJoCo task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MujocoTask {
    /// `HalfCheetah-v5`: 6 actuators, 17 observations, never terminates.
    HalfCheetah,
    /// `Hopper-v5`: 3 actuators, 11 observations.
    Hopper,
    /// `Walker2d-v5` (`walker2d_v5.xml`): 6 actuators, 17 observations.
    Walker2d,
    /// `Ant-v5`: 8 actuators, 105 observations (contact forces included).
    Ant,
    /// `Humanoid-v5`: 17 actuators, 348 observations.
    Humanoid,
    /// `InvertedPendulum-v5`: 1 actuator, 4 observations.
    InvertedPendulum,
    /// `InvertedDoublePendulum-v5`: 1 actuator, 9 observations.
    InvertedDoublePendulum,
}

impl MujocoTask {
    /// Every task, in the registry's order.
    pub const ALL: [MujocoTask; 7] = [
        MujocoTask::HalfCheetah,
        MujocoTask::Ant,
        MujocoTask::Humanoid,
        MujocoTask::Hopper,
        MujocoTask::Walker2d,
        MujocoTask::InvertedPendulum,
        MujocoTask::InvertedDoublePendulum,
    ];

    /// The Gymnasium id, e.g. `"HalfCheetah-v5"`.
    pub fn id(self) -> &'static str {
        match self {
            MujocoTask::HalfCheetah => "HalfCheetah-v5",
            MujocoTask::Hopper => "Hopper-v5",
            MujocoTask::Walker2d => "Walker2d-v5",
            MujocoTask::Ant => "Ant-v5",
            MujocoTask::Humanoid => "Humanoid-v5",
            MujocoTask::InvertedPendulum => "InvertedPendulum-v5",
            MujocoTask::InvertedDoublePendulum => "InvertedDoublePendulum-v5",
        }
    }

    /// The task for a Gymnasium id (exact), if it is one of the seven.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// The model file in Gymnasium's `envs/mujoco/assets/` (v5 defaults: Walker2d uses `walker2d_v5.xml`).
    pub fn xml_file(self) -> &'static str {
        match self {
            MujocoTask::HalfCheetah => "half_cheetah.xml",
            MujocoTask::Hopper => "hopper.xml",
            MujocoTask::Walker2d => "walker2d_v5.xml",
            MujocoTask::Ant => "ant.xml",
            MujocoTask::Humanoid => "humanoid.xml",
            MujocoTask::InvertedPendulum => "inverted_pendulum.xml",
            MujocoTask::InvertedDoublePendulum => "inverted_double_pendulum.xml",
        }
    }

    /// Physics steps per environment step (`frame_skip`).
    pub fn frame_skip(self) -> usize {
        match self {
            MujocoTask::InvertedPendulum => 2,
            MujocoTask::Hopper | MujocoTask::Walker2d => 4,
            _ => 5,
        }
    }

    /// Length of an observation for a model with `nq` positions, `nv` velocities and `nbody` bodies.
    pub(super) fn obs_dim(self, nq: usize, nv: usize, nbody: usize) -> usize {
        match self {
            MujocoTask::HalfCheetah | MujocoTask::Hopper | MujocoTask::Walker2d => nq - 1 + nv,
            MujocoTask::Ant => nq - 2 + nv + 6 * (nbody - 1),
            MujocoTask::Humanoid => nq - 2 + nv + (10 + 6 + 6) * (nbody - 1) + (nv - 6),
            MujocoTask::InvertedPendulum => nq + nv,
            MujocoTask::InvertedDoublePendulum => 1 + 2 * (nq - 1) + nv + 1,
        }
    }

    /// `_get_obs()`, written into `obs` (cleared first).
    pub(super) fn observe(self, data: &Data, obs: &mut Vec<f64>) {
        obs.clear();
        let (qpos, qvel) = (data.qpos(), data.qvel());
        let clip10 = |v: f64| v.clamp(-10.0, 10.0);
        match self {
            MujocoTask::HalfCheetah => {
                obs.extend_from_slice(&qpos[1..]);
                obs.extend_from_slice(qvel);
            }
            MujocoTask::Hopper | MujocoTask::Walker2d => {
                obs.extend_from_slice(&qpos[1..]);
                obs.extend(qvel.iter().map(|&v| clip10(v)));
            }
            MujocoTask::Ant => {
                obs.extend_from_slice(&qpos[2..]);
                obs.extend_from_slice(qvel);
                obs.extend(data.cfrc_ext()[1..].iter().flatten().map(|&f| f.clamp(-1.0, 1.0)));
            }
            MujocoTask::Humanoid => {
                obs.extend_from_slice(&qpos[2..]);
                obs.extend_from_slice(qvel);
                obs.extend(data.cinert()[1..].iter().flatten());
                obs.extend(data.cvel()[1..].iter().flatten());
                obs.extend_from_slice(&data.qfrc_actuator()[6..]);
                obs.extend(data.cfrc_ext()[1..].iter().flatten());
            }
            MujocoTask::InvertedPendulum => {
                obs.extend_from_slice(qpos);
                obs.extend_from_slice(qvel);
            }
            MujocoTask::InvertedDoublePendulum => {
                obs.push(qpos[0]);
                obs.extend(qpos[1..].iter().map(|q| q.sin()));
                obs.extend(qpos[1..].iter().map(|q| q.cos()));
                obs.extend(qvel.iter().map(|&v| clip10(v)));
                obs.push(clip10(data.qfrc_constraint()[0]));
            }
        }
    }

    /// The position the forward reward differentiates: `(x, y)` of the torso (Ant, body 1), of the centre
    /// of mass (Humanoid), `(qpos[0], 0)` otherwise.
    pub(super) fn tracked_position(self, data: &Data) -> [f64; 2] {
        match self {
            MujocoTask::Ant => {
                let p = data.xpos()[1];
                [p[0], p[1]]
            }
            MujocoTask::Humanoid => mass_center(data),
            _ => [data.qpos()[0], 0.0],
        }
    }

    /// The task whose rules ([`crate::v5`]) this is.
    pub(super) fn rules(self) -> v5::Task {
        match self {
            MujocoTask::HalfCheetah => v5::Task::HalfCheetah,
            MujocoTask::Hopper => v5::Task::Hopper,
            MujocoTask::Walker2d => v5::Task::Walker2d,
            MujocoTask::Ant => v5::Task::Ant,
            MujocoTask::Humanoid => v5::Task::Humanoid,
            MujocoTask::InvertedPendulum => v5::Task::InvertedPendulum,
            MujocoTask::InvertedDoublePendulum => v5::Task::InvertedDoublePendulum,
        }
    }

    /// Reward, termination and info of a step under `action` that moved the tracked position with
    /// `velocity` (`(after − before) / dt`), Gymnasium's `step` after `do_simulation` and `_get_obs`:
    /// the [`crate::v5`] rules on MuJoCo's `qpos`, `qvel`, `ctrl`, `cfrc_ext` and tip site.
    pub(super) fn outcome(
        self,
        data: &Data,
        obs: &[f64],
        action: &[f32],
        velocity: [f64; 2],
        init_z: f64,
    ) -> v5::Outcome {
        let (qpos, qvel) = (data.qpos(), data.qvel());
        match self {
            MujocoTask::HalfCheetah => v5::HALF_CHEETAH.step(qpos, velocity[0], action),
            MujocoTask::Hopper => v5::HOPPER.step(qpos, qvel, velocity[0], action, init_z),
            MujocoTask::Walker2d => v5::WALKER2D.step(qpos, qvel, velocity[0], action, init_z),
            MujocoTask::Ant => v5::ANT.step(qpos, qvel, velocity, action, data.cfrc_ext().as_flattened()),
            MujocoTask::Humanoid => {
                v5::HUMANOID.step(qpos, velocity, data.ctrl(), data.cfrc_ext().as_flattened())
            }
            MujocoTask::InvertedPendulum => v5::inverted_pendulum(obs),
            MujocoTask::InvertedDoublePendulum => v5::inverted_double_pendulum(data.site_xpos()[0], qvel),
        }
    }
}

/// Humanoid's `mass_center`: the body-mass-weighted mean of the bodies' centres of mass, `(x, y)`.
fn mass_center(data: &Data) -> [f64; 2] {
    let mass = data.model().body_mass();
    let total = np_sum(mass);
    let mut num = [0.0; 2];
    for (m, p) in mass.iter().zip(data.xipos()) {
        num[0] += m * p[0];
        num[1] += m * p[1];
    }
    [num[0] / total, num[1] / total]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_dimensions_are_gymnasiums() {
        for t in MujocoTask::ALL {
            assert_eq!(MujocoTask::from_id(t.id()), Some(t));
        }
        assert_eq!(MujocoTask::from_id("Ant-v4"), None);
        // (nq, nv, nbody) of the Gymnasium XML files → observation sizes of the v5 docs.
        assert_eq!(MujocoTask::HalfCheetah.obs_dim(9, 9, 8), 17);
        assert_eq!(MujocoTask::Hopper.obs_dim(6, 6, 5), 11);
        assert_eq!(MujocoTask::Walker2d.obs_dim(9, 9, 8), 17);
        assert_eq!(MujocoTask::Ant.obs_dim(15, 14, 14), 105);
        assert_eq!(MujocoTask::Humanoid.obs_dim(24, 23, 14), 348);
        assert_eq!(MujocoTask::InvertedPendulum.obs_dim(2, 2, 3), 4);
        assert_eq!(MujocoTask::InvertedDoublePendulum.obs_dim(3, 3, 4), 9);
    }
}
