//! Bad input to the `llm` binary is refused at once with exit code 2 and a message naming the
//! flag: every numeric flag of every subcommand at 0, -1 and a huge value (and the values its
//! help excludes), before any data is read or a run folder created; `nodes = 0` in a `--config`
//! file is refused naming `optimizer.nodes` (it divided by zero); `sample --max-new` beyond the
//! model's context is refused instead of sliding a window for minutes.

use runs::refusals::{assert_all_refused, assert_clean, assert_refused_before_the_run, BEYOND_U64, HUGE};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_llm");

fn run(args: &[String]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `(subcommand, flag, refused values)`. Legal values are left out: `--warmup 0`,
/// `--warmdown 0`, `--clip 0`, `--dropout 0`, `--checkpoint-every 0`, `--temperature 0`
/// (greedy), `tokenize --val-fraction 0` and every `--seed` below 2⁶⁴; `--clip` and
/// `--peak-flops` have no upper bound (finite).
const TABLE: &[(&str, &str, &[&str])] = &[
    ("train", "--val-fraction", &["0", "-1", "1", HUGE, "NaN"]),
    ("train", "--nodes", &["0", "-1", HUGE]),
    ("train", "--batch", &["0", "-1", HUGE]),
    ("train", "--seq", &["0", "-1", HUGE]),
    ("train", "--accum", &["0", "-1", HUGE]),
    ("train", "--steps", &["0", "-1", HUGE]),
    ("train", "--epochs", &["0", "-1", HUGE, "NaN"]),
    ("train", "--warmup", &["-1", HUGE]),
    ("train", "--warmdown", &["-1", HUGE]),
    ("train", "--clip", &["-1", "inf", "NaN"]),
    ("train", "--eval-every", &["0", "-1", HUGE]),
    ("train", "--val-tokens", &["0", "-1", HUGE]),
    ("train", "--dropout", &["-1", "1", HUGE]),
    ("train", "--peak-flops", &["0", "-1", "inf"]),
    ("train", "--stop-after", &["0", "-1", HUGE]),
    ("train", "--threads", &["0", "-1", HUGE]),
    ("train", "--checkpoint-every", &["-1", HUGE]),
    ("train", "--seed", &["-1", BEYOND_U64]),
    ("finetune", "--nodes", &["0", "-1", HUGE]),
    ("finetune", "--steps", &["0", "-1", HUGE]),
    ("sample", "--max-new", &["0", "-1", HUGE]),
    ("sample", "--temperature", &["-1", HUGE, "NaN"]),
    ("sample", "--top-k", &["0", "-1", HUGE]),
    ("sample", "--top-p", &["0", "-1", "2", "NaN"]),
    ("sample", "--seed", &["-1", BEYOND_U64]),
    ("tokenize", "--val-fraction", &["-1", "1", HUGE]),
    ("tokenize", "--shard-tokens", &["0", "-1", HUGE]),
];

#[test]
fn every_numeric_flag_is_range_checked_at_parse_time() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let missing = tmp.path().join("nothing").display().to_string();
    let prefix = |sub: &str| -> Vec<String> {
        let args = match sub {
            "train" | "finetune" => vec![
                "--runs",
                runs.to_str().unwrap(),
                "--data",
                &missing,
                "--from",
                &missing,
            ],
            "sample" => vec!["--checkpoint", &missing],
            _ => vec!["--input", &missing, "--out", &missing],
        };
        args.into_iter().map(String::from).collect()
    };
    assert_all_refused(Path::new(env!("CARGO_BIN_EXE_llm")), TABLE, prefix, &runs);
}

/// Synthetic token shards (a period-7 pattern below the test model's vocabulary of 101).
fn shards(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let tokens: Vec<u16> = (0..2000u32).map(|i| (5 + (i % 7) * 13) as u16).collect();
    llm::shards::write_shard(&dir.join("syn_train_000000.bin"), &tokens).unwrap();
    llm::shards::write_shard(&dir.join("syn_val_000000.bin"), &tokens[..400]).unwrap();
}

#[test]
fn zero_nodes_in_a_config_file_and_too_little_data_are_refused_before_the_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    shards(&data);
    let config = tmp.path().join("zero.toml");
    std::fs::write(&config, "nodes = 0\n").unwrap();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "train",
            "--preset",
            "unit",
            "--data",
            data.to_str().unwrap(),
            "--runs",
            runs.to_str().unwrap(),
            "--seq",
            "16",
            "--batch",
            "4",
            "--steps",
            "1",
            "--device",
            "cpu",
            "--threads",
            "1",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect()
    };
    let out = run(&base(&[
        "--optimizer",
        "sisa",
        "--config",
        config.to_str().unwrap(),
    ]));
    assert_refused_before_the_run(&out, "optimizer.nodes", &runs);
    let out = run(&base(&[
        "--optimizer",
        "adamw",
        "--config",
        config.to_str().unwrap(),
    ]));
    assert_refused_before_the_run(&out, "optimizer.nodes", &runs);
    // Longer than the unit preset's 64 positions.
    let out = run(&base(&["--optimizer", "adamw", "--seq", "65"]));
    assert_refused_before_the_run(&out, "--seq", &runs);
    // A validation split of 10 tokens holds no window of 16.
    let small = tmp.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let tokens: Vec<u16> = (0..400u16).map(|i| 5 + i % 7).collect();
    llm::shards::write_shard(&small.join("s_train_000000.bin"), &tokens).unwrap();
    llm::shards::write_shard(&small.join("s_val_000000.bin"), &tokens[..10]).unwrap();
    let mut args = base(&["--optimizer", "adamw"]);
    args[4] = small.display().to_string();
    let out = run(&args);
    assert_refused_before_the_run(&out, "--seq", &runs);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not enough for one window"));
}

#[test]
fn sampling_beyond_the_context_is_refused_and_within_it_works() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tiny-gpt2");
    let sample = |max_new: &str| {
        let args = [
            "sample",
            "--checkpoint",
            model.to_str().unwrap(),
            "--prompt",
            "a",
            "--device",
            "cpu",
        ];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.extend(["--max-new".into(), max_new.into()]);
        run(&args)
    };
    // 16 positions, 1 taken by the prompt "a".
    let out = sample("100000");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--max-new") && err.contains("at most 15"), "{err}");
    assert_clean(&err, "--max-new");
    let out = sample("15");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
