//! Adam and AdamW, numerically equal to `torch.optim.Adam` / `torch.optim.AdamW` (PyTorch 2.11,
//! `amsgrad=False`, `maximize=False`; bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t:
//! 1. Adam (coupled decay): g_t ← g_t + wd · w.  AdamW (decoupled): w ← w (1 − η_t wd).
//! 2. m_t = β₁ m_{t−1} + (1 − β₁) g_t  (PyTorch computes it as `lerp`).
//! 3. v_t = β₂ v_{t−1} + (1 − β₂) g_t².
//! 4. w ← w − η_t / (1 − β₁ᵗ) · m_t / (√v_t / √(1 − β₂ᵗ) + ε).
//!
//! # References
//! Kingma & Ba, "Adam", ICLR 2015; Loshchilov & Hutter, "Decoupled Weight Decay
//! Regularization", ICLR 2019.

use super::add_scaled;
use super::driver::UpdateRule;
use crate::error::{non_negative, positive, unit_interval, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of Adam / AdamW. Defaults are PyTorch's (AdamW's weight decay 0.01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamSettings {
    /// Learning rate η (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε added to the denominator (default 1e-8).
    pub eps: f64,
    /// Weight decay: coupled (L2 in the gradient) for Adam, decoupled for AdamW.
    pub weight_decay: f64,
    /// Use the fused CPU kernel for f32/f64 CPU parameters (default true), like PyTorch's
    /// `fused=True`: same formulas, one pass over memory, rounding may differ in the last bits.
    pub fused: bool,
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            fused: true,
        }
    }
}

impl AdamSettings {
    /// AdamW's defaults (weight decay 0.01, as PyTorch).
    pub fn adamw() -> Self {
        AdamSettings {
            weight_decay: 1e-2,
            ..Self::default()
        }
    }

    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        validate_adam_like(self.lr, self.betas, self.eps, self.weight_decay)
    }
}

/// Validates the settings every Adam-family rule shares (also LAMB's).
pub(crate) fn validate_adam_like(lr: f64, betas: (f64, f64), eps: f64, weight_decay: f64) -> Result<()> {
    positive("lr", lr)?;
    unit_interval("betas.0", betas.0)?;
    unit_interval("betas.1", betas.1)?;
    non_negative("eps", eps)?;
    non_negative("weight_decay", weight_decay)
}

/// The Adam / AdamW update rule with its moments.
pub struct AdamRule {
    settings: AdamSettings,
    decoupled: bool,
    moments: AdamMoments,
}

impl AdamRule {
    /// A rule for `params`; `decoupled` selects AdamW.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: AdamSettings, decoupled: bool) -> Result<Self> {
        settings.validate()?;
        Ok(AdamRule {
            settings,
            decoupled,
            moments: AdamMoments::zeros_like(params.flat())?,
        })
    }
}

/// Adam's first and second moments, with the update itself. Shared with Muon, which runs
/// AdamW on its non-matrix parameters.
pub(crate) struct AdamMoments {
    /// m, the first moment.
    pub exp_avg: Tensor,
    /// v, the second moment.
    pub exp_avg_sq: Tensor,
}

impl AdamMoments {
    /// Zero moments shaped like `like`.
    pub(crate) fn zeros_like(like: &Tensor) -> Result<Self> {
        Ok(AdamMoments {
            exp_avg: like.f_zeros_like()?,
            exp_avg_sq: like.f_zeros_like()?,
        })
    }

    /// One Adam step on `w` (updated in place) with learning rate `lr` at step `step` (from 1).
    pub(crate) fn step(
        &mut self,
        w: &mut Tensor,
        grad: &Tensor,
        s: &AdamSettings,
        decoupled: bool,
        step: u64,
        lr: f64,
    ) -> Result<()> {
        let (m, v) = (&mut self.exp_avg, &mut self.exp_avg_sq);
        let (b1, b2) = s.betas;
        if s.fused
            && crate::kernels::supported(w.kind(), w.device())
            && grad.is_contiguous()
            && w.is_contiguous()
        {
            let scalars = crate::kernels::AdamScalars {
                coupled_decay: if decoupled { 0.0 } else { s.weight_decay },
                decay: if decoupled { 1.0 - lr * s.weight_decay } else { 1.0 },
                beta1: b1,
                beta2: b2,
                eps: s.eps,
                step_size: lr / (1.0 - b1.powf(step as f64)),
                bias_correction2_sqrt: (1.0 - b2.powf(step as f64)).sqrt(),
            };
            return crate::kernels::adam_step(w, grad, m, v, &scalars);
        }
        let grad = if s.weight_decay != 0.0 && !decoupled {
            add_scaled(grad, w, s.weight_decay)?
        } else {
            grad.shallow_clone()
        };
        if decoupled && s.weight_decay != 0.0 {
            let _ = w.f_mul_scalar_(1.0 - lr * s.weight_decay)?;
        }
        let _ = m.f_lerp_(&grad, 1.0 - b1)?;
        let _ = v.f_mul_scalar_(b2)?.f_addcmul_(&grad, &(&grad * (1.0 - b2)))?;
        // PyTorch's `beta ** step` is libm's pow, as powf (powi may differ in the last bit).
        let bc1 = 1.0 - b1.powf(step as f64);
        let bc2_sqrt = (1.0 - b2.powf(step as f64)).sqrt();
        let denom = (v.f_sqrt()? / bc2_sqrt).f_add_scalar(s.eps)?;
        let _ = w.f_addcdiv_(&(&*m * (-lr / bc1)), &denom)?;
        Ok(())
    }
}

impl UpdateRule for AdamRule {
    fn name(&self) -> &'static str {
        if self.decoupled {
            "adamw"
        } else {
            "adam"
        }
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let mut w = params.flat().shallow_clone();
        let lr = self.settings.lr * lr_factor;
        self.moments
            .step(&mut w, grad, &self.settings, self.decoupled, step, lr)
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        vec![
            ("exp_avg", &self.moments.exp_avg),
            ("exp_avg_sq", &self.moments.exp_avg_sq),
        ]
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        vec![
            ("exp_avg", &mut self.moments.exp_avg),
            ("exp_avg_sq", &mut self.moments.exp_avg_sq),
        ]
    }
}
