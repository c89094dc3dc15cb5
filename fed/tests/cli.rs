//! The `fed` binary and `fed::train::train` end to end on a tiny a9a-format dataset: a
//! two-client run resumes exactly (SISA and SCAFFOLD, whose control variates travel in the
//! checkpoint), `fed partition` writes the per-client label counts, and bad input is refused
//! with exit code 2 naming the flag before any run folder exists.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fed::train::{train, FedConfig};
use runs::refusals::{assert_all_refused, assert_refused_before_the_run, HUGE};
use runs::session::RunArgs;

mod common;

use common::write_a9a;

const BIN: &str = env!("CARGO_BIN_EXE_fed");

fn config(data: &Path, rounds: u64) -> FedConfig {
    FedConfig {
        dataset: "a9a".parse().unwrap(),
        data: Some(data.to_path_buf()),
        partition: "label:1".parse().unwrap(),
        clients: 2,
        rounds,
        local_batch: 16,
        lr: 0.05,
        ..FedConfig::defaults()
    }
}

fn args(runs: &Path, optimizer: &str, name: &str) -> RunArgs {
    RunArgs {
        optimizer: Some(optimizer.into()),
        name: Some(name.into()),
        checkpoint_every: Some(3),
        ..RunArgs::for_tests(runs)
    }
}

fn metrics(runs: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(runs.join("fed").join(name).join("metrics.csv")).unwrap();
    // drop the wall-clock column
    text.lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(1);
            cells.join(",")
        })
        .collect()
}

#[test]
fn a_two_client_run_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("a9a"), tmp.path().join("runs"));
    write_a9a(&data, 300, 100);
    for optimizer in ["sisa", "scaffold"] {
        let whole = format!("{optimizer}-whole");
        let full = train(&config(&data, 6), &args(&runs, optimizer, &whole)).unwrap();
        let parts = format!("{optimizer}-parts");
        train(&config(&data, 3), &args(&runs, optimizer, &parts)).unwrap();
        let resume = RunArgs {
            resume: true,
            ..args(&runs, optimizer, &parts)
        };
        let resumed = train(&config(&data, 6), &resume).unwrap();
        assert_eq!(metrics(&runs, &whole), metrics(&runs, &parts), "{optimizer}");
        let (a, b) = (full.figures.unwrap(), resumed.figures.unwrap());
        assert_eq!(a.test_loss, b.test_loss, "{optimizer}");
        assert_eq!(a.best_test_accuracy, b.best_test_accuracy, "{optimizer}");
        // and it trains: the test loss after the last round is below the first's (the local
        // training loss of #C=1 clients is no guide: each fits its one label)
        let rows = metrics(&runs, &whole);
        let loss = |row: &str| row.split(',').nth(2).unwrap().parse::<f64>().unwrap();
        assert!(loss(&rows[6]) < loss(&rows[1]), "{optimizer}: {rows:?}");
    }
    // each client holds one label (a9a #C=1 with 2 clients), recorded with the run
    let partition: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs.join("fed/sisa-whole/partition.json")).unwrap())
            .unwrap();
    assert_eq!(partition["clients"][0]["labels"].as_object().unwrap().len(), 1);
    assert_eq!(
        partition["clients"][1]["labels"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["1"]
    );
}

fn fed(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

#[test]
fn partition_writes_per_client_label_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("a9a");
    write_a9a(&data, 200, 10);
    let out_file = tmp.path().join("p.json");
    let out = fed(&[
        "partition",
        "--dataset",
        "a9a",
        "--data",
        data.to_str().unwrap(),
        "--partition",
        "label:2",
        "--clients",
        "3",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let clients = json["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 3);
    let total: u64 = clients.iter().map(|c| c["n"].as_u64().unwrap()).sum();
    assert_eq!(
        total, 200,
        "label:2 with 2 labels: every client holds both, nothing unused"
    );
    for c in clients {
        let counts: u64 = c["labels"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(counts, c["n"].as_u64().unwrap());
    }
}

/// `(subcommand, flag, refused values)`.
const TABLE: &[(&str, &str, &[&str])] = &[
    ("train", "--clients", &["0", "-1", HUGE]),
    ("train", "--rounds", &["0", "-1", HUGE]),
    ("train", "--fraction", &["0", "-0.5", "1.5", "nan"]),
    ("train", "--local-epochs", &["0", HUGE]),
    ("train", "--local-batch", &["0", HUGE]),
    ("train", "--lr", &["0", "-1", "1e9"]),
    ("train", "--momentum", &["-0.1", "1"]),
    ("train", "--weight-decay", &["-1", "2"]),
    ("train", "--mu", &["-1", "1e9"]),
    ("train", "--eval-every", &["0", HUGE]),
    ("train", "--target-accuracy", &["-0.1", "1.5"]),
    ("train", "--dataset", &["imagenet", "MNIST"]),
    (
        "train",
        "--partition",
        &["label:0", "dir:-1", "noniid", "quantity:x"],
    ),
    ("partition", "--clients", &["0", HUGE]),
    ("partition", "--partition", &["label:x"]),
];

#[test]
fn every_flag_is_checked_at_parse_time() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let missing = tmp.path().join("nothing").display().to_string();
    let prefix = |sub: &str| -> Vec<String> {
        let mut v = vec!["--data".to_string(), missing.clone()];
        if sub == "train" {
            v.extend(["--runs".to_string(), runs.display().to_string()]);
        }
        v
    };
    assert_all_refused(Path::new(BIN), TABLE, prefix, &runs);
}

fn train_args(data: &Path, runs: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["train", "--dataset", "a9a", "--rounds", "1", "--device", "cpu"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend([
        "--data".into(),
        data.display().to_string(),
        "--runs".into(),
        runs.display().to_string(),
    ]);
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn impossible_partitions_and_combinations_are_refused_before_the_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs): (PathBuf, PathBuf) = (tmp.path().join("a9a"), tmp.path().join("runs"));
    write_a9a(&data, 60, 10);
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(train_args(&data, &runs, extra))
            .output()
            .unwrap()
    };
    // a9a has 2 labels
    let out = run(&["--partition", "label:3", "--clients", "2"]);
    assert_refused_before_the_run(&out, "--partition", &runs);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("label:3 asks for 3 labels per client, but the dataset has 2"));
    // more clients than samples of a label
    let out = run(&["--partition", "label:1", "--clients", "200"]);
    assert_refused_before_the_run(&out, "--partition", &runs);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("samples for"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // partial participation is for the local-training baselines
    let out = run(&["--optimizer", "sisa", "--fraction", "0.5"]);
    assert_refused_before_the_run(&out, "--fraction", &runs);
    // no dataset where it is looked for: named with the command that fetches it
    let out = Command::new(BIN)
        .args(train_args(&tmp.path().join("none"), &runs, &[]))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cargo xtask data a9a"), "{err}");
    assert!(!runs.exists());
}
