//! `cargo xtask suite`: the paper's experiments at one scale, and one report that sets our
//! numbers beside the paper's.
//!
//! ```text
//! cargo xtask suite --preset smoke                        # every experiment on tiny data (minutes)
//! cargo xtask suite --preset cpu --only heterogeneity,rl  # what a 2-core CPU can say (hours)
//! cargo xtask suite --preset gpu --dry-run                # the plan and its estimated time here
//! ```
//!
//! The plan ([`catalogue`]) holds one experiment per paper table or figure, each a list of
//! ordinary `cargo xtask <domain>` commands writing ordinary run folders under
//! `<out>/runs/`. They run in this process one after the other; a command whose run folders
//! have all ended (finished, or stopped on divergence) is skipped, the domains' experiment path
//! resumes interrupted runs itself, and single-run commands (`rl`) get `--resume` when their
//! folder exists unfinished: rerunning the suite continues where it stopped. A failing
//! experiment is reported and the others still run; the exit code is non-zero at the end.
//!
//! Then `<out>/index.md` and `<out>/index.html` ([`results`], [`page`]): the verdicts, the
//! demo's pictures (when `runs/demo-*` exists), and per experiment the paper's setting, ours,
//! the commands, paper vs ours (mean ± std over seeds, read from the summaries), the curves
//! and the verdict per claim ([`verdict`]).
//!
//! `--dry-run` prints the plan and, per cell, an estimate of its training time on this machine:
//! the cell's command for one seed of one group at two short lengths (under `<out>/probe/`,
//! reused on the next dry run), timed by their `summary.json`, fit as a fixed plus a per-unit
//! cost ([`catalogue::Probe::estimate`]), extrapolated to a full run and multiplied by the
//! cell's number of runs. Builds and data downloads are not counted.

pub mod catalogue;
pub mod page;
pub mod results;
pub mod verdict;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser};

use crate::cache::project_root;
use crate::experiment::{ended, Ended};
use catalogue::{Action, Experiment, Job, Scale};
use results::Outcome;

/// Arguments of `cargo xtask suite`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct SuiteArgs {
    /// The scale: smoke (minutes, tiny data), cpu (hours on a 2-core CPU), gpu (the paper's
    /// protocols on CUDA).
    #[arg(long, value_enum, default_value_t = Scale::Smoke)]
    pub preset: Scale,
    /// Only these experiments (comma-separated): least-squares, heterogeneity, vision, gan,
    /// llm-finetune, llm-pretrain, memory, rl, lstm. The report still shows all of them, with
    /// what their folders hold.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Seeds per group [default: smoke 1, cpu 3, gpu 5].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub seeds: Option<u64>,
    /// The report folder (runs go to OUT/runs) [default: report/PRESET].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the plan and the estimated time of each cell on this machine (from two short probe
    /// runs each); run nothing else.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the report from the run folders as they are; run nothing.
    #[arg(long, conflicts_with = "dry_run")]
    pub report_only: bool,
}

/// What to do with a job, from its run folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Every run folder has ended: nothing to do.
    Skip,
    /// Run it; `resume` when `--resume` must be added (its folder exists unfinished).
    Run {
        /// Add `--resume`.
        resume: bool,
    },
}

/// Decides a job from its run folders' `summary.json` and `metrics.csv` (a job without run
/// folders always runs).
pub fn decide(job: &Job) -> Decision {
    if !job.runs.is_empty() && job.runs.iter().all(|r| ended(r) != Ended::No) {
        return Decision::Skip;
    }
    let started = job.runs.len() == 1 && job.runs[0].join("metrics.csv").exists();
    Decision::Run {
        resume: job.resume_flag && started,
    }
}

/// The arguments `job` runs with after `decision` (`--resume` appended when asked).
fn job_args(args: &[String], decision: Decision) -> Vec<String> {
    let mut all = args.to_vec();
    if decision == (Decision::Run { resume: true }) {
        all.push("--resume".into());
    }
    all
}

/// Runs `job` in this process unless it is done; says what it did.
fn execute(job: &Job) -> Result<()> {
    let decision = decide(job);
    if decision == Decision::Skip {
        eprintln!("xtask suite: skipped (every run ended): {}", job.action.command());
        return Ok(());
    }
    match &job.action {
        Action::Xtask(args) => {
            let args = job_args(args, decision);
            eprintln!("xtask suite: $ cargo xtask {}", args.join(" "));
            let cli = crate::Cli::try_parse_from(std::iter::once("cargo xtask".to_string()).chain(args))
                .map_err(|e| anyhow::anyhow!("the suite's plan has a bad command: {e}"))?;
            crate::run(cli.command)
        }
        Action::LeastSquares(dir) => {
            let toolchain = crate::setup::ensure_toolchain()?;
            // Debug: tiny problems, and `cargo xtask test` (which runs this) has built it so.
            let (table, _) = crate::demo::least_squares_study(&toolchain, crate::cargo::Profile::Debug, dir)?;
            eprint!("{table}");
            Ok(())
        }
    }
}

/// The experiments `--only` names (every one when empty).
///
/// # Errors
/// An unknown key, naming the known ones.
fn selected(only: &[String]) -> Result<Vec<&'static str>> {
    for key in only {
        if !catalogue::KEYS.contains(&key.as_str()) {
            bail!(
                "--only: unknown experiment `{key}`; known: {}",
                catalogue::KEYS.join(", ")
            );
        }
    }
    Ok(catalogue::KEYS
        .iter()
        .copied()
        .filter(|k| only.is_empty() || only.iter().any(|o| o == k))
        .collect())
}

/// Runs `cargo xtask suite`.
pub fn run(args: &SuiteArgs) -> Result<()> {
    let root = project_root();
    let out = match &args.out {
        Some(dir) => std::path::absolute(dir).with_context(|| format!("--out {}", dir.display()))?,
        None => root.join("report").join(args.preset.name()),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let plan = catalogue::plan(args.preset, args.seeds, visible_gpus(), &out);
    let chosen = selected(&args.only)?;
    if args.dry_run {
        return dry_run(&plan, &chosen);
    }
    let mut done: Vec<(Experiment, Outcome)> = Vec::new();
    for e in plan {
        let outcome = match (chosen.contains(&e.key), &e.unavailable, args.report_only) {
            (false, _, _) | (_, _, true) => Outcome::NotAsked,
            (true, Some(reason), false) => {
                eprintln!("xtask suite: {}: not available ({reason})", e.key);
                Outcome::NotAsked
            }
            (true, None, false) => {
                eprintln!("xtask suite: == {}", e.title);
                let failure = e
                    .cells
                    .iter()
                    .flat_map(|c| c.jobs.iter())
                    .find_map(|job| execute(job).err());
                match failure {
                    None => Outcome::Ran,
                    Some(err) => {
                        eprintln!("xtask suite: {} failed: {err:#}", e.key);
                        Outcome::Failed(format!("{err:#}"))
                    }
                }
            }
        };
        done.push((e, outcome));
    }
    let demo = copy_demo_pictures(root, &out)?;
    let command = reproduce_command(args);
    let blocks = results::blocks(args.preset, &out, &done, &demo, &command)?;
    let md = out.join("index.md");
    let html = out.join("index.html");
    std::fs::write(&md, page::markdown(&blocks)).with_context(|| format!("cannot write {}", md.display()))?;
    let title = format!("pisa-rs suite: {} preset", args.preset.name());
    std::fs::write(&html, page::html(&title, &blocks))
        .with_context(|| format!("cannot write {}", html.display()))?;
    println!("Report: {}\n        {}", md.display(), html.display());
    let failed: Vec<&str> = done
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .map(|(e, _)| e.key)
        .collect();
    if !failed.is_empty() {
        bail!(
            "these experiments failed (see the report and the log above): {}",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The command that reproduces this report.
fn reproduce_command(args: &SuiteArgs) -> String {
    let mut c = format!("cargo xtask suite --preset {}", args.preset.name());
    if !args.only.is_empty() {
        c += &format!(" --only {}", args.only.join(","));
    }
    if let Some(n) = args.seeds {
        c += &format!(" --seeds {n}");
    }
    if let Some(dir) = &args.out {
        c += &format!(" --out {}", dir.display());
    }
    c
}

/// Copies the last demo's pictures (`runs/demo-*/plots/*.png`, the ring toy's scatter) into
/// `<out>/demo/`; returns (relative path, caption) of each.
fn copy_demo_pictures(root: &Path, out: &Path) -> Result<Vec<(String, String)>> {
    let runs = root.join("runs");
    let mut sources: Vec<(PathBuf, String)> = Vec::new();
    for (folder, what) in [
        ("demo-least-squares", "least squares, F − F* per iteration"),
        ("demo-mnist", "MNIST CNN, SISA vs AdamW vs Adam"),
    ] {
        for png in results::plots(&runs.join(folder)) {
            let stem = png.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            sources.push((png, format!("{what}: {stem}")));
        }
    }
    if let Ok(entries) = std::fs::read_dir(runs.join("demo-gan-ring")) {
        let mut rings: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("plots/ring.png"))
            .collect();
        rings.sort();
        for png in rings.into_iter().filter(|p| p.exists()) {
            let optimizer = png
                .parent()
                .and_then(Path::parent)
                .and_then(Path::file_name)
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            sources.push((
                png,
                format!("WGAN-GP on 8 Gaussians ({optimizer}): real blue, generated red"),
            ));
        }
    }
    let dir = out.join("demo");
    let mut shown = Vec::new();
    for (k, (png, caption)) in sources.into_iter().enumerate() {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let name = format!("{k:02}-{}", png.file_name().unwrap_or_default().to_string_lossy());
        std::fs::copy(&png, dir.join(&name)).with_context(|| format!("cannot copy {}", png.display()))?;
        shown.push((format!("demo/{name}"), caption));
    }
    Ok(shown)
}

/// `--dry-run`: the plan, and per cell the estimate from its probes.
fn dry_run(plan: &[Experiment], chosen: &[&str]) -> Result<()> {
    let mut total = 0.0;
    for e in plan.iter().filter(|e| chosen.contains(&e.key)) {
        println!("== {} [{}]", e.title, e.key);
        if let Some(reason) = &e.unavailable {
            println!("   not available: {reason}\n");
            continue;
        }
        let runs: usize = e.cells.iter().map(|c| c.run_names().len()).sum();
        let jobs: Vec<&Job> = e.cells.iter().flat_map(|c| c.jobs.iter()).collect();
        let pending = jobs.iter().filter(|j| decide(j) != Decision::Skip).count();
        println!("   {}", e.our_setting);
        println!(
            "   {runs} runs in {} cells; {pending} of {} commands still to run:",
            e.cells.len(),
            jobs.len()
        );
        for job in &jobs {
            println!("     {}", job.action.command());
        }
        if jobs.is_empty() {
            println!("   nothing of its own to run\n");
            continue;
        }
        for cell in &e.cells {
            let runs = cell.run_names().len();
            let estimate = match &cell.probe {
                None => "seconds (not probed)".to_string(),
                Some(probe) => {
                    let mut seconds = [f64::NAN; 2];
                    for (k, job) in probe.jobs.iter().enumerate() {
                        execute(job).with_context(|| format!("the {} probe of {}", e.key, cell.label))?;
                        seconds[k] = probe_seconds(&job.runs[0]).unwrap_or(f64::NAN);
                    }
                    match probe.estimate(seconds) {
                        Some(one) => {
                            total += one * runs as f64;
                            format!(
                                "~{} ({runs} runs × ~{}; probes of {} and {}: {:.1} s and {:.1} s)",
                                human(one * runs as f64),
                                human(one),
                                probe.lengths[0],
                                probe.lengths[1],
                                seconds[0],
                                seconds[1]
                            )
                        }
                        None => "unknown (a probe wrote no wall_time_s)".to_string(),
                    }
                }
            };
            println!("   {}: {estimate}", cell.label);
        }
        println!();
    }
    println!(
        "Total estimated training time (builds and downloads not counted): ~{}",
        human(total)
    );
    if !crate::cargo::succeeds("nvidia-smi", &["-L"]) {
        println!("(no GPU visible: probes ran on the CPU; the gpu preset's runs use --device cuda)");
    }
    Ok(())
}

/// The GPUs `nvidia-smi -L` lists (0 without a driver).
fn visible_gpus() -> usize {
    std::process::Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or(0, |o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.starts_with("GPU "))
                .count()
        })
}

/// The probe's `wall_time_s`.
fn probe_seconds(run: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(run.join("summary.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("wall_time_s")?
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// Seconds as `42 s`, `12 min` or `3.4 h`.
fn human(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(runs: &[&Path], resume_flag: bool) -> Job {
        Job {
            action: Action::Xtask(vec!["rl".into()]),
            runs: runs.iter().map(|p| p.to_path_buf()).collect(),
            resume_flag,
        }
    }

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn finished_jobs_are_skipped_and_interrupted_ones_resumed() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("adam-seed0"), tmp.path().join("sisa-seed0"));
        // Nothing yet: run, no --resume.
        assert_eq!(decide(&job(&[&a], true)), Decision::Run { resume: false });
        // Started, interrupted (metrics but no final summary): resume when the job needs the flag.
        write(&a, "metrics.csv", "step\n1\n");
        assert_eq!(decide(&job(&[&a], true)), Decision::Run { resume: true });
        assert_eq!(decide(&job(&[&a], false)), Decision::Run { resume: false });
        write(&a, "summary.json", r#"{"status": "interrupted"}"#);
        assert_eq!(decide(&job(&[&a], true)), Decision::Run { resume: true });
        // Finished or diverged: skipped; a job with several folders runs until all have ended.
        write(&a, "summary.json", r#"{"status": "finished"}"#);
        assert_eq!(decide(&job(&[&a], true)), Decision::Skip);
        assert_eq!(decide(&job(&[&a, &b], false)), Decision::Run { resume: false });
        write(&b, "summary.json", r#"{"status": "stopped: diverged"}"#);
        assert_eq!(decide(&job(&[&a, &b], false)), Decision::Skip);
        // A step without run folders of its own (the RL comparison) runs every time.
        assert_eq!(decide(&job(&[], false)), Decision::Run { resume: false });
        assert_eq!(
            job_args(&["rl".into()], Decision::Run { resume: true }),
            ["rl", "--resume"]
        );
    }

    #[test]
    fn every_planned_command_parses_as_an_xtask_command() {
        for scale in [Scale::Smoke, Scale::Cpu, Scale::Gpu] {
            for e in catalogue::plan(scale, None, 2, Path::new("/r")) {
                let probes = e
                    .cells
                    .iter()
                    .flat_map(|c| c.probe.iter().flat_map(|p| p.jobs.iter()));
                for job in e.cells.iter().flat_map(|c| c.jobs.iter()).chain(probes) {
                    if let Action::Xtask(args) = &job.action {
                        let argv = std::iter::once("cargo xtask".to_string()).chain(args.iter().cloned());
                        if let Err(err) = crate::Cli::try_parse_from(argv) {
                            panic!("{}: {err}", job.action.command());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn only_names_known_experiments() {
        assert_eq!(selected(&[]).unwrap().len(), catalogue::KEYS.len());
        assert_eq!(selected(&["rl".into(), "gan".into()]).unwrap(), ["gan", "rl"]);
        let e = selected(&["fed".into()]).unwrap_err().to_string();
        assert!(e.contains("`fed`") && e.contains("heterogeneity"), "{e}");
        assert_eq!(human(42.0), "42 s");
        assert_eq!(human(600.0), "10 min");
        assert_eq!(human(36_000.0), "10.0 h");
    }
}
