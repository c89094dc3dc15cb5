//! PPO and A2C on the `envs` tasks with any optimizer of the registry: `cargo xtask rl`.
//!
//! ```text
//! cargo run --release -p rl --features mujoco --bin rl -- train --env humanoid   # PPO + SISA
//! cargo run --release -p rl --bin rl -- train --env humanoid --backend rapier    # pure Rust
//! cargo run --release -p rl --features mujoco --bin rl -- train --env ant --protocol paper
//! cargo run --release -p rl --bin rl -- train --env halfcheetah --algo a2c --optimizer adam
//! cargo run --release -p rl --bin rl -- train --env pendulum --compare adam,sisa --seeds 0..3
//! cargo run --release -p rl --features mujoco --bin rl -- train --env hopper --optimizer sisa --sweep sigma=0.1,1,5 --seeds 2
//! cargo run --release -p rl --bin rl -- eval --checkpoint runs/ppo-pendulum/sisa-seed0/checkpoints/step-0000100000 --gif ep.gif
//! cargo run --release -p rl --bin rl -- eval --checkpoint runs/ppo-pendulum/sisa-seed0/checkpoints/best
//! ```
//!
//! The Gymnasium v5 MuJoCo tasks (Ant, HalfCheetah, Hopper, Humanoid, InvertedPendulum,
//! InvertedDoublePendulum, Walker2d) train on MuJoCo unless `--backend` says otherwise, so that
//! returns compare with published ones: a binary built without the `mujoco` feature refuses
//! them without `--backend` (`cargo xtask rl` provisions MuJoCo and builds with it).
//! `--backend rapier` is the pure-Rust rapier3d port of the same models: no system library,
//! same observation and action spaces and reward terms, but other contact dynamics, so its
//! returns are not MuJoCo's (for development, tests and machines without MuJoCo).
//! Classic-control tasks keep their own backend.
//!
//! `--protocol paper` starts from the paper's protocol (spec §7.6, `rl::protocol`): Tianshou's
//! settings with advantages recomputed at every pass, 100 Tianshou epochs, a test per epoch,
//! and the PISA family's state rebuilt at every update (baselines keep theirs).
//!
//! Runs go to `runs/<algo>-<task>/<optimizer>-seed<k>/` (`--name` names a single run's folder;
//! with several runs it prefixes each: `<name>-<optimizer>-seed<k>`), holding `metrics.csv`,
//! TensorBoard `tb/` (with the settings and final figures under `tb/hparams/`), `checkpoints/`
//! (the newest `--keep-checkpoints` step checkpoints and `best/`, the policy of the best
//! evaluation) and `summary.json`; the run folder and the `tensorboard --logdir` command are
//! printed when a run starts. `train` takes the common run flags of every domain
//! (`runs::session::RunArgs`: `--runs`, `--name`, `--optimizer`, `--seed`, `--resume`,
//! `--device`, `--threads` (here 1 unless given), `--checkpoint-every` (environment steps), ...).
//! The registry domain of the optimizer presets is `<algo>-<task>` (e.g. `ppo-humanoid`),
//! falling back to the defaults for tasks without presets. `--config file.toml` may hold an
//! `[rl]` table (any field of `RlConfig`) and an `[optimizer]` table (optimizer settings over
//! the presets), or only optimizer settings; `--domain` moves only the folder, never the presets.
//! `--compare`, `--seeds N|a..b` and `--sweep key=v1,v2` (one optimizer setting, e.g.
//! `sigma=0.1,1`) plan the runs as every domain command does (the `run-plan` crate: names
//! `<optimizer>[-<key><value>]-seed<k>`); each runs in turn (finished ones skipped, interrupted
//! ones resumed) and `compare.md` (mean ± std over seeds of the best and final evaluation
//! return) plus the domain's report and charts are written. Logged per update:
//! train/return (episodes that ended in the rollout), train/return_100 and train/episode_length
//! (last 100 episodes), losses, entropy, train/action_std (Gaussian policies), approx KL, clip
//! fraction, explained variance, opt/sigma, opt/rho, opt/lr (what the optimizer has), steps/s;
//! every `eval_every` steps: eval/return (mean of 10 deterministic episodes) and
//! eval/return_std.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use envs::Backend;
use rl::eval::{evaluate, record_episode};
use rl::normalize::ObsNormalizer;
use rl::policy::{ActionHead, ActorCritic};
use rl::protocol::Protocol;
use rl::train::MAX_STEPS;
use rl::{Algo, RlConfig, Trainer};
use runs::cli::{in_range, positive, UsageError};
use runs::registry::Registry;
use runs::session::RunArgs;
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
    Train(Box<TrainArgs>),
    /// Replay a checkpoint's policy deterministically; optionally save a GIF of one episode.
    Eval(EvalArgs),
    /// Train with the task's defaults until the mean return of the last 100 training episodes
    /// reaches a threshold; print one JSON line (the `cargo xtask bench rl` measurement).
    Solve(SolveArgs),
    /// The rapier backend's fidelity: PPO with Adam on each task on MuJoCo and on rapier, then
    /// `fidelity.md` with rapier's return as a fraction of MuJoCo's (goal ≥ 0.5).
    Fidelity(FidelityArgs),
}

#[derive(clap::Args, Debug)]
struct FidelityArgs {
    /// Tasks (ids or aliases of the MuJoCo locomotion tasks), each trained on both backends.
    #[arg(long, value_delimiter = ',', default_values_t = rl::fidelity::TASKS.map(String::from))]
    tasks: Vec<String>,
    /// `train` flags for every run: `--steps`, `--seeds` (default 1), `--eval-every`,
    /// `--protocol`, `--config`, `--runs`, `--threads`, ... (not the ones fidelity sets: `--env`,
    /// `--algo`, `--optimizer`, `--backend`, `--compare`, `--sweep`, `--name`, `--domain`,
    /// `--seed`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    train: Vec<String>,
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
#[command(
    mut_arg("name", |a| a.help(
        "Run name, a plain folder name [default: <optimizer>-seed<k>]; with --compare or several \
         --seeds, the prefix of each run's <name>-<optimizer>-seed<k>"
    )),
    mut_arg("config", |a| a.help(
        "TOML file with an [rl] table (any RlConfig field) and an [optimizer] table (optimizer \
         settings over the presets), or only optimizer settings"
    )),
    mut_arg("threads", |a| a.help("Torch intra-op threads, 1 to 1024 [default: 1]")),
    mut_arg("divergence_factor", |a| a.help(
        "Accepted for every domain; RL logs no train/loss, so no divergence guard watches it"
    )),
    mut_arg("reduction", |a| a.help("Accepted for every domain; RL runs in one process")),
    mut_arg("checkpoint_every", |a| a.help(
        "Checkpoint every this many environment steps, 0 to 10⁹ (0: only at the end) \
         [default: the configuration's, 30,000]"
    ))
)]
struct TrainArgs {
    /// Task id or alias (humanoid, ant, halfcheetah, cartpole, pendulum, ...).
    #[arg(long, default_value = "humanoid")]
    env: String,
    /// Algorithm.
    #[arg(long, value_enum, default_value_t = Algo::Ppo)]
    algo: Algo,
    /// Comma-separated optimizers to run one after the other (overrides --optimizer).
    #[arg(long, value_delimiter = ',')]
    compare: Vec<String>,
    /// Total environment steps, 1 to 10¹⁰ (default: the algorithm's and task's).
    #[arg(long, value_parser = in_range(1usize, MAX_STEPS))]
    steps: Option<usize>,
    /// Seeds `N` (0..N) or `a..b` (b exclusive), one run each (overrides --seed).
    #[arg(long)]
    seeds: Option<String>,
    /// A grid over one optimizer setting, `key=v1,v2,...` (e.g. `sigma=0.1,1` or
    /// `lr=1e-4,3e-4`): one run per value, named `<optimizer>-<key><value>-seed<k>`.
    #[arg(long)]
    sweep: Option<String>,
    /// Simulator backend: auto, classic, rapier, mujoco (default: mujoco for the MuJoCo tasks,
    /// which needs the `mujoco` feature; rapier is the pure-Rust port).
    #[arg(long)]
    backend: Option<String>,
    /// Starting settings: `defaults` (the task's defaults) or `paper` (the paper's protocol,
    /// spec §7.6: Tianshou's settings, recomputed advantages, the PISA family's state rebuilt at
    /// every update).
    #[arg(long, value_enum, default_value_t = Protocol::Defaults)]
    protocol: Protocol,
    /// Evaluate every this many steps, 0 to 10¹⁰ (0: never; default: the configuration's,
    /// 30,000).
    #[arg(long, value_parser = in_range(0usize, MAX_STEPS))]
    eval_every: Option<usize>,
    /// Rebuild the optimizer at every update (the paper's re-initialized SISA state), whatever
    /// the optimizer.
    #[arg(long)]
    reset_optimizer: bool,
    /// Keep the optimizer's state across updates even under `--protocol paper` (which rebuilds
    /// the PISA family at every update): the kept-state side of the reset-vs-keep comparison.
    #[arg(long, conflicts_with = "reset_optimizer")]
    keep_optimizer: bool,
    /// The flags every domain takes (`--config` holds `[rl]` and `[optimizer]` tables, or only
    /// optimizer settings; `--threads` is 1 unless given).
    #[command(flatten)]
    run: RunArgs,
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
    /// Simulator backend to replay on: auto, classic, rapier, mujoco (default: the one the
    /// checkpoint trained on).
    #[arg(long)]
    backend: Option<String>,
}

/// The `--config` path for messages.
fn display(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(String::new, |p| p.display().to_string())
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

/// The backend of a task of `family` when neither `--backend` nor the `[rl]` table names one
/// (`configured` is then `Auto`): MuJoCo for the Gymnasium v5 MuJoCo tasks, which needs a
/// binary built with MuJoCo (`mujoco_built`), else refused naming the two ways out; classic
/// control keeps `configured`. A backend the `[rl]` table names is kept.
fn default_backend(
    configured: Backend,
    env_id: &str,
    family: Option<envs::registry::TaskFamily>,
    mujoco_built: bool,
) -> Result<Backend> {
    use envs::registry::TaskFamily;
    match (family, configured) {
        (Some(TaskFamily::Locomotion), Backend::Auto) if mujoco_built => Ok(Backend::Mujoco),
        (Some(TaskFamily::Locomotion), Backend::Auto) => Err(UsageError::new(
            "--backend",
            format!(
                "{env_id} trains on MuJoCo by default, and this binary was built without it: \
                 run `cargo xtask rl` (it provisions MuJoCo and builds with `--features mujoco`), \
                 or pass `--backend rapier` for the pure-Rust rapier3d port (its returns are not \
                 MuJoCo's)"
            ),
        )
        .into()),
        _ => Ok(configured),
    }
}

/// The run configuration: the protocol's settings for the task, then the file's `[rl]` table,
/// then flags.
fn rl_config(args: &TrainArgs, file: &toml::Table) -> Result<RlConfig> {
    let mut cfg = args.protocol.config(args.algo, &args.env);
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
    cfg.backend = match &args.backend {
        Some(b) => b.parse()?,
        None => default_backend(cfg.backend, &cfg.env_id, family, cfg!(feature = "mujoco"))?,
    };
    if let Some(s) = args.steps {
        cfg.total_steps = s;
    }
    if let Some(e) = args.eval_every {
        cfg.eval_every = e;
    }
    if let Some(every) = args.run.checkpoint_every {
        cfg.checkpoint_every = every as usize;
    }
    cfg.reset_optimizer |= args.reset_optimizer;
    cfg.validate()?;
    Ok(cfg)
}

/// One run of `train`: its flags, the swept optimizer setting it sets (if any) and its
/// comparison group (the name without `-seed<k>`).
#[derive(Debug, Clone)]
struct Planned {
    run: RunArgs,
    setting: Option<(String, String)>,
    group: String,
}

/// Each run of `train`, in order, from the one experiment planner (`run_plan::plan`, shared with
/// `cargo xtask`'s domain commands): every (optimizer, swept value, seed) of `--compare`,
/// `--sweep` and `--seeds` (else `--optimizer` and `--seed`). A single run is named `--name`
/// (else `<optimizer>-seed<k>`); with several, `--name` prefixes each planned name.
fn planned_runs(args: &TrainArgs) -> Result<Vec<Planned>> {
    let seed = args.run.seed;
    let one_seed = format!("{seed}..{}", seed.saturating_add(1));
    let request = run_plan::Request {
        optimizer: args.run.optimizer.as_deref().unwrap_or("sisa"),
        compare: &args.compare,
        seeds: Some(args.seeds.as_deref().unwrap_or(&one_seed)),
        sweep: args.sweep.as_deref(),
        config: None,
    };
    let plan = run_plan::plan(&request, Path::new(""))?;
    let single = plan.len() == 1;
    Ok(plan
        .into_iter()
        .map(|p| {
            let (name, group) = match (&args.run.name, single) {
                (Some(name), true) => (name.clone(), name.clone()),
                (Some(prefix), false) => (format!("{prefix}-{}", p.name), format!("{prefix}-{}", p.group())),
                (None, _) => (p.name.clone(), p.group().to_string()),
            };
            let run = RunArgs {
                optimizer: Some(p.optimizer.clone()),
                seed: p.seed,
                name: Some(name),
                threads: Some(args.run.threads.unwrap_or(1)),
                ..args.run.clone()
            };
            Planned {
                run,
                setting: p.setting,
                group,
            }
        })
        .collect())
}

/// The `--config` file's `[rl]` table (as a table holding it) and optimizer overrides: the
/// `[optimizer]` table, or the whole file when it has neither table.
fn split_config(file: toml::Table, path: &Option<PathBuf>) -> Result<(toml::Table, toml::Table)> {
    if !file.contains_key("rl") && !file.contains_key("optimizer") {
        return Ok((toml::Table::new(), file));
    }
    if let Some(key) = file.keys().find(|k| !["rl", "optimizer"].contains(&k.as_str())) {
        return Err(UsageError::new(
            key.as_str(),
            format!(
                "unknown key in {}: a config holds an [rl] and an [optimizer] table \
                 (or only optimizer settings)",
                display(path)
            ),
        )
        .into());
    }
    let overrides = match file.get("optimizer") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => bail!("[optimizer] must be a table"),
        None => toml::Table::new(),
    };
    Ok((file, overrides))
}

/// Whether a run of `optimizer` rebuilds it at every update: `--keep-optimizer` never, else
/// `--reset-optimizer` (or `reset_optimizer` in the config) or the protocol's rule (the paper's
/// rebuilds the PISA family).
fn rebuilds(args: &TrainArgs, base: &RlConfig, optimizer: &pisa_core::OptimizerConfig) -> bool {
    !args.keep_optimizer && (base.reset_optimizer || args.protocol.resets(optimizer))
}

fn train(args: &TrainArgs) -> Result<()> {
    args.run.device()?;
    let file: toml::Table = match &args.run.config {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .parse()
            .with_context(|| format!("{} is not valid TOML", p.display()))?,
        None => toml::Table::new(),
    };
    let (file, overrides) = split_config(file, &args.run.config)?;
    let base = rl_config(args, &file)?;
    let planned = planned_runs(args)?;
    let domain_dir = args
        .run
        .runs
        .join(args.run.domain.clone().unwrap_or_else(|| base.domain()));
    // Several runs, or any of the experiment flags (`--seeds 1` is an experiment of one seed).
    let experiment =
        planned.len() > 1 || args.seeds.is_some() || !args.compare.is_empty() || args.sweep.is_some();
    for Planned { run, setting, .. } in &planned {
        let mut run = run.clone();
        let folder = domain_dir.join(run.name.as_deref().unwrap_or_default());
        // An experiment skips what has ended and resumes what was interrupted, as `cargo
        // xtask`'s experiments do.
        if experiment {
            match run_plan::ended(&folder) {
                run_plan::Ended::No => run.resume |= folder.join("metrics.csv").exists(),
                _ => {
                    eprintln!(
                        "{} has ended; skipped (delete it to run it again)",
                        folder.display()
                    );
                    continue;
                }
            }
        }
        let mut overrides = overrides.clone();
        if let Some((key, value)) = setting {
            overrides.insert(key.clone(), run_plan::toml_value(key, value)?);
        }
        let optimizer = run.optimizer.as_deref().unwrap_or("sisa");
        let resolved = Registry::builtin().resolve(&base.domain(), optimizer, &overrides)?;
        let cfg = RlConfig {
            seed: run.seed,
            reset_optimizer: rebuilds(args, &base, &resolved),
            ..base.clone()
        };
        rl::run::run_one(&cfg, &overrides, &run)?;
    }
    if experiment {
        // The one comparison path: evaluation return over steps, mean ± std over seeds.
        let mut groups: Vec<(String, Vec<u64>)> = Vec::new();
        for Planned { run, group, .. } in &planned {
            match groups.iter_mut().find(|(g, _)| g == group) {
                Some((_, seeds)) => seeds.push(run.seed),
                None => groups.push((group.clone(), vec![run.seed])),
            }
        }
        let written = report::compare::compare(
            &domain_dir,
            &groups,
            "eval/return",
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

/// `fidelity`: for each task, PPO with Adam on MuJoCo then on rapier (each an experiment of
/// `train`: `fidelity-<algo>-<task>-<backend>/adam-seed<k>/`, finished runs skipped), then
/// `<runs>/fidelity.md` ([`rl::fidelity`]).
fn fidelity(args: &FidelityArgs) -> Result<()> {
    use rl::fidelity::{domain_folder, table, write, TaskReturns, BACKENDS, GROUP};
    const SET: [&str; 9] = [
        "--env",
        "--algo",
        "--optimizer",
        "--backend",
        "--compare",
        "--sweep",
        "--name",
        "--domain",
        "--seed",
    ];
    if let Some(flag) = args
        .train
        .iter()
        .find_map(|a| SET.iter().find(|f| a == *f || a.starts_with(&format!("{f}="))))
    {
        return Err(UsageError::new(
            *flag,
            "is set by fidelity for each run (PPO with Adam on each task and backend); choose tasks with --tasks and seeds with --seeds",
        )
        .into());
    }
    let seeds_given = args
        .train
        .iter()
        .any(|a| a == "--seeds" || a.starts_with("--seeds="));
    let (mut measured, mut runs) = (Vec::new(), PathBuf::from("runs"));
    for task in &args.tasks {
        let spec = envs::registry::env_spec(task)
            .filter(|s| s.family == envs::registry::TaskFamily::Locomotion)
            .ok_or_else(|| {
                UsageError::new(
                    "--tasks",
                    format!("{task}: not one of the MuJoCo locomotion tasks"),
                )
            })?;
        let domain = RlConfig::for_task(Algo::Ppo, spec.id).domain();
        let mut seeds = Vec::new();
        for backend in BACKENDS {
            let folder = domain_folder(&domain, backend);
            let mut argv = vec![
                "rl",
                "train",
                "--env",
                spec.id,
                "--algo",
                "ppo",
                "--optimizer",
                GROUP,
            ];
            argv.extend(["--backend", backend, "--domain", &folder]);
            if !seeds_given {
                argv.extend(["--seeds", "1"]);
            }
            argv.extend(args.train.iter().map(String::as_str));
            let Command::Train(train_args) = Cli::try_parse_from(argv)?.command else {
                unreachable!("a train command line")
            };
            runs = train_args.run.runs.clone();
            seeds = planned_runs(&train_args)?.iter().map(|p| p.run.seed).collect();
            train(&train_args)?;
        }
        measured.push(TaskReturns::read(&runs, spec.id, &domain, &seeds)?);
    }
    let setting = format!(
        "`rl fidelity --tasks {} {}`: PPO with Adam (the task's presets) on each backend.",
        args.tasks.join(","),
        args.train.join(" ")
    );
    let path = write(&runs, &setting, &measured)?;
    print!("{}", table(&measured));
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The policy and observation statistics saved in a checkpoint, with its settings (the backend
/// replaced by `backend` when given).
fn load_policy(
    path: &Path,
    backend: Option<&str>,
) -> Result<(RlConfig, tch::nn::VarStore, ActorCritic, Option<ObsNormalizer>)> {
    let meta_path = path.join("meta.json");
    let text = std::fs::read_to_string(&meta_path)
        .with_context(|| format!("cannot read {}", meta_path.display()))?;
    let meta: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}", meta_path.display()))?;
    let mut cfg: RlConfig = serde_json::from_value(meta["extra"]["config"].clone())
        .with_context(|| format!("{}: extra.config", meta_path.display()))?;
    if let Some(backend) = backend {
        cfg.backend = backend.parse()?;
    }
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
    let (cfg, _vs, ac, norm) = load_policy(&args.checkpoint, args.backend.as_deref())?;
    let seed = cfg.seed.wrapping_add(1_000_000);
    let stats = evaluate(
        &ac,
        norm.as_ref(),
        &cfg.env_id,
        cfg.backend,
        cfg.action_scaling,
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
            cfg.action_scaling,
            seed,
            (320, 240),
            1000,
            1,
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
        Command::Fidelity(args) => fidelity(&args),
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

    fn train_args(flags: &[&str]) -> TrainArgs {
        let argv = ["rl", "train"].iter().chain(flags).copied();
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Train(args) => *args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn name_names_a_single_run_and_prefixes_several() {
        let names = |flags: &[&str]| -> Vec<(String, u64, String)> {
            planned_runs(&train_args(flags))
                .unwrap()
                .into_iter()
                .map(|p| (p.run.optimizer.unwrap(), p.run.seed, p.run.name.unwrap()))
                .collect()
        };
        let one = |o: &str, s: u64, n: &str| (o.to_string(), s, n.to_string());
        assert_eq!(names(&[]), [one("sisa", 0, "sisa-seed0")]);
        assert_eq!(
            names(&["--name", "long-run", "--optimizer", "adam", "--seed", "3"]),
            [one("adam", 3, "long-run")]
        );
        assert_eq!(
            names(&["--name", "x", "--compare", "adam,sisa", "--seeds", "0..2"]),
            [
                one("adam", 0, "x-adam-seed0"),
                one("adam", 1, "x-adam-seed1"),
                one("sisa", 0, "x-sisa-seed0"),
                one("sisa", 1, "x-sisa-seed1"),
            ]
        );
        // The common flags reach every run; RL's torch threads default to 1.
        let run =
            &planned_runs(&train_args(&["--runs", "elsewhere", "--keep-checkpoints", "5"])).unwrap()[0].run;
        assert_eq!(
            (run.runs.as_path(), run.keep_checkpoints, run.threads),
            (Path::new("elsewhere"), 5, Some(1))
        );
        assert!(
            Cli::try_parse_from(["rl", "train", "--name", "a/b"]).is_err(),
            "a plain name"
        );
    }

    #[test]
    fn the_paper_protocol_rebuilds_sisa_unless_told_to_keep_it() {
        let resolve = |o: &str| {
            Registry::builtin()
                .resolve("a2c-halfcheetah", o, &toml::Table::new())
                .unwrap()
        };
        let (sisa, adam) = (resolve("sisa"), resolve("adam"));
        let rebuilt = |flags: &[&str], opt: &pisa_core::OptimizerConfig| {
            let args = train_args(
                &[
                    &["--env", "halfcheetah", "--algo", "a2c", "--backend", "rapier"],
                    flags,
                ]
                .concat(),
            );
            rebuilds(&args, &rl_config(&args, &toml::Table::new()).unwrap(), opt)
        };
        assert!(rebuilt(&["--protocol", "paper"], &sisa));
        assert!(
            !rebuilt(&["--protocol", "paper"], &adam),
            "Tianshou keeps Adam's state"
        );
        assert!(!rebuilt(&["--protocol", "paper", "--keep-optimizer"], &sisa));
        assert!(!rebuilt(&[], &sisa), "the everyday default keeps it");
        assert!(rebuilt(&["--reset-optimizer"], &adam));
        assert!(Cli::try_parse_from(["rl", "train", "--reset-optimizer", "--keep-optimizer"]).is_err());
    }

    #[test]
    fn a_config_file_is_rl_and_optimizer_tables_or_optimizer_settings() {
        let path = Some(PathBuf::from("c.toml"));
        let (rl, opt) = split_config(
            "[rl]\nnum_envs = 2\n[optimizer]\nlr = 0.1\n".parse().unwrap(),
            &path,
        )
        .unwrap();
        assert_eq!(
            (rl["rl"]["num_envs"].as_integer(), opt["lr"].as_float()),
            (Some(2), Some(0.1))
        );
        let (rl, opt) = split_config("lr = 0.2\nnodes = 2\n".parse().unwrap(), &path).unwrap();
        assert!(rl.is_empty());
        assert_eq!(
            (opt["lr"].as_float(), opt["nodes"].as_integer()),
            (Some(0.2), Some(2))
        );
        let err = split_config("lr = 0.2\n[rl]\nnum_envs = 2\n".parse().unwrap(), &path).unwrap_err();
        assert!(format!("{err:#}").contains("lr"), "{err:#}");
        // --checkpoint-every sets the RL cadence (environment steps).
        let cfg = rl_config(
            &train_args(&["--env", "pendulum", "--checkpoint-every", "4096"]),
            &toml::Table::new(),
        )
        .unwrap();
        assert_eq!(cfg.checkpoint_every, 4096);
    }

    /// `--seeds` and `--sweep` as every domain command plans them: `N` or `a..b`, one run per
    /// swept value, each carrying its setting; the group drops only the seed.
    #[test]
    fn seeds_sweeps_and_eval_boundaries() {
        let plan = |flags: &[&str]| planned_runs(&train_args(flags));
        let seeds =
            |flags: &[&str]| -> Vec<u64> { plan(flags).unwrap().iter().map(|p| p.run.seed).collect() };
        assert_eq!(seeds(&["--seeds", "0..5"]), [0, 1, 2, 3, 4]);
        assert_eq!(seeds(&["--seeds", "3"]), [0, 1, 2]);
        assert_eq!(seeds(&["--seed", "7"]), [7]);
        assert!(plan(&["--seeds", "3..3"]).is_err());
        let swept = plan(&["--optimizer", "sisa", "--sweep", "sigma=0.1,1", "--seeds", "2"]).unwrap();
        let described: Vec<String> = swept
            .iter()
            .map(|p| format!("{} {} {:?}", p.run.name.as_deref().unwrap(), p.group, p.setting))
            .collect();
        assert_eq!(
            described,
            [
                r#"sisa-sigma0.1-seed0 sisa-sigma0.1 Some(("sigma", "0.1"))"#,
                r#"sisa-sigma0.1-seed1 sisa-sigma0.1 Some(("sigma", "0.1"))"#,
                r#"sisa-sigma1-seed0 sisa-sigma1 Some(("sigma", "1"))"#,
                r#"sisa-sigma1-seed1 sisa-sigma1 Some(("sigma", "1"))"#,
            ]
        );
        assert!(plan(&["--sweep", "sigma"])
            .unwrap_err()
            .to_string()
            .contains("--sweep"));
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
            "--backend",
            "rapier",
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
        assert_eq!(cfg.backend, Backend::Rapier, "--backend rapier");
        // No [rl] table: A2C keeps its whole-rollout batch.
        let plain = rl_config(&args, &toml::Table::new()).unwrap();
        assert_eq!(plain.batch_size, None);
    }

    #[test]
    fn mujoco_tasks_default_to_mujoco() {
        use envs::registry::{env_spec, TaskFamily};
        let family = |id: &str| env_spec(id).map(|s| s.family);
        for id in [
            "Humanoid-v5",
            "Ant-v5",
            "HalfCheetah-v5",
            "Hopper-v5",
            "Walker2d-v5",
        ] {
            assert_eq!(family(id), Some(TaskFamily::Locomotion));
            assert_eq!(
                default_backend(Backend::Auto, id, family(id), true).unwrap(),
                Backend::Mujoco
            );
            // Without MuJoCo in the binary: refused, naming both ways out.
            let err = default_backend(Backend::Auto, id, family(id), false).unwrap_err();
            let text = format!("{err:#}");
            assert!(
                text.contains("cargo xtask rl") && text.contains("--backend rapier"),
                "{text}"
            );
            // A backend named in the [rl] table is kept.
            assert_eq!(
                default_backend(Backend::Rapier, id, family(id), false).unwrap(),
                Backend::Rapier
            );
        }
        for id in ["CartPole-v1", "Pendulum-v1"] {
            for built in [false, true] {
                assert_eq!(
                    default_backend(Backend::Auto, id, family(id), built).unwrap(),
                    Backend::Auto
                );
            }
        }
        // Through the flags: --backend wins; classic control needs nothing.
        let cfg = rl_config(
            &train_args(&["--env", "ant", "--backend", "rapier"]),
            &toml::Table::new(),
        )
        .unwrap();
        assert_eq!(cfg.backend, Backend::Rapier);
        let cfg = rl_config(&train_args(&["--env", "cartpole"]), &toml::Table::new()).unwrap();
        assert_eq!(cfg.backend, Backend::Auto);
        let ant = rl_config(&train_args(&["--env", "ant"]), &toml::Table::new());
        match cfg!(feature = "mujoco") {
            true => assert_eq!(ant.unwrap().backend, Backend::Mujoco),
            false => assert!(ant.is_err()),
        }
    }

    #[test]
    fn the_paper_protocol_is_a_flag() {
        let args = train_args(&["--env", "humanoid", "--backend", "rapier", "--protocol", "paper"]);
        let cfg = rl_config(&args, &toml::Table::new()).unwrap();
        assert_eq!(
            (cfg.total_steps, cfg.eval_every, cfg.recompute_adv),
            (3_072_000, 30_720, true)
        );
        // Flags still override the protocol.
        let args = train_args(&[
            "--env",
            "ant",
            "--backend",
            "rapier",
            "--protocol",
            "paper",
            "--steps",
            "4096",
        ]);
        assert_eq!(rl_config(&args, &toml::Table::new()).unwrap().total_steps, 4096);
    }
}
