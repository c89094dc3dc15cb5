//! `cargo xtask report runs/<domain>`: the comparison report of a domain's runs; and
//! [`compare`], the `report compare` step of every `--compare`/`--seeds`/`--sweep` experiment.
//!
//! Builds and runs the `report` crate's binary (release, with the toolchain's environment),
//! which writes `<domain dir>/report.md` and `<domain dir>/plots/*.png` and prints the paths it
//! wrote, the Markdown report first; this command then says where they are.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::cargo::{release_program, stdout_of, Target};
use crate::setup::{self, Toolchain};

/// Arguments of `cargo xtask report`.
#[derive(Args, Debug, PartialEq, Eq)]
pub struct ReportArgs {
    /// A domain's run directory, holding one folder per run (e.g. runs/mnist).
    #[arg(value_name = "RUNS/DOMAIN")]
    pub dir: PathBuf,
    /// Instead of the domain report, the comparison of these groups (comma-separated; runs
    /// `<group>-seed<k>`): `compare.md` and `plots/compare_<metric>*.png`, mean ± std over seeds.
    #[arg(long, value_delimiter = ',', requires = "metric")]
    pub compare: Vec<String>,
    /// The compared metric (a `metrics.csv` column, e.g. `eval/return`).
    #[arg(long, requires = "compare")]
    pub metric: Option<String>,
    /// The comparison's x column.
    #[arg(long, default_value = "step", requires = "compare")]
    pub x: String,
    /// Which way the compared metric improves.
    #[arg(long, value_parser = ["min", "max"], default_value = "max", requires = "compare")]
    pub goal: String,
}

/// Runs the `report` subcommand.
pub fn run(args: &ReportArgs) -> Result<()> {
    // cargo runs in the repository root: hand the binary an absolute path.
    let dir = std::env::current_dir()
        .context("cannot read the current directory")?
        .join(&args.dir);
    if !dir.is_dir() {
        bail!(
            "{} is not a directory: pass a domain's run directory, such as runs/mnist \
             (`cargo xtask demo` writes some)",
            args.dir.display()
        );
    }
    let toolchain = setup::ensure_toolchain()?;
    if let Some(metric) = &args.metric {
        let headline = crate::experiment::Headline {
            metric,
            x: &args.x,
            goal: &args.goal,
        };
        let groups: Vec<&str> = args.compare.iter().map(String::as_str).collect();
        let written = compare(&toolchain, &dir, headline, &groups)?;
        println!("wrote {}", written.display());
        return Ok(());
    }
    let written = render(&toolchain, &dir)?;
    print!("{}", written.describe(&args.dir, &dir));
    Ok(())
}

/// Builds and runs the `report` binary on the domain folder `dir` (absolute); returns what it
/// wrote.
///
/// # Errors
/// When the build or the binary fails, or it prints no paths.
pub fn render(toolchain: &Toolchain, dir: &Path) -> Result<Written> {
    let mut cmd = release_program(toolchain, "report", Target::Bin("report"))?;
    cmd.arg(dir);
    Written::parse(&stdout_of(&mut cmd)?)
}

/// Runs `report compare` (the one comparison of runs `<group>-seed<k>`, crate `report`) on
/// the domain folder `dir` (absolute) for `headline`, over `groups` (every group in `dir` when
/// empty); returns the `compare.md` it wrote (the plots are `plots/compare_<metric>*.png`
/// beside it). Every `--compare`/`--seeds`/`--sweep` experiment of `crate::experiment` ends here.
///
/// # Errors
/// When the build or the binary fails, or it prints no paths.
pub fn compare(
    toolchain: &Toolchain,
    dir: &Path,
    headline: crate::experiment::Headline<'_>,
    groups: &[&str],
) -> Result<PathBuf> {
    let mut cmd = release_program(toolchain, "report", Target::Bin("report"))?;
    cmd.args(compare_args(dir, headline, groups));
    Ok(Written::parse(&stdout_of(&mut cmd)?)?.markdown)
}

/// Runs `report grid` (crate `report`): one table over several domain folders, `cells` as
/// (column label, absolute folder), rows the groups, entries the best and final `headline`
/// metric (mean ± std over seeds); writes `out` and returns it. The federated grid (the
/// paper's Table 2 layout) ends here.
///
/// # Errors
/// When the build or the binary fails, or it prints no path.
pub fn grid(
    toolchain: &Toolchain,
    cells: &[(String, PathBuf)],
    headline: crate::experiment::Headline<'_>,
    out: &Path,
) -> Result<PathBuf> {
    let mut cmd = release_program(toolchain, "report", Target::Bin("report"))?;
    cmd.args([
        "grid",
        "--metric",
        headline.metric,
        "--x",
        headline.x,
        "--goal",
        headline.goal,
    ])
    .arg("--out")
    .arg(out);
    for (label, dir) in cells {
        cmd.arg(format!("{label}={}", dir.display()));
    }
    Ok(Written::parse(&stdout_of(&mut cmd)?)?.markdown)
}

/// The arguments of `report compare`.
fn compare_args(
    dir: &Path,
    headline: crate::experiment::Headline<'_>,
    groups: &[&str],
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["compare".into(), dir.into()];
    for (flag, value) in [
        ("--metric", headline.metric),
        ("--x", headline.x),
        ("--goal", headline.goal),
    ] {
        args.extend([flag.into(), value.into()]);
    }
    if !groups.is_empty() {
        args.extend(["--groups".into(), groups.join(",").into()]);
    }
    args
}

/// What the `report` binary wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    /// `report.md`.
    pub markdown: PathBuf,
    /// The plots.
    pub plots: Vec<PathBuf>,
}

impl Written {
    /// Reads the binary's stdout: one path per line, the Markdown report first.
    fn parse(stdout: &str) -> Result<Self> {
        let mut paths = stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(PathBuf::from);
        let Some(markdown) = paths.next() else {
            bail!("the report binary printed no paths");
        };
        if markdown.extension().is_none_or(|e| e != "md") {
            bail!(
                "the report binary printed {} first, not a .md file",
                markdown.display()
            );
        }
        Ok(Written {
            markdown,
            plots: paths.collect(),
        })
    }

    /// The paths as the user wrote the directory: `absolute` (what the binary saw) is replaced
    /// by `given` where it is a prefix.
    fn describe(&self, given: &Path, absolute: &Path) -> String {
        let show = |path: &Path| {
            path.strip_prefix(absolute)
                .map_or_else(|_| path.to_path_buf(), |rest| given.join(rest))
                .display()
                .to_string()
        };
        let mut out = format!("report: {}\n", show(&self.markdown));
        if self.plots.is_empty() {
            out += "plots:  none (no run had metrics to plot)\n";
        } else {
            out += &format!("plots:  {} PNG files\n", self.plots.len());
            for plot in &self.plots {
                out += &format!("  {}\n", show(plot));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `cargo xtask report ...` as a standalone parser.
    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: ReportArgs,
    }

    #[test]
    fn takes_exactly_one_directory() {
        let cli = Cli::try_parse_from(["report", "runs/mnist"]).unwrap();
        assert_eq!(cli.args.dir, Path::new("runs/mnist"));
        assert!(Cli::try_parse_from(["report"]).is_err());
        assert!(Cli::try_parse_from(["report", "a", "b"]).is_err());
    }

    #[test]
    fn a_comparison_needs_its_groups_and_metric() {
        let cli = Cli::try_parse_from([
            "report",
            "runs/rl-ppo-ant",
            "--compare",
            "adam,sisa",
            "--metric",
            "eval/return",
        ])
        .unwrap();
        assert_eq!(cli.args.compare, ["adam", "sisa"]);
        assert_eq!((cli.args.x.as_str(), cli.args.goal.as_str()), ("step", "max"));
        assert!(Cli::try_parse_from(["report", "d", "--compare", "adam"]).is_err());
        assert!(Cli::try_parse_from(["report", "d", "--metric", "fid"]).is_err());
        let bad_goal = ["report", "d", "--compare", "a", "--metric", "m", "--goal", "up"];
        assert!(Cli::try_parse_from(bad_goal).is_err());
    }

    #[test]
    fn output_is_markdown_then_plots() {
        let stdout = "/r/runs/mnist/report.md\n/r/runs/mnist/plots/loss.png\n\n/r/runs/mnist/plots/acc.png\n";
        let written = Written::parse(stdout).unwrap();
        assert_eq!(written.markdown, Path::new("/r/runs/mnist/report.md"));
        assert_eq!(written.plots.len(), 2);
        let text = written.describe(Path::new("runs/mnist"), Path::new("/r/runs/mnist"));
        assert_eq!(
            text,
            "report: runs/mnist/report.md\nplots:  2 PNG files\n  runs/mnist/plots/loss.png\n  \
             runs/mnist/plots/acc.png\n"
        );
        assert!(Written::parse("").is_err());
        assert!(Written::parse("/r/plots/loss.png\n").is_err());
    }

    #[test]
    fn compare_passes_the_headline_and_the_groups() {
        let headline = crate::experiment::Headline {
            metric: "test/accuracy",
            x: "step",
            goal: "max",
        };
        let args = compare_args(Path::new("/r/runs/mnist"), headline, &["adam", "sisa-sigma0.1"]);
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "compare",
                "/r/runs/mnist",
                "--metric",
                "test/accuracy",
                "--x",
                "step",
                "--goal",
                "max",
                "--groups",
                "adam,sisa-sigma0.1"
            ]
        );
        assert_eq!(compare_args(Path::new("d"), headline, &[]).len(), 8);
    }

    #[test]
    fn paths_outside_the_directory_stay_as_printed() {
        let written = Written::parse("/elsewhere/report.md\n").unwrap();
        let text = written.describe(Path::new("runs/x"), Path::new("/r/runs/x"));
        assert!(text.starts_with("report: /elsewhere/report.md\nplots:  none"));
    }
}
