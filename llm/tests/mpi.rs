//! GPT-2 training with its nodes over MPI ranks (feature `mpi`, loopback `mpirun`): with the
//! ordered reduction the `llm train` run over 2 and 4 ranks writes the one-process model byte
//! for byte and the same losses, for the grouped NSISA + AdamW default and for SISA; each rank
//! holds only its nodes' optimizer state.
//!
//! ```text
//! cargo test -p llm --features mpi --test mpi      # cargo xtask test runs it
//! ```
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::Command;

fn flags(data: &Path, runs: &Path, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--preset",
        "unit",
        "--seq",
        "16",
        "--batch",
        "4",
        "--device",
        "cpu",
        "--steps",
        "6",
        "--eval-every",
        "3",
        "--val-tokens",
        "128",
        "--checkpoint-every",
        "3",
        "--seed",
        "5",
        "--threads",
        "1",
        "--nodes",
        "4",
        "--reduction",
        "ordered",
        "--name",
        name,
    ]
    .map(String::from)
    .to_vec();
    args.extend([
        "--data".into(),
        data.display().to_string(),
        "--runs".into(),
        runs.display().to_string(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn summary(runs: &Path, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(runs.join("llm").join(name).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn model(runs: &Path, name: &str) -> Vec<u8> {
    std::fs::read(runs.join("llm").join(name).join("model/model.safetensors")).unwrap()
}

#[test]
fn gpt2_over_2_and_4_ranks_equals_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    std::fs::create_dir_all(&data).unwrap();
    common::make_shards(&data);
    let exe = env!("CARGO_BIN_EXE_llm");
    for (label, extra) in [
        ("grouped", &[][..]),
        ("sisa", &["--optimizer", "sisa", "--no-groups"][..]),
    ] {
        let one = format!("{label}-one");
        let out = Command::new(exe)
            .args(flags(&data, &runs, &one, extra))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let base = summary(&runs, &one);
        for ranks in [2, 4] {
            let name = format!("{label}-{ranks}");
            let out = Command::new("mpirun")
                .args([
                    "--oversubscribe",
                    "--allow-run-as-root",
                    "-np",
                    &ranks.to_string(),
                    exe,
                ])
                .args(flags(&data, &runs, &name, extra))
                .output()
                .expect("mpirun: install OpenMPI (cargo xtask setup --mpi)");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(
                model(&runs, &name) == model(&runs, &one),
                "{label} over {ranks} ranks: weights"
            );
            let s = summary(&runs, &name);
            assert_eq!(
                (&s["train_loss"], &s["val_loss"]),
                (&base["train_loss"], &base["val_loss"]),
                "{label}"
            );
            let (per_rank, whole) = (
                s["optimizer_state_bytes"].as_f64().unwrap(),
                base["optimizer_state_bytes"].as_f64().unwrap(),
            );
            eprintln!("{label}: optimizer state per rank over {ranks} ranks: {per_rank} bytes, one process: {whole}");
            assert!(
                per_rank < whole,
                "{label}: a rank keeps its own nodes' state only"
            );
        }
    }
}
