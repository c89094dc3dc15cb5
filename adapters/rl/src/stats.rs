//! Bookkeeping across updates that a checkpoint carries, so that a resumed run logs what an
//! uninterrupted one would:
//! - [`EpisodeWindow`]: the last 100 finished training episodes (return and length), whose means
//!   are `train/return_100` and `train/episode_length` (Stable-Baselines3's `ep_rew_mean` and
//!   `ep_len_mean`, over rollouts, unlike `train/return`, which averages only the episodes that
//!   ended inside one rollout);
//! - [`BestEval`]: the best mean evaluation return so far and its step, which decides when
//!   `checkpoints/best/` is replaced.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Episodes the rolling means cover (Stable-Baselines3's `stats_window_size`).
pub const WINDOW: usize = 100;

/// The last [`WINDOW`] finished training episodes, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeWindow {
    /// Episodes kept (the newest `capacity`).
    capacity: usize,
    /// `(return, length)` of each kept episode, oldest first.
    episodes: VecDeque<(f64, u64)>,
}

impl Default for EpisodeWindow {
    fn default() -> Self {
        Self::new(WINDOW)
    }
}

impl EpisodeWindow {
    /// An empty window over the last `capacity` episodes (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        EpisodeWindow {
            capacity,
            episodes: VecDeque::with_capacity(capacity),
        }
    }

    /// Adds a finished episode, dropping the oldest beyond the capacity.
    pub fn push(&mut self, episode_return: f64, length: u64) {
        if self.episodes.len() == self.capacity {
            self.episodes.pop_front();
        }
        self.episodes.push_back((episode_return, length));
    }

    /// Episodes in the window.
    pub fn len(&self) -> usize {
        self.episodes.len()
    }

    /// Whether no episode finished yet.
    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    /// Mean return of the episodes in the window (NaN when empty).
    pub fn mean_return(&self) -> f64 {
        self.episodes.iter().map(|e| e.0).sum::<f64>() / self.episodes.len() as f64
    }

    /// Mean length of the episodes in the window (NaN when empty).
    pub fn mean_length(&self) -> f64 {
        self.episodes.iter().map(|e| e.1 as f64).sum::<f64>() / self.episodes.len() as f64
    }
}

/// A mean evaluation return and the environment step it was measured at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// Environment steps when the policy was evaluated.
    pub step: u64,
    /// Its mean deterministic test return.
    pub eval_return: f64,
}

/// The best evaluation so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BestEval {
    best: Option<EvalPoint>,
}

impl BestEval {
    /// Records the evaluation `eval_return` at `step`; true when it is a new best (strictly
    /// above the previous best, or the first finite one): the caller then saves the policy as
    /// the best checkpoint. A non-finite return never is.
    pub fn offer(&mut self, step: u64, eval_return: f64) -> bool {
        let better = eval_return.is_finite() && self.best.is_none_or(|b| eval_return > b.eval_return);
        if better {
            self.best = Some(EvalPoint { step, eval_return });
        }
        better
    }

    /// The best evaluation so far, if any.
    pub fn get(&self) -> Option<EvalPoint> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made stream of 130 episodes: episode k (from 1) has return k and length 10·k.
    fn stream() -> impl Iterator<Item = (f64, u64)> {
        (1..=130u64).map(|k| (k as f64, 10 * k))
    }

    #[test]
    fn the_window_holds_the_last_hundred_episodes() {
        let mut w = EpisodeWindow::default();
        assert!(w.mean_return().is_nan() && w.is_empty());
        for (k, (r, l)) in stream().enumerate() {
            w.push(r, l);
            if k + 1 == 3 {
                // Episodes 1, 2, 3: mean return 2, mean length 20.
                assert_eq!((w.mean_return(), w.mean_length()), (2.0, 20.0));
            }
        }
        // Episodes 31..=130: mean return (31 + 130) / 2 = 80.5, mean length 805.
        assert_eq!(w.len(), 100);
        assert_eq!((w.mean_return(), w.mean_length()), (80.5, 805.0));
    }

    #[test]
    fn the_window_survives_a_state_round_trip() {
        // 70 episodes, saved (as the checkpoint's JSON), restored, 60 more: the same window as
        // 130 in one go.
        let (mut straight, mut first) = (EpisodeWindow::default(), EpisodeWindow::default());
        for (r, l) in stream() {
            straight.push(r, l);
        }
        for (r, l) in stream().take(70) {
            first.push(r, l);
        }
        let json = serde_json::to_string(&first).unwrap();
        let mut resumed: EpisodeWindow = serde_json::from_str(&json).unwrap();
        for (r, l) in stream().skip(70) {
            resumed.push(r, l);
        }
        assert_eq!(resumed, straight);
        assert_eq!(resumed.mean_return(), 80.5);
    }

    #[test]
    fn the_best_evaluation_is_the_highest_return() {
        let mut best = BestEval::default();
        let evals = [
            (10, -500.0),
            (20, -300.0),
            (30, -350.0),
            (40, f64::NAN),
            (50, -300.0),
            (60, -120.5),
            (70, -200.0),
        ];
        let saved: Vec<u64> = evals
            .iter()
            .filter(|&&(step, ret)| best.offer(step, ret))
            .map(|&(step, _)| step)
            .collect();
        // A tie (step 50) and NaN (step 40) do not replace the best.
        assert_eq!(saved, [10, 20, 60]);
        assert_eq!(
            best.get(),
            Some(EvalPoint {
                step: 60,
                eval_return: -120.5
            })
        );
        let back: BestEval = serde_json::from_str(&serde_json::to_string(&best).unwrap()).unwrap();
        assert_eq!(back, best);
        assert!(!BestEval::default().offer(1, f64::NEG_INFINITY));
    }
}
