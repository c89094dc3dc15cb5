//! GPT-2 in `tch`, trained and fine-tuned with PISA-family optimizers (arXiv 2502.10784).
//!
//! - [`model::Gpt2`]: GPT-2 with Hugging Face's names and layout (`Conv1D` weights `[in, out]`),
//!   fused causal attention, tied embeddings, dropout, bf16 mixed precision on any device;
//!   presets from 124M to 1.5B and tiny ones ([`config::Gpt2Config::preset`]).
//! - [`hf`]: `config.json` + `model.safetensors` (also sharded with the index) load and save;
//!   the logits equal `transformers`' `GPT2LMHeadModel` to 1e-5 (test `tests/golden.rs`).
//! - [`tokenizer`]: GPT-2's BPE (`r50k_base`) from `tiktoken-rs`.
//! - [`shards`]: the nanoGPT / modded-nanogpt `.bin` token shards (FineWeb's format) and the
//!   batch sampler.
//! - [`text`]: text files → train/validation token shards.
//! - [`generate`]: greedy, temperature, top-k and top-p sampling.
//! - [`train`]: the training loop (any optimizer of the registry, m PISA nodes, gradient
//!   accumulation, clipping, validation, checkpoints with exact resume).
//! - [`replicas`]: one PISA node per device. `--node-devices auto` (the default) computes the
//!   nodes' gradients in parallel on model replicas, one thread per CUDA device (node i on
//!   device i mod d), when the run is on CUDA and libtorch sees several devices; otherwise the
//!   nodes run one after another on `--device`. An explicit list (`cuda:0,cuda:1`, or
//!   `cpu,cpu` for testing) forces the replica path.
//!
//! The binary `llm` (`src/bin/llm.rs`) drives it; `cargo xtask llm` builds and runs it.
//!
//! # Deviations from the paper's setups
//! - The paper's NSISA-Nano is modded-nanogpt's GPT (RoPE, QK-norm, ReLU², no biases); this crate
//!   trains the Hugging Face GPT-2 architecture (learned positions, LayerNorm, GELU, biases) with
//!   every optimizer. The hidden matrices (`transformer.h.*` 2-D weights) get NSISA / Muon; the
//!   embeddings, biases and LayerNorm gains get AdamW (presets `gpt2-pretrain` in
//!   `adapters/runs/presets/optimizers.toml`), where the authors' Medium/XL code leaves `wpe` and
//!   `ln_f` untrained (spec §9 Q12).
//! - The m PISA nodes run sequentially on one device, or with several CUDA devices (or
//!   `--node-devices`) in parallel, one thread per device, in one process; either way the
//!   optimizer aggregates in f32 on the run's device (the authors: one process per GPU, 16-bit
//!   all-reduce, spec §9 Q13). Several CUDA devices were never run here (see [`replicas`]).
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod generate;
pub mod hf;
pub mod model;
mod node;
pub mod optim;
pub mod replicas;
pub mod shards;
pub mod text;
pub mod tokenizer;
pub mod train;

pub use config::Gpt2Config;
pub use error::{LlmError, Result};
pub use model::Gpt2;
