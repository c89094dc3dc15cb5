//! The seven Gymnasium v5 MuJoCo tasks: their XML file, frame skip, reset noise, observation, reward
//! and termination, ported from Gymnasium 1.4's `envs/mujoco/*_v5.py` with the default kwargs.
//!
//! Arithmetic follows the Python code operation for operation, including its dtypes: the control cost of
//! every task but Humanoid is `weight · np.sum(np.square(action))` on the `float32` action, which numpy
//! (NEP 50) evaluates in `float32` with pairwise summation, so it is computed in `f32` here too
//! ([`np_sum_sq_f32`]); everything else is `float64`.

use mujoco_rs::prelude::{MjData, MjModel};

use crate::env::Info;

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

/// How a task perturbs the initial velocities (positions always get `uniform(−s, s)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VelocityNoise {
    /// `init_qvel + uniform(−s, s, nv)`.
    Uniform,
    /// `init_qvel + s · standard_normal(nv)`.
    Normal,
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

    /// `reset_noise_scale`.
    pub(super) fn reset_noise_scale(self) -> f64 {
        match self {
            MujocoTask::HalfCheetah | MujocoTask::Ant | MujocoTask::InvertedDoublePendulum => 0.1,
            MujocoTask::Hopper | MujocoTask::Walker2d => 5e-3,
            MujocoTask::Humanoid | MujocoTask::InvertedPendulum => 1e-2,
        }
    }

    /// How `reset_model` draws the initial velocities.
    pub(super) fn velocity_noise(self) -> VelocityNoise {
        match self {
            MujocoTask::HalfCheetah | MujocoTask::Ant | MujocoTask::InvertedDoublePendulum => {
                VelocityNoise::Normal
            }
            _ => VelocityNoise::Uniform,
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

    /// Reward, termination and info of a step under `action` that moved the tracked position with
    /// `velocity` (`(after − before) / dt`), Gymnasium's `step` after `do_simulation` and `_get_obs`.
    pub(super) fn outcome(
        self,
        data: &Data,
        obs: &[f64],
        action: &[f32],
        velocity: [f64; 2],
        init_z: f64,
        info: &mut Info,
    ) -> (f64, bool) {
        let [x_velocity, y_velocity] = velocity;
        let qpos = data.qpos();
        match self {
            MujocoTask::HalfCheetah => {
                let forward = x_velocity;
                let ctrl = ctrl_cost_f32(0.1, action);
                let reward = forward - f64::from(ctrl);
                info.insert("x_position", qpos[0]);
                info.insert("x_velocity", x_velocity);
                info.insert("reward_forward", forward);
                info.insert("reward_ctrl", -f64::from(ctrl));
                (reward, false)
            }
            MujocoTask::Hopper | MujocoTask::Walker2d => {
                let healthy = self.is_healthy(data);
                let forward = x_velocity;
                let survive = if healthy { 1.0 } else { 0.0 };
                let ctrl = ctrl_cost_f32(1e-3, action);
                let reward = (forward + survive) - f64::from(ctrl);
                info.insert("x_position", qpos[0]);
                info.insert("z_distance_from_origin", qpos[1] - init_z);
                info.insert("x_velocity", x_velocity);
                info.insert("reward_forward", forward);
                info.insert("reward_ctrl", -f64::from(ctrl));
                info.insert("reward_survive", survive);
                (reward, !healthy)
            }
            MujocoTask::Ant => {
                let healthy = self.is_healthy(data);
                let forward = x_velocity;
                let survive = if healthy { 1.0 } else { 0.0 };
                let ctrl = ctrl_cost_f32(0.5, action);
                let squares: Vec<f64> = data
                    .cfrc_ext()
                    .iter()
                    .flatten()
                    .map(|f| f.clamp(-1.0, 1.0).powi(2))
                    .collect();
                let contact = 5e-4 * np_sum(&squares);
                let reward = (forward + survive) - (f64::from(ctrl) + contact);
                info.insert("x_position", qpos[0]);
                info.insert("y_position", qpos[1]);
                info.insert("distance_from_origin", qpos[0].hypot(qpos[1]));
                info.insert("x_velocity", x_velocity);
                info.insert("y_velocity", y_velocity);
                info.insert("reward_forward", forward);
                info.insert("reward_ctrl", -f64::from(ctrl));
                info.insert("reward_contact", -contact);
                info.insert("reward_survive", survive);
                (reward, !healthy)
            }
            MujocoTask::Humanoid => {
                let healthy = self.is_healthy(data);
                let forward = 1.25 * x_velocity;
                let survive = if healthy { 5.0 } else { 0.0 };
                let ctrl_sq: Vec<f64> = data.ctrl().iter().map(|c| c * c).collect();
                let ctrl = 0.1 * np_sum(&ctrl_sq);
                let ext_sq: Vec<f64> = data.cfrc_ext().iter().flatten().map(|f| f * f).collect();
                let contact = (5e-7 * np_sum(&ext_sq)).min(10.0);
                let reward = (forward + survive) - (ctrl + contact);
                info.insert("x_position", qpos[0]);
                info.insert("y_position", qpos[1]);
                info.insert("distance_from_origin", qpos[0].hypot(qpos[1]));
                info.insert("x_velocity", x_velocity);
                info.insert("y_velocity", y_velocity);
                info.insert("reward_survive", survive);
                info.insert("reward_forward", forward);
                info.insert("reward_ctrl", -ctrl);
                info.insert("reward_contact", -contact);
                (reward, !healthy)
            }
            MujocoTask::InvertedPendulum => {
                let terminated = !obs.iter().all(|v| v.is_finite()) || obs[1].abs() > 0.2;
                let reward = if terminated { 0.0 } else { 1.0 };
                info.insert("reward_survive", reward);
                (reward, terminated)
            }
            MujocoTask::InvertedDoublePendulum => {
                let site = data.site_xpos()[0];
                let (x, y) = (site[0], site[2]);
                let terminated = y <= 1.0;
                let qvel = data.qvel();
                let (v1, v2) = (qvel[1], qvel[2]);
                let dist_penalty = 0.01 * x.powi(2) + (y - 2.0).powi(2);
                let vel_penalty = 1e-3 * v1.powi(2) + 5e-3 * v2.powi(2);
                let alive = if terminated { 0.0 } else { 10.0 };
                let reward = alive - dist_penalty - vel_penalty;
                info.insert("reward_survive", alive);
                info.insert("distance_penalty", -dist_penalty);
                info.insert("velocity_penalty", -vel_penalty);
                (reward, terminated)
            }
        }
    }

    /// Gymnasium's `is_healthy` (tasks without one are always healthy).
    fn is_healthy(self, data: &Data) -> bool {
        let qpos = data.qpos();
        match self {
            MujocoTask::Hopper => {
                let (z, angle) = (qpos[1], qpos[2]);
                let state_ok = qpos[2..]
                    .iter()
                    .chain(data.qvel())
                    .all(|&s| -100.0 < s && s < 100.0);
                state_ok && 0.7 < z && z < f64::INFINITY && -0.2 < angle && angle < 0.2
            }
            MujocoTask::Walker2d => {
                let (z, angle) = (qpos[1], qpos[2]);
                0.8 < z && z < 2.0 && -1.0 < angle && angle < 1.0
            }
            MujocoTask::Ant => {
                qpos.iter().chain(data.qvel()).all(|s| s.is_finite()) && 0.2 <= qpos[2] && qpos[2] <= 1.0
            }
            MujocoTask::Humanoid => 1.0 < qpos[2] && qpos[2] < 2.0,
            _ => true,
        }
    }

    /// Info of `reset` (Gymnasium's `_get_reset_info`).
    pub(super) fn reset_info(self, data: &Data, init_z: f64, info: &mut Info) {
        let qpos = data.qpos();
        match self {
            MujocoTask::HalfCheetah => info.insert("x_position", qpos[0]),
            MujocoTask::Hopper | MujocoTask::Walker2d => {
                info.insert("x_position", qpos[0]);
                info.insert("z_distance_from_origin", qpos[1] - init_z);
            }
            MujocoTask::Ant | MujocoTask::Humanoid => {
                info.insert("x_position", qpos[0]);
                info.insert("y_position", qpos[1]);
                info.insert("distance_from_origin", qpos[0].hypot(qpos[1]));
            }
            MujocoTask::InvertedPendulum | MujocoTask::InvertedDoublePendulum => {}
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

/// `weight · np.sum(np.square(action))` as numpy evaluates it for a `float32` action and a Python float
/// weight: squares, pairwise sum and product all in `float32`.
pub(super) fn ctrl_cost_f32(weight: f32, action: &[f32]) -> f32 {
    let squares: Vec<f32> = action.iter().map(|a| a * a).collect();
    weight * np_sum(&squares)
}

/// `np.sum` of a contiguous 1-D array: the identity 0 plus numpy's pairwise sum (eight accumulators per
/// block of up to 128 elements, halves above that).
pub(super) fn np_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    T::default() + pairwise_sum(a)
}

fn pairwise_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        a.iter().fold(T::default(), |s, &x| s + x)
    } else if n <= 128 {
        let mut r = [T::default(); 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        for chunk in a[8..full].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(chunk) {
                *acc = *acc + x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res = res + x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_is_exact_on_integers_and_follows_numpy_order() {
        for n in [0usize, 1, 7, 8, 9, 17, 128, 129, 300] {
            let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(np_sum(&a), (n * n.saturating_sub(1) / 2) as f64, "n = {n}");
        }
        // float32, values from numpy 2.4.6: np.sum(np.float32([1e8] + [1] * 8 + [-1e8])) == 0.0 and
        // np.sum(np.float32([1e8] + [1] * 16 + [-1e8])) == 8.0 (the ones meet 1e8 in different
        // accumulators), np.sum(np.array([-0.0])) == 0.0 (the sum starts at the identity).
        let mut a = vec![1e8f32];
        a.extend([1.0; 8]);
        a.push(-1e8);
        assert_eq!(np_sum(&a), 0.0);
        let mut b = vec![1e8f32];
        b.extend([1.0; 16]);
        b.push(-1e8);
        assert_eq!(np_sum(&b), 8.0);
        assert!(np_sum(&[-0.0f64]).is_sign_positive());
    }

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
