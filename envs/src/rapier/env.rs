//! [`RapierEnv`]: a [`Task`] simulated by rapier3d behind the [`Env`] trait.

use std::sync::Arc;

use super::scene;
use super::sim::{Model, Sim};
use super::task::{Noise, Task};
use crate::env::{Env, Info, Reset, Step};
use crate::error::{EnvError, Result};
use crate::render::Frame;
use crate::rng::NumpyRng;
use crate::space::{Action, Dtype, Space};

/// A Gymnasium v5 MuJoCo task on rapier3d (see the [module docs](super) for what differs from MuJoCo).
///
/// Observations, rewards, `info` keys, termination, frame skip and reset noise follow Gymnasium's
/// `*_v5.py` with their default options; there is no time limit here ([`make_env`](crate::make_env)
/// adds the registered 1000 steps).
pub struct RapierEnv {
    task: Task,
    model: Arc<Model>,
    sim: Option<Sim>,
    init_qpos: Vec<f64>,
    init_qvel: Vec<f64>,
    rng: NumpyRng,
    observation_space: Space,
    action_space: Space,
}

impl std::fmt::Debug for RapierEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RapierEnv")
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}

fn sq(x: f64) -> f64 {
    x * x
}

impl RapierEnv {
    /// The task, its generator seeded with `seed` (the first `reset(None)` equals `reset(Some(seed))`).
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if the bundled model does not load (a build defect).
    pub fn new(task: Task, seed: u64) -> Result<Self> {
        let model = Model::load(task.id(), task.xml(), task.floor_friction())?;
        let (init_qpos, init_qvel) = Sim::new(&model).state();
        let low: Vec<f64> = model.ctrl_range.iter().map(|r| r[0]).collect();
        let high: Vec<f64> = model.ctrl_range.iter().map(|r| r[1]).collect();
        Ok(Self {
            task,
            observation_space: Space::unbounded(task.obs_dim(), Dtype::F64),
            action_space: Space::box_f32(&low, &high),
            model,
            sim: None,
            init_qpos,
            init_qvel,
            rng: NumpyRng::new(seed),
        })
    }

    /// The task.
    pub fn task(&self) -> Task {
        self.task
    }

    /// Seconds of simulated time per step: `timestep · frame_skip`.
    pub fn dt(&self) -> f64 {
        self.model.timestep * f64::from(self.task.frame_skip())
    }

    /// MuJoCo's `qpos` and `qvel` now, `None` before the first reset.
    pub fn state(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        self.sim.as_ref().map(Sim::state)
    }

    /// MuJoCo's `init_qpos` (the model's reference pose) and `init_qvel` (zeros).
    pub fn init_state(&self) -> (&[f64], &[f64]) {
        (&self.init_qpos, &self.init_qvel)
    }

    /// World pose of every MuJoCo body after the world body (MuJoCo's `xpos` and `xquat` `[w, x, y, z]`,
    /// bodies in the model's order), `None` before the first reset.
    pub fn body_poses(&self) -> Option<Vec<([f64; 3], [f64; 4])>> {
        let sim = self.sim.as_ref()?;
        Some(
            (1..=self.model.mj_bodies.len())
                .map(|b| sim.body_pose(b))
                .collect(),
        )
    }

    /// Mass of every MuJoCo body after the world body (MuJoCo's `body_mass[1:]`), as rapier computed it
    /// from the geoms.
    pub fn body_masses(&self) -> Vec<f64> {
        Sim::new(&self.model)
            .body_dynamics()
            .iter()
            .map(|b| b.mass)
            .collect()
    }

    /// Starts an episode from exactly `qpos`, `qvel` without touching the generator (Gymnasium:
    /// `reset()` then `set_state(qpos, qvel)`).
    ///
    /// # Errors
    /// [`EnvError::InvalidState`] for wrong lengths or non-finite values.
    pub fn reset_to_state(&mut self, qpos: &[f64], qvel: &[f64]) -> Result<Reset> {
        let invalid = |reason: String| EnvError::InvalidState {
            env: self.task.id().to_string(),
            reason,
        };
        if qpos.len() != self.model.nq || qvel.len() != self.model.nv {
            return Err(invalid(format!(
                "expected {} qpos and {} qvel values, got {} and {}",
                self.model.nq,
                self.model.nv,
                qpos.len(),
                qvel.len()
            )));
        }
        if let Some(x) = qpos.iter().chain(qvel).find(|x| !x.is_finite()) {
            return Err(invalid(format!("{x} in the state; states must be finite")));
        }
        let mut sim = Sim::new(&self.model);
        sim.set_state(qpos, qvel);
        self.sim = Some(sim);
        let obs = self.observe();
        Ok(Reset {
            obs,
            info: self.reset_info(),
        })
    }

    fn sim(&self) -> &Sim {
        self.sim.as_ref().expect("reset before use")
    }

    fn noise(&mut self, base: &[f64], noise: Noise) -> Vec<f64> {
        base.iter()
            .map(|&x| match noise {
                Noise::Uniform(s) => x + self.rng.uniform(-s, s),
                Noise::Normal(s) => x + s * self.rng.standard_normal(),
            })
            .collect()
    }

    fn reset_info(&self) -> Info {
        let (qpos, _) = self.sim().state();
        let mut info = Info::default();
        match self.task {
            Task::HalfCheetah => info.insert("x_position", qpos[0]),
            Task::Hopper | Task::Walker2d => {
                info.insert("x_position", qpos[0]);
                info.insert("z_distance_from_origin", qpos[1] - self.init_qpos[1]);
            }
            Task::Ant | Task::Humanoid => {
                info.insert("x_position", qpos[0]);
                info.insert("y_position", qpos[1]);
                info.insert("distance_from_origin", qpos[0].hypot(qpos[1]));
            }
            Task::InvertedPendulum | Task::InvertedDoublePendulum => {}
        }
        info
    }

    /// Position of IDP's `tip` site: 0.6 m along the second pole's local z.
    fn tip(&self) -> [f64; 3] {
        let (p, q) = self.sim().body_pose(3);
        let z = crate::render::rotate_point(q, [0.0, 0.0, 0.6]);
        [p[0] + z[0], p[1] + z[1], p[2] + z[2]]
    }

    /// MuJoCo's `cfrc_ext` of bodies 1..: `[torque, force]` about the robot's centre of mass (MuJoCo's
    /// com-based frame), 6 per body.
    fn cfrc_ext(&self, origin: [f64; 3]) -> Vec<f64> {
        let dynamics = self.sim().body_dynamics();
        let forces = self.sim().contact_forces();
        let mut out = Vec::with_capacity(6 * forces.len());
        for ((f, tq), b) in forces.iter().zip(&dynamics) {
            // Shift the torque from the body's centre of mass to the com-based origin.
            let r = sub(b.com, origin);
            let shifted = add(*tq, cross(r, *f));
            out.extend(shifted);
            out.extend(f);
        }
        out
    }

    fn mass_center(&self) -> [f64; 3] {
        let mut num = [0.0; 3];
        let mut den = 0.0;
        for b in self.sim().body_dynamics() {
            for (n, c) in num.iter_mut().zip(b.com) {
                *n += b.mass * c;
            }
            den += b.mass;
        }
        num.map(|x| x / den)
    }

    fn observe(&self) -> Vec<f64> {
        let (qpos, qvel) = self.sim().state();
        let clip10 = |v: &[f64]| v.iter().map(|x| x.clamp(-10.0, 10.0)).collect::<Vec<_>>();
        match self.task {
            Task::InvertedPendulum => [qpos, qvel].concat(),
            Task::InvertedDoublePendulum => {
                let mut o = vec![qpos[0]];
                o.extend(qpos[1..].iter().map(|a| a.sin()));
                o.extend(qpos[1..].iter().map(|a| a.cos()));
                o.extend(clip10(&qvel));
                o.push(0.0); // qfrc_constraint[0]: see the module docs
                o
            }
            Task::HalfCheetah => [&qpos[1..], &qvel[..]].concat(),
            Task::Hopper | Task::Walker2d => [&qpos[1..], &clip10(&qvel)[..]].concat(),
            Task::Ant => {
                let com = self.mass_center();
                let cfrc = self
                    .cfrc_ext(com)
                    .iter()
                    .map(|x| x.clamp(-1.0, 1.0))
                    .collect::<Vec<_>>();
                [&qpos[2..], &qvel[..], &cfrc[..]].concat()
            }
            Task::Humanoid => {
                let com = self.mass_center();
                let mut o = [&qpos[2..], &qvel[..]].concat();
                let dynamics = self.sim().body_dynamics();
                for b in &dynamics {
                    o.extend(cinert(b, com));
                }
                for b in &dynamics {
                    // com-based velocity: [ω, velocity of the point at `com` moving with the body].
                    let v = add(b.linvel, cross(b.angvel, sub(com, b.com)));
                    o.extend(b.angvel);
                    o.extend(v);
                }
                let mut qfrc = vec![0.0; self.model.nv];
                for ((&dof, &gear), u) in self
                    .model
                    .actuator_dof
                    .iter()
                    .zip(&self.model.gear)
                    .zip(self.sim().ctrl())
                {
                    qfrc[dof] += gear * u;
                }
                o.extend(&qfrc[6..]);
                o.extend(self.cfrc_ext(com));
                o
            }
        }
    }
}

fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// MuJoCo's `cinert` of a body (`mju_inertCom`): the inertia about the com-based origin `origin`
/// `[Ixx, Iyy, Izz, Ixy, Ixz, Iyz]`, then `m·d` and `m`, with `d` the body's centre of mass minus `origin`.
fn cinert(b: &super::sim::BodyDynamics, origin: [f64; 3]) -> [f64; 10] {
    let d = sub(b.com, origin);
    let (m, i) = (b.mass, b.inertia);
    [
        i[0][0] + m * (d[1] * d[1] + d[2] * d[2]),
        i[1][1] + m * (d[0] * d[0] + d[2] * d[2]),
        i[2][2] + m * (d[0] * d[0] + d[1] * d[1]),
        i[0][1] - m * d[0] * d[1],
        i[0][2] - m * d[0] * d[2],
        i[1][2] - m * d[1] * d[2],
        m * d[0],
        m * d[1],
        m * d[2],
        m,
    ]
}

impl Env for RapierEnv {
    fn id(&self) -> &str {
        self.task.id()
    }

    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        if let Some(seed) = seed {
            self.rng = NumpyRng::new(seed);
        }
        let (qn, vn) = self.task.reset_noise();
        let qpos = self.noise(&self.init_qpos.clone(), qn);
        let qvel = self.noise(&self.init_qvel.clone(), vn);
        let mut sim = Sim::new(&self.model);
        sim.set_state(&qpos, &qvel);
        self.sim = Some(sim);
        Ok(Reset {
            obs: self.observe(),
            info: self.reset_info(),
        })
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        self.action_space.validate_action(action, self.task.id())?;
        let Action::Continuous(a) = action else {
            unreachable!("validate_action checked a continuous action")
        };
        let a: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
        let dt = self.dt();
        let task = self.task;
        let sim = self.sim.as_mut().ok_or_else(|| EnvError::ResetNeeded {
            env: task.id().to_string(),
        })?;
        let (before, _) = sim.state();
        let xy_before = match task {
            Task::Ant => {
                let (p, _) = sim.body_pose(1);
                [p[0], p[1]]
            }
            _ => [before[0], before.get(1).copied().unwrap_or(0.0)],
        };
        let com_before = (task == Task::Humanoid).then(|| self.mass_center());
        let sim = self.sim.as_mut().expect("checked above");
        sim.step(&a, task.frame_skip());
        let (qpos, qvel) = sim.state();
        let ctrl_sq: f64 = a.iter().map(|x| x * x).sum();
        let mut info = Info::default();
        let finite = qpos.iter().chain(&qvel).all(|x| x.is_finite());
        let (reward, terminated);
        match task {
            Task::InvertedPendulum => {
                terminated = !finite || qpos[1].abs() > 0.2;
                reward = if terminated { 0.0 } else { 1.0 };
                info.insert("reward_survive", reward);
            }
            Task::InvertedDoublePendulum => {
                let [x, _, y] = self.tip();
                terminated = y <= 1.0 || !finite;
                let dist_penalty = 0.01 * sq(x) + sq(y - 2.0);
                let vel_penalty = 1e-3 * sq(qvel[1]) + 5e-3 * sq(qvel[2]);
                let alive = if terminated { 0.0 } else { 10.0 };
                reward = alive - dist_penalty - vel_penalty;
                info.insert("reward_survive", alive);
                info.insert("distance_penalty", -dist_penalty);
                info.insert("velocity_penalty", -vel_penalty);
            }
            Task::HalfCheetah => {
                let xv = (qpos[0] - xy_before[0]) / dt;
                let ctrl = 0.1 * ctrl_sq;
                reward = xv - ctrl;
                terminated = !finite;
                info.insert("x_position", qpos[0]);
                info.insert("x_velocity", xv);
                info.insert("reward_forward", xv);
                info.insert("reward_ctrl", -ctrl);
            }
            Task::Hopper | Task::Walker2d => {
                let xv = (qpos[0] - xy_before[0]) / dt;
                let (z, angle) = (qpos[1], qpos[2]);
                let healthy = if task == Task::Hopper {
                    let state_ok = qpos[2..].iter().chain(&qvel).all(|s| -100.0 < *s && *s < 100.0);
                    state_ok && z > 0.7 && -0.2 < angle && angle < 0.2
                } else {
                    0.8 < z && z < 2.0 && -1.0 < angle && angle < 1.0
                };
                let survive = if healthy { 1.0 } else { 0.0 };
                let ctrl = 1e-3 * ctrl_sq;
                reward = xv + survive - ctrl;
                terminated = !healthy || !finite;
                info.insert("x_position", qpos[0]);
                info.insert("z_distance_from_origin", qpos[1] - self.init_qpos[1]);
                info.insert("x_velocity", xv);
                info.insert("reward_forward", xv);
                info.insert("reward_ctrl", -ctrl);
                info.insert("reward_survive", survive);
            }
            Task::Ant => {
                let (p, _) = self.sim().body_pose(1);
                let (xv, yv) = ((p[0] - xy_before[0]) / dt, (p[1] - xy_before[1]) / dt);
                let healthy = finite && (0.2..=1.0).contains(&qpos[2]);
                let survive = if healthy { 1.0 } else { 0.0 };
                let ctrl = 0.5 * ctrl_sq;
                let com = self.mass_center();
                let contact: f64 = 5e-4
                    * self
                        .cfrc_ext(com)
                        .iter()
                        .map(|f| sq(f.clamp(-1.0, 1.0)))
                        .sum::<f64>();
                reward = xv + survive - ctrl - contact;
                terminated = !healthy;
                info.insert("x_position", qpos[0]);
                info.insert("y_position", qpos[1]);
                info.insert("distance_from_origin", qpos[0].hypot(qpos[1]));
                info.insert("x_velocity", xv);
                info.insert("y_velocity", yv);
                info.insert("reward_forward", xv);
                info.insert("reward_ctrl", -ctrl);
                info.insert("reward_contact", -contact);
                info.insert("reward_survive", survive);
            }
            Task::Humanoid => {
                let com = self.mass_center();
                let before = com_before.expect("set for the humanoid");
                let (xv, yv) = ((com[0] - before[0]) / dt, (com[1] - before[1]) / dt);
                let healthy = 1.0 < qpos[2] && qpos[2] < 2.0;
                let survive = if healthy { 5.0 } else { 0.0 };
                let ctrl = 0.1 * self.sim().ctrl().map(sq).sum::<f64>();
                let contact = (5e-7 * self.cfrc_ext(com).iter().map(|f| sq(*f)).sum::<f64>()).min(10.0);
                let forward = 1.25 * xv;
                reward = forward + survive - ctrl - contact;
                terminated = !healthy || !finite;
                info.insert("x_position", qpos[0]);
                info.insert("y_position", qpos[1]);
                info.insert("distance_from_origin", qpos[0].hypot(qpos[1]));
                info.insert("x_velocity", xv);
                info.insert("y_velocity", yv);
                info.insert("reward_survive", survive);
                info.insert("reward_forward", forward);
                info.insert("reward_ctrl", -ctrl);
                info.insert("reward_contact", -contact);
            }
        }
        Ok(Step {
            obs: self.observe(),
            reward,
            terminated,
            truncated: false,
            info,
        })
    }

    fn render(&mut self, width: u32, height: u32) -> Result<Frame> {
        crate::render::check_size(width, height)?;
        let sim = self.sim.as_ref().ok_or_else(|| EnvError::ResetNeeded {
            env: self.task.id().to_string(),
        })?;
        Ok(scene::draw(self.task, sim, width, height))
    }
}
