//! One run through the session (`rl::run::run_one`) on Pendulum: the best of two evaluations is
//! kept as `checkpoints/best/` and named in `summary.json` (also after a resume), and the new
//! metrics hold what they should (rolling-100 return and episode length, action σ, step size);
//! the best policy's filmstrip lands in `plots/`.

use rl::run::{run_one, Figures};
use rl::{Algo, RlConfig};
use runs::checkpoint::{read_meta, verify};
use runs::registry::Registry;
use runs::session::{RunArgs, RunSummary};
use std::collections::BTreeMap;
use std::path::Path;

/// `metrics.csv` as rows of (step, column → value), empty cells left out.
fn metrics(run: &Path) -> Vec<(u64, BTreeMap<String, f64>)> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let values = header
                .iter()
                .zip(&cells)
                .skip(2)
                .filter(|(_, c)| !c.is_empty())
                .map(|(h, c)| (h.to_string(), c.parse().unwrap()))
                .collect();
            (cells[0].parse().unwrap(), values)
        })
        .collect()
}

#[test]
fn the_best_evaluation_is_kept_and_named_in_the_summary() {
    tch::set_num_threads(1);
    let tmp = tempfile::tempdir().unwrap();
    // 2 copies × 32 steps per update, 8 updates; evaluations at steps 256 and 512; both copies
    // end their first 200-step episode at step 400.
    let cfg = RlConfig {
        num_envs: 2,
        num_steps: 32,
        total_steps: 512,
        update_epochs: 1,
        batch_size: Some(32),
        eval_every: 256,
        eval_episodes: 1,
        checkpoint_every: 0,
        ..RlConfig::for_task(Algo::Ppo, "Pendulum-v1")
    };
    let mut args = RunArgs::for_tests(tmp.path());
    args.optimizer = Some("adam".into());
    args.name = Some("best-of-two".into());
    let summary = run_one(&cfg, &toml::Table::new(), &args).unwrap();
    let run = tmp.path().join("ppo-pendulum").join("best-of-two");
    let rows = metrics(&run);

    // The two evaluations; the best checkpoint is the higher one (the first on a tie).
    let evals: Vec<(u64, f64)> = rows
        .iter()
        .filter_map(|(step, v)| v.get("eval/return").map(|r| (*step, *r)))
        .collect();
    assert_eq!(evals.iter().map(|e| e.0).collect::<Vec<_>>(), [256, 512]);
    let want = if evals[1].1 > evals[0].1 {
        evals[1]
    } else {
        evals[0]
    };
    let figures = summary.figures.clone().unwrap();
    let best = figures.best_checkpoint.clone().expect("a best checkpoint");
    assert_eq!(best.step, want.0);
    assert!(
        (best.eval_return - want.1).abs() <= 1e-6 * want.1.abs().max(1.0),
        "{best:?} vs {want:?}"
    );
    assert_eq!(best.path, run.join("checkpoints").join("best"));
    assert_eq!(figures.best_eval_return, Some(best.eval_return));
    let last = figures.final_eval_return.unwrap();
    assert!(
        (last - evals[1].1).abs() <= 1e-6 * evals[1].1.abs().max(1.0),
        "{last}"
    );
    verify(&best.path).unwrap();
    assert_eq!(read_meta(&best.path).unwrap().step, want.0);
    // The step checkpoint of the end is there too; the best is not a step checkpoint.
    assert!(run.join("checkpoints").join("step-0000000512").is_dir());
    let on_disk: RunSummary<Figures> = RunSummary::read(&run.join("summary.json")).unwrap();
    assert_eq!(on_disk.figures.unwrap().best_checkpoint, Some(best.clone()));

    // The first row with finished episodes (the update ending at 448): both episodes lasted 200
    // steps, and the rolling mean over them is this rollout's mean.
    let (step, first) = rows.iter().find(|(_, v)| v.contains_key("train/return")).unwrap();
    assert_eq!(*step, 448);
    assert_eq!(first["train/episode_length"], 200.0);
    assert!((first["train/return_100"] - first["train/return"]).abs() < 1e-6 * first["train/return"].abs());
    assert!(
        !rows[0].1.contains_key("train/return_100"),
        "nothing finished yet"
    );
    // Pendulum's rl-zoo settings: no lr decay, so opt/lr is Adam's η throughout; σ starts at 1.
    let resolved = Registry::builtin()
        .resolve("ppo-pendulum", "adam", &toml::Table::new())
        .unwrap();
    let lr = rl::decay::current_values(&resolved, 0)[0].1;
    for (_, v) in &rows {
        assert_eq!(v["opt/lr"], lr);
        assert!(!v.contains_key("opt/sigma"), "Adam has no σ");
        assert!(
            (v["train/action_std"] - 1.0).abs() < 0.1,
            "{}",
            v["train/action_std"]
        );
    }
    // The best policy's filmstrip: 8 frames of 120 × 90 side by side (a Pendulum test episode
    // lasts 200 steps: 40 rendered, every 5th of those picked), in plots/ and TensorBoard.
    let png = std::fs::read(run.join("plots").join("filmstrip_best.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let (width, height) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((width, height), (8 * 120, 90));
    // The settings and final figures for TensorBoard's HPARAMS tab.
    assert_eq!(
        tfevents::event_files(run.join("tb").join("hparams"))
            .unwrap()
            .len(),
        1
    );

    // A resume of the finished run keeps the best from the checkpoint's state.
    args.resume = true;
    let again = run_one(&cfg, &toml::Table::new(), &args).unwrap();
    assert_eq!(again.figures.unwrap().best_checkpoint, Some(best));
}
