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
//! `cargo xtask report runs/<domain>` runs this binary (and every `--compare`/`--seeds`/`--sweep`
//! of a domain command runs `report compare`); it can also be run directly:
//! `cargo run -p report --bin report -- runs/mnist`.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use report::plot::Goal;

const USAGE: &str = "usage: report <runs/DOMAIN>\n       report compare <runs/DOMAIN> --metric M [--x step|COLUMN] [--goal min|max] [--groups G1,G2]\n\nWrites <runs/DOMAIN>/report.md and plots/*.png, or compare.md and plots/compare_*.png";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("compare") => compare(&args[1..]),
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
            "--goal" => {
                goal = Some(match value("--goal")?.as_str() {
                    "min" => Goal::Minimize,
                    "max" => Goal::Maximize,
                    other => bail!("--goal {other}: expected min or max"),
                })
            }
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
