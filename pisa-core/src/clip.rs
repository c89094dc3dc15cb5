//! Gradient-norm clipping, `torch.nn.utils.clip_grad_norm_`, for the training loops of every
//! domain: it runs in the hook of [`crate::Optimizer::step_with`], between a node's
//! back-propagation and its `node_step`, so that each node hands the optimizer a clipped
//! gradient.
//!
//! The domains clipped with three slightly different arithmetics before they shared this
//! function; [`ClipArithmetic`] keeps each of them, so that their runs stay bit-identical.

use crate::error::Result;
use tch::{Kind, Tensor};

/// The ε of `torch.nn.utils.clip_grad_norm_`: the coefficient is `max_norm / (norm + ε)`.
pub const CLIP_EPS: f64 = 1e-6;

/// How [`clip_grad_norm`] rounds: the precision of the norm, where the coefficient
/// `max_norm / (norm + 1e-6)` is computed and when it is applied. All three clip to the same
/// norm up to the last bits; they are kept apart because each domain's runs (and their
/// checkpoints' exact resume) depend on its own rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClipArithmetic {
    /// `torch.nn.utils.clip_grad_norm_` as PyTorch computes it, without any host
    /// synchronization: each gradient's 2-norm in its kind, cast to f32 (f64 stays f64), the
    /// total is the 2-norm of their stack; the coefficient `min(max_norm · (1 / (total + 1e-6)),
    /// 1)` is a tensor on the gradients' device (PyTorch's `max_norm / t` on a tensor is
    /// `t.reciprocal() * max_norm`), cast to each gradient's kind and multiplied into every
    /// gradient (by exactly 1 when no clipping is needed). The LLM domain.
    #[default]
    Torch,
    /// The total norm as for [`Self::Torch`], read to the host; the coefficient
    /// `max_norm / (total + 1e-6)` computed in f64 and multiplied into the gradients only when it
    /// is < 1. Differs from [`Self::Torch`] only in the coefficient's rounding (one host
    /// synchronization per call). The RL adapter (Tianshou clips with PyTorch's function).
    HostCoefficient,
    /// The norm accumulated in f64, √(Σ_j Σ g_j²) with each gradient's sum of squares read to the
    /// host; the gradients are multiplied by `max_norm / (norm + 1e-6)` (f64) only when
    /// `norm > max_norm > 0`, so `max_norm ≤ 0` disables clipping. Besides the rounding, a norm in
    /// (max_norm − 1e-6, max_norm] is left alone where PyTorch scales by 1 − O(1e-6). The LSTM
    /// domain (a host synchronization per gradient).
    Float64Norm,
}

/// Scales the gradients of `vars` (those that have one; variables without a gradient are
/// skipped) so that their global 2-norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_(vars, max_norm)` does, with the rounding of `arithmetic`.
/// Runs under `no_grad`.
///
/// Returns the total norm before clipping as a 0-dim tensor (f32 on the gradients' device for
/// [`ClipArithmetic::Torch`], which therefore never waits for the device, and
/// [`ClipArithmetic::HostCoefficient`]; f64 on the CPU for [`ClipArithmetic::Float64Norm`]);
/// 0 when no variable has a gradient.
///
/// # Errors
/// A libtorch error (gradients on several devices, for instance).
pub fn clip_grad_norm(vars: &[Tensor], max_norm: f64, arithmetic: ClipArithmetic) -> Result<Tensor> {
    let grads: Vec<Tensor> = vars.iter().map(Tensor::grad).filter(Tensor::defined).collect();
    if grads.is_empty() {
        return Ok(Tensor::from(0f32));
    }
    tch::no_grad(|| match arithmetic {
        ClipArithmetic::Torch => {
            let total = total_norm(&grads)?;
            let coef = total
                .f_add_scalar(CLIP_EPS)?
                .f_reciprocal()?
                .f_mul_scalar(max_norm)?
                .f_clamp_max(1.0)?;
            for mut g in grads {
                let _ = g.f_mul_(&coef.f_to_kind(g.kind())?)?;
            }
            Ok(total)
        }
        ClipArithmetic::HostCoefficient => {
            let total = total_norm(&grads)?;
            let scale = max_norm / (total.f_double_value(&[])? + CLIP_EPS);
            if scale < 1.0 {
                for mut g in grads {
                    let _ = g.f_mul_scalar_(scale)?;
                }
            }
            Ok(total)
        }
        ClipArithmetic::Float64Norm => {
            let squares = grads
                .iter()
                .map(|g| Ok(g.f_square()?.f_sum(Kind::Double)?.f_double_value(&[])?))
                .collect::<Result<Vec<f64>>>()?;
            let norm = squares.iter().sum::<f64>().sqrt();
            if max_norm > 0.0 && norm > max_norm {
                let scale = max_norm / (norm + CLIP_EPS);
                for mut g in grads {
                    let _ = g.f_mul_scalar_(scale)?;
                }
            }
            Ok(Tensor::from(norm))
        }
    })
}

/// The 2-norm of the stacked per-gradient 2-norms, in f32 (f64 when a gradient is f64), on the
/// gradients' device.
fn total_norm(grads: &[Tensor]) -> Result<Tensor> {
    let norms = grads
        .iter()
        .map(|g| {
            let kind = if g.kind() == Kind::Double {
                Kind::Double
            } else {
                Kind::Float
            };
            Ok(g.f_norm()?.f_to_kind(kind)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::f_stack(&norms, 0)?.f_norm()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// Variables `w` (2) and `v` (1) with gradients (3, 0) and (4): global norm 5.
    fn vars_with_grads(kind: Kind) -> [Tensor; 2] {
        let w = Tensor::zeros([2], (kind, Device::Cpu)).set_requires_grad(true);
        let v = Tensor::zeros([1], (kind, Device::Cpu)).set_requires_grad(true);
        let c = Tensor::from_slice(&[3.0, 0.0]).to_kind(kind);
        ((&w * &c).sum(kind) + (&v * 4.0).sum(kind)).backward();
        [w, v]
    }

    fn grads(vars: &[Tensor]) -> Vec<f64> {
        vars.iter()
            .flat_map(|t| Vec::<f64>::try_from(t.grad().to_kind(Kind::Double)).unwrap())
            .collect()
    }

    const ALL: [ClipArithmetic; 3] = [
        ClipArithmetic::Torch,
        ClipArithmetic::HostCoefficient,
        ClipArithmetic::Float64Norm,
    ];

    #[test]
    fn clips_to_the_closed_form() {
        for arithmetic in ALL {
            for kind in [Kind::Float, Kind::Double] {
                let vars = vars_with_grads(kind);
                let norm = clip_grad_norm(&vars, 1.0, arithmetic).unwrap();
                assert_eq!(norm.numel(), 1);
                assert!(
                    (norm.double_value(&[]) - 5.0).abs() < 1e-6,
                    "{arithmetic:?} {kind:?}"
                );
                // PyTorch: g · max_norm / (‖g‖ + 1e-6) = (3, 0, 4) / (5 + 1e-6).
                let want = [3.0, 0.0, 4.0].map(|x| x / (5.0 + CLIP_EPS));
                for (got, want) in grads(&vars).iter().zip(want) {
                    assert!(
                        (got - want).abs() <= 1e-6 * want.abs(),
                        "{arithmetic:?} {kind:?}: {got} vs {want}"
                    );
                }
                assert!((grads(&vars)[0] - 0.6).abs() < 1e-6 && (grads(&vars)[2] - 0.8).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn leaves_gradients_under_the_bound_alone() {
        for arithmetic in ALL {
            let vars = vars_with_grads(Kind::Float);
            let norm = clip_grad_norm(&vars, 10.0, arithmetic).unwrap();
            assert!((norm.double_value(&[]) - 5.0).abs() < 1e-6);
            assert_eq!(grads(&vars), [3.0, 0.0, 4.0], "{arithmetic:?}");
        }
    }

    #[test]
    fn skips_variables_without_a_gradient() {
        let [w, v] = vars_with_grads(Kind::Float);
        let none = Tensor::zeros([4], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        for arithmetic in ALL {
            let norm = clip_grad_norm(&[none.shallow_clone()], 1.0, arithmetic).unwrap();
            assert_eq!(norm.double_value(&[]), 0.0);
        }
        let vars = [w, none, v];
        let norm = clip_grad_norm(&vars, 2.5, ClipArithmetic::Torch).unwrap();
        assert!((norm.double_value(&[]) - 5.0).abs() < 1e-6);
        assert!((vars[0].grad().double_value(&[0]) - 1.5).abs() < 1e-6);
        assert!(!vars[1].grad().defined());
    }

    #[test]
    fn float64_norm_treats_a_zero_bound_as_no_clipping() {
        let vars = vars_with_grads(Kind::Float);
        let norm = clip_grad_norm(&vars, 0.0, ClipArithmetic::Float64Norm).unwrap();
        assert_eq!(norm.double_value(&[]), 5.0);
        assert_eq!(grads(&vars), [3.0, 0.0, 4.0]);
        // PyTorch (and the two other arithmetics) scale by 0 / (5 + 1e-6) = 0.
        let _ = clip_grad_norm(&vars, 0.0, ClipArithmetic::Torch).unwrap();
        assert_eq!(grads(&vars), [0.0, 0.0, 0.0]);
    }
}
