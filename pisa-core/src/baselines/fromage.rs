//! Fromage, numerically equal to the authors' `Fromage` as the AdaBelief repository's CIFAR
//! experiments ship it (`PyTorch_Experiments/classification_cifar10/optimizers/Fromage.py` at
//! commit 2855178 of <https://github.com/juntang-zhuang/Adabelief-Optimizer>, forked from
//! <https://github.com/jxbz/fromage>; bit for bit on CPU).
//!
//! # Algorithm
//! With gradient g_t and learning rate η_t = lr · r_t, for every variable (tensor) x of the
//! parameter set:
//! 1. x ← x − η_t ‖x‖/‖g‖ · g, or x ← x − η_t g when either norm is 0;
//! 2. x ← x / √(1 + η_t²) (keeps the weight norm from growing).
//!
//! The ratio is formed on the device for each tensor (no host synchronization). The reference
//! has no weight decay and no state.
//!
//! # References
//! Bernstein, Vahdat, Yue & Liu, "On the Distance between Two Neural Networks and the Stability
//! of Learning", NeurIPS 2020.

use super::add_scaled_;
use super::driver::UpdateRule;
use crate::error::{positive, Result};
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Settings of Fromage (`name = "fromage"`). The reference requires lr; 0.01 is the authors'
/// recommendation and the AdaBelief repository's CIFAR setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FromageSettings {
    /// Learning rate η > 0 (default 0.01).
    pub lr: f64,
}

impl Default for FromageSettings {
    fn default() -> Self {
        FromageSettings { lr: 0.01 }
    }
}

impl FromageSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        positive("lr", self.lr)
    }
}

/// The Fromage update rule (stateless).
pub struct FromageRule {
    settings: FromageSettings,
}

impl FromageRule {
    /// A rule for `params`.
    ///
    /// # Errors
    /// Invalid settings.
    pub fn new(_params: &ParamSet, settings: FromageSettings) -> Result<Self> {
        settings.validate()?;
        Ok(FromageRule { settings })
    }
}

/// One Fromage step on the tensor `x` with gradient `g`, in the reference's order.
fn fromage_step(x: &mut Tensor, g: &Tensor, lr: f64) -> Result<()> {
    let (g_norm, x_norm) = (g.f_norm()?, x.f_norm()?);
    let usable = x_norm.f_gt(0.0)?.f_logical_and(&g_norm.f_gt(0.0)?)?;
    // Where a norm is 0 the reference steps along g itself: g · 1 is g exactly.
    let ratio = x_norm
        .f_div(&g_norm)?
        .f_where_self(&usable, &x_norm.f_ones_like()?)?;
    add_scaled_(x, &g.f_mul(&ratio)?, -lr)?;
    let _ = x.f_div_scalar_((1.0 + lr.powf(2.0)).sqrt())?;
    Ok(())
}

impl UpdateRule for FromageRule {
    fn name(&self) -> &'static str {
        "fromage"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, _step: u64, lr_factor: f64) -> Result<()> {
        let lr = self.settings.lr * lr_factor;
        let flat = params.flat().shallow_clone();
        for (mut x, g) in params.views(&flat)?.into_iter().zip(params.views(grad)?) {
            fromage_step(&mut x, &g, lr)?;
        }
        Ok(())
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        vec![]
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The step has length η‖x‖ whatever the gradient's scale, before the 1/√(1 + η²) shrink;
    /// a zero tensor takes a plain gradient step.
    #[test]
    fn relative_step_and_zero_norms() {
        for scale in [1e-3, 1.0, 1e3] {
            let mut x = Tensor::from_slice(&[3.0f64, 4.0]);
            let g = Tensor::from_slice(&[1.0f64, -2.0]) * scale;
            let before = x.copy();
            fromage_step(&mut x, &g, 0.1).unwrap();
            let moved = (&before - &x * (1.01f64).sqrt()).norm().double_value(&[]);
            assert!((moved - 0.1 * 5.0).abs() < 1e-12, "{moved}");
        }
        let mut x = Tensor::from_slice(&[0.0f64, 0.0]);
        fromage_step(&mut x, &Tensor::from_slice(&[1.0f64, -1.0]), 0.5).unwrap();
        let shrink = (1.25f64).sqrt();
        assert_eq!(Vec::<f64>::try_from(&x).unwrap(), [-0.5 / shrink, 0.5 / shrink]);
    }
}
