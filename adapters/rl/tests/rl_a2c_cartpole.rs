//! A2C on CartPole-v1 learns (one test per file for a process-private torch generator).

use rl::{train, Algo, RlConfig};
use runs::registry::Registry;

/// A2C (8 envs × 5 steps, one full-batch iteration per rollout) with Adam: the mean return of
/// the last 20 training episodes clearly exceeds a random policy's ≈ 22.
#[test]
fn a2c_adam_learns_cartpole() {
    tch::set_num_threads(1);
    let cfg = RlConfig {
        total_steps: 40_000,
        ..RlConfig::for_task(Algo::A2c, "CartPole-v1")
    };
    let opt = Registry::builtin()
        .resolve("default", "adam", &toml::Table::new())
        .unwrap();
    let report = train(&cfg, &opt).unwrap();
    let first = report.episodes[..20].iter().map(|e| e.1).sum::<f64>() / 20.0;
    let last = report.mean_last_returns(20);
    eprintln!(
        "a2c: episodes {}, first-20 {first:.1}, last-20 {last:.1}",
        report.episodes.len()
    );
    assert!(first < 50.0, "a fresh policy is near random: {first}");
    assert!(last > 100.0, "mean return of the last 20 episodes {last}");
}
