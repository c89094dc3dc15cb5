//! Verdicts on the paper's claims from the numbers of run folders: a claim about groups
//! (optimizers or configurations) of one cell is judged on the mean ± sample std over seeds of
//! the cell's primary metric. Pure: no files, so the rules are tested on fabricated numbers.
//!
//! The rule: a claim that one group beats another is *reproduced* only when the mean is better
//! in the claimed direction **and**, with at least two seeds on both sides, the margin exceeds
//! the larger of the two standard deviations; a better mean inside the noise is *not
//! reproduced* ("within noise"), and a group without a finished run makes the claim *not run*.

use std::collections::BTreeMap;
use std::fmt;

/// Which way the metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Lower is better (loss, perplexity, FID, optimality gap).
    Min,
    /// Higher is better (accuracy, return).
    Max,
}

impl Goal {
    /// Whether `a` is better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Goal::Min => a < b,
            Goal::Max => a > b,
        }
    }

    /// `lower` or `higher`, for reasons.
    fn word(self) -> &'static str {
        match self {
            Goal::Min => "lower",
            Goal::Max => "higher",
        }
    }
}

/// Mean ± sample standard deviation of one group's metric over its runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The mean.
    pub mean: f64,
    /// The sample standard deviation (0 for one run).
    pub std: f64,
    /// How many runs had the metric.
    pub n: usize,
}

impl Stats {
    /// The statistics of `values` (non-finite ones dropped: a diverged run has no number);
    /// `None` when nothing is left.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = match v.len() {
            1 => 0.0,
            _ => (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt(),
        };
        Some(Stats {
            mean,
            std,
            n: v.len(),
        })
    }
}

/// A claim of the paper about the groups of one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// `group` has the best mean of the groups in `among` (which include it).
    Best {
        /// The claimed winner.
        group: String,
        /// The groups compared.
        among: Vec<String>,
    },
    /// `winner` is better than `loser`.
    Beats {
        /// The claimed better group.
        winner: String,
        /// The claimed worse group.
        loser: String,
    },
    /// `group`'s mean is better than `bound` (below it for [`Goal::Min`]).
    Reaches {
        /// The group.
        group: String,
        /// The bound it must pass.
        bound: f64,
    },
}

impl Claim {
    /// `Best` from string slices.
    pub fn best(group: &str, among: &[&str]) -> Claim {
        Claim::Best {
            group: group.into(),
            among: among.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// `Beats` from string slices.
    pub fn beats(winner: &str, loser: &str) -> Claim {
        Claim::Beats {
            winner: winner.into(),
            loser: loser.into(),
        }
    }

    /// `Reaches` from a string slice.
    pub fn reaches(group: &str, bound: f64) -> Claim {
        Claim::Reaches {
            group: group.into(),
            bound,
        }
    }

    /// The claim in words, with the metric's goal.
    pub fn describe(&self, goal: Goal) -> String {
        match self {
            Claim::Best { group, among } => {
                format!(
                    "{group} is best among {} ({} is better)",
                    among.join(", "),
                    goal.word()
                )
            }
            Claim::Beats { winner, loser } => {
                format!("{winner} beats {loser} ({} is better)", goal.word())
            }
            Claim::Reaches { group, bound } => {
                let side = match goal {
                    Goal::Min => "below",
                    Goal::Max => "above",
                };
                format!("{group} ends {side} {bound:e}")
            }
        }
    }
}

/// The outcome for one claim, each with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The numbers show the claim beyond the seeds' noise.
    Reproduced(String),
    /// They do not (the wrong order, or within noise).
    NotReproduced(String),
    /// Nothing to judge at this scale or without runs.
    NotRun(String),
}

impl Verdict {
    /// The short label shown in tables.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Reproduced(_) => "reproduced",
            Verdict::NotReproduced(_) => "not reproduced",
            Verdict::NotRun(_) => "not run at this scale",
        }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        match self {
            Verdict::Reproduced(r) | Verdict::NotReproduced(r) | Verdict::NotRun(r) => r,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.label(), self.reason())
    }
}

/// A number for reasons: 4 decimals, or scientific when tiny or huge.
fn num(x: f64) -> String {
    match x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
        true => format!("{x:.2e}"),
        false => format!("{x:.4}"),
    }
}

/// `mean ± std (n)` with `digits` decimals after multiplying by `scale`.
pub fn show(s: &Stats, scale: f64, digits: usize) -> String {
    let (m, sd) = (s.mean * scale, s.std * scale);
    if m != 0.0 && (m.abs() < 1e-3 || m.abs() >= 1e6) {
        return format!("{m:.2e} ± {sd:.1e} (n={})", s.n);
    }
    format!("{m:.digits$} ± {sd:.digits$} (n={})", s.n)
}

/// Judges `claim` on `stats` (group → statistics of the metric) for a metric with `goal`.
pub fn judge(claim: &Claim, goal: Goal, stats: &BTreeMap<String, Stats>) -> Verdict {
    let missing = |g: &str| Verdict::NotRun(format!("no finished run of {g} has the metric"));
    match claim {
        Claim::Reaches { group, bound } => {
            let Some(s) = stats.get(group) else {
                return missing(group);
            };
            match goal.better(s.mean, *bound) {
                true => Verdict::Reproduced(format!("{group}: {} passes {bound:e}", num(s.mean))),
                false => Verdict::NotReproduced(format!("{group}: {} does not pass {bound:e}", num(s.mean))),
            }
        }
        Claim::Beats { winner, loser } => pair(goal, stats, winner, loser),
        Claim::Best { group, among } => {
            let Some(_) = stats.get(group) else {
                return missing(group);
            };
            let rivals: Vec<&String> = among
                .iter()
                .filter(|g| *g != group && stats.contains_key(*g))
                .collect();
            if rivals.is_empty() {
                return Verdict::NotRun(format!("no rival of {group} has a finished run"));
            }
            // The strongest rival decides: best mean in the metric's direction.
            let strongest = rivals
                .iter()
                .copied()
                .reduce(|a, b| match goal.better(stats[b].mean, stats[a].mean) {
                    true => b,
                    false => a,
                })
                .unwrap_or(rivals[0]);
            let absent: Vec<&str> = among
                .iter()
                .filter(|g| !stats.contains_key(*g))
                .map(String::as_str)
                .collect();
            let verdict = pair(goal, stats, group, strongest);
            match absent.is_empty() {
                true => verdict,
                false => Verdict::NotRun(format!(
                    "{} has no finished run (against the others: {verdict})",
                    absent.join(", ")
                )),
            }
        }
    }
}

/// `winner` against `loser`: better mean, and beyond the larger std with ≥ 2 seeds each.
fn pair(goal: Goal, stats: &BTreeMap<String, Stats>, winner: &str, loser: &str) -> Verdict {
    let (Some(w), Some(l)) = (stats.get(winner), stats.get(loser)) else {
        let absent = if stats.contains_key(winner) { loser } else { winner };
        return Verdict::NotRun(format!("no finished run of {absent} has the metric"));
    };
    let margin = (w.mean - l.mean).abs();
    let noise = w.std.max(l.std);
    let numbers = format!("{winner} {} vs {loser} {}", num(w.mean), num(l.mean));
    if !goal.better(w.mean, l.mean) {
        return Verdict::NotReproduced(format!("{numbers}: {loser} is {} or equal", goal.word()));
    }
    if w.n >= 2 && l.n >= 2 {
        return match margin > noise {
            true => Verdict::Reproduced(format!("{numbers}: margin {} > std {}", num(margin), num(noise))),
            false => Verdict::NotReproduced(format!(
                "{numbers}: margin {} within the seeds' std {}",
                num(margin),
                num(noise)
            )),
        };
    }
    Verdict::Reproduced(format!("{numbers} (one seed: no noise estimate)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(entries: &[(&str, &[f64])]) -> BTreeMap<String, Stats> {
        entries
            .iter()
            .filter_map(|(g, v)| Some((g.to_string(), Stats::of(v)?)))
            .collect()
    }

    #[test]
    fn statistics_drop_non_finite_runs() {
        let s = Stats::of(&[1.0, 3.0, f64::NAN]).unwrap();
        assert_eq!((s.mean, s.n), (2.0, 2));
        assert!((s.std - 2f64.sqrt()).abs() < 1e-15);
        assert_eq!(Stats::of(&[f64::INFINITY]), None);
        assert_eq!(Stats::of(&[5.0]).unwrap().std, 0.0);
    }

    #[test]
    fn a_win_counts_only_beyond_the_noise() {
        let clear = stats(&[("sisa", &[0.95, 0.94, 0.96]), ("fedavg", &[0.50, 0.54, 0.52])]);
        let v = judge(&Claim::beats("sisa", "fedavg"), Goal::Max, &clear);
        assert!(matches!(v, Verdict::Reproduced(_)), "{v}");
        let noisy = stats(&[("sisa", &[0.90, 0.70]), ("fedavg", &[0.80, 0.78])]);
        let v = judge(&Claim::beats("sisa", "fedavg"), Goal::Max, &noisy);
        assert!(
            matches!(&v, Verdict::NotReproduced(r) if r.contains("within")),
            "{v}"
        );
        let wrong = stats(&[("sisa", &[0.5]), ("fedavg", &[0.9])]);
        let v = judge(&Claim::beats("sisa", "fedavg"), Goal::Max, &wrong);
        assert!(matches!(v, Verdict::NotReproduced(_)), "{v}");
        // Lower is better for FID: 40 beats 60.
        let fid = stats(&[("sisa", &[40.0]), ("adam", &[60.0])]);
        let v = judge(&Claim::beats("sisa", "adam"), Goal::Min, &fid);
        assert!(
            matches!(&v, Verdict::Reproduced(r) if r.contains("one seed")),
            "{v}"
        );
    }

    #[test]
    fn best_is_judged_against_the_strongest_rival() {
        let s = stats(&[
            ("sisa", &[0.90, 0.91]),
            ("adam", &[0.80, 0.81]),
            ("sgd", &[0.905, 0.895]),
        ]);
        let v = judge(&Claim::best("sisa", &["sgd", "adam", "sisa"]), Goal::Max, &s);
        assert!(
            matches!(&v, Verdict::NotReproduced(r) if r.contains("sgd")),
            "{v}"
        );
        let s = stats(&[("sisa", &[3.6]), ("adamw", &[3.9]), ("muon", &[3.7])]);
        let v = judge(&Claim::best("sisa", &["adamw", "muon", "sisa"]), Goal::Min, &s);
        assert!(matches!(&v, Verdict::Reproduced(r) if r.contains("muon")), "{v}");
    }

    #[test]
    fn missing_groups_make_the_claim_not_run() {
        let s = stats(&[("adam", &[1.0]), ("sisa", &[f64::NAN])]);
        for claim in [
            Claim::beats("sisa", "adam"),
            Claim::beats("adam", "sisa"),
            Claim::reaches("sisa", 1e-8),
            Claim::best("sisa", &["adam", "sisa"]),
        ] {
            let v = judge(&claim, Goal::Min, &s);
            assert!(
                matches!(&v, Verdict::NotRun(r) if r.contains("sisa")),
                "{claim:?}: {v}"
            );
        }
        let s = stats(&[("sisa", &[1.0]), ("adam", &[2.0])]);
        let v = judge(&Claim::best("sisa", &["adam", "sgd", "sisa"]), Goal::Min, &s);
        assert!(matches!(&v, Verdict::NotRun(r) if r.contains("sgd")), "{v}");
    }

    #[test]
    fn bounds_follow_the_goal() {
        let s = stats(&[("pisa", &[3e-15]), ("sisa-small", &[0.8])]);
        assert!(matches!(
            judge(&Claim::reaches("pisa", 1e-8), Goal::Min, &s),
            Verdict::Reproduced(_)
        ));
        assert!(matches!(
            judge(&Claim::reaches("sisa-small", 1e-8), Goal::Min, &s),
            Verdict::NotReproduced(_)
        ));
        assert_eq!(
            Claim::reaches("pisa", 1e-8).describe(Goal::Min),
            "pisa ends below 1e-8"
        );
    }

    #[test]
    fn numbers_are_shown_with_their_count() {
        let s = Stats::of(&[0.9, 0.92]).unwrap();
        assert_eq!(show(&s, 100.0, 2), "91.00 ± 1.41 (n=2)");
        let tiny = Stats::of(&[2e-15]).unwrap();
        assert_eq!(show(&tiny, 1.0, 2), "2.00e-15 ± 0.0e0 (n=1)");
    }
}
