//! From run folders to the report: reads each cell's `summary.json` files, computes mean ± std
//! per group, judges the claims ([`super::verdict`]) and lays out the page ([`super::page`]).
//! Every number of "ours" comes from a summary, and each table names the folders and field it
//! was read from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use super::catalogue::{Cell, Experiment, Metric, Scale};
use super::page::Block;
use super::verdict::{judge, show, Stats, Verdict};

/// What one cell's run folders hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellNumbers {
    /// Per group: every run's value of the metric, then of the honest one (NaN when absent).
    pub values: BTreeMap<String, (Vec<f64>, Vec<f64>)>,
    /// The runs with a `summary.json`.
    pub found: Vec<String>,
    /// The planned runs without one.
    pub missing: Vec<String>,
}

impl CellNumbers {
    /// Mean ± std per group of the metric (`honest == false`) or the honest one.
    pub fn stats(&self, honest: bool) -> BTreeMap<String, Stats> {
        self.values
            .iter()
            .filter_map(|(g, (m, h))| Some((g.clone(), Stats::of(if honest { h } else { m })?)))
            .collect()
    }
}

/// A numeric field of a summary (`None` when absent, null or not a number).
fn field(summary: &Value, name: &str) -> Option<f64> {
    summary.get(name).and_then(Value::as_f64)
}

/// Reads the planned runs of `cell`: their `metric` and `honest` fields.
///
/// # Errors
/// When a summary exists but is not JSON.
pub fn read_cell(cell: &Cell, metric: &Metric, honest: Option<&Metric>) -> Result<CellNumbers> {
    let mut numbers = CellNumbers::default();
    for group in &cell.groups {
        let names: Vec<String> = match cell.seeds.is_empty() {
            true => vec![group.name.clone()],
            false => cell
                .seeds
                .iter()
                .map(|k| format!("{}-seed{k}", group.name))
                .collect(),
        };
        for name in names {
            let path = cell.dir.join(&name).join("summary.json");
            let Ok(text) = std::fs::read_to_string(&path) else {
                numbers.missing.push(name);
                continue;
            };
            let summary: Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
            let entry = numbers.values.entry(group.name.clone()).or_default();
            entry.0.push(field(&summary, metric.field).unwrap_or(f64::NAN));
            entry
                .1
                .push(honest.and_then(|h| field(&summary, h.field)).unwrap_or(f64::NAN));
            numbers.found.push(name);
        }
    }
    Ok(numbers)
}

/// `path` relative to `base` when under it (for links inside the report folder).
fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// The judged claims of one cell: (claim in words, verdict).
pub fn verdicts(experiment: &Experiment, cell: &Cell, numbers: &CellNumbers) -> Vec<(String, Verdict)> {
    let stats = numbers.stats(false);
    cell.claims
        .iter()
        .map(|claim| {
            let verdict = match &experiment.unjudged {
                Some(reason) => Verdict::NotRun(reason.clone()),
                None => judge(claim, experiment.metric.goal, &stats),
            };
            (claim.describe(experiment.metric.goal), verdict)
        })
        .collect()
}

/// A row of the verdicts table: experiment, cell, claim, verdict, why.
fn verdict_row(experiment: &str, cell: &str, claim: &str, verdict: &str, why: &str) -> Vec<String> {
    [experiment, cell, claim, verdict, why].map(String::from).to_vec()
}

/// What happened to an experiment in this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its jobs ran or were skipped as finished.
    Ran,
    /// Not asked for (`--only`): the report shows what its folders already hold.
    NotAsked,
    /// A job failed with this error.
    Failed(String),
}

/// The report's blocks: the summary of verdicts, the demo's pictures when `demo` holds them
/// (already copied into the report folder), then one section per experiment.
pub fn blocks(
    scale: Scale,
    out: &Path,
    plan: &[(Experiment, Outcome)],
    demo: &[(String, String)],
    command: &str,
) -> Result<Vec<Block>> {
    let mut summary_rows = Vec::new();
    let mut sections = Vec::new();
    for (e, outcome) in plan {
        sections.push(Block::Heading(2, e.title.to_string()));
        sections.push(Block::Para(format!("**Paper.** {}", e.paper_setting)));
        if let Some(reason) = &e.unavailable {
            sections.push(Block::Para(format!("**Here: not available.** {reason}.")));
            summary_rows.push(verdict_row(e.key, "–", "–", "not available", reason));
            continue;
        }
        sections.push(Block::Para(format!(
            "**Here ({} preset).** {}",
            scale.name(),
            e.our_setting
        )));
        if let Outcome::Failed(error) = outcome {
            sections.push(Block::Para(format!("**This invocation failed:** {error}")));
        }
        let commands: Vec<String> = e
            .cells
            .iter()
            .flat_map(|c| c.jobs.iter().map(|j| j.action.command()))
            .collect();
        if !commands.is_empty() {
            sections.push(Block::Code(commands.join("\n")));
        }
        for cell in &e.cells {
            let numbers = read_cell(cell, &e.metric, e.honest.as_ref())?;
            let (stats, honest) = (numbers.stats(false), numbers.stats(true));
            sections.push(Block::Heading(3, cell.label.clone()));
            let mut header = vec![
                "group".to_string(),
                "paper".to_string(),
                format!("{} (ours)", e.metric.title),
            ];
            if let Some(h) = &e.honest {
                header.push(format!("{} (ours)", h.title));
            }
            let mut rows = Vec::new();
            for g in &cell.groups {
                let mut row = vec![
                    g.name.clone(),
                    g.paper.clone().unwrap_or_else(|| "–".into()),
                    stats
                        .get(&g.name)
                        .map_or("–".into(), |s| show(s, e.metric.scale, e.metric.digits)),
                ];
                if let Some(h) = &e.honest {
                    row.push(
                        honest
                            .get(&g.name)
                            .map_or("–".into(), |s| show(s, h.scale, h.digits)),
                    );
                }
                rows.push(row);
            }
            sections.push(Block::Table(header, rows));
            let fields = match &e.honest {
                Some(h) => format!("`{}` and `{}`", e.metric.field, h.field),
                None => format!("`{}`", e.metric.field),
            };
            let mut source = format!(
                "Source: {fields} of `summary.json` in `{}/` ({}).",
                relative(&cell.dir, out),
                match numbers.found.is_empty() {
                    true => "no run yet".to_string(),
                    false => numbers.found.join(", "),
                }
            );
            if !numbers.missing.is_empty() {
                source += &format!(" Not run yet: {}.", numbers.missing.join(", "));
            }
            sections.push(Block::Para(source));
            // A cell that runs nothing of its own (memory) shows its numbers, not the plots
            // of the experiment it reads.
            for png in plots(&cell.dir).into_iter().filter(|_| !cell.jobs.is_empty()) {
                let caption = png.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                sections.push(Block::Image(relative(&png, out), caption));
            }
            let judged = verdicts(e, cell, &numbers);
            if !judged.is_empty() {
                let rows: Vec<Vec<String>> = judged
                    .iter()
                    .map(|(claim, v)| vec![claim.clone(), v.label().into(), v.reason().into()])
                    .collect();
                for (claim, v) in &judged {
                    summary_rows.push(verdict_row(e.key, &cell.label, claim, v.label(), v.reason()));
                }
                sections.push(Block::Table(
                    vec!["claim".into(), "verdict".into(), "why".into()],
                    rows,
                ));
            }
        }
        if let Some(reason) = e
            .unjudged
            .as_ref()
            .filter(|_| e.cells.iter().all(|c| c.claims.is_empty()))
        {
            sections.push(Block::Para(format!("No verdict: {reason}.")));
            summary_rows.push(verdict_row(e.key, "–", "–", "not judged", reason));
        }
    }
    let mut page = vec![
        Block::Heading(1, format!("pisa-rs against the paper: `{}` preset", scale.name())),
        Block::Para(format!(
            "Written by `{command}`. Every number in the \"ours\" columns is read from the \
             `summary.json` of the run folders under `runs/` named below each table; the paper's \
             numbers are typed from the paper and the authors' logs (`pisa-algorithm.md` §7). A \
             claim is **reproduced** when the mean is better in the claimed direction and, with \
             two or more seeds, the margin exceeds the larger standard deviation. Rerunning the \
             command skips finished runs and resumes interrupted ones."
        )),
        Block::Heading(2, "Verdicts".into()),
        Block::Table(
            vec![
                "experiment".into(),
                "cell".into(),
                "claim".into(),
                "verdict".into(),
                "why".into(),
            ],
            summary_rows,
        ),
    ];
    if !demo.is_empty() {
        page.push(Block::Heading(2, "The demo (`cargo xtask demo`)".into()));
        page.push(Block::Para(
            "The pictures of the last `cargo xtask demo` on this machine: least squares, the MNIST \
             CNN, and the WGAN-GP toy on 8 Gaussians."
                .into(),
        ));
        for (path, caption) in demo {
            page.push(Block::Image(path.clone(), caption.clone()));
        }
    }
    page.extend(sections);
    Ok(page)
}

/// The comparison PNGs of a cell folder (`plots/compare_*.png`, or every PNG of `plots/`
/// when there is none of those), sorted.
pub fn plots(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("plots")) else {
        return Vec::new();
    };
    let mut all: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    all.sort();
    let compare: Vec<PathBuf> = all
        .iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("compare_"))
        })
        .cloned()
        .collect();
    match compare.is_empty() {
        true => all,
        false => compare,
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalogue::{plan, Scale};
    use super::super::page::markdown;
    use super::*;

    /// Writes a fabricated run folder with `fields`.
    fn fabricate(dir: &Path, name: &str, fields: Value) {
        let run = dir.join(name);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("summary.json"), fields.to_string()).unwrap();
    }

    #[test]
    fn the_report_traces_every_number_to_a_run_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        let experiments = plan(Scale::Cpu, Some(2), 1, out);
        let het = experiments
            .iter()
            .find(|e| e.key == "heterogeneity")
            .unwrap()
            .clone();
        let dir = &het.cells[0].dir;
        let acc = [
            ("sisa", [0.95, 0.93]),
            ("fedavg", [0.52, 0.56]),
            ("fedprox", [0.50, 0.51]),
            ("scaffold", [0.40, 0.30]),
        ];
        for (g, values) in acc {
            for (k, v) in values.iter().enumerate() {
                let final_acc = v - 0.01;
                fabricate(
                    dir,
                    &format!("{g}-seed{k}"),
                    serde_json::json!({
                    "status": "finished", "best_test_accuracy": v, "test_accuracy": final_acc}),
                );
            }
        }
        // fednova: one run that diverged (no number), one missing.
        fabricate(
            dir,
            "fednova-seed0",
            serde_json::json!({"status": "stopped: diverged", "best_test_accuracy": null}),
        );
        let numbers = read_cell(&het.cells[0], &het.metric, het.honest.as_ref()).unwrap();
        assert_eq!(numbers.missing, ["fednova-seed1"]);
        assert!(!numbers.stats(false).contains_key("fednova"));
        let blocks = blocks(Scale::Cpu, out, &[(het, Outcome::Ran)], &[], "cargo xtask suite").unwrap();
        let md = markdown(&blocks);
        // sisa: 94.00 ± 1.41, fedavg 54.00 ± 2.83 (computed by hand from the values above).
        assert!(
            md.contains("| sisa | 94.97 | 94.00 ± 1.41 (n=2) | 93.00 ± 1.41 (n=2) |"),
            "{md}"
        );
        assert!(
            md.contains("| fedavg | ≤ 54.33 | 54.00 ± 2.83 (n=2) | 53.00 ± 2.83 (n=2) |"),
            "{md}"
        );
        assert!(md.contains("| fednova | ≤ 54.33 | – | – |"), "{md}");
        assert!(
            md.contains(
                "`best_test_accuracy` and `test_accuracy` of `summary.json` in `runs/fed-mnist-label1/`"
            ),
            "{md}"
        );
        assert!(md.contains("Not run yet: fednova-seed1."), "{md}");
        // fednova has no number, so "best among all five" cannot be judged yet.
        assert!(md.contains("| heterogeneity | MNIST #C=1 | sisa is best among sisa, fedavg, fedprox, scaffold, fednova (higher is better) | not run at this scale |"), "{md}");
        // Every "ours" number in the tables is one the summaries give.
        let allowed = [
            "94.00 ± 1.41",
            "93.00 ± 1.41",
            "54.00 ± 2.83",
            "53.00 ± 2.83",
            "50.50 ± 0.71",
            "49.50 ± 0.71",
            "35.00 ± 7.07",
            "34.00 ± 7.07",
        ];
        for line in md.lines().filter(|l| l.contains("(n=")) {
            for cell in line.split('|').filter(|c| c.contains("(n=")) {
                let number = cell.trim().split(" (n=").next().unwrap();
                assert!(allowed.contains(&number), "{number} in {line}");
            }
        }
    }

    #[test]
    fn smoke_claims_are_not_judged_but_least_squares_is() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        let experiments = plan(Scale::Smoke, None, 1, out);
        let ls = experiments[0].clone();
        for (name, gap) in [
            ("pisa-identity", 1e-15),
            ("pisa-hessian", 2e-16),
            ("sisa", 5e-9),
            ("sisa-gamma", 1e-12),
            ("sisa-small-sigma", 0.8),
            ("sisa-large-sigma", 5e-10),
            ("adam", 1e-3),
        ] {
            fabricate(
                &ls.cells[0].dir,
                name,
                serde_json::json!({"status": "finished", "final_gap": gap}),
            );
        }
        let numbers = read_cell(&ls.cells[0], &ls.metric, None).unwrap();
        let judged = verdicts(&ls, &ls.cells[0], &numbers);
        assert_eq!(judged.len(), 5);
        assert!(
            judged.iter().all(|(_, v)| matches!(v, Verdict::Reproduced(_))),
            "{judged:?}"
        );
        let het = &experiments[1];
        let judged = verdicts(het, &het.cells[0], &CellNumbers::default());
        assert!(matches!(&judged[0].1, Verdict::NotRun(r) if r.contains("smoke")));
    }
}
