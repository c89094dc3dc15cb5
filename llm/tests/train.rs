//! The training loop end to end on synthetic token shards: learning, exact resume, the
//! Hugging Face export, non-finite handling.

mod common;

use common::weights;
use llm::shards::write_shard;
use llm::train::{train, Figures, TrainArgs};
use runs::session::RunSummary;
use std::path::Path;

/// A learnable stream: a period-7 pattern of token ids.
fn make_shards(dir: &Path) {
    let tokens: Vec<u16> = (0..4000u32).map(|i| (100 + (i % 7) * 13) as u16).collect();
    write_shard(&dir.join("syn_train_000000.bin"), &tokens).unwrap();
    write_shard(&dir.join("syn_val_000000.bin"), &tokens[..600]).unwrap();
}

/// A run's summary as the JSON object `summary.json` holds.
fn json(summary: &RunSummary<Figures>) -> serde_json::Value {
    serde_json::to_value(summary).unwrap()
}

fn args(data: &Path, runs: &Path, name: &str, extra: &[&str]) -> TrainArgs {
    common::train_args(
        data,
        runs,
        name,
        &[
            ("--steps", "8"),
            ("--eval-every", "4"),
            ("--val-tokens", "256"),
            ("--checkpoint-every", "4"),
            ("--seed", "3"),
        ],
        extra,
    )
}

#[test]
fn nsisa_learns_resumes_exactly_and_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    std::fs::create_dir_all(&data).unwrap();
    make_shards(&data);
    let common = ["--optimizer", "nsisa", "--nodes", "2", "--accum", "2"];

    let full = train(&args(&data, &runs, "full", &common)).unwrap();
    let first_val: f64 = {
        let csv = std::fs::read_to_string(runs.join("llm/full/metrics.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let col = header.iter().position(|h| *h == "val/loss").unwrap();
        csv.lines()
            .skip(1)
            .find_map(|l| l.split(',').nth(col).and_then(|v| v.parse().ok()))
            .unwrap()
    };
    let final_val = json(&full)["val_loss"].as_f64().unwrap();
    assert!(final_val < first_val - 0.5, "val loss {first_val} → {final_val}");
    assert!(
        first_val < (512f64).ln(),
        "already below uniform after 4 steps: {first_val}"
    );

    // 4 steps, stop, resume for the rest: the same weights bit for bit.
    let mut part = common.to_vec();
    part.extend(["--stop-after", "4"]);
    train(&args(&data, &runs, "split", &part)).unwrap();
    assert!(!runs.join("llm/split/model").exists(), "no export before the end");
    let mut rest = common.to_vec();
    rest.push("--resume");
    let resumed = train(&args(&data, &runs, "split", &rest)).unwrap();
    assert_eq!(json(&resumed)["val_loss"], json(&full)["val_loss"]);
    let (a, b) = (weights(&runs.join("llm/full")), weights(&runs.join("llm/split")));
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs after resume");
    }
    // The export is a Hugging Face checkpoint our loader reads back.
    let cfg = llm::hf::load_config(&runs.join("llm/full/model")).unwrap();
    assert_eq!(cfg.n_embd, 32);
}

#[test]
fn adamw_and_muon_runs_learn_and_bad_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    std::fs::create_dir_all(&data).unwrap();
    make_shards(&data);
    for opt in ["adamw", "muon"] {
        let s = train(&args(&data, &runs, opt, &["--optimizer", opt])).unwrap();
        let v = json(&s)["val_loss"].as_f64().unwrap();
        // ln(512) = 6.24 at the start; 8 small steps at lr 1e-3 (AdamW) / 0.02 (Muon).
        eprintln!("{opt}: val loss {v}");
        assert!(v < 5.9, "{opt}: val loss {v}");
        assert_eq!(json(&s)["tokens"], 8 * 4 * 16);
    }
    let mut a = args(&data, &runs, "x", &["--optimizer", "nsisa", "--nodes", "2"]);
    a.batch = 3;
    let err = train(&a).unwrap_err();
    let err = anyhow::Error::from(err);
    assert!(format!("{err:#}").contains("multiple"), "{err:#}");
    let err = train(&args(&tmp.path().join("nothing"), &runs, "y", &[])).unwrap_err();
    assert!(format!("{err:#}").contains("nothing"), "{err:#}");
    let mut a = args(&data, &runs, "z", &[]);
    a.seq = Some(65);
    let err = train(&a).unwrap_err();
    let err = anyhow::Error::from(err);
    assert!(format!("{err:#}").contains("n_positions"), "{err:#}");
}

#[test]
fn finetuning_a_hugging_face_checkpoint_with_sisa() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    std::fs::create_dir_all(&data).unwrap();
    // Tokens below the golden model's vocabulary of 101.
    let tokens: Vec<u16> = (0..3000u32).map(|i| (5 + (i % 5) * 17) as u16).collect();
    write_shard(&data.join("ft_train_000000.bin"), &tokens).unwrap();
    write_shard(&data.join("ft_val_000000.bin"), &tokens[..400]).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tiny-gpt2");
    let mut a = args(
        &data,
        &runs,
        "ft",
        &["--optimizer", "sisa", "--from", from.to_str().unwrap()],
    );
    a.preset = "ignored-with-from".into();
    let before = {
        let mut b = a.clone();
        b.steps = 1;
        b.run.name = Some("ft0".into());
        b.run.config = None;
        json(&train(&b).unwrap())["val_loss"].as_f64().unwrap()
    };
    // The gpt2-finetune preset (σ 0.05, η 2e-5) is for 124M; a larger step suits this toy.
    let cfg = tmp.path().join("sisa.toml");
    std::fs::write(&cfg, "sigma = 0.05\nlr = 3e-3\n").unwrap();
    a.run.config = Some(cfg);
    let s = train(&a).unwrap();
    let after = json(&s)["val_loss"].as_f64().unwrap();
    assert_eq!(json(&s)["optimizer"], "sisa");
    assert!(after < before - 0.5, "fine-tuning: {before} → {after}");
    let cfg = llm::hf::load_config(&runs.join("llm/ft/model")).unwrap();
    assert_eq!(cfg.vocab_size, 101, "the checkpoint's own architecture is kept");
    // The recipe setting: SISA on every parameter (no pre-training AdamW group), σ constant,
    // ρ following a linear decay to 0 over the run.
    let written: toml::Table = std::fs::read_to_string(runs.join("llm/ft/config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(written.get("groups").is_none(), "{written}");
    let schedule = &written["schedule"];
    assert_eq!(schedule["kind"].as_str(), Some("lr_linked"));
    assert_eq!(schedule["sigma_power"].as_float(), Some(0.0));
    assert_eq!(schedule["lr"]["kind"].as_str(), Some("trapezoid"));
    assert_eq!(
        schedule["lr"]["warmdown"].as_integer(),
        schedule["lr"]["total"].as_integer()
    );
}
