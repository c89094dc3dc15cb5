//! Reinforcement-learning agents on [`envs`], with any optimizer of the [registry](runs::registry).
//!
//! The semantics follow CleanRL's `ppo.py` / `ppo_continuous_action.py`, Stable-Baselines3's PPO
//! and Tianshou's MuJoCo examples (`mujoco_ppo.py`, `mujoco_a2c.py`, whose settings are the
//! defaults; not tch's `ppo` example, which is an A2C variant):
//! - [`gae`]: GAE(λ) advantages and returns over a `[T, N]` rollout, bootstrapping from the final
//!   observation's value on truncation and not on termination;
//! - [`policy`]: separate actor and critic MLPs with orthogonal initialization, a diagonal Gaussian
//!   with state-independent log-std for `Box` actions and a categorical for `Discrete` ones;
//! - [`ppo`]: the clipped surrogate, the (optionally clipped) value loss and the entropy bonus;
//! - [`action`]: Tianshou's action scaling from [−1, 1] onto the action box;
//! - [`a2c`]: the policy-gradient loss of A2C (n-step rollouts with GAE, value and entropy terms);
//! - [`normalize`]: observation normalization and reward scaling over N environment copies;
//! - [`decay`]: the linear learning-rate decay (σ/ρ for the PISA family) written into the
//!   optimizer configuration;
//! - [`eval`]: deterministic test episodes;
//! - [`stats`]: the rolling window of the last 100 training episodes and the best evaluation,
//!   both carried by checkpoints;
//! - [`train`](mod@train): the [`Trainer`] shared by PPO and A2C, with evaluation, checkpoints and exact
//!   resume ([`train()`] runs it to the end without logging).
//!
//! - [`protocol`]: named starting settings, the defaults or the paper's protocol (spec §7.6);
//! - [`fidelity`]: the rapier backend's return as a fraction of MuJoCo's (`rl fidelity`).
//!
//! SISA's state is kept across updates by default; `reset_optimizer = true` rebuilds the
//! optimizer at every update as the paper's code did (spec §6, §9 Q11), and the paper's
//! protocol ([`protocol::Protocol::Paper`]) does so for the PISA family.

pub mod a2c;
pub mod action;
pub mod decay;
pub mod eval;
pub mod fidelity;
pub mod gae;
pub mod normalize;
pub mod policy;
pub mod ppo;
pub mod protocol;
pub mod run;
pub mod stats;
pub mod train;

pub use train::{train, Algo, RlConfig, RlError, TrainReport, Trainer, UpdateStats};
