//! Muon on matrices, numerically equal to `torch.optim.Muon` (PyTorch 2.11; bit for bit on CPU
//! with the default bf16 Newton–Schulz), with AdamW (`torch.optim.AdamW`) on every other
//! parameter, as Keller Jordan's reference `MuonWithAuxAdam` splits them.
//!
//! # Algorithm
//! With gradient G_t at step t (from 1), learning rates η_t = lr · r_t and η'_t = adamw_lr · r_t:
//!
//! For every parameter W with at least two dimensions, viewed as a matrix A × B
//! (A = shape₀, B = the product of the other dimensions; PyTorch's Muon only takes 2-D):
//! 1. B_t = μ B_{t−1} + (1 − μ) G_t (PyTorch's `lerp`: an exponential average, not the
//!    μB + G of the paper's pseudo-code);
//! 2. B̃_t = G_t + μ(B_t − G_t) (Nesterov, PyTorch's `lerp`) or B̃_t = B_t;
//! 3. O_t = NS_k(B̃_t), k Newton–Schulz steps ([`crate::newton_schulz::NewtonSchulz`], bf16
//!    by default, as PyTorch);
//! 4. W ← W (1 − η_t wd);
//! 5. W ← W − η_t s(A, B) O_t with s = √max(1, A/B) (`original`) or 0.2 √max(A, B)
//!    (`match_rms_adamw`).
//!
//! Every other parameter (vectors such as biases and gains, scalars) takes an AdamW step with
//! η'_t and its own β, ε and weight decay ([`crate::baselines::adam`]).
//!
//! # References
//! Jordan et al., "Muon: An optimizer for hidden layers in neural networks", 2024,
//! <https://kellerjordan.github.io/posts/muon/> (reference code
//! <https://github.com/KellerJordan/Muon>); Liu et al., "Muon is Scalable for LLM Training",
//! arXiv:2502.16982 (`match_rms_adamw`).

use super::adam::{AdamMoments, AdamSettings};
use super::add_scaled_;
use super::driver::UpdateRule;
use crate::error::{non_negative, positive, unit_interval, Error, Result};
use crate::newton_schulz::NewtonSchulz;
use crate::params::ParamSet;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// How a matrix's learning rate is scaled by its shape A × B (PyTorch's `adjust_lr_fn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AdjustLr {
    /// √max(1, A/B): Keller Jordan's scaling, PyTorch's default.
    #[default]
    Original,
    /// 0.2·√max(A, B): Moonshot's, which matches the update RMS of AdamW.
    MatchRmsAdamw,
}

impl AdjustLr {
    /// The factor s(A, B) for a matrix of `rows` × `cols`, computed as PyTorch's `_adjust_lr`.
    pub fn factor(self, rows: i64, cols: i64) -> f64 {
        match self {
            AdjustLr::Original => (rows as f64 / cols as f64).max(1.0).sqrt(),
            AdjustLr::MatchRmsAdamw => 0.2 * (rows.max(cols) as f64).sqrt(),
        }
    }
}

/// Settings of Muon (`name = "muon"`). The Muon defaults are PyTorch's; the AdamW defaults
/// are those of Keller Jordan's `MuonWithAuxAdam`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MuonSettings {
    /// Learning rate η > 0 of the matrices (default 1e-3).
    pub lr: f64,
    /// Momentum μ ∈ [0, 1) (default 0.95).
    pub momentum: f64,
    /// Nesterov look-ahead (default true).
    pub nesterov: bool,
    /// Decoupled weight decay wd ≥ 0 of the matrices, W ← W(1 − η wd) (default 0.1).
    pub weight_decay: f64,
    /// Shape scaling of the learning rate (default `original`).
    pub adjust_lr_fn: AdjustLr,
    /// The Newton–Schulz iteration (default: 5 steps of PyTorch's quintic in bf16).
    pub newton_schulz: NewtonSchulz,
    /// AdamW learning rate η' > 0 of the non-matrix parameters (default 3e-4).
    pub adamw_lr: f64,
    /// AdamW (β₁, β₂), each in [0, 1) (default (0.9, 0.95)).
    pub adamw_betas: (f64, f64),
    /// AdamW ε ≥ 0 (default 1e-10).
    pub adamw_eps: f64,
    /// AdamW decoupled weight decay ≥ 0 (default 0).
    pub adamw_weight_decay: f64,
}

impl Default for MuonSettings {
    fn default() -> Self {
        MuonSettings {
            lr: 1e-3,
            momentum: 0.95,
            nesterov: true,
            weight_decay: 0.1,
            adjust_lr_fn: AdjustLr::Original,
            newton_schulz: NewtonSchulz::default(),
            adamw_lr: 3e-4,
            adamw_betas: (0.9, 0.95),
            adamw_eps: 1e-10,
            adamw_weight_decay: 0.0,
        }
    }
}

impl MuonSettings {
    /// Validates every field.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        positive("lr", self.lr)?;
        unit_interval("momentum", self.momentum)?;
        non_negative("weight_decay", self.weight_decay)?;
        if self.newton_schulz.steps == 0 {
            return Err(Error::invalid("newton_schulz.steps", 0, "must be >= 1"));
        }
        non_negative("newton_schulz.eps", self.newton_schulz.eps)?;
        positive("adamw_lr", self.adamw_lr)?;
        unit_interval("adamw_betas.0", self.adamw_betas.0)?;
        unit_interval("adamw_betas.1", self.adamw_betas.1)?;
        non_negative("adamw_eps", self.adamw_eps)?;
        non_negative("adamw_weight_decay", self.adamw_weight_decay)
    }

    /// The AdamW settings of the non-matrix parameters.
    pub fn adamw(&self) -> AdamSettings {
        AdamSettings {
            lr: self.adamw_lr,
            betas: self.adamw_betas,
            eps: self.adamw_eps,
            weight_decay: self.adamw_weight_decay,
            fused: true,
        }
    }
}

/// One Muon step on the matrix `w` (in place, A × B) with gradient `grad` and momentum buffer
/// `buf` (both A × B), learning rate `lr`.
///
/// # Errors
/// A libtorch error.
pub(crate) fn muon_step(
    w: &mut Tensor,
    grad: &Tensor,
    buf: &mut Tensor,
    s: &MuonSettings,
    lr: f64,
) -> Result<()> {
    let _ = buf.f_lerp_(grad, 1.0 - s.momentum)?;
    let update = if s.nesterov {
        grad.f_lerp(buf, s.momentum)?
    } else {
        buf.shallow_clone()
    };
    let ortho = s.newton_schulz.orthogonalize(&update)?;
    let size = w.size();
    let adjusted = lr * s.adjust_lr_fn.factor(size[0], size[1]);
    if s.weight_decay != 0.0 {
        let _ = w.f_mul_scalar_(1.0 - lr * s.weight_decay)?;
    }
    add_scaled_(w, &ortho, -adjusted)
}

/// Which optimizer a variable gets, and where its state lives.
#[derive(Debug, Clone)]
enum Slot {
    /// Muon on the A × B matrix view; the momentum buffer starts at `offset`.
    Matrix { rows: i64, cols: i64, offset: i64 },
    /// AdamW; the moments start at `offset`.
    Other { offset: i64 },
}

/// The Muon + AdamW update rule with its state: one momentum buffer for the matrices and AdamW
/// moments for the rest, each packed contiguously.
pub struct MuonRule {
    settings: MuonSettings,
    adamw: AdamSettings,
    slots: Vec<(String, Slot)>,
    momentum_buffer: Tensor,
    moments: AdamMoments,
}

impl MuonRule {
    /// A rule for `params`: Muon for variables of two or more dimensions, AdamW for the rest.
    ///
    /// # Errors
    /// Invalid settings or a libtorch error.
    pub fn new(params: &ParamSet, settings: MuonSettings) -> Result<Self> {
        settings.validate()?;
        let (mut matrix_numel, mut other_numel) = (0i64, 0i64);
        let slots = params
            .infos()
            .iter()
            .map(|info| {
                let n = info.numel as i64;
                let slot = if info.shape.len() >= 2 {
                    let rows = info.shape[0];
                    let cols = if rows == 0 { 0 } else { n / rows };
                    matrix_numel += n;
                    Slot::Matrix {
                        rows,
                        cols,
                        offset: matrix_numel - n,
                    }
                } else {
                    other_numel += n;
                    Slot::Other {
                        offset: other_numel - n,
                    }
                };
                (info.name.clone(), slot)
            })
            .collect();
        let options = (params.kind(), params.device());
        Ok(MuonRule {
            adamw: settings.adamw(),
            settings,
            slots,
            momentum_buffer: Tensor::f_zeros([matrix_numel], options)?,
            moments: AdamMoments::zeros_like(&Tensor::f_zeros([other_numel], options)?)?,
        })
    }

    /// Each variable's name with the optimizer it gets (`"muon"` or `"adamw"`), in order.
    pub fn assignment(&self) -> Vec<(&str, &'static str)> {
        self.slots
            .iter()
            .map(|(name, slot)| {
                let part = match slot {
                    Slot::Matrix { .. } => "muon",
                    Slot::Other { .. } => "adamw",
                };
                (name.as_str(), part)
            })
            .collect()
    }
}

impl UpdateRule for MuonRule {
    fn name(&self) -> &'static str {
        "muon"
    }

    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()> {
        let lr = self.settings.lr * lr_factor;
        let adamw_lr = self.adamw.lr * lr_factor;
        let flat = params.flat().shallow_clone();
        let views = params.views(&flat)?.into_iter().zip(params.views(grad)?);
        for ((w, g), (_, slot)) in views.zip(&self.slots) {
            let n = w.numel() as i64;
            match *slot {
                Slot::Matrix { rows, cols, offset } => {
                    let shape = [rows, cols];
                    let mut buf = self.momentum_buffer.f_narrow(0, offset, n)?.f_view(shape)?;
                    let mut w = w.f_view(shape)?;
                    muon_step(&mut w, &g.f_view(shape)?, &mut buf, &self.settings, lr)?;
                }
                Slot::Other { offset } => {
                    let mut part = AdamMoments {
                        exp_avg: self.moments.exp_avg.f_narrow(0, offset, n)?,
                        exp_avg_sq: self.moments.exp_avg_sq.f_narrow(0, offset, n)?,
                    };
                    let mut w = w.f_view([n])?;
                    part.step(&mut w, &g.f_view([n])?, &self.adamw, true, step, adamw_lr)?;
                }
            }
        }
        Ok(())
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        vec![
            ("momentum_buffer", &self.momentum_buffer),
            ("adamw.exp_avg", &self.moments.exp_avg),
            ("adamw.exp_avg_sq", &self.moments.exp_avg_sq),
        ]
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        vec![
            ("momentum_buffer", &mut self.momentum_buffer),
            ("adamw.exp_avg", &mut self.moments.exp_avg),
            ("adamw.exp_avg_sq", &mut self.moments.exp_avg_sq),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::newton_schulz::Precision;
    use tch::{Device, Kind};

    #[test]
    fn lr_adjustment_matches_pytorch() {
        assert_eq!(AdjustLr::Original.factor(4, 3), (4.0f64 / 3.0).sqrt());
        assert_eq!(AdjustLr::Original.factor(3, 4), 1.0);
        assert_eq!(AdjustLr::MatchRmsAdamw.factor(3, 16), 0.8);
    }

    /// Matrices (any rank ≥ 2) get Muon, everything else AdamW; state is packed per part.
    #[test]
    fn parameters_are_split_by_rank() {
        let opts = (Kind::Double, Device::Cpu);
        let vars = vec![
            ("w".to_string(), Tensor::zeros([4, 3], opts)),
            ("b".to_string(), Tensor::zeros([3], opts)),
            ("k".to_string(), Tensor::zeros([2, 3, 2], opts)),
            ("s".to_string(), Tensor::zeros([], opts)),
        ];
        let params = ParamSet::new(vars).unwrap();
        let rule = MuonRule::new(&params, MuonSettings::default()).unwrap();
        let parts: Vec<_> = rule.assignment().into_iter().map(|(_, p)| p).collect();
        assert_eq!(parts, ["muon", "adamw", "muon", "adamw"]);
        assert_eq!(rule.momentum_buffer.size(), [24]);
        assert_eq!(rule.moments.exp_avg.size(), [4]);
    }

    /// The gradient e₁₁ is its own polar factor, and so is any multiple of it (the momentum
    /// only rescales it): one step moves W by −η s(2, 3) e₁₁ = −η e₁₁ (cubic NS in f64).
    #[test]
    fn one_step_moves_along_the_polar_factor() {
        let s = MuonSettings {
            lr: 0.1,
            weight_decay: 0.0,
            newton_schulz: NewtonSchulz {
                steps: 30,
                coefficients: (1.5, -0.5, 0.0),
                precision: Precision::F64,
                ..NewtonSchulz::default()
            },
            ..MuonSettings::default()
        };
        let g = Tensor::from_slice(&[3.0f64, 0.0, 0.0, 0.0, 0.0, 0.0]).view([2, 3]);
        let mut w = g.zeros_like();
        let mut buf = g.zeros_like();
        muon_step(&mut w, &g, &mut buf, &s, s.lr).unwrap();
        let want = [-0.1, 0.0, 0.0, 0.0, 0.0, 0.0];
        let got = Vec::<f64>::try_from(w.view([-1])).unwrap();
        assert!(
            got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12),
            "{got:?}"
        );
    }
}
