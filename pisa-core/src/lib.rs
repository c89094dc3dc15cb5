//! # pisa-core
//!
//! PISA, SISA and NSISA (Preconditioned Inexact Stochastic ADMM, arXiv 2502.10784) and strong
//! baselines (SGD, Adam, AdamW, RMSProp, AdaBelief, RAdam, AdaBound, Yogi, Adan, M-SVAG,
//! Fromage, LAMB, Muon) on `tch` tensors, behind one [`Optimizer`] trait with the m-node
//! structure of the paper.
//!
//! Each outer iteration evaluates every node's loss at the current global weights, lets the
//! optimizer update that node's state from its gradient, and then aggregates the global weights:
//!
//! ```
//! use pisa_core::config::{OptimizerConfig, OptimizerKind};
//! use pisa_core::pisa::PisaConfig;
//! use tch::{nn, Device, Kind, Tensor};
//!
//! // Two nodes, each with its own least-squares loss f_i(w) = ½‖w − c_i‖².
//! let vs = nn::VarStore::new(Device::Cpu);
//! let w = vs.root().zeros("w", &[3]);
//! let targets = [Tensor::from_slice(&[1.0f32, 2., 3.]), Tensor::from_slice(&[3.0f32, 2., 1.])];
//! let sisa = PisaConfig { nodes: 2, sigma: 5.0, rho: Some(1.0), ..PisaConfig::default() };
//! let mut opt = OptimizerConfig::new(OptimizerKind::Sisa(sisa)).build(&vs)?;
//! for _ in 0..200 {
//!     opt.step(&mut |i| (&w - &targets[i]).square().sum(Kind::Float) * 0.5)?;
//! }
//! // The consensus minimizer of ½Σα_i‖w − c_i‖² is the mean of the targets.
//! assert!((w - 2.0).abs().max().double_value(&[]) < 1e-3);
//! # Ok::<(), pisa_core::Error>(())
//! ```
#![warn(missing_docs)]

pub mod baselines;
pub mod clip;
pub mod collective;
pub mod composite;
pub mod config;
pub mod error;
mod kernels;
pub mod newton_schulz;
pub mod nsisa;
pub mod optimizer;
pub mod params;
pub mod pisa;
pub mod problems;
pub mod schedule;
mod second_moment;
pub mod state;

pub use clip::{clip_grad_norm, ClipArithmetic};
pub use config::{OptimizerConfig, OptimizerKind};
pub use error::{Error, Result};
pub use optimizer::{NodeWeights, Optimizer, StateFootprint, StepReport};
pub use params::ParamSet;
pub use state::OptimizerState;
