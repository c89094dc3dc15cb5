//! End to end: `vision::train::train` on a tiny model and a generated CIFAR-format dataset
//! (official binary batches, 512 training images): it learns, a run cut after one epoch and
//! resumed equals the uninterrupted one, SISA's nodes split the batch, and bad input is refused
//! before a run folder exists; ImageNet's ResNet-18 on a generated `train/`, `val/` PNG tree.

use std::path::Path;

use runs::rng::SplitMix64;
use runs::session::RunArgs;
use vision::source::DatasetKind;
use vision::train::{train, VisionConfig, VisionError};

/// Writes `data_batch_1..5.bin` and `test_batch.bin` in the official CIFAR-10 binary format:
/// class c is a colour (c's bits in the three channels, two shades) plus noise, so a small CNN
/// separates the classes in a few steps.
fn write_cifar(dir: &Path, train: usize, test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = SplitMix64::new(7, 0);
    let mut record = |label: u8| -> Vec<u8> {
        let mut r = vec![label];
        for ch in 0..3u8 {
            let base: u8 = if (label >> ch) & 1 == 1 { 170 } else { 60 } + if label >= 8 { 40 } else { 0 };
            r.extend((0..1024).map(|_| base.saturating_add(rng.below(40) as u8)));
        }
        r
    };
    let per_file = train.div_ceil(5);
    let mut written = 0;
    for file in 1..=5 {
        let n = per_file.min(train - written);
        let bytes: Vec<u8> = (written..written + n)
            .flat_map(|i| record((i % 10) as u8))
            .collect();
        std::fs::write(dir.join(format!("data_batch_{file}.bin")), bytes).unwrap();
        written += n;
    }
    let bytes: Vec<u8> = (0..test).flat_map(|i| record((i % 10) as u8)).collect();
    std::fs::write(dir.join("test_batch.bin"), bytes).unwrap();
}

fn config(data: &Path, epochs: u64) -> VisionConfig {
    VisionConfig {
        model: "vgg-tiny".parse().unwrap(),
        dataset: DatasetKind::Cifar10,
        data: Some(data.to_path_buf()),
        image_side: 224,
        epochs,
        batch: Some(64),
        valid: 64,
        examples: 0,
        test_examples: 0,
        schedule: "constant".parse().unwrap(),
        no_shuffle: false,
        eval_batch: 100,
    }
}

fn args(runs: &Path, optimizer: &str, name: &str) -> RunArgs {
    RunArgs {
        optimizer: Some(optimizer.into()),
        name: Some(name.into()),
        threads: Some(1),
        ..RunArgs::for_tests(runs)
    }
}

/// `metrics.csv` without its timing columns (wall clock, images per second).
fn metrics(runs: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(runs.join("vision").join(name).join("metrics.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let timing = |j: usize| j == 1 || header[j].ends_with("per_s");
    text.lines()
        .map(|l| {
            let cells: Vec<&str> = l
                .split(',')
                .enumerate()
                .filter(|&(j, _)| !timing(j))
                .map(|(_, c)| c)
                .collect();
            cells.join(",")
        })
        .collect()
}

#[test]
fn a_tiny_model_learns_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("cifar"), tmp.path().join("runs"));
    write_cifar(&data, 576, 200); // 512 trained on after 64 held out
    for optimizer in ["sgd", "sisa"] {
        let whole = format!("{optimizer}-whole");
        let full = train(&config(&data, 2), &args(&runs, optimizer, &whole)).unwrap();
        let parts = format!("{optimizer}-parts");
        train(&config(&data, 1), &args(&runs, optimizer, &parts)).unwrap();
        let resume = RunArgs {
            resume: true,
            ..args(&runs, optimizer, &parts)
        };
        let resumed = train(&config(&data, 2), &resume).unwrap();
        assert_eq!(metrics(&runs, &whole), metrics(&runs, &parts), "{optimizer}");
        let (a, b) = (full.figures.unwrap(), resumed.figures.unwrap());
        assert_eq!(
            (
                a.train_examples,
                a.valid_examples,
                a.test_examples,
                a.steps_per_epoch
            ),
            (512, 64, 200, 8)
        );
        assert_eq!(a.final_test_accuracy, b.final_test_accuracy, "{optimizer}");
        assert_eq!(
            a.test_accuracy_at_best_valid, b.test_accuracy_at_best_valid,
            "{optimizer}"
        );
        assert_eq!(a.final_train_loss, b.final_train_loss, "{optimizer}");
        // it learns: well above chance (10 %) after 16 steps
        let accuracy = a.final_test_accuracy.unwrap();
        assert!(accuracy > 0.3, "{optimizer}: test accuracy {accuracy}");
    }
}

fn usage_flag(err: &VisionError) -> String {
    match err {
        VisionError::Usage(u) => u.to_string(),
        other => panic!("not a usage error: {other}"),
    }
}

#[test]
fn bad_input_is_refused_before_a_run_folder_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("cifar"), tmp.path().join("runs"));
    write_cifar(&data, 100, 20);
    let run = args(&runs, "sisa", "refused");
    // more held out than there is
    let too_many = VisionConfig {
        valid: 100,
        ..config(&data, 1)
    };
    let err = train(&too_many, &run).unwrap_err();
    assert!(usage_flag(&err).contains("--valid"), "{err}");
    // a batch smaller than SISA's 4 nodes
    let tiny_batch = VisionConfig {
        batch: Some(2),
        valid: 0,
        ..config(&data, 1)
    };
    let err = train(&tiny_batch, &run).unwrap_err();
    assert!(usage_flag(&err).contains("--batch"), "{err}");
    // an ImageNet model on CIFAR
    let imagenet = VisionConfig {
        model: "resnet18-imagenet".parse().unwrap(),
        ..config(&data, 1)
    };
    let err = train(&imagenet, &run).unwrap_err();
    assert!(usage_flag(&err).contains("--model"), "{err}");
    // no dataset: the message says how to get it
    let missing = config(&tmp.path().join("nothing"), 1);
    let err = train(&missing, &run).unwrap_err();
    assert!(format!("{err}").contains("cargo xtask data cifar10"), "{err}");
    assert!(!runs.join("vision").join("refused").exists());
}

/// A `train/<class>/*.png`, `val/<class>/*.png` tree: class c's images are shade c·60 + noise,
/// of varied sizes and aspect ratios.
fn write_tree(root: &Path, classes: usize, train: usize, val: usize) {
    let mut rng = SplitMix64::new(3, 0);
    for (split, per_class) in [("train", train), ("val", val)] {
        for c in 0..classes {
            let dir = root.join(split).join(format!("class{c}"));
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..per_class {
                let (w, h) = (40 + 8 * (i % 3) as u32, 36 + 6 * (i % 2) as u32);
                let pixels: Vec<u8> = (0..w * h * 3)
                    .map(|_| (c as u64 * 60 + rng.below(30)) as u8)
                    .collect();
                let file = std::fs::File::create(dir.join(format!("{i}.png"))).unwrap();
                let mut enc = png::Encoder::new(file, w, h);
                enc.set_color(png::ColorType::Rgb);
                enc.set_depth(png::BitDepth::Eight);
                enc.write_header().unwrap().write_image_data(&pixels).unwrap();
            }
        }
    }
}

#[test]
fn imagenet_resnet18_trains_on_a_folder_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, runs) = (tmp.path().join("tree"), tmp.path().join("runs"));
    write_tree(&data, 3, 8, 4);
    let config = VisionConfig {
        model: "resnet18-imagenet".parse().unwrap(),
        dataset: DatasetKind::Imagenet,
        image_side: 32,
        batch: Some(8),
        valid: 0,
        eval_batch: 5,
        ..config(&data, 2)
    };
    let summary = train(&config, &args(&runs, "sgd", "imagenet")).unwrap();
    let f = summary.figures.unwrap();
    assert_eq!((f.train_examples, f.valid_examples, f.test_examples), (24, 0, 12));
    assert_eq!((f.steps_per_epoch, f.epochs), (3, 2));
    let accuracy = f.final_test_accuracy.unwrap();
    assert!(
        (0.0..=1.0).contains(&accuracy) && (accuracy * 12.0).fract() == 0.0,
        "{accuracy}"
    );
    assert!(f.final_train_loss.unwrap().is_finite());
    // ImageNet trees are used whole: a held-out split is refused before the run folder exists
    let cut = VisionConfig {
        valid: 4,
        ..config.clone()
    };
    let err = train(&cut, &args(&runs, "sgd", "cut")).unwrap_err();
    assert!(usage_flag(&err).contains("--valid"), "{err}");
    // and a CIFAR model on it is refused
    let wrong = VisionConfig {
        model: "vgg-tiny".parse().unwrap(),
        ..config
    };
    let err = train(&wrong, &args(&runs, "sgd", "wrong")).unwrap_err();
    assert!(usage_flag(&err).contains("--model"), "{err}");
    assert!(!runs.join("vision").join("cut").exists() && !runs.join("vision").join("wrong").exists());
}
