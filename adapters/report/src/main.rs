//! `report <runs/DOMAIN>`: writes `report.md` and `plots/*.png` into a domain's run directory
//! and prints the paths written, one per line (the Markdown report first).
//!
//! `report compare <runs/DOMAIN> --metric M [--x step|COLUMN] [--goal min|max]
//! [--groups G1,G2]`: the one comparison of the runs `<group>-seed<k>` ([`report::compare`]:
//! `compare.md`, `plots/compare_<metric>.png`, `plots/compare_<metric>_box.png`), paths printed
//! the same way. `--x` defaults to `step`, `--goal` to the metric's name
//! ([`report::plot::Goal::for_metric`]), `--groups` to every group in the folder. Example:
//! `report compare runs/gan-wgan-gp-mnist --metric fid --x epoch --goal min`.
//!
//! `report grid --out FILE.md --metric M [--x step|COLUMN] [--goal min|max] LABEL=DIR
//! [LABEL=DIR ...]`: one table over several domain folders ([`report::grid`]: a row per group,
//! a column per `LABEL`, each entry the best over training and the final value, mean ± std over
//! seeds), written to `FILE.md`, whose path is printed the same way (one line). Each cell is
//! split at its last `=`, so a label may hold `=` and a folder may not. Example:
//! `report grid --out runs/fed-table.md --metric test/accuracy --goal max
//! "mnist #C=1=runs/fed-mnist-label1" "mnist #C=2=runs/fed-mnist-label2"`.
//!
//! `cargo xtask report runs/<domain>` runs this binary (and every `--compare`/`--seeds`/`--sweep`
//! of a domain command runs `report compare`); it can also be run directly:
//! `cargo run -p report --bin report -- runs/mnist`.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use report::plot::Goal;

const USAGE: &str = "usage: report <runs/DOMAIN>\n       report compare <runs/DOMAIN> --metric M [--x step|COLUMN] [--goal min|max] [--groups G1,G2]\n       report grid --out FILE.md --metric M [--x step|COLUMN] [--goal min|max] LABEL=DIR [LABEL=DIR ...]\n\nWrites <runs/DOMAIN>/report.md and plots/*.png, compare.md and plots/compare_*.png, or the grid FILE.md";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("compare") => compare(&args[1..]),
        Some("grid") => grid(&GridArgs::parse(&args[1..])?),
        Some(_) if args.len() == 1 => domain_report(PathBuf::from(&args[0])),
        _ => bail!("{USAGE}"),
    }
}

fn domain_report(dir: PathBuf) -> anyhow::Result<()> {
    let report = report::report(&dir).with_context(|| format!("building the report of {}", dir.display()))?;
    for (skipped, why) in &report.skipped {
        eprintln!("note: skipped {}: {why}", skipped.display());
    }
    for path in report.paths() {
        println!("{}", path.display());
    }
    Ok(())
}

fn compare(args: &[String]) -> anyhow::Result<()> {
    let (mut dir, mut metric, mut x, mut goal) = (None, None, "step".to_string(), None);
    let mut names: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--metric" => metric = Some(value("--metric")?),
            "--x" => x = value("--x")?,
            "--groups" => {
                names = value("--groups")?
                    .split(',')
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect()
            }
            "--goal" => goal = Some(parse_goal(&value("--goal")?)?),
            other if dir.is_none() && !other.starts_with("--") => dir = Some(PathBuf::from(other)),
            other => bail!("unexpected `{other}`\n{USAGE}"),
        }
    }
    let (Some(dir), Some(metric)) = (dir, metric) else {
        bail!("{USAGE}");
    };
    let goal = goal.unwrap_or_else(|| Goal::for_metric(&metric));
    let groups = report::compare::select(&dir, &report::compare::discover(&dir)?, &names)?;
    let written = report::compare::compare(&dir, &groups, &metric, &x, goal)
        .with_context(|| format!("comparing the runs of {}", dir.display()))?;
    println!("{}", written.markdown.display());
    for p in &written.plots {
        println!("{}", p.display());
    }
    Ok(())
}

/// `min` or `max`.
fn parse_goal(s: &str) -> anyhow::Result<Goal> {
    match s {
        "min" => Ok(Goal::Minimize),
        "max" => Ok(Goal::Maximize),
        other => bail!("--goal {other}: expected min or max"),
    }
}

/// The arguments of `report grid`.
#[derive(Debug, PartialEq)]
struct GridArgs {
    /// The Markdown file to write.
    out: PathBuf,
    /// The metric compared.
    metric: String,
    /// The x column (`step` unless given).
    x: String,
    /// The goal; the metric's guess ([`Goal::for_metric`]) unless given.
    goal: Goal,
    /// `(label, domain dir)` per column, in the order given.
    cells: Vec<(String, PathBuf)>,
}

impl GridArgs {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let (mut out, mut metric, mut x, mut goal) = (None, None, "step".to_string(), None);
        let mut cells = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |flag: &str| {
                it.next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match a.as_str() {
                "--out" => out = Some(PathBuf::from(value("--out")?)),
                "--metric" => metric = Some(value("--metric")?),
                "--x" => x = value("--x")?,
                "--goal" => goal = Some(parse_goal(&value("--goal")?)?),
                other if other.starts_with("--") => bail!("unexpected `{other}`\n{USAGE}"),
                cell => cells.push(parse_cell(cell)?),
            }
        }
        let Some(out) = out else {
            bail!("report grid needs --out FILE.md\n{USAGE}");
        };
        let Some(metric) = metric else {
            bail!("report grid needs --metric M\n{USAGE}");
        };
        if cells.is_empty() {
            bail!("report grid needs at least one LABEL=DIR\n{USAGE}");
        }
        let goal = goal.unwrap_or_else(|| Goal::for_metric(&metric));
        Ok(GridArgs {
            out,
            metric,
            x,
            goal,
            cells,
        })
    }
}

/// A grid cell `LABEL=DIR`, split at the last `=` (a label such as `mnist #C=1` holds one).
fn parse_cell(arg: &str) -> anyhow::Result<(String, PathBuf)> {
    match arg.rsplit_once('=') {
        Some((label, dir)) if !label.trim().is_empty() && !dir.is_empty() => {
            Ok((label.trim().to_string(), PathBuf::from(dir)))
        }
        _ => bail!(
            "`{arg}`: a grid cell is LABEL=DIR (e.g. \"mnist #C=1=runs/fed-mnist-label1\"), \
             with a label and a folder\n{USAGE}"
        ),
    }
}

fn grid(args: &GridArgs) -> anyhow::Result<()> {
    let written = report::grid::grid(&args.cells, &args.metric, &args.x, args.goal, &args.out)
        .with_context(|| format!("writing the grid {}", args.out.display()))?;
    println!("{}", written.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grid_cells_split_at_the_last_equals_sign() {
        assert_eq!(
            parse_cell("mnist #C=1=runs/fed-mnist-label1").unwrap(),
            ("mnist #C=1".to_string(), PathBuf::from("runs/fed-mnist-label1"))
        );
        assert_eq!(
            parse_cell("iid=runs/fed-mnist-iid").unwrap(),
            ("iid".to_string(), PathBuf::from("runs/fed-mnist-iid"))
        );
        for bad in ["runs/fed-mnist-label1", "=runs/x", "mnist="] {
            let err = parse_cell(bad).unwrap_err().to_string();
            assert!(
                err.contains("a grid cell is LABEL=DIR") && err.contains(bad),
                "{err}"
            );
        }
    }

    #[test]
    fn grid_arguments() {
        let args = GridArgs::parse(&strings(&[
            "--out",
            "runs/fed-table.md",
            "--metric",
            "test/accuracy",
            "mnist #C=1=runs/a",
            "--x",
            "round",
            "fmnist #C=1=runs/b",
        ]))
        .unwrap();
        assert_eq!(
            args,
            GridArgs {
                out: PathBuf::from("runs/fed-table.md"),
                metric: "test/accuracy".into(),
                x: "round".into(),
                goal: Goal::Maximize, // guessed from the name
                cells: vec![
                    ("mnist #C=1".into(), PathBuf::from("runs/a")),
                    ("fmnist #C=1".into(), PathBuf::from("runs/b")),
                ],
            }
        );
        let args = GridArgs::parse(&strings(&[
            "--out", "t.md", "--metric", "acc", "--goal", "min", "a=b",
        ]))
        .unwrap();
        assert_eq!((args.goal, args.x.as_str()), (Goal::Minimize, "step"));
        for (bad, says) in [
            (&["--metric", "m", "a=b"][..], "needs --out"),
            (&["--out", "t.md", "a=b"][..], "needs --metric"),
            (&["--out", "t.md", "--metric", "m"][..], "at least one LABEL=DIR"),
            (
                &["--out", "t.md", "--metric", "m", "runs/a"][..],
                "a grid cell is LABEL=DIR",
            ),
            (
                &["--out", "t.md", "--metric", "m", "--goal", "up", "a=b"][..],
                "expected min or max",
            ),
            (
                &["--out", "t.md", "--metric", "m", "--groups", "x", "a=b"][..],
                "unexpected `--groups`",
            ),
            (&["--out"][..], "--out needs a value"),
        ] {
            let err = GridArgs::parse(&strings(bad)).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }
}
