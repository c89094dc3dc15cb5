//! The learning-rate schedules of the paper's vision runs (spec §4.2 table, AdaBelief's CIFAR
//! scripts for the baselines), written in the paper's epochs and turned into a
//! [`LrSchedule`] over this run's iterations.
//!
//! A run shorter than the paper's (a CPU run of a few epochs) gets the same schedule compressed
//! to its length: a milestone at epoch e of the paper's H epochs falls at epoch e · E / H of a
//! run of E epochs, so the decays keep their place in the run (the ×0.1 of the baselines at 75 %
//! of training). The PISA family reads the multiplier as σ_t = σ_0/r_t, ρ_t = ρ_0/r_t
//! (`pisa_core::OptimizerKind::set_lr_schedule`).

use std::fmt;
use std::str::FromStr;

use pisa_core::schedule::LrSchedule;

use crate::models::ModelName;

/// Which schedule a run follows (`--schedule`).
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleChoice {
    /// The paper's for the model and optimizer family, compressed to the run's epochs.
    Paper,
    /// r_t = 1.
    Constant,
    /// Multiply by `factor` at each of these epochs of the run (not compressed).
    Steps {
        /// Epochs at which the factor applies, increasing.
        epochs: Vec<u64>,
        /// The factor.
        factor: f64,
    },
}

/// `--schedule` text that is none of `paper`, `constant`, `steps:E1,E2,...:F`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}`: expected paper, constant, or steps:E1,E2,...:F (epochs increasing, 0 < F)")]
pub struct BadSchedule(pub String);

impl FromStr for ScheduleChoice {
    type Err = BadSchedule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadSchedule(s.to_owned());
        match s {
            "paper" => Ok(ScheduleChoice::Paper),
            "constant" => Ok(ScheduleChoice::Constant),
            _ => {
                let rest = s.strip_prefix("steps:").ok_or_else(bad)?;
                let (epochs, factor) = rest.rsplit_once(':').ok_or_else(bad)?;
                let epochs: Vec<u64> = epochs
                    .split(',')
                    .map(|e| e.trim().parse().map_err(|_| bad()))
                    .collect::<Result<_, _>>()?;
                let factor: f64 = factor.parse().map_err(|_| bad())?;
                let increasing = epochs.windows(2).all(|w| w[0] < w[1]);
                if epochs.is_empty() || !increasing || !(factor.is_finite() && factor > 0.0) {
                    return Err(bad());
                }
                Ok(ScheduleChoice::Steps { epochs, factor })
            }
        }
    }
}

impl fmt::Display for ScheduleChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleChoice::Paper => f.write_str("paper"),
            ScheduleChoice::Constant => f.write_str("constant"),
            ScheduleChoice::Steps { epochs, factor } => {
                let list: Vec<String> = epochs.iter().map(u64::to_string).collect();
                write!(f, "steps:{}:{factor}", list.join(","))
            }
        }
    }
}

/// A schedule in epochs: factor `factors[j]` from epoch `epochs[j]` on, over a run of `horizon`
/// epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochSchedule {
    /// Epochs at which a factor applies (non-decreasing).
    pub epochs: Vec<f64>,
    /// One factor per epoch.
    pub factors: Vec<f64>,
    /// The run length these epochs are written for.
    pub horizon: f64,
    /// Where it comes from, for the run's summary.
    pub source: &'static str,
}

/// `count` milestones from `first` in steps of `every`.
fn every(first: u64, every: u64, count: u64) -> impl Iterator<Item = u64> {
    (0..count).map(move |k| first + k * every)
}

impl EpochSchedule {
    /// The paper's schedule of `model` for the PISA family (`pisa_family`) or the baselines.
    pub fn paper(model: ModelName, pisa_family: bool) -> Self {
        let build = |milestones: Vec<(u64, f64)>, horizon: f64, source| EpochSchedule {
            epochs: milestones.iter().map(|&(e, _)| e as f64).collect(),
            factors: milestones.iter().map(|&(_, f)| f).collect(),
            horizon,
            source,
        };
        match (model, pisa_family) {
            (ModelName::Resnet18Imagenet, false) => build(
                vec![(30, 0.1), (60, 0.1)],
                90.0,
                "ImageNet baselines: ×0.1 at epochs 30, 60 of 90",
            ),
            (ModelName::Resnet18Imagenet, true) => build(
                vec![(65, 0.15), (75, 0.15), (83, 0.15)],
                90.0,
                "SISA ImageNet ResNet-18 script: ×0.15 at epochs 65, 75, 83 of 90",
            ),
            (_, false) => build(
                vec![(150, 0.1)],
                200.0,
                "AdaBelief's CIFAR scripts: ×0.1 at epoch 150 of 200",
            ),
            (ModelName::Vgg11, true) => {
                // 16 decays of ×0.9 up to epoch 120, then 0.35, 0.9, 0.9, 0.35, 0.35, 0.35
                let mut m: Vec<(u64, f64)> = [10, 20].into_iter().map(|e| (e, 0.9)).collect();
                m.extend(every(25, 5, 8).map(|e| (e, 0.9)));
                m.extend(every(70, 10, 6).map(|e| (e, 0.9)));
                m.extend([
                    (125, 0.35),
                    (130, 0.9),
                    (140, 0.9),
                    (150, 0.35),
                    (175, 0.35),
                    (200, 0.35),
                ]);
                build(
                    m,
                    200.0,
                    "SISA VGG-11 script (spec §4.2): ×0.9 ×16 to epoch 120, then ×0.35/×0.9 to 200",
                )
            }
            (ModelName::Densenet121, true) => build(
                every(50, 50, 4).map(|e| (e, 0.25)).collect(),
                200.0,
                "SISA DenseNet-121 script: ×0.25 every 50 epochs of 200",
            ),
            (ModelName::Resnet18 | ModelName::Resnet34 | ModelName::VggTiny, true) => {
                let mut m: Vec<(u64, f64)> = every(6, 3, 19).map(|e| (e, 0.85)).collect();
                m.extend([70, 80, 90].map(|e| (e, 0.85)));
                m.extend(every(100, 25, 5).map(|e| (e, 0.5)));
                build(m, 205.0, "SISA ResNet-34 script (spec §4.2): ×0.85 every 3 epochs 6–60 and at 70/80/90, ×0.5 every 25 from 100, of 205")
            }
        }
    }

    /// The multiplier over the iterations of a run of `epochs` epochs of `steps_per_epoch`
    /// steps, the epochs compressed by `epochs / horizon`: milestones at or past the run's end
    /// are dropped, milestones that land on the same iteration multiply.
    pub fn over(&self, epochs: u64, steps_per_epoch: u64) -> LrSchedule {
        let scale = epochs as f64 / self.horizon;
        let total = epochs * steps_per_epoch;
        let (mut milestones, mut factors): (Vec<u64>, Vec<f64>) = (vec![], vec![]);
        for (&e, &f) in self.epochs.iter().zip(&self.factors) {
            let at = ((e * scale * steps_per_epoch as f64).round() as u64).max(1);
            if at >= total {
                continue;
            }
            match milestones.last() {
                Some(&last) if last == at => *factors.last_mut().expect("one factor per milestone") *= f,
                _ => {
                    milestones.push(at);
                    factors.push(f);
                }
            }
        }
        match milestones.is_empty() {
            true => LrSchedule::Constant,
            false => LrSchedule::Piecewise { milestones, factors },
        }
    }
}

impl ScheduleChoice {
    /// The multiplier over a run of `epochs` × `steps_per_epoch` iterations for `model` and the
    /// optimizer family, and a line saying what it is.
    pub fn resolve(
        &self,
        model: ModelName,
        pisa_family: bool,
        epochs: u64,
        steps_per_epoch: u64,
    ) -> (LrSchedule, String) {
        match self {
            ScheduleChoice::Paper => {
                let paper = EpochSchedule::paper(model, pisa_family);
                let note = match epochs as f64 == paper.horizon {
                    true => paper.source.to_string(),
                    false => format!("{}, compressed to {epochs} epochs", paper.source),
                };
                (paper.over(epochs, steps_per_epoch), note)
            }
            ScheduleChoice::Constant => (LrSchedule::Constant, "constant".into()),
            ScheduleChoice::Steps { epochs: at, factor } => {
                let s = EpochSchedule {
                    epochs: at.iter().map(|&e| e as f64).collect(),
                    factors: vec![*factor; at.len()],
                    horizon: epochs as f64,
                    source: "",
                };
                (s.over(epochs, steps_per_epoch), self.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_sigma_growth_is_reproduced() {
        // ResNet-34's log: σ goes 0.1 → 114 over 205 epochs (spec §4.2).
        let s = EpochSchedule::paper(ModelName::Resnet34, true);
        let r: f64 = s.factors.iter().product();
        assert!((0.1 / r - 114.0).abs() < 1.0, "σ_end = {}", 0.1 / r);
        // VGG-11: 16 × 0.9 up to epoch 120, then 0.35, 0.9, 0.9, 0.35, 0.35, 0.35.
        let v = EpochSchedule::paper(ModelName::Vgg11, true);
        assert_eq!(v.epochs.iter().filter(|&&e| e <= 120.0).count(), 16);
        assert_eq!(&v.factors[16..], [0.35, 0.9, 0.9, 0.35, 0.35, 0.35]);
    }

    #[test]
    fn milestones_compress_to_the_run() {
        // the baselines' ×0.1 at 150 of 200 epochs: at 75 % of a 4-epoch run of 10 steps
        let lr = EpochSchedule::paper(ModelName::Resnet18, false).over(4, 10);
        assert_eq!(
            lr,
            LrSchedule::Piecewise {
                milestones: vec![30],
                factors: vec![0.1]
            }
        );
        assert_eq!((lr.factor(29), lr.factor(30)), (1.0, 0.1));
        // the full length keeps the paper's epochs; milestones past the end are dropped
        let lr = EpochSchedule::paper(ModelName::Densenet121, true).over(200, 2);
        assert_eq!(
            lr,
            LrSchedule::Piecewise {
                milestones: vec![100, 200, 300],
                factors: vec![0.25; 3]
            }
        );
        // milestones landing on one iteration multiply
        let lr = EpochSchedule::paper(ModelName::Resnet34, true).over(1, 2);
        let LrSchedule::Piecewise { milestones, .. } = &lr else {
            panic!("{lr:?}")
        };
        assert_eq!(milestones, &[1]);
        let all: f64 = EpochSchedule::paper(ModelName::Resnet34, true)
            .factors
            .iter()
            .product();
        assert!(
            lr.factor(1) > all,
            "the milestones at or past the end do not apply"
        );
    }

    #[test]
    fn schedule_flags_parse_or_say_why_not() {
        assert_eq!("paper".parse::<ScheduleChoice>(), Ok(ScheduleChoice::Paper));
        let s: ScheduleChoice = "steps:3,6:0.5".parse().unwrap();
        assert_eq!(
            s,
            ScheduleChoice::Steps {
                epochs: vec![3, 6],
                factor: 0.5
            }
        );
        assert_eq!(s.to_string(), "steps:3,6:0.5");
        let (lr, _) = s.resolve(ModelName::VggTiny, false, 8, 10);
        assert_eq!(
            lr,
            LrSchedule::Piecewise {
                milestones: vec![30, 60],
                factors: vec![0.5, 0.5]
            }
        );
        for bad in [
            "cosine",
            "steps:6,3:0.5",
            "steps::0.5",
            "steps:3:0",
            "steps:3:-1",
            "steps:3",
        ] {
            assert!(bad.parse::<ScheduleChoice>().is_err(), "{bad}");
        }
    }
}
