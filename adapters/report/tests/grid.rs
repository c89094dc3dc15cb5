//! Tests of the `report grid` command on synthetic domain folders of runs `<group>-seed<k>/`.

use std::path::Path;
use std::process::Command;

/// Writes `<dir>/<group>-seed<k>/metrics.csv` with a `test/accuracy` curve rising to
/// `finals[k]` (so best = final), and a `summary.json`.
fn runs(dir: &Path, group: &str, finals: &[f64]) {
    for (seed, last) in finals.iter().enumerate() {
        let run = dir.join(format!("{group}-seed{seed}"));
        std::fs::create_dir_all(&run).unwrap();
        let csv = format!("step,wall_time,test/accuracy\n10,1.0,0.1\n20,2.0,{last}\n");
        std::fs::write(run.join("metrics.csv"), csv).unwrap();
        std::fs::write(run.join("summary.json"), r#"{"status": "finished"}"#).unwrap();
    }
}

fn report(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_report"))
        .arg("grid")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn grid_prints_the_markdown_path_alone_and_writes_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("fed-mnist-label1"),
        dir.path().join("fed-fmnist-label1"),
    );
    runs(&a, "sisa", &[0.96, 0.98]);
    runs(&a, "fedavg", &[0.90]);
    runs(&b, "sisa", &[0.80, 0.90]);
    let out = dir.path().join("fed-table.md");
    let cell_a = format!("mnist #C=1={}", a.display());
    let cell_b = format!("fmnist #C=1={}", b.display());
    let args = [
        "--out",
        out.to_str().unwrap(),
        "--metric",
        "test/accuracy",
        "--x",
        "step",
        "--goal",
        "max",
        &cell_a,
        &cell_b,
    ];
    let o = report(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // One line, the Markdown file: what xtask's reader of `report` output takes first.
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("{}\n", out.display())
    );
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.contains("| group | mnist #C=1 | fmnist #C=1 |"), "{md}");
    // fedavg sorts before sisa in the first cell; sisa {0.96, 0.98} → 0.97 ± 0.01414,
    // {0.80, 0.90} → 0.85 ± 0.07071.
    assert!(
        md.contains("| fedavg | 0.9000 ± 0.0000 / 0.9000 ± 0.0000 (1) | — |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| sisa | 0.9700 ± 0.0141 / 0.9700 ± 0.0141 (2) | 0.8500 ± 0.0707 / 0.8500 ± 0.0707 (2) |"
        ),
        "{md}"
    );
}

#[test]
fn grid_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.md");
    let out = out.to_str().unwrap();
    let missing = format!("x={}", dir.path().join("none").display());
    for (args, says) in [
        (
            &["--out", out, "--metric", "acc", "runs/a"][..],
            "a grid cell is LABEL=DIR",
        ),
        (&["--out", out, "--metric", "acc"][..], "at least one LABEL=DIR"),
        (
            &["--out", out, "--metric", "acc", &missing][..],
            "in any cell of the grid",
        ),
    ] {
        let o = report(args);
        assert!(!o.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
