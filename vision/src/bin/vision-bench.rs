//! `vision-bench`: the pisa-rs side of `cargo xtask bench vision` (beside `bench/vision_torch.py`):
//! training images per second of a vision model on CIFAR-10, data loading included.
//!
//! ```text
//! cargo run --release -p vision --bin vision-bench -- --model resnet18 --steps 6 --warmup 2 --threads 2
//! ```
//!
//! prints one JSON line such as `{"side": "pisa-rs", "model": "resnet18", "optimizer": "sgd",
//! "images_per_s": 20.3, "seconds": 37.9, "wait_s": 0.01, "loss": 5.93, ...}` (resnet18 with 2
//! threads on a 2-core machine shared with other builds; `wait_s`: the timed steps' wait for
//! their batches).
//!
//! seed → data → model → optimizer → warm-up → timed steps → JSON:
//! - data: CIFAR-10's training images (`datasets::images::load_cifar10`: the binary batches or the
//!   JPEG tree of `cargo xtask data cifar10`), `--examples` of them evenly spaced over the set
//!   (the JPEG tree is sorted by class, so every class gets its share), as `u8` pixels; a
//!   [`Loader`] worker thread shuffles, augments (`Augment::CIFAR`: pad-4 random crop, flip) and
//!   normalizes (`CIFAR10_NORMALIZE`) the next batches while the model trains;
//! - model: `--model` (`ModelName`, 10 classes), batch norm in training mode;
//! - optimizer: the registry's preset for the model (`vision/<model>`, as `vision train` takes
//!   it): `sgd` with lr 0.1, momentum 0.9, weight decay 5e-4 (pytorch-cifar's, `torch.optim.SGD`'s
//!   semantics), or `sisa` (Table A.1) with m = 4 nodes that each take a contiguous quarter of the
//!   batch (`NodeSplit`), or any other registry optimizer;
//! - timing: `--warmup` untimed steps, then `--steps` steps timed whole, from the wait for the
//!   step's batch to the update (the loss is read each step, which waits for the device).
//!
//! `--dump FILE` instead writes the selected images as CIFAR-10 binary records (one label byte,
//! then 3 × 32 × 32 pixel bytes, R, G, B planes) and exits: the PyTorch side reads that file, so
//! both sides train on the same bytes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use datasets::images::{load_cifar10, Split};
use datasets::DatasetName;
use runs::cli::in_range;
use runs::nodes::NodeSplit;
use runs::registry::Registry;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Tensor};
use vision::data::{Augment, Batch, EpochPlan, Images, Loader, CIFAR10_NORMALIZE};
use vision::models::ModelName;

/// CIFAR-10's classes.
const CLASSES: i64 = 10;
/// Bytes of one CIFAR-10 binary record: the label, then the CHW pixels.
const RECORD: usize = 1 + 3 * 32 * 32;

/// Training images/s of a vision model on CIFAR-10 (one JSON line).
#[derive(Parser, Debug)]
#[command(name = "vision-bench")]
struct Args {
    /// vgg11, resnet18, resnet34, densenet121 or resnet18-imagenet (all on 32×32 images).
    #[arg(long, default_value = "resnet18")]
    model: ModelName,
    /// Registry name, with the model's `vision/<model>` preset: sgd (lr 0.1, momentum 0.9, weight
    /// decay 5e-4), sisa (m = 4 nodes), ...
    #[arg(long, default_value = "sgd")]
    optimizer: String,
    /// The CIFAR-10 folder [default: $PISA_DATA_DIR/cifar10 or data/cifar10].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Training images used, evenly spaced over the 50,000 (0: all), at least one batch.
    #[arg(long, default_value_t = 5000, value_parser = in_range(0usize, 1_000_000))]
    examples: usize,
    /// Images per step, 1 to 65536.
    #[arg(long, default_value_t = 128, value_parser = in_range(1usize, 65536))]
    batch: usize,
    /// Untimed steps first, 0 to 10⁶.
    #[arg(long, default_value_t = 2, value_parser = in_range(0usize, 1_000_000))]
    warmup: usize,
    /// Timed steps, 1 to 10⁶.
    #[arg(long, default_value_t = 6, value_parser = in_range(1usize, 1_000_000))]
    steps: usize,
    /// Torch intra-op threads (0: libtorch's default), 0 to 1024. The loader adds one thread.
    #[arg(long, default_value_t = 0, value_parser = in_range(0usize, 1024))]
    threads: usize,
    /// Batches the loader keeps ready, 1 to 64.
    #[arg(long, default_value_t = 2, value_parser = in_range(1usize, 64))]
    ahead: usize,
    /// cpu, cuda or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seed of the weights, the shuffles and the augmentation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the selected images as CIFAR-10 binary records to this file and exit.
    #[arg(long, value_name = "FILE")]
    dump: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    runs::cli::exit(run(&Args::parse()))
}

fn run(args: &Args) -> Result<()> {
    // seed
    if args.threads > 0 {
        tch::set_num_threads(args.threads as i32);
    }
    tch::manual_seed(args.seed as i64);
    let device = runs::device::parse_device(&args.device)?;

    // data
    let dir = args
        .data
        .clone()
        .unwrap_or_else(|| DatasetName::Cifar10.default_dir());
    let (pixels, labels) = load_examples(&dir, args.examples)?;
    if let Some(path) = &args.dump {
        return dump(path, &pixels, &labels);
    }
    let images = Images::from_tensors(&pixels, &labels)?;
    ensure!(
        images.len() >= args.batch,
        "--examples: {} images is less than one batch of {}",
        images.len(),
        args.batch
    );
    let mut batches = Batches::new(images.clone(), args);

    // model → optimizer
    let vs = VarStore::new(device);
    let net = args.model.build(&vs.root(), CLASSES);
    let domain = format!("vision/{}", args.model);
    let opt_cfg = Registry::builtin().resolve(&domain, &args.optimizer, &toml::Table::new())?;
    let nodes = opt_cfg.base.nodes();
    let mut opt = opt_cfg.build(&vs)?;
    let split = NodeSplit::contiguous(args.batch, nodes)?;
    let mut train_step = |batch: Batch| -> Result<f64> {
        let (x, y) = (batch.x.to_device(device), batch.y.to_device(device));
        let report = opt.step(&mut |i| {
            net.forward_t(&split.slice(&x, 0, i), true)
                .cross_entropy_for_logits(&split.slice(&y, 0, i))
        })?;
        Ok(report.weighted_loss(opt.node_weights()))
    };

    // warm-up, then the timed steps
    for _ in 0..args.warmup {
        train_step(batches.next())?;
    }
    synchronize(device);
    let (start, mut wait_s, mut loss) = (Instant::now(), 0.0, f64::NAN);
    for _ in 0..args.steps {
        let waiting = Instant::now();
        let batch = batches.next();
        wait_s += waiting.elapsed().as_secs_f64();
        loss = train_step(batch)?;
    }
    synchronize(device);
    let seconds = start.elapsed().as_secs_f64();

    let record = serde_json::json!({
        "side": "pisa-rs",
        "model": args.model.as_str(),
        "optimizer": args.optimizer,
        "nodes": nodes,
        "device": args.device,
        "threads": tch::get_num_threads(),
        "loader_threads": 1,
        "batch": args.batch,
        "examples": images.len(),
        "warmup": args.warmup,
        "steps": args.steps,
        "seconds": seconds,
        "wait_s": wait_s,
        "images_per_s": (args.steps * args.batch) as f64 / seconds,
        "loss": loss,
    });
    println!("{record}");
    Ok(())
}

/// CIFAR-10's training pixels (`u8 [N, 3, 32, 32]`) and labels (`i64 [N]`) from `dir`, `examples`
/// of them evenly spaced (image ⌊k · total / examples⌋ for k = 0 … examples − 1), or all for 0.
fn load_examples(dir: &Path, examples: usize) -> Result<(Tensor, Tensor)> {
    let set = load_cifar10(dir, Split::Train)
        .with_context(|| format!("CIFAR-10 training images from {}", dir.display()))?;
    let labels = set.labels.context("the CIFAR-10 images came without labels")?;
    let total = set.images.size()[0];
    let n = match examples {
        0 => total,
        n => (n as i64).min(total),
    };
    let ids: Vec<i64> = (0..n).map(|k| k * total / n).collect();
    let ids = Tensor::from_slice(&ids);
    Ok((set.images.index_select(0, &ids), labels.index_select(0, &ids)))
}

/// Writes `pixels` (`u8 [N, 3, 32, 32]`) and `labels` as CIFAR-10 binary records to `path`.
fn dump(path: &Path, pixels: &Tensor, labels: &Tensor) -> Result<()> {
    ensure!(
        pixels.size()[1..] == [3, 32, 32],
        "images of shape {:?}, not [N, 3, 32, 32]",
        pixels.size()
    );
    let pixels = Vec::<u8>::try_from(pixels.contiguous().view([-1]))?;
    let labels = Vec::<i64>::try_from(labels)?;
    let mut bytes = Vec::with_capacity(labels.len() * RECORD);
    for (label, image) in labels.iter().zip(pixels.chunks_exact(RECORD - 1)) {
        bytes.push(u8::try_from(*label).context("a label beyond 255")?);
        bytes.extend_from_slice(image);
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "vision-bench: wrote {} images to {}",
        labels.len(),
        path.display()
    );
    Ok(())
}

/// Waits for the device's queued work (CUDA); nothing on the CPU.
fn synchronize(device: Device) {
    if let Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}

/// Training batches without end: epoch after epoch of the loader, each epoch shuffled and
/// augmented anew.
struct Batches {
    images: Images,
    plan: EpochPlan,
    ahead: usize,
    loader: Loader,
}

impl Batches {
    fn new(images: Images, args: &Args) -> Self {
        let plan = EpochPlan {
            batch: args.batch,
            seed: args.seed,
            epoch: 0,
            shuffle: true,
            augment: Some(Augment::CIFAR),
            normalize: CIFAR10_NORMALIZE,
            drop_last: true,
        };
        let loader = Loader::start(&images, plan, args.ahead);
        Batches {
            images,
            plan,
            ahead: args.ahead,
            loader,
        }
    }

    /// The next batch, starting the next epoch when this one is done (every epoch has at least
    /// one batch: the caller checks that there is a batch's worth of images).
    fn next(&mut self) -> Batch {
        loop {
            if let Some(batch) = self.loader.next() {
                return batch;
            }
            self.plan.epoch += 1;
            self.loader = Loader::start(&self.images, self.plan, self.ahead);
        }
    }
}
