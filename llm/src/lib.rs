//! GPT-2 in `tch`, trained and fine-tuned with PISA-family optimizers.
//!
//! This crate will hold the GPT-2 model, its tokenizer, Hugging Face checkpoint loading, and the
//! training and fine-tuning loops. Later issues fill it in.
#![warn(missing_docs)]
