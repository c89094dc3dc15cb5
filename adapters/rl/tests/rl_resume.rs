//! Exact resume: a run resumed from a checkpoint ends with the same weights, statistics and
//! episodes as the uninterrupted run (one test per file for a process-private torch generator).

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

#[test]
fn resumed_run_matches_uninterrupted_run() {
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let cfg = RlConfig {
        num_envs: 2,
        num_steps: 64,
        total_steps: 1024,
        update_epochs: 2,
        batch_size: Some(32),
        norm_obs: true,
        scale_reward: true,
        ..RlConfig::for_task(Algo::Ppo, "Pendulum-v1")
    };
    let sisa = Registry::builtin()
        .resolve("default", "sisa", &toml::Table::new())
        .unwrap();
    // Uninterrupted, with a checkpoint after update 4 (step 512: both copies finished one
    // 200-step episode at step 400).
    let mut a = Trainer::new(&cfg, &sisa, Device::Cpu).unwrap();
    for _ in 0..4 {
        a.update().unwrap();
    }
    assert_eq!(a.episode_window().len(), 2);
    let ckpt = a.save(&dir.path().join("a"), 0).unwrap();
    while !a.done() {
        a.update().unwrap();
    }
    // Fresh trainer (other initial weights: another seed's would do too), resumed.
    let mut b = Trainer::new(&cfg, &sisa, Device::Cpu).unwrap();
    b.update().unwrap();
    b.resume(&ckpt).unwrap();
    assert_eq!(b.global_step(), 512);
    while !b.done() {
        b.update().unwrap();
    }
    assert_eq!(a.global_step(), b.global_step());
    assert_eq!(weights(&a), weights(&b));
    assert_eq!(a.obs_normalizer(), b.obs_normalizer());
    let tail = |t: &Trainer| {
        t.episodes
            .iter()
            .filter(|e| e.0 > 512)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(tail(&a), tail(&b));
    assert!(!tail(&a).is_empty());
    // The rolling window came through the checkpoint: b saw only the 2 episodes after the
    // resume, its window holds all 4, and its mean is the mean of a's 4 returns.
    assert_eq!(b.episodes.len(), 2);
    assert_eq!(a.episode_window(), b.episode_window());
    assert_eq!(b.episode_window().len(), 4);
    let all: Vec<f64> = a.episodes.iter().map(|e| e.1).collect();
    assert_eq!(all.len(), 4);
    let mean = all.iter().sum::<f64>() / 4.0;
    assert!((b.episode_window().mean_return() - mean).abs() < 1e-9 * mean.abs().max(1.0));
    assert_eq!(
        b.episode_window().mean_length(),
        200.0,
        "Pendulum truncates at 200"
    );
}
