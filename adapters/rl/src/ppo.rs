//! PPO's losses: the clipped surrogate, the (optionally clipped) value loss and the entropy bonus.
//!
//! # Algorithm
//! For a minibatch with old log-probabilities log π_old(a|s), advantages Â and returns R:
//! 1. Â ← (Â − mean Â) / (std Â + 1e-8) when advantage normalization is on (per minibatch,
//!    unbiased std as in CleanRL and SB3);
//! 2. r = exp(log π(a|s) − log π_old(a|s));
//! 3. L_clip = mean(max(−Â r, −Â clip(r, 1 − ε, 1 + ε))) (the negated clipped objective);
//! 4. L_V = ½ mean((V − R)²), or with clipping ½ mean(max((V − R)², (V_old + clip(V − V_old, −ε_V, ε_V) − R)²));
//! 5. loss = L_clip − c_H · mean(H(π)) + c_V · L_V.
//!
//! The ½ in L_V and the clipping follow CleanRL (`ppo.py`); SB3 uses mean((V − R)²) without ½.
//!
//! # References
//! Schulman et al., *Proximal Policy Optimization Algorithms*, arXiv:1707.06347, 2017.
//! Huang et al., *The 37 Implementation Details of Proximal Policy Optimization*, ICLR blog track 2022.

use tch::{Kind, Tensor};

/// PPO loss coefficients.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PpoLossConfig {
    /// Surrogate clipping ε > 0; default 0.2.
    pub clip_coef: f64,
    /// Value clipping ε_V, or `None` for the unclipped value loss; default `Some(0.2)` (CleanRL's
    /// `clip_vloss`, with ε_V = ε; SB3's default is no clipping).
    pub clip_vloss: Option<f64>,
    /// Entropy coefficient c_H ≥ 0; default 0.01 (CleanRL's discrete PPO; 0 for MuJoCo).
    pub ent_coef: f64,
    /// Value coefficient c_V ≥ 0; default 0.5.
    pub vf_coef: f64,
    /// Normalize advantages per minibatch; default true.
    pub norm_adv: bool,
}

impl Default for PpoLossConfig {
    fn default() -> Self {
        PpoLossConfig {
            clip_coef: 0.2,
            clip_vloss: Some(0.2),
            ent_coef: 0.01,
            vf_coef: 0.5,
            norm_adv: true,
        }
    }
}

/// (Â − mean Â) / (std Â + 1e-8), with the unbiased std.
pub fn normalize_advantages(adv: &Tensor) -> Tensor {
    (adv - adv.mean(Kind::Float)) / (adv.std(true) + 1e-8)
}

/// The clipped surrogate loss mean(max(−Â r, −Â clip(r, 1 − ε, 1 + ε))) with r = exp(`logratio`),
/// `logratio` = log π − log π_old. `adv` is used as given (normalize it first if wanted).
pub fn clipped_surrogate(logratio: &Tensor, adv: &Tensor, clip_coef: f64) -> Tensor {
    let ratio = logratio.exp();
    let unclipped = -adv * &ratio;
    let clipped = -adv * ratio.clamp(1.0 - clip_coef, 1.0 + clip_coef);
    unclipped.maximum(&clipped).mean(Kind::Float)
}

/// ½ mean((V − R)²), or its clipped form when `clip` is `Some(ε_V)` (see the module docs).
pub fn value_loss(new_values: &Tensor, old_values: &Tensor, returns: &Tensor, clip: Option<f64>) -> Tensor {
    let unclipped = (new_values - returns).square();
    match clip {
        None => unclipped.mean(Kind::Float) * 0.5,
        Some(eps) => {
            let v_clipped = old_values + (new_values - old_values).clamp(-eps, eps);
            let clipped = (v_clipped - returns).square();
            unclipped.maximum(&clipped).mean(Kind::Float) * 0.5
        }
    }
}

/// The terms of one minibatch's PPO loss and its diagnostics.
#[derive(Debug)]
pub struct PpoLoss {
    /// c_V L_V + L_clip − c_H mean H: what is minimized.
    pub total: Tensor,
    /// L_clip.
    pub policy: Tensor,
    /// L_V.
    pub value: Tensor,
    /// mean H(π).
    pub entropy: Tensor,
    /// Approximate KL(π_old ‖ π), mean((r − 1) − log r) (Schulman's k3 estimator), no gradient.
    pub approx_kl: f64,
    /// Fraction of samples with |r − 1| > ε, no gradient.
    pub clip_fraction: f64,
}

/// The inputs of [`PpoLoss::compute`]: the minibatch's stored rollout values and the current
/// policy's outputs on it, all `[B]`.
#[derive(Debug)]
pub struct LossInputs<'a> {
    /// log π(a|s) under the current parameters.
    pub new_logprob: &'a Tensor,
    /// log π_old(a|s), recorded during the rollout.
    pub old_logprob: &'a Tensor,
    /// H(π(·|s)) under the current parameters.
    pub entropy: &'a Tensor,
    /// V(s) under the current parameters.
    pub new_values: &'a Tensor,
    /// V_old(s), recorded during the rollout.
    pub old_values: &'a Tensor,
    /// GAE advantages Â.
    pub advantages: &'a Tensor,
    /// Value targets R = Â + V_old.
    pub returns: &'a Tensor,
}

impl LossInputs<'_> {
    /// The advantages the policy loss sees: normalized per minibatch when `cfg.norm_adv`.
    pub fn advantages_for(&self, cfg: &PpoLossConfig) -> Tensor {
        if cfg.norm_adv {
            normalize_advantages(self.advantages)
        } else {
            self.advantages.shallow_clone()
        }
    }
}

impl PpoLoss {
    /// The loss of one minibatch under `cfg`.
    pub fn compute(x: &LossInputs<'_>, cfg: &PpoLossConfig) -> Self {
        let logratio = x.new_logprob - x.old_logprob;
        let policy = clipped_surrogate(&logratio, &x.advantages_for(cfg), cfg.clip_coef);
        let value = value_loss(x.new_values, x.old_values, x.returns, cfg.clip_vloss);
        Self::assemble(x, cfg, policy, value)
    }

    /// Adds the entropy bonus and the weighted value loss to `policy`, and the diagnostics
    /// (approximate KL, clip fraction) of π against π_old: the part PPO and A2C share.
    pub(crate) fn assemble(x: &LossInputs<'_>, cfg: &PpoLossConfig, policy: Tensor, value: Tensor) -> Self {
        let entropy = x.entropy.mean(Kind::Float);
        let total = &policy - &entropy * cfg.ent_coef + &value * cfg.vf_coef;
        let (approx_kl, clip_fraction) = tch::no_grad(|| {
            let logratio = x.new_logprob - x.old_logprob;
            let ratio = logratio.exp();
            let kl = ((&ratio - 1.0) - &logratio).mean(Kind::Float).double_value(&[]);
            let frac = (&ratio - 1.0)
                .abs()
                .gt(cfg.clip_coef)
                .to_kind(Kind::Float)
                .mean(Kind::Float)
                .double_value(&[]);
            (kl, frac)
        });
        PpoLoss {
            total,
            policy,
            value,
            entropy,
            approx_kl,
            clip_fraction,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v)
    }

    /// Per-sample −min(Â r, Â clip(r, 0.8, 1.2)) with ε = 0.2, worked by hand:
    ///
    /// | r    | Â  | Â r  | Â clip(r) | loss  | why                                  |
    /// |------|----|------|------------|-------|--------------------------------------|
    /// | 1.1  | +2 | 2.2  | 2.2        | −2.2  | inside the range                     |
    /// | 1.5  | +2 | 3.0  | 2.4        | −2.4  | Â > 0, r > 1 + ε: clipped            |
    /// | 0.5  | +2 | 1.0  | 1.6        | −1.0  | Â > 0, r < 1 − ε: not clipped (pessimistic) |
    /// | 0.9  | −1 | −0.9 | −0.9       | 0.9   | inside the range                     |
    /// | 0.5  | −1 | −0.5 | −0.8       | 0.8   | Â < 0, r < 1 − ε: clipped            |
    /// | 1.5  | −1 | −1.5 | −1.2       | 1.5   | Â < 0, r > 1 + ε: not clipped        |
    #[test]
    fn clipped_surrogate_by_hand() {
        let ratios = [1.1f32, 1.5, 0.5, 0.9, 0.5, 1.5];
        let adv = [2.0f32, 2.0, 2.0, -1.0, -1.0, -1.0];
        let want = [-2.2f64, -2.4, -1.0, 0.9, 0.8, 1.5];
        for k in 0..6 {
            let logratio = t(&[ratios[k].ln()]);
            let got = clipped_surrogate(&logratio, &t(&[adv[k]]), 0.2).double_value(&[]);
            assert!(
                (got - want[k]).abs() < 1e-5,
                "r = {}, Â = {}: {got} vs {}",
                ratios[k],
                adv[k],
                want[k]
            );
        }
        let logratio = t(&ratios.map(f32::ln));
        let mean = clipped_surrogate(&logratio, &t(&adv), 0.2).double_value(&[]);
        assert!((mean - want.iter().sum::<f64>() / 6.0).abs() < 1e-5);
    }

    /// V_old = 1, R = 2, ε_V = 0.2: V = 1.5 → unclipped (0.25) vs clipped (1.2 − 2)² = 0.64 → ½·0.64;
    /// V = 3 → 1 vs (1.2 − 2)² = 0.64 → ½·1; unclipped loss ½·mean(0.25, 1).
    #[test]
    fn value_loss_by_hand() {
        let (old, ret) = (t(&[1.0, 1.0]), t(&[2.0, 2.0]));
        let new = t(&[1.5, 3.0]);
        let clipped = value_loss(&new, &old, &ret, Some(0.2)).double_value(&[]);
        assert!((clipped - 0.5 * (0.64 + 1.0) / 2.0).abs() < 1e-6, "{clipped}");
        let plain = value_loss(&new, &old, &ret, None).double_value(&[]);
        assert!((plain - 0.5 * (0.25 + 1.0) / 2.0).abs() < 1e-6, "{plain}");
    }

    #[test]
    fn total_loss_and_diagnostics() {
        // Advantages [1, 3] normalize to [−1/√2, 1/√2] (unbiased std √2); ratios e^0 = 1 and e^0.5.
        let new_lp = t(&[0.0, 0.5]);
        let old_lp = t(&[0.0, 0.0]);
        let ent = t(&[1.0, 2.0]);
        let (v, ret) = (t(&[0.0, 0.0]), t(&[1.0, 1.0]));
        let adv = t(&[1.0, 3.0]);
        let cfg = PpoLossConfig::default();
        let x = LossInputs {
            new_logprob: &new_lp,
            old_logprob: &old_lp,
            entropy: &ent,
            new_values: &v,
            old_values: &v,
            advantages: &adv,
            returns: &ret,
        };
        let loss = PpoLoss::compute(&x, &cfg);
        let a = 1.0 / 2f64.sqrt();
        // Sample 0: Â = −a, r = 1 → a. Sample 1: Â = a, r = e^0.5 > 1.2 → −1.2 a.
        let policy = (a - 1.2 * a) / 2.0;
        let value = 0.5;
        let entropy = 1.5;
        let r = 0.5f64.exp();
        assert!((loss.policy.double_value(&[]) - policy).abs() < 1e-5);
        assert!((loss.value.double_value(&[]) - value).abs() < 1e-6);
        assert!((loss.total.double_value(&[]) - (policy - 0.01 * entropy + 0.5 * value)).abs() < 1e-5);
        assert!((loss.approx_kl - ((r - 1.0) - 0.5) / 2.0).abs() < 1e-6);
        assert_eq!(loss.clip_fraction, 0.5);
    }
}
