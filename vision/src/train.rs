//! One image-classification run on the run skeleton: [`train`] (what `vision train` and
//! `cargo xtask vision` run). Phases: data (before the run folder, so a missing dataset leaves
//! nothing behind) → session (run folder, resume) → model → optimizer with the schedule →
//! epochs (augmented batches on a worker thread, m nodes per batch; validation and test) →
//! summary.
//!
//! The figures are both the paper's and the honest ones, labelled: the best test accuracy over
//! epochs (the paper's Table 3 metric, spec §7.2) and the final one, and — with a held-out
//! validation split (`--valid`, taken from the training set) — the test accuracy at the epoch
//! of the best validation accuracy.

use std::path::PathBuf;
use std::time::Instant;

use datasets::DatasetError;
use pisa_core::config::ScheduleOverride;
use runs::cli::{check_range, in_range, UsageError};
use runs::nodes::{NodeSplit, SplitError};
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError};
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::imagenet::ImageNetError;
use crate::models::ModelName;
use crate::schedule::ScheduleChoice;
use crate::source::{Batches, Counts, DatasetKind, Part, Source};

/// What a vision run trains and how (the `vision train` flags besides the common ones).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct VisionConfig {
    /// vgg11, resnet18, resnet34, densenet121 (CIFAR forms), vgg-tiny (tests, smoke runs), or
    /// resnet18-imagenet (with --dataset imagenet).
    #[arg(long, default_value = "resnet34")]
    pub model: ModelName,
    /// cifar10, cifar100 (official binary) or imagenet (a `train/<class>/*`, `val/<class>/*`
    /// tree; `val` is the test set).
    #[arg(long, default_value = "cifar10")]
    pub dataset: DatasetKind,
    /// The dataset's folder [default: $PISA_DATA_DIR/DATASET or data/DATASET; CIFAR-10 from
    /// `cargo xtask data cifar10`].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// ImageNet crop side, 16 to 1024 (224 as the paper; smaller for tests).
    #[arg(long, default_value_t = 224, value_parser = in_range(16usize, 1024))]
    pub image_side: usize,
    /// Epochs, 1 to 10⁵.
    #[arg(long, default_value_t = 200, value_parser = in_range(EPOCHS.0, EPOCHS.1))]
    pub epochs: u64,
    /// Images per step, split over the optimizer's nodes [default: the model's in Table A.1:
    /// 256 for densenet121, else 128].
    #[arg(long, value_parser = in_range(BATCH.0, BATCH.1))]
    pub batch: Option<usize>,
    /// Training images held out as a validation set (a fixed, seed-independent choice), 0 to
    /// 10⁶; 0 trains on the whole training set as the paper does (and is required for ImageNet).
    #[arg(long, default_value_t = 5000, value_parser = in_range(0usize, COUNT_MAX))]
    pub valid: usize,
    /// Train on this many of the remaining training images (a fixed, seed-independent subset),
    /// 0 to 10⁶ (0: all of them).
    #[arg(long, default_value_t = 0, value_parser = in_range(0usize, COUNT_MAX))]
    pub examples: usize,
    /// Evaluate on this many test images (a fixed, seed-independent choice), 0 to 10⁶ (0: all).
    #[arg(long, default_value_t = 0, value_parser = in_range(0usize, COUNT_MAX))]
    pub test_examples: usize,
    /// Learning-rate schedule: `paper` (the paper's for the model and optimizer family,
    /// compressed to --epochs), `constant`, or `steps:E1,E2,...:F` (×F at those epochs).
    #[arg(long, default_value = "paper")]
    pub schedule: ScheduleChoice,
    /// Keep the training images in order every epoch (the VGG-11 script's loader did not
    /// shuffle, spec §9 Q10); the augmentation still applies.
    #[arg(long)]
    pub no_shuffle: bool,
    /// Images per evaluation batch, 1 to 65,536.
    #[arg(long, default_value_t = 500, value_parser = in_range(BATCH.0, BATCH.1))]
    pub eval_batch: usize,
}

/// `--epochs`.
const EPOCHS: (u64, u64) = (1, 100_000);
/// `--batch`, `--eval-batch`.
const BATCH: (usize, usize) = (1, 65_536);
/// `--valid`, `--examples`, `--test-examples`.
const COUNT_MAX: usize = 1_000_000;

impl VisionConfig {
    /// Checks every number against the range its flag accepts (for a configuration built in
    /// code rather than parsed by clap).
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag and the allowed range.
    pub fn validate(&self) -> Result<(), UsageError> {
        check_range("--epochs", self.epochs, EPOCHS.0, EPOCHS.1)?;
        check_range("--batch", self.batch(), BATCH.0, BATCH.1)?;
        check_range("--eval-batch", self.eval_batch, BATCH.0, BATCH.1)?;
        check_range("--valid", self.valid, 0, COUNT_MAX)?;
        check_range("--examples", self.examples, 0, COUNT_MAX)?;
        check_range("--test-examples", self.test_examples, 0, COUNT_MAX)?;
        check_range("--image-side", self.image_side, 16, 1024)?;
        let imagenet_model = self.model.input_side() != 32;
        if imagenet_model != (self.dataset == DatasetKind::Imagenet) {
            return Err(UsageError::new(
                "--model",
                format!(
                    "{} is made for {} images and --dataset is {}: use resnet18-imagenet with imagenet, \
                     a CIFAR model with cifar10/cifar100",
                    self.model,
                    if imagenet_model {
                        "ImageNet (224×224)"
                    } else {
                        "CIFAR (32×32)"
                    },
                    self.dataset
                ),
            ));
        }
        Ok(())
    }

    /// Images per step: `--batch`, else the model's in Table A.1 (256 for DenseNet-121 and
    /// ImageNet's ResNet-18, else 128).
    pub fn batch(&self) -> usize {
        self.batch.unwrap_or(match self.model {
            ModelName::Densenet121 | ModelName::Resnet18Imagenet => 256,
            _ => 128,
        })
    }
}

/// Why a vision run failed.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// A flag out of range or data too small for it (exit code 2); not transparent, so that the
    /// binary finds it in the error chain.
    #[error("invalid input")]
    Usage(#[from] UsageError),
    /// The dataset.
    #[error(transparent)]
    Data(#[from] DatasetError),
    /// The node split of a batch.
    #[error(transparent)]
    Split(#[from] SplitError),
    /// The run skeleton (including a non-finite loss).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Building the optimizer.
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
    /// An ImageNet-style tree or its loader.
    #[error(transparent)]
    ImageNet(#[from] ImageNetError),
    /// Images of an unexpected shape or kind.
    #[error("the images: {0}")]
    Images(#[from] tch::TchError),
    /// A checkpoint's run state that does not parse.
    #[error("the checkpoint's run state: {0}")]
    State(String),
}

/// A vision run's figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The model.
    pub model: String,
    /// What the images are (the shared CIFAR-10 copy is a JPEG re-encoding).
    pub dataset: String,
    /// Trainable parameters.
    pub parameters: i64,
    /// Images per step.
    pub batch: usize,
    /// Epochs done.
    pub epochs: u64,
    /// Steps per epoch (the last partial batch is dropped).
    pub steps_per_epoch: u64,
    /// Training images.
    pub train_examples: usize,
    /// Held-out validation images (0: none).
    pub valid_examples: usize,
    /// Test images evaluated.
    pub test_examples: usize,
    /// The learning-rate schedule.
    pub schedule: String,
    /// Best test accuracy over epochs: the paper's metric (Table 3).
    pub best_test_accuracy: Option<f64>,
    /// Its epoch (1-based).
    pub best_test_epoch: Option<u64>,
    /// Test accuracy after the last epoch.
    pub final_test_accuracy: Option<f64>,
    /// Best validation accuracy over epochs (with `--valid`).
    pub best_valid_accuracy: Option<f64>,
    /// Its epoch (1-based).
    pub best_valid_epoch: Option<u64>,
    /// Test accuracy at the best validation epoch: the honest number.
    pub test_accuracy_at_best_valid: Option<f64>,
    /// Mean training loss of the last epoch.
    pub final_train_loss: Option<f64>,
    /// Training images per second in this process, data loading included (resumed epochs not
    /// counted).
    pub train_images_per_s: Option<f64>,
}

/// Per-run bookkeeping kept in the checkpoints: epochs done and the selection figures.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Selection {
    epoch: u64,
    best_test: Option<f64>,
    best_test_epoch: Option<u64>,
    last_test: Option<f64>,
    best_valid: Option<f64>,
    best_valid_epoch: Option<u64>,
    test_at_best_valid: Option<f64>,
    last_train_loss: Option<f64>,
}

impl Selection {
    /// Records epoch `epoch` (1-based); ties keep the earlier epoch.
    fn record(&mut self, epoch: u64, train_loss: f64, valid: Option<f64>, test: f64) {
        self.epoch = epoch;
        self.last_train_loss = Some(train_loss);
        self.last_test = Some(test);
        if self.best_test.is_none_or(|b| test > b) {
            self.best_test = Some(test);
            self.best_test_epoch = Some(epoch);
        }
        if let Some(valid) = valid {
            if self.best_valid.is_none_or(|b| valid > b) {
                self.best_valid = Some(valid);
                self.best_valid_epoch = Some(epoch);
                self.test_at_best_valid = Some(test);
            }
        }
    }
}

/// Mean cross-entropy and accuracy of `net` in eval mode over `batches` (`n` images in all;
/// NaN for none).
///
/// # Errors
/// A batch the loader could not form (an unreadable image).
pub fn evaluate(
    net: &impl ModuleT,
    batches: Batches,
    n: usize,
    device: Device,
) -> Result<(f64, f64), VisionError> {
    if n == 0 {
        return Ok((f64::NAN, f64::NAN));
    }
    let (mut loss, mut correct) = (
        Tensor::zeros([], (Kind::Double, device)),
        Tensor::zeros([], (Kind::Int64, device)),
    );
    let _guard = tch::no_grad_guard();
    for b in batches {
        let b = b?;
        let (x, y) = (b.x.to_device(device), b.y.to_device(device));
        let logits = net.forward_t(&x, false);
        loss += logits
            .cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Sum, -100, 0.0)
            .to_kind(Kind::Double);
        correct += logits.argmax(-1, false).eq_tensor(&y).sum(Kind::Int64);
    }
    Ok((
        loss.double_value(&[]) / n as f64,
        correct.double_value(&[]) / n as f64,
    ))
}

/// Trains `config.model` as `config` and `run` say; returns the summary it wrote.
///
/// # Errors
/// [`VisionError`]: bad settings, missing data, a non-finite loss (the run then stops with its
/// last good checkpoint named), or an I/O error.
pub fn train(config: &VisionConfig, run: &RunArgs) -> Result<RunSummary<Figures>, VisionError> {
    config.validate()?;
    let device = run.device().map_err(SessionError::from)?;
    let batch = config.batch();

    // data (before the run folder)
    let dir = config
        .data
        .clone()
        .unwrap_or_else(|| config.dataset.default_dir());
    let counts = Counts {
        valid: config.valid,
        examples: config.examples,
        test: config.test_examples,
    };
    let source = Source::open(config.dataset, &dir, counts, config.image_side)?;
    let n_train = source.train_len();
    let (n_valid, n_test) = (source.len(Part::Valid), source.len(Part::Test));
    if batch > n_train {
        return Err(UsageError::new(
            "--batch",
            format!("{batch} is larger than the {n_train} training images"),
        )
        .into());
    }
    let steps_per_epoch = (n_train / batch) as u64;
    let total = steps_per_epoch * config.epochs;

    // the optimizer's settings and schedule before the run folder: its nodes must fit the batch
    let domain = Domain::new("vision", "sisa").presets(&format!("vision/{}", config.model));
    let opt_cfg = run.resolve_optimizer(&domain).map_err(SessionError::from)?;
    let m = opt_cfg.base.nodes();
    if batch < m {
        return Err(UsageError::new(
            "--batch",
            format!("{batch} is smaller than the optimizer's {m} nodes"),
        )
        .into());
    }
    let pisa_family = matches!(opt_cfg.base.name(), "sisa" | "pisa" | "nsisa");
    let (lr, schedule) = config
        .schedule
        .resolve(config.model, pisa_family, config.epochs, steps_per_epoch);
    let opt_cfg = opt_cfg.with_lr_schedule(&lr, ScheduleOverride::Always);

    let columns = [
        "train/loss",
        "train/accuracy",
        "valid/loss",
        "valid/accuracy",
        "test/loss",
        "test/accuracy",
        "lr/factor",
        "train/images_per_s",
    ];
    let mut session = Session::open(run, &domain, &columns, total)?;
    // What shapes the trajectory besides the seed and the optimizer (whose pinned settings
    // carry the schedule over iterations: a longer run of a constant schedule resumes, a
    // compressed paper schedule stretched by --epochs is a change).
    session.pin_settings(&serde_json::json!({
        "model": config.model, "batch": batch, "valid": config.valid,
        "examples": config.examples, "schedule": config.schedule.to_string(),
        "shuffle": !config.no_shuffle, "dataset": config.dataset.as_str(), "data": source.label(),
        "image_side": (config.dataset == DatasetKind::Imagenet).then_some(config.image_side),
    }))?;
    let seed = session.seed();

    // model → optimizer → resume
    tch::manual_seed(seed as i64);
    let mut vs = nn::VarStore::new(device);
    let net = config.model.build(&vs.root(), source.classes() as i64);
    let params: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    let opt_cfg = session.use_optimizer_config(opt_cfg)?;
    let mut opt = opt_cfg.build(&vs)?;
    session.distribute(opt.as_mut())?;
    let split = NodeSplit::contiguous(batch, m)?;
    let mut state = match session.restore(&mut vs, opt.as_mut())? {
        Some(meta) => {
            serde_json::from_value::<Selection>(meta.extra).map_err(|e| VisionError::State(e.to_string()))?
        }
        None => Selection::default(),
    };
    eprintln!(
        "vision: {} ({params} parameters) on {}: {n_train} training / {} validation / {} test images, \
         batch {batch} over m = {m} node(s), {steps_per_epoch} steps per epoch; schedule: {schedule}",
        config.model,
        source.label(),
        n_valid,
        n_test,
    );

    let (mut images_seen, mut seconds) = (0u64, 0.0f64);
    for epoch in state.epoch..config.epochs {
        let started = Instant::now();
        let mut loss_sum = 0.0;
        let mut correct = Tensor::zeros([], (Kind::Int64, device));
        let first = epoch * steps_per_epoch;
        for b in source.train_epoch(batch, seed, epoch, !config.no_shuffle)? {
            let b = b?;
            let step = first + b.index as u64;
            if session.interrupted() {
                // checkpoints come at epoch ends: a resume restarts this epoch
                return Err(session.stop_interrupted(step).into());
            }
            let (x, y) = (b.x.to_device(device), b.y.to_device(device));
            session.seed_step(step);
            let outcome = opt.step(&mut |i| {
                let (xi, yi) = (split.slice(&x, 0, i), split.slice(&y, 0, i));
                let logits = net.forward_t(&xi, true);
                correct += logits.argmax(-1, false).eq_tensor(&yi).sum(Kind::Int64);
                logits.cross_entropy_for_logits(&yi)
            });
            let loss = session.check(outcome, step)?.weighted_loss(opt.node_weights());
            loss_sum += loss;
            session.show(step + 1, &[("train/loss", loss)]);
        }
        let secs = started.elapsed().as_secs_f64();
        let trained = steps_per_epoch * batch as u64;
        (images_seen, seconds) = (images_seen + trained, seconds + secs);

        let eval = |part| -> Result<(f64, f64), VisionError> {
            let batches = source.eval_batches(part, config.eval_batch)?;
            evaluate(&net, batches, source.len(part), device)
        };
        let ((valid_loss, valid_acc), (test_loss, test_acc)) = (eval(Part::Valid)?, eval(Part::Test)?);
        let train_loss = loss_sum / steps_per_epoch as f64;
        let train_acc = correct.double_value(&[]) / trained as f64;
        let has_valid = n_valid > 0;
        state.record(epoch + 1, train_loss, has_valid.then_some(valid_acc), test_acc);
        let done = (epoch + 1) * steps_per_epoch;
        let mut values = vec![
            ("train/loss", train_loss),
            ("train/accuracy", train_acc),
            ("test/loss", test_loss),
            ("test/accuracy", test_acc),
            ("lr/factor", lr.factor(done - 1)),
            ("train/images_per_s", trained as f64 / secs.max(1e-9)),
        ];
        if has_valid {
            values.extend([("valid/loss", valid_loss), ("valid/accuracy", valid_acc)]);
        }
        session.record(done, &values)?;
        eprintln!(
            "epoch {:>3}: train loss {train_loss:.4} acc {:.2}%  valid acc {}  test acc {:.2}%  ({:.0} images/s)",
            epoch + 1,
            100.0 * train_acc,
            match has_valid {
                true => format!("{:.2}%", 100.0 * valid_acc),
                false => "–".into(),
            },
            100.0 * test_acc,
            trained as f64 / secs.max(1e-9),
        );
        session.checkpoint(&vs, opt.as_ref(), done, &state)?;
    }
    let figures = Figures {
        model: config.model.to_string(),
        dataset: source.label().to_string(),
        parameters: params,
        batch,
        epochs: state.epoch,
        steps_per_epoch,
        train_examples: n_train,
        valid_examples: n_valid,
        test_examples: n_test,
        schedule,
        best_test_accuracy: state.best_test,
        best_test_epoch: state.best_test_epoch,
        final_test_accuracy: state.last_test,
        best_valid_accuracy: state.best_valid,
        best_valid_epoch: state.best_valid_epoch,
        test_accuracy_at_best_valid: state.test_at_best_valid,
        final_train_loss: state.last_train_loss,
        train_images_per_s: (seconds > 0.0).then(|| images_seen as f64 / seconds),
    };
    Ok(session.finish(opt.as_ref(), total, figures)?)
}
