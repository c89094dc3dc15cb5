//! MNIST with m = 4 nodes over MPI ranks (feature `mpi`, loopback `mpirun`): with the ordered
//! reduction the CNN's iteration (`mnist-dist`) and the whole `mnist` training run, over 2 and 4
//! ranks, end with the one-process weights bit for bit; a 2-rank run whose rank 1 is killed with
//! SIGKILL resumes exactly; a resume over another number of processes is refused.
//!
//! ```text
//! cargo test -p mnist --features mpi --test dist      # cargo xtask test runs it
//! ```
//!
//! Every process uses one torch thread: the convolutions' gradients are summed in another order
//! with another thread count, so bit-identity holds at equal thread counts.
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn digest(out: Output, what: &str) -> String {
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

fn mpirun(ranks: usize) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--oversubscribe",
        "--allow-run-as-root",
        "-np",
        &ranks.to_string(),
    ]);
    cmd
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
        for ranks in [2, 4] {
            let out = mpirun(ranks)
                .arg(exe)
                .args(args(optimizer, "3"))
                .args(["--reduction", "ordered"])
                .output()
                .expect("mpirun: install OpenMPI (cargo xtask setup --mpi)");
            assert_eq!(digest(out, optimizer), one, "{optimizer} over {ranks} ranks");
        }
    }
}

/// `mnist` flags of a small run of `examples` examples in `runs`, run `name`.
fn train_args(data: &Path, runs: &Path, name: &str, examples: &str) -> Vec<String> {
    let mut args: Vec<String> = ["--data", data.to_str().unwrap(), "--runs", runs.to_str().unwrap()]
        .map(String::from)
        .to_vec();
    args.extend(
        [
            "--name",
            name,
            "--device",
            "cpu",
            "--threads",
            "1",
            "--batch",
            "32",
            "--examples",
            examples,
            "--eval-every",
            "8",
            "--checkpoint-every",
            "8",
            "--reduction",
            "ordered",
        ]
        .map(String::from),
    );
    args
}

fn model(runs: &Path, name: &str, step: u64) -> Vec<u8> {
    let file = runs
        .join("mnist")
        .join(name)
        .join(format!("checkpoints/step-{step:010}/model.safetensors"));
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn rows(runs: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(runs.join("mnist").join(name).join("metrics.csv")).unwrap();
    // Every column but the wall time.
    text.lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| *i != 1)
                .map(|(_, c)| c)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn ok(out: Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mnist_training_over_2_and_4_ranks_equals_one_process_and_resumes_after_a_rank_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    std::fs::create_dir_all(&data).unwrap();
    common::write_data(&data, 256, 64);
    let exe = env!("CARGO_BIN_EXE_mnist");

    // 16 steps: one process, 2 ranks, 4 ranks.
    ok(
        Command::new(exe)
            .args(train_args(&data, &runs, "one", "512"))
            .output()
            .unwrap(),
        "one",
    );
    for ranks in [2, 4] {
        let name = format!("ranks{ranks}");
        let out = mpirun(ranks)
            .arg(exe)
            .args(train_args(&data, &runs, &name, "512"))
            .output()
            .unwrap();
        ok(out, &name);
        assert_eq!(
            model(&runs, &name, 16),
            model(&runs, "one", 16),
            "{ranks} ranks: weights"
        );
        assert_eq!(rows(&runs, &name), rows(&runs, "one"), "{ranks} ranks: metrics");
        let checkpoint = runs.join("mnist").join(&name).join("checkpoints/step-0000000016");
        for rank in 0..ranks {
            assert!(checkpoint
                .join(format!("optimizer.rank{rank}.safetensors"))
                .is_file());
        }
    }

    // 128 steps in one process, then a 2-rank run killed (SIGKILL to rank 1) after its second
    // checkpoint and resumed over 2 ranks.
    ok(
        Command::new(exe)
            .args(train_args(&data, &runs, "long", "4096"))
            .output()
            .unwrap(),
        "long",
    );
    let mut job = mpirun(2)
        .arg(exe)
        .args(train_args(&data, &runs, "killed", "4096"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoints = runs.join("mnist/killed/checkpoints");
    let start = Instant::now();
    while !checkpoints.join("step-0000000016").is_dir() {
        assert!(start.elapsed() < Duration::from_secs(120), "no second checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    let children = Command::new("pgrep")
        .args(["-P", &job.id().to_string()])
        .output()
        .unwrap();
    let pids: Vec<String> = String::from_utf8_lossy(&children.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(pids.len(), 2, "two ranks: {pids:?}");
    Command::new("kill").args(["-9", &pids[1]]).status().unwrap();
    let status = job.wait().unwrap();
    assert!(!status.success(), "mpirun stops the job when a rank dies");
    let steps_before = rows(&runs, "killed").len() - 1;
    assert!(steps_before < 128, "killed before the end: {steps_before} rows");

    let mut resume = train_args(&data, &runs, "killed", "4096");
    resume.push("--resume".into());
    ok(mpirun(2).arg(exe).args(&resume).output().unwrap(), "resume");
    assert_eq!(
        model(&runs, "killed", 128),
        model(&runs, "long", 128),
        "exact resume"
    );
    assert_eq!(
        rows(&runs, "killed"),
        rows(&runs, "long"),
        "each step logged once, same values"
    );

    // The 2-rank checkpoint cannot be resumed by one process: refused, naming both counts.
    let mut longer = train_args(&data, &runs, "killed", "8192");
    longer.extend(["--resume".into(), "--resume-with-changes".into()]);
    let out = Command::new(exe).args(&longer).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("written by 2 process(es), resumed by 1"),
        "{stderr}"
    );
}
