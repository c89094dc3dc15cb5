//! Learning-rate schedules and the σ/ρ schedules of the PISA family (spec §4).
//!
//! A learning-rate schedule is a multiplier r_t of the initial rate (η_t = r_t η_0). Baselines
//! multiply their learning rate by it. The PISA family turns it into penalties the way the
//! authors' code does (spec §4.2): σ_t = σ_0 / r_t^p and ρ_t = ρ_0 / r_t, with p = 1 except for
//! the NSISA-Nano warm-down (p = 2, spec §4.3). The paper's own schedule (spec §4.1) grows σ
//! alone by γ every k_0 iterations.

use crate::error::{non_negative, positive, Error, Result};
use serde::{Deserialize, Serialize};

/// A multiplier r_t ∈ (0, 1]-ish of the initial learning rate, as a function of the outer
/// iteration t (counted from 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// r_t = 1.
    #[default]
    Constant,
    /// r_t = gamma^⌊t / step_size⌋ (PyTorch `StepLR`).
    Step {
        /// Period in iterations.
        step_size: u64,
        /// Factor applied every period.
        gamma: f64,
    },
    /// r_t = gamma^(number of milestones ≤ t) (PyTorch `MultiStepLR`).
    MultiStep {
        /// Iterations at which the rate is multiplied by `gamma`, increasing.
        milestones: Vec<u64>,
        /// Factor applied at each milestone.
        gamma: f64,
    },
    /// Per-milestone factors, as in the authors' CIFAR/LSTM scripts: r_t = Π `factors[j]` over
    /// `milestones[j]` ≤ t.
    Piecewise {
        /// Iterations at which a factor applies, increasing.
        milestones: Vec<u64>,
        /// One factor per milestone.
        factors: Vec<f64>,
    },
    /// Cosine annealing from 1 to `min_factor` over `total` iterations (PyTorch
    /// `CosineAnnealingLR` with `eta_min = min_factor * lr`), constant afterwards.
    Cosine {
        /// Length of the annealing in iterations.
        total: u64,
        /// Final multiplier; must be > 0 for the PISA family (σ = σ_0/r).
        #[serde(default)]
        min_factor: f64,
    },
    /// Linear warm-up over `warmup` iterations (from 1/warmup), flat, then linear warm-down to 0
    /// over the last `warmdown` of `total` iterations: the trapezoid of modded-nanogpt and of
    /// NSISA (spec §4.3: r_t = (T − t)/D in the warm-down).
    Trapezoid {
        /// Warm-up length (0 for none).
        #[serde(default)]
        warmup: u64,
        /// Total iterations T.
        total: u64,
        /// Warm-down length D.
        warmdown: u64,
    },
    /// Linear decay r_t = 1 − t/total (Tianshou's `LambdaLR` in the RL runs).
    Linear {
        /// Iterations until the rate would reach 0.
        total: u64,
    },
}

impl LrSchedule {
    /// Validates the schedule's own settings.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        match self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Step { step_size, gamma } => {
                if *step_size == 0 {
                    return Err(Error::invalid("schedule.step_size", step_size, "must be >= 1"));
                }
                positive("schedule.gamma", *gamma)
            }
            LrSchedule::MultiStep { milestones, gamma } => {
                increasing("schedule.milestones", milestones)?;
                positive("schedule.gamma", *gamma)
            }
            LrSchedule::Piecewise { milestones, factors } => {
                increasing("schedule.milestones", milestones)?;
                if milestones.len() != factors.len() {
                    return Err(Error::invalid(
                        "schedule.factors",
                        format!("{factors:?}"),
                        format!("needs one factor per milestone ({})", milestones.len()),
                    ));
                }
                factors.iter().try_for_each(|f| positive("schedule.factors", *f))
            }
            LrSchedule::Cosine { total, min_factor } => {
                if *total == 0 {
                    return Err(Error::invalid("schedule.total", total, "must be >= 1"));
                }
                non_negative("schedule.min_factor", *min_factor)
            }
            LrSchedule::Trapezoid {
                warmup,
                total,
                warmdown,
            } => {
                if warmup + warmdown > *total {
                    return Err(Error::invalid(
                        "schedule.total",
                        total,
                        format!("must be >= warmup + warmdown = {}", warmup + warmdown),
                    ));
                }
                Ok(())
            }
            LrSchedule::Linear { total } => {
                if *total == 0 {
                    return Err(Error::invalid("schedule.total", total, "must be >= 1"));
                }
                Ok(())
            }
        }
    }

    /// The multiplier r_t at outer iteration `t` (0-based).
    pub fn factor(&self, t: u64) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Step { step_size, gamma } => gamma.powi((t / step_size) as i32),
            LrSchedule::MultiStep { milestones, gamma } => {
                gamma.powi(milestones.iter().filter(|&&m| m <= t).count() as i32)
            }
            LrSchedule::Piecewise { milestones, factors } => milestones
                .iter()
                .zip(factors)
                .filter(|(&m, _)| m <= t)
                .map(|(_, f)| f)
                .product(),
            LrSchedule::Cosine { total, min_factor } => {
                let progress = (t.min(*total) as f64) / (*total as f64);
                min_factor + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            LrSchedule::Trapezoid {
                warmup,
                total,
                warmdown,
            } => {
                if t < *warmup {
                    (t + 1) as f64 / *warmup as f64
                } else if t < total - warmdown {
                    1.0
                } else {
                    total.saturating_sub(t) as f64 / *warmdown as f64
                }
            }
            LrSchedule::Linear { total } => 1.0 - t as f64 / *total as f64,
        }
    }
}

fn increasing(name: &'static str, milestones: &[u64]) -> Result<()> {
    if milestones.windows(2).all(|w| w[0] < w[1]) {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            format!("{milestones:?}"),
            "must be strictly increasing",
        ))
    }
}

/// How σ (penalty, dual step) and ρ (preconditioner weight) evolve over outer iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PenaltySchedule {
    /// σ and ρ fixed.
    #[default]
    Constant,
    /// The paper's rule (2.12): σ ← γσ every `k0` iterations, ρ fixed (spec §4.1).
    Gamma {
        /// Growth factor γ ≥ 1.
        gamma: f64,
        /// Period k_0 ≥ 1 in iterations.
        k0: u64,
    },
    /// The authors' code (spec §4.2): σ_t = σ_0 / r_t^`sigma_power`, ρ_t = ρ_0 / r_t, where r_t
    /// is the learning-rate multiplier. `sigma_power = 2` is the NSISA-Nano warm-down (§4.3);
    /// `0` keeps σ constant while ρ follows the learning rate (the recipe fine-tuning, §4.2).
    LrLinked {
        /// The learning-rate multiplier r_t.
        lr: LrSchedule,
        /// Exponent p ≥ 0 of r_t in σ's denominator (0, 1 or 2 in the authors' scripts).
        #[serde(default = "one")]
        sigma_power: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl PenaltySchedule {
    /// Validates the schedule.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        match self {
            PenaltySchedule::Constant => Ok(()),
            PenaltySchedule::Gamma { gamma, k0 } => {
                if !(gamma.is_finite() && *gamma >= 1.0) {
                    return Err(Error::invalid("schedule.gamma", gamma, "must be finite and >= 1"));
                }
                if *k0 == 0 {
                    return Err(Error::invalid("schedule.k0", k0, "must be >= 1"));
                }
                Ok(())
            }
            PenaltySchedule::LrLinked { lr, sigma_power } => {
                non_negative("schedule.sigma_power", *sigma_power)?;
                lr.validate()
            }
        }
    }

    /// (σ_t, ρ_t) at outer iteration `t` (0-based), from (σ_0, ρ_0).
    ///
    /// # Errors
    /// [`Error::Schedule`] when the values are not finite and positive (a learning rate of 0 or
    /// a σ that overflowed).
    pub fn at(&self, t: u64, sigma0: f64, rho0: f64) -> Result<(f64, f64)> {
        let (sigma, rho) = match self {
            PenaltySchedule::Constant => (sigma0, rho0),
            PenaltySchedule::Gamma { gamma, k0 } => (sigma0 * gamma.powf((t / k0) as f64), rho0),
            PenaltySchedule::LrLinked { lr, sigma_power } => {
                let r = lr.factor(t);
                if r.is_nan() || r <= 0.0 {
                    return Err(Error::Schedule {
                        iteration: t,
                        reason: format!(
                            "learning-rate multiplier is {r}; σ = σ0/r would be infinite (stop before the schedule reaches 0)"
                        ),
                    });
                }
                (sigma0 / r.powf(*sigma_power), rho0 / r)
            }
        };
        if !(sigma.is_finite() && sigma > 0.0 && rho.is_finite() && rho >= 0.0) {
            return Err(Error::Schedule {
                iteration: t,
                reason: format!("σ = {sigma}, ρ = {rho} are not finite and positive"),
            });
        }
        Ok((sigma, rho))
    }
}

/// Checks that σ and ρ stay well inside the range of the parameters' dtype: the updates form
/// products such as σ·w_i, which overflow to ∞ (and then NaN) long before σ itself does in f32.
///
/// # Errors
/// [`Error::Schedule`] when σ or ρ exceeds the dtype's largest value divided by 1e6.
pub(crate) fn check_range(kind: tch::Kind, sigma: f64, rho: f64, iteration: u64) -> Result<()> {
    let max = match kind {
        tch::Kind::Double => f64::MAX,
        tch::Kind::Half => 65504.0,
        _ => f32::MAX as f64,
    };
    let limit = max / 1e6;
    if sigma > limit || rho > limit {
        return Err(Error::Schedule {
            iteration,
            reason: format!(
                "σ = {sigma:e}, ρ = {rho:e} exceed what {kind:?} parameters can hold in the update \
                 (limit {limit:e}); slow the σ growth or use f64 parameters"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_factors_match_pytorch_schedulers() {
        let step = LrSchedule::Step {
            step_size: 3,
            gamma: 0.5,
        };
        assert_eq!(
            (0..7).map(|t| step.factor(t)).collect::<Vec<_>>(),
            [1., 1., 1., 0.5, 0.5, 0.5, 0.25]
        );
        let ms = LrSchedule::MultiStep {
            milestones: vec![2, 5],
            gamma: 0.1,
        };
        assert_eq!(ms.factor(1), 1.0);
        assert!((ms.factor(5) - 0.01).abs() < 1e-15);
        let cos = LrSchedule::Cosine {
            total: 10,
            min_factor: 0.0,
        };
        assert!((cos.factor(5) - 0.5).abs() < 1e-15);
        assert!(cos.factor(10).abs() < 1e-15);
        let trap = LrSchedule::Trapezoid {
            warmup: 0,
            total: 600,
            warmdown: 200,
        };
        assert_eq!(trap.factor(399), 1.0);
        assert_eq!(trap.factor(400), 1.0);
        assert_eq!(trap.factor(500), 0.5);
    }

    #[test]
    fn nsisa_nano_warmdown_squares_sigma() {
        let s = PenaltySchedule::LrLinked {
            lr: LrSchedule::Trapezoid {
                warmup: 0,
                total: 5100,
                warmdown: 1450,
            },
            sigma_power: 2.0,
        };
        let (sigma, rho) = s.at(5099, 80.0, 100.0).unwrap();
        // r = 1/1450 at the last step: σ = 80·1450², ρ = 100·1450 (spec §4.3 final values).
        assert!((sigma - 80.0 * 1450.0f64.powi(2)).abs() < 1e-3);
        assert!((rho - 1.45e5).abs() < 1e-6);
        assert!(matches!(s.at(5100, 80.0, 100.0), Err(Error::Schedule { .. })));
    }

    #[test]
    fn sigma_power_zero_keeps_sigma_while_rho_follows_the_rate() {
        // The recipe fine-tuning (spec §4.2): 100 warm-up steps, then linear decay to 0 at 2000.
        let s = PenaltySchedule::LrLinked {
            lr: LrSchedule::Trapezoid {
                warmup: 100,
                total: 2000,
                warmdown: 1900,
            },
            sigma_power: 0.0,
        };
        s.validate().unwrap();
        let rho0 = 1.0 / 2e-5 - 0.05;
        for t in [0, 49, 100, 1000, 1999] {
            let r = LrSchedule::Trapezoid {
                warmup: 100,
                total: 2000,
                warmdown: 1900,
            }
            .factor(t);
            let (sigma, rho) = s.at(t, 0.05, rho0).unwrap();
            assert_eq!(sigma, 0.05, "t = {t}");
            assert_eq!(rho, rho0 / r, "t = {t}");
        }
        let negative = PenaltySchedule::LrLinked {
            lr: LrSchedule::Constant,
            sigma_power: -1.0,
        };
        assert!(negative.validate().is_err());
    }

    #[test]
    fn gamma_grows_sigma_every_k0() {
        let s = PenaltySchedule::Gamma { gamma: 2.0, k0: 10 };
        assert_eq!(s.at(9, 1.0, 5.0).unwrap(), (1.0, 5.0));
        assert_eq!(s.at(10, 1.0, 5.0).unwrap(), (2.0, 5.0));
        assert_eq!(s.at(25, 1.0, 5.0).unwrap(), (4.0, 5.0));
        assert!(PenaltySchedule::Gamma { gamma: 0.9, k0: 1 }.validate().is_err());
    }
}
