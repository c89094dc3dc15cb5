//! Labelled classification datasets as CPU tensors: [`load`] a [`DatasetName`] from a folder.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use runs::data::DataError;
use tch::{Kind, Tensor};

use crate::error::{DatasetError, Result};
use crate::images::{load_cifar10, Split};

/// Which dataset. Parsed from and shown as `mnist`, `fmnist`, `cifar10`, `a9a`.
///
/// CIFAR-100 is not one of them: it has no `cargo xtask data` source, and every name here is a
/// choice of the `fed` command with a model for it. Read it with
/// [`crate::images::load_cifar100_binary`].
///
/// ```
/// use datasets::DatasetName;
/// let name: DatasetName = "fmnist".parse().unwrap();
/// assert_eq!(name, DatasetName::Fmnist);
/// assert_eq!(name.to_string(), "fmnist");
/// assert_eq!(name.classes(), 10);
/// assert_eq!(name.fetch_command(), "cargo xtask data fmnist");
/// assert!("imagenet".parse::<DatasetName>().unwrap_err().to_string().contains("a9a"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetName {
    /// MNIST digits: 60,000 + 10,000 grey 28×28 images, 10 classes.
    Mnist,
    /// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 60,000 + 10,000 grey 28×28 images of
    /// clothing, 10 classes; the files have MNIST's names and IDX format.
    Fmnist,
    /// CIFAR-10: 50,000 + 10,000 colour 32×32 images, 10 classes.
    Cifar10,
    /// a9a (UCI Adult, LIBSVM): 32,561 + 16,281 rows of 123 binary features, 2 classes.
    A9a,
}

impl DatasetName {
    /// Every dataset, in the order of the names above.
    pub const ALL: [DatasetName; 4] = [
        DatasetName::Mnist,
        DatasetName::Fmnist,
        DatasetName::Cifar10,
        DatasetName::A9a,
    ];

    /// The name used on command lines and as the data folder: `mnist`, `fmnist`, `cifar10`, `a9a`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::Fmnist => "fmnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::A9a => "a9a",
        }
    }

    /// The number of classes: 10, or 2 for a9a.
    pub fn classes(self) -> usize {
        match self {
            DatasetName::Mnist | DatasetName::Fmnist | DatasetName::Cifar10 => 10,
            DatasetName::A9a => 2,
        }
    }

    /// `<data root>/<name>` (see [`runs::data::data_root`]): where `cargo xtask data <name>`
    /// puts the files.
    pub fn default_dir(self) -> PathBuf {
        runs::data::data_root().join(self.as_str())
    }

    /// The command that fetches the dataset into [`DatasetName::default_dir`], for error hints:
    /// `cargo xtask data <name>`.
    pub fn fetch_command(self) -> &'static str {
        match self {
            DatasetName::Mnist => "cargo xtask data mnist",
            DatasetName::Fmnist => "cargo xtask data fmnist",
            DatasetName::Cifar10 => "cargo xtask data cifar10",
            DatasetName::A9a => "cargo xtask data a9a",
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetName {
    type Err = DatasetError;

    /// One of `mnist`, `fmnist`, `cifar10`, `a9a` (exactly, lower-case).
    fn from_str(s: &str) -> Result<Self> {
        DatasetName::ALL
            .into_iter()
            .find(|name| name.as_str() == s)
            .ok_or_else(|| DatasetError::UnknownName {
                name: s.to_owned(),
                known: DatasetName::ALL.map(DatasetName::as_str).join(", "),
            })
    }
}

/// Features and labels of one split, CPU tensors.
#[derive(Debug)]
pub struct Labeled {
    /// Features, `f32`: images `[N, C, H, W]` in [0, 1]; a9a `[N, 123]` in {0, 1}.
    pub x: Tensor,
    /// Labels, `i64 [N]` in `0..classes`.
    pub y: Tensor,
}

/// A classification dataset: both splits and the number of classes.
#[derive(Debug)]
pub struct Classification {
    /// Which dataset.
    pub name: DatasetName,
    /// The training split.
    pub train: Labeled,
    /// The test split.
    pub test: Labeled,
    /// The number of classes (`name.classes()`).
    pub classes: usize,
}

impl Classification {
    /// The label of every training example, in order (for partitioning among clients).
    ///
    /// # Errors
    /// [`DatasetError::BadLabels`] when `train.y` is not an `i64` CPU tensor of labels in
    /// `0..classes` (as [`load`] makes it).
    pub fn train_labels(&self) -> Result<Vec<usize>> {
        let labels = Vec::<i64>::try_from(&self.train.y.flatten(0, -1))
            .map_err(|e| DatasetError::BadLabels(format!("not an i64 CPU tensor: {e}")))?;
        labels
            .into_iter()
            .map(|label| match usize::try_from(label) {
                Ok(l) if l < self.classes => Ok(l),
                _ => Err(DatasetError::BadLabels(format!(
                    "{label} is not a class index below {}",
                    self.classes
                ))),
            })
            .collect()
    }
}

/// Loads dataset `name` from `dir` (e.g. [`DatasetName::default_dir`]) onto the CPU.
///
/// - MNIST and Fashion-MNIST: the four IDX files, raw or under their official gzip'd names
///   (`train-images-idx3-ubyte.gz`, ...), through `mnist::data::load`;
/// - CIFAR-10: the official binary batches (`data_batch_*.bin`, `test_batch.bin`, in `dir` or
///   `dir/cifar-10-batches-bin`) or a class-per-folder tree (`dir/{train,test}/<class>/*.jpg`,
///   or `dir/cifar10-jpeg/...` as `cargo xtask data cifar10` unpacks), scaled to [0, 1];
/// - a9a: the LIBSVM files `dir/a9a` and `dir/a9a.t` (see [`crate::a9a`]).
///
/// # Errors
/// A [`DatasetError`] naming the file when one is missing (with the `cargo xtask data <name>`
/// command), unreadable or corrupt (for a9a, with the line).
pub fn load(name: DatasetName, dir: &Path) -> Result<Classification> {
    let (train, test) = match name {
        DatasetName::Mnist | DatasetName::Fmnist => {
            let m = mnist::data::load(dir).map_err(|e| rehint(e, name, dir))?;
            (
                Labeled {
                    x: m.train_images,
                    y: m.train_labels,
                },
                Labeled {
                    x: m.test_images,
                    y: m.test_labels,
                },
            )
        }
        DatasetName::Cifar10 => {
            let split = |split| -> Result<Labeled> {
                let set = load_cifar10(dir, split)?;
                let y = set.labels.ok_or_else(|| DatasetError::CorruptFile {
                    path: dir.to_path_buf(),
                    message: "CIFAR-10 without labels".into(),
                })?;
                if y.numel() > 0 && y.max().int64_value(&[]) >= 10 {
                    return Err(DatasetError::CorruptFile {
                        path: dir.join(split.as_str()),
                        message: format!("{} classes; CIFAR-10 has 10", y.max().int64_value(&[]) + 1),
                    });
                }
                if set.images.size()[1..] != [3, 32, 32] {
                    return Err(DatasetError::CorruptFile {
                        path: dir.join(split.as_str()),
                        message: format!("images of shape {:?}, expected 3×32×32", &set.images.size()[1..]),
                    });
                }
                Ok(Labeled {
                    x: set.images.to_kind(Kind::Float) / 255.0,
                    y,
                })
            };
            (split(Split::Train)?, split(Split::Test)?)
        }
        DatasetName::A9a => crate::a9a::load(dir)?,
    };
    Ok(Classification {
        name,
        train,
        test,
        classes: name.classes(),
    })
}

/// The IDX loader's error with the hint for `name` (its own hint names MNIST's command).
fn rehint(mut err: DataError, name: DatasetName, dir: &Path) -> DatasetError {
    let new = format!(
        "run `{}` (it fills data/{name}/, or $PISA_DATA_DIR/{name}), or put the official files \
         {} in {}",
        name.fetch_command(),
        mnist::data::FILES.map(|f| format!("{f}.gz")).join(", "),
        dir.display()
    );
    match &mut err {
        DataError::Missing { hint, .. }
        | DataError::Read { hint, .. }
        | DataError::Corrupt { hint, .. }
        | DataError::CountMismatch { hint, .. } => *hint = new,
    }
    DatasetError::Data(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known() {
        for name in DatasetName::ALL {
            assert_eq!(name.to_string().parse::<DatasetName>().unwrap(), name);
            assert!(name.fetch_command().ends_with(name.as_str()));
            assert!(name.default_dir().ends_with(name.as_str()));
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<DatasetName>(&json).unwrap(), name);
        }
        assert_eq!(DatasetName::A9a.classes(), 2);
        assert_eq!(DatasetName::Cifar10.classes(), 10);
        let err = "MNIST".parse::<DatasetName>().unwrap_err().to_string();
        assert_eq!(err, "unknown dataset `MNIST`; known: mnist, fmnist, cifar10, a9a");
    }

    /// An IDX file: magic `0x08 ndims`, dims big-endian, then the bytes.
    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend(data);
        bytes
    }

    #[test]
    fn fmnist_loads_idx_files_and_names_its_own_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(DatasetName::Fmnist, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("train-images-idx3-ubyte") && err.contains("cargo xtask data fmnist"),
            "{err}"
        );
        assert!(!err.contains("data mnist"), "{err}");
        let pixels: Vec<u8> = (0..2 * 28 * 28).map(|i| (i % 256) as u8).collect();
        for split in ["train", "t10k"] {
            fs::write(
                dir.path().join(format!("{split}-images-idx3-ubyte")),
                idx(&[2, 28, 28], &pixels),
            )
            .unwrap();
            fs::write(
                dir.path().join(format!("{split}-labels-idx1-ubyte")),
                idx(&[2], &[9, 4]),
            )
            .unwrap();
        }
        let data = load(DatasetName::Fmnist, dir.path()).unwrap();
        assert_eq!(data.train.x.size(), [2, 1, 28, 28]);
        assert_eq!(data.train.x.kind(), Kind::Float);
        // Pixel 255 (row 9, column 3) holds byte 255.
        assert_eq!(data.train.x.double_value(&[0, 0, 9, 3]), 1.0);
        assert_eq!(data.test.y.kind(), Kind::Int64);
        assert_eq!(data.train_labels().unwrap(), [9, 4]);
        assert_eq!(data.classes, 10);
        // A corrupt labels file: named, with Fashion-MNIST's command.
        fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx(&[2], &[9, 10])).unwrap();
        let err = load(DatasetName::Fmnist, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("t10k-labels-idx1-ubyte") && err.contains("cargo xtask data fmnist"),
            "{err}"
        );
    }

    #[test]
    fn cifar10_binary_batches_scale_to_unit_range() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(DatasetName::Cifar10, dir.path()).unwrap_err().to_string();
        assert!(err.contains("cargo xtask data cifar10"), "{err}");
        let record = |label: u8, value: u8| {
            let mut r = vec![label];
            r.extend(std::iter::repeat_n(value, 3072));
            r
        };
        for i in 1..=5 {
            fs::write(dir.path().join(format!("data_batch_{i}.bin")), record(i, 255)).unwrap();
        }
        fs::write(dir.path().join("test_batch.bin"), record(0, 51)).unwrap();
        let data = load(DatasetName::Cifar10, dir.path()).unwrap();
        assert_eq!(data.train.x.size(), [5, 3, 32, 32]);
        assert_eq!(data.train_labels().unwrap(), [1, 2, 3, 4, 5]);
        assert_eq!(data.train.x.double_value(&[4, 2, 31, 31]), 1.0);
        assert!((data.test.x.double_value(&[0, 0, 0, 0]) - 0.2).abs() < 1e-6);
    }

    #[test]
    fn a_cifar10_tree_with_more_than_ten_classes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for split in ["train", "test"] {
            for class in 0..11 {
                let folder = dir.path().join(split).join(format!("class{class:02}"));
                fs::create_dir_all(&folder).unwrap();
                let file = fs::File::create(folder.join("0.png")).unwrap();
                let mut enc = png::Encoder::new(file, 32, 32);
                enc.set_color(png::ColorType::Rgb);
                enc.write_header().unwrap().write_image_data(&[0; 3072]).unwrap();
            }
        }
        let err = load(DatasetName::Cifar10, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("11 classes; CIFAR-10 has 10") && err.contains("train"),
            "{err}"
        );
    }
}
