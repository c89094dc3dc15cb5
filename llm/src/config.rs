//! GPT-2 hyperparameters in Hugging Face's `config.json` form, and the named presets.

use crate::error::{LlmError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// GPT-2's architecture, with the field names of Hugging Face's `GPT2Config` so that a
/// `config.json` reads and writes directly. Keys this crate does not use are kept in `extra`
/// and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt2Config {
    /// Vocabulary size (50,257 for GPT-2's BPE).
    pub vocab_size: i64,
    /// Context length: the most positions the model has embeddings for.
    pub n_positions: i64,
    /// Width d of the residual stream.
    pub n_embd: i64,
    /// Number of transformer blocks.
    pub n_layer: i64,
    /// Attention heads per block (must divide `n_embd`).
    pub n_head: i64,
    /// MLP hidden width; `null` means 4 · `n_embd`.
    #[serde(default)]
    pub n_inner: Option<i64>,
    /// `gelu_new` (tanh approximation, GPT-2's own) or `gelu` (exact erf).
    #[serde(default = "default_activation")]
    pub activation_function: String,
    /// Dropout after each residual branch.
    #[serde(default = "default_dropout")]
    pub resid_pdrop: f64,
    /// Dropout on the summed token + position embeddings.
    #[serde(default = "default_dropout")]
    pub embd_pdrop: f64,
    /// Dropout on the attention probabilities.
    #[serde(default = "default_dropout")]
    pub attn_pdrop: f64,
    /// LayerNorm ε.
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    /// Standard deviation of the weight initialization.
    #[serde(default = "default_init")]
    pub initializer_range: f64,
    /// Divide attention scores by √(head size) (GPT-2: true).
    #[serde(default = "yes")]
    pub scale_attn_weights: bool,
    /// Also divide them by (layer index + 1) (GPT-2: false).
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    /// The output head is the token embedding (GPT-2: true).
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
    /// Every other key of the file (`model_type`, `architectures`, token ids, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn default_activation() -> String {
    "gelu_new".into()
}
fn default_dropout() -> f64 {
    0.1
}
fn default_eps() -> f64 {
    1e-5
}
fn default_init() -> f64 {
    0.02
}
fn yes() -> bool {
    true
}

/// The preset names [`Gpt2Config::preset`] knows.
pub const PRESETS: [&str; 7] = [
    "gpt2",
    "gpt2-medium",
    "gpt2-large",
    "gpt2-xl",
    "nano",
    "tiny",
    "test",
];

impl Gpt2Config {
    /// A GPT-2 of the given shape with GPT-2's other settings (dropout 0.1, GELU-tanh, tied head).
    pub fn new(vocab_size: i64, n_positions: i64, n_embd: i64, n_layer: i64, n_head: i64) -> Self {
        let mut extra = serde_json::Map::new();
        extra.insert("model_type".into(), "gpt2".into());
        extra.insert("architectures".into(), serde_json::json!(["GPT2LMHeadModel"]));
        Gpt2Config {
            vocab_size,
            n_positions,
            n_embd,
            n_layer,
            n_head,
            n_inner: None,
            activation_function: default_activation(),
            resid_pdrop: 0.1,
            embd_pdrop: 0.1,
            attn_pdrop: 0.1,
            layer_norm_epsilon: 1e-5,
            initializer_range: 0.02,
            scale_attn_weights: true,
            scale_attn_by_inverse_layer_idx: false,
            tie_word_embeddings: true,
            extra,
        }
    }

    /// A named preset: `gpt2` (124M), `gpt2-medium` (355M), `gpt2-large` (774M), `gpt2-xl`
    /// (1.5B), `nano` (GPT-2 124M's shape, 6 heads like modded-nanogpt, no dropout), and two
    /// small ones on GPT-2's vocabulary for CPU runs: `tiny` (4 layers, width 128, 4 heads,
    /// context 128, ≈ 7.2M parameters, mostly the embedding) and `test` (2 layers, width 32);
    /// `unit` is `test` with a vocabulary of 512, for unit tests on synthetic token ids.
    ///
    /// # Errors
    /// [`LlmError::Config`] for an unknown name.
    pub fn preset(name: &str) -> Result<Self> {
        let v = 50257;
        Ok(match name {
            "gpt2" => Self::new(v, 1024, 768, 12, 12),
            "gpt2-medium" => Self::new(v, 1024, 1024, 24, 16),
            "gpt2-large" => Self::new(v, 1024, 1280, 36, 20),
            "gpt2-xl" => Self::new(v, 1024, 1600, 48, 25),
            "nano" => Self::new(v, 1024, 768, 12, 6).without_dropout(),
            "tiny" => Self::new(v, 128, 128, 4, 4).without_dropout(),
            "test" => Self::new(v, 64, 32, 2, 2).without_dropout(),
            "unit" => Self::new(512, 64, 32, 2, 2).without_dropout(),
            other => {
                return Err(LlmError::Config(format!(
                    "unknown preset `{other}`; known: {}",
                    PRESETS.join(", ")
                )))
            }
        })
    }

    /// The same configuration with every dropout rate 0.
    pub fn without_dropout(mut self) -> Self {
        self.resid_pdrop = 0.0;
        self.embd_pdrop = 0.0;
        self.attn_pdrop = 0.0;
        self
    }

    /// The MLP's hidden width.
    pub fn inner(&self) -> i64 {
        self.n_inner.unwrap_or(4 * self.n_embd)
    }

    /// Checks the shape and options this implementation supports.
    ///
    /// # Errors
    /// [`LlmError::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(LlmError::Config(m));
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
            ("n_inner", self.inner()),
        ] {
            if v <= 0 {
                return bad(format!("{name} = {v} must be positive"));
            }
        }
        if self.n_embd % self.n_head != 0 {
            return bad(format!(
                "n_embd {} is not a multiple of n_head {}",
                self.n_embd, self.n_head
            ));
        }
        if !["gelu_new", "gelu", "gelu_pytorch_tanh"].contains(&self.activation_function.as_str()) {
            return bad(format!(
                "activation_function `{}` is not supported (gelu_new, gelu_pytorch_tanh, gelu)",
                self.activation_function
            ));
        }
        for (name, p) in [
            ("resid_pdrop", self.resid_pdrop),
            ("embd_pdrop", self.embd_pdrop),
            ("attn_pdrop", self.attn_pdrop),
        ] {
            if !(0.0..1.0).contains(&p) {
                return bad(format!("{name} = {p} must be in [0, 1)"));
            }
        }
        if self.extra.get("reorder_and_upcast_attn") == Some(&serde_json::Value::Bool(true)) {
            // Only a numerical re-ordering in f16 training; the f32 result is the same.
            eprintln!("note: reorder_and_upcast_attn is ignored (attention runs fused)");
        }
        Ok(())
    }

    /// Reads a Hugging Face `config.json`.
    ///
    /// # Errors
    /// [`LlmError::Io`] when unreadable, [`LlmError::Corrupt`] when not a GPT-2 config.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| LlmError::io(path, e))?;
        let cfg: Gpt2Config =
            serde_json::from_str(&text).map_err(|e| LlmError::corrupt(path, e.to_string()))?;
        if let Some(t) = cfg.extra.get("model_type").and_then(|v| v.as_str()) {
            if t != "gpt2" {
                return Err(LlmError::corrupt(
                    path,
                    format!("model_type is `{t}`, not `gpt2`"),
                ));
            }
        }
        cfg.validate()
            .map_err(|e| LlmError::corrupt(path, e.to_string()))?;
        Ok(cfg)
    }

    /// Writes it as a Hugging Face `config.json`.
    ///
    /// # Errors
    /// [`LlmError::Io`].
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a config serializes");
        std::fs::write(path, text + "\n").map_err(|e| LlmError::io(path, e))
    }

    /// Parameters of the model (the tied head counted once).
    pub fn num_params(&self) -> i64 {
        let (d, l) = (self.n_embd, self.n_layer);
        let block = 2 * 2 * d
            + (d * 3 * d + 3 * d)
            + (d * d + d)
            + (d * self.inner() + self.inner())
            + (self.inner() * d + d);
        let head = if self.tie_word_embeddings {
            0
        } else {
            self.vocab_size * d
        };
        self.vocab_size * d + self.n_positions * d + l * block + 2 * d + head
    }

    /// Training FLOPs per token at context `t` (PaLM appendix B / nanoGPT's `estimate_mfu`):
    /// 6·N for the matrix products (N without the position embedding) plus 12·L·d·t for
    /// attention.
    pub fn flops_per_token(&self, t: i64) -> f64 {
        let n = (self.num_params() - self.n_positions * self.n_embd) as f64;
        6.0 * n + 12.0 * (self.n_layer * self.n_embd * t) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_published_sizes() {
        // Hugging Face's parameter counts (tied head counted once).
        for (name, n) in [
            ("gpt2", 124_439_808),
            ("gpt2-medium", 354_823_168),
            ("gpt2-xl", 1_557_611_200),
        ] {
            assert_eq!(Gpt2Config::preset(name).unwrap().num_params(), n, "{name}");
        }
        for name in PRESETS {
            Gpt2Config::preset(name).unwrap().validate().unwrap();
        }
        assert!(Gpt2Config::preset("gpt3").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut c = Gpt2Config::preset("test").unwrap();
        c.n_head = 3;
        assert!(c.validate().unwrap_err().to_string().contains("n_head"));
        let mut c = Gpt2Config::preset("test").unwrap();
        c.activation_function = "relu".into();
        assert!(c.validate().unwrap_err().to_string().contains("relu"));
    }

    #[test]
    fn config_json_round_trips_unknown_keys() {
        let text = r#"{"vocab_size": 10, "n_positions": 8, "n_embd": 4, "n_layer": 1, "n_head": 2,
            "model_type": "gpt2", "bos_token_id": 50256}"#;
        let c: Gpt2Config = serde_json::from_str(text).unwrap();
        assert_eq!((c.inner(), c.resid_pdrop, c.tie_word_embeddings), (16, 0.1, true));
        let back: Gpt2Config = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.extra["bos_token_id"], 50256);
    }
}
