//! Bad input to the `bench` binary is refused at once with exit code 2 and a message naming the
//! flag: every numeric flag of every subcommand at 0, -1 and a huge value (legal zeros, such as
//! `--threads 0` = torch's default or `--warmup 0`, are left out).

use std::path::Path;

use runs::refusals::{assert_all_refused, HUGE};

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
    // The benchmarks write no run folder: `runs` only has to stay absent.
    let nowhere = std::env::temp_dir().join(format!("bench-bad-input-{}", std::process::id()));
    assert_all_refused(
        Path::new(env!("CARGO_BIN_EXE_bench")),
        TABLE,
        |_| vec![],
        &nowhere,
    );
}
