//! One benchmark measurement: a JSON line printed by `bench_optim` (pisa-rs) or
//! `bench/torch_optim.py` (PyTorch), both in this schema.

use anyhow::{Context, Result};
use serde::Deserialize;

/// One implementation + optimizer timed on one shape set and device.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BenchRecord {
    /// `"pisa-rs"` or `"pytorch"`.
    #[serde(rename = "impl")]
    pub implementation: String,
    /// e.g. `"sisa"`, `"nsisa"`, `"adamw"`, `"adamw-foreach"`, `"adamw-fused"`.
    pub optimizer: String,
    /// Number of nodes m of the PISA family (1 for baselines).
    #[serde(default = "one")]
    pub nodes: u32,
    /// Key into `bench/shapes.json`, e.g. `"cnn"` or `"gpt2-124m"`.
    pub shape_set: String,
    /// `"cpu"` or `"cuda"`.
    pub device: String,
    /// Number of scalar parameters.
    pub params: u64,
    /// Median milliseconds per `step()`.
    pub ms_per_step: f64,
    /// Fastest step in milliseconds.
    pub ms_min: f64,
    /// Persistent optimizer-state bytes (step counters excluded).
    pub state_bytes: u64,
    /// Timed steps.
    pub steps: u32,
}

fn one() -> u32 {
    1
}

/// A record together with the exact line it came from (kept for `optim.jsonl`).
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// The line as printed.
    pub line: String,
    /// Its parsed content.
    pub record: BenchRecord,
}

/// Parses the JSON lines in a program's stdout. Lines that do not start with `{` are log
/// output: they are echoed to stderr and skipped.
///
/// # Errors
/// When a line that starts with `{` does not match the schema; the error names the line.
pub fn parse_lines(stdout: &str, source: &str) -> Result<Vec<RawRecord>> {
    let mut records = Vec::new();
    for (number, line) in stdout.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('{') {
            eprintln!("{source}: {line}");
            continue;
        }
        let record = serde_json::from_str(line).with_context(|| {
            format!(
                "{source}, output line {}: not a benchmark record: {line}",
                number + 1
            )
        })?;
        records.push(RawRecord {
            line: line.to_owned(),
            record,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"impl": "pytorch", "optimizer": "adamw-fused", "nodes": 1, "shape_set": "cnn",
        "device": "cpu", "params": 1000, "ms_per_step": 1.5, "ms_min": 1.25, "state_bytes": 8000,
        "steps": 20, "extra": "ignored"}"#;

    #[test]
    fn parses_records_and_skips_log_lines() {
        let stdout = format!("warming up\n\n{}\n", LINE.replace('\n', " "));
        let records = parse_lines(&stdout, "test").unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0].record;
        assert_eq!(
            (r.implementation.as_str(), r.optimizer.as_str()),
            ("pytorch", "adamw-fused")
        );
        assert_eq!((r.params, r.state_bytes, r.steps, r.nodes), (1000, 8000, 20, 1));
        assert_eq!((r.ms_per_step, r.ms_min), (1.5, 1.25));
        assert!(records[0].line.starts_with("{\"impl\""));
    }

    #[test]
    fn nodes_defaults_to_one() {
        let line = LINE.replace('\n', " ").replace(r#""nodes": 1, "#, "");
        assert_eq!(parse_lines(&line, "test").unwrap()[0].record.nodes, 1);
    }

    #[test]
    fn a_malformed_record_is_an_error_naming_the_line() {
        let err = parse_lines("ok\n{\"impl\": \"pisa-rs\"}\n", "bench_optim").unwrap_err();
        assert!(format!("{err:#}").contains("bench_optim, output line 2"));
    }
}
