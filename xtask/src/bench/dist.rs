//! `cargo xtask bench dist`: the MNIST CNN's training iteration over 1, 2 and 4 processes,
//! pisa-rs over MPI (`mnist-dist`, feature `mpi`) against PyTorch DDP with gloo
//! (`bench/dist_torch.py` under `torch.distributed.run`), on the same model, batch and thread count
//! per process, side by side in one run.
//!
//! Per process count P, in each round: pisa-rs SISA with m = 4 nodes (P ranks own 4/P nodes
//! each), pisa-rs AdamW with m = P nodes (one node per rank: the like-for-like pair with DDP,
//! which gives each rank batch/P examples) and PyTorch DDP AdamW. The total work per iteration
//! is fixed (one batch), so the scaling efficiency of a side is T1 / (P · T_P) with its own T1.
//! With `--repeat N` the programs alternate N times and each one's best round counts. More
//! processes than cores are oversubscribed: reported, not judged. Writes `target/bench/dist.md`
//! and `target/bench/dist.jsonl`.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

use super::rounds::{last_json, BestOfRounds};
use crate::cache::{cache_dir, project_root};
use crate::cargo::{cargo, run_checked, stdout_of};
use crate::setup;

/// The PyTorch baseline, relative to the repository root.
const TORCH_SCRIPT: &str = "bench/dist_torch.py";
/// Where the results go.
const OUT_DIR: &str = "target/bench";

/// Arguments of `cargo xtask bench dist`.
#[derive(Args, Debug)]
pub struct DistBenchArgs {
    /// Process counts (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub ranks: Vec<u32>,
    /// Examples per iteration (split over nodes / ranks).
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Timed iterations.
    #[arg(long, default_value_t = 30)]
    pub iters: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Torch threads per process, both sides.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Rounds: the programs alternate this many times, each one's best round counts.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

/// Runs `cargo xtask bench dist`.
pub fn run(args: &DistBenchArgs) -> Result<()> {
    crate::mpi::ensure()?;
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();
    run_checked(&mut cargo(
        &toolchain,
        &[
            "build",
            "--release",
            "-p",
            "mnist",
            "--features",
            "mpi",
            "--bin",
            "mnist-dist",
        ],
    )?)?;
    let binary = root.join("target/release/mnist-dist");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shared = [
        ("--batch", args.batch),
        ("--iters", args.iters),
        ("--warmup", args.warmup),
        ("--threads", args.threads),
    ]
    .iter()
    .flat_map(|(k, v)| [k.to_string(), v.to_string()])
    .collect::<Vec<_>>();
    let ours = |ranks: u32, optimizer: &str, nodes: u32| -> Result<Value> {
        let mut cmd = Command::new("mpirun");
        cmd.args(crate::mpi::mpirun_args(ranks, None, cores, crate::mpi::is_root()))
            .arg(&binary)
            .args(&shared)
            .args(["--optimizer", optimizer, "--nodes", &nodes.to_string()])
            .current_dir(root)
            .stdin(Stdio::null());
        toolchain.apply(&mut cmd)?;
        last_json(&stdout_of(&mut cmd)?, "mnist-dist")
    };
    let theirs = |ranks: u32| -> Result<Value> {
        let mut cmd = Command::new(&torch.python);
        cmd.args(["-m", "torch.distributed.run", "--standalone"])
            .arg(format!("--nproc_per_node={ranks}"))
            .arg(TORCH_SCRIPT)
            .args(&shared)
            .env("OMP_NUM_THREADS", args.threads.to_string())
            .current_dir(root)
            .stdin(Stdio::null());
        last_json(&stdout_of(&mut cmd)?, TORCH_SCRIPT)
    };
    let mut rows = Vec::new();
    let mut jsonl = String::new();
    for &ranks in &args.ranks {
        let mut best = BestOfRounds::new(&["iters_per_s"]);
        for _ in 0..args.repeat.max(1) {
            let round = vec![
                ours(ranks, "sisa", 4)?,
                ours(ranks, "adamw", ranks)?,
                theirs(ranks)?,
            ];
            for record in &round {
                jsonl += &format!("{record}\n");
            }
            best.add_round(round);
        }
        rows.push((ranks, best.into_records()));
    }
    let markdown = render(args, cores, &rows);
    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    fs::write(out_dir.join("dist.jsonl"), jsonl).context("cannot write dist.jsonl")?;
    fs::write(out_dir.join("dist.md"), &markdown).context("cannot write dist.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/dist.md and {OUT_DIR}/dist.jsonl");
    Ok(())
}

/// The Markdown table: iterations/s and scaling efficiency per side and process count, the
/// like-for-like ratio pisa-rs AdamW / DDP AdamW, and the bytes each rank hands the collectives.
fn render(args: &DistBenchArgs, cores: usize, rows: &[(u32, Vec<Value>)]) -> String {
    let rate = |row: &[Value], i: usize| {
        row.get(i)
            .and_then(|r| r["iters_per_s"].as_f64())
            .unwrap_or(f64::NAN)
    };
    let base: Vec<f64> = (0..3)
        .map(|i| {
            rows.iter()
                .find(|(p, _)| *p == 1)
                .map_or(f64::NAN, |(_, row)| rate(row, i))
        })
        .collect();
    let mut out = format!(
        "MNIST CNN training iteration, batch {}, {} thread(s) per process, {} timed iterations, best of {} rounds, {cores} cores \
         (more processes than cores are oversubscribed)\n\n",
        args.batch,
        args.threads,
        args.iters,
        args.repeat.max(1)
    );
    out += "| processes | pisa-rs SISA m = 4 (it/s, efficiency) | pisa-rs AdamW m = P | PyTorch DDP AdamW (gloo) | AdamW pisa-rs / DDP | bytes per rank per iteration / parameters |\n";
    out += "|---|---|---|---|---|---|\n";
    for (ranks, row) in rows {
        let cell = |i: usize| {
            let r = rate(row, i);
            format!("{r:.1} ({:.2})", r / (*ranks as f64 * base[i]))
        };
        let params = row.first().and_then(|r| r["params"].as_f64()).unwrap_or(f64::NAN);
        let payload = row
            .first()
            .and_then(|r| r["payload_bytes_per_iter"].as_f64())
            .unwrap_or(f64::NAN);
        let _ = writeln!(
            out,
            "| {ranks}{} | {} | {} | {} | {:.2}× | {payload:.0} / {params:.0} |",
            if *ranks as usize > cores {
                " (oversubscribed)"
            } else {
                ""
            },
            cell(0),
            cell(1),
            cell(2),
            rate(row, 1) / rate(row, 2)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_shows_rates_efficiencies_and_the_adamw_ratio() {
        let args = DistBenchArgs {
            ranks: vec![1, 2],
            batch: 256,
            iters: 10,
            warmup: 1,
            threads: 1,
            repeat: 1,
        };
        let rec = |r: f64| json!({"iters_per_s": r, "params": 100.0, "payload_bytes_per_iter": 400.0});
        let rows = vec![
            (1, vec![rec(10.0), rec(20.0), rec(10.0)]),
            (2, vec![rec(16.0), rec(30.0), rec(15.0)]),
        ];
        let table = render(&args, 2, &rows);
        assert!(
            table.contains("| 2 | 16.0 (0.80) | 30.0 (0.75) | 15.0 (0.75) | 2.00× | 400 / 100 |"),
            "{table}"
        );
    }
}
