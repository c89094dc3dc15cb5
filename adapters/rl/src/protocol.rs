//! Named training protocols: the settings a run starts from before a `--config` file and flags.
//!
//! - [`Protocol::Defaults`]: [`RlConfig::for_task`], Tianshou's MuJoCo examples as this crate
//!   runs them (optimizer state kept across updates, advantages computed once per rollout).
//! - [`Protocol::Paper`]: the authors' protocol of the paper's RL runs (App. A.5, spec §7.6):
//!   Tianshou's `mujoco_ppo.py` / `mujoco_a2c.py` settings with SISA in place of the optimizer,
//!   its state re-initialized at every `learn()` call (spec §6).
//!
//! # The paper's settings and where each one lives
//! | setting (spec §7.6) | PPO | A2C | here |
//! |---|---|---|---|
//! | collect | 2048 (8 envs × 256) | 80 (16 envs × 5) | `num_envs`, `num_steps` (defaults) |
//! | repeat | 10 | 1 | `update_epochs` (defaults) |
//! | mini-batch | 64 per node (SISA: 4 × 64) | whole collect | `batch_size` (defaults) |
//! | vf / ent | 0.25 / 0 | 0.5 / 0.01 | `loss.vf_coef` (½-scaled: 0.5 / 1.0), `loss.ent_coef` (defaults) |
//! | GAE λ, γ | 0.95, 0.99 | 0.95, 0.99 | `gae` (defaults) |
//! | clip ε | 0.2, no value clip, no adv. norm. | – | `loss` (defaults) |
//! | recompute advantages | yes | – | `recompute_adv` (**set here**) |
//! | actions: clip to [−1, 1], scale to the box | yes | yes | `action_scaling` (**set here**) |
//! | max-grad-norm | 0.5 | 0.5 | `max_grad_norm` (defaults) |
//! | linear LR decay, per update | yes | yes | `lr_decay` (default); per update with the reset |
//! | SISA state re-initialized per `learn()` | yes | yes | `reset_optimizer` (**set here**, PISA family only: see [`Protocol::resets`]) |
//! | 100 epochs × 30,000 steps | 1500 updates | 37,500 updates | `total_steps` (**set here**: 3,072,000 / 3,000,000) |
//! | test every epoch, 10 episodes | every 15 updates | every 375 updates | `eval_every` (**set here**: 30,720 / 30,000) |
//!
//! The per-task σ and lr (ρ = 1/lr − σ) are the registry presets of the domains `ppo-ant`,
//! `ppo-humanoid`, `a2c-halfcheetah` and `a2c-inverteddoublependulum`
//! (`adapters/runs/presets/optimizers.toml`, Table A.1). Tianshou epochs are counted in
//! collects: ⌈30,000 / 2048⌉ = 15 collects of 2048 steps (30,720 steps) per epoch, 1500 updates
//! for the linear decay (`max_update_num`); A2C's 80 divides 30,000.
//!
//! What stays as in [`mod@crate::train`]'s deviations: reward scaling instead of Tianshou's
//! `rew_norm` (normalized value targets), and the lr decay of kept-state optimizers (Adam) per
//! iteration rather than per update.

use pisa_core::{OptimizerConfig, OptimizerKind};

use crate::{Algo, RlConfig};

/// A named set of starting settings (the `rl train --protocol` flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Protocol {
    /// [`RlConfig::for_task`]: the optimizer keeps its state across updates.
    #[default]
    Defaults,
    /// The paper's RL protocol (spec §7.6, see the module docs): Tianshou's settings, SISA's
    /// state re-initialized at every update, Tianshou's run length and test cadence.
    Paper,
}

/// Tianshou's epoch length in environment steps (`step_per_epoch`).
const TIANSHOU_EPOCH: usize = 30_000;

/// Tianshou's number of epochs (`epoch`).
const TIANSHOU_EPOCHS: usize = 100;

impl Protocol {
    /// The settings of `algo` on `env_id` under this protocol (the backend left as
    /// [`RlConfig::for_task`] leaves it; `reset_optimizer` left false: it depends on the
    /// optimizer, see [`Protocol::resets`]).
    pub fn config(self, algo: Algo, env_id: &str) -> RlConfig {
        let mut cfg = RlConfig::for_task(algo, env_id);
        if self == Protocol::Paper {
            // Tianshou's trainer collects whole collects until an epoch's 30,000 steps are
            // reached: ⌈30,000 / collect⌉ collects per epoch, tested at each epoch's end.
            let collect = cfg.rollout();
            let epoch = TIANSHOU_EPOCH.div_ceil(collect) * collect;
            cfg.total_steps = TIANSHOU_EPOCHS * epoch;
            cfg.eval_every = epoch;
            cfg.eval_episodes = 10;
            cfg.recompute_adv = algo == Algo::Ppo;
            cfg.action_scaling = true;
            cfg.lr_decay = true;
        }
        cfg
    }

    /// Whether runs of `optimizer` rebuild it at every update under this protocol: under
    /// [`Protocol::Paper`] the PISA family (SISA, PISA, NSISA), whose state the authors'
    /// code re-initialized at every `learn()`; the baselines (Adam, RMSprop, ...) keep their
    /// state as Tianshou keeps its optimizer's. Never under [`Protocol::Defaults`].
    pub fn resets(self, optimizer: &OptimizerConfig) -> bool {
        self == Protocol::Paper
            && matches!(
                optimizer.base,
                OptimizerKind::Sisa(_) | OptimizerKind::Pisa(_) | OptimizerKind::Nsisa(_)
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runs::registry::Registry;

    #[test]
    fn the_paper_protocol_sets_tianshous_settings() {
        let ppo = Protocol::Paper.config(Algo::Ppo, "ant");
        assert_eq!((ppo.num_envs, ppo.num_steps, ppo.rollout()), (8, 256, 2048));
        assert_eq!((ppo.update_epochs, ppo.batch_size), (10, Some(64)));
        // 100 epochs of 15 collects of 2048: Tianshou's max_update_num = 1500.
        assert_eq!(
            (ppo.total_steps, ppo.updates(), ppo.eval_every),
            (3_072_000, 1500, 30_720)
        );
        assert!(ppo.recompute_adv && ppo.lr_decay && ppo.action_scaling && !ppo.reset_optimizer);
        assert_eq!(ppo.max_grad_norm, Some(0.5));
        assert_eq!((ppo.gae.gamma, ppo.gae.lambda), (0.99, 0.95));
        // vf 0.25 on mean((V − R)²) is 0.5 on ½ mean((V − R)²).
        assert_eq!(
            (ppo.loss.clip_coef, ppo.loss.vf_coef, ppo.loss.ent_coef),
            (0.2, 0.5, 0.0)
        );
        assert!(!ppo.loss.norm_adv && ppo.loss.clip_vloss.is_none());
        assert_eq!(ppo.policy.hidden, [64, 64]);

        let a2c = Protocol::Paper.config(Algo::A2c, "halfcheetah");
        assert_eq!((a2c.num_envs, a2c.num_steps, a2c.update_epochs), (16, 5, 1));
        assert_eq!(a2c.batch_size, None);
        // 80 divides 30,000: 375 updates per epoch, 37,500 in all.
        assert_eq!(
            (a2c.total_steps, a2c.updates(), a2c.eval_every),
            (3_000_000, 37_500, 30_000)
        );
        assert_eq!((a2c.loss.vf_coef, a2c.loss.ent_coef), (1.0, 0.01));
        assert!(!a2c.recompute_adv);

        // The defaults are untouched.
        assert_eq!(
            Protocol::Defaults.config(Algo::Ppo, "ant"),
            RlConfig::for_task(Algo::Ppo, "ant")
        );
    }

    /// The registry presets of the RL domains (adapters/runs/presets/optimizers.toml): Adam
    /// with Tianshou's PPO lr 3e-4 and A2C lr 7e-4, RMSprop as Tianshou's A2C, on every v5
    /// task; SISA's Table A.1 settings where the paper gives them.
    #[test]
    fn every_v5_task_has_baseline_presets_and_the_papers_tasks_have_sisas() {
        use envs::registry::{TaskFamily, REGISTRY};
        let setting = |algo, id: &str, name: &str, key: &str| -> Option<f64> {
            let domain = RlConfig::for_task(algo, id).domain();
            let cfg = Registry::builtin()
                .resolve(&domain, name, &toml::Table::new())
                .unwrap();
            serde_json::to_value(&cfg.base).unwrap()[key].as_f64()
        };
        let tasks: Vec<&str> = REGISTRY
            .iter()
            .filter(|s| s.family == TaskFamily::Locomotion)
            .map(|s| s.id)
            .collect();
        assert_eq!(tasks.len(), 7);
        for id in tasks {
            assert_eq!(setting(Algo::Ppo, id, "adam", "lr"), Some(3e-4), "{id}");
            assert_eq!(setting(Algo::A2c, id, "adam", "lr"), Some(7e-4), "{id}");
            assert_eq!(setting(Algo::A2c, id, "rmsprop", "lr"), Some(7e-4), "{id}");
            assert_eq!(setting(Algo::A2c, id, "rmsprop", "eps"), Some(1e-5), "{id}");
            assert_eq!(setting(Algo::A2c, id, "rmsprop", "smoothing"), Some(0.99), "{id}");
        }
        // Table A.1: (σ, lr = 1/(σ + ρ) as the authors gave it).
        for (algo, id, sigma, lr) in [
            (Algo::Ppo, "Ant-v5", 5.0, 5e-5),
            (Algo::Ppo, "Humanoid-v5", 0.1, 1e-5),
            (Algo::A2c, "HalfCheetah-v5", 0.5, 5e-3),
            (Algo::A2c, "InvertedDoublePendulum-v5", 0.5, 5e-3),
        ] {
            assert_eq!(setting(algo, id, "sisa", "sigma"), Some(sigma), "{id}");
            assert_eq!(setting(algo, id, "sisa", "lr"), Some(lr), "{id}");
        }
        // No published setting: the registry default.
        assert_eq!(setting(Algo::Ppo, "Hopper-v5", "sisa", "sigma"), Some(1.0));
    }

    #[test]
    fn the_paper_protocol_resets_the_pisa_family_only() {
        let resolve = |name: &str| {
            Registry::builtin()
                .resolve("ppo-ant", name, &toml::Table::new())
                .unwrap()
        };
        assert!(Protocol::Paper.resets(&resolve("sisa")));
        assert!(Protocol::Paper.resets(&resolve("pisa")));
        assert!(!Protocol::Paper.resets(&resolve("adam")));
        assert!(!Protocol::Paper.resets(&resolve("rmsprop")));
        assert!(!Protocol::Defaults.resets(&resolve("sisa")));
    }
}
