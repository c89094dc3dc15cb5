//! SGD with momentum, numerically equal to `torch.optim.SGD` (PyTorch 2.11, `maximize=False`,
//! bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t, momentum μ and
//! dampening τ:
//! 1. coupled weight decay: g_t ← g_t + wd · w (when wd ≠ 0);
//! 2. when μ ≠ 0: b_1 = g_1 (the first buffer is a copy of the gradient, without dampening),
//!    b_t = μ b_{t−1} + (1 − τ) g_t for t > 1; the direction is d_t = g_t + μ b_t (Nesterov)
//!    or d_t = b_t; when μ = 0, d_t = g_t;
//! 3. w ← w − η_t d_t.
//!
//! # References
//! Robbins & Monro, "A Stochastic Approximation Method", 1951; Polyak, "Some methods of
//! speeding up the convergence of iteration methods", 1964; Sutskever et al., "On the
//! importance of initialization and momentum in deep learning", ICML 2013 (the Nesterov form).

use super::driver::UpdateRule;
use super::{add_scaled, add_scaled_};
use crate::error::{non_negative, positive, unit_interval, Error, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of SGD (`name = "sgd"`). Defaults are PyTorch's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdSettings {
    /// Learning rate η > 0 (default 1e-3).
    pub lr: f64,
    /// Momentum μ ∈ [0, 1) (default 0: plain SGD, no buffer).
    pub momentum: f64,
    /// Dampening τ ∈ [0, 1] of the gradient in the momentum buffer (default 0).
    pub dampening: f64,
    /// Nesterov momentum (default false); needs μ > 0 and τ = 0.
    pub nesterov: bool,
    /// Coupled (L2) weight decay wd ≥ 0 added to the gradient (default 0).
    pub weight_decay: f64,
}

impl Default for SgdSettings {
    fn default() -> Self {
        SgdSettings {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl SgdSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        positive("lr", self.lr)?;
        unit_interval("momentum", self.momentum)?;
        if !(0.0..=1.0).contains(&self.dampening) {
            return Err(Error::invalid("dampening", self.dampening, "must lie in [0, 1]"));
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::invalid(
                "nesterov",
                true,
                format!(
                    "Nesterov momentum needs momentum > 0 and dampening = 0 (got momentum = {}, \
                     dampening = {})",
                    self.momentum, self.dampening
                ),
            ));
        }
        non_negative("weight_decay", self.weight_decay)
    }
}

/// The SGD update rule with its momentum buffer (allocated only when μ ≠ 0).
pub struct SgdRule {
    settings: SgdSettings,
    momentum_buffer: Option<Tensor>,
}

impl SgdRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: SgdSettings) -> Result<Self> {
        settings.validate()?;
        let momentum_buffer = if settings.momentum != 0.0 {
            Some(params.zeros()?)
        } else {
            None
        };
        Ok(SgdRule {
            settings,
            momentum_buffer,
        })
    }
}

/// One SGD step on `w` (in place) with learning rate `lr` at step `step` (from 1); `buffer` is
/// the momentum buffer, `None` when μ = 0.
pub(crate) fn sgd_step(
    w: &mut Tensor,
    grad: &Tensor,
    buffer: Option<&mut Tensor>,
    s: &SgdSettings,
    step: u64,
    lr: f64,
) -> Result<()> {
    let mut d = if s.weight_decay != 0.0 {
        add_scaled(grad, w, s.weight_decay)?
    } else {
        grad.shallow_clone()
    };
    if let Some(buf) = buffer {
        if step == 1 {
            buf.f_copy_(&d)?;
        } else {
            let _ = buf.f_mul_scalar_(s.momentum)?;
            add_scaled_(buf, &d, 1.0 - s.dampening)?;
        }
        d = if s.nesterov {
            add_scaled(&d, buf, s.momentum)?
        } else {
            buf.shallow_clone()
        };
    }
    add_scaled_(w, &d, -lr)
}

impl UpdateRule for SgdRule {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let mut w = params.flat().shallow_clone();
        let lr = self.settings.lr * lr_factor;
        sgd_step(
            &mut w,
            grad,
            self.momentum_buffer.as_mut(),
            &self.settings,
            step,
            lr,
        )
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        self.momentum_buffer
            .iter()
            .map(|b| ("momentum_buffer", b))
            .collect()
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        self.momentum_buffer
            .iter_mut()
            .map(|b| ("momentum_buffer", b))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    fn t(v: &[f64]) -> Tensor {
        Tensor::from_slice(v)
    }

    /// Heavy ball by hand: b₁ = g₁, b₂ = μb₁ + g₂; w₂ = w₀ − η(b₁ + b₂).
    #[test]
    fn momentum_buffer_starts_as_the_gradient() {
        let s = SgdSettings {
            lr: 0.5,
            momentum: 0.9,
            ..SgdSettings::default()
        };
        let mut w = t(&[1.0, -2.0]);
        let mut buf = w.zeros_like();
        sgd_step(&mut w, &t(&[1.0, 1.0]), Some(&mut buf), &s, 1, s.lr).unwrap();
        sgd_step(&mut w, &t(&[2.0, 0.0]), Some(&mut buf), &s, 2, s.lr).unwrap();
        let close = |got: Vec<f64>, want: [f64; 2]| {
            assert!(
                got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-15),
                "{got:?} != {want:?}"
            );
        };
        close(Vec::<f64>::try_from(&buf).unwrap(), [2.9, 0.9]);
        close(
            Vec::<f64>::try_from(&w).unwrap(),
            [1.0 - 0.5 * 3.9, -2.0 - 0.5 * 1.9],
        );
    }

    #[test]
    fn nesterov_needs_momentum_without_dampening() {
        let bad = SgdSettings {
            nesterov: true,
            ..SgdSettings::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidSetting { name: "nesterov", .. })
        ));
        let bad = SgdSettings {
            nesterov: true,
            momentum: 0.9,
            dampening: 0.1,
            ..SgdSettings::default()
        };
        assert!(bad.validate().is_err());
        let plain = SgdSettings::default();
        let mut w = Tensor::ones([3], (Kind::Float, tch::Device::Cpu));
        let ones = w.ones_like();
        sgd_step(&mut w, &ones, None, &plain, 1, 0.25).unwrap();
        assert_eq!(Vec::<f32>::try_from(&w).unwrap(), [0.75; 3]);
    }
}
