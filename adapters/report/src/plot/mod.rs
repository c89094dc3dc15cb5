//! Training curves: the metrics table of a run, its `metrics.csv` file, and PNG charts of
//! several runs on one set of axes.
//!
//! - [`Run`] is a run's metrics table; [`read_metrics_csv`] reads it from a run directory's
//!   `metrics.csv`, whose format is specified in [`table`].
//! - [`plot_curves`] draws one metric of several runs against steps or wall-clock time into a
//!   PNG file, with a legend, axis labels and an optional logarithmic y axis.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (crate `dejavu`), rasterized with
//! `ab_glyph`: no system fonts, no fontconfig, nothing read or downloaded at run time. The same
//! font is available to code that draws with plotters directly through [`register_fonts`].
//!
//! ```no_run
//! use report::plot::{plot_curves, read_metrics_csv, Axis, PlotOptions};
//!
//! let runs = [read_metrics_csv("runs/mnist/sisa/metrics.csv")?, read_metrics_csv("runs/mnist/adam/metrics.csv")?];
//! plot_curves(&runs, "train/loss", Axis::Steps, "loss.png".as_ref(), &PlotOptions::default())?;
//! # Ok::<(), report::plot::PlotError>(())
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};

pub(crate) mod chart;
mod font;
pub mod table;
mod text;

pub(crate) use chart::fmt_number as chart_fmt_number;
pub use chart::{plot_curves, Axis, CurvePlot, PlotOptions, Series, YScale, AUTO_LOG_RATIO, PALETTE};
pub use font::{register_fonts, FAMILY as FONT_FAMILY};
pub use table::{read_metrics_csv, write_metrics_csv, CsvError, CsvErrorKind, Goal, Point, Row, Run};

/// Errors of the plotting and report functions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `metrics.csv` file is malformed.
    #[error("malformed metrics file {}, {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line and what is wrong with it.
        source: CsvError,
    },
    /// A metrics table was built with inconsistent data.
    #[error("invalid metrics table for run '{run}': {reason}")]
    InvalidTable {
        /// The run's name.
        run: String,
        /// What is wrong.
        reason: String,
    },
    /// None of the runs has a plottable value of the metric.
    #[error("no finite value of metric '{metric}' to plot in runs {runs:?}")]
    NoData {
        /// The metric.
        metric: String,
        /// The names of the runs that were given.
        runs: Vec<String>,
    },
    /// The plot options are unusable.
    #[error("invalid plot options: {0}")]
    InvalidOptions(String),
    /// plotters failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the PNG {}: {source}", path.display())]
    Png {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        source: png::EncodingError,
    },
    /// A run's `summary.json` is not a JSON object.
    #[error("{}: not a JSON object of final figures: {reason}", path.display())]
    Summary {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A domain directory holds no run directory with a `metrics.csv`.
    #[error("no runs in {}: expected run directories `<name>/metrics.csv` (train something first)", dir.display())]
    NoRuns {
        /// The domain directory.
        dir: PathBuf,
    },
    /// The embedded font could not be parsed.
    #[error("the embedded DejaVu Sans font could not be loaded")]
    Font,
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees a half-written file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    let io = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("not a file path")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    // Unique per process and call, so concurrent writers never share a temporary file.
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
