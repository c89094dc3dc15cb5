//! One RL run on the run skeleton: [`run_one`] opens the [`Session`] for the run (`--name`, else
//! `<optimizer>-seed<k>`: run folder, resume decision, metrics, the non-finite stop, the typed
//! summary) around a [`Trainer`], whose checkpoints carry the environments' and normalizers'
//! state too and are adopted by the session as the last good ones. The `rl` binary loops it
//! over `--compare` and `--seeds`.
//!
//! Besides the newest step checkpoints, the policy of the best evaluation so far is kept as
//! `checkpoints/best/` (replaced at each new best, never pruned); `summary.json` names its step
//! and evaluation return (`best_checkpoint`).

use std::path::{Path, PathBuf};

use runs::registry::Registry;
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError};
use tfevents::HParamValue;

use crate::{RlConfig, RlError, Trainer};

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

/// The metrics every RL run logs: per update the training returns (`train/return`: the
/// episodes that ended in this rollout; `train/return_100` and `train/episode_length`: the last
/// 100 finished episodes, over rollouts and resumes), the losses and PPO's diagnostics, the
/// Gaussian policy's action σ, the optimizer's current σ/ρ/step size ([`crate::decay::current_values`])
/// and the speed; at each evaluation the mean deterministic test return and its std.
pub const COLUMNS: [&str; 17] = [
    "train/return",
    "train/return_100",
    "train/episode_length",
    "eval/return",
    "eval/return_std",
    "train/policy_loss",
    "train/value_loss",
    "train/entropy",
    "train/action_std",
    "train/approx_kl",
    "train/clip_fraction",
    "train/explained_variance",
    "opt/sigma",
    "opt/rho",
    "opt/lr",
    "perf/steps_per_second",
    "train/episodes",
];

/// The columns RL runs logged before the rolling-window, action-σ and optimizer columns came and
/// `test/*` became `eval/*`.
pub const COLUMNS_BEFORE: [&str; 11] = [
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

/// Rewrites the `metrics.csv` of a run started with [`COLUMNS_BEFORE`] to [`COLUMNS`] (`test/*`
/// as `eval/*`, the new columns empty), so that such a run can be resumed; any other file is
/// left alone (the session then checks it). The TensorBoard events keep their old tags.
///
/// # Errors
/// The file cannot be read or written.
pub fn upgrade_metrics(csv: &Path) -> Result<(), runs::run::RunError> {
    let before = format!("step,wall_time,{}", COLUMNS_BEFORE.join(","));
    let text = match std::fs::read_to_string(csv) {
        Ok(text) if text.lines().next() == Some(before.as_str()) => text,
        _ => return Ok(()),
    };
    let renamed = |c: &str| c.replace("test/", "eval/");
    let position: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|c| COLUMNS_BEFORE.iter().position(|old| renamed(old) == *c))
        .collect();
    let mut out = vec![format!("step,wall_time,{}", COLUMNS.join(","))];
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        let moved = position
            .iter()
            .map(|p| p.and_then(|k| cells.get(k + 2)).copied().unwrap_or_default());
        let head = cells.iter().take(2).copied();
        out.push(head.chain(moved).collect::<Vec<_>>().join(","));
    }
    let mut upgraded = out.join("\n");
    upgraded.push('\n');
    runs::run::write_atomic(csv, upgraded.as_bytes())?;
    eprintln!("{}: upgraded to this version's RL columns", csv.display());
    Ok(())
}

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
    /// The simulator backend (`cargo xtask rl eval` builds the binary for it).
    pub backend: String,
    /// Whether the optimizer was rebuilt at every update.
    pub reset_optimizer: bool,
    /// The best mean evaluation return over training (as Tianshou reports), across resumes
    /// (absent without a finite evaluation).
    pub best_eval_return: Option<f64>,
    /// The mean evaluation return at the end (absent when this invocation evaluated nothing).
    pub final_eval_return: Option<f64>,
    /// The mean return of the last 100 training episodes at the end (SB3's `ep_rew_mean`;
    /// absent before the first finished episode).
    pub train_return_100: Option<f64>,
    /// Training episodes finished in this invocation.
    pub train_episodes: u64,
    /// The best-evaluation checkpoint, `checkpoints/best/` (absent when no evaluation returned
    /// a finite mean).
    pub best_checkpoint: Option<BestCheckpoint>,
}

/// Where the best-evaluation policy is and what it scored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BestCheckpoint {
    /// Environment steps when it was evaluated.
    pub step: u64,
    /// Its mean deterministic test return.
    pub eval_return: f64,
    /// The checkpoint folder (`<run>/checkpoints/best`).
    pub path: PathBuf,
}

/// The default run name of `optimizer` with seed `seed`: `<optimizer>-seed<k>`, the folder name
/// the comparison path (`report::compare`) reads.
pub fn run_name(optimizer: &str, seed: u64) -> String {
    format!("{optimizer}-seed{seed}")
}

/// Trains one run of `cfg` with the optimizer that `args` choose (`--optimizer`, else SISA),
/// its registry settings under `overrides`, in the folder `args` name (`--runs`, `--domain`,
/// `--name`, else `<optimizer>-seed<k>`), with `cfg.seed` as the seed; returns its summary (also
/// `summary.json`). `args.config` is not read (the binary reads the `--config` file and passes
/// its `[rl]` and `[optimizer]` tables as `cfg` and `overrides`); `args.keep_checkpoints` step
/// checkpoints are kept besides `checkpoints/best/`.
///
/// # Errors
/// [`RlError`]: bad settings, an environment or optimizer error, a non-finite loss
/// ([`RlError::Session`] with `SessionError::NonFinite`), or an I/O error.
pub fn run_one(
    cfg: &RlConfig,
    overrides: &toml::Table,
    args: &RunArgs,
) -> Result<RunSummary<Figures>, RlError> {
    let domain = Domain::new(&cfg.domain(), "sisa").checkpoint_every(cfg.checkpoint_every as u64);
    let mut run_args = args.clone();
    let optimizer = run_args.optimizer_name(&domain);
    run_args.seed = cfg.seed;
    run_args.config = None;
    run_args.name = Some(
        run_args
            .name
            .clone()
            .unwrap_or_else(|| run_name(&optimizer, cfg.seed)),
    );
    // Settings before the run folder: bad input leaves nothing behind.
    cfg.validate()?;
    let resolved = Registry::builtin().resolve(&run_args.preset_domain(&domain), &optimizer, overrides)?;
    let (folder, name) = (
        run_args.domain.as_deref().unwrap_or(&domain.name),
        run_args.name.as_deref().unwrap_or_default(),
    );
    let csv = run_args.runs.join(folder).join(name).join("metrics.csv");
    if run_args.resume && csv.exists() {
        // Under the run's lock: a run another process is training is refused, not rewritten.
        let _held =
            runs::run::RunDir::create(&run_args.runs, folder, name, true).map_err(SessionError::from)?;
        upgrade_metrics(&csv).map_err(SessionError::from)?;
    }
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
        // Runs pinned before `recompute_adv` and `action_scaling` existed ran without them: off,
        // they are left out so that those runs still resume.
        for (key, on) in [
            ("recompute_adv", cfg.recompute_adv),
            ("action_scaling", cfg.action_scaling),
        ] {
            if !on {
                map.remove(key);
            }
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
    let checkpoints = session.dir().checkpoints();
    let mut last = f64::NAN;
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
        if !trainer.episode_window().is_empty() {
            values.push(("train/return_100", u.return_100));
            values.push(("train/episode_length", u.episode_length));
        }
        if let Some(std) = u.action_std {
            values.push(("train/action_std", std));
        }
        values.extend(trainer.optimizer_values());
        if crossed(before, step, cfg.eval_every) || trainer.done() {
            let e = trainer.evaluate()?;
            last = e.mean();
            // Before the step checkpoint below, so that it records the new best.
            if trainer.offer_eval(last) {
                trainer.save_best(&checkpoints)?;
                filmstrip(&trainer, &mut session, step as u64)?;
            }
            values.extend([("eval/return", e.mean()), ("eval/return_std", e.std())]);
        }
        session.record(step as u64, &values)?;
        if crossed(before, step, cfg.checkpoint_every) || trainer.done() || session.interrupted() {
            let path = trainer.save(&checkpoints, run_args.keep_checkpoints)?;
            session.adopt_checkpoint(path, step as u64)?;
        }
    }
    let best = trainer.best_eval();
    let figures = Figures {
        algo: cfg.algo.as_str().to_string(),
        env: cfg.env_id.clone(),
        backend: cfg.backend.to_string(),
        reset_optimizer: cfg.reset_optimizer,
        best_eval_return: best.map(|b| b.eval_return),
        final_eval_return: Some(last).filter(|r| r.is_finite()),
        train_return_100: Some(trainer.episode_window().mean_return()).filter(|r| r.is_finite()),
        train_episodes: trainer.episodes.len() as u64,
        best_checkpoint: best.map(|b| BestCheckpoint {
            step: b.step,
            eval_return: b.eval_return,
            path: checkpoints.join(runs::checkpoint::BEST),
        }),
    };
    if let Some(tensorboard) = session.tensorboard() {
        write_hparams(tensorboard, cfg, &optimizer, &opt_cfg, &figures)?;
    }
    let steps = trainer.global_step() as u64;
    Ok(session.finish(trainer.optimizer(), steps, figures)?)
}

/// The best policy's filmstrip (8 frames of one test episode): `plots/filmstrip_best.png`,
/// replaced at each new best, and the image `eval/filmstrip` in TensorBoard at `step`.
fn filmstrip(trainer: &Trainer, session: &mut Session, step: u64) -> Result<(), RlError> {
    let Some((strip, _)) = trainer.filmstrip(8, (120, 90))? else {
        return Ok(());
    };
    let plots = session.dir().path().join("plots");
    std::fs::create_dir_all(&plots).map_err(|source| {
        SessionError::from(runs::run::RunError::Io {
            path: plots.clone(),
            source,
        })
    })?;
    strip.write_png(plots.join("filmstrip_best.png"))?;
    let (width, height) = (strip.width as usize, strip.height as usize);
    if let Some(tensorboard) = session.tensorboard() {
        tensorboard
            .add_image("eval/filmstrip", &strip.rgb, height, width, 3, step as i64)
            .map_err(|e| SessionError::from(runs::metrics::MetricsError::from(e)))?;
    }
    Ok(())
}

/// The run's settings and final figures for TensorBoard's HPARAMS tab, as the sub-run
/// `tb/hparams/` (rewritten when a resumed run finishes again).
fn write_hparams(
    tensorboard: &mut tfevents::SummaryWriter,
    cfg: &RlConfig,
    optimizer: &str,
    opt_cfg: &pisa_core::OptimizerConfig,
    figures: &Figures,
) -> Result<(), RlError> {
    let sub = tensorboard.logdir().join("hparams");
    if sub.exists() {
        std::fs::remove_dir_all(&sub).map_err(|source| {
            SessionError::from(runs::run::RunError::Io {
                path: sub.clone(),
                source,
            })
        })?;
    }
    let mut hparams: Vec<(String, HParamValue)> = vec![
        ("algo".into(), cfg.algo.as_str().into()),
        ("env".into(), cfg.env_id.clone().into()),
        ("backend".into(), cfg.backend.to_string().into()),
        ("optimizer".into(), optimizer.into()),
        ("seed".into(), cfg.seed.into()),
        ("num_envs".into(), cfg.num_envs.into()),
        ("num_steps".into(), cfg.num_steps.into()),
        ("total_steps".into(), cfg.total_steps.into()),
        ("update_epochs".into(), cfg.update_epochs.into()),
        (
            "batch_size".into(),
            cfg.batch_size.unwrap_or(cfg.rollout()).into(),
        ),
        ("gamma".into(), cfg.gae.gamma.into()),
        ("gae_lambda".into(), cfg.gae.lambda.into()),
        ("clip_coef".into(), cfg.loss.clip_coef.into()),
        ("ent_coef".into(), cfg.loss.ent_coef.into()),
        ("vf_coef".into(), cfg.loss.vf_coef.into()),
        ("lr_decay".into(), cfg.lr_decay.into()),
        ("reset_optimizer".into(), cfg.reset_optimizer.into()),
        ("recompute_adv".into(), cfg.recompute_adv.into()),
        ("action_scaling".into(), cfg.action_scaling.into()),
        ("nodes".into(), opt_cfg.base.nodes().into()),
    ];
    for (name, value) in crate::decay::current_values(opt_cfg, 0) {
        hparams.push((format!("{}0", name.trim_start_matches("opt/")), value.into()));
    }
    let metrics = [
        ("hparams/best_eval_return", figures.best_eval_return),
        ("hparams/final_eval_return", figures.final_eval_return),
        ("hparams/train_return_100", figures.train_return_100),
    ]
    .map(|(tag, value)| (tag, value.unwrap_or(f64::NAN)));
    tensorboard
        .add_hparams(hparams, metrics, Some("hparams"))
        .map_err(|e| SessionError::from(runs::metrics::MetricsError::from(e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_an_earlier_version_are_upgraded_for_a_resume() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("metrics.csv");
        let old = format!(
            "step,wall_time,{}\n2048,1.5,-900,,,0.1,20,1.4,0.01,0.05,0.3,2500,8\n4096,3.0,-850,-800,40,0.2,10,1.3,0.02,0.1,0.5,2400,9\n",
            COLUMNS_BEFORE.join(",")
        );
        std::fs::write(&csv, &old).unwrap();
        upgrade_metrics(&csv).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(rows[0][2..], COLUMNS);
        let cell =
            |row: usize, column: &str| rows[row][2 + COLUMNS.iter().position(|c| *c == column).unwrap()];
        assert_eq!(rows[2][..2], ["4096", "3.0"]);
        assert_eq!(
            [
                cell(2, "train/return"),
                cell(2, "eval/return"),
                cell(2, "eval/return_std")
            ],
            ["-850", "-800", "40"]
        );
        assert_eq!([cell(2, "train/episodes"), cell(1, "eval/return")], ["9", ""]);
        assert_eq!([cell(2, "train/return_100"), cell(2, "opt/lr")], ["", ""]);
        // Once upgraded, or for any other header, the file is left as it is.
        upgrade_metrics(&csv).unwrap();
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), text);
        std::fs::write(&csv, "step,wall_time,other\n1,0.1,2\n").unwrap();
        upgrade_metrics(&csv).unwrap();
        assert_eq!(
            std::fs::read_to_string(&csv).unwrap(),
            "step,wall_time,other\n1,0.1,2\n"
        );
        upgrade_metrics(&dir.path().join("absent.csv")).unwrap();
    }
}
