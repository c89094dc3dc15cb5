//! PPO on CartPole-v1 learns: with a fixed seed and a small budget the mean training return
//! clearly rises, past what a random (≈ 22) or broken agent reaches. One test per file: torch's
//! generator is global to the process, so tests sharing a process would not be reproducible.

use rl::{train, Algo, RlConfig};
use runs::registry::Registry;
use std::time::Instant;

#[test]
fn ppo_adam_learns_cartpole() {
    tch::set_num_threads(1);
    // rl-zoo's tuned CartPole settings (8 envs × 32 steps, 20 epochs, linear lr and clip decay),
    // on a 30,000-step budget.
    let cfg = RlConfig {
        total_steps: 30_000,
        ..RlConfig::for_task(Algo::Ppo, "CartPole-v1")
    };
    let opt = Registry::builtin()
        .resolve("default", "adam", &toml::Table::new())
        .unwrap();
    let start = Instant::now();
    let report = train(&cfg, &opt).unwrap();
    let first = report.episodes[..20].iter().map(|e| e.1).sum::<f64>() / 20.0;
    let last = report.mean_last_returns(20);
    eprintln!(
        "episodes {}, first-20 mean {first:.1}, last-20 mean {last:.1}, {:.1}s",
        report.episodes.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(first < 50.0, "a fresh policy is near random: {first}");
    assert!(last > 150.0, "mean return of the last 20 episodes {last}");
}
