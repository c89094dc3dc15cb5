//! Progress display for long work: a bar with ETA and live metrics on a terminal, plain
//! periodic lines otherwise (CI logs, files).
//!
//! The rate and ETA count only the units done by this process: a resumed run starts its display
//! at the checkpoint's step ([`Progress::starting_at`]), so the steps it resumed from are not
//! counted as done in the first seconds.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Progress of `total` units of work (steps, episodes, images).
pub struct Progress {
    label: String,
    total: u64,
    bar: Option<ProgressBar>,
    start: Instant,
    /// Units already done when this display started (a resumed run's checkpoint step).
    start_done: u64,
    last_line: Option<Instant>,
    every: Duration,
}

impl Progress {
    /// A progress display; a bar when stderr is a terminal and `CI` is unset, else a line every
    /// 10 seconds.
    pub fn new(label: &str, total: u64) -> Self {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self::with_mode(label, total, interactive, Duration::from_secs(10))
    }

    /// A display with the mode and line period chosen by the caller.
    pub fn with_mode(label: &str, total: u64, interactive: bool, every: Duration) -> Self {
        let bar = interactive.then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "{prefix:>12} [{bar:30.cyan/blue}] {pos}/{len} {per_sec:>10} ETA {eta:>4} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar
        });
        Progress {
            label: label.into(),
            total,
            bar,
            start: Instant::now(),
            start_done: 0,
            last_line: None,
            every,
        }
    }

    /// The same display for work resumed after `done` units (a run resumed from a checkpoint):
    /// the position starts there and the rate and ETA count only the units done from now on.
    pub fn starting_at(mut self, done: u64) -> Self {
        self.start_done = done;
        self.start = Instant::now();
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            // Record the position in the bar's estimator, then forget the rate it implied.
            bar.tick();
            bar.reset_eta();
        }
        self
    }

    /// Reports that `done` units are finished, with the latest metrics.
    pub fn update(&mut self, done: u64, metrics: &[(&str, f64)]) {
        let message = format_metrics(metrics);
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(message);
            return;
        }
        let due = self.last_line.is_none_or(|t| t.elapsed() >= self.every) || done >= self.total;
        if due {
            eprintln!("{}", self.line(done, &message));
            self.last_line = Some(Instant::now());
        }
    }

    /// The plain progress line for `done` units.
    pub fn line(&self, done: u64, message: &str) -> String {
        self.line_after(done, message, self.start.elapsed().as_secs_f64())
    }

    /// The plain progress line for `done` units, `elapsed` seconds after the display started:
    /// the rate is the units done since then over `elapsed`.
    fn line_after(&self, done: u64, message: &str, elapsed: f64) -> String {
        let new = done.saturating_sub(self.start_done);
        let rate = if elapsed > 0.0 { new as f64 / elapsed } else { 0.0 };
        let eta = if rate > 0.0 {
            (self.total.saturating_sub(done)) as f64 / rate
        } else {
            f64::NAN
        };
        let percent = 100.0 * done as f64 / self.total.max(1) as f64;
        format!(
            "{}: {done}/{} ({percent:.0}%) {rate:.1}/s ETA {} {message}",
            self.label,
            self.total,
            format_duration(eta)
        )
    }

    /// Ends the display.
    pub fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

fn format_metrics(metrics: &[(&str, f64)]) -> String {
    metrics
        .iter()
        .map(|(k, v)| format!("{k}={v:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_carry_rate_eta_and_metrics() {
        let p = Progress::with_mode("train", 1000, false, Duration::from_secs(10));
        let line = p.line(250, &format_metrics(&[("loss", 0.123456)]));
        assert!(line.starts_with("train: 250/1000 (25%)"), "{line}");
        assert!(line.ends_with("loss=0.1235"), "{line}");
        assert_eq!(format_duration(75.0), "1m15s");
        assert_eq!(format_duration(7300.0), "2h01m");
        assert_eq!(format_duration(f64::NAN), "?");
    }

    #[test]
    fn a_resumed_display_counts_only_the_new_units() {
        // Resumed at 7,000 of 100,000; 600 more in 0.5 s: 1,200/s (not 15,200/s), and the
        // 92,400 left take 77 s.
        let p = Progress::with_mode("rl", 100_000, false, Duration::from_secs(10)).starting_at(7_000);
        let line = p.line_after(7_600, "", 0.5);
        assert!(
            line.starts_with("rl: 7600/100000 (8%) 1200.0/s ETA 1m17s"),
            "{line}"
        );
        // A fresh display counts everything.
        let fresh = Progress::with_mode("rl", 100_000, false, Duration::from_secs(10));
        let line = fresh.line_after(600, "", 0.5);
        assert!(
            line.starts_with("rl: 600/100000 (1%) 1200.0/s ETA 1m23s"),
            "{line}"
        );
    }

    #[test]
    fn a_resumed_bar_counts_only_the_new_units() {
        // The bar (hidden: stderr is not a terminal under `cargo test`): 240 units in 0.2 s
        // after resuming at 7,000 is at most 1,200/s (less if the sleep overran), not the 36,000/s
        // of counting from 0.
        let mut p = Progress::with_mode("rl", 100_000, true, Duration::from_secs(10)).starting_at(7_000);
        std::thread::sleep(Duration::from_millis(200));
        p.update(7_240, &[]);
        let bar = p.bar.as_ref().unwrap();
        let rate = bar.per_sec();
        assert_eq!(bar.position(), 7_240);
        assert!(rate > 0.0 && rate < 1_300.0, "{rate}");
    }
}
