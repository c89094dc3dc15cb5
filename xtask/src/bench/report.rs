//! The benchmark table: records grouped by (shape set, device), each row compared with
//! PyTorch's fastest AdamW on the same shape set and device.

use std::fmt::Write as _;

use super::record::BenchRecord;

/// Bytes per scalar parameter: all benchmarks use float32 parameters.
pub const PARAM_BYTES: u64 = 4;
/// The baseline's implementation name.
const BASELINE_IMPL: &str = "pytorch";
/// The baseline's optimizer names: the ratio's denominator is the faster of these.
const BASELINE_OPTIMIZERS: [&str; 2] = ["adamw-foreach", "adamw-fused"];
const MIB: f64 = 1024.0 * 1024.0;

/// One table row: a record and the figures derived from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    /// The measurement.
    pub record: &'a BenchRecord,
    /// Optimizer state in MiB.
    pub state_mib: f64,
    /// Optimizer state in units of the parameters' own size (AdamW: 2).
    pub state_buffers: f64,
    /// ms/step divided by the baseline's ms/step; `None` without a baseline.
    pub vs_baseline: Option<f64>,
}

/// All rows of one shape set on one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Group<'a> {
    /// Shape-set name.
    pub shape_set: &'a str,
    /// Device name.
    pub device: &'a str,
    /// Scalar parameters (from the group's first record).
    pub params: u64,
    /// PyTorch's fastest AdamW ms/step (min over foreach and fused), if measured.
    pub baseline_ms: Option<f64>,
    /// Rows in input order.
    pub rows: Vec<Row<'a>>,
}

/// Groups records by (shape set, device), in order of first appearance, and derives each row.
pub fn group(records: &[BenchRecord]) -> Vec<Group<'_>> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in records {
        let key = (r.shape_set.as_str(), r.device.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(shape_set, device)| {
            let members: Vec<&BenchRecord> = records
                .iter()
                .filter(|r| r.shape_set == shape_set && r.device == device)
                .collect();
            let baseline_ms = baseline_ms(&members);
            let rows = members
                .iter()
                .map(|&record| derive_row(record, baseline_ms))
                .collect();
            Group {
                shape_set,
                device,
                params: members[0].params,
                baseline_ms,
                rows,
            }
        })
        .collect()
}

/// The fastest PyTorch AdamW (foreach or fused) median ms/step among `records`.
pub fn baseline_ms(records: &[&BenchRecord]) -> Option<f64> {
    records
        .iter()
        .filter(|r| r.implementation == BASELINE_IMPL && BASELINE_OPTIMIZERS.contains(&r.optimizer.as_str()))
        .map(|r| r.ms_per_step)
        .min_by(f64::total_cmp)
}

fn derive_row(record: &BenchRecord, baseline_ms: Option<f64>) -> Row<'_> {
    let param_bytes = (record.params * PARAM_BYTES) as f64;
    Row {
        record,
        state_mib: record.state_bytes as f64 / MIB,
        state_buffers: if param_bytes > 0.0 {
            record.state_bytes as f64 / param_bytes
        } else {
            f64::NAN
        },
        vs_baseline: baseline_ms.map(|base| record.ms_per_step / base),
    }
}

/// The Markdown report: a heading per group and one table row per record.
pub fn render_markdown(groups: &[Group<'_>], title: &str) -> String {
    let mut md = format!("# {title}\n\n");
    md += "ms/step is the median over the timed steps. State buffers = optimizer state / parameter \
           bytes (float32). × AdamW = ms/step ÷ PyTorch's faster AdamW (foreach or fused) on the \
           same shape set and device.\n";
    for g in groups {
        let _ = write!(
            md,
            "\n## {} on {} ({} parameters)\n\n",
            g.shape_set,
            g.device,
            thousands(g.params)
        );
        md +=
            "| impl | optimizer | nodes | ms/step | min ms | state MiB | state buffers | × AdamW | steps |\n";
        md += "|---|---|--:|--:|--:|--:|--:|--:|--:|\n";
        for row in &g.rows {
            let r = row.record;
            let ratio = row
                .vs_baseline
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.2} | {ratio} | {} |",
                r.implementation,
                r.optimizer,
                r.nodes,
                r.ms_per_step,
                r.ms_min,
                row.state_mib,
                row.state_buffers,
                r.steps
            );
        }
    }
    md
}

/// `1234567` → `"1,234,567"`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(implementation: &str, optimizer: &str, shape_set: &str, ms: f64, state_bytes: u64) -> BenchRecord {
        BenchRecord {
            implementation: implementation.into(),
            optimizer: optimizer.into(),
            nodes: 1,
            shape_set: shape_set.into(),
            device: "cpu".into(),
            params: 1 << 20,
            ms_per_step: ms,
            ms_min: ms * 0.9,
            state_bytes,
            steps: 10,
        }
    }

    fn records() -> Vec<BenchRecord> {
        let adamw_state = 8 << 20; // exp_avg + exp_avg_sq: 2 × 2^20 float32 = 8 MiB
        vec![
            rec("pytorch", "adamw-foreach", "cnn", 4.0, adamw_state),
            rec("pytorch", "adamw-fused", "cnn", 2.5, adamw_state),
            rec("pisa-rs", "sisa", "cnn", 3.0, 12 << 20),
            rec("pisa-rs", "sisa", "gpt2-124m", 30.0, 4 << 20),
            rec("pytorch", "adamw-foreach", "gpt2-124m", 20.0, adamw_state),
        ]
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let records = records();
        let groups = group(&records);
        let names: Vec<_> = groups.iter().map(|g| (g.shape_set, g.rows.len())).collect();
        assert_eq!(names, [("cnn", 3), ("gpt2-124m", 2)]);
    }

    #[test]
    fn ratio_uses_the_fastest_pytorch_adamw_of_the_same_group() {
        let records = records();
        let groups = group(&records);
        assert_eq!(groups[0].baseline_ms, Some(2.5));
        let ratios: Vec<_> = groups[0].rows.iter().map(|r| r.vs_baseline.unwrap()).collect();
        assert_eq!(ratios, [1.6, 1.0, 1.2]);
        assert_eq!(groups[1].baseline_ms, Some(20.0));
        assert_eq!(groups[1].rows[0].vs_baseline, Some(1.5));
    }

    #[test]
    fn state_is_reported_in_mib_and_parameter_copies() {
        let records = records();
        let groups = group(&records);
        let adamw = &groups[0].rows[0];
        assert_eq!((adamw.state_mib, adamw.state_buffers), (8.0, 2.0));
        let sisa = &groups[0].rows[2];
        assert_eq!((sisa.state_mib, sisa.state_buffers), (12.0, 3.0));
    }

    #[test]
    fn no_baseline_means_no_ratio() {
        let records = vec![rec("pisa-rs", "nsisa", "cnn", 1.0, 0)];
        let groups = group(&records);
        assert_eq!(groups[0].baseline_ms, None);
        assert_eq!(groups[0].rows[0].vs_baseline, None);
        assert!(render_markdown(&groups, "t")
            .contains("| pisa-rs | nsisa | 1 | 1.00 | 0.90 | 0.0 | 0.00 | - | 10 |"));
    }

    #[test]
    fn markdown_has_one_section_per_group_and_formatted_rows() {
        let records = records();
        let md = render_markdown(&group(&records), "Optimizer step");
        assert!(md.starts_with("# Optimizer step\n"));
        assert!(md.contains("## cnn on cpu (1,048,576 parameters)"));
        assert!(md.contains("## gpt2-124m on cpu (1,048,576 parameters)"));
        assert!(md.contains("| pytorch | adamw-fused | 1 | 2.50 | 2.25 | 8.0 | 2.00 | 1.00 | 10 |"));
        assert!(md.contains("| pisa-rs | sisa | 1 | 3.00 | 2.70 | 12.0 | 3.00 | 1.20 | 10 |"));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(124_439_808), "124,439,808");
    }
}
