//! WGAN and WGAN-GP trained with PISA-family optimizers (SISA) or the baselines, with a real FID.
//!
//! - [`model`]: DCGAN generator and critic (z = 100, 64 base channels; 64×64 as the paper,
//!   native 32×32, and 1-channel MNIST);
//! - [`train`]: one critic / generator iteration through the pisa-core node protocol
//!   (WGAN weight clipping on the aggregated global weights; WGAN-GP penalty per node sub-batch);
//! - [`data`]: CIFAR-10 (binary batches or JPEG/PNG class folders), image folders, MNIST;
//! - [`fid`] and [`inception`]: FID with f64 statistics and the TorchScript TF-FID Inception;
//! - [`ring`]: the 2-D toy (8 Gaussians on a ring, MLP networks) with the mode-coverage and
//!   high-quality metrics and scatter pictures: `--dataset ring`, what `cargo xtask demo` shows;
//! - FID curves, box plots and tables over seeds: `report::compare` (`gan compare`).
//!
//! The trainer binary `gan` (`cargo xtask gan`) ties them together: sample grids every epoch
//! (PNG and TensorBoard), FID every few epochs, checkpoints and exact resume.
//!
//! # Deviations from the paper's setup
//! - n_critic defaults to 5 (the WGAN papers); the PISA authors' GAN code used 1
//!   (`--n-critic 1` reproduces it).
//! - The WGAN-GP critic has no batch norm (the penalty is per example); the WGAN critic keeps
//!   DCGAN's batch norm.
//! - FID on CPU uses far fewer samples than the paper's 6,400 / 64,000 (flags), so the values
//!   are biased upwards and only comparable between runs with the same counts.
#![warn(missing_docs)]

pub mod data;
pub mod error;
pub mod fid;
pub mod inception;
pub mod model;
pub mod ring;
pub mod run;
pub mod train;

pub use error::{GanError, Result};

/// Serializes the unit tests that draw from libtorch's global generator (model initialization,
/// `tch::manual_seed`): tests run on parallel threads, and one test's draw between another's
/// seeding and sampling changes the latter's numbers.
#[cfg(test)]
pub(crate) fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
