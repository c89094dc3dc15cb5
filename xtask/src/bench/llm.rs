//! `cargo xtask bench llm`: GPT-2 training throughput, pisa-rs (`bench llm`, crate `bench`) next to a
//! nanoGPT-style PyTorch eager script (`bench/gpt2_torch.py`, the venv's torch), same preset,
//! batch, sequence length, threads and device, one program at a time; plus each optimizer's
//! share of the step time and its persistent state (pisa-core `footprint()`; PyTorch: the
//! optimizer's state tensors). Writes `target/bench/llm.{jsonl,md}` and prints the table.

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::cache::{cache_dir, project_root};
use crate::cargo::{release_program, stdout_of, Target};
use crate::setup;

/// The PyTorch baseline, relative to the repository root.
const TORCH_SCRIPT: &str = "bench/gpt2_torch.py";
/// Output folder, relative to the repository root.
const OUT_DIR: &str = "target/bench";

/// Arguments of `cargo xtask bench llm`.
#[derive(clap::Args, Debug)]
pub struct LlmBenchArgs {
    /// Model preset (test, tiny, nano, gpt2, gpt2-medium).
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Sequences per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Sequence length.
    #[arg(long, default_value_t = 128)]
    pub seq: usize,
    /// Timed steps per optimizer (after 2 warm-up steps).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Torch threads for both programs.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Where the model lives.
    #[arg(long, value_enum, default_value_t = super::Device::Cpu)]
    pub device: super::Device,
    /// bf16 matrix products (autocast) in both programs.
    #[arg(long)]
    pub bf16: bool,
}

/// One JSON object per line, non-JSON lines skipped.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(Value::is_object)
        .collect()
}

/// The Markdown table of the records; `× PyTorch` compares tokens/s with PyTorch's same optimizer.
pub fn table(records: &[Value], title: &str) -> String {
    let mut md = format!("### {title}\n\n| impl | optimizer | nodes m | tokens/s | × PyTorch | step ms | optimizer ms | optimizer share | optimizer state (param-sized buffers) |\n|---|---|---|---|---|---|---|---|---|\n");
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    for r in records {
        let torch = records
            .iter()
            .find(|o| o["impl"] == "pytorch" && o["optimizer"] == r["optimizer"])
            .map(|o| f(r, "tokens_per_s") / f(o, "tokens_per_s"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {} | {:.1} | {:.1} | {:.1} % | {:.2} |",
            r["impl"].as_str().unwrap_or("?"),
            r["optimizer"].as_str().unwrap_or("?"),
            r["nodes"],
            f(r, "tokens_per_s"),
            torch.map_or("–".into(), |x| format!("{x:.2}")),
            f(r, "step_ms"),
            f(r, "opt_ms"),
            100.0 * f(r, "opt_share"),
            f(r, "state_buffers"),
        );
    }
    md
}

/// Runs `cargo xtask bench llm`.
pub fn run(args: &LlmBenchArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();
    let shared: Vec<String> = [
        "--preset",
        &args.preset,
        "--batch",
        &args.batch.to_string(),
        "--seq",
        &args.seq.to_string(),
        "--steps",
        &args.steps.to_string(),
        "--device",
        args.device.as_str(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let bf16: &[&str] = if args.bf16 { &["--bf16"] } else { &[] };
    let mut ours = release_program(&toolchain, "bench", Target::Bin("bench"))?;
    ours.args([
        "llm",
        "--threads",
        &args.threads.to_string(),
        "--optimizers",
        "adamw,muon,nsisa",
    ])
    .args(&shared)
    .args(bf16);
    let mut records = json_lines(&stdout_of(&mut ours)?);
    let mut m4 = crate::cargo::run_release(&toolchain, "bench", Target::Bin("bench"))?;
    m4.args([
        "llm",
        "--threads",
        &args.threads.to_string(),
        "--optimizers",
        "nsisa",
        "--nodes",
        "4",
    ])
    .args(&shared)
    .args(bf16);
    records.extend(json_lines(&stdout_of(&mut m4)?));
    let mut theirs = Command::new(&torch.python);
    theirs
        .arg(TORCH_SCRIPT)
        .args(&shared)
        .args([
            "--threads",
            &args.threads.to_string(),
            "--optimizers",
            "adamw,muon",
        ])
        .args(bf16)
        .current_dir(root)
        .stdin(Stdio::null());
    records.extend(json_lines(&stdout_of(&mut theirs)?));
    ensure!(!records.is_empty(), "the benchmarks printed no JSON lines");
    let title = format!(
        "GPT-2 `{}` training step, batch {} × {} tokens, {} thread(s), {}{}",
        args.preset,
        args.batch,
        args.seq,
        args.threads,
        args.device.as_str(),
        if args.bf16 { ", bf16" } else { ", f32" }
    );
    let md = table(&records, &title);
    let out = root.join(OUT_DIR);
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let jsonl: String = records.iter().map(|r| format!("{r}\n")).collect();
    fs::write(out.join("llm.jsonl"), jsonl).context("cannot write llm.jsonl")?;
    fs::write(out.join("llm.md"), &md).context("cannot write llm.md")?;
    print!("{md}");
    eprintln!("xtask: wrote {OUT_DIR}/llm.md and {OUT_DIR}/llm.jsonl");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_compares_with_pytorchs_same_optimizer() {
        let recs = json_lines(
            "noise\n{\"impl\":\"pisa-rs\",\"optimizer\":\"adamw\",\"nodes\":1,\"tokens_per_s\":900,\"step_ms\":1,\"opt_ms\":0.1,\"opt_share\":0.1,\"state_buffers\":2}\n\
             {\"impl\":\"pytorch\",\"optimizer\":\"adamw\",\"nodes\":1,\"tokens_per_s\":1000,\"step_ms\":1,\"opt_ms\":0.1,\"opt_share\":0.1,\"state_buffers\":2}\n",
        );
        assert_eq!(recs.len(), 2);
        let md = table(&recs, "t");
        assert!(md.contains("| pisa-rs | adamw | 1 | 900 | 0.90 |"), "{md}");
        assert!(md.contains("| pytorch | adamw | 1 | 1000 | 1.00 |"), "{md}");
    }
}
