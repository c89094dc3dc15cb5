//! `rl fidelity` on a tiny budget (needs the `mujoco` feature: `cargo xtask test` runs it with
//! MuJoCo provisioned): Hopper trained with Adam on both backends, `fidelity.md` written with
//! the row read back from the two run folders, a second invocation skipping the finished runs,
//! and the flags fidelity sets refused.
#![cfg(feature = "mujoco")]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rl");

#[test]
fn fidelity_trains_both_backends_and_writes_the_fraction() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("tiny.toml");
    std::fs::write(
        &config,
        "[rl]\nnum_envs = 2\nnum_steps = 32\nbatch_size = 32\nupdate_epochs = 1\neval_every = 64\neval_episodes = 1\ncheckpoint_every = 0\n",
    )
    .unwrap();
    let fidelity = |extra: &[&str]| {
        Command::new(BIN)
            .args(["fidelity", "--tasks", "hopper", "--steps", "128", "--config"])
            .arg(&config)
            .arg("--runs")
            .arg(tmp.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let out = fidelity(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for backend in ["mujoco", "rapier"] {
        let summary = tmp
            .path()
            .join(format!("fidelity-ppo-hopper-{backend}"))
            .join("adam-seed0")
            .join("summary.json");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
        assert_eq!(summary["backend"], backend);
        assert_eq!(summary["env"], "Hopper-v5");
        assert_eq!(summary["optimizer"], "adam");
    }
    let md = std::fs::read_to_string(tmp.path().join("fidelity.md")).unwrap();
    let row = md.lines().find(|l| l.starts_with("| Hopper-v5 |")).expect(&md);
    assert_eq!(row.matches("(1)").count(), 4, "one seed per backend: {row}");
    assert!(
        String::from_utf8_lossy(&out.stdout).lines().any(|l| l == row),
        "printed too"
    );

    let again = fidelity(&[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(stderr.matches("has ended; skipped").count(), 2, "{stderr}");

    let refused = fidelity(&["--backend", "rapier"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--backend"));
}
