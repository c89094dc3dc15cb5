//! NSISA: PISA with Newton–Schulz orthogonalized momentum (arXiv 2502.10784, Algorithm 3;
//! spec §3.4).
//!
//! # Algorithm
//! Outer iteration k with σ, ρ from the schedule, per node i a momentum B_i and multiplier Π_i
//! (Π_i⁰ = 1e-10, as the authors' code), for every parameter W with node gradient G_i:
//! 1. B_i ← β₁B_i + G_i; G̃_i = G_i + β₁B_i (Nesterov) or B_i;
//! 2. O_i = NS₅(G̃_i)·√max(1, p/q) for a matrix W ∈ ℝ^{p×q} (tensors of more than two dimensions
//!    are treated as [shape₀, rest]); vectors skip Newton–Schulz: O_i = G̃_i (spec: 1-D gains);
//! 3. d_i = O_i + Π_i + μW;  D_i = σ + ρ(|d_i| + ε) elementwise;  W_i = W − d_i ⊘ D_i;
//! 4. dual step: Π_i ← Π_i + σ(W_i − W) (paper), or Π_i ← α_i(Π_i + σ(W_i − W)) (the authors'
//!    code, [`DualScaling::CodeAlphaScaled`]);
//! 5. aggregation: W ← Σ_i α_i(σW_i + Π_i)/(σ + λ) (paper), or Σ_i(σα_iW_i + Π_i)/(σ + λ) with the
//!    already-scaled Π_i (code).
//!
//! Streaming as PISA: per node B_i and Π_i (2m buffers) plus one accumulator when m > 1; with
//! m = 1 the single node aggregates in place, so NSISA keeps Muon's momentum plus one buffer.

use crate::collective::{Ranks, Reduction, Spread};
use crate::error::{non_negative, positive, unit_interval, Error, Result};
use crate::newton_schulz::NewtonSchulz;
use crate::optimizer::{NodeWeights, Optimizer, ProtocolGuard, StateFootprint};
use crate::params::ParamSet;
use crate::schedule::PenaltySchedule;
use crate::state::OptimizerState;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tch::Tensor;

/// How the multiplier is stored (spec §9 Q2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DualScaling {
    /// Π_i ← Π_i + σ(W_i − W): the paper's ADMM multiplier.
    #[default]
    Paper,
    /// Π_i ← α_i(Π_i + σ(W_i − W)): what the authors' GPT-2 code runs.
    CodeAlphaScaled,
}

/// Settings of NSISA (`name = "nsisa"`). Give either `rho` or `lr` (ρ = 1/lr − σ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NsisaConfig {
    /// Number of nodes m (default 1).
    pub nodes: usize,
    /// Node weights α_i (default 1/m).
    pub alpha: Option<Vec<f64>>,
    /// σ_0 > 0 (default 80, the authors' GPT-2 value).
    pub sigma: f64,
    /// ρ_0 ≥ 0 (default 100, the authors' GPT-2 code). Exclusive with `lr`.
    pub rho: Option<f64>,
    /// η_0 with ρ_0 = 1/η_0 − σ_0. Exclusive with `rho`.
    pub lr: Option<f64>,
    /// λ ≥ 0 in the aggregation (default 0).
    pub lambda: f64,
    /// ε in D = σ + ρ(|d| + ε) (default 1e-8).
    pub eps: f64,
    /// Momentum β₁ ∈ [0, 1) (default 0.95).
    pub momentum: f64,
    /// Nesterov look-ahead (default true).
    pub nesterov: bool,
    /// Scale O by √max(1, p/q) (default true).
    pub shape_scale: bool,
    /// Coupled decay μ in d = O + Π + μW (default 0).
    pub weight_decay: f64,
    /// Initial multiplier value (default 1e-10, as the code).
    pub pi_init: f64,
    /// Paper or code dual (default paper).
    pub dual_scaling: DualScaling,
    /// The Newton–Schulz iteration.
    pub newton_schulz: NewtonSchulz,
    /// σ/ρ schedule (the authors: `lr_linked` with a trapezoid, `sigma_power` 2 for Nano).
    pub schedule: PenaltySchedule,
}

impl Default for NsisaConfig {
    fn default() -> Self {
        NsisaConfig {
            nodes: 1,
            alpha: None,
            sigma: 80.0,
            rho: None,
            lr: None,
            lambda: 0.0,
            eps: 1e-8,
            momentum: 0.95,
            nesterov: true,
            shape_scale: true,
            weight_decay: 0.0,
            pi_init: 1e-10,
            dual_scaling: DualScaling::Paper,
            newton_schulz: NewtonSchulz::default(),
            schedule: PenaltySchedule::Constant,
        }
    }
}

impl NsisaConfig {
    fn rho0(&self) -> Result<f64> {
        match (self.rho, self.lr) {
            (Some(rho), None) => non_negative("rho", rho).map(|_| rho),
            (None, None) => Ok(100.0),
            (None, Some(lr)) => {
                positive("lr", lr)?;
                let rho = 1.0 / lr - self.sigma;
                non_negative("rho (= 1/lr - sigma)", rho).map(|_| rho)
            }
            (Some(_), Some(_)) => Err(Error::invalid(
                "rho",
                "set together with lr",
                "give either `rho` or `lr`, not both",
            )),
        }
    }

    /// Validates every setting.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.nodes == 0 {
            return Err(Error::invalid("nodes", 0, "m must be >= 1"));
        }
        positive("sigma", self.sigma)?;
        self.rho0()?;
        non_negative("lambda", self.lambda)?;
        non_negative("eps", self.eps)?;
        unit_interval("momentum", self.momentum)?;
        non_negative("weight_decay", self.weight_decay)?;
        if self.newton_schulz.steps == 0 {
            return Err(Error::invalid("newton_schulz.steps", 0, "must be >= 1"));
        }
        self.schedule.validate()
    }
}

struct NodeState {
    momentum: Tensor,
    pi: Tensor,
}

/// The NSISA optimizer.
pub struct Nsisa {
    params: ParamSet,
    cfg: NsisaConfig,
    alpha: NodeWeights,
    rho0: f64,
    guard: ProtocolGuard,
    iteration: u64,
    sigma: f64,
    rho: f64,
    nodes: Vec<NodeState>,
    /// Σ_i of the nodes' aggregation terms; only with m > 1 (one node aggregates in place, so
    /// that m = 1 keeps two state buffers: Muon's momentum plus the multiplier).
    acc: Option<Tensor>,
    /// Whether the first point σ₀W⁰/(σ₀ + λ) was set.
    started: bool,
    /// The ranks the nodes are spread over (none: all nodes in this process); `nodes` then
    /// holds this rank's nodes only.
    spread: Spread,
}

impl Nsisa {
    /// Builds NSISA over `params`.
    ///
    /// # Errors
    /// Invalid settings.
    pub fn new(params: ParamSet, cfg: NsisaConfig) -> Result<Self> {
        cfg.validate()?;
        let alpha = NodeWeights::from_config(cfg.nodes, &cfg.alpha)?;
        let nodes = (0..alpha.len())
            .map(|_| {
                Ok(NodeState {
                    momentum: params.zeros()?,
                    pi: params.zeros()?.f_fill_(cfg.pi_init)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rho0 = cfg.rho0()?;
        let acc = if alpha.len() > 1 {
            Some(params.zeros()?)
        } else {
            None
        };
        Ok(Nsisa {
            acc,
            params,
            alpha,
            rho0,
            guard: ProtocolGuard::default(),
            iteration: 0,
            sigma: cfg.sigma,
            rho: rho0,
            nodes,
            started: false,
            spread: Spread::default(),
            cfg,
        })
    }

    /// σ and ρ of the open (or last) iteration.
    pub fn penalties(&self) -> (f64, f64) {
        (self.sigma, self.rho)
    }

    /// The first node this process owns (0 unless the nodes are spread over ranks).
    fn first_node(&self) -> usize {
        self.spread.ranks().map_or(0, |r| r.owned().start)
    }

    /// O_i for every parameter, as one flat buffer (steps 1–2); `local` is the node's place in
    /// `nodes`.
    fn orthogonalized(&mut self, local: usize, g: &Tensor) -> Result<Tensor> {
        let beta = self.cfg.momentum;
        let b = &mut self.nodes[local].momentum;
        let _ = b.f_mul_scalar_(beta)?.f_add_(g)?;
        let look_ahead = if self.cfg.nesterov {
            g + &*b * beta
        } else {
            b.shallow_clone()
        };
        let out = self.params.zeros()?;
        for ((src, mut dst), info) in self
            .params
            .views(&look_ahead)?
            .into_iter()
            .zip(self.params.views(&out)?)
            .zip(self.params.infos())
        {
            if info.shape.len() < 2 {
                dst.f_copy_(&src)?;
                continue;
            }
            let (p, q) = (info.shape[0], info.numel as i64 / info.shape[0].max(1));
            let mut o = self.cfg.newton_schulz.orthogonalize(&src.f_reshape([p, q])?)?;
            if self.cfg.shape_scale {
                o *= (p as f64 / q as f64).max(1.0).sqrt();
            }
            dst.f_copy_(&o.f_reshape(info.shape.as_slice())?)?;
        }
        Ok(out)
    }
}

impl Nsisa {
    /// Node `node`'s steps 1–5 from its gradient `g` (its state at `local` in `nodes`); its
    /// aggregation term goes into the accumulator (or, for the only node, into W).
    fn apply_node_step(&mut self, node: usize, local: usize, g: &Tensor) -> Result<()> {
        let (sigma, rho, alpha) = (self.sigma, self.rho, self.alpha.get(node));
        tch::no_grad(|| -> Result<()> {
            let o = self.orthogonalized(local, g)?;
            let w = self.params.flat().shallow_clone();
            let mut d = o + &self.nodes[local].pi;
            if self.cfg.weight_decay != 0.0 {
                d += &w * self.cfg.weight_decay;
            }
            let denom = (d.f_abs()? + self.cfg.eps) * rho + sigma;
            let step = d / denom;
            let w_i = &w - &step;
            // Π_i += σ(W_i − W) = −σ·step, formed without the rounding of W_i (with σ ≈ 1e8 in
            // the warm-down, σ·ulp(W) would swamp the step in f32).
            let pi = &mut self.nodes[local].pi;
            let _ = pi.f_sub_(&(step * sigma))?;
            let contribution = match self.cfg.dual_scaling {
                DualScaling::Paper => (&w_i * sigma + &*pi) * alpha,
                DualScaling::CodeAlphaScaled => {
                    let _ = pi.f_mul_scalar_(alpha)?;
                    &w_i * (sigma * alpha) + &*pi
                }
            };
            match &mut self.acc {
                Some(acc) => {
                    let _ = acc.f_add_(&contribution)?;
                }
                // The only node: its term is the whole sum, and W is no longer read.
                None => self.params.assign(&(contribution / (sigma + self.cfg.lambda)))?,
            }
            Ok(())
        })
    }

    /// Adds the ranks' parts of the accumulator on every rank.
    fn sum_over_ranks(&mut self, ranks: &Ranks) -> Result<()> {
        match ranks.reduction() {
            Reduction::AllReduce => match self.acc.as_mut() {
                Some(acc) => ranks.all_reduce_sum(acc),
                None => Ok(()), // m = 1: one rank, W is written already
            },
            Reduction::Ordered => {
                let (rank, world) = (ranks.rank(), ranks.world());
                if rank > 0 {
                    if let Some(acc) = self.acc.as_mut() {
                        ranks.receive(acc, rank - 1)?;
                    }
                }
                // The same node steps, in the same order, as the one-process run.
                let stash = std::mem::take(&mut self.spread.stash);
                for (local, (node, g)) in ranks.owned().zip(&stash).enumerate() {
                    self.apply_node_step(node, local, g)?;
                }
                match self.acc.as_mut() {
                    Some(acc) => {
                        if rank + 1 < world {
                            ranks.send(acc, rank + 1)?;
                        }
                        ranks.broadcast(acc, world - 1)
                    }
                    None => Ok(()),
                }
            }
        }
    }
}

impl Optimizer for Nsisa {
    fn name(&self) -> &str {
        "nsisa"
    }

    fn node_weights(&self) -> &NodeWeights {
        &self.alpha
    }

    fn set_node_weights(&mut self, alpha: NodeWeights) -> Result<()> {
        self.guard.replace_weights(&mut self.alpha, alpha)
    }

    fn iteration(&self) -> u64 {
        self.iteration
    }

    fn begin_iteration(&mut self) -> Result<()> {
        let (sigma, rho) = self.cfg.schedule.at(self.iteration, self.cfg.sigma, self.rho0)?;
        crate::schedule::check_range(self.params.kind(), sigma, rho, self.iteration)?;
        self.guard.begin(self.nodes.len())?;
        self.spread.begin();
        (self.sigma, self.rho) = (sigma, rho);
        if !self.started && self.cfg.lambda != 0.0 {
            // W¹ = σW⁰/(σ + λ), as PISA (spec §2.2).
            let scaled = self.params.flat() * (sigma / (sigma + self.cfg.lambda));
            self.params.assign(&scaled)?;
        }
        self.started = true;
        // Nodes may step in any order: every contribution is added.
        if let Some(acc) = &mut self.acc {
            let _ = acc.f_zero_()?;
        }
        Ok(())
    }

    fn node_step(&mut self, node: usize) -> Result<()> {
        let first = self.first_node();
        let local = match self.spread.ranks() {
            Some(r) if !r.owned().contains(&node) => {
                return Err(Error::Protocol(format!(
                    "node {node} belongs to rank {}, not to this rank {}",
                    r.owner(node),
                    r.rank()
                )))
            }
            _ => node.checked_sub(first).unwrap_or(usize::MAX),
        };
        self.guard.node(local)?;
        let g = self.params.flat_grad()?.shallow_clone();
        if self.spread.ranks().map(Ranks::reduction) == Some(Reduction::Ordered) {
            return self.spread.keep(&g);
        }
        self.apply_node_step(node, local, &g)
    }

    fn end_iteration(&mut self) -> Result<()> {
        self.guard.end()?;
        self.spread.agree(self.iteration)?;
        if let Some(ranks) = self.spread.ranks().cloned() {
            tch::no_grad(|| self.sum_over_ranks(&ranks))?;
        }
        if let Some(acc) = &self.acc {
            let w = acc / (self.sigma + self.cfg.lambda);
            self.params.assign(&w)?;
        }
        self.iteration += 1;
        Ok(())
    }

    fn ranks(&self) -> Option<&Ranks> {
        self.spread.ranks()
    }

    fn distribute(&mut self, ranks: Ranks) -> Result<()> {
        let owned = ranks.owned();
        self.spread.adopt(ranks.clone(), self.alpha.len(), self.started)?;
        // Keep this rank's nodes only, and start every rank from rank 0's weights.
        self.nodes = self.nodes.drain(owned).collect();
        let mut w = self.params.flat().shallow_clone();
        tch::no_grad(|| ranks.broadcast(&mut w, 0))
    }

    fn zero_grad(&mut self) -> Result<()> {
        self.params.zero_grad()
    }

    fn footprint(&self) -> StateFootprint {
        let tensors = self.nodes.iter().flat_map(|n| [&n.momentum, &n.pi]);
        StateFootprint::of(tensors.chain(self.acc.as_ref()), self.params.buffer_bytes())
    }

    fn state(&self) -> Result<OptimizerState> {
        let mut tensors = Vec::new();
        for (i, n) in (self.first_node()..).zip(&self.nodes) {
            tensors.push((format!("momentum.{i}"), n.momentum.f_detach_copy()?));
            tensors.push((format!("pi.{i}"), n.pi.f_detach_copy()?));
        }
        Ok(OptimizerState {
            tensors,
            scalars: json!({ "optimizer": "nsisa", "iteration": self.iteration, "nodes": self.alpha.len() }),
        })
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        state.expect_optimizer("nsisa")?;
        state.expect_same("nodes", json!(self.alpha.len()))?;
        let first = self.first_node();
        for (i, n) in (first..).zip(self.nodes.iter_mut()) {
            state.restore_into(&format!("momentum.{i}"), &mut n.momentum)?;
            state.restore_into(&format!("pi.{i}"), &mut n.pi)?;
        }
        self.iteration = state.u64("iteration")?;
        self.started = self.iteration > 0;
        self.guard.abort();
        Ok(())
    }

    fn abort_iteration(&mut self) {
        self.guard.abort();
        self.spread.abort();
    }
}
