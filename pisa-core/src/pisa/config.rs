//! Settings of PISA and SISA.

use crate::error::{non_negative, positive, unit_interval, Error, Result};
use crate::schedule::PenaltySchedule;
use serde::{Deserialize, Serialize};

pub use crate::second_moment::Scheme;

/// The preconditioner Q_i of the local step (spec §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preconditioner {
    /// Q = I: w_i = w − (g + π)/(σ + ρ) (spec §3.1).
    Identity,
    /// Q = ∇²f_i(w), explicit (spec §3.2): a regularized Newton step. Small problems only: the
    /// Hessian of all parameters is formed by automatic differentiation in [`crate::Optimizer::step`].
    Hessian,
    /// Q = max(diag ∇²f_i(w), 0), the diagonal of the explicit Hessian (spec §3.2).
    DiagonalHessian,
    /// Q = diag(√v̂ + ε) from the second moment of the innovation e = g + π: SISA (spec §3.3).
    SecondMoment {
        /// The recursion (default Scheme III, as every experiment of the paper but one).
        #[serde(default = "default_scheme")]
        scheme: Scheme,
        /// β of the moving average (default 0.999; the authors used 0.995 for VGG-11).
        #[serde(default = "default_beta")]
        beta: f64,
    },
}

fn default_scheme() -> Scheme {
    Scheme::Adam
}

fn default_beta() -> f64 {
    0.999
}

impl Default for Preconditioner {
    fn default() -> Self {
        Preconditioner::SecondMoment {
            scheme: Scheme::Adam,
            beta: 0.999,
        }
    }
}

/// Normalization of the second-moment preconditioner (spec §3.3, (4.2)–(4.3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QNorm {
    /// q = √v̂ + ε, as every script of the authors runs it.
    #[default]
    None,
    /// The theory's bounded form: q = √v̂ / δ_i with δ_i = max(δ_i, ‖√v̂‖_∞) a running maximum per
    /// node, so 0 ⪯ Q ⪯ I. ρ then weighs the preconditioner directly instead of acting as 1/lr.
    InfRunningMax,
}

/// Per-node scaling of the local step by a fixed gradient norm (spec §3.3, the authors' VGG-11
/// script only; §9 Q4). A heuristic, not an exact ADMM for any scaled Lagrangian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NodeScale {
    /// No scaling: D_i = σ + ρq_i and the exact aggregation (2.9), as every other script.
    #[default]
    None,
    /// At the first iteration node i records c_i = ‖g_i⁽⁰⁾ + wd·w⁰‖₂ over all parameters
    /// (coupled weight decay included) and keeps it: the local step uses D_i = c_i(σ + ρq_i),
    /// the dual step is unchanged, and the aggregation is w = w̄ + (Σ α_i π_i / c_i)/(σ + λ)
    /// with w̄ = Σ α_i w_i (the VGG script's form, which does not shrink w̄ when λ > 0; its
    /// first point is therefore w⁰ itself). Runs on the tensor path (not the fused kernel).
    FirstGradientNorm,
}

/// Settings of PISA (`name = "pisa"`) and SISA (`name = "sisa"`).
///
/// Symbols follow the spec: σ penalty and dual step, ρ preconditioner weight, λ the L2 weight
/// in the aggregation, α_i node weights. Give either `rho` or `lr` (then ρ = 1/lr − σ, the
/// authors' convention, spec §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PisaConfig {
    /// Number of nodes m (≥ 1; default 1).
    pub nodes: usize,
    /// Node weights α_i (default 1/m).
    pub alpha: Option<Vec<f64>>,
    /// σ_0 > 0 (default 1).
    pub sigma: f64,
    /// ρ_0 ≥ 0. Exclusive with `lr`.
    pub rho: Option<f64>,
    /// Learning rate η_0 with ρ_0 = 1/η_0 − σ_0. Exclusive with `rho`.
    pub lr: Option<f64>,
    /// λ ≥ 0, the L2 weight on the global variable (spec (2.2); default 0).
    pub lambda: f64,
    /// ε of the preconditioner (default 1e-8; the authors used 1e-12 for LSTMs).
    pub eps: f64,
    /// Q_i (default: second moment, Scheme III, β = 0.999).
    pub preconditioner: Preconditioner,
    /// Normalization of the second moment (default none, as the code).
    pub qnorm: QNorm,
    /// Coupled weight decay: g ← g + wd·w before the local step (spec §5; default 0).
    pub weight_decay: f64,
    /// Decoupled weight decay: the local step is anchored at w(1 − wd·η), η = 1/(σ + ρ)
    /// (spec §5, ImageNet; default 0).
    pub decoupled_weight_decay: f64,
    /// How σ and ρ evolve (default constant).
    pub schedule: PenaltySchedule,
    /// Per-node gradient-norm scaling of the local step (default none; the authors' VGG-11
    /// script uses `first_gradient_norm`).
    pub node_scale: NodeScale,
    /// Use the fused CPU kernel where it applies (f32/f64 contiguous CPU buffers, identity or
    /// second-moment preconditioner without normalization or node scaling). Default true; it gives the same
    /// values as the tensor path up to rounding.
    pub fused: bool,
}

impl Default for PisaConfig {
    fn default() -> Self {
        PisaConfig {
            nodes: 1,
            alpha: None,
            sigma: 1.0,
            rho: None,
            lr: None,
            lambda: 0.0,
            eps: 1e-8,
            preconditioner: Preconditioner::default(),
            qnorm: QNorm::None,
            weight_decay: 0.0,
            decoupled_weight_decay: 0.0,
            schedule: PenaltySchedule::Constant,
            node_scale: NodeScale::None,
            fused: true,
        }
    }
}

impl PisaConfig {
    /// ρ_0, from `rho` or from `lr`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when both or neither are given, or ρ_0 would be negative.
    pub fn rho0(&self) -> Result<f64> {
        match (self.rho, self.lr) {
            (Some(rho), None) => {
                non_negative("rho", rho)?;
                Ok(rho)
            }
            (None, Some(lr)) => {
                positive("lr", lr)?;
                let rho = 1.0 / lr - self.sigma;
                if rho < 0.0 {
                    return Err(Error::invalid(
                        "lr",
                        lr,
                        format!("gives ρ = 1/lr − σ = {rho} < 0; use lr <= 1/σ"),
                    ));
                }
                Ok(rho)
            }
            (Some(_), Some(_)) => Err(Error::invalid(
                "rho",
                "set together with lr",
                "give either `rho` or `lr`, not both",
            )),
            (None, None) => Err(Error::invalid(
                "rho",
                "missing",
                "give `rho`, or `lr` (then ρ = 1/lr − σ)",
            )),
        }
    }

    /// Validates every setting; `sisa` additionally requires the second-moment preconditioner.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self, sisa: bool) -> Result<()> {
        if self.nodes == 0 {
            return Err(Error::invalid("nodes", 0, "m must be >= 1"));
        }
        positive("sigma", self.sigma)?;
        self.rho0()?;
        non_negative("lambda", self.lambda)?;
        non_negative("eps", self.eps)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("decoupled_weight_decay", self.decoupled_weight_decay)?;
        self.schedule.validate()?;
        match &self.preconditioner {
            Preconditioner::SecondMoment { scheme, beta } if *scheme != Scheme::Adagrad => {
                unit_interval("preconditioner.beta", *beta)?;
            }
            Preconditioner::SecondMoment { .. } => {}
            other if sisa => {
                return Err(Error::invalid(
                    "preconditioner",
                    format!("{other:?}"),
                    "SISA uses the second moment; use name = \"pisa\" for other preconditioners",
                ))
            }
            _ => {}
        }
        if self.qnorm != QNorm::None && !matches!(self.preconditioner, Preconditioner::SecondMoment { .. }) {
            return Err(Error::invalid(
                "qnorm",
                format!("{:?}", self.qnorm),
                "applies to the second-moment preconditioner only",
            ));
        }
        Ok(())
    }
}
