//! MNIST (LeCun, Cortes and Burges): 60,000 training and 10,000 test images of handwritten
//! digits, 28×28 grey levels, labels 0–9.
//!
//! [`load`] reads the four IDX files from a folder, by default [`default_dir`]
//! (`data/mnist/`, filled by `cargo xtask data mnist`). Each file is looked for under its raw
//! name first, then under the official gzip'd name a user downloads:
//!
//! | raw (what `cargo xtask data mnist` writes) | official download |
//! |---|---|
//! | `train-images-idx3-ubyte` | `train-images-idx3-ubyte.gz` |
//! | `train-labels-idx1-ubyte` | `train-labels-idx1-ubyte.gz` |
//! | `t10k-images-idx3-ubyte`  | `t10k-images-idx3-ubyte.gz`  |
//! | `t10k-labels-idx1-ubyte`  | `t10k-labels-idx1-ubyte.gz`  |
//!
//! Images become `f32` tensors `[N, 1, 28, 28]` with values in [0, 1] (grey level / 255), ready
//! for a convolution; labels become `i64` tensors `[N]`, ready for `cross_entropy_for_logits`.
//! Kept as `f32` (188 MB for the training set) rather than `u8` so that batches need no
//! conversion; [`PIXEL_MEAN`] and [`PIXEL_STD`] standardize them when a model wants that.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};

use runs::data::{batches, idx, Batches, Corruption, DataError};

/// Image height and width, in pixels.
pub const SIDE: usize = 28;
/// The number of classes (digits 0–9).
pub const CLASSES: u8 = 10;
/// Training images in the official set.
pub const TRAIN_LEN: usize = 60_000;
/// Test images in the official set.
pub const TEST_LEN: usize = 10_000;
/// The mean grey level of the training images, in [0, 1] (torchvision's `Normalize` value).
pub const PIXEL_MEAN: f64 = 0.1307;
/// The standard deviation of the grey levels of the training images (torchvision's value).
pub const PIXEL_STD: f64 = 0.3081;

/// The raw names of the four files: training images and labels, test images and labels.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MNIST as tensors on one device.
#[derive(Debug)]
pub struct Mnist {
    /// Training images, `f32 [N, 1, 28, 28]` in [0, 1].
    pub train_images: Tensor,
    /// Training labels, `i64 [N]` in 0..10.
    pub train_labels: Tensor,
    /// Test images, `f32 [N, 1, 28, 28]` in [0, 1].
    pub test_images: Tensor,
    /// Test labels, `i64 [N]` in 0..10.
    pub test_labels: Tensor,
}

impl Mnist {
    /// A copy on `device` (e.g. the GPU, once, before training).
    pub fn to_device(&self, device: Device) -> Mnist {
        Mnist {
            train_images: self.train_images.to_device(device),
            train_labels: self.train_labels.to_device(device),
            test_images: self.test_images.to_device(device),
            test_labels: self.test_labels.to_device(device),
        }
    }

    /// The training batches of epoch 0, shuffled with `seed` (use [`Batches::epoch`] and
    /// [`Batches::start_at`] for later epochs and resuming).
    ///
    /// # Panics
    /// When `batch_size` is 0.
    pub fn train_batches(&self, batch_size: usize, seed: u64) -> Batches<'_> {
        batches(&self.train_images, &self.train_labels, batch_size, Some(seed))
    }

    /// The test set in order, in batches of `batch_size`.
    ///
    /// # Panics
    /// When `batch_size` is 0.
    pub fn test_batches(&self, batch_size: usize) -> Batches<'_> {
        batches(&self.test_images, &self.test_labels, batch_size, None)
    }
}

/// `<data root>/mnist`: where `cargo xtask data mnist` puts the files (see
/// [`runs::data::data_root`]; `$PISA_DATA_DIR/mnist` when that is set).
pub fn default_dir() -> PathBuf {
    runs::data::data_root().join("mnist")
}

/// What to do about a missing or bad file in `dir`.
fn hint(dir: &Path) -> String {
    let official: Vec<String> = FILES.iter().map(|f| format!("{f}.gz")).collect();
    format!(
        "run `cargo xtask data mnist` (it fills data/mnist/, or $PISA_DATA_DIR/mnist), or put \
         the official files {} in {}",
        official.join(", "),
        dir.display()
    )
}

/// The file for `name` in `dir`: `dir/name` when it exists, else `dir/name.gz`.
///
/// # Errors
/// [`DataError::Missing`] when neither exists.
pub fn find_file(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let raw = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if raw.is_file() {
        Ok(raw)
    } else if gz.is_file() {
        Ok(gz)
    } else {
        Err(DataError::Missing {
            path: raw,
            also: gz,
            hint: hint(dir),
        })
    }
}

/// Loads MNIST from `dir` (e.g. [`default_dir`]) onto the CPU.
///
/// The dimensions must be 28×28 and the image and label counts must agree; the counts are not
/// required to be 60,000 and 10,000, so a subset in the same format loads too.
///
/// # Errors
/// A [`DataError`] naming the file when one is missing, unreadable or corrupt (bad gzip data,
/// magic number, dimensions, length, or a label outside 0–9), or when the counts of images and
/// labels differ; its message says how to get the files.
pub fn load(dir: impl AsRef<Path>) -> Result<Mnist, DataError> {
    let dir = dir.as_ref();
    let [train_images, train_labels, test_images, test_labels] = FILES;
    let (train_images, train_labels) = load_pair(dir, train_images, train_labels)?;
    let (test_images, test_labels) = load_pair(dir, test_images, test_labels)?;
    Ok(Mnist {
        train_images,
        train_labels,
        test_images,
        test_labels,
    })
}

/// Images and labels from `dir/images` and `dir/labels`, checked against each other.
fn load_pair(dir: &Path, images: &str, labels: &str) -> Result<(Tensor, Tensor), DataError> {
    let images_path = find_file(dir, images)?;
    let labels_path = find_file(dir, labels)?;
    let images = read_images(&images_path, &hint(dir))?;
    let labels = read_labels(&labels_path, &hint(dir))?;
    let (n_images, n_labels) = (images.size()[0], labels.size()[0]);
    if n_images != n_labels {
        return Err(DataError::CountMismatch {
            images_path,
            images: n_images as usize,
            labels_path,
            labels: n_labels as usize,
            hint: hint(dir),
        });
    }
    Ok((images, labels))
}

/// An MNIST images file as `f32 [N, 1, 28, 28]` in [0, 1].
fn read_images(path: &Path, hint: &str) -> Result<Tensor, DataError> {
    let bytes = idx::read_file(path, hint)?;
    let corrupt = |problem| DataError::Corrupt {
        path: path.to_path_buf(),
        problem,
        hint: hint.to_owned(),
    };
    let idx = idx::parse(&bytes, 3).map_err(corrupt)?;
    let &[n, rows, cols] = idx.dims.as_slice() else {
        unreachable!("parse checked that there are 3 dimensions");
    };
    if rows != SIDE || cols != SIDE {
        return Err(corrupt(Corruption::Dims {
            found: idx.dims,
            expected: "[N, 28, 28]",
        }));
    }
    let side = SIDE as i64;
    Ok(Tensor::from_slice(idx.data)
        .view([n as i64, 1, side, side])
        .to_kind(Kind::Float)
        / 255.0)
}

/// An MNIST labels file as `i64 [N]`, each in 0..10.
fn read_labels(path: &Path, hint: &str) -> Result<Tensor, DataError> {
    let bytes = idx::read_file(path, hint)?;
    let corrupt = |problem| DataError::Corrupt {
        path: path.to_path_buf(),
        problem,
        hint: hint.to_owned(),
    };
    let idx = idx::parse(&bytes, 1).map_err(corrupt)?;
    if let Some(index) = idx.data.iter().position(|&label| label >= CLASSES) {
        return Err(corrupt(Corruption::Label {
            index,
            value: idx.data[index],
            classes: CLASSES,
        }));
    }
    Ok(Tensor::from_slice(idx.data).to_kind(Kind::Int64))
}
