//! LSTM language models (AWD-LSTM) trained with PISA-family optimizers, as in the paper's Penn
//! Treebank experiments (arXiv 2502.10784, App. A.6; the AdaBelief repository's setup).
//!
//! - [`corpus`]: PTB-format files `ptb.{train,valid,test}.txt` (`<eos>` per line, ids by first
//!   appearance) and `batchify` by columns;
//! - [`model`]: the AWD-LSTM (embedding 400, hidden 1150, 1–3 layers, embedding / input /
//!   hidden / output dropout, weight-drop on the hidden-to-hidden weights, tied decoder) on
//!   libtorch's fused LSTM kernel;
//! - [`train`]: one iteration with the m nodes split along time (hidden state passed from node
//!   to node, spec §6) or along the batch, AR/TAR, clipping 0.25, evaluation and the variable
//!   BPTT length.
//!
//! - [`bench`](mod@bench): training tokens per second on synthetic tokens (`cargo xtask bench lstm`).
//!
//! The binary `lstm` (`cargo xtask lstm`) trains, compares optimizers, resumes, and samples.
//!
//! Deviations from the paper and the authors' code are listed in [`train`] and in the binary's
//! documentation: PTB itself is not obtainable here, so measured numbers come from the PTB-like
//! corpus of `cargo xtask data ptb-like` and are labelled so; perplexity is reported both as
//! the validation-selected test perplexity (honest) and as the best test perplexity over
//! epochs (the protocol of the authors' and AdaBelief's scripts, spec §9 Q9).
#![warn(missing_docs)]

pub mod bench;
pub mod corpus;
pub mod error;
pub mod model;
pub mod ptb_like;
pub mod run;
pub mod train;

pub use error::LstmError;
