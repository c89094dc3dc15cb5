//! `bench llm`: the pisa-rs side of `cargo xtask bench llm` (beside `gpt2_torch.py`). The loop
//! is written out (not `Optimizer::step`) to time `node_step` and `end_iteration` apart from the
//! forward and backward passes.

use runs::cli::in_range;
use std::time::Instant;

use anyhow::Result;
use llm::model::init_weights;
use llm::{Gpt2, Gpt2Config};
use runs::device::parse_device;
use tch::nn::VarStore;
use tch::Kind;

/// `bench llm`: GPT-2 training steps per optimizer (tokens/s, optimizer share, state).
#[derive(clap::Args, Debug)]
pub struct LlmArgs {
    /// Model preset.
    #[arg(long, default_value = "tiny")]
    preset: String,
    /// Optimizers, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "adamw,muon,nsisa")]
    optimizers: Vec<String>,
    /// Sequences per step, 1 to 65536.
    #[arg(long, default_value_t = 8, value_parser = in_range(1usize, 65536))]
    batch: usize,
    /// Sequence length, 1 to 2²⁰ (at most the preset's context).
    #[arg(long, default_value_t = 128, value_parser = in_range(1usize, 1048576))]
    seq: usize,
    /// Timed steps (after 2 warm-up steps), 1 to 10⁶.
    #[arg(long, default_value_t = 10, value_parser = in_range(1usize, 1000000))]
    steps: usize,
    /// PISA nodes for the PISA family, 1 to 1024.
    #[arg(long, default_value_t = 1, value_parser = in_range(1usize, 1024))]
    nodes: usize,
    /// cpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    device: String,
    /// bf16 matrix products.
    #[arg(long)]
    bf16: bool,
    /// Torch intra-op threads (0: torch's default), 0 to 1024.
    #[arg(long, default_value_t = 0, value_parser = in_range(0i32, 1024))]
    threads: i32,
}

/// Runs `bench llm`: one JSON line per optimizer.
pub fn run(args: &LlmArgs) -> Result<()> {
    if args.threads > 0 {
        tch::set_num_threads(args.threads);
    }
    let device = parse_device(&args.device)?;
    let config = Gpt2Config::preset(&args.preset)?;
    let registry = runs::registry::Registry::builtin();
    let tokens = (args.batch * args.seq) as f64;
    for name in &args.optimizers {
        let mut vs = VarStore::new(device);
        let mut model = Gpt2::new(&vs.root(), &config)?;
        init_weights(&vs, &config, 0)?;
        if args.bf16 {
            model.set_compute_kind(Some(Kind::BFloat16));
        }
        let setup = llm::optim::OptimSetup {
            domain: llm::optim::PRETRAIN_DOMAIN.into(),
            optimizer: name.clone(),
            overrides: toml::Table::new(),
            nodes: Some(if matches!(name.as_str(), "nsisa" | "sisa" | "pisa") {
                args.nodes
            } else {
                1
            }),
            steps: 1_000_000,
            warmup: 0,
            warmdown: 0,
            groups: true,
        };
        let mut opt = llm::optim::build_config(&registry, &setup)?.build(&vs)?;
        let _ = &mut vs;
        let m = opt.node_weights().len();
        let per_node = (args.batch / m).max(1);
        let data =
            llm::shards::TokenData::new((0..200_000u32).map(|i| ((i * 7919) % 50257) as u16).collect());
        let (mut step_s, mut opt_s) = (Vec::new(), Vec::new());
        for step in 0..args.steps + 2 {
            let t0 = Instant::now();
            let mut o = 0.0;
            opt.begin_iteration()?;
            for i in 0..m {
                opt.zero_grad()?;
                let b = data.sample(per_node, args.seq, 0, step as u64, i as u64, device)?;
                model.loss(&b.x, &b.y, true).backward();
                if let tch::Device::Cuda(d) = device {
                    tch::Cuda::synchronize(d as i64);
                }
                let t = Instant::now();
                opt.node_step(i)?;
                if let tch::Device::Cuda(d) = device {
                    tch::Cuda::synchronize(d as i64);
                }
                o += t.elapsed().as_secs_f64();
            }
            let t = Instant::now();
            opt.end_iteration()?;
            if let tch::Device::Cuda(d) = device {
                tch::Cuda::synchronize(d as i64);
            }
            o += t.elapsed().as_secs_f64();
            if step >= 2 {
                step_s.push(t0.elapsed().as_secs_f64());
                opt_s.push(o);
            }
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (s, o) = (med(&mut step_s), med(&mut opt_s));
        let fp = opt.footprint();
        println!(
            "{}",
            serde_json::json!({
                "impl": "pisa-rs", "optimizer": name, "nodes": m, "preset": args.preset,
                "params": config.num_params(), "batch": args.batch, "seq": args.seq,
                "device": format!("{device:?}"), "step_ms": s * 1e3, "opt_ms": o * 1e3,
                "opt_share": o / s, "tokens_per_s": tokens / s,
                "state_bytes": fp.bytes, "state_buffers": fp.buffers(),
            })
        );
    }
    Ok(())
}
