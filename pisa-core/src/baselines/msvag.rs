//! M-SVAG, numerically equal to `MSVAG` of the AdaBelief repository's CIFAR experiments
//! (`PyTorch_Experiments/classification_cifar10/optimizers/MSVAG.py` at commit 2855178 of
//! <https://github.com/juntang-zhuang/Adabelief-Optimizer>, the implementation the AdaBelief and
//! PISA comparisons ran; bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t:
//! 1. coupled weight decay: g_t ← g_t + wd · w (when wd ≠ 0);
//! 2. m_t = β₁ m_{t−1} + (1 − β₁) g_t;  v_t = β₁ v_{t−1} + (1 − β₁) g_t²;
//! 3. m̂ = m_t / (1 − β₁ᵗ),  v̂ = v_t / (1 − β₂ᵗ);
//! 4. ρ_t = (1 − β₁)/(1 + β₁) · (1 + β₁ᵗ)/(1 − β₁ᵗ);  s = (v̂ − m̂²)/(1 − ρ_t);
//! 5. γ = m̂² / (m̂² + ρ_t s), with NaN set to 0;  w ← w − η_t m̂ γ.
//!
//! Quirks of the reference, kept: v is averaged with β₁ (not β₂) while its bias correction uses
//! β₂; at t = 1, ρ₁ = 1, so s and γ degenerate (the first step is 0 or nearly so); there is no
//! ε (the reference accepts one and ignores it). Balles & Hennig's M-SVAG uses one β for both
//! moments: set β₂ = β₁ for that.
//!
//! # References
//! Balles & Hennig, "Dissecting Adam: The Sign, Magnitude and Variance of Stochastic Gradients",
//! ICML 2018 (M-SVAG).

use super::driver::UpdateRule;
use super::{add_scaled, add_scaled_};
use crate::error::{non_negative, positive, unit_interval, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of M-SVAG (`name = "msvag"`). Defaults are the reference class's (the AdaBelief
/// repository's CIFAR runs use lr 0.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MsvagSettings {
    /// Learning rate η > 0 (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂), each in [0, 1) (default (0.9, 0.999)); β₁ averages both moments, β₂ only
    /// bias-corrects the second (the reference's behaviour).
    pub betas: (f64, f64),
    /// Coupled (L2) weight decay wd ≥ 0 added to the gradient (default 0).
    pub weight_decay: f64,
}

impl Default for MsvagSettings {
    fn default() -> Self {
        MsvagSettings {
            lr: 1e-3,
            betas: (0.9, 0.999),
            weight_decay: 0.0,
        }
    }
}

impl MsvagSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        positive("lr", self.lr)?;
        unit_interval("betas.0", self.betas.0)?;
        unit_interval("betas.1", self.betas.1)?;
        non_negative("weight_decay", self.weight_decay)
    }
}

/// The M-SVAG update rule with its moments.
pub struct MsvagRule {
    settings: MsvagSettings,
    /// m, the first moment.
    exp_avg: Tensor,
    /// v, the second moment.
    exp_avg_sq: Tensor,
}

impl MsvagRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: MsvagSettings) -> Result<Self> {
        settings.validate()?;
        Ok(MsvagRule {
            exp_avg: params.flat().f_zeros_like()?,
            exp_avg_sq: params.flat().f_zeros_like()?,
            settings,
        })
    }
}

/// ρ_t of M-SVAG, in the reference's order of evaluation.
fn rho(beta1: f64, t: f64) -> f64 {
    (1.0 - beta1) / (1.0 + beta1) * (1.0 + beta1.powf(t)) / (1.0 - beta1.powf(t))
}

impl UpdateRule for MsvagRule {
    fn name(&self) -> &'static str {
        "msvag"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let s = &self.settings;
        let mut w = params.flat().shallow_clone();
        let lr = s.lr * lr_factor;
        let (b1, b2) = s.betas;
        let grad = if s.weight_decay != 0.0 {
            add_scaled(grad, &w, s.weight_decay)?
        } else {
            grad.shallow_clone()
        };
        let _ = self.exp_avg.f_mul_scalar_(b1)?;
        add_scaled_(&mut self.exp_avg, &grad, 1.0 - b1)?;
        let _ = self
            .exp_avg_sq
            .f_mul_scalar_(b1)?
            .f_addcmul_(&grad, &(&grad * (1.0 - b1)))?;
        let t = step as f64;
        let m = self.exp_avg.f_div_scalar(1.0 - b1.powf(t))?;
        let v = self.exp_avg_sq.f_div_scalar(1.0 - b2.powf(t))?;
        let rho = rho(b1, t);
        let m_sq = m.f_pow_tensor_scalar(2)?;
        let variance = v.f_sub(&m_sq)?.f_div_scalar(1.0 - rho)?;
        let mut gamma = m_sq.f_div(&m_sq.f_add(&variance.f_mul_scalar(rho)?)?)?;
        let _ = gamma.f_masked_fill_(&gamma.f_isnan()?, 0.0)?;
        let _ = w.f_add_(&m.f_mul_scalar(-lr)?.f_mul(&gamma)?)?;
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

    /// ρ₁ = 1 (the first step degenerates) and ρ_t falls towards (1 − β)/(1 + β).
    #[test]
    fn rho_starts_at_one_and_decreases() {
        assert!((rho(0.9, 1.0) - 1.0).abs() < 1e-15);
        assert!(rho(0.9, 2.0) < rho(0.9, 1.0));
        assert!((rho(0.9, 1e4) - 0.1 / 1.9).abs() < 1e-12);
    }
}
