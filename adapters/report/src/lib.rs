//! Plots, tables and comparison reports over pisa-rs run folders. No libtorch: the crate reads
//! `metrics.csv` and `summary.json` files, so `cargo xtask report` builds in seconds.
//!
//! - [`plot`]: a run's metrics table ([`plot::Run`], read from `metrics.csv`) and PNG charts of
//!   several runs on one set of axes;
//! - [`domain`]: the report of a domain's runs (`report.md` and `plots/*.png`), [`report()`];
//! - [`compare`]: the one comparison of runs `<group>-seed<k>` on a metric (mean ± std over
//!   seeds, curves with a std band, box plot, `compare.md`).
#![warn(missing_docs)]

pub mod compare;
pub mod domain;
pub mod plot;

pub use domain::{report, Report};
