//! Comparing optimizers over several seeded runs, as the paper's Fig. 3 and Table 4: FID over
//! epochs (mean ± standard deviation over the runs, one band per optimizer), a box plot of the
//! final FIDs, and a Markdown table.
//!
//! Runs are `<domain dir>/<optimizer>-seed<k>/metrics.csv` with the columns `epoch` and `fid`
//! written by the `gan` binary.

use plotters::prelude::*;
use report::plot::{read_metrics_csv, register_fonts, FONT_FAMILY, PALETTE};
use runs::image::RgbImage;
use std::path::{Path, PathBuf};

/// Errors of the comparison.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A run's metrics could not be read.
    #[error("{0}")]
    Plot(#[from] report::plot::PlotError),
    /// A run has no FID values.
    #[error("{path}: no `fid` values (was the run trained with FID?)")]
    NoFid {
        /// The run's metrics file.
        path: PathBuf,
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

/// The FID history of every run of one optimizer.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerRuns {
    /// The optimizer's name.
    pub name: String,
    /// Per run: (epoch, FID) in logging order.
    pub curves: Vec<Vec<(f64, f64)>>,
}

impl OptimizerRuns {
    /// The last FID of each run.
    pub fn finals(&self) -> Vec<f64> {
        self.curves.iter().filter_map(|c| c.last().map(|p| p.1)).collect()
    }

    /// Mean and (sample) standard deviation per epoch over the runs that logged it.
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

/// Mean and sample standard deviation (0 for one value).
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

/// The run folder name of `optimizer` with seed `seed`.
pub fn run_name(optimizer: &str, seed: u64) -> String {
    format!("{optimizer}-seed{seed}")
}

/// Reads the FID histories of `optimizers` × seeds `0..runs` under `domain_dir`.
///
/// # Errors
/// [`CompareError`] naming a missing or FID-less `metrics.csv`.
pub fn collect(
    domain_dir: &Path,
    optimizers: &[String],
    runs: u64,
) -> Result<Vec<OptimizerRuns>, CompareError> {
    optimizers
        .iter()
        .map(|name| {
            let curves = (0..runs)
                .map(|seed| {
                    let path = domain_dir.join(run_name(name, seed)).join("metrics.csv");
                    let run = read_metrics_csv(&path)?;
                    let (Some(e), Some(f)) = (run.metric_index("epoch"), run.metric_index("fid")) else {
                        return Err(CompareError::NoFid { path });
                    };
                    let curve: Vec<(f64, f64)> = run
                        .rows()
                        .iter()
                        .filter_map(|r| Some((r.values[e]?, r.values[f]?)))
                        .collect();
                    if curve.is_empty() {
                        return Err(CompareError::NoFid { path });
                    }
                    Ok(curve)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(OptimizerRuns {
                name: name.clone(),
                curves,
            })
        })
        .collect()
}

/// The Markdown table: final FID mean ± std, median, best, per optimizer.
pub fn markdown_table(all: &[OptimizerRuns]) -> String {
    let mut s =
        String::from("| optimizer | runs | final FID mean ± std | median | best |\n|---|---|---|---|---|\n");
    for o in all {
        let mut f = o.finals();
        f.sort_by(f64::total_cmp);
        let (m, sd) = mean_std(&f);
        let median = if f.is_empty() { f64::NAN } else { f[f.len() / 2] };
        let best = f.first().copied().unwrap_or(f64::NAN);
        s += &format!(
            "| {} | {} | {m:.2} ± {sd:.2} | {median:.2} | {best:.2} |\n",
            o.name,
            f.len()
        );
    }
    s
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
    RgbImage {
        width: w as usize,
        height: h as usize,
        data: buf,
    }
    .save_png(path)
    .map_err(|e| draw_err(path)(e.to_string()))
}

/// FID over epochs, mean line and ± std band per optimizer, into `out` (PNG).
///
/// # Errors
/// [`CompareError::Draw`].
pub fn plot_curves(all: &[OptimizerRuns], title: &str, out: &Path) -> Result<(), CompareError> {
    let err = draw_err(out);
    register_fonts().map_err(|e| err(e.to_string()))?;
    let size = (900u32, 560u32);
    let stats: Vec<Vec<(f64, f64, f64)>> = all.iter().map(OptimizerRuns::mean_std).collect();
    let pts = stats.iter().flatten();
    let x_max = pts.clone().map(|p| p.0).fold(0.0, f64::max).max(1.0);
    let y_max = pts.clone().map(|p| p.1 + p.2).fold(0.0, f64::max) * 1.05 + 1e-9;
    let y_min = pts.map(|p| p.1 - p.2).fold(f64::INFINITY, f64::min).min(y_max) * 0.95;
    let mut buf = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_FAMILY, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, y_min..y_max)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("FID (mean ± std over runs)")
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

/// Quartiles by linear interpolation (numpy's default) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// A box plot of the final FIDs (box: quartiles, line: median, whiskers: min and max, dots:
/// the runs), into `out` (PNG).
///
/// # Errors
/// [`CompareError::Draw`].
pub fn plot_box(all: &[OptimizerRuns], title: &str, out: &Path) -> Result<(), CompareError> {
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
    let all_v = finals.iter().flatten();
    let y_max = all_v.clone().fold(0.0, |a: f64, b| a.max(*b)) * 1.05 + 1e-9;
    let y_min = all_v.fold(f64::INFINITY, |a: f64, b| a.min(*b)).min(y_max) * 0.95;
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
            .y_desc("final FID")
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

    fn runs() -> Vec<OptimizerRuns> {
        vec![
            OptimizerRuns {
                name: "adam".into(),
                curves: vec![vec![(1.0, 300.0), (2.0, 200.0)], vec![(1.0, 320.0), (2.0, 240.0)]],
            },
            OptimizerRuns {
                name: "sisa".into(),
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
        let t = markdown_table(&r);
        assert!(
            t.contains("| sisa | 2 | 160.00 ± 14.14 | 170.00 | 150.00 |"),
            "{t}"
        );
    }

    #[test]
    fn plots_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("curves.png"), dir.path().join("box.png"));
        plot_curves(&runs(), "FID", &a).unwrap();
        plot_box(&runs(), "final FID", &b).unwrap();
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
        let all = collect(dir.path(), &["adam".into()], 2).unwrap();
        assert_eq!(all[0].curves, vec![vec![(1.0, 100.0)], vec![(1.0, 101.0)]]);
        let err = collect(dir.path(), &["sisa".into()], 1).unwrap_err().to_string();
        assert!(err.contains("sisa-seed0"), "{err}");
    }
}
