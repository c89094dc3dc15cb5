//! Splitting a batch or a sequence into the m node batches of the PISA family (spec §6).
//!
//! In the authors' deep-learning runs the m nodes are virtual: node i takes the i-th contiguous
//! slice of the current mini-batch (the last slice takes the remainder), with α_i the slice's
//! share of the batch. LSTM runs split the BPTT window along time instead, and pass the hidden
//! state from node i to node i + 1. Both are contiguous splits of one axis, so one type serves.

use pisa_core::NodeWeights;
use std::ops::Range;
use tch::Tensor;

/// Why a split is impossible.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SplitError {
    /// m = 0.
    #[error("cannot split into 0 nodes")]
    NoNodes,
    /// Fewer items than nodes: some node would get nothing.
    #[error("cannot split {len} items into {nodes} non-empty nodes; use a batch of at least {nodes}")]
    TooFewItems {
        /// Items available.
        len: usize,
        /// Nodes requested.
        nodes: usize,
    },
}

/// A contiguous split of `len` items into m non-empty node ranges, with α_i = |range_i| / len.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSplit {
    ranges: Vec<Range<usize>>,
    alpha: NodeWeights,
}

impl NodeSplit {
    /// Splits `len` items into `nodes` contiguous slices of ⌊len/m⌋ items, the last taking the
    /// remainder (the authors' convention).
    ///
    /// # Errors
    /// [`SplitError`] when m = 0 or len < m.
    ///
    /// ```
    /// use runs::nodes::NodeSplit;
    /// let split = NodeSplit::contiguous(10, 4).unwrap();
    /// assert_eq!(split.ranges(), &[0..2, 2..4, 4..6, 6..10]);
    /// assert_eq!(split.alpha().as_slice(), &[0.2, 0.2, 0.2, 0.4]);
    /// ```
    pub fn contiguous(len: usize, nodes: usize) -> Result<Self, SplitError> {
        if nodes == 0 {
            return Err(SplitError::NoNodes);
        }
        if len < nodes {
            return Err(SplitError::TooFewItems { len, nodes });
        }
        let base = len / nodes;
        let ranges: Vec<Range<usize>> = (0..nodes)
            .map(|i| i * base..if i + 1 == nodes { len } else { (i + 1) * base })
            .collect();
        let sizes: Vec<usize> = ranges.iter().map(ExactSizeIterator::len).collect();
        let alpha = NodeWeights::proportional(&sizes).map_err(|_| SplitError::TooFewItems { len, nodes })?;
        Ok(NodeSplit { ranges, alpha })
    }

    /// The node ranges, in node order.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// The node weights α_i.
    pub fn alpha(&self) -> &NodeWeights {
        &self.alpha
    }

    /// Number of nodes m.
    pub fn nodes(&self) -> usize {
        self.ranges.len()
    }

    /// Node `i`'s part of `t` along dimension `dim` (a view, no copy): the batch dimension 0 for
    /// images and transitions, the time dimension for sequences.
    pub fn slice(&self, t: &Tensor, dim: i64, i: usize) -> Tensor {
        let r = &self.ranges[i];
        t.narrow(dim, r.start as i64, r.len() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn even_and_uneven_splits() {
        let even = NodeSplit::contiguous(256, 4).unwrap();
        assert!(even.ranges().iter().all(|r| r.len() == 64));
        assert_eq!(even.alpha().as_slice(), &[0.25; 4]);
        let uneven = NodeSplit::contiguous(7, 3).unwrap();
        assert_eq!(uneven.ranges(), &[0..2, 2..4, 4..7]);
        let a = uneven.alpha().as_slice();
        assert!((a[2] - 3.0 / 7.0).abs() < 1e-15 && (a.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn impossible_splits_are_errors() {
        assert_eq!(NodeSplit::contiguous(5, 0), Err(SplitError::NoNodes));
        assert_eq!(
            NodeSplit::contiguous(3, 4),
            Err(SplitError::TooFewItems { len: 3, nodes: 4 })
        );
    }

    #[test]
    fn slices_cover_the_batch_in_order() {
        let batch = Tensor::arange(10, (Kind::Int64, Device::Cpu)).view([10, 1]);
        let split = NodeSplit::contiguous(10, 3).unwrap();
        let parts: Vec<Tensor> = (0..3).map(|i| split.slice(&batch, 0, i)).collect();
        assert_eq!(Tensor::cat(&parts, 0), batch);
        let seq = Tensor::arange(12, (Kind::Int64, Device::Cpu)).view([2, 6]);
        let time = NodeSplit::contiguous(6, 4).unwrap();
        assert_eq!(
            Vec::<i64>::try_from(time.slice(&seq, 1, 3).reshape([-1])).unwrap(),
            [3, 4, 5, 9, 10, 11]
        );
    }
}
