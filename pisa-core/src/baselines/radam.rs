//! RAdam, numerically equal to `torch.optim.RAdam` (PyTorch 2.11, single-tensor path,
//! `maximize=False`; bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t:
//! 1. weight decay: coupled g_t ← g_t + wd · w, or with `decoupled_weight_decay`
//!    w ← w (1 − η_t wd);
//! 2. m_t = β₁ m_{t−1} + (1 − β₁) g_t (PyTorch's `lerp`);  v_t = β₂ v_{t−1} + (1 − β₂) g_t²;
//! 3. m̂_t = m_t / (1 − β₁ᵗ); ρ_∞ = 2/(1 − β₂) − 1, ρ_t = ρ_∞ − 2tβ₂ᵗ/(1 − β₂ᵗ);
//! 4. when ρ_t > 5, with the rectification
//!    k_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t)):
//!    w ← w − η_t m̂_t · √(1 − β₂ᵗ)/(√v_t + ε) · k_t;
//!    otherwise (the first steps: t ≤ 5 for β₂ = 0.999) w ← w − η_t m̂_t.
//!
//! # References
//! Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020.

use super::add_scaled;
use super::driver::UpdateRule;
use crate::error::Result;
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of RAdam (`name = "radam"`). Defaults are PyTorch's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadamSettings {
    /// Learning rate η > 0 (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂), each in [0, 1) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε ≥ 0 added to √v (default 1e-8).
    pub eps: f64,
    /// Weight decay wd ≥ 0 (default 0): coupled (L2) or decoupled per the next field.
    pub weight_decay: f64,
    /// Decoupled (AdamW-style) weight decay w ← w(1 − η wd) (default false, as PyTorch).
    pub decoupled_weight_decay: bool,
}

impl Default for RadamSettings {
    fn default() -> Self {
        RadamSettings {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

impl RadamSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        super::adam::validate_adam_like(self.lr, self.betas, self.eps, self.weight_decay)
    }
}

/// The RAdam update rule with its moments.
pub struct RadamRule {
    settings: RadamSettings,
    /// m, the first moment.
    exp_avg: Tensor,
    /// v, the second moment.
    exp_avg_sq: Tensor,
}

impl RadamRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: RadamSettings) -> Result<Self> {
        settings.validate()?;
        Ok(RadamRule {
            exp_avg: params.flat().f_zeros_like()?,
            exp_avg_sq: params.flat().f_zeros_like()?,
            settings,
        })
    }
}

/// ρ_t of RAdam (the length of the approximated simple moving average) and its limit ρ_∞, in
/// PyTorch's order of evaluation.
fn rho(beta2: f64, t: f64) -> (f64, f64) {
    let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    (rho_inf - 2.0 * t * beta2.powf(t) / (1.0 - beta2.powf(t)), rho_inf)
}

impl UpdateRule for RadamRule {
    fn name(&self) -> &'static str {
        "radam"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let s = &self.settings;
        let mut w = params.flat().shallow_clone();
        let lr = s.lr * lr_factor;
        let (b1, b2) = s.betas;
        let mut grad = grad.shallow_clone();
        if s.weight_decay != 0.0 {
            if s.decoupled_weight_decay {
                let _ = w.f_mul_scalar_(1.0 - lr * s.weight_decay)?;
            } else {
                grad = add_scaled(&grad, &w, s.weight_decay)?;
            }
        }
        let (m, v) = (&mut self.exp_avg, &mut self.exp_avg_sq);
        let _ = m.f_lerp_(&grad, 1.0 - b1)?;
        let _ = v.f_mul_scalar_(b2)?.f_addcmul_(&grad, &(&grad * (1.0 - b2)))?;
        // Python's `beta ** step` and `x ** 0.5` are libm's pow, as powf.
        let t = step as f64;
        let bias_correction1 = 1.0 - b1.powf(t);
        let bias_correction2 = 1.0 - b2.powf(t);
        let corrected = m.f_div_scalar(bias_correction1)?;
        let (rho_t, rho_inf) = rho(b2, t);
        let update = if rho_t > 5.0 {
            let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .powf(0.5);
            // `c / tensor` in Python is `tensor.reciprocal() * c`.
            let adaptive = v
                .f_sqrt()?
                .f_add_scalar_(s.eps)?
                .f_reciprocal_()?
                .f_mul_scalar_(bias_correction2.powf(0.5))?;
            corrected.f_mul_scalar(lr)?.f_mul(&adaptive)?.f_mul_scalar(rect)?
        } else {
            corrected.f_mul_scalar(lr)?
        };
        let _ = w.f_sub_(&update)?;
        Ok(())
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        vec![("exp_avg", &self.exp_avg), ("exp_avg_sq", &self.exp_avg_sq)]
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        vec![
            ("exp_avg", &mut self.exp_avg),
            ("exp_avg_sq", &mut self.exp_avg_sq),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With β₂ = 0.999, ρ_t first exceeds 5 at t = 6: steps 1–5 are un-adapted momentum steps.
    #[test]
    fn rectification_starts_at_step_6() {
        for t in 1..=5 {
            assert!(rho(0.999, t as f64).0 <= 5.0, "step {t}");
        }
        assert!(rho(0.999, 6.0).0 > 5.0);
        // ρ_∞ = 2/(1 − β₂) − 1 = 1999.
        assert!((rho(0.999, 1.0).1 - 1999.0).abs() < 1e-9);
    }
}
