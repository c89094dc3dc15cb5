//! [`RecordEpisodeStatistics`]: episode return, length and duration in the info.

use std::collections::VecDeque;
use std::time::Instant;

use super::wrapper_access;
use crate::env::{Env, EpisodeStats, Reset, Step};
use crate::error::Result;
use crate::space::{Action, Space};

/// Gymnasium's `RecordEpisodeStatistics`: on the step that ends an episode (`terminated || truncated`)
/// sets `info.episode` to the return (sum of rewards), length and wall-clock duration since the reset,
/// and keeps the last `buffer_length` of each in queues. Resetting clears the running sums.
///
/// An `info.episode` set by an inner copy of this wrapper is overwritten (Gymnasium asserts instead).
#[derive(Clone, Debug)]
pub struct RecordEpisodeStatistics<E> {
    env: E,
    episode_return: f64,
    episode_length: u64,
    episode_start: Instant,
    episode_count: u64,
    buffer_length: usize,
    return_queue: VecDeque<f64>,
    length_queue: VecDeque<u64>,
    time_queue: VecDeque<f64>,
}

wrapper_access!(RecordEpisodeStatistics);

impl<E: Env> RecordEpisodeStatistics<E> {
    /// Wraps `env` with Gymnasium's default queue length of 100.
    pub fn new(env: E) -> Self {
        Self::with_buffer_length(env, 100)
    }

    /// Wraps `env`, keeping the statistics of the last `buffer_length` episodes.
    pub fn with_buffer_length(env: E, buffer_length: usize) -> Self {
        Self {
            env,
            episode_return: 0.0,
            episode_length: 0,
            episode_start: Instant::now(),
            episode_count: 0,
            buffer_length,
            return_queue: VecDeque::with_capacity(buffer_length),
            length_queue: VecDeque::with_capacity(buffer_length),
            time_queue: VecDeque::with_capacity(buffer_length),
        }
    }

    /// Episodes finished since the wrapper was built.
    pub fn episode_count(&self) -> u64 {
        self.episode_count
    }

    /// Returns of the last finished episodes, oldest first.
    pub fn return_queue(&self) -> &VecDeque<f64> {
        &self.return_queue
    }

    /// Lengths of the last finished episodes, oldest first.
    pub fn length_queue(&self) -> &VecDeque<u64> {
        &self.length_queue
    }

    /// Durations (s) of the last finished episodes, oldest first.
    pub fn time_queue(&self) -> &VecDeque<f64> {
        &self.time_queue
    }

    fn push<T>(queue: &mut VecDeque<T>, cap: usize, x: T) {
        if cap == 0 {
            return;
        }
        if queue.len() == cap {
            queue.pop_front();
        }
        queue.push_back(x);
    }
}

impl<E: Env> Env for RecordEpisodeStatistics<E> {
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
        self.episode_start = Instant::now();
        self.episode_return = 0.0;
        self.episode_length = 0;
        Ok(r)
    }

    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        let mut s = self.env.step(action)?;
        self.episode_return += s.reward;
        self.episode_length += 1;
        if s.done() {
            let duration_s = (self.episode_start.elapsed().as_secs_f64() * 1e6).round() / 1e6;
            s.info.episode = Some(EpisodeStats {
                episode_return: self.episode_return,
                length: self.episode_length,
                duration_s,
            });
            let cap = self.buffer_length;
            Self::push(&mut self.return_queue, cap, self.episode_return);
            Self::push(&mut self.length_queue, cap, self.episode_length);
            Self::push(&mut self.time_queue, cap, duration_s);
            self.episode_count += 1;
            self.episode_start = Instant::now();
        }
        Ok(s)
    }
}
