//! The grid comparison: one metric over several domain folders at once, one row per group
//! and one column per cell, the layout of the paper's Table 2 (an algorithm per row, a
//! (dataset, partition) per column).
//!
//! A federated experiment writes one domain folder per cell (`runs/fed-mnist-label1/`,
//! `runs/fed-fmnist-label1/`, ...), each holding runs `<group>-seed<k>/` as [`crate::compare`]
//! reads them. Every cell is read with the same [`discover`] and [`collect`], and its numbers
//! come from the same [`GroupRuns::bests`], [`GroupRuns::finals`] and [`mean_std`] as
//! `compare.md`, so a grid cell and the cell's own comparison always agree. A cell shows both
//! the best value over training of each seed (the paper's figure) and the last logged value
//! (the honest one): `best μ ± σ / final μ ± σ (n)`.
//!
//! ```text
//! $ report grid --out runs/fed-table.md --metric test/accuracy --x step --goal max \
//!     "mnist #C=1=runs/fed-mnist-label1" "mnist #C=2=runs/fed-mnist-label2"
//! runs/fed-table.md
//! ```
//!
//! The same from Rust:
//!
//! ```no_run
//! use report::grid::grid;
//! use report::plot::Goal;
//! use std::path::{Path, PathBuf};
//! # fn main() -> Result<(), report::compare::CompareError> {
//! let cells = [
//!     ("mnist #C=1".to_string(), PathBuf::from("runs/fed-mnist-label1")),
//!     ("mnist #C=2".to_string(), PathBuf::from("runs/fed-mnist-label2")),
//! ];
//! let out = Path::new("runs/fed-table.md");
//! let written = grid(&cells, "test/accuracy", "step", Goal::Maximize, out)?;
//! println!("{}", written.display());
//! # Ok(())
//! # }
//! ```

use crate::compare::{collect, decimals, discover, mean_std, CompareError, GroupRuns};
use crate::domain::escape;
use crate::plot::Goal;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// The Markdown grid of `metric`: a one-line legend, then a table with one row per group (in
/// order of first appearance across `cells`) and one column per cell (its label), each entry
/// `best μ ± σ / final μ ± σ (n)`: the mean ± sample std over the group's `n` seeds of each
/// seed's best value over training under `goal` ([`GroupRuns::bests`]) and of its last logged
/// value ([`GroupRuns::finals`]); `—` where the group has no runs in the cell. Numbers have the
/// decimals of [`crate::compare::markdown_table`], one count for the whole table so columns
/// line up.
pub fn grid_table(cells: &[(String, Vec<GroupRuns>)], metric: &str, goal: Goal) -> String {
    let mut rows: Vec<&str> = Vec::new();
    for group in cells.iter().flat_map(|(_, groups)| groups) {
        if !rows.contains(&group.name.as_str()) {
            rows.push(&group.name);
        }
    }
    let d = decimals(
        cells
            .iter()
            .flat_map(|(_, groups)| groups)
            .flat_map(|g| g.bests(goal).into_iter().chain(g.finals())),
    );
    let metric = escape(metric);
    let mut s = format!(
        "Each cell: best `{metric}` over training ({}) μ ± σ / final (last logged) `{metric}` μ ± σ (n seeds); mean ± sample std over the group's seeds; — where the group has no runs.\n\n",
        goal.as_str()
    );
    s += "| group |";
    for (label, _) in cells {
        let _ = write!(s, " {} |", escape(label));
    }
    s += "\n|---|";
    s += &"---|".repeat(cells.len());
    s += "\n";
    for name in rows {
        let _ = write!(s, "| {} |", escape(name));
        for (_, groups) in cells {
            match groups.iter().find(|g| g.name == name) {
                Some(g) => {
                    let finals = g.finals();
                    let (bm, bsd) = mean_std(&g.bests(goal));
                    let (fm, fsd) = mean_std(&finals);
                    let _ = write!(
                        s,
                        " {bm:.d$} ± {bsd:.d$} / {fm:.d$} ± {fsd:.d$} ({}) |",
                        finals.len()
                    );
                }
                None => s += " — |",
            }
        }
        s += "\n";
    }
    s
}

/// Compares `metric` against `x` (`step`, `wall_time` or a metric column) over several domain
/// folders, each a `(label, domain_dir)` cell, and writes the grid to `out` (Markdown,
/// atomically; its folder is created): a title, what was compared, [`grid_table`], a note per
/// cell whose folder holds no runs (shown as `—` throughout), and per cell a link to its
/// `compare.md` (relative to `out`'s folder) where one exists. Returns `out`.
///
/// # Errors
/// [`CompareError`]: a run without the metric ([`collect`]'s errors), a file that cannot be
/// written, or [`CompareError::EmptyGrid`] when no cell holds a run. A cell without runs is
/// not an error.
pub fn grid(
    cells: &[(String, PathBuf)],
    metric: &str,
    x: &str,
    goal: Goal,
    out: &Path,
) -> Result<PathBuf, CompareError> {
    let mut table = Vec::with_capacity(cells.len());
    let mut notes = Vec::new();
    for (label, dir) in cells {
        let groups = match discover(dir) {
            Ok(found) => collect(dir, &found, x, metric)?,
            Err(CompareError::NoRuns(_)) => {
                notes.push(format!(
                    "Note: `{}`: no runs `<group>-seed<k>` with a `metrics.csv` in `{}`.",
                    escape(label),
                    dir.display()
                ));
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        table.push((label.clone(), groups));
    }
    if table.iter().all(|(_, groups)| groups.is_empty()) {
        return Err(CompareError::EmptyGrid {
            dirs: cells
                .iter()
                .map(|(_, d)| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&folder).map_err(|source| crate::plot::PlotError::Io {
        path: folder.clone(),
        source,
    })?;
    let title = out
        .file_stem()
        .map_or_else(|| "grid".to_string(), |n| n.to_string_lossy().into_owned());
    let mut md = format!("# {title}: {}\n\n", escape(metric));
    let _ = writeln!(
        md,
        "Runs `<group>-seed<k>` of each cell's folder compared on `{}` against `{x}`; best = the {} over a run, final = its last logged value.\n",
        escape(metric),
        if goal == Goal::Minimize { "minimum" } else { "maximum" }
    );
    md += &grid_table(&table, metric, goal);
    if !notes.is_empty() {
        md += "\n";
        for n in &notes {
            md += n;
            md += "\n";
        }
    }
    md += "\nPer cell:\n\n";
    for (label, dir) in cells {
        let page = dir.join("compare.md");
        if page.is_file() {
            let _ = writeln!(md, "- [{}]({})", escape(label), link(&relative(&folder, &page)));
        } else {
            let _ = writeln!(md, "- {}: `{}` (no `compare.md`)", escape(label), dir.display());
        }
    }
    crate::plot::write_atomically(out, md.as_bytes())?;
    Ok(out.to_path_buf())
}

/// `target` as a path relative to the folder `base` (`..` where needed), both resolved through
/// the file system where they exist; `target` as given when they share no root.
fn relative(base: &Path, target: &Path) -> PathBuf {
    let resolve = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let (b, t) = (resolve(base), resolve(target));
    let (b, t): (Vec<Component<'_>>, Vec<Component<'_>>) =
        (b.components().collect(), t.components().collect());
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return target.to_path_buf();
    }
    let mut rel: PathBuf = b[common..].iter().map(|_| Component::ParentDir).collect();
    rel.extend(&t[common..]);
    rel
}

/// A Markdown link target: `/`-separated, in `<…>` when it holds spaces or parentheses.
fn link(path: &Path) -> String {
    let s = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if s.contains([' ', '(', ')']) {
        format!("<{s}>")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::run_name;

    /// Writes `<dir>/<group>-seed<k>/metrics.csv` (and a `summary.json`) with one
    /// `test/accuracy` curve per seed.
    fn runs(dir: &Path, group: &str, curves: &[&[f64]]) {
        for (seed, curve) in curves.iter().enumerate() {
            let run = dir.join(run_name(group, seed as u64));
            std::fs::create_dir_all(&run).unwrap();
            let mut csv = String::from("step,wall_time,test/accuracy\n");
            for (k, v) in curve.iter().enumerate() {
                csv += &format!("{},{}.0,{v}\n", (k + 1) * 10, k + 1);
            }
            std::fs::write(run.join("metrics.csv"), csv).unwrap();
            std::fs::write(run.join("summary.json"), r#"{"status": "finished"}"#).unwrap();
        }
    }

    #[test]
    fn table_rows_in_first_appearance_and_a_dash_for_a_missing_group() {
        let g = |name: &str, curves: Vec<Vec<(f64, f64)>>| GroupRuns {
            name: name.into(),
            seeds: (0..curves.len() as u64).collect(),
            curves,
        };
        let cells = vec![
            (
                "mnist #C=1".to_string(),
                vec![g(
                    "sisa",
                    vec![vec![(1.0, 0.5), (2.0, 0.4)], vec![(1.0, 0.7), (2.0, 0.6)]],
                )],
            ),
            (
                "a|b".to_string(),
                vec![
                    g("fedavg", vec![vec![(1.0, 0.25)]]),
                    g("sisa", vec![vec![(1.0, 0.9)]]),
                ],
            ),
        ];
        let t = grid_table(&cells, "test/accuracy", Goal::Maximize);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("Each cell: best `test/accuracy` over training (max)"),
            "{t}"
        );
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], "| group | mnist #C=1 | a\\|b |");
        assert_eq!(lines[3], "|---|---|---|");
        // sisa, cell 1: bests {0.5, 0.7} → 0.6 ± 0.1414; finals {0.4, 0.6} → 0.5 ± 0.1414.
        assert_eq!(
            lines[4],
            "| sisa | 0.6000 ± 0.1414 / 0.5000 ± 0.1414 (2) | 0.9000 ± 0.0000 / 0.9000 ± 0.0000 (1) |"
        );
        assert_eq!(lines[5], "| fedavg | — | 0.2500 ± 0.0000 / 0.2500 ± 0.0000 (1) |");
        assert_eq!(lines.len(), 6);
        // Minimizing: the best is each seed's minimum, {0.4, 0.6} → 0.5.
        let t = grid_table(&cells, "loss", Goal::Minimize);
        assert!(
            t.contains("| sisa | 0.5000 ± 0.1414 / 0.5000 ± 0.1414 (2) |"),
            "{t}"
        );
    }

    /// Two cells, three groups, `fedprox` only in the first cell; a third cell without runs.
    #[test]
    fn grid_reads_the_cells_and_writes_the_table_with_links() {
        let root = tempfile::tempdir().unwrap();
        let (c1, c2, empty) = (
            root.path().join("fed-mnist-label1"),
            root.path().join("fed-mnist-label2"),
            root.path().join("fed-mnist-label3"),
        );
        std::fs::create_dir_all(&empty).unwrap();
        // sisa, cell 1: bests {0.96, 0.98} → 0.97 ± 0.01414; finals {0.95, 0.97} → 0.96 ± 0.01414.
        runs(&c1, "sisa", &[&[0.90, 0.96, 0.95], &[0.91, 0.98, 0.97]]);
        // fedavg, cell 1: bests {0.92, 0.94, 0.99} → 0.95 ± 0.03606 (sample variance
        // (0.0009 + 0.0001 + 0.0016) / 2 = 0.0013); finals {0.92, 0.94, 0.90} → 0.92 ± 0.02.
        runs(&c1, "fedavg", &[&[0.80, 0.92], &[0.85, 0.94], &[0.99, 0.90]]);
        runs(&c1, "fedprox", &[&[0.50, 0.60]]);
        // Cell 2: sisa bests {0.80, 0.70} → 0.75 ± 0.07071, finals {0.80, 0.60} → 0.70 ± 0.1414;
        // fedavg one seed, best 0.65, final 0.65.
        runs(&c2, "sisa", &[&[0.70, 0.80], &[0.70, 0.60]]);
        runs(&c2, "fedavg", &[&[0.30, 0.65]]);
        std::fs::write(c1.join("compare.md"), "# c1\n").unwrap();

        let out = root.path().join("tables/fed-table.md");
        let cells = vec![
            ("mnist #C=1".to_string(), c1.clone()),
            ("mnist #C=2".to_string(), c2.clone()),
            ("mnist #C=3".to_string(), empty.clone()),
        ];
        let written = grid(&cells, "test/accuracy", "step", Goal::Maximize, &out).unwrap();
        assert_eq!(written, out);
        let md = std::fs::read_to_string(&out).unwrap();
        assert!(md.starts_with("# fed-table: test/accuracy\n"), "{md}");
        assert!(
            md.contains("| group | mnist #C=1 | mnist #C=2 | mnist #C=3 |"),
            "{md}"
        );
        // discover sorts the groups of a cell by name: fedavg, fedprox, sisa.
        let rows: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("| f") || l.starts_with("| s"))
            .collect();
        assert_eq!(
            rows,
            [
                "| fedavg | 0.9500 ± 0.0361 / 0.9200 ± 0.0200 (3) | 0.6500 ± 0.0000 / 0.6500 ± 0.0000 (1) | — |",
                "| fedprox | 0.6000 ± 0.0000 / 0.6000 ± 0.0000 (1) | — | — |",
                "| sisa | 0.9700 ± 0.0141 / 0.9600 ± 0.0141 (2) | 0.7500 ± 0.0707 / 0.7000 ± 0.1414 (2) | — |",
            ],
            "{md}"
        );
        assert!(
            md.contains(&format!(
                "Note: `mnist #C=3`: no runs `<group>-seed<k>` with a `metrics.csv` in `{}`.",
                empty.display()
            )),
            "{md}"
        );
        assert!(
            md.contains("- [mnist #C=1](../fed-mnist-label1/compare.md)"),
            "{md}"
        );
        assert!(
            md.contains(&format!("- mnist #C=2: `{}` (no `compare.md`)", c2.display())),
            "{md}"
        );

        // No cell with runs is an error; so is a run without the metric.
        let err = grid(&cells[2..], "test/accuracy", "step", Goal::Maximize, &out).unwrap_err();
        assert!(matches!(err, CompareError::EmptyGrid { .. }), "{err}");
        let err = grid(&cells, "fid", "step", Goal::Minimize, &out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `fid` values"), "{err}");
    }

    #[test]
    fn links_are_relative_to_the_table_folder() {
        assert_eq!(
            relative(Path::new("/a/runs"), Path::new("/a/runs/x/compare.md")),
            PathBuf::from("x/compare.md")
        );
        assert_eq!(
            relative(Path::new("/a/tables"), Path::new("/a/runs/x/compare.md")),
            PathBuf::from("../runs/x/compare.md")
        );
        assert_eq!(link(Path::new("my runs/compare.md")), "<my runs/compare.md>");
        assert_eq!(link(Path::new("runs/compare.md")), "runs/compare.md");
    }
}
