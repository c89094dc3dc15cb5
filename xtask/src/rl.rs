//! `cargo xtask rl ...`: PPO / A2C training and evaluation through the `rl` crate's binary.
//!
//! ```text
//! cargo xtask rl --env humanoid                                  # PPO + SISA, rapier backend
//! cargo xtask rl --env halfcheetah --algo a2c --compare adam,sisa --seeds 0..5 --steps 1000000
//! cargo xtask rl eval --checkpoint runs/ppo-humanoid/sisa-seed0/checkpoints/step-0003000000 --gif ep.gif
//! ```
//!
//! Everything after `rl` goes to the binary: `eval ...` and `solve ...` as they are, anything
//! else as `train ...` (see `cargo run -p rl --bin rl -- train --help`). The binary is
//! built in release mode first; runs land in `runs/<algo>-<task>/` (watch them with
//! `tensorboard --logdir runs`).

use anyhow::Result;
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

/// Runs `cargo xtask rl`. With `--backend mujoco` it provisions MuJoCo (`setup --mujoco`) and
/// builds the binary with the `rl` crate's feature `mujoco`.
pub fn run(args: &RlArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let forwarded = forwarded(&args.args);
    let mut cmd = if wants_mujoco(&forwarded) {
        let env = setup::mujoco_cargo_env(&toolchain)?;
        let features = ["--release", "-p", "rl", "--features", "mujoco", "--bin", "rl"];
        let mut build = cargo(&toolchain, &[&["build"][..], &features[..]].concat())?;
        run_checked(build.envs(env.iter().cloned()))?;
        let mut run = cargo(
            &toolchain,
            &[&["run", "--quiet"][..], &features[..], &["--"][..]].concat(),
        )?;
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
}
