//! Reinforcement-learning agents on [`envs`], with any optimizer of the [registry](crate::registry).
//!
//! The semantics follow CleanRL's `ppo.py` / `ppo_continuous_action.py` and Stable-Baselines3's PPO
//! (not tch's `ppo` example, which is an A2C variant):
//! - [`gae`]: GAE(λ) advantages and returns over a `[T, N]` rollout, bootstrapping from the final
//!   observation's value on truncation and not on termination;
//! - [`policy`]: separate actor and critic MLPs with orthogonal initialization, a diagonal Gaussian
//!   with state-independent log-std for `Box` actions and a categorical for `Discrete` ones;
//! - [`ppo`]: the clipped surrogate, the (optionally clipped) value loss and the entropy bonus;
//! - [`train`]: a CleanRL-shaped PPO training loop with any registry optimizer ([`train_ppo`]).

pub mod gae;
pub mod policy;
pub mod ppo;
pub mod train;

pub use train::{train_ppo, PpoConfig, PpoReport, RlError};
