//! Gymnasium's wrappers: each wraps an [`Env`](crate::Env) and is one.
//!
//! | wrapper | Gymnasium | what it does |
//! |---|---|---|
//! | [`TimeLimit`] | `TimeLimit` | `truncated` once `max_episode_steps` steps were taken since the reset |
//! | [`RecordEpisodeStatistics`] | `RecordEpisodeStatistics` | puts return, length and duration in `info.episode` when an episode ends |
//! | [`NormalizeObservation`] | `NormalizeObservation` | `(obs − μ)/√(σ² + ε)` with running statistics ([`RunningMeanStd`]), savable |
//! | [`NormalizeReward`] | `NormalizeReward` | `r/√(Var[G] + ε)` with G the running discounted return |
//! | [`ClipAction`] | `ClipAction` | clips continuous actions into the action space's bounds |
//! | [`ClipObservation`], [`ClipReward`] | `ClipObservation`, `ClipReward` | clip into fixed bounds (CleanRL's ±10 after normalization) |
//!
//! Wrappers are generic structs, so the wrapped environment stays reachable and typed:
//! [`NormalizeObservation::rms`] of the wrapper you built, or `.inner()` down a stack. They compose over
//! `Box<dyn Env>` too. The order CleanRL's continuous PPO uses, innermost first:
//! `ClipAction → RecordEpisodeStatistics → NormalizeObservation → ClipObservation(±10) → NormalizeReward → ClipReward(±10)`,
//! so episode statistics report raw returns.

mod clip;
mod episode_stats;
mod normalize;
mod time_limit;

pub use clip::{ClipAction, ClipObservation, ClipReward};
pub use episode_stats::RecordEpisodeStatistics;
pub use normalize::{NormalizeObservation, NormalizeReward, RunningMeanStd};
pub use time_limit::TimeLimit;

/// Implements `inner`, `inner_mut` and `into_inner` for a wrapper whose wrapped env is the field `env`.
macro_rules! wrapper_access {
    ($name:ident) => {
        impl<E> $name<E> {
            /// The wrapped environment.
            pub fn inner(&self) -> &E {
                &self.env
            }

            /// The wrapped environment, mutably.
            pub fn inner_mut(&mut self) -> &mut E {
                &mut self.env
            }

            /// Unwraps.
            pub fn into_inner(self) -> E {
                self.env
            }
        }
    };
}
pub(crate) use wrapper_access;
