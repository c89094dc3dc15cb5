//! `cargo xtask bench envs`: environment steps per second of each locomotion task on each backend of
//! the `envs` crate, side by side in one run with Python Gymnasium's MuJoCo environments.
//!
//! Runs `envs/examples/bench_envs.rs` (the rapier3d backend, plus MuJoCo when built with `--mujoco`,
//! i.e. the `envs` feature `mujoco`) and `bench/envs_gymnasium.py` in the torch venv, one program at a
//! time, with the same protocol (see either program). The venv gets the pinned `gymnasium` and
//! `mujoco` from PyPI on first use. The raw JSON lines go to `target/bench/envs.jsonl`, the table to
//! `target/bench/envs.md` (and stdout).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use serde::Deserialize;

use crate::cache::{cache_dir, project_root};
use crate::cargo::{cargo, run_checked, stdout_of};
use crate::setup;

/// The envs example that times our backends.
const EXAMPLE: &str = "bench_envs";
/// The Gymnasium baseline script, relative to the repository root.
const GYM_SCRIPT: &str = "bench/envs_gymnasium.py";
/// Output folder, relative to the repository root.
const OUT_DIR: &str = "target/bench";
/// Python packages of the baseline, pinned as the MuJoCo backend pins them.
const GYM_PACKAGES: [&str; 2] = ["gymnasium==1.4.0", "mujoco==3.17.0"];

/// Arguments of `cargo xtask bench envs`.
#[derive(Args, Debug)]
pub struct EnvsArgs {
    /// Timed steps per task and backend (after 100 untimed warm-up steps).
    #[arg(long, default_value_t = 3000)]
    pub steps: u64,
    /// Comma-separated Gymnasium ids (default: all seven locomotion tasks).
    #[arg(long)]
    pub tasks: Option<String>,
    /// Also time the MuJoCo backend: builds `envs` with its `mujoco` feature.
    #[arg(long)]
    pub mujoco: bool,
    /// 200 steps per task: checks that everything runs, timings are rough.
    #[arg(long)]
    pub quick: bool,
}

/// One measurement, as both programs print it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EnvRecord {
    /// Gymnasium id.
    pub task: String,
    /// `rapier`, `mujoco` or `gymnasium`.
    pub backend: String,
    /// Timed steps.
    pub steps: u64,
    /// Their wall time.
    pub seconds: f64,
    /// `steps / seconds`.
    pub steps_per_s: f64,
}

/// Parses the JSON lines of a program's stdout; other lines are echoed to stderr.
fn parse(stdout: &str, source: &str) -> Result<Vec<(String, EnvRecord)>> {
    let mut out = Vec::new();
    for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !line.starts_with('{') {
            eprintln!("{source}: {line}");
            continue;
        }
        let record = serde_json::from_str(line)
            .with_context(|| format!("{source} printed an unexpected line: {line}"))?;
        out.push((line.to_string(), record));
    }
    Ok(out)
}

/// Column order of the table: ours first, the baseline last.
const BACKENDS: [&str; 3] = ["rapier", "mujoco", "gymnasium"];

/// The markdown table: one row per task, steps/s per backend, and the two ratios of the goals
/// (`mujoco / gymnasium` ≥ 2 and `rapier / mujoco` ≥ 0.5; without a MuJoCo column, `rapier / gymnasium`).
pub fn render_markdown(records: &[EnvRecord], title: &str) -> String {
    let mut by_task: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for r in records {
        if !order.contains(&r.task.as_str()) {
            order.push(&r.task);
        }
        by_task
            .entry(&r.task)
            .or_default()
            .insert(&r.backend, r.steps_per_s);
    }
    let present: Vec<&str> = BACKENDS
        .into_iter()
        .filter(|b| records.iter().any(|r| r.backend == *b))
        .collect();
    let has = |b: &str| present.contains(&b);
    let reference = if has("mujoco") { "mujoco" } else { "gymnasium" };
    let mut md = format!("## {title}\n\nEnvironment steps per second (higher is better).\n\n| task |");
    for b in &present {
        md += &format!(" {b} |");
    }
    let mut ratios = Vec::new();
    if has("mujoco") && has("gymnasium") {
        ratios.push(("mujoco", "gymnasium"));
    }
    if has("rapier") && has(reference) {
        ratios.push(("rapier", reference));
    }
    for (a, b) in &ratios {
        md += &format!(" {a} / {b} |");
    }
    md += "\n|---|";
    md += &"---:|".repeat(present.len() + ratios.len());
    md += "\n";
    for task in order {
        let row = &by_task[task];
        md += &format!("| {task} |");
        for b in &present {
            md += &match row.get(b) {
                Some(v) => format!(" {v:.0} |"),
                None => " – |".to_string(),
            };
        }
        for (a, b) in &ratios {
            md += &match (row.get(a), row.get(b)) {
                (Some(x), Some(y)) if *y > 0.0 => format!(" {:.2} |", x / y),
                _ => " – |".to_string(),
            };
        }
        md += "\n";
    }
    md
}

/// Installs the pinned Gymnasium and MuJoCo into the venv unless they are already there.
fn ensure_gymnasium(python: &Path) -> Result<()> {
    let probe = "import gymnasium, mujoco; print(gymnasium.__version__, mujoco.__version__)";
    let want = "1.4.0 3.17.0";
    let have = Command::new(python)
        .args(["-c", probe])
        .stderr(Stdio::null())
        .output();
    if have.is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == want) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing {} into the venv (once)",
        GYM_PACKAGES.join(" ")
    );
    run_checked(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--progress-bar",
                "off",
                "--disable-pip-version-check",
            ])
            .args(GYM_PACKAGES),
    )
    .with_context(|| {
        format!(
            "pip could not install {}: check network access to PyPI",
            GYM_PACKAGES.join(" ")
        )
    })
}

/// Runs `cargo xtask bench envs`.
pub fn run(args: &EnvsArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();
    let steps = if args.quick { 200 } else { args.steps };
    ensure!(steps > 0, "--steps must be positive");
    let steps_arg = steps.to_string();
    let shared: Vec<&str> = match &args.tasks {
        Some(t) => vec!["--steps", &steps_arg, "--tasks", t],
        None => vec!["--steps", &steps_arg],
    };

    // Build first, so that compiling never overlaps a timed run; then one program at a time.
    let mut build = vec!["build", "--release", "-p", "envs", "--example", EXAMPLE];
    let mut run = vec!["run", "--quiet", "--release", "-p", "envs", "--example", EXAMPLE];
    // MuJoCo: provisioned on demand (`setup --mujoco`), its link dir, library path and assets exported.
    let mut mujoco_env = Vec::new();
    if args.mujoco {
        build.extend(["--features", "mujoco"]);
        run.extend(["--features", "mujoco"]);
        mujoco_env = setup::mujoco_cargo_env(&toolchain)?;
    }
    run.push("--");
    run_checked(cargo(&toolchain, &build)?.envs(mujoco_env.iter().cloned()))?;
    let ours = stdout_of(cargo(&toolchain, &run)?.envs(mujoco_env).args(&shared))?;

    ensure_gymnasium(&torch.python)?;
    let mut gym = Command::new(&torch.python);
    gym.arg(GYM_SCRIPT)
        .args(&shared)
        .current_dir(root)
        .stdin(Stdio::null());
    let theirs = stdout_of(&mut gym)?;

    let mut lines = parse(&ours, EXAMPLE)?;
    lines.extend(parse(&theirs, GYM_SCRIPT)?);
    if lines.is_empty() {
        bail!("the benchmarks printed no JSON lines");
    }
    let records: Vec<EnvRecord> = lines.iter().map(|(_, r)| r.clone()).collect();
    let title = format!(
        "Environment steps/s: envs backends vs. Gymnasium {} ({} steps per task{})",
        GYM_PACKAGES.join(", "),
        steps,
        if args.quick { ", --quick: rough" } else { "" }
    );
    let markdown = render_markdown(&records, &title);
    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let jsonl: String = lines.iter().map(|(l, _)| format!("{l}\n")).collect();
    fs::write(out_dir.join("envs.jsonl"), jsonl).context("cannot write envs.jsonl")?;
    fs::write(out_dir.join("envs.md"), &markdown).context("cannot write envs.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/envs.md and {OUT_DIR}/envs.jsonl");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(task: &str, backend: &str, sps: f64) -> EnvRecord {
        EnvRecord {
            task: task.into(),
            backend: backend.into(),
            steps: 100,
            seconds: 100.0 / sps,
            steps_per_s: sps,
        }
    }

    #[test]
    fn table_has_a_column_per_backend_and_the_goal_ratios() {
        let md = render_markdown(
            &[
                rec("Ant-v5", "rapier", 1000.0),
                rec("Ant-v5", "gymnasium", 2000.0),
                rec("Hopper-v5", "rapier", 3000.0),
            ],
            "t",
        );
        assert!(
            md.contains("| task | rapier | gymnasium | rapier / gymnasium |"),
            "{md}"
        );
        assert!(md.contains("| Ant-v5 | 1000 | 2000 | 0.50 |"), "{md}");
        assert!(md.contains("| Hopper-v5 | 3000 | – | – |"), "{md}");
        let md = render_markdown(
            &[
                rec("Ant-v5", "rapier", 1000.0),
                rec("Ant-v5", "mujoco", 8000.0),
                rec("Ant-v5", "gymnasium", 2000.0),
            ],
            "t",
        );
        assert!(
            md.contains("| task | rapier | mujoco | gymnasium | mujoco / gymnasium | rapier / mujoco |"),
            "{md}"
        );
        assert!(
            md.contains("| Ant-v5 | 1000 | 8000 | 2000 | 4.00 | 0.12 |"),
            "{md}"
        );
    }

    #[test]
    fn parse_skips_log_lines_and_rejects_bad_json() {
        let out =
            "warming up\n{\"task\": \"Ant-v5\", \"backend\": \"rapier\", \"steps\": 10, \"seconds\": 0.5, \
                   \"steps_per_s\": 20.0}\n";
        let lines = parse(out, "x").unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!((lines[0].1.steps, lines[0].1.seconds), (10, 0.5));
        assert_eq!(
            (lines[0].1.task.as_str(), lines[0].1.steps_per_s),
            ("Ant-v5", 20.0)
        );
        assert!(parse("{\"task\": 1}", "x").is_err());
    }
}
