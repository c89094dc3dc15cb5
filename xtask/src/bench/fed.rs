//! `cargo xtask bench fed`: seconds per federated round on MNIST with 10 clients (`label:1`,
//! client i holds digit i), pisa-rs's `fed train` against the same rounds in PyTorch
//! (`bench/fed_torch.py`), for SISA (one step per round from the clients' full local gradients,
//! the `[fed.sisa]` preset) and FedAvg (one local epoch of SGD per client, then the average).
//!
//! Each repeat runs, per algorithm, pisa-rs then PyTorch (the order flips every repeat), one
//! program at a time after building `fed` in release, with the same thread count. pisa-rs's
//! round times are the differences of consecutive `wall_time`s in the run folder's
//! `metrics.csv` (runs go to a temporary folder, `--eval-every` beyond `--rounds`); PyTorch's
//! are timed around each round. On both sides the first round (warm-up) and the last one
//! (pisa-rs evaluates the test set after it) are dropped; the timed rounds of all repeats are
//! pooled into mean ± standard deviation. Subnormal floats are computed on both sides (libtorch's
//! default); `--torch-flush-denormal` flushes them in PyTorch, whose rounds otherwise slow down
//! whenever its trajectory passes through them. The ratio is PyTorch / pisa-rs (> 1: pisa-rs is
//! faster). Writes `target/bench/fed.md` and `target/bench/fed.jsonl`.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::rounds::last_json;
use crate::cache::{cache_dir, project_root};
use crate::cargo::{build_release, stdout_of, Target};
use crate::data::{default_data_dir, ensure_mnist, TempDir};
use crate::setup;

/// The PyTorch baseline, relative to the repository root.
const TORCH_SCRIPT: &str = "bench/fed_torch.py";
/// Where the results go.
const OUT_DIR: &str = "target/bench";
/// The algorithms, as both programs name them.
const ALGORITHMS: [&str; 2] = ["sisa", "fedavg"];
/// Clients (`label:1`: one digit each).
const CLIENTS: usize = 10;

/// Arguments of `cargo xtask bench fed`.
#[derive(Args, Debug)]
pub struct FedBenchArgs {
    /// Rounds per run, at least 3: the first (warm-up) and the last (pisa-rs evaluates after
    /// it) are not timed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(3..))]
    pub rounds: u64,
    /// Runs of each program per algorithm, alternating; their timed rounds are pooled.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Torch threads on both sides.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// PyTorch treats subnormal floats as zero (`torch.set_flush_denormal(True)`); pisa-rs
    /// always computes them, as libtorch does by default.
    #[arg(long)]
    pub torch_flush_denormal: bool,
}

/// Runs `cargo xtask bench fed`.
pub fn run(args: &FedBenchArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();
    let data = ensure_mnist(&default_data_dir())?;
    build_release(&toolchain, "fed", Target::Bin("fed"))?;
    let binary = root.join("target/release/fed");
    let runs = TempDir::new("bench-fed")?;
    let (rounds, threads) = (args.rounds.to_string(), args.threads.to_string());

    let ours = |algorithm: &str, repeat: usize| -> Result<Value> {
        let name = format!("{algorithm}-{repeat}");
        let mut cmd = Command::new(&binary);
        cmd.args(["train", "--dataset", "mnist", "--partition", "label:1"])
            .args(["--clients", &CLIENTS.to_string(), "--optimizer", algorithm])
            .args([
                "--rounds",
                &rounds,
                "--eval-every",
                &(args.rounds + 1).to_string(),
            ])
            .args(["--threads", &threads, "--name", &name])
            .arg("--data")
            .arg(&data)
            .arg("--runs")
            .arg(runs.path())
            .current_dir(root)
            .stdin(Stdio::null());
        toolchain.apply(&mut cmd)?;
        let summary = last_json(&stdout_of(&mut cmd)?, "fed train")?;
        let csv_path = runs.path().join("fed").join(&name).join("metrics.csv");
        let csv =
            fs::read_to_string(&csv_path).with_context(|| format!("cannot read {}", csv_path.display()))?;
        let round_s = round_seconds(&csv).with_context(|| format!("{}", csv_path.display()))?;
        Ok(json!({
            "side": "pisa-rs",
            "algorithm": algorithm,
            "threads": args.threads,
            "round_s": round_s,
            "train_loss": summary["train_loss"],
        }))
    };
    let theirs = |algorithm: &str| -> Result<Value> {
        let mut cmd = Command::new(&torch.python);
        cmd.arg(TORCH_SCRIPT)
            .args([
                "--algorithm",
                algorithm,
                "--rounds",
                &rounds,
                "--threads",
                &threads,
            ])
            .args(["--clients", &CLIENTS.to_string()])
            .arg("--data")
            .arg(&data)
            .args(args.torch_flush_denormal.then_some("--flush-denormal"))
            .env("OMP_NUM_THREADS", &threads)
            .current_dir(root)
            .stdin(Stdio::null());
        last_json(&stdout_of(&mut cmd)?, TORCH_SCRIPT)
    };

    let mut records = Vec::new();
    for repeat in 0..args.repeat.max(1) {
        for algorithm in ALGORITHMS {
            // every other repeat the other program first: neither always runs on a warmer machine
            let pair = if repeat % 2 == 0 {
                [ours(algorithm, repeat)?, theirs(algorithm)?]
            } else {
                [theirs(algorithm)?, ours(algorithm, repeat)?]
            };
            for mut record in pair {
                record["repeat"] = json!(repeat);
                records.push(record);
            }
        }
    }
    let markdown = render(args, &records)?;
    let jsonl: String = records.iter().map(|r| format!("{r}\n")).collect();
    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    fs::write(out_dir.join("fed.jsonl"), jsonl).context("cannot write fed.jsonl")?;
    fs::write(out_dir.join("fed.md"), &markdown).context("cannot write fed.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/fed.md and {OUT_DIR}/fed.jsonl");
    Ok(())
}

/// Seconds of each round of a run from its `metrics.csv` (header `step,wall_time,...`, one row
/// per round from step 1): round 1 is its `wall_time` (it includes start-up), round k > 1 is
/// `wall_time[k] − wall_time[k−1]`.
///
/// # Errors
/// No `wall_time` column, a cell that is not a number, or steps that are not 1, 2, 3, ...
fn round_seconds(csv: &str) -> Result<Vec<f64>> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().context("metrics.csv is empty")?.split(',').collect();
    let column = |name: &str| header.iter().position(|c| c.trim() == name);
    let (Some(step_col), Some(wall_col)) = (column("step"), column("wall_time")) else {
        bail!(
            "metrics.csv has no step and wall_time columns: {}",
            header.join(",")
        );
    };
    let mut seconds = Vec::new();
    let mut previous = 0.0;
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |c: usize| -> Result<f64> {
            let text = cells.get(c).map_or("", |s| s.trim());
            text.parse()
                .with_context(|| format!("row {}: `{text}` is not a number", i + 2))
        };
        let (step, wall) = (cell(step_col)?, cell(wall_col)?);
        ensure!(
            step == (i + 1) as f64,
            "row {}: step {step}, expected {}",
            i + 2,
            i + 1
        );
        seconds.push(wall - previous);
        previous = wall;
    }
    Ok(seconds)
}

/// The timed rounds of one run's per-round seconds: all but the first (warm-up) and the last
/// (pisa-rs evaluates the test set in it).
fn timed(round_s: &[f64]) -> &[f64] {
    match round_s.len() {
        0..=2 => &[],
        n => &round_s[1..n - 1],
    }
}

/// Mean and sample standard deviation (0 for a single value, NaN for none).
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = match values.len() {
        0 => f64::NAN,
        1 => 0.0,
        _ => values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0),
    };
    (mean, var.sqrt())
}

/// The pooled timed rounds of `side` running `algorithm` over every record.
///
/// # Errors
/// A record without a `round_s` list of numbers.
fn pooled(records: &[Value], side: &str, algorithm: &str) -> Result<Vec<f64>> {
    let mut all = Vec::new();
    for record in records
        .iter()
        .filter(|r| r["side"] == side && r["algorithm"] == algorithm)
    {
        let round_s = record["round_s"]
            .as_array()
            .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
            .with_context(|| format!("{side} {algorithm}: no round_s list in {record}"))?;
        all.extend_from_slice(timed(&round_s));
    }
    Ok(all)
}

/// The Markdown table: per algorithm, pisa-rs and PyTorch seconds per round (mean ± std over
/// the pooled timed rounds) and the ratio PyTorch / pisa-rs.
///
/// # Errors
/// As [`pooled`].
fn render(args: &FedBenchArgs, records: &[Value]) -> Result<String> {
    let torch_version = records.iter().find_map(|r| r["torch"].as_str()).unwrap_or("?");
    let mut out = format!(
        "Federated round on MNIST, {CLIENTS} clients (label:1, client i = digit i), SimpleCNN, local batch 64, \
         {} thread(s); {} rounds per run, rounds 2..{} timed, {} run(s) per side, PyTorch {torch_version}{}\n\n",
        args.threads,
        args.rounds,
        args.rounds - 1,
        args.repeat.max(1),
        match args.torch_flush_denormal {
            true => " with subnormals flushed to zero",
            false => "",
        }
    );
    out += "| algorithm | pisa-rs s/round | PyTorch s/round | PyTorch / pisa-rs |\n";
    out += "|---|---|---|---|\n";
    for algorithm in ALGORITHMS {
        let (ours, ours_sd) = mean_std(&pooled(records, "pisa-rs", algorithm)?);
        let (theirs, theirs_sd) = mean_std(&pooled(records, "pytorch", algorithm)?);
        let label = match algorithm {
            "sisa" => "SISA (full local gradients, 1 step)",
            _ => "FedAvg (1 local epoch of SGD)",
        };
        let _ = writeln!(
            out,
            "| {label} | {ours:.3} ± {ours_sd:.3} | {theirs:.3} ± {theirs_sd:.3} | {:.2}× |",
            theirs / ours
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_differences_of_wall_time() {
        let csv = "step,wall_time,train/loss,test/loss,test/accuracy,comm/bytes\n\
                   1,4.5,2.7,,,3554080\n2,9.0,2.3,,,3554080\n3,14.25,2.2,2.1,0.2,3554080\n";
        assert_eq!(round_seconds(csv).unwrap(), [4.5, 4.5, 5.25]);
        assert_eq!(timed(&round_seconds(csv).unwrap()), [4.5]);
        assert!(timed(&[1.0, 2.0]).is_empty());
    }

    #[test]
    fn a_malformed_metrics_file_is_an_error() {
        let err = round_seconds("step,loss\n1,2\n").unwrap_err().to_string();
        assert!(err.contains("no step and wall_time"), "{err}");
        let err = round_seconds("step,wall_time\n1,1.0\n3,2.0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 3: step 3, expected 2"), "{err}");
        let err = round_seconds("step,wall_time\n1,\n").unwrap_err().to_string();
        assert!(err.contains("row 2: `` is not a number"), "{err}");
    }

    #[test]
    fn mean_and_sample_standard_deviation() {
        assert_eq!(mean_std(&[2.0, 4.0]), (3.0, 2f64.sqrt()));
        assert_eq!(mean_std(&[5.0]), (5.0, 0.0));
        assert!(mean_std(&[]).0.is_nan());
    }

    #[test]
    fn the_table_pools_timed_rounds_and_divides_pytorch_by_pisa_rs() {
        let args = FedBenchArgs {
            rounds: 4,
            repeat: 2,
            threads: 1,
            torch_flush_denormal: false,
        };
        let rec = |side: &str, algorithm: &str, round_s: [f64; 4]| json!({"side": side, "algorithm": algorithm, "round_s": round_s, "torch": "2.11.0"});
        let records = vec![
            rec("pisa-rs", "sisa", [9.0, 1.0, 3.0, 9.0]),
            rec("pytorch", "sisa", [9.0, 4.0, 4.0, 9.0]),
            rec("pisa-rs", "fedavg", [9.0, 2.0, 2.0, 9.0]),
            rec("pytorch", "fedavg", [9.0, 3.0, 3.0, 9.0]),
            rec("pytorch", "sisa", [9.0, 4.0, 4.0, 9.0]),
            rec("pisa-rs", "sisa", [9.0, 1.0, 3.0, 9.0]),
        ];
        let table = render(&args, &records).unwrap();
        assert!(
            table.contains("rounds 2..3 timed, 2 run(s) per side, PyTorch 2.11.0"),
            "{table}"
        );
        let sd = (4.0f64 / 3.0).sqrt();
        assert!(
            table.contains(&format!(
                "| SISA (full local gradients, 1 step) | 2.000 ± {sd:.3} | 4.000 ± 0.000 | 2.00× |"
            )),
            "{table}"
        );
        assert!(
            table.contains("| FedAvg (1 local epoch of SGD) | 2.000 ± 0.000 | 3.000 ± 0.000 | 1.50× |"),
            "{table}"
        );
        let bad = [json!({"side": "pisa-rs", "algorithm": "sisa"})];
        assert!(render(&args, &bad).is_err());
    }
}
