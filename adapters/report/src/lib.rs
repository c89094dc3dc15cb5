//! Plots, tables and comparison reports over pisa-rs run folders. No libtorch: the crate reads
//! `metrics.csv` and `summary.json` files, so `cargo xtask report` builds in seconds.
//!
//! - [`plot`]: a run's metrics table ([`plot::Run`], read from `metrics.csv`) and PNG charts of
//!   several runs on one set of axes;
//! - [`domain`]: the report of a domain's runs (`report.md` and `plots/*.png`), [`report()`];
//! - [`compare`]: the one comparison of runs `<group>-seed<k>` on a metric (mean ± std over
//!   seeds, curves with a std band, box plot, `compare.md`);
//! - [`grid`]: one metric over several domain folders in one table, a row per group and a
//!   column per cell (the paper's Table 2 layout: an algorithm per row, a (dataset, partition)
//!   per column), each entry the best over training and the final value, mean ± std over seeds.
#![warn(missing_docs)]

pub mod compare;
pub mod domain;
pub mod grid;
pub mod plot;

pub use domain::{report, Report};
