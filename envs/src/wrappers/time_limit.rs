//! [`TimeLimit`]: truncation after a fixed number of steps.

use super::wrapper_access;
use crate::env::{Env, Reset, Step};
use crate::error::Result;
use crate::space::{Action, Space};

/// Gymnasium's `TimeLimit`: sets `truncated` on the step that brings the number of steps since the last
/// reset to `max_episode_steps` (and on any step after it). `terminated` is passed through, so a step can
/// be both terminated and truncated, as in Gymnasium.
#[derive(Clone, Debug)]
pub struct TimeLimit<E> {
    env: E,
    max_episode_steps: u64,
    elapsed_steps: u64,
}

wrapper_access!(TimeLimit);

impl<E: Env> TimeLimit<E> {
    /// Wraps `env`. A limit of 0 truncates every step, as Gymnasium's `elapsed >= max` does.
    pub fn new(env: E, max_episode_steps: u64) -> Self {
        Self {
            env,
            max_episode_steps,
            elapsed_steps: 0,
        }
    }

    /// The limit.
    pub fn max_episode_steps(&self) -> u64 {
        self.max_episode_steps
    }

    /// Steps taken since the last reset.
    pub fn elapsed_steps(&self) -> u64 {
        self.elapsed_steps
    }
}

impl<E: Env> Env for TimeLimit<E> {
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
        let r = self.env.reset(seed)?;
        self.elapsed_steps = 0;
        Ok(r)
    }

    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        let mut s = self.env.step(action)?;
        self.elapsed_steps += 1;
        if self.elapsed_steps >= self.max_episode_steps {
            s.truncated = true;
        }
        Ok(s)
    }
}
