//! The one comparison of runs for every domain: runs laid out as
//! `<domain dir>/<group>-seed<k>/` (a group is an optimizer, or an optimizer and a setting of a
//! sweep: `sisa-sigma0.1`), each with its `metrics.csv`, compared on one metric: its curve over
//! an x column (mean line and ± std band per group, as the paper's Fig. 3), a box plot of the
//! final values, and a Markdown table of the final and best values (mean ± sample std over
//! seeds) with the runs it covers.
//!
//! Why one module: the GAN's FID comparison, the LSTM's perplexity table, the RL and MNIST
//! comparisons all need the same grouping by seed and the same statistics; one implementation
//! keeps their numbers comparable and their files in the same places.
//!
//! `report compare runs/<domain> --metric M [--x step|COLUMN] [--goal min|max]` (and
//! `cargo xtask gan|lstm|mnist --compare ... --seeds ...`, which run it after their runs) writes
//! `compare.md`, `plots/compare_<metric>.png` and `plots/compare_<metric>_box.png`, the metric's
//! `/` written `_` as in the per-metric charts of [`crate::report()`]:
//!
//! ```text
//! $ report compare runs/mnist --metric test/accuracy --goal max
//! runs/mnist/compare.md
//! runs/mnist/plots/compare_test_accuracy.png
//! runs/mnist/plots/compare_test_accuracy_box.png
//! ```
//!
//! The same from Rust:
//!
//! ```no_run
//! use report::compare::{compare, discover};
//! use report::plot::Goal;
//! # fn main() -> Result<(), report::compare::CompareError> {
//! let dir = std::path::Path::new("runs/gan-wgan-gp-mnist");
//! let groups = discover(dir)?; // [("adam", [0, 1, 2]), ("sisa", [0, 1, 2])]
//! let written = compare(dir, &groups, "fid", "epoch", Goal::Minimize)?;
//! println!("{}", written.markdown.display());
//! # Ok(())
//! # }
//! ```

use crate::plot::{read_metrics_csv, register_fonts, Goal, FONT_FAMILY, PALETTE};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Errors of the comparison.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A run's metrics could not be read, or a plot written.
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    /// A run has no values of the compared metric (or of the x column).
    #[error("{path}: no `{metric}` values against `{x}`")]
    NoValues {
        /// The run's metrics file.
        path: PathBuf,
        /// The metric.
        metric: String,
        /// The x column.
        x: String,
    },
    /// No run folder `<group>-seed<k>` (with a `metrics.csv`) in the domain folder.
    #[error("{0}: no runs named <group>-seed<k> with a metrics.csv")]
    NoRuns(PathBuf),
    /// A group asked for has no run in the domain folder.
    #[error("{dir}: no runs {group}-seed<k> (groups found: {found})")]
    NoGroup {
        /// The domain folder.
        dir: PathBuf,
        /// The group asked for.
        group: String,
        /// The groups there are, comma-separated.
        found: String,
    },
    /// No cell of a grid ([`crate::grid::grid`]) holds a run.
    #[error("no runs <group>-seed<k> with a metrics.csv in any cell of the grid: {dirs}")]
    EmptyGrid {
        /// The cells' folders, comma-separated.
        dirs: String,
    },
    /// Drawing or writing failed.
    #[error("drawing {path}: {message}")]
    Draw {
        /// The output file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// The curves of every seed of one group: what the statistics and plots are computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRuns {
    /// The group's name (`adam`, `sisa-sigma0.1`).
    pub name: String,
    /// Its seeds, in the order of `curves`.
    pub seeds: Vec<u64>,
    /// Per run: (x, value) in logging order, finite values only.
    pub curves: Vec<Vec<(f64, f64)>>,
}

impl GroupRuns {
    /// The best value of each run under `goal` (its minimum or maximum over training).
    pub fn bests(&self, goal: Goal) -> Vec<f64> {
        self.curves
            .iter()
            .filter_map(|c| {
                let values = c.iter().map(|p| p.1);
                match goal {
                    Goal::Minimize => values.reduce(f64::min),
                    Goal::Maximize => values.reduce(f64::max),
                }
            })
            .collect()
    }

    /// The last logged value of each run.
    pub fn finals(&self) -> Vec<f64> {
        self.curves.iter().filter_map(|c| c.last().map(|p| p.1)).collect()
    }

    /// `(x, mean, sample std)` per x value, over the runs that logged it: the curve and band
    /// of [`plot_curves`].
    pub fn mean_std(&self) -> Vec<(f64, f64, f64)> {
        let mut epochs: Vec<f64> = self.curves.iter().flatten().map(|p| p.0).collect();
        epochs.sort_by(f64::total_cmp);
        epochs.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        epochs
            .into_iter()
            .map(|e| {
                let v: Vec<f64> = self
                    .curves
                    .iter()
                    .filter_map(|c| c.iter().find(|p| (p.0 - e).abs() < 1e-9).map(|p| p.1))
                    .collect();
                let (m, s) = mean_std(&v);
                (e, m, s)
            })
            .collect()
    }
}

/// Mean and sample standard deviation (n − 1 in the denominator; 0 for one value, NaN for
/// none).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}

/// The run folder name of group `group` with seed `seed`: `<group>-seed<seed>`.
pub fn run_name(group: &str, seed: u64) -> String {
    format!("{group}-seed{seed}")
}

/// The group and seed of a run folder named `<group>-seed<k>` (the last `-seed`; `None` for
/// any other name).
pub fn parse_run_name(name: &str) -> Option<(&str, u64)> {
    let (group, seed) = name.rsplit_once("-seed")?;
    Some((group, seed.parse().ok()?)).filter(|(g, _)| !g.is_empty())
}

/// The groups of the runs `<group>-seed<k>` under `domain_dir`, by name, each with its seeds in
/// increasing order.
///
/// # Errors
/// [`CompareError::NoRuns`] when there is none, or the folder cannot be read.
pub fn discover(domain_dir: &Path) -> Result<Vec<(String, Vec<u64>)>, CompareError> {
    let entries =
        std::fs::read_dir(domain_dir).map_err(|_| CompareError::NoRuns(domain_dir.to_path_buf()))?;
    let mut groups: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((group, seed)) = parse_run_name(&name) {
            if entry.path().join("metrics.csv").is_file() {
                groups.entry(group.to_string()).or_default().push(seed);
            }
        }
    }
    if groups.is_empty() {
        return Err(CompareError::NoRuns(domain_dir.to_path_buf()));
    }
    Ok(groups
        .into_iter()
        .map(|(g, mut seeds)| {
            seeds.sort_unstable();
            (g, seeds)
        })
        .collect())
}

/// The groups of `found` (from [`discover`]) named in `names`, in that order; all of `found`
/// when `names` is empty. Lets a caller compare exactly the groups it ran while other runs
/// share the domain folder.
///
/// # Errors
/// [`CompareError::NoGroup`] for a name without runs.
pub fn select(
    dir: &Path,
    found: &[(String, Vec<u64>)],
    names: &[String],
) -> Result<Vec<(String, Vec<u64>)>, CompareError> {
    if names.is_empty() {
        return Ok(found.to_vec());
    }
    names
        .iter()
        .map(|name| {
            found
                .iter()
                .find(|(g, _)| g == name)
                .cloned()
                .ok_or_else(|| CompareError::NoGroup {
                    dir: dir.to_path_buf(),
                    group: name.clone(),
                    found: found
                        .iter()
                        .map(|(g, _)| g.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

/// Reads the curves of `metric` against the column `x` (`step`, `wall_time` or a metric) of the
/// runs `<group>-seed<k>` for every (group, seeds) in `groups` under `domain_dir`. Rows
/// without the metric or the x value, and non-finite values, are left out.
///
/// # Errors
/// [`CompareError`] naming a missing `metrics.csv` or one without values.
pub fn collect(
    domain_dir: &Path,
    groups: &[(String, Vec<u64>)],
    x: &str,
    metric: &str,
) -> Result<Vec<GroupRuns>, CompareError> {
    groups
        .iter()
        .map(|(name, seeds)| {
            let curves = seeds
                .iter()
                .map(|&seed| {
                    let path = domain_dir.join(run_name(name, seed)).join("metrics.csv");
                    let run = read_metrics_csv(&path)?;
                    let no_values = || CompareError::NoValues {
                        path: path.clone(),
                        metric: metric.into(),
                        x: x.into(),
                    };
                    let m = run.metric_index(metric).ok_or_else(no_values)?;
                    let xi = run.metric_index(x);
                    let curve: Vec<(f64, f64)> = run
                        .rows()
                        .iter()
                        .filter_map(|r| {
                            let xv = match (x, xi) {
                                ("step", _) => Some(r.step as f64),
                                ("wall_time", _) => Some(r.wall_time_s),
                                (_, Some(i)) => r.values[i],
                                (_, None) => None,
                            };
                            Some((xv?, r.values[m]?)).filter(|(a, b)| a.is_finite() && b.is_finite())
                        })
                        .collect();
                    if curve.is_empty() {
                        return Err(no_values());
                    }
                    Ok(curve)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(GroupRuns {
                name: name.clone(),
                seeds: seeds.clone(),
                curves,
            })
        })
        .collect()
}

/// The Markdown table of `metric`: per group the number of seeds, the final value's mean ±
/// std, its median (the upper one for an even count) and best (under `goal`), and the best
/// value over training (under `goal`) mean ± std. Numbers carry about four significant digits,
/// at least two decimals (`160.00`, `0.9200`).
pub fn markdown_table(all: &[GroupRuns], metric: &str, goal: Goal) -> String {
    let metric = crate::domain::escape(metric);
    let mut s = format!(
        "| group | seeds | final {metric} mean ± std | median final | best final | best {metric} over training ({}) mean ± std |\n|---|---|---|---|---|---|\n",
        goal.as_str()
    );
    let d = decimals(
        all.iter()
            .flat_map(|o| o.finals().into_iter().chain(o.bests(goal))),
    );
    for o in all {
        let mut f = o.finals();
        f.sort_by(f64::total_cmp);
        let (m, sd) = mean_std(&f);
        let median = f.get(f.len() / 2).copied().unwrap_or(f64::NAN);
        let best = match goal {
            Goal::Minimize => f.first(),
            Goal::Maximize => f.last(),
        }
        .copied()
        .unwrap_or(f64::NAN);
        let (bm, bsd) = mean_std(&o.bests(goal));
        let _ = writeln!(
            s,
            "| {} | {} | {m:.d$} ± {sd:.d$} | {median:.d$} | {best:.d$} | {bm:.d$} ± {bsd:.d$} |",
            crate::domain::escape(&o.name),
            f.len()
        );
    }
    s
}

/// Decimals that show about four significant digits of the largest |value|, at least two: the
/// number format of [`markdown_table`] and [`crate::grid::grid_table`].
pub(crate) fn decimals(values: impl Iterator<Item = f64>) -> usize {
    let largest = values.filter(|v| v.is_finite()).map(f64::abs).fold(0.0, f64::max);
    if largest == 0.0 {
        return 2;
    }
    (3 - largest.log10().floor() as i64).clamp(2, 12) as usize
}

/// What [`compare`] wrote: the paths the `report compare` command prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// `compare.md`.
    pub markdown: PathBuf,
    /// The curves and the box plot.
    pub plots: Vec<PathBuf>,
}

/// Compares the runs of `groups` (each a group and its seeds; [`discover`] finds them all,
/// [`select`] picks some) under `domain_dir` on `metric` against `x` (`step`, `wall_time` or a
/// metric column such as `epoch`): writes `compare.md` (the runs covered, [`markdown_table`]
/// and links to the plots), `plots/compare_<metric>.png` ([`plot_curves`]) and
/// `plots/compare_<metric>_box.png` ([`plot_box`]); the metric's name is made a file name as
/// in [`crate::report()`]'s charts (`test/accuracy` → `test_accuracy`).
///
/// # Errors
/// [`CompareError`]: a run without the metric, or a file that cannot be written.
pub fn compare(
    domain_dir: &Path,
    groups: &[(String, Vec<u64>)],
    metric: &str,
    x: &str,
    goal: Goal,
) -> Result<Written, CompareError> {
    let all = collect(domain_dir, groups, x, metric)?;
    let stem = crate::domain::file_stem(metric);
    let plots_dir = domain_dir.join("plots");
    std::fs::create_dir_all(&plots_dir).map_err(|e| draw_err(&plots_dir)(e.to_string()))?;
    let (curves, boxes) = (
        plots_dir.join(format!("compare_{stem}.png")),
        plots_dir.join(format!("compare_{stem}_box.png")),
    );
    let title = domain_dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let labels = Labels {
        x: x.to_string(),
        y: metric.to_string(),
    };
    plot_curves(&all, &format!("{title}: {metric}"), &labels, &curves)?;
    plot_box(&all, &format!("{title}: final {metric}"), metric, &boxes)?;
    let mut md = format!("# {title}: {metric}\n\n");
    let covered: Vec<String> = all
        .iter()
        .map(|g| {
            let seeds: Vec<String> = g.seeds.iter().map(u64::to_string).collect();
            format!("{} (seeds {})", crate::domain::escape(&g.name), seeds.join(", "))
        })
        .collect();
    let _ = writeln!(
        md,
        "Runs `<group>-seed<k>` compared on `{}` against `{x}`: {}. Final = the last logged value, best = the {} over the run; mean ± sample std over seeds.\n",
        crate::domain::escape(metric),
        covered.join("; "),
        if goal == Goal::Minimize { "minimum" } else { "maximum" }
    );
    md += &markdown_table(&all, metric, goal);
    let _ = writeln!(
        md,
        "\n![curves](plots/{})\n\n![final values](plots/{})",
        file_name(&curves),
        file_name(&boxes)
    );
    let markdown = domain_dir.join("compare.md");
    crate::plot::write_atomically(&markdown, md.as_bytes())?;
    Ok(Written {
        markdown,
        plots: vec![curves, boxes],
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Axis labels of [`plot_curves`]: the x column and the metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// The x axis.
    pub x: String,
    /// The y axis (the metric).
    pub y: String,
}

fn color(k: usize) -> RGBColor {
    let [r, g, b] = PALETTE[k % PALETTE.len()];
    RGBColor(r, g, b)
}

fn draw_err(path: &Path) -> impl Fn(String) -> CompareError + '_ {
    move |message| CompareError::Draw {
        path: path.to_path_buf(),
        message,
    }
}

fn save(buf: Vec<u8>, (w, h): (u32, u32), path: &Path) -> Result<(), CompareError> {
    Ok(crate::plot::chart::write_png(path, w, h, &buf)?)
}

/// The metric over x, mean line with ± std band and error bars per group (legend: the group
/// and its number of runs), into `out` (PNG, 900 × 560; the parent folder must exist).
///
/// # Errors
/// [`CompareError::Draw`].
pub fn plot_curves(all: &[GroupRuns], title: &str, labels: &Labels, out: &Path) -> Result<(), CompareError> {
    let err = draw_err(out);
    register_fonts().map_err(|e| err(e.to_string()))?;
    let size = (900u32, 560u32);
    let stats: Vec<Vec<(f64, f64, f64)>> = all.iter().map(GroupRuns::mean_std).collect();
    let pts = stats.iter().flatten();
    let x_lo = pts.clone().map(|p| p.0).fold(0.0, f64::min);
    let x_hi = pts
        .clone()
        .map(|p| p.0)
        .fold(f64::NEG_INFINITY, f64::max)
        .max(x_lo + 1.0);
    // A margin on the right, so the last points and their error bars are not on the frame.
    let x_hi = x_hi + (x_hi - x_lo) * 0.03;
    let (y_min, y_max) = padded(
        pts.clone().map(|p| p.1 - p.2).fold(f64::INFINITY, f64::min),
        pts.map(|p| p.1 + p.2).fold(f64::NEG_INFINITY, f64::max),
    );
    let mut buf = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_FAMILY, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x_lo..x_hi, y_min..y_max)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(labels.x.as_str())
            .y_desc(format!("{} (mean ± std over runs)", labels.y))
            .label_style((FONT_FAMILY, 14))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (k, (o, s)) in all.iter().zip(&stats).enumerate() {
            let c = color(k);
            let mut band: Vec<(f64, f64)> = s.iter().map(|p| (p.0, p.1 + p.2)).collect();
            band.extend(s.iter().rev().map(|p| (p.0, p.1 - p.2)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.18))))
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(LineSeries::new(s.iter().map(|p| (p.0, p.1)), c.stroke_width(2)))
                .map_err(|e| err(e.to_string()))?
                .label(format!("{} ({} runs)", o.name, o.curves.len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            chart
                .draw_series(s.iter().map(|p| Circle::new((p.0, p.1), 3, c.filled())))
                .map_err(|e| err(e.to_string()))?;
            // Error bars too: with few logged points (an evaluation per epoch) the band is thin.
            chart
                .draw_series(
                    s.iter().filter(|p| p.2 > 0.0).map(|p| {
                        PathElement::new(vec![(p.0, p.1 - p.2), (p.0, p.1 + p.2)], c.stroke_width(1))
                    }),
                )
                .map_err(|e| err(e.to_string()))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT_FAMILY, 14))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    save(buf, size, out)
}

/// An axis range holding `lo..hi` with a 5 % margin (a unit one around a single value, 0..1
/// without finite values): negative metrics (returns) fit as well as positive ones.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad, hi + pad)
}

/// The `q` quantile of sorted values by linear interpolation (numpy's default): the box
/// plot's quartiles. `sorted` must not be empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// A box plot of the final values per group (box: quartiles, line: median, whiskers: min and
/// max, dots: the runs), the paper's Fig. 4 style, into `out` (PNG, 720 × 520; the parent
/// folder must exist).
///
/// # Errors
/// [`CompareError::Draw`].
pub fn plot_box(all: &[GroupRuns], title: &str, metric: &str, out: &Path) -> Result<(), CompareError> {
    let err = draw_err(out);
    register_fonts().map_err(|e| err(e.to_string()))?;
    let size = (720u32, 520u32);
    let finals: Vec<Vec<f64>> = all
        .iter()
        .map(|o| {
            let mut f = o.finals();
            f.sort_by(f64::total_cmp);
            f
        })
        .collect();
    let all_v = finals.iter().flatten().copied();
    let (y_min, y_max) = padded(
        all_v.clone().fold(f64::INFINITY, f64::min),
        all_v.fold(f64::NEG_INFINITY, f64::max),
    );
    let n = all.len();
    let mut buf = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_FAMILY, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, y_min..y_max)
            .map_err(|e| err(e.to_string()))?;
        let names: Vec<String> = all.iter().map(|o| o.name.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let k = x.round();
                if (x - k).abs() < 1e-6 && k >= 0.0 {
                    names.get(k as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc(format!("final {metric}"))
            .label_style((FONT_FAMILY, 14))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (k, f) in finals.iter().enumerate().filter(|(_, f)| !f.is_empty()) {
            let (x, c) = (k as f64, color(k));
            let (q1, med, q3) = (quantile(f, 0.25), quantile(f, 0.5), quantile(f, 0.75));
            let (lo, hi) = (f[0], f[f.len() - 1]);
            let shapes: Vec<PathElement<(f64, f64)>> = vec![
                PathElement::new(
                    vec![
                        (x - 0.25, q1),
                        (x + 0.25, q1),
                        (x + 0.25, q3),
                        (x - 0.25, q3),
                        (x - 0.25, q1),
                    ],
                    c.stroke_width(2),
                ),
                PathElement::new(vec![(x - 0.25, med), (x + 0.25, med)], BLACK.stroke_width(3)),
                PathElement::new(vec![(x, q3), (x, hi)], c.stroke_width(1)),
                PathElement::new(vec![(x, q1), (x, lo)], c.stroke_width(1)),
                PathElement::new(vec![(x - 0.1, hi), (x + 0.1, hi)], c.stroke_width(1)),
                PathElement::new(vec![(x - 0.1, lo), (x + 0.1, lo)], c.stroke_width(1)),
            ];
            chart.draw_series(shapes).map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(f.iter().map(|v| Circle::new((x, *v), 3, c.filled())))
                .map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    save(buf, size, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs() -> Vec<GroupRuns> {
        vec![
            GroupRuns {
                name: "adam".into(),
                seeds: vec![0, 1],
                curves: vec![vec![(1.0, 300.0), (2.0, 200.0)], vec![(1.0, 320.0), (2.0, 240.0)]],
            },
            GroupRuns {
                name: "sisa".into(),
                seeds: vec![0, 1],
                curves: vec![vec![(1.0, 280.0), (2.0, 150.0)], vec![(1.0, 260.0), (2.0, 170.0)]],
            },
        ]
    }

    #[test]
    fn statistics_and_table() {
        let r = runs();
        let ms = r[0].mean_std();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[1].0, 2.0);
        assert!((ms[1].1 - 220.0).abs() < 1e-12);
        assert!((ms[1].2 - 800f64.sqrt()).abs() < 1e-12); // sample std of {200, 240}
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75); // numpy.quantile
        let t = markdown_table(&r, "fid", Goal::Minimize);
        assert!(
            t.contains("| sisa | 2 | 160.00 ± 14.14 | 170.00 | 150.00 |"),
            "{t}"
        );
    }

    #[test]
    fn plots_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("curves.png"), dir.path().join("box.png"));
        let labels = Labels {
            x: "epoch".into(),
            y: "fid".into(),
        };
        plot_curves(&runs(), "FID", &labels, &a).unwrap();
        plot_box(&runs(), "final FID", "fid", &b).unwrap();
        for p in [a, b] {
            let bytes = std::fs::read(&p).unwrap();
            assert_eq!(&bytes[1..4], b"PNG");
        }
    }

    #[test]
    fn collect_reads_metrics_and_names_a_run_without_fid() {
        let dir = tempfile::tempdir().unwrap();
        for seed in 0..2 {
            let run = dir.path().join(run_name("adam", seed));
            std::fs::create_dir_all(&run).unwrap();
            let csv = format!("step,wall_time,epoch,fid\n1,0.1,0.5,\n2,0.2,1,{}\n", 100 + seed);
            std::fs::write(run.join("metrics.csv"), csv).unwrap();
        }
        let all = collect(dir.path(), &[("adam".into(), vec![0, 1])], "epoch", "fid").unwrap();
        assert_eq!(all[0].curves, vec![vec![(1.0, 100.0)], vec![(1.0, 101.0)]]);
        let err = collect(dir.path(), &[("sisa".into(), vec![0])], "epoch", "fid")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sisa-seed0"), "{err}");
        assert_eq!(
            discover(dir.path()).unwrap(),
            vec![("adam".to_string(), vec![0, 1])]
        );
        assert_eq!(
            parse_run_name("sisa-sigma0.1-seed12"),
            Some(("sisa-sigma0.1", 12))
        );
        assert_eq!(parse_run_name("sisa"), None);
        assert_eq!(parse_run_name("-seed1"), None);
        assert_eq!(parse_run_name("adam-seedx"), None);
    }

    #[test]
    fn table_best_over_training_and_precision() {
        let t = markdown_table(&runs(), "fid", Goal::Minimize);
        // sisa: best over training {150, 170} → 160 ± 14.14; adam {200, 240} → 220 ± 28.28.
        assert!(
            t.contains("| sisa | 2 | 160.00 ± 14.14 | 170.00 | 150.00 | 160.00 ± 14.14 |"),
            "{t}"
        );
        assert!(
            t.contains("| adam | 2 | 220.00 ± 28.28 | 240.00 | 200.00 | 220.00 ± 28.28 |"),
            "{t}"
        );
        // Maximizing: the best final is the largest, the best over training each run's maximum.
        let t = markdown_table(&runs(), "score", Goal::Maximize);
        assert!(
            t.contains("| sisa | 2 | 160.00 ± 14.14 | 170.00 | 170.00 | 270.00 ± 14.14 |"),
            "{t}"
        );
        assert_eq!(decimals([0.97, 0.5].into_iter()), 4);
        assert_eq!(decimals([170.0].into_iter()), 2);
        assert_eq!(decimals([0.05].into_iter()), 5);
        assert_eq!(decimals(std::iter::empty()), 2);
    }

    #[test]
    fn select_keeps_the_named_groups_in_order() {
        let found = vec![("adam".to_string(), vec![0, 1]), ("sisa".to_string(), vec![0])];
        let dir = Path::new("runs/x");
        assert_eq!(select(dir, &found, &[]).unwrap(), found);
        assert_eq!(
            select(dir, &found, &["sisa".into(), "adam".into()]).unwrap(),
            vec![found[1].clone(), found[0].clone()]
        );
        let err = select(dir, &found, &["lamb".into()]).unwrap_err().to_string();
        assert!(
            err.contains("lamb-seed<k>") && err.contains("adam, sisa"),
            "{err}"
        );
    }

    #[test]
    fn negative_metrics_fit_the_axes() {
        assert_eq!(padded(-100.0, -50.0), (-102.5, -47.5));
        assert_eq!(padded(3.0, 3.0), (2.85, 3.15));
        assert_eq!(padded(f64::INFINITY, f64::NEG_INFINITY), (0.0, 1.0));
        let returns = vec![GroupRuns {
            name: "a2c".into(),
            seeds: vec![0, 1],
            curves: vec![
                vec![(0.0, -300.0), (5.0, -120.0)],
                vec![(0.0, -280.0), (5.0, -100.0)],
            ],
        }];
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("c.png"), dir.path().join("b.png"));
        let labels = Labels {
            x: "step".into(),
            y: "test/return".into(),
        };
        plot_curves(&returns, "returns", &labels, &a).unwrap();
        plot_box(&returns, "final returns", "test/return", &b).unwrap();
    }
}

#[cfg(test)]
mod end_to_end {
    use super::*;

    /// Two optimizers × three seeds with known final values: the table's mean ± std, the runs
    /// it names, and both PNGs.
    #[test]
    fn a_domain_folder_compares_into_a_table_and_two_plots() {
        let dir = tempfile::tempdir().unwrap();
        for (group, finals) in [("adam", [0.90, 0.92, 0.94]), ("sisa", [0.95, 0.96, 0.97])] {
            for (seed, last) in finals.iter().enumerate() {
                let run = dir.path().join(run_name(group, seed as u64));
                std::fs::create_dir_all(&run).unwrap();
                let csv = format!("step,wall_time,test/accuracy\n1,0.1,0.5\n2,0.2,{last}\n");
                std::fs::write(run.join("metrics.csv"), csv).unwrap();
            }
        }
        let groups = discover(dir.path()).unwrap();
        let written = compare(dir.path(), &groups, "test/accuracy", "step", Goal::Maximize).unwrap();
        let md = std::fs::read_to_string(&written.markdown).unwrap();
        // adam: mean 0.92, sample std 0.02; sisa: mean 0.96, std 0.01.
        // Best final under max: the largest; best over training equals the final here (the
        // curves rise from 0.5).
        assert!(
            md.contains("| adam | 3 | 0.9200 ± 0.0200 | 0.9200 | 0.9400 | 0.9200 ± 0.0200 |"),
            "{md}"
        );
        assert!(
            md.contains("| sisa | 3 | 0.9600 ± 0.0100 | 0.9600 | 0.9700 | 0.9600 ± 0.0100 |"),
            "{md}"
        );
        assert!(
            md.contains("on `test/accuracy` against `step`: adam (seeds 0, 1, 2); sisa (seeds 0, 1, 2)."),
            "{md}"
        );
        assert_eq!(written.markdown, dir.path().join("compare.md"));
        let plots = dir.path().join("plots");
        assert_eq!(
            written.plots,
            [
                plots.join("compare_test_accuracy.png"),
                plots.join("compare_test_accuracy_box.png")
            ]
        );
        for (p, size) in written.plots.iter().zip([(900, 560), (720, 520)]) {
            let file = std::fs::File::open(p).unwrap();
            let mut reader = png::Decoder::new(std::io::BufReader::new(file))
                .read_info()
                .unwrap();
            let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut rgb).unwrap();
            assert_eq!((info.width, info.height), size, "{}", p.display());
            // Something besides the white background is drawn.
            assert!(rgb.iter().any(|&v| v < 200), "{}", p.display());
            assert!(md.contains(&format!("(plots/{})", p.file_name().unwrap().to_string_lossy())));
        }
    }
}
