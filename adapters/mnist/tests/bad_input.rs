//! Bad input to the `mnist` binary is refused at once with exit code 2 and a message naming the
//! flag: every numeric flag at 0, -1 and a huge value, before any data is read or a run folder
//! created; a `--batch` larger than the training set is refused before the run folder exists
//! (it trained 0 steps), and so is `nodes = 0` in a `--config` file.

mod common;

use runs::refusals::{assert_all_refused, assert_refused_before_the_run, BEYOND_U64, HUGE};
use std::path::Path;
use std::process::{Command, Output};

use common::write_data;

const BIN: &str = env!("CARGO_BIN_EXE_mnist");

fn run(args: &[String]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `(subcommand, flag, refused values)`. Legal values are left out: `--checkpoint-every 0`
/// (only at the end) and every `--seed` below 2⁶⁴.
const TABLE: &[(&str, &str, &[&str])] = &[
    ("", "--batch", &["0", "-1", "60001", HUGE]),
    ("", "--examples", &["0", "-1", HUGE]),
    ("", "--eval-every", &["0", "-1", HUGE]),
    ("", "--threads", &["0", "-1", HUGE]),
    ("", "--checkpoint-every", &["-1", HUGE]),
    ("", "--seed", &["-1", BEYOND_U64]),
];

#[test]
fn every_numeric_flag_is_range_checked_at_parse_time() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let missing = tmp.path().join("nothing").display().to_string();
    let prefix = |_: &str| -> Vec<String> {
        ["--runs", runs.to_str().unwrap(), "--data", &missing]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    assert_all_refused(Path::new(env!("CARGO_BIN_EXE_mnist")), TABLE, prefix, &runs);
}

#[test]
fn a_batch_larger_than_the_data_and_zero_nodes_are_refused_before_the_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    std::fs::create_dir_all(&data).unwrap();
    write_data(&data, 20, 20);
    let args = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "--data",
            data.to_str().unwrap(),
            "--runs",
            runs.to_str().unwrap(),
            "--device",
            "cpu",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect()
    };
    let out = run(&args(&["--batch", "32", "--examples", "64"]));
    assert_refused_before_the_run(&out, "--batch", &runs);
    assert!(String::from_utf8_lossy(&out.stderr).contains("20 training examples"));
    let config = tmp.path().join("zero.toml");
    std::fs::write(&config, "nodes = 0\n").unwrap();
    let out = run(&args(&[
        "--batch",
        "8",
        "--examples",
        "16",
        "--config",
        config.to_str().unwrap(),
    ]));
    // The optimizer's settings are resolved before the run folder exists.
    assert_refused_before_the_run(&out, "optimizer.nodes", &runs);
    // SISA's 4 nodes do not fit a batch of 2.
    let out = run(&args(&["--batch", "2", "--examples", "4"]));
    assert_refused_before_the_run(&out, "--batch", &runs);
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 nodes"));
}
