//! Image datasets as one `u8` tensor `[N, C, H, W]`: CIFAR-10 (official binary batches or a
//! class-per-folder tree of JPEG/PNG files such as `cargo xtask data cifar10` unpacks) and any
//! class-per-folder image tree.
//!
//! Every loader names the file that is missing or corrupt.

use crate::error::{DatasetError, Result};
use std::fs;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// Images (`u8`, `[N, C, H, W]`, CPU) with optional class labels.
#[derive(Debug)]
pub struct ImageSet {
    /// The pixels, 0..=255.
    pub images: Tensor,
    /// Class index per image (`i64`, `[N]`) when the source has classes.
    pub labels: Option<Tensor>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.size()[0] as usize
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Channels, height, width.
    pub fn shape(&self) -> (i64, i64, i64) {
        let s = self.images.size();
        (s[1], s[2], s[3])
    }

    /// The first `n` images (all when `n` ≥ len).
    pub fn take(&self, n: usize) -> ImageSet {
        let n = n.min(self.len()) as i64;
        ImageSet {
            images: self.images.narrow(0, 0, n),
            labels: self.labels.as_ref().map(|l| l.narrow(0, 0, n)),
        }
    }
}

/// Which part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training set.
    Train,
    /// The test set.
    Test,
}

impl Split {
    /// `train` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, message: impl Into<String>) -> DatasetError {
    DatasetError::CorruptFile {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Bytes per record of a CIFAR-10 binary batch: 1 label byte, then 3×32×32 pixels (R, G, B planes).
const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

/// Reads official CIFAR-10 binary batches (`data_batch_1.bin` … `data_batch_5.bin` for
/// [`Split::Train`], `test_batch.bin` for [`Split::Test`]) from `dir` or its
/// `cifar-10-batches-bin/` subfolder.
///
/// # Errors
/// [`DatasetError::MissingFile`] or [`DatasetError::CorruptFile`] naming the file.
pub fn load_cifar10_binary(dir: &Path, split: Split) -> Result<ImageSet> {
    let dir = if dir.join("cifar-10-batches-bin").is_dir() {
        dir.join("cifar-10-batches-bin")
    } else {
        dir.to_path_buf()
    };
    let names: Vec<String> = match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".into()],
    };
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for name in names {
        let path = dir.join(&name);
        if !path.is_file() {
            return Err(DatasetError::MissingFile {
                path,
                hint: "download the CIFAR-10 binary version (cifar-10-binary.tar.gz) and unpack it there"
                    .into(),
            });
        }
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        if bytes.is_empty() || bytes.len() % CIFAR_RECORD != 0 {
            return Err(corrupt(
                &path,
                format!(
                    "{} bytes is not a multiple of the {CIFAR_RECORD}-byte record",
                    bytes.len()
                ),
            ));
        }
        for record in bytes.chunks_exact(CIFAR_RECORD) {
            if record[0] > 9 {
                return Err(corrupt(
                    &path,
                    format!("label {} is not a CIFAR-10 class (0..=9)", record[0]),
                ));
            }
            labels.push(i64::from(record[0]));
            pixels.extend_from_slice(&record[1..]);
        }
    }
    let n = labels.len() as i64;
    Ok(ImageSet {
        images: Tensor::from_slice(&pixels).view([n, 3, 32, 32]),
        labels: Some(Tensor::from_slice(&labels)),
    })
}

/// Decodes one JPEG or PNG file into (channels, height, width, HWC bytes); gray stays 1 channel,
/// RGBA/gray-alpha drop alpha.
///
/// # Errors
/// [`DatasetError::CorruptFile`] naming the file.
pub fn decode_image(path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if ext == "png" {
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes[..]));
        let mut reader = decoder
            .read_info()
            .map_err(|e| corrupt(path, format!("not a valid PNG: {e}")))?;
        let mut buf = vec![0u8; reader.output_buffer_size().unwrap_or(0)];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|e| corrupt(path, format!("not a valid PNG: {e}")))?;
        if info.bit_depth != png::BitDepth::Eight {
            return Err(corrupt(
                path,
                format!("{:?} PNG; only 8-bit images are supported", info.bit_depth),
            ));
        }
        let (w, h) = (info.width as usize, info.height as usize);
        let buf = &buf[..info.buffer_size()];
        let (c, data) = match info.color_type {
            png::ColorType::Grayscale => (1, buf.to_vec()),
            png::ColorType::GrayscaleAlpha => (1, buf.iter().step_by(2).copied().collect()),
            png::ColorType::Rgb => (3, buf.to_vec()),
            png::ColorType::Rgba => (3, buf.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()),
            other => return Err(corrupt(path, format!("{other:?} PNG; expected gray or RGB"))),
        };
        Ok((c, h, w, data))
    } else {
        use zune_jpeg::zune_core::bytestream::ZCursor;
        let mut decoder = zune_jpeg::JpegDecoder::new(ZCursor::new(&bytes[..]));
        let data = decoder
            .decode()
            .map_err(|e| corrupt(path, format!("not a valid JPEG: {e:?}")))?;
        let (w, h) = decoder
            .dimensions()
            .ok_or_else(|| corrupt(path, "JPEG without dimensions"))?;
        let c = data.len() / (w * h).max(1);
        if c * w * h != data.len() || !(c == 1 || c == 3) {
            return Err(corrupt(path, format!("decoded {} bytes for {w}×{h}", data.len())));
        }
        Ok((c, h, w, data))
    }
}

/// Loads a class-per-folder tree `dir/<class>/<image>.{jpg,jpeg,png}`: classes and files in
/// name order, labels = class index. Every image must have the size and channel count of the
/// first one.
///
/// # Errors
/// [`DatasetError::MissingFile`] when `dir` has no class folders with images,
/// [`DatasetError::CorruptFile`] naming an undecodable or odd-sized image.
pub fn load_image_folder(dir: &Path) -> Result<ImageSet> {
    let hint = || "expected a folder with one subfolder of .jpg/.png images per class".to_string();
    let mut classes: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|_| DatasetError::MissingFile {
            path: dir.to_path_buf(),
            hint: hint(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    let (mut pixels, mut labels): (Vec<u8>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut shape: Option<(usize, usize, usize)> = None;
    for (label, class) in classes.iter().enumerate() {
        let mut files: Vec<PathBuf> = fs::read_dir(class)
            .map_err(io_err(class))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let ext = p
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                matches!(ext.as_str(), "jpg" | "jpeg" | "png")
            })
            .collect();
        files.sort();
        for file in files {
            let (c, h, w, hwc) = decode_image(&file)?;
            let expected = *shape.get_or_insert((c, h, w));
            if (c, h, w) != expected {
                return Err(corrupt(
                    &file,
                    format!(
                        "{c}×{h}×{w} image where the dataset's first image is {}×{}×{}",
                        expected.0, expected.1, expected.2
                    ),
                ));
            }
            // HWC → CHW.
            for ch in 0..c {
                pixels.extend(hwc.iter().skip(ch).step_by(c));
            }
            labels.push(label as i64);
        }
    }
    let Some((c, h, w)) = shape else {
        return Err(DatasetError::MissingFile {
            path: dir.to_path_buf(),
            hint: hint(),
        });
    };
    let n = labels.len() as i64;
    Ok(ImageSet {
        images: Tensor::from_slice(&pixels).view([n, c as i64, h as i64, w as i64]),
        labels: Some(Tensor::from_slice(&labels)),
    })
}

/// CIFAR-10 from `root` in whichever form is there: official binary batches (in `root` or
/// `root/cifar-10-batches-bin`), else a class-per-folder tree `root/<split>` or
/// `root/cifar10-jpeg/<split>` (what `cargo xtask data cifar10` unpacks).
///
/// # Errors
/// [`DatasetError::MissingFile`] when none is there; loader errors naming a corrupt file.
pub fn load_cifar10(root: &Path, split: Split) -> Result<ImageSet> {
    let binary = [
        "data_batch_1.bin",
        "cifar-10-batches-bin/data_batch_1.bin",
        "test_batch.bin",
    ];
    if binary.iter().any(|f| root.join(f).is_file()) {
        return load_cifar10_binary(root, split);
    }
    for tree in [
        root.join(split.as_str()),
        root.join("cifar10-jpeg").join(split.as_str()),
    ] {
        if tree.is_dir() {
            return load_image_folder(&tree);
        }
    }
    Err(DatasetError::MissingFile {
        path: root.to_path_buf(),
        hint: "run `cargo xtask data cifar10`, or put the official binary batches (data_batch_*.bin) or a \
               class-per-folder image tree (train/<class>/*.jpg) there"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) {
        let file = fs::File::create(path).unwrap();
        let mut enc = png::Encoder::new(file, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(rgb).unwrap();
    }

    #[test]
    fn binary_batches_load_and_corruption_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // Two records: label 3 with pixel value = index mod 251, label 9 with 7s.
        let mut bytes = vec![3u8];
        bytes.extend((0..3072).map(|i| (i % 251) as u8));
        bytes.push(9);
        bytes.extend(std::iter::repeat_n(7u8, 3072));
        fs::write(dir.path().join("test_batch.bin"), &bytes).unwrap();
        let set = load_cifar10(dir.path(), Split::Test).unwrap();
        assert_eq!(set.images.size(), [2, 3, 32, 32]);
        assert_eq!(Vec::<i64>::try_from(set.labels.unwrap()).unwrap(), [3, 9]);
        // Plane order: channel 1 (green) of image 0 starts at byte 1024.
        assert_eq!(set.images.int64_value(&[0, 1, 0, 0]), 1024 % 251);
        assert_eq!(set.images.int64_value(&[1, 2, 31, 31]), 7);
        // Train batches are missing: the error names data_batch_1.bin.
        let err = load_cifar10(dir.path(), Split::Train).unwrap_err().to_string();
        assert!(err.contains("data_batch_1.bin"), "{err}");
        fs::write(dir.path().join("test_batch.bin"), &bytes[..100]).unwrap();
        let err = load_cifar10(dir.path(), Split::Test).unwrap_err().to_string();
        assert!(
            err.contains("test_batch.bin") && err.contains("multiple"),
            "{err}"
        );
    }

    #[test]
    fn folder_tree_loads_in_name_order_and_names_a_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let train = dir.path().join("train");
        for (class, value) in [("cat", 10u8), ("airplane", 200u8)] {
            fs::create_dir_all(train.join(class)).unwrap();
            let mut rgb = vec![value; 4 * 2 * 3];
            rgb[1] = 77; // green of pixel (0, 0)
            write_png(&train.join(class).join("0000.png"), 4, 2, &rgb);
        }
        let set = load_cifar10(dir.path(), Split::Train).unwrap();
        assert_eq!(set.images.size(), [2, 3, 2, 4]);
        // airplane sorts first: label 0, value 200.
        assert_eq!(Vec::<i64>::try_from(set.labels.unwrap()).unwrap(), [0, 1]);
        assert_eq!(set.images.int64_value(&[0, 0, 1, 3]), 200);
        assert_eq!(set.images.int64_value(&[1, 0, 0, 0]), 10);
        assert_eq!(set.images.int64_value(&[1, 1, 0, 0]), 77);
        // A truncated JPEG is reported by name.
        fs::write(train.join("cat").join("0001.jpg"), [0xFFu8, 0xD8, 0xFF, 0x00]).unwrap();
        let err = load_cifar10(dir.path(), Split::Train).unwrap_err().to_string();
        assert!(err.contains("0001.jpg"), "{err}");
        // An image of another size is reported by name.
        fs::remove_file(train.join("cat").join("0001.jpg")).unwrap();
        write_png(&train.join("cat").join("0002.png"), 2, 2, &[0; 12]);
        let err = load_cifar10(dir.path(), Split::Train).unwrap_err().to_string();
        assert!(err.contains("0002.png"), "{err}");
        let err = load_cifar10(&dir.path().join("nothing"), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cargo xtask data cifar10"), "{err}");
    }
}
