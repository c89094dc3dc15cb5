//! A PPO training loop in CleanRL's shape: seed → env → storage → rollout → GAE → epochs → log.
//!
//! First increment: no observation normalization, reward scaling, learning-rate decay, evaluation
//! or checkpoints yet (issue 5). Any registry optimizer drives the update; an optimizer with m
//! nodes (the PISA family) gets each minibatch split into m contiguous node batches
//! ([`NodeSplit`]), each node's loss computed on its own slice (advantages normalized per node
//! batch).

use super::gae::{gae, next_values, GaeConfig};
use super::policy::{ActionHead, ActorCritic, Dist, PolicyConfig};
use super::ppo::{LossInputs, PpoLoss, PpoLossConfig};
use crate::nodes::{NodeSplit, SplitError};
use envs::wrappers::{ClipAction, RecordEpisodeStatistics};
use envs::{make_env, AutoresetMode, Backend, BatchAction, Env, EnvError, SyncVectorEnv};
use pisa_core::OptimizerConfig;
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
    /// An invalid setting.
    #[error("invalid PPO setting `{name}`: {reason}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// PPO training settings; defaults are CleanRL's `ppo.py` (CartPole).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PpoConfig {
    /// Gymnasium id of the task; default `CartPole-v1`.
    pub env_id: String,
    /// Seed of the environments (copy i gets seed + i) and of torch's generator; default 1.
    pub seed: u64,
    /// Number of parallel environments N; default 4.
    pub num_envs: usize,
    /// Rollout length T per environment and update; default 128.
    pub num_steps: usize,
    /// Total environment steps; default 500,000.
    pub total_steps: usize,
    /// Epochs K over each rollout; default 4.
    pub update_epochs: usize,
    /// Minibatches per epoch; must divide T·N; default 4.
    pub num_minibatches: usize,
    /// Gradient-norm clipping (per node gradient), `None` for none; default `Some(0.5)`.
    pub max_grad_norm: Option<f64>,
    /// γ and λ.
    pub gae: GaeConfig,
    /// Loss coefficients.
    pub loss: PpoLossConfig,
    /// Network sizes.
    pub policy: PolicyConfig,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            env_id: "CartPole-v1".into(),
            seed: 1,
            num_envs: 4,
            num_steps: 128,
            total_steps: 500_000,
            update_epochs: 4,
            num_minibatches: 4,
            max_grad_norm: Some(0.5),
            gae: GaeConfig::default(),
            loss: PpoLossConfig::default(),
            policy: PolicyConfig::default(),
        }
    }
}

/// What a training run produced.
#[derive(Debug, Clone, Default)]
pub struct PpoReport {
    /// `(global step, episode return)` of every finished training episode, in order.
    pub episodes: Vec<(usize, f64)>,
    /// Per update: the mean of the last minibatch losses, approx. KL and clip fraction.
    pub updates: Vec<UpdateStats>,
}

impl PpoReport {
    /// Mean return of the last `k` finished episodes (NaN if none finished).
    pub fn mean_last_returns(&self, k: usize) -> f64 {
        let tail = &self.episodes[self.episodes.len().saturating_sub(k)..];
        tail.iter().map(|e| e.1).sum::<f64>() / tail.len() as f64
    }
}

/// Diagnostics of one update (the last minibatch of the last epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateStats {
    /// Global step at the update.
    pub global_step: usize,
    /// Policy loss L_clip.
    pub policy_loss: f64,
    /// Value loss L_V.
    pub value_loss: f64,
    /// Mean entropy.
    pub entropy: f64,
    /// Approximate KL.
    pub approx_kl: f64,
    /// Clip fraction.
    pub clip_fraction: f64,
}

type Envs = SyncVectorEnv<Box<dyn Env>>;

fn make_envs(cfg: &PpoConfig) -> Result<Envs, RlError> {
    let envs = (0..cfg.num_envs as u64)
        .map(|i| {
            let env = make_env(&cfg.env_id, Backend::Auto, cfg.seed + i)?;
            let env: Box<dyn Env> = if env.action_space().discrete_n().is_some() {
                env
            } else {
                Box::new(ClipAction::new(env)?)
            };
            Ok(Box::new(RecordEpisodeStatistics::new(env)) as Box<dyn Env>)
        })
        .collect::<Result<Vec<_>, RlError>>()?;
    Ok(SyncVectorEnv::new(envs, AutoresetMode::SameStep)?)
}

fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

/// Scales the gradients of `vars` so that their global L2 norm is at most `max_norm`.
fn clip_grad_norm(vars: &[Tensor], max_norm: f64) {
    tch::no_grad(|| {
        let grads: Vec<Tensor> = vars.iter().map(Tensor::grad).filter(Tensor::defined).collect();
        let total: f64 = grads
            .iter()
            .map(|g| g.square().sum(Kind::Double).double_value(&[]))
            .sum::<f64>()
            .sqrt();
        if total > max_norm {
            let scale = max_norm / (total + 1e-6);
            for mut g in grads {
                let _ = g.g_mul_scalar_(scale);
            }
        }
    });
}

/// Trains PPO under `cfg` with the optimizer `optimizer` on the CPU.
///
/// # Errors
/// [`RlError::Config`] for settings that do not fit together, else an environment, optimizer or
/// split error.
pub fn train_ppo(cfg: &PpoConfig, optimizer: &OptimizerConfig) -> Result<PpoReport, RlError> {
    let batch = cfg.num_envs * cfg.num_steps;
    if batch == 0 || cfg.num_minibatches == 0 || batch % cfg.num_minibatches != 0 {
        return Err(RlError::Config {
            name: "num_minibatches",
            reason: format!("must divide num_envs·num_steps = {batch}"),
        });
    }
    let mb_size = batch / cfg.num_minibatches;
    let (n, t_len) = (cfg.num_envs, cfg.num_steps);

    // seed
    tch::manual_seed(cfg.seed as i64);
    // env
    let mut envs = make_envs(cfg)?;
    let obs_dim = envs.single_observation_space().flat_dim();
    let head = ActionHead::for_space(envs.single_action_space());
    let vs = VarStore::new(Device::Cpu);
    let ac = ActorCritic::new(&vs.root(), obs_dim, head, &cfg.policy);
    let mut opt = optimizer.build(&vs)?;
    let split = NodeSplit::contiguous(mb_size, opt.node_weights().len())?;
    let vars = vs.trainable_variables();

    // storage
    let mut report = PpoReport::default();
    let mut obs = to_f32(&envs.reset(Some(cfg.seed))?.obs);
    let mut global_step = 0usize;
    while global_step + batch <= cfg.total_steps.max(batch) {
        let mut b_obs: Vec<f32> = Vec::with_capacity(batch * obs_dim);
        let mut b_actions: Vec<Tensor> = Vec::with_capacity(t_len);
        let mut b_logp: Vec<Tensor> = Vec::with_capacity(t_len);
        let mut values: Vec<f32> = Vec::with_capacity(batch);
        let mut rewards: Vec<f32> = Vec::with_capacity(batch);
        let mut terminated: Vec<bool> = Vec::with_capacity(batch);
        let mut truncated: Vec<bool> = Vec::with_capacity(batch);
        let mut final_values = vec![0.0f32; batch];

        // rollout
        for _ in 0..t_len {
            let obs_t = Tensor::from_slice(&obs).view([n as i64, obs_dim as i64]);
            let (action, logp, value) = tch::no_grad(|| {
                let dist = ac.dist(&obs_t);
                let a = dist.sample();
                let lp = dist.log_prob(&a);
                (a, lp, ac.value(&obs_t))
            });
            let step = match head {
                ActionHead::Categorical(_) => {
                    let a: Vec<i64> = Vec::try_from(&action).expect("Int64 actions");
                    let a: Vec<usize> = a.into_iter().map(|x| x as usize).collect();
                    envs.step(BatchAction::Discrete(&a))?
                }
                ActionHead::Gaussian(_) => {
                    let a: Vec<f32> = Vec::try_from(action.reshape([-1])).expect("Float actions");
                    envs.step(BatchAction::Continuous(&a))?
                }
            };
            global_step += n;
            b_obs.extend_from_slice(&obs);
            b_actions.push(action);
            b_logp.push(logp);
            values.extend(Vec::<f32>::try_from(&value).expect("Float values"));
            rewards.extend(step.rewards.iter().map(|&r| r as f32));
            terminated.extend_from_slice(&step.terminated);
            truncated.extend_from_slice(&step.truncated);
            let base = values.len() - n;
            for (i, fin) in step.final_obs.iter().enumerate() {
                if let (Some(fin), true) = (fin, step.truncated[i]) {
                    let t = Tensor::from_slice(&to_f32(fin)).view([1, obs_dim as i64]);
                    final_values[base + i] = tch::no_grad(|| ac.value(&t)).double_value(&[0]) as f32;
                }
            }
            for (_, ep) in step.episodes() {
                report.episodes.push((global_step, ep.episode_return));
            }
            obs = to_f32(&step.obs);
        }

        // GAE
        let last = tch::no_grad(|| ac.value(&Tensor::from_slice(&obs).view([n as i64, obs_dim as i64])));
        let last: Vec<f32> = Vec::try_from(&last).expect("Float values");
        let next = next_values(&values, &last, &final_values, &terminated, &truncated);
        let (adv, ret) = gae(&rewards, &values, &next, &terminated, &truncated, n, cfg.gae);

        let b_obs = Tensor::from_slice(&b_obs).view([batch as i64, obs_dim as i64]);
        let b_actions = Tensor::cat(&b_actions, 0);
        let b_logp = Tensor::cat(&b_logp, 0);
        let b_values = Tensor::from_slice(&values);
        let b_adv = Tensor::from_slice(&adv);
        let b_ret = Tensor::from_slice(&ret);

        // epochs
        let mut last_stats = None;
        for _ in 0..cfg.update_epochs {
            let perm = Tensor::randperm(batch as i64, (Kind::Int64, Device::Cpu));
            for mb in 0..cfg.num_minibatches {
                let idx = perm.narrow(0, (mb * mb_size) as i64, mb_size as i64);
                let pick = |t: &Tensor| t.index_select(0, &idx);
                let (mb_obs, mb_act, mb_logp) = (pick(&b_obs), pick(&b_actions), pick(&b_logp));
                let (mb_val, mb_adv, mb_ret) = (pick(&b_values), pick(&b_adv), pick(&b_ret));
                opt.begin_iteration()?;
                for node in 0..split.nodes() {
                    let part = |t: &Tensor| split.slice(t, 0, node);
                    let o = part(&mb_obs);
                    let dist: Dist = ac.dist(&o);
                    let new_logp = dist.log_prob(&part(&mb_act));
                    let entropy = dist.entropy();
                    let new_values = ac.value(&o);
                    let loss = PpoLoss::compute(
                        &LossInputs {
                            new_logprob: &new_logp,
                            old_logprob: &part(&mb_logp),
                            entropy: &entropy,
                            new_values: &new_values,
                            old_values: &part(&mb_val),
                            advantages: &part(&mb_adv),
                            returns: &part(&mb_ret),
                        },
                        &cfg.loss,
                    );
                    opt.zero_grad()?;
                    loss.total.backward();
                    if let Some(max) = cfg.max_grad_norm {
                        clip_grad_norm(&vars, max);
                    }
                    if let Err(e) = opt.node_step(node) {
                        opt.abort_iteration();
                        return Err(e.into());
                    }
                    last_stats = Some(UpdateStats {
                        global_step,
                        policy_loss: loss.policy.double_value(&[]),
                        value_loss: loss.value.double_value(&[]),
                        entropy: loss.entropy.double_value(&[]),
                        approx_kl: loss.approx_kl,
                        clip_fraction: loss.clip_fraction,
                    });
                }
                opt.end_iteration()?;
            }
        }
        // log
        report.updates.extend(last_stats);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn adam() -> OptimizerConfig {
        Registry::builtin()
            .resolve("default", "adam", &toml::Table::new())
            .unwrap()
    }

    #[test]
    fn minibatches_must_divide_the_batch() {
        let cfg = PpoConfig {
            num_minibatches: 3,
            ..PpoConfig::default()
        };
        let err = train_ppo(&cfg, &adam()).unwrap_err();
        assert!(
            matches!(
                err,
                RlError::Config {
                    name: "num_minibatches",
                    ..
                }
            ),
            "{err}"
        );
    }

    /// One update on Pendulum (Box actions): the Gaussian path runs, the diagnostics are finite and
    /// the first update stays near the old policy (small KL).
    #[test]
    fn one_gaussian_update_on_pendulum() {
        let cfg = PpoConfig {
            env_id: "Pendulum-v1".into(),
            num_envs: 2,
            num_steps: 32,
            total_steps: 64,
            ..PpoConfig::default()
        };
        let report = train_ppo(&cfg, &adam()).unwrap();
        assert_eq!(report.updates.len(), 1);
        let u = report.updates[0];
        assert_eq!(u.global_step, 64);
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
