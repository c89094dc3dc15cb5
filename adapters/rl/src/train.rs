//! The on-policy training loop shared by PPO and A2C: seed → envs → rollout → GAE → updates.
//!
//! A [`Trainer`] owns the networks, the optimizer, the training environments and the
//! normalizers; [`Trainer::update`] collects one rollout of `num_envs × num_steps` transitions and
//! runs the algorithm's optimizer iterations on it; [`Trainer::evaluate`] runs deterministic test
//! episodes; [`Trainer::save`] / [`Trainer::resume`] checkpoint and restore. [`train`] drives the
//! loop without logging (tests, benchmarks); the `rl` binary drives it with metrics and checkpoints.
//!
//! # One optimizer iteration
//! PPO takes minibatches of `batch_size × m` transitions (m = the optimizer's nodes: the paper's
//! SISA minibatch of 4 × 64 beside Adam's 64), `update_epochs` passes over the rollout; A2C takes
//! the whole rollout once (`batch_size = None`). Each minibatch is split into m contiguous node
//! batches ([`NodeSplit`]); node i's loss is computed on its slice (advantages normalized per node
//! batch when normalization is on), backpropagated, its gradient clipped to `max_grad_norm`
//! (per node, before `node_step`: clipping the gradient each node hands the optimizer, as
//! Tianshou clips before `optim.step()`), then `node_step(i)`.
//!
//! # Deviations from Tianshou's MuJoCo examples (documented, not hidden)
//! - reward *scaling* (SB3's `VecNormalize`, [`RewardScaler`]) instead of Tianshou's `rew_norm`
//!   (normalizing value targets); advantages are computed once per rollout unless
//!   [`RlConfig::recompute_adv`] (Tianshou's `recompute_adv`, on in the paper's protocol
//!   [`crate::protocol::Protocol::Paper`]);
//! - actions are clipped to the box (`bound_action_method = "clip"`) but not rescaled from
//!   [−1, 1] (Tianshou's `action_scaling`) unless [`RlConfig::action_scaling`] (on in the
//!   paper's protocol); identical for the tasks whose box is [−1, 1];
//! - the learning-rate decay is per optimizer iteration ([`super::decay`]) instead of per update,
//!   except with [`RlConfig::reset_optimizer`], where the factor is held for the whole update as
//!   Tianshou's `LambdaLR` holds it (the authors recompute σ, ρ from it at every `learn()`).
//!
//! # Optimizer state across updates
//! By default the optimizer keeps its state from update to update (Adam's moments, SISA's π_i,
//! v_i and bias counter), as Tianshou keeps Adam's. With [`RlConfig::reset_optimizer`] it is
//! rebuilt from its configuration at the start of every update after the first, as the paper's
//! RL code re-initializes all SISA state at every `learn()` call (spec §6): the new optimizer
//! has the state of a freshly built one at the current weights, and its schedule is the
//! constant factor r_u = 1 − u/U of update u of U ([`decay::constant_factor`]), so σ_u = σ_0/r_u
//! and ρ_u = ρ_0/r_u are what the authors compute from the decayed learning rate.
//!
//! # Exact resume
//! A checkpoint holds the weights, the optimizer state, the observation and reward statistics, the
//! step and update counters, the window of the last 100 training episodes ([`EpisodeWindow`]) and
//! the best evaluation so far ([`BestEval`]). libtorch's generator is re-seeded at every update with
//! [`step_seed`]`(seed, update)`, and at every checkpoint boundary every run (resumed or not)
//! restarts the training episodes from seeds derived from `(seed, update)`
//! ([`Trainer::restart_episodes`]; the unfinished episodes are dropped, their rollout data was
//! already bootstrapped). So a run resumed from a checkpoint continues bit for bit like the
//! uninterrupted run; what is not carried over is only the partial episodes at the boundary.

use super::a2c::a2c_loss;
use super::action::ScaleAction;
use super::decay;
use super::eval::{evaluate, EvalStats};
use super::gae::{gae, next_values, GaeConfig};
use super::normalize::{ObsNormalizer, RewardScaler};
use super::policy::{ActionHead, ActorCritic, Dist, PolicyConfig};
use super::ppo::{LossInputs, PpoLoss, PpoLossConfig};
use super::stats::{BestEval, EpisodeWindow, EvalPoint};
use envs::wrappers::{ClipAction, RecordEpisodeStatistics};
use envs::{make_env, AutoresetMode, Backend, BatchAction, Env, EnvError, SyncVectorEnv};
use pisa_core::{clip_grad_norm, ClipArithmetic, Optimizer, OptimizerConfig};
use runs::checkpoint::{self, step_seed, CheckpointError, Meta};
use runs::nodes::{NodeSplit, SplitError};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum RlError {
    /// An environment error.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// An optimizer error.
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
    /// A minibatch cannot be split into the optimizer's nodes.
    #[error(transparent)]
    Split(#[from] SplitError),
    /// Saving or loading a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The run skeleton: run folder, checkpoints, metrics, or a non-finite loss.
    #[error(transparent)]
    Session(Box<runs::session::SessionError>),
    /// A flag or `[rl]` key out of range (exit code 2); not transparent, so that the binary
    /// finds it in the error chain.
    #[error("invalid input")]
    Usage(#[from] runs::cli::UsageError),
    /// The optimizer's settings (an unknown optimizer, an invalid value such as `nodes = 0`).
    #[error(transparent)]
    Registry(#[from] runs::registry::RegistryError),
    /// An invalid setting.
    #[error("invalid RL setting `{name}`: {reason}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

runs::session_error_conversions!(RlError, Optimizer, Session);

/// The algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// Proximal policy optimization (clipped surrogate).
    Ppo,
    /// Advantage actor-critic.
    A2c,
}

impl Algo {
    /// `"ppo"` or `"a2c"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algo::Ppo => "ppo",
            Algo::A2c => "a2c",
        }
    }
}

/// Training settings. [`Default`] is Tianshou's `mujoco_ppo.py`; [`RlConfig::for_task`] gives
/// the per-algorithm and per-task defaults. Every field can be set from TOML (`[rl]` table).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RlConfig {
    /// PPO or A2C.
    pub algo: Algo,
    /// Gymnasium id of the task (aliases like `humanoid` work); default `Ant-v5`.
    pub env_id: String,
    /// Simulator backend; default auto.
    pub backend: Backend,
    /// Seed of the environments (copy i gets seed + i), the weights and the sampling; default 0.
    pub seed: u64,
    /// Parallel training environments N; default 8.
    pub num_envs: usize,
    /// Steps per environment and rollout T (a rollout is N·T transitions); default 256.
    pub num_steps: usize,
    /// Total environment steps; default 3,000,000 (Tianshou: 100 epochs × 30,000).
    pub total_steps: usize,
    /// Passes over each rollout; default 10 (A2C: 1).
    pub update_epochs: usize,
    /// Transitions per node and optimizer iteration (an iteration takes `batch_size × m`), or
    /// `None` for the whole rollout in one iteration (A2C); default `Some(64)`.
    pub batch_size: Option<usize>,
    /// Gradient-norm clipping per node gradient, `None` for none; default `Some(0.5)`.
    pub max_grad_norm: Option<f64>,
    /// γ and λ.
    pub gae: GaeConfig,
    /// Loss coefficients (A2C uses `ent_coef`, `vf_coef`, `norm_adv`).
    pub loss: PpoLossConfig,
    /// Network sizes and initial log σ.
    pub policy: PolicyConfig,
    /// Normalize observations with running statistics; default true.
    pub norm_obs: bool,
    /// Scale rewards by the running std of the discounted return; default true.
    pub scale_reward: bool,
    /// Linear learning-rate decay to 0 over training; default true.
    pub lr_decay: bool,
    /// Linear decay of PPO's clip range ε over training (rl-zoo's `lin_0.2`); default false.
    pub clip_decay: bool,
    /// Rebuild the optimizer (fresh state) at every update, as the paper's RL code re-initialized
    /// SISA; default false (keep state). See the module docs.
    pub reset_optimizer: bool,
    /// Map the Gaussian policy's actions from [−1, 1] (clipped) onto the action box, as
    /// Tianshou's `action_scaling` ([`crate::action::ScaleAction`]); default false (actions
    /// clipped to the box). Differs only for boxes other than [−1, 1] (Humanoid, InvertedPendulum).
    pub action_scaling: bool,
    /// Recompute the advantages and returns with the current critic before every pass over the
    /// rollout after the first (Tianshou's `recompute_adv`, Andrychowicz et al. 2021 §3.5);
    /// default false (once per rollout, as CleanRL and SB3). No effect with one pass (A2C).
    pub recompute_adv: bool,
    /// Evaluate every this many environment steps (0: never); default 30,000.
    pub eval_every: usize,
    /// Deterministic test episodes per evaluation; default 10.
    pub eval_episodes: usize,
    /// Checkpoint every this many environment steps (0: only at the end, when a run folder is
    /// used); default 30,000.
    pub checkpoint_every: usize,
}

impl Default for RlConfig {
    fn default() -> Self {
        RlConfig {
            algo: Algo::Ppo,
            env_id: "Ant-v5".into(),
            backend: Backend::Auto,
            seed: 0,
            num_envs: 8,
            num_steps: 256,
            total_steps: 3_000_000,
            update_epochs: 10,
            batch_size: Some(64),
            max_grad_norm: Some(0.5),
            gae: GaeConfig::default(),
            // Tianshou: vf_coef 0.25 on mean((V − R)²) = 0.5 on our ½ mean((V − R)²).
            loss: PpoLossConfig {
                clip_coef: 0.2,
                clip_vloss: None,
                ent_coef: 0.0,
                vf_coef: 0.5,
                norm_adv: false,
            },
            policy: PolicyConfig {
                hidden: vec![64, 64],
                init_log_std: -0.5,
            },
            norm_obs: true,
            scale_reward: true,
            lr_decay: true,
            clip_decay: false,
            reset_optimizer: false,
            action_scaling: false,
            recompute_adv: false,
            eval_every: 30_000,
            eval_episodes: 10,
            checkpoint_every: 30_000,
        }
    }
}

impl RlConfig {
    /// Defaults for `algo` on `env_id`: Tianshou's MuJoCo examples (PPO: 8 envs × 256 steps, 10
    /// epochs of 64; A2C: 16 envs × 5 steps, one full-batch pass, vf 0.5, ent 0.01), and
    /// rl-zoo's tuned PPO settings for CartPole-v1 and Pendulum-v1 (no gSDE for Pendulum).
    pub fn for_task(algo: Algo, env_id: &str) -> Self {
        let id = envs::registry::env_spec(env_id).map_or(env_id, |s| s.id);
        let mut cfg = RlConfig {
            algo,
            env_id: id.to_string(),
            ..RlConfig::default()
        };
        if algo == Algo::A2c {
            cfg.num_envs = 16;
            cfg.num_steps = 5;
            cfg.update_epochs = 1;
            cfg.batch_size = None;
            // Tianshou: vf_coef 0.5 on mean((V − R)²).
            cfg.loss.vf_coef = 1.0;
            cfg.loss.ent_coef = 0.01;
        }
        match (algo, id) {
            (Algo::Ppo, "CartPole-v1") => {
                cfg.num_envs = 8;
                cfg.num_steps = 32;
                cfg.total_steps = 100_000;
                cfg.update_epochs = 20;
                cfg.batch_size = Some(256);
                cfg.gae = GaeConfig {
                    gamma: 0.98,
                    lambda: 0.8,
                };
                cfg.clip_decay = true;
            }
            (Algo::Ppo, "Pendulum-v1") => {
                cfg.num_envs = 4;
                cfg.num_steps = 1024;
                cfg.total_steps = 100_000;
                cfg.update_epochs = 10;
                cfg.batch_size = Some(64);
                cfg.gae = GaeConfig {
                    gamma: 0.9,
                    lambda: 0.95,
                };
                cfg.lr_decay = false;
            }
            (Algo::A2c, "CartPole-v1") => {
                cfg.num_envs = 8;
                cfg.total_steps = 100_000;
                cfg.gae.lambda = 1.0;
                cfg.loss.ent_coef = 0.0;
            }
            _ => {}
        }
        if matches!(
            (algo, id),
            (Algo::Ppo, "CartPole-v1" | "Pendulum-v1") | (Algo::A2c, "CartPole-v1")
        ) {
            cfg.rl_zoo_classic_control();
        }
        cfg
    }

    /// What rl-zoo's classic-control settings share: PPO loss (clip 0.2, no value clipping, no
    /// entropy bonus, vf 1, normalized advantages), log-std 0, no observation or reward
    /// normalization, and no separate evaluation (the solve criterion uses training episodes).
    fn rl_zoo_classic_control(&mut self) {
        if self.algo == Algo::Ppo {
            self.loss = PpoLossConfig {
                clip_coef: 0.2,
                clip_vloss: None,
                ent_coef: 0.0,
                vf_coef: 1.0,
                norm_adv: true,
            };
        }
        self.policy.init_log_std = 0.0;
        self.norm_obs = false;
        self.scale_reward = false;
        self.eval_every = 0;
    }

    /// The registry domain of the presets for this algorithm and task, e.g. `ppo-humanoid` or
    /// `a2c-inverteddoublependulum`: `<algo>-<id without version, lower case, no separators>`.
    pub fn domain(&self) -> String {
        let id = envs::registry::env_spec(&self.env_id).map_or(self.env_id.as_str(), |s| s.id);
        let base = id.split("-v").next().unwrap_or(id);
        let task: String = base
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        format!("{}-{task}", self.algo.as_str())
    }

    /// Transitions per rollout, N·T.
    pub fn rollout(&self) -> usize {
        self.num_envs * self.num_steps
    }

    /// Updates in the run: ⌈total_steps / (N·T)⌉, at least 1.
    pub fn updates(&self) -> usize {
        self.total_steps.div_ceil(self.rollout().max(1)).max(1)
    }

    /// Checks every count against its range, naming the key as in a `--config` file
    /// (`rl.num_envs`): TOML bypasses the flags' parsers.
    ///
    /// # Errors
    /// A [`UsageError`](runs::cli::UsageError) naming the key and the allowed range.
    pub fn validate(&self) -> Result<(), runs::cli::UsageError> {
        use runs::cli::{check_range, UsageError};
        check_range("rl.num_envs", self.num_envs, 1, 4096)?;
        check_range("rl.num_steps", self.num_steps, 1, 1_000_000)?;
        check_range("rl.total_steps", self.total_steps, 1, MAX_STEPS)?;
        check_range("rl.update_epochs", self.update_epochs, 1, 1000)?;
        if let Some(b) = self.batch_size {
            check_range("rl.batch_size", b, 1, 10_000_000)?;
        }
        if let Some(c) = self.max_grad_norm {
            check_range("rl.max_grad_norm", c, 0.0, f64::MAX)?;
        }
        check_range("rl.eval_every", self.eval_every, 0, MAX_STEPS)?;
        check_range("rl.eval_episodes", self.eval_episodes, 1, 100_000)?;
        check_range("rl.checkpoint_every", self.checkpoint_every, 0, MAX_STEPS)?;
        if self.policy.hidden.contains(&0) {
            return Err(UsageError::new("rl.policy.hidden", "layer widths must be >= 1"));
        }
        Ok(())
    }
}

/// The most environment steps a run, an evaluation period or a checkpoint period may span (10¹⁰).
pub const MAX_STEPS: usize = 10_000_000_000;

/// Diagnostics of one update: means over its optimizer iterations (node losses averaged).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateStats {
    /// Environment steps so far, after this update's rollout.
    pub global_step: usize,
    /// Policy loss.
    pub policy_loss: f64,
    /// Value loss.
    pub value_loss: f64,
    /// Mean entropy.
    pub entropy: f64,
    /// Approximate KL(π_old ‖ π).
    pub approx_kl: f64,
    /// Fraction of clipped ratios.
    pub clip_fraction: f64,
    /// Explained variance 1 − Var(R − V)/Var(R) of the rollout's values.
    pub explained_variance: f64,
    /// Environment steps per second of this update (rollout and learning).
    pub steps_per_second: f64,
    /// Mean return of the training episodes that ended in this rollout (NaN if none).
    pub train_return: f64,
    /// Training episodes that ended in this rollout.
    pub episodes: usize,
    /// Mean return of the last 100 finished training episodes, over rollouts and resumes (NaN
    /// before the first): Stable-Baselines3's `ep_rew_mean`.
    pub return_100: f64,
    /// Mean length of the same episodes (NaN before the first): SB3's `ep_len_mean`.
    pub episode_length: f64,
    /// The Gaussian policy's action σ after the update, averaged over action dimensions; `None`
    /// for a categorical policy.
    pub action_std: Option<f64>,
}

/// What a training run produced (see [`train`]).
#[derive(Debug, Clone, Default)]
pub struct TrainReport {
    /// `(global step, episode return)` of every finished training episode, in order.
    pub episodes: Vec<(usize, f64)>,
    /// Every update's diagnostics.
    pub updates: Vec<UpdateStats>,
}

impl TrainReport {
    /// Mean return of the last `k` finished episodes (NaN if none finished).
    pub fn mean_last_returns(&self, k: usize) -> f64 {
        let tail = &self.episodes[self.episodes.len().saturating_sub(k)..];
        tail.iter().map(|e| e.1).sum::<f64>() / tail.len() as f64
    }
}

type Envs = SyncVectorEnv<Box<dyn Env>>;

fn make_envs(cfg: &RlConfig) -> Result<Envs, RlError> {
    let envs = (0..cfg.num_envs as u64)
        .map(|i| {
            let env = make_env(&cfg.env_id, cfg.backend, cfg.seed + i)?;
            let env: Box<dyn Env> = if env.action_space().discrete_n().is_some() {
                env
            } else if cfg.action_scaling {
                Box::new(ScaleAction::new(env)?)
            } else {
                Box::new(ClipAction::new(env)?)
            };
            Ok(Box::new(RecordEpisodeStatistics::new(env)) as Box<dyn Env>)
        })
        .collect::<Result<Vec<_>, RlError>>()?;
    Ok(SyncVectorEnv::new(envs, AutoresetMode::SameStep)?)
}

/// 1 − Var(y − ŷ)/Var(y) (NaN when Var(y) = 0).
pub fn explained_variance(pred: &[f32], target: &[f32]) -> f64 {
    let n = target.len().max(1) as f64;
    let var = |x: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = x.collect();
        let m = v.iter().sum::<f64>() / n;
        v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / n
    };
    let vy = var(&mut target.iter().map(|&t| t as f64));
    if vy == 0.0 {
        return f64::NAN;
    }
    1.0 - var(&mut pred.iter().zip(target).map(|(&p, &t)| (t - p) as f64)) / vy
}

/// Mutable training state besides tensors, saved in checkpoints.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct TrainState {
    global_step: usize,
    update: usize,
    obs_norm: Option<ObsNormalizer>,
    reward_scaler: Option<RewardScaler>,
    /// The last 100 finished training episodes (absent in checkpoints written before it was).
    #[serde(default)]
    window: EpisodeWindow,
    /// The best evaluation so far.
    #[serde(default)]
    best: BestEval,
}

/// The on-policy trainer; see the module docs.
pub struct Trainer {
    cfg: RlConfig,
    opt_cfg: OptimizerConfig,
    /// The configuration the current optimizer was built from (the decay written in).
    built: OptimizerConfig,
    device: Device,
    envs: Envs,
    obs_dim: usize,
    head: ActionHead,
    vs: VarStore,
    ac: ActorCritic,
    opt: Box<dyn Optimizer>,
    vars: Vec<Tensor>,
    state: TrainState,
    /// Raw (unnormalized) current observations of the N copies.
    raw_obs: Vec<f64>,
    /// Finished training episodes `(global step, return)`.
    pub episodes: Vec<(usize, f64)>,
}

impl Trainer {
    /// Builds the environments, the actor-critic (seeded with `cfg.seed`) and the optimizer from
    /// `optimizer` (with the learning-rate decay written in when `cfg.lr_decay`).
    ///
    /// # Errors
    /// [`RlError::Config`] for settings that do not fit, else an environment or optimizer error.
    pub fn new(cfg: &RlConfig, optimizer: &OptimizerConfig, device: Device) -> Result<Self, RlError> {
        cfg.validate()?;
        tch::manual_seed(cfg.seed as i64);
        let envs = make_envs(cfg)?;
        let obs_dim = envs.single_observation_space().flat_dim();
        let head = ActionHead::for_space(envs.single_action_space());
        let vs = VarStore::new(device);
        let ac = ActorCritic::new(&vs.root(), obs_dim, head, &cfg.policy);
        let vars = vs.trainable_variables();
        let state = TrainState {
            global_step: 0,
            update: 0,
            obs_norm: cfg.norm_obs.then(|| ObsNormalizer::new(obs_dim, 10.0)),
            reward_scaler: cfg
                .scale_reward
                .then(|| RewardScaler::new(cfg.num_envs, cfg.gae.gamma as f64, 10.0)),
            window: EpisodeWindow::default(),
            best: BestEval::default(),
        };
        let built = Self::resolved_optimizer(cfg, optimizer, 0);
        let opt = built.build(&vs)?;
        let mut trainer = Trainer {
            cfg: cfg.clone(),
            opt_cfg: optimizer.clone(),
            built,
            device,
            envs,
            obs_dim,
            head,
            vs,
            ac,
            opt,
            vars,
            state,
            raw_obs: Vec::new(),
            episodes: Vec::new(),
        };
        trainer.check_split()?;
        let first = trainer.envs.reset(Some(cfg.seed))?.obs;
        trainer.observe(&first)?;
        Ok(trainer)
    }

    /// Optimizer iterations per update: epochs × ⌈N·T / (batch_size·m)⌉.
    fn iterations_per_update(cfg: &RlConfig, nodes: usize) -> usize {
        let mb = cfg
            .batch_size
            .map_or(cfg.rollout(), |b| (b * nodes).min(cfg.rollout()));
        cfg.update_epochs * cfg.rollout().div_ceil(mb)
    }

    /// What happens to the optimizer before an update's first iteration: with
    /// `reset_optimizer`, after the first update, it is rebuilt for this update (the paper's
    /// re-initialized state); otherwise nothing. Idempotent.
    fn begin_update(&mut self) -> Result<(), RlError> {
        if self.cfg.reset_optimizer && self.state.update > 0 {
            self.rebuild_optimizer(self.state.update)?;
        }
        Ok(())
    }

    /// Rebuilds the optimizer from `opt_cfg` for update `update` (the paper's re-initialized
    /// state).
    fn rebuild_optimizer(&mut self, update: usize) -> Result<(), RlError> {
        self.built = Self::resolved_optimizer(&self.cfg, &self.opt_cfg, update);
        self.opt = self.built.build(&self.vs)?;
        Ok(())
    }

    /// `optimizer` with the learning-rate decay of `cfg` written in, for an optimizer built at
    /// update `update`.
    fn resolved_optimizer(cfg: &RlConfig, optimizer: &OptimizerConfig, update: usize) -> OptimizerConfig {
        let nodes = optimizer.base.nodes();
        match (cfg.lr_decay, cfg.reset_optimizer) {
            (false, _) => optimizer.clone(),
            (true, false) => decay::linear_decay(
                optimizer,
                (cfg.updates() * Self::iterations_per_update(cfg, nodes)) as u64,
            ),
            (true, true) => decay::constant_factor(optimizer, 1.0 - update as f64 / cfg.updates() as f64),
        }
    }

    fn check_split(&self) -> Result<(), RlError> {
        let m = self.opt.node_weights().len();
        let mb = self.minibatch();
        if mb < m {
            return Err(RlError::Config {
                name: "batch_size",
                reason: format!("a minibatch of {mb} transitions cannot feed {m} nodes"),
            });
        }
        Ok(())
    }

    /// Transitions per optimizer iteration.
    fn minibatch(&self) -> usize {
        let m = self.opt.node_weights().len();
        self.cfg
            .batch_size
            .map_or(self.cfg.rollout(), |b| (b * m).min(self.cfg.rollout()))
    }

    /// Stores raw observations and feeds the statistics.
    fn observe(&mut self, raw: &[f64]) -> Result<(), RlError> {
        if let Some(n) = &mut self.state.obs_norm {
            n.update(raw)?;
        }
        self.raw_obs = raw.to_vec();
        Ok(())
    }

    fn normalized(&self, raw: &[f64]) -> Result<Vec<f32>, RlError> {
        Ok(match &self.state.obs_norm {
            Some(n) => n.apply(raw)?,
            None => raw.iter().map(|&v| v as f32).collect(),
        })
    }

    fn values_of(&self, obs: &[f32], rows: usize) -> Vec<f32> {
        let t = Tensor::from_slice(obs)
            .view([rows as i64, self.obs_dim as i64])
            .to_device(self.device);
        let v = tch::no_grad(|| self.ac.value(&t)).to_device(Device::Cpu);
        Vec::try_from(&v).expect("Float values")
    }

    /// V of the rows of `obs` (a `[rows, obs_dim]` tensor on the device), without gradients.
    fn values_of_tensor(&self, obs: &Tensor) -> Vec<f32> {
        let v = tch::no_grad(|| self.ac.value(obs)).to_device(Device::Cpu);
        Vec::try_from(&v).expect("Float values")
    }

    /// The settings.
    pub fn config(&self) -> &RlConfig {
        &self.cfg
    }

    /// Environment steps so far.
    pub fn global_step(&self) -> usize {
        self.state.global_step
    }

    /// Updates done so far.
    pub fn updates_done(&self) -> usize {
        self.state.update
    }

    /// Whether `total_steps` are reached.
    pub fn done(&self) -> bool {
        self.state.update >= self.cfg.updates()
    }

    /// The actor-critic.
    pub fn policy(&self) -> &ActorCritic {
        &self.ac
    }

    /// The variables (weights).
    pub fn var_store(&self) -> &VarStore {
        &self.vs
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer {
        self.opt.as_ref()
    }

    /// The observation statistics, when observations are normalized.
    pub fn obs_normalizer(&self) -> Option<&ObsNormalizer> {
        self.state.obs_norm.as_ref()
    }

    /// Collects one rollout and learns from it.
    ///
    /// # Errors
    /// An environment or optimizer error (a non-finite loss included).
    pub fn update(&mut self) -> Result<UpdateStats, RlError> {
        let start = Instant::now();
        let cfg = self.cfg.clone();
        let (n, t_len, batch) = (cfg.num_envs, cfg.num_steps, cfg.rollout());
        let progress_left = 1.0 - self.state.update as f64 / cfg.updates() as f64;
        tch::manual_seed(step_seed(cfg.seed, self.state.update as u64));
        self.begin_update()?;

        let mut b_obs: Vec<f32> = Vec::with_capacity(batch * self.obs_dim);
        let mut b_actions: Vec<Tensor> = Vec::with_capacity(t_len);
        let mut b_logp: Vec<Tensor> = Vec::with_capacity(t_len);
        let mut values: Vec<f32> = Vec::with_capacity(batch);
        let mut rewards: Vec<f32> = Vec::with_capacity(batch);
        let mut terminated: Vec<bool> = Vec::with_capacity(batch);
        let mut truncated: Vec<bool> = Vec::with_capacity(batch);
        let mut final_values = vec![0.0f32; batch];
        // (rollout index, normalized final observation) of the truncated steps, for recomputing.
        let mut final_obs: Vec<(usize, Vec<f32>)> = Vec::new();
        let first_episode = self.episodes.len();

        // rollout
        let mut obs = self.normalized(&self.raw_obs)?;
        for _ in 0..t_len {
            let obs_t = Tensor::from_slice(&obs)
                .view([n as i64, self.obs_dim as i64])
                .to_device(self.device);
            let (action, logp, value) = tch::no_grad(|| {
                let dist = self.ac.dist(&obs_t);
                let a = dist.sample();
                let lp = dist.log_prob(&a);
                (a, lp, self.ac.value(&obs_t))
            });
            let action = action.to_device(Device::Cpu);
            let step = match self.head {
                ActionHead::Categorical(_) => {
                    let a: Vec<i64> = Vec::try_from(&action).expect("Int64 actions");
                    let a: Vec<usize> = a.into_iter().map(|x| x as usize).collect();
                    self.envs.step(BatchAction::Discrete(&a))?
                }
                ActionHead::Gaussian(_) => {
                    let a: Vec<f32> = Vec::try_from(action.reshape([-1])).expect("Float actions");
                    self.envs.step(BatchAction::Continuous(&a))?
                }
            };
            self.state.global_step += n;
            b_obs.extend_from_slice(&obs);
            b_actions.push(action);
            b_logp.push(logp.to_device(Device::Cpu));
            values.extend(Vec::<f32>::try_from(value.to_device(Device::Cpu)).expect("Float values"));
            let done: Vec<bool> = (0..n).map(|i| step.terminated[i] || step.truncated[i]).collect();
            let r = match &mut self.state.reward_scaler {
                Some(s) => s.scale(&step.rewards, &done),
                None => step.rewards.clone(),
            };
            rewards.extend(r.iter().map(|&r| r as f32));
            terminated.extend_from_slice(&step.terminated);
            truncated.extend_from_slice(&step.truncated);
            let base = values.len() - n;
            for (i, fin) in step.final_obs.iter().enumerate() {
                if let (Some(fin), true) = (fin, step.truncated[i]) {
                    let x = self.normalized(fin)?;
                    final_values[base + i] = self.values_of(&x, 1)[0];
                    if cfg.recompute_adv {
                        final_obs.push((base + i, x));
                    }
                }
            }
            for (_, ep) in step.episodes() {
                self.episodes.push((self.state.global_step, ep.episode_return));
                self.state.window.push(ep.episode_return, ep.length);
            }
            self.observe(&step.obs)?;
            obs = self.normalized(&self.raw_obs)?;
        }

        // GAE
        let last = self.values_of(&obs, n);
        let next = next_values(&values, &last, &final_values, &terminated, &truncated);
        let (adv, ret) = gae(&rewards, &values, &next, &terminated, &truncated, n, cfg.gae);
        let explained_variance = explained_variance(&values, &ret);

        let dev = self.device;
        let b_obs = Tensor::from_slice(&b_obs)
            .view([batch as i64, self.obs_dim as i64])
            .to_device(dev);
        let b_actions = Tensor::cat(&b_actions, 0).to_device(dev);
        let b_logp = Tensor::cat(&b_logp, 0).to_device(dev);
        let mut b_values = Tensor::from_slice(&values).to_device(dev);
        let mut b_adv = Tensor::from_slice(&adv).to_device(dev);
        let mut b_ret = Tensor::from_slice(&ret).to_device(dev);

        // optimizer iterations
        let mut loss_cfg = cfg.loss;
        if cfg.clip_decay {
            loss_cfg.clip_coef *= progress_left;
        }
        let mb_size = self.minibatch();
        let mut sums = [0.0f64; 5];
        let mut count = 0usize;
        for epoch in 0..cfg.update_epochs {
            if cfg.recompute_adv && epoch > 0 {
                // Tianshou's recompute_adv: V of every stored observation, of the last ones and
                // of the truncated episodes' final ones, from the current critic.
                let values = self.values_of_tensor(&b_obs);
                let last = self.values_of(&obs, n);
                let mut final_values = vec![0.0f32; batch];
                for (k, x) in &final_obs {
                    final_values[*k] = self.values_of(x, 1)[0];
                }
                let next = next_values(&values, &last, &final_values, &terminated, &truncated);
                let (adv, ret) = gae(&rewards, &values, &next, &terminated, &truncated, n, cfg.gae);
                b_values = Tensor::from_slice(&values).to_device(dev);
                b_adv = Tensor::from_slice(&adv).to_device(dev);
                b_ret = Tensor::from_slice(&ret).to_device(dev);
            }
            let perm = match cfg.algo {
                Algo::Ppo => Tensor::randperm(batch as i64, (Kind::Int64, dev)),
                Algo::A2c => Tensor::arange(batch as i64, (Kind::Int64, dev)),
            };
            for start in (0..batch).step_by(mb_size) {
                let len = mb_size.min(batch - start);
                let idx = perm.narrow(0, start as i64, len as i64);
                let pick = |t: &Tensor| t.index_select(0, &idx);
                let (mb_obs, mb_act, mb_logp) = (pick(&b_obs), pick(&b_actions), pick(&b_logp));
                let (mb_val, mb_adv, mb_ret) = (pick(&b_values), pick(&b_adv), pick(&b_ret));
                let split = NodeSplit::contiguous(len, self.opt.node_weights().len())?;
                let ac = &self.ac;
                // Each node's loss terms, summed into `sums` (α-weighted, in node order) once
                // the iteration went through.
                let mut terms: Vec<[Tensor; 3]> = Vec::with_capacity(split.nodes());
                let mut ratios: Vec<[f64; 2]> = Vec::with_capacity(split.nodes());
                self.opt.step_with(
                    &mut |node| {
                        let part = |t: &Tensor| split.slice(t, 0, node);
                        let o = part(&mb_obs);
                        let dist: Dist = ac.dist(&o);
                        let new_logp = dist.log_prob(&part(&mb_act));
                        let entropy = dist.entropy();
                        let new_values = ac.value(&o);
                        let inputs = LossInputs {
                            new_logprob: &new_logp,
                            old_logprob: &part(&mb_logp),
                            entropy: &entropy,
                            new_values: &new_values,
                            old_values: &part(&mb_val),
                            advantages: &part(&mb_adv),
                            returns: &part(&mb_ret),
                        };
                        let loss = match cfg.algo {
                            Algo::Ppo => PpoLoss::compute(&inputs, &loss_cfg),
                            Algo::A2c => a2c_loss(&inputs, &loss_cfg),
                        };
                        terms.push([loss.policy, loss.value, loss.entropy]);
                        ratios.push([loss.approx_kl, loss.clip_fraction]);
                        loss.total
                    },
                    &mut |_| match cfg.max_grad_norm {
                        Some(max) => {
                            clip_grad_norm(&self.vars, max, ClipArithmetic::HostCoefficient).map(drop)
                        }
                        None => Ok(()),
                    },
                )?;
                for (node, ([policy, value, entropy], [kl, clip])) in terms.iter().zip(&ratios).enumerate() {
                    let w = split.alpha().get(node);
                    for (s, v) in sums.iter_mut().zip([
                        policy.double_value(&[]),
                        value.double_value(&[]),
                        entropy.double_value(&[]),
                        *kl,
                        *clip,
                    ]) {
                        *s += w * v;
                    }
                }
                count += 1;
            }
        }
        self.state.update += 1;
        let new_eps = &self.episodes[first_episode..];
        let k = count.max(1) as f64;
        Ok(UpdateStats {
            global_step: self.state.global_step,
            policy_loss: sums[0] / k,
            value_loss: sums[1] / k,
            entropy: sums[2] / k,
            approx_kl: sums[3] / k,
            clip_fraction: sums[4] / k,
            explained_variance,
            steps_per_second: batch as f64 / start.elapsed().as_secs_f64(),
            train_return: new_eps.iter().map(|e| e.1).sum::<f64>() / new_eps.len() as f64,
            episodes: new_eps.len(),
            return_100: self.state.window.mean_return(),
            episode_length: self.state.window.mean_length(),
            action_std: self.ac.action_std(),
        })
    }

    /// The optimizer's current σ, ρ (PISA family) or learning rate, as metric names and values
    /// (`opt/sigma`, `opt/rho`, `opt/lr`): the values of its last iteration
    /// ([`decay::current_values`]).
    pub fn optimizer_values(&self) -> Vec<(&'static str, f64)> {
        decay::current_values(&self.built, self.opt.iteration().saturating_sub(1))
    }

    /// The last 100 finished training episodes (carried across resumes).
    pub fn episode_window(&self) -> &EpisodeWindow {
        &self.state.window
    }

    /// The best evaluation so far (carried across resumes).
    pub fn best_eval(&self) -> Option<EvalPoint> {
        self.state.best.get()
    }

    /// Records a mean evaluation return `eval_return` measured now; true when it is the best so
    /// far ([`BestEval::offer`]), i.e. when [`Trainer::save_best`] should be called.
    pub fn offer_eval(&mut self, eval_return: f64) -> bool {
        self.state.best.offer(self.state.global_step as u64, eval_return)
    }

    /// `eval_episodes` deterministic test episodes (seeds `seed + 1_000_000 + k`), through the
    /// frozen observation statistics.
    ///
    /// # Errors
    /// An environment error.
    pub fn evaluate(&self) -> Result<EvalStats, RlError> {
        Ok(evaluate(
            &self.ac,
            self.state.obs_norm.as_ref(),
            &self.cfg.env_id,
            self.cfg.backend,
            self.cfg.action_scaling,
            self.cfg.seed.wrapping_add(1_000_000),
            self.cfg.eval_episodes,
            self.device,
        )?)
    }

    /// A filmstrip of the policy: one deterministic test episode (the first evaluation seed),
    /// rendered `size` every 5th step, `frames` (at least 2) of those evenly spaced from the first
    /// to the last side by side, and the episode's return; `None` for a task that cannot draw
    /// itself.
    ///
    /// # Errors
    /// An environment error.
    pub fn filmstrip(
        &self,
        frames: usize,
        size: (u32, u32),
    ) -> Result<Option<(envs::render::Frame, f64)>, RlError> {
        let shot = crate::eval::record_episode(
            &self.ac,
            self.state.obs_norm.as_ref(),
            &self.cfg.env_id,
            self.cfg.backend,
            self.cfg.action_scaling,
            self.cfg.seed.wrapping_add(1_000_000),
            size,
            400,
            5,
            self.device,
        );
        match shot {
            Ok((shots, ret)) => {
                // `frames` evenly spaced from the first to the last (all of a shorter episode).
                let (n, k) = (shots.len(), frames.max(2));
                let picked: Vec<_> = match n <= k {
                    true => shots,
                    false => (0..k).map(|i| shots[i * (n - 1) / (k - 1)].clone()).collect(),
                };
                Ok(Some((envs::render::filmstrip(&picked, picked.len())?, ret)))
            }
            Err(EnvError::RenderUnsupported(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts fresh training episodes on every copy, seeded from `(seed, update)`; the checkpoint
    /// boundary of exact resume (see the module docs).
    ///
    /// # Errors
    /// An environment error.
    pub fn restart_episodes(&mut self) -> Result<(), RlError> {
        let seed = step_seed(self.cfg.seed ^ 0x5EED, self.state.update as u64) as u64 >> 1;
        let obs = self.envs.reset(Some(seed))?.obs;
        if let Some(s) = &mut self.state.reward_scaler {
            s.reset_returns();
        }
        self.observe(&obs)
    }

    /// Saves a checkpoint under `dir` (keeping the newest `keep`), then restarts the training
    /// episodes; returns the checkpoint's folder.
    ///
    /// # Errors
    /// A file-system, serialization or environment error.
    pub fn save(&mut self, dir: &Path, keep: usize) -> Result<PathBuf, RlError> {
        let path = checkpoint::save(dir, &self.vs, self.opt.as_ref(), &self.meta(), keep)?;
        self.restart_episodes()?;
        Ok(path)
    }

    /// Saves the policy as the best checkpoint `dir/best/` ([`checkpoint::save_best`]), replacing
    /// the previous one, without touching the training episodes (the run goes on as it would
    /// have without it). It holds what a step checkpoint holds, the settings (backend included)
    /// too, so `rl eval --checkpoint <run>/checkpoints/best` replays it; runs resume from the
    /// step checkpoints, not from it.
    ///
    /// # Errors
    /// A file-system or serialization error.
    pub fn save_best(&self, dir: &Path) -> Result<PathBuf, RlError> {
        Ok(checkpoint::save_best(
            dir,
            &self.vs,
            self.opt.as_ref(),
            &self.meta(),
        )?)
    }

    /// What a checkpoint records besides tensors: the step, the update counter, the training
    /// state and the settings.
    fn meta(&self) -> Meta {
        Meta {
            step: self.state.global_step as u64,
            seed: self.cfg.seed,
            rng: serde_json::json!({ "update": self.state.update }),
            extra: serde_json::json!({
                "progress": self.state,
                "config": self.cfg,
            }),
            ranks: 1,
        }
    }

    /// Restores the checkpoint at `path` (saved by a trainer built from the same settings), then
    /// restarts the training episodes as the saving run did.
    ///
    /// # Errors
    /// [`RlError::Checkpoint`] naming the file, or an environment error.
    pub fn resume(&mut self, path: &Path) -> Result<(), RlError> {
        let meta = checkpoint::load(path, &mut self.vs, self.opt.as_mut())?;
        let progress = meta.extra.get("progress").cloned().unwrap_or_default();
        self.state = serde_json::from_value(progress).map_err(|e| {
            RlError::Checkpoint(CheckpointError::Meta {
                path: path.join("meta.json"),
                message: format!("extra.progress: {e}"),
            })
        })?;
        if self.cfg.reset_optimizer {
            self.rebuild_optimizer(self.state.update)?;
        }
        self.restart_episodes()
    }
}

/// Trains `cfg` with `optimizer` on the CPU without logging or checkpoints; every update's
/// diagnostics and every training episode come back.
///
/// # Errors
/// As [`Trainer::new`] and [`Trainer::update`].
pub fn train(cfg: &RlConfig, optimizer: &OptimizerConfig) -> Result<TrainReport, RlError> {
    let mut trainer = Trainer::new(cfg, optimizer, Device::Cpu)?;
    let mut report = TrainReport::default();
    while !trainer.done() {
        report.updates.push(trainer.update()?);
    }
    report.episodes = std::mem::take(&mut trainer.episodes);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runs::registry::Registry;

    fn adam() -> OptimizerConfig {
        Registry::builtin()
            .resolve("default", "adam", &toml::Table::new())
            .unwrap()
    }

    #[test]
    fn a_minibatch_smaller_than_the_nodes_is_refused() {
        let cfg = RlConfig {
            batch_size: Some(1),
            num_envs: 1,
            num_steps: 2,
            ..RlConfig::for_task(Algo::Ppo, "CartPole-v1")
        };
        let sisa = Registry::builtin()
            .resolve("default", "sisa", &toml::Table::new())
            .unwrap();
        let err = Trainer::new(&cfg, &sisa, Device::Cpu).err().expect("2 < 4 nodes");
        assert!(
            matches!(
                err,
                RlError::Config {
                    name: "batch_size",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn domains_name_algo_and_task() {
        let d = |algo, id: &str| RlConfig::for_task(algo, id).domain();
        assert_eq!(d(Algo::Ppo, "humanoid"), "ppo-humanoid");
        assert_eq!(d(Algo::Ppo, "Ant-v5"), "ppo-ant");
        assert_eq!(d(Algo::A2c, "HalfCheetah-v5"), "a2c-halfcheetah");
        assert_eq!(
            d(Algo::A2c, "inverted_double_pendulum"),
            "a2c-inverteddoublependulum"
        );
    }

    /// Whether two optimizer states hold the same scalars and the same tensors, bit for bit.
    fn same_state(a: &pisa_core::OptimizerState, b: &pisa_core::OptimizerState) -> bool {
        a.scalars == b.scalars
            && a.tensors.len() == b.tensors.len()
            && a.tensors
                .iter()
                .zip(&b.tensors)
                .all(|((na, ta), (nb, tb))| na == nb && ta.equal(tb))
    }

    /// The largest |x| over the state tensors whose name starts with `prefix` (π_i: `pi.`, v_i:
    /// `v.`).
    fn max_abs(state: &pisa_core::OptimizerState, prefix: &str) -> f64 {
        let picked: Vec<f64> = state
            .tensors
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, t)| t.abs().max().double_value(&[]))
            .collect();
        assert!(!picked.is_empty(), "no `{prefix}*` tensors");
        picked.into_iter().fold(0.0, f64::max)
    }

    /// `reset_optimizer`: before the first iteration of the next update, SISA's per-node state
    /// (π_i, v_i, the bias counter) is that of a freshly built optimizer at the current weights,
    /// and σ, ρ are the authors' values for the decayed lr of that update; kept, the state is the
    /// last update's. Rollouts of 2 × 32 in minibatches of 4 nodes × 8, 2 epochs: 4 iterations
    /// per update, 4 updates.
    #[test]
    fn reset_rebuilds_the_optimizer_state_at_every_update_and_keep_carries_it() {
        tch::set_num_threads(1);
        let sisa = Registry::builtin()
            .resolve("default", "sisa", &"sigma = 1.0\nlr = 1e-3".parse().unwrap())
            .unwrap();
        let base = RlConfig {
            num_envs: 2,
            num_steps: 32,
            total_steps: 256,
            update_epochs: 2,
            batch_size: Some(8),
            lr_decay: true,
            ..RlConfig::for_task(Algo::Ppo, "Pendulum-v1")
        };
        assert_eq!((base.updates(), Trainer::iterations_per_update(&base, 4)), (4, 4));
        for reset in [true, false] {
            let cfg = RlConfig {
                reset_optimizer: reset,
                ..base.clone()
            };
            let mut t = Trainer::new(&cfg, &sisa, Device::Cpu).unwrap();
            t.update().unwrap();
            let after = t.opt.state().unwrap();
            assert_eq!(after.scalars["iteration"], 4);
            assert!(max_abs(&after, "pi.") > 0.0 && max_abs(&after, "v.") > 0.0);
            // What update 1 does before its first iteration.
            t.begin_update().unwrap();
            let start = t.opt.state().unwrap();
            let fresh = t.built.build(&t.vs).unwrap().state().unwrap();
            if reset {
                assert!(same_state(&start, &fresh), "reset: a fresh optimizer's state");
                assert_eq!(start.scalars["iteration"], 0, "bias counter restarted");
                assert_eq!((max_abs(&start, "pi."), max_abs(&start, "v.")), (0.0, 0.0));
                // Update 1 of 4: r = 0.75, σ = 1/0.75, ρ = 999/0.75, held for the update.
                for t_iter in [0, 3] {
                    let v = decay::current_values(&t.built, t_iter);
                    assert!((v[0].1 - 1.0 / 0.75).abs() < 1e-12, "{v:?}");
                    assert!((v[1].1 - 999.0 / 0.75).abs() < 1e-9, "{v:?}");
                }
                // Idempotent: update() rebuilds again, to the same state.
                t.begin_update().unwrap();
                assert!(same_state(&t.opt.state().unwrap(), &fresh));
            } else {
                assert!(same_state(&start, &after), "keep: the last update's state");
                assert!(!same_state(&start, &fresh));
                // The decay runs over the run's 16 iterations: at iteration 4, r = 0.75 too.
                let v = decay::current_values(&t.built, 4);
                assert!((v[0].1 - 1.0 / 0.75).abs() < 1e-12, "{v:?}");
            }
            t.update().unwrap();
            let counter = t.opt.state().unwrap().scalars["iteration"].as_u64();
            assert_eq!(counter, Some(if reset { 4 } else { 8 }));
        }
    }

    #[test]
    fn explained_variance_closed_form() {
        // y = [1, 2, 3], ŷ = [1, 2, 2]: Var(y) = 2/3, Var(y − ŷ) = Var([0, 0, 1]) = 2/9 → 2/3.
        let ev = explained_variance(&[1.0, 2.0, 2.0], &[1.0, 2.0, 3.0]);
        assert!((ev - 2.0 / 3.0).abs() < 1e-12, "{ev}");
        assert!(explained_variance(&[0.0, 1.0], &[1.0, 1.0]).is_nan());
    }

    /// Pendulum with normalization and reward scaling on: the Gaussian path runs two updates, the
    /// diagnostics are finite, the first updates stay near the old policy (small KL).
    #[test]
    fn gaussian_updates_on_pendulum() {
        let cfg = RlConfig {
            num_envs: 2,
            num_steps: 32,
            total_steps: 128,
            update_epochs: 2,
            batch_size: Some(16),
            norm_obs: true,
            scale_reward: true,
            ..RlConfig::for_task(Algo::Ppo, "Pendulum-v1")
        };
        let report = train(&cfg, &adam()).unwrap();
        assert_eq!(report.updates.len(), 2);
        let u = report.updates[1];
        assert_eq!(u.global_step, 128);
        for x in [
            u.policy_loss,
            u.value_loss,
            u.entropy,
            u.approx_kl,
            u.clip_fraction,
        ] {
            assert!(x.is_finite(), "{u:?}");
        }
        // σ = 1 at the start: the entropy of a 1-d Gaussian is ½ log(2πe) ≈ 1.419, barely moved.
        assert!((u.entropy - 1.4189).abs() < 0.05, "{u:?}");
        assert!(u.approx_kl.abs() < 0.1, "{u:?}");
    }
}
