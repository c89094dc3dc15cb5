//! PPO with SISA on CartPole-v1 learns (see `rl_ppo_cartpole.rs`; one test per file for a
//! process-private torch generator).

use adapters::registry::Registry;
use adapters::rl::{train_ppo, PpoConfig};

/// SISA (m = 4 node batches of each minibatch) with the default presets also learns.
#[test]
fn ppo_sisa_learns_cartpole() {
    tch::set_num_threads(1);
    let cfg = PpoConfig {
        total_steps: 60_000,
        ..PpoConfig::default()
    };
    let opt = Registry::builtin()
        .resolve("default", "sisa", &toml::Table::new())
        .unwrap();
    assert_eq!(opt.base.nodes(), 4);
    let report = train_ppo(&cfg, &opt).unwrap();
    let last = report.mean_last_returns(20);
    eprintln!("sisa: episodes {}, last-20 mean {last:.1}", report.episodes.len());
    assert!(last > 150.0, "mean return of the last 20 episodes {last}");
}
