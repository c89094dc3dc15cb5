//! PPO with SISA on CartPole-v1 learns (see `rl_ppo_cartpole.rs`; one test per file for a
//! process-private torch generator).

use rl::{train, Algo, RlConfig};
use runs::registry::Registry;

/// SISA (m = 4 node batches of each minibatch of 4 × 64) with the default presets also learns.
#[test]
fn ppo_sisa_learns_cartpole() {
    tch::set_num_threads(1);
    let cfg = RlConfig {
        total_steps: 20_000,
        batch_size: Some(64),
        ..RlConfig::for_task(Algo::Ppo, "CartPole-v1")
    };
    let opt = Registry::builtin()
        .resolve("default", "sisa", &toml::Table::new())
        .unwrap();
    assert_eq!(opt.base.nodes(), 4);
    let report = train(&cfg, &opt).unwrap();
    let last = report.mean_last_returns(20);
    eprintln!("sisa: episodes {}, last-20 mean {last:.1}", report.episodes.len());
    assert!(last > 150.0, "mean return of the last 20 episodes {last}");
}
