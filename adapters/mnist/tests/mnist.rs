//! The MNIST loader: small synthetic IDX files (raw and gzip'd) with exact values, damaged
//! files, and the real files when `cargo xtask data mnist` has fetched them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use mnist::data::{self as mnist_data, Mnist};
use runs::data::{Corruption, DataError};
use tch::{Kind, Tensor};

/// Grey level of pixel (row, col) of synthetic image i.
fn pixel(i: usize, row: usize, col: usize) -> u8 {
    ((i * 31 + row * 28 + col) % 256) as u8
}

/// An unsigned-byte IDX file.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn images_idx(n: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..n)
        .flat_map(|i| (0..28).flat_map(move |r| (0..28).map(move |c| pixel(i, r, c))))
        .collect();
    idx(&[n as u32, 28, 28], &data)
}

fn labels_idx(labels: &[u8]) -> Vec<u8> {
    idx(&[labels.len() as u32], labels)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

const TRAIN_LABELS: [u8; 3] = [5, 0, 9];
const TEST_LABELS: [u8; 2] = [7, 2];

/// The four files of a 3 + 2 example MNIST in `dir`, under the raw names or gzip'd under the
/// official `.gz` names.
fn write_set(dir: &Path, gzipped: bool) {
    let files = [
        images_idx(3),
        labels_idx(&TRAIN_LABELS),
        images_idx(2),
        labels_idx(&TEST_LABELS),
    ];
    for (name, bytes) in mnist_data::FILES.iter().zip(files) {
        if gzipped {
            std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

fn expected_images(n: usize) -> Vec<f32> {
    (0..n)
        .flat_map(|i| (0..28).flat_map(move |r| (0..28).map(move |c| f32::from(pixel(i, r, c)) / 255.0)))
        .collect()
}

fn floats(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
}

fn ints(t: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(t).unwrap()
}

fn check_synthetic(data: &Mnist) {
    assert_eq!(data.train_images.size(), [3, 1, 28, 28]);
    assert_eq!(data.test_images.size(), [2, 1, 28, 28]);
    assert_eq!(data.train_images.kind(), Kind::Float);
    assert_eq!(data.train_labels.kind(), Kind::Int64);
    assert_eq!(floats(&data.train_images), expected_images(3));
    assert_eq!(floats(&data.test_images), expected_images(2));
    // One pixel by hand: image 1, row 2, col 3 has grey level 31 + 56 + 3 = 90.
    assert_eq!(
        data.train_images.double_value(&[1, 0, 2, 3]),
        f64::from(90.0f32 / 255.0)
    );
    assert_eq!(ints(&data.train_labels), [5, 0, 9]);
    assert_eq!(ints(&data.test_labels), [7, 2]);
}

#[test]
fn raw_files_load_with_exact_values() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), false);
    check_synthetic(&mnist_data::load(dir.path()).unwrap());
}

#[test]
fn official_gzip_files_load_the_same() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), true);
    check_synthetic(&mnist_data::load(dir.path()).unwrap());
}

#[test]
fn raw_names_are_preferred_and_forms_can_mix() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), true);
    // A raw training-labels file next to its .gz: the raw one wins.
    std::fs::write(dir.path().join(mnist_data::FILES[1]), labels_idx(&[1, 2, 3])).unwrap();
    let data = mnist_data::load(dir.path()).unwrap();
    assert_eq!(ints(&data.train_labels), [1, 2, 3]);
    assert_eq!(ints(&data.test_labels), [7, 2]);
    assert_eq!(
        mnist_data::find_file(dir.path(), mnist_data::FILES[1]).unwrap(),
        dir.path().join(mnist_data::FILES[1])
    );
    assert_eq!(
        mnist_data::find_file(dir.path(), mnist_data::FILES[0]).unwrap(),
        dir.path().join("train-images-idx3-ubyte.gz")
    );
}

#[test]
fn gzip_content_under_a_raw_name_loads() {
    // Browsers often unpack a .gz download, or keep gzip bytes under a stripped name.
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), false);
    std::fs::write(dir.path().join(mnist_data::FILES[0]), gzip(&images_idx(3))).unwrap();
    check_synthetic(&mnist_data::load(dir.path()).unwrap());
}

/// Loads `dir`, expecting an error; checks that its message names `file` and the fix.
fn load_error(dir: &Path, file: &Path) -> DataError {
    let err = mnist_data::load(dir).expect_err("the load should fail");
    let message = err.to_string();
    assert!(
        message.contains(&file.display().to_string()),
        "{message:?} does not name {}",
        file.display()
    );
    assert!(
        message.contains("cargo xtask data mnist"),
        "{message:?} gives no fix"
    );
    assert!(message.contains("train-images-idx3-ubyte.gz"), "{message:?}");
    err
}

/// A complete raw set in a fresh folder, with `name` replaced by `bytes`.
fn set_with(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), false);
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn a_missing_file_is_named_with_both_accepted_names() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), false);
    let path = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::remove_file(&path).unwrap();
    let err = load_error(dir.path(), &path);
    let DataError::Missing {
        path: missing, also, ..
    } = &err
    else {
        panic!("expected Missing, got {err:?}");
    };
    assert_eq!(missing, &path);
    assert_eq!(also, &dir.path().join("t10k-labels-idx1-ubyte.gz"));
    // An empty or absent folder fails on the first file.
    let empty = tempfile::tempdir().unwrap();
    load_error(empty.path(), &empty.path().join("train-images-idx3-ubyte"));
}

#[test]
fn a_truncated_images_file_is_corrupt() {
    let mut bytes = images_idx(3);
    bytes.truncate(bytes.len() - 100);
    let (dir, path) = set_with(mnist_data::FILES[0], &bytes);
    let err = load_error(dir.path(), &path);
    assert!(
        matches!(
            &err,
            DataError::Corrupt {
                problem: Corruption::Length {
                    needed: 2352,
                    found: 2252,
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_empty_file_is_corrupt() {
    let (dir, path) = set_with(mnist_data::FILES[2], &[]);
    let err = load_error(dir.path(), &path);
    assert!(matches!(
        &err,
        DataError::Corrupt {
            problem: Corruption::Header { len: 0, .. },
            ..
        }
    ));
}

#[test]
fn images_in_place_of_labels_have_the_wrong_magic() {
    let (dir, path) = set_with(mnist_data::FILES[1], &images_idx(3));
    let err = load_error(dir.path(), &path);
    assert!(
        matches!(
            &err,
            DataError::Corrupt {
                problem: Corruption::Magic {
                    found: 0x0803,
                    expected: 0x0801
                },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_truncated_gzip_file_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), true);
    let path = dir.path().join("t10k-images-idx3-ubyte.gz");
    let gz = std::fs::read(&path).unwrap();
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let err = load_error(dir.path(), &path);
    assert!(
        matches!(
            &err,
            DataError::Corrupt {
                problem: Corruption::Gzip(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_label_outside_0_to_9_is_corrupt() {
    let (dir, path) = set_with(mnist_data::FILES[3], &labels_idx(&[7, 10]));
    let err = load_error(dir.path(), &path);
    assert!(
        matches!(
            &err,
            DataError::Corrupt {
                problem: Corruption::Label {
                    index: 1,
                    value: 10,
                    classes: 10
                },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn images_that_are_not_28_by_28_are_corrupt() {
    let (dir, path) = set_with(mnist_data::FILES[0], &idx(&[3, 32, 32], &[0; 3 * 32 * 32]));
    let err = load_error(dir.path(), &path);
    assert!(
        matches!(&err, DataError::Corrupt { problem: Corruption::Dims { found, .. }, .. } if found == &[3, 32, 32]),
        "{err:?}"
    );
}

#[test]
fn image_and_label_counts_must_agree() {
    let (dir, path) = set_with(mnist_data::FILES[1], &labels_idx(&[1, 2]));
    let err = load_error(dir.path(), &path);
    assert!(
        matches!(
            &err,
            DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn batches_cover_the_set() {
    let dir = tempfile::tempdir().unwrap();
    write_set(dir.path(), false);
    let data = mnist_data::load(dir.path()).unwrap();
    let test: Vec<i64> = data.test_batches(1).flat_map(|(_, y)| ints(&y)).collect();
    assert_eq!(test, [7, 2]);
    let mut train: Vec<i64> = data.train_batches(2, 5).flat_map(|(_, y)| ints(&y)).collect();
    train.sort_unstable();
    assert_eq!(train, [0, 5, 9]);
}

/// The real files: `$PISA_DATA_DIR/mnist`, else `data/mnist` at the repository root.
fn real_dir() -> PathBuf {
    match std::env::var_os(runs::data::DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(root) => PathBuf::from(root).join("mnist"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist"),
    }
}

#[test]
fn real_mnist_has_the_official_counts_and_labels() {
    let dir = real_dir();
    if mnist_data::FILES
        .iter()
        .all(|name| matches!(mnist_data::find_file(&dir, name), Err(DataError::Missing { .. })))
    {
        eprintln!(
            "skipped: MNIST is not in {} (run `cargo xtask data mnist`, or set PISA_DATA_DIR)",
            dir.display()
        );
        return;
    }
    // Some files present: they must all load.
    let data = mnist_data::load(&dir).unwrap();
    assert_eq!(data.train_images.size(), [60_000, 1, 28, 28]);
    assert_eq!(data.test_images.size(), [10_000, 1, 28, 28]);
    assert_eq!(data.train_labels.size(), [60_000]);
    assert_eq!(data.test_labels.size(), [10_000]);
    // Class counts and first labels, as counted with Python from the fetched IDX files.
    let histogram = |labels: &Tensor| ints(&labels.bincount(None::<Tensor>, 10));
    assert_eq!(
        histogram(&data.train_labels),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        histogram(&data.test_labels),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(
        ints(&data.train_labels.narrow(0, 0, 10)),
        [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    );
    assert_eq!(
        ints(&data.test_labels.narrow(0, 0, 10)),
        [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    );
    // Pixels in [0, 1]; the sums of the grey levels (0..255) match Python's.
    assert_eq!(data.train_images.min().double_value(&[]), 0.0);
    assert_eq!(data.train_images.max().double_value(&[]), 1.0);
    let grey_sum = |images: &Tensor| {
        (images * 255.0)
            .round()
            .to_kind(Kind::Int64)
            .sum(Kind::Int64)
            .int64_value(&[])
    };
    assert_eq!(grey_sum(&data.train_images), 1_567_298_545);
    assert_eq!(grey_sum(&data.test_images), 264_923_200);
    assert_eq!(grey_sum(&data.train_images.narrow(0, 0, 1)), 27_525);
    let mean = data.train_images.mean(Kind::Double).double_value(&[]);
    assert!(
        (mean - mnist_data::PIXEL_MEAN).abs() < 1e-4,
        "mean grey level {mean}"
    );
}
