//! PISA's nodes in several processes over MPI (feature `mpi`): the `least_squares` example
//! under `mpirun` on loopback, compared with the one-process run of the same m = 4 nodes.
//!
//! ```text
//! cargo build -p pisa-core --features mpi --example least_squares   # cargo xtask test runs both
//! cargo test -p pisa-core --features mpi --test mpi
//! ```
//!
//! Needs `mpirun` (Debian's OpenMPI; `cargo xtask setup` installs it). Ranks beyond the cores
//! are oversubscribed, which is slow but correct.
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `target/<profile>/examples/least_squares`, built with MPI (`cargo build -p pisa-core --features
/// mpi --example least_squares`).
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let example = profile.join("examples").join("least_squares");
    assert!(
        example.is_file(),
        "{} is missing: run `cargo build -p pisa-core --features mpi --example least_squares` first",
        example.display()
    );
    example
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .to_string_lossy()
        .into_owned()
}

fn args<'a>(problem: &'a str, config: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--problem", problem, "--config", config, "--iters", "60"];
    args.extend_from_slice(extra);
    args
}

fn one_process(problem: &str, config: &str) -> String {
    let out = Command::new(example())
        .args(args(problem, config, &[]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn mpirun(ranks: usize, problem: &str, config: &str, extra: &[&str]) -> Output {
    Command::new("mpirun")
        .args([
            "--oversubscribe",
            "--allow-run-as-root",
            "-np",
            &ranks.to_string(),
        ])
        .arg(example())
        .args(args(problem, config, extra))
        .output()
        .expect("mpirun: install OpenMPI (cargo xtask setup)")
}

fn parsed(json: &str) -> (Vec<f64>, Vec<f64>) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let floats = |key: &str| {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    (floats("objective"), floats("w"))
}

/// SISA, PISA, NSISA, Adam and AdamW (the baselines sum α-weighted gradients over ranks, as
/// DDP does).
#[test]
fn sisa_pisa_nsisa_adam_and_adamw_over_2_and_4_ranks_equal_one_process() {
    let (t1, t8) = (
        repo("pisa-core/examples/data/t1.json"),
        repo("pisa-core/examples/data/t8.json"),
    );
    let dir = tempfile_dir();
    let adamw = dir.join("adamw.toml");
    std::fs::write(&adamw, "name = \"adamw\"\nlr = 0.05\nweight_decay = 0.01\n").unwrap();
    let nsisa = dir.join("nsisa.toml");
    std::fs::write(
        &nsisa,
        "name = \"nsisa\"\nsigma = 10.0\nrho = 10.0\n[newton_schulz]\nprecision = \"f64\"\n",
    )
    .unwrap();
    let path = |p: &Path| p.to_string_lossy().into_owned();
    // (problem, config, bound on the all-reduce's difference from one process): MPI's sum
    // differs from the sequential one in the last bit; Newton–Schulz's quintic iterations
    // amplify that (measured 5.4e-12 after 60 NSISA iterations, 2.3e-16 for the others).
    let cases = [
        (&t1, repo("configs/least_squares/sisa.toml"), 1e-14),
        (&t1, repo("configs/least_squares/pisa-identity.toml"), 1e-14),
        (&t8, path(&nsisa), 1e-10),
        (&t1, repo("configs/least_squares/adam.toml"), 1e-14),
        (&t1, path(&adamw), 1e-14),
    ];
    for (problem, config, bound) in cases {
        let problem = problem.as_str();
        let expected = one_process(problem, &config);
        for ranks in [2, 4] {
            let out = mpirun(ranks, problem, &config, &["--reduction", "ordered"]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            // Rank 0 alone prints, and the JSON (shortest round-trip floats) is the same text.
            assert_eq!(stdout, expected, "{config} over {ranks} ranks, ordered reduction");

            let out = mpirun(ranks, problem, &config, &["--reduction", "all-reduce"]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let (objective, w) = parsed(&String::from_utf8_lossy(&out.stdout));
            let (objective_1, w_1) = parsed(&expected);
            let worst = w.iter().zip(&w_1).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let worst_f = (objective.iter().zip(&objective_1))
                .map(|(a, b)| ((a - b) / b).abs())
                .fold(0.0, f64::max);
            eprintln!(
                "{config}, {ranks} ranks, all-reduce: max |Δw| = {worst:e}, max relative ΔF = {worst_f:e}"
            );
            assert!(worst < bound && worst_f < bound, "{worst:e} {worst_f:e}");
        }
    }
}

#[test]
fn a_failing_rank_stops_every_rank_with_one_clear_error() {
    // Node 3's targets overflow: its loss is infinite at the first iteration on the rank that
    // owns it (rank 1 of 2), and only there.
    let text = std::fs::read_to_string(repo("pisa-core/examples/data/t1.json")).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
    file["nodes"][3]["b"][0] = serde_json::json!(1e200);
    let dir = tempfile_dir();
    let problem = dir.join("overflow.json");
    std::fs::write(&problem, file.to_string()).unwrap();
    let config = repo("configs/least_squares/sisa.toml");

    let start = Instant::now();
    let out = mpirun(2, problem.to_str().unwrap(), &config, &[]);
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(took < Duration::from_secs(60), "stopping took {took:?}");
    assert!(
        stderr.contains("node 3's loss is inf"),
        "the failing rank names the cause: {stderr}"
    );
    assert!(
        stderr.contains("rank(s) [1] failed"),
        "the other rank names the failing one: {stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pisa-mpi-{}-{k}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
