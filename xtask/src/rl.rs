//! `cargo xtask rl ...`: PPO / A2C training and evaluation through the `rl` crate's binary.
//!
//! ```text
//! cargo xtask rl --env humanoid                                  # PPO + SISA, MuJoCo backend
//! cargo xtask rl --env humanoid --backend rapier                 # the pure-Rust rapier3d backend
//! cargo xtask rl --env ant --protocol paper --compare adam,sisa  # the paper's protocol (spec §7.6)
//! cargo xtask rl --env halfcheetah --algo a2c --compare adam,sisa --seeds 0..5 --steps 1000000
//! cargo xtask rl --env hopper --optimizer sisa --sweep lr=1e-4,3e-4,1e-3 --seeds 2  # a SISA grid
//! cargo xtask rl eval --checkpoint runs/ppo-humanoid/sisa-seed0/checkpoints/step-0003000000 --gif ep.gif
//! cargo xtask rl eval --checkpoint runs/ppo-humanoid/sisa-seed0/checkpoints/best  # best evaluation
//! cargo xtask rl fidelity --steps 1000000             # rapier's return as a fraction of MuJoCo's
//! ```
//!
//! Everything after `rl` goes to the binary: `eval ...` and `solve ...` as they are, anything
//! else as `train ...` (see `cargo run -p rl --bin rl -- train --help`). The binary is
//! built in release mode first; runs land in `runs/<algo>-<task>/` (watch them with
//! `tensorboard --logdir runs`).
//!
//! The binary is built with MuJoCo (the `rl` crate's feature `mujoco`, after provisioning it)
//! when `--backend mujoco` is given; for training on a Gymnasium v5 MuJoCo task without
//! `--backend` (the binary's default for these tasks is MuJoCo, so that returns compare with
//! published ones; `--env` defaults to `humanoid`); and for `eval --checkpoint DIR` without
//! `--backend` when the checkpoint trained on MuJoCo (`extra.config.backend` of its
//! `meta.json`). `--backend rapier` keeps the pure-Rust build (no MuJoCo to provision).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::cargo::{cargo, release_program, run_checked, Target};
use crate::setup;

/// Arguments of `cargo xtask rl`: passed on to the `rl` binary.
#[derive(Args, Debug)]
pub struct RlArgs {
    /// `train` flags (`--env`, `--algo`, `--optimizer`, `--steps`, `--seed`/`--seeds`,
    /// `--backend` (default: mujoco for the MuJoCo tasks), `--protocol defaults|paper`,
    /// `--reset-optimizer`, `--device`, `--compare`, `--sweep key=v1,v2`, `--config`), or
    /// `eval --checkpoint ... [--gif ...]`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// The binary's arguments: `train` is implied unless a subcommand is named.
fn forwarded(args: &[String]) -> Vec<String> {
    match args.first().map(String::as_str) {
        Some("train" | "eval" | "solve" | "fidelity" | "help" | "--help" | "-h") => args.to_vec(),
        _ => std::iter::once("train".to_string())
            .chain(args.iter().cloned())
            .collect(),
    }
}

/// Whether the arguments ask for the MuJoCo backend (`--backend mujoco` or `--backend=mujoco`,
/// any case, as the binary parses it).
fn wants_mujoco(args: &[String]) -> bool {
    flag_value(args, "backend").is_some_and(|b| b.eq_ignore_ascii_case("mujoco"))
}

/// The Gymnasium v5 MuJoCo tasks of the `envs` registry (ids and aliases, compared lower case
/// without `-` and `_`, as `envs::registry::env_spec` does): the tasks whose default backend is
/// MuJoCo. Kept here because xtask does not link `envs`; `the_mujoco_tasks_match_the_envs_registry`
/// checks the list against `envs/src/registry.rs`.
const MUJOCO_TASKS: &[&str] = &[
    "HalfCheetah-v5",
    "halfcheetah",
    "cheetah",
    "Ant-v5",
    "ant",
    "Humanoid-v5",
    "humanoid",
    "Hopper-v5",
    "hopper",
    "Walker2d-v5",
    "walker2d",
    "walker",
    "InvertedPendulum-v5",
    "invertedpendulum",
    "InvertedDoublePendulum-v5",
    "inverteddoublependulum",
    "doublependulum",
];

/// The `rl` binary's default `--env` (`train`).
const DEFAULT_ENV: &str = "humanoid";

/// Lower case without `-` and `_` (the `envs` registry's alias comparison).
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `env` (a Gymnasium id or alias) is a Gymnasium v5 MuJoCo task.
fn is_mujoco_task(env: &str) -> bool {
    let q = squash(env);
    MUJOCO_TASKS.iter().any(|t| squash(t) == q)
}

/// Whether a `train` without `--backend` gets MuJoCo by default: its `--env` (default
/// `humanoid`) is a Gymnasium v5 MuJoCo task. Classic-control tasks keep their backend.
fn mujoco_by_default(forwarded: &[String]) -> bool {
    forwarded.first().is_some_and(|a| a == "train")
        && flag_value(forwarded, "backend").is_none()
        && is_mujoco_task(flag_value(forwarded, "env").unwrap_or(DEFAULT_ENV))
}

/// The value of `--<flag> V` or `--<flag>=V` in `args`.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let long = format!("--{flag}");
    let joined = format!("--{flag}=");
    args.iter()
        .enumerate()
        .find_map(|(k, a)| match a.strip_prefix(&joined) {
            Some(v) => Some(v),
            None if *a == long => args.get(k + 1).map(String::as_str),
            None => None,
        })
}

/// The backend the checkpoint `dir` trained on: `extra.config.backend` of its `meta.json`
/// (`auto`, `classic`, `rapier` or `mujoco`).
///
/// # Errors
/// `dir/meta.json` unreadable, or not an RL checkpoint's.
fn checkpoint_backend(dir: &Path) -> Result<String> {
    let meta = dir.join("meta.json");
    let text = std::fs::read_to_string(&meta).with_context(|| {
        format!(
            "cannot read {}: --checkpoint names a checkpoint folder \
             (<run>/checkpoints/step-N or <run>/checkpoints/best)",
            meta.display()
        )
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", meta.display()))?;
    value["extra"]["config"]["backend"]
        .as_str()
        .map(str::to_string)
        .with_context(|| {
            format!(
                "{}: no extra.config.backend (not an RL checkpoint?)",
                meta.display()
            )
        })
}

/// Whether the binary needs MuJoCo for the (forwarded) arguments: `--backend mujoco`, a `train`
/// on a MuJoCo task without `--backend` ([`mujoco_by_default`]), `fidelity` (both backends), or
/// an `eval` without `--backend` of a checkpoint that trained on MuJoCo.
///
/// # Errors
/// As [`checkpoint_backend`].
fn needs_mujoco(forwarded: &[String]) -> Result<bool> {
    let fidelity = forwarded.first().is_some_and(|a| a == "fidelity");
    if fidelity || wants_mujoco(forwarded) || mujoco_by_default(forwarded) {
        return Ok(true);
    }
    let eval = forwarded.first().is_some_and(|a| a == "eval");
    match (
        eval,
        flag_value(forwarded, "backend"),
        flag_value(forwarded, "checkpoint"),
    ) {
        (true, None, Some(dir)) => Ok(checkpoint_backend(&PathBuf::from(dir))? == "mujoco"),
        _ => Ok(false),
    }
}

/// The cargo commands that build and run the binary with MuJoCo: `(build, run)` arguments, the
/// binary's own arguments following `run`'s trailing `--`.
fn mujoco_cargo_args() -> (Vec<&'static str>, Vec<&'static str>) {
    let features = ["--release", "-p", "rl", "--features", "mujoco", "--bin", "rl"];
    let build = [&["build"][..], &features[..]].concat();
    let run = [&["run", "--quiet"][..], &features[..], &["--"][..]].concat();
    (build, run)
}

/// Runs `cargo xtask rl`. With `--backend mujoco`, training on a MuJoCo task without
/// `--backend`, or `eval` of a MuJoCo checkpoint, it provisions MuJoCo (`setup --mujoco`) and builds the binary with the `rl` crate's feature
/// `mujoco`.
pub fn run(args: &RlArgs) -> Result<()> {
    let forwarded = forwarded(&args.args);
    let mujoco = needs_mujoco(&forwarded)?;
    let toolchain = setup::ensure_toolchain()?;
    let mut cmd = if mujoco {
        let env = setup::mujoco_cargo_env(&toolchain)?;
        let (build_args, run_args) = mujoco_cargo_args();
        let mut build = cargo(&toolchain, &build_args)?;
        run_checked(build.envs(env.iter().cloned()))?;
        let mut run = cargo(&toolchain, &run_args)?;
        run.envs(env);
        run
    } else {
        release_program(&toolchain, "rl", Target::Bin("rl"))?
    };
    cmd.args(forwarded);
    run_checked(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn train_is_implied() {
        assert_eq!(
            forwarded(&s(&["--env", "humanoid"])),
            s(&["train", "--env", "humanoid"])
        );
        assert_eq!(forwarded(&[]), s(&["train"]));
        assert_eq!(
            forwarded(&s(&["eval", "--checkpoint", "x"])),
            s(&["eval", "--checkpoint", "x"])
        );
        let fidelity = forwarded(&s(&["fidelity", "--tasks", "hopper"]));
        assert_eq!(fidelity, s(&["fidelity", "--tasks", "hopper"]));
        assert!(needs_mujoco(&fidelity).unwrap(), "fidelity trains on MuJoCo too");
    }

    #[test]
    fn mujoco_is_detected_in_both_spellings() {
        assert!(wants_mujoco(&s(&["train", "--backend", "mujoco"])));
        assert!(wants_mujoco(&s(&["train", "--backend=mujoco"])));
        assert!(!wants_mujoco(&s(&["train", "--backend", "rapier"])));
        assert!(!wants_mujoco(&s(&["train", "--env", "mujoco"])));
        assert!(wants_mujoco(&s(&["train", "--backend", "MuJoCo"])));
    }

    #[test]
    fn mujoco_tasks_default_to_mujoco_and_classic_control_keeps_its_backend() {
        let needs = |args: &[&str]| needs_mujoco(&forwarded(&s(args))).unwrap();
        // Every v5 task, by id or alias, in both spellings of --env; `--env` defaults to humanoid.
        for env in [
            "humanoid",
            "Humanoid-v5",
            "ant",
            "Hopper-v5",
            "half_cheetah",
            "Walker2d",
            "walker",
        ] {
            assert!(needs(&["--env", env]), "{env}");
            assert!(needs(&[&format!("--env={env}")]), "{env}");
        }
        assert!(needs(&["--env", "InvertedDoublePendulum-v5", "--algo", "a2c"]));
        assert!(needs(&["--env", "invertedpendulum"]));
        assert!(needs(&[]), "the default task is Humanoid-v5");
        assert!(needs(&["train", "--steps", "1000"]));
        // Classic control keeps the pure-Rust build.
        for env in ["cartpole", "CartPole-v1", "pendulum", "Pendulum-v1"] {
            assert!(!needs(&["--env", env]), "{env}");
        }
        // An explicit --backend decides, either way.
        assert!(!needs(&["--env", "humanoid", "--backend", "rapier"]));
        assert!(!needs(&["--env=ant", "--backend=rapier"]));
        assert!(needs(&["--env", "ant", "--backend", "mujoco"]));
        // Only training picks a default (solve keeps its own; eval reads the checkpoint).
        assert!(!needs(&["solve", "--env", "humanoid"]));
        assert!(!needs(&["help"]));
    }

    /// The MuJoCo task list mirrors the envs registry: every locomotion id and alias there is
    /// here, and nothing else.
    #[test]
    fn the_mujoco_tasks_match_the_envs_registry() {
        let registry = include_str!("../../envs/src/registry.rs");
        let mut locomotion = Vec::new();
        for spec in registry.split("EnvSpec {").skip(1) {
            let Some(body) = spec.split('}').next() else {
                continue;
            };
            if !body.contains("TaskFamily::Locomotion") {
                continue;
            }
            let quoted = |line: &str| -> Vec<String> {
                line.split('"').skip(1).step_by(2).map(str::to_string).collect()
            };
            for line in body.lines() {
                let line = line.trim();
                if line.starts_with("id:") || line.starts_with("aliases:") {
                    locomotion.extend(quoted(line));
                }
            }
        }
        assert!(locomotion.len() >= 14, "{locomotion:?}");
        let mut ours: Vec<String> = MUJOCO_TASKS.iter().map(|t| t.to_string()).collect();
        locomotion.sort();
        ours.sort();
        assert_eq!(ours, locomotion);
    }

    /// A checkpoint folder whose `meta.json` records `backend`.
    fn checkpoint(base: &Path, name: &str, backend: &str) -> String {
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let meta = serde_json::json!({
            "step": 4096,
            "seed": 0,
            "extra": { "config": { "env_id": "Ant-v5", "backend": backend } },
        });
        std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
        dir.display().to_string()
    }

    #[test]
    fn eval_reads_the_backend_from_the_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let mujoco = checkpoint(tmp.path(), "mujoco", "mujoco");
        let rapier = checkpoint(tmp.path(), "rapier", "rapier");
        assert_eq!(checkpoint_backend(Path::new(&mujoco)).unwrap(), "mujoco");
        // Both spellings of --checkpoint; the binary's arguments pass on unchanged.
        let eval = forwarded(&s(&["eval", "--checkpoint", &mujoco, "--episodes", "3"]));
        assert_eq!(eval, s(&["eval", "--checkpoint", &mujoco, "--episodes", "3"]));
        assert!(needs_mujoco(&eval).unwrap());
        assert!(needs_mujoco(&s(&["eval", &format!("--checkpoint={mujoco}")])).unwrap());
        assert!(!needs_mujoco(&s(&["eval", "--checkpoint", &rapier])).unwrap());
        // --backend overrides the checkpoint's, either way.
        assert!(!needs_mujoco(&s(&["eval", "--checkpoint", &mujoco, "--backend", "rapier"])).unwrap());
        assert!(needs_mujoco(&s(&["eval", "--checkpoint", &rapier, "--backend=mujoco"])).unwrap());
        // Training never reads a checkpoint here.
        assert!(!needs_mujoco(&s(&["train", "--env", "cartpole", "--checkpoint", "nowhere"])).unwrap());
        // A folder that is not a checkpoint is named.
        let err = needs_mujoco(&s(&["eval", "--checkpoint", "/nonexistent/step-1"])).unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent/step-1/meta.json"),
            "{err:#}"
        );
        // The commands a MuJoCo eval builds and runs: the release binary with the feature.
        let (build, run) = mujoco_cargo_args();
        assert_eq!(
            build,
            [
                "build",
                "--release",
                "-p",
                "rl",
                "--features",
                "mujoco",
                "--bin",
                "rl"
            ]
        );
        assert_eq!(
            run,
            [
                "run",
                "--quiet",
                "--release",
                "-p",
                "rl",
                "--features",
                "mujoco",
                "--bin",
                "rl",
                "--"
            ]
        );
    }
}
