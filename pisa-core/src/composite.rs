//! Several optimizers, one per named parameter group, driven as one.
//!
//! Every part sees the same node protocol, so a group may run a different optimizer (NSISA on
//! the hidden matrices, AdamW on the embedding, as the authors' GPT-2 runs do) as long as all
//! parts agree on the node weights α.

use crate::collective::Ranks;
use crate::error::{Error, Result};
use crate::optimizer::{NodeWeights, Optimizer, StateFootprint};
use crate::state::OptimizerState;
use serde_json::{Map, Value};

/// Optimizers over disjoint parameter groups, stepped together.
pub struct Grouped {
    parts: Vec<(String, Box<dyn Optimizer>)>,
}

impl Grouped {
    /// Combines `parts` (group name, optimizer).
    ///
    /// # Errors
    /// [`Error::InvalidNodeWeights`] when the parts disagree on the node weights, or
    /// [`Error::NoParameters`] when there are no parts.
    pub fn new(parts: Vec<(String, Box<dyn Optimizer>)>) -> Result<Self> {
        let first = parts.first().ok_or(Error::NoParameters)?.1.node_weights().clone();
        for (name, part) in &parts {
            if part.node_weights() != &first {
                return Err(Error::InvalidNodeWeights {
                    alpha: part.node_weights().as_slice().to_vec(),
                    reason: format!(
                        "group `{name}` has node weights that differ from the first group's {:?}; all groups must use the same nodes",
                        first.as_slice()
                    ),
                });
            }
        }
        Ok(Grouped { parts })
    }

    /// Runs `f` on every part; if one fails, every part abandons the iteration, so the parts
    /// never disagree on whether an iteration is open.
    fn all_or_abort(&mut self, mut f: impl FnMut(&mut dyn Optimizer) -> Result<()>) -> Result<()> {
        let result = self.parts.iter_mut().try_for_each(|(_, p)| f(p.as_mut()));
        if result.is_err() {
            self.abort_iteration();
        }
        result
    }

    /// The groups' names and optimizers' names, e.g. to print at start-up.
    pub fn describe(&self) -> Vec<(String, String)> {
        self.parts
            .iter()
            .map(|(g, o)| (g.clone(), o.name().to_string()))
            .collect()
    }
}

impl Optimizer for Grouped {
    fn name(&self) -> &str {
        "grouped"
    }

    fn node_weights(&self) -> &NodeWeights {
        self.parts[0].1.node_weights()
    }

    fn set_node_weights(&mut self, alpha: NodeWeights) -> Result<()> {
        // Every group fails or succeeds alike (same m, same protocol state).
        self.parts
            .iter_mut()
            .try_for_each(|(_, p)| p.set_node_weights(alpha.clone()))
    }

    fn iteration(&self) -> u64 {
        self.parts[0].1.iteration()
    }

    fn begin_iteration(&mut self) -> Result<()> {
        self.all_or_abort(|p| p.begin_iteration())
    }

    fn node_step(&mut self, node: usize) -> Result<()> {
        self.all_or_abort(|p| p.node_step(node))
    }

    fn end_iteration(&mut self) -> Result<()> {
        self.all_or_abort(|p| p.end_iteration())
    }

    fn ranks(&self) -> Option<&Ranks> {
        self.parts[0].1.ranks()
    }

    /// Spreads every group's nodes over the same ranks. Each group then agrees and reduces on
    /// its own, in group order on every rank, so a failure in one group reaches every rank in
    /// the same vote.
    fn distribute(&mut self, ranks: Ranks) -> Result<()> {
        self.parts
            .iter_mut()
            .try_for_each(|(_, p)| p.distribute(ranks.clone()))
    }

    fn zero_grad(&mut self) -> Result<()> {
        self.parts.iter_mut().try_for_each(|(_, p)| p.zero_grad())
    }

    fn footprint(&self) -> StateFootprint {
        self.parts.iter().map(|(_, p)| p.footprint()).fold(
            StateFootprint {
                bytes: 0,
                param_bytes: 0,
            },
            |acc, f| StateFootprint {
                bytes: acc.bytes + f.bytes,
                param_bytes: acc.param_bytes + f.param_bytes,
            },
        )
    }

    fn state(&self) -> Result<OptimizerState> {
        let mut tensors = Vec::new();
        let mut scalars = Map::new();
        scalars.insert("optimizer".into(), Value::String("grouped".into()));
        for (name, part) in &self.parts {
            let (t, (k, v)) = part.state()?.prefixed(name);
            tensors.extend(t);
            scalars.insert(k, v);
        }
        Ok(OptimizerState {
            tensors,
            scalars: Value::Object(scalars),
        })
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        state.expect_optimizer("grouped")?;
        for (name, part) in &mut self.parts {
            part.load_state(&state.sub_state(name)?)?;
        }
        Ok(())
    }

    fn abort_iteration(&mut self) {
        self.parts.iter_mut().for_each(|(_, p)| p.abort_iteration());
    }
}
