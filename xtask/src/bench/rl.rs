//! `cargo xtask bench rl`: wall-clock and environment steps until PPO solves CartPole-v1 (mean
//! return of the last 100 training episodes ≥ 475) and Pendulum-v1 (≥ −200), pisa-rs next to
//! Stable-Baselines3, with rl-zoo's tuned hyperparameters on both sides (see `bench/sb3_ppo.py`).
//!
//! Installs `stable-baselines3==2.9.2` into the provisioned venv on first use (pip, keeping the
//! pinned torch). Runs one program at a time, seeds 0..n, pisa-rs first; writes the raw JSON lines
//! to `target/bench/rl.jsonl` and the table to `target/bench/rl.md` (and stdout).

use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Deserialize;

use crate::cache::{cache_dir, project_root};
use crate::cargo::{release_program, run_checked, stdout_of, Target};
use crate::setup::{self, TorchInstall};

/// The pinned baseline.
const SB3: &str = "stable-baselines3==2.9.2";
/// The baseline script, relative to the repository root.
const SB3_SCRIPT: &str = "bench/sb3_ppo.py";
/// Output folder, relative to the repository root.
const OUT_DIR: &str = "target/bench";
/// (task, threshold, step budget).
const TASKS: [(&str, f64, usize); 2] = [("CartPole-v1", 475.0, 150_000), ("Pendulum-v1", -200.0, 200_000)];

/// Arguments of `cargo xtask bench rl`.
#[derive(Args, Debug)]
pub struct RlBenchArgs {
    /// Seeds 0..n per task and implementation.
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// CartPole only, one seed.
    #[arg(long)]
    pub quick: bool,
}

/// One program's result (both print this schema).
#[derive(Debug, Clone, Deserialize)]
struct Solve {
    #[serde(rename = "impl")]
    implementation: String,
    env: String,
    seed: u64,
    solved: bool,
    steps: u64,
    wall_s: f64,
}

fn ensure_sb3(torch: &TorchInstall) -> Result<()> {
    let probe = Command::new(&torch.python)
        .args([
            "-c",
            "import stable_baselines3 as s; assert s.__version__ == '2.9.2'",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot start the venv's python")?;
    if probe.success() {
        return Ok(());
    }
    eprintln!("xtask: installing {SB3} into the venv (once)");
    let torch_pin = format!(
        "torch=={}",
        torch.torch_version.split('+').next().unwrap_or_default()
    );
    run_checked(Command::new(&torch.python).args(["-m", "pip", "install", "--quiet", SB3, &torch_pin]))
}

fn parse(stdout: &str, source: &str) -> Result<Solve> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("{source} printed no JSON line"))?;
    serde_json::from_str(line).with_context(|| format!("{source}: not a result line: {line}"))
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt())
}

fn table(results: &[Solve]) -> String {
    let mut md = String::from(
        "| task | implementation | solved | env steps to solve | wall-clock to solve (s) | steps/s |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut ratios = String::new();
    for (task, _, _) in TASKS {
        let mut walls = Vec::new();
        for imp in ["pisa-rs", "stable-baselines3"] {
            let rs: Vec<&Solve> = results
                .iter()
                .filter(|r| r.env == task && r.implementation == imp)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let ok: Vec<&&Solve> = rs.iter().filter(|r| r.solved).collect();
            let (sm, ss) = mean_std(&ok.iter().map(|r| r.steps as f64).collect::<Vec<_>>());
            let (wm, ws) = mean_std(&ok.iter().map(|r| r.wall_s).collect::<Vec<_>>());
            let rate =
                rs.iter().map(|r| r.steps as f64).sum::<f64>() / rs.iter().map(|r| r.wall_s).sum::<f64>();
            let _ = writeln!(
                md,
                "| {task} | {imp} | {}/{} | {sm:.0} ± {ss:.0} | {wm:.1} ± {ws:.1} | {rate:.0} |",
                ok.len(),
                rs.len()
            );
            walls.push((wm, sm));
        }
        if let [(w_ours, s_ours), (w_sb3, s_sb3)] = walls[..] {
            let _ = writeln!(
                ratios,
                "- {task}: Stable-Baselines3 / pisa-rs wall-clock to solve = {:.2}×, env steps = {:.2}×",
                w_sb3 / w_ours,
                s_sb3 / s_ours
            );
        }
    }
    md + "\n" + &ratios
}

/// Runs `cargo xtask bench rl`.
pub fn run(args: &RlBenchArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    ensure_sb3(&torch)?;
    let root = project_root();
    let tasks: &[(&str, f64, usize)] = if args.quick { &TASKS[..1] } else { &TASKS };
    let seeds = if args.quick { 1 } else { args.seeds.max(1) };
    // Build first, so that compiling never overlaps a timed run.
    let ours = release_program(&toolchain, "rl", Target::Bin("rl"))?;
    let ours_program = ours.get_program().to_owned();
    let ours_args: Vec<_> = ours.get_args().map(|a| a.to_owned()).collect();
    let mut results = Vec::new();
    let mut lines = String::new();
    for &(task, threshold, budget) in tasks {
        for seed in 0..seeds {
            let shared = [
                "--env".to_string(),
                task.to_string(),
                format!("--threshold={threshold}"),
                "--max-steps".into(),
                budget.to_string(),
                "--seed".into(),
                seed.to_string(),
            ];
            let mut cmd = Command::new(&ours_program);
            cmd.args(&ours_args)
                .arg("solve")
                .args(&shared)
                .current_dir(root)
                .stdin(Stdio::null());
            toolchain.apply(&mut cmd)?;
            let out = stdout_of(&mut cmd)?;
            results.push(parse(&out, "rl solve")?);
            // The venv's own torch, without LIBTORCH's library path.
            let mut sb3 = Command::new(&torch.python);
            sb3.arg(SB3_SCRIPT)
                .args(&shared)
                .current_dir(root)
                .stdin(Stdio::null());
            let out_sb3 = stdout_of(&mut sb3)?;
            results.push(parse(&out_sb3, SB3_SCRIPT)?);
            for r in &results[results.len() - 2..] {
                eprintln!(
                    "xtask: {} {} seed {}: solved {} at {} steps in {:.1} s",
                    r.implementation, r.env, r.seed, r.solved, r.steps, r.wall_s
                );
            }
            for o in [&out, &out_sb3] {
                if let Some(l) = o.lines().rev().find(|l| l.starts_with('{')) {
                    lines.push_str(l);
                    lines.push('\n');
                }
            }
        }
    }
    if results.is_empty() {
        bail!("no results");
    }
    let markdown = format!(
        "# PPO until solved: pisa-rs vs. Stable-Baselines3 ({SB3}), CPU, 1 torch thread, seeds 0..{seeds}\n\n\
         Solved: mean return of the last 100 training episodes ≥ 475 (CartPole-v1) or ≥ −200 (Pendulum-v1), \
         checked after every rollout; rl-zoo's tuned hyperparameters on both sides (no gSDE for Pendulum). \
         Means over the solved seeds.\n\n{}",
        table(&results)
    );
    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    fs::write(out_dir.join("rl.jsonl"), lines).context("cannot write rl.jsonl")?;
    fs::write(out_dir.join("rl.md"), &markdown).context("cannot write rl.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/rl.md and {OUT_DIR}/rl.jsonl");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_reports_ratios() {
        let r = |imp: &str, steps, wall_s| Solve {
            implementation: imp.into(),
            env: "CartPole-v1".into(),
            seed: 0,
            solved: true,
            steps,
            wall_s,
        };
        let md = table(&[r("pisa-rs", 100, 10.0), r("stable-baselines3", 200, 40.0)]);
        assert!(
            md.contains("| CartPole-v1 | pisa-rs | 1/1 | 100 ± 0 | 10.0 ± 0.0 | 10 |"),
            "{md}"
        );
        assert!(
            md.contains("wall-clock to solve = 4.00×, env steps = 2.00×"),
            "{md}"
        );
    }
}
