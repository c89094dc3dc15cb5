//! Fault injection on real processes through the run skeleton (the `runs-toy` binary): Ctrl-C,
//! `kill -9`, a concurrent `--resume`, flipped checkpoint bytes and a changed setting on
//! resume. Every domain runs on the same `Session`, so what holds here holds for each of them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn toy(runs: &Path, name: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runs-toy"));
    command
        .args([
            "--runs",
            runs.to_str().unwrap(),
            "--name",
            name,
            "--device",
            "cpu",
        ])
        .args(extra)
        .stdin(Stdio::null());
    command
}

fn run(runs: &Path, name: &str, extra: &[&str]) -> Output {
    toy(runs, name, extra).output().unwrap()
}

fn run_ok(runs: &Path, name: &str, extra: &[&str]) -> serde_json::Value {
    let out = run(runs, name, extra);
    assert!(
        out.status.success(),
        "{extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    summary(runs, name)
}

fn spawn(runs: &Path, name: &str, extra: &[&str]) -> Child {
    toy(runs, name, extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn folder(runs: &Path, name: &str) -> PathBuf {
    runs.join("toy").join(name)
}

fn summary(runs: &Path, name: &str) -> serde_json::Value {
    let text = fs::read_to_string(folder(runs, name).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The steps of `metrics.csv`'s rows, in order.
fn metric_steps(runs: &Path, name: &str) -> Vec<u64> {
    let text = fs::read_to_string(folder(runs, name).join("metrics.csv")).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect()
}

/// The steps of the scalar events in the run's TensorBoard files, in file order.
fn event_steps(runs: &Path, name: &str) -> Vec<i64> {
    let mut steps = Vec::new();
    for file in tfevents::event_files(folder(runs, name).join("tb")).unwrap() {
        for event in tfevents::read_events(&file).unwrap() {
            if matches!(event.what, Some(tfevents::proto::event::What::Summary(_))) {
                steps.push(event.step);
            }
        }
    }
    steps
}

/// Waits (at most a minute) until the run has logged at least `rows` steps.
fn wait_for_rows(runs: &Path, name: &str, rows: usize) {
    let start = Instant::now();
    while metric_steps(runs, name).len() < rows {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never logged {rows} rows"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn weight(summary: &serde_json::Value) -> u64 {
    summary["weight"].as_f64().unwrap().to_bits()
}

const SLOW: [&str; 6] = ["--steps", "60", "--checkpoint-every", "10", "--sleep-ms", "25"];

#[test]
fn ctrl_c_checkpoints_says_interrupted_exits_130_and_resumes_exactly() {
    let runs = tempfile::tempdir().unwrap();
    let straight = run_ok(runs.path(), "straight", &SLOW[..4]);

    let child = spawn(runs.path(), "stopped", &SLOW);
    wait_for_rows(runs.path(), "stopped", 5);
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let s = summary(runs.path(), "stopped");
    assert_eq!(s["status"], "interrupted", "{s}");
    let step = s["steps"].as_u64().unwrap();
    assert!((5..60).contains(&step), "{s}");
    let checkpoint = s["stopped"]["last_good_checkpoint"].as_str().unwrap();
    assert!(checkpoint.ends_with(&format!("step-{step:010}")), "{s}");
    assert_eq!(
        metric_steps(runs.path(), "stopped"),
        (1..=step).collect::<Vec<_>>()
    );

    let resumed = run_ok(runs.path(), "stopped", &[&SLOW[..4], &["--resume"]].concat());
    assert_eq!(resumed["status"], "finished");
    assert_eq!(
        weight(&resumed),
        weight(&straight),
        "bit-identical after Ctrl-C and resume"
    );
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let runs = tempfile::tempdir().unwrap();
    let child = spawn(runs.path(), "twice", &["--steps", "10", "--sleep-ms", "3000"]);
    wait_for_rows(runs.path(), "twice", 1);
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(200));
    let pressed = Instant::now();
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        pressed.elapsed() < Duration::from_secs(2),
        "{:?}",
        pressed.elapsed()
    );
    assert!(!folder(runs.path(), "twice").join("summary.json").exists());
}

#[test]
fn kill_9_loses_no_logged_row_and_the_resume_logs_each_step_once() {
    let runs = tempfile::tempdir().unwrap();
    let straight = run_ok(runs.path(), "straight", &SLOW[..4]);
    let mut child = spawn(runs.path(), "killed", &SLOW);
    wait_for_rows(runs.path(), "killed", 25);
    signal(&child, "KILL");
    child.wait().unwrap();
    let logged = metric_steps(runs.path(), "killed");
    assert!(
        logged.len() >= 25,
        "every row logged before the kill is on disk: {logged:?}"
    );
    assert_eq!(logged, (1..=logged.len() as u64).collect::<Vec<_>>());
    let events = event_steps(runs.path(), "killed");
    assert!(events.len() >= 25, "and every TensorBoard event: {events:?}");

    let resumed = run_ok(runs.path(), "killed", &[&SLOW[..4], &["--resume"]].concat());
    assert_eq!(
        weight(&resumed),
        weight(&straight),
        "bit-identical after kill -9 and resume"
    );
    assert_eq!(metric_steps(runs.path(), "killed"), (1..=60).collect::<Vec<_>>());
    assert_eq!(event_steps(runs.path(), "killed"), (1..=60).collect::<Vec<_>>());
    let files = tfevents::event_files(folder(runs.path(), "killed").join("tb")).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
}

#[test]
fn a_concurrent_resume_is_refused_while_the_run_lives() {
    let runs = tempfile::tempdir().unwrap();
    // Long enough (25 s) to be alive however slowly the second process starts; killed below.
    let busy = ["--steps", "1000", "--checkpoint-every", "10", "--sleep-ms", "25"];
    let resume = ["--steps", "1000", "--checkpoint-every", "10", "--resume"];
    let mut child = spawn(runs.path(), "busy", &busy);
    wait_for_rows(runs.path(), "busy", 2);
    let out = run(runs.path(), "busy", &resume);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert!(stderr.contains(&format!("process {}", child.id())), "{stderr}");
    signal(&child, "KILL");
    child.wait().unwrap();
    // The lock died with its process: the resume now proceeds, saying it took the lock over.
    let out = run(runs.path(), "busy", &resume);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("taking over the lock"), "{stderr}");
}

#[test]
fn flipped_checkpoint_bytes_are_detected_and_the_previous_checkpoint_is_used() {
    let runs = tempfile::tempdir().unwrap();
    let straight = run_ok(runs.path(), "straight", &["--steps", "30"]);
    run_ok(
        runs.path(),
        "flipped",
        &["--steps", "20", "--checkpoint-every", "5"],
    );
    let newest = folder(runs.path(), "flipped").join("checkpoints/step-0000000020");
    for file in ["model.safetensors", "optimizer.safetensors"] {
        let path = newest.join(file);
        let mut bytes = fs::read(&path).unwrap();
        let end = bytes.len();
        for b in &mut bytes[end - 8..] {
            *b ^= 0xFF;
        }
        fs::write(&path, bytes).unwrap();
    }
    let out = run(runs.path(), "flipped", &["--steps", "30", "--resume"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipping checkpoint") && stderr.contains("step-0000000020"),
        "{stderr}"
    );
    assert!(
        stderr.contains("resuming") && stderr.contains("from step 15"),
        "{stderr}"
    );
    let resumed = summary(runs.path(), "flipped");
    assert_eq!(
        weight(&resumed),
        weight(&straight),
        "the previous checkpoint resumes exactly"
    );
}

#[test]
fn a_resume_with_another_batch_is_refused_with_the_key_named() {
    let runs = tempfile::tempdir().unwrap();
    run_ok(runs.path(), "r", &["--steps", "10", "--checkpoint-every", "5"]);
    let out = run(runs.path(), "r", &["--steps", "20", "--batch", "32", "--resume"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("domain.batch: 16 → 32"), "{stderr}");
    assert!(stderr.contains("--resume-with-changes"), "{stderr}");
    let out = run(
        runs.path(),
        "r",
        &[
            "--steps",
            "20",
            "--batch",
            "32",
            "--resume",
            "--resume-with-changes",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn keep_checkpoints_sets_how_many_stay() {
    let runs = tempfile::tempdir().unwrap();
    let args = [
        "--steps",
        "10",
        "--checkpoint-every",
        "2",
        "--keep-checkpoints",
        "3",
    ];
    run_ok(runs.path(), "kept", &args);
    let mut left: Vec<String> = fs::read_dir(folder(runs.path(), "kept").join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["step-0000000006", "step-0000000008", "step-0000000010"]);
}

#[test]
fn bad_flags_exit_2_naming_the_flag_before_any_folder_exists() {
    let runs = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--steps", "0"),
        ("--steps", "-1"),
        ("--steps", "1000000000000000"),
        ("--batch", "0"),
        ("--threads", "0"),
        ("--threads", "100000"),
        ("--checkpoint-every", "-1"),
        ("--divergence-factor", "-1"),
        ("--keep-checkpoints", "0"),
        ("--keep-checkpoints", "1000000"),
        ("--divergence-factor", "NaN"),
        ("--name", "../../escape"),
        ("--seed", "-1"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_runs-toy"))
            .args([
                "--runs",
                runs.path().to_str().unwrap(),
                &format!("{flag}={value}"),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(
        fs::read_dir(runs.path()).unwrap().count(),
        0,
        "no run folder was created"
    );
}
