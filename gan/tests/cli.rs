//! The `gan` binary end to end on a tiny class-per-folder dataset (no downloads, no FID):
//! training writes sample grids, metrics and checkpoints; stopping and `--resume` gives the same
//! weights bit for bit as an uninterrupted run; `gan sample` writes a grid from a checkpoint.

mod common;

use common::dataset;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn gan(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gan {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn train_args<'a>(data: &'a str, runs: &'a str, model: &'a str, optimizer: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        "folder",
        "--data",
        data,
        "--runs",
        runs,
        "--model",
        model,
        "--optimizer",
        optimizer,
        "--image-size",
        "8",
        "--base",
        "4",
        "--z-dim",
        "8",
        "--batch",
        "8",
        "--epochs",
        "2",
        "--n-critic",
        "2",
        "--fid-every",
        "0",
        "--final-fid-samples",
        "0",
        "--grid",
        "4",
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
}

fn model_bytes(run: &Path, net: &str) -> Vec<u8> {
    let dir = run.join("checkpoints").join(net);
    let mut steps: Vec<PathBuf> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    steps.sort();
    fs::read(steps.last().unwrap().join("model.safetensors")).unwrap()
}

#[test]
fn train_resume_and_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 16);
    let data = data.to_str().unwrap();
    let runs = tmp.path().join("runs");
    let runs_s = runs.to_str().unwrap();
    for (model, optimizer) in [("wgan", "sisa"), ("wgan-gp", "sisa")] {
        // 16 images / batch 8 = 2 critic batches per epoch; 2 epochs, n_critic 2 → 2 generator steps.
        let mut whole = train_args(data, runs_s, model, optimizer);
        let whole_name = format!("{model}-whole");
        whole.extend(["--domain", "d", "--name", &whole_name]);
        gan(&whole);
        let mut part = train_args(data, runs_s, model, optimizer);
        let name = format!("{model}-resumed");
        part.extend(["--domain", "d", "--name", &name, "--max-steps", "1"]);
        gan(&part);
        let mut rest = train_args(data, runs_s, model, optimizer);
        rest.extend(["--domain", "d", "--name", &name, "--resume"]);
        gan(&rest);
        let (a, b) = (
            runs.join("d").join(format!("{model}-whole")),
            runs.join("d").join(&name),
        );
        for net in ["generator", "critic"] {
            assert!(
                model_bytes(&a, net) == model_bytes(&b, net),
                "{model}: {net} differs after resume"
            );
        }
        assert!(a.join("plots/samples-epoch-0002.png").is_file());
        let metrics = fs::read_to_string(b.join("metrics.csv")).unwrap();
        assert_eq!(metrics.lines().count(), 3, "{metrics}"); // header + steps 1 and 2
        if model == "wgan" {
            // The aggregated critic weights are clipped to [−0.01, 0.01] (spec §5).
            let t = tch::Tensor::read_safetensors(
                fs::read_dir(a.join("checkpoints/critic"))
                    .unwrap()
                    .next()
                    .unwrap()
                    .unwrap()
                    .path()
                    .join("model.safetensors"),
            )
            .unwrap();
            for (name, v) in t.iter().filter(|(n, _)| !n.contains("running")) {
                assert!(v.abs().max().double_value(&[]) <= 0.01 + 1e-9, "{name}");
            }
        }
    }
    let out = tmp.path().join("grid.png");
    gan(&[
        "sample",
        "--run",
        runs.join("d/wgan-gp-whole").to_str().unwrap(),
        "--n",
        "9",
        "--out",
        out.to_str().unwrap(),
    ]);
    let bytes = fs::read(&out).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}

/// A loss that overflows (here: a gradient-penalty weight beyond f32's range, set on resume)
/// stops the run with an error naming the step and the last good checkpoint, records the stop in
/// `summary.json`, and leaves the checkpoint and the logged metrics of the good steps intact.
#[test]
fn a_non_finite_loss_stops_the_run_and_names_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = dataset(tmp.path(), 16);
    let data = data.to_str().unwrap();
    let runs = tmp.path().join("runs");
    let runs_s = runs.to_str().unwrap();
    for optimizer in ["sisa", "adam"] {
        let mut good = train_args(data, runs_s, "wgan-gp", optimizer);
        good.extend(["--domain", "d", "--name", optimizer, "--max-steps", "1"]);
        gan(&good);
        let run = runs.join("d").join(optimizer);
        let checkpoint = model_bytes(&run, "critic");

        let mut overflow = train_args(data, runs_s, "wgan-gp", optimizer);
        overflow.extend([
            "--domain",
            "d",
            "--name",
            optimizer,
            "--resume",
            "--resume-with-changes",
            "--gp-weight",
            "1e39",
        ]);
        let out = Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(&overflow)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{optimizer}: an overflowing loss must fail the run"
        );
        assert!(
            stderr.contains("at generator step 2; stopped") && stderr.contains("checkpoints/critic/step-"),
            "{optimizer}: {stderr}"
        );
        let summary: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["status"], "stopped: non-finite loss", "{summary}");
        // Generator step 1 was the checkpoint; step 2 overflowed.
        assert_eq!(summary["stopped"]["step"], 2, "{summary}");
        let kept = summary["stopped"]["last_good_checkpoint"].as_str().unwrap();
        assert!(kept.contains("checkpoints/critic/step-"), "{kept}");
        assert!(
            model_bytes(&run, "critic") == checkpoint,
            "{optimizer}: the good checkpoint changed"
        );
        let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(metrics.lines().count(), 2, "{optimizer}: {metrics}"); // header + step 1
    }
}
