//! Glue between `pisa-core` and training code, built once for every domain (RL, GAN, LSTM, GPT-2).
//!
//! - [`registry`]: any optimizer by name with per-domain defaults (Table A.1) and TOML overrides;
//! - [`nodes`]: splitting a batch or a sequence into the m node batches and their weights α_i;
//! - [`run`]: run directories `runs/<domain>/<name>/` with `config.toml`, `metrics.csv`,
//!   `summary.json`; [`metrics`] logs every metric to the CSV and to TensorBoard ([`tfevents`]);
//! - [`checkpoint`]: atomic checkpoints (model, optimizer, RNG, step) and exact resume;
//! - [`plot`] and [`report`]: training curves and comparison reports;
//! - [`image`]: image batches tiled into a grid and encoded as PNG (sample grids);
//! - [`progress`]: progress bars with ETA, plain lines off a terminal;
//! - [`data`]: datasets (MNIST from `cargo xtask data mnist` or the official files) and
//!   seedable, resumable mini-batches.
//!
//! - [`rl`]: PPO and A2C on `envs` with any registry optimizer (SISA splits each minibatch into
//!   m node batches): GAE, actor-critic policies (Gaussian, categorical), observation
//!   normalization and reward scaling, linear lr (σ/ρ) decay, evaluation, checkpoints with exact
//!   resume; the `rl` binary (`cargo xtask rl`) trains, compares and replays.
#![warn(missing_docs)]

pub mod checkpoint;
pub mod data;
pub mod device;
pub mod image;
pub mod metrics;
pub mod nodes;
pub mod plot;
pub mod progress;
pub mod registry;
pub mod report;
pub mod rl;
pub mod run;
