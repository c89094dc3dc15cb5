//! The MuJoCo backend (cargo feature `mujoco`): Gymnasium's v5 MuJoCo tasks on the real MuJoCo 3.17.0.
//!
//! [`MujocoEnv`] runs the task XML files of the Gymnasium 1.4 wheel on `libmujoco.so.3.17.0` from the
//! PyPI `mujoco==3.17.0` wheel, through `mujoco-rs` =7.0.0+mj-3.17.0, with the v5 observation, reward,
//! termination, frame skip, reset noise and default kwargs ported from `gymnasium/envs/mujoco/*_v5.py`
//! ([`MujocoTask`]; the reward and termination rules are the crate's shared v5 rules, `crate::v5`, which the
//! rapier backend uses too). The physics is MuJoCo's own, so the same initial state and the same actions give
//! Gymnasium's observations and rewards; `tests/mujoco_parity.rs` checks this against trajectories
//! recorded from Python Gymnasium (`tests/golden/mujoco_v5.py`) to 1e-6.
//!
//! # Setup
//! ```sh
//! cargo xtask setup --mujoco      # fetches the two wheels once, lays them out in the cache
//! eval "$(cargo xtask env)"        # MUJOCO_DYNAMIC_LINK_DIR, LD_LIBRARY_PATH, PISA_MUJOCO_ASSETS
//! cargo test -p envs --features mujoco
//! ```
//! The XML files are read from `$PISA_MUJOCO_ASSETS` ([`assets_dir`]), or from any path with
//! [`MujocoEnv::from_xml`].
//!
//! # Seeding
//! `reset(seed)` draws the initial state from [`NumpyRng`] exactly as Gymnasium draws it from
//! `np_random`: `init_qpos + uniform(−s, s, nq)`, then `init_qvel + uniform(−s, s, nv)` or
//! `init_qvel + s · standard_normal(nv)` (HalfCheetah, Ant, InvertedDoublePendulum; numpy's ziggurat,
//! see [`standard_normal`]). So `make_env(id, Backend::Mujoco, seed)` starts where
//! `gym.make(id).reset(seed=seed)` starts.
//!
//! # Deviations from Gymnasium
//! * Only the default kwargs of each v5 task (no `xml_file`, weight or range overrides).
//! * `info` holds the scalar entries; Humanoid's `tendon_length` / `tendon_velocity` arrays (empty for
//!   the default model) are left out.
//! * Rendering is [`crate::render`]'s orthographic drawing of the geoms (cylinders drawn as capsules,
//!   ellipsoids as spheres, meshes and height fields skipped), not MuJoCo's OpenGL renderer.

mod normal;
mod scene;
mod tasks;
mod ziggurat_tables;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mujoco_rs::prelude::{log_config, set_log_config, MjData, MjModel};

use crate::env::{Env, Reset, Step};
use crate::error::{EnvError, Result};
use crate::render::Frame;
use crate::rng::NumpyRng;
use crate::space::{Action, Dtype, Space};

pub use normal::standard_normal;
use tasks::Data;
pub use tasks::MujocoTask;

/// Environment variable naming the folder of Gymnasium's task XML files (`cargo xtask env` sets it).
pub const ASSETS_VAR: &str = "PISA_MUJOCO_ASSETS";

/// The folder of the task XML files: `$PISA_MUJOCO_ASSETS`.
///
/// # Errors
/// [`EnvError::MujocoModel`] when the variable is unset or names no folder, saying how to provision it.
pub fn assets_dir() -> Result<PathBuf> {
    let dir = std::env::var_os(ASSETS_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| EnvError::MujocoModel {
            path: format!("${ASSETS_VAR}"),
            reason: "not set: run `cargo xtask setup --mujoco`, then `eval \"$(cargo xtask env)\"`".into(),
        })?;
    if !dir.is_dir() {
        return Err(EnvError::MujocoModel {
            path: dir.display().to_string(),
            reason: format!(
                "{ASSETS_VAR} names no folder: run `cargo xtask setup --mujoco`, then `eval \"$(cargo xtask env)\"`"
            ),
        });
    }
    Ok(dir)
}

/// MuJoCo writes its warnings (Humanoid's XML uses the deprecated `settotalmass`) to the console and
/// to `MUJOCO_LOG.TXT` in the working directory; this turns the file off, once, before the first model
/// of the process loads.
fn no_log_file() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut config = log_config();
        config.set_logto_file(false);
        // SAFETY: MuJoCo's global log configuration must not change while another thread uses MuJoCo.
        // In this crate MuJoCo is only reached through `MujocoEnv`, and none exists before this first
        // call returns (`call_once` blocks concurrent constructors until it has).
        unsafe { set_log_config(config) };
    });
}

/// A Gymnasium v5 MuJoCo task on MuJoCo itself; see the [module docs](self).
///
/// ```no_run
/// use envs::mujoco::{MujocoEnv, MujocoTask};
/// use envs::{Action, Env};
/// let mut env = MujocoEnv::new(MujocoTask::HalfCheetah, 0)?; // reads $PISA_MUJOCO_ASSETS
/// let obs = env.reset(None)?.obs;
/// assert_eq!(obs.len(), 17);
/// let step = env.step(Action::Continuous(&[0.0; 6]))?;
/// assert!(!step.terminated);
/// # Ok::<(), envs::EnvError>(())
/// ```
pub struct MujocoEnv {
    task: MujocoTask,
    data: Data,
    init_qpos: Vec<f64>,
    init_qvel: Vec<f64>,
    rng: NumpyRng,
    observation_space: Space,
    action_space: Space,
    dt: f64,
    started: bool,
}

impl MujocoEnv {
    /// The task from `$PISA_MUJOCO_ASSETS/<task.xml_file()>`, its generator seeded with `seed`.
    ///
    /// # Errors
    /// As [`assets_dir`] and [`MujocoEnv::from_xml`].
    pub fn new(task: MujocoTask, seed: u64) -> Result<Self> {
        Self::from_xml(task, assets_dir()?.join(task.xml_file()), seed)
    }

    /// The task's rules on the model in `xml` (Gymnasium's file for the task, or a variant with the same
    /// joints and bodies).
    ///
    /// # Errors
    /// [`EnvError::MujocoModel`] when the file is missing or MuJoCo rejects it, or when its dimensions
    /// cannot carry the task's observation.
    pub fn from_xml(task: MujocoTask, xml: impl AsRef<Path>, seed: u64) -> Result<Self> {
        let xml = xml.as_ref();
        let bad = |reason: String| EnvError::MujocoModel {
            path: xml.display().to_string(),
            reason,
        };
        if !xml.is_file() {
            return Err(bad(format!(
                "no such file (the {} model; run `cargo xtask setup --mujoco`)",
                task.id()
            )));
        }
        no_log_file();
        let model = MjModel::from_xml(xml).map_err(|e| bad(e.to_string()))?;
        let m = model.ffi();
        let (nq, nv, nbody, nu) = (m.nq as usize, m.nv as usize, m.nbody as usize, m.nu as usize);
        let needed = match task {
            MujocoTask::Ant | MujocoTask::Humanoid => nq >= 7 && nv >= 6 && nbody >= 2,
            MujocoTask::InvertedDoublePendulum => nq >= 3 && nv >= 3 && m.nsite >= 1,
            MujocoTask::InvertedPendulum => nq >= 2 && nv >= 1 && nbody >= 2,
            _ => nq >= 3 && nv >= 1 && nbody >= 2,
        };
        if !needed || nu == 0 {
            return Err(bad(format!(
                "{} needs its Gymnasium model, got nq = {nq}, nv = {nv}, nbody = {nbody}, nu = {nu}",
                task.id()
            )));
        }
        let dt = m.opt.timestep * task.frame_skip() as f64;
        let (low, high): (Vec<f64>, Vec<f64>) =
            model.actuator_ctrlrange().iter().map(|r| (r[0], r[1])).unzip();
        let action_space = Space::box_f32(&low, &high);
        let observation_space = Space::unbounded(task.obs_dim(nq, nv, nbody), Dtype::F64);
        let data = MjData::new(Arc::new(model));
        Ok(Self {
            task,
            init_qpos: data.qpos().to_vec(),
            init_qvel: data.qvel().to_vec(),
            data,
            rng: NumpyRng::new(seed),
            observation_space,
            action_space,
            dt,
            started: false,
        })
    }

    /// The task.
    pub fn task(&self) -> MujocoTask {
        self.task
    }

    /// Seconds of simulated time per step: `opt.timestep · frame_skip` (Gymnasium's `dt`).
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Joint positions (`data.qpos`).
    pub fn qpos(&self) -> &[f64] {
        self.data.qpos()
    }

    /// Joint velocities (`data.qvel`).
    pub fn qvel(&self) -> &[f64] {
        self.data.qvel()
    }

    /// Gymnasium's `set_state(qpos, qvel)` (then `mj_forward`), starting an episode from that state;
    /// returns the observation.
    ///
    /// # Errors
    /// [`EnvError::InvalidState`] for a wrong length or a non-finite value.
    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) -> Result<Vec<f64>> {
        let (nq, nv) = (self.init_qpos.len(), self.init_qvel.len());
        let invalid = |reason: String| EnvError::InvalidState {
            env: self.task.id().to_string(),
            reason,
        };
        if qpos.len() != nq || qvel.len() != nv {
            return Err(invalid(format!(
                "qpos/qvel need {nq}/{nv} values, got {}/{}",
                qpos.len(),
                qvel.len()
            )));
        }
        if !qpos.iter().chain(qvel).all(|v| v.is_finite()) {
            return Err(invalid("qpos and qvel must be finite".into()));
        }
        self.data.reset();
        self.write_state(qpos, qvel);
        self.started = true;
        Ok(self.observation())
    }

    fn write_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.data.qpos_mut().copy_from_slice(qpos);
        self.data.qvel_mut().copy_from_slice(qvel);
        self.data.forward();
    }

    fn observation(&self) -> Vec<f64> {
        let mut obs = Vec::with_capacity(self.observation_space.flat_dim());
        self.task.observe(&self.data, &mut obs);
        obs
    }
}

impl Env for MujocoEnv {
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
        // mj_resetData, then reset_model: positions first, then velocities, from the same stream.
        self.data.reset();
        let (qpos, qvel) = self.task.rules().noisy_initial_state(
            &mut self.rng,
            &self.init_qpos,
            &self.init_qvel,
            standard_normal,
        );
        self.write_state(&qpos, &qvel);
        self.started = true;
        Ok(Reset {
            obs: self.observation(),
            info: self.task.rules().reset_info(self.data.qpos(), self.init_qpos[1]),
        })
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        self.action_space.validate_action(action, self.task.id())?;
        if !self.started {
            return Err(EnvError::ResetNeeded {
                env: self.task.id().to_string(),
            });
        }
        let Action::Continuous(a) = action else {
            unreachable!("validate_action accepts only continuous actions for a Box space")
        };
        let before = self.task.tracked_position(&self.data);
        for (c, &x) in self.data.ctrl_mut().iter_mut().zip(a) {
            *c = f64::from(x);
        }
        for _ in 0..self.task.frame_skip() {
            self.data.step();
        }
        self.data.rne_post_constraint();
        let obs = self.observation();
        let after = self.task.tracked_position(&self.data);
        let velocity = [(after[0] - before[0]) / self.dt, (after[1] - before[1]) / self.dt];
        let outcome = self
            .task
            .outcome(&self.data, &obs, a, velocity, self.init_qpos[1]);
        Ok(Step {
            obs,
            reward: outcome.reward,
            terminated: outcome.terminated,
            truncated: false,
            info: outcome.info,
        })
    }

    fn render(&mut self, width: u32, height: u32) -> Result<Frame> {
        crate::render::check_size(width, height)?;
        if !self.started {
            return Err(EnvError::ResetNeeded {
                env: self.task.id().to_string(),
            });
        }
        Ok(scene::draw_task(self.task, &self.data, width, height))
    }
}
