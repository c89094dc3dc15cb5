//! The `lstm` binary end to end on a tiny PTB-format corpus written by the test: a run stopped
//! after one epoch and continued with `--resume` ends with the same weights, byte for byte, and
//! the same metrics as an uninterrupted run; `lstm sample` generates from its checkpoint; bad
//! input fails with a message naming what is wrong.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `ptb.{train,valid,test}.txt` from a fixed word pattern (PTB conventions: space-separated
/// lower-case words, one sentence per line).
fn corpus(dir: &Path) -> PathBuf {
    let root = dir.join("corpus");
    fs::create_dir_all(&root).unwrap();
    let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "N"];
    let text = |lines: usize, offset: usize| -> String {
        (0..lines)
            .map(|l| {
                let n = 3 + (l + offset) % 5;
                let line: Vec<&str> = (0..n)
                    .map(|k| words[(l * 3 + k + offset) % words.len()])
                    .collect();
                line.join(" ") + "\n"
            })
            .collect()
    };
    fs::write(root.join("ptb.train.txt"), text(120, 0)).unwrap();
    fs::write(root.join("ptb.valid.txt"), text(20, 1)).unwrap();
    fs::write(root.join("ptb.test.txt"), text(20, 2)).unwrap();
    root
}

fn lstm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lstm"))
        .args(args)
        .output()
        .unwrap()
}

fn lstm_ok(args: &[&str]) -> Output {
    let out = lstm(args);
    assert!(
        out.status.success(),
        "lstm {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A tiny SISA run (m = 4 nodes along time) of `epochs` epochs.
fn train_args<'a>(data: &'a str, runs: &'a str, name: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--runs",
        runs,
        "--domain",
        "lstm-1",
        "--name",
        name,
        "--optimizer",
        "sisa",
        "--layers",
        "1",
        "--emb",
        "8",
        "--hidden",
        "8",
        "--batch",
        "4",
        "--bptt",
        "8",
        "--max-windows",
        "6",
        "--epochs",
        epochs,
        "--device",
        "cpu",
        "--threads",
        "1",
        "--seed",
        "3",
    ]
}

fn latest_checkpoint(run: &Path) -> PathBuf {
    runs::checkpoint::latest(&run.join("checkpoints"))
        .unwrap()
        .expect("a checkpoint")
}

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The metrics file without its wall-clock column (the only column that may differ).
fn metrics_without_time(run: &Path) -> Vec<String> {
    let text = fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let skip: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.contains("time") || h.contains("tokens_per_s"))
        .map(|(i, _)| i)
        .collect();
    text.lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| !skip.contains(i))
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one_and_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let data = data.to_str().unwrap();
    let runs = tmp.path().join("runs");
    let runs_s = runs.to_str().unwrap();

    lstm_ok(&train_args(data, runs_s, "whole", "2"));
    lstm_ok(&train_args(data, runs_s, "resumed", "1"));
    let mut rest = train_args(data, runs_s, "resumed", "2");
    rest.push("--resume");
    let out = lstm_ok(&rest);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("resuming"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (whole, resumed) = (runs.join("lstm-1/whole"), runs.join("lstm-1/resumed"));
    let (a, b) = (latest_checkpoint(&whole), latest_checkpoint(&resumed));
    assert_eq!(a.file_name(), b.file_name(), "same step");
    let (fa, fb) = (files(&a), files(&b));
    assert!(fa.iter().any(|f| f.ends_with("model.safetensors")), "{fa:?}");
    assert!(
        fa.iter().any(|f| f.to_string_lossy().starts_with("optimizer")),
        "{fa:?}"
    );
    assert_eq!(fa, fb, "the same checkpoint files");
    for f in &fa {
        assert!(
            fs::read(a.join(f)).unwrap() == fs::read(b.join(f)).unwrap(),
            "{} differs after resume",
            f.display()
        );
    }
    let (ma, mb) = (metrics_without_time(&whole), metrics_without_time(&resumed));
    assert_eq!(ma.len(), 3, "header + 2 epochs: {ma:?}");
    assert_eq!(ma, mb);
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(resumed.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "finished");
    assert_eq!(summary["epochs"], 2);
    assert!(summary["test_ppl_at_best_valid"].as_f64().unwrap().is_finite());

    let ckpt = a.to_str().unwrap();
    let out = lstm_ok(&["sample", "--checkpoint", ckpt, "--words", "30", "--seed", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let vocab = [
        "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "N", "<unk>",
    ];
    let sampled: Vec<&str> = text.split_whitespace().collect();
    assert!(!sampled.is_empty(), "no words sampled");
    assert!(sampled.iter().all(|w| vocab.contains(w)), "{text}");
}

#[test]
fn bad_input_fails_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let runs_s = runs.to_str().unwrap();
    let missing = tmp.path().join("nowhere");
    let out = lstm(&train_args(missing.to_str().unwrap(), runs_s, "x", "1"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere"), "{err}");

    let data = corpus(tmp.path());
    let mut args = train_args(data.to_str().unwrap(), runs_s, "y", "1");
    args.extend(["--split", "diagonal"]);
    let out = lstm(&args);
    assert_eq!(out.status.code(), Some(2), "bad input");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--split") && err.contains("diagonal"), "{err}");
}
