//! Adan, numerically equal to the authors' implementation as shipped in `timm` 1.0.31
//! (`timm.optim.Adan`, single-tensor path, `caution=False`; a copy of the official
//! <https://github.com/sail-sg/Adan> code; bit for bit on CPU). Restart is not implemented
//! (neither reference has it).
//!
//! # Conventions
//! `betas` follow the authors' code, not the paper's Algorithm 1: β here is the weight of the
//! *old* average, as in Adam, and the paper's β is 1 − β (the defaults (0.98, 0.92, 0.99) are the
//! paper's (0.02, 0.08, 0.01)).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t, g₀ := g₁ (no difference
//! at the first step):
//! 1. m_t = β₁ m_{t−1} + (1 − β₁) g_t (`lerp`);
//! 2. d_t = β₂ d_{t−1} + (1 − β₂)(g_t − g_{t−1});
//! 3. n_t = β₃ n_{t−1} + (1 − β₃)(g_t + β₂(g_t − g_{t−1}))²;
//! 4. with D = √n_t / √(1 − β₃ᵗ) + ε and u = m_t/(1 − β₁ᵗ) + β₂ d_t/(1 − β₂ᵗ) (applied as two
//!    steps, in the reference's order):
//!    proximal decay (default): w ← (w − η_t u / D) / (1 + η_t wd);
//!    `no_prox`: w ← w (1 − η_t wd) − η_t u / D.
//!
//! # References
//! Xie, Zhou, Li, Lin & Yan, "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing
//! Deep Models", IEEE TPAMI 2024 (arXiv:2208.06677), Algorithm 1 without restart.

use super::add_scaled_;
use super::driver::UpdateRule;
use crate::error::{positive, unit_interval, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of Adan (`name = "adan"`). Defaults are the authors' (and timm's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdanSettings {
    /// Learning rate η > 0 (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂, β₃) in the code's convention (weight of the old average), each in [0, 1)
    /// (default (0.98, 0.92, 0.99), the paper's (0.02, 0.08, 0.01)).
    pub betas: (f64, f64, f64),
    /// ε ≥ 0 added to the denominator (default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay wd ≥ 0 (default 0), proximal unless `no_prox`.
    pub weight_decay: f64,
    /// Decay as AdamW, w(1 − η wd) before the step, instead of the paper's proximal
    /// division by (1 + η wd) after it (default false).
    pub no_prox: bool,
}

impl Default for AdanSettings {
    fn default() -> Self {
        AdanSettings {
            lr: 1e-3,
            betas: (0.98, 0.92, 0.99),
            eps: 1e-8,
            weight_decay: 0.0,
            no_prox: false,
        }
    }
}

impl AdanSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        positive("lr", self.lr)?;
        unit_interval("betas.0", self.betas.0)?;
        unit_interval("betas.1", self.betas.1)?;
        unit_interval("betas.2", self.betas.2)?;
        crate::error::non_negative("eps", self.eps)?;
        crate::error::non_negative("weight_decay", self.weight_decay)
    }
}

/// The Adan update rule with its three averages and the previous gradient.
pub struct AdanRule {
    settings: AdanSettings,
    /// m, the average gradient.
    exp_avg: Tensor,
    /// n, the average of the squared Nesterov-corrected gradient.
    exp_avg_sq: Tensor,
    /// d, the average gradient difference.
    exp_avg_diff: Tensor,
    /// −g_{t−1}, the negated previous gradient (the reference's storage).
    neg_pre_grad: Tensor,
}

impl AdanRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: AdanSettings) -> Result<Self> {
        settings.validate()?;
        let zeros = || params.flat().f_zeros_like();
        Ok(AdanRule {
            exp_avg: zeros()?,
            exp_avg_sq: zeros()?,
            exp_avg_diff: zeros()?,
            neg_pre_grad: zeros()?,
            settings,
        })
    }
}

impl UpdateRule for AdanRule {
    fn name(&self) -> &'static str {
        "adan"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let s = &self.settings;
        let mut w = params.flat().shallow_clone();
        let lr = s.lr * lr_factor;
        let (b1, b2, b3) = s.betas;
        let t = step as f64;
        let bias_correction1 = 1.0 - b1.powf(t);
        let bias_correction2 = 1.0 - b2.powf(t);
        let bias_correction3 = 1.0 - b3.powf(t);
        let neg = &mut self.neg_pre_grad;
        if step == 1 {
            neg.f_copy_(&grad.f_neg()?)?;
        }
        // The reference reuses −g_{t−1} as scratch: first g_t − g_{t−1}, then g_t + β₂(g_t − g_{t−1}).
        let _ = neg.f_add_(grad)?;
        let _ = self.exp_avg.f_lerp_(grad, 1.0 - b1)?;
        let _ = self.exp_avg_diff.f_mul_scalar_(b2)?;
        add_scaled_(&mut self.exp_avg_diff, neg, 1.0 - b2)?;
        let _ = neg.f_mul_scalar_(b2)?.f_add_(grad)?;
        let _ = self
            .exp_avg_sq
            .f_mul_scalar_(b3)?
            .f_addcmul_(&(&*neg * (1.0 - b3)), neg)?;
        let denom = (self.exp_avg_sq.f_sqrt()? / bias_correction3.sqrt()).f_add_scalar_(s.eps)?;
        let step_size_diff = lr * b2 / bias_correction2;
        let step_size = lr / bias_correction1;
        if s.no_prox {
            let _ = w.f_mul_scalar_(1.0 - lr * s.weight_decay)?;
        }
        let _ = w.f_addcdiv_(&(&self.exp_avg * -step_size), &denom)?;
        let _ = w.f_addcdiv_(&(&self.exp_avg_diff * -step_size_diff), &denom)?;
        if !s.no_prox {
            let _ = w.f_div_scalar_(1.0 + lr * s.weight_decay)?;
        }
        neg.f_copy_(&grad.f_neg()?)?;
        Ok(())
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        vec![
            ("exp_avg", &self.exp_avg),
            ("exp_avg_sq", &self.exp_avg_sq),
            ("exp_avg_diff", &self.exp_avg_diff),
            ("neg_pre_grad", &self.neg_pre_grad),
        ]
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        vec![
            ("exp_avg", &mut self.exp_avg),
            ("exp_avg_sq", &mut self.exp_avg_sq),
            ("exp_avg_diff", &mut self.exp_avg_diff),
            ("neg_pre_grad", &mut self.neg_pre_grad),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first step has no gradient difference: d₁ = 0, and with ε = 0 the step is an
    /// Adam-like sign step, w₁ = −η sign(g) (m̂₁ = g, n̂₁ = g²).
    #[test]
    fn the_first_step_is_a_sign_step() {
        let w = Tensor::from_slice(&[0.0f64, 0.0]);
        let mut params = ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap();
        let s = AdanSettings {
            lr: 0.5,
            eps: 0.0,
            betas: (0.5, 0.5, 0.75),
            ..AdanSettings::default()
        };
        let mut rule = AdanRule::new(&params, s).unwrap();
        rule.update(&mut params, &Tensor::from_slice(&[2.0f64, -4.0]), 1, 1.0)
            .unwrap();
        assert_eq!(rule.exp_avg_diff.double_value(&[0]), 0.0);
        assert_eq!(Vec::<f64>::try_from(params.flat()).unwrap(), [-0.5, 0.5]);
    }
}
