//! `cargo xtask bench lstm`: AWD-LSTM training tokens per second, pisa-rs against the same model
//! in PyTorch (`bench/lstm_torch.py`), side by side on the same machine and device.
//!
//! For each layer count: `bench lstm` (crate `bench`) with Adam (m = 1) and with SISA (m = 4 nodes along
//! time), then the PyTorch script with Adam; one program at a time, after building. Both sides
//! use the same sizes, dropouts, weight-drop, AR/TAR and clipping, fixed windows of
//! `--bptt × --batch` synthetic tokens, the same thread count, and time `--windows` windows
//! after `--warmup`; with `--repeat N` the programs alternate N times and each one's best round
//! counts. The ratio column is pisa-rs Adam / PyTorch Adam (the like-for-like pair).
//! Writes `target/bench/lstm.md` and `target/bench/lstm.jsonl`.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

use super::rounds::{last_json, BestOfRounds};
use super::Device;
use crate::cache::{cache_dir, project_root};
use crate::cargo::{build_release, run_release, stdout_of, Target};
use crate::setup;

/// The PyTorch baseline, relative to the repository root.
const TORCH_SCRIPT: &str = "bench/lstm_torch.py";
/// Where the results go.
const OUT_DIR: &str = "target/bench";

/// Arguments of `cargo xtask bench lstm`.
#[derive(Args, Debug)]
pub struct LstmBenchArgs {
    /// Layer counts to time (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub layers: Vec<usize>,
    /// Embedding size (AWD: 400).
    #[arg(long, default_value_t = 400)]
    pub emb: usize,
    /// Hidden size of the inner layers (AWD: 1150).
    #[arg(long, default_value_t = 1150)]
    pub hidden: usize,
    /// Window length.
    #[arg(long, default_value_t = 70)]
    pub bptt: usize,
    /// Streams per window.
    #[arg(long, default_value_t = 20)]
    pub batch: usize,
    /// Timed windows.
    #[arg(long, default_value_t = 5)]
    pub windows: usize,
    /// Untimed windows first.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Rounds: the programs run alternately this many times and the best round of each counts
    /// (robust to other load on a shared machine).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Torch threads on both sides.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Where the tensors live.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
}

/// Runs `cargo xtask bench lstm`.
pub fn run(args: &LstmBenchArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();
    build_release(&toolchain, "bench", Target::Bin("bench"))?;
    let shared = |layers: usize| -> Vec<String> {
        [
            ("--layers", layers),
            ("--emb", args.emb),
            ("--hidden", args.hidden),
            ("--bptt", args.bptt),
            ("--batch", args.batch),
            ("--windows", args.windows),
            ("--warmup", args.warmup),
            ("--threads", args.threads),
        ]
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .chain(["--device".to_owned(), args.device.as_str().to_owned()])
        .collect()
    };
    let mut rows = Vec::new();
    let mut jsonl = String::new();
    for &layers in &args.layers {
        let mut best = BestOfRounds::new(&["tokens_per_s"]);
        for _ in 0..args.repeat.max(1) {
            let mut round = Vec::new();
            for optimizer in ["adam", "sisa"] {
                let mut cmd = run_release(&toolchain, "bench", Target::Bin("bench"))?;
                cmd.arg("lstm")
                    .args(shared(layers))
                    .args(["--optimizer", optimizer]);
                round.push(last_json(&stdout_of(&mut cmd)?, "bench lstm")?);
            }
            let mut torch_cmd = Command::new(&torch.python);
            torch_cmd
                .arg(TORCH_SCRIPT)
                .args(shared(layers))
                .current_dir(root)
                .stdin(Stdio::null());
            round.push(last_json(&stdout_of(&mut torch_cmd)?, TORCH_SCRIPT)?);
            for record in &round {
                jsonl += &format!("{record}\n");
            }
            best.add_round(round);
        }
        rows.push((layers, best.into_records()));
    }
    let markdown = render(args, &rows);
    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    fs::write(out_dir.join("lstm.jsonl"), jsonl).context("cannot write lstm.jsonl")?;
    fs::write(out_dir.join("lstm.md"), &markdown).context("cannot write lstm.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/lstm.md and {OUT_DIR}/lstm.jsonl");
    Ok(())
}

/// The Markdown table: per layer count, tokens/s of pisa-rs Adam, pisa-rs SISA and PyTorch Adam,
/// and the ratio pisa-rs Adam / PyTorch Adam.
fn render(args: &LstmBenchArgs, rows: &[(usize, Vec<Value>)]) -> String {
    let mut out = format!(
        "AWD-LSTM training throughput (tokens/s), emb {}, hidden {}, window {} × {}, {} threads, {}; {} timed windows, best of {} rounds\n\n",
        args.emb,
        args.hidden,
        args.bptt,
        args.batch,
        args.threads,
        args.device.as_str(),
        args.windows,
        args.repeat.max(1)
    );
    out +=
        "| layers | pisa-rs Adam | pisa-rs SISA (m = 4, time) | PyTorch Adam | pisa-rs / PyTorch (Adam) |\n";
    out += "|---|---|---|---|---|\n";
    for (layers, row) in rows {
        let tps = |i: usize| {
            row.get(i)
                .and_then(|r| r["tokens_per_s"].as_f64())
                .unwrap_or(f64::NAN)
        };
        let _ = writeln!(
            out,
            "| {layers} | {:.0} | {:.0} | {:.0} | {:.2}× |",
            tps(0),
            tps(1),
            tps(2),
            tps(0) / tps(2)
        );
    }
    out
}
