//! One GAN training run on the run skeleton: [`train`] (what `gan train` and `cargo xtask gan`
//! run). Phases per generator iteration: seed → n_critic critic iterations (real batch, noise,
//! fake batch, one outer optimizer iteration over the m nodes; WGAN clips the aggregated critic)
//! → one generator iteration on the last critic noise → log. At each epoch end: a sample grid
//! of a fixed noise batch (`plots/samples-epoch-NNNN.png` and TensorBoard `samples`), FID every
//! `--fid-every` epochs, a checkpoint of both networks.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use runs::checkpoint::step_seed;
use runs::cli::{check_range, in_range, non_negative, positive, UsageError};
use runs::run::{write_atomic, RunDir};
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError};
use serde::{Deserialize, Serialize};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

use crate::data::{self, ImageSet, Split};
use crate::fid::{self, FeatureStats, RefStats};
use crate::inception::{self, Inception};
use crate::model::{Critic, CriticNorm, Generator, ModelConfig};
use crate::ring::ModeFigure;
use crate::train::{critic_iteration, generator_iteration, GanSettings, Variant};
use crate::GanError;

/// The training images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// CIFAR-10 (binary batches or the JPEG tree of `cargo xtask data cifar10`).
    Cifar10,
    /// MNIST (IDX files of `cargo xtask data mnist`), zero-padded to 32×32.
    Mnist,
    /// Any class-per-folder image tree given with --data.
    Folder,
    /// The 2-D toy: 8 Gaussians on a ring with small MLPs (`crate::ring`); learns in a minute
    /// on a CPU.
    Ring,
}

/// The GAN variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelName {
    /// WGAN with weight clipping.
    Wgan,
    /// WGAN with gradient penalty.
    WganGp,
}

/// What a GAN run trains and how (the `gan train` flags besides the common ones).
#[derive(clap::Args, Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// wgan or wgan-gp.
    #[arg(long, value_enum, default_value = "wgan-gp")]
    pub model: ModelName,
    /// cifar10, mnist, folder, or ring (the 2-D toy: 8 Gaussians on a ring, MLP networks).
    #[arg(long, value_enum, default_value = "cifar10")]
    pub dataset: DatasetName,
    /// Dataset location [default: DATA_DIR/cifar10 or DATA_DIR/mnist].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Image side, a power of two in 8..=256: 64 (the paper's upsampled CIFAR-10) or 32
    /// (native; the MNIST default).
    #[arg(long, value_parser = in_range(IMAGE_SIZE.0, IMAGE_SIZE.1))]
    pub image_size: Option<i64>,
    /// Base channel width of both networks (64 in the paper; ring: hidden-layer width), 1 to 4096.
    #[arg(long, default_value_t = 64, value_parser = in_range(WIDTH.0, WIDTH.1))]
    pub base: i64,
    /// Noise dimension, 1 to 4096.
    #[arg(long, default_value_t = 100, value_parser = in_range(WIDTH.0, WIDTH.1))]
    pub z_dim: i64,
    /// Images per critic iteration (split over the optimizer's nodes), 1 to 10⁵.
    #[arg(long, default_value_t = 64, value_parser = in_range(BATCH.0, BATCH.1))]
    pub batch: usize,
    /// Epochs (one epoch = the training set once through the critic), 1 to 10⁶.
    #[arg(long, default_value_t = 100, value_parser = in_range(EPOCHS.0, EPOCHS.1))]
    pub epochs: u64,
    /// Use only the first N training images, 0 to 10⁹ (0: all; ring: points drawn, 0 = 25,600);
    /// makes epochs short on a CPU.
    #[arg(long, default_value_t = 0, value_parser = in_range(0, COUNT as usize))]
    pub train_images: usize,
    /// Stop after this many generator iterations, 0 to 10⁹ (0: no limit).
    #[arg(long, default_value_t = 0, value_parser = in_range(0, COUNT))]
    pub max_steps: u64,
    /// Critic iterations per generator iteration (5 in the WGAN papers, 1 in the PISA code),
    /// 1 to 1000.
    #[arg(long, default_value_t = 5, value_parser = in_range(N_CRITIC.0, N_CRITIC.1))]
    pub n_critic: u64,
    /// WGAN weight-clipping bound (> 0).
    #[arg(long, default_value_t = 0.01, value_parser = positive)]
    pub clip: f64,
    /// WGAN-GP penalty weight (≥ 0).
    #[arg(long, default_value_t = 10.0, value_parser = non_negative)]
    pub gp_weight: f64,
    /// FID (ring: mode metrics and a scatter picture) every this many epochs, 0 to 10⁶ (0: only
    /// at the end).
    #[arg(long, default_value_t = 10, value_parser = in_range(0, EPOCHS.1))]
    pub fid_every: u64,
    /// Generated images per FID (ring: points per mode metric) during training (paper: 6,400),
    /// 2 to 10⁷.
    #[arg(long, default_value_t = 6400, value_parser = in_range(FID_SAMPLES.0, FID_SAMPLES.1))]
    pub fid_samples: usize,
    /// Generated images for the final FID (paper: 64,000; common: 50,000; 0: none; ring: points
    /// of the final mode metrics, 0 = --fid-samples), 0 or 2 to 10⁷.
    #[arg(long, default_value_t = 64000, value_parser = in_range(0, FID_SAMPLES.1))]
    pub final_fid_samples: usize,
    /// Real images of the reference statistics, 0 to 10⁷ (0: the whole reference split).
    #[arg(long, default_value_t = 0, value_parser = in_range(0, FID_SAMPLES.1))]
    pub fid_real_samples: usize,
    /// Reference split of the FID: train (the paper's "real set" and the common protocol) or test.
    #[arg(long, default_value = "train")]
    pub fid_reference: String,
    /// Images per Inception forward pass, 1 to 10⁵.
    #[arg(long, default_value_t = 50, value_parser = in_range(BATCH.0, BATCH.1))]
    pub fid_batch: usize,
    /// The TorchScript FID Inception [default: DATA_DIR/fid-inception/default_1.pt].
    #[arg(long)]
    pub inception: Option<PathBuf>,
    /// Images in the per-epoch sample grid, 1 to 1024.
    #[arg(long, default_value_t = 64, value_parser = in_range(1, GRID_MAX))]
    pub grid: usize,
}

/// `--image-size` (a power of two besides).
const IMAGE_SIZE: (i64, i64) = (8, 256);
/// `--base`, `--z-dim`.
const WIDTH: (i64, i64) = (1, 4096);
/// `--batch`, `--fid-batch`.
const BATCH: (usize, usize) = (1, 100_000);
/// `--epochs`, `--fid-every` (from 0).
const EPOCHS: (u64, u64) = (1, 1_000_000);
/// `--train-images`, `--max-steps` (from 0).
const COUNT: u64 = 1_000_000_000;
/// `--n-critic`.
const N_CRITIC: (u64, u64) = (1, 1000);
/// `--fid-samples`; the final and real counts from 0 (a covariance needs 2 samples).
const FID_SAMPLES: (usize, usize) = (2, 10_000_000);
/// `--grid`.
const GRID_MAX: usize = 1024;

impl TrainConfig {
    /// Checks every number against the range its flag accepts (for a configuration built in
    /// code or read back from `args.json`, not parsed by clap).
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag and the allowed range.
    pub fn validate(&self) -> Result<(), UsageError> {
        if let Some(size) = self.image_size {
            check_range("--image-size", size, IMAGE_SIZE.0, IMAGE_SIZE.1)?;
        }
        check_range("--base", self.base, WIDTH.0, WIDTH.1)?;
        check_range("--z-dim", self.z_dim, WIDTH.0, WIDTH.1)?;
        check_range("--batch", self.batch, BATCH.0, BATCH.1)?;
        check_range("--epochs", self.epochs, EPOCHS.0, EPOCHS.1)?;
        check_range("--train-images", self.train_images as u64, 0, COUNT)?;
        check_range("--max-steps", self.max_steps, 0, COUNT)?;
        check_range("--n-critic", self.n_critic, N_CRITIC.0, N_CRITIC.1)?;
        check_range("--clip", self.clip, f64::MIN_POSITIVE, f64::MAX)?;
        check_range("--gp-weight", self.gp_weight, 0.0, f64::MAX)?;
        check_range("--fid-every", self.fid_every, 0, EPOCHS.1)?;
        check_range("--fid-samples", self.fid_samples, FID_SAMPLES.0, FID_SAMPLES.1)?;
        if self.final_fid_samples != 0 {
            check_range(
                "--final-fid-samples",
                self.final_fid_samples,
                FID_SAMPLES.0,
                FID_SAMPLES.1,
            )?;
        }
        check_range("--fid-real-samples", self.fid_real_samples, 0, FID_SAMPLES.1)?;
        check_range("--fid-batch", self.fid_batch, BATCH.0, BATCH.1)?;
        check_range("--grid", self.grid, 1, GRID_MAX)
    }
}

/// What a run stores next to its checkpoints to rebuild its networks (`gan.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct RunSpec {
    /// The networks.
    pub model: ModelConfig,
    /// The loss.
    pub settings: GanSettings,
    /// The training images.
    pub dataset: DatasetName,
}

/// The images of `split` of the dataset `args` names.
///
/// # Errors
/// A missing or corrupt dataset, or `--dataset folder` without `--data`.
pub fn load_split(args: &TrainConfig, split: Split) -> Result<ImageSet, GanError> {
    let root = runs::data::data_root();
    Ok(match args.dataset {
        DatasetName::Cifar10 => {
            data::load_cifar10(&args.data.clone().unwrap_or_else(|| root.join("cifar10")), split)?
        }
        DatasetName::Mnist => {
            data::load_mnist(&args.data.clone().unwrap_or_else(|| root.join("mnist")), split)?
        }
        DatasetName::Folder => {
            let dir = args.data.clone().ok_or_else(|| {
                GanError::Config("--dataset folder needs --data <class-per-folder tree>".into())
            })?;
            let sub = dir.join(split.as_str());
            data::load_image_folder(if sub.is_dir() { &sub } else { &dir })?
        }
        DatasetName::Ring => {
            return Err(GanError::Config("--dataset ring is points, not images".into()));
        }
    })
}

/// Reference statistics of the real images (after the model's resize/pad), cached under
/// `DATA_DIR/fid-stats/`.
fn reference_stats(args: &TrainConfig, net: &Inception, size: i64, pad: bool) -> Result<RefStats, GanError> {
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
        return RefStats::load(&cache);
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
    let parent = cache.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| GanError::Io {
        path: parent.to_path_buf(),
        source,
    })?;
    stats.save(&cache)?;
    RefStats::from_stats(&stats)
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
) -> Result<f64, GanError> {
    tch::manual_seed(seed);
    let stats: FeatureStats = net.stats(n, batch, -1.0, 1.0, &mut |count| {
        tch::no_grad(|| {
            generator.forward_t(
                &Tensor::randn([count as i64, generator.z_dim()], (Kind::Float, device)),
                false,
            )
        })
    })?;
    fid::fid(&RefStats::from_stats(&stats)?, reference)
}

/// Writes a grid of the images `generator` makes from `z` to `path` (PNG), and to the session's
/// TensorBoard at `step` when given.
///
/// # Errors
/// When the PNG or the event file cannot be written.
pub fn save_grid(
    generator: &Generator,
    z: &Tensor,
    path: &Path,
    session: Option<(&mut Session, u64)>,
) -> Result<(), GanError> {
    let images = tch::no_grad(|| generator.forward_t(z, false));
    let columns = (z.size()[0] as f64).sqrt().ceil() as usize;
    let img = runs::image::grid(&images, columns, 2, -1.0, 1.0)?;
    img.save_png(path)?;
    if let Some((tensorboard, step)) = session.and_then(|(s, step)| Some((s.tensorboard()?, step))) {
        tensorboard.add_image("samples", &img.data, img.height, img.width, 3, step as i64)?;
    }
    Ok(())
}

/// The GAN's figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// `wgan` or `wgan-gp`.
    pub model: String,
    /// The dataset.
    pub dataset: String,
    /// Images per critic iteration.
    pub batch: usize,
    /// Critic iterations per generator iteration.
    pub n_critic: u64,
    /// The last generator loss.
    pub generator_loss: f64,
    /// The last critic's Wasserstein estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasserstein: Option<f64>,
    /// The last FID measured, if any.
    #[serde(flatten)]
    pub fid: Option<FidFigure>,
    /// The last mode metrics measured (`--dataset ring`), if any.
    #[serde(flatten)]
    pub modes: Option<ModeFigure>,
}

/// The last FID measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FidFigure {
    /// The FID.
    pub fid: f64,
    /// Generated images it used.
    pub fid_samples: usize,
    /// The epoch it was measured after.
    pub fid_epoch: u64,
}

/// Trains a WGAN / WGAN-GP as `args` and `run` say: the data is loaded first (missing data
/// leaves no run folder behind), then the [`Session`] owns the generator's and the critic's
/// checkpoints (at every epoch end), resume, the non-finite stop and the summary it returns.
/// `--dataset ring` trains the 2-D toy of [`crate::ring`] instead (same loop, MLP networks,
/// mode metrics and scatter pictures instead of FID and grids).
///
/// # Errors
/// [`GanError`]: bad settings, missing data or Inception weights, a non-finite loss
/// ([`GanError::Session`] with `SessionError::NonFinite`), or an I/O error.
pub fn train(args: &TrainConfig, run: &RunArgs) -> Result<RunSummary<Figures>, GanError> {
    let variant = match args.model {
        ModelName::Wgan => Variant::Wgan,
        ModelName::WganGp => Variant::WganGp,
    };
    args.validate()?;
    if args.dataset == DatasetName::Ring {
        return crate::ring::train(args, run);
    }
    let device = run.device().map_err(SessionError::from)?;

    // data (before the run folder: missing data leaves nothing behind)
    let train_set = load_split(args, Split::Train)?;
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
    cfg.validate().map_err(|e| UsageError::new("--image-size", e))?;
    let settings = GanSettings {
        variant,
        clip: args.clip,
        gp_weight: args.gp_weight,
    };
    let n_train = train_set.len();
    if n_train < args.batch {
        return Err(UsageError::new(
            "--batch",
            format!(
                "{}: the {n_train} training images are fewer than one batch",
                args.batch
            ),
        )
        .into());
    }
    let batches_per_epoch = (n_train / args.batch) as u64;
    let mut steps = (args.epochs * batches_per_epoch).div_ceil(args.n_critic);
    if args.max_steps > 0 {
        steps = steps.min(args.max_steps);
    }
    // The Inception network before the run folder: a missing weight file leaves nothing behind,
    // so the same command can simply be rerun once it is fetched.
    let wants_fid = args.fid_every > 0 || args.final_fid_samples > 0;
    let net = match wants_fid {
        true => Some(Inception::load(
            &args.inception.clone().unwrap_or_else(inception::default_path),
            device,
        )?),
        false => None,
    };
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
    // The optimizer's settings before the run folder: its node count must fit the batch.
    let opt_cfg = run.resolve_optimizer(&domain).map_err(SessionError::from)?;
    let m = opt_cfg.base.nodes();
    if args.batch < m {
        return Err(UsageError::new(
            "--batch",
            format!("{} is smaller than the optimizer's {m} nodes", args.batch),
        )
        .into());
    }
    let mut session = Session::open(run, &domain, &columns, steps)?;
    // What shapes the trajectory besides the seed and the optimizers (--epochs / --max-steps
    // only say how far to go; the FID settings only what is measured).
    session.pin_settings(&serde_json::json!({
        "model": args.model, "dataset": args.dataset, "image_size": args.image_size,
        "base": args.base, "z_dim": args.z_dim, "batch": args.batch,
        "train_images": args.train_images, "n_critic": args.n_critic, "clip": args.clip,
        "gp_weight": args.gp_weight,
    }))?;
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
    let opt_cfg = session.use_optimizer_config(opt_cfg)?;
    let mut opt_g = opt_cfg.build(&gvs)?;
    let mut opt_d = opt_cfg.build(&dvs)?;
    let fixed_z = {
        tch::manual_seed(step_seed(seed ^ 0x5eed_9a11, 0));
        Tensor::randn([args.grid.max(1) as i64, args.z_dim], (Kind::Float, device))
    };
    let run_dir = session.dir().clone();
    let spec = RunSpec {
        model: cfg,
        settings,
        dataset: args.dataset,
    };
    write_run_files(&run_dir, run, args, &spec)?;
    let resumed = session.restore_networks(&mut [(&mut gvs, opt_g.as_mut()), (&mut dvs, opt_d.as_mut())])?;
    let start = resumed.as_ref().map_or(0, |meta| meta.step);
    let mut fid_figure: Option<FidFigure> = resumed.and_then(|meta| serde_json::from_value(meta.extra).ok());

    let reference = match &net {
        Some(net) => Some(reference_stats(args, net, size, pad)?),
        None => None,
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
        let d = last_d.ok_or_else(|| GanError::Config("--n-critic must be at least 1".into()))?;
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
            let grid_path = run_dir.plots().join(format!("samples-epoch-{e:04}.png"));
            save_grid(&generator, &fixed_z, &grid_path, Some((&mut session, done)))?;
            let last = done == steps;
            let (n_fid, due) = if last && args.final_fid_samples > 0 {
                (args.final_fid_samples, true)
            } else {
                (
                    args.fid_samples,
                    args.fid_every > 0 && e.is_multiple_of(args.fid_every),
                )
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
        }
        session.record(done, &values)?;
        if epoch_end || session.interrupted() {
            session.checkpoint_networks(
                &[(&gvs, opt_g.as_ref()), (&dvs, opt_d.as_ref())],
                done,
                &fid_figure,
            )?;
        }
    }
    let figures = Figures {
        model: variant.as_str().to_string(),
        dataset: format!("{:?}", args.dataset).to_lowercase(),
        batch: args.batch,
        n_critic: args.n_critic,
        generator_loss: last_g,
        wasserstein: last_d.map(|d| d.wasserstein),
        fid: fid_figure,
        modes: None,
    };
    Ok(session.finish(opt_d.as_ref(), steps, figures)?)
}

/// What `args.json` holds: every flag of the run.
#[derive(Serialize)]
struct ArgsFile<'a> {
    #[serde(flatten)]
    run: &'a RunArgs,
    #[serde(flatten)]
    config: &'a TrainConfig,
}

/// Writes `gan.json` (`spec`: what rebuilds the networks) and `args.json` (every flag) into the
/// run folder.
pub(crate) fn write_run_files(
    run_dir: &RunDir,
    run: &RunArgs,
    args: &TrainConfig,
    spec: &impl Serialize,
) -> Result<(), GanError> {
    write_atomic(&run_dir.path().join("gan.json"), &pretty_json(spec)?).map_err(SessionError::from)?;
    let all_args = ArgsFile { run, config: args };
    write_atomic(&run_dir.path().join("args.json"), &pretty_json(&all_args)?).map_err(SessionError::from)?;
    Ok(())
}

/// `value` as pretty JSON bytes.
fn pretty_json(value: &impl Serialize) -> Result<Vec<u8>, GanError> {
    serde_json::to_vec_pretty(value).map_err(|e| GanError::Config(e.to_string()))
}
