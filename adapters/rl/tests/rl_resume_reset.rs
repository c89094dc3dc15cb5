//! The paper's protocol under exact resume: with SISA rebuilt at every update
//! (`reset_optimizer`) and advantages recomputed at every pass (`recompute_adv`), a run resumed
//! from a checkpoint in the middle ends with the same weights, optimizer state and episodes as the
//! uninterrupted run; `recompute_adv` changes nothing with one pass and changes the run with two
//! (one test per file for a process-private torch generator).

use rl::{Algo, RlConfig, Trainer};
use runs::registry::Registry;
use tch::{Device, Kind};

fn weights(t: &Trainer) -> Vec<f64> {
    let mut vars: Vec<_> = t.var_store().variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.iter()
        .flat_map(|(_, v)| Vec::<f64>::try_from(v.to_kind(Kind::Double).reshape([-1])).unwrap())
        .collect()
}

/// Every tensor of the optimizer's state, flattened in order, with its scalars.
fn optimizer_state(t: &Trainer) -> (serde_json::Value, Vec<(String, Vec<f64>)>) {
    let state = t.optimizer().state().unwrap();
    let tensors = state
        .tensors
        .iter()
        .map(|(name, x)| {
            let values = Vec::<f64>::try_from(x.to_kind(Kind::Double).reshape([-1])).unwrap();
            (name.clone(), values)
        })
        .collect();
    (state.scalars, tensors)
}

fn run_to_end(t: &mut Trainer) {
    while !t.done() {
        t.update().unwrap();
    }
}

#[test]
fn a_reset_run_resumes_exactly_and_recompute_adv_needs_two_passes() {
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    // 8 updates of 2 × 64 transitions, 2 passes in minibatches of 4 nodes × 8 (8 iterations per
    // update); the lr (σ, ρ) decays per update.
    let cfg = RlConfig {
        num_envs: 2,
        num_steps: 64,
        total_steps: 1024,
        update_epochs: 2,
        batch_size: Some(8),
        norm_obs: true,
        scale_reward: true,
        lr_decay: true,
        reset_optimizer: true,
        recompute_adv: true,
        ..RlConfig::for_task(Algo::Ppo, "Pendulum-v1")
    };
    let sisa = Registry::builtin()
        .resolve("default", "sisa", &toml::Table::new())
        .unwrap();
    // Uninterrupted, with a checkpoint after update 3 (step 384), in the middle of the decay.
    let mut a = Trainer::new(&cfg, &sisa, Device::Cpu).unwrap();
    for _ in 0..3 {
        a.update().unwrap();
    }
    let ckpt = a.save(&dir.path().join("a"), 0).unwrap();
    run_to_end(&mut a);
    // A trainer that went elsewhere first, resumed from the checkpoint.
    let mut b = Trainer::new(&cfg, &sisa, Device::Cpu).unwrap();
    b.update().unwrap();
    b.update().unwrap();
    b.resume(&ckpt).unwrap();
    assert_eq!((b.global_step(), b.updates_done()), (384, 3));
    run_to_end(&mut b);
    assert_eq!(a.global_step(), b.global_step());
    assert_eq!(weights(&a), weights(&b));
    assert_eq!(optimizer_state(&a), optimizer_state(&b));
    // The last update's optimizer started fresh: 8 iterations, not 64.
    assert_eq!(optimizer_state(&a).0["iteration"], 8);
    assert_eq!(a.optimizer_values(), b.optimizer_values());
    assert_eq!(a.obs_normalizer(), b.obs_normalizer());
    let tail =
        |t: &Trainer| -> Vec<(usize, f64)> { t.episodes.iter().filter(|e| e.0 > 384).cloned().collect() };
    assert!(!tail(&a).is_empty());
    assert_eq!(tail(&a), tail(&b));

    // recompute_adv: nothing to recompute with one pass (bit-identical), a different run with two.
    let one_pass = |recompute_adv| {
        let mut t = Trainer::new(
            &RlConfig {
                update_epochs: 1,
                total_steps: 256,
                recompute_adv,
                ..cfg.clone()
            },
            &sisa,
            Device::Cpu,
        )
        .unwrap();
        run_to_end(&mut t);
        weights(&t)
    };
    assert_eq!(one_pass(true), one_pass(false));
    let two_passes = |recompute_adv| {
        let mut t = Trainer::new(
            &RlConfig {
                total_steps: 256,
                recompute_adv,
                ..cfg.clone()
            },
            &sisa,
            Device::Cpu,
        )
        .unwrap();
        run_to_end(&mut t);
        weights(&t)
    };
    let (with, without) = (two_passes(true), two_passes(false));
    assert!(with.iter().all(|w| w.is_finite()));
    assert_ne!(with, without);
}
