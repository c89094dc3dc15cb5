//! The `mnist` training binary end to end, on a small synthetic MNIST-format data set: a run
//! writes its folder, `--resume` continues exactly, and a diverging run stops cleanly on the
//! non-finite loss with the last good checkpoint kept.

use std::path::Path;
use std::process::Command;

/// An IDX file: magic (0, 0, type 0x08, rank), dimensions, data.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
    out.extend(data);
    out
}

/// A learnable toy set: label = (image index mod 10), with a bright 4×4 square whose position
/// encodes the label.
fn write_data(dir: &Path, train: usize, test: usize) {
    let set = |n: usize| {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let mut pixels = vec![0u8; n * 784];
        for (i, &l) in labels.iter().enumerate() {
            let (r0, c0) = (4 + (l as usize / 5) * 12, 2 + (l as usize % 5) * 5);
            for r in r0..r0 + 4 {
                for c in c0..c0 + 4 {
                    pixels[i * 784 + r * 28 + c] = 200 + (i % 50) as u8;
                }
            }
        }
        (idx(&[n as u32, 28, 28], &pixels), idx(&[n as u32], &labels))
    };
    let (images, labels) = set(train);
    std::fs::write(dir.join("train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels).unwrap();
    let (images, labels) = set(test);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
}

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
