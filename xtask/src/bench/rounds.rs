//! Shared plumbing of the side-by-side benchmarks that run whole programs: reading a program's
//! JSON result line, and keeping each program's best round when the programs alternate over
//! several rounds (`--repeat`), which makes a ratio robust to other load on a shared machine.

use anyhow::{Context, Result};
use serde_json::Value;

/// The last line of `stdout` that parses as a JSON object; log lines around it are skipped.
///
/// # Errors
/// When no line is a JSON object; the error names `source` and quotes what it printed.
pub fn last_json(stdout: &str, source: &str) -> Result<Value> {
    stdout
        .lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l.trim())
                .ok()
                .filter(Value::is_object)
        })
        .with_context(|| format!("{source} printed no JSON line; it printed:\n{stdout}"))
}

/// Each program's best result over several rounds, one slot per program in a fixed order.
///
/// A round is one result per program. For every slot, each of the `metrics` (higher is better)
/// keeps its best value over the rounds; the other fields come from the slot's first round.
/// Metrics are kept separately because one program measures several independent phases (a GAN
/// bench times training and then feature extraction), and other load may hit either.
#[derive(Debug)]
pub struct BestOfRounds {
    metrics: &'static [&'static str],
    slots: Vec<Value>,
}

impl BestOfRounds {
    /// Tracks the given higher-is-better metric keys.
    pub fn new(metrics: &'static [&'static str]) -> Self {
        Self {
            metrics,
            slots: Vec::new(),
        }
    }

    /// Folds in one round: one record per program, in the same order every round.
    pub fn add_round(&mut self, round: Vec<Value>) {
        for (i, record) in round.into_iter().enumerate() {
            let Some(best) = self.slots.get_mut(i) else {
                self.slots.push(record);
                continue;
            };
            for &key in self.metrics {
                let new = record[key].as_f64().unwrap_or(f64::NAN);
                let old = best[key].as_f64().unwrap_or(f64::NAN);
                if new > old || (old.is_nan() && !new.is_nan()) {
                    best[key] = record[key].clone();
                }
            }
        }
    }

    /// The best records, one per program.
    pub fn into_records(self) -> Vec<Value> {
        self.slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn last_json_skips_log_lines() {
        let out = "warming up\n{\"tokens_per_s\": 10.0}\ndone\n";
        assert_eq!(last_json(out, "x").unwrap()["tokens_per_s"], 10.0);
        let err = last_json("no json\n[1]\n", "prog").unwrap_err().to_string();
        assert!(err.contains("prog printed no JSON line"), "{err}");
    }

    #[test]
    fn each_metric_keeps_its_own_best_round() {
        let mut best = BestOfRounds::new(&["train", "fid"]);
        best.add_round(vec![
            json!({"side": "a", "train": 10.0, "fid": 5.0}),
            json!({"side": "b", "train": 7.0}),
        ]);
        best.add_round(vec![
            json!({"side": "a", "train": 8.0, "fid": 6.0}),
            json!({"side": "b", "train": 9.0, "fid": 1.0}),
        ]);
        let records = best.into_records();
        assert_eq!(records[0], json!({"side": "a", "train": 10.0, "fid": 6.0}));
        assert_eq!(records[1], json!({"side": "b", "train": 9.0, "fid": 1.0}));
    }
}
