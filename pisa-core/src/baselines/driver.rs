//! The driver shared by every baseline: the m-node protocol reduced to one averaged gradient.
//!
//! A baseline sees the nodes' gradients as one gradient ḡ = Σ α_i g_i (what data-parallel
//! training computes with an all-reduce), then applies its update rule once per iteration.
//! Each baseline is a [`UpdateRule`]: a pure per-iteration update on flat buffers plus its
//! state, so that the rules are testable on their own and the protocol lives here once.
//!
//! Over ranks ([`Optimizer::distribute`]) each rank sums α_i g_i over its own nodes and the ranks
//! add their sums (what DDP does); every rank then applies the same update to the same weights,
//! so the rule's state is replicated. With [`Reduction::Ordered`] the sum is formed node by node
//! across ranks in node order: bit-identical to one process.

use crate::collective::{Ranks, Reduction, Spread};
use crate::error::{Error, Result};
use crate::optimizer::{NodeWeights, Optimizer, ProtocolGuard, StateFootprint};
use crate::params::ParamSet;
use crate::schedule::LrSchedule;
use crate::state::OptimizerState;
use serde_json::{json, Value};
use tch::Tensor;

/// One baseline's update: what it does with the averaged gradient.
pub trait UpdateRule: Send {
    /// The optimizer's name, stored in its state.
    fn name(&self) -> &'static str;

    /// Applies one update to `params` given the averaged gradient `grad` (flat).
    /// `step` counts from 1; `lr_factor` is the learning-rate schedule's multiplier r_t.
    ///
    /// # Errors
    /// A libtorch error.
    fn update(&mut self, params: &mut ParamSet, grad: &Tensor, step: u64, lr_factor: f64) -> Result<()>;

    /// The rule's state tensors, named.
    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)>;

    /// Mutable access to the same tensors, in the same order, for loading.
    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)>;

    /// Scalars beyond the step counter (none by default).
    fn scalars(&self) -> Value {
        Value::Null
    }

    /// Restores [`Self::scalars`].
    ///
    /// # Errors
    /// [`crate::Error::StateMismatch`] for a malformed value.
    fn load_scalars(&mut self, _scalars: &Value) -> Result<()> {
        Ok(())
    }
}

/// A baseline optimizer: an [`UpdateRule`] run under the m-node protocol.
pub struct Baseline<R: UpdateRule> {
    params: ParamSet,
    alpha: NodeWeights,
    schedule: LrSchedule,
    guard: ProtocolGuard,
    /// Σ α_i g_i over the nodes stepped so far (only allocated when m > 1).
    grad_sum: Option<Tensor>,
    step: u64,
    rule: R,
    /// The ranks the nodes are spread over, if any.
    spread: Spread,
}

impl<R: UpdateRule> Baseline<R> {
    /// Wraps `rule` over `params` with `alpha.len()` nodes.
    ///
    /// # Errors
    /// A libtorch error while allocating the gradient accumulator.
    pub fn new(params: ParamSet, alpha: NodeWeights, schedule: LrSchedule, rule: R) -> Result<Self> {
        schedule.validate()?;
        let grad_sum = if alpha.len() > 1 {
            Some(params.zeros()?)
        } else {
            None
        };
        Ok(Baseline {
            params,
            alpha,
            schedule,
            guard: ProtocolGuard::default(),
            grad_sum,
            step: 0,
            rule,
            spread: Spread::default(),
        })
    }

    /// The update rule (for inspection).
    pub fn rule(&self) -> &R {
        &self.rule
    }

    /// The parameters.
    pub fn params(&self) -> &ParamSet {
        &self.params
    }
}

impl<R: UpdateRule> Optimizer for Baseline<R> {
    fn name(&self) -> &str {
        self.rule.name()
    }

    fn node_weights(&self) -> &NodeWeights {
        &self.alpha
    }

    fn set_node_weights(&mut self, alpha: NodeWeights) -> Result<()> {
        self.guard.replace_weights(&mut self.alpha, alpha)
    }

    fn iteration(&self) -> u64 {
        self.step
    }

    fn begin_iteration(&mut self) -> Result<()> {
        let stepping = self.spread.ranks().map_or(self.alpha.len(), |r| r.owned().len());
        self.guard.begin(stepping)?;
        self.spread.begin();
        if let Some(sum) = &mut self.grad_sum {
            let _ = sum.f_zero_()?;
        }
        Ok(())
    }

    fn node_step(&mut self, node: usize) -> Result<()> {
        let first = match self.spread.ranks() {
            None => 0,
            Some(r) if r.owned().contains(&node) => r.owned().start,
            Some(r) => {
                return Err(Error::Protocol(format!(
                    "node {node} belongs to rank {}, not to this rank {}",
                    r.owner(node),
                    r.rank()
                )))
            }
        };
        self.guard.node(node - first)?;
        let grad = self.params.flat_grad()?;
        if self.spread.ranks().map(Ranks::reduction) == Some(Reduction::Ordered) {
            return self.spread.keep(grad);
        }
        if let Some(sum) = &mut self.grad_sum {
            let _ = sum.f_add_(&(grad * self.alpha.get(node)))?;
        }
        Ok(())
    }

    fn end_iteration(&mut self) -> Result<()> {
        self.guard.end()?;
        self.spread.agree(self.step)?;
        if let Some(ranks) = self.spread.ranks().cloned() {
            tch::no_grad(|| self.sum_over_ranks(&ranks))?;
        }
        let lr_factor = self.schedule.factor(self.step);
        self.step += 1;
        let grad = match &self.grad_sum {
            Some(sum) => sum.shallow_clone(),
            None => self.params.flat_grad()?.shallow_clone(),
        };
        tch::no_grad(|| self.rule.update(&mut self.params, &grad, self.step, lr_factor))
    }

    fn ranks(&self) -> Option<&Ranks> {
        self.spread.ranks()
    }

    fn distribute(&mut self, ranks: Ranks) -> Result<()> {
        self.spread
            .adopt(ranks.clone(), self.alpha.len(), self.step > 0)?;
        let mut w = self.params.flat().shallow_clone();
        tch::no_grad(|| ranks.broadcast(&mut w, 0))
    }

    fn zero_grad(&mut self) -> Result<()> {
        self.params.zero_grad()
    }

    fn footprint(&self) -> StateFootprint {
        let rule = self.rule.state_tensors();
        StateFootprint::of(
            rule.iter().map(|(_, t)| *t).chain(&self.grad_sum),
            self.params.buffer_bytes(),
        )
    }

    fn state(&self) -> Result<OptimizerState> {
        let tensors = self
            .rule
            .state_tensors()
            .into_iter()
            .map(|(n, t)| Ok((n.to_string(), t.f_detach_copy()?)))
            .collect::<Result<_>>()?;
        Ok(OptimizerState {
            tensors,
            scalars: json!({ "optimizer": self.rule.name(), "step": self.step, "rule": self.rule.scalars() }),
        })
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        state.expect_optimizer(self.rule.name())?;
        for (name, dst) in self.rule.state_tensors_mut() {
            state.restore_into(name, dst)?;
        }
        self.rule
            .load_scalars(state.scalars.get("rule").unwrap_or(&Value::Null))?;
        self.step = state.u64("step")?;
        self.guard.abort();
        Ok(())
    }

    fn abort_iteration(&mut self) {
        self.guard.abort();
        self.spread.abort();
    }
}

impl<R: UpdateRule> Baseline<R> {
    /// Adds the ranks' gradient sums into `grad_sum` on every rank.
    fn sum_over_ranks(&mut self, ranks: &Ranks) -> Result<()> {
        let Some(sum) = self.grad_sum.as_mut() else {
            return Ok(()); // m = 1: one rank, its gradient is the sum
        };
        match ranks.reduction() {
            Reduction::AllReduce => ranks.all_reduce_sum(sum),
            Reduction::Ordered => {
                let (rank, world) = (ranks.rank(), ranks.world());
                if rank > 0 {
                    ranks.receive(sum, rank - 1)?;
                }
                // The same additions, in the same order, as the one-process run.
                for (node, grad) in ranks.owned().zip(&self.spread.stash) {
                    let _ = sum.f_add_(&(grad * self.alpha.get(node)))?;
                }
                self.spread.stash.clear();
                if rank + 1 < world {
                    ranks.send(sum, rank + 1)?;
                }
                ranks.broadcast(sum, world - 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::OptimizerConfig;
    use tch::{Device, Kind, Tensor};

    /// The learning-rate schedule multiplies the rate of step t (from 0) by r_t: plain SGD with
    /// a multi-step schedule moves w by exactly lr·r_t·g.
    #[test]
    fn schedules_scale_the_learning_rate() {
        let w = Tensor::zeros([3], (Kind::Double, Device::Cpu)).set_requires_grad(true);
        let cfg = serde_json::json!({
            "name": "sgd", "lr": 0.5,
            "schedule": { "kind": "multi_step", "milestones": [2, 4], "gamma": 0.1 }
        });
        let mut opt = OptimizerConfig::from_value(cfg)
            .unwrap()
            .build_named(vec![("w".into(), w.shallow_clone())])
            .unwrap();
        let g = Tensor::from_slice(&[1.0f64, -2.0, 4.0]);
        let mut expected = Tensor::zeros([3], (Kind::Double, Device::Cpu));
        for (t, factor) in [1.0, 1.0, 0.1, 0.1, 0.01, 0.01].into_iter().enumerate() {
            opt.step(&mut |_| (&w * &g).sum(Kind::Double)).unwrap();
            expected -= &g * (0.5 * factor);
            let err = (&w - &expected).abs().max().double_value(&[]);
            assert!(err < 1e-15, "step {t}: {err}");
        }
    }
}
