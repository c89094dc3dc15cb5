//! The run skeleton every training binary shares: the common flags ([`RunArgs`]) and the
//! [`Session`] that owns what is the same in every domain.
//!
//! A domain's binary parses its own flags with `#[command(flatten)] run: RunArgs`, opens a
//! session, builds its model and optimizer, and runs its loop; the session does the rest:
//!
//! 1. [`Session::open`]: device, torch threads, run folder `runs/<domain>/<name>/` (refusing an
//!    existing run unless `--resume`), the metrics log (CSV + TensorBoard) continued from the
//!    latest checkpoint when resuming;
//! 2. [`Session::optimizer_config`]: the registry's settings for `--optimizer` in the domain,
//!    with `--config` overrides, written to `config.toml`;
//! 3. [`Session::restore`]: model and optimizer state from that checkpoint, and the step to
//!    continue from;
//! 4. per step: [`Session::seed_step`] (libtorch's generator, a function of seed and step, so a
//!    resumed run draws what an uninterrupted one would), [`Session::check`] on the optimizer's
//!    result (a non-finite loss ends the run with `summary.json` naming the last good
//!    checkpoint), [`Session::record`] (metrics + progress), [`Session::checkpoint_due`] /
//!    [`Session::checkpoint`] (every `--checkpoint-every` steps and at the end, newest two kept);
//! 5. [`Session::finish`]: the typed [`RunSummary`] written as `summary.json` and printed as one
//!    JSON line.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use runs::session::{Domain, RunArgs, Session};
//! use tch::nn::{self, Module};
//! # let args = RunArgs::for_tests(std::path::Path::new("runs"));
//! let mut session = Session::open(&args, &Domain::new("toy", "sgd"), &["train/loss"], 100)?;
//! let mut vs = nn::VarStore::new(session.device());
//! let net = nn::linear(vs.root(), 1, 1, Default::default());
//! let mut opt = session.optimizer_config()?.build(&vs)?;
//! let start = session.restore(&mut vs, opt.as_mut())?.map_or(0, |meta| meta.step);
//! let x = tch::Tensor::ones([8, 1], (tch::Kind::Float, session.device()));
//! for step in start..100 {
//!     session.seed_step(step);
//!     let report = session.check(opt.step(&mut |_| net.forward(&x).square().mean(None)), step)?;
//!     let done = step + 1;
//!     session.record(done, &[("train/loss", report.weighted_loss(opt.node_weights()))])?;
//!     if session.checkpoint_due(done) {
//!         session.checkpoint(&vs, opt.as_ref(), done, &())?;
//!     }
//! }
//! session.finish(opt.as_ref(), 100, ())?;
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};

use pisa_core::{Optimizer, OptimizerConfig};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::Device;

use crate::checkpoint::{self, step_seed, CheckpointError, Meta};
use crate::device::{parse_device, DeviceError};
use crate::metrics::{MetricsError, Recorder};
use crate::progress::Progress;
use crate::registry::{Registry, RegistryError};
use crate::run::{RunDir, RunError};

/// The flags every training binary takes (`#[command(flatten)]`): where the run goes, what it
/// trains with, and how it starts.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunArgs {
    /// Optimizer name (sisa, nsisa, pisa, adam, adamw, rmsprop, adabelief, sgd, lamb, muon)
    /// [default: the domain's].
    #[arg(long)]
    pub optimizer: Option<String>,
    /// TOML file overriding the optimizer's settings (any key of its configuration).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    pub runs: PathBuf,
    /// Domain folder under `--runs`, a plain name [default: the domain's].
    #[arg(long, value_parser = crate::cli::plain_name)]
    pub domain: Option<String>,
    /// The registry domain whose optimizer presets apply [default: the domain's presets, else
    /// the domain folder's name].
    #[arg(long)]
    pub presets: Option<String>,
    /// Run name: a plain folder name, no `/` or `..` [default: the optimizer's name].
    #[arg(long, value_parser = crate::cli::plain_name)]
    pub name: Option<String>,
    /// Seed of the initialization, data order and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue the run from its latest checkpoint.
    #[arg(long)]
    #[serde(skip)]
    pub resume: bool,
    /// cpu, cuda, or auto (CUDA when available).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Torch intra-op threads, 1 to 1024 [default: torch's].
    #[arg(long, value_parser = crate::cli::in_range(1usize, 1024))]
    pub threads: Option<usize>,
    /// Checkpoint every this many steps, 0 to 10⁹ (0: only at the end) [default: the domain's,
    /// 200 for most]; epoch-based domains checkpoint at the end of every epoch instead.
    #[arg(long, value_parser = crate::cli::in_range(0u64, 1_000_000_000))]
    pub checkpoint_every: Option<u64>,
}

impl RunArgs {
    /// The device `--device` names, for domains that load data before opening the session (so
    /// that a missing dataset leaves no run folder behind).
    ///
    /// # Errors
    /// As [`parse_device`].
    pub fn device(&self) -> Result<Device, DeviceError> {
        parse_device(&self.device)
    }

    /// The defaults of every flag with runs under `runs` on the CPU: for tests and examples.
    pub fn for_tests(runs: &Path) -> Self {
        RunArgs {
            optimizer: None,
            config: None,
            runs: runs.to_path_buf(),
            domain: None,
            presets: None,
            name: None,
            seed: 0,
            resume: false,
            device: "cpu".into(),
            threads: None,
            checkpoint_every: None,
        }
    }
}

/// What a domain fills in when the user does not (its folder / preset name and its optimizer),
/// and the shape of its runs (what a step is called, which networks a checkpoint holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// The domain folder under `--runs` and the registry's preset domain.
    pub name: String,
    /// The optimizer when `--optimizer` is not given.
    pub optimizer: String,
    /// The registry's preset domain when it is not the folder's name (`--domain` then moves
    /// only the folder).
    pub presets: Option<String>,
    /// What one step is, in messages (`"step"`, `"generator step"`).
    pub step_unit: String,
    /// The networks a checkpoint holds, each with its own optimizer, saved under
    /// `checkpoints/<network>/step-N/`; empty for one network saved as `checkpoints/step-N/`.
    pub networks: Vec<String>,
    /// Steps between checkpoints when `--checkpoint-every` is not given.
    pub checkpoint_every: u64,
}

impl Domain {
    /// A domain named `name` whose runs train one network with `optimizer` unless told
    /// otherwise.
    pub fn new(name: &str, optimizer: &str) -> Self {
        Domain {
            name: name.into(),
            optimizer: optimizer.into(),
            presets: None,
            step_unit: "step".into(),
            networks: vec![],
            checkpoint_every: 200,
        }
    }

    /// The same domain taking its optimizer presets from the registry's domain `presets`
    /// (e.g. the GAN's `wgan-gp` for runs under `gan-wgan-gp-mnist/`).
    pub fn presets(mut self, presets: &str) -> Self {
        self.presets = Some(presets.into());
        self
    }

    /// The same domain checkpointing every `steps` steps unless `--checkpoint-every` says
    /// otherwise.
    pub fn checkpoint_every(mut self, steps: u64) -> Self {
        self.checkpoint_every = steps;
        self
    }

    /// The same domain whose steps are called `unit` in messages.
    pub fn step_unit(mut self, unit: &str) -> Self {
        self.step_unit = unit.into();
        self
    }

    /// The same domain training several networks, each with its own optimizer (a GAN's
    /// generator and critic). The last one's checkpoint is the one named as the last good one.
    pub fn networks(mut self, names: &[&str]) -> Self {
        self.networks = names.iter().map(|n| n.to_string()).collect();
        self
    }
}

/// Why a session could not open, continue or close.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// `--device` names no usable device.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The run folder or a file in it.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The metrics log.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// Saving or loading a checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The optimizer's settings.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The optimizer failed (other than a non-finite loss).
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
    /// The domain's own error during a step (its data, model or loss).
    #[error(transparent)]
    Domain(Box<dyn std::error::Error + Send + Sync>),
    /// A resumed run was started with another optimizer than the one in its `config.toml`.
    #[error("{run}: this run trained with `{saved}`, not `{asked}`; resume it with --optimizer {saved} or choose another --name")]
    OptimizerChanged {
        /// The run folder.
        run: PathBuf,
        /// The optimizer the run was created with.
        saved: String,
        /// The optimizer asked for now.
        asked: String,
    },
    /// A checkpoint call passed another number of networks than the domain declared.
    #[error("the domain checkpoints {expected} network(s), but {given} were passed")]
    Networks {
        /// Networks the domain declared (1 when it declared none).
        expected: usize,
        /// Networks passed.
        given: usize,
    },
    /// The training loss became NaN or infinite: the run stopped, `summary.json` says so.
    #[error(
        "{name}: the loss is {value} at {unit} {step}; stopped. Last good checkpoint: {}",
        checkpoint.as_deref().map_or_else(|| "none".to_string(), |p| p.display().to_string())
    )]
    NonFinite {
        /// The run's name.
        name: String,
        /// What a step is called.
        unit: String,
        /// The step whose loss was not finite.
        step: u64,
        /// The loss.
        value: f64,
        /// The newest checkpoint written before it.
        checkpoint: Option<PathBuf>,
    },
}

/// The two conversions between a domain's error type and [`SessionError`]: a domain error
/// becomes [`SessionError::Optimizer`] when it wraps pisa-core's error (so the session sees a
/// non-finite loss), [`SessionError`] itself when it wraps one, else [`SessionError::Domain`];
/// and a [`SessionError`] becomes the domain's boxed `Session` variant.
///
/// ```ignore
/// runs::session_error_conversions!(LstmError, Optimizer, Session);
/// ```
#[macro_export]
macro_rules! session_error_conversions {
    ($error:ident, $optimizer:ident, $session:ident) => {
        impl From<$crate::session::SessionError> for $error {
            fn from(e: $crate::session::SessionError) -> Self {
                $error::$session(Box::new(e))
            }
        }

        impl From<$error> for $crate::session::SessionError {
            fn from(e: $error) -> Self {
                match e {
                    $error::$optimizer(e) => $crate::session::SessionError::Optimizer(e),
                    $error::$session(e) => *e,
                    other => $crate::session::SessionError::Domain(Box::new(other)),
                }
            }
        }
    };
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// It trained every step.
    #[serde(rename = "finished")]
    Finished,
    /// A loss was NaN or infinite; see [`RunSummary::stopped`].
    #[serde(rename = "stopped: non-finite loss")]
    StoppedNonFinite,
    /// It ended before its last step by request (a step budget for this invocation); resume it.
    #[serde(rename = "stopped")]
    Paused,
}

/// Why and where a run stopped early.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// `"non-finite loss"`.
    pub reason: String,
    /// The step whose loss was not finite.
    pub step: u64,
    /// The loss, as text (JSON has no NaN).
    pub value: String,
    /// The newest checkpoint written before the stop, if any.
    pub last_good_checkpoint: Option<PathBuf>,
}

/// A run's `summary.json`: what every domain records, then the domain's own figures `F`
/// (flattened: `{"status": ..., "optimizer": ..., "test_accuracy": ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary<F> {
    /// How the run ended.
    pub status: Status,
    /// The optimizer's name.
    pub optimizer: String,
    /// Its number of nodes m.
    pub nodes: usize,
    /// The run's seed.
    pub seed: u64,
    /// Training steps done.
    pub steps: u64,
    /// Seconds of training, continued across resumes.
    pub wall_time_s: f64,
    /// Where and why the run stopped early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stop>,
    /// The domain's figures (absent after an early stop).
    #[serde(flatten)]
    pub figures: Option<F>,
}

impl<F: for<'de> Deserialize<'de>> RunSummary<F> {
    /// Reads a run's `summary.json`.
    ///
    /// # Errors
    /// [`RunError::Io`] when the file cannot be read, [`RunError::Serialize`] when it is not a
    /// summary with figures `F`.
    pub fn read(path: &Path) -> Result<Self, RunError> {
        let text = std::fs::read_to_string(path).map_err(crate::run::io(path))?;
        serde_json::from_str(&text).map_err(|e| RunError::Serialize {
            what: "summary.json",
            message: format!("{}: {e}", path.display()),
        })
    }
}

/// One training run in progress: see the [module docs](self).
pub struct Session {
    args: RunArgs,
    domain: String,
    optimizer: String,
    /// The registry's preset domain.
    presets: String,
    name: String,
    step_unit: String,
    /// Where each network's checkpoints go (one folder for a one-network domain).
    checkpoint_dirs: Vec<PathBuf>,
    device: Device,
    dir: RunDir,
    /// The checkpoint a `--resume` continues from, found when the session opened.
    resume_from: Option<(PathBuf, u64)>,
    recorder: Recorder,
    progress: Progress,
    total_steps: u64,
    checkpoint_every: u64,
    last_checkpoint: Option<PathBuf>,
    /// The optimizer's number of nodes m, once its configuration is known.
    nodes: usize,
}

/// Checkpoints kept per run (the newest ones).
const KEEP_CHECKPOINTS: usize = 2;

impl Session {
    /// Opens the run named by `args` in `domain`, logging the metric `columns`, for a run of
    /// `total_steps` steps: parses the device, sets torch's threads, creates (or, with
    /// `--resume`, reopens) the run folder and continues its metrics from the latest checkpoint.
    ///
    /// # Errors
    /// A bad `--device`, an existing run without `--resume`, a resumed run with another
    /// optimizer or other metric columns, or an I/O error.
    pub fn open(
        args: &RunArgs,
        domain: &Domain,
        columns: &[&str],
        total_steps: u64,
    ) -> Result<Self, SessionError> {
        let device = parse_device(&args.device)?;
        if let Some(n) = args.threads.filter(|&n| n > 0) {
            tch::set_num_threads(n as i32);
        }
        let domain_name = args.domain.clone().unwrap_or_else(|| domain.name.clone());
        let optimizer = args.optimizer.clone().unwrap_or_else(|| domain.optimizer.clone());
        let name = args.name.clone().unwrap_or_else(|| optimizer.clone());
        let dir = RunDir::create(&args.runs, &domain_name, &name, args.resume)?;
        let checkpoint_dirs: Vec<PathBuf> = match domain.networks.is_empty() {
            true => vec![dir.checkpoints()],
            false => domain
                .networks
                .iter()
                .map(|n| dir.checkpoints().join(n))
                .collect(),
        };
        let last_dir = checkpoint_dirs
            .last()
            .cloned()
            .unwrap_or_else(|| dir.checkpoints());
        let resume_from = match args.resume {
            true => match checkpoint::latest(&last_dir)? {
                Some(path) => {
                    let step = checkpoint::read_meta(&path)?.step;
                    Some((path, step))
                }
                None => {
                    eprintln!("no checkpoint in {}: starting afresh", last_dir.display());
                    None
                }
            },
            false => None,
        };
        // A fresh run (or a resume without a checkpoint) starts its metrics over.
        let recorder = Recorder::open(&dir, columns, Some(resume_from.as_ref().map_or(0, |r| r.1)))?;
        let progress = Progress::new(&format!("{domain_name}/{name}"), total_steps);
        Ok(Session {
            args: args.clone(),
            presets: (args.presets.clone())
                .or_else(|| domain.presets.clone())
                .unwrap_or_else(|| domain_name.clone()),
            domain: domain_name,
            optimizer,
            name,
            step_unit: domain.step_unit.clone(),
            checkpoint_dirs,
            last_checkpoint: resume_from.as_ref().map(|r| r.0.clone()),
            nodes: 1,
            device,
            dir,
            resume_from,
            recorder,
            progress,
            total_steps,
            checkpoint_every: args.checkpoint_every.unwrap_or(domain.checkpoint_every),
        })
    }

    /// The device tensors go to.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.args.seed
    }

    /// The run's name (its folder's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The domain folder / preset domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The run folder, for the domain's own files (vocabulary, sample grids, ...).
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// The optimizer's configuration: the registry's presets for the domain (see
    /// [`Domain::presets()`]), overridden by
    /// `--config`; written to the run's `config.toml`.
    ///
    /// # Errors
    /// An unknown optimizer, invalid settings, an unreadable `--config` file, or a resumed run
    /// that trained with another optimizer.
    pub fn optimizer_config(&mut self) -> Result<OptimizerConfig, SessionError> {
        let registry = Registry::builtin();
        let cfg = match &self.args.config {
            Some(path) => registry.resolve_file(&self.presets, &self.optimizer, path)?,
            None => registry.resolve(&self.presets, &self.optimizer, &toml::Table::new())?,
        };
        self.use_optimizer_config(cfg)
    }

    /// Adopts a configuration the domain assembled itself: checks a resumed run trained with
    /// the same optimizer and writes `config.toml`. [`Session::optimizer_config`] ends here.
    ///
    /// # Errors
    /// [`SessionError::OptimizerChanged`] for a resumed run, or an I/O error.
    pub fn use_optimizer_config(&mut self, cfg: OptimizerConfig) -> Result<OptimizerConfig, SessionError> {
        // `--config` may name the optimizer itself.
        self.optimizer = cfg.base.name().to_string();
        if self.args.resume {
            if let Some(saved) = saved_optimizer(&self.dir) {
                if saved != self.optimizer {
                    return Err(SessionError::OptimizerChanged {
                        run: self.dir.path().to_path_buf(),
                        saved,
                        asked: self.optimizer.clone(),
                    });
                }
            }
        }
        self.dir.write_config(&cfg)?;
        self.nodes = cfg.base.nodes();
        Ok(cfg)
    }

    /// Loads the checkpoint a `--resume` continues from into `vs` and `optimizer` (built like
    /// the saved ones) and returns its metadata; `None` for a fresh run.
    ///
    /// # Errors
    /// [`SessionError::Checkpoint`] naming the file that failed.
    pub fn restore(
        &self,
        vs: &mut VarStore,
        optimizer: &mut dyn Optimizer,
    ) -> Result<Option<Meta>, SessionError> {
        self.restore_networks(&mut [(vs, optimizer)])
    }

    /// As [`Session::restore`] for a domain of several [networks](Domain::networks()), in the
    /// order it declared them.
    ///
    /// # Errors
    /// [`SessionError::Networks`] for another number of networks, else as
    /// [`Session::restore`].
    pub fn restore_networks(
        &self,
        networks: &mut [(&mut VarStore, &mut dyn Optimizer)],
    ) -> Result<Option<Meta>, SessionError> {
        self.expect_networks(networks.len())?;
        let Some((path, _)) = &self.resume_from else {
            return Ok(None);
        };
        let folder = path.file_name().unwrap_or_default();
        let mut meta = None;
        for ((vs, optimizer), dir) in networks.iter_mut().zip(&self.checkpoint_dirs) {
            meta = Some(checkpoint::load(&dir.join(folder), vs, &mut **optimizer)?);
        }
        if let Some(meta) = &meta {
            eprintln!(
                "resuming {} from {} {}",
                self.dir.path().display(),
                self.step_unit,
                meta.step
            );
        }
        Ok(meta)
    }

    fn expect_networks(&self, given: usize) -> Result<(), SessionError> {
        let expected = self.checkpoint_dirs.len();
        match given == expected {
            true => Ok(()),
            false => Err(SessionError::Networks { expected, given }),
        }
    }

    /// The checkpoint a `--resume` continues from, for a domain whose checkpoints carry more
    /// than a model and an optimizer (RL's environment and normalization state) and that loads
    /// it itself; `None` for a fresh run.
    pub fn resume_checkpoint(&self) -> Option<&Path> {
        self.resume_from.as_ref().map(|(path, _)| path.as_path())
    }

    /// Records a checkpoint the domain wrote itself under [`RunDir::checkpoints`] as the last
    /// good one (named by the non-finite stop).
    pub fn adopt_checkpoint(&mut self, path: PathBuf) {
        self.last_checkpoint = Some(path);
    }

    /// Seeds libtorch's generator for `step` (a function of the run's seed and the step).
    pub fn seed_step(&self, step: u64) {
        tch::manual_seed(step_seed(self.args.seed, step));
    }

    /// Passes a training step's result through, except a non-finite loss: that ends the run
    /// with `summary.json` recording the stop at `step` and the last good checkpoint, and the
    /// metrics flushed. A domain whose step has its own error type converts it into
    /// [`SessionError`], keeping pisa-core's errors as [`SessionError::Optimizer`].
    ///
    /// # Errors
    /// [`SessionError::NonFinite`], or the step's other errors.
    pub fn check<T, E: Into<SessionError>>(
        &mut self,
        outcome: Result<T, E>,
        step: u64,
    ) -> Result<T, SessionError> {
        match outcome.map_err(Into::into) {
            Ok(value) => Ok(value),
            Err(SessionError::Optimizer(pisa_core::Error::NonFiniteLoss { value, .. })) => {
                Err(self.stop_non_finite(step, value))
            }
            Err(e) => Err(e),
        }
    }

    /// Ends the run on a non-finite loss `value` at `step` found outside the optimizer (GPT-2's
    /// replicas compute their losses themselves): `summary.json` records the stop and the last
    /// good checkpoint, the metrics are flushed, and the error to return is
    /// [`SessionError::NonFinite`] (or the I/O error that prevented writing the record).
    pub fn stop_non_finite(&mut self, step: u64, value: f64) -> SessionError {
        let summary = RunSummary::<()> {
            status: Status::StoppedNonFinite,
            optimizer: self.optimizer.clone(),
            nodes: self.nodes,
            seed: self.args.seed,
            steps: step,
            wall_time_s: self.recorder.wall_time(),
            stopped: Some(Stop {
                reason: "non-finite loss".into(),
                step,
                value: value.to_string(),
                last_good_checkpoint: self.last_checkpoint.clone(),
            }),
            figures: None,
        };
        if let Err(e) = self.dir.write_summary(&summary) {
            return e.into();
        }
        if let Err(e) = self.recorder.flush() {
            return e.into();
        }
        SessionError::NonFinite {
            name: self.name.clone(),
            unit: self.step_unit.clone(),
            step,
            value,
            checkpoint: self.last_checkpoint.clone(),
        }
    }

    /// Logs `values` at `step` to the metrics (CSV + TensorBoard) and the progress display.
    ///
    /// # Errors
    /// [`SessionError::Metrics`] when a write fails.
    pub fn record(&mut self, step: u64, values: &[(&str, f64)]) -> Result<(), SessionError> {
        self.recorder.record(step, values)?;
        self.progress.update(step, values);
        Ok(())
    }

    /// Shows `values` at `step` on the progress display only (not logged).
    pub fn show(&mut self, step: u64, values: &[(&str, f64)]) {
        self.progress.update(step, values);
    }

    /// The TensorBoard writer, for images, histograms and text.
    pub fn tensorboard(&mut self) -> &mut tfevents::SummaryWriter {
        self.recorder.tensorboard()
    }

    /// Whether a checkpoint is due after `done` steps: every `--checkpoint-every` steps and at
    /// the last step.
    pub fn checkpoint_due(&self, done: u64) -> bool {
        let every = self.checkpoint_every;
        (every > 0 && done % every == 0) || done == self.total_steps
    }

    /// Saves a checkpoint after `done` steps with the domain's own resume state `state` (epoch,
    /// data position, best figures, ...; read back from [`Meta::extra`] after
    /// [`Session::restore`]), keeping the newest two; it becomes the last good checkpoint.
    ///
    /// # Errors
    /// [`SessionError::Checkpoint`] naming the file that failed.
    pub fn checkpoint(
        &mut self,
        vs: &VarStore,
        optimizer: &dyn Optimizer,
        done: u64,
        state: &impl Serialize,
    ) -> Result<PathBuf, SessionError> {
        self.checkpoint_networks(&[(vs, optimizer)], done, state)
    }

    /// As [`Session::checkpoint`] for a domain of several [networks](Domain::networks()), in the
    /// order it declared them; returns the last one's folder.
    ///
    /// # Errors
    /// [`SessionError::Networks`] for another number of networks, else as
    /// [`Session::checkpoint`].
    pub fn checkpoint_networks(
        &mut self,
        networks: &[(&VarStore, &dyn Optimizer)],
        done: u64,
        state: &impl Serialize,
    ) -> Result<PathBuf, SessionError> {
        self.expect_networks(networks.len())?;
        let extra = serde_json::to_value(state).map_err(|e| RunError::Serialize {
            what: "the checkpoint's resume state",
            message: e.to_string(),
        })?;
        let meta = Meta {
            step: done,
            seed: self.args.seed,
            rng: serde_json::Value::Null,
            extra,
        };
        let mut last = None;
        for ((vs, optimizer), dir) in networks.iter().zip(&self.checkpoint_dirs) {
            last = Some(checkpoint::save(dir, vs, *optimizer, &meta, KEEP_CHECKPOINTS)?);
        }
        self.last_checkpoint = last.clone();
        Ok(last.unwrap_or_default())
    }

    /// Ends the run after `steps` steps: writes `summary.json` with the domain's `figures`,
    /// prints it as one JSON line on stdout and returns it.
    ///
    /// # Errors
    /// An I/O or serialization error.
    pub fn finish<F: Serialize>(
        self,
        optimizer: &dyn Optimizer,
        steps: u64,
        figures: F,
    ) -> Result<RunSummary<F>, SessionError> {
        self.finish_as(Status::Finished, optimizer, steps, figures)
    }

    /// As [`Session::finish`] with another status ([`Status::Paused`]: a step budget ended this
    /// invocation before the run's last step).
    ///
    /// # Errors
    /// An I/O or serialization error.
    pub fn finish_as<F: Serialize>(
        mut self,
        status: Status,
        optimizer: &dyn Optimizer,
        steps: u64,
        figures: F,
    ) -> Result<RunSummary<F>, SessionError> {
        self.progress.finish();
        self.recorder.flush()?;
        let summary = RunSummary {
            status,
            optimizer: self.optimizer.clone(),
            nodes: optimizer.node_weights().len(),
            seed: self.args.seed,
            steps,
            wall_time_s: self.recorder.wall_time(),
            stopped: None,
            figures: Some(figures),
        };
        let line = self.dir.write_summary(&summary)?;
        println!("{line}");
        Ok(summary)
    }
}

/// The optimizer named in a run folder's `config.toml`, if it has one.
fn saved_optimizer(dir: &RunDir) -> Option<String> {
    let text = std::fs::read_to_string(dir.path().join("config.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table.get("name")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module};
    use tch::{Kind, Tensor};

    /// A tiny regression y = 2x trained with SGD through a session; `blow_up_at` makes the loss
    /// NaN from that step on. Returns the session's result and the final weight.
    fn train(args: &RunArgs, steps: u64, blow_up_at: Option<u64>) -> (Result<(), SessionError>, f64) {
        let mut session = Session::open(args, &Domain::new("toy", "sgd"), &["train/loss"], steps).unwrap();
        let mut vs = VarStore::new(session.device());
        let mut net = nn::linear(vs.root(), 1, 1, Default::default());
        // A fixed start, not libtorch's global generator (tests run in parallel threads).
        tch::no_grad(|| {
            let _ = net.ws.fill_(0.0);
            if let Some(b) = net.bs.as_mut() {
                let _ = b.fill_(0.0);
            }
        });
        let mut opt = session.optimizer_config().unwrap().build(&vs).unwrap();
        let start = session
            .restore(&mut vs, opt.as_mut())
            .unwrap()
            .map_or(0, |m| m.step);
        let result = (|| {
            for step in start..steps {
                session.seed_step(step);
                // Inputs from the step alone: libtorch's generator is global and tests run in
                // parallel threads.
                let x = (Tensor::arange(16, (Kind::Float, Device::Cpu)).view([16, 1]) * 0.1
                    + step as f64 * 0.01)
                    .sin();
                let poison = if blow_up_at.is_some_and(|b| step >= b) {
                    f64::NAN
                } else {
                    0.0
                };
                let outcome = opt.step(&mut |_| (net.forward(&x) - &x * 2.0).square().mean(None) + poison);
                let report = session.check(outcome, step)?;
                let done = step + 1;
                session.record(done, &[("train/loss", report.weighted_loss(opt.node_weights()))])?;
                if session.checkpoint_due(done) {
                    session.checkpoint(&vs, opt.as_ref(), done, &done)?;
                }
            }
            Ok(())
        })();
        let weight = net.ws.double_value(&[0, 0]);
        match result {
            Ok(()) => {
                session.finish(opt.as_ref(), steps, ()).unwrap();
                (Ok(()), weight)
            }
            Err(e) => (Err(e), weight),
        }
    }

    fn summary(args: &RunArgs, name: &str) -> RunSummary<serde_json::Value> {
        RunSummary::read(&args.runs.join("toy").join(name).join("summary.json")).unwrap()
    }

    #[test]
    fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
        let base = tempfile::tempdir().unwrap();
        let mut args = RunArgs::for_tests(base.path());
        args.checkpoint_every = Some(5);
        args.name = Some("straight".into());
        let (ok, straight) = train(&args, 12, None);
        ok.unwrap();
        let s = summary(&args, "straight");
        assert_eq!(
            (s.status, s.steps, s.optimizer.as_str(), s.nodes),
            (Status::Finished, 12, "sgd", 1)
        );
        assert!(
            straight > 0.1 && straight < 2.0,
            "SGD moves the weight from 0 toward 2: {straight}"
        );

        // Interrupted after 7 steps (checkpoint at 5), then resumed to 12.
        args.name = Some("resumed".into());
        let _ = train(&args, 7, None);
        args.resume = true;
        let (ok, resumed) = train(&args, 12, None);
        ok.unwrap();
        assert_eq!(
            resumed.to_bits(),
            straight.to_bits(),
            "bit-identical after resume"
        );
        let csv = std::fs::read_to_string(base.path().join("toy/resumed/metrics.csv")).unwrap();
        let steps: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        let expected: Vec<String> = (1..=12).map(|s| s.to_string()).collect();
        assert_eq!(steps, expected, "rows after the checkpoint are logged once");

        // A fresh run into the same folder is refused; a resume with another optimizer too.
        args.resume = false;
        assert!(matches!(
            Session::open(&args, &Domain::new("toy", "sgd"), &["train/loss"], 12),
            Err(SessionError::Run(RunError::Exists(_)))
        ));
        args.resume = true;
        args.optimizer = Some("adam".into());
        let mut session = Session::open(&args, &Domain::new("toy", "sgd"), &["train/loss"], 12).unwrap();
        let err = session.optimizer_config().err().unwrap();
        assert!(matches!(err, SessionError::OptimizerChanged { .. }), "{err}");
    }

    #[test]
    fn a_non_finite_loss_stops_the_run_and_names_the_last_good_checkpoint() {
        let base = tempfile::tempdir().unwrap();
        let mut args = RunArgs::for_tests(base.path());
        args.checkpoint_every = Some(4);
        args.name = Some("diverged".into());
        let (result, _) = train(&args, 20, Some(9));
        let err = result.unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, SessionError::NonFinite { step: 9, .. }),
            "{message}"
        );
        assert!(message.contains("step-0000000008"), "{message}");
        let s = summary(&args, "diverged");
        assert_eq!(s.status, Status::StoppedNonFinite);
        let stop = s.stopped.unwrap();
        assert_eq!((stop.step, stop.value.as_str()), (9, "NaN"));
        assert!(stop.last_good_checkpoint.unwrap().ends_with("step-0000000008"));
        let csv = std::fs::read_to_string(base.path().join("toy/diverged/metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 1 + 9, "the good steps' metrics are on disk");
    }
}
