//! Bad input to the `rl` binary is refused at once with exit code 2 and a message naming the
//! flag or key: every numeric flag of every subcommand at 0, -1 and a huge value, before any
//! environment is built or a run folder created; in a `--config` file, `nodes = 0` under
//! `[optimizer]` (it divided by zero), an out-of-range `[rl]` key and an unknown top-level key
//! (it was silently ignored) are refused the same way.

use runs::refusals::{assert_all_refused, assert_refused_before_the_run, BEYOND_U64, HUGE};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rl");

fn run(args: &[String]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `(subcommand, flag, refused values)`. Legal values are left out: `--eval-every 0` (never),
/// every `--seed` below 2⁶⁴ and `solve --threshold 0`; `--lr` has no upper bound (finite).
const TABLE: &[(&str, &str, &[&str])] = &[
    ("train", "--steps", &["0", "-1", "100000000000"]),
    ("train", "--seed", &["-1", BEYOND_U64]),
    ("train", "--eval-every", &["-1", "100000000000"]),
    ("train", "--threads", &["0", "-1", HUGE]),
    ("train", "--keep-checkpoints", &["0", "-1", HUGE]),
    ("train", "--checkpoint-every", &["-1", "100000000000"]),
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
    assert_all_refused(Path::new(env!("CARGO_BIN_EXE_rl")), TABLE, prefix, &runs);
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
