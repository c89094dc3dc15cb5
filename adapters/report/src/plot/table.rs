//! The metrics table of one run and its file, `metrics.csv`.
//!
//! # The `metrics.csv` format
//!
//! One file per run, `runs/<domain>/<name>/metrics.csv`, UTF-8 text, one record per line (`\n`
//! or `\r\n`), cells separated by commas, no quoting:
//!
//! ```text
//! step,wall_time,train/loss,test/accuracy
//! 0,0.000,2.3041,
//! 100,1.52,0.8123,
//! 200,3.07,0.4410,0.9312
//! ```
//!
//! - Line 1 is the header: `step`, `wall_time`, then one name per metric. A metric name is
//!   non-empty, unique in the header, and contains no comma, double quote or line break (`/` is
//!   fine and recommended for grouping, as in TensorBoard tags). Surrounding spaces are trimmed.
//! - Every following line has exactly as many cells as the header:
//!   - `step`: the optimizer step (outer iteration) as an unsigned integer, required;
//!   - `wall_time`: seconds since the start of the run (not a Unix time stamp), a finite
//!     number, required; a resumed run continues the clock of the run it resumes;
//!   - one cell per metric: a number, or empty when the metric was not measured at that step
//!     (an evaluation metric logged every 1000 steps is empty on the other rows). `NaN`, `inf`
//!     and `-inf` (any case) are allowed and kept: a diverged loss is data, not a parse error.
//! - Empty lines are ignored. Rows are kept in file order; steps are usually increasing but
//!   this is not required.
//!
//! Numbers are written by [`Run::to_csv_string`] with Rust's shortest round-trip formatting, so
//! reading a written file gives back bit-identical values.

use std::fmt::Write as _;
use std::path::Path;

use super::PlotError;

/// Name of the first column of `metrics.csv`: the optimizer step.
pub const STEP_COLUMN: &str = "step";
/// Name of the second column of `metrics.csv`: seconds since the start of the run.
pub const WALL_TIME_COLUMN: &str = "wall_time";

/// One row of a metrics table: the values logged at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The optimizer step (outer iteration).
    pub step: u64,
    /// Seconds since the start of the run.
    pub wall_time_s: f64,
    /// One entry per metric of the run, in the order of [`Run::metrics`]; `None` where the
    /// metric was not measured at this step. May hold non-finite values.
    pub values: Vec<Option<f64>>,
}

/// One point of one metric: a value that was logged (possibly non-finite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The optimizer step.
    pub step: u64,
    /// Seconds since the start of the run.
    pub wall_time_s: f64,
    /// The metric's value.
    pub value: f64,
}

/// Whether a smaller or a larger value of a metric is better; decides the "best" figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Smaller is better (losses, perplexity, error rates, FID).
    Minimize,
    /// Larger is better (accuracy, reward, return, score).
    Maximize,
}

impl Goal {
    /// The goal of a metric guessed from its name: [`Goal::Maximize`] when the name (ignoring
    /// case) contains `acc`, `reward`, `return`, `score`, `bleu`, `auc`, `precision`, `recall`
    /// or `f1`, and doesn't contain `loss` or `err`; [`Goal::Minimize`] otherwise.
    pub fn for_metric(name: &str) -> Goal {
        let n = name.to_ascii_lowercase();
        const UP: [&str; 9] = [
            "acc",
            "reward",
            "return",
            "score",
            "bleu",
            "auc",
            "precision",
            "recall",
            "f1",
        ];
        if !n.contains("loss") && !n.contains("err") && UP.iter().any(|k| n.contains(k)) {
            Goal::Maximize
        } else {
            Goal::Minimize
        }
    }

    /// `"min"` or `"max"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Goal::Minimize => "min",
            Goal::Maximize => "max",
        }
    }
}

/// The metrics table of one run: a name, the metric names, and rows of (step, wall-clock,
/// values). Produced by the run machinery (or read back with [`read_metrics_csv`]) and consumed
/// by [`plot_curves`](super::plot_curves) and [`report`](crate::report()).
///
/// ```
/// use report::plot::Run;
///
/// let mut run = Run::new("sisa", ["loss", "accuracy"])?;
/// run.push(0, 0.0, &[("loss", 2.3)])?;
/// run.push(100, 1.5, &[("loss", 0.4), ("accuracy", 0.91)])?;
/// assert_eq!(run.final_value("loss"), Some(0.4));
/// assert_eq!(run.points("accuracy").count(), 1);
/// let back = Run::from_csv_str("sisa", &run.to_csv_string())?;
/// assert_eq!(back, run);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    name: String,
    metrics: Vec<String>,
    rows: Vec<Row>,
}

impl Run {
    /// An empty table for the run `name` with the given metric columns.
    ///
    /// # Errors
    /// [`PlotError::InvalidTable`] when a metric name is empty, repeated, equal to `step` or
    /// `wall_time`, or contains a comma, a double quote or a line break (it could not be written
    /// to `metrics.csv`).
    pub fn new<I, S>(name: impl Into<String>, metrics: I) -> Result<Run, PlotError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let name = name.into();
        let metrics: Vec<String> = metrics.into_iter().map(Into::into).collect();
        if let Err(reason) = check_metric_names(&metrics) {
            return Err(PlotError::InvalidTable { run: name, reason });
        }
        Ok(Run {
            name,
            metrics,
            rows: Vec::new(),
        })
    }

    /// The run's name (its directory name when read from a run directory).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The metric names, in column order.
    pub fn metrics(&self) -> &[String] {
        &self.metrics
    }

    /// The rows, in the order they were logged.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The column index of `metric`, if the run has it.
    pub fn metric_index(&self, metric: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m == metric)
    }

    /// Appends a row whose `values` are given in column order.
    ///
    /// # Errors
    /// [`PlotError::InvalidTable`] when `values.len()` differs from the number of metrics or
    /// `wall_time_s` is not finite.
    pub fn push_row(&mut self, row: Row) -> Result<(), PlotError> {
        if row.values.len() != self.metrics.len() {
            return Err(self.invalid(format!(
                "row for step {} has {} values but the run has {} metrics",
                row.step,
                row.values.len(),
                self.metrics.len()
            )));
        }
        if !row.wall_time_s.is_finite() {
            return Err(self.invalid(format!(
                "row for step {} has wall time {}",
                row.step, row.wall_time_s
            )));
        }
        self.rows.push(row);
        Ok(())
    }

    /// Appends a row from `(metric, value)` pairs; metrics not named are missing in this row.
    ///
    /// # Errors
    /// [`PlotError::InvalidTable`] when a name is not one of the run's metrics or
    /// `wall_time_s` is not finite.
    pub fn push(&mut self, step: u64, wall_time_s: f64, values: &[(&str, f64)]) -> Result<(), PlotError> {
        let mut row = vec![None; self.metrics.len()];
        for &(metric, value) in values {
            let Some(i) = self.metric_index(metric) else {
                return Err(self.invalid(format!("unknown metric '{metric}' (columns: {:?})", self.metrics)));
            };
            row[i] = Some(value);
        }
        self.push_row(Row {
            step,
            wall_time_s,
            values: row,
        })
    }

    /// The logged values of `metric` in row order, missing cells skipped, non-finite values
    /// kept. Empty when the run has no such metric.
    pub fn points<'a>(&'a self, metric: &str) -> impl Iterator<Item = Point> + 'a {
        let index = self.metric_index(metric);
        self.rows.iter().filter_map(move |r| {
            let value = r.values.get(index?).copied().flatten()?;
            Some(Point {
                step: r.step,
                wall_time_s: r.wall_time_s,
                value,
            })
        })
    }

    /// The last logged value of `metric` (it may be non-finite: a run that diverged ends on NaN).
    pub fn final_value(&self, metric: &str) -> Option<f64> {
        self.points(metric).last().map(|p| p.value)
    }

    /// The best finite value of `metric`: the smallest or the largest, as `goal` says.
    pub fn best_value(&self, metric: &str, goal: Goal) -> Option<f64> {
        let finite = self.points(metric).map(|p| p.value).filter(|v| v.is_finite());
        match goal {
            Goal::Minimize => finite.reduce(f64::min),
            Goal::Maximize => finite.reduce(f64::max),
        }
    }

    /// The largest step of any row.
    pub fn last_step(&self) -> Option<u64> {
        self.rows.iter().map(|r| r.step).max()
    }

    /// The largest wall-clock time of any row, in seconds.
    pub fn wall_clock_s(&self) -> Option<f64> {
        self.rows.iter().map(|r| r.wall_time_s).reduce(f64::max)
    }

    /// The table as the text of a `metrics.csv` file (see the [module docs](self)).
    pub fn to_csv_string(&self) -> String {
        let mut s = String::from("step,wall_time");
        for m in &self.metrics {
            s.push(',');
            s.push_str(m);
        }
        s.push('\n');
        for r in &self.rows {
            let _ = write!(s, "{},{}", r.step, fmt_f64(r.wall_time_s));
            for v in &r.values {
                s.push(',');
                if let Some(v) = v {
                    s.push_str(&fmt_f64(*v));
                }
            }
            s.push('\n');
        }
        s
    }

    /// Parses the text of a `metrics.csv` file (see the [module docs](self)) as the run `name`.
    ///
    /// # Errors
    /// A [`CsvError`] naming the 1-based line and what is wrong with it.
    pub fn from_csv_str(name: impl Into<String>, text: &str) -> Result<Run, CsvError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((header_line, header)) = lines.next() else {
            return Err(CsvError {
                line: 1,
                kind: CsvErrorKind::MissingHeader,
            });
        };
        let cells: Vec<&str> = header.split(',').map(str::trim).collect();
        if cells.len() < 2 || cells[0] != STEP_COLUMN || cells[1] != WALL_TIME_COLUMN {
            return Err(CsvError {
                line: header_line,
                kind: CsvErrorKind::BadHeader(format!(
                    "the header must start with `{STEP_COLUMN},{WALL_TIME_COLUMN}`, found `{header}`"
                )),
            });
        }
        let metrics: Vec<String> = cells[2..].iter().map(|s| s.to_string()).collect();
        check_metric_names(&metrics).map_err(|r| CsvError {
            line: header_line,
            kind: CsvErrorKind::BadHeader(r),
        })?;
        let mut rows = Vec::new();
        for (line, text) in lines {
            let err = |kind| CsvError { line, kind };
            let cells: Vec<&str> = text.split(',').map(str::trim).collect();
            if cells.len() != metrics.len() + 2 {
                return Err(err(CsvErrorKind::CellCount {
                    expected: metrics.len() + 2,
                    found: cells.len(),
                }));
            }
            let step = cells[0]
                .parse::<u64>()
                .map_err(|_| err(CsvErrorKind::BadStep(cells[0].to_string())))?;
            let wall_time_s = match cells[1].parse::<f64>() {
                Ok(t) if t.is_finite() => t,
                _ => return Err(err(CsvErrorKind::BadWallTime(cells[1].to_string()))),
            };
            let mut values = Vec::with_capacity(metrics.len());
            for (metric, cell) in metrics.iter().zip(&cells[2..]) {
                if cell.is_empty() {
                    values.push(None);
                } else {
                    let v = cell.parse::<f64>().map_err(|_| {
                        err(CsvErrorKind::BadValue {
                            metric: metric.clone(),
                            cell: cell.to_string(),
                        })
                    })?;
                    values.push(Some(v));
                }
            }
            rows.push(Row {
                step,
                wall_time_s,
                values,
            });
        }
        Ok(Run {
            name: name.into(),
            metrics,
            rows,
        })
    }

    fn invalid(&self, reason: String) -> PlotError {
        PlotError::InvalidTable {
            run: self.name.clone(),
            reason,
        }
    }
}

/// What is wrong with a `metrics.csv` file, and on which line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct CsvError {
    /// The 1-based line number in the file.
    pub line: usize,
    /// What is wrong with that line.
    pub kind: CsvErrorKind,
}

/// The kinds of [`CsvError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvErrorKind {
    /// The file has no header line.
    #[error("the file is empty; expected a header `{STEP_COLUMN},{WALL_TIME_COLUMN},<metric>...`")]
    MissingHeader,
    /// The header is not `step,wall_time,<unique metric names>`.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// A row has a different number of cells than the header.
    #[error("expected {expected} comma-separated cells (as in the header), found {found}")]
    CellCount {
        /// Cells in the header.
        expected: usize,
        /// Cells on this line.
        found: usize,
    },
    /// The `step` cell is not an unsigned integer.
    #[error("step `{0}` is not an unsigned integer")]
    BadStep(String),
    /// The `wall_time` cell is not a finite number.
    #[error("wall_time `{0}` is not a finite number of seconds")]
    BadWallTime(String),
    /// A metric cell is neither empty nor a number.
    #[error(
        "value `{cell}` of metric '{metric}' is not a number (leave the cell empty for a missing value)"
    )]
    BadValue {
        /// The metric's column name.
        metric: String,
        /// The offending cell.
        cell: String,
    },
}

/// Reads a run's `metrics.csv` (format in the [module docs](self)). The run is named after the
/// directory that holds the file (the file's stem when it has no parent directory).
///
/// # Errors
/// [`PlotError::Io`] when the file can't be read, [`PlotError::Csv`] (with the line number)
/// when it is malformed.
pub fn read_metrics_csv(path: impl AsRef<Path>) -> Result<Run, PlotError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .parent()
        .and_then(Path::file_name)
        .or_else(|| path.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Run::from_csv_str(name, &text).map_err(|source| PlotError::Csv {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `run` as a `metrics.csv` file (format in the [module docs](self)), atomically
/// (temporary file, then rename).
///
/// # Errors
/// [`PlotError::Io`] when the file can't be written.
pub fn write_metrics_csv(path: impl AsRef<Path>, run: &Run) -> Result<(), PlotError> {
    super::write_atomically(path.as_ref(), run.to_csv_string().as_bytes())
}

fn check_metric_names(metrics: &[String]) -> Result<(), String> {
    for (i, m) in metrics.iter().enumerate() {
        if m.trim().is_empty() {
            return Err(format!("metric name #{} is empty", i + 1));
        }
        if m.trim() != m {
            return Err(format!("metric name '{m}' has surrounding spaces"));
        }
        if m.contains([',', '"', '\n', '\r']) {
            return Err(format!(
                "metric name '{m}' contains a comma, a double quote or a line break"
            ));
        }
        if m == STEP_COLUMN || m == WALL_TIME_COLUMN {
            return Err(format!("metric name '{m}' is reserved for the first two columns"));
        }
        if metrics[..i].contains(m) {
            return Err(format!("metric name '{m}' appears twice"));
        }
    }
    Ok(())
}

/// Shortest round-trip text of `v`; `NaN`, `inf`, `-inf` for non-finite values.
fn fmt_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        // `{:?}` is the shortest round-trip form and switches to exponent notation for very
        // large or small magnitudes (`1e-20`, not twenty zeros).
        format!("{v:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_cells_parse_in_any_case() {
        let run = Run::from_csv_str("r", "step,wall_time,a\n0,0,nan\n1,1,NaN\n2,2,inf\n3,3,-Inf\n").unwrap();
        let v: Vec<f64> = run.points("a").map(|p| p.value).collect();
        assert!(v[0].is_nan() && v[1].is_nan());
        assert_eq!(&v[2..], &[f64::INFINITY, f64::NEG_INFINITY]);
    }

    #[test]
    fn goals_from_names() {
        assert_eq!(Goal::for_metric("train/loss"), Goal::Minimize);
        assert_eq!(Goal::for_metric("test/accuracy"), Goal::Maximize);
        assert_eq!(Goal::for_metric("episode_return"), Goal::Maximize);
        assert_eq!(Goal::for_metric("perplexity"), Goal::Minimize);
        assert_eq!(Goal::for_metric("accuracy_error"), Goal::Minimize);
    }
}
