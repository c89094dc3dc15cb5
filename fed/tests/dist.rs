//! Federated clients over MPI ranks (feature `mpi`, loopback `mpirun`): 4 clients of a tiny
//! a9a-format set over 2 and 4 ranks with the ordered reduction give the one-process run's
//! metrics bit for bit, for SISA (one optimizer step per round), FedAvg and SCAFFOLD (local
//! SGD; SCAFFOLD's control variates are exchanged between the ranks every round).
//!
//! ```text
//! cargo test -p fed --features mpi --test dist      # cargo xtask test runs it
//! ```
//!
//! Every process uses one torch thread (sums over a batch are formed in another order with
//! another thread count).
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fed");

fn train_args(data: &Path, runs: &Path, optimizer: &str, name: &str) -> Vec<String> {
    [
        "train",
        "--dataset",
        "a9a",
        "--partition",
        "label:1",
        "--clients",
        "4",
        "--rounds",
        "3",
        "--local-batch",
        "16",
        "--lr",
        "0.05",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--optimizer",
        optimizer,
        "--name",
        name,
        "--reduction",
        "ordered",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        "--data".into(),
        data.display().to_string(),
        "--runs".into(),
        runs.display().to_string(),
    ])
    .collect()
}

/// `metrics.csv` without the wall-clock column, and the summary's final test loss.
fn outcome(runs: &Path, name: &str) -> (Vec<String>, f64) {
    let dir = runs.join("fed").join(name);
    let rows = std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(1);
            cells.join(",")
        })
        .collect();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    (rows, summary["test_loss"].as_f64().unwrap())
}

#[test]
fn clients_over_2_and_4_ranks_give_the_one_process_run_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("a9a"), tmp.path().join("runs"));
    common::write_a9a(&data, 240, 80);
    for optimizer in ["sisa", "fedavg", "scaffold"] {
        let one = format!("{optimizer}-1");
        let out = Command::new(BIN)
            .args(train_args(&data, &runs, optimizer, &one))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{optimizer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = outcome(&runs, &one);
        for ranks in [2, 4] {
            let name = format!("{optimizer}-{ranks}");
            let out = Command::new("mpirun")
                .args([
                    "--oversubscribe",
                    "--allow-run-as-root",
                    "-np",
                    &ranks.to_string(),
                    BIN,
                ])
                .args(train_args(&data, &runs, optimizer, &name))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{optimizer} over {ranks}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(outcome(&runs, &name), expected, "{optimizer} over {ranks} ranks");
        }
    }
}
