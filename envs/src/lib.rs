//! Reinforcement-learning environments behind one Gymnasium-style trait.
//!
//! [`Env`] has Gymnasium's semantics (`reset(seed)`, `step(action)` with `terminated`/`truncated`,
//! observation and action [`Space`]s, episode info); [`SyncVectorEnv`] steps N copies with auto-reset;
//! [`wrappers`] has the time limit, episode statistics, observation and reward normalization and
//! clipping. The crate knows nothing about tensors and never depends on `tch`: agents turn the flat
//! `f64` observations into tensors on their side.
//!
//! ```
//! use envs::{make_env, Action, Backend, Env};
//!
//! let mut env = make_env("CartPole-v1", Backend::Auto, 42)?; // gym.make("CartPole-v1") + seed 42
//! let mut obs = env.reset(None)?.obs;
//! let mut ret = 0.0;
//! loop {
//!     // Push the cart toward the side the pole leans to.
//!     let step = env.step(Action::Discrete(usize::from(obs[2] > 0.0)))?;
//!     ret += step.reward;
//!     obs = step.obs;
//!     if step.terminated || step.truncated {
//!         break;
//!     }
//! }
//! assert!(ret > 9.0);
//! # Ok::<(), envs::EnvError>(())
//! ```
//!
//! # Backends and tasks
//! | id (alias) | backend in this build |
//! |---|---|
//! | `CartPole-v1` (`cartpole`), `Pendulum-v1` (`pendulum`) | [`classic`]: pure Rust, Gymnasium's dynamics exactly |
//! | `HalfCheetah-v5`, `Ant-v5`, `Humanoid-v5`, `Hopper-v5`, `Walker2d-v5`, `InvertedPendulum-v5`, `InvertedDoublePendulum-v5` | [`rapier`]: rapier3d multibodies from Gymnasium's MJCF models, pure Rust (default); deviations from MuJoCo listed there |
//! | the same seven ids with `Backend::Mujoco` | `envs::mujoco` (cargo feature `mujoco`, after `cargo xtask setup --mujoco`): MuJoCo 3.17.0 itself with Gymnasium's XML files and v5 rules; observations, rewards and resets bit-identical to Gymnasium 1.4 (`tests/mujoco_parity.rs`) |
//! | any [`gym_rs`](https://crates.io/crates/gym-rs) environment, e.g. `envs::gym_rs::GymRsEnv::cartpole` | `envs::gym_rs` (cargo feature `gym-rs`; needs cmake, SDL2 and SDL2_gfx development packages): an adapter, not a registry id; gym-rs 0.3.0's CartPole resets in ±0.5, not Gymnasium's ±0.05 |
//!
//! Every task can draw itself headless ([`Env::render`] → [`render::Frame`]); [`render`] saves frames as
//! PNGs, PNG filmstrips or animated GIFs.
//!
//! # Fidelity to Gymnasium
//! Classic control is Gymnasium 1.4 operation for operation: observations are Gymnasium's `float32`
//! values (held in `f64` without loss), state and rewards are the same `float64` numbers, and even
//! `reset(seed)` draws the same initial states, because [`rng::NumpyRng`] reproduces numpy's
//! `SeedSequence → PCG64 → uniform` chain. `tests/golden.rs` replays trajectories recorded from Gymnasium
//! (`tests/golden/classic_control.py`) and finds them identical (tolerance and measured error there).
//! Deviations, all documented where they live: [`wrappers::NormalizeObservation`] keeps its statistics in
//! `f64` (Gymnasium ≥ 1.0: `float32`); [`Space::sample`] draws from the same generator but not with numpy's
//! integer and normal algorithms; `info["episode"]` is the typed [`EpisodeStats`].
//!
//! # Determinism
//! Every environment is built with a seed and is deterministic given it: the same seed and actions give
//! bit-identical observations and rewards, on any number of vector-env threads.
#![warn(missing_docs)]

mod backend;
pub mod classic;
mod env;
mod error;
#[cfg(feature = "gym-rs")]
pub mod gym_rs;
#[cfg(feature = "mujoco")]
pub mod mujoco;
pub mod rapier;
pub mod registry;
pub mod render;
pub mod rng;
mod space;
mod v5;
pub mod vector;
pub mod wrappers;

pub use env::{Env, EpisodeStats, Info, Reset, Step};
pub use error::{EnvError, Result};
pub use registry::{make_env, make_vec_env, Backend};
pub use space::{Action, Dtype, OwnedAction, Space};
pub use vector::{AutoresetMode, BatchAction, SyncVectorEnv, VecStep};
