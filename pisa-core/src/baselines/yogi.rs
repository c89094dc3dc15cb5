//! Yogi, numerically equal to `torch_optimizer.Yogi` of the PyPI package `torch-optimizer` 0.3.0
//! (bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t, and both moments
//! starting at `initial_accumulator` (as the TensorFlow Addons implementation the package follows):
//! 1. coupled weight decay: g_t ← g_t + wd · w (when wd ≠ 0);
//! 2. m_t = β₁ m_{t−1} + (1 − β₁) g_t;
//! 3. v_t = v_{t−1} − (1 − β₂) sign(v_{t−1} − g_t²) g_t² (Yogi's additive second moment);
//! 4. w ← w − η_t / (1 − β₁ᵗ) · m_t / (√v_t / √(1 − β₂ᵗ) + ε).
//!
//! # References
//! Zaheer, Reddi, Sachan, Kale & Kumar, "Adaptive Methods for Nonconvex Optimization",
//! NeurIPS 2018; reference code <https://github.com/jettify/pytorch-optimizer> (PyPI
//! `torch-optimizer` 0.3.0, `torch_optimizer/yogi.py`).

use super::driver::UpdateRule;
use super::{add_scaled, add_scaled_};
use crate::error::{non_negative, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of Yogi (`name = "yogi"`). Defaults are those of `torch-optimizer` 0.3.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YogiSettings {
    /// Learning rate η > 0 (default 1e-2).
    pub lr: f64,
    /// (β₁, β₂), each in [0, 1) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε ≥ 0 added to the denominator (default 1e-3, Yogi's paper value; not Adam's 1e-8).
    pub eps: f64,
    /// Initial value ≥ 0 of both moments m₀ and v₀ (default 1e-6).
    pub initial_accumulator: f64,
    /// Coupled (L2) weight decay wd ≥ 0 added to the gradient (default 0).
    pub weight_decay: f64,
}

impl Default for YogiSettings {
    fn default() -> Self {
        YogiSettings {
            lr: 1e-2,
            betas: (0.9, 0.999),
            eps: 1e-3,
            initial_accumulator: 1e-6,
            weight_decay: 0.0,
        }
    }
}

impl YogiSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        super::adam::validate_adam_like(self.lr, self.betas, self.eps, self.weight_decay)?;
        non_negative("initial_accumulator", self.initial_accumulator)
    }
}

/// The Yogi update rule with its moments.
pub struct YogiRule {
    settings: YogiSettings,
    /// m, the first moment.
    exp_avg: Tensor,
    /// v, the second moment.
    exp_avg_sq: Tensor,
}

impl YogiRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: YogiSettings) -> Result<Self> {
        settings.validate()?;
        let init = || params.flat().f_full_like(settings.initial_accumulator);
        Ok(YogiRule {
            exp_avg: init()?,
            exp_avg_sq: init()?,
            settings,
        })
    }
}

impl UpdateRule for YogiRule {
    fn name(&self) -> &'static str {
        "yogi"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let s = &self.settings;
        let mut w = params.flat().shallow_clone();
        let lr = s.lr * lr_factor;
        let (b1, b2) = s.betas;
        let t = step as f64;
        let bias_correction1 = 1.0 - b1.powf(t);
        let bias_correction2 = 1.0 - b2.powf(t);
        let grad = if s.weight_decay != 0.0 {
            add_scaled(grad, &w, s.weight_decay)?
        } else {
            grad.shallow_clone()
        };
        let (m, v) = (&mut self.exp_avg, &mut self.exp_avg_sq);
        let _ = m.f_mul_scalar_(b1)?;
        add_scaled_(m, &grad, 1.0 - b1)?;
        let grad_squared = grad.f_mul(&grad)?;
        // addcmul_(sign, g², value=c) computes v + (c·sign)·g²: the same with c folded into sign.
        let sign = v.f_sub(&grad_squared)?.f_sign_()?;
        let _ = v.f_addcmul_(&(sign * -(1.0 - b2)), &grad_squared)?;
        let denom = (v.f_sqrt()? / bias_correction2.sqrt()).f_add_scalar_(s.eps)?;
        let _ = w.f_addcdiv_(&(&*m * -(lr / bias_correction1)), &denom)?;
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

    /// v moves additively by (1 − β₂) g² towards g², never multiplicatively: from v₀ = 0 with
    /// g = 2 it grows by exactly (1 − β₂)·4 per step while v < g².
    #[test]
    fn the_second_moment_moves_additively() {
        let w = Tensor::from_slice(&[0.0f64]);
        let mut params = ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap();
        let s = YogiSettings {
            initial_accumulator: 0.0,
            betas: (0.9, 0.75),
            ..YogiSettings::default()
        };
        let mut rule = YogiRule::new(&params, s).unwrap();
        let g = Tensor::from_slice(&[2.0f64]);
        for t in 1..=3u64 {
            rule.update(&mut params, &g, t, 1.0).unwrap();
            assert_eq!(rule.exp_avg_sq.double_value(&[0]), t as f64);
        }
    }
}
