//! Deterministic evaluation: k test episodes with the policy's mode (μ or arg-max), on copies
//! of the task seeded apart from the training copies, through the frozen observation statistics.

use super::action::ScaleAction;
use super::normalize::ObsNormalizer;
use super::policy::{ActionHead, ActorCritic};
use envs::{make_env, Action, Backend, Env, EnvError};
use tch::{Device, Tensor};

/// Mean and spread of the test episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalStats {
    /// Undiscounted return of each episode, in episode order.
    pub returns: Vec<f64>,
    /// Length of each episode.
    pub lengths: Vec<u64>,
}

impl EvalStats {
    /// Mean return.
    pub fn mean(&self) -> f64 {
        self.returns.iter().sum::<f64>() / self.returns.len().max(1) as f64
    }

    /// Population standard deviation of the returns.
    pub fn std(&self) -> f64 {
        let m = self.mean();
        (self.returns.iter().map(|r| (r - m).powi(2)).sum::<f64>() / self.returns.len().max(1) as f64).sqrt()
    }

    /// Mean episode length.
    pub fn mean_length(&self) -> f64 {
        self.lengths.iter().sum::<u64>() as f64 / self.lengths.len().max(1) as f64
    }
}

/// The deterministic action of `ac` for one observation (already normalized).
pub fn act(ac: &ActorCritic, obs: &[f32], device: Device) -> Vec<f64> {
    let t = Tensor::from_slice(obs).view([1, -1]).to_device(device);
    let a = tch::no_grad(|| ac.dist(&t).mode()).to_device(Device::Cpu);
    match ac.head() {
        ActionHead::Categorical(_) => vec![a.int64_value(&[0]) as f64],
        ActionHead::Gaussian(_) => {
            Vec::<f64>::try_from(a.reshape([-1]).to_kind(tch::Kind::Double)).expect("Float actions")
        }
    }
}

/// Steps `env` once with `action` as [`act`] gives it (discrete index or continuous vector,
/// clipped to the action box).
///
/// # Errors
/// The environment's error.
pub fn step_with(env: &mut dyn Env, action: &[f64]) -> Result<envs::Step, EnvError> {
    match env.action_space().discrete_n() {
        Some(_) => env.step(Action::Discrete(action[0] as usize)),
        None => {
            let a = clip_to_box(env, action);
            env.step(Action::Continuous(&a))
        }
    }
}

fn clip_to_box(env: &dyn Env, action: &[f64]) -> Vec<f32> {
    match env.action_space() {
        envs::Space::Box { low, high, .. } => action
            .iter()
            .zip(low.iter().zip(high))
            .map(|(a, (l, h))| (*a as f32).clamp(*l as f32, *h as f32))
            .collect(),
        envs::Space::Discrete(_) => action.iter().map(|&a| a as f32).collect(),
    }
}

/// `env_id` on `backend` seeded `seed`, its actions mapped from [−1, 1] onto the box when
/// `action_scaling` ([`ScaleAction`]) as the policy was trained.
fn make_eval_env(
    env_id: &str,
    backend: Backend,
    action_scaling: bool,
    seed: u64,
) -> Result<Box<dyn Env>, EnvError> {
    let env = make_env(env_id, backend, seed)?;
    match action_scaling && env.action_space().discrete_n().is_none() {
        true => Ok(Box::new(ScaleAction::new(env)?)),
        false => Ok(env),
    }
}

/// Runs `episodes` deterministic episodes of `env_id`, episode k on a copy seeded `seed + k`;
/// `action_scaling` as [`crate::RlConfig::action_scaling`].
///
/// # Errors
/// An environment error.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    ac: &ActorCritic,
    norm: Option<&ObsNormalizer>,
    env_id: &str,
    backend: Backend,
    action_scaling: bool,
    seed: u64,
    episodes: usize,
    device: Device,
) -> Result<EvalStats, EnvError> {
    let mut stats = EvalStats {
        returns: Vec::with_capacity(episodes),
        lengths: Vec::with_capacity(episodes),
    };
    for k in 0..episodes as u64 {
        let mut env = make_eval_env(env_id, backend, action_scaling, seed.wrapping_add(k))?;
        let mut obs = env.reset(Some(seed.wrapping_add(k)))?.obs;
        let (mut ret, mut len) = (0.0, 0u64);
        loop {
            let x = match norm {
                Some(n) => n.apply(&obs)?,
                None => obs.iter().map(|&v| v as f32).collect(),
            };
            let step = step_with(env.as_mut(), &act(ac, &x, device))?;
            ret += step.reward;
            len += 1;
            if step.terminated || step.truncated {
                break;
            }
            obs = step.obs;
        }
        stats.returns.push(ret);
        stats.lengths.push(len);
    }
    Ok(stats)
}

/// Frames (`width × height`) of one deterministic episode of `env_id` seeded `seed`: the start
/// and every `stride`-th step after it, at most `max_frames` of them, and the episode's return;
/// `action_scaling` as [`crate::RlConfig::action_scaling`].
///
/// # Errors
/// An environment error, [`EnvError::RenderUnsupported`] for a task that cannot draw itself.
#[allow(clippy::too_many_arguments)]
pub fn record_episode(
    ac: &ActorCritic,
    norm: Option<&ObsNormalizer>,
    env_id: &str,
    backend: Backend,
    action_scaling: bool,
    seed: u64,
    size: (u32, u32),
    max_frames: usize,
    stride: usize,
    device: Device,
) -> Result<(Vec<envs::render::Frame>, f64), EnvError> {
    let mut env = make_eval_env(env_id, backend, action_scaling, seed)?;
    let mut obs = env.reset(Some(seed))?.obs;
    let mut frames = vec![env.render(size.0, size.1)?];
    let mut ret = 0.0;
    for t in 1usize.. {
        let x = match norm {
            Some(n) => n.apply(&obs)?,
            None => obs.iter().map(|&v| v as f32).collect(),
        };
        let step = step_with(env.as_mut(), &act(ac, &x, device))?;
        ret += step.reward;
        if frames.len() < max_frames && t % stride.max(1) == 0 {
            frames.push(env.render(size.0, size.1)?);
        }
        if step.terminated || step.truncated {
            break;
        }
        obs = step.obs;
    }
    Ok((frames, ret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_std() {
        let s = EvalStats {
            returns: vec![1.0, 3.0],
            lengths: vec![10, 20],
        };
        assert_eq!((s.mean(), s.std(), s.mean_length()), (2.0, 1.0, 15.0));
    }
}
