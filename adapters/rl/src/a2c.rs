//! A2C's loss: the policy gradient with GAE advantages, the value loss and the entropy bonus.
//!
//! # Algorithm
//! For a batch with advantages Â (GAE(λ) over n-step rollouts, [`super::gae`]) and returns R:
//! 1. Â ← normalized per batch when asked (off by default, as in Tianshou and SB3);
//! 2. L_π = −mean(Â · log π(a|s));
//! 3. L_V = ½ mean((V − R)²) (the same ½ convention as [`super::ppo`]);
//! 4. loss = L_π − c_H · mean H(π) + c_V · L_V.
//!
//! Tianshou's `A2CPolicy` uses mean((V − R)²) without ½, so its `vf_coef` c equals our 2c; the
//! defaults of [`super::train::RlConfig`] are scaled accordingly.
//!
//! # References
//! Mnih et al., *Asynchronous Methods for Deep Reinforcement Learning*, ICML 2016.

use super::ppo::{value_loss, LossInputs, PpoLoss, PpoLossConfig};
use tch::{Kind, Tensor};

/// −mean(Â · log π(a|s)): the policy-gradient loss (its gradient is −E[Â ∇ log π]).
pub fn policy_gradient_loss(logprob: &Tensor, adv: &Tensor) -> Tensor {
    -(logprob * adv).mean(Kind::Float)
}

/// The A2C loss of one batch; `clip_coef` and `clip_vloss` of `cfg` are not used (A2C does one
/// pass, π = π_old). `approx_kl` and `clip_fraction` are reported as for PPO (0 on the first and
/// only pass).
pub fn a2c_loss(x: &LossInputs<'_>, cfg: &PpoLossConfig) -> PpoLoss {
    let policy = policy_gradient_loss(x.new_logprob, &x.advantages_for(cfg));
    let value = value_loss(x.new_values, x.old_values, x.returns, None);
    PpoLoss::assemble(x, cfg, policy, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v)
    }

    /// log π = [ln ½, ln ¼], Â = [2, −1]: L_π = −(2 ln ½ − ln ¼)/2 = −(−2 ln 2 + 2 ln 2)/2 = 0;
    /// V = [1, 0], R = [2, 2]: L_V = ½ (1 + 4)/2 = 1.25; H = [1, 3]: mean 2.
    /// Total with c_H = 0.1, c_V = 0.5: 0 − 0.2 + 0.625 = 0.425. The policy gradient w.r.t.
    /// log π is −Â/B = [−1, 0.5].
    #[test]
    fn a2c_loss_by_hand() {
        let logp = t(&[0.5f32.ln(), 0.25f32.ln()]).set_requires_grad(true);
        let x = LossInputs {
            new_logprob: &logp,
            old_logprob: &logp.detach(),
            entropy: &t(&[1.0, 3.0]),
            new_values: &t(&[1.0, 0.0]),
            old_values: &t(&[1.0, 0.0]),
            advantages: &t(&[2.0, -1.0]),
            returns: &t(&[2.0, 2.0]),
        };
        let cfg = PpoLossConfig {
            ent_coef: 0.1,
            vf_coef: 0.5,
            norm_adv: false,
            ..PpoLossConfig::default()
        };
        let loss = a2c_loss(&x, &cfg);
        assert!(loss.policy.double_value(&[]).abs() < 1e-6);
        assert!((loss.value.double_value(&[]) - 1.25).abs() < 1e-6);
        assert!((loss.total.double_value(&[]) - 0.425).abs() < 1e-6);
        assert_eq!((loss.approx_kl, loss.clip_fraction), (0.0, 0.0));
        loss.total.backward();
        let g = Vec::<f32>::try_from(logp.grad()).unwrap();
        assert!((g[0] + 1.0).abs() < 1e-6 && (g[1] - 0.5).abs() < 1e-6, "{g:?}");
    }
}
