//! [`RapierEnv`]: a [`Task`] simulated by rapier3d behind the [`Env`] trait.

use std::sync::Arc;

use super::scene;
use super::sim::{Model, Sim};
use super::task::Task;
use crate::env::{Env, Info, Reset, Step};
use crate::error::{EnvError, Result};
use crate::render::Frame;
use crate::rng::NumpyRng;
use crate::space::{Action, Dtype, Space};
use crate::v5;

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

    fn reset_info(&self) -> Info {
        let (qpos, _) = self.sim().state();
        self.task.reset_info(&qpos, self.init_qpos[1])
    }

    /// The position the forward reward differentiates: `(x, y)` of the torso (Ant, body 1), of the centre
    /// of mass (Humanoid), `(qpos[0], 0)` otherwise.
    fn tracked_position(&self) -> [f64; 2] {
        match self.task {
            Task::Ant => {
                let (p, _) = self.sim().body_pose(1);
                [p[0], p[1]]
            }
            Task::Humanoid => {
                let [x, y, _] = self.mass_center();
                [x, y]
            }
            _ => [self.sim().state().0[0], 0.0],
        }
    }

    /// MuJoCo's whole `cfrc_ext`, flat: the world body's six zeros, then [`Self::cfrc_ext`] about the
    /// centre of mass.
    fn all_cfrc_ext(&self) -> Vec<f64> {
        let mut all = vec![0.0; 6];
        all.extend(self.cfrc_ext(self.mass_center()));
        all
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
        let (qpos, qvel) = self.task.noisy_initial_state(
            &mut self.rng,
            &self.init_qpos,
            &self.init_qvel,
            NumpyRng::standard_normal,
        );
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
        let Action::Continuous(action) = action else {
            unreachable!("validate_action checked a continuous action")
        };
        if self.sim.is_none() {
            return Err(EnvError::ResetNeeded {
                env: self.task.id().to_string(),
            });
        }
        // MuJoCo's `data.ctrl`: the action in f64 (rapier clamps it into `ctrlrange` when applying it).
        let ctrl: Vec<f64> = action.iter().map(|&x| f64::from(x)).collect();
        let (task, dt) = (self.task, self.dt());
        let before = self.tracked_position();
        self.sim
            .as_mut()
            .expect("checked above")
            .step(&ctrl, task.frame_skip());
        let after = self.tracked_position();
        let velocity = [(after[0] - before[0]) / dt, (after[1] - before[1]) / dt];
        let (qpos, qvel) = self.sim().state();
        let obs = self.observe();
        let init_z = self.init_qpos[1];
        let outcome = match task {
            Task::InvertedPendulum => v5::inverted_pendulum(&obs),
            Task::InvertedDoublePendulum => v5::inverted_double_pendulum(self.tip(), &qvel),
            Task::HalfCheetah => v5::HALF_CHEETAH.step(&qpos, velocity[0], action),
            Task::Hopper => v5::HOPPER.step(&qpos, &qvel, velocity[0], action, init_z),
            Task::Walker2d => v5::WALKER2D.step(&qpos, &qvel, velocity[0], action, init_z),
            Task::Ant => v5::ANT.step(&qpos, &qvel, velocity, action, &self.all_cfrc_ext()),
            Task::Humanoid => v5::HUMANOID.step(&qpos, velocity, &ctrl, &self.all_cfrc_ext()),
        };
        // Beyond Gymnasium (see the module docs): a non-finite state ends every task's episode.
        let finite = qpos.iter().chain(&qvel).all(|x| x.is_finite());
        Ok(Step {
            obs,
            reward: outcome.reward,
            terminated: outcome.terminated || !finite,
            truncated: false,
            info: outcome.info,
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
