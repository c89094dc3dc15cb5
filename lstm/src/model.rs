//! The AWD-LSTM language model (Merity et al. 2018), as AdaBelief's and the paper's PTB runs use
//! it.
//!
//! embedding (dropout on whole words, `dropoute`) → locked dropout `dropouti` → L LSTM layers
//! (weight-drop `wdrop` on each hidden-to-hidden matrix; locked dropout `dropouth` between
//! layers) → locked dropout `dropout` → decoder tied to the embedding. The last layer's size is
//! the embedding size when tied, as in AWD-LSTM.
//!
//! Each layer runs through libtorch's fused LSTM kernel (`Tensor::lstm`, cuDNN on CUDA) with the
//! weights passed explicitly, so weight-drop is a fresh `dropout` of `w_hh` at every training
//! forward (AWD's `WeightDrop`, non-variational) and nothing at evaluation.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::error::LstmError;

/// Model sizes and regularization, AWD-LSTM's PTB defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwdConfig {
    /// Vocabulary size V (PTB: 10,000).
    pub vocab: usize,
    /// Embedding size (400).
    pub emb: usize,
    /// Hidden size of all layers but the last (1150).
    pub hidden: usize,
    /// Number of LSTM layers (1–3).
    pub layers: usize,
    /// Locked dropout on the last layer's output (0.4).
    pub dropout: f64,
    /// Locked dropout between layers (0.25).
    pub dropouth: f64,
    /// Locked dropout on the embedded input (0.4).
    pub dropouti: f64,
    /// Dropout of whole words in the embedding matrix (0.1).
    pub dropoute: f64,
    /// DropConnect on the hidden-to-hidden weights (0.5).
    pub wdrop: f64,
    /// Tie the decoder to the embedding (true).
    pub tie: bool,
}

impl AwdConfig {
    /// AWD-LSTM's PTB settings with `layers` layers over `vocab` words.
    pub fn awd(vocab: usize, layers: usize) -> Self {
        AwdConfig {
            vocab,
            emb: 400,
            hidden: 1150,
            layers,
            dropout: 0.4,
            dropouth: 0.25,
            dropouti: 0.4,
            dropoute: 0.1,
            wdrop: 0.5,
            tie: true,
        }
    }

    /// Checks sizes and probabilities.
    ///
    /// # Errors
    /// [`LstmError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<(), LstmError> {
        if self.vocab == 0 || self.emb == 0 || self.hidden == 0 || self.layers == 0 {
            return Err(LstmError::Config(format!(
                "vocab, emb, hidden and layers must be positive: {self:?}"
            )));
        }
        for (name, p) in [
            ("dropout", self.dropout),
            ("dropouth", self.dropouth),
            ("dropouti", self.dropouti),
            ("dropoute", self.dropoute),
            ("wdrop", self.wdrop),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(LstmError::Config(format!("{name} = {p} must be in [0, 1)")));
            }
        }
        Ok(())
    }

    /// Input and output size of layer `l`.
    pub fn layer_sizes(&self, l: usize) -> (usize, usize) {
        let input = if l == 0 { self.emb } else { self.hidden };
        let last_size = if self.tie { self.emb } else { self.hidden };
        let output = if l + 1 == self.layers {
            last_size
        } else {
            self.hidden
        };
        (input, output)
    }
}

/// One layer's weights, PyTorch's names and shapes.
#[derive(Debug)]
struct Layer {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
}

/// The recurrent state: `(h, c)` per layer, each `[1, batch, size]`.
pub type Hidden = Vec<(Tensor, Tensor)>;

/// What one forward pass gives.
#[derive(Debug)]
pub struct Forward {
    /// Logits `[steps * batch, V]`.
    pub logits: Tensor,
    /// The state after the last step.
    pub hidden: Hidden,
    /// The last layer's output before the output dropout `[steps, batch, emb]` (for TAR).
    pub raw: Tensor,
    /// The same after the output dropout (for AR).
    pub dropped: Tensor,
}

/// The AWD-LSTM model; its variables live in the `VarStore` it was built on.
#[derive(Debug)]
pub struct AwdLstm {
    cfg: AwdConfig,
    encoder: Tensor,
    layers: Vec<Layer>,
    decoder_weight: Option<Tensor>,
    decoder_bias: Tensor,
}

impl AwdLstm {
    /// Creates the variables under `root`: `encoder.weight` uniform(−0.1, 0.1) as AWD-LSTM,
    /// `rnn{l}.{w_ih,w_hh,b_ih,b_hh}` uniform(±1/√size) as PyTorch's LSTM, `decoder.bias` zero.
    ///
    /// # Errors
    /// [`LstmError::Config`] for invalid settings.
    pub fn new(root: &nn::Path, cfg: &AwdConfig) -> Result<Self, LstmError> {
        cfg.validate()?;
        let (v, e) = (cfg.vocab as i64, cfg.emb as i64);
        let encoder = (root / "encoder").var("weight", &[v, e], Init::Uniform { lo: -0.1, up: 0.1 });
        let layers = (0..cfg.layers)
            .map(|l| {
                let (input, output) = cfg.layer_sizes(l);
                let (i, o) = (input as i64, output as i64);
                let k = 1.0 / (output as f64).sqrt();
                let init = Init::Uniform { lo: -k, up: k };
                let p = root / format!("rnn{l}");
                Layer {
                    w_ih: p.var("w_ih", &[4 * o, i], init),
                    w_hh: p.var("w_hh", &[4 * o, o], init),
                    b_ih: p.var("b_ih", &[4 * o], init),
                    b_hh: p.var("b_hh", &[4 * o], init),
                }
            })
            .collect();
        let last = cfg.layer_sizes(cfg.layers - 1).1 as i64;
        let decoder_weight = (!cfg.tie).then(|| {
            let k = 1.0 / (last as f64).sqrt();
            (root / "decoder").var("weight", &[v, last], Init::Uniform { lo: -k, up: k })
        });
        let decoder_bias = (root / "decoder").var("bias", &[v], Init::Const(0.0));
        Ok(AwdLstm {
            cfg: cfg.clone(),
            encoder,
            layers,
            decoder_weight,
            decoder_bias,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AwdConfig {
        &self.cfg
    }

    /// A zero state for `batch` streams.
    pub fn init_hidden(&self, batch: i64) -> Hidden {
        let opts = (Kind::Float, self.encoder.device());
        (0..self.cfg.layers)
            .map(|l| {
                let size = self.cfg.layer_sizes(l).1 as i64;
                (
                    Tensor::zeros([1, batch, size], opts),
                    Tensor::zeros([1, batch, size], opts),
                )
            })
            .collect()
    }

    /// Runs `tokens` `[steps, batch]` from state `hidden`. With `train`, all dropouts and
    /// weight-drop are active (drawing from libtorch's generator); without, the pass is
    /// deterministic.
    pub fn forward(&self, tokens: &Tensor, hidden: &Hidden, train: bool) -> Forward {
        let cfg = &self.cfg;
        let weight = if train && cfg.dropoute > 0.0 {
            let keep = 1.0 - cfg.dropoute;
            let mask = Tensor::empty([cfg.vocab as i64, 1], (Kind::Float, self.encoder.device()))
                .bernoulli_float_(keep)
                / keep;
            &self.encoder * mask
        } else {
            self.encoder.shallow_clone()
        };
        let mut x = locked_dropout(
            &Tensor::embedding(&weight, tokens, -1, false, false),
            cfg.dropouti,
            train,
        );
        let mut new_hidden = Vec::with_capacity(cfg.layers);
        let mut raw = Tensor::new();
        for (l, layer) in self.layers.iter().enumerate() {
            let w_hh = if train && cfg.wdrop > 0.0 {
                layer.w_hh.dropout(cfg.wdrop, true)
            } else {
                layer.w_hh.shallow_clone()
            };
            let (h, c) = &hidden[l];
            let (out, h_n, c_n) = x.lstm(
                &[h.shallow_clone(), c.shallow_clone()],
                &[
                    layer.w_ih.shallow_clone(),
                    w_hh,
                    layer.b_ih.shallow_clone(),
                    layer.b_hh.shallow_clone(),
                ],
                true,
                1,
                0.0,
                train,
                false,
                false,
            );
            new_hidden.push((h_n, c_n));
            if l + 1 < cfg.layers {
                x = locked_dropout(&out, cfg.dropouth, train);
            } else {
                raw = out;
            }
        }
        let dropped = locked_dropout(&raw, cfg.dropout, train);
        let flat = dropped.reshape([-1, dropped.size()[2]]);
        let decoder = self.decoder_weight.as_ref().unwrap_or(&self.encoder);
        let logits = flat.linear(decoder, Some(&self.decoder_bias));
        Forward {
            logits,
            hidden: new_hidden,
            raw,
            dropped,
        }
    }
}

/// Variational ("locked") dropout: one mask per stream and feature, shared by all time steps.
pub fn locked_dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p == 0.0 {
        return x.shallow_clone();
    }
    let size = x.size();
    let mask =
        Tensor::empty([1, size[1], size[2]], (x.kind(), x.device())).bernoulli_float_(1.0 - p) / (1.0 - p);
    x * mask
}

/// The state without its history (AWD's `repackage_hidden`).
pub fn detach(hidden: &Hidden) -> Hidden {
    hidden.iter().map(|(h, c)| (h.detach(), c.detach())).collect()
}

/// Columns `range` of a state (for batch-split nodes).
pub fn narrow_hidden(hidden: &Hidden, start: i64, len: i64) -> Hidden {
    hidden
        .iter()
        .map(|(h, c)| (h.narrow(1, start, len), c.narrow(1, start, len)))
        .collect()
}

/// The column-wise concatenation of node states (inverse of [`narrow_hidden`]).
pub fn cat_hidden(parts: &[Hidden]) -> Hidden {
    let layers = parts.first().map_or(0, Vec::len);
    (0..layers)
        .map(|l| {
            let hs: Vec<&Tensor> = parts.iter().map(|p| &p[l].0).collect();
            let cs: Vec<&Tensor> = parts.iter().map(|p| &p[l].1).collect();
            (Tensor::cat(&hs, 1), Tensor::cat(&cs, 1))
        })
        .collect()
}
