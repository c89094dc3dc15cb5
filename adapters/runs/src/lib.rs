//! What every pisa-rs training run uses, built once for every domain (MNIST, RL, GAN, LSTM,
//! GPT-2):
//!
//! - [`session`]: the run skeleton: [`session::RunArgs`] (the flags every training binary
//!   flattens in) and [`session::Session`], which owns the device, seed, optimizer, run folder,
//!   resume, checkpoint cadence, the non-finite stop and the typed summary;
//! - [`registry`]: any optimizer by name with per-domain defaults (Table A.1) and TOML overrides;
//! - [`nodes`]: splitting a batch or a sequence into the m node batches and their weights α_i;
//! - [`run`]: run directories `runs/<domain>/<name>/` with `config.toml`, `metrics.csv`,
//!   `summary.json`; [`metrics`] logs every metric to the CSV and to TensorBoard ([`tfevents`]);
//! - [`checkpoint`]: atomic checkpoints (model, optimizer, RNG, step) and exact resume;
//! - [`guard`]: the divergence guard (a loss far above its running median, exploding weights);
//! - [`toy`]: the smallest domain on the skeleton (what the reliability tests run);
//! - [`rng`]: SplitMix64, the seedable generator for data order and sampling;
//! - [`image`]: image batches tiled into a grid and encoded as PNG (sample grids);
//! - [`cli`]: range-checked flag parsers, usage errors and exit codes; [`signal`]: Ctrl-C;
//!   [`refusals`]: the bad-input check each binary's tests run;
//! - [`progress`]: progress bars with ETA, plain lines off a terminal;
//! - [`device`]: `cpu` / `cuda` / `cuda:N` / `auto` from the command line;
//! - [`data`]: the data directory, the IDX format, and seedable, resumable mini-batches.
//!
//! Plots and comparison reports live in the `report` crate (no libtorch).
#![warn(missing_docs)]

pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod device;
pub mod guard;
pub mod image;
pub mod metrics;
pub mod nodes;
pub mod progress;
pub mod refusals;
pub mod registry;
pub mod rng;
pub mod run;
pub mod session;
pub mod signal;
pub mod toy;

/// Serializes the unit tests that seed libtorch's global generator (`tch::manual_seed`): tests
/// run on parallel threads, and one test's seeding would change another's random draws.
#[cfg(test)]
pub(crate) fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
