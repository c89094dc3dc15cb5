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
use pisa_core::schedule::{LrSchedule, PenaltySchedule};
use pisa_core::{OptimizerConfig, OptimizerKind};

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

/// The hyperparameters the schedule moves, at outer iteration `t` of an optimizer built from
/// `cfg` (its top-level settings; groups are not reported), as metric names and values:
/// - the PISA family: `opt/sigma` σ_t, `opt/rho` ρ_t and `opt/lr` = 1/(σ_t + ρ_t), the step size
///   of the authors' convention ρ = 1/η − σ (spec §4.2);
/// - the baselines: `opt/lr` η_t = η_0 r_t (absent for an optimizer without an `lr` setting).
///
/// pisa-core's `Optimizer` trait has no accessor for them, so they are recomputed from the
/// configuration and the schedule, which is what the optimizer itself does at `t`. Empty when a
/// value cannot be computed (an invalid setting the build would have refused).
pub fn current_values(cfg: &OptimizerConfig, t: u64) -> Vec<(&'static str, f64)> {
    let penalty = |sigma0: f64, rho0: Option<f64>, schedule: &PenaltySchedule| {
        let Some((sigma, rho)) = rho0.and_then(|rho0| schedule.at(t, sigma0, rho0).ok()) else {
            return vec![];
        };
        vec![
            ("opt/sigma", sigma),
            ("opt/rho", rho),
            ("opt/lr", 1.0 / (sigma + rho)),
        ]
    };
    match &cfg.base {
        OptimizerKind::Pisa(c) | OptimizerKind::Sisa(c) => penalty(c.sigma, c.rho0().ok(), &c.schedule),
        OptimizerKind::Nsisa(c) => {
            // NSISA's own rule (its `rho0` is private): `rho`, else 1/lr − σ, else 100.
            let rho0 = match (c.rho, c.lr) {
                (Some(rho), _) => Some(rho),
                (None, Some(lr)) => Some(1.0 / lr - c.sigma),
                (None, None) => Some(100.0),
            };
            penalty(c.sigma, rho0, &c.schedule)
        }
        base => {
            let value = serde_json::to_value(base).unwrap_or_default();
            let lr = value.get("lr").and_then(serde_json::Value::as_f64);
            let schedule = value
                .get("schedule")
                .and_then(|s| serde_json::from_value::<LrSchedule>(s.clone()).ok());
            match (lr, schedule) {
                (Some(lr), Some(schedule)) => vec![("opt/lr", lr * schedule.factor(t))],
                _ => vec![],
            }
        }
    }
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
    fn current_values_follow_the_decay() {
        // Adam with η_0 = 0.5, linear over 100 iterations: η_25 = 0.75 η_0.
        let adam = resolve("adam", "lr = 0.5");
        let values = current_values(&linear_decay(&adam, 100), 25);
        assert_eq!(values, [("opt/lr", 0.375)]);
        // SISA with σ_0 = 2 and η_0 = 0.1 (ρ_0 = 1/η_0 − σ_0 = 8), linked to a linear decay over
        // 10: at t = 5, r = 0.5, so σ = 4, ρ = 16 and the step size 1/(σ + ρ) = 0.05 (half of
        // 1/(σ_0 + ρ_0)).
        let sisa = resolve("sisa", "sigma = 2.0\nlr = 0.1");
        let values = current_values(&linear_decay(&sisa, 10), 5);
        assert_eq!(values, [("opt/sigma", 4.0), ("opt/rho", 16.0), ("opt/lr", 0.05)]);
        // Constant: the settings themselves.
        assert_eq!(
            current_values(&sisa, 1000)[..2],
            [("opt/sigma", 2.0), ("opt/rho", 8.0)]
        );
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
