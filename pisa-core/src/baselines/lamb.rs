//! LAMB, the layer-wise adaptive large-batch optimizer of You et al. (2019), Algorithm 2, with
//! φ(z) = z. PyTorch has no LAMB; the golden values come from a float64 transcription of the
//! paper's algorithm (`tests/golden/baselines.py`).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t, for every variable
//! (tensor) x⁽ⁱ⁾ of the parameter set:
//! 1. m_t = β₁ m_{t−1} + (1 − β₁) g_t;  v_t = β₂ v_{t−1} + (1 − β₂) g_t²;
//! 2. m̂_t = m_t / (1 − β₁ᵗ);  v̂_t = v_t / (1 − β₂ᵗ);
//! 3. u_t = m̂_t / (√v̂_t + ε) + λ x_t (the Adam ratio r_t plus weight decay);
//! 4. x_{t+1}⁽ⁱ⁾ = x_t⁽ⁱ⁾ − η_t · ‖x_t⁽ⁱ⁾‖ / ‖u_t⁽ⁱ⁾‖ · u_t⁽ⁱ⁾, the trust ratio
//!    ‖x⁽ⁱ⁾‖/‖u⁽ⁱ⁾‖ being taken as 1 when either norm is 0.
//!
//! The moments are elementwise over the flat buffer; only the trust ratio is per tensor, and
//! it stays on the device (no host synchronization per tensor).
//!
//! # References
//! You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes",
//! ICLR 2020 (arXiv:1904.00962), Algorithm 2.

use super::driver::UpdateRule;
use crate::error::Result;
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of LAMB (`name = "lamb"`). β and ε are the paper's BERT settings; the weight decay
/// defaults to 0 (the paper's BERT runs use 0.01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LambSettings {
    /// Learning rate η > 0 (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂), each in [0, 1) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε ≥ 0 in the Adam ratio m̂ / (√v̂ + ε) (default 1e-6).
    pub eps: f64,
    /// Weight decay λ ≥ 0, added to the ratio before the trust ratio is taken (default 0).
    pub weight_decay: f64,
}

impl Default for LambSettings {
    fn default() -> Self {
        LambSettings {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-6,
            weight_decay: 0.0,
        }
    }
}

impl LambSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        super::adam::validate_adam_like(self.lr, self.betas, self.eps, self.weight_decay)
    }
}

/// The LAMB update rule with its moments (flat, like the parameters).
pub struct LambRule {
    settings: LambSettings,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

impl LambRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: LambSettings) -> Result<Self> {
        settings.validate()?;
        Ok(LambRule {
            settings,
            exp_avg: params.zeros()?,
            exp_avg_sq: params.zeros()?,
        })
    }
}

/// Steps 1–3: updates the moments and returns u_t = m̂/(√v̂ + ε) + λw (flat, like `w`).
pub(crate) fn lamb_direction(
    w: &Tensor,
    grad: &Tensor,
    exp_avg: &mut Tensor,
    exp_avg_sq: &mut Tensor,
    s: &LambSettings,
    step: u64,
) -> Result<Tensor> {
    let (b1, b2) = s.betas;
    let t = step as f64;
    let _ = exp_avg.f_mul_scalar_(b1)?.f_add_(&(grad * (1.0 - b1)))?;
    let _ = exp_avg_sq
        .f_mul_scalar_(b2)?
        .f_add_(&(grad * (1.0 - b2) * grad))?;
    let m_hat = &*exp_avg / (1.0 - b1.powf(t));
    let v_hat = &*exp_avg_sq / (1.0 - b2.powf(t));
    let mut u = m_hat / v_hat.f_sqrt()?.f_add_scalar(s.eps)?;
    if s.weight_decay != 0.0 {
        u += w * s.weight_decay;
    }
    Ok(u)
}

/// Step 4 for one tensor: x ← x − η ‖x‖/‖u‖ u, with ratio 1 when a norm is 0.
pub(crate) fn trust_ratio_step(x: &mut Tensor, u: &Tensor, lr: f64) -> Result<()> {
    let (x_norm, u_norm) = (x.f_norm()?, u.f_norm()?);
    let usable = x_norm.f_gt(0.0)?.f_logical_and(&u_norm.f_gt(0.0)?)?;
    let ratio = x_norm
        .f_div(&u_norm)?
        .f_where_self(&usable, &x_norm.f_ones_like()?)?;
    let _ = x.f_sub_(&(u * (ratio * lr)))?;
    Ok(())
}

impl UpdateRule for LambRule {
    fn name(&self) -> &'static str {
        "lamb"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let lr = self.settings.lr * lr_factor;
        let flat = params.flat().shallow_clone();
        let u = lamb_direction(
            &flat,
            grad,
            &mut self.exp_avg,
            &mut self.exp_avg_sq,
            &self.settings,
            step,
        )?;
        for (mut x, u) in params.views(&flat)?.into_iter().zip(params.views(&u)?) {
            trust_ratio_step(&mut x, &u, lr)?;
        }
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

    /// The step of every tensor has length η‖x‖ (trust ratio × ‖u‖), whatever the gradient's
    /// scale: LAMB's layer-wise normalization.
    #[test]
    fn step_length_is_lr_times_weight_norm() {
        for scale in [1e-3, 1.0, 1e3] {
            let mut x = Tensor::from_slice(&[3.0f64, 4.0]);
            let u = Tensor::from_slice(&[1.0f64, -2.0]) * scale;
            let before = x.copy();
            trust_ratio_step(&mut x, &u, 0.1).unwrap();
            let moved = (&before - &x).norm().double_value(&[]);
            assert!((moved - 0.1 * 5.0).abs() < 1e-14, "{moved}");
        }
    }

    #[test]
    fn zero_norms_give_ratio_one() {
        let mut x = Tensor::from_slice(&[0.0f64, 0.0]);
        trust_ratio_step(&mut x, &Tensor::from_slice(&[1.0f64, -1.0]), 0.5).unwrap();
        assert_eq!(Vec::<f64>::try_from(&x).unwrap(), [-0.5, 0.5]);
        let mut y = Tensor::from_slice(&[1.0f64, 2.0]);
        let zero = y.zeros_like();
        trust_ratio_step(&mut y, &zero, 0.5).unwrap();
        assert_eq!(Vec::<f64>::try_from(&y).unwrap(), [1.0, 2.0]);
    }
}
