//! The bad-input check every binary's tests run: a table of flags and values the binary must
//! refuse at once — exit code 2, the flag named on stderr, no panic or libtorch trace, nothing
//! created under the runs folder (see [`crate::cli`]). These functions assert (panic) like the
//! test macros they stand beside.
//!
//! ```no_run
//! use runs::refusals::{assert_all_refused, HUGE};
//! # let exe = std::path::Path::new("target/debug/mnist"); // a test's env!("CARGO_BIN_EXE_mnist")
//! # let runs = std::env::temp_dir().join("refused-runs");
//! # let runs = runs.as_path();
//! let table: &[(&str, &str, &[&str])] = &[("", "--batch", &["0", "-1", HUGE])];
//! assert_all_refused(exe, table, |_| vec!["--runs".into(), runs.display().to_string()], runs);
//! ```

use std::path::Path;
use std::process::{Command, Output};

/// 10¹⁵: steps, epochs or sizes no run can reach.
pub const HUGE: &str = "1000000000000000";

/// 2⁶⁴: beyond any u64 (for flags where every u64 is legal, such as `--seed`).
pub const BEYOND_U64: &str = "18446744073709551616";

/// What a refusal must not print: a Rust panic, a backtrace hint, a libtorch (C++) trace.
const TRACES: [&str; 3] = ["panicked", "RUST_BACKTRACE", "Exception raised from"];

/// Panics when `stderr` holds a panic or a libtorch trace; `what` names the command.
pub fn assert_clean(stderr: &str, what: &str) {
    for trace in TRACES {
        assert!(!stderr.contains(trace), "{what}: `{trace}` in stderr:\n{stderr}");
    }
}

/// Panics unless `out` is a clean refusal of `flag`: exit code 2, `flag` named, no trace, and
/// nothing at `runs`.
pub fn assert_refused_before_the_run(out: &Output, flag: &str, runs: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(flag), "{flag} not named: {err}");
    assert_clean(&err, flag);
    assert!(!runs.exists(), "a run folder was created: {err}");
}

/// Runs `exe` for every `(subcommand, flag, values)` row of `table` as `subcommand <prefix>
/// --flag=value` (`=`, so that `-1` reaches the value parser instead of being read as a flag;
/// `prefix(subcommand)` adds what the subcommand needs, e.g. `--runs`), four processes at a
/// time, and panics listing every case not refused cleanly (see
/// [`assert_refused_before_the_run`]) or when anything was created at `runs`.
pub fn assert_all_refused(
    exe: &Path,
    table: &[(&str, &str, &[&str])],
    prefix: impl Fn(&str) -> Vec<String>,
    runs: &Path,
) {
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
            .chunks(cases.len().div_ceil(4).max(1))
            .map(|chunk| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for (flag, args) in chunk {
                        let out = Command::new(exe).args(args).output().unwrap();
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
