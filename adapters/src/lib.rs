//! Glue between `pisa-core` and training code.
//!
//! This crate will hold the optimizer registry (build any optimizer by name from a config), node
//! splitting, run directories, metrics (TensorBoard / CSV), checkpoints, plots and progress bars,
//! and the RL agents (PPO, A2C) that train on `envs`. Later issues fill it in.
#![warn(missing_docs)]

pub mod plot;
pub mod report;
