//! The comparison report of a domain's runs: `cargo xtask report runs/<domain>`.
//!
//! [`report`] scans `runs/<domain>/*/`, reads each run's `metrics.csv` (format in
//! [`plot::table`](crate::plot::table)) and `summary.json` (a JSON object of final figures),
//! and writes into the domain directory:
//!
//! - `report.md`: a Markdown table with one row per run (name, optimizer, steps, wall-clock,
//!   and the final and best value of every metric), the charts, and the runs' summaries;
//! - `plots/<metric>_steps.png` and `plots/<metric>_wallclock.png` for every metric, all runs
//!   (no wall-clock charts when no run records a wall-clock time)
//!   on one chart (see [`plot_curves`]).
//!
//! The binary `report` (`cargo run -p report --bin report -- runs/<domain>`) does the same
//! and prints the paths.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::plot::{plot_curves, read_metrics_csv, write_atomically, Axis, Goal, PlotError, PlotOptions, Run};

/// Name of the Markdown file written into the domain directory.
pub const REPORT_FILE: &str = "report.md";
/// Name of the folder of charts in the domain directory (never taken for a run).
pub const PLOTS_DIR: &str = "plots";

/// What [`report`] wrote and found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The Markdown report, `<domain_dir>/report.md`.
    pub markdown: PathBuf,
    /// The charts, `<domain_dir>/plots/*.png`: per metric, against steps then wall-clock.
    pub plots: Vec<PathBuf>,
    /// The figures of each run, in the report's (name) order.
    pub runs: Vec<RunFigures>,
    /// Subdirectories that are not runs, with the reason (e.g. no `metrics.csv`).
    pub skipped: Vec<(PathBuf, String)>,
}

impl Report {
    /// Every file written: the Markdown report, then the charts.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.markdown.as_path()).chain(self.plots.iter().map(PathBuf::as_path))
    }
}

/// The figures of one run in the report table.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    /// The run's name (its directory name).
    pub name: String,
    /// `summary.json`'s `"optimizer"` entry, if any.
    pub optimizer: Option<String>,
    /// The last step logged.
    pub steps: Option<u64>,
    /// The last wall-clock time logged, in seconds.
    pub wall_clock_s: Option<f64>,
    /// Final and best value of each metric of the run, in column order.
    pub metrics: Vec<MetricFigures>,
    /// The whole `summary.json` (empty when the run has none).
    pub summary: Map<String, Value>,
}

/// Final and best value of one metric of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFigures {
    /// The metric's name.
    pub metric: String,
    /// The last value logged; may be non-finite when the run diverged.
    pub final_value: Option<f64>,
    /// The best finite value logged.
    pub best_value: Option<f64>,
    /// Whether best means smallest or largest ([`Goal::for_metric`]).
    pub goal: Goal,
}

impl RunFigures {
    /// The figures of `run`, with its `summary.json` object.
    pub fn new(run: &Run, summary: Map<String, Value>) -> RunFigures {
        let optimizer = summary.get("optimizer").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let metrics = run
            .metrics()
            .iter()
            .map(|m| {
                let goal = Goal::for_metric(m);
                MetricFigures {
                    metric: m.clone(),
                    final_value: run.final_value(m),
                    best_value: run.best_value(m, goal),
                    goal,
                }
            })
            .collect();
        RunFigures {
            name: run.name().to_string(),
            optimizer,
            steps: run.last_step(),
            wall_clock_s: run.wall_clock_s(),
            metrics,
            summary,
        }
    }

    /// The figures of `metric`, if the run has it.
    pub fn metric(&self, metric: &str) -> Option<&MetricFigures> {
        self.metrics.iter().find(|m| m.metric == metric)
    }
}

/// Builds the report of the domain directory `domain_dir` (`runs/<domain>`): reads every
/// `<domain_dir>/<run>/metrics.csv` and `summary.json`, writes `<domain_dir>/report.md` and the
/// charts under `<domain_dir>/plots/`, and returns what it wrote. Runs are taken in name order;
/// subdirectories without a `metrics.csv` (and `plots/`, and hidden ones) are not runs. A run
/// without `summary.json` is reported with an empty summary. Metrics with no finite value in
/// any run get no chart.
///
/// # Errors
/// [`PlotError::NoRuns`] when `domain_dir` holds no run, [`PlotError::Io`] when it can't be
/// read or the outputs can't be written, [`PlotError::Csv`] for a malformed `metrics.csv`,
/// [`PlotError::Summary`] for a `summary.json` that is not a JSON object.
pub fn report(domain_dir: &Path) -> Result<Report, PlotError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PlotError::Io { path, source }
    };
    if !domain_dir.is_dir() {
        return Err(PlotError::NoRuns {
            dir: domain_dir.to_path_buf(),
        });
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(domain_dir)
        .map_err(io(domain_dir))?
        .map(|e| e.map(|e| e.path()).map_err(io(domain_dir)))
        .collect::<Result<_, _>>()?;
    dirs.retain(|p| p.is_dir());
    dirs.sort();

    let mut runs = Vec::new();
    let mut figures = Vec::new();
    let mut skipped = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == PLOTS_DIR || name.starts_with('.') {
            continue;
        }
        let csv = dir.join("metrics.csv");
        if !csv.is_file() {
            skipped.push((dir, "no metrics.csv".to_string()));
            continue;
        }
        let run = read_metrics_csv(&csv)?;
        let summary = read_summary(&dir.join("summary.json"))?;
        figures.push(RunFigures::new(&run, summary));
        runs.push(run);
    }
    if runs.is_empty() {
        return Err(PlotError::NoRuns {
            dir: domain_dir.to_path_buf(),
        });
    }

    let domain = domain_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| domain_dir.display().to_string());
    let plots_dir = domain_dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&plots_dir).map_err(io(&plots_dir))?;

    let mut plots = Vec::new();
    let mut charts: Vec<(String, Vec<(String, &str)>)> = Vec::new();
    let mut used_names = BTreeMap::new();
    // Runs that record no wall-clock (every `wall_time` 0, e.g. computed curves) get no
    // wall-clock charts.
    let timed = runs
        .iter()
        .any(|r| r.rows().iter().any(|row| row.wall_time_s > 0.0));
    let axes: &[Axis] = if timed {
        &[Axis::Steps, Axis::WallClock]
    } else {
        &[Axis::Steps]
    };
    for metric in union_of_metrics(&runs) {
        let stem = unique_stem(&mut used_names, &metric);
        let mut files = Vec::new();
        for &axis in axes {
            let file = format!("{stem}_{}.png", axis.as_str());
            let against = if axis == Axis::Steps {
                "steps"
            } else {
                "wall-clock"
            };
            let options = PlotOptions {
                title: Some(format!("{metric} vs {against} ({domain})")),
                ..Default::default()
            };
            let path = plots_dir.join(&file);
            match plot_curves(&runs, &metric, axis, &path, &options) {
                Ok(_) => {
                    plots.push(path);
                    files.push((file, against));
                }
                Err(PlotError::NoData { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        charts.push((metric, files));
    }

    let markdown = domain_dir.join(REPORT_FILE);
    let text = render_markdown(&domain, &figures, &charts, &skipped);
    write_atomically(&markdown, text.as_bytes())?;
    Ok(Report {
        markdown,
        plots,
        runs: figures,
        skipped,
    })
}

/// The Markdown table of `runs`: one row per run with its name, optimizer, steps, wall-clock,
/// and the final and best value of every metric (union over the runs, in order of first
/// appearance; `–` where a run lacks it). Also what the demo prints.
pub fn markdown_table(runs: &[RunFigures]) -> String {
    let mut metrics: Vec<(&str, Goal)> = Vec::new();
    for m in runs.iter().flat_map(|r| &r.metrics) {
        if !metrics.iter().any(|(n, _)| *n == m.metric) {
            metrics.push((&m.metric, m.goal));
        }
    }
    let mut head = vec![
        "run".to_string(),
        "optimizer".into(),
        "steps".into(),
        "wall-clock".into(),
    ];
    for (m, goal) in &metrics {
        head.push(format!("{} final", escape(m)));
        head.push(format!("{} best ({})", escape(m), goal.as_str()));
    }
    let mut s = String::new();
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|---|---|{}", "---:|".repeat(head.len() - 2));
    for r in runs {
        let mut cells = vec![
            escape(&r.name),
            r.optimizer.as_deref().map(escape).unwrap_or_else(|| "–".into()),
            r.steps.map(|s| s.to_string()).unwrap_or_else(|| "–".into()),
            r.wall_clock_s.map(fmt_duration).unwrap_or_else(|| "–".into()),
        ];
        for (m, _) in &metrics {
            let f = r.metric(m);
            cells.push(fmt_opt(f.and_then(|f| f.final_value)));
            cells.push(fmt_opt(f.and_then(|f| f.best_value)));
        }
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s
}

/// A value in the report: 4 significant digits (see the charts' tick labels), `NaN` / `inf`
/// as such, `–` when absent.
pub fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        crate::plot::chart_fmt_number(v)
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(fmt_value).unwrap_or_else(|| "–".into())
}

/// `12.3 s`, `4 min 05 s`, `2 h 03 min`.
fn fmt_duration(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        let t = s.round() as u64;
        format!("{} min {:02} s", t / 60, t % 60)
    } else {
        let t = (s / 60.0).round() as u64;
        format!("{} h {:02} min", t / 60, t % 60)
    }
}

fn render_markdown(
    domain: &str,
    runs: &[RunFigures],
    charts: &[(String, Vec<(String, &str)>)],
    skipped: &[(PathBuf, String)],
) -> String {
    let mut s = format!("# Report: {}\n\n", escape(domain));
    let _ = writeln!(
        s,
        "{} run(s). *final* is the last value logged, *best* the smallest (min) or largest (max) \
         finite value.\n",
        runs.len()
    );
    s.push_str(&markdown_table(runs));
    if charts.iter().any(|(_, f)| !f.is_empty()) {
        s.push_str("\n## Curves\n");
        for (metric, files) in charts {
            let _ = writeln!(s, "\n### {}\n", escape(metric));
            if files.is_empty() {
                s.push_str("No finite value logged.\n");
            }
            for (file, against) in files {
                let _ = writeln!(s, "![{} vs {against}]({PLOTS_DIR}/{file})", escape(metric));
            }
        }
    }
    let keys: Vec<&String> = {
        let mut k: Vec<&String> = Vec::new();
        for key in runs.iter().flat_map(|r| r.summary.keys()) {
            if !k.contains(&key) {
                k.push(key);
            }
        }
        k
    };
    if !keys.is_empty() {
        s.push_str("\n## Summaries (`summary.json`)\n\n");
        let _ = writeln!(
            s,
            "| run | {} |",
            keys.iter().map(|k| escape(k)).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(s, "|---|{}", "---|".repeat(keys.len()));
        for r in runs {
            let cells: Vec<String> = keys
                .iter()
                .map(|k| match r.summary.get(*k) {
                    None => "–".into(),
                    Some(Value::String(v)) => escape(v),
                    Some(Value::Number(n)) => n.as_f64().map(fmt_value).unwrap_or_else(|| n.to_string()),
                    Some(v) => escape(&v.to_string()),
                })
                .collect();
            let _ = writeln!(s, "| {} | {} |", escape(&r.name), cells.join(" | "));
        }
    }
    if !skipped.is_empty() {
        s.push_str("\n## Skipped directories\n\n");
        for (dir, why) in skipped {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = writeln!(s, "- `{name}/`: {why}");
        }
    }
    s
}

fn read_summary(path: &Path) -> Result<Map<String, Value>, PlotError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(source) => {
            return Err(PlotError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(PlotError::Summary {
            path: path.to_path_buf(),
            reason: format!("found a JSON {}", json_kind(&other)),
        }),
        Err(e) => Err(PlotError::Summary {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn union_of_metrics(runs: &[Run]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in runs.iter().flat_map(|r| r.metrics()) {
        if !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

/// A file-name stem for `metric` (`train/loss` → `train_loss`), made unique among those
/// already handed out.
fn unique_stem(used: &mut BTreeMap<String, usize>, metric: &str) -> String {
    let base = file_stem(metric);
    let n = used.entry(base.clone()).or_insert(0);
    *n += 1;
    if *n == 1 {
        base
    } else {
        format!("{base}_{n}")
    }
}

/// A file-name stem for `metric`: ASCII letters, digits, `-` and `.` kept, anything else
/// (`/`, spaces) `_` (`train/loss` → `train_loss`, `metric` when nothing is left). The per-metric
/// charts of [`report()`] and the comparison's `plots/compare_<stem>*.png` share it.
pub(crate) fn file_stem(metric: &str) -> String {
    let base: String = metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if base.is_empty() {
        "metric".to_string()
    } else {
        base
    }
}

/// Escapes what would break a Markdown table cell.
pub(crate) fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_stems() {
        assert_eq!(fmt_duration(12.34), "12.3 s");
        assert_eq!(fmt_duration(245.0), "4 min 05 s");
        assert_eq!(fmt_duration(7380.0), "2 h 03 min");
        let mut used = BTreeMap::new();
        assert_eq!(unique_stem(&mut used, "train/loss"), "train_loss");
        assert_eq!(unique_stem(&mut used, "train loss"), "train_loss_2");
    }
}
