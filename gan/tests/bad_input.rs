//! Bad input to the `gan` binary is refused at once with exit code 2 and a message naming the
//! flag: every numeric flag of every subcommand at 0, -1 and a huge value (and the values its
//! help excludes), before any data is read or a run folder created; a dataset smaller than one
//! batch is refused before the run folder exists, and so is a missing FID Inception file (so the
//! same command can be rerun once it is fetched).

mod common;

use common::dataset;
use runs::refusals::{assert_all_refused, assert_clean, assert_refused_before_the_run, BEYOND_U64, HUGE};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gan");

fn run(args: &[String]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `(subcommand, flag, refused values)`. Legal values are left out: `--train-images 0`,
/// `--max-steps 0`, `--fid-every 0`, `--final-fid-samples 0`, `--fid-real-samples 0`,
/// `--gp-weight 0`, `--checkpoint-every 0` (each means "all" / "no limit" / "off") and every
/// `--seed` below 2⁶⁴; `--clip` and `--gp-weight` have no upper bound (finite).
const TABLE: &[(&str, &str, &[&str])] = &[
    ("train", "--image-size", &["0", "-1", "4", "512", HUGE]),
    ("train", "--base", &["0", "-1", HUGE]),
    ("train", "--z-dim", &["0", "-1", HUGE]),
    ("train", "--batch", &["0", "-1", HUGE]),
    ("train", "--epochs", &["0", "-1", HUGE]),
    ("train", "--train-images", &["-1", HUGE]),
    ("train", "--max-steps", &["-1", HUGE]),
    ("train", "--n-critic", &["0", "-1", HUGE]),
    ("train", "--clip", &["0", "-1", "inf", "NaN"]),
    ("train", "--gp-weight", &["-1", "inf", "NaN"]),
    ("train", "--fid-every", &["-1", HUGE]),
    ("train", "--fid-samples", &["0", "1", "-1", HUGE]),
    ("train", "--final-fid-samples", &["-1", HUGE]),
    ("train", "--fid-real-samples", &["-1", HUGE]),
    ("train", "--fid-batch", &["0", "-1", HUGE]),
    ("train", "--grid", &["0", "-1", HUGE]),
    ("train", "--threads", &["0", "-1", HUGE]),
    ("train", "--checkpoint-every", &["-1", HUGE]),
    ("train", "--seed", &["-1", BEYOND_U64]),
    ("sample", "--n", &["0", "-1", HUGE]),
    ("sample", "--seed", &["-1", BEYOND_U64]),
    ("compare", "--runs", &["0", "-1", HUGE]),
];

#[test]
fn every_numeric_flag_is_range_checked_at_parse_time() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let missing = tmp.path().join("nothing").display().to_string();
    let prefix = |sub: &str| -> Vec<String> {
        let args = match sub {
            "train" => vec![
                "--runs",
                runs.to_str().unwrap(),
                "--dataset",
                "folder",
                "--data",
                &missing,
            ],
            "sample" => vec!["--run", &missing],
            _ => vec!["--dir", &missing],
        };
        args.into_iter().map(String::from).collect()
    };
    assert_all_refused(Path::new(env!("CARGO_BIN_EXE_gan")), TABLE, prefix, &runs);
}

/// A tiny CPU run's arguments on the folder dataset `data`, plus `extra`.
fn tiny(data: &Path, runs: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "train",
        "--dataset",
        "folder",
        "--data",
        data.to_str().unwrap(),
        "--runs",
        runs.to_str().unwrap(),
        "--image-size",
        "8",
        "--base",
        "4",
        "--z-dim",
        "8",
        "--epochs",
        "1",
        "--grid",
        "4",
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

#[test]
fn too_few_images_and_a_missing_inception_are_refused_before_the_run_folder_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let data = dataset(tmp.path(), 6);
    let no_fid = ["--fid-every", "0", "--final-fid-samples", "0"];
    let out = run(&tiny(&data, &runs, &[&["--batch", "8"][..], &no_fid].concat()));
    assert_refused_before_the_run(&out, "--batch", &runs);

    // The FID network is loaded before the session opens: a failed run, not bad input, but no
    // folder is left behind.
    let inception = tmp.path().join("missing-inception.pt");
    let out = run(&tiny(
        &data,
        &runs,
        &[
            "--batch",
            "2",
            "--fid-every",
            "1",
            "--inception",
            inception.to_str().unwrap(),
        ],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("missing-inception.pt"), "{err}");
    assert_clean(&err, "missing inception");
    assert!(!runs.exists(), "a run folder was created: {err}");
}
