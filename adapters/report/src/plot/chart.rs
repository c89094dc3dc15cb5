//! Line charts of one metric for several runs, drawn with plotters into a PNG.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::text::{Align, Canvas, TextPainter};
use super::{write_atomically, PlotError, Run};

/// The line colours, in the order runs get them: matplotlib's `tab10` cycle. Run `i` of a chart
/// is drawn in `PALETTE[i % 10]`.
pub const PALETTE: [[u8; 3]; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];

/// With [`YScale::Auto`], a logarithmic y axis is used when every value is positive and the
/// largest is at least this many times the smallest.
pub const AUTO_LOG_RATIO: f64 = 20.0;

/// A point in data coordinates.
type Xy = (f64, f64);
/// One run's curve: runs of consecutive drawable points, broken where values are not.
type Segments = Vec<Vec<Xy>>;

/// What the x axis shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// The optimizer step.
    Steps,
    /// Wall-clock time since the start of the run, in seconds, minutes or hours depending on the
    /// longest run.
    WallClock,
}

impl Axis {
    /// A short name for file names and titles: `steps` or `wallclock`.
    pub fn as_str(self) -> &'static str {
        match self {
            Axis::Steps => "steps",
            Axis::WallClock => "wallclock",
        }
    }
}

/// How the y axis is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum YScale {
    /// Linear.
    Linear,
    /// Logarithmic (base 10); values ≤ 0 can't be shown and leave gaps, like non-finite ones.
    Log,
    /// Logarithmic when all values are positive and span a factor of at least
    /// [`AUTO_LOG_RATIO`] (typical of losses), linear otherwise.
    #[default]
    Auto,
}

/// Options of [`plot_curves`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Image width in pixels, 200 to 8000. Default 1000.
    pub width: u32,
    /// Image height in pixels, 150 to 8000. Default 600.
    pub height: u32,
    /// The chart's title. Default: `<metric> vs <steps|wall-clock>`.
    pub title: Option<String>,
    /// The x axis label, for step axes that count something else (tokens, samples).
    /// Default: `step`, or `wall-clock (<unit>)`.
    pub x_label: Option<String>,
    /// The y axis label. Default: the metric's name.
    pub y_label: Option<String>,
    /// The y axis scale. Default [`YScale::Auto`].
    pub y_scale: YScale,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width: 1000,
            height: 600,
            title: None,
            x_label: None,
            y_label: None,
            y_scale: YScale::Auto,
        }
    }
}

/// What [`plot_curves`] drew.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePlot {
    /// The PNG file written.
    pub path: PathBuf,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Whether the y axis is logarithmic.
    pub log_y: bool,
    /// One entry per run that had at least one point drawn, in legend order.
    pub series: Vec<Series>,
}

/// One run's curve in a [`CurvePlot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The run's name (the legend label).
    pub run: String,
    /// The line colour (RGB), from [`PALETTE`].
    pub color: [u8; 3],
    /// Points drawn.
    pub points: usize,
    /// Logged values left out because they are non-finite (or ≤ 0 on a log axis); the line is
    /// broken where they are.
    pub skipped: usize,
}

/// Draws `metric` of every run in `runs` against steps or wall-clock into the PNG `out_png`:
/// one line per run in its own colour (run `i` gets [`PALETTE`]`[i % 10]`), a legend placed in
/// the emptiest corner, axis labels, a title, light grid lines.
///
/// Missing values (empty cells) are skipped and the line joins its neighbours; non-finite values
/// (and values ≤ 0 on a log axis) break the line, so the gap is visible. A point with no
/// neighbour on its side of a gap is drawn as a dot. Runs without the metric are left out of
/// the chart and the legend. The parent directory of `out_png` must exist.
///
/// # Errors
/// [`PlotError::NoData`] when no run has a drawable value of `metric`,
/// [`PlotError::InvalidOptions`] for sizes out of range, [`PlotError::Io`] /
/// [`PlotError::Png`] when the file can't be written, [`PlotError::Draw`] if plotters fails.
pub fn plot_curves(
    runs: &[Run],
    metric: &str,
    x: Axis,
    out_png: &Path,
    options: &PlotOptions,
) -> Result<CurvePlot, PlotError> {
    let (w, h) = (options.width, options.height);
    if !(200..=8000).contains(&w) || !(150..=8000).contains(&h) {
        return Err(PlotError::InvalidOptions(format!(
            "image size {w}×{h} is outside 200..=8000 × 150..=8000 pixels"
        )));
    }

    let no_data = || PlotError::NoData {
        metric: metric.to_string(),
        runs: runs.iter().map(|r| r.name().to_string()).collect(),
    };
    let max_wall = runs
        .iter()
        .flat_map(|r| r.points(metric))
        .map(|p| p.wall_time_s)
        .fold(0.0_f64, f64::max);
    let unit = TimeUnit::for_seconds(max_wall);
    // Each run's logged points as (x, y), y possibly non-finite.
    let raw: Vec<Vec<Xy>> = runs
        .iter()
        .map(|r| {
            r.points(metric)
                .map(|p| match x {
                    Axis::Steps => (p.step as f64, p.value),
                    Axis::WallClock => (p.wall_time_s / unit.seconds(), p.value),
                })
                .collect()
        })
        .collect();

    let finite = || raw.iter().flatten().filter(|p| p.1.is_finite());
    let log_y = match options.y_scale {
        YScale::Linear => false,
        YScale::Log => true,
        YScale::Auto => {
            let (lo, hi) = min_max(finite().map(|p| p.1)).ok_or_else(no_data)?;
            lo > 0.0 && hi / lo >= AUTO_LOG_RATIO
        }
    };
    let drawable = |y: f64| y.is_finite() && (!log_y || y > 0.0);

    // Split each run into runs of drawable points.
    let mut curves = Vec::new();
    let mut series = Vec::new();
    for (i, (run, pts)) in runs.iter().zip(&raw).enumerate() {
        let mut segments: Segments = vec![Vec::new()];
        let mut skipped = 0;
        for &(px, py) in pts {
            if drawable(py) {
                segments.last_mut().expect("never empty").push((px, py));
            } else {
                skipped += 1;
                if !segments.last().expect("never empty").is_empty() {
                    segments.push(Vec::new());
                }
            }
        }
        segments.retain(|s| !s.is_empty());
        let points: usize = segments.iter().map(Vec::len).sum();
        if points == 0 {
            continue;
        }
        let color = PALETTE[i % PALETTE.len()];
        series.push(Series {
            run: run.name().to_string(),
            color,
            points,
            skipped,
        });
        curves.push(segments);
    }
    let all = || curves.iter().flatten().flatten();
    let (x0, x1) = min_max(all().map(|p| p.0)).ok_or_else(no_data)?;
    let (y0, y1) = min_max(all().map(|p| p.1)).ok_or_else(no_data)?;

    let x_range = padded(x0, x1, 0.02);
    let x_desc = options.x_label.clone().unwrap_or_else(|| match x {
        Axis::Steps => "step".to_string(),
        Axis::WallClock => format!("wall-clock ({})", unit.label()),
    });
    let title = options.title.clone().unwrap_or_else(|| {
        let against = match x {
            Axis::Steps => "steps",
            Axis::WallClock => "wall-clock",
        };
        format!("{metric} vs {against}")
    });
    let chart = ChartSpec {
        width: w,
        height: h,
        title,
        x_desc,
        y_desc: options.y_label.clone().unwrap_or_else(|| metric.to_string()),
        x_is_steps: x == Axis::Steps,
        series: &series,
        curves: &curves,
        scale: (f64::from(w) / 1000.0).min(f64::from(h) / 600.0).clamp(0.8, 4.0),
    };

    let mut buf = vec![255u8; w as usize * h as usize * 3];
    if log_y {
        let (l0, l1) = padded(y0.log10(), y1.log10(), 0.05);
        chart.render(&mut buf, x_range, LogAxis { lo: l0, hi: l1 }, true, |y| y.log10())?;
    } else {
        let r = padded(y0, y1, 0.05);
        chart.render(&mut buf, x_range, RangedCoordf64::from(r.0..r.1), false, |y| y)?;
    }
    write_png(out_png, w, h, &buf)?;
    Ok(CurvePlot {
        path: out_png.to_path_buf(),
        width: w,
        height: h,
        log_y,
        series,
    })
}

/// Everything [`ChartSpec::render`] needs apart from the axes.
struct ChartSpec<'a> {
    width: u32,
    height: u32,
    title: String,
    x_desc: String,
    y_desc: String,
    x_is_steps: bool,
    series: &'a [Series],
    curves: &'a [Segments],
    /// Font and line scale relative to a 1000×600 image.
    scale: f64,
}

/// Text colour (matplotlib's near-black).
const TEXT: [u8; 3] = [0x26, 0x26, 0x26];
/// Frame and tick colour.
const AXIS: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// Grid line colour.
const GRID: RGBColor = RGBColor(0xe5, 0xe5, 0xe5);

impl ChartSpec<'_> {
    /// Draws the chart into the RGB8 buffer `buf` with the y axis `y_coord`; `y_lin` maps a
    /// value to the linear space of that axis (identity or log10), used to place the legend.
    ///
    /// plotters draws the lines, grid, frame, ticks and legend box; the text is drawn
    /// afterwards by [`TextPainter`] from the pixel positions plotters used.
    fn render<Y>(
        &self,
        buf: &mut [u8],
        x_range: (f64, f64),
        y_coord: Y,
        y_is_log: bool,
        y_lin: impl Fn(f64) -> f64,
    ) -> Result<(), PlotError>
    where
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let (w, h) = (self.width, self.height);
        let painter = TextPainter::new()?;
        let s = self.scale as f32;
        let px = |v: f32| (v * s).round() as i32;
        let (title_px, label_px, tick_px, legend_px) = (22.0 * s, 17.0 * s, 14.0 * s, 15.0 * s);
        let tick_len = px(5.0);

        // Ticks and their labels, then the margins they need.
        let y_range = y_coord.range();
        let x_coord = RangedCoordf64::from(x_range.0..x_range.1);
        let x_keys = x_coord.key_points(9);
        let x_keys: Vec<(f64, String)> = if self.x_is_steps {
            x_keys.into_iter().map(|v| (v, fmt_steps(v))).collect()
        } else {
            fmt_axis(&x_keys)
        };
        let y_keys = y_coord.key_points(8);
        let y_keys: Vec<(f64, String)> = if y_is_log {
            y_keys.into_iter().map(|v| (v, fmt_number(v))).collect()
        } else {
            fmt_axis(&y_keys)
        };
        let y_tick_w = y_keys
            .iter()
            .map(|(_, l)| painter.width(l, tick_px))
            .fold(0.0, f32::max);
        let last_x_w = x_keys.last().map_or(0.0, |(_, l)| painter.width(l, tick_px));
        let left = px(12.0)
            + painter.height(label_px).ceil() as i32
            + px(10.0)
            + y_tick_w.ceil() as i32
            + px(7.0)
            + tick_len;
        let top = if self.title.is_empty() {
            px(20.0)
        } else {
            px(14.0) + painter.height(title_px).ceil() as i32 + px(10.0)
        };
        let bottom = tick_len
            + px(6.0)
            + painter.height(tick_px).ceil() as i32
            + px(8.0)
            + painter.height(label_px).ceil() as i32
            + px(12.0);
        let right = px(24.0).max((last_x_w / 2.0).ceil() as i32 + px(8.0));
        if w as i32 - left - right < 50 || h as i32 - top - bottom < 50 {
            return Err(PlotError::InvalidOptions(format!(
                "a {w}×{h} image leaves no room for the plot"
            )));
        }

        // Legend box size (pixels).
        let pad = 10.0 * s;
        let line_len = 26.0 * s;
        let gap = 8.0 * s;
        let row_h = (legend_px * 1.45).round();
        let label_w = self
            .series
            .iter()
            .map(|r| painter.width(&r.run, legend_px))
            .fold(0.0, f32::max);
        let box_w = (pad + line_len + gap + label_w + pad).round() as i32;
        let box_h = (1.4 * pad + self.series.len() as f32 * row_h).round() as i32;
        let inset = px(10.0);

        let mut x_ticks = Vec::new();
        let mut y_ticks = Vec::new();
        let mut legend_rows = Vec::new();
        let plot;
        {
            let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(draw_err)?;
            let area = root.margin(top, bottom, left, right);
            let mut chart = ChartBuilder::on(&area)
                .build_cartesian_2d(x_coord, y_coord)
                .map_err(draw_err)?;
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            let (pl, pr, pt, pb) = (xr.start, xr.end - 1, yr.start, yr.end - 1);
            plot = (pl, pr, pt, pb);
            let line = |a: (i32, i32), b: (i32, i32), color: RGBColor| {
                root.draw(&PathElement::new(vec![a, b], color.stroke_width(1)))
                    .map_err(draw_err)
            };

            // Grid and ticks (outside the frame, as matplotlib draws them).
            for (v, label) in &x_keys {
                let x = chart.backend_coord(&(*v, y_range.start)).0;
                if (pl..=pr).contains(&x) {
                    line((x, pt), (x, pb), GRID)?;
                    line((x, pb), (x, pb + tick_len), AXIS)?;
                    x_ticks.push((x, label.as_str()));
                }
            }
            for (v, label) in &y_keys {
                let y = chart.backend_coord(&(x_range.0, *v)).1;
                if (pt..=pb).contains(&y) {
                    line((pl, y), (pr, y), GRID)?;
                    line((pl - tick_len, y), (pl, y), AXIS)?;
                    y_ticks.push((y, label.as_str()));
                }
            }

            let line_w = px(2.0).max(2) as u32;
            for (info, segments) in self.series.iter().zip(self.curves) {
                let [r, g, b] = info.color;
                let color = RGBColor(r, g, b);
                for seg in segments {
                    if seg.len() == 1 {
                        chart.draw_series(std::iter::once(Circle::new(seg[0], px(3.0), color.filled())))
                    } else {
                        chart.draw_series(LineSeries::new(seg.iter().copied(), color.stroke_width(line_w)))
                    }
                    .map_err(draw_err)?;
                }
            }

            // The frame: all four sides, like matplotlib's spines.
            root.draw(&Rectangle::new([(pl, pt), (pr, pb)], AXIS.stroke_width(1)))
                .map_err(draw_err)?;

            // The legend, in the emptiest corner.
            let (plot_w, plot_h) = ((pr - pl) as f64, (pb - pt) as f64);
            let frac = (
                f64::from(box_w + inset) / plot_w,
                f64::from(box_h + inset) / plot_h,
            );
            let (ylo, yhi) = (y_lin(y_range.start), y_lin(y_range.end));
            let (right_side, upper) = legend_corner(self.curves, x_range, (ylo, yhi), &y_lin, frac);
            let bx = if right_side {
                pr - inset - box_w
            } else {
                pl + inset
            };
            let by = if upper { pt + inset } else { pb - inset - box_h };
            root.draw(&Rectangle::new(
                [(bx, by), (bx + box_w, by + box_h)],
                WHITE.mix(0.9).filled(),
            ))
            .map_err(draw_err)?;
            root.draw(&Rectangle::new(
                [(bx, by), (bx + box_w, by + box_h)],
                RGBColor(0xcc, 0xcc, 0xcc),
            ))
            .map_err(draw_err)?;
            let lw = px(2.5).max(1) as u32;
            for (i, info) in self.series.iter().enumerate() {
                let [r, g, b] = info.color;
                let cy = by + (0.7 * pad + (i as f32 + 0.5) * row_h).round() as i32;
                let x0 = bx + pad.round() as i32;
                root.draw(&PathElement::new(
                    vec![(x0, cy), (x0 + line_len.round() as i32, cy)],
                    RGBColor(r, g, b).stroke_width(lw),
                ))
                .map_err(draw_err)?;
                legend_rows.push(((x0 as f32 + line_len + gap), cy as f32, info.run.as_str()));
            }
            root.present().map_err(draw_err)?;
        }

        // Text.
        let (pl, pr, pt, pb) = plot;
        let mut canvas = Canvas {
            buf,
            width: w,
            height: h,
        };
        let cx = (pl + pr) as f32 / 2.0;
        let cy = (pt + pb) as f32 / 2.0;
        use Align::{Center, End, Start};
        if !self.title.is_empty() {
            painter.draw(
                &mut canvas,
                &self.title,
                title_px,
                (cx, 14.0 * s),
                (Center, Start),
                TEXT,
            );
        }
        let x_label_top = (pb + tick_len) as f32 + 5.0 * s;
        for (x, label) in x_ticks {
            painter.draw(
                &mut canvas,
                label,
                tick_px,
                (x as f32, x_label_top),
                (Center, Start),
                TEXT,
            );
        }
        for (y, label) in y_ticks {
            let x = (pl - tick_len) as f32 - 6.0 * s;
            painter.draw(&mut canvas, label, tick_px, (x, y as f32), (End, Center), TEXT);
        }
        let x_desc_top = x_label_top + painter.height(tick_px) + 8.0 * s;
        painter.draw(
            &mut canvas,
            &self.x_desc,
            label_px,
            (cx, x_desc_top),
            (Center, Start),
            TEXT,
        );
        let y_desc_x = 12.0 * s + painter.height(label_px) / 2.0;
        painter.draw_upwards(&mut canvas, &self.y_desc, label_px, (y_desc_x, cy), TEXT);
        for (x, y, label) in legend_rows {
            painter.draw(&mut canvas, label, legend_px, (x, y), (Start, Center), TEXT);
        }
        Ok(())
    }
}

/// Picks the plot corner whose legend-sized box (`frac` of the plot's width and height) covers
/// the fewest points of the curves, like matplotlib's `loc="best"`; ties go to upper right,
/// lower right, upper left, lower left in that order. Returns `(right, upper)`.
fn legend_corner(
    curves: &[Segments],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    y_lin: &impl Fn(f64) -> f64,
    (bw, bh): (f64, f64),
) -> (bool, bool) {
    let norm = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0), (y_lin(y) - y0) / (y1 - y0));
    // Sample along every segment so that a sparse line crossing a corner counts too.
    let mut pts = Vec::new();
    for seg in curves.iter().flatten() {
        for pair in seg.windows(2) {
            let (a, b) = (norm(pair[0]), norm(pair[1]));
            let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
            let n = (len / 0.01).ceil().clamp(1.0, 200.0) as usize;
            pts.extend((0..n).map(|k| {
                let t = k as f64 / n as f64;
                (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
            }));
        }
        if let Some(&last) = seg.last() {
            pts.push(norm(last));
        }
    }
    let corners = [(true, true), (true, false), (false, true), (false, false)];
    let count = |&(right, upper): &(bool, bool)| {
        let (cx, cy) = (
            if right { 1.0 - bw } else { 0.0 },
            if upper { 1.0 - bh } else { 0.0 },
        );
        pts.iter()
            .filter(|(x, y)| *x >= cx && *x <= cx + bw && *y >= cy && *y <= cy + bh)
            .count()
    };
    let mut best = corners[0];
    for c in &corners[1..] {
        if count(c) < count(&best) {
            best = *c;
        }
    }
    best
}

/// A base-10 logarithmic axis with ticks at 1, 2, 5 or every integer times powers of ten,
/// whichever gives enough labels. (plotters' own `LogCoord` gives no tick at all on a range
/// within one decade.) `lo` and `hi` are log10 of the range's ends.
struct LogAxis {
    lo: f64,
    hi: f64,
}

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = ((value.log10() - self.lo) / (self.hi - self.lo)).clamp(-10.0, 10.0);
        (f64::from(limit.0) + t * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        log_ticks(self.lo, self.hi, hint.max_num_points())
    }

    fn range(&self) -> Range<f64> {
        10f64.powf(self.lo)..10f64.powf(self.hi)
    }
}

/// Tick values on a log axis spanning `10^lo ..= 10^hi`, at most `max` of them: powers of
/// ten when there are four or more, else 1-2-5 or 1…9 multiples of them if they fit, else (a range too
/// narrow for any of these) the linear axis' round numbers.
fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let max = max.max(1);
    let (d0, d1) = (lo.floor() as i32, hi.ceil() as i32);
    let in_range = |v: f64| v.log10() >= lo - 1e-9 && v.log10() <= hi + 1e-9;
    let with = |mults: &[f64]| -> Vec<f64> {
        (d0..=d1)
            .flat_map(|d| mults.iter().map(move |m| m * 10f64.powi(d)))
            .filter(|&v| in_range(v))
            .collect()
    };
    let decades = with(&[1.0]);
    if decades.len() >= 4 {
        let k = decades.len().div_ceil(max);
        return decades.into_iter().step_by(k).collect();
    }
    let mut best = decades;
    for mults in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        if best.len() >= 4 {
            break;
        }
        let t = with(mults);
        if t.len() <= max && t.len() > best.len() {
            best = t;
        }
    }
    if best.len() < 2 {
        let linear: RangedCoordf64 = (10f64.powf(lo)..10f64.powf(hi)).into();
        best = linear.key_points(max.min(6));
    }
    best
}

/// The unit of the wall-clock axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
}

impl TimeUnit {
    /// Seconds up to 2 minutes, minutes up to 2 hours, hours beyond.
    fn for_seconds(longest: f64) -> TimeUnit {
        if longest <= 120.0 {
            TimeUnit::Seconds
        } else if longest <= 7200.0 {
            TimeUnit::Minutes
        } else {
            TimeUnit::Hours
        }
    }

    fn seconds(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1.0,
            TimeUnit::Minutes => 60.0,
            TimeUnit::Hours => 3600.0,
        }
    }

    fn label(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "s",
            TimeUnit::Minutes => "min",
            TimeUnit::Hours => "h",
        }
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// `lo..hi` widened by `frac` of its span on each side; a zero span is widened to a visible one.
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 {
        (lo - frac * span, hi + frac * span)
    } else {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    }
}

/// A tick label: up to 4 significant digits, trailing zeros trimmed, exponent notation
/// (`1e-4`, `2.5e6`) for magnitudes below 1e-3 or from 1e5 up.
pub(crate) fn fmt_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { format!("{v}") };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.3e}");
        let (mantissa, exp) = s.split_once('e').expect("exponent format");
        return format!("{}e{exp}", trim_zeros(mantissa));
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_string()
}

/// Labels of a linear axis' ticks, all with the same number of decimals (`0.0 0.5 1.0`, not
/// `0 0.5 1`), or all in exponent notation when any needs it.
fn fmt_axis(ticks: &[f64]) -> Vec<(f64, String)> {
    // Round-off near zero (-1e-17) must not print as "-0.0".
    let big = ticks.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let ticks: Vec<f64> = ticks
        .iter()
        .map(|&v| if v.abs() <= 1e-9 * big { 0.0 } else { v })
        .collect();
    let labels: Vec<String> = ticks.iter().map(|&v| fmt_number(v)).collect();
    if labels.iter().any(|l| l.contains('e')) {
        return ticks.iter().copied().zip(labels).collect();
    }
    let decimals = labels
        .iter()
        .map(|l| l.split_once('.').map_or(0, |(_, d)| d.len()))
        .max()
        .unwrap_or(0);
    ticks.iter().map(|&v| (v, format!("{v:.decimals$}"))).collect()
}

/// A step tick label: integers, with `k` / `M` suffixes from 10 000 up.
fn fmt_steps(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim_zeros(&format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim_zeros(&format!("{:.1}", v / 1e3)))
    } else {
        fmt_number(v)
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

pub(crate) fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) -> Result<(), PlotError> {
    let png_err = |source| PlotError::Png {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(rgb).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
    }
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_labels() {
        assert_eq!(fmt_number(0.0), "0");
        assert_eq!(fmt_number(0.25), "0.25");
        assert_eq!(fmt_number(2.0), "2");
        assert_eq!(fmt_number(1234.6), "1235");
        assert_eq!(fmt_number(0.0001), "1e-4");
        assert_eq!(fmt_number(250000.0), "2.5e5");
        assert_eq!(fmt_steps(20000.0), "20k");
        assert_eq!(fmt_steps(1500000.0), "1.5M");
        assert_eq!(fmt_steps(800.0), "800");
    }

    #[test]
    fn linear_axis_labels_share_decimals() {
        let l: Vec<String> = fmt_axis(&[0.0, 0.5, 1.0]).into_iter().map(|p| p.1).collect();
        assert_eq!(l, ["0.0", "0.5", "1.0"]);
        let l: Vec<String> = fmt_axis(&[0.0, 10.0, 20.0]).into_iter().map(|p| p.1).collect();
        assert_eq!(l, ["0", "10", "20"]);
    }

    #[test]
    fn log_ticks_cover_short_and_long_ranges() {
        // Within one decade (0.3 .. 0.9): multiples, not nothing.
        let t = log_ticks(0.3f64.log10(), 0.9f64.log10(), 8);
        assert!(t.len() >= 3, "{t:?}");
        assert!(t.iter().all(|v| (0.3..=0.9).contains(v)));
        // Nine decades with room for 5 labels: every other decade.
        let t = log_ticks(-6.0, 2.0, 5);
        let want = [1e-6, 1e-4, 1e-2, 1.0, 100.0];
        assert_eq!(t.len(), want.len(), "{t:?}");
        assert!(
            t.iter().zip(want).all(|(a, b)| (a / b - 1.0).abs() < 1e-12),
            "{t:?}"
        );
        // Too narrow for any multiple of a power of ten: round linear values.
        let t = log_ticks(0.31f64.log10(), 0.39f64.log10(), 8);
        assert!(
            t.len() >= 2 && t.iter().all(|v| (0.31..=0.39).contains(v)),
            "{t:?}"
        );
        // Two decades: 1, 2, 5 multiples.
        let t = log_ticks(-2.0, 0.0, 8);
        assert_eq!(t.len(), 7, "{t:?}");
    }
}
