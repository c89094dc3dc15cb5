//! PPO and A2C on the `envs` tasks with any optimizer of the registry: `cargo xtask rl`.
//!
//! ```text
//! cargo run --release -p rl --bin rl -- train --env humanoid            # PPO + SISA
//! cargo run --release -p rl --bin rl -- train --env halfcheetah --algo a2c --optimizer adam
//! cargo run --release -p rl --bin rl -- train --env pendulum --compare adam,sisa --seeds 0..3
//! cargo run --release -p rl --bin rl -- eval --checkpoint runs/ppo-pendulum/sisa-seed0/checkpoints/step-0000100000 --gif ep.gif
//! ```
//!
//! Runs go to `runs/<algo>-<task>/<optimizer>-seed<k>/` (`metrics.csv`, TensorBoard `tb/`,
//! `checkpoints/`, `summary.json`); the registry domain of the optimizer presets is the same
//! `<algo>-<task>` (e.g. `ppo-humanoid`), falling back to the defaults for tasks without presets.
//! `--config file.toml` may hold an `[rl]` table (any field of `RlConfig`) and an `[optimizer]`
//! table (optimizer settings over the presets). With `--compare` and/or several `--seeds`, every
//! (optimizer, seed) pair runs in turn and `compare.md` (mean ± std over seeds of the best and
//! final test return) plus the domain's report and charts are written. Logged per update:
//! train/return, losses, entropy, approx KL, clip fraction, explained variance, steps/s; every
//! `eval_every` steps: test/return (mean of 10 deterministic episodes) and its std.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use envs::Backend;
use rl::eval::{evaluate, record_episode};
use rl::normalize::ObsNormalizer;
use rl::policy::{ActionHead, ActorCritic};
use rl::run::RunPlace;
use rl::train::MAX_STEPS;
use rl::{Algo, RlConfig, Trainer};
use runs::cli::{in_range, positive, UsageError};
use runs::registry::Registry;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tch::Device;

#[derive(Parser, Debug)]
#[command(about = "PPO / A2C with any pisa-rs optimizer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train (one run, or several with --compare / --seeds).
    Train(TrainArgs),
    /// Replay a checkpoint's policy deterministically; optionally save a GIF of one episode.
    Eval(EvalArgs),
    /// Train with the task's defaults until the mean return of the last 100 training episodes
    /// reaches a threshold; print one JSON line (the `cargo xtask bench rl` measurement).
    Solve(SolveArgs),
}

#[derive(clap::Args, Debug)]
struct SolveArgs {
    /// Task id or alias.
    #[arg(long, default_value = "CartPole-v1")]
    env: String,
    /// Mean return over the last 100 training episodes that counts as solved (finite).
    #[arg(long, default_value_t = 475.0, value_parser = in_range(-1e12f64, 1e12))]
    threshold: f64,
    /// Give up after this many environment steps (also the horizon of the lr decay), 1 to 10¹⁰.
    #[arg(long, default_value_t = 100_000, value_parser = in_range(1usize, MAX_STEPS))]
    max_steps: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Optimizer (registry defaults, `lr` overridable).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate of the optimizer (> 0).
    #[arg(long, value_parser = positive)]
    lr: Option<f64>,
    /// torch intra-op threads, 1 to 1024.
    #[arg(long, default_value_t = 1, value_parser = in_range(1i32, 1024))]
    threads: i32,
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    /// Task id or alias (humanoid, ant, halfcheetah, cartpole, pendulum, ...).
    #[arg(long, default_value = "humanoid")]
    env: String,
    /// Algorithm.
    #[arg(long, value_enum, default_value_t = Algo::Ppo)]
    algo: Algo,
    /// Optimizer name (sisa, adam, ...).
    #[arg(long, default_value = "sisa")]
    optimizer: String,
    /// Comma-separated optimizers to run one after the other (overrides --optimizer).
    #[arg(long, value_delimiter = ',')]
    compare: Vec<String>,
    /// Total environment steps, 1 to 10¹⁰ (default: the algorithm's and task's).
    #[arg(long, value_parser = in_range(1usize, MAX_STEPS))]
    steps: Option<usize>,
    /// Seed of a single run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seeds `a..b` (b exclusive), one run each.
    #[arg(long)]
    seeds: Option<String>,
    /// Simulator backend: auto, classic, rapier, mujoco (default: rapier for MuJoCo tasks).
    #[arg(long)]
    backend: Option<String>,
    /// cpu, cuda, or auto (the first CUDA GPU when libtorch sees one, else the CPU).
    #[arg(long, default_value = "auto")]
    device: String,
    /// TOML with `[rl]` and `[optimizer]` tables.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where run folders go.
    #[arg(long, default_value = "runs")]
    runs: PathBuf,
    /// Evaluate every this many steps, 0 to 10¹⁰ (0: never; default: the configuration's,
    /// 30,000).
    #[arg(long, value_parser = in_range(0usize, MAX_STEPS))]
    eval_every: Option<usize>,
    /// Rebuild the optimizer at every update (the paper's re-initialized SISA state).
    #[arg(long)]
    reset_optimizer: bool,
    /// Continue each run from its latest checkpoint.
    #[arg(long)]
    resume: bool,
    /// torch intra-op threads, 1 to 1024.
    #[arg(long, default_value_t = 1, value_parser = in_range(1i32, 1024))]
    threads: i32,
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// A checkpoint folder (`.../checkpoints/step-NNNNNNNNNN`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Deterministic test episodes, 1 to 10⁵.
    #[arg(long, default_value_t = 10, value_parser = in_range(1usize, 100_000))]
    episodes: usize,
    /// Write a GIF of the first episode here (tasks that can render).
    #[arg(long)]
    gif: Option<PathBuf>,
    /// Write a filmstrip PNG of the first episode here (tasks that can render).
    #[arg(long)]
    filmstrip: Option<PathBuf>,
}

/// The `--config` path for messages.
fn display(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(String::new, |p| p.display().to_string())
}

fn parse_seeds(spec: &str) -> Result<Vec<u64>> {
    let (a, b) = spec
        .split_once("..")
        .with_context(|| format!("--seeds {spec}: expected a..b, e.g. 0..5"))?;
    let (a, b): (u64, u64) = (a.trim().parse()?, b.trim().parse()?);
    if b <= a {
        bail!("--seeds {spec}: empty range");
    }
    Ok((a..b).collect())
}

/// Puts `layer` over `base`, table by table (so `[rl.loss]` may set one coefficient).
fn overlay(base: &mut serde_json::Value, layer: serde_json::Value) {
    match (base, layer) {
        (serde_json::Value::Object(b), serde_json::Value::Object(l)) => {
            for (k, v) in l {
                match b.get_mut(&k) {
                    Some(slot) => overlay(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// The run configuration: task defaults, then the file's `[rl]` table, then flags.
fn rl_config(args: &TrainArgs, file: &toml::Table) -> Result<RlConfig> {
    let mut cfg = RlConfig::for_task(args.algo, &args.env);
    if let Some(rl) = file.get("rl") {
        // Through JSON, where an unset option is `null` (TOML would drop it and the field's
        // default would come back).
        let toml::Value::Table(rl) = rl else {
            bail!("[rl] must be a table");
        };
        let mut merged = serde_json::to_value(&cfg)?;
        overlay(&mut merged, serde_json::to_value(rl)?);
        cfg = serde_json::from_value(merged)
            .map_err(|e| UsageError::new("rl", format!("the [rl] table: {e}")))?;
    }
    let family = envs::registry::env_spec(&cfg.env_id).map(|s| s.family);
    cfg.backend = match (&args.backend, family) {
        (Some(b), _) => b.parse()?,
        (None, Some(envs::registry::TaskFamily::ClassicControl)) | (None, None) => cfg.backend,
        (None, Some(_)) if cfg.backend == Backend::Auto => Backend::Rapier,
        (None, Some(_)) => cfg.backend,
    };
    if let Some(s) = args.steps {
        cfg.total_steps = s;
    }
    if let Some(e) = args.eval_every {
        cfg.eval_every = e;
    }
    cfg.reset_optimizer |= args.reset_optimizer;
    cfg.validate()?;
    Ok(cfg)
}

fn train(args: &TrainArgs) -> Result<()> {
    runs::device::parse_device(&args.device)?;
    let file: toml::Table = match &args.config {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .parse()
            .with_context(|| format!("{} is not valid TOML", p.display()))?,
        None => toml::Table::new(),
    };
    if let Some(key) = file.keys().find(|k| !["rl", "optimizer"].contains(&k.as_str())) {
        return Err(UsageError::new(
            key.as_str(),
            format!(
                "unknown key in {}: a config holds an [rl] and an [optimizer] table",
                display(&args.config)
            ),
        )
        .into());
    }
    let overrides = match file.get("optimizer") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => bail!("[optimizer] must be a table"),
        None => toml::Table::new(),
    };
    let base = rl_config(args, &file)?;
    let optimizers = if args.compare.is_empty() {
        vec![args.optimizer.clone()]
    } else {
        args.compare.clone()
    };
    let seeds = match &args.seeds {
        Some(s) => parse_seeds(s)?,
        None => vec![args.seed],
    };
    let place = RunPlace {
        runs: args.runs.clone(),
        device: args.device.clone(),
        threads: Some(args.threads.max(0) as usize),
        resume: args.resume,
    };
    for opt in &optimizers {
        for &seed in &seeds {
            let cfg = RlConfig { seed, ..base.clone() };
            rl::run::run_one(&cfg, opt, &overrides, &place)?;
        }
    }
    if optimizers.len() > 1 || seeds.len() > 1 {
        // The one comparison path: test return over steps, mean ± std over seeds.
        let domain_dir = args.runs.join(base.domain());
        let groups: Vec<(String, Vec<u64>)> = optimizers.iter().map(|o| (o.clone(), seeds.clone())).collect();
        let written = report::compare::compare(
            &domain_dir,
            &groups,
            "test/return",
            "step",
            report::plot::Goal::Maximize,
        )?;
        let full = report::report(&domain_dir)?;
        eprintln!(
            "wrote {} and {}",
            written.markdown.display(),
            full.markdown.display()
        );
        print!("{}", std::fs::read_to_string(&written.markdown)?);
    }
    Ok(())
}

/// The policy and observation statistics saved in a checkpoint.
fn load_policy(path: &Path) -> Result<(RlConfig, tch::nn::VarStore, ActorCritic, Option<ObsNormalizer>)> {
    let meta_path = path.join("meta.json");
    let text = std::fs::read_to_string(&meta_path)
        .with_context(|| format!("cannot read {}", meta_path.display()))?;
    let meta: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}", meta_path.display()))?;
    let cfg: RlConfig = serde_json::from_value(meta["extra"]["config"].clone())
        .with_context(|| format!("{}: extra.config", meta_path.display()))?;
    let norm: Option<ObsNormalizer> =
        serde_json::from_value(meta["extra"]["progress"]["obs_norm"].clone())
            .with_context(|| format!("{}: extra.progress.obs_norm", meta_path.display()))?;
    let env = envs::make_env(&cfg.env_id, cfg.backend, cfg.seed)?;
    let head = ActionHead::for_space(env.action_space());
    let mut vs = tch::nn::VarStore::new(Device::Cpu);
    let ac = ActorCritic::new(&vs.root(), env.observation_space().flat_dim(), head, &cfg.policy);
    let model = path.join("model.safetensors");
    vs.load(&model)
        .with_context(|| format!("cannot load {}", model.display()))?;
    Ok((cfg, vs, ac, norm))
}

fn eval(args: &EvalArgs) -> Result<()> {
    let (cfg, _vs, ac, norm) = load_policy(&args.checkpoint)?;
    let seed = cfg.seed.wrapping_add(1_000_000);
    let stats = evaluate(
        &ac,
        norm.as_ref(),
        &cfg.env_id,
        cfg.backend,
        seed,
        args.episodes,
        Device::Cpu,
    )?;
    println!(
        "{}: {} deterministic episodes, return {:.2} ± {:.2}, length {:.1}",
        cfg.env_id,
        args.episodes,
        stats.mean(),
        stats.std(),
        stats.mean_length()
    );
    if args.gif.is_some() || args.filmstrip.is_some() {
        let (frames, ret) = record_episode(
            &ac,
            norm.as_ref(),
            &cfg.env_id,
            cfg.backend,
            seed,
            (320, 240),
            1000,
            Device::Cpu,
        )?;
        if let Some(p) = &args.gif {
            envs::render::write_gif(&frames, p, 30)?;
            eprintln!("wrote {} ({} frames, return {ret:.2})", p.display(), frames.len());
        }
        if let Some(p) = &args.filmstrip {
            let every = frames.len().div_ceil(12).max(1);
            let picked: Vec<_> = frames.iter().step_by(every).cloned().collect();
            envs::render::write_filmstrip(&picked, 4, p)?;
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(())
}

fn solve(args: &SolveArgs) -> Result<()> {
    tch::set_num_threads(args.threads);
    let start = std::time::Instant::now();
    let cfg = RlConfig {
        seed: args.seed,
        total_steps: args.max_steps,
        ..RlConfig::for_task(Algo::Ppo, &args.env)
    };
    let mut overrides = toml::Table::new();
    if args.optimizer == "adam" {
        // SB3 builds PPO's Adam with eps = 1e-5.
        overrides.insert("eps".into(), toml::Value::Float(1e-5));
    }
    if let Some(lr) = args.lr {
        overrides.insert("lr".into(), toml::Value::Float(lr));
    }
    let opt = Registry::builtin().resolve("default", &args.optimizer, &overrides)?;
    let mut trainer = Trainer::new(&cfg, &opt, Device::Cpu)?;
    let mut solved_at = None;
    let mut mean100 = f64::NAN;
    while !trainer.done() {
        trainer.update()?;
        let eps = &trainer.episodes;
        if eps.len() >= 100 {
            mean100 = eps[eps.len() - 100..].iter().map(|e| e.1).sum::<f64>() / 100.0;
            if mean100 >= args.threshold {
                solved_at = Some(trainer.global_step());
                break;
            }
        }
    }
    let line = serde_json::json!({
        "impl": "pisa-rs",
        "env": cfg.env_id,
        "seed": args.seed,
        "optimizer": args.optimizer,
        "solved": solved_at.is_some(),
        "steps": solved_at.unwrap_or(trainer.global_step()),
        "wall_s": start.elapsed().as_secs_f64(),
        "mean100": mean100,
        "episodes": trainer.episodes.len(),
    });
    println!("{line}");
    Ok(())
}

fn main() -> ExitCode {
    runs::cli::exit(run())
}

fn run() -> Result<()> {
    match Cli::parse().command {
        Command::Train(args) => train(&args),
        Command::Eval(args) => eval(&args),
        Command::Solve(args) => solve(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_config_is_valid_toml() {
        let cfg = RlConfig::for_task(Algo::A2c, "HalfCheetah-v5");
        let opt = Registry::builtin()
            .resolve(&cfg.domain(), "sisa", &toml::Table::new())
            .unwrap();
        let mut config = serde_json::json!({ "rl": cfg, "optimizer": opt });
        rl::run::strip_nulls(&mut config);
        let text = toml::to_string_pretty(&config).unwrap();
        assert!(text.contains("algo = \"a2c\""), "{text}");
    }

    #[test]
    fn seeds_and_eval_boundaries() {
        assert_eq!(parse_seeds("0..5").unwrap(), [0, 1, 2, 3, 4]);
        assert!(parse_seeds("3..3").is_err());
        assert!(parse_seeds("5").is_err());
        // Every 30,000 steps, updates of 2,048: the update that passes 30,000 evaluates.
        assert!(rl::run::crossed(28_672, 30_720, 30_000));
        assert!(!rl::run::crossed(30_720, 32_768, 30_000));
        assert!(!rl::run::crossed(0, 2_048, 0));
    }

    #[test]
    fn an_rl_table_overrides_single_fields() {
        let file: toml::Table = "[rl]\nnum_envs = 3\nbatch_size = 32\n[rl.loss]\nent_coef = 0.5\n"
            .parse()
            .unwrap();
        let Command::Train(args) = Cli::parse_from([
            "rl",
            "train",
            "--env",
            "halfcheetah",
            "--algo",
            "a2c",
            "--steps",
            "1000",
        ])
        .command
        else {
            panic!("a train command")
        };
        let cfg = rl_config(&args, &file).unwrap();
        assert_eq!(
            (cfg.num_envs, cfg.batch_size, cfg.total_steps),
            (3, Some(32), 1000)
        );
        assert_eq!(cfg.loss.ent_coef, 0.5);
        assert_eq!(
            cfg.loss.vf_coef, 1.0,
            "the A2C default survives a partial [rl.loss]"
        );
        assert_eq!(cfg.backend, Backend::Rapier, "MuJoCo tasks default to rapier");
        // No [rl] table: A2C keeps its whole-rollout batch.
        let plain = rl_config(&args, &toml::Table::new()).unwrap();
        assert_eq!(plain.batch_size, None);
    }
}
