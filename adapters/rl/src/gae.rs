//! Generalized advantage estimation, GAE(λ), over a `[T, N]` rollout (T steps of N environments).
//!
//! # Algorithm
//! With `v'_t` the value of the observation *reached* by step t ([`next_values`]):
//! 1. δ_t = r_t + γ (1 − term_t) v'_t − V(s_t);
//! 2. Â_t = δ_t + γ λ (1 − done_t) Â_{t+1}, with done_t = term_t ∨ trunc_t and Â_T = 0;
//! 3. R_t = Â_t + V(s_t) (the value targets).
//!
//! On termination nothing is bootstrapped; on truncation (a time limit) the episode's last step
//! bootstraps from the value of its final observation, and the recursion stops there in both cases.
//! This is Stable-Baselines3's treatment (which adds γ V(final obs) to the reward of a truncated
//! step) and CleanRL's recursion written with the final observation's value; plain CleanRL treats a
//! truncation as a termination.
//!
//! All arrays are row-major `[T, N]`: entry `(t, i)` sits at `t * N + i`.
//!
//! # References
//! Schulman et al., *High-Dimensional Continuous Control Using Generalized Advantage Estimation*,
//! ICLR 2016.

/// Discount and GAE parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GaeConfig {
    /// Discount factor γ ∈ [0, 1]; default 0.99 (CleanRL, SB3, Tianshou).
    pub gamma: f32,
    /// GAE parameter λ ∈ [0, 1]; default 0.95 (λ = 1: Monte-Carlo returns, λ = 0: one-step TD).
    pub lambda: f32,
}

impl Default for GaeConfig {
    fn default() -> Self {
        GaeConfig {
            gamma: 0.99,
            lambda: 0.95,
        }
    }
}

/// The value of the observation reached by each step of a `[T, N]` rollout, as [`gae`] wants it.
///
/// - the episode went on: `values[t + 1, i]`, or `last_values[i]` for t = T − 1;
/// - truncated: `final_values[t, i]`, the value of the episode's final observation;
/// - terminated: 0 (never used by [`gae`]).
///
/// `final_values` is read only where `truncated` holds; any number may stand elsewhere.
///
/// # Panics
/// If the lengths are not `T·N` (`last_values`: N) with N = `last_values.len()`.
pub fn next_values(
    values: &[f32],
    last_values: &[f32],
    final_values: &[f32],
    terminated: &[bool],
    truncated: &[bool],
) -> Vec<f32> {
    let n = last_values.len();
    let len = values.len();
    check_layout(
        "values",
        len,
        n,
        &[
            ("final_values", final_values.len()),
            ("terminated", terminated.len()),
            ("truncated", truncated.len()),
        ],
    );
    (0..len)
        .map(|k| {
            if terminated[k] {
                0.0
            } else if truncated[k] {
                final_values[k]
            } else if k + n < len {
                values[k + n]
            } else {
                last_values[k + n - len]
            }
        })
        .collect()
}

/// GAE(λ) advantages and value targets (returns) of a `[T, N]` rollout; see the module docs.
///
/// `next_values` is the value of the observation reached by each step (see [`next_values`]);
/// returns `(advantages, returns)`, both `[T, N]`.
///
/// # Panics
/// If `n == 0` or a slice does not have the length of `rewards`, which must be a multiple of `n`.
///
/// ```
/// use rl::gae::{gae, GaeConfig};
/// // One environment, two steps, the second terminal: Â_1 = r_1 − V_1, Â_0 = δ_0 + γλ Â_1.
/// let cfg = GaeConfig { gamma: 0.5, lambda: 1.0 };
/// let (adv, ret) = gae(&[1.0, 1.0], &[0.0, 0.0], &[0.0, 0.0], &[false, true], &[false, false], 1, cfg);
/// assert_eq!(adv, [1.5, 1.0]);
/// assert_eq!(ret, [1.5, 1.0]);
/// ```
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    next_values: &[f32],
    terminated: &[bool],
    truncated: &[bool],
    n: usize,
    cfg: GaeConfig,
) -> (Vec<f32>, Vec<f32>) {
    let len = rewards.len();
    check_layout(
        "rewards",
        len,
        n,
        &[
            ("values", values.len()),
            ("next_values", next_values.len()),
            ("terminated", terminated.len()),
            ("truncated", truncated.len()),
        ],
    );
    let GaeConfig { gamma, lambda } = cfg;
    let mut adv = vec![0.0f32; len];
    let mut running = vec![0.0f32; n];
    for k in (0..len).rev() {
        let i = k % n;
        let not_term = if terminated[k] { 0.0 } else { 1.0 };
        let not_done = if terminated[k] || truncated[k] { 0.0 } else { 1.0 };
        let delta = rewards[k] + gamma * not_term * next_values[k] - values[k];
        running[i] = delta + gamma * lambda * not_done * running[i];
        adv[k] = running[i];
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
}

/// Checks the [T, N] layout: `what` has `len` = T·N entries (a multiple of N > 0) and every
/// other buffer as many.
///
/// # Panics
/// When the layout is wrong (a programming error of the caller).
fn check_layout(what: &str, len: usize, n: usize, others: &[(&str, usize)]) {
    assert!(
        n > 0 && len.is_multiple_of(n),
        "{what} has {len} entries, not a multiple of N = {n}"
    );
    for (name, l) in others {
        assert_eq!(*l, len, "{name} must have T·N = {len} entries");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 steps × 2 environments, γ = 0.5, λ = 0.5 (γλ = 0.25); env 0 terminates at t = 1, env 1 is
    /// truncated at t = 0 with V(final obs) = 4. Worked by hand:
    ///
    /// env 0: r = [1, 2, 3], V = [0.5, 1, 1.5], V(last obs) = 2
    ///   δ_2 = 3 + 0.5·2 − 1.5 = 2.5          Â_2 = 2.5
    ///   δ_1 = 2 + 0 − 1 = 1 (terminal)        Â_1 = 1 (recursion cut)
    ///   δ_0 = 1 + 0.5·1 − 0.5 = 1             Â_0 = 1 + 0.25·1 = 1.25
    ///   R = Â + V = [1.75, 2, 4]
    /// env 1: r = [0, 1, 1], V = [1, 2, 0], V(last obs) = 2
    ///   δ_2 = 1 + 0.5·2 − 0 = 2               Â_2 = 2
    ///   δ_1 = 1 + 0.5·0 − 2 = −1              Â_1 = −1 + 0.25·2 = −0.5
    ///   δ_0 = 0 + 0.5·4 − 1 = 1 (truncated)   Â_0 = 1 (recursion cut)
    ///   R = [2, 1.5, 2]
    #[test]
    fn three_steps_two_envs_by_hand() {
        let rewards = [1.0, 0.0, 2.0, 1.0, 3.0, 1.0];
        let values = [0.5, 1.0, 1.0, 2.0, 1.5, 0.0];
        let terminated = [false, false, true, false, false, false];
        let truncated = [false, true, false, false, false, false];
        // Final-observation values: only env 1 at t = 0 is read; the 9s must be ignored.
        let final_values = [9.0, 4.0, 9.0, 9.0, 9.0, 9.0];
        let last_values = [2.0, 2.0];
        let next = next_values(&values, &last_values, &final_values, &terminated, &truncated);
        assert_eq!(next, [1.0, 4.0, 0.0, 0.0, 2.0, 2.0]);
        let cfg = GaeConfig {
            gamma: 0.5,
            lambda: 0.5,
        };
        let (adv, ret) = gae(&rewards, &values, &next, &terminated, &truncated, 2, cfg);
        assert_eq!(adv, [1.25, 1.0, 1.0, -0.5, 2.5, 2.0]);
        assert_eq!(ret, [1.75, 2.0, 2.0, 1.5, 4.0, 2.0]);
    }

    /// λ = 1 without episode ends gives discounted Monte-Carlo returns bootstrapped at the end;
    /// λ = 0 gives one-step TD errors.
    #[test]
    fn lambda_extremes() {
        let rewards = [1.0, 1.0, 1.0];
        let values = [0.25, 0.5, 0.75];
        let flags = [false; 3];
        let next = next_values(&values, &[2.0], &[0.0; 3], &flags, &flags);
        let (_, ret) = gae(
            &rewards,
            &values,
            &next,
            &flags,
            &flags,
            1,
            GaeConfig {
                gamma: 0.5,
                lambda: 1.0,
            },
        );
        // R_2 = 1 + 0.5·2 = 2, R_1 = 1 + 0.5·2 = 2, R_0 = 1 + 0.5·2 = 2.
        assert_eq!(ret, [2.0, 2.0, 2.0]);
        let (adv, _) = gae(
            &rewards,
            &values,
            &next,
            &flags,
            &flags,
            1,
            GaeConfig {
                gamma: 0.5,
                lambda: 0.0,
            },
        );
        assert_eq!(adv, [1.0, 0.875, 1.25]);
    }
}
