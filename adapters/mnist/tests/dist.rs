//! The MNIST CNN with m = 4 nodes over 2 and 4 MPI ranks (feature `mpi`, loopback `mpirun`):
//! with the ordered reduction SISA, NSISA and AdamW end with the same weights, bit for bit, as
//! the one-process run (`mnist-dist` prints a digest of every weight's bits).
//!
//! ```text
//! cargo test -p mnist --features mpi --test dist      # cargo xtask test runs it
//! ```
#![cfg(feature = "mpi")]

use std::process::Command;

fn digest(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let record: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    record["weights"].as_str().unwrap().to_string()
}

fn args(optimizer: &str, iters: &str) -> Vec<String> {
    [
        "--optimizer",
        optimizer,
        "--nodes",
        "4",
        "--batch",
        "64",
        "--iters",
        iters,
        "--warmup",
        "0",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn the_cnn_over_2_and_4_ranks_ends_with_the_one_process_weights() {
    let exe = env!("CARGO_BIN_EXE_mnist-dist");
    for optimizer in ["sisa", "nsisa", "adamw"] {
        let one = digest(
            Command::new(exe).args(args(optimizer, "3")).output().unwrap(),
            optimizer,
        );
        let shorter = digest(
            Command::new(exe).args(args(optimizer, "2")).output().unwrap(),
            optimizer,
        );
        assert_ne!(
            one, shorter,
            "{optimizer}: the third iteration changes the weights"
        );
        for ranks in ["2", "4"] {
            let out = Command::new("mpirun")
                .args(["--oversubscribe", "--allow-run-as-root", "-np", ranks, exe])
                .args(args(optimizer, "3"))
                .args(["--reduction", "ordered"])
                .output()
                .expect("mpirun: install OpenMPI (cargo xtask setup --mpi)");
            assert_eq!(digest(out, optimizer), one, "{optimizer} over {ranks} ranks");
        }
    }
}
