//! WGAN / WGAN-GP on CIFAR-10 or MNIST with any optimizer of the registry (paper §5.2, Table 4:
//! SISA vs Adam, RMSProp, AdaBelief; FID).
//!
//! ```text
//! cargo xtask data cifar10 && cargo xtask data fid-inception
//! cargo run --release -p gan --bin gan -- train --model wgan-gp --dataset cifar10 --optimizer sisa
//! cargo run --release -p gan --bin gan -- train --model wgan-gp --dataset mnist --optimizer adam \
//!     --epochs 1 --train-images 6400 --fid-samples 500 --fid-real-samples 1000
//! cargo run --release -p gan --bin gan -- sample --run runs/gan-wgan-gp-mnist/adam --n 64
//! # the 2-D toy (8 Gaussians on a ring): what `cargo xtask demo` shows, about a minute on a CPU
//! cargo run --release -p gan --bin gan -- train --dataset ring --optimizer adam --gp-weight 0.1 \
//!     --batch 256 --base 64 --z-dim 16 --epochs 200 --max-steps 4000 --fid-every 10 \
//!     --final-fid-samples 10000 --threads 1   # then see runs/gan-wgan-gp-ring/adam/plots/ring.png
//! ```
//!
//! Phases per generator iteration: seed → n_critic critic iterations (real batch, noise, fake
//! batch, one outer optimizer iteration over the m nodes; WGAN clips the aggregated critic) →
//! one generator iteration on the last critic noise → log. At each epoch end: a sample grid of
//! a fixed noise batch (`plots/samples-epoch-NNNN.png` and TensorBoard `samples`), FID every
//! `--fid-every` epochs, a checkpoint. The paper's protocol is FID every 10 epochs on 6,400
//! fakes against the real set, final FID on 64,000 (the defaults); the common protocol is
//! `--final-fid-samples 50000 --fid-reference train`.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use gan::model::Generator;
use gan::ring::{mode_coverage, scatter, MlpGenerator, RingSpec, MIN_SHARE};
use gan::run::{save_grid, RunSpec, TrainConfig};
use runs::checkpoint;
use runs::cli::in_range;
use runs::session::RunArgs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

#[derive(Parser, Debug)]
#[command(about = "WGAN / WGAN-GP with pisa-rs optimizers, FID, sample grids")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a GAN (one run).
    Train(Box<TrainArgs>),
    /// Write an image grid from a run's latest (or a given) checkpoint.
    Sample(SampleArgs),
    /// FID curves (mean ± std), box plot of final FIDs and a table for runs `<opt>-seed<k>`.
    Compare(CompareArgs),
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// The domain folder holding the runs (e.g. runs/gan-wgan-gp-mnist).
    #[arg(long)]
    dir: PathBuf,
    /// Comma-separated optimizers [default: every `<group>-seed<k>` run in --dir].
    #[arg(long, value_delimiter = ',')]
    optimizers: Vec<String>,
    /// Runs (seeds 0..N) per optimizer, 1 to 10⁴.
    #[arg(long, default_value_t = 1, value_parser = in_range(1u64, 10_000))]
    runs: u64,
}

#[derive(Args, Debug, Clone)]
struct TrainArgs {
    /// Optimizer of both networks (default sisa; presets of the registry domain `wgan` /
    /// `wgan-gp`), run folder (`--domain` default: gan-<model>-<dataset>), seed, device.
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    config: TrainConfig,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// A run folder (its latest checkpoint is used).
    #[arg(long, conflicts_with = "checkpoint")]
    run: Option<PathBuf>,
    /// A checkpoint folder `runs/<domain>/<name>/checkpoints/generator/step-N`.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Number of images, 1 to 10⁴.
    #[arg(long, default_value_t = 64, value_parser = in_range(1usize, 10_000))]
    n: usize,
    /// Output PNG [default: <run>/plots/samples-step-N.png].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Noise seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn sample(args: SampleArgs) -> Result<()> {
    let gpath = match (&args.run, &args.checkpoint) {
        (Some(run), _) => {
            let dir = run.join("checkpoints").join("generator");
            checkpoint::latest(&dir)?.with_context(|| format!("no checkpoint in {}", dir.display()))?
        }
        (None, Some(c)) => c.clone(),
        (None, None) => bail!("give --run <run folder> or --checkpoint <checkpoints/generator/step-N>"),
    };
    // <run>/checkpoints/generator/step-N → <run>
    let run_dir = gpath
        .ancestors()
        .nth(3)
        .context("checkpoint path is not <run>/checkpoints/generator/step-N")?;
    let spec_path = run_dir.join("gan.json");
    let text = std::fs::read_to_string(&spec_path)
        .with_context(|| format!("cannot read {}", spec_path.display()))?;
    if let Ok(ring) = serde_json::from_str::<RingSpec>(&text) {
        return sample_ring(&ring, &gpath, run_dir, args);
    }
    let spec: RunSpec = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a gan run spec", spec_path.display()))?;
    let mut vs = VarStore::new(Device::Cpu);
    let generator = Generator::new(&vs.root(), &spec.model);
    let model = gpath.join("model.safetensors");
    vs.load(&model)
        .with_context(|| format!("cannot load {}", model.display()))?;
    tch::manual_seed(args.seed as i64);
    let z = Tensor::randn(
        [args.n.max(1) as i64, spec.model.z_dim],
        (Kind::Float, Device::Cpu),
    );
    let step = gpath
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("step")
        .to_string();
    let out = args
        .out
        .unwrap_or_else(|| run_dir.join("plots").join(format!("samples-{step}.png")));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    save_grid(&generator, &z, &out, None)?;
    println!("{}", out.display());
    Ok(())
}

/// `gan sample` for a `--dataset ring` run: a scatter picture of `--n` generated points over as
/// many real ones.
fn sample_ring(spec: &RingSpec, gpath: &Path, run_dir: &Path, args: SampleArgs) -> Result<()> {
    let mut vs = VarStore::new(Device::Cpu);
    let generator = MlpGenerator::new(&vs.root(), spec.z_dim, spec.width);
    let model = gpath.join("model.safetensors");
    vs.load(&model)
        .with_context(|| format!("cannot load {}", model.display()))?;
    tch::manual_seed(args.seed as i64);
    let n = args.n.max(1);
    let real = spec.ring.sample(n, Device::Cpu);
    let z = Tensor::randn([n as i64, spec.z_dim], (Kind::Float, Device::Cpu));
    let fake = tch::no_grad(|| generator.forward_t(&z, false));
    let m = mode_coverage(&fake, &spec.ring, MIN_SHARE);
    let step = gpath.file_name().and_then(|n| n.to_str()).unwrap_or("step");
    let out = args
        .out
        .unwrap_or_else(|| run_dir.join("plots").join(format!("ring-{step}.png")));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    scatter(&real, &fake, &spec.ring).save_png(&out)?;
    eprintln!(
        "{}/{} modes covered, {:.1} % high-quality samples",
        m.modes_covered,
        m.modes,
        100.0 * m.high_quality
    );
    println!("{}", out.display());
    Ok(())
}

fn compare(args: CompareArgs) -> Result<()> {
    use report::compare::{compare, discover};
    let groups = if args.optimizers.is_empty() {
        discover(&args.dir)?
    } else {
        let seeds: Vec<u64> = (0..args.runs).collect();
        args.optimizers
            .iter()
            .map(|o| (o.clone(), seeds.clone()))
            .collect()
    };
    let written = compare(&args.dir, &groups, "fid", "epoch", report::plot::Goal::Minimize)?;
    println!("{}", written.markdown.display());
    for p in &written.plots {
        println!("{}", p.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    runs::cli::exit(run())
}

fn run() -> Result<()> {
    match Cli::parse().command {
        Command::Train(args) => {
            gan::run::train(&args.config, &args.run)?;
            Ok(())
        }
        Command::Sample(args) => sample(args),
        Command::Compare(args) => compare(args),
    }
}
