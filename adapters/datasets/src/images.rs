//! Image datasets as one `u8` tensor `[N, C, H, W]`: CIFAR-10 (official binary batches or a
//! class-per-folder tree of JPEG/PNG files such as `cargo xtask data cifar10` unpacks),
//! CIFAR-100 (official binary files) and any class-per-folder image tree; and the pieces
//! underneath for loaders that decode on the fly ([`list_image_folder`], [`decode_image`]).
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

/// The layout of one CIFAR binary format.
struct CifarFormat {
    /// Bytes per record: the label bytes, then 3×32×32 pixels (R, G, B planes).
    record: usize,
    /// The byte holding the class label.
    label_at: usize,
    /// The number of classes (labels must be below).
    classes: u8,
    /// CIFAR-100's coarse label: its byte and the number of superclasses.
    coarse: Option<(usize, u8)>,
    /// What to do when a file is missing.
    hint: &'static str,
}

/// Pixel bytes of a CIFAR image (3×32×32).
const CIFAR_PIXELS: usize = 3 * 32 * 32;

/// CIFAR-10's binary batches: 1 label byte, then the pixels.
const CIFAR10_FORMAT: CifarFormat = CifarFormat {
    record: 1 + CIFAR_PIXELS,
    label_at: 0,
    classes: 10,
    coarse: None,
    hint: "download the CIFAR-10 binary version (cifar-10-binary.tar.gz) and unpack it there",
};

/// The number of (fine) classes of CIFAR-100.
pub const CIFAR100_CLASSES: usize = 100;

/// What to do when a CIFAR-100 file is missing: there is no `cargo xtask data cifar100`.
pub const CIFAR100_HINT: &str = "put the official CIFAR-100 binary version there \
     (cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpacked: \
     train.bin and test.bin, or their cifar-100-binary/ folder); there is no \
     `cargo xtask data cifar100` source on this machine";

/// CIFAR-100's binary files: the coarse label (superclass, 0..20), the fine label (class,
/// 0..100), then the pixels.
const CIFAR100_FORMAT: CifarFormat = CifarFormat {
    record: 2 + CIFAR_PIXELS,
    label_at: 1,
    classes: CIFAR100_CLASSES as u8,
    coarse: Some((0, 20)),
    hint: CIFAR100_HINT,
};

/// `dir/sub` when that folder exists (the folder an official tarball unpacks to), else `dir`.
fn unpacked(dir: &Path, sub: &str) -> PathBuf {
    if dir.join(sub).is_dir() {
        dir.join(sub)
    } else {
        dir.to_path_buf()
    }
}

/// Appends the records of the CIFAR binary file `path` in `format` to `pixels` and `labels`.
fn read_cifar_file(
    path: &Path,
    format: &CifarFormat,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<i64>,
) -> Result<()> {
    if !path.is_file() {
        return Err(DatasetError::MissingFile {
            path: path.to_path_buf(),
            hint: format.hint.into(),
        });
    }
    let bytes = fs::read(path).map_err(io_err(path))?;
    let record = format.record;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(corrupt(
            path,
            format!(
                "{} bytes is not a positive multiple of the {record}-byte record",
                bytes.len()
            ),
        ));
    }
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        let label = rec[format.label_at];
        if label >= format.classes {
            return Err(corrupt(
                path,
                format!(
                    "record {i}: label {label} is not a class index (0..{}); is this the right \
                     dataset's file?",
                    format.classes
                ),
            ));
        }
        if let Some((at, superclasses)) = format.coarse {
            if rec[at] >= superclasses {
                return Err(corrupt(
                    path,
                    format!(
                        "record {i}: coarse label {} is not a superclass index (0..{superclasses})",
                        rec[at]
                    ),
                ));
            }
        }
        labels.push(i64::from(label));
        pixels.extend_from_slice(&rec[record - CIFAR_PIXELS..]);
    }
    Ok(())
}

/// The files `names` in `format` as one [`ImageSet`] `[N, 3, 32, 32]`.
fn load_cifar_files(dir: &Path, names: &[String], format: &CifarFormat) -> Result<ImageSet> {
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for name in names {
        read_cifar_file(&dir.join(name), format, &mut pixels, &mut labels)?;
    }
    let n = labels.len() as i64;
    Ok(ImageSet {
        images: Tensor::from_slice(&pixels).view([n, 3, 32, 32]),
        labels: Some(Tensor::from_slice(&labels)),
    })
}

/// Reads official CIFAR-10 binary batches (`data_batch_1.bin` … `data_batch_5.bin` for
/// [`Split::Train`], `test_batch.bin` for [`Split::Test`]) from `dir` or its
/// `cifar-10-batches-bin/` subfolder.
///
/// # Errors
/// [`DatasetError::MissingFile`] or [`DatasetError::CorruptFile`] naming the file (a length
/// that is not a positive multiple of the 3073-byte record, a label above 9).
pub fn load_cifar10_binary(dir: &Path, split: Split) -> Result<ImageSet> {
    let names: Vec<String> = match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".into()],
    };
    load_cifar_files(&unpacked(dir, "cifar-10-batches-bin"), &names, &CIFAR10_FORMAT)
}

/// Reads the official CIFAR-100 binary files (`train.bin` for [`Split::Train`], 50,000
/// images; `test.bin` for [`Split::Test`], 10,000) from `dir` or its `cifar-100-binary/`
/// subfolder, with the fine labels (100 classes, [`CIFAR100_CLASSES`]) as labels; the coarse
/// labels (20 superclasses) are checked and dropped.
///
/// ```no_run
/// use datasets::images::{load_cifar100_binary, Split};
/// let test = load_cifar100_binary("data/cifar100".as_ref(), Split::Test)?;
/// assert_eq!(test.shape(), (3, 32, 32));
/// # Ok::<(), datasets::DatasetError>(())
/// ```
///
/// # Errors
/// [`DatasetError::MissingFile`] naming the file, with [`CIFAR100_HINT`] (there is no
/// `cargo xtask data cifar100`); [`DatasetError::CorruptFile`] naming it for a length that is
/// not a positive multiple of the 3074-byte record or a label out of range (a fine label ≥ 100
/// or a coarse label ≥ 20, e.g. a CIFAR-10 batch given by mistake).
pub fn load_cifar100_binary(dir: &Path, split: Split) -> Result<ImageSet> {
    let name = match split {
        Split::Train => "train.bin",
        Split::Test => "test.bin",
    };
    load_cifar_files(
        &unpacked(dir, "cifar-100-binary"),
        &[name.to_string()],
        &CIFAR100_FORMAT,
    )
}

/// Decodes one JPEG or PNG file into (channels, height, width, HWC bytes): grey stays 1
/// channel, RGBA and grey-alpha drop alpha, every other JPEG colour space (YCbCr, CMYK) becomes
/// RGB. JPEGs are decoded by zune-jpeg, which is within a few units of libjpeg-turbo (the
/// decoder behind Pillow and torchvision), not bit-identical (`tests/formats.rs` measures it).
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
        use zune_jpeg::zune_core::colorspace::ColorSpace;
        use zune_jpeg::zune_core::options::DecoderOptions;
        let bad = |e| corrupt(path, format!("not a valid JPEG: {e:?}"));
        let mut decoder = zune_jpeg::JpegDecoder::new(ZCursor::new(&bytes[..]));
        decoder.decode_headers().map_err(bad)?;
        // Grey stays grey (zune-jpeg's default output is RGB); everything else becomes RGB.
        let out = match decoder.input_colorspace() {
            Some(ColorSpace::Luma) => ColorSpace::Luma,
            _ => ColorSpace::RGB,
        };
        let options = DecoderOptions::default().jpeg_set_out_colorspace(out);
        let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(&bytes[..]), options);
        let data = decoder.decode().map_err(bad)?;
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

/// A class-per-folder image tree, listed but not decoded: what [`list_image_folder`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderListing {
    /// The folder listed.
    pub dir: PathBuf,
    /// The class names (folder names), sorted; a label is an index into this list.
    pub classes: Vec<String>,
    /// Every image file with its label, classes in order and files sorted by name within a
    /// class.
    pub files: Vec<(PathBuf, usize)>,
}

/// Whether `path` has an image extension this crate decodes (`.jpg`, `.jpeg`, `.png`, any case).
pub fn is_image_file(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(ext.as_str(), "jpg" | "jpeg" | "png")
}

/// The sorted names of the subfolders of `dir` (the classes of a class-per-folder tree).
///
/// # Errors
/// [`DatasetError::MissingFile`] when `dir` cannot be read or has no subfolder,
/// [`DatasetError::CorruptFile`] for a folder name that is not UTF-8.
pub fn class_folders(dir: &Path) -> Result<Vec<String>> {
    let missing = || DatasetError::MissingFile {
        path: dir.to_path_buf(),
        hint: "expected a folder with one subfolder of .jpg/.png images per class".into(),
    };
    let mut classes = Vec::new();
    for entry in fs::read_dir(dir).map_err(|_| missing())? {
        let path = entry.map_err(io_err(dir))?.path();
        if path.is_dir() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| corrupt(&path, "class folder name is not UTF-8"))?;
            classes.push(name.to_string());
        }
    }
    if classes.is_empty() {
        return Err(missing());
    }
    classes.sort();
    Ok(classes)
}

/// Lists the class-per-folder tree `dir/<class>/<image>.{jpg,jpeg,png}` (as torchvision's
/// `ImageFolder` does, without decoding): the classes are `dir`'s subfolders in name order, or
/// exactly `classes` when given (a test or validation split must use the training split's
/// classes, or its labels would shift); files in name order within each class; other files
/// are skipped.
///
/// # Errors
/// - [`DatasetError::MissingFile`] when `dir` has no class folders, or (with `classes`) naming
///   the folder of a class that `dir` lacks;
/// - [`DatasetError::CorruptFile`] naming a class folder that is not one of `classes`, or a
///   class folder without images (torchvision's `ImageFolder` refuses those too).
pub fn list_image_folder(dir: &Path, classes: Option<&[String]>) -> Result<FolderListing> {
    let found = class_folders(dir)?;
    let classes = match classes {
        None => found,
        Some(expected) => {
            if let Some(extra) = found.iter().find(|c| !expected.contains(c)) {
                return Err(corrupt(
                    &dir.join(extra),
                    format!(
                        "class folder `{extra}` is not one of the {} training classes",
                        expected.len()
                    ),
                ));
            }
            if let Some(lacking) = expected.iter().find(|c| !found.contains(c)) {
                return Err(DatasetError::MissingFile {
                    path: dir.join(lacking),
                    hint: format!(
                        "the training split has class `{lacking}`; every split needs the same \
                         class folders (an empty one is not enough)"
                    ),
                });
            }
            expected.to_vec()
        }
    };
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let folder = dir.join(class);
        let mut images: Vec<PathBuf> = Vec::new();
        for entry in fs::read_dir(&folder).map_err(io_err(&folder))? {
            let path = entry.map_err(io_err(&folder))?.path();
            if path.is_file() && is_image_file(&path) {
                images.push(path);
            }
        }
        if images.is_empty() {
            return Err(corrupt(&folder, "class folder without .jpg/.jpeg/.png images"));
        }
        images.sort();
        files.extend(images.into_iter().map(|p| (p, label)));
    }
    Ok(FolderListing {
        dir: dir.to_path_buf(),
        classes,
        files,
    })
}

/// Decodes every file of `listing` into one [`ImageSet`]; all images must have the size and
/// channel count of the first one, except that grey images among colour ones become colour.
fn load_listing(listing: &FolderListing) -> Result<ImageSet> {
    let (mut pixels, mut labels): (Vec<u8>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut shape: Option<(usize, usize, usize)> = None;
    for (file, label) in &listing.files {
        let (mut c, h, w, mut hwc) = decode_image(file)?;
        let expected = *shape.get_or_insert((c, h, w));
        if c == 1 && expected.0 == 3 {
            // a grey image among colour ones, as torchvision's `convert("RGB")` makes it
            hwc = hwc.iter().flat_map(|&v| [v, v, v]).collect();
            c = 3;
        }
        if (c, h, w) != expected {
            return Err(corrupt(
                file,
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
        labels.push(*label as i64);
    }
    let Some((c, h, w)) = shape else {
        return Err(DatasetError::MissingFile {
            path: listing.dir.clone(),
            hint: "expected a folder with one subfolder of .jpg/.png images per class".into(),
        });
    };
    let n = labels.len() as i64;
    Ok(ImageSet {
        images: Tensor::from_slice(&pixels).view([n, c as i64, h as i64, w as i64]),
        labels: Some(Tensor::from_slice(&labels)),
    })
}

/// Loads a class-per-folder tree `dir/<class>/<image>.{jpg,jpeg,png}`: classes and files in
/// name order (see [`list_image_folder`]), labels = class index. Every image must have the
/// size and channel count of the first one (a grey image among colour ones is made colour).
///
/// # Errors
/// [`DatasetError::MissingFile`] when `dir` has no class folders with images,
/// [`DatasetError::CorruptFile`] naming an empty class folder or an undecodable or odd-sized
/// image.
pub fn load_image_folder(dir: &Path) -> Result<ImageSet> {
    load_listing(&list_image_folder(dir, None)?)
}

/// [`load_image_folder`] with the classes fixed to `classes` (another split's): labels are
/// indices into `classes`.
///
/// # Errors
/// As [`load_image_folder`], and [`list_image_folder`]'s errors naming a class folder that is
/// missing or not one of `classes`.
pub fn load_image_folder_with_classes(dir: &Path, classes: &[String]) -> Result<ImageSet> {
    load_listing(&list_image_folder(dir, Some(classes))?)
}

/// CIFAR-10 from `root` in whichever form is there: official binary batches (in `root` or
/// `root/cifar-10-batches-bin`), else a class-per-folder tree `root/<split>` or
/// `root/cifar10-jpeg/<split>` (what `cargo xtask data cifar10` unpacks). The test tree is
/// read with the training tree's classes when both are there, so a class folder missing from
/// one of them is an error, not a silent shift of the labels.
///
/// # Errors
/// [`DatasetError::MissingFile`] when none is there or a class folder is missing from the
/// test tree; loader errors naming a corrupt file or an unknown class folder.
pub fn load_cifar10(root: &Path, split: Split) -> Result<ImageSet> {
    let binary = [
        "data_batch_1.bin",
        "cifar-10-batches-bin/data_batch_1.bin",
        "test_batch.bin",
    ];
    if binary.iter().any(|f| root.join(f).is_file()) {
        return load_cifar10_binary(root, split);
    }
    for base in [root.to_path_buf(), root.join("cifar10-jpeg")] {
        let tree = base.join(split.as_str());
        if tree.is_dir() {
            let train = base.join(Split::Train.as_str());
            return if split == Split::Test && train.is_dir() {
                load_image_folder_with_classes(&tree, &class_folders(&train)?)
            } else {
                load_image_folder(&tree)
            };
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

    #[test]
    fn cifar100_uses_the_fine_label_and_names_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_cifar100_binary(dir.path(), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("train.bin") && err.contains("no `cargo xtask data cifar100`"),
            "{err}"
        );
        // Two records in the unpacked folder: (coarse 4, fine 99), (coarse 19, fine 0).
        let sub = dir.path().join("cifar-100-binary");
        fs::create_dir(&sub).unwrap();
        let mut bytes = vec![4u8, 99];
        bytes.extend((0..3072).map(|i| (i % 253) as u8));
        bytes.extend([19u8, 0]);
        bytes.extend(std::iter::repeat_n(200u8, 3072));
        fs::write(sub.join("test.bin"), &bytes).unwrap();
        let set = load_cifar100_binary(dir.path(), Split::Test).unwrap();
        assert_eq!(set.images.size(), [2, 3, 32, 32]);
        assert_eq!(Vec::<i64>::try_from(set.labels.unwrap()).unwrap(), [99, 0]);
        assert_eq!(set.images.int64_value(&[0, 2, 0, 1]), (2048 + 1) % 253);
        assert_eq!(set.images.int64_value(&[1, 0, 5, 5]), 200);
        // Short: not a multiple of 3074.
        fs::write(sub.join("test.bin"), &bytes[..3075]).unwrap();
        let err = load_cifar100_binary(dir.path(), Split::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.bin") && err.contains("3074"), "{err}");
        // A fine label of 100, then a coarse label of 20.
        for (at, value, what) in [(1, 100u8, "label 100"), (0, 20, "coarse label 20")] {
            let mut bad = bytes.clone();
            bad[3074 + at] = value;
            fs::write(sub.join("test.bin"), &bad).unwrap();
            let err = load_cifar100_binary(dir.path(), Split::Test)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("test.bin") && err.contains("record 1") && err.contains(what),
                "{err}"
            );
        }
        // A CIFAR-10 batch (3073-byte records) is not a CIFAR-100 file.
        fs::write(sub.join("test.bin"), vec![0u8; 2 * 3073]).unwrap();
        assert!(load_cifar100_binary(dir.path(), Split::Test).is_err());
    }

    #[test]
    fn a_test_tree_must_have_the_training_classes() {
        let dir = tempfile::tempdir().unwrap();
        for (split, class) in [("train", "bird"), ("train", "cat"), ("test", "cat")] {
            fs::create_dir_all(dir.path().join(split).join(class)).unwrap();
            write_png(
                &dir.path().join(split).join(class).join("a.png"),
                1,
                1,
                &[1, 2, 3],
            );
        }
        let err = load_cifar10(dir.path(), Split::Test).unwrap_err().to_string();
        assert!(
            err.contains(&format!("test{}bird", std::path::MAIN_SEPARATOR)),
            "{err}"
        );
        fs::create_dir_all(dir.path().join("test").join("bird")).unwrap();
        let err = load_cifar10(dir.path(), Split::Test).unwrap_err().to_string();
        assert!(err.contains("bird") && err.contains("without"), "{err}");
        write_png(
            &dir.path().join("test").join("bird").join("b.png"),
            1,
            1,
            &[1, 2, 3],
        );
        fs::create_dir_all(dir.path().join("test").join("dog")).unwrap();
        let err = load_cifar10(dir.path(), Split::Test).unwrap_err().to_string();
        assert!(
            err.contains("dog") && err.contains("not one of the 2 training classes"),
            "{err}"
        );
        fs::remove_dir(dir.path().join("test").join("dog")).unwrap();
        let test = load_cifar10(dir.path(), Split::Test).unwrap();
        assert_eq!(Vec::<i64>::try_from(test.labels.unwrap()).unwrap(), [0, 1]);
        // A grey image among colour ones becomes colour (as torchvision's `convert("RGB")`).
        let file = fs::File::create(dir.path().join("train/cat/b.png")).unwrap();
        let mut enc = png::Encoder::new(file, 1, 1);
        enc.set_color(png::ColorType::Grayscale);
        enc.write_header().unwrap().write_image_data(&[9]).unwrap();
        let train = load_cifar10(dir.path(), Split::Train).unwrap();
        assert_eq!(train.images.size(), [3, 3, 1, 1]);
        assert_eq!(
            Vec::<u8>::try_from(train.images.get(2).flatten(0, -1)).unwrap(),
            [9, 9, 9]
        );
        let listing = list_image_folder(&dir.path().join("train"), None).unwrap();
        assert_eq!(listing.classes, ["bird", "cat"]);
        assert_eq!(listing.files.len(), 3);
        assert_eq!(listing.files[2].1, 1);
    }
}
