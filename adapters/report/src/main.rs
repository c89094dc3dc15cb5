//! `report <runs/DOMAIN>`: writes `report.md` and `plots/*.png` into a domain's run directory
//! and prints the paths written, one per line (the Markdown report first).
//!
//! `cargo xtask report runs/<domain>` runs this binary; it can also be run directly:
//! `cargo run -p report --bin report -- runs/mnist`.

use std::path::PathBuf;

use anyhow::{bail, Context as _};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        bail!("usage: report <runs/DOMAIN>   (the directory that holds one folder per run)");
    };
    if dir == "-h" || dir == "--help" {
        println!(
            "usage: report <runs/DOMAIN>\n\nWrites <runs/DOMAIN>/report.md and <runs/DOMAIN>/plots/*.png"
        );
        return Ok(());
    }
    let dir = PathBuf::from(dir);
    let report = report::report(&dir).with_context(|| format!("building the report of {}", dir.display()))?;
    for (skipped, why) in &report.skipped {
        eprintln!("note: skipped {}: {why}", skipped.display());
    }
    for path in report.paths() {
        println!("{}", path.display());
    }
    Ok(())
}
