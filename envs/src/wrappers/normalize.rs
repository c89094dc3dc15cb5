//! Running statistics and the two normalization wrappers built on them.

use serde::{Deserialize, Serialize};

use crate::env::{Env, Reset, Step};
use crate::error::{EnvError, Result};
use crate::space::{Action, Dtype, Space};

/// Running mean and variance of vectors, merged batch by batch with the parallel algorithm of Chan et
/// al. exactly as Gymnasium's (and SB3's) `RunningMeanStd` does it, in `f64`.
///
/// # Algorithm
/// Start from mean 0, variance 1 and a pseudo-count ε = 1e-4 (a weak prior that keeps early divisions
/// finite). For a batch of `n` rows with mean `b_μ` and population variance `b_σ²` (numpy's `np.mean` and
/// `np.var` along axis 0):
/// 1. δ = b_μ − μ, N = count + n
/// 2. μ ← μ + δ·n/N
/// 3. M2 = σ²·count + b_σ²·n + δ²·count·n/N
/// 4. σ² ← M2/N, count ← N
///
/// In exact arithmetic, after samples x₁…x_k (any batching) this is the mean and variance of the samples
/// pooled with a pseudo-sample of weight ε, mean 0 and variance 1:
/// μ = Σx/(ε + k), σ² = (ε + Σx²)/(ε + k) − μ².
///
/// Serializes to `{"mean": [...], "var": [...], "count": ...}`; deserializing checks the lengths agree and
/// the values are valid, so a corrupt file is an error, not a panic later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RmsParts")]
pub struct RunningMeanStd {
    mean: Vec<f64>,
    var: Vec<f64>,
    count: f64,
}

#[derive(Deserialize)]
struct RmsParts {
    mean: Vec<f64>,
    var: Vec<f64>,
    count: f64,
}

impl TryFrom<RmsParts> for RunningMeanStd {
    type Error = EnvError;
    fn try_from(p: RmsParts) -> Result<Self> {
        Self::from_parts(p.mean, p.var, p.count)
    }
}

impl RunningMeanStd {
    /// Gymnasium's initial pseudo-count.
    pub const DEFAULT_EPSILON: f64 = 1e-4;

    /// Statistics of `dim`-vectors: mean 0, variance 1, count 1e-4.
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: Self::DEFAULT_EPSILON,
        }
    }

    /// Rebuilds saved statistics.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `mean` and `var` differ in length, a mean is not finite, a
    /// variance is negative or not finite, or `count` is not positive and finite.
    pub fn from_parts(mean: Vec<f64>, var: Vec<f64>, count: f64) -> Result<Self> {
        let bad = |name, value: String, reason: &str| {
            Err(EnvError::InvalidParameter {
                name,
                value,
                reason: reason.to_string(),
            })
        };
        if mean.len() != var.len() {
            return bad(
                "RunningMeanStd.var",
                format!("{} values", var.len()),
                &format!("mean has {} values; they must agree", mean.len()),
            );
        }
        if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
            return bad("RunningMeanStd.mean", m.to_string(), "must be finite");
        }
        if let Some(v) = var.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return bad("RunningMeanStd.var", v.to_string(), "must be finite and ≥ 0");
        }
        if !(count.is_finite() && count > 0.0) {
            return bad(
                "RunningMeanStd.count",
                count.to_string(),
                "must be finite and > 0",
            );
        }
        Ok(Self { mean, var, count })
    }

    /// Length of the vectors.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Running mean μ.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Running (population) variance σ².
    pub fn var(&self) -> &[f64] {
        &self.var
    }

    /// Samples seen plus the initial pseudo-count.
    pub fn count(&self) -> f64 {
        self.count
    }

    /// Adds one sample (Gymnasium: `update(np.array([x]))`, a batch of one with variance 0).
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `x` is not `dim` long.
    pub fn update(&mut self, x: &[f64]) -> Result<()> {
        self.check_len("sample", x.len(), self.dim())?;
        self.merge(x, &vec![0.0; x.len()], 1.0);
        Ok(())
    }

    /// Adds a batch of `rows.len() / dim` samples stored row-major; an empty batch changes nothing.
    /// The batch moments are numpy's: sums accumulated row by row, then divided by n.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `rows.len()` is not a multiple of `dim`.
    pub fn update_batch(&mut self, rows: &[f64]) -> Result<()> {
        let d = self.dim();
        if d == 0 || rows.is_empty() {
            return Ok(());
        }
        if !rows.len().is_multiple_of(d) {
            return Err(EnvError::InvalidParameter {
                name: "RunningMeanStd batch",
                value: format!("{} values", rows.len()),
                reason: format!("must be a whole number of rows of {d}"),
            });
        }
        let n = rows.len() / d;
        let mut mean = vec![0.0; d];
        for row in rows.chunks_exact(d) {
            mean.iter_mut().zip(row).for_each(|(m, x)| *m += x);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for row in rows.chunks_exact(d) {
            var.iter_mut()
                .zip(row.iter().zip(&mean))
                .for_each(|(v, (x, m))| *v += (x - m) * (x - m));
        }
        var.iter_mut().for_each(|v| *v /= n as f64);
        self.merge(&mean, &var, n as f64);
        Ok(())
    }

    /// Merges the moments of a batch (Gymnasium's `update_from_moments`).
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if the lengths are not `dim` or `batch_count` is not positive.
    pub fn update_from_moments(
        &mut self,
        batch_mean: &[f64],
        batch_var: &[f64],
        batch_count: f64,
    ) -> Result<()> {
        self.check_len("batch mean", batch_mean.len(), self.dim())?;
        self.check_len("batch variance", batch_var.len(), self.dim())?;
        if !(batch_count.is_finite() && batch_count > 0.0) {
            return Err(EnvError::InvalidParameter {
                name: "batch_count",
                value: batch_count.to_string(),
                reason: "must be finite and > 0".into(),
            });
        }
        self.merge(batch_mean, batch_var, batch_count);
        Ok(())
    }

    /// `(x − μ)/√(σ² + epsilon)`, component-wise, in `f64`.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `x` is not `dim` long.
    pub fn normalize(&self, x: &[f64], epsilon: f64) -> Result<Vec<f64>> {
        self.check_len("sample", x.len(), self.dim())?;
        Ok(x.iter()
            .zip(self.mean.iter().zip(&self.var))
            .map(|(x, (m, v))| (x - m) / (v + epsilon).sqrt())
            .collect())
    }

    fn check_len(&self, what: &'static str, got: usize, want: usize) -> Result<()> {
        if got == want {
            Ok(())
        } else {
            Err(EnvError::InvalidParameter {
                name: what,
                value: format!("{got} values"),
                reason: format!("the statistics are of {want}-vectors"),
            })
        }
    }

    /// The update, in Gymnasium's order of operations.
    fn merge(&mut self, batch_mean: &[f64], batch_var: &[f64], n: f64) {
        let count = self.count;
        let tot = count + n;
        for i in 0..self.mean.len() {
            let delta = batch_mean[i] - self.mean[i];
            let m_a = self.var[i] * count;
            let m_b = batch_var[i] * n;
            let m2 = m_a + m_b + delta * delta * count * n / tot;
            self.mean[i] += delta * n / tot;
            self.var[i] = m2 / tot;
        }
        self.count = tot;
    }
}

fn check_epsilon(epsilon: f64) -> Result<()> {
    if epsilon.is_finite() && epsilon > 0.0 {
        Ok(())
    } else {
        Err(EnvError::InvalidParameter {
            name: "epsilon",
            value: epsilon.to_string(),
            reason: "must be finite and > 0 (it keeps the division away from zero)".into(),
        })
    }
}

/// Gymnasium's `NormalizeObservation`: every observation (reset and step) updates a [`RunningMeanStd`]
/// (unless frozen with [`set_update_running_mean`](Self::set_update_running_mean), e.g. for evaluation)
/// and is returned as `(obs − μ)/√(σ² + ε)` rounded to `f32`, in an unbounded `float32` box.
///
/// Deviation: Gymnasium ≥ 1.0 keeps these statistics in `float32` (a side effect of making the wrapper's
/// observation space `float32`); here they are `f64`, as `RunningMeanStd`'s default, SB3 and Gymnasium
/// 0.29 have them. On a 200-step Pendulum run the outputs differ by at most 3e-6 (golden data), and
/// `f64` does not lose the mean's updates once the count is large.
#[derive(Clone, Debug)]
pub struct NormalizeObservation<E> {
    env: E,
    rms: RunningMeanStd,
    epsilon: f64,
    update: bool,
    observation_space: Space,
}

super::wrapper_access!(NormalizeObservation);

impl<E: Env> NormalizeObservation<E> {
    /// Gymnasium's default ε under the square root.
    pub const DEFAULT_EPSILON: f64 = 1e-8;

    /// Wraps `env` with ε = 1e-8.
    ///
    /// # Errors
    /// [`EnvError::IncompatibleSpace`] unless the observation space is a box.
    pub fn new(env: E) -> Result<Self> {
        Self::with_epsilon(env, Self::DEFAULT_EPSILON)
    }

    /// Wraps `env` with a given ε.
    ///
    /// # Errors
    /// As [`new`](Self::new), and [`EnvError::InvalidParameter`] unless ε is finite and positive.
    pub fn with_epsilon(env: E, epsilon: f64) -> Result<Self> {
        check_epsilon(epsilon)?;
        let space = env.observation_space();
        if space.discrete_n().is_some() {
            return Err(EnvError::IncompatibleSpace {
                wrapper: "NormalizeObservation",
                env: env.id().to_string(),
                reason: "its observation space is discrete, not a box".into(),
            });
        }
        let d = space.flat_dim();
        let observation_space = Space::Box {
            low: vec![f64::NEG_INFINITY; d],
            high: vec![f64::INFINITY; d],
            shape: space.shape().to_vec(),
            dtype: Dtype::F32,
        };
        Ok(Self {
            rms: RunningMeanStd::new(space.flat_dim()),
            env,
            epsilon,
            update: true,
            observation_space,
        })
    }

    /// The running statistics (save them with serde next to the agent's weights).
    pub fn rms(&self) -> &RunningMeanStd {
        &self.rms
    }

    /// Replaces the running statistics (e.g. loaded from a checkpoint).
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if their dimension is not the observation's.
    pub fn set_rms(&mut self, rms: RunningMeanStd) -> Result<()> {
        self.rms
            .check_len("loaded RunningMeanStd", rms.dim(), self.rms.dim())?;
        self.rms = rms;
        Ok(())
    }

    /// Whether observations still update the statistics.
    pub fn update_running_mean(&self) -> bool {
        self.update
    }

    /// Freezes (`false`) or resumes (`true`) updating the statistics.
    pub fn set_update_running_mean(&mut self, update: bool) {
        self.update = update;
    }

    fn normalize(&mut self, obs: Vec<f64>) -> Result<Vec<f64>> {
        if self.update {
            self.rms.update(&obs)?;
        }
        let mut out = self.rms.normalize(&obs, self.epsilon)?;
        out.iter_mut().for_each(|x| *x = *x as f32 as f64);
        Ok(out)
    }
}

impl<E: Env> Env for NormalizeObservation<E> {
    fn id(&self) -> &str {
        self.env.id()
    }
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        let r = self.env.reset(seed)?;
        Ok(Reset {
            obs: self.normalize(r.obs)?,
            info: r.info,
        })
    }

    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        let s = self.env.step(action)?;
        Ok(Step {
            obs: self.normalize(s.obs)?,
            ..s
        })
    }
}

/// Gymnasium's `NormalizeReward`: keeps a discounted return `G ← G·γ·(1 − terminated) + r` and its
/// running variance, and returns `r/√(Var[G] + ε)` (the reward is scaled, not centred).
///
/// As in Gymnasium, `G` is not cleared by a reset or by truncation, only by termination, and it is the
/// forward discounted sum of rewards, not the return (kept for backward compatibility, Gymnasium says).
#[derive(Clone, Debug)]
pub struct NormalizeReward<E> {
    env: E,
    return_rms: RunningMeanStd,
    discounted_return: f64,
    gamma: f64,
    epsilon: f64,
    update: bool,
}

super::wrapper_access!(NormalizeReward);

impl<E: Env> NormalizeReward<E> {
    /// Gymnasium's default discount.
    pub const DEFAULT_GAMMA: f64 = 0.99;
    /// Gymnasium's default ε under the square root.
    pub const DEFAULT_EPSILON: f64 = 1e-8;

    /// Wraps `env` with γ = 0.99, ε = 1e-8.
    pub fn new(env: E) -> Self {
        Self {
            env,
            return_rms: RunningMeanStd::new(1),
            discounted_return: 0.0,
            gamma: Self::DEFAULT_GAMMA,
            epsilon: Self::DEFAULT_EPSILON,
            update: true,
        }
    }

    /// Wraps `env` with a given discount γ ∈ [0, 1] and ε > 0.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if γ or ε is out of range.
    pub fn with_params(env: E, gamma: f64, epsilon: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&gamma) {
            return Err(EnvError::InvalidParameter {
                name: "gamma",
                value: gamma.to_string(),
                reason: "the discount must be in [0, 1]".into(),
            });
        }
        check_epsilon(epsilon)?;
        Ok(Self {
            gamma,
            epsilon,
            ..Self::new(env)
        })
    }

    /// The running statistics of the discounted return.
    pub fn return_rms(&self) -> &RunningMeanStd {
        &self.return_rms
    }

    /// The running discounted return G.
    pub fn discounted_return(&self) -> f64 {
        self.discounted_return
    }

    /// Restores saved statistics and discounted return.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] if `rms` is not of 1-vectors or `discounted_return` is not finite.
    pub fn set_state(&mut self, rms: RunningMeanStd, discounted_return: f64) -> Result<()> {
        self.return_rms
            .check_len("loaded return RunningMeanStd", rms.dim(), 1)?;
        if !discounted_return.is_finite() {
            return Err(EnvError::InvalidParameter {
                name: "discounted_return",
                value: discounted_return.to_string(),
                reason: "must be finite".into(),
            });
        }
        self.return_rms = rms;
        self.discounted_return = discounted_return;
        Ok(())
    }

    /// Whether steps still update the statistics.
    pub fn update_running_mean(&self) -> bool {
        self.update
    }

    /// Freezes (`false`) or resumes (`true`) updating the statistics.
    pub fn set_update_running_mean(&mut self, update: bool) {
        self.update = update;
    }
}

impl<E: Env> Env for NormalizeReward<E> {
    fn id(&self) -> &str {
        self.env.id()
    }
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        self.env.reset(seed)
    }

    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        let s = self.env.step(action)?;
        let not_terminal = if s.terminated { 0.0 } else { 1.0 };
        self.discounted_return = self.discounted_return * self.gamma * not_terminal + s.reward;
        if self.update {
            self.return_rms.update(&[self.discounted_return])?;
        }
        let reward = s.reward / (self.return_rms.var()[0] + self.epsilon).sqrt();
        Ok(Step { reward, ..s })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed form of the pooled statistics (see the type's docs).
    fn closed_form(xs: &[f64]) -> (f64, f64, f64) {
        let eps = RunningMeanStd::DEFAULT_EPSILON;
        let n = eps + xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = (eps + xs.iter().map(|x| x * x).sum::<f64>()) / n - mean * mean;
        (mean, var, n)
    }

    #[test]
    fn matches_the_closed_form_whatever_the_batching() {
        // x_k = k for k = 1..=100: Σx = 5050, Σx² = 338350.
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        let (mean, var, count) = closed_form(&xs);
        let mut one_by_one = RunningMeanStd::new(1);
        xs.iter().for_each(|x| one_by_one.update(&[*x]).unwrap());
        let mut batched = RunningMeanStd::new(1);
        for chunk in xs.chunks(7) {
            batched.update_batch(chunk).unwrap();
        }
        for rms in [&one_by_one, &batched] {
            assert!(
                (rms.mean()[0] - mean).abs() < 1e-12 * mean,
                "{} vs {mean}",
                rms.mean()[0]
            );
            assert!(
                (rms.var()[0] - var).abs() < 1e-10 * var,
                "{} vs {var}",
                rms.var()[0]
            );
            assert_eq!(rms.count(), count);
        }
        // Without the prior the sample mean and variance would be 50.5 and (100² − 1)/12 = 833.25; the
        // 1e-4 pseudo-sample moves them by about 1e-4 relative.
        assert!((one_by_one.mean()[0] - 50.5).abs() < 1e-2);
        assert!((one_by_one.var()[0] - 833.25).abs() < 0.5);
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let mut rms = RunningMeanStd::new(2);
        rms.update_batch(&[1.0, 2.0, 3.0, 5.0]).unwrap();
        let json = serde_json::to_string(&rms).unwrap();
        let back: RunningMeanStd = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rms);
        assert!(
            serde_json::from_str::<RunningMeanStd>(r#"{"mean":[0.0],"var":[1.0,1.0],"count":1.0}"#).is_err()
        );
        assert!(
            serde_json::from_str::<RunningMeanStd>(r#"{"mean":[0.0],"var":[-1.0],"count":1.0}"#).is_err()
        );
        assert!(serde_json::from_str::<RunningMeanStd>(r#"{"mean":[0.0],"var":[1.0],"count":0.0}"#).is_err());
        assert!(rms.update(&[1.0]).is_err());
        assert!(rms.update_batch(&[1.0, 2.0, 3.0]).is_err());
        assert!(rms.update_from_moments(&[0.0, 0.0], &[1.0, 1.0], 0.0).is_err());
    }
}
