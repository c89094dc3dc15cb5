//! `cargo xtask demo`: run pisa-core's least-squares example once per config in
//! `configs/least_squares/` and print F(w^k) side by side.
//!
//! The example prints one JSON object `{"objective": [...], "w": [...]}` on stdout, where
//! `objective` holds F(w^k) per iteration; see [`objective_at`] for the indexing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::cache::project_root;
use crate::cargo::{cargo, run_checked, stdout_of};
use crate::setup;

/// The pisa-core example that solves one least-squares problem.
const EXAMPLE: &str = "least_squares";
/// The problem file, relative to the repository root; may hold `"f_star"`.
const PROBLEM: &str = "pisa-core/examples/data/t1.json";
/// Folder of the optimizer configs (`*.toml`), relative to the repository root.
const CONFIG_DIR: &str = "configs/least_squares";
/// Iterations per run (K).
const ITERS: usize = 100;
/// The iterations k whose objective F(w^k) is shown.
const CHECKPOINTS: [usize; 4] = [1, 10, 50, 100];

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
    let configs = config_files(&root.join(CONFIG_DIR))?;
    let f_star = read_f_star(&root.join(PROBLEM))?;
    run_checked(&mut cargo(
        &toolchain,
        &["build", "--release", "-p", "pisa-core", "--example", EXAMPLE],
    )?)?;

    let mut runs = Vec::new();
    for config in &configs {
        let config_arg = config
            .strip_prefix(root)
            .unwrap_or(config)
            .to_string_lossy()
            .into_owned();
        let iters = ITERS.to_string();
        let mut cmd = cargo(
            &toolchain,
            &[
                "run",
                "--quiet",
                "--release",
                "-p",
                "pisa-core",
                "--example",
                EXAMPLE,
                "--",
            ],
        )?;
        cmd.args(["--problem", PROBLEM, "--config", &config_arg, "--iters", &iters]);
        let stdout = stdout_of(&mut cmd)?;
        let output = parse_run_output(&stdout).with_context(|| format!("run with {config_arg}"))?;
        let name = config
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        runs.push((name, output));
    }
    print!("{}", render_table(&runs, f_star));
    Ok(())
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
    fn table_shows_checkpoints_and_gap_to_f_star() {
        let objective: Vec<f64> = (1..=100).map(|k| 1.0 + 1.0 / f64::from(k)).collect();
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
                "1.020000e0",
                "1.010000e0",
                "1.000000e-2"
            ]
        );
    }
}
