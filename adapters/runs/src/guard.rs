//! The divergence guard: catches a training loss that blows up while still finite (a NaN or an
//! infinity is caught earlier, by the optimizer), and weights whose norm explodes.
//!
//! Loss rule: a step's loss is *suspect* when it exceeds both the run's first loss and `factor`
//! times the reference, the lowest running median (last [`WINDOW`] losses) seen so far. The run
//! has *diverged* at the `patience`-th suspect step in a row. Requiring "worse than at the start"
//! keeps a loss that converges towards zero (where any noise is many times the median) from
//! tripping it; the lowest median keeps a loss that is already huge from becoming its own
//! reference. A loss ≤ 0 (a WGAN critic's, an RL surrogate's) has no meaningful ratio: the first
//! such loss switches the loss rule off for the run.
//!
//! Weight rule: the L2 norm of all parameters must stay finite and below [`NORM_GROWTH`] times
//! its value when the run (or the resume) started, floored at 1.

use std::collections::VecDeque;

/// Losses in the running median.
pub const WINDOW: usize = 50;
/// How far the parameter norm may grow over its starting value (floored at 1) before the run
/// counts as diverged.
pub const NORM_GROWTH: f64 = 1e3;

/// The guard's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardConfig {
    /// A loss above `factor` × the reference (and above the first loss) is suspect; 0 turns
    /// the loss rule off.
    pub factor: f64,
    /// Suspect steps in a row that make a divergence.
    pub patience: u32,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            factor: 10.0,
            patience: 3,
        }
    }
}

/// What the guard makes of one loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Within bounds.
    Fine,
    /// Above the bound, not yet for `patience` steps: no checkpoint should be written now.
    Suspect,
    /// Above the bound for `patience` steps in a row.
    Diverged {
        /// The first step of the suspect streak.
        since: u64,
        /// The bound the loss exceeded.
        bound: f64,
    },
}

/// The loss rule's state over a run: see the [module docs](self).
#[derive(Debug, Clone)]
pub struct LossGuard {
    config: GuardConfig,
    first: Option<f64>,
    recent: VecDeque<f64>,
    reference: f64,
    streak: Option<(u64, u32)>,
    off: bool,
}

impl LossGuard {
    /// A guard that has seen no loss yet.
    pub fn new(config: GuardConfig) -> Self {
        LossGuard {
            off: config.factor <= 0.0,
            config,
            first: None,
            recent: VecDeque::with_capacity(WINDOW),
            reference: f64::INFINITY,
            streak: None,
        }
    }

    /// The bound a loss must stay under now (infinite while the rule is off or unprimed).
    pub fn bound(&self) -> f64 {
        match (self.off, self.first) {
            (false, Some(first)) => (self.config.factor * self.reference).max(first),
            _ => f64::INFINITY,
        }
    }

    /// Judges the loss of `step` and takes it into the running median unless it is suspect.
    pub fn observe(&mut self, step: u64, loss: f64) -> Verdict {
        if self.off || !loss.is_finite() {
            return Verdict::Fine;
        }
        if loss <= 0.0 {
            self.off = true;
            return Verdict::Fine;
        }
        let bound = self.bound();
        if loss > bound {
            let (since, count) = self.streak.map_or((step, 1), |(s, c)| (s, c + 1));
            self.streak = Some((since, count));
            return match count >= self.config.patience {
                true => Verdict::Diverged { since, bound },
                false => Verdict::Suspect,
            };
        }
        self.streak = None;
        self.first.get_or_insert(loss);
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(loss);
        let mut sorted: Vec<f64> = self.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        self.reference = self.reference.min(median);
        Verdict::Fine
    }

    /// Whether the latest loss was suspect (a checkpoint now would not be a good one).
    pub fn suspect(&self) -> bool {
        self.streak.is_some()
    }
}

/// Whether the parameter norm `norm` is still sane for a run that started at `start`.
pub fn norm_is_sane(norm: f64, start: f64) -> bool {
    norm.is_finite() && norm <= NORM_GROWTH * start.max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(losses: &[f64]) -> Vec<Verdict> {
        let mut guard = LossGuard::new(GuardConfig::default());
        (1..)
            .zip(losses)
            .map(|(step, &l)| guard.observe(step, l))
            .collect()
    }

    #[test]
    fn a_loss_that_keeps_exceeding_the_bound_diverges_at_the_patience_th_step() {
        // 2.3 → 25,236 (MNIST with SGD at lr 1e4): suspect at steps 2 and 3, diverged at 4.
        let v = run(&[2.3, 25_236.0, 30_000.0, 40_000.0]);
        assert_eq!(v[..3], [Verdict::Fine, Verdict::Suspect, Verdict::Suspect]);
        assert_eq!(
            v[3],
            Verdict::Diverged {
                since: 2,
                bound: 23.0
            }
        );
    }

    #[test]
    fn spikes_converging_losses_and_negative_losses_do_not_trip_it() {
        // One spike, then back: the streak resets.
        let v = run(&[2.0, 1.0, 0.5, 0.4, 30.0, 30.0, 0.4, 30.0, 0.3]);
        assert!(v.iter().all(|v| !matches!(v, Verdict::Diverged { .. })), "{v:?}");
        // A loss converging to 0 with relative noise of 100×: never above the first loss.
        let mut losses = vec![1.0];
        losses.extend((0..200).map(|k| 1e-9 * if k % 2 == 0 { 1.0 } else { 100.0 }));
        assert!(run(&losses).iter().all(|v| *v == Verdict::Fine));
        // A WGAN critic's loss goes negative: the rule is off from then on.
        assert!(run(&[1.0, -0.5, 1e9, 1e9, 1e9])
            .iter()
            .all(|v| *v == Verdict::Fine));
        // factor 0: off.
        let mut off = LossGuard::new(GuardConfig {
            factor: 0.0,
            patience: 1,
        });
        assert_eq!(
            (off.observe(1, 1.0), off.observe(2, 1e30)),
            (Verdict::Fine, Verdict::Fine)
        );
    }

    #[test]
    fn the_norm_rule_allows_growth_up_to_its_limit() {
        assert!(norm_is_sane(999.0, 0.5) && !norm_is_sane(1001.0, 0.5));
        assert!(norm_is_sane(5e3, 10.0) && !norm_is_sane(f64::NAN, 10.0));
    }
}
