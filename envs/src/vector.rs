//! [`SyncVectorEnv`]: N copies of an environment stepped together, with auto-reset.

use crate::env::{EpisodeStats, Info};
use crate::error::{EnvError, Result};
use crate::space::{Action, Space};
use crate::Env;

/// When a sub-environment whose episode ended is reset (Gymnasium's `AutoresetMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoresetMode {
    /// Gymnasium ≥ 1.0's default: the step that ends an episode returns its final observation; the
    /// *next* step resets that sub-environment instead of stepping it (its action is ignored) and
    /// returns the reset observation with reward 0 and `terminated = truncated = false`. An agent must
    /// drop that transition from its rollout.
    #[default]
    NextStep,
    /// Gymnasium's `SAME_STEP` (and SB3's, and Gymnasium 0.29's): the step that ends an episode resets
    /// the sub-environment at once and returns the reset observation; the final observation and the
    /// final step's info are in [`VecStep::final_obs`] and [`VecStep::final_infos`]. Simplest for PPO.
    SameStep,
}

/// A batch of actions, one per sub-environment, in the flat layout a policy's output tensor has.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BatchAction<'a> {
    /// One discrete action per sub-environment.
    Discrete(&'a [usize]),
    /// `num_envs` continuous actions stored row-major (`num_envs × action_dim`).
    Continuous(&'a [f32]),
}

/// What [`SyncVectorEnv::reset`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct VecReset {
    /// Observations, row-major `num_envs × obs_dim`.
    pub obs: Vec<f64>,
    /// Reset info of each sub-environment.
    pub infos: Vec<Info>,
}

/// What [`SyncVectorEnv::step`] returns: Gymnasium's batched `(obs, rewards, terminations, truncations, infos)`.
#[derive(Clone, Debug, PartialEq)]
pub struct VecStep {
    /// Observations, row-major `num_envs × obs_dim` (after an auto-reset in [`AutoresetMode::SameStep`]).
    pub obs: Vec<f64>,
    /// Rewards.
    pub rewards: Vec<f64>,
    /// `terminated` flags.
    pub terminated: Vec<bool>,
    /// `truncated` flags.
    pub truncated: Vec<bool>,
    /// Info of each sub-environment's step, or of its reset when it was reset during this call.
    pub infos: Vec<Info>,
    /// [`AutoresetMode::SameStep`]: the final observation of each episode that ended in this step
    /// (Gymnasium's `info["final_obs"]`); always `None` in [`AutoresetMode::NextStep`].
    pub final_obs: Vec<Option<Vec<f64>>>,
    /// [`AutoresetMode::SameStep`]: the info of each episode's final step (`info["final_info"]`).
    pub final_infos: Vec<Option<Info>>,
}

impl VecStep {
    /// Observation row of sub-environment `i`.
    ///
    /// # Panics
    /// If `i >= num_envs`.
    pub fn obs_row(&self, i: usize) -> &[f64] {
        let d = self.obs.len() / self.rewards.len();
        &self.obs[i * d..(i + 1) * d]
    }

    /// Statistics of the episodes that ended in this step, by sub-environment index, wherever the mode
    /// put them (needs [`RecordEpisodeStatistics`](crate::wrappers::RecordEpisodeStatistics) inside).
    pub fn episodes(&self) -> impl Iterator<Item = (usize, &EpisodeStats)> + '_ {
        (0..self.rewards.len()).filter_map(move |i| {
            let info = self.final_infos[i].as_ref().unwrap_or(&self.infos[i]);
            info.episode.as_ref().map(|e| (i, e))
        })
    }
}

/// One sub-environment's outcome in a vector step.
struct Outcome {
    obs: Vec<f64>,
    reward: f64,
    terminated: bool,
    truncated: bool,
    info: Info,
    final_obs: Option<Vec<f64>>,
    final_info: Option<Info>,
}

/// Gymnasium's `SyncVectorEnv`: steps `num_envs` environments with the same spaces in lock step and
/// resets finished ones automatically ([`AutoresetMode`]). `reset(Some(seed))` seeds copy `i` with
/// `seed + i`. With [`with_threads`](Self::with_threads) the copies are stepped on scoped threads;
/// results do not depend on the number of threads.
///
/// # Example
/// ```
/// use envs::{make_vec_env, AutoresetMode, Backend, BatchAction};
/// let mut envs = make_vec_env("cartpole", Backend::Auto, 7, 4, AutoresetMode::SameStep)?;
/// let first = envs.reset(None)?;
/// assert_eq!(first.obs.len(), 4 * 4);
/// let step = envs.step(BatchAction::Discrete(&[0, 1, 0, 1]))?;
/// assert_eq!(step.rewards, vec![1.0; 4]);
/// # Ok::<(), envs::EnvError>(())
/// ```
#[derive(Debug)]
pub struct SyncVectorEnv<E> {
    envs: Vec<E>,
    mode: AutoresetMode,
    threads: usize,
    autoreset: Vec<bool>,
    observation_space: Space,
    action_space: Space,
}

impl<E: Env> SyncVectorEnv<E> {
    /// Wraps `envs`.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `envs` is empty; [`EnvError::IncompatibleSpace`] if their
    /// observation or action spaces differ.
    pub fn new(envs: Vec<E>, mode: AutoresetMode) -> Result<Self> {
        let Some(first) = envs.first() else {
            return Err(EnvError::InvalidParameter {
                name: "num_envs",
                value: "0".into(),
                reason: "a vector env needs at least one environment".into(),
            });
        };
        let (observation_space, action_space) =
            (first.observation_space().clone(), first.action_space().clone());
        if let Some((i, e)) = envs
            .iter()
            .enumerate()
            .find(|(_, e)| e.observation_space() != &observation_space || e.action_space() != &action_space)
        {
            return Err(EnvError::IncompatibleSpace {
                wrapper: "SyncVectorEnv",
                env: format!("{} (copy {i})", e.id()),
                reason: format!("its spaces differ from those of copy 0 ({})", first.id()),
            });
        }
        Ok(Self {
            autoreset: vec![false; envs.len()],
            envs,
            mode,
            threads: 1,
            observation_space,
            action_space,
        })
    }

    /// Steps the copies on up to `threads` scoped threads (1, the default, steps them in this thread).
    /// Worth it when one step costs more than a thread hand-off (tens of µs): physics tasks, not
    /// classic control.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Number of sub-environments.
    pub fn num_envs(&self) -> usize {
        self.envs.len()
    }

    /// The auto-reset mode.
    pub fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }

    /// Observation space of one sub-environment.
    pub fn single_observation_space(&self) -> &Space {
        &self.observation_space
    }

    /// Action space of one sub-environment.
    pub fn single_action_space(&self) -> &Space {
        &self.action_space
    }

    /// The sub-environments (to read wrapper statistics, say).
    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    /// The sub-environments, mutably.
    pub fn envs_mut(&mut self) -> &mut [E] {
        &mut self.envs
    }

    /// Resets every sub-environment, copy `i` with `seed + i` when a seed is given.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `seed + num_envs − 1` overflows `u64`; a sub-environment's error.
    pub fn reset(&mut self, seed: Option<u64>) -> Result<VecReset> {
        if let Some(s) = seed {
            if s.checked_add(self.envs.len() as u64 - 1).is_none() {
                return Err(EnvError::InvalidParameter {
                    name: "seed",
                    value: s.to_string(),
                    reason: format!("seed + i must fit in u64 for {} copies", self.envs.len()),
                });
            }
        }
        let mut obs = Vec::with_capacity(self.envs.len() * self.observation_space.flat_dim());
        let mut infos = Vec::with_capacity(self.envs.len());
        for (i, env) in self.envs.iter_mut().enumerate() {
            let r = env.reset(seed.map(|s| s + i as u64))?;
            obs.extend_from_slice(&r.obs);
            infos.push(r.info);
        }
        self.autoreset.iter_mut().for_each(|a| *a = false);
        Ok(VecReset { obs, infos })
    }

    /// Steps every sub-environment with its action, auto-resetting as the mode says. All actions are
    /// validated before any copy is stepped, so an invalid batch changes nothing.
    ///
    /// # Errors
    /// [`EnvError::BatchSize`] for a batch of the wrong size, the action errors of
    /// [`Space::validate_action`], or a sub-environment's error (the lowest index if several fail; the
    /// other copies have then been stepped, so reset before stepping again).
    pub fn step(&mut self, actions: BatchAction<'_>) -> Result<VecStep> {
        let n = self.envs.len();
        let per_env: Vec<Action<'_>> = match actions {
            BatchAction::Discrete(a) => {
                if a.len() != n {
                    return Err(EnvError::BatchSize {
                        num_envs: n,
                        got: a.len(),
                        what: "discrete actions".into(),
                    });
                }
                a.iter().map(|&x| Action::Discrete(x)).collect()
            }
            BatchAction::Continuous(a) => {
                let d = self.action_space.flat_dim().max(1);
                if a.len() != n * d {
                    return Err(EnvError::BatchSize {
                        num_envs: n,
                        got: a.len(),
                        what: format!("action values (expected {n} × {d})"),
                    });
                }
                a.chunks_exact(d).map(Action::Continuous).collect()
            }
        };
        let id = self.envs[0].id().to_string();
        for (i, a) in per_env.iter().enumerate() {
            // An env waiting for its auto-reset ignores its action, but a malformed batch is still an error.
            self.action_space
                .validate_action(*a, &format!("{id} (copy {i})"))?;
        }

        let mode = self.mode;
        let threads = self.threads.min(n);
        let mut outcomes: Vec<Option<Result<Outcome>>> = (0..n).map(|_| None).collect();
        if threads <= 1 {
            for (i, env) in self.envs.iter_mut().enumerate() {
                outcomes[i] = Some(step_one(env, per_env[i], self.autoreset[i], mode));
            }
        } else {
            let chunk = n.div_ceil(threads);
            std::thread::scope(|scope| {
                for ((envs, out), (acts, resets)) in self
                    .envs
                    .chunks_mut(chunk)
                    .zip(outcomes.chunks_mut(chunk))
                    .zip(per_env.chunks(chunk).zip(self.autoreset.chunks(chunk)))
                {
                    scope.spawn(move || {
                        for (((env, o), a), &r) in envs.iter_mut().zip(out).zip(acts).zip(resets) {
                            *o = Some(step_one(env, *a, r, mode));
                        }
                    });
                }
            });
        }

        let d = self.observation_space.flat_dim();
        let mut out = VecStep {
            obs: Vec::with_capacity(n * d),
            rewards: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            infos: Vec::with_capacity(n),
            final_obs: Vec::with_capacity(n),
            final_infos: Vec::with_capacity(n),
        };
        for (i, o) in outcomes.into_iter().enumerate() {
            let o = o.expect("every sub-environment was stepped")?;
            self.autoreset[i] = mode == AutoresetMode::NextStep && (o.terminated || o.truncated);
            out.obs.extend_from_slice(&o.obs);
            out.rewards.push(o.reward);
            out.terminated.push(o.terminated);
            out.truncated.push(o.truncated);
            out.infos.push(o.info);
            out.final_obs.push(o.final_obs);
            out.final_infos.push(o.final_info);
        }
        Ok(out)
    }
}

fn step_one<E: Env>(
    env: &mut E,
    action: Action<'_>,
    needs_reset: bool,
    mode: AutoresetMode,
) -> Result<Outcome> {
    if needs_reset {
        let r = env.reset(None)?;
        return Ok(Outcome {
            obs: r.obs,
            reward: 0.0,
            terminated: false,
            truncated: false,
            info: r.info,
            final_obs: None,
            final_info: None,
        });
    }
    let s = env.step(action)?;
    if mode == AutoresetMode::SameStep && s.done() {
        let r = env.reset(None)?;
        return Ok(Outcome {
            obs: r.obs,
            reward: s.reward,
            terminated: s.terminated,
            truncated: s.truncated,
            info: r.info,
            final_obs: Some(s.obs),
            final_info: Some(s.info),
        });
    }
    Ok(Outcome {
        obs: s.obs,
        reward: s.reward,
        terminated: s.terminated,
        truncated: s.truncated,
        info: s.info,
        final_obs: None,
        final_info: None,
    })
}
