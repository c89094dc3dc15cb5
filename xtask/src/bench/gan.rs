//! `cargo xtask bench gan`: WGAN(-GP) training images per second and FID feature-extraction
//! images per second, pisa-rs (`bench gan`, crate `bench`) against the same model and the same TorchScript
//! Inception driven from PyTorch (`bench/gan_torch.py`), one program at a time on the same
//! machine, after building. Both sides use Adam (lr 2e-4, betas (0.5, 0.999)), synthetic images,
//! the same sizes and thread count; pisa-rs also runs SISA (m nodes from the presets) for
//! reference. Each program times every iteration and every Inception batch and reports rates from
//! the median. A round runs PyTorch, pisa-rs Adam, pisa-rs SISA and PyTorch again; the second
//! PyTorch run is a control whose ratio to the first shows the machine's run-to-run drift, i.e.
//! the resolution of the other ratios. With `--repeat N` the rounds repeat and each program's
//! best training rate and best feature rate count. The ratio column is against PyTorch Adam.
//! Writes `target/bench/gan.md` and `target/bench/gan.jsonl` (every round).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
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
const TORCH_SCRIPT: &str = "bench/gan_torch.py";
/// Where the results go.
const OUT_DIR: &str = "target/bench";
/// The `side` of the second PyTorch run in each round: the noise control.
const CONTROL_SIDE: &str = "pytorch (control)";

/// Arguments of `cargo xtask bench gan`.
#[derive(Args, Debug)]
pub struct GanBenchArgs {
    /// wgan or wgan-gp.
    #[arg(long, default_value = "wgan-gp")]
    pub model: String,
    /// Image side (64: the paper's DCGAN).
    #[arg(long, default_value_t = 64)]
    pub image_size: usize,
    /// Base width.
    #[arg(long, default_value_t = 64)]
    pub base: usize,
    /// Images per iteration.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Timed training iterations.
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Images through the Inception network (0: skip).
    #[arg(long, default_value_t = 100)]
    pub fid_images: usize,
    /// Rounds: the programs run alternately this many times and each one's best rates count.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Torch threads on both sides.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Where the tensors live.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
}

/// Runs `cargo xtask bench gan`.
pub fn run(args: &GanBenchArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();
    let inception = crate::data::fid_inception::ensure(&crate::data::default_data_dir())?;
    build_release(&toolchain, "bench", Target::Bin("bench"))?;
    let mut shared: Vec<String> = [
        ("--image-size", args.image_size),
        ("--base", args.base),
        ("--batch", args.batch),
        ("--iters", args.iters),
        ("--warmup", args.warmup),
        ("--fid-images", args.fid_images),
        ("--threads", args.threads),
    ]
    .iter()
    .flat_map(|(k, v)| [k.to_string(), v.to_string()])
    .collect();
    shared.extend([
        "--device".into(),
        args.device.as_str().into(),
        "--model".into(),
        args.model.clone(),
    ]);
    shared.extend(["--inception".into(), inception.display().to_string()]);
    let mut best = BestOfRounds::new(&["train_images_per_s", "fid_images_per_s"]);
    let mut jsonl = String::new();
    let rounds = args.repeat.max(1);
    for round_index in 1..=rounds {
        eprintln!("xtask: bench gan round {round_index}/{rounds}");
        // PyTorch first and last: the control row (its second run against its first) shows how
        // far two runs of the same program drift apart on this machine.
        let mut round = vec![torch_record(&torch.python, &shared, "pytorch")?];
        for optimizer in ["adam", "sisa"] {
            let mut cmd = run_release(&toolchain, "bench", Target::Bin("bench"))?;
            cmd.arg("gan").args(&shared).args(["--optimizer", optimizer]);
            round.push(last_json(&stdout_of(&mut cmd)?, "bench gan")?);
        }
        round.push(torch_record(&torch.python, &shared, CONTROL_SIDE)?);
        for record in &round {
            jsonl += &format!("{record}\n");
        }
        best.add_round(round);
    }
    let rows = best.into_records();
    let markdown = render(args, &rows);
    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    fs::write(out_dir.join("gan.jsonl"), jsonl).context("cannot write gan.jsonl")?;
    fs::write(out_dir.join("gan.md"), &markdown).context("cannot write gan.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/gan.md and {OUT_DIR}/gan.jsonl");
    Ok(())
}

/// One run of the PyTorch script, its record's `side` set to `side`.
fn torch_record(python: &Path, shared: &[String], side: &str) -> Result<Value> {
    let mut cmd = Command::new(python);
    cmd.arg(TORCH_SCRIPT)
        .args(shared)
        .current_dir(project_root())
        .stdin(Stdio::null());
    let mut record = last_json(&stdout_of(&mut cmd)?, TORCH_SCRIPT)?;
    record["side"] = side.into();
    Ok(record)
}

/// The Markdown table: one row per program (PyTorch, pisa-rs Adam, pisa-rs SISA, the PyTorch
/// control run); ratios against the first PyTorch row.
fn render(args: &GanBenchArgs, rows: &[Value]) -> String {
    let num = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let torch = rows
        .iter()
        .find(|r| r["side"] == "pytorch")
        .cloned()
        .unwrap_or(Value::Null);
    let mut s = format!(
        "# bench gan: {} {}×{}, base {}, batch {}, {} threads, {}; {} timed iterations, best of {} rounds\n\n\
         | side | optimizer | train images/s | × PyTorch | FID features images/s | × PyTorch |\n|---|---|---|---|---|---|\n",
        args.model,
        args.image_size,
        args.image_size,
        args.base,
        args.batch,
        args.threads,
        args.device.as_str(),
        args.iters,
        args.repeat.max(1)
    );
    for r in rows {
        let (t, f) = (num(r, "train_images_per_s"), num(r, "fid_images_per_s"));
        let _ = writeln!(
            s,
            "| {} | {} | {t:.1} | {:.3} | {f:.2} | {:.3} |",
            r["side"].as_str().unwrap_or("?"),
            r["optimizer"].as_str().unwrap_or("?"),
            t / num(&torch, "train_images_per_s"),
            f / num(&torch, "fid_images_per_s"),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_ratios_against_pytorch() {
        let args = GanBenchArgs {
            model: "wgan-gp".into(),
            image_size: 64,
            base: 64,
            batch: 64,
            iters: 1,
            warmup: 0,
            fid_images: 0,
            repeat: 1,
            threads: 2,
            device: Device::Cpu,
        };
        let rows = [
            serde_json::json!({"side": "pisa-rs", "optimizer": "adam", "train_images_per_s": 110.0, "fid_images_per_s": 9.0}),
            serde_json::json!({"side": "pytorch", "optimizer": "adam", "train_images_per_s": 100.0, "fid_images_per_s": 10.0}),
            serde_json::json!({"side": CONTROL_SIDE, "optimizer": "adam", "train_images_per_s": 95.0, "fid_images_per_s": 10.5}),
        ];
        let md = render(&args, &rows);
        assert!(
            md.contains("| pisa-rs | adam | 110.0 | 1.100 | 9.00 | 0.900 |"),
            "{md}"
        );
        assert!(
            md.contains("| pytorch (control) | adam | 95.0 | 0.950 | 10.50 | 1.050 |"),
            "{md}"
        );
    }
}
