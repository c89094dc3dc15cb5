//! `cargo xtask rl ...`: PPO / A2C training and evaluation through the `rl` crate's binary.
//!
//! ```text
//! cargo xtask rl --env humanoid                                  # PPO + SISA, rapier backend
//! cargo xtask rl --env halfcheetah --algo a2c --compare adam,sisa --seeds 0..5 --steps 1000000
//! cargo xtask rl eval --checkpoint runs/ppo-humanoid/sisa-seed0/checkpoints/step-0003000000 --gif ep.gif
//! cargo xtask rl eval --checkpoint runs/ppo-humanoid/sisa-seed0/checkpoints/best  # best evaluation
//! ```
//!
//! Everything after `rl` goes to the binary: `eval ...` and `solve ...` as they are, anything
//! else as `train ...` (see `cargo run -p rl --bin rl -- train --help`). The binary is
//! built in release mode first; runs land in `runs/<algo>-<task>/` (watch them with
//! `tensorboard --logdir runs`).
//!
//! The binary is built with MuJoCo (the `rl` crate's feature `mujoco`, after provisioning it)
//! when `--backend mujoco` is given, and for `eval --checkpoint DIR` without `--backend` when
//! the checkpoint trained on MuJoCo (`extra.config.backend` of its `meta.json`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::cargo::{cargo, release_program, run_checked, Target};
use crate::setup;

/// Arguments of `cargo xtask rl`: passed on to the `rl` binary.
#[derive(Args, Debug)]
pub struct RlArgs {
    /// `train` flags (`--env`, `--algo`, `--optimizer`, `--steps`, `--seed`/`--seeds`,
    /// `--backend`, `--device`, `--compare`, `--config`), or `eval --checkpoint ... [--gif ...]`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// The binary's arguments: `train` is implied unless a subcommand is named.
fn forwarded(args: &[String]) -> Vec<String> {
    match args.first().map(String::as_str) {
        Some("train" | "eval" | "solve" | "help" | "--help" | "-h") => args.to_vec(),
        _ => std::iter::once("train".to_string())
            .chain(args.iter().cloned())
            .collect(),
    }
}

/// Whether the arguments ask for the MuJoCo backend (`--backend mujoco` or `--backend=mujoco`).
fn wants_mujoco(args: &[String]) -> bool {
    args.iter().any(|a| a == "--backend=mujoco")
        || args.windows(2).any(|w| w[0] == "--backend" && w[1] == "mujoco")
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

/// Whether the binary needs MuJoCo for the (forwarded) arguments: `--backend mujoco`, or an
/// `eval` without `--backend` of a checkpoint that trained on MuJoCo.
///
/// # Errors
/// As [`checkpoint_backend`].
fn needs_mujoco(forwarded: &[String]) -> Result<bool> {
    if wants_mujoco(forwarded) {
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

/// Runs `cargo xtask rl`. With `--backend mujoco`, or `eval` of a MuJoCo checkpoint, it
/// provisions MuJoCo (`setup --mujoco`) and builds the binary with the `rl` crate's feature
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
    }

    #[test]
    fn mujoco_is_detected_in_both_spellings() {
        assert!(wants_mujoco(&s(&["train", "--backend", "mujoco"])));
        assert!(wants_mujoco(&s(&["train", "--backend=mujoco"])));
        assert!(!wants_mujoco(&s(&["train", "--backend", "rapier"])));
        assert!(!wants_mujoco(&s(&["train", "--env", "mujoco"])));
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
        assert!(!needs_mujoco(&s(&["train", "--checkpoint", "nowhere"])).unwrap());
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
