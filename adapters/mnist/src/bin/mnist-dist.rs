//! `mnist-dist`: the MNIST CNN's training iteration with its m nodes spread over MPI ranks, on a
//! fixed synthetic batch (no dataset needed): time per iteration for `cargo xtask bench dist`,
//! and a digest of the final weights for the bit-identity test (`tests/dist.rs`).
//!
//! ```text
//! cargo build --release -p mnist --features mpi --bin mnist-dist
//! cargo xtask launch --nproc 2 -- target/release/mnist-dist --optimizer sisa --nodes 4 --iters 20
//! ```
//!
//! Every rank builds the same batch and initial weights from `--seed`; rank r evaluates the
//! slices of the batch that belong to its nodes only (contiguous, as in `mnist`), so the work per
//! iteration is fixed and split over the ranks. Rank 0 prints one JSON line.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use mnist::model::Cnn;
use pisa_core::collective::{self, Ranks, Reduction};
use pisa_core::Optimizer;
use runs::cli::in_range;
use runs::nodes::NodeSplit;
use runs::registry::Registry;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

#[derive(Parser, Debug)]
#[command(
    about = "The MNIST CNN's training iteration over MPI ranks: time per iteration and a weight digest"
)]
struct Args {
    /// Optimizer (registry name; MNIST presets).
    #[arg(long, default_value = "sisa")]
    optimizer: String,
    /// Nodes m (a multiple of the number of ranks).
    #[arg(long, default_value_t = 4, value_parser = in_range(1usize, 1024))]
    nodes: usize,
    /// Examples per iteration, split over the nodes.
    #[arg(long, default_value_t = 256, value_parser = in_range(1i64, 1 << 20))]
    batch: i64,
    /// Timed iterations.
    #[arg(long, default_value_t = 20, value_parser = in_range(1u64, 1_000_000))]
    iters: u64,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 3, value_parser = in_range(0u64, 1_000_000))]
    warmup: u64,
    /// How the ranks sum the aggregation.
    #[arg(long, default_value = "all-reduce")]
    reduction: Reduction,
    /// Torch intra-op threads per rank.
    #[arg(long, default_value_t = 1, value_parser = in_range(1i32, 1024))]
    threads: i32,
    /// Seed of the batch and the initial weights.
    #[arg(long, default_value_t = 0)]
    seed: i64,
}

/// A 64-bit FNV-1a hash of every weight's bits (variables in name order), as hex: equal digests
/// mean bit-identical weights.
fn digest(vars: &[(String, Tensor)]) -> Result<String> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, t) in vars {
        let values = Vec::<f32>::try_from(t.reshape([-1]))?;
        for byte in name
            .bytes()
            .chain(values.iter().flat_map(|v| v.to_bits().to_le_bytes()))
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(format!("{hash:016x}"))
}

fn main() -> ExitCode {
    runs::cli::exit(run(Args::parse()))
}

fn run(args: Args) -> Result<()> {
    tch::set_num_threads(args.threads);
    let world = collective::from_launcher()?;
    let (rank, ranks_count) = world.as_ref().map_or((0, 1), |w| (w.rank(), w.world()));
    ensure!(
        args.batch as usize >= args.nodes,
        "--batch {} is smaller than --nodes {}",
        args.batch,
        args.nodes
    );

    tch::manual_seed(args.seed);
    let x = Tensor::randn([args.batch, 1, 28, 28], (Kind::Float, Device::Cpu));
    let y = Tensor::randint(10, [args.batch], (Kind::Int64, Device::Cpu));
    let vs = nn::VarStore::new(Device::Cpu);
    let net = Cnn::new(&vs.root());
    let mut overrides = toml::Table::new();
    overrides.insert("nodes".into(), (args.nodes as i64).into());
    let config = Registry::builtin()
        .resolve("mnist", &args.optimizer, &overrides)
        .context("the optimizer's settings")?;
    let mut opt = config.build(&vs)?;
    if let Some(comm) = world {
        opt.distribute(Ranks::new(comm, args.nodes, args.reduction)?)?;
    }
    let split = NodeSplit::contiguous(args.batch as usize, args.nodes)?;
    let step = |opt: &mut Box<dyn Optimizer>| -> Result<f64> {
        let report = opt.step(&mut |i| {
            net.forward_t(&split.slice(&x, 0, i), true)
                .cross_entropy_for_logits(&split.slice(&y, 0, i))
        })?;
        Ok(report.weighted_loss(opt.node_weights()))
    };
    for _ in 0..args.warmup {
        step(&mut opt)?;
    }
    let start = Instant::now();
    let mut loss = f64::NAN;
    for _ in 0..args.iters {
        loss = step(&mut opt)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    if rank != 0 {
        return Ok(());
    }
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let params: i64 = vars.iter().map(|(_, t)| t.numel() as i64).sum();
    // What each rank hands the collectives per iteration: the f32 accumulator (the α-weighted
    // gradient sum for baselines) in the all-reduce, or passed on and broadcast in the ordered
    // reduction; plus the vote and the node losses (8 bytes each).
    let payload = match ranks_count {
        1 => 0,
        _ => params * 4 + 8 * (1 + args.nodes as i64),
    };
    let record = serde_json::json!({
        "side": "pisa-rs",
        "optimizer": args.optimizer,
        "nodes": args.nodes,
        "ranks": ranks_count,
        "batch": args.batch,
        "threads": args.threads,
        "reduction": format!("{:?}", args.reduction),
        "iters": args.iters,
        "s_per_iter": seconds / args.iters as f64,
        "iters_per_s": args.iters as f64 / seconds,
        "params": params,
        "payload_bytes_per_iter": payload,
        "loss": loss,
        "weights": digest(&vars)?,
    });
    println!("{record}");
    Ok(())
}
