//! AdaBelief, numerically equal to the authors' reference implementation `adabelief-pytorch`
//! 0.2.1 (`AdaBelief`, `amsgrad=False`; bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t at step t (from 1), learning rate η_t = lr · r_t:
//! 1. weight decay: decoupled w ← w (1 − η_t wd), or with `fixed_decay` w ← w (1 − wd);
//!    coupled (`weight_decouple = false`): g_t ← g_t + wd · w;
//! 2. m_t = β₁ m_{t−1} + (1 − β₁) g_t;
//! 3. s_t = β₂ s_{t−1} + (1 − β₂)(g_t − m_t)² + ε — the reference adds ε to the stored s_t in
//!    place at every step (so s_t carries the accumulated ε's, not only the denominator);
//! 4. without rectification: w ← w − η_t / (1 − β₁ᵗ) · m_t / (√s_t / √(1 − β₂ᵗ) + ε);
//! 5. with rectification (RAdam's): ρ_∞ = 2/(1 − β₂) − 1, ρ_t = ρ_∞ − 2tβ₂ᵗ/(1 − β₂ᵗ);
//!    when ρ_t ≥ 5, with
//!    k_t = √((1 − β₂ᵗ)(ρ_t − 4)/(ρ_∞ − 4)·(ρ_t − 2)/ρ_t·ρ_∞/(ρ_∞ − 2)) / (1 − β₁ᵗ):
//!    w ← w − η_t k_t m_t / (√s_t + ε);
//!    otherwise, when `degenerated_to_sgd`, w ← w − η_t m_t / (1 − β₁ᵗ) (an SGD-with-momentum
//!    step), else no update.
//!
//! # References
//! Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
//! Gradients", NeurIPS 2020; reference code <https://github.com/juntang-zhuang/Adabelief-Optimizer>
//! (PyPI `adabelief-pytorch` 0.2.1); Liu et al., "On the Variance of the Adaptive Learning Rate
//! and Beyond" (RAdam), ICLR 2020.

use super::driver::UpdateRule;
use super::{add_scaled, add_scaled_};
use crate::error::{non_negative, positive, unit_interval, Error, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of AdaBelief (`name = "adabelief"`). Defaults are those of the authors'
/// `adabelief-pytorch` 0.2.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaBeliefSettings {
    /// Learning rate η > 0 (default 1e-3).
    pub lr: f64,
    /// (β₁, β₂), each in [0, 1) (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// ε ≥ 0, added to s_t and to the denominator (default 1e-16).
    pub eps: f64,
    /// Weight decay wd ≥ 0 (default 0); decoupled or coupled per `weight_decouple`.
    pub weight_decay: f64,
    /// Decoupled (AdamW-style) weight decay (default true).
    pub weight_decouple: bool,
    /// With decoupled decay, shrink by (1 − wd) rather than (1 − η wd) (default false).
    pub fixed_decay: bool,
    /// RAdam-style rectification of the adaptive step (default true).
    pub rectify: bool,
    /// With rectification, take an SGD-with-momentum step while ρ_t < 5 (default true);
    /// otherwise skip the update in those early steps.
    pub degenerated_to_sgd: bool,
    /// The AMSGrad variant: not implemented, must be false (default false).
    pub amsgrad: bool,
}

impl Default for AdaBeliefSettings {
    fn default() -> Self {
        AdaBeliefSettings {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-16,
            weight_decay: 0.0,
            weight_decouple: true,
            fixed_decay: false,
            rectify: true,
            degenerated_to_sgd: true,
            amsgrad: false,
        }
    }
}

impl AdaBeliefSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        positive("lr", self.lr)?;
        unit_interval("betas.0", self.betas.0)?;
        unit_interval("betas.1", self.betas.1)?;
        non_negative("eps", self.eps)?;
        non_negative("weight_decay", self.weight_decay)?;
        if self.fixed_decay && self.weight_decay >= 1.0 {
            return Err(Error::invalid(
                "weight_decay",
                self.weight_decay,
                "with fixed_decay the weights shrink by (1 - weight_decay) per step: must be < 1",
            ));
        }
        if self.amsgrad {
            return Err(Error::invalid(
                "amsgrad",
                true,
                "the AMSGrad variant of AdaBelief is not implemented",
            ));
        }
        Ok(())
    }
}

/// AdaBelief's moments m and s, with the update itself.
pub(crate) struct AdaBeliefState {
    /// m, the first moment.
    pub exp_avg: Tensor,
    /// s, the "belief": the average of (g − m)² plus the accumulated ε.
    pub exp_avg_var: Tensor,
}

impl AdaBeliefState {
    /// Zero moments shaped like `like`.
    pub(crate) fn zeros_like(like: &Tensor) -> Result<Self> {
        Ok(AdaBeliefState {
            exp_avg: like.f_zeros_like()?,
            exp_avg_var: like.f_zeros_like()?,
        })
    }

    /// One AdaBelief step on `w` (in place) with learning rate `lr` at step `step` (from 1),
    /// in the reference's order of operations.
    pub(crate) fn step(
        &mut self,
        w: &mut Tensor,
        grad: &Tensor,
        s: &AdaBeliefSettings,
        step: u64,
        lr: f64,
    ) -> Result<()> {
        let (b1, b2) = s.betas;
        let mut grad = grad.shallow_clone();
        if s.weight_decouple {
            let keep = if s.fixed_decay {
                1.0 - s.weight_decay
            } else {
                1.0 - lr * s.weight_decay
            };
            if keep != 1.0 {
                let _ = w.f_mul_scalar_(keep)?;
            }
        } else if s.weight_decay != 0.0 {
            grad = add_scaled(&grad, w, s.weight_decay)?;
        }
        // Python's `beta ** step` is libm's pow, which powf calls too (powi may differ).
        let t = step as f64;
        let bias_correction1 = 1.0 - b1.powf(t);
        let bias_correction2 = 1.0 - b2.powf(t);
        let (m, var) = (&mut self.exp_avg, &mut self.exp_avg_var);
        let _ = m.f_mul_scalar_(b1)?;
        add_scaled_(m, &grad, 1.0 - b1)?;
        let residual = &grad - &*m;
        let _ = var
            .f_mul_scalar_(b2)?
            .f_addcmul_(&residual, &(&residual * (1.0 - b2)))?;
        let _ = var.f_add_scalar_(s.eps)?;
        if !s.rectify {
            let denom = (var.f_sqrt()? / bias_correction2.sqrt()).f_add_scalar(s.eps)?;
            let _ = w.f_addcdiv_(&(&*m * -(lr / bias_correction1)), &denom)?;
            return Ok(());
        }
        let beta2_t = b2.powf(t);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * beta2_t / (1.0 - beta2_t);
        if rho_t >= 5.0 {
            // The reference's expression, in its order of evaluation.
            let step_size = ((1.0 - beta2_t) * (rho_t - 4.0) / (rho_inf - 4.0) * (rho_t - 2.0) / rho_t
                * rho_inf
                / (rho_inf - 2.0))
                .sqrt()
                / (1.0 - b1.powf(t));
            let denom = var.f_sqrt()?.f_add_scalar(s.eps)?;
            let _ = w.f_addcdiv_(&(&*m * (-step_size * lr)), &denom)?;
        } else if s.degenerated_to_sgd {
            let step_size = 1.0 / (1.0 - b1.powf(t));
            add_scaled_(w, m, -step_size * lr)?;
        }
        Ok(())
    }
}

/// The AdaBelief update rule with its moments.
pub struct AdaBeliefRule {
    settings: AdaBeliefSettings,
    state: AdaBeliefState,
}

impl AdaBeliefRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: AdaBeliefSettings) -> Result<Self> {
        settings.validate()?;
        Ok(AdaBeliefRule {
            settings,
            state: AdaBeliefState::zeros_like(params.flat())?,
        })
    }
}

impl UpdateRule for AdaBeliefRule {
    fn name(&self) -> &'static str {
        "adabelief"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let mut w = params.flat().shallow_clone();
        let lr = self.settings.lr * lr_factor;
        self.state.step(&mut w, grad, &self.settings, step, lr)
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        vec![
            ("exp_avg", &self.state.exp_avg),
            ("exp_avg_var", &self.state.exp_avg_var),
        ]
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        vec![
            ("exp_avg", &mut self.state.exp_avg),
            ("exp_avg_var", &mut self.state.exp_avg_var),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With β₂ = 0.999, ρ_t passes 5 at t = 6: steps 1–5 are SGD-with-momentum steps.
    #[test]
    fn rectification_switches_from_sgd_to_adaptive_at_step_6() {
        let s = AdaBeliefSettings {
            lr: 1.0,
            ..AdaBeliefSettings::default()
        };
        let mut w = Tensor::from_slice(&[0.0f64]);
        let mut state = AdaBeliefState::zeros_like(&w).unwrap();
        let g = Tensor::from_slice(&[1.0f64]);
        state.step(&mut w, &g, &s, 1, s.lr).unwrap();
        // m₁ = 0.1 g and the step is m₁ / (1 − β₁) = g.
        assert!((w.double_value(&[0]) + 1.0).abs() < 1e-15);
        for t in 2..=5 {
            let before = w.double_value(&[0]);
            state.step(&mut w, &g, &s, t, s.lr).unwrap();
            // Constant g: m̂ = g, an SGD step of exactly η g.
            assert!((w.double_value(&[0]) - before + 1.0).abs() < 1e-12, "step {t}");
        }
        let before = w.double_value(&[0]);
        state.step(&mut w, &g, &s, 6, s.lr).unwrap();
        let moved = before - w.double_value(&[0]);
        // The rectified step is small at first: k₆ ≈ 4e-3, m₆/√s₆ ≈ 0.47/0.055.
        assert!(moved > 0.0 && moved < 0.1, "rectified step {moved}");
    }

    #[test]
    fn amsgrad_is_refused() {
        let s = AdaBeliefSettings {
            amsgrad: true,
            ..AdaBeliefSettings::default()
        };
        assert!(matches!(
            s.validate(),
            Err(Error::InvalidSetting { name: "amsgrad", .. })
        ));
    }
}
