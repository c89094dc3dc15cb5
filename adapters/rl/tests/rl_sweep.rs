//! `rl train --sweep`: one run per swept value through the shared experiment planner, each run's
//! optimizer holding its value, a comparison over the swept groups, and a second invocation
//! skipping what has finished (as `cargo xtask`'s experiments do).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rl");

/// The `sigma` an RL run's optimizer trained with (its `config.toml`).
fn sigma(run: &Path) -> f64 {
    let text = std::fs::read_to_string(run.join("config.toml")).unwrap();
    let table: toml::Table = text.parse().unwrap();
    table["sigma"].as_float().unwrap()
}

#[test]
fn a_sweep_runs_each_value_and_compares_them() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("tiny.toml");
    std::fs::write(
        &config,
        "[rl]\nnum_envs = 2\nnum_steps = 32\nbatch_size = 32\nupdate_epochs = 1\neval_every = 64\neval_episodes = 1\ncheckpoint_every = 0\n",
    )
    .unwrap();
    let train = || {
        let out = Command::new(BIN)
            .args(["train", "--env", "pendulum", "--optimizer", "sisa"])
            .args(["--sweep", "sigma=0.1,2", "--seeds", "1", "--steps", "64"])
            .arg("--config")
            .arg(&config)
            .arg("--runs")
            .arg(tmp.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    train();
    let domain = tmp.path().join("ppo-pendulum");
    assert_eq!(sigma(&domain.join("sisa-sigma0.1-seed0")), 0.1);
    assert_eq!(sigma(&domain.join("sisa-sigma2-seed0")), 2.0);
    let compare = std::fs::read_to_string(domain.join("compare.md")).unwrap();
    assert!(
        compare.contains("sisa-sigma0.1") && compare.contains("sisa-sigma2"),
        "{compare}"
    );

    let again = train();
    assert_eq!(again.matches("has ended; skipped").count(), 2, "{again}");
}
