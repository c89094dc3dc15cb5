//! Tables of run summaries: chosen `summary.json` fields per comparison group (the run names
//! without `-seed<k>`), mean ± sample std over the seeds, then one row per run. The numbers
//! come from the run folders, never typed in.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// One column: a numeric field of `summary.json`, shown × `scale` with `digits` decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column<'a> {
    /// The header.
    pub title: &'a str,
    /// The field of `summary.json`.
    pub field: &'a str,
    /// Multiplier for display (100 for a fraction shown in %).
    pub scale: f64,
    /// Decimals.
    pub digits: usize,
}

/// Reads `<domain>/<name>/summary.json` of every run in `names`.
///
/// # Errors
/// When a summary is missing or not JSON.
pub fn read_summaries(domain: &Path, names: &[String]) -> Result<Vec<(String, Value)>> {
    names
        .iter()
        .map(|name| {
            let path = domain.join(name).join("summary.json");
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
            Ok((name.clone(), value))
        })
        .collect()
}

/// The comparison group of a run name: the name without `-seed<k>`.
fn group_of(name: &str) -> &str {
    name.rsplit_once("-seed").map_or(name, |(group, _)| group)
}

/// Mean ± sample standard deviation of the values present (`–` when none), with the count
/// when some runs lack the field.
fn mean_std(values: &[Option<f64>], column: &Column<'_>) -> String {
    let v: Vec<f64> = values.iter().flatten().map(|x| x * column.scale).collect();
    if v.is_empty() {
        return "–".into();
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = match v.len() {
        1 => 0.0,
        _ => (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt(),
    };
    let d = column.digits;
    match v.len() == values.len() {
        true => format!("{mean:.d$} ± {sd:.d$}"),
        false => format!("{mean:.d$} ± {sd:.d$} ({} of {})", v.len(), values.len()),
    }
}

/// The group table (mean ± std over seeds) then the per-run table of `summaries` over
/// `columns`, in Markdown.
pub fn render(summaries: &[(String, Value)], columns: &[Column<'_>]) -> String {
    let mut groups: Vec<(&str, Vec<&Value>)> = Vec::new();
    for (name, s) in summaries {
        let group = group_of(name);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, runs)) => runs.push(s),
            None => groups.push((group, vec![s])),
        }
    }
    let header = |first: &str| {
        let titles: Vec<&str> = columns.iter().map(|c| c.title).collect();
        format!(
            "| {first} | {} |\n|---|{}\n",
            titles.join(" | "),
            "---|".repeat(columns.len())
        )
    };
    let field = |s: &Value, c: &Column<'_>| s.get(c.field).and_then(Value::as_f64);
    let mut out = header("group (seeds)");
    for (group, runs) in &groups {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| mean_std(&runs.iter().map(|s| field(s, c)).collect::<Vec<_>>(), c))
            .collect();
        let _ = writeln!(out, "| {group} ({}) | {} |", runs.len(), cells.join(" | "));
    }
    out += "\n";
    out += &header("run");
    for (name, s) in summaries {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| field(s, c).map_or("–".into(), |x| format!("{:.d$}", x * c.scale, d = c.digits)))
            .collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_average_over_seeds_and_missing_fields_are_counted() {
        let runs = vec![
            ("sgd-seed0".to_string(), json!({"acc": 0.90, "loss": 1.0})),
            ("sgd-seed1".to_string(), json!({"acc": 0.92})),
            ("sisa-seed0".to_string(), json!({"acc": 0.5, "loss": 2.0})),
        ];
        let columns = [
            Column {
                title: "acc %",
                field: "acc",
                scale: 100.0,
                digits: 2,
            },
            Column {
                title: "loss",
                field: "loss",
                scale: 1.0,
                digits: 1,
            },
        ];
        let table = render(&runs, &columns);
        assert!(
            table.contains("| sgd (2) | 91.00 ± 1.41 | 1.0 ± 0.0 (1 of 2) |"),
            "{table}"
        );
        assert!(
            table.contains("| sisa (1) | 50.00 ± 0.00 | 2.0 ± 0.0 |"),
            "{table}"
        );
        assert!(table.contains("| sgd-seed1 | 92.00 | – |"), "{table}");
    }
}
