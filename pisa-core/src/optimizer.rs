//! The one optimizer trait, with the m-node structure of PISA.
//!
//! Every optimizer, PISA family and baselines alike, runs the same protocol per outer
//! iteration k:
//!
//! 1. [`Optimizer::begin_iteration`] — schedules advance (σ_k, ρ_k, learning rate);
//! 2. for each node i (in any order): the caller evaluates node i's loss **at the current
//!    global weights** (the model's variables), back-propagates, and calls
//!    [`Optimizer::node_step`], which reads the gradient and updates node i's state (for the
//!    PISA family: the local step and the dual step, spec (2.13)–(2.14)); the weights keep their
//!    value until the last node has stepped (the streaming PISA form writes the aggregate
//!    during the last node's step);
//! 3. [`Optimizer::end_iteration`] — closes the iteration: the global weights hold the
//!    aggregate (spec (2.9)).
//!
//! Baselines (Adam, ...) see the m node gradients as one averaged gradient Σ α_i g_i, which is
//! what data-parallel training does. [`Optimizer::step`] runs the whole protocol with a closure
//! that returns node i's loss; [`Optimizer::step_with`] is the same protocol with a hook between
//! each node's back-propagation and its `node_step` (gradient clipping, timing), so that training
//! loops need not hand-roll it.

use crate::collective::Ranks;
use crate::error::{Error, Result};
use crate::state::OptimizerState;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Node weights α_i (spec §1): one per node, non-negative, summing to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct NodeWeights(Vec<f64>);

impl NodeWeights {
    /// The weights a configuration asks for: `alpha` when given (its length must be
    /// `nodes`), else uniform over `nodes` (every optimizer's `nodes` / `alpha` settings).
    ///
    /// # Errors
    /// [`Error::InvalidNodeWeights`] for a length or value that does not fit.
    pub fn from_config(nodes: usize, alpha: &Option<Vec<f64>>) -> Result<NodeWeights> {
        match alpha {
            None => NodeWeights::uniform(nodes),
            Some(a) if a.len() != nodes => Err(Error::InvalidNodeWeights {
                alpha: a.clone(),
                reason: format!("{} weights given for nodes = {nodes}", a.len()),
            }),
            Some(a) => NodeWeights::new(a.clone()),
        }
    }

    /// Tolerance on Σ α_i = 1.
    pub const SUM_TOLERANCE: f64 = 1e-9;

    /// m equal weights 1/m.
    ///
    /// # Errors
    /// [`Error::InvalidNodeWeights`] when m = 0.
    pub fn uniform(m: usize) -> Result<Self> {
        if m == 0 {
            return Err(Error::InvalidNodeWeights {
                alpha: vec![],
                reason: "m = 0: there must be at least one node".into(),
            });
        }
        Ok(NodeWeights(vec![1.0 / m as f64; m]))
    }

    /// Weights proportional to node data sizes |D_i| (α_i = |D_i| / |D|).
    ///
    /// # Errors
    /// [`Error::InvalidNodeWeights`] when there are no nodes or no data.
    pub fn proportional(sizes: &[usize]) -> Result<Self> {
        let total: usize = sizes.iter().sum();
        if total == 0 {
            return Err(Error::InvalidNodeWeights {
                alpha: vec![],
                reason: format!("node sizes {sizes:?} hold no data"),
            });
        }
        Self::new(sizes.iter().map(|&s| s as f64 / total as f64).collect())
    }

    /// Explicit weights.
    ///
    /// # Errors
    /// [`Error::InvalidNodeWeights`] unless there is at least one weight, all are finite and
    /// ≥ 0, and they sum to 1 within [`Self::SUM_TOLERANCE`].
    pub fn new(alpha: Vec<f64>) -> Result<Self> {
        let bad = |reason: String| {
            Err(Error::InvalidNodeWeights {
                alpha: alpha.clone(),
                reason,
            })
        };
        if alpha.is_empty() {
            return bad("m = 0: there must be at least one node".into());
        }
        if alpha.iter().any(|a| !(a.is_finite() && *a >= 0.0)) {
            return bad("every α_i must be finite and >= 0".into());
        }
        let sum: f64 = alpha.iter().sum();
        if (sum - 1.0).abs() > Self::SUM_TOLERANCE {
            return bad(format!("the weights sum to {sum}, not 1"));
        }
        Ok(NodeWeights(alpha))
    }

    /// Number of nodes m.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a `NodeWeights` has at least one node.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// α_i.
    pub fn get(&self, i: usize) -> f64 {
        self.0[i]
    }

    /// All weights.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }
}

impl TryFrom<Vec<f64>> for NodeWeights {
    type Error = Error;
    fn try_from(alpha: Vec<f64>) -> Result<Self> {
        NodeWeights::new(alpha)
    }
}

impl From<NodeWeights> for Vec<f64> {
    fn from(w: NodeWeights) -> Vec<f64> {
        w.0
    }
}

/// What one call of [`Optimizer::step`] observed.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// The loss of each node at the weights the iteration started from.
    pub node_losses: Vec<f64>,
}

impl StepReport {
    /// The α-weighted loss Σ α_i f_i(w) (= F(w) when each node loss is f_i).
    pub fn weighted_loss(&self, alpha: &NodeWeights) -> f64 {
        self.node_losses
            .iter()
            .zip(alpha.as_slice())
            .map(|(l, a)| l * a)
            .sum()
    }
}

/// How much memory an optimizer's persistent state takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateFootprint {
    /// Bytes of all state tensors the optimizer owns (excluding the parameters themselves and
    /// their gradients).
    pub bytes: usize,
    /// Bytes of the parameters the optimizer updates.
    pub param_bytes: usize,
}

impl StateFootprint {
    /// Footprint of `tensors`, relative to parameters of `param_bytes` bytes.
    pub fn of<'a>(tensors: impl IntoIterator<Item = &'a Tensor>, param_bytes: usize) -> Self {
        let bytes = tensors
            .into_iter()
            .filter(|t| t.defined())
            .map(|t| t.numel() * t.kind().elt_size_in_bytes())
            .sum();
        StateFootprint { bytes, param_bytes }
    }

    /// The state as a multiple of the parameters' size: the number of parameter-sized buffers.
    pub fn buffers(&self) -> f64 {
        self.bytes as f64 / self.param_bytes.max(1) as f64
    }
}

/// An optimizer over a set of parameters, driven node by node (see the module docs).
pub trait Optimizer: Send {
    /// A short name (`"sisa"`, `"adamw"`, ...).
    fn name(&self) -> &str;

    /// The node weights α_i; their length is the number of nodes m.
    fn node_weights(&self) -> &NodeWeights;

    /// Replaces the node weights α_i for the iterations to come, keeping m: for nodes whose
    /// share of the data changes from one iteration to the next (the LSTM's time chunks, spec
    /// §6: α_i = chunk length / window length).
    ///
    /// # Errors
    /// [`Error::Protocol`] while an iteration is open or when `alpha` has a different number
    /// of nodes.
    fn set_node_weights(&mut self, alpha: NodeWeights) -> Result<()>;

    /// Number of completed outer iterations.
    fn iteration(&self) -> u64;

    /// Starts outer iteration [`Self::iteration`]: advances the schedules.
    ///
    /// # Errors
    /// [`Error::Protocol`] if an iteration is already open; [`Error::Schedule`] if a schedule
    /// produced an unusable value.
    fn begin_iteration(&mut self) -> Result<()>;

    /// Consumes node `node`'s gradient, read from the parameters' `.grad()`, which the caller
    /// computed at the current global weights.
    ///
    /// # Errors
    /// [`Error::Protocol`] if no iteration is open, the node index is out of range or the node
    /// already stepped in this iteration.
    fn node_step(&mut self, node: usize) -> Result<()>;

    /// Closes the iteration: aggregates and writes the new global weights into the model.
    ///
    /// # Errors
    /// [`Error::Protocol`] unless every node stepped exactly once.
    fn end_iteration(&mut self) -> Result<()>;

    /// Zeroes the parameters' gradients.
    ///
    /// # Errors
    /// A libtorch error.
    fn zero_grad(&mut self) -> Result<()>;

    /// Persistent state memory.
    fn footprint(&self) -> StateFootprint;

    /// The full state (tensors and scalars) needed to resume bit-identically.
    ///
    /// # Errors
    /// A libtorch error while copying tensors.
    fn state(&self) -> Result<OptimizerState>;

    /// Restores a state produced by [`Self::state`] of an optimizer built with the same
    /// configuration on the same parameters.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] when names, shapes or kinds differ.
    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;

    /// Runs one outer iteration: for each node i, zeroes gradients, evaluates `node_loss(i)` at
    /// the global weights, checks it is finite, back-propagates and calls
    /// [`Self::node_step`]; then aggregates. It is [`Self::step_with`] with a hook that does
    /// nothing.
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] for a NaN or infinite node loss, or any error of the steps. The
    /// iteration is then abandoned (the optimizer stays usable); weights are written only by the
    /// last node's step, so they are left as they were, but node state already updated in this
    /// iteration is not rolled back: reload a checkpoint to continue exactly.
    fn step(&mut self, node_loss: &mut dyn FnMut(usize) -> Tensor) -> Result<StepReport> {
        self.step_with(node_loss, &mut |_| Ok(()))
    }

    /// [`Self::step`] with a hook: `after_backward(i)` runs after node i's loss was
    /// back-propagated and before [`Self::node_step`]`(i)` reads the gradient, so that it can
    /// change the gradient in `.grad()` (clip it: [`crate::clip_grad_norm`]) or time the step.
    /// This is the one per-node protocol of every training loop; loops with more per-node work
    /// do it in the closures.
    ///
    /// The gradients are zeroed just before `node_loss(i)` is called, so `node_loss` may
    /// back-propagate part of node i's loss itself (micro-batch gradient accumulation) and
    /// return the last part; the report then holds the returned part's value.
    ///
    /// # Errors
    /// As [`Self::step`]; an error of `after_backward` likewise abandons the iteration and is
    /// returned. The PISA Hessian preconditioners compute their gradient by double
    /// back-propagation instead of into `.grad()`, so they have no place for the hook:
    /// [`Error::Protocol`] (use [`Self::step`]).
    fn step_with(
        &mut self,
        node_loss: &mut dyn FnMut(usize) -> Tensor,
        after_backward: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<StepReport> {
        run_protocol(self, node_loss, after_backward)
    }

    /// Abandons an open iteration without aggregating (used after a non-finite loss).
    fn abort_iteration(&mut self);

    /// The ranks this optimizer's nodes are spread over ([`Optimizer::distribute`]); `None`
    /// when all nodes are in this process.
    fn ranks(&self) -> Option<&Ranks> {
        None
    }

    /// Spreads the nodes over the ranks of `ranks` before the first iteration: this process then
    /// keeps state for the nodes it owns only, steps only those, and the ranks join their
    /// aggregation so every rank ends each iteration with the same weights (see
    /// [`crate::collective`]). To resume, distribute first, then load the rank's state.
    ///
    /// # Errors
    /// [`Error::Protocol`] for an optimizer that runs in one process only, a plan for another
    /// number of nodes, or a call after the first iteration.
    fn distribute(&mut self, ranks: Ranks) -> Result<()> {
        let _ = ranks;
        Err(Error::Protocol(format!(
            "{} runs its nodes in one process only (ranks are supported by pisa and sisa)",
            self.name()
        )))
    }
}

/// The protocol of [`Optimizer::step_with`] (and so of [`Optimizer::step`]): for each node,
/// zero the gradients, evaluate the loss, check it is finite, back-propagate, run
/// `after_backward`, [`Optimizer::node_step`]; then aggregate. Any error aborts the iteration.
/// Public so that an optimizer overriding [`Optimizer::step_with`] can fall back to it.
///
/// # Errors
/// As [`Optimizer::step_with`].
pub fn run_protocol<O: Optimizer + ?Sized>(
    opt: &mut O,
    node_loss: &mut dyn FnMut(usize) -> Tensor,
    after_backward: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<StepReport> {
    opt.begin_iteration()?;
    let result = run_nodes(opt, node_loss, after_backward);
    if result.is_err() {
        opt.abort_iteration();
    }
    result
}

/// The part of [`run_protocol`] after `begin_iteration`; any error aborts the iteration.
fn run_nodes<O: Optimizer + ?Sized>(
    opt: &mut O,
    node_loss: &mut dyn FnMut(usize) -> Tensor,
    after_backward: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<StepReport> {
    let m = opt.node_weights().len();
    let owned = opt.ranks().map_or(0..m, Ranks::owned);
    let mut node_losses = Vec::with_capacity(m);
    for node in owned {
        opt.zero_grad()?;
        let loss = node_loss(node);
        let value = loss.f_double_value(&[])?;
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss {
                node,
                value,
                iteration: opt.iteration(),
            });
        }
        loss.f_backward()?;
        after_backward(node)?;
        opt.node_step(node)?;
        node_losses.push(value);
    }
    opt.end_iteration()?;
    if let Some(ranks) = opt.ranks() {
        // Every rank reports every node's loss.
        node_losses = ranks.collective().all_gather(&node_losses)?;
    }
    Ok(StepReport { node_losses })
}

/// Book-keeping of the begin → node_step × m → end protocol, shared by all optimizers.
#[derive(Debug, Clone, Default)]
pub struct ProtocolGuard {
    open: bool,
    stepped: Vec<bool>,
}

impl ProtocolGuard {
    /// Opens an iteration for `m` nodes.
    ///
    /// # Errors
    /// [`Error::Protocol`] if one is already open.
    pub fn begin(&mut self, m: usize) -> Result<()> {
        if self.open {
            return Err(Error::Protocol(
                "begin_iteration called twice without end_iteration".into(),
            ));
        }
        self.open = true;
        self.stepped = vec![false; m];
        Ok(())
    }

    /// Records node `i`'s step and returns its position in this iteration: how many nodes
    /// stepped before it (callers may step the nodes in any order).
    ///
    /// # Errors
    /// [`Error::Protocol`] when no iteration is open, `i` is out of range or already stepped.
    pub fn node(&mut self, i: usize) -> Result<usize> {
        if !self.open {
            return Err(Error::Protocol(
                "node_step called outside begin_iteration/end_iteration".into(),
            ));
        }
        let position = self.stepped.iter().filter(|s| **s).count();
        match self.stepped.get_mut(i) {
            None => Err(Error::Protocol(format!(
                "node {i} out of range (m = {})",
                self.stepped.len()
            ))),
            Some(true) => Err(Error::Protocol(format!(
                "node {i} stepped twice in one iteration"
            ))),
            Some(done) => {
                *done = true;
                Ok(position)
            }
        }
    }

    /// Closes the iteration.
    ///
    /// # Errors
    /// [`Error::Protocol`] unless every node stepped.
    pub fn end(&mut self) -> Result<()> {
        if !self.open {
            return Err(Error::Protocol(
                "end_iteration called without begin_iteration".into(),
            ));
        }
        if let Some(i) = self.stepped.iter().position(|s| !s) {
            return Err(Error::Protocol(format!("end_iteration before node {i} stepped")));
        }
        self.open = false;
        Ok(())
    }

    /// Drops an open iteration.
    pub fn abort(&mut self) {
        self.open = false;
    }

    /// Replaces `current` by `new` between iterations, for [`Optimizer::set_node_weights`].
    ///
    /// # Errors
    /// [`Error::Protocol`] while an iteration is open or when the node counts differ.
    pub fn replace_weights(&self, current: &mut NodeWeights, new: NodeWeights) -> Result<()> {
        if self.open {
            return Err(Error::Protocol(
                "set_node_weights called inside an iteration".into(),
            ));
        }
        if new.len() != current.len() {
            return Err(Error::Protocol(format!(
                "set_node_weights with {} weights for {} nodes",
                new.len(),
                current.len()
            )));
        }
        *current = new;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_weights_are_validated() {
        assert!(NodeWeights::new(vec![0.5, 0.5]).is_ok());
        assert!(matches!(
            NodeWeights::new(vec![0.5, 0.6]),
            Err(Error::InvalidNodeWeights { .. })
        ));
        assert!(matches!(
            NodeWeights::new(vec![]),
            Err(Error::InvalidNodeWeights { .. })
        ));
        assert!(matches!(
            NodeWeights::uniform(0),
            Err(Error::InvalidNodeWeights { .. })
        ));
        assert!(NodeWeights::new(vec![1.5, -0.5]).is_err());
        let p = NodeWeights::proportional(&[1, 3]).unwrap();
        assert_eq!(p.as_slice(), &[0.25, 0.75]);
    }

    #[test]
    fn protocol_violations_are_errors() {
        let mut g = ProtocolGuard::default();
        assert!(g.node(0).is_err());
        g.begin(2).unwrap();
        assert!(g.begin(2).is_err());
        g.node(0).unwrap();
        assert!(g.node(0).is_err());
        assert!(g.node(2).is_err());
        assert!(g.end().is_err());
        g.node(1).unwrap();
        g.end().unwrap();
    }
}
