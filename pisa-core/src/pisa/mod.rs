//! PISA and SISA: Preconditioned Inexact Stochastic ADMM (arXiv 2502.10784, Algorithms 1–2).
//!
//! # Algorithm
//! Outer iteration k with σ = σ_k, ρ = ρ_k from the schedule, global weights w held by the model,
//! and per node i a multiplier π_i (and, for SISA, a second moment v_i):
//! 1. g_i = ∇f_i(w) on node i's data (the caller's loss, evaluated at the global weights);
//! 2. e_i = g_i + π_i (+ wd·w with coupled weight decay);
//! 3. preconditioner: D_i = σI + ρQ_i, where Q_i is I, ∇²f_i(w), its diagonal, or
//!    diag(√v̂_i + ε) with v_i updated from e_i² by Scheme I/II/III (spec §3);
//! 4. local step (2.13): w_i = w − D_i⁻¹ e_i (anchored at w(1 − wd_dec/(σ+ρ)) with decoupled decay);
//! 5. dual step (2.14): π_i ← π_i + σ(w_i − w);
//! 6. after all nodes, aggregation (2.9): w ← Σ_i α_i(σ w_i + π_i) / (σ + λ).
//!
//! The form is streaming (spec §6): w_i is never stored. Each node's contribution
//! α_i(σ w_i + π_i) goes into one accumulator (none when m = 1), so the persistent state is π_i
//! (and v_i) per node: 2m parameter-sized buffers for SISA, plus one accumulator when m > 1.
//! Before the first iteration w is set to σ_0 w⁰/(σ_0 + λ), the aggregate of w_i = w⁰, π_i = 0
//! (spec §2.2).
//!
//! With [`NodeScale::FirstGradientNorm`] (the authors' VGG-11 script, spec §3.3) node i fixes
//! c_i = ‖g_i + wd·w‖₂ at the first iteration, steps with D_i = c_i(σI + ρQ_i), and the
//! aggregation is w ← Σ_i α_i(w_i + π_i / (c_i(σ + λ))); c_i is part of the node's state.
//!
//! # References
//! Zhou, Wang, Luo, Zhu, Li, "Preconditioned Inexact Stochastic ADMM for Deep Models",
//! arXiv 2502.10784; the implementation spec `pisa-algorithm.md`.

mod config;

pub use config::{NodeScale, PisaConfig, Preconditioner, QNorm, Scheme};

use crate::collective::{Ranks, Reduction, Spread};
use crate::error::{Error, Result};
use crate::kernels::{self, Aggregation, NodeBuffers, NodeScalars};
use crate::optimizer::{run_protocol, NodeWeights, Optimizer, ProtocolGuard, StateFootprint, StepReport};
use crate::params::ParamSet;
use crate::state::OptimizerState;
use serde_json::json;
use tch::Tensor;

/// Largest parameter count for which the explicit Hessian is formed.
pub const MAX_HESSIAN_PARAMS: usize = 4096;

/// Per-node state.
struct NodeState {
    /// Multiplier π_i.
    pi: Tensor,
    /// Second moment v_i (SISA).
    v: Option<Tensor>,
    /// Running ∞-norm δ_i (0-dim), with [`QNorm::InfRunningMax`].
    delta: Option<Tensor>,
    /// The fixed gradient norm c_i (0-dim), with [`NodeScale::FirstGradientNorm`]; recorded at
    /// iteration 0.
    scale: Option<Tensor>,
}

/// The PISA optimizer; [`OptimizerKind::Sisa`](crate::config::OptimizerKind::Sisa) builds it with
/// the second-moment preconditioner.
pub struct Pisa {
    params: ParamSet,
    cfg: PisaConfig,
    name: &'static str,
    alpha: NodeWeights,
    rho0: f64,
    guard: ProtocolGuard,
    iteration: u64,
    sigma: f64,
    rho: f64,
    nodes: Vec<NodeState>,
    acc: Option<Tensor>,
    fused: bool,
    /// Curvature handed in for the next node step (Hessian preconditioners).
    curvature: Option<Tensor>,
    /// Whether the first point σ₀w⁰/(σ₀ + λ) was set (once, even if iteration 0 is retried).
    started: bool,
    /// The ranks the nodes are spread over (none: all nodes in this process); `nodes` then
    /// holds this rank's nodes only.
    spread: Spread,
}

impl Pisa {
    /// Builds PISA (`sisa = false`) or SISA (`sisa = true`, which requires the second-moment
    /// preconditioner) over `params`.
    ///
    /// # Errors
    /// Invalid settings as [`Error::InvalidSetting`] / [`Error::InvalidNodeWeights`]; a Hessian
    /// preconditioner on more than [`MAX_HESSIAN_PARAMS`] parameters.
    pub fn new(params: ParamSet, cfg: PisaConfig, sisa: bool) -> Result<Self> {
        cfg.validate(sisa)?;
        let alpha = NodeWeights::from_config(cfg.nodes, &cfg.alpha)?;
        let needs_hessian = matches!(
            cfg.preconditioner,
            Preconditioner::Hessian | Preconditioner::DiagonalHessian
        );
        if needs_hessian && params.numel() > MAX_HESSIAN_PARAMS {
            return Err(Error::invalid(
                "preconditioner",
                format!("{:?} on {} parameters", cfg.preconditioner, params.numel()),
                format!("the explicit Hessian is for small problems (<= {MAX_HESSIAN_PARAMS} parameters)"),
            ));
        }
        let second_moment = matches!(cfg.preconditioner, Preconditioner::SecondMoment { .. });
        let nodes = (0..alpha.len())
            .map(|_| {
                Ok(NodeState {
                    pi: params.zeros()?,
                    v: if second_moment {
                        Some(params.zeros()?)
                    } else {
                        None
                    },
                    delta: if cfg.qnorm == QNorm::InfRunningMax {
                        Some(Tensor::f_zeros([], (params.kind(), params.device()))?)
                    } else {
                        None
                    },
                    scale: if cfg.node_scale == NodeScale::FirstGradientNorm {
                        Some(Tensor::f_ones([], (params.kind(), params.device()))?)
                    } else {
                        None
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let acc = if alpha.len() > 1 {
            Some(params.zeros()?)
        } else {
            None
        };
        let fused = cfg.fused
            && kernels::supported(params.kind(), params.device())
            && cfg.qnorm == QNorm::None
            && cfg.node_scale == NodeScale::None
            && matches!(
                cfg.preconditioner,
                Preconditioner::Identity | Preconditioner::SecondMoment { .. }
            );
        let rho0 = cfg.rho0()?;
        Ok(Pisa {
            params,
            name: if sisa { "sisa" } else { "pisa" },
            alpha,
            rho0,
            guard: ProtocolGuard::default(),
            iteration: 0,
            sigma: cfg.sigma,
            rho: rho0,
            nodes,
            acc,
            fused,
            curvature: None,
            started: false,
            spread: Spread::default(),
            cfg,
        })
    }

    /// σ and ρ of the open (or last) iteration.
    pub fn penalties(&self) -> (f64, f64) {
        (self.sigma, self.rho)
    }

    /// Node `i`'s multiplier π_i (flat). Panics when another rank owns node `i`.
    pub fn multiplier(&self, node: usize) -> &Tensor {
        &self.nodes[node - self.first_node()].pi
    }

    /// Node `i`'s second moment v_i (flat), for SISA. Panics when another rank owns node `i`.
    pub fn second_moment(&self, node: usize) -> Option<&Tensor> {
        self.nodes[node - self.first_node()].v.as_ref()
    }

    /// Node `i`'s fixed gradient norm c_i (0-dim) with [`NodeScale::FirstGradientNorm`]
    /// (1 until iteration 0 records it). Panics when another rank owns node `i`.
    pub fn node_scale(&self, node: usize) -> Option<&Tensor> {
        self.nodes[node - self.first_node()].scale.as_ref()
    }

    /// 1/(σ + λ), the factor applied to the summed contributions, or 1 with node scaling,
    /// whose contributions α_i(w_i + π_i/(c_i(σ + λ))) carry it already.
    fn inv_denominator(&self) -> f64 {
        match self.cfg.node_scale {
            NodeScale::None => 1.0 / (self.sigma + self.cfg.lambda),
            NodeScale::FirstGradientNorm => 1.0,
        }
    }

    /// The first node this process owns (0 unless the nodes are spread over ranks).
    fn first_node(&self) -> usize {
        self.spread.ranks().map_or(0, |r| r.owned().start)
    }

    /// Where `node`'s state is in `nodes`.
    fn local_index(&self, node: usize) -> Result<usize> {
        match self.spread.ranks() {
            None if node < self.nodes.len() => Ok(node),
            None => Err(Error::Protocol(format!(
                "node {node} out of range (m = {})",
                self.nodes.len()
            ))),
            Some(r) if r.owned().contains(&node) => Ok(node - r.owned().start),
            Some(r) => Err(Error::Protocol(format!(
                "node {node} belongs to rank {}, not to this rank {} (nodes {:?})",
                r.owner(node),
                r.rank(),
                r.owned()
            ))),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &ParamSet {
        &self.params
    }

    /// Whether the fused CPU kernel runs the node steps.
    pub fn is_fused(&self) -> bool {
        self.fused
    }

    /// Node step with an explicit Hessian `hessian` (n × n over the flat parameters) of node
    /// `node`'s loss at w, for the Hessian and diagonal-Hessian preconditioners. The gradient is
    /// read from the parameters as in [`Optimizer::node_step`].
    ///
    /// # Errors
    /// As [`Optimizer::node_step`], or a shape mismatch.
    pub fn node_step_with_hessian(&mut self, node: usize, hessian: &Tensor) -> Result<()> {
        let n = self.params.numel() as i64;
        if hessian.size() != [n, n] {
            return Err(Error::Protocol(format!(
                "Hessian is {:?}, expected [{n}, {n}]",
                hessian.size()
            )));
        }
        self.curvature = Some(hessian.f_to_kind(self.params.kind())?);
        let result = self.node_step(node);
        self.curvature = None;
        result
    }

    /// Where the contribution of the node stepping at `position` (0 = first) goes.
    fn aggregation(&self, position: usize) -> Aggregation {
        let inv_denominator = self.inv_denominator();
        let m = self.alpha.len();
        match (m, position) {
            (1, _) => Aggregation::Only { inv_denominator },
            (_, 0) => Aggregation::First,
            (_, i) if i + 1 == m => Aggregation::Last { inv_denominator },
            _ => Aggregation::Middle,
        }
    }

    fn scalars(&self, node: usize, aggregation: Aggregation) -> NodeScalars {
        let second_moment = match self.cfg.preconditioner {
            Preconditioner::SecondMoment { scheme, beta } => {
                let inv_bc = match scheme {
                    Scheme::Adam => 1.0 / (1.0 - beta.powf((self.iteration + 1) as f64)),
                    Scheme::Frozen => 1.0 / (1.0 - beta),
                    Scheme::Adagrad | Scheme::Rmsprop => 1.0,
                };
                Some((scheme, beta, inv_bc))
            }
            _ => None,
        };
        NodeScalars {
            sigma: self.sigma,
            rho: self.rho,
            eps: self.cfg.eps,
            alpha: self.alpha.get(node),
            second_moment,
            weight_decay: self.cfg.weight_decay,
            anchor_scale: 1.0 - self.cfg.decoupled_weight_decay / (self.sigma + self.rho),
            aggregation,
        }
    }

    /// The local step D_i⁻¹ e_i on the tensor path (updates v_i and δ_i).
    fn local_step(&mut self, node: usize, e: &Tensor, s: &NodeScalars) -> Result<Tensor> {
        let state = &mut self.nodes[node];
        Ok(match &self.cfg.preconditioner {
            Preconditioner::Identity => e / (s.sigma + s.rho),
            Preconditioner::SecondMoment { scheme, beta } => {
                let v = state
                    .v
                    .as_mut()
                    .ok_or_else(|| Error::Protocol("missing second moment".into()))?;
                let _ = match scheme {
                    Scheme::Adagrad => v.f_add_(&(e * e))?,
                    _ => v.f_mul_scalar_(*beta)?.f_add_(&((e * e) * (1.0 - beta)))?,
                };
                let inv_bc = s.second_moment.map_or(1.0, |(_, _, b)| b);
                let root = (&*v * inv_bc).f_sqrt()?;
                let q = match state.delta.as_mut() {
                    None => root + s.eps,
                    Some(delta) => {
                        delta.f_copy_(&delta.f_maximum(&root.f_max()?)?)?;
                        // δ_i = 0 only where √v̂ is all zero: q = 0 there (0/0 → 0).
                        (&root / &*delta).f_nan_to_num(0.0, None, None)?
                    }
                };
                e / (q * s.rho + s.sigma)
            }
            Preconditioner::Hessian | Preconditioner::DiagonalHessian => {
                let h = self.curvature.as_ref().ok_or_else(|| {
                    Error::Protocol(
                        "the Hessian preconditioner needs the closure API `step` or `Pisa::node_step_with_hessian`".into(),
                    )
                })?;
                if self.cfg.preconditioner == Preconditioner::Hessian {
                    let n = e.numel() as i64;
                    let eye = Tensor::f_eye(n, (e.kind(), e.device()))?;
                    let system = &eye * s.sigma + h * s.rho;
                    Tensor::f_linalg_solve(&system, &e.f_unsqueeze(1)?, true)?.f_squeeze_dim(1)?
                } else {
                    let q = h.f_diagonal(0, 0, 1)?.f_clamp_min(0.0)?;
                    e / (q * s.rho + s.sigma)
                }
            }
        })
    }

    fn tensor_node_step(&mut self, node: usize, g: &Tensor, s: &NodeScalars) -> Result<()> {
        let mut w = self.params.flat().shallow_clone();
        if self.iteration == 0 {
            if let Some(scale) = self.nodes[node].scale.as_mut() {
                let decayed = g + &w * s.weight_decay;
                record_gradient_norm(scale, &decayed, node)?;
            }
        }
        let mut e = g + &self.nodes[node].pi;
        if s.weight_decay != 0.0 {
            e += &w * s.weight_decay;
        }
        let mut step = self.local_step(node, &e, s)?;
        if let Some(scale) = &self.nodes[node].scale {
            step = step.f_div(scale)?;
        }
        let w_i = &w * s.anchor_scale - &step;
        // π_i += σ(w_i − w) = −σ(step + (1 − anchor)·w), formed without the rounding of w_i
        // (spec §6), the same arithmetic as the fused kernel.
        let pi = &mut self.nodes[node].pi;
        let _ = pi.f_sub_(&((step + &w * (1.0 - s.anchor_scale)) * s.sigma))?;
        let contribution = match &self.nodes[node].scale {
            None => (&w_i * s.sigma + &self.nodes[node].pi) * s.alpha,
            // The VGG script's aggregation: w̄ + Σ α_i π_i / c_i / (σ + λ).
            Some(scale) => {
                let pi = &self.nodes[node].pi;
                (w_i + pi.f_div(scale)? / (s.sigma + self.cfg.lambda)) * s.alpha
            }
        };
        match (s.aggregation, self.acc.as_mut()) {
            (Aggregation::Only { inv_denominator }, _) => w.f_copy_(&(contribution * inv_denominator))?,
            (Aggregation::First, Some(acc)) => acc.f_copy_(&contribution)?,
            (Aggregation::Middle, Some(acc)) => {
                let _ = acc.f_add_(&contribution)?;
            }
            (Aggregation::Last { inv_denominator }, Some(acc)) => {
                w.f_copy_(&((&*acc + contribution) * inv_denominator))?
            }
            _ => return Err(Error::Protocol("aggregation accumulator missing".into())),
        }
        Ok(())
    }

    /// The gradient and Hessian of `loss` over the flat parameters, by double back-propagation.
    fn gradient_and_hessian(&self, loss: &Tensor) -> Result<(Tensor, Tensor)> {
        let vars = self.params.vars();
        let flat = |parts: Vec<Tensor>| -> Result<Tensor> {
            let flat: Vec<Tensor> = parts
                .iter()
                .map(|p| p.f_reshape([-1]))
                .collect::<std::result::Result<_, _>>()?;
            Ok(Tensor::f_cat(&flat, 0)?)
        };
        let g = flat(Tensor::f_run_backward(&[loss], vars, true, true)?)?;
        let n = g.numel() as i64;
        let rows = (0..n)
            .map(|j| flat(Tensor::f_run_backward(&[g.f_get(j)?], vars, true, false)?))
            .collect::<Result<Vec<_>>>()?;
        Ok((g.f_detach()?, Tensor::f_stack(&rows, 0)?))
    }

    fn needs_hessian(&self) -> bool {
        matches!(
            self.cfg.preconditioner,
            Preconditioner::Hessian | Preconditioner::DiagonalHessian
        )
    }

    fn hessian_step(&mut self, node_loss: &mut dyn FnMut(usize) -> Tensor) -> Result<StepReport> {
        self.begin_iteration()?;
        let result = self.hessian_nodes(node_loss);
        if result.is_err() {
            self.abort_iteration();
        }
        result
    }

    fn hessian_nodes(&mut self, node_loss: &mut dyn FnMut(usize) -> Tensor) -> Result<StepReport> {
        let mut node_losses = Vec::with_capacity(self.alpha.len());
        for node in 0..self.alpha.len() {
            let loss = node_loss(node);
            let value = loss.f_double_value(&[])?;
            if !value.is_finite() {
                return Err(Error::NonFiniteLoss {
                    node,
                    value,
                    iteration: self.iteration,
                });
            }
            let (g, h) = self.gradient_and_hessian(&loss)?;
            self.curvature = Some(h);
            let stepped = self.node_step_from(node, &g);
            self.curvature = None;
            stepped?;
            node_losses.push(value);
        }
        self.end_iteration()?;
        Ok(StepReport { node_losses })
    }

    fn node_step_from(&mut self, node: usize, g: &Tensor) -> Result<()> {
        let local = self.local_index(node)?;
        let position = self.guard.node(local)?;
        let aggregation = match self.spread.ranks().map(Ranks::reduction) {
            None => self.aggregation(position),
            // This rank's part of the sum; the ranks' parts are added at the iteration's end.
            Some(Reduction::AllReduce) if self.alpha.len() > 1 => match position {
                0 => Aggregation::First,
                _ => Aggregation::Middle,
            },
            Some(Reduction::AllReduce) => self.aggregation(0),
            Some(Reduction::Ordered) => return self.spread.keep(g),
        };
        self.apply_node_step(node, local, g, aggregation)
    }

    /// Node `node`'s local and dual steps from its gradient `g` (its state at `local` in
    /// `nodes`), its contribution going where `aggregation` says.
    fn apply_node_step(
        &mut self,
        node: usize,
        local: usize,
        g: &Tensor,
        aggregation: Aggregation,
    ) -> Result<()> {
        let s = self.scalars(node, aggregation);
        tch::no_grad(|| {
            if self.fused {
                let n = &self.nodes[local];
                let buffers = NodeBuffers {
                    w: self.params.flat(),
                    g,
                    pi: &n.pi,
                    v: n.v.as_ref(),
                    acc: self.acc.as_ref(),
                };
                kernels::sisa_node_step(&buffers, &s)
            } else {
                self.tensor_node_step(local, g, &s)
            }
        })
    }

    /// Adds the ranks' parts of the aggregation and writes the global weights on every rank.
    fn reduce_over_ranks(&mut self, ranks: &Ranks) -> Result<()> {
        let mut w = self.params.flat().shallow_clone();
        let inv_denominator = self.inv_denominator();
        match ranks.reduction() {
            Reduction::AllReduce => {
                let Some(acc) = self.acc.as_mut() else {
                    return Ok(()); // m = 1: one rank, and the weights are written already
                };
                ranks.all_reduce_sum(acc)?;
                w.f_copy_(&(&*acc * inv_denominator))?;
            }
            Reduction::Ordered => {
                let (rank, world) = (ranks.rank(), ranks.world());
                if rank > 0 {
                    let acc = self
                        .acc
                        .as_mut()
                        .ok_or_else(|| Error::Protocol("aggregation accumulator missing".into()))?;
                    ranks.receive(acc, rank - 1)?;
                }
                // The same node steps, in the same order, as the one-process run.
                let stash = std::mem::take(&mut self.spread.stash);
                for (local, (node, g)) in ranks.owned().zip(&stash).enumerate() {
                    let aggregation = self.aggregation(node);
                    self.apply_node_step(node, local, g, aggregation)?;
                }
                if rank + 1 < world {
                    let acc = self
                        .acc
                        .as_mut()
                        .ok_or_else(|| Error::Protocol("aggregation accumulator missing".into()))?;
                    ranks.send(acc, rank + 1)?;
                }
                ranks.broadcast(&mut w, world - 1)?;
            }
        }
        Ok(())
    }
}

impl Optimizer for Pisa {
    fn name(&self) -> &str {
        self.name
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
        if !self.started && self.cfg.lambda != 0.0 && self.cfg.node_scale == NodeScale::None {
            // w¹ = σ w⁰ / (σ + λ): the aggregate of w_i = w⁰, π_i = 0 (spec §2.2). The node-scaled
            // aggregation of that state is w⁰ itself.
            let scaled = self.params.flat() * (sigma / (sigma + self.cfg.lambda));
            self.params.assign(&scaled)?;
        }
        self.started = true;
        Ok(())
    }

    fn node_step(&mut self, node: usize) -> Result<()> {
        let g = self.params.flat_grad()?.shallow_clone();
        self.node_step_from(node, &g)
    }

    fn end_iteration(&mut self) -> Result<()> {
        self.guard.end()?;
        self.spread.agree(self.iteration)?;
        if let Some(ranks) = self.spread.ranks().cloned() {
            tch::no_grad(|| self.reduce_over_ranks(&ranks))?;
        }
        self.iteration += 1;
        Ok(())
    }

    fn ranks(&self) -> Option<&Ranks> {
        self.spread.ranks()
    }

    fn distribute(&mut self, ranks: Ranks) -> Result<()> {
        if self.needs_hessian() {
            return Err(Error::Protocol(
                "the Hessian preconditioners run in one process only".into(),
            ));
        }
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
        let node_tensors = self
            .nodes
            .iter()
            .flat_map(|n| std::iter::once(&n.pi).chain(&n.v).chain(&n.delta).chain(&n.scale));
        StateFootprint::of(node_tensors.chain(&self.acc), self.params.buffer_bytes())
    }

    fn state(&self) -> Result<OptimizerState> {
        let mut tensors = Vec::new();
        for (i, n) in (self.first_node()..).zip(&self.nodes) {
            tensors.push((format!("pi.{i}"), n.pi.f_detach_copy()?));
            if let Some(v) = &n.v {
                tensors.push((format!("v.{i}"), v.f_detach_copy()?));
            }
            if let Some(d) = &n.delta {
                tensors.push((format!("delta.{i}"), d.f_detach_copy()?));
            }
            if let Some(c) = &n.scale {
                tensors.push((format!("c.{i}"), c.f_detach_copy()?));
            }
        }
        Ok(OptimizerState {
            tensors,
            scalars: json!({
                "optimizer": self.name,
                "iteration": self.iteration,
                "nodes": self.alpha.len(),
                "preconditioner": format!("{:?}", self.cfg.preconditioner),
            }),
        })
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        state.expect_optimizer(self.name)?;
        state.expect_same("nodes", json!(self.alpha.len()))?;
        state.expect_same("preconditioner", json!(format!("{:?}", self.cfg.preconditioner)))?;
        let first = self.first_node();
        for (i, n) in (first..).zip(self.nodes.iter_mut()) {
            state.restore_into(&format!("pi.{i}"), &mut n.pi)?;
            if let Some(v) = &mut n.v {
                state.restore_into(&format!("v.{i}"), v)?;
            }
            if let Some(d) = &mut n.delta {
                state.restore_into(&format!("delta.{i}"), d)?;
            }
            match &mut n.scale {
                Some(c) => state.restore_into(&format!("c.{i}"), c)?,
                None if state.tensor(&format!("c.{i}")).is_ok() => {
                    return Err(Error::StateMismatch(
                        "the state was saved with node_scale = first_gradient_norm, this optimizer has none"
                            .into(),
                    ))
                }
                None => {}
            }
        }
        self.iteration = state.u64("iteration")?;
        self.started = self.iteration > 0;
        self.guard.abort();
        Ok(())
    }

    fn step(&mut self, node_loss: &mut dyn FnMut(usize) -> Tensor) -> Result<StepReport> {
        if self.needs_hessian() {
            self.hessian_step(node_loss)
        } else {
            self.step_with(node_loss, &mut |_| Ok(()))
        }
    }

    fn step_with(
        &mut self,
        node_loss: &mut dyn FnMut(usize) -> Tensor,
        after_backward: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<StepReport> {
        if self.needs_hessian() {
            // The gradient comes from double back-propagation, never through `.grad()`.
            return Err(Error::Protocol(
                "the Hessian preconditioners compute their gradient themselves, so `step_with` has no \
                 point to run its hook at: use `step`"
                    .into(),
            ));
        }
        run_protocol(self, node_loss, after_backward)
    }

    fn abort_iteration(&mut self) {
        self.guard.abort();
        self.spread.abort();
    }
}

/// Records c = ‖`decayed`‖₂ in the 0-dim `scale` (node scaling, iteration 0).
///
/// # Errors
/// [`Error::Protocol`] when the norm is zero or not finite: every later step divides by it.
fn record_gradient_norm(scale: &mut Tensor, decayed: &Tensor, node: usize) -> Result<()> {
    let norm = decayed.f_norm()?;
    let value = norm.f_double_value(&[])?;
    if !(value.is_finite() && value > 0.0) {
        return Err(Error::Protocol(format!(
            "node_scale = first_gradient_norm: node {node}'s first gradient norm is {value}; \
             the local step divides by it, so it must be finite and > 0"
        )));
    }
    scale.f_copy_(&norm)?;
    Ok(())
}

#[cfg(test)]
mod tests;
