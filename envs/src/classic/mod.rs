//! Gymnasium's classic-control tasks in pure Rust: [`CartPole`] (`CartPole-v1`) and [`Pendulum`]
//! (`Pendulum-v1`).
//!
//! Dynamics, rewards, termination, spaces and reset distributions are Gymnasium 1.4's, operation for
//! operation, including where Gymnasium computes in `float32` (Pendulum's torque terms) and where it
//! rounds observations to `float32`. Reset states are drawn from numpy's generator reproduced in Rust
//! ([`NumpyRng`](crate::rng::NumpyRng)), so `reset(seed)` matches Gymnasium's `reset(seed=seed)` too.
//! `tests/golden.rs` checks all of it against trajectories recorded from Gymnasium.
//!
//! The raw environments have no time limit, like Gymnasium's unwrapped classes; [`cartpole_v1`] and
//! [`pendulum_v1`] (and [`make_env`](crate::make_env)) add the registered [`TimeLimit`]s (500 and 200
//! steps). `reset_to_state` starts an episode from an exact state (Gymnasium: set `env.unwrapped.state`
//! after a reset).

mod cartpole;
mod pendulum;
mod scene;

pub use cartpole::CartPole;
pub use pendulum::Pendulum;

use crate::wrappers::TimeLimit;

/// `gym.make("CartPole-v1")`: [`CartPole`] in a 500-step [`TimeLimit`], seeded with `seed`.
pub fn cartpole_v1(seed: u64) -> TimeLimit<CartPole> {
    TimeLimit::new(CartPole::new(seed), CartPole::MAX_EPISODE_STEPS)
}

/// `gym.make("Pendulum-v1")`: [`Pendulum`] in a 200-step [`TimeLimit`], seeded with `seed`.
pub fn pendulum_v1(seed: u64) -> TimeLimit<Pendulum> {
    TimeLimit::new(Pendulum::new(seed), Pendulum::MAX_EPISODE_STEPS)
}

/// Checks a state for `reset_to_state`: `N` finite values.
fn check_state<const N: usize>(env: &str, state: &[f64]) -> crate::Result<[f64; N]> {
    let invalid = |reason: String| crate::EnvError::InvalidState {
        env: env.to_string(),
        reason,
    };
    let s: [f64; N] = state
        .try_into()
        .map_err(|_| invalid(format!("expected {N} values, got {}", state.len())))?;
    match s.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(invalid(format!("value {i} is {}; states must be finite", s[i]))),
        None => Ok(s),
    }
}
