//! Bad input to the `bench` binary is refused at once with exit code 2 and a message naming the
//! flag: every numeric flag of every subcommand at 0, -1 and a huge value (legal zeros, such as
//! `--threads 0` = torch's default or `--warmup 0`, are left out).

use std::process::{Command, Stdio};

/// 10¹⁵: sizes and counts no benchmark can reach.
const HUGE: &str = "1000000000000000";

/// `(subcommand, flag, refused values)`.
const TABLE: &[(&str, &str, &[&str])] = &[
    ("gan", "--image-size", &["0", "-1", HUGE]),
    ("gan", "--base", &["0", "-1", HUGE]),
    ("gan", "--batch", &["0", "-1", HUGE]),
    ("gan", "--iters", &["0", "-1", HUGE]),
    ("gan", "--warmup", &["-1", HUGE]),
    ("gan", "--fid-images", &["-1", HUGE]),
    ("gan", "--fid-batch", &["0", "-1", HUGE]),
    ("gan", "--threads", &["-1", HUGE]),
    ("llm", "--batch", &["0", "-1", HUGE]),
    ("llm", "--seq", &["0", "-1", HUGE]),
    ("llm", "--steps", &["0", "-1", HUGE]),
    ("llm", "--nodes", &["0", "-1", HUGE]),
    ("llm", "--threads", &["-1", HUGE]),
    ("lstm", "--vocab", &["0", "-1", HUGE]),
    ("lstm", "--layers", &["0", "-1", "4", HUGE]),
    ("lstm", "--emb", &["0", "-1", HUGE]),
    ("lstm", "--hidden", &["0", "-1", HUGE]),
    ("lstm", "--bptt", &["0", "-1", HUGE]),
    ("lstm", "--batch", &["0", "-1", HUGE]),
    ("lstm", "--warmup", &["-1", HUGE]),
    ("lstm", "--windows", &["0", "-1", HUGE]),
    ("lstm", "--threads", &["-1", HUGE]),
];

#[test]
fn every_numeric_flag_is_range_checked_at_parse_time() {
    let cases: Vec<(&str, &str, &str)> = TABLE
        .iter()
        .flat_map(|&(sub, flag, values)| values.iter().map(move |value| (sub, flag, *value)))
        .collect();
    // Eight at a time: each start loads libtorch, most of a refusal's time.
    for chunk in cases.chunks(8) {
        let children: Vec<_> = chunk
            .iter()
            .map(|(sub, flag, value)| {
                // `--flag=value`, so that `-1` reaches the value parser instead of being read as a
                // flag.
                Command::new(env!("CARGO_BIN_EXE_bench"))
                    .args([sub.to_string(), format!("{flag}={value}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for ((sub, flag, value), child) in chunk.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{sub} {flag}={value}: {stderr}");
            assert!(stderr.contains(flag), "{sub} {flag}={value}: {stderr}");
            for trace in ["panicked", "RUST_BACKTRACE", "Exception raised from"] {
                assert!(!stderr.contains(trace), "{sub} {flag}={value}: {stderr}");
            }
        }
    }
}
