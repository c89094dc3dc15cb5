//! Generative adversarial networks trained with PISA-family optimizers.
//!
//! This crate will hold WGAN and WGAN-GP, the image datasets they train on, and FID evaluation.
//! Later issues fill it in.
#![warn(missing_docs)]
