//! RMSprop, numerically equal to `torch.optim.RMSprop` (PyTorch 2.11, `maximize=False`, bit for
//! bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t, learning rate η_t = lr · r_t, smoothing α (`smoothing`),
//! momentum μ:
//! 1. coupled weight decay: g_t ← g_t + wd · w (when wd ≠ 0);
//! 2. v_t = α v_{t−1} + (1 − α) g_t²;
//! 3. centered: ḡ_t = α ḡ_{t−1} + (1 − α) g_t (PyTorch's `lerp`) and
//!    a_t = √(v_t − ḡ_t²) + ε; otherwise a_t = √v_t + ε;
//! 4. μ > 0: b_t = μ b_{t−1} + g_t / a_t and w ← w − η_t b_t; μ = 0: w ← w − η_t g_t / a_t.
//!
//! Unlike Adam there is no bias correction, and ε is added outside the square root.
//!
//! # References
//! Tieleman & Hinton, "Lecture 6.5 — RMSprop", COURSERA: Neural Networks for Machine Learning,
//! 2012; Graves, "Generating Sequences With Recurrent Neural Networks", 2013 (the centered form).

use super::driver::UpdateRule;
use super::{add_scaled, add_scaled_};
use crate::error::{non_negative, positive, unit_interval, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of RMSprop (`name = "rmsprop"`). Defaults are PyTorch's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmspropSettings {
    /// Learning rate η > 0 (default 1e-2).
    pub lr: f64,
    /// Smoothing constant α ∈ [0, 1) of the squared-gradient average (default 0.99). PyTorch
    /// calls it `alpha`, a key every baseline configuration uses for the node weights α_i.
    pub smoothing: f64,
    /// ε ≥ 0 added to the denominator, outside the square root (default 1e-8).
    pub eps: f64,
    /// Coupled (L2) weight decay wd ≥ 0 added to the gradient (default 0).
    pub weight_decay: f64,
    /// Momentum μ ∈ [0, 1) on the normalized step (default 0: no buffer).
    pub momentum: f64,
    /// Normalize by the variance estimate v − ḡ² instead of v (default false).
    pub centered: bool,
}

impl Default for RmspropSettings {
    fn default() -> Self {
        RmspropSettings {
            lr: 1e-2,
            smoothing: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

impl RmspropSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        positive("lr", self.lr)?;
        unit_interval("smoothing", self.smoothing)?;
        non_negative("eps", self.eps)?;
        non_negative("weight_decay", self.weight_decay)?;
        unit_interval("momentum", self.momentum)
    }
}

/// RMSprop's state: v, and ḡ and b when `centered` and μ > 0 ask for them.
pub(crate) struct RmspropState {
    /// v, the average of squared gradients.
    pub square_avg: Tensor,
    /// ḡ, the average gradient (centered only).
    pub grad_avg: Option<Tensor>,
    /// b, the momentum buffer (μ > 0 only).
    pub momentum_buffer: Option<Tensor>,
}

impl RmspropState {
    /// Zero state shaped like `like` for settings `s`.
    pub(crate) fn zeros_like(like: &Tensor, s: &RmspropSettings) -> Result<Self> {
        let zeros = || like.f_zeros_like();
        Ok(RmspropState {
            square_avg: zeros()?,
            grad_avg: if s.centered { Some(zeros()?) } else { None },
            momentum_buffer: if s.momentum > 0.0 { Some(zeros()?) } else { None },
        })
    }

    /// One RMSprop step on `w` (in place) with learning rate `lr`.
    pub(crate) fn step(&mut self, w: &mut Tensor, grad: &Tensor, s: &RmspropSettings, lr: f64) -> Result<()> {
        let grad = if s.weight_decay != 0.0 {
            add_scaled(grad, w, s.weight_decay)?
        } else {
            grad.shallow_clone()
        };
        let v = &mut self.square_avg;
        let _ = v
            .f_mul_scalar_(s.smoothing)?
            .f_addcmul_(&grad, &(&grad * (1.0 - s.smoothing)))?;
        let mut avg = match &mut self.grad_avg {
            Some(g_avg) => {
                let _ = g_avg.f_lerp_(&grad, 1.0 - s.smoothing)?;
                v.f_addcmul(g_avg, &g_avg.f_neg()?)?.f_sqrt_()?
            }
            None => v.f_sqrt()?,
        };
        let _ = avg.f_add_scalar_(s.eps)?;
        match &mut self.momentum_buffer {
            Some(buf) => {
                let _ = buf.f_mul_scalar_(s.momentum)?.f_addcdiv_(&grad, &avg)?;
                add_scaled_(w, buf, -lr)?;
            }
            None => {
                let _ = w.f_addcdiv_(&(&grad * -lr), &avg)?;
            }
        }
        Ok(())
    }

    fn tensors(&self) -> Vec<(&'static str, &Tensor)> {
        let mut out = vec![("square_avg", &self.square_avg)];
        out.extend(self.grad_avg.iter().map(|t| ("grad_avg", t)));
        out.extend(self.momentum_buffer.iter().map(|t| ("momentum_buffer", t)));
        out
    }

    fn tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        let mut out = vec![("square_avg", &mut self.square_avg)];
        out.extend(self.grad_avg.iter_mut().map(|t| ("grad_avg", t)));
        out.extend(self.momentum_buffer.iter_mut().map(|t| ("momentum_buffer", t)));
        out
    }
}

/// The RMSprop update rule with its state.
pub struct RmspropRule {
    settings: RmspropSettings,
    state: RmspropState,
}

impl RmspropRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: RmspropSettings) -> Result<Self> {
        settings.validate()?;
        let state = RmspropState::zeros_like(params.flat(), &settings)?;
        Ok(RmspropRule { settings, state })
    }
}

impl UpdateRule for RmspropRule {
    fn name(&self) -> &'static str {
        "rmsprop"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, _step: u64, lr_factor: f64) -> Result<()> {
        let mut w = params.flat().shallow_clone();
        self.state
            .step(&mut w, grad, &self.settings, self.settings.lr * lr_factor)
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        self.state.tensors()
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        self.state.tensors_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step from zero state: v = (1 − α)g², so w moves by η g / (√(1 − α)|g| + ε).
    #[test]
    fn first_step_by_hand() {
        let s = RmspropSettings {
            smoothing: 0.75,
            eps: 0.0,
            ..RmspropSettings::default()
        };
        let mut w = Tensor::from_slice(&[1.0f64, 1.0]);
        let mut state = RmspropState::zeros_like(&w, &s).unwrap();
        state
            .step(&mut w, &Tensor::from_slice(&[2.0f64, -4.0]), &s, 0.1)
            .unwrap();
        // √0.25 = 0.5: the step is η · sign(g) / 0.5.
        assert_eq!(Vec::<f64>::try_from(&w).unwrap(), [1.0 - 0.2, 1.0 + 0.2]);
    }

    /// Centered with a constant gradient: v − ḡ² = (1 − α)g² − (1 − α)²g² = α(1 − α)g².
    #[test]
    fn centered_uses_the_variance() {
        let s = RmspropSettings {
            smoothing: 0.5,
            eps: 0.0,
            centered: true,
            momentum: 0.5,
            ..RmspropSettings::default()
        };
        let mut w = Tensor::from_slice(&[0.0f64]);
        let mut state = RmspropState::zeros_like(&w, &s).unwrap();
        state
            .step(&mut w, &Tensor::from_slice(&[2.0f64]), &s, 1.0)
            .unwrap();
        // v = 2, ḡ = 1, √(2 − 1) = 1: b = 2, w = −2.
        assert_eq!(w.double_value(&[0]), -2.0);
        assert_eq!(state.momentum_buffer.unwrap().double_value(&[0]), 2.0);
    }
}
