//! `cargo xtask bench vision`: training images per second of a vision model on CIFAR-10, data
//! loading included, pisa-rs (`vision-bench`, crate `vision`) against the same model, batch,
//! augmentation and optimizer in PyTorch (`bench/vision_torch.py`).
//!
//! Both sides train on the same bytes: `vision-bench --dump` writes the selected training images
//! (`--examples`, evenly spaced over CIFAR-10's 50,000) once as CIFAR-10 binary records, which
//! the PyTorch script reads; pisa-rs decodes the same images itself. Each side shuffles, augments
//! (pad-4 random crop, flip) and normalizes while it trains: pisa-rs on its `Loader`'s one worker
//! thread, PyTorch in a `DataLoader` with 2 worker processes of one torch thread each. Both use
//! `--threads` torch threads for the model, SGD (lr 0.1, momentum 0.9, weight decay 5e-4) and
//! batches of `--batch`, and time `--steps` steps whole after `--warmup`. With `--sisa`, pisa-rs
//! also runs SISA (m = 4 nodes, the model's preset) for reference.
//!
//! Each round runs pisa-rs then PyTorch, the order flipping every round, one program at a time
//! after building. The table gives each side's images/s as mean ± standard deviation over the
//! rounds and the ratio pisa-rs SGD / PyTorch SGD (> 1: pisa-rs is faster). `--device cuda` runs
//! on the first GPU, and is skipped with a note when PyTorch sees none. Writes
//! `target/bench/vision.md` and `target/bench/vision.jsonl` (every run).
//!
//! Both sides run the same libtorch kernels, so on the CPU the ratio measures what surrounds them
//! (loading, the optimizer, the step's overhead) and how each process shares the cores. On a
//! 2-core machine busy with other builds, PyTorch's process took about 1.5× the CPU time of
//! pisa-rs's per step and ran that much slower, and with `OMP_WAIT_POLICY=PASSIVE` both took the
//! same time: its OpenMP threads spin while they wait (libgomp's default), which costs when
//! cores are oversubscribed. `--passive-wait` sets that policy on both sides.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::rounds::last_json;
use super::Device;
use crate::cache::{cache_dir, project_root};
use crate::cargo::{build_release, stdout_of, Target};
use crate::data::{default_data_dir, TempDir};
use crate::setup;

/// The PyTorch baseline, relative to the repository root.
const TORCH_SCRIPT: &str = "bench/vision_torch.py";
/// Where the results go.
const OUT_DIR: &str = "target/bench";
/// The pisa-rs program, and where the release build puts it.
const BINARY: (&str, &str) = ("vision-bench", "target/release/vision-bench");
/// PyTorch's DataLoader worker processes.
const TORCH_WORKERS: usize = 2;

/// Arguments of `cargo xtask bench vision`.
#[derive(Args, Debug)]
pub struct VisionBenchArgs {
    /// A model both sides define: vgg11, resnet18, resnet34, densenet121 or resnet18-imagenet
    /// (on 32×32 images).
    #[arg(long, default_value = "resnet18")]
    pub model: String,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Timed steps per run.
    #[arg(long, default_value_t = 6)]
    pub steps: usize,
    /// Untimed steps first (PyTorch's include starting its workers).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Training images, evenly spaced over CIFAR-10's 50,000 (0: all).
    #[arg(long, default_value_t = 5000)]
    pub examples: usize,
    /// Rounds: the programs run alternately this many times.
    #[arg(long, default_value_t = 2)]
    pub repeat: usize,
    /// Torch threads for the model on both sides (the data workers come on top).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Where the tensors live.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Also time pisa-rs with SISA (m = 4 nodes), for reference.
    #[arg(long)]
    pub sisa: bool,
    /// `OMP_WAIT_POLICY=PASSIVE` on both sides: OpenMP threads sleep at once when they wait
    /// instead of spinning first (libgomp's default), which on a machine shared with other load
    /// keeps waiting threads from taking cores from working ones.
    #[arg(long)]
    pub passive_wait: bool,
}

/// Runs `cargo xtask bench vision`.
pub fn run(args: &VisionBenchArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();
    if args.device == Device::Cuda && !torch_sees_cuda(&torch.python)? {
        println!("bench vision: skipped: --device cuda, but PyTorch sees no CUDA device on this machine");
        return Ok(());
    }
    let data = crate::data::cifar10::ensure(&default_data_dir(), None)?;
    build_release(&toolchain, "vision", Target::Bin(BINARY.0))?;
    // the built file itself: a `cargo run` per round would rebuild whatever changed meanwhile
    let program = || -> Result<Command> {
        let mut cmd = Command::new(root.join(BINARY.1));
        cmd.current_dir(root).stdin(Stdio::null());
        toolchain.apply(&mut cmd)?;
        wait_policy(&mut cmd, args.passive_wait);
        Ok(cmd)
    };
    let shared: Vec<String> = [
        ("--model", args.model.clone()),
        ("--batch", args.batch.to_string()),
        ("--steps", args.steps.to_string()),
        ("--warmup", args.warmup.to_string()),
        ("--threads", args.threads.to_string()),
        ("--device", args.device.as_str().to_owned()),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_owned(), v])
    .collect();
    let examples = args.examples.to_string();
    let ours = |optimizer: &str| -> Result<Value> {
        let mut cmd = program()?;
        cmd.args(&shared)
            .args(["--optimizer", optimizer, "--examples", &examples])
            .arg("--data")
            .arg(&data);
        last_json(&stdout_of(&mut cmd)?, "vision-bench")
    };

    // the images of both sides, once
    let tmp = TempDir::new("bench-vision")?;
    let images = tmp.path().join("cifar10-train.bin");
    let mut dump = program()?;
    dump.args(["--examples", &examples])
        .arg("--data")
        .arg(&data)
        .arg("--dump")
        .arg(&images);
    stdout_of(&mut dump)?;
    let theirs = || -> Result<Value> {
        let mut cmd = Command::new(&torch.python);
        cmd.arg(TORCH_SCRIPT)
            .args(&shared)
            .args(["--workers", &TORCH_WORKERS.to_string()])
            .arg("--images")
            .arg(&images)
            .env("OMP_NUM_THREADS", args.threads.to_string())
            .current_dir(root)
            .stdin(Stdio::null());
        wait_policy(&mut cmd, args.passive_wait);
        last_json(&stdout_of(&mut cmd)?, TORCH_SCRIPT)
    };

    let mut records = Vec::new();
    let rounds = args.repeat.max(1);
    for round in 0..rounds {
        eprintln!("xtask: bench vision round {}/{rounds}", round + 1);
        // every other round the other program first: neither always runs on a warmer machine
        let mut runs = Vec::new();
        if round % 2 == 1 {
            runs.push(theirs()?);
        }
        runs.push(ours("sgd")?);
        if args.sisa {
            runs.push(ours("sisa")?);
        }
        if round % 2 == 0 {
            runs.push(theirs()?);
        }
        for mut record in runs {
            record["round"] = json!(round);
            records.push(record);
        }
    }
    let markdown = render(args, &records);
    let jsonl: String = records.iter().map(|r| format!("{r}\n")).collect();
    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    fs::write(out_dir.join("vision.jsonl"), jsonl).context("cannot write vision.jsonl")?;
    fs::write(out_dir.join("vision.md"), &markdown).context("cannot write vision.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/vision.md and {OUT_DIR}/vision.jsonl");
    Ok(())
}

/// Sets `OMP_WAIT_POLICY=PASSIVE` on `cmd` when `passive`; otherwise leaves OpenMP's default.
fn wait_policy(cmd: &mut Command, passive: bool) {
    if passive {
        cmd.env("OMP_WAIT_POLICY", "PASSIVE");
    }
}

/// Whether PyTorch in the venv sees a CUDA device.
fn torch_sees_cuda(python: &Path) -> Result<bool> {
    let mut cmd = Command::new(python);
    cmd.args(["-c", "import torch; print(torch.cuda.is_available())"])
        .stdin(Stdio::null());
    Ok(stdout_of(&mut cmd)?.trim() == "True")
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

/// The images/s of every run of `side` with `optimizer`.
fn rates(records: &[Value], side: &str, optimizer: &str) -> Vec<f64> {
    records
        .iter()
        .filter(|r| r["side"] == side && r["optimizer"] == optimizer)
        .filter_map(|r| r["images_per_s"].as_f64())
        .collect()
}

/// The Markdown table: one row per program (pisa-rs SGD, pisa-rs SISA when run, PyTorch SGD)
/// with images/s mean ± std over the rounds, the final loss of its last run, and the ratio to
/// PyTorch SGD.
fn render(args: &VisionBenchArgs, records: &[Value]) -> String {
    let torch_version = records.iter().find_map(|r| r["torch"].as_str()).unwrap_or("?");
    let mut out = format!(
        "# bench vision: {} on CIFAR-10 ({}), batch {}, {}, {} torch thread(s){}; {} timed steps \
         after {} per run, {} round(s); PyTorch {torch_version}\n\n\
         Data loading included: pisa-rs augments on 1 loader thread, PyTorch in a DataLoader with \
         {TORCH_WORKERS} worker processes (1 torch thread each).\n\n\
         | side | optimizer | images/s | × PyTorch | final loss |\n|---|---|---|---|---|\n",
        args.model,
        match args.examples {
            0 => "all images".to_owned(),
            n => format!("{n} images"),
        },
        args.batch,
        args.device.as_str(),
        args.threads,
        match args.passive_wait {
            true => " with OMP_WAIT_POLICY=PASSIVE",
            false => "",
        },
        args.steps,
        args.warmup,
        args.repeat.max(1),
    );
    let (base, _) = mean_std(&rates(records, "pytorch", "sgd"));
    let mut rows = vec![("pisa-rs", "sgd")];
    if args.sisa {
        rows.push(("pisa-rs", "sisa"));
    }
    rows.push(("pytorch", "sgd"));
    for (side, optimizer) in rows {
        let (mean, sd) = mean_std(&rates(records, side, optimizer));
        let loss = records
            .iter()
            .rev()
            .find(|r| r["side"] == side && r["optimizer"] == optimizer)
            .and_then(|r| r["loss"].as_f64())
            .unwrap_or(f64::NAN);
        let _ = writeln!(
            out,
            "| {side} | {optimizer} | {mean:.1} ± {sd:.1} | {:.3} | {loss:.3} |",
            mean / base
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_standard_deviation() {
        assert_eq!(mean_std(&[2.0, 4.0]), (3.0, 2f64.sqrt()));
        assert_eq!(mean_std(&[5.0]), (5.0, 0.0));
        assert!(mean_std(&[]).0.is_nan());
    }

    #[test]
    fn the_table_averages_rounds_and_divides_by_pytorch() {
        let args = VisionBenchArgs {
            model: "resnet18".into(),
            batch: 128,
            steps: 6,
            warmup: 2,
            examples: 5000,
            repeat: 2,
            threads: 2,
            device: Device::Cpu,
            sisa: true,
            passive_wait: false,
        };
        let rec = |side: &str, optimizer: &str, rate: f64, loss: f64| json!({"side": side, "optimizer": optimizer, "images_per_s": rate, "loss": loss, "torch": "2.11.0"});
        let records = [
            rec("pisa-rs", "sgd", 40.0, 2.5),
            rec("pisa-rs", "sisa", 30.0, 2.4),
            rec("pytorch", "sgd", 38.0, 2.6),
            rec("pytorch", "sgd", 42.0, 2.3),
            rec("pisa-rs", "sgd", 44.0, 2.2),
            rec("pisa-rs", "sisa", 30.0, 2.1),
        ];
        let md = render(&args, &records);
        assert!(md.contains("2 round(s); PyTorch 2.11.0"), "{md}");
        let sd = 8f64.sqrt();
        assert!(
            md.contains(&format!("| pisa-rs | sgd | 42.0 ± {sd:.1} | 1.050 | 2.200 |")),
            "{md}"
        );
        assert!(
            md.contains("| pisa-rs | sisa | 30.0 ± 0.0 | 0.750 | 2.100 |"),
            "{md}"
        );
        assert!(
            md.contains(&format!("| pytorch | sgd | 40.0 ± {sd:.1} | 1.000 | 2.300 |")),
            "{md}"
        );
    }
}
