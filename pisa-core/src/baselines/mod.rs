//! Baseline optimizers in Rust, numerically equal to their references on the same inputs, with
//! savable state. Each is an [`driver::UpdateRule`] run by [`driver::Baseline`]:
//!
//! - [`sgd`]: SGD with momentum (`torch.optim.SGD`);
//! - [`rmsprop`]: RMSprop (`torch.optim.RMSprop`);
//! - [`adam`]: Adam and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`);
//! - [`adabelief`]: AdaBelief (the authors' `adabelief-pytorch` 0.2.1);
//! - [`radam`]: RAdam (`torch.optim.RAdam`);
//! - [`adabound`]: AdaBound and AMSBound (the authors' `adabound` 0.0.5);
//! - [`yogi`]: Yogi (`torch-optimizer` 0.3.0);
//! - [`adan`]: Adan (the authors' code as `timm.optim.Adan` 1.0.31);
//! - [`msvag`]: M-SVAG (the AdaBelief repository's `MSVAG`);
//! - [`fromage`]: Fromage (the authors' code, as the AdaBelief repository ships it);
//! - [`lamb`]: LAMB (You et al. 2019, Algorithm 2);
//! - [`muon`]: Muon on matrices (`torch.optim.Muon`) with AdamW on the other parameters.
//!
//! Each is built from its configuration like any optimizer:
//!
//! ```
//! use pisa_core::OptimizerConfig;
//! use tch::{Device, Kind, Tensor};
//!
//! // ½‖W − 1‖² + ½‖b − 1‖²: Muon moves the matrix W, AdamW the bias b.
//! let w = Tensor::zeros([4, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
//! let b = Tensor::zeros([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
//! let cfg = serde_json::json!({ "name": "muon", "lr": 0.02, "adamw_lr": 0.01 });
//! let vars = vec![("w".to_string(), w.shallow_clone()), ("b".to_string(), b.shallow_clone())];
//! let mut opt = OptimizerConfig::from_value(cfg)?.build_named(vars)?;
//! let half_sq = |t: &Tensor| (t - 1.0).square().sum(Kind::Float) * 0.5;
//! for _ in 0..3 {
//!     opt.step(&mut |_| half_sq(&w) + half_sq(&b))?;
//! }
//! assert!(w.min().double_value(&[]) > 0.0 && b.min().double_value(&[]) > 0.0);
//! # Ok::<(), pisa_core::Error>(())
//! ```
//!
//! The golden tests (`tests/baselines.rs`, values from `tests/golden/baselines.py`) compare
//! every rule with its reference step by step. To agree bit for bit the rules follow their
//! reference's order of operations, including its fused multiply-adds (`add_scaled_`), and
//! compute host scalars such as β₁ᵗ the way Python does (`powf`, i.e. libm's `pow`).

use crate::error::Result;
use tch::Tensor;

pub mod adabelief;
pub mod adabound;
pub mod adam;
pub mod adan;
pub mod driver;
pub mod fromage;
pub mod lamb;
pub mod msvag;
pub mod muon;
pub mod radam;
pub mod rmsprop;
pub mod sgd;
pub mod yogi;

/// w ← w + α·x with a single rounding, bit for bit PyTorch's `w.add_(x, alpha=α)`.
///
/// PyTorch evaluates `add` with an `alpha` as a fused multiply-add (its CPU and CUDA kernels),
/// which `w + x * α` (two roundings) does not reproduce, and tch 0.24 has no `alpha` argument.
/// `addcmul(x, α)` with α a 0-dim tensor of w's dtype computes 1·x·α + w, which libtorch
/// evaluates as the same fused multiply-add; the golden tests check that it matches.
pub(crate) fn add_scaled_(w: &mut Tensor, x: &Tensor, alpha: f64) -> Result<()> {
    let alpha = Tensor::f_scalar_tensor(alpha, (w.f_kind()?, w.device()))?;
    let _ = w.f_addcmul_(x, &alpha)?;
    Ok(())
}

/// w + α·x as a new tensor, bit for bit PyTorch's `w.add(x, alpha=α)` (see [`add_scaled_`]).
pub(crate) fn add_scaled(w: &Tensor, x: &Tensor, alpha: f64) -> Result<Tensor> {
    let alpha = Tensor::f_scalar_tensor(alpha, (w.f_kind()?, w.device()))?;
    Ok(w.f_addcmul(x, &alpha)?)
}
