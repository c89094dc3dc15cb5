//! Tests of the `report compare` command on synthetic run folders `<group>-seed<k>/`.

use std::path::Path;
use std::process::Command;

/// Writes `<dir>/<group>-seed<k>/metrics.csv` with `epoch` and `fid` columns, the last FID
/// `finals[k]`, and a `summary.json`.
fn runs(dir: &Path, group: &str, finals: &[f64]) {
    for (seed, last) in finals.iter().enumerate() {
        let run = dir.join(format!("{group}-seed{seed}"));
        std::fs::create_dir_all(&run).unwrap();
        let csv = format!("step,wall_time,epoch,fid\n10,1.0,1,300\n20,2.0,2,{last}\n");
        std::fs::write(run.join("metrics.csv"), csv).unwrap();
        std::fs::write(run.join("summary.json"), r#"{"status": "finished"}"#).unwrap();
    }
}

fn report(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_report"))
        .arg("compare")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn compare_prints_markdown_then_plots_and_covers_the_groups_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    runs(dir.path(), "adam", &[200.0, 240.0]);
    runs(dir.path(), "sisa", &[150.0, 170.0]);
    runs(dir.path(), "sisa-sigma0.1", &[100.0]);
    let out = report(&["--metric", "fid", "--x", "epoch", "--goal", "min"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&Path> = stdout.lines().map(Path::new).collect();
    assert_eq!(
        lines,
        [
            dir.path().join("compare.md"),
            dir.path().join("plots/compare_fid.png"),
            dir.path().join("plots/compare_fid_box.png")
        ]
    );
    let md = std::fs::read_to_string(lines[0]).unwrap();
    assert!(
        md.contains("| sisa | 2 | 160.00 ± 14.14 | 170.00 | 150.00 | 160.00 ± 14.14 |"),
        "{md}"
    );
    assert!(md.contains("| sisa-sigma0.1 | 1 | 100.00 ± 0.00 |"), "{md}");

    let out = report(
        &["--metric", "fid", "--x", "epoch", "--groups", "sisa,adam"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
    assert!(md.contains(": sisa (seeds 0, 1); adam (seeds 0, 1)."), "{md}");
    assert!(!md.contains("sisa-sigma0.1"), "{md}");
}

#[test]
fn compare_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(&["--metric", "fid"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runs named <group>-seed<k>"));
    runs(dir.path(), "adam", &[1.0]);
    for (args, says) in [
        (&["--metric", "loss"][..], "no `loss` values"),
        (&["--metric", "fid", "--goal", "up"][..], "expected min or max"),
        (
            &["--metric", "fid", "--groups", "lamb"][..],
            "no runs lamb-seed<k>",
        ),
        (&[][..], "usage"),
    ] {
        let out = report(args, dir.path());
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
