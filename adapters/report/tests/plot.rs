//! Tests of `report::plot` (metrics table, `metrics.csv`, PNG charts) and `report::domain`.
//!
//! Charts are checked by decoding the PNG: size, how much is drawn, and which exact colours of
//! the palette appear where (curves, legend samples, gaps).

use std::path::{Path, PathBuf};

use report::domain::{report, Report};
use report::plot::{
    plot_curves, read_metrics_csv, write_metrics_csv, Axis, CsvErrorKind, PlotError, PlotOptions, Run,
    YScale, PALETTE,
};

/// A decoded RGB8 image.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn open(path: &Path) -> Image {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .expect("a PNG");
        let mut rgb = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut rgb).expect("decodes");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        rgb.truncate(info.buffer_size());
        Image {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn count(&self, pred: impl Fn([u8; 3]) -> bool) -> usize {
        self.rgb.chunks(3).filter(|p| pred([p[0], p[1], p[2]])).count()
    }

    /// Columns holding at least one pixel of exactly `color`.
    fn columns_with(&self, color: [u8; 3]) -> Vec<usize> {
        (0..self.width)
            .filter(|&x| (0..self.height).any(|y| self.pixel(x, y) == color))
            .collect()
    }

    /// The longest horizontal run of pixels of exactly `color` on one row.
    fn longest_row_run(&self, color: [u8; 3]) -> usize {
        let mut best = 0;
        for y in 0..self.height {
            let mut run = 0;
            for x in 0..self.width {
                run = if self.pixel(x, y) == color { run + 1 } else { 0 };
                best = best.max(run);
            }
        }
        best
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A run with `loss` = `f(step)` for steps 0, 10, ..., 10·(n-1) and 0.1 s per step.
fn run_with(name: &str, n: u64, f: impl Fn(u64) -> f64) -> Run {
    let mut run = Run::new(name, ["loss"]).unwrap();
    for i in 0..n {
        let step = 10 * i;
        run.push(step, step as f64 * 0.1, &[("loss", f(step))]).unwrap();
    }
    run
}

// ---------------------------------------------------------------- metrics.csv

#[test]
fn csv_with_missing_cells_and_non_finite_values() {
    let text = "step,wall_time,train/loss,test/accuracy\n\
                0,0.0,2.5,\n\
                10,1.25,1.5,0.5\n\
                \n\
                20,2.5,NaN,\n\
                30,3.75,0.75,0.875\n";
    let run = Run::from_csv_str("r", text).unwrap();
    assert_eq!(run.metrics(), ["train/loss", "test/accuracy"]);
    assert_eq!(run.rows().len(), 4, "the blank line is not a row");
    assert_eq!(run.rows()[0].values, [Some(2.5), None]);
    assert_eq!(run.rows()[3].step, 30);
    assert_eq!(run.rows()[3].wall_time_s, 3.75);
    let acc: Vec<(u64, f64)> = run.points("test/accuracy").map(|p| (p.step, p.value)).collect();
    assert_eq!(acc, [(10, 0.5), (30, 0.875)], "missing cells are not points");
    let loss: Vec<f64> = run.points("train/loss").map(|p| p.value).collect();
    assert_eq!(loss.len(), 4);
    assert!(loss[2].is_nan(), "NaN is kept as data");
    assert_eq!(run.final_value("train/loss"), Some(0.75));
    assert_eq!(
        run.best_value("train/loss", report::plot::Goal::Minimize),
        Some(0.75)
    );
    assert_eq!(
        run.best_value("test/accuracy", report::plot::Goal::Maximize),
        Some(0.875)
    );
    assert_eq!(run.last_step(), Some(30));
    assert_eq!(run.wall_clock_s(), Some(3.75));
    // Windows line endings read the same.
    assert_eq!(
        Run::from_csv_str("r", &text.replace('\n', "\r\n"))
            .unwrap()
            .rows()
            .len(),
        4
    );
}

#[test]
fn malformed_line_is_a_typed_error_naming_file_and_line() {
    let dir = tmp();
    let run_dir = dir.path().join("sisa");
    std::fs::create_dir(&run_dir).unwrap();
    let path = run_dir.join("metrics.csv");
    // Line 4 has one cell too few (a truncated write).
    std::fs::write(
        &path,
        "step,wall_time,loss,acc\n0,0.0,1.0,\n10,1.0,0.9,0.5\n20,2.0\n",
    )
    .unwrap();
    let err = read_metrics_csv(&path).unwrap_err();
    let PlotError::Csv { path: p, source } = &err else {
        panic!("expected PlotError::Csv, got {err:?}")
    };
    assert_eq!(p, &path);
    assert_eq!(source.line, 4);
    assert_eq!(
        source.kind,
        CsvErrorKind::CellCount {
            expected: 4,
            found: 2
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("metrics.csv") && msg.contains("line 4"), "{msg}");

    // A value that is not a number names its metric and cell; the blank line still counts.
    let err = Run::from_csv_str("r", "step,wall_time,loss\n\n0,0,abc\n").unwrap_err();
    assert_eq!(err.line, 3);
    assert_eq!(
        err.kind,
        CsvErrorKind::BadValue {
            metric: "loss".into(),
            cell: "abc".into()
        }
    );
    // Step and wall time are required.
    assert_eq!(
        Run::from_csv_str("r", "step,wall_time\n-1,0\n").unwrap_err().kind,
        CsvErrorKind::BadStep("-1".into())
    );
    assert_eq!(
        Run::from_csv_str("r", "step,wall_time\n1,\n").unwrap_err().kind,
        CsvErrorKind::BadWallTime(String::new())
    );
    // Header problems are reported on line 1.
    for bad in [
        "wall_time,step,loss\n",
        "step,wall_time,loss,loss\n",
        "step,wall_time,,x\n",
        "",
    ] {
        let e = Run::from_csv_str("r", bad).unwrap_err();
        assert_eq!(e.line, 1, "{bad:?}: {e}");
    }
}

#[test]
fn csv_round_trip_is_exact_and_run_is_named_after_its_directory() {
    let dir = tmp();
    let run_dir = dir.path().join("adamw-lr3e-4");
    std::fs::create_dir(&run_dir).unwrap();
    let mut run = Run::new("adamw-lr3e-4", ["train/loss", "test/accuracy"]).unwrap();
    run.push(0, 0.0, &[("train/loss", std::f64::consts::LN_10)])
        .unwrap();
    run.push(
        1,
        0.1 + 0.2,
        &[("train/loss", 1e-20), ("test/accuracy", 1.0 / 3.0)],
    )
    .unwrap();
    run.push(2, 12345.678, &[("test/accuracy", f64::INFINITY)])
        .unwrap();
    let path = run_dir.join("metrics.csv");
    write_metrics_csv(&path, &run).unwrap();
    assert_eq!(read_metrics_csv(&path).unwrap(), run);
    // Invalid tables are refused up front.
    assert!(matches!(
        Run::new("x", ["a,b"]),
        Err(PlotError::InvalidTable { .. })
    ));
    assert!(matches!(
        Run::new("x", ["step"]),
        Err(PlotError::InvalidTable { .. })
    ));
    assert!(matches!(
        run.push(3, 0.0, &[("nope", 1.0)]),
        Err(PlotError::InvalidTable { .. })
    ));
}

// ---------------------------------------------------------------- charts

#[test]
fn chart_png_has_size_curve_colours_and_two_legend_entries() {
    let dir = tmp();
    let out = dir.path().join("loss.png");
    // Steep curves: only the legend samples draw long horizontal runs of one colour.
    let runs = [
        run_with("sisa", 50, |s| 2.0 * s as f64),
        run_with("adam", 50, |s| 1000.0 - 2.0 * s as f64),
    ];
    let plot = plot_curves(&runs, "loss", Axis::Steps, &out, &PlotOptions::default()).unwrap();
    assert_eq!((plot.width, plot.height), (1000, 600));
    assert!(!plot.log_y, "a line through 0 can't be on a log axis");
    assert_eq!(plot.series.len(), 2);
    assert_eq!(plot.series[0].color, PALETTE[0]);
    assert_eq!(plot.series[1].color, PALETTE[1]);
    assert_eq!((plot.series[0].points, plot.series[0].skipped), (50, 0));

    let img = Image::open(&out);
    assert_eq!((img.width, img.height), (1000, 600));
    let white = img.count(|p| p == [255, 255, 255]);
    let drawn = img.width * img.height - white;
    assert!(drawn > 10_000, "only {drawn} non-white pixels");
    assert!(white > img.width * img.height / 2, "the background is white");
    for color in [PALETTE[0], PALETTE[1]] {
        let n = img.count(|p| p == color);
        assert!(n > 500, "colour {color:?} has only {n} pixels");
        // The legend sample: a horizontal stroke of about 26 px.
        let run = img.longest_row_run(color);
        assert!((20..=40).contains(&run), "legend stroke of {color:?} is {run} px");
    }
    // The two curves cross the whole plot: their colours span most of the width.
    let cols = img.columns_with(PALETTE[0]);
    assert!(cols.last().unwrap() - cols.first().unwrap() > 800);
    // Unused palette colours don't appear.
    assert_eq!(img.count(|p| p == PALETTE[2]), 0);
}

#[test]
fn non_finite_values_leave_a_visible_gap_and_missing_cells_do_not() {
    let dir = tmp();
    // Steps 0..=990; NaN / inf from step 400 to 600.
    let gappy = run_with("gappy", 100, |s| {
        if (400..=600).contains(&s) {
            f64::NAN
        } else {
            s as f64
        }
    });
    let mut sparse = Run::new("sparse", ["loss"]).unwrap();
    for i in 0..100u64 {
        // Only every 10th row has the metric; the others are missing cells.
        let v: Vec<Option<f64>> = vec![(i % 10 == 0).then_some(1000.0 - i as f64 * 10.0)];
        sparse
            .push_row(report::plot::Row {
                step: i * 10,
                wall_time_s: i as f64,
                values: v,
            })
            .unwrap();
    }
    let out = dir.path().join("gaps.png");
    let plot = plot_curves(
        &[gappy, sparse],
        "loss",
        Axis::Steps,
        &out,
        &PlotOptions::default(),
    )
    .unwrap();
    assert_eq!((plot.series[0].points, plot.series[0].skipped), (79, 21));
    assert_eq!((plot.series[1].points, plot.series[1].skipped), (10, 0));

    let img = Image::open(&out);
    let max_gap = |cols: &[usize]| cols.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    let gappy_cols = img.columns_with(PALETTE[0]);
    let span = gappy_cols.last().unwrap() - gappy_cols.first().unwrap();
    // Steps 390 → 610 are about 22 % of the x axis: no pixel of the curve there.
    assert!(
        max_gap(&gappy_cols) > span / 6,
        "gap {} of {span}",
        max_gap(&gappy_cols)
    );
    // The sparse run's line joins its points across the missing cells.
    assert!(max_gap(&img.columns_with(PALETTE[1])) < 5);
}

#[test]
fn log_scale_is_chosen_for_losses_spanning_decades() {
    let dir = tmp();
    let out = dir.path().join("log.png");
    let decaying = [run_with("a", 100, |s| 10.0 * (-(s as f64) / 100.0).exp())];
    let plot = plot_curves(&decaying, "loss", Axis::WallClock, &out, &PlotOptions::default()).unwrap();
    assert!(plot.log_y);
    let flat = [run_with("a", 100, |s| 0.5 + s as f64 / 10000.0)];
    assert!(
        !plot_curves(&flat, "loss", Axis::Steps, &out, &PlotOptions::default())
            .unwrap()
            .log_y
    );

    // On a forced log axis, values ≤ 0 are left out like NaN.
    let with_zero = [run_with("a", 10, |s| s as f64)];
    let opts = PlotOptions {
        y_scale: YScale::Log,
        width: 640,
        height: 400,
        ..Default::default()
    };
    let plot = plot_curves(&with_zero, "loss", Axis::Steps, &out, &opts).unwrap();
    assert!(plot.log_y);
    assert_eq!((plot.series[0].points, plot.series[0].skipped), (9, 1));
    let img = Image::open(&out);
    assert_eq!((img.width, img.height), (640, 400));
    assert!(img.count(|p| p == PALETTE[0]) > 100);
}

#[test]
fn nothing_to_plot_and_bad_sizes_are_errors() {
    let dir = tmp();
    let out = dir.path().join("x.png");
    let runs = [run_with("a", 5, |_| f64::NAN)];
    let err = plot_curves(&runs, "loss", Axis::Steps, &out, &PlotOptions::default()).unwrap_err();
    assert!(
        matches!(&err, PlotError::NoData { metric, runs } if metric == "loss" && runs == &["a"]),
        "{err:?}"
    );
    let err = plot_curves(&runs, "accuracy", Axis::Steps, &out, &PlotOptions::default()).unwrap_err();
    assert!(matches!(err, PlotError::NoData { .. }));
    let tiny = PlotOptions {
        width: 10,
        ..Default::default()
    };
    let ok_runs = [run_with("a", 5, |s| s as f64)];
    assert!(matches!(
        plot_curves(&ok_runs, "loss", Axis::Steps, &out, &tiny),
        Err(PlotError::InvalidOptions(_))
    ));
    assert!(!out.exists(), "no file is written on error");
}

// ---------------------------------------------------------------- report

/// `runs/<domain>` with two runs, a diverged one, and a folder that is not a run.
fn synthetic_domain(root: &Path) -> PathBuf {
    let domain = root.join("mnist");
    let write = |run: &str, csv: &str, summary: Option<&str>| {
        let d = domain.join(run);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("metrics.csv"), csv).unwrap();
        if let Some(s) = summary {
            std::fs::write(d.join("summary.json"), s).unwrap();
        }
    };
    write(
        "sisa",
        "step,wall_time,train/loss,test/accuracy\n\
         0,0.0,1.0,\n10,1.0,0.5,0.5\n20,2.0,0.25,\n30,3.0,0.4,0.8\n40,4.5,0.3,0.7\n",
        Some(r#"{"optimizer": "sisa", "m": 4, "test_accuracy": 0.7}"#),
    );
    write(
        "adam",
        "step,wall_time,train/loss,test/accuracy\n0,0.0,2.0,\n10,90.0,1.5,0.25\n20,180.0,0.75,0.5\n",
        None,
    );
    write(
        "diverged",
        "step,wall_time,train/loss\n0,0.0,3.0\n10,1.0,2.0\n20,2.0,NaN\n",
        Some(r#"{"optimizer": "sgd", "stopped": "non-finite loss at step 20"}"#),
    );
    std::fs::create_dir_all(domain.join("notes")).unwrap();
    domain
}

fn row<'a>(md: &'a str, run: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(&format!("| {run} |")))
        .unwrap_or_else(|| panic!("no row for {run}:\n{md}"))
}

#[test]
fn report_table_has_final_and_best_values() {
    let dir = tmp();
    let domain = synthetic_domain(dir.path());
    let rep: Report = report(&domain).unwrap();

    let names: Vec<&str> = rep.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["adam", "diverged", "sisa"]);
    let sisa = &rep.runs[2];
    assert_eq!(sisa.optimizer.as_deref(), Some("sisa"));
    assert_eq!((sisa.steps, sisa.wall_clock_s), (Some(40), Some(4.5)));
    let loss = sisa.metric("train/loss").unwrap();
    assert_eq!((loss.final_value, loss.best_value), (Some(0.3), Some(0.25)));
    let acc = sisa.metric("test/accuracy").unwrap();
    assert_eq!(
        (acc.final_value, acc.best_value),
        (Some(0.7), Some(0.8)),
        "accuracy: best is the largest"
    );
    assert_eq!(rep.runs[0].optimizer, None, "adam has no summary.json");
    let diverged = rep.runs[1].metric("train/loss").unwrap();
    assert!(diverged.final_value.unwrap().is_nan());
    assert_eq!(diverged.best_value, Some(2.0));
    assert_eq!(rep.skipped.len(), 1);
    assert!(rep.skipped[0].0.ends_with("notes"));

    let md = std::fs::read_to_string(&rep.markdown).unwrap();
    assert_eq!(rep.markdown, domain.join("report.md"));
    assert!(md.contains(
        "| run | optimizer | steps | wall-clock | train/loss final | train/loss best (min) | \
         test/accuracy final | test/accuracy best (max) |"
    ));
    assert_eq!(
        row(&md, "sisa"),
        "| sisa | sisa | 40 | 4.5 s | 0.3 | 0.25 | 0.7 | 0.8 |"
    );
    assert_eq!(
        row(&md, "adam"),
        "| adam | – | 20 | 3 min 00 s | 0.75 | 0.75 | 0.5 | 0.5 |"
    );
    assert_eq!(
        row(&md, "diverged"),
        "| diverged | sgd | 20 | 2.0 s | NaN | 2 | – | – |"
    );
    assert!(
        md.contains("![train/loss vs steps](plots/train_loss_steps.png)"),
        "{md}"
    );
    assert!(
        md.contains("non-finite loss at step 20"),
        "summaries are listed:\n{md}"
    );
    assert!(md.contains("`notes/`"), "{md}");

    // Two metrics × (steps, wall-clock), each a real chart with all its runs.
    let files: Vec<String> = rep
        .plots
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        [
            "train_loss_steps.png",
            "train_loss_wallclock.png",
            "test_accuracy_steps.png",
            "test_accuracy_wallclock.png"
        ]
    );
    for p in &rep.plots {
        assert_eq!(p.parent().unwrap(), domain.join("plots"));
        let img = Image::open(p);
        assert_eq!((img.width, img.height), (1000, 600));
    }
    let loss_chart = Image::open(&rep.plots[0]);
    for color in &PALETTE[..3] {
        assert!(
            loss_chart.count(|p| p == *color) > 100,
            "{color:?} missing from the loss chart"
        );
    }

    // Running it again overwrites (and does not take plots/ for a run).
    let again = report(&domain).unwrap();
    assert_eq!(again.runs.len(), 3);
    assert_eq!(again.paths().count(), 5);
}

#[test]
fn report_errors_name_the_problem() {
    let dir = tmp();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(report(&empty), Err(PlotError::NoRuns { .. })));
    assert!(matches!(
        report(&dir.path().join("missing")),
        Err(PlotError::NoRuns { .. })
    ));

    let domain = synthetic_domain(dir.path());
    std::fs::write(domain.join("adam/summary.json"), "[1, 2]").unwrap();
    let err = report(&domain).unwrap_err();
    assert!(
        matches!(&err, PlotError::Summary { path, .. } if path.ends_with("adam/summary.json")),
        "{err}"
    );
    std::fs::remove_file(domain.join("adam/summary.json")).unwrap();
    std::fs::write(domain.join("sisa/metrics.csv"), "step,wall_time,loss\n0,zero,1\n").unwrap();
    let err = report(&domain).unwrap_err();
    assert!(
        matches!(&err, PlotError::Csv { path, source } if path.ends_with("sisa/metrics.csv") && source.line == 2),
        "{err}"
    );
}

#[test]
fn report_binary_prints_the_paths() {
    let dir = tmp();
    let domain = synthetic_domain(dir.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_report"))
        .arg(&domain)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert_eq!(Path::new(lines[0]), domain.join("report.md"));
    assert!(lines.iter().all(|l| Path::new(l).is_file()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes"));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_report"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}
