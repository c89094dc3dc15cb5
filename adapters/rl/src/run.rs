//! One RL run on the run skeleton: [`run_one`] opens the [`Session`] for the run
//! `<optimizer>-seed<k>` (run folder, resume decision, metrics, the non-finite stop, the typed
//! summary) around a [`Trainer`], whose checkpoints carry the environments' and normalizers'
//! state too and are adopted by the session as the last good ones. The `rl` binary loops it
//! over `--compare` and `--seeds`.

use std::path::PathBuf;

use runs::registry::Registry;
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError};

use crate::{RlConfig, RlError, Trainer};

/// Where and how the runs go: the common flags the `rl` binary takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlace {
    /// Where run folders go.
    pub runs: PathBuf,
    /// `cpu`, `cuda` or `auto`.
    pub device: String,
    /// Torch intra-op threads.
    pub threads: Option<usize>,
    /// Continue runs from their latest checkpoints.
    pub resume: bool,
}

/// Drops `null` entries (unset options), which TOML cannot hold.
pub fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The metrics every RL run logs.
pub const COLUMNS: [&str; 11] = [
    "train/return",
    "test/return",
    "test/return_std",
    "train/policy_loss",
    "train/value_loss",
    "train/entropy",
    "train/approx_kl",
    "train/clip_fraction",
    "train/explained_variance",
    "perf/steps_per_second",
    "train/episodes",
];

/// Whether a period of `every` steps (0: never) ends between `before` and `after`.
pub fn crossed(before: usize, after: usize, every: usize) -> bool {
    every > 0 && after / every > before / every
}

/// RL's figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    /// `ppo` or `a2c`.
    pub algo: String,
    /// The Gymnasium id.
    pub env: String,
    /// The simulator backend.
    pub backend: String,
    /// Whether the optimizer was rebuilt at every update.
    pub reset_optimizer: bool,
    /// The best mean test return over training (as Tianshou reports).
    pub best_test_return: f64,
    /// The mean test return at the end.
    pub final_test_return: f64,
    /// Training episodes finished.
    pub train_episodes: u64,
}

/// Trains one run `<optimizer>-seed<k>` of `cfg` with the registry's `optimizer` settings and
/// `overrides`; returns its summary (also `summary.json`).
///
/// # Errors
/// [`RlError`]: bad settings, an environment or optimizer error, a non-finite loss
/// ([`RlError::Session`] with `SessionError::NonFinite`), or an I/O error.
pub fn run_one(
    cfg: &RlConfig,
    optimizer: &str,
    overrides: &toml::Table,
    place: &RunPlace,
) -> Result<RunSummary<Figures>, RlError> {
    let domain = Domain::new(&cfg.domain(), "sisa").checkpoint_every(cfg.checkpoint_every as u64);
    let run_args = RunArgs {
        optimizer: Some(optimizer.to_string()),
        config: None,
        runs: place.runs.clone(),
        domain: None,
        presets: None,
        name: Some(format!("{optimizer}-seed{}", cfg.seed)),
        seed: cfg.seed,
        resume: place.resume,
        device: place.device.clone(),
        threads: place.threads,
        checkpoint_every: None,
        resume_with_changes: false,
        reduction: Default::default(),
        keep_checkpoints: 2,
        divergence_factor: RunArgs::for_tests(&place.runs).divergence_factor,
    };
    // Settings before the run folder: bad input leaves nothing behind.
    cfg.validate()?;
    let resolved = Registry::builtin().resolve(&domain.name, optimizer, overrides)?;
    let mut session = Session::open(&run_args, &domain, &COLUMNS, cfg.total_steps as u64)?;
    let opt_cfg = session.use_optimizer_config(resolved)?;
    // Everything in the RL settings shapes the trajectory except the evaluation and checkpoint
    // cadence (the total steps too: the learning rate and clip range decay over them).
    let mut pinned = serde_json::to_value(cfg).map_err(|e| RlError::Config {
        name: "rl",
        reason: e.to_string(),
    })?;
    if let Some(map) = pinned.as_object_mut() {
        for cadence in ["eval_every", "eval_episodes", "checkpoint_every"] {
            map.remove(cadence);
        }
    }
    session.pin_settings(&pinned)?;
    let mut rl_config = serde_json::json!({ "rl": cfg });
    strip_nulls(&mut rl_config);
    let rl_toml = toml::to_string_pretty(&rl_config).map_err(|e| RlError::Config {
        name: "rl",
        reason: e.to_string(),
    })?;
    runs::run::write_atomic(&session.dir().path().join("rl.toml"), rl_toml.as_bytes())
        .map_err(SessionError::from)?;
    let mut trainer = Trainer::new(cfg, &opt_cfg, session.device())?;
    if let Some(path) = session.resume_checkpoint() {
        trainer.resume(path)?;
        eprintln!(
            "resuming {} from step {}",
            session.dir().path().display(),
            trainer.global_step()
        );
    }
    let (mut best, mut last) = (f64::NEG_INFINITY, f64::NAN);
    while !trainer.done() {
        let before = trainer.global_step();
        let u = session.check(trainer.update(), before as u64)?;
        let step = u.global_step;
        let mut values = vec![
            ("train/policy_loss", u.policy_loss),
            ("train/value_loss", u.value_loss),
            ("train/entropy", u.entropy),
            ("train/approx_kl", u.approx_kl),
            ("train/clip_fraction", u.clip_fraction),
            ("train/explained_variance", u.explained_variance),
            ("perf/steps_per_second", u.steps_per_second),
            ("train/episodes", u.episodes as f64),
        ];
        if u.episodes > 0 {
            values.push(("train/return", u.train_return));
        }
        if crossed(before, step, cfg.eval_every) || trainer.done() {
            let e = trainer.evaluate()?;
            last = e.mean();
            best = best.max(last);
            values.extend([("test/return", e.mean()), ("test/return_std", e.std())]);
        }
        session.record(step as u64, &values)?;
        if crossed(before, step, cfg.checkpoint_every) || trainer.done() || session.interrupted() {
            let path = trainer.save(&session.dir().checkpoints(), 2)?;
            session.adopt_checkpoint(path, step as u64)?;
        }
    }
    let figures = Figures {
        algo: cfg.algo.as_str().to_string(),
        env: cfg.env_id.clone(),
        backend: cfg.backend.to_string(),
        reset_optimizer: cfg.reset_optimizer,
        best_test_return: best,
        final_test_return: last,
        train_episodes: trainer.episodes.len() as u64,
    };
    let steps = trainer.global_step() as u64;
    Ok(session.finish(trainer.optimizer(), steps, figures)?)
}
