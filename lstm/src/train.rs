//! One training iteration on a BPTT window with any registry optimizer, evaluation, and AWD's
//! variable BPTT length.
//!
//! **Nodes (spec §6).** The PISA family's m nodes are virtual. [`SplitMode::Time`] (the paper's
//! LSTM runs): node i gets the i-th contiguous chunk of the window (all streams), starting from
//! the hidden state node i − 1 ended with; every node's loss is evaluated at the global weights,
//! so with no update in between, the chunks reproduce the unsplit forward pass exactly
//! (tested). [`SplitMode::Batch`]: node i gets the i-th slice of the streams (columns) over the
//! whole window, with its slice of the hidden state. Baselines (m = 1) see the whole window.
//!
//! **Per node**: loss = cross-entropy + AR·mean(dropped²) + TAR·mean((raw_{t+1} − raw_t)²), the
//! raw gradient is clipped to global norm `clip` (0.25), then the optimizer's node step adds
//! the weight decay (coupled, after clipping, spec §5).
//!
//! **Node weights**: α_i = the node's share of the window's tokens (chunk length / window
//! length along time, streams / batch along the batch), set before every iteration, so the
//! α-weighted loss is the window's mean cross-entropy (spec §6).
//!
//! Deviation: AWD's per-batch learning-rate rescaling by `seq_len / bptt` is not applied
//! (registry optimizers have no per-step learning-rate hook; the authors' SISA script applied
//! it to the embedding only, spec §9 Q5).

use pisa_core::{ClipArithmetic, NodeWeights, Optimizer};
use runs::nodes::NodeSplit;
use runs::rng::SplitMix64;
use tch::{Kind, Tensor};

use crate::corpus::window;
use crate::error::LstmError;
use crate::model::{cat_hidden, detach, narrow_hidden, AwdLstm, Hidden};

/// How the m nodes divide a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SplitMode {
    /// Contiguous chunks along time, hidden state passed from node to node (the paper's runs).
    Time,
    /// Contiguous slices of the streams (batch columns).
    Batch,
}

/// Activation regularization and clipping, AWD-LSTM's PTB settings by default.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Regularization {
    /// AR weight α (2).
    pub ar: f64,
    /// TAR weight β (1).
    pub tar: f64,
    /// Global-norm clip of the raw gradient (0.25; 0 disables).
    pub clip: f64,
}

impl Default for Regularization {
    fn default() -> Self {
        Regularization {
            ar: 2.0,
            tar: 1.0,
            clip: 0.25,
        }
    }
}

/// Cross-entropy (mean over tokens) of `logits` `[n, V]` against `targets` (any shape, n ids).
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Tensor {
    logits.cross_entropy_for_logits(&targets.reshape([-1]))
}

/// The training loss of one forward pass: cross-entropy + AR + TAR, and the cross-entropy.
fn training_loss(
    model: &AwdLstm,
    x: &Tensor,
    y: &Tensor,
    hidden: &Hidden,
    reg: &Regularization,
) -> (Tensor, Tensor, Hidden) {
    let out = model.forward(x, hidden, true);
    let ce = cross_entropy(&out.logits, y);
    let mut loss = &ce + out.dropped.square().mean(Kind::Float) * reg.ar;
    let steps = out.raw.size()[0];
    if reg.tar > 0.0 && steps > 1 {
        let diff = out.raw.narrow(0, 1, steps - 1) - out.raw.narrow(0, 0, steps - 1);
        loss += diff.square().mean(Kind::Float) * reg.tar;
    }
    (loss, ce, out.hidden)
}

/// What every training iteration shares: the model, its trainable variables, the node split
/// and the regularization.
#[derive(Debug)]
pub struct WindowTrainer<'a> {
    /// The model.
    pub model: &'a AwdLstm,
    /// Its trainable variables (for clipping), as given to the optimizer.
    pub vars: &'a [Tensor],
    /// How the nodes divide a window.
    pub mode: SplitMode,
    /// AR, TAR and clipping.
    pub reg: Regularization,
}

impl WindowTrainer<'_> {
    /// One outer iteration on inputs `x` and targets `y` (both `[steps, batch]`) from state
    /// `hidden`: the m nodes of `opt` each take their part (see [`SplitMode`]). Returns the
    /// α-weighted cross-entropy at the starting weights and the state to carry to the next
    /// window (detached).
    ///
    /// # Errors
    /// A non-finite node loss ([`pisa_core::Error::NonFiniteLoss`]; the iteration is
    /// abandoned), a window too short for the nodes, or an optimizer error.
    pub fn step(
        &self,
        opt: &mut dyn Optimizer,
        x: &Tensor,
        y: &Tensor,
        hidden: &Hidden,
    ) -> Result<(f64, Hidden), LstmError> {
        let m = opt.node_weights().len();
        let dim = match self.mode {
            SplitMode::Time => 0,
            SplitMode::Batch => 1,
        };
        let split = NodeSplit::contiguous(x.size()[dim] as usize, m)?;
        if m > 1 {
            let sizes: Vec<usize> = split.ranges().iter().map(|r| r.len()).collect();
            opt.set_node_weights(NodeWeights::proportional(&sizes)?)?;
        }
        let alpha = opt.node_weights().clone();
        let (model, reg) = (self.model, &self.reg);
        // What each node's loss closure leaves for the next node and for the caller: the
        // carried state (time) or the nodes' final states (batch), and the cross-entropies.
        let mut carried = detach(hidden);
        let mut parts = Vec::new();
        let mut ces = Vec::with_capacity(m);
        opt.step_with(
            &mut |node| {
                let (loss, ce, next) = match self.mode {
                    SplitMode::Time => training_loss(
                        model,
                        &split.slice(x, 0, node),
                        &split.slice(y, 0, node),
                        &carried,
                        reg,
                    ),
                    SplitMode::Batch => {
                        let r = &split.ranges()[node];
                        let h = narrow_hidden(&carried, r.start as i64, r.len() as i64);
                        training_loss(model, &split.slice(x, 1, node), &split.slice(y, 1, node), &h, reg)
                    }
                };
                // `next` is detached, so carrying it before this node's backward and step
                // changes nothing in them.
                match self.mode {
                    SplitMode::Time => carried = detach(&next),
                    SplitMode::Batch => parts.push(detach(&next)),
                }
                ces.push(ce);
                loss
            },
            &mut |_| pisa_core::clip_grad_norm(self.vars, reg.clip, ClipArithmetic::Float64Norm).map(drop),
        )?;
        let mut weighted = 0.0;
        for (node, ce) in ces.iter().enumerate() {
            weighted += alpha.get(node) * ce.f_double_value(&[])?;
        }
        let next = match self.mode {
            SplitMode::Time => carried,
            SplitMode::Batch => cat_hidden(&parts),
        };
        Ok((weighted, next))
    }
}

/// Mean cross-entropy per token of `model` over `data` (`[steps, batch]` from
/// [`crate::corpus::batchify`]) in windows of `bptt`, carrying the state, without dropout.
/// Perplexity is its exponential.
pub fn evaluate(model: &AwdLstm, data: &Tensor, bptt: i64) -> f64 {
    tch::no_grad(|| {
        let (steps, batch) = (data.size()[0], data.size()[1]);
        let mut hidden = model.init_hidden(batch);
        let (mut total, mut count) = (0.0, 0i64);
        let mut start = 0;
        while start < steps - 1 {
            let (x, y) = window(data, start, bptt);
            let out = model.forward(&x, &hidden, false);
            let n = y.numel() as i64;
            total += cross_entropy(&out.logits, &y).double_value(&[]) * n as f64;
            count += n;
            hidden = out.hidden;
            start += x.size()[0];
        }
        total / count.max(1) as f64
    })
}

/// AWD-LSTM's window length: `bptt` with probability 0.95, else `bptt / 2`; plus N(0, 5²);
/// at least 5 (and at least `min`, so that every node gets a step).
pub fn seq_len(rng: &mut SplitMix64, bptt: f64, min: i64) -> i64 {
    let base = if rng.uniform() < 0.95 { bptt } else { bptt / 2.0 };
    ((base + 5.0 * rng.normal()).round() as i64).max(5).max(min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn clipping_scales_the_global_norm_down_only() {
        let w = Tensor::zeros([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let v = Tensor::zeros([1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let c = Tensor::from_slice(&[3.0f32, 0.0, 0.0]);
        // Gradients (3, 0, 0) and (4): global norm 5.
        ((&w * &c).sum(Kind::Float) + (&v * 4.0).sum(Kind::Float)).backward();
        let vars = [w.shallow_clone(), v.shallow_clone()];
        let clip_grad_norm = |vars: &[Tensor], max| {
            pisa_core::clip_grad_norm(vars, max, ClipArithmetic::Float64Norm)
                .unwrap()
                .double_value(&[])
        };
        assert!((clip_grad_norm(&vars, 10.0) - 5.0).abs() < 1e-6);
        assert_eq!(w.grad().double_value(&[0]), 3.0); // under the bound: untouched
        assert!((clip_grad_norm(&vars, 0.25) - 5.0).abs() < 1e-6);
        assert!((w.grad().double_value(&[0]) - 0.15).abs() < 1e-6);
        assert!((v.grad().double_value(&[0]) - 0.20).abs() < 1e-6);
    }

    #[test]
    fn bptt_lengths_follow_awd_and_the_seed() {
        let draw = |seed| {
            let mut rng = SplitMix64::new(seed, 3);
            (0..20_000)
                .map(|_| seq_len(&mut rng, 70.0, 4))
                .collect::<Vec<_>>()
        };
        let a = draw(1);
        assert_eq!(a, draw(1));
        assert_ne!(a, draw(2));
        assert!(a.iter().all(|&l| l >= 5));
        // E = 0.95 · 70 + 0.05 · 35 = 68.25; the standard error of the mean is about 0.06.
        let mean = a.iter().sum::<i64>() as f64 / a.len() as f64;
        assert!((mean - 68.25).abs() < 0.3, "{mean}");
        let short = a.iter().filter(|&&l| l < 52).count() as f64 / a.len() as f64;
        assert!((short - 0.05).abs() < 0.01, "{short}");
    }
}
