//! Bad input to the `lstm` binary is refused at once with exit code 2 and a message naming the
//! flag: every numeric flag of every subcommand at 0, -1 and a huge value (and the values its
//! help excludes), before any data is read or a run folder created; and data too small for one
//! step (a training file shorter than one window) is refused before the run folder exists,
//! instead of "finishing" with 0 steps.

use runs::refusals::{assert_all_refused, assert_clean, BEYOND_U64, HUGE};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// `(subcommand, flag, refused values)`. Legal values are left out: `--max-windows 0`,
/// `--eval-tokens 0`, `--checkpoint-every 0`, `--temperature 0` (each means "no limit" / "off" /
/// greedy) and `--dropout-scale 0`, and every `--seed` below 2⁶⁴.
const TABLE: &[(&str, &str, &[&str])] = &[
    ("train", "--layers", &["0", "-1", "4", "7", HUGE]),
    ("train", "--emb", &["0", "-1", HUGE]),
    ("train", "--hidden", &["0", "-1", HUGE]),
    ("train", "--dropout-scale", &["-1", "2", HUGE, "NaN"]),
    ("train", "--batch", &["0", "-1", HUGE]),
    ("train", "--eval-batch", &["0", "-1", HUGE]),
    ("train", "--test-batch", &["0", "-1", HUGE]),
    ("train", "--bptt", &["0", "-1", "0.5", HUGE, "NaN"]),
    ("train", "--epochs", &["0", "-1", HUGE]),
    ("train", "--max-windows", &["-1", HUGE]),
    ("train", "--eval-tokens", &["-1", HUGE]),
    // RunArgs, shared by every training binary.
    ("train", "--threads", &["0", "-1", HUGE]),
    ("train", "--checkpoint-every", &["-1", HUGE]),
    ("train", "--seed", &["-1", BEYOND_U64]),
    ("sample", "--words", &["0", "-1", HUGE]),
    ("sample", "--temperature", &["-1", HUGE, "NaN"]),
    ("sample", "--seed", &["-1", BEYOND_U64]),
];

fn lstm(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lstm"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_numeric_flag_is_range_checked_at_parse_time() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let missing = tmp.path().join("no-corpus");
    let prefix = |sub: &str| -> Vec<String> {
        match sub {
            "train" => vec![
                "--runs".into(),
                runs.display().to_string(),
                "--data".into(),
                missing.display().to_string(),
            ],
            _ => vec!["--checkpoint".into(), missing.display().to_string()],
        }
    };
    assert_all_refused(Path::new(env!("CARGO_BIN_EXE_lstm")), TABLE, prefix, &runs);
}

/// A PTB-format corpus whose training file has `train_words` words on one line.
fn corpus(dir: &Path, train_words: usize) -> String {
    let root = dir.join("corpus");
    fs::create_dir_all(&root).unwrap();
    let line = |n: usize| -> String {
        let words: Vec<&str> = ["the", "cat", "sat", "on", "a", "mat"]
            .iter()
            .copied()
            .cycle()
            .take(n)
            .collect();
        words.join(" ") + "\n"
    };
    fs::write(root.join("ptb.train.txt"), line(train_words)).unwrap();
    fs::write(root.join("ptb.valid.txt"), line(40)).unwrap();
    fs::write(root.join("ptb.test.txt"), line(40)).unwrap();
    root.display().to_string()
}

/// A tiny CPU run's arguments on `data` (run folders under `runs`), plus `extra`.
fn tiny(data: &str, runs: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--data",
        data,
        "--runs",
        &runs.display().to_string(),
        "--layers",
        "1",
        "--emb",
        "4",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--optimizer",
        "adam",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Refused with exit code 2, `flag` named, no trace, no run folder and no summary.
fn assert_refused_before_the_run(out: &Output, flag: &str, runs: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(flag), "{flag} not named: {err}");
    assert_clean(&err, flag);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("finished"));
    assert!(!runs.exists(), "a run folder was created: {err}");
}

#[test]
fn data_too_small_for_one_step_is_refused_before_the_run_folder_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    // 5 words + <eos> = 6 tokens over 4 columns: one row, no window (the tester's 0-step run
    // with perplexity 1.00).
    let short = corpus(&tmp.path().join("short"), 5);
    let out = lstm(&tiny(&short, &runs, &["--batch", "4", "--bptt", "2"]));
    assert_refused_before_the_run(&out, "--batch", &runs);

    // A training stream of 10 rows and a window of 70.
    let data = corpus(&tmp.path().join("ok"), 39);
    let out = lstm(&tiny(&data, &runs, &["--batch", "4", "--bptt", "70"]));
    assert_refused_before_the_run(&out, "--bptt", &runs);

    // Validation split (41 tokens) shorter than two rows of --eval-batch 30.
    let out = lstm(&tiny(
        &data,
        &runs,
        &["--batch", "4", "--bptt", "4", "--eval-batch", "30"],
    ));
    assert_refused_before_the_run(&out, "--eval-batch", &runs);

    // The same corpus with settings that fit trains one epoch: the checks refuse nothing more.
    let out = lstm(&tiny(
        &data,
        &runs,
        &[
            "--batch",
            "4",
            "--bptt",
            "4",
            "--eval-batch",
            "2",
            "--max-windows",
            "1",
        ],
    ));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
