//! Observation normalization and reward scaling over a vector of environments.
//!
//! - [`ObsNormalizer`]: Gymnasium's vector `NormalizeObservation` / Tianshou's `VectorEnvNormObs`:
//!   one [`RunningMeanStd`] shared by the N copies, updated with every batch of N observations the
//!   agent sees (reset and step), applied as `clip((x − μ)/√(σ² + ε), −c, c)` with ε = 1e-8 and
//!   c = 10 (Tianshou and SB3's `VecNormalize` clip at 10). Evaluation uses the frozen statistics.
//! - [`RewardScaler`]: SB3's `VecNormalize(norm_reward=True)`: a per-copy discounted return
//!   G ← γ G + r (reset to 0 when the episode ends) feeds a running variance, and the agent learns
//!   from `clip(r / √(Var G + ε), −c, c)`. Reported episode returns stay unscaled.
//!
//! Both serialize (serde) so that checkpoints carry them and a resumed run continues exactly.

use envs::wrappers::RunningMeanStd;
use envs::EnvError;

/// ε under the square root of both normalizers (SB3's `VecNormalize`).
pub const EPSILON: f64 = 1e-8;

/// Running observation statistics shared by N environment copies.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObsNormalizer {
    rms: RunningMeanStd,
    clip: f64,
}

impl ObsNormalizer {
    /// Statistics of `dim`-vectors (mean 0, variance 1), clipping normalized values to ±`clip`.
    pub fn new(dim: usize, clip: f64) -> Self {
        ObsNormalizer {
            rms: RunningMeanStd::new(dim),
            clip,
        }
    }

    /// The running statistics.
    pub fn rms(&self) -> &RunningMeanStd {
        &self.rms
    }

    /// Adds a batch of observations, row-major `[B, dim]`.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `rows` is not a multiple of `dim` long.
    pub fn update(&mut self, rows: &[f64]) -> Result<(), EnvError> {
        self.rms.update_batch(rows)
    }

    /// Normalized and clipped observations, `[B, dim]` as `f32`.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `rows` is not a multiple of `dim` long.
    pub fn apply(&self, rows: &[f64]) -> Result<Vec<f32>, EnvError> {
        let dim = self.rms.dim().max(1);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.chunks(dim) {
            let z = self.rms.normalize(row, EPSILON)?;
            out.extend(z.into_iter().map(|v| v.clamp(-self.clip, self.clip) as f32));
        }
        Ok(out)
    }
}

/// Scales rewards by the running standard deviation of the discounted return, per copy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RewardScaler {
    rms: RunningMeanStd,
    returns: Vec<f64>,
    gamma: f64,
    clip: f64,
}

impl RewardScaler {
    /// A scaler for `num_envs` copies with discount `gamma`, clipping scaled rewards to ±`clip`.
    pub fn new(num_envs: usize, gamma: f64, clip: f64) -> Self {
        RewardScaler {
            rms: RunningMeanStd::new(1),
            returns: vec![0.0; num_envs],
            gamma,
            clip,
        }
    }

    /// The running statistics of the discounted return.
    pub fn rms(&self) -> &RunningMeanStd {
        &self.rms
    }

    /// Forgets the running discounted returns (every copy starts a new episode).
    pub fn reset_returns(&mut self) {
        self.returns.iter_mut().for_each(|g| *g = 0.0);
    }

    /// Scales one step's rewards of the N copies: G_i ← γ G_i + r_i, update Var G with the N
    /// returns, then r_i / √(Var G + ε) clipped; G_i ← 0 where `done[i]`.
    ///
    /// # Panics
    /// If `rewards` or `done` are not N long.
    pub fn scale(&mut self, rewards: &[f64], done: &[bool]) -> Vec<f64> {
        assert_eq!(rewards.len(), self.returns.len(), "one reward per copy");
        assert_eq!(done.len(), self.returns.len(), "one done flag per copy");
        for (g, r) in self.returns.iter_mut().zip(rewards) {
            *g = *g * self.gamma + r;
        }
        self.rms
            .update_batch(&self.returns)
            .expect("returns are 1-vectors");
        let std = (self.rms.var()[0] + EPSILON).sqrt();
        for (g, &d) in self.returns.iter_mut().zip(done) {
            if d {
                *g = 0.0;
            }
        }
        rewards
            .iter()
            .map(|r| (r / std).clamp(-self.clip, self.clip))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows [1, 10], [3, 30] (plus the pseudo-count 1e-4 at mean 0, var 1): μ ≈ [2, 20],
    /// σ² ≈ [1, 100]; the normalized rows are ≈ ∓1 and the clip bounds a far-out value.
    #[test]
    fn observation_statistics_and_clipping() {
        let mut norm = ObsNormalizer::new(2, 5.0);
        norm.update(&[1.0, 10.0, 3.0, 30.0]).unwrap();
        let (k, eps) = (2.0, RunningMeanStd::DEFAULT_EPSILON);
        // Pooled with the pseudo-sample: μ = Σx/(ε + k), σ² = (ε + Σx²)/(ε + k) − μ².
        let mu = [4.0 / (eps + k), 40.0 / (eps + k)];
        let var = [
            (eps + 10.0) / (eps + k) - mu[0] * mu[0],
            (eps + 1000.0) / (eps + k) - mu[1] * mu[1],
        ];
        for j in 0..2 {
            assert!((norm.rms().mean()[j] - mu[j]).abs() < 1e-12);
            assert!((norm.rms().var()[j] - var[j]).abs() < 1e-9);
        }
        let z = norm.apply(&[1.0, 30.0, 100.0, 20.0]).unwrap();
        let want = [
            (1.0 - mu[0]) / (var[0] + EPSILON).sqrt(),
            (30.0 - mu[1]) / (var[1] + EPSILON).sqrt(),
            5.0, // (100 − 2)/1 clipped to 5
            (20.0 - mu[1]) / (var[1] + EPSILON).sqrt(),
        ];
        for (g, w) in z.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-5, "{z:?} vs {want:?}");
        }
        assert!(
            norm.apply(&[1.0, 2.0, 3.0]).is_err(),
            "3 numbers are not rows of 2"
        );
    }

    /// Two copies, γ = 0.5: G after step 1 = [1, 3]; after step 2 = [0.5 + 1, 1.5 + 1] = [1.5, 2.5]
    /// (copy 1 ends there and restarts at 0). The scaling divides by √(Var G + ε) over all G seen.
    #[test]
    fn reward_scaling_by_hand() {
        let mut s = RewardScaler::new(2, 0.5, 100.0);
        let r1 = s.scale(&[1.0, 3.0], &[false, false]);
        let pooled = |xs: &[f64]| {
            let (k, eps) = (xs.len() as f64, RunningMeanStd::DEFAULT_EPSILON);
            let mu = xs.iter().sum::<f64>() / (eps + k);
            (eps + xs.iter().map(|x| x * x).sum::<f64>()) / (eps + k) - mu * mu
        };
        let v1 = pooled(&[1.0, 3.0]);
        assert!((r1[0] - 1.0 / (v1 + EPSILON).sqrt()).abs() < 1e-9);
        assert!((r1[1] - 3.0 / (v1 + EPSILON).sqrt()).abs() < 1e-9);
        let r2 = s.scale(&[1.0, 1.0], &[false, true]);
        let v2 = pooled(&[1.0, 3.0, 1.5, 2.5]);
        assert!((s.rms().var()[0] - v2).abs() < 1e-9);
        assert!((r2[0] - 1.0 / (v2 + EPSILON).sqrt()).abs() < 1e-9);
        // Copy 1 restarted: its next return is just its reward.
        s.scale(&[2.0, 2.0], &[false, false]);
        assert_eq!(s.returns, [1.5 * 0.5 + 2.0, 2.0]);
    }
}
