//! What a vision run reads, and its batches: CIFAR-10 or CIFAR-100 held in memory (augmented
//! by [`crate::data`]), or an ImageNet-style folder tree decoded on the fly
//! ([`crate::imagenet`]). Either way an epoch is an iterator of [`Batch`]es formed on worker
//! threads, so the training loop is one loop.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use datasets::images::{load_cifar10, load_cifar100_binary, ImageSet, Split, CIFAR100_CLASSES};
use datasets::DatasetError;
use runs::cli::UsageError;
use runs::rng::SplitMix64;
use tch::Tensor;

use crate::data::{Augment, Batch, EpochPlan, Images, Loader, Normalize, CIFAR10_NORMALIZE};
use crate::imagenet::{ImageFolder, ImageNet, ImageNetLoader, ImageNetPlan, DECODE_WORKERS};
use crate::train::VisionError;

/// Batches kept ready by a loader.
const AHEAD: usize = 2;
/// Seed of the held-out validation choice, the training subset and the test subset: fixed, so
/// every seed and every optimizer of a comparison sees the same images.
const SUBSET_SEED: u64 = 0x5EED_CF10;

/// A dataset `vision train` reads (`--dataset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    /// CIFAR-10: official binary batches or a class-per-folder tree (`cargo xtask data cifar10`).
    Cifar10,
    /// CIFAR-100: the official binary version (`train.bin`, `test.bin`), fine labels.
    Cifar100,
    /// An ImageNet-style tree `train/<class>/*`, `val/<class>/*`; `val` is the test set.
    Imagenet,
}

impl DatasetKind {
    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Cifar10 => "cifar10",
            DatasetKind::Cifar100 => "cifar100",
            DatasetKind::Imagenet => "imagenet",
        }
    }

    /// `$PISA_DATA_DIR/<name>` (or `data/<name>`).
    pub fn default_dir(self) -> PathBuf {
        runs::data::data_root().join(self.as_str())
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--dataset` that is none of cifar10, cifar100, imagenet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dataset `{0}`: expected cifar10, cifar100 or imagenet")]
pub struct UnknownDataset(pub String);

impl FromStr for DatasetKind {
    type Err = UnknownDataset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [DatasetKind::Cifar10, DatasetKind::Cifar100, DatasetKind::Imagenet]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDataset(s.to_owned()))
    }
}

/// Which images of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The held-out validation images.
    Valid,
    /// The test images.
    Test,
}

/// How many images of each part a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Held out of the training set for validation (0: none).
    pub valid: usize,
    /// Trained on (0: all the rest).
    pub examples: usize,
    /// Tested on (0: all).
    pub test: usize,
}

/// A run's images and how its batches are formed.
#[derive(Debug)]
pub enum Source {
    /// CIFAR in memory.
    Memory {
        /// What is trained on.
        train: Images,
        /// The held-out validation images (empty without `--valid`).
        valid: Images,
        /// The test images.
        test: Images,
        /// CIFAR's per-channel normalization.
        normalize: Normalize,
        /// 10 or 100.
        classes: usize,
        /// What the images are.
        label: String,
    },
    /// An ImageNet-style tree, decoded on the fly.
    Folders {
        /// `train/` and `val/`.
        data: ImageNet,
        /// The side of the square crops (224).
        side: usize,
        /// What the images are.
        label: String,
    },
}

impl Source {
    /// Opens `kind` in `dir` and cuts it as `counts` says: for CIFAR, `valid` images held out
    /// of the training set, `examples` of the rest trained on and `test` test images (each a
    /// fixed, seed-independent choice: a class-per-folder tree lists the images class by class,
    /// so the first ones would be one class); ImageNet trees are used whole (`side`: the crop).
    ///
    /// # Errors
    /// A missing or corrupt dataset (the error names the file and the command that fetches
    /// it), or counts the dataset cannot give.
    pub fn open(kind: DatasetKind, dir: &Path, counts: Counts, side: usize) -> Result<Self, VisionError> {
        let (train, test, classes, label) = match kind {
            DatasetKind::Imagenet => {
                if counts
                    != (Counts {
                        valid: 0,
                        examples: 0,
                        test: 0,
                    })
                {
                    return Err(UsageError::new(
                        "--valid",
                        "--valid, --examples and --test-examples cut CIFAR; an ImageNet tree is used whole \
                         (its val/ folder is the test set): pass --valid 0",
                    )
                    .into());
                }
                let data = ImageNet::open(dir)?;
                let label = format!(
                    "ImageNet-style tree {} ({} classes)",
                    dir.display(),
                    data.train.classes().len()
                );
                return Ok(Source::Folders { data, side, label });
            }
            DatasetKind::Cifar10 => {
                let jpeg = dir.join("cifar10-jpeg").is_dir() || dir.ends_with("cifar10-jpeg");
                let label = match jpeg {
                    true => {
                        "CIFAR-10 (the shared JPEG re-encoding: compare optimizers, not absolute numbers)"
                            .into()
                    }
                    false => format!("CIFAR-10 from {}", dir.display()),
                };
                (
                    load_cifar10(dir, Split::Train)?,
                    load_cifar10(dir, Split::Test)?,
                    10,
                    label,
                )
            }
            DatasetKind::Cifar100 => (
                load_cifar100_binary(dir, Split::Train)?,
                load_cifar100_binary(dir, Split::Test)?,
                CIFAR100_CLASSES,
                format!("CIFAR-100 from {}", dir.display()),
            ),
        };
        let labels = |set: &ImageSet, split: &str| {
            set.labels
                .as_ref()
                .map(Tensor::shallow_clone)
                .ok_or_else(|| DatasetError::CorruptFile {
                    path: dir.to_path_buf(),
                    message: format!("the {split} images have no labels"),
                })
        };
        let (train_y, test_y) = (labels(&train, "training")?, labels(&test, "test")?);
        let n = train.len();
        if counts.valid + counts.examples.max(1) > n {
            return Err(UsageError::new(
                "--valid",
                format!(
                    "{} held out plus {} trained on is more than the {n} training images in {}",
                    counts.valid,
                    counts.examples.max(1),
                    dir.display()
                ),
            )
            .into());
        }
        let mut order: Vec<usize> = (0..n).collect();
        if counts.valid > 0 || counts.examples > 0 {
            SplitMix64::new(SUBSET_SEED, 0).shuffle(&mut order);
        }
        let (valid_ids, rest) = order.split_at(counts.valid);
        let train_ids = match counts.examples {
            0 => rest,
            k => &rest[..k],
        };
        let mut test_ids: Vec<usize> = (0..test.len()).collect();
        if counts.test > 0 {
            SplitMix64::new(SUBSET_SEED, 1).shuffle(&mut test_ids);
            test_ids.truncate(counts.test);
        }
        let pick = |images: &Tensor, labels: &Tensor, ids: &[usize]| -> Result<Images, VisionError> {
            let ids = Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>());
            Ok(Images::from_tensors(
                &images.f_index_select(0, &ids)?,
                &labels.f_index_select(0, &ids)?,
            )?)
        };
        Ok(Source::Memory {
            train: pick(&train.images, &train_y, train_ids)?,
            valid: pick(&train.images, &train_y, valid_ids)?,
            test: pick(&test.images, &test_y, &test_ids)?,
            // AdaBelief's CIFAR script normalizes CIFAR-100 with CIFAR-10's statistics too
            normalize: CIFAR10_NORMALIZE,
            classes,
            label,
        })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        match self {
            Source::Memory { classes, .. } => *classes,
            Source::Folders { data, .. } => data.train.classes().len(),
        }
    }

    /// What the images are, for logs and the summary.
    pub fn label(&self) -> &str {
        match self {
            Source::Memory { label, .. } | Source::Folders { label, .. } => label,
        }
    }

    /// Training images.
    pub fn train_len(&self) -> usize {
        match self {
            Source::Memory { train, .. } => train.len(),
            Source::Folders { data, .. } => data.train.len(),
        }
    }

    /// Images of `part`.
    pub fn len(&self, part: Part) -> usize {
        match (self, part) {
            (Source::Memory { valid, .. }, Part::Valid) => valid.len(),
            (Source::Memory { test, .. }, Part::Test) => test.len(),
            (Source::Folders { .. }, Part::Valid) => 0,
            (Source::Folders { data, .. }, Part::Test) => data.val.len(),
        }
    }

    /// The augmented, shuffled (unless `shuffle` is false) batches of training epoch `epoch`,
    /// the last partial batch dropped.
    ///
    /// # Errors
    /// A loader that cannot start (an ImageNet plan out of range).
    pub fn train_epoch(
        &self,
        batch: usize,
        seed: u64,
        epoch: u64,
        shuffle: bool,
    ) -> Result<Batches, VisionError> {
        match self {
            Source::Memory { train, normalize, .. } => {
                let plan = EpochPlan {
                    batch,
                    seed,
                    epoch,
                    shuffle,
                    augment: Some(Augment::CIFAR),
                    normalize: *normalize,
                    drop_last: true,
                };
                Ok(Box::new(Loader::start(train, plan, AHEAD).map(Ok)))
            }
            Source::Folders { data, side, .. } => {
                let plan = ImageNetPlan {
                    shuffle,
                    ..ImageNetPlan::train(batch, seed, epoch, *side)
                };
                folder_batches(&data.train, plan)
            }
        }
    }

    /// The batches of `part` in order, without augmentation (ImageNet: resize and center crop).
    ///
    /// # Errors
    /// As [`Source::train_epoch`].
    pub fn eval_batches(&self, part: Part, batch: usize) -> Result<Batches, VisionError> {
        match self {
            Source::Memory {
                valid,
                test,
                normalize,
                ..
            } => {
                let images = match part {
                    Part::Valid => valid,
                    Part::Test => test,
                };
                let plan = EpochPlan {
                    batch,
                    seed: 0,
                    epoch: 0,
                    shuffle: false,
                    augment: None,
                    normalize: *normalize,
                    drop_last: false,
                };
                Ok(Box::new(Loader::start(images, plan, AHEAD).map(Ok)))
            }
            Source::Folders { data, side, .. } => match part {
                Part::Valid => Ok(Box::new(std::iter::empty())),
                Part::Test => folder_batches(&data.val, ImageNetPlan::eval(batch, *side)),
            },
        }
    }
}

/// An epoch's batches, each formed on a worker thread.
pub type Batches = Box<dyn Iterator<Item = Result<Batch, VisionError>>>;

fn folder_batches(folder: &ImageFolder, plan: ImageNetPlan) -> Result<Batches, VisionError> {
    let loader = ImageNetLoader::start(folder, plan, DECODE_WORKERS, AHEAD)?;
    Ok(Box::new(loader.map(|b| b.map_err(VisionError::from))))
}
