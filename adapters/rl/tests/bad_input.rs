//! Bad input to the `rl` binary is refused at once with exit code 2 and a message naming the
//! flag or key: every numeric flag of every subcommand at 0, -1 and a huge value, before any
//! environment is built or a run folder created; in a `--config` file, `nodes = 0` under
//! `[optimizer]` (it divided by zero), an out-of-range `[rl]` key and an unknown top-level key
//! (it was silently ignored) are refused the same way.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rl");

/// 10¹⁵: steps, epochs or sizes no run can reach.
const HUGE: &str = "1000000000000000";
/// 2⁶⁴: beyond any u64 (for flags where every u64 is legal, such as `--seed`).
const BEYOND_U64: &str = "18446744073709551616";

fn run(args: &[String]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// What a refusal must not look like: a Rust panic or a libtorch (C++) trace.
fn assert_clean(stderr: &str, what: &str) {
    for trace in ["panicked", "RUST_BACKTRACE", "Exception raised from"] {
        assert!(!stderr.contains(trace), "{what}: `{trace}` in stderr:\n{stderr}");
    }
}

/// Runs every `(subcommand, flag, values)` of `table` as `subcommand <prefix> --flag=value`
/// (`=`, so that `-1` reaches the value parser rather than being read as a flag), four at a
/// time, and asserts each exits with code 2 naming the flag, without a trace, and that nothing
/// was created under `runs`.
fn assert_all_refused(table: &[(&str, &str, &[&str])], prefix: impl Fn(&str) -> Vec<String>, runs: &Path) {
    let cases: Vec<(String, Vec<String>)> = table
        .iter()
        .flat_map(|&(sub, flag, values)| values.iter().map(move |value| (sub, flag, *value)))
        .map(|(sub, flag, value)| {
            let mut args: Vec<String> = sub.split_whitespace().map(String::from).collect();
            args.extend(prefix(sub));
            args.push(format!("{flag}={value}"));
            (flag.to_string(), args)
        })
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let jobs: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for (flag, args) in chunk {
                        let out = run(args);
                        let err = String::from_utf8_lossy(&out.stderr);
                        assert_clean(&err, &format!("{args:?}"));
                        if out.status.code() != Some(2) || !err.contains(flag.as_str()) {
                            failures.push(format!("{args:?}: {:?}\n{err}", out.status.code()));
                        }
                    }
                    failures
                })
            })
            .collect();
        jobs.into_iter().flat_map(|j| j.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "not refused with exit code 2 naming the flag:\n{}",
        failures.join("\n")
    );
    assert!(!runs.exists(), "a refused command created {}", runs.display());
}

/// Refused with exit code 2, `flag` named, no trace, no run folder under `runs`.
fn assert_refused_before_the_run(out: &Output, flag: &str, runs: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(flag), "{flag} not named: {err}");
    assert_clean(&err, flag);
    assert!(!runs.exists(), "a run folder was created: {err}");
}

/// `(subcommand, flag, refused values)`. Legal values are left out: `--eval-every 0` (never),
/// every `--seed` below 2⁶⁴ and `solve --threshold 0`; `--lr` has no upper bound (finite).
const TABLE: &[(&str, &str, &[&str])] = &[
    ("train", "--steps", &["0", "-1", "100000000000"]),
    ("train", "--seed", &["-1", BEYOND_U64]),
    ("train", "--eval-every", &["-1", "100000000000"]),
    ("train", "--threads", &["0", "-1", HUGE]),
    ("eval", "--episodes", &["0", "-1", HUGE]),
    ("solve", "--threshold", &["NaN", "inf", HUGE]),
    ("solve", "--max-steps", &["0", "-1", "100000000000"]),
    ("solve", "--seed", &["-1", BEYOND_U64]),
    ("solve", "--lr", &["0", "-1", "NaN"]),
    ("solve", "--threads", &["0", "-1", HUGE]),
];

#[test]
fn every_numeric_flag_is_range_checked_at_parse_time() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let missing = tmp.path().join("nothing").display().to_string();
    let prefix = |sub: &str| -> Vec<String> {
        let args = match sub {
            "train" => vec!["--env", "cartpole", "--runs", runs.to_str().unwrap()],
            "eval" => vec!["--checkpoint", &missing],
            _ => vec![],
        };
        args.into_iter().map(String::from).collect()
    };
    assert_all_refused(TABLE, prefix, &runs);
}

#[test]
fn bad_config_files_are_refused_naming_the_key_before_the_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let cases = [
        ("[optimizer]\nnodes = 0\n", "optimizer.nodes"),
        ("[optimizer]\nname = \"adam\"\nnodes = 0\n", "optimizer.nodes"),
        ("[optimizer]\nlr = -1.0\n", "optimizer.lr"),
        ("[rl]\nupdate_epochs = 0\n", "rl.update_epochs"),
        ("[rl]\nnum_envs = 0\n", "rl.num_envs"),
        ("[rl]\nnum_steps = 1000000000000000\n", "rl.num_steps"),
        ("[rl]\nnum_envz = 3\n", "num_envz"),
        ("bogus = 1\n[rl]\nnum_envs = 2\n", "bogus"),
    ];
    for (k, (text, key)) in cases.iter().enumerate() {
        let config = tmp.path().join(format!("c{k}.toml"));
        std::fs::write(&config, text).unwrap();
        let args: Vec<String> = [
            "train",
            "--env",
            "cartpole",
            "--steps",
            "512",
            "--device",
            "cpu",
            "--runs",
            runs.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_refused_before_the_run(&run(&args), key, &runs);
    }
}
