//! The `mnist` training binary end to end, on a small synthetic MNIST-format data set: a run
//! writes its folder, `--resume` continues exactly, and a diverging run stops cleanly on the
//! non-finite loss with the last good checkpoint kept.

mod common;

use std::path::Path;
use std::process::Command;

use common::write_data;

fn mnist(data: &Path, runs: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mnist"));
    cmd.arg("--data").arg(data).arg("--runs").arg(runs);
    cmd.args([
        "--batch",
        "32",
        "--eval-every",
        "4",
        "--checkpoint-every",
        "4",
        "--device",
        "cpu",
    ]);
    cmd.args(extra).env("CI", "1");
    cmd.output().expect("the mnist binary runs")
}

/// The `train/loss` column of a run's metrics.csv.
fn losses(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().to_string())
        .collect()
}

#[test]
fn runs_resume_exactly_and_stop_on_a_non_finite_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_data(&data, 320, 100);
    let runs = tmp.path().join("runs");

    // An uninterrupted run of 10 steps.
    let out = mnist(
        &data,
        &runs,
        &["--optimizer", "sisa", "--name", "straight", "--examples", "320"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let straight = runs.join("mnist/straight");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(straight.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "finished");
    assert_eq!(summary["steps"], 10);
    assert!(straight.join("config.toml").is_file() && straight.join("tb").is_dir());
    assert_eq!(losses(&straight).len(), 10);

    // The same run interrupted after 8 steps (checkpoint at 8), then resumed to 10.
    let out = mnist(
        &data,
        &runs,
        &["--optimizer", "sisa", "--name", "resumed", "--examples", "256"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = mnist(
        &data,
        &runs,
        &["--optimizer", "sisa", "--name", "resumed", "--examples", "256"],
    );
    assert!(
        !again.status.success(),
        "an existing run is not overwritten without --resume"
    );
    let out = mnist(
        &data,
        &runs,
        &[
            "--optimizer",
            "sisa",
            "--name",
            "resumed",
            "--examples",
            "320",
            "--resume",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let resumed = runs.join("mnist/resumed");
    assert_eq!(
        losses(&resumed),
        losses(&straight),
        "the resumed run logs the same losses"
    );
    let model =
        |run: &Path| std::fs::read(run.join("checkpoints/step-0000000010/model.safetensors")).unwrap();
    assert!(
        model(&resumed) == model(&straight),
        "the final weights are bit-identical"
    );

    // Resuming the finished run trains nothing and keeps every figure of its summary.
    let out = mnist(
        &data,
        &runs,
        &[
            "--optimizer",
            "sisa",
            "--name",
            "straight",
            "--examples",
            "320",
            "--resume",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(straight.join("summary.json")).unwrap()).unwrap();
    for figure in ["train_loss", "test_accuracy", "test_loss", "steps", "status"] {
        assert_eq!(again[figure], summary[figure], "{figure}");
    }

    // A learning rate that jumps to 1e33 after 5 steps: the run stops with a clear message and
    // keeps the last good checkpoint (step 4).
    let cfg = tmp.path().join("huge-lr.toml");
    let schedule = "schedule = { kind = \"multi_step\", milestones = [5], gamma = 1e35 }";
    std::fs::write(&cfg, format!("lr = 0.01\nmomentum = 0.0\n{schedule}\n")).unwrap();
    let cfg = cfg.to_string_lossy().into_owned();
    let out = mnist(
        &data,
        &runs,
        &[
            "--optimizer",
            "sgd",
            "--config",
            &cfg,
            "--name",
            "diverged",
            "--examples",
            "320",
        ],
    );
    assert!(!out.status.success(), "a diverged run exits with an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stopped") && stderr.contains("the loss is"),
        "{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs.join("mnist/diverged/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["stopped"]["reason"], "non-finite loss");
    let step = summary["stopped"]["step"].as_u64().unwrap();
    assert!((5..10).contains(&step), "diverged at step {step}");
    let kept = summary["stopped"]["last_good_checkpoint"].as_str().unwrap();
    assert!(kept.ends_with("step-0000000004"), "{kept}");
    assert!(Path::new(kept).join("meta.json").is_file(), "{kept}");
}
