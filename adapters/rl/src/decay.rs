//! Linear learning-rate decay for RL, injected into a resolved optimizer configuration.
//!
//! Tianshou's MuJoCo examples decay the learning rate linearly to 0 over training
//! (`LambdaLR(lambda u: 1 − u / max_update_num)`, stepped once per update). pisa-core expresses
//! schedules as configuration, so the trainer writes the decay into the configuration it builds:
//! - baselines (Adam, RMSprop, ...): `schedule = Linear { total }`, η_t = η_0 (1 − t/total);
//! - the PISA family: `schedule = LrLinked { lr: Linear { total } }`, σ_t = σ_0/r_t and
//!   ρ_t = ρ_0/r_t (spec §4.2: the authors recompute σ and ρ from the decayed learning rate).
//!
//! t counts optimizer iterations (minibatches), so the decay is smooth within an update rather
//! than stepped per update as Tianshou's; with `total` = iterations of the whole run the
//! multiplier never reaches 0 (the last iteration has 1/total). A schedule the user configured
//! is kept: only `Constant` schedules are replaced.
//!
//! [`constant_factor`] is the per-update form used when the optimizer is rebuilt at every update
//! (the paper's re-initialized SISA state): a schedule `Piecewise { [0], [r] }` holds r_t = r.

use pisa_core::config::ScheduleOverride;
use pisa_core::schedule::LrSchedule;
use pisa_core::OptimizerConfig;

/// `cfg` with linear decay to 0 over `total` iterations wherever its schedule is constant.
pub fn linear_decay(cfg: &OptimizerConfig, total: u64) -> OptimizerConfig {
    with_schedule(cfg, LrSchedule::Linear { total: total.max(1) })
}

/// `cfg` with the learning-rate multiplier held at `factor` (> 0) wherever its schedule is
/// constant.
pub fn constant_factor(cfg: &OptimizerConfig, factor: f64) -> OptimizerConfig {
    with_schedule(
        cfg,
        LrSchedule::Piecewise {
            milestones: vec![0],
            factors: vec![factor],
        },
    )
}

fn with_schedule(cfg: &OptimizerConfig, lr: LrSchedule) -> OptimizerConfig {
    cfg.with_lr_schedule(&lr, ScheduleOverride::IfConstant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pisa_core::OptimizerKind;
    use runs::registry::Registry;

    fn resolve(name: &str, extra: &str) -> OptimizerConfig {
        Registry::builtin()
            .resolve("default", name, &extra.parse().unwrap())
            .unwrap()
    }

    #[test]
    fn baselines_get_a_linear_lr_schedule() {
        let cfg = linear_decay(&resolve("adam", ""), 100);
        let OptimizerKind::Adam(c) = &cfg.base else {
            panic!("{cfg:?}")
        };
        assert_eq!(c.schedule, LrSchedule::Linear { total: 100 });
        assert_eq!(c.schedule.factor(25), 0.75);
    }

    #[test]
    fn sisa_links_sigma_and_rho_to_the_decay() {
        let cfg = linear_decay(&resolve("sisa", ""), 10);
        let OptimizerKind::Sisa(c) = &cfg.base else {
            panic!("{cfg:?}")
        };
        // σ_t = σ_0 / (1 − t/10): at t = 5 twice σ_0 (and ρ likewise).
        assert_eq!(c.schedule.at(5, 1.0, 999.0).unwrap(), (2.0, 1998.0));
        let held = constant_factor(&resolve("sisa", ""), 0.25);
        let OptimizerKind::Sisa(c) = &held.base else {
            panic!("{held:?}")
        };
        assert_eq!(c.schedule.at(0, 1.0, 10.0).unwrap(), (4.0, 40.0));
        assert_eq!(c.schedule.at(1000, 1.0, 10.0).unwrap(), (4.0, 40.0));
    }

    #[test]
    fn a_configured_schedule_is_kept() {
        let cfg = linear_decay(
            &resolve(
                "adam",
                "schedule = { kind = \"step\", step_size = 5, gamma = 0.5 }",
            ),
            100,
        );
        let OptimizerKind::Adam(c) = &cfg.base else {
            panic!("{cfg:?}")
        };
        assert_eq!(
            c.schedule,
            LrSchedule::Step {
                step_size: 5,
                gamma: 0.5
            }
        );
    }
}
