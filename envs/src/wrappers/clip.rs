//! Clipping wrappers: actions into the action space, observations and rewards into fixed bounds.

use super::wrapper_access;
use crate::env::{Env, Reset, Step};
use crate::error::{EnvError, Result};
use crate::space::{Action, Space};

/// Gymnasium's `ClipAction`: clips each component of a continuous action into the wrapped environment's
/// `[low, high]` before stepping, and advertises an unbounded action box (any finite action is valid).
/// NaN and ±∞ are still rejected by the wrapped environment.
#[derive(Clone, Debug)]
pub struct ClipAction<E> {
    env: E,
    low: Vec<f32>,
    high: Vec<f32>,
    action_space: Space,
    buf: Vec<f32>,
}

wrapper_access!(ClipAction);

impl<E: Env> ClipAction<E> {
    /// Wraps `env`.
    ///
    /// # Errors
    /// [`EnvError::IncompatibleSpace`] unless the action space is a box.
    pub fn new(env: E) -> Result<Self> {
        let Space::Box { low, high, .. } = env.action_space() else {
            return Err(EnvError::IncompatibleSpace {
                wrapper: "ClipAction",
                env: env.id().to_string(),
                reason: "its action space is discrete, not a box".into(),
            });
        };
        let (low, high): (Vec<f32>, Vec<f32>) = (
            low.iter().map(|&x| x as f32).collect(),
            high.iter().map(|&x| x as f32).collect(),
        );
        let action_space = env.action_space().to_unbounded();
        Ok(Self {
            buf: Vec::with_capacity(low.len()),
            low,
            high,
            action_space,
            env,
        })
    }
}

impl<E: Env> Env for ClipAction<E> {
    fn id(&self) -> &str {
        self.env.id()
    }
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        self.env.reset(seed)
    }

    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        self.action_space.validate_action(action, self.env.id())?;
        let Action::Continuous(a) = action else {
            unreachable!("validate_action checked a continuous action")
        };
        self.buf.clear();
        self.buf.extend(
            a.iter()
                .zip(self.low.iter().zip(&self.high))
                .map(|(&x, (&l, &h))| x.max(l).min(h)),
        );
        let buf = std::mem::take(&mut self.buf);
        let out = self.env.step(Action::Continuous(&buf));
        self.buf = buf;
        out
    }
}

/// Gymnasium's `ClipObservation`: clips every observation component into `[low, high]`.
#[derive(Clone, Debug)]
pub struct ClipObservation<E> {
    env: E,
    low: f64,
    high: f64,
    observation_space: Space,
}

wrapper_access!(ClipObservation);

impl<E: Env> ClipObservation<E> {
    /// Wraps `env`, clipping into `[low, high]` (the observation space is intersected with it).
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] unless `low ≤ high` (and neither is NaN);
    /// [`EnvError::IncompatibleSpace`] unless the observation space is a box.
    pub fn new(env: E, low: f64, high: f64) -> Result<Self> {
        if low.is_nan() || high.is_nan() || low > high {
            return Err(EnvError::InvalidParameter {
                name: "ClipObservation bounds",
                value: format!("[{low}, {high}]"),
                reason: "need low ≤ high".into(),
            });
        }
        let Space::Box {
            low: l,
            high: h,
            shape,
            dtype,
        } = env.observation_space()
        else {
            return Err(EnvError::IncompatibleSpace {
                wrapper: "ClipObservation",
                env: env.id().to_string(),
                reason: "its observation space is discrete, not a box".into(),
            });
        };
        let observation_space = Space::Box {
            low: l.iter().map(|&x| x.clamp(low, high)).collect(),
            high: h.iter().map(|&x| x.clamp(low, high)).collect(),
            shape: shape.clone(),
            dtype: *dtype,
        };
        Ok(Self {
            env,
            low,
            high,
            observation_space,
        })
    }

    fn clip(&self, mut obs: Vec<f64>) -> Vec<f64> {
        obs.iter_mut().for_each(|x| *x = x.clamp(self.low, self.high));
        obs
    }
}

impl<E: Env> Env for ClipObservation<E> {
    fn id(&self) -> &str {
        self.env.id()
    }
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        let r = self.env.reset(seed)?;
        Ok(Reset {
            obs: self.clip(r.obs),
            info: r.info,
        })
    }

    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        let s = self.env.step(action)?;
        Ok(Step {
            obs: self.clip(s.obs),
            ..s
        })
    }
}

/// Gymnasium's `ClipReward`: clips every reward into `[min, max]`.
#[derive(Clone, Debug)]
pub struct ClipReward<E> {
    env: E,
    min: f64,
    max: f64,
}

wrapper_access!(ClipReward);

impl<E: Env> ClipReward<E> {
    /// Wraps `env`, clipping rewards into `[min, max]`.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] unless `min ≤ max` (and neither is NaN).
    pub fn new(env: E, min: f64, max: f64) -> Result<Self> {
        if min.is_nan() || max.is_nan() || min > max {
            return Err(EnvError::InvalidParameter {
                name: "ClipReward bounds",
                value: format!("[{min}, {max}]"),
                reason: "need min ≤ max".into(),
            });
        }
        Ok(Self { env, min, max })
    }
}

impl<E: Env> Env for ClipReward<E> {
    fn id(&self) -> &str {
        self.env.id()
    }
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        self.env.reset(seed)
    }

    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        let s = self.env.step(action)?;
        Ok(Step {
            reward: s.reward.clamp(self.min, self.max),
            ..s
        })
    }
}
