//! The ring toy (`gan train --dataset ring`) in process on the run skeleton: a short WGAN-GP run
//! moves the generator's samples onto the ring's modes far beyond where the untrained generator
//! puts them (both measured with the same metric and noise), and records its figures and picture.

use clap::Parser;
use gan::ring::{mode_coverage, MlpGenerator, Ring, RingSpec};
use gan::run::TrainConfig;
use runs::session::RunArgs;
use std::path::Path;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

/// libtorch's generator is one per process: the tests here take turns (each seeds it).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    config: TrainConfig,
}

/// Modes covered and high-quality share of `n` samples of `generator` against the ring with
/// mode spread `std` (tolerance 3 × `std`), on fixed noise.
fn coverage(generator: &MlpGenerator, std: f64, n: i64) -> (usize, f64) {
    tch::manual_seed(99);
    let z = Tensor::randn([n, generator.z_dim()], (Kind::Float, Device::Cpu));
    let fake = tch::no_grad(|| generator.forward_t(&z, false));
    let ring = Ring {
        std,
        ..Ring::default()
    };
    let m = mode_coverage(&fake, &ring, gan::ring::MIN_SHARE);
    (m.modes_covered, m.high_quality)
}

fn latest_generator(run: &Path) -> MlpGenerator {
    let spec: RingSpec =
        serde_json::from_str(&std::fs::read_to_string(run.join("gan.json")).unwrap()).unwrap();
    let dir = run.join("checkpoints/generator");
    let mut steps: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    steps.sort();
    let mut vs = VarStore::new(Device::Cpu);
    let g = MlpGenerator::new(&vs.root(), spec.z_dim, spec.width);
    vs.load(steps.last().unwrap().join("model.safetensors")).unwrap();
    g
}

#[test]
fn a_short_wgan_gp_run_puts_the_samples_on_the_modes() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut run = RunArgs::for_tests(tmp.path());
    run.optimizer = Some("adam".into());
    run.threads = Some(1);
    let cli = Cli::parse_from([
        "x",
        "--dataset",
        "ring",
        "--batch",
        "256",
        "--base",
        "64",
        "--z-dim",
        "16",
        "--gp-weight",
        "0.1",
        "--max-steps",
        STEPS,
        "--fid-every",
        "0",
        "--final-fid-samples",
        "4000",
    ]);
    let summary = gan::run::train(&cli.config, &run).unwrap();
    let dir = tmp.path().join("gan-wgan-gp-ring/adam");
    assert!(dir.join("plots/ring.png").is_file());
    let figure = summary.figures.unwrap().modes.expect("the final mode metrics");
    assert_eq!((figure.modes, figure.mode_samples), (8, 4000));

    // The untrained generator: the same initialization (seed 0).
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let untrained = MlpGenerator::new(&vs.root(), 16, 64);
    let trained = latest_generator(&dir);
    // Measured (seed 0, 600 steps, 4,000 samples): within 0.3 of a mode, untrained 0/8 modes
    // and 4.4 % of the samples, trained 5/8 and 25.6 %; within 3σ = 0.06, 0.18 % and 1.3 %.
    let (before, after) = (coverage(&untrained, 0.1, 4000), coverage(&trained, 0.1, 4000));
    assert_eq!(before.0, 0, "untrained {before:?}");
    assert!(before.1 < 0.06, "untrained {before:?}");
    assert!(after.0 >= 4, "trained {after:?} vs untrained {before:?}");
    assert!(
        after.1 >= 0.18 && after.1 >= 3.0 * before.1,
        "trained {after:?} vs untrained {before:?}"
    );
    let (before, after) = (coverage(&untrained, 0.02, 4000), coverage(&trained, 0.02, 4000));
    assert!(before.1 < 0.004, "untrained {before:?}");
    assert!(after.1 >= 0.008, "trained {after:?} vs untrained {before:?}");
    // The summary's figure is the same metric at the ring's σ (other noise).
    assert!(figure.high_quality >= 0.006, "{figure:?}");
}

/// A ring run stopped after 5 generator steps and resumed to 10 ends with the same generator and
/// critic, byte for byte, as an uninterrupted 10-step run.
#[test]
fn a_stopped_and_resumed_ring_run_equals_an_uninterrupted_one() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let train = |name: &str, steps: &str, resume: bool| {
        let mut run = RunArgs::for_tests(tmp.path());
        run.name = Some(name.into());
        run.resume = resume;
        run.threads = Some(1);
        let cli = Cli::parse_from([
            "x",
            "--dataset",
            "ring",
            "--batch",
            "32",
            "--base",
            "8",
            "--z-dim",
            "4",
            "--train-images",
            "320",
            "--n-critic",
            "2",
            "--epochs",
            "2",
            "--max-steps",
            steps,
            "--fid-every",
            "1",
            "--fid-samples",
            "100",
            "--final-fid-samples",
            "0",
        ]);
        gan::run::train(&cli.config, &run).unwrap()
    };
    train("whole", "10", false);
    train("part", "5", false);
    let summary = train("part", "10", true);
    assert_eq!(summary.steps, 10);
    let dir = tmp.path().join("gan-wgan-gp-ring");
    for net in ["generator", "critic"] {
        let bytes = |run: &str| {
            std::fs::read(
                dir.join(run)
                    .join("checkpoints")
                    .join(net)
                    .join("step-0000000010/model.safetensors"),
            )
            .unwrap()
        };
        assert!(bytes("whole") == bytes("part"), "{net} differs after resume");
    }
    // One scatter picture per epoch (5 generator steps of 2 critic batches over 10 batches).
    assert!(dir.join("whole/plots/ring-epoch-0001.png").is_file());
    assert!(dir.join("whole/plots/ring-epoch-0002.png").is_file());
}

/// Generator iterations of the short run.
const STEPS: &str = "600";
