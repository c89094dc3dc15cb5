//! The run skeleton every training binary shares: the common flags ([`RunArgs`]) and the
//! [`Session`] that owns what is the same in every domain.
//!
//! A domain's binary parses its own flags with `#[command(flatten)] run: RunArgs`, opens a
//! session, builds its model and optimizer, and runs its loop; the session does the rest:
//!
//! 1. [`Session::open`]: device, torch threads, Ctrl-C handler, run folder
//!    `runs/<domain>/<name>/` (locked for this process; refusing an existing run unless
//!    `--resume`), the metrics log (CSV + TensorBoard, written through) continued from the
//!    newest checkpoint that verifies when resuming; the lead rank prints the run folder and
//!    the `tensorboard --logdir <runs>` command that watches it on stderr;
//! 2. [`Session::optimizer_config`]: the registry's settings for `--optimizer` in the domain,
//!    with `--config` overrides, written to `config.toml`; with [`Session::pin_settings`] (the
//!    domain's trajectory settings) checked against the run's on resume;
//! 3. [`Session::restore`]: model and optimizer state from that checkpoint, and the step to
//!    continue from;
//! 4. per step: [`Session::seed_step`] (libtorch's generator, a function of seed and step, so a
//!    resumed run draws what an uninterrupted one would), [`Session::check`] on the optimizer's
//!    result (a non-finite loss ends the run with `summary.json` naming the last good
//!    checkpoint), [`Session::record`] (metrics + progress + the divergence guard,
//!    [`crate::guard`]), [`Session::checkpoint_due`] / [`Session::checkpoint`] (every
//!    `--checkpoint-every` steps, at the end and after Ctrl-C, newest two kept);
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

use std::sync::Arc;

use pisa_core::collective::{Collective, FlatMut, Ranks, Reduction};
use pisa_core::{Optimizer, OptimizerConfig};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::Device;

use crate::checkpoint::{self, step_seed, CheckpointError, Meta};
use crate::device::{parse_device, DeviceError};
use crate::guard::{norm_is_sane, GuardConfig, LossGuard, Verdict, NORM_GROWTH};
use crate::metrics::{MetricsError, Recorder};
use crate::progress::Progress;
use crate::registry::{Registry, RegistryError};
use crate::run::{RunDir, RunError};
use crate::signal;

/// The flags every training binary takes (`#[command(flatten)]`): where the run goes, what it
/// trains with, and how it starts.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunArgs {
    /// Optimizer name (sisa, nsisa, pisa, sgd, adam, adamw, rmsprop, adabelief, radam,
    /// adabound, yogi, adan, msvag, fromage, lamb, muon) [default: the domain's].
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
    /// The registry domain whose optimizer presets apply [default: the domain's own, whatever
    /// `--domain` says: moving the folder never changes the settings].
    #[arg(long)]
    pub presets: Option<String>,
    /// Run name: a plain folder name, no `/` or `..` [default: the optimizer's name].
    #[arg(long, value_parser = crate::cli::plain_name)]
    pub name: Option<String>,
    /// Seed of the initialization, data order and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue the run from its latest checkpoint that verifies.
    #[arg(long)]
    #[serde(skip)]
    pub resume: bool,
    /// With --resume: continue even though settings that change the trajectory (seed, batch,
    /// nodes, optimizer settings, model shape) differ from the run's; they are listed.
    #[arg(long, requires = "resume")]
    #[serde(skip)]
    pub resume_with_changes: bool,
    /// Checkpoints kept, newest first, 1 to 1000 (pinned ones are kept besides; see
    /// `runs::checkpoint::pin`).
    #[arg(long, default_value_t = 2, value_parser = crate::cli::in_range(1usize, 1000))]
    #[serde(default = "default_keep_checkpoints")]
    pub keep_checkpoints: usize,
    /// Under MPI: how the ranks sum the nodes' aggregation (`all-reduce`: MPI's all-reduce;
    /// `ordered`: rank by rank in node order, bit-identical to one process).
    #[arg(long, default_value = "all-reduce")]
    #[serde(skip)]
    pub reduction: Reduction,
    /// Stop when the training loss stays above this multiple of its lowest running median (and
    /// above its first value) for 3 steps in a row, 0 to 10⁶ (0: off); see `runs::guard`.
    #[arg(long, default_value_t = 10.0, value_parser = crate::cli::in_range(0.0f64, 1e6))]
    #[serde(default = "default_divergence_factor")]
    pub divergence_factor: f64,
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

fn default_keep_checkpoints() -> usize {
    2
}

fn default_divergence_factor() -> f64 {
    GuardConfig::default().factor
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

    /// The optimizer name these flags choose in `domain` (`--optimizer`, else the domain's).
    pub fn optimizer_name(&self, domain: &Domain) -> String {
        self.optimizer.clone().unwrap_or_else(|| domain.optimizer.clone())
    }

    /// The registry domain whose presets apply: `--presets`, else the domain's presets, else
    /// the domain's name. `--domain` is not consulted: it only moves the run folder (a suite
    /// cell `--domain rl-a2c-halfcheetah` still trains with `a2c-halfcheetah`'s presets).
    pub fn preset_domain(&self, domain: &Domain) -> String {
        (self.presets.clone())
            .or_else(|| domain.presets.clone())
            .unwrap_or_else(|| domain.name.clone())
    }

    /// The optimizer's configuration these flags choose in `domain` (registry presets and the
    /// `--config` overrides), without opening a session: a domain checks what depends on it
    /// (node count against the batch, ...) before the run folder exists, then hands it to
    /// [`Session::use_optimizer_config`].
    ///
    /// # Errors
    /// An unknown optimizer, invalid settings, an unreadable `--config` file.
    pub fn resolve_optimizer(&self, domain: &Domain) -> Result<OptimizerConfig, RegistryError> {
        let registry = Registry::builtin();
        let (presets, optimizer) = (self.preset_domain(domain), self.optimizer_name(domain));
        match &self.config {
            Some(path) => registry.resolve_file(&presets, &optimizer, path),
            None => registry.resolve(&presets, &optimizer, &toml::Table::new()),
        }
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
            resume_with_changes: false,
            reduction: Reduction::AllReduce,
            keep_checkpoints: default_keep_checkpoints(),
            divergence_factor: default_divergence_factor(),
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
    /// The registry's preset domain when it is not `name` (`--domain` moves only the folder
    /// either way).
    pub presets: Option<String>,
    /// What one step is, in messages (`"step"`, `"generator step"`).
    pub step_unit: String,
    /// The networks a checkpoint holds, each with its own optimizer, saved under
    /// `checkpoints/<network>/step-N/`; empty for one network saved as `checkpoints/step-N/`.
    pub networks: Vec<String>,
    /// Steps between checkpoints when `--checkpoint-every` is not given.
    pub checkpoint_every: u64,
    /// The logged metric the divergence guard watches (`train/loss` unless told otherwise).
    pub loss_metric: String,
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
            loss_metric: "train/loss".into(),
        }
    }

    /// The same domain whose divergence guard watches the logged metric `name`.
    pub fn loss_metric(mut self, name: &str) -> Self {
        self.loss_metric = name.into();
        self
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
    /// A resumed run was started with settings that change its trajectory.
    #[error(
        "{run}: these settings differ from the run's: {}; resume with the run's settings, pass --resume-with-changes to continue anyway, or choose another --name",
        changes.join("; ")
    )]
    SettingsChanged {
        /// The run folder.
        run: PathBuf,
        /// `key: saved → now`, one per differing key.
        changes: Vec<String>,
    },
    /// Another rank failed a step every rank takes together (its own error names the cause);
    /// this rank stopped with it.
    #[error("rank(s) {ranks:?} failed while {during}; every rank stopped (see the failing rank's error)")]
    OtherRank {
        /// The ranks that failed.
        ranks: Vec<usize>,
        /// What the ranks were doing.
        during: &'static str,
    },
    /// A resume over another number of processes than the checkpoint was written by.
    #[error(
        "{checkpoint}: written by {saved} process(es), resumed by {now}; each holds its own nodes' optimizer state, \
         so resume with the same number (`cargo xtask launch --nproc {saved} -- ...`, or without MPI for 1)"
    )]
    WorldChanged {
        /// The checkpoint.
        checkpoint: PathBuf,
        /// The processes that wrote it.
        saved: usize,
        /// The processes resuming it.
        now: usize,
    },
    /// A checkpoint call passed another number of networks than the domain declared.
    #[error("the domain checkpoints {expected} network(s), but {given} were passed")]
    Networks {
        /// Networks the domain declared (1 when it declared none).
        expected: usize,
        /// Networks passed.
        given: usize,
    },
    /// The training loss stayed far above its running median, or the weights exploded: the run
    /// stopped, `summary.json` says so.
    #[error(
        "{name}: diverged at {unit} {step}: {reason}; stopped. Last good checkpoint: {}",
        checkpoint.as_deref().map_or_else(|| "none".to_string(), |p| p.display().to_string())
    )]
    Diverged {
        /// The run's name.
        name: String,
        /// What a step is called.
        unit: String,
        /// The step at which the guard stopped the run.
        step: u64,
        /// What the guard saw.
        reason: String,
        /// The newest checkpoint written before the divergence began.
        checkpoint: Option<PathBuf>,
    },
    /// Ctrl-C or SIGTERM: the run stopped after a step, with a checkpoint where the domain can
    /// write one there; `summary.json` says `"interrupted"`.
    #[error(
        "{name}: interrupted after {unit} {step}; resume with --resume. Checkpoint: {}",
        checkpoint.as_deref().map_or_else(|| "none".to_string(), |p| p.display().to_string())
    )]
    Interrupted {
        /// The run's name.
        name: String,
        /// What a step is called.
        unit: String,
        /// Steps done.
        step: u64,
        /// The checkpoint a resume continues from.
        checkpoint: Option<PathBuf>,
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
    /// The divergence guard stopped it; see [`RunSummary::stopped`].
    #[serde(rename = "stopped: diverged")]
    StoppedDiverged,
    /// Ctrl-C or SIGTERM stopped it after a step; resume it.
    #[serde(rename = "interrupted")]
    Interrupted,
    /// It ended before its last step by request (a step budget for this invocation); resume it.
    #[serde(rename = "stopped")]
    Paused,
}

/// Why and where a run stopped early.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// `"non-finite loss"`, `"diverged: ..."` or `"interrupted"`.
    pub reason: String,
    /// The step at which the run stopped (the row of `metrics.csv` it would have had).
    pub step: u64,
    /// The loss (or parameter norm) that stopped it, as text (JSON has no NaN).
    pub value: String,
    /// The newest good checkpoint (finite loss, within the divergence guard) before the stop.
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
    /// The metrics log and the progress display: rank 0's only.
    recorder: Option<Recorder>,
    progress: Option<Progress>,
    /// The ranks of a run whose nodes are spread over processes (see [`Session::open_on`]).
    world: Option<Arc<dyn Collective>>,
    total_steps: u64,
    checkpoint_every: u64,
    last_checkpoint: Option<PathBuf>,
    /// The optimizer's number of nodes m, once its configuration is known.
    nodes: usize,
    loss_metric: String,
    guard: LossGuard,
    /// The parameter norm when training started (or resumed), for the weight rule.
    start_norm: Option<f64>,
}

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
        Self::open_on(None, args, domain, columns, total_steps)
    }

    /// As [`Session::open`] for a run whose nodes are spread over the ranks of `world` (one
    /// process each, started by an MPI launcher; `None` or a world of one is [`Session::open`]).
    /// Rank 0 owns the run folder (lock, metrics, config, summary) and decides the resume; every
    /// rank writes its own nodes' optimizer state into each checkpoint
    /// (`optimizer.rank<r>.safetensors`, in the same atomic folder) and resumes from it. Steps
    /// every rank takes together (opening, checkpointing, stopping) are agreed on, so a rank that
    /// fails there stops the others with [`SessionError::OtherRank`] instead of leaving them
    /// waiting. The ranks share the run folder's file system.
    ///
    /// # Errors
    /// As [`Session::open`], or [`SessionError::OtherRank`].
    pub fn open_on(
        world: Option<Arc<dyn Collective>>,
        args: &RunArgs,
        domain: &Domain,
        columns: &[&str],
        total_steps: u64,
    ) -> Result<Self, SessionError> {
        let world = world.filter(|w| w.world() > 1);
        let lead = world.as_ref().is_none_or(|w| w.rank() == 0);
        let device = parse_device(&args.device)?;
        signal::install();
        if let Some(n) = args.threads.filter(|&n| n > 0) {
            tch::set_num_threads(n as i32);
        }
        let domain_name = args.domain.clone().unwrap_or_else(|| domain.name.clone());
        let optimizer = args.optimizer_name(domain);
        let name = args.name.clone().unwrap_or_else(|| optimizer.clone());
        let opened = match lead {
            true => Self::open_folder(args, domain, columns, total_steps, &domain_name, &name).map(Some),
            false => Ok(None),
        };
        let opened = agree(world.as_deref(), opened, "opening the run")?;
        let (dir, resume_from, recorder, progress) = match opened {
            Some(f) => (f.dir, f.resume_from, Some(f.recorder), Some(f.progress)),
            None => (RunDir::of(&args.runs, &domain_name, &name), None, None, None),
        };
        let checkpoint_dirs = checkpoint_dirs(&dir, domain);
        // Rank 0's resume decision, for every rank.
        let resume_from = match &world {
            None => resume_from,
            Some(world) => {
                let mut step = [resume_from.as_ref().map_or(-1.0, |r| r.1 as f64)];
                world.broadcast(FlatMut::F64(&mut step), 0)?;
                let last = checkpoint_dirs
                    .last()
                    .cloned()
                    .unwrap_or_else(|| dir.checkpoints());
                (step[0] >= 0.0).then(|| {
                    let step = step[0] as u64;
                    (last.join(format!("step-{step:010}")), step)
                })
            }
        };
        Ok(Session {
            args: args.clone(),
            presets: args.preset_domain(domain),
            domain: domain_name,
            optimizer,
            name,
            step_unit: domain.step_unit.clone(),
            checkpoint_dirs,
            last_checkpoint: resume_from.as_ref().map(|r| r.0.clone()),
            nodes: 1,
            loss_metric: domain.loss_metric.clone(),
            guard: LossGuard::new(GuardConfig {
                factor: args.divergence_factor,
                ..GuardConfig::default()
            }),
            start_norm: None,
            device,
            dir,
            resume_from,
            recorder,
            progress,
            world,
            total_steps,
            checkpoint_every: args.checkpoint_every.unwrap_or(domain.checkpoint_every),
        })
    }

    /// Rank 0's part of opening: the run folder, the resume decision, the metrics log.
    fn open_folder(
        args: &RunArgs,
        domain: &Domain,
        columns: &[&str],
        total_steps: u64,
        domain_name: &str,
        name: &str,
    ) -> Result<OpenedFolder, SessionError> {
        let dir = RunDir::create(&args.runs, domain_name, name, args.resume)?;
        let checkpoint_dirs = checkpoint_dirs(&dir, domain);
        let last_dir = checkpoint_dirs
            .last()
            .cloned()
            .unwrap_or_else(|| dir.checkpoints());
        let resume_from = match args.resume {
            true => match checkpoint::latest_verified(&checkpoint_dirs)? {
                Some(path) => {
                    let step = checkpoint::read_meta(&path)?.step;
                    Some((path, step))
                }
                None => {
                    eprintln!("no usable checkpoint in {}: starting afresh", last_dir.display());
                    None
                }
            },
            false => None,
        };
        // A fresh run (or a resume without a checkpoint) starts its metrics over.
        let recorder = Recorder::open(&dir, columns, Some(resume_from.as_ref().map_or(0, |r| r.1)))?;
        let resumed_at = resume_from.as_ref().map_or(0, |r| r.1);
        let progress = Progress::new(&format!("{domain_name}/{name}"), total_steps).starting_at(resumed_at);
        eprintln!("{}", announcement(&dir, &args.runs));
        Ok(OpenedFolder {
            dir,
            resume_from,
            recorder,
            progress,
        })
    }

    /// This process's rank (0 in a one-process run).
    pub fn rank(&self) -> usize {
        self.world.as_ref().map_or(0, |w| w.rank())
    }

    /// Whether this process owns the run folder (rank 0, or the only process).
    pub fn is_lead(&self) -> bool {
        self.rank() == 0
    }

    /// The number of processes the run's nodes are spread over (1 in one process).
    pub fn world_size(&self) -> usize {
        self.world.as_ref().map_or(1, |w| w.world())
    }

    /// Spreads `optimizer`'s nodes over the session's ranks (`--reduction` decides how they sum)
    /// before [`Session::restore`]; nothing in a one-process run.
    ///
    /// # Errors
    /// A node count the ranks do not divide, or an optimizer that runs in one process only.
    pub fn distribute(&self, optimizer: &mut dyn Optimizer) -> Result<(), SessionError> {
        let Some(world) = &self.world else {
            return Ok(());
        };
        let m = optimizer.node_weights().len();
        let ranks = Ranks::new(world.clone(), m, self.args.reduction)?;
        let distributed = optimizer.distribute(ranks).map_err(SessionError::from);
        self.agree(distributed, "spreading the nodes over the ranks")
    }

    /// Every rank's outcome of a step they take together: this rank's error, or
    /// [`SessionError::OtherRank`] when another rank failed.
    fn agree<T>(&self, outcome: Result<T, SessionError>, during: &'static str) -> Result<T, SessionError> {
        agree(self.world.as_deref(), outcome, during)
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
        self.nodes = cfg.base.nodes();
        let recorded = match self.is_lead() {
            true => self.record_optimizer_config(&cfg),
            false => Ok(()),
        };
        self.agree(recorded, "recording the optimizer's settings")?;
        Ok(cfg)
    }

    /// Adopts an optimizer built outside the registry (the federated baselines' server step):
    /// as [`Session::use_optimizer_config`], with `settings` (serialized with a `name` key equal
    /// to `name`) pinned and written to `config.toml`, and `name` in the summary.
    ///
    /// # Errors
    /// As [`Session::use_optimizer_config`].
    pub fn use_algorithm(
        &mut self,
        name: &str,
        nodes: usize,
        settings: &impl Serialize,
    ) -> Result<(), SessionError> {
        self.optimizer = name.to_string();
        self.nodes = nodes;
        let recorded = match self.is_lead() {
            true => self.record_optimizer_config(settings),
            false => Ok(()),
        };
        self.agree(recorded, "recording the optimizer's settings")
    }

    /// Rank 0's part of [`Session::use_optimizer_config`].
    fn record_optimizer_config(&mut self, cfg: &impl Serialize) -> Result<(), SessionError> {
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
        let settings = serde_json::to_value(cfg).map_err(|e| RunError::Serialize {
            what: "the optimizer's settings",
            message: e.to_string(),
        })?;
        self.pin_section("optimizer", settings)?;
        self.dir.write_config(cfg)?;
        Ok(())
    }

    /// Records the domain's settings that change the trajectory (batch, model shape, data, node
    /// split, ...: not the step count or logging cadence) in the run's `settings.json`, with the
    /// seed. A resumed run must come with the same ones: every differing key is named in
    /// [`SessionError::SettingsChanged`] unless `--resume-with-changes` was given (then they are
    /// listed on stderr and the new ones recorded). The optimizer's settings are pinned the same
    /// way by [`Session::use_optimizer_config`].
    ///
    /// # Errors
    /// [`SessionError::SettingsChanged`], or an I/O or serialization error.
    pub fn pin_settings(&mut self, settings: &impl Serialize) -> Result<(), SessionError> {
        let value = serde_json::to_value(settings).map_err(|e| RunError::Serialize {
            what: "the run's settings",
            message: e.to_string(),
        });
        let pinned = match (value, self.is_lead()) {
            (Ok(value), true) => self.pin_section("domain", value),
            (Ok(_), false) => Ok(()),
            (Err(e), _) => Err(e.into()),
        };
        self.agree(pinned, "checking the run's settings")
    }

    /// Compares `value` with section `section` of the run's `settings.json` when resuming, then
    /// writes it there (with the seed).
    fn pin_section(&mut self, section: &str, value: serde_json::Value) -> Result<(), SessionError> {
        let path = self.dir.path().join("settings.json");
        let mut saved: serde_json::Map<String, serde_json::Value> = match path.exists() {
            true => {
                let text = std::fs::read_to_string(&path).map_err(crate::run::io(&path))?;
                serde_json::from_str(&text).map_err(|e| RunError::Serialize {
                    what: "settings.json",
                    message: format!("{}: {e}", path.display()),
                })?
            }
            false => serde_json::Map::new(),
        };
        let now = serde_json::json!({ "seed": self.args.seed, section: value });
        if self.resume_from.is_some() {
            let before = serde_json::json!({
                "seed": saved.get("seed").cloned().unwrap_or(serde_json::Value::Null),
                section: saved.get(section).cloned().unwrap_or(serde_json::Value::Null),
            });
            let changes = differences(&before, &now);
            if !changes.is_empty() {
                if !self.args.resume_with_changes {
                    return Err(SessionError::SettingsChanged {
                        run: self.dir.path().to_path_buf(),
                        changes,
                    });
                }
                eprintln!("resuming with changed settings: {}", changes.join("; "));
            }
        }
        saved.insert("seed".into(), self.args.seed.into());
        saved.insert(section.into(), value);
        let text = serde_json::to_vec_pretty(&saved).map_err(|e| RunError::Serialize {
            what: "settings.json",
            message: e.to_string(),
        })?;
        crate::run::write_atomic(&path, &text)?;
        Ok(())
    }

    /// Loads the checkpoint a `--resume` continues from into `vs` and `optimizer` (built like
    /// the saved ones) and returns its metadata; `None` for a fresh run.
    ///
    /// # Errors
    /// [`SessionError::Checkpoint`] naming the file that failed.
    pub fn restore(
        &mut self,
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
        &mut self,
        networks: &mut [(&mut VarStore, &mut dyn Optimizer)],
    ) -> Result<Option<Meta>, SessionError> {
        self.expect_networks(networks.len())?;
        let Some((path, _)) = &self.resume_from else {
            self.start_norm = Some(parameter_norm(networks.iter().map(|(vs, _)| &**vs)));
            return Ok(None);
        };
        let folder = path.file_name().unwrap_or_default().to_owned();
        let (size, stem) = (
            self.world_size(),
            checkpoint::optimizer_stem(self.rank(), self.world_size()),
        );
        let loaded = (|| {
            // Each rank's state holds its own nodes: the same world size is needed to resume.
            let saved = checkpoint::read_meta(path)?.ranks;
            if saved != size {
                return Err(SessionError::WorldChanged {
                    checkpoint: path.clone(),
                    saved,
                    now: size,
                });
            }
            let mut meta = None;
            for ((vs, optimizer), dir) in networks.iter_mut().zip(&self.checkpoint_dirs) {
                meta = Some(checkpoint::load_verified(
                    &dir.join(&folder),
                    vs,
                    &mut **optimizer,
                    &stem,
                )?);
            }
            Ok(meta)
        })();
        let meta = self.agree(loaded, "loading the checkpoint")?;
        self.start_norm = Some(parameter_norm(networks.iter().map(|(vs, _)| &**vs)));
        if let (Some(meta), true) = (&meta, self.is_lead()) {
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
    /// good one (named by the non-finite stop), and ends the run there when Ctrl-C was pressed.
    ///
    /// # Errors
    /// [`SessionError::Interrupted`] after Ctrl-C / SIGTERM (the summary is written).
    pub fn adopt_checkpoint(&mut self, path: PathBuf, done: u64) -> Result<(), SessionError> {
        self.last_checkpoint = Some(path);
        match self.interrupted() {
            true => Err(self.stop_interrupted(done)),
            false => Ok(()),
        }
    }

    /// Whether Ctrl-C or SIGTERM asked the run to stop: domains whose checkpoints come at epoch
    /// ends check it inside the epoch and call [`Session::stop_interrupted`];
    /// [`Session::checkpoint_due`] is true once it is.
    pub fn interrupted(&self) -> bool {
        let here = signal::requested();
        match &self.world {
            // Every rank must stop at the same step: any rank's Ctrl-C stops them all.
            Some(world) => world
                .all_gather(&[if here { 1.0 } else { 0.0 }])
                .map_or(true, |flags| flags.iter().any(|&f| f != 0.0)),
            None => here,
        }
    }

    /// Ends the run after Ctrl-C / SIGTERM at `done` steps: `summary.json` gets status
    /// `"interrupted"` and names the checkpoint a resume continues from; the error to return is
    /// [`SessionError::Interrupted`] (the binary then exits with code 130, see
    /// [`crate::cli::exit`]).
    pub fn stop_interrupted(&mut self, done: u64) -> SessionError {
        let checkpoint = self.last_checkpoint.clone();
        let record = self.write_stop(Status::Interrupted, "interrupted".into(), done, String::new());
        record.err().unwrap_or(SessionError::Interrupted {
            name: self.name.clone(),
            unit: self.step_unit.clone(),
            step: done,
            checkpoint,
        })
    }

    /// Writes `summary.json` for a run stopped early at `step` and flushes the metrics.
    fn write_stop(
        &mut self,
        status: Status,
        reason: String,
        step: u64,
        value: String,
    ) -> Result<(), SessionError> {
        let (Some(recorder), Some(progress)) = (self.recorder.as_mut(), self.progress.as_mut()) else {
            return Ok(()); // rank 0 writes the run's records
        };
        progress.finish();
        let summary = RunSummary::<()> {
            status,
            optimizer: self.optimizer.clone(),
            nodes: self.nodes,
            seed: self.args.seed,
            steps: step,
            wall_time_s: recorder.wall_time(),
            stopped: Some(Stop {
                reason,
                step,
                value,
                last_good_checkpoint: self.last_checkpoint.clone(),
            }),
            figures: None,
        };
        recorder.flush()?;
        self.dir.write_summary(&summary)?;
        Ok(())
    }

    /// Seeds libtorch's generator for `step` (a function of the run's seed and the step).
    pub fn seed_step(&self, step: u64) {
        tch::manual_seed(step_seed(self.args.seed, step));
    }

    /// Passes the result of training step `step` (counted from 0) through, except a non-finite
    /// loss: that ends the run with `summary.json` recording the stop at step `step + 1` (the
    /// `metrics.csv` row that step would have had) and the last good checkpoint, and the metrics
    /// flushed. A domain whose step has its own error type converts it into
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
                Err(self.stop_non_finite(step + 1, value))
            }
            Err(e) => Err(e),
        }
    }

    /// Ends the run on a non-finite loss `value` at step `step` (counted from 1, as in
    /// `metrics.csv`) found outside the optimizer (GPT-2's replicas compute their losses
    /// themselves): `summary.json` records the stop and the last good checkpoint, the metrics
    /// are flushed, and the error to return is [`SessionError::NonFinite`] (or the I/O error
    /// that prevented writing the record).
    pub fn stop_non_finite(&mut self, step: u64, value: f64) -> SessionError {
        let status = Status::StoppedNonFinite;
        if let Err(e) = self.write_stop(status, "non-finite loss".into(), step, value.to_string()) {
            return e;
        }
        SessionError::NonFinite {
            name: self.name.clone(),
            unit: self.step_unit.clone(),
            step,
            value,
            checkpoint: self.last_checkpoint.clone(),
        }
    }

    /// Logs `values` at `step` to the metrics (CSV + TensorBoard) and the progress display,
    /// and passes the domain's [loss metric](Domain::loss_metric()) through the divergence guard
    /// ([`crate::guard`]).
    ///
    /// # Errors
    /// [`SessionError::Metrics`] when a write fails, [`SessionError::Diverged`] when the guard
    /// stops the run (`summary.json` then names the step and the last good checkpoint).
    pub fn record(&mut self, step: u64, values: &[(&str, f64)]) -> Result<(), SessionError> {
        if let (Some(recorder), Some(progress)) = (self.recorder.as_mut(), self.progress.as_mut()) {
            recorder.record(step, values)?;
            progress.update(step, values);
        }
        let loss = values.iter().find(|(name, _)| *name == self.loss_metric);
        if let Some(&(_, loss)) = loss {
            if let Verdict::Diverged { since, bound } = self.guard.observe(step, loss) {
                let reason = format!(
                    "{} = {loss:e} has been above {bound:e} ({} × its lowest running median, and above its first value) since {} {since}",
                    self.loss_metric, self.args.divergence_factor, self.step_unit
                );
                return Err(self.stop_diverged(step, reason, loss.to_string()));
            }
        }
        Ok(())
    }

    /// Writes the divergence stop and returns [`SessionError::Diverged`].
    fn stop_diverged(&mut self, step: u64, reason: String, value: String) -> SessionError {
        let summary_reason = format!("diverged: {reason}");
        if let Err(e) = self.write_stop(Status::StoppedDiverged, summary_reason, step, value) {
            return e;
        }
        SessionError::Diverged {
            name: self.name.clone(),
            unit: self.step_unit.clone(),
            step,
            reason,
            checkpoint: self.last_checkpoint.clone(),
        }
    }

    /// Shows `values` at `step` on the progress display only (not logged).
    pub fn show(&mut self, step: u64, values: &[(&str, f64)]) {
        if let Some(progress) = self.progress.as_mut() {
            progress.update(step, values);
        }
    }

    /// The TensorBoard writer, for images, histograms and text (rank 0's only: `None` on the
    /// other ranks of a run spread over processes).
    pub fn tensorboard(&mut self) -> Option<&mut tfevents::SummaryWriter> {
        self.recorder.as_mut().map(Recorder::tensorboard)
    }

    /// Whether a checkpoint is due after `done` steps: every `--checkpoint-every` steps, at
    /// the last step, and after Ctrl-C / SIGTERM (the checkpoint then ends the run).
    pub fn checkpoint_due(&self, done: u64) -> bool {
        let every = self.checkpoint_every;
        (every > 0 && done.is_multiple_of(every)) || done == self.total_steps || self.interrupted()
    }

    /// Saves a checkpoint after `done` steps with the domain's own resume state `state` (epoch,
    /// data position, best figures, ...; read back from [`Meta::extra`] after
    /// [`Session::restore`]), keeping the newest two; it becomes the last good checkpoint and is
    /// returned. No checkpoint is written while the divergence guard finds the loss suspect
    /// (the last good one is returned). After Ctrl-C / SIGTERM the run ends here.
    ///
    /// # Errors
    /// [`SessionError::Checkpoint`] naming the file that failed; [`SessionError::Diverged`]
    /// when the parameters are no longer finite or their norm grew more than
    /// [`crate::guard::NORM_GROWTH`]-fold; [`SessionError::Interrupted`] after Ctrl-C.
    pub fn checkpoint(
        &mut self,
        vs: &VarStore,
        optimizer: &dyn Optimizer,
        done: u64,
        state: &impl Serialize,
    ) -> Result<Option<PathBuf>, SessionError> {
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
    ) -> Result<Option<PathBuf>, SessionError> {
        self.expect_networks(networks.len())?;
        let norm = parameter_norm(networks.iter().map(|(vs, _)| *vs));
        let start = *self.start_norm.get_or_insert(norm);
        if !norm_is_sane(norm, start) {
            let reason =
                format!("the parameter norm is {norm:e}, more than {NORM_GROWTH:e} × its start {start:e}");
            return Err(self.stop_diverged(done, reason, norm.to_string()));
        }
        if self.guard.suspect() {
            eprintln!(
                "no checkpoint at {} {done}: {} is above the divergence bound {:e}",
                self.step_unit,
                self.loss_metric,
                self.guard.bound()
            );
            return self.after_checkpoint(done);
        }
        let extra = serde_json::to_value(state).map_err(|e| RunError::Serialize {
            what: "the checkpoint's resume state",
            message: e.to_string(),
        })?;
        let meta = Meta {
            step: done,
            seed: self.args.seed,
            rng: serde_json::Value::Null,
            extra,
            ranks: self.world_size(),
        };
        match self.world.clone() {
            None => {
                for ((vs, optimizer), dir) in networks.iter().zip(&self.checkpoint_dirs) {
                    self.last_checkpoint = Some(checkpoint::save(
                        dir,
                        vs,
                        *optimizer,
                        &meta,
                        self.args.keep_checkpoints,
                    )?);
                }
            }
            Some(world) => self.checkpoint_ranks(world.as_ref(), networks, &meta)?,
        }
        self.after_checkpoint(done)
    }

    /// A checkpoint of a run spread over ranks: rank 0 stages the folder with the weights and
    /// `meta.json`, every rank adds its nodes' optimizer state, rank 0 commits (manifest, rename,
    /// pruning); each phase agreed on by every rank.
    fn checkpoint_ranks(
        &mut self,
        world: &dyn Collective,
        networks: &[(&VarStore, &dyn Optimizer)],
        meta: &Meta,
    ) -> Result<(), SessionError> {
        let (rank, size) = (world.rank(), world.world());
        let staged = match rank {
            0 => (|| {
                for ((vs, _), dir) in networks.iter().zip(&self.checkpoint_dirs) {
                    checkpoint::begin(dir, vs, meta)?;
                }
                Ok(())
            })(),
            _ => Ok(()),
        };
        self.agree(staged, "staging a checkpoint")?;
        let stem = checkpoint::optimizer_stem(rank, size);
        let added = (|| {
            for ((_, optimizer), dir) in networks.iter().zip(&self.checkpoint_dirs) {
                checkpoint::add_optimizer(&checkpoint::staging(dir, meta.step), *optimizer, &stem)?;
            }
            Ok(())
        })();
        self.agree(added, "writing the optimizer states")?;
        let committed = match rank {
            0 => (|| {
                for dir in &self.checkpoint_dirs {
                    checkpoint::commit(
                        dir,
                        &checkpoint::staging(dir, meta.step),
                        self.args.keep_checkpoints,
                    )?;
                }
                Ok(())
            })(),
            _ => Ok(()),
        };
        self.agree(committed, "committing a checkpoint")?;
        let last = self
            .checkpoint_dirs
            .last()
            .map(|dir| dir.join(format!("step-{:010}", meta.step)));
        self.last_checkpoint = last;
        Ok(())
    }

    /// The last good checkpoint, or the interrupted stop when Ctrl-C was pressed.
    fn after_checkpoint(&mut self, done: u64) -> Result<Option<PathBuf>, SessionError> {
        match self.interrupted() {
            true => Err(self.stop_interrupted(done)),
            false => Ok(self.last_checkpoint.clone()),
        }
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
        if let Some(progress) = self.progress.as_mut() {
            progress.finish();
        }
        let wall_time_s = match self.recorder.as_mut() {
            Some(recorder) => {
                recorder.flush()?;
                recorder.wall_time()
            }
            None => 0.0,
        };
        let summary = RunSummary {
            status,
            optimizer: self.optimizer.clone(),
            nodes: optimizer.node_weights().len(),
            seed: self.args.seed,
            steps,
            wall_time_s,
            stopped: None,
            figures: Some(figures),
        };
        if self.is_lead() {
            let line = self.dir.write_summary(&summary)?;
            println!("{line}");
        }
        Ok(summary)
    }
}

/// What rank 0 opens of a run: its folder (locked), the checkpoint to resume from and its step,
/// the metrics log and the progress display.
struct OpenedFolder {
    dir: RunDir,
    resume_from: Option<(PathBuf, u64)>,
    recorder: Recorder,
    progress: Progress,
}

/// What a run prints on stderr when it opens: its folder and the command that watches it.
fn announcement(dir: &RunDir, runs: &Path) -> String {
    format!(
        "run folder: {}\nwatch it:   tensorboard --logdir {}",
        dir.path().display(),
        runs.display()
    )
}

/// Where each network's checkpoints go in `dir` (one folder for a one-network domain).
fn checkpoint_dirs(dir: &RunDir, domain: &Domain) -> Vec<PathBuf> {
    match domain.networks.is_empty() {
        true => vec![dir.checkpoints()],
        false => domain
            .networks
            .iter()
            .map(|n| dir.checkpoints().join(n))
            .collect(),
    }
}

/// Every rank votes on its `outcome` of a step all ranks take together (`world` of one or
/// none: the outcome as it is). A rank that failed returns its own error; the others return
/// [`SessionError::OtherRank`] naming it, so no rank waits for one that gave up.
fn agree<T>(
    world: Option<&dyn Collective>,
    outcome: Result<T, SessionError>,
    during: &'static str,
) -> Result<T, SessionError> {
    let Some(world) = world.filter(|w| w.world() > 1) else {
        return outcome;
    };
    let votes = world.all_gather(&[if outcome.is_ok() { 1.0 } else { 0.0 }])?;
    let failed: Vec<usize> = (0..votes.len()).filter(|&r| votes[r] != 1.0).collect();
    match (outcome, failed.is_empty()) {
        (Ok(value), true) => Ok(value),
        (Err(e), _) => Err(e),
        (Ok(_), false) => Err(SessionError::OtherRank {
            ranks: failed,
            during,
        }),
    }
}

/// The L2 norm of every parameter of `stores` together, in float64.
fn parameter_norm<'a>(stores: impl Iterator<Item = &'a VarStore>) -> f64 {
    let mut squares = 0.0;
    for vs in stores {
        for t in vs.trainable_variables() {
            squares += tch::no_grad(|| t.to_kind(tch::Kind::Double).square().sum(tch::Kind::Double))
                .double_value(&[]);
        }
    }
    squares.sqrt()
}

/// `key: before → now` for every leaf key (dotted path) whose value differs between `before`
/// and `now`.
fn differences(before: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    fn leaves(prefix: &str, value: &serde_json::Value, out: &mut std::collections::BTreeMap<String, String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    let path = match prefix.is_empty() {
                        true => key.clone(),
                        false => format!("{prefix}.{key}"),
                    };
                    leaves(&path, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let (mut old, mut new) = (Default::default(), Default::default());
    leaves("", before, &mut old);
    leaves("", now, &mut new);
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let absent = "(absent)".to_string();
    keys.into_iter()
        .filter_map(|key| {
            let (a, b) = (old.get(key).unwrap_or(&absent), new.get(key).unwrap_or(&absent));
            (a != b).then(|| format!("{key}: {a} → {b}"))
        })
        .collect()
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
    use crate::toy::{self, Fault, ToyConfig};

    fn summary(args: &RunArgs, name: &str) -> RunSummary<serde_json::Value> {
        RunSummary::read(&args.runs.join("toy").join(name).join("summary.json")).unwrap()
    }

    fn weight(args: &RunArgs) -> f64 {
        toy::train(&ToyConfig::new(12), args)
            .unwrap()
            .figures
            .unwrap()
            .weight
    }

    /// `--domain` moves the folder only: the presets stay the domain's (a suite cell under
    /// `--domain rl-a2c-halfcheetah` once trained with the registry defaults instead of
    /// `a2c-halfcheetah`'s Table A.1 settings); `--presets` and the domain's own choose them.
    #[test]
    fn the_domain_folder_never_chooses_the_presets() {
        let mut args = RunArgs::for_tests(Path::new("/tmp"));
        let plain = Domain::new("a2c-halfcheetah", "sisa");
        args.domain = Some("rl-a2c-halfcheetah".into());
        assert_eq!(args.preset_domain(&plain), "a2c-halfcheetah");
        assert_eq!(args.preset_domain(&plain.clone().presets("wgan")), "wgan");
        args.presets = Some("ppo-ant".into());
        assert_eq!(args.preset_domain(&plain), "ppo-ant");
        let resolved = args.resolve_optimizer(&plain).unwrap();
        let lr = serde_json::to_value(&resolved.base).unwrap()["lr"].as_f64();
        assert_eq!(lr, Some(5e-5), "ppo-ant's Table A.1 lr");
    }

    fn metric_steps(args: &RunArgs, name: &str) -> Vec<u64> {
        let csv = std::fs::read_to_string(args.runs.join("toy").join(name).join("metrics.csv")).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
        let _rng = crate::torch_rng_lock();
        let base = tempfile::tempdir().unwrap();
        let mut args = RunArgs::for_tests(base.path());
        args.checkpoint_every = Some(5);
        args.name = Some("straight".into());
        let straight = weight(&args);
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
        toy::train(&ToyConfig::new(7), &args).unwrap();
        args.resume = true;
        let resumed = weight(&args);
        assert_eq!(
            resumed.to_bits(),
            straight.to_bits(),
            "bit-identical after resume"
        );
        assert_eq!(
            metric_steps(&args, "resumed"),
            (1..=12).collect::<Vec<_>>(),
            "rows logged once"
        );

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
    fn the_announcement_names_the_run_folder_and_the_tensorboard_command() {
        let base = tempfile::tempdir().unwrap();
        let dir = RunDir::create(base.path(), "toy", "r", false).unwrap();
        let text = announcement(&dir, base.path());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                format!("run folder: {}", base.path().join("toy").join("r").display()),
                format!("watch it:   tensorboard --logdir {}", base.path().display()),
            ]
        );
    }

    #[test]
    fn a_resume_with_other_settings_is_refused_with_the_keys_named() {
        let _rng = crate::torch_rng_lock();
        let base = tempfile::tempdir().unwrap();
        let mut args = RunArgs::for_tests(base.path());
        args.checkpoint_every = Some(2);
        toy::train(&ToyConfig::new(4), &args).unwrap();
        args.resume = true;
        let mut other = ToyConfig::new(8);
        other.batch = 32;
        args.seed = 5;
        let err = toy::train(&other, &args).unwrap_err();
        let SessionError::SettingsChanged { changes, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(changes, &["domain.batch: 16 → 32", "seed: 0 → 5"], "{err}");
        // Changed optimizer settings are named too.
        args.seed = 0;
        let config = base.path().join("lr.toml");
        std::fs::write(&config, "lr = 0.5\n").unwrap();
        args.config = Some(config);
        let err = toy::train(&ToyConfig::new(8), &args).unwrap_err();
        assert!(err.to_string().contains("optimizer.lr: 0.01 → 0.5"), "{err}");
        // --resume-with-changes accepts them.
        args.resume_with_changes = true;
        toy::train(&other, &args).unwrap();
    }

    #[test]
    fn a_non_finite_loss_stops_the_run_and_names_the_last_good_checkpoint() {
        let _rng = crate::torch_rng_lock();
        let base = tempfile::tempdir().unwrap();
        let mut args = RunArgs::for_tests(base.path());
        args.checkpoint_every = Some(4);
        args.name = Some("diverged".into());
        let mut config = ToyConfig::new(20);
        config.fault = Some(Fault::Nan(9));
        let err = toy::train(&config, &args).unwrap_err();
        let message = err.to_string();
        // Step index 9 is the 10th step: metrics.csv has rows 1..=9, the stop names step 10.
        assert!(
            matches!(err, SessionError::NonFinite { step: 10, .. }),
            "{message}"
        );
        assert!(message.contains("step-0000000008"), "{message}");
        let s = summary(&args, "diverged");
        assert_eq!(s.status, Status::StoppedNonFinite);
        let stop = s.stopped.unwrap();
        assert_eq!((stop.step, stop.value.as_str()), (10, "NaN"));
        assert!(stop.last_good_checkpoint.unwrap().ends_with("step-0000000008"));
        assert_eq!(metric_steps(&args, "diverged"), (1..=9).collect::<Vec<_>>());
    }

    #[test]
    fn a_loss_that_blows_up_stops_at_the_guard_s_step_with_a_good_checkpoint() {
        let _rng = crate::torch_rng_lock();
        let base = tempfile::tempdir().unwrap();
        let mut args = RunArgs::for_tests(base.path());
        args.checkpoint_every = Some(1);
        let mut config = ToyConfig::new(20);
        // From step index 6 (the 7th step) the loss jumps by 10⁶: suspect at steps 7 and 8,
        // diverged at 9; no checkpoint is written while suspect, so the last good one is step 6.
        config.fault = Some(Fault::Jump(6));
        let err = toy::train(&config, &args).unwrap_err();
        assert!(matches!(err, SessionError::Diverged { step: 9, .. }), "{err}");
        assert!(err.to_string().contains("since step 7"), "{err}");
        let stop = summary(&args, "sgd").stopped.unwrap();
        assert!(stop.last_good_checkpoint.unwrap().ends_with("step-0000000006"));
        // The resume (without the fault) continues from step 6 and finishes finite.
        args.resume = true;
        let done = toy::train(&ToyConfig::new(20), &args).unwrap();
        assert!(done.figures.unwrap().weight.is_finite());

        // Exploding weights: the parameter-norm rule stops the run at the first checkpoint.
        args.resume = false;
        args.name = Some("explode".into());
        args.divergence_factor = 0.0;
        config.fault = Some(Fault::Explode(3));
        let err = toy::train(&config, &args).unwrap_err();
        assert!(matches!(err, SessionError::Diverged { step: 4, .. }), "{err}");
        assert!(err.to_string().contains("parameter norm"), "{err}");
        let stop = summary(&args, "explode").stopped.unwrap();
        assert!(stop.last_good_checkpoint.unwrap().ends_with("step-0000000003"));
    }
}
