//! LSTM language models trained with PISA-family optimizers.
//!
//! This crate will hold the LSTM language models (with AWD-style weight drop), corpus loading and
//! perplexity evaluation. Later issues fill it in.
#![warn(missing_docs)]
