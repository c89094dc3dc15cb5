//! Optimizer-step benchmark: time per step and persistent state of pisa-core's optimizers on
//! parameter sets shaped like real models.
//!
//! Run through `cargo xtask bench optim`, which runs PyTorch's `torch.optim.AdamW` (foreach and
//! fused) on the same shapes in the same invocation and prints the ratios. Directly:
//!
//! ```text
//! cargo run --release -p pisa-core --example bench_optim -- --shapes bench/shapes.json --device cpu
//! ```
//!
//! Prints one JSON line per (shape set, optimizer): `{"impl": "pisa-rs", "optimizer": ..., "nodes":
//! m, "shape_set": ..., "device": ..., "params": ..., "ms_per_step": median, "ms_min": ...,
//! "state_bytes": ..., "steps": ...}`. A step is the whole m-node iteration (begin, m node steps
//! reading gradients already in place, aggregation), which is what `optimizer.step()` times in
//! PyTorch.

use anyhow::{bail, Context, Result};
use clap::Parser;
use pisa_core::{Optimizer, OptimizerConfig};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

#[derive(Parser)]
#[command(about = "Time pisa-core optimizer steps on model-shaped parameter sets (JSON lines out)")]
struct Args {
    /// JSON file mapping shape-set names to lists of parameter shapes.
    #[arg(long, default_value = "bench/shapes.json")]
    shapes: String,
    /// `cpu` or `cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Fewer timed steps (a smoke run).
    #[arg(long)]
    quick: bool,
    /// Only these shape sets (comma-separated); default all.
    #[arg(long)]
    only: Option<String>,
}

/// The optimizers timed, as registry configurations.
fn contenders() -> Vec<(&'static str, usize, serde_json::Value)> {
    vec![
        ("sisa", 1, json!({"name": "sisa", "sigma": 0.1, "lr": 1e-3})),
        (
            "sisa",
            4,
            json!({"name": "sisa", "nodes": 4, "sigma": 0.1, "lr": 1e-3}),
        ),
        ("nsisa", 1, json!({"name": "nsisa", "sigma": 80.0, "rho": 100.0})),
        ("adamw", 1, json!({"name": "adamw", "lr": 1e-3})),
    ]
}

fn main() -> Result<()> {
    let args = Args::parse();
    let device = match args.device.as_str() {
        "cpu" => Device::Cpu,
        "cuda" if tch::Cuda::is_available() => Device::Cuda(0),
        "cuda" => bail!("--device cuda: CUDA is not available to libtorch on this machine"),
        other => bail!("--device {other}: expected cpu or cuda"),
    };
    let text = std::fs::read_to_string(&args.shapes).with_context(|| format!("reading {}", args.shapes))?;
    let sets: BTreeMap<String, Vec<Vec<i64>>> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", args.shapes))?;
    let only: Option<Vec<&str>> = args.only.as_deref().map(|s| s.split(',').collect());
    for (set, shapes) in &sets {
        if only.as_ref().is_some_and(|o| !o.contains(&set.as_str())) {
            continue;
        }
        let params: i64 = shapes.iter().map(|s| s.iter().product::<i64>()).sum();
        // Large sets take long per step on CPU: fewer steps there.
        let steps = match (args.quick, params > 10_000_000) {
            (true, _) => 3,
            (false, true) => 10,
            (false, false) => 50,
        };
        for (name, nodes, cfg) in contenders() {
            // Newton–Schulz on a 50257×768 embedding costs ~300 GFLOP per step: hours on a CPU.
            if name == "nsisa" && device == Device::Cpu && params > 10_000_000 {
                eprintln!("skipping nsisa on {set} on the CPU (Newton–Schulz matmuls dominate)");
                continue;
            }
            let (times, state_bytes) = time_optimizer(&cfg, shapes, device, steps)?;
            let line = json!({
                "impl": "pisa-rs", "optimizer": name, "nodes": nodes, "shape_set": set,
                "device": args.device, "params": params, "ms_per_step": median(&times),
                "ms_min": times.iter().cloned().fold(f64::INFINITY, f64::min),
                "state_bytes": state_bytes, "steps": steps,
            });
            println!("{line}");
        }
    }
    Ok(())
}

/// Builds `cfg` over fresh parameters of `shapes` with gradients in place and times `steps`
/// iterations after two warm-up iterations. Returns the times (ms) and the state bytes.
fn time_optimizer(
    cfg: &serde_json::Value,
    shapes: &[Vec<i64>],
    device: Device,
    steps: usize,
) -> Result<(Vec<f64>, usize)> {
    tch::manual_seed(0);
    let vars: Vec<(String, Tensor)> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let t = (Tensor::randn(s.as_slice(), (Kind::Float, device)) * 0.02).set_requires_grad(true);
            (format!("p{i:03}"), t)
        })
        .collect();
    let grads: Vec<Tensor> = shapes
        .iter()
        .map(|s| Tensor::randn(s.as_slice(), (Kind::Float, device)) * 1e-3)
        .collect();
    let handles: Vec<Tensor> = vars.iter().map(|(_, t)| t.shallow_clone()).collect();
    let mut opt = OptimizerConfig::from_value(cfg.clone())?.build_named(vars)?;
    // One backward pass puts the gradients in place (they become views of the flat buffer at
    // the first node step and then stay there: no zero_grad between timed steps).
    let loss = handles
        .iter()
        .zip(&grads)
        .map(|(p, g)| (p * g).sum(Kind::Float))
        .fold(Tensor::zeros([], (Kind::Float, device)), |a, b| a + b);
    loss.backward();
    for _ in 0..2 {
        iterate(opt.as_mut())?;
    }
    let mut times = Vec::with_capacity(steps);
    for _ in 0..steps {
        sync(device);
        let start = Instant::now();
        iterate(opt.as_mut())?;
        sync(device);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok((times, opt.footprint().bytes))
}

/// One outer iteration with the gradients already in place.
fn iterate(opt: &mut dyn Optimizer) -> Result<()> {
    opt.begin_iteration()?;
    for i in 0..opt.node_weights().len() {
        opt.node_step(i)?;
    }
    opt.end_iteration()?;
    Ok(())
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
