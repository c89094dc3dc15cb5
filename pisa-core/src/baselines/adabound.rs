//! AdaBound and AMSBound, numerically equal to the authors' PyPI package `adabound` 0.0.5
//! (`adabound.AdaBound`; bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t (r_t the schedule's
//! multiplier) and base rate η₀ = lr:
//! 1. coupled weight decay: g_t ← g_t + wd · w (when wd ≠ 0);
//! 2. m_t = β₁ m_{t−1} + (1 − β₁) g_t;  v_t = β₂ v_{t−1} + (1 − β₂) g_t²;
//!    AMSBound: v̂_t = max(v̂_{t−1}, v_t) replaces v_t below;
//! 3. the final rate follows the schedule as in the package: α*_t = final_lr · η_t / η₀;
//!    bounds l_t = α*_t (1 − 1/(γ t + 1)), u_t = α*_t (1 + 1/(γ t));
//! 4. w ← w − clip(η_t √(1 − β₂ᵗ)/(1 − β₁ᵗ) / (√v_t + ε), l_t, u_t) · m_t.
//!
//! # References
//! Luo, Xiong, Liu & Sun, "Adaptive Gradient Methods with Dynamic Bound of Learning Rate",
//! ICLR 2019; reference code <https://github.com/Luolc/AdaBound> (PyPI `adabound` 0.0.5).

use super::driver::UpdateRule;
use super::{add_scaled, add_scaled_};
use crate::error::{non_negative, Error, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of AdaBound (`name = "adabound"`). Defaults are those of `adabound` 0.0.5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaBoundSettings {
    /// Adam-phase learning rate η > 0 (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂), each in [0, 1) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Final (SGD-phase) learning rate α* ≥ 0 the bounds converge to (default 0.1); scaled by
    /// the schedule's r_t like η.
    pub final_lr: f64,
    /// Convergence speed γ ∈ (0, 1) of the bound functions (default 1e-3).
    pub gamma: f64,
    /// ε ≥ 0 added to √v (default 1e-8).
    pub eps: f64,
    /// Coupled (L2) weight decay wd ≥ 0 added to the gradient (default 0).
    pub weight_decay: f64,
    /// The AMSBound variant: normalize by the running maximum of v (default false).
    pub amsbound: bool,
}

impl Default for AdaBoundSettings {
    fn default() -> Self {
        AdaBoundSettings {
            lr: 1e-3,
            betas: (0.9, 0.999),
            final_lr: 0.1,
            gamma: 1e-3,
            eps: 1e-8,
            weight_decay: 0.0,
            amsbound: false,
        }
    }
}

impl AdaBoundSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        super::adam::validate_adam_like(self.lr, self.betas, self.eps, self.weight_decay)?;
        non_negative("final_lr", self.final_lr)?;
        // γ = 0 would make the upper bound infinite (1/(γ t)); the package refuses γ ≥ 1.
        if !(self.gamma > 0.0 && self.gamma < 1.0) {
            return Err(Error::invalid(
                "gamma",
                self.gamma,
                "the bounds' convergence speed must lie in (0, 1)",
            ));
        }
        Ok(())
    }
}

/// The AdaBound update rule with its moments.
pub struct AdaBoundRule {
    settings: AdaBoundSettings,
    /// m, the first moment.
    exp_avg: Tensor,
    /// v, the second moment.
    exp_avg_sq: Tensor,
    /// v̂, the running maximum of v (AMSBound only).
    max_exp_avg_sq: Option<Tensor>,
}

impl AdaBoundRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: AdaBoundSettings) -> Result<Self> {
        settings.validate()?;
        let zeros = || params.flat().f_zeros_like();
        Ok(AdaBoundRule {
            exp_avg: zeros()?,
            exp_avg_sq: zeros()?,
            max_exp_avg_sq: if settings.amsbound { Some(zeros()?) } else { None },
            settings,
        })
    }
}

impl UpdateRule for AdaBoundRule {
    fn name(&self) -> &'static str {
        "adabound"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let s = &self.settings;
        let mut w = params.flat().shallow_clone();
        let base_lr = s.lr;
        let lr = s.lr * lr_factor;
        let (b1, b2) = s.betas;
        let grad = if s.weight_decay != 0.0 {
            add_scaled(grad, &w, s.weight_decay)?
        } else {
            grad.shallow_clone()
        };
        let (m, v) = (&mut self.exp_avg, &mut self.exp_avg_sq);
        let _ = m.f_mul_scalar_(b1)?;
        add_scaled_(m, &grad, 1.0 - b1)?;
        let _ = v.f_mul_scalar_(b2)?.f_addcmul_(&grad, &(&grad * (1.0 - b2)))?;
        let denom = match &mut self.max_exp_avg_sq {
            Some(max) => {
                max.f_copy_(&max.f_maximum(v)?)?;
                max.f_sqrt()?.f_add_scalar_(s.eps)?
            }
            None => v.f_sqrt()?.f_add_scalar_(s.eps)?,
        };
        // The package's host arithmetic, in its order (`beta ** step` is libm's pow).
        let t = step as f64;
        let bias_correction1 = 1.0 - b1.powf(t);
        let bias_correction2 = 1.0 - b2.powf(t);
        let step_size = lr * bias_correction2.sqrt() / bias_correction1;
        let final_lr = s.final_lr * lr / base_lr;
        let lower = final_lr * (1.0 - 1.0 / (s.gamma * t + 1.0));
        let upper = final_lr * (1.0 + 1.0 / (s.gamma * t));
        let mut rate = denom.f_full_like(step_size)?;
        let _ = rate.f_div_(&denom)?.f_clamp_(lower, upper)?.f_mul_(m)?;
        let _ = w.f_sub_(&rate)?;
        Ok(())
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        let mut out = vec![("exp_avg", &self.exp_avg), ("exp_avg_sq", &self.exp_avg_sq)];
        out.extend(self.max_exp_avg_sq.iter().map(|t| ("max_exp_avg_sq", t)));
        out
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        let mut out = vec![
            ("exp_avg", &mut self.exp_avg),
            ("exp_avg_sq", &mut self.exp_avg_sq),
        ];
        out.extend(self.max_exp_avg_sq.iter_mut().map(|t| ("max_exp_avg_sq", t)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With a huge base rate the clipped rate is the upper bound from the first step:
    /// w moves by u₁ · m₁ = final_lr (1 + 1/γ) (1 − β₁) g.
    #[test]
    fn the_upper_bound_clips_the_first_step() {
        let w = Tensor::from_slice(&[0.0f64]);
        let params = ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap();
        let s = AdaBoundSettings {
            lr: 1e3,
            final_lr: 0.1,
            gamma: 0.5,
            ..AdaBoundSettings::default()
        };
        let mut rule = AdaBoundRule::new(&params, s).unwrap();
        let mut params = params;
        rule.update(&mut params, &Tensor::from_slice(&[2.0f64]), 1, 1.0)
            .unwrap();
        let moved = -params.flat().double_value(&[0]);
        let want = 0.1 * (1.0 + 1.0 / 0.5) * 0.1 * 2.0;
        assert!((moved - want).abs() < 1e-15, "{moved} vs {want}");
    }

    #[test]
    fn gamma_must_lie_in_the_open_unit_interval() {
        for gamma in [0.0, 1.0, f64::NAN] {
            let s = AdaBoundSettings {
                gamma,
                ..AdaBoundSettings::default()
            };
            assert!(matches!(
                s.validate(),
                Err(Error::InvalidSetting { name: "gamma", .. })
            ));
        }
    }
}
