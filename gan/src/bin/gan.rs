//! WGAN / WGAN-GP on CIFAR-10 or MNIST with any optimizer of the registry (paper §5.2, Table 4:
//! SISA vs Adam, RMSProp, AdaBelief; FID).
//!
//! ```text
//! cargo xtask data cifar10 && cargo xtask data fid-inception
//! cargo run --release -p gan --bin gan -- train --model wgan-gp --dataset cifar10 --optimizer sisa
//! cargo run --release -p gan --bin gan -- train --model wgan-gp --dataset mnist --optimizer adam \
//!     --epochs 1 --train-images 6400 --fid-samples 500 --fid-real-samples 1000
//! cargo run --release -p gan --bin gan -- sample --run runs/gan-wgan-gp-mnist/adam --n 64
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
use clap::{Args, Parser, Subcommand, ValueEnum};
use gan::data::{self, ImageSet, Split};
use gan::fid::{self, FeatureStats, RefStats};
use gan::inception::{self, Inception};
use gan::model::{Critic, CriticNorm, Generator, ModelConfig};
use gan::train::{critic_iteration, generator_iteration, GanSettings, Variant};
use gan::GanError;
use runs::checkpoint::{self, step_seed};
use runs::session::{Domain, RunArgs, Session};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
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
    /// Comma-separated optimizers.
    #[arg(long, value_delimiter = ',')]
    optimizers: Vec<String>,
    /// Runs (seeds 0..N) per optimizer.
    #[arg(long, default_value_t = 1)]
    runs: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum DatasetName {
    /// CIFAR-10 (binary batches or the JPEG tree of `cargo xtask data cifar10`).
    Cifar10,
    /// MNIST (IDX files of `cargo xtask data mnist`), zero-padded to 32×32.
    Mnist,
    /// Any class-per-folder image tree given with --data.
    Folder,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ModelName {
    /// WGAN with weight clipping.
    Wgan,
    /// WGAN with gradient penalty.
    WganGp,
}

#[derive(Args, Debug, Clone, Serialize, Deserialize)]
struct TrainArgs {
    /// Optimizer of both networks (default sisa; presets of the registry domain `wgan` /
    /// `wgan-gp`), run folder (`--domain` default: gan-<model>-<dataset>), seed, device.
    #[command(flatten)]
    #[serde(flatten)]
    run: RunArgs,
    /// wgan or wgan-gp.
    #[arg(long, value_enum, default_value = "wgan-gp")]
    model: ModelName,
    /// cifar10, mnist or folder.
    #[arg(long, value_enum, default_value = "cifar10")]
    dataset: DatasetName,
    /// Dataset location [default: DATA_DIR/cifar10 or DATA_DIR/mnist].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Image side: 64 (the paper's upsampled CIFAR-10) or 32 (native; the MNIST default).
    #[arg(long)]
    image_size: Option<i64>,
    /// Base channel width of both networks (64 in the paper).
    #[arg(long, default_value_t = 64)]
    base: i64,
    /// Noise dimension.
    #[arg(long, default_value_t = 100)]
    z_dim: i64,
    /// Images per critic iteration (split over the optimizer's nodes).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Epochs (one epoch = the training set once through the critic).
    #[arg(long, default_value_t = 100)]
    epochs: u64,
    /// Use only the first N training images (0: all); makes epochs short on a CPU.
    #[arg(long, default_value_t = 0)]
    train_images: usize,
    /// Stop after this many generator iterations (0: no limit).
    #[arg(long, default_value_t = 0)]
    max_steps: u64,
    /// Critic iterations per generator iteration (5 in the WGAN papers, 1 in the PISA code).
    #[arg(long, default_value_t = 5)]
    n_critic: u64,
    /// WGAN weight-clipping bound.
    #[arg(long, default_value_t = 0.01)]
    clip: f64,
    /// WGAN-GP penalty weight.
    #[arg(long, default_value_t = 10.0)]
    gp_weight: f64,
    /// FID every this many epochs (0: only the final FID).
    #[arg(long, default_value_t = 10)]
    fid_every: u64,
    /// Generated images per FID during training (paper: 6,400).
    #[arg(long, default_value_t = 6400)]
    fid_samples: usize,
    /// Generated images for the final FID (paper: 64,000; common: 50,000; 0: none).
    #[arg(long, default_value_t = 64000)]
    final_fid_samples: usize,
    /// Real images of the reference statistics (0: the whole reference split).
    #[arg(long, default_value_t = 0)]
    fid_real_samples: usize,
    /// Reference split of the FID: train (the paper's "real set" and the common protocol) or test.
    #[arg(long, default_value = "train")]
    fid_reference: String,
    /// Images per Inception forward pass.
    #[arg(long, default_value_t = 50)]
    fid_batch: usize,
    /// The TorchScript FID Inception [default: DATA_DIR/fid-inception/default_1.pt].
    #[arg(long)]
    inception: Option<PathBuf>,
    /// Images in the per-epoch sample grid.
    #[arg(long, default_value_t = 64)]
    grid: usize,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// A run folder (its latest checkpoint is used).
    #[arg(long, conflicts_with = "checkpoint")]
    run: Option<PathBuf>,
    /// A checkpoint folder `runs/<domain>/<name>/checkpoints/generator/step-N`.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Number of images.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Output PNG [default: <run>/plots/samples-step-N.png].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Noise seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// What a run stores next to its checkpoints to rebuild its networks (`gan.json`).
#[derive(Debug, Serialize, Deserialize)]
struct RunSpec {
    model: ModelConfig,
    settings: GanSettings,
    dataset: DatasetName,
}

fn load_split(args: &TrainArgs, split: Split) -> Result<ImageSet> {
    let root = runs::data::data_root();
    Ok(match args.dataset {
        DatasetName::Cifar10 => {
            data::load_cifar10(&args.data.clone().unwrap_or_else(|| root.join("cifar10")), split)?
        }
        DatasetName::Mnist => {
            data::load_mnist(&args.data.clone().unwrap_or_else(|| root.join("mnist")), split)?
        }
        DatasetName::Folder => {
            let dir = args
                .data
                .clone()
                .context("--dataset folder needs --data <class-per-folder tree>")?;
            let sub = dir.join(split.as_str());
            data::load_image_folder(if sub.is_dir() { &sub } else { &dir })?
        }
    })
}

/// Reference statistics of the real images (after the model's resize/pad), cached under
/// `DATA_DIR/fid-stats/`.
fn reference_stats(args: &TrainArgs, net: &Inception, size: i64, pad: bool) -> Result<RefStats> {
    let split = if args.fid_reference == "test" {
        Split::Test
    } else {
        Split::Train
    };
    let real = load_split(args, split)?;
    let n = if args.fid_real_samples == 0 {
        real.len()
    } else {
        args.fid_real_samples.min(real.len())
    };
    let tag = match (&args.dataset, &args.data) {
        (DatasetName::Folder, Some(d)) => format!("folder-{:016x}", fxhash(&d.display().to_string())),
        (d, _) => format!("{d:?}").to_lowercase(),
    };
    let cache = runs::data::data_root().join("fid-stats").join(format!(
        "{tag}-{}-{n}-{size}px{}.safetensors",
        split.as_str(),
        if pad { "-pad" } else { "" }
    ));
    if cache.is_file() {
        return Ok(RefStats::load(&cache)?);
    }
    eprintln!(
        "FID reference: {n} real images of {} ({}), cached to {}",
        tag,
        split.as_str(),
        cache.display()
    );
    let mut next = 0i64;
    let device = net.device();
    let stats = net.stats(n, args.fid_batch, -1.0, 1.0, &mut |count| {
        let x = real.images.narrow(0, next, count as i64);
        next += count as i64;
        data::to_model_range(&x, size, pad, device)
    })?;
    std::fs::create_dir_all(cache.parent().unwrap_or(Path::new(".")))?;
    stats.save(&cache)?;
    Ok(RefStats::from_stats(&stats)?)
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// FID of `n` generated images (noise seeded by `seed`) against `reference`.
fn generator_fid(
    generator: &Generator,
    net: &Inception,
    reference: &RefStats,
    n: usize,
    batch: usize,
    seed: i64,
    device: Device,
) -> Result<f64> {
    tch::manual_seed(seed);
    let stats: FeatureStats = net.stats(n, batch, -1.0, 1.0, &mut |count| {
        tch::no_grad(|| {
            generator.forward_t(
                &Tensor::randn([count as i64, generator.z_dim()], (Kind::Float, device)),
                false,
            )
        })
    })?;
    Ok(fid::fid(&RefStats::from_stats(&stats)?, reference)?)
}

fn save_grid(
    generator: &Generator,
    z: &Tensor,
    path: &Path,
    session: Option<(&mut Session, u64)>,
) -> Result<()> {
    let images = tch::no_grad(|| generator.forward_t(z, false));
    let columns = (z.size()[0] as f64).sqrt().ceil() as usize;
    let img = runs::image::grid(&images, columns, 2, -1.0, 1.0)?;
    img.save_png(path)?;
    if let Some((session, step)) = session {
        session
            .tensorboard()
            .add_image("samples", &img.data, img.height, img.width, 3, step as i64)?;
    }
    Ok(())
}

/// The GAN's figures in `summary.json`.
#[derive(Debug, Serialize)]
struct Figures {
    model: &'static str,
    dataset: String,
    batch: usize,
    n_critic: u64,
    generator_loss: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    wasserstein: Option<f64>,
    #[serde(flatten)]
    fid: Option<FidFigure>,
}

/// The last FID measured.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct FidFigure {
    fid: f64,
    fid_samples: usize,
    fid_epoch: u64,
}

fn train(args: TrainArgs) -> Result<()> {
    let variant = match args.model {
        ModelName::Wgan => Variant::Wgan,
        ModelName::WganGp => Variant::WganGp,
    };
    let device = args.run.device()?;
    if args.n_critic == 0 || args.batch == 0 {
        bail!("--n-critic and --batch must be at least 1");
    }

    // data (before the run folder: missing data leaves nothing behind)
    let train_set = load_split(&args, Split::Train)?;
    let train_set = if args.train_images > 0 {
        train_set.take(args.train_images)
    } else {
        train_set
    };
    let (channels, h, _) = train_set.shape();
    let pad = args.dataset == DatasetName::Mnist;
    let size = args
        .image_size
        .unwrap_or(if args.dataset == DatasetName::Cifar10 {
            64
        } else {
            32
        });
    let cfg = ModelConfig {
        z_dim: args.z_dim,
        base: args.base,
        channels,
        image_size: size,
        critic_norm: if variant == Variant::Wgan {
            CriticNorm::Batch
        } else {
            CriticNorm::None
        },
    };
    cfg.validate().map_err(GanError::Config)?;
    let settings = GanSettings {
        variant,
        clip: args.clip,
        gp_weight: args.gp_weight,
    };
    let n_train = train_set.len();
    if n_train < args.batch {
        bail!(
            "{n_train} training images are fewer than one batch of {}",
            args.batch
        );
    }
    let batches_per_epoch = (n_train / args.batch) as u64;
    let mut steps = (args.epochs * batches_per_epoch).div_ceil(args.n_critic);
    if args.max_steps > 0 {
        steps = steps.min(args.max_steps);
    }
    let columns = [
        "epoch",
        "train/critic_loss",
        "train/wasserstein",
        "train/gradient_penalty",
        "train/generator_loss",
        "fid",
    ];
    let folder = format!("gan-{}-{:?}", variant.as_str(), args.dataset).to_lowercase();
    let domain = Domain::new(&folder, "sisa")
        .presets(variant.as_str())
        .step_unit("generator step")
        .networks(&["generator", "critic"]);
    let mut session = Session::open(&args.run, &domain, &columns, steps)?;
    let seed = session.seed();
    eprintln!(
        "{}/{}: {n_train} images {channels}×{h}² → {size}², {} on {device:?}",
        session.domain(),
        session.name(),
        variant.as_str()
    );

    // models → optimizers (each network has its own) → resume
    tch::manual_seed(seed as i64);
    let mut gvs = VarStore::new(device);
    let mut dvs = VarStore::new(device);
    let generator = Generator::new(&gvs.root(), &cfg);
    let critic = Critic::new(&dvs.root(), &cfg);
    let opt_cfg = session.optimizer_config()?;
    let mut opt_g = opt_cfg
        .build(&gvs)
        .context("building the generator's optimizer")?;
    let mut opt_d = opt_cfg.build(&dvs).context("building the critic's optimizer")?;
    let m = opt_d.node_weights().len();
    if args.batch < m {
        bail!("--batch {} is smaller than the optimizer's {m} nodes", args.batch);
    }
    let fixed_z = {
        tch::manual_seed(step_seed(seed ^ 0x5eed_9a11, 0));
        Tensor::randn([args.grid.max(1) as i64, args.z_dim], (Kind::Float, device))
    };
    let run = session.dir().clone();
    let spec = RunSpec {
        model: cfg,
        settings,
        dataset: args.dataset,
    };
    runs::run::write_atomic(&run.path().join("gan.json"), &serde_json::to_vec_pretty(&spec)?)?;
    runs::run::write_atomic(&run.path().join("args.json"), &serde_json::to_vec_pretty(&args)?)?;
    let resumed = session.restore_networks(&mut [(&mut gvs, opt_g.as_mut()), (&mut dvs, opt_d.as_mut())])?;
    let start = resumed.as_ref().map_or(0, |meta| meta.step);
    let mut fid_figure: Option<FidFigure> = resumed.and_then(|meta| serde_json::from_value(meta.extra).ok());

    let wants_fid = args.fid_every > 0 || args.final_fid_samples > 0;
    let (net, reference) = if wants_fid {
        let net = Inception::load(
            &args.inception.clone().unwrap_or_else(inception::default_path),
            device,
        )?;
        let reference = reference_stats(&args, &net, size, pad)?;
        (Some(net), Some(reference))
    } else {
        (None, None)
    };
    let mut order = Tensor::new();
    let mut order_epoch = u64::MAX;
    let (mut last_d, mut last_g) = (None, f64::NAN);
    let opts = (Kind::Float, device);

    for step in start..steps {
        session.seed_step(step);
        let mut z = Tensor::new();
        for j in 0..args.n_critic {
            // The data position is a function of the critic batch index: exact resume.
            let c = step * args.n_critic + j;
            let (epoch, index) = (c / batches_per_epoch, (c % batches_per_epoch) as i64);
            if epoch != order_epoch {
                order = runs::data::epoch_order(n_train, seed, epoch);
                order_epoch = epoch;
            }
            let ids = order.narrow(0, index * args.batch as i64, args.batch as i64);
            let real = data::to_model_range(&train_set.images.index_select(0, &ids), size, pad, device);
            z = Tensor::randn([args.batch as i64, args.z_dim], opts);
            let eps = Tensor::rand([args.batch as i64], opts);
            let fake = tch::no_grad(|| generator.forward_t(&z, true));
            let outcome = critic_iteration(opt_d.as_mut(), &critic, &dvs, &real, &fake, &eps, &settings);
            last_d = Some(session.check(outcome, step)?);
        }
        let outcome = generator_iteration(opt_g.as_mut(), &generator, &critic, &mut dvs, &z);
        last_g = session.check(outcome, step)?;
        let done = step + 1;
        let d = last_d.context("n_critic ≥ 1")?;
        let epoch_before = step * args.n_critic / batches_per_epoch;
        let epoch_after = (done * args.n_critic / batches_per_epoch).max(epoch_before);
        let epoch_end = epoch_after > epoch_before || done == steps;
        let epoch_f = (done * args.n_critic) as f64 / batches_per_epoch as f64;
        let mut values = vec![
            ("epoch", epoch_f),
            ("train/critic_loss", d.loss),
            ("train/wasserstein", d.wasserstein),
            ("train/gradient_penalty", d.gradient_penalty),
            ("train/generator_loss", last_g),
        ];
        if epoch_end {
            let e = epoch_after.max(1);
            let grid_path = run.plots().join(format!("samples-epoch-{e:04}.png"));
            save_grid(&generator, &fixed_z, &grid_path, Some((&mut session, done)))?;
            let last = done == steps;
            let (n_fid, due) = if last && args.final_fid_samples > 0 {
                (args.final_fid_samples, true)
            } else {
                (args.fid_samples, args.fid_every > 0 && e % args.fid_every == 0)
            };
            if let (Some(net), Some(reference), true) = (&net, &reference, due) {
                let value = generator_fid(
                    &generator,
                    net,
                    reference,
                    n_fid,
                    args.fid_batch,
                    step_seed(seed ^ 0xf1d, e),
                    device,
                )?;
                values.push(("fid", value));
                fid_figure = Some(FidFigure {
                    fid: value,
                    fid_samples: n_fid,
                    fid_epoch: e,
                });
            }
            session.checkpoint_networks(
                &[(&gvs, opt_g.as_ref()), (&dvs, opt_d.as_ref())],
                done,
                &fid_figure,
            )?;
        }
        session.record(done, &values)?;
    }
    let figures = Figures {
        model: variant.as_str(),
        dataset: format!("{:?}", args.dataset).to_lowercase(),
        batch: args.batch,
        n_critic: args.n_critic,
        generator_loss: last_g,
        wasserstein: last_d.map(|d| d.wasserstein),
        fid: fid_figure,
    };
    session.finish(opt_d.as_ref(), steps, figures)?;
    Ok(())
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
    let spec: RunSpec = serde_json::from_str(
        &std::fs::read_to_string(&spec_path)
            .with_context(|| format!("cannot read {}", spec_path.display()))?,
    )
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

fn compare(args: CompareArgs) -> Result<()> {
    use gan::compare;
    let all = compare::collect(&args.dir, &args.optimizers, args.runs)?;
    let title = args
        .dir
        .file_name()
        .map_or("FID".into(), |n| n.to_string_lossy().into_owned());
    let plots = args.dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    let (curves, boxes) = (plots.join("fid_curves.png"), plots.join("fid_box.png"));
    compare::plot_curves(&all, &format!("{title}: FID over epochs"), &curves)?;
    compare::plot_box(&all, &format!("{title}: final FID"), &boxes)?;
    let table = compare::markdown_table(&all);
    let md = format!(
        "# {title}\n\n{table}\n![FID over epochs](plots/fid_curves.png)\n![final FID](plots/fid_box.png)\n"
    );
    let md_path = args.dir.join("compare.md");
    std::fs::write(&md_path, md).with_context(|| format!("cannot write {}", md_path.display()))?;
    print!("{table}");
    println!("{}\n{}\n{}", md_path.display(), curves.display(), boxes.display());
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train(args) => train(*args),
        Command::Sample(args) => sample(args),
        Command::Compare(args) => compare(args),
    }
}
