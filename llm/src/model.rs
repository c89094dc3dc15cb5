//! GPT-2 with Hugging Face's parameter names and layout.
//!
//! Variables live in a `VarStore` under the names of `transformers`' `GPT2LMHeadModel`
//! (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ...). The projections are
//! GPT-2's `Conv1D`: weight `[in, out]`, applied as `x · W + b` (the transpose of `nn::Linear`).
//! The head is the token embedding when `tie_word_embeddings` (GPT-2's default); otherwise it is
//! a separate `lm_head.weight` `[vocab, d]`. Attention runs through libtorch's fused
//! `scaled_dot_product_attention` with a causal mask.
//!
//! **Mixed precision.** [`Gpt2::set_compute_kind`] with `Some(Kind::BFloat16)` does what
//! PyTorch's bf16 autocast does to this network on any device: the matrix products (all
//! projections, attention, the head) run in bf16 on bf16 copies of the f32 master weights,
//! LayerNorm and the loss in f32, and the residual stream stays f32. libtorch's own autocast
//! (`tch::autocast`) is CUDA-only and fixed to f16 in tch, hence this explicit form.

use crate::config::Gpt2Config;
use crate::error::{LlmError, Result};
use tch::nn::{Init, Path};
use tch::{Kind, Tensor};

/// A GPT-2 language model (`GPT2LMHeadModel`).
#[derive(Debug)]
pub struct Gpt2 {
    config: Gpt2Config,
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Option<Tensor>,
    compute: Option<Kind>,
}

#[derive(Debug)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

/// GPT-2's `Conv1D`: `x · W + b` with `W` of shape `[in, out]`.
#[derive(Debug)]
struct Conv1D {
    weight: Tensor,
    bias: Tensor,
}

#[derive(Debug)]
struct Block {
    ln_1: LayerNorm,
    c_attn: Conv1D,
    attn_proj: Conv1D,
    ln_2: LayerNorm,
    c_fc: Conv1D,
    mlp_proj: Conv1D,
    n_head: i64,
    scale: f64,
}

impl LayerNorm {
    fn new(p: &Path, d: i64, eps: f64) -> Self {
        LayerNorm {
            weight: p.var("weight", &[d], Init::Const(1.0)),
            bias: p.var("bias", &[d], Init::Const(0.0)),
            eps,
        }
    }

    /// Always in f32 (as under autocast).
    fn forward(&self, x: &Tensor) -> Tensor {
        let d = self.weight.size()[0];
        x.to_kind(Kind::Float)
            .layer_norm([d], Some(&self.weight), Some(&self.bias), self.eps, true)
    }
}

impl Conv1D {
    fn new(p: &Path, n_in: i64, n_out: i64, std: f64) -> Self {
        Conv1D {
            weight: p.var(
                "weight",
                &[n_in, n_out],
                Init::Randn {
                    mean: 0.0,
                    stdev: std,
                },
            ),
            bias: p.var("bias", &[n_out], Init::Const(0.0)),
        }
    }

    fn forward(&self, x: &Tensor, compute: Option<Kind>) -> Tensor {
        match compute {
            Some(k) => x
                .to_kind(k)
                .matmul(&self.weight.to_kind(k))
                .g_add(&self.bias.to_kind(k)),
            None => x.matmul(&self.weight).g_add(&self.bias),
        }
    }
}

impl Block {
    fn new(p: &Path, c: &Gpt2Config, layer: i64) -> Self {
        let (d, std) = (c.n_embd, c.initializer_range);
        // GPT-2 (and HF's `_init_weights`): residual projections get std / √(2 L).
        let proj_std = std / (2.0 * c.n_layer as f64).sqrt();
        let head_dim = (d / c.n_head) as f64;
        let mut scale = if c.scale_attn_weights {
            1.0 / head_dim.sqrt()
        } else {
            1.0
        };
        if c.scale_attn_by_inverse_layer_idx {
            scale /= (layer + 1) as f64;
        }
        Block {
            ln_1: LayerNorm::new(&(p / "ln_1"), d, c.layer_norm_epsilon),
            c_attn: Conv1D::new(&(p / "attn" / "c_attn"), d, 3 * d, std),
            attn_proj: Conv1D::new(&(p / "attn" / "c_proj"), d, d, proj_std),
            ln_2: LayerNorm::new(&(p / "ln_2"), d, c.layer_norm_epsilon),
            c_fc: Conv1D::new(&(p / "mlp" / "c_fc"), d, c.inner(), std),
            mlp_proj: Conv1D::new(&(p / "mlp" / "c_proj"), c.inner(), d, proj_std),
            n_head: c.n_head,
            scale,
        }
    }

    fn forward(&self, x: &Tensor, c: &Gpt2Config, train: bool, compute: Option<Kind>) -> Tensor {
        let (b, t, d) = x.size3().expect("[batch, time, width]");
        let hd = d / self.n_head;
        let qkv = self.c_attn.forward(&self.ln_1.forward(x), compute);
        let heads = |i: i64| {
            qkv.narrow(2, i * d, d)
                .view([b, t, self.n_head, hd])
                .transpose(1, 2)
        };
        let attn_p = if train { c.attn_pdrop } else { 0.0 };
        let y = Tensor::scaled_dot_product_attention::<Tensor>(
            &heads(0),
            &heads(1),
            &heads(2),
            None,
            attn_p,
            true,
            self.scale,
            false,
        );
        let y = y.transpose(1, 2).contiguous().view([b, t, d]);
        let x = x + self.attn_proj.forward(&y, compute).dropout(c.resid_pdrop, train);
        let act = if c.activation_function == "gelu" {
            "none"
        } else {
            "tanh"
        };
        let h = self.c_fc.forward(&self.ln_2.forward(&x), compute).gelu(act);
        x + self.mlp_proj.forward(&h, compute).dropout(c.resid_pdrop, train)
    }
}

impl Gpt2 {
    /// Creates the variables under `root` (names as in `GPT2LMHeadModel`), initialized as GPT-2
    /// is: N(0, 0.02) weights and embeddings, N(0, 0.02/√(2L)) residual projections, zero
    /// biases, unit LayerNorm gains. Uses torch's global generator (seed it first).
    ///
    /// # Errors
    /// [`LlmError::Config`] when the configuration is invalid.
    pub fn new(root: &Path, config: &Gpt2Config) -> Result<Self> {
        config.validate()?;
        let c = config;
        let tr = root / "transformer";
        let emb = Init::Randn {
            mean: 0.0,
            stdev: c.initializer_range,
        };
        let wte = (&tr / "wte").var("weight", &[c.vocab_size, c.n_embd], emb);
        let wpe = (&tr / "wpe").var("weight", &[c.n_positions, c.n_embd], emb);
        let blocks = (0..c.n_layer)
            .map(|i| Block::new(&(&tr / "h" / i), c, i))
            .collect();
        let ln_f = LayerNorm::new(&(&tr / "ln_f"), c.n_embd, c.layer_norm_epsilon);
        let lm_head = (!c.tie_word_embeddings)
            .then(|| (root / "lm_head").var("weight", &[c.vocab_size, c.n_embd], emb));
        Ok(Gpt2 {
            config: config.clone(),
            wte,
            wpe,
            blocks,
            ln_f,
            lm_head,
            compute: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Gpt2Config {
        &self.config
    }

    /// `Some(Kind::BFloat16)` (or `Half`) runs the matrix products in that kind, like PyTorch's
    /// autocast (module docs); `None` (default) runs everything in the weights' kind.
    pub fn set_compute_kind(&mut self, kind: Option<Kind>) {
        self.compute = kind;
    }

    /// Logits `[batch, time, vocab]` (f32) for token ids `[batch, time]` (int64).
    /// `train` switches dropout on.
    ///
    /// # Panics
    /// When the input is longer than `n_positions` (see [`Self::check_input`]).
    pub fn forward_t(&self, ids: &Tensor, train: bool) -> Tensor {
        if let Err(e) = self.check_input(ids) {
            panic!("{e}");
        }
        let c = &self.config;
        let t = ids.size()[1];
        let pos = Tensor::arange(t, (Kind::Int64, ids.device()));
        let x = Tensor::embedding(&self.wte, ids, -1, false, false)
            + Tensor::embedding(&self.wpe, &pos, -1, false, false);
        let mut x = x.dropout(c.embd_pdrop, train);
        for block in &self.blocks {
            x = block.forward(&x, c, train, self.compute);
        }
        let x = self.ln_f.forward(&x);
        let head = self.lm_head.as_ref().unwrap_or(&self.wte);
        match self.compute {
            Some(k) => x.to_kind(k).matmul(&head.to_kind(k).tr()).to_kind(Kind::Float),
            None => x.matmul(&head.tr()),
        }
    }

    /// Checks that `ids` is `[batch, time]` int64 with 1 ≤ time ≤ `n_positions`.
    ///
    /// # Errors
    /// [`LlmError::Config`] saying what is wrong.
    pub fn check_input(&self, ids: &Tensor) -> Result<()> {
        let size = ids.size();
        if size.len() != 2 || ids.kind() != Kind::Int64 {
            return Err(LlmError::Config(format!(
                "input ids must be [batch, time] int64, got {size:?} {:?}",
                ids.kind()
            )));
        }
        if size[1] < 1 || size[1] > self.config.n_positions {
            return Err(LlmError::Config(format!(
                "input of {} tokens; the model's context is 1..={} (n_positions)",
                size[1], self.config.n_positions
            )));
        }
        Ok(())
    }

    /// Mean next-token cross-entropy of `targets` `[batch, time]` given `ids` `[batch, time]`
    /// (targets = ids shifted left by one, as the data loaders produce them).
    pub fn loss(&self, ids: &Tensor, targets: &Tensor, train: bool) -> Tensor {
        let logits = self.forward_t(ids, train);
        let v = self.config.vocab_size;
        logits
            .view([-1, v])
            .cross_entropy_for_logits(&targets.reshape([-1]))
    }
}

/// Re-initializes every variable of a [`Gpt2`] in `vs` as [`Gpt2::new`] does, but from a
/// [`crate::shards::SplitMix64`] stream per variable (Box–Muller normals) instead of torch's
/// global generator: the same weights for a seed on every device and in every thread.
///
/// # Errors
/// A libtorch error while copying.
pub fn init_weights(vs: &tch::nn::VarStore, config: &Gpt2Config, seed: u64) -> Result<()> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let std = config.initializer_range;
    let proj_std = std / (2.0 * config.n_layer as f64).sqrt();
    tch::no_grad(|| {
        for (k, (name, var)) in vars.iter().enumerate() {
            let is_norm = name.contains(".ln_");
            let value = if name.ends_with(".bias") {
                Some(0.0)
            } else if is_norm {
                Some(1.0)
            } else {
                None
            };
            let mut v = var.shallow_clone();
            match value {
                Some(c) => {
                    let _ = v.f_fill_(c)?;
                }
                None => {
                    let s = if name.ends_with("c_proj.weight") {
                        proj_std
                    } else {
                        std
                    };
                    let mut rng = crate::shards::stream(seed, k as u64 + 1);
                    let n = var.numel();
                    let mut buf = Vec::with_capacity(n);
                    while buf.len() < n {
                        let (u1, u2) = (1.0 - rng.uniform(), rng.uniform());
                        let r = (-2.0 * u1.ln()).sqrt() * s;
                        let a = std::f64::consts::TAU * u2;
                        buf.push((r * a.cos()) as f32);
                        buf.push((r * a.sin()) as f32);
                    }
                    buf.truncate(n);
                    let t = Tensor::from_slice(&buf)
                        .view(var.size().as_slice())
                        .to_device(var.device());
                    v.f_copy_(&t)?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn::VarStore, Device};

    fn tiny() -> Gpt2Config {
        Gpt2Config::new(11, 8, 8, 2, 2)
    }

    #[test]
    fn variables_have_hugging_face_names_and_shapes() {
        let vs = VarStore::new(Device::Cpu);
        let _m = Gpt2::new(&vs.root(), &tiny()).unwrap();
        let vars = vs.variables();
        assert_eq!(vars["transformer.h.1.attn.c_attn.weight"].size(), [8, 24]);
        assert_eq!(vars["transformer.h.0.mlp.c_proj.weight"].size(), [32, 8]);
        assert_eq!(vars["transformer.wpe.weight"].size(), [8, 8]);
        assert!(!vars.contains_key("lm_head.weight"), "tied head");
        // 2 embeddings + ln_f (2) + 12 per block.
        assert_eq!(vars.len(), 2 + 2 + 2 * 12);
        let n: i64 = vars.values().map(|t| t.numel() as i64).sum();
        assert_eq!(n, tiny().num_params());
    }

    #[test]
    fn too_long_input_is_an_error() {
        let vs = VarStore::new(Device::Cpu);
        let m = Gpt2::new(&vs.root(), &tiny()).unwrap();
        let ids = Tensor::zeros([1, 9], (Kind::Int64, Device::Cpu));
        assert!(m
            .check_input(&ids)
            .unwrap_err()
            .to_string()
            .contains("n_positions"));
    }

    #[test]
    fn seeded_init_is_reproducible_and_has_gpt2s_statistics() {
        let cfg = Gpt2Config::new(500, 8, 64, 2, 2);
        let weights = |seed| {
            let vs = VarStore::new(Device::Cpu);
            let _m = Gpt2::new(&vs.root(), &cfg).unwrap();
            init_weights(&vs, &cfg, seed).unwrap();
            vs.variables()
        };
        let (a, b, c) = (weights(1), weights(1), weights(2));
        for (name, t) in &a {
            assert_eq!(t, &b[name], "{name}");
        }
        assert_ne!(a["transformer.wte.weight"], c["transformer.wte.weight"]);
        let wte = &a["transformer.wte.weight"];
        let (mean, std) = (
            wte.mean(Kind::Float).double_value(&[]),
            wte.std(true).double_value(&[]),
        );
        assert!(mean.abs() < 1e-3 && (std - 0.02).abs() < 4e-4, "{mean} {std}");
        let proj = a["transformer.h.1.mlp.c_proj.weight"].std(true).double_value(&[]);
        assert!((proj - 0.01).abs() < 5e-4, "0.02/√(2·2) = 0.01, got {proj}");
        assert_eq!(
            a["transformer.h.0.ln_2.weight"],
            Tensor::ones([64], (Kind::Float, Device::Cpu))
        );
        assert_eq!(
            a["transformer.h.0.attn.c_attn.bias"]
                .abs()
                .sum(Kind::Float)
                .double_value(&[]),
            0.0
        );
    }
}
