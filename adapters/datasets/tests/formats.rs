//! The CIFAR-10 formats read to the same tensors, and JPEG decoding against libjpeg-turbo.
//!
//! - The official binary batches and a class-per-folder PNG tree (lossless) of the same images
//!   load to byte-identical pixels and identical labels, through [`load_cifar10`] and through
//!   [`datasets::load`].
//! - A JPEG tree is lossy, so the check there is the decoder: `tests/data/*.jpg` were encoded by
//!   Pillow 13.0 (libjpeg-turbo 3.2) and `tests/data/*.raw` hold Pillow's decoding of them (the
//!   reference decoder torchvision's `ImageFolder` uses); `tests/data/make_jpeg_golden.py`
//!   writes both. zune-jpeg is not bit-identical to libjpeg-turbo: it differs by at most 3 in
//!   0..=255 units above the last row and 10 on the last row of a 4:2:0 image, 0.43 on average
//!   (see [`JPEG_MAX_DIFF`]).

use std::fs;
use std::path::Path;

use datasets::images::{decode_image, load_cifar10, Split};
use datasets::{load, DatasetName};
use tch::Tensor;

/// CIFAR-10's classes, in label order (which is also name order).
const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Deterministic pixels of record `r` (R, G, B planes of 32×32), all byte values used.
fn pixels(r: usize) -> Vec<u8> {
    (0..3072)
        .map(|i| ((i * 31 + r * 97 + i / 1024 * 11) % 256) as u8)
        .collect()
}

fn write_png(path: &Path, planes: &[u8]) {
    // planes CHW → HWC
    let rgb: Vec<u8> = (0..1024)
        .flat_map(|p| [planes[p], planes[1024 + p], planes[2048 + p]])
        .collect();
    let mut enc = png::Encoder::new(fs::File::create(path).unwrap(), 32, 32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&rgb).unwrap();
}

/// Writes `records` (label, record id) as binary batch `file` in `bin` and as PNGs
/// `tree/<split>/<class>/<id>.png`.
fn write_both(bin: &Path, file: &str, tree: &Path, split: &str, records: &[(u8, usize)]) {
    let mut bytes = Vec::new();
    for &(label, id) in records {
        bytes.push(label);
        bytes.extend(pixels(id));
        let folder = tree.join(split).join(CLASSES[label as usize]);
        fs::create_dir_all(&folder).unwrap();
        write_png(&folder.join(format!("{id:05}.png")), &pixels(id));
    }
    fs::write(bin.join(file), bytes).unwrap();
}

/// The images and labels of `set` reordered class-major, records in order within a class (the
/// order of a class-per-folder tree).
fn class_major(images: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
    let l = Vec::<i64>::try_from(labels).unwrap();
    let mut order: Vec<i64> = (0..l.len() as i64).collect();
    order.sort_by_key(|&i| l[i as usize]); // stable
    let index = Tensor::from_slice(&order);
    (images.index_select(0, &index), labels.index_select(0, &index))
}

#[test]
fn binary_batches_and_a_png_tree_load_to_identical_tensors() {
    let (bin, tree) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // 20 training records over the five batches (every class twice, out of order), 10 test
    // records (one per class, in reverse).
    let mut id = 0;
    for b in 1..=5 {
        let records: Vec<(u8, usize)> = (0..4)
            .map(|_| {
                id += 1;
                ((id * 7 % 10) as u8, id)
            })
            .collect();
        write_both(
            bin.path(),
            &format!("data_batch_{b}.bin"),
            tree.path(),
            "train",
            &records,
        );
    }
    let test: Vec<(u8, usize)> = (0..10u8).rev().map(|l| (l, 100 + l as usize)).collect();
    write_both(bin.path(), "test_batch.bin", tree.path(), "test", &test);

    for split in [Split::Train, Split::Test] {
        let from_bin = load_cifar10(bin.path(), split).unwrap();
        let from_tree = load_cifar10(tree.path(), split).unwrap();
        assert_eq!(from_tree.images.size()[1..], [3, 32, 32]);
        let (x, y) = class_major(&from_bin.images, from_bin.labels.as_ref().unwrap());
        assert!(x.equal(&from_tree.images), "{split:?}: pixels differ");
        assert!(
            y.equal(from_tree.labels.as_ref().unwrap()),
            "{split:?}: labels differ"
        );
    }
    let a = load(DatasetName::Cifar10, bin.path()).unwrap();
    let b = load(DatasetName::Cifar10, tree.path()).unwrap();
    for (sa, sb) in [(&a.train, &b.train), (&a.test, &b.test)] {
        let (x, y) = class_major(&sa.x, &sa.y);
        assert!(x.equal(&sb.x) && y.equal(&sb.y));
    }
    assert_eq!(a.train_labels().unwrap().len(), 20);

    // A test tree lacking a training class names the folder.
    fs::remove_dir_all(tree.path().join("test").join("frog")).unwrap();
    let err = load(DatasetName::Cifar10, tree.path()).unwrap_err().to_string();
    assert!(
        err.contains(&format!("test{}frog", std::path::MAIN_SEPARATOR)),
        "{err}"
    );
    // A truncated PNG names the file.
    let victim = tree.path().join("train").join("cat").join("corrupt.png");
    fs::write(
        &victim,
        &fs::read(tree.path().join("test").join("cat").join("00103.png")).unwrap()[..60],
    )
    .unwrap();
    let err = load_cifar10(tree.path(), Split::Train).unwrap_err().to_string();
    assert!(err.contains("corrupt.png") && err.contains("PNG"), "{err}");
}

/// How far zune-jpeg's decoding may be from libjpeg-turbo's, in 0..=255 units: exact agreement
/// is not possible (zune-jpeg has its own integer IDCT, colour conversion and chroma
/// upsampling). Measured on the golden files (max / mean absolute difference):
///
/// | file        | sampling | max | max without the last row | mean  |
/// |-------------|----------|-----|--------------------------|-------|
/// | `gray`      | grey     | 1   | 1                        | 0.009 |
/// | `rgb_444`   | 4:4:4    | 2   | 2                        | 0.020 |
/// | `rgb_420`   | 4:2:0    | 2   | 2                        | 0.361 |
/// | `noise_420` | 4:2:0    | 10  | 3                        | 0.426 |
///
/// The 10 is on the last pixel row of `noise_420` (40 rows, not a multiple of the 16-row
/// MCU), where the two decoders extend the chroma plane differently before upsampling it.
const JPEG_MAX_DIFF: u8 = 10;
/// The bound above without the last pixel row.
const JPEG_MAX_DIFF_INSIDE: u8 = 3;
/// The bound on the mean absolute difference.
const JPEG_MEAN_DIFF: f64 = 0.5;

#[test]
fn jpeg_decoding_matches_libjpeg_turbo() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data");
    let golden: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(data.join("golden.json")).unwrap()).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (h, w, c) = (
            case["height"].as_u64().unwrap() as usize,
            case["width"].as_u64().unwrap() as usize,
            case["channels"].as_u64().unwrap() as usize,
        );
        let (dc, dh, dw, got) = decode_image(&data.join(format!("{name}.jpg"))).unwrap();
        assert_eq!((dc, dh, dw), (c, h, w), "{name}");
        let want = fs::read(data.join(format!("{name}.raw"))).unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        let diffs: Vec<u8> = got.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).collect();
        let max = diffs.iter().copied().max().unwrap_or(0);
        let inside = diffs[..(h - 1) * w * c].iter().copied().max().unwrap_or(0);
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        eprintln!("{name}: max difference {max} ({inside} without the last row), mean {mean:.3}");
        assert!(max <= JPEG_MAX_DIFF, "{name}: max difference {max}");
        assert!(
            inside <= JPEG_MAX_DIFF_INSIDE,
            "{name}: max difference {inside} inside"
        );
        assert!(mean <= JPEG_MEAN_DIFF, "{name}: mean difference {mean}");
    }
    // A JPEG cut short names the file.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.jpg");
    let bytes = fs::read(data.join("rgb_444.jpg")).unwrap();
    fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    match decode_image(&cut) {
        Err(e) => assert!(e.to_string().contains("cut.jpg"), "{e}"),
        Ok((_, _, _, pixels)) => panic!("a third of a JPEG decoded to {} bytes", pixels.len()),
    }
}
