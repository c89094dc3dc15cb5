//! ImageNet-style training and evaluation batches from a folder tree, decoded on the fly:
//! `root/train/<class>/*.{JPEG,jpg,png}` and `root/val/<class>/...` (the layout of torchvision's
//! `ImageFolder` examples), with torchvision's standard transforms written out in Rust.
//!
//! - [`ImageNet::open`] lists both splits once (classes = the sorted training folder names;
//!   validation must have exactly those class folders; files sorted by name). Nothing is
//!   decoded until a batch needs it, through [`datasets::images::decode_image`].
//! - [`Transform::train`]: `RandomResizedCrop(side, scale=(0.08, 1.0), ratio=(3/4, 4/3))` with
//!   torchvision's ten-attempt sampling and its center-crop fallback
//!   ([`RandomResizedCrop::crop_box`]), then `RandomHorizontalFlip(p=0.5)`.
//! - [`Transform::eval`]: `Resize(256)` (shorter side to 256, aspect kept, the longer side
//!   truncated as torchvision does) then `CenterCrop(224)` (scaled with `side`).
//! - Resizing is bilinear with half-pixel centres and no antialiasing ([`resize_bilinear`]),
//!   computed as torch's CPU `uint8` kernel computes
//!   `interpolate(mode="bilinear", align_corners=False, antialias=False)` — what torchvision's
//!   `Resize(..., antialias=False)` runs on a `uint8` image tensor — byte for byte (separable,
//!   fixed-point weights, each pass rounded); the float path (GPU or float tensors) differs by
//!   at most 1. **No antialiasing**: torchvision's default PIL path (and its tensor path since
//!   0.17, `antialias=True`) widens the filter when downscaling, so a strongly downscaled image
//!   here is sharper (more aliased) than torchvision's defaults give; upscaling agrees with PIL.
//!   `tests/imagenet.rs` checks all of this against torchvision 0.26.
//! - [`IMAGENET_NORMALIZE`]: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
//! - [`ImageNetLoader`]: the batches of an epoch formed by worker threads
//!   ([`DECODE_WORKERS`]: JPEG decoding is the cost) over bounded channels, in order, like
//!   [`crate::data::Loader`].
//!
//! Every random draw is a function of (seed, epoch, sample index) through [`SplitMix64`]: the
//! epoch's order of (seed, epoch), a sample's crop and flip of (seed, epoch, sample), so the
//! batches do not depend on the number of workers and a resumed run sees what an uninterrupted
//! one would.
//!
//! ```no_run
//! use vision::imagenet::{ImageNet, ImageNetLoader, ImageNetPlan, DECODE_WORKERS};
//! let data = ImageNet::open("data/imagenet".as_ref())?;
//! let plan = ImageNetPlan::train(256, 0, 0, 224);
//! for batch in ImageNetLoader::start(&data.train, plan, DECODE_WORKERS, 4)? {
//!     let batch = batch?;
//!     assert_eq!(batch.x.size()[1..], [3, 224, 224]);
//! }
//! # Ok::<(), vision::imagenet::ImageNetError>(())
//! ```

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use datasets::images::{decode_image, list_image_folder, FolderListing};
use datasets::DatasetError;
use runs::rng::SplitMix64;
use tch::Tensor;

use crate::data::{Batch, Normalize};

/// ImageNet's per-channel mean and standard deviation in [0, 1] units (torchvision's).
pub const IMAGENET_NORMALIZE: Normalize = Normalize {
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
};

/// The number of loader threads the project uses: two decode JPEGs while the model trains.
pub const DECODE_WORKERS: usize = 2;

/// What can go wrong reading ImageNet-style batches.
#[derive(Debug, thiserror::Error)]
pub enum ImageNetError {
    /// A file or folder is missing or corrupt; the error names it.
    #[error(transparent)]
    Data(#[from] DatasetError),
    /// A setting out of its range.
    #[error("{field}: {message}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A loader's worker thread ended before sending batch `batch` (it panicked).
    #[error("the loader's worker stopped before batch {batch}")]
    WorkerStopped {
        /// The batch that did not come.
        batch: usize,
    },
}

/// `Result` with [`ImageNetError`].
pub type Result<T, E = ImageNetError> = std::result::Result<T, E>;

fn config(field: &'static str, message: impl Into<String>) -> ImageNetError {
    ImageNetError::Config {
        field,
        message: message.into(),
    }
}

/// An RGB image as bytes, rows of pixels of (R, G, B) (HWC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `height · width · 3` bytes, HWC.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// From `channels` (1 or 3) × `height` × `width` HWC bytes, grey expanded to three equal
    /// channels (as torchvision's loader, PIL's `convert("RGB")`, does).
    ///
    /// # Errors
    /// [`ImageNetError::Config`] for another channel count, a zero size or a byte count that
    /// does not match.
    pub fn from_hwc(channels: usize, height: usize, width: usize, data: Vec<u8>) -> Result<Self> {
        if height == 0 || width == 0 || data.len() != channels * height * width {
            return Err(config(
                "image",
                format!("{} bytes for {channels}×{height}×{width}", data.len()),
            ));
        }
        let pixels = match channels {
            3 => data,
            1 => data.iter().flat_map(|&v| [v, v, v]).collect(),
            c => return Err(config("image", format!("{c} channels; expected 1 or 3"))),
        };
        Ok(RgbImage {
            height,
            width,
            pixels,
        })
    }

    /// Decodes the JPEG or PNG file `path` (see [`decode_image`]).
    ///
    /// # Errors
    /// [`ImageNetError::Data`] naming the file when it cannot be read or decoded.
    pub fn open(path: &Path) -> Result<Self> {
        let (c, h, w, data) = decode_image(path)?;
        RgbImage::from_hwc(c, h, w, data).map_err(|e| {
            ImageNetError::Data(DatasetError::CorruptFile {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        })
    }
}

/// One split of a class-per-folder tree, listed once (files sorted, labels = class indices);
/// cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct ImageFolder {
    listing: Arc<FolderListing>,
}

impl ImageFolder {
    /// Lists `dir/<class>/*.{jpg,jpeg,png}` (any case, e.g. `.JPEG`); classes are the sorted
    /// folder names.
    ///
    /// # Errors
    /// [`ImageNetError::Data`] naming `dir` when it has no class folders, or a class folder
    /// without images.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(ImageFolder {
            listing: Arc::new(list_image_folder(dir, None)?),
        })
    }

    /// Lists `dir` with the classes fixed to `classes` (the training split's).
    ///
    /// # Errors
    /// As [`ImageFolder::open`], and naming a class folder that `dir` lacks or one that is not
    /// in `classes`.
    pub fn open_with_classes(dir: &Path, classes: &[String]) -> Result<Self> {
        Ok(ImageFolder {
            listing: Arc::new(list_image_folder(dir, Some(classes))?),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.listing.files.len()
    }

    /// Whether there are none (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.listing.files.is_empty()
    }

    /// The class names; label `k` is `classes()[k]`.
    pub fn classes(&self) -> &[String] {
        &self.listing.classes
    }

    /// The folder listed.
    pub fn dir(&self) -> &Path {
        &self.listing.dir
    }

    /// The file and label of sample `index`, `None` past the end.
    pub fn sample(&self, index: usize) -> Option<(&Path, usize)> {
        self.listing.files.get(index).map(|(p, l)| (p.as_path(), *l))
    }

    /// Sample `index` decoded.
    ///
    /// # Errors
    /// [`ImageNetError::Config`] past the end; [`ImageNetError::Data`] naming the file.
    pub fn load(&self, index: usize) -> Result<RgbImage> {
        let (path, _) = self
            .sample(index)
            .ok_or_else(|| config("index", format!("{index} is past the {} samples", self.len())))?;
        RgbImage::open(path)
    }
}

/// The two splits of an ImageNet-style tree.
#[derive(Debug, Clone)]
pub struct ImageNet {
    /// `root/train`.
    pub train: ImageFolder,
    /// `root/val`, with the training classes.
    pub val: ImageFolder,
}

impl ImageNet {
    /// Lists `root/train` and `root/val` (see the [module docs](self)).
    ///
    /// # Errors
    /// [`ImageNetError::Data`] naming the folder or file: a split missing or without class
    /// folders, an empty class folder, a class folder missing from `val` or one `train` lacks.
    pub fn open(root: &Path) -> Result<Self> {
        let train = ImageFolder::open(&root.join("train"))?;
        let val = ImageFolder::open_with_classes(&root.join("val"), train.classes())?;
        Ok(ImageNet { train, val })
    }
}

/// A rectangle of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl CropBox {
    /// The whole of a `height` × `width` image.
    pub fn whole(height: usize, width: usize) -> Self {
        CropBox {
            top: 0,
            left: 0,
            height,
            width,
        }
    }
}

/// Python's `int(round(x))`: to the nearest integer, ties to even.
fn round_half_even(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// torchvision's `RandomResizedCrop`: a random box of area fraction in `scale` and aspect
/// ratio (width / height) in `ratio` (log-uniform), resized to `size` × `size`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomResizedCrop {
    /// Output side (224 for ImageNet).
    pub size: usize,
    /// Range of the box's area as a fraction of the image's: torchvision's (0.08, 1.0).
    pub scale: (f64, f64),
    /// Range of the box's width / height: torchvision's (3/4, 4/3).
    pub ratio: (f64, f64),
}

impl RandomResizedCrop {
    /// torchvision's defaults with output side `size`.
    pub fn new(size: usize) -> Self {
        RandomResizedCrop {
            size,
            scale: (0.08, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
        }
    }

    /// torchvision's `RandomResizedCrop.get_params` for a `height` × `width` image: up to ten
    /// attempts, each drawing an area fraction uniformly from `scale` and a ratio
    /// log-uniformly from `ratio`, `w = round(√(area · ratio))`, `h = round(√(area / ratio))`,
    /// accepted when it fits, then its position uniformly; after ten misses, the largest
    /// centred box with the ratio clamped into `ratio`. The box is always inside the image.
    pub fn crop_box(&self, height: usize, width: usize, rng: &mut SplitMix64) -> CropBox {
        if height == 0 || width == 0 {
            return CropBox::whole(height, width);
        }
        let area = (height * width) as f64;
        let (log_lo, log_hi) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * (self.scale.0 + (self.scale.1 - self.scale.0) * rng.uniform());
            let aspect = (log_lo + (log_hi - log_lo) * rng.uniform()).exp();
            let w = round_half_even((target * aspect).sqrt());
            let h = round_half_even((target / aspect).sqrt());
            if 0 < w && w as usize <= width && 0 < h && h as usize <= height {
                let (w, h) = (w as usize, h as usize);
                let top = rng.below((height - h + 1) as u64) as usize;
                let left = rng.below((width - w + 1) as u64) as usize;
                return CropBox {
                    top,
                    left,
                    height: h,
                    width: w,
                };
            }
        }
        // Fallback to a central crop.
        let in_ratio = width as f64 / height as f64;
        let (h, w) = if in_ratio < self.ratio.0 {
            (round_half_even(width as f64 / self.ratio.0) as usize, width)
        } else if in_ratio > self.ratio.1 {
            (height, round_half_even(height as f64 * self.ratio.1) as usize)
        } else {
            (height, width)
        };
        let (h, w) = (h.clamp(1, height), w.clamp(1, width));
        CropBox {
            top: (height - h) / 2,
            left: (width - w) / 2,
            height: h,
            width: w,
        }
    }
}

/// torchvision's evaluation transform `Resize(resize)` then `CenterCrop(crop)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeCenterCrop {
    /// The shorter side after resizing (256 for ImageNet).
    pub resize: usize,
    /// The output side (224 for ImageNet), at most `resize`.
    pub crop: usize,
}

impl ResizeCenterCrop {
    /// Output side `crop`, resizing the shorter side to `round(crop · 256 / 224)` first
    /// (256 for 224).
    pub fn new(crop: usize) -> Self {
        ResizeCenterCrop {
            resize: (crop * 256 + 112) / 224,
            crop,
        }
    }

    /// The size (height, width) of a `height` × `width` image after `Resize(resize)`: the
    /// shorter side `resize`, the longer `⌊resize · long / short⌋` (torchvision truncates).
    pub fn resized(&self, height: usize, width: usize) -> (usize, usize) {
        if width <= height {
            (self.resize * height / width.max(1), self.resize)
        } else {
            (self.resize, self.resize * width / height.max(1))
        }
    }

    /// The `CenterCrop(crop)` box of an image of size (`height`, `width`) ≥ `crop`:
    /// offsets `round((size − crop) / 2)`, ties to even, as torchvision computes them.
    pub fn center(&self, height: usize, width: usize) -> CropBox {
        let offset = |size: usize| round_half_even(size.saturating_sub(self.crop) as f64 / 2.0) as usize;
        CropBox {
            top: offset(height),
            left: offset(width),
            height: self.crop,
            width: self.crop,
        }
    }
}

/// One sample's transform: random for training, fixed for evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    /// [`RandomResizedCrop`], then a horizontal flip with probability ½ when `flip`.
    Train {
        /// The crop.
        crop: RandomResizedCrop,
        /// Flip horizontally with probability ½.
        flip: bool,
    },
    /// [`ResizeCenterCrop`].
    Eval(ResizeCenterCrop),
}

impl Transform {
    /// ImageNet training at output side `side` (224): `RandomResizedCrop(side)` and a flip.
    pub fn train(side: usize) -> Self {
        Transform::Train {
            crop: RandomResizedCrop::new(side),
            flip: true,
        }
    }

    /// ImageNet evaluation at output side `side` (224): `Resize(256)`, `CenterCrop(224)`.
    pub fn eval(side: usize) -> Self {
        Transform::Eval(ResizeCenterCrop::new(side))
    }

    /// The output side.
    pub fn side(&self) -> usize {
        match self {
            Transform::Train { crop, .. } => crop.size,
            Transform::Eval(e) => e.crop,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ImageNetError::Config`] for a zero side, a scale range outside (0, 1] or reversed, a
    /// ratio range not positive or reversed, or an evaluation crop larger than its resize.
    pub fn validate(&self) -> Result<()> {
        if self.side() == 0 {
            return Err(config("side", "must be at least 1"));
        }
        match self {
            Transform::Train { crop, .. } => {
                let (lo, hi) = crop.scale;
                if lo.is_nan() || hi.is_nan() || lo <= 0.0 || lo > hi || hi > 1.0 {
                    return Err(config("scale", format!("({lo}, {hi}); need 0 < min ≤ max ≤ 1")));
                }
                let (lo, hi) = crop.ratio;
                if lo.is_nan() || !hi.is_finite() || lo <= 0.0 || lo > hi {
                    return Err(config("ratio", format!("({lo}, {hi}); need 0 < min ≤ max")));
                }
            }
            Transform::Eval(e) => {
                if e.resize < e.crop {
                    return Err(config(
                        "resize",
                        format!("{} is below the crop {}", e.resize, e.crop),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The transformed image, `side` × `side` RGB bytes in CHW order, drawing from `rng` for
    /// training (crop draws, then the flip).
    ///
    /// # Errors
    /// [`ImageNetError::Config`] for settings [`Transform::validate`] refuses, or an empty
    /// image.
    pub fn apply(&self, image: &RgbImage, rng: &mut SplitMix64) -> Result<Vec<u8>> {
        self.validate()?;
        if image.height == 0 || image.width == 0 || image.pixels.len() != image.height * image.width * 3 {
            return Err(config(
                "image",
                format!(
                    "{} bytes for 3×{}×{}",
                    image.pixels.len(),
                    image.height,
                    image.width
                ),
            ));
        }
        let s = self.side();
        let (hwc, flip) = match self {
            Transform::Train { crop, flip } => {
                let region = crop.crop_box(image.height, image.width, rng);
                let flipped = *flip && rng.uniform() < 0.5;
                (
                    resize_window(image, region, (s, s), CropBox::whole(s, s)),
                    flipped,
                )
            }
            Transform::Eval(e) => {
                let (h, w) = e.resized(image.height, image.width);
                let window = e.center(h, w);
                let region = CropBox::whole(image.height, image.width);
                (resize_window(image, region, (h, w), window), false)
            }
        };
        let mut chw = vec![0u8; 3 * s * s];
        for y in 0..s {
            for x in 0..s {
                let xs = if flip { s - 1 - x } else { x };
                for c in 0..3 {
                    chw[c * s * s + y * s + x] = hwc[(y * s + xs) * 3 + c];
                }
            }
        }
        Ok(chw)
    }
}

/// The taps of a 1-D bilinear resize of `input` samples to `output` (half-pixel centres, no
/// antialiasing) as torch's CPU `uint8` kernel computes them: per output, its first input and
/// up to two weights in fixed point with `precision` fraction bits.
struct Taps {
    /// First input of each output.
    first: Vec<usize>,
    /// Weights of inputs `first`, `first + 1` (the second 0 when there is one input).
    weights: Vec<[i32; 2]>,
    /// Fraction bits of the weights.
    precision: u32,
}

impl Taps {
    /// torch's `_compute_index_ranges_int16_weights` (`UpSampleKernel.cpp`) for the linear
    /// filter with `antialias=False`: centre `scale · (i + 0.5)`, inputs
    /// `⌊centre − 0.5⌋ ..` (clipped to the image) weighted by the triangle `1 − |x|`,
    /// normalized, then scaled by `2^precision` (the largest precision keeping the largest
    /// weight below 2¹⁵) and rounded.
    fn new(input: usize, output: usize) -> Self {
        let scale = input as f64 / output as f64;
        let mut raw = Vec::with_capacity(output);
        let mut wt_max = 0.0f64;
        for i in 0..output {
            let center = scale * (i as f64 + 0.5);
            // `as i64` truncates toward zero, as C++'s static_cast does
            let xmin = ((center - 1.0 + 0.5) as i64).max(0);
            let xsize = (((center + 1.0 + 0.5) as i64).min(input as i64) - xmin).clamp(0, 2) as usize;
            let mut w = [0.0f64; 2];
            let mut total = 0.0;
            for (j, wj) in w.iter_mut().enumerate().take(xsize) {
                let x = (j as i64 + xmin) as f64 - center + 0.5;
                *wj = (1.0 - x.abs()).max(0.0);
                total += *wj;
            }
            if total != 0.0 {
                for wj in w.iter_mut().take(xsize) {
                    *wj /= total;
                    wt_max = wt_max.max(*wj);
                }
            }
            raw.push((xmin as usize, w));
        }
        let mut precision = 0u32;
        while precision < 22 {
            let next = (0.5 + wt_max * f64::from(1u32 << (precision + 1))) as i64;
            if next >= 1 << 15 {
                break;
            }
            precision += 1;
        }
        let fixed = |w: f64| (0.5 + w * f64::from(1u32 << precision)) as i32;
        Taps {
            first: raw.iter().map(|r| r.0).collect(),
            weights: raw.iter().map(|r| [fixed(r.1[0]), fixed(r.1[1])]).collect(),
            precision,
        }
    }

    /// Output `o` from the inputs `at(first)`, `at(first + 1)`: rounded, clamped to a byte.
    fn apply(&self, o: usize, at: impl Fn(usize) -> u8) -> u8 {
        let [w0, w1] = self.weights[o];
        let first = self.first[o];
        let mut sum = (1i32 << self.precision) >> 1;
        sum += w0 * i32::from(at(first));
        if w1 != 0 {
            sum += w1 * i32::from(at(first + 1));
        }
        (sum >> self.precision).clamp(0, 255) as u8
    }
}

/// The pixels `window` (rows and columns of the output grid) of `region` of `image` resized
/// bilinearly to `out` (height, width): HWC bytes of `window.height × window.width`. Separable
/// like torch's CPU `uint8` kernel: a horizontal pass into bytes, then a vertical one, each
/// skipped when its size does not change.
fn resize_window(image: &RgbImage, region: CropBox, out: (usize, usize), window: CropBox) -> Vec<u8> {
    let (rows, cols) = (
        window.top..window.top + window.height,
        window.left..window.left + window.width,
    );
    let horizontal = (region.width != out.1).then(|| Taps::new(region.width, out.1));
    let vertical = (region.height != out.0).then(|| Taps::new(region.height, out.0));
    // The region rows the vertical pass reads.
    let (lo, hi) = match &vertical {
        Some(v) => rows.clone().fold((usize::MAX, 0), |(lo, hi), r| {
            let extra = usize::from(v.weights[r][1] != 0);
            (lo.min(v.first[r]), hi.max(v.first[r] + 1 + extra))
        }),
        None => (rows.start, rows.end),
    };
    let (lo, hi) = (lo.min(hi), hi);
    let width = cols.len();
    let pixel = |y: usize, x: usize, c: usize| {
        image.pixels[((region.top + y) * image.width + region.left + x) * 3 + c]
    };
    // Horizontal pass: region rows lo..hi, output columns `cols`.
    let mut buffer = Vec::with_capacity((hi - lo) * width * 3);
    for y in lo..hi {
        for x in cols.clone() {
            for c in 0..3 {
                buffer.push(match &horizontal {
                    Some(h) => h.apply(x, |xs| pixel(y, xs, c)),
                    None => pixel(y, x, c),
                });
            }
        }
    }
    // Vertical pass: output rows `rows`.
    let mut hwc = Vec::with_capacity(rows.len() * width * 3);
    for y in rows {
        for x in 0..width {
            for c in 0..3 {
                let at = |ys: usize| buffer[((ys - lo) * width + x) * 3 + c];
                hwc.push(match &vertical {
                    Some(v) => v.apply(y, at),
                    None => at(y),
                });
            }
        }
    }
    hwc
}

/// `region` of `image` resized bilinearly to `height` × `width`: half-pixel centres, no
/// antialiasing — torchvision's `resized_crop(..., antialias=False)` of a `uint8` tensor on the
/// CPU, byte for byte (see the [module docs](self)).
///
/// # Errors
/// [`ImageNetError::Config`] for an empty output, a region that is empty or not inside the
/// image, or an image whose byte count does not match its size.
pub fn resize_bilinear(image: &RgbImage, region: CropBox, height: usize, width: usize) -> Result<RgbImage> {
    if image.pixels.len() != image.height * image.width * 3
        || region.height == 0
        || region.width == 0
        || region.top + region.height > image.height
        || region.left + region.width > image.width
    {
        return Err(config(
            "region",
            format!(
                "{region:?} is not inside a {}×{} image",
                image.height, image.width
            ),
        ));
    }
    if height == 0 || width == 0 {
        return Err(config("size", "the output must not be empty"));
    }
    Ok(RgbImage {
        height,
        width,
        pixels: resize_window(image, region, (height, width), CropBox::whole(height, width)),
    })
}

/// How an epoch of an [`ImageFolder`] is cut into batches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageNetPlan {
    /// Samples per batch (≥ 1).
    pub batch: usize,
    /// The run's seed.
    pub seed: u64,
    /// The epoch (the order and the draws depend on it).
    pub epoch: u64,
    /// Shuffle the samples (training) or keep their order (evaluation).
    pub shuffle: bool,
    /// The transform.
    pub transform: Transform,
    /// The normalization ([`IMAGENET_NORMALIZE`]).
    pub normalize: Normalize,
    /// Drop a last partial batch.
    pub drop_last: bool,
}

impl ImageNetPlan {
    /// Training: shuffled, [`Transform::train`]`(side)`, ImageNet normalization, the last
    /// partial batch dropped.
    pub fn train(batch: usize, seed: u64, epoch: u64, side: usize) -> Self {
        ImageNetPlan {
            batch,
            seed,
            epoch,
            shuffle: true,
            transform: Transform::train(side),
            normalize: IMAGENET_NORMALIZE,
            drop_last: true,
        }
    }

    /// Evaluation: in order, [`Transform::eval`]`(side)`, ImageNet normalization, every sample.
    pub fn eval(batch: usize, side: usize) -> Self {
        ImageNetPlan {
            batch,
            seed: 0,
            epoch: 0,
            shuffle: false,
            transform: Transform::eval(side),
            normalize: IMAGENET_NORMALIZE,
            drop_last: false,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ImageNetError::Config`] for a zero batch, a non-positive standard deviation or a bad
    /// transform ([`Transform::validate`]).
    pub fn validate(&self) -> Result<()> {
        if self.batch == 0 {
            return Err(config("batch", "must be at least 1"));
        }
        if self.normalize.std.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(config("normalize", "standard deviations must be positive"));
        }
        self.transform.validate()
    }

    /// The generator of sample `index`'s draws: a function of (seed, epoch, index) only (the
    /// formula of [`crate::data`]).
    pub fn sample_rng(&self, index: usize) -> SplitMix64 {
        SplitMix64::new(self.seed ^ self.epoch.wrapping_mul(0x9E37_79B9), index as u64)
    }

    /// The sample order of the epoch: a permutation of `n` drawn from (seed, epoch), or 0..n.
    pub fn order(&self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        if self.shuffle {
            SplitMix64::new(self.seed ^ 0x1A6E_7E70, self.epoch).shuffle(&mut order);
        }
        order
    }

    /// The number of batches of an epoch over `n` samples.
    pub fn batches(&self, n: usize) -> usize {
        match self.drop_last {
            true => n / self.batch.max(1),
            false => n.div_ceil(self.batch.max(1)),
        }
    }
}

/// Sample `index` of `folder` decoded, transformed with its own draws and normalized: `3 · side
/// · side` floats, CHW.
///
/// # Errors
/// [`ImageNetError::Data`] naming the file.
pub fn sample_input(folder: &ImageFolder, index: usize, plan: &ImageNetPlan) -> Result<Vec<f32>> {
    let image = folder.load(index)?;
    let chw = plan.transform.apply(&image, &mut plan.sample_rng(index))?;
    let plane = chw.len() / 3;
    Ok(chw
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = i / plane;
            (f32::from(v) / 255.0 - plan.normalize.mean[c]) / plan.normalize.std[c]
        })
        .collect())
}

/// Batch `index` of the epoch whose sample order is `order`.
fn form_batch(folder: &ImageFolder, plan: &ImageNetPlan, order: &[usize], index: usize) -> Result<Batch> {
    let ids = &order[index * plan.batch..((index + 1) * plan.batch).min(order.len())];
    let s = plan.transform.side();
    let mut x = Vec::with_capacity(ids.len() * 3 * s * s);
    let mut y = Vec::with_capacity(ids.len());
    for &j in ids {
        x.extend(sample_input(folder, j, plan)?);
        y.push(folder.listing.files[j].1 as i64);
    }
    Ok(Batch {
        x: Tensor::from_slice(&x).view([ids.len() as i64, 3, s as i64, s as i64]),
        y: Tensor::from_slice(&y),
        index,
    })
}

/// The epoch's batches formed on the calling thread, in order (what the [`ImageNetLoader`]'s
/// workers compute); stops after the first error.
///
/// # Errors
/// [`ImageNetError::Config`] for a bad plan, before any batch.
pub fn epoch_batches<'a>(
    folder: &'a ImageFolder,
    plan: &'a ImageNetPlan,
) -> Result<impl Iterator<Item = Result<Batch>> + 'a> {
    plan.validate()?;
    let order = plan.order(folder.len());
    let mut failed = false;
    Ok((0..plan.batches(folder.len())).map_while(move |index| {
        if failed {
            return None;
        }
        let batch = form_batch(folder, plan, &order, index);
        failed = batch.is_err();
        Some(batch)
    }))
}

/// The batches of one epoch, formed by `workers` threads (batch `b` by worker `b mod workers`),
/// each keeping up to `ahead` batches ready on its bounded channel, and handed out in order.
/// Yields an error (a corrupt file, named) once and then stops.
#[derive(Debug)]
pub struct ImageNetLoader {
    receivers: Vec<Receiver<Result<Batch>>>,
    workers: Vec<JoinHandle<()>>,
    next: usize,
    total: usize,
    done: bool,
}

impl ImageNetLoader {
    /// Starts the epoch `plan` over `folder` on `workers` (≥ 1; [`DECODE_WORKERS`]) threads,
    /// each keeping up to `ahead` (≥ 1) batches ready.
    ///
    /// # Errors
    /// [`ImageNetError::Config`] for a bad plan.
    pub fn start(folder: &ImageFolder, plan: ImageNetPlan, workers: usize, ahead: usize) -> Result<Self> {
        plan.validate()?;
        let workers = workers.max(1);
        let order = Arc::new(plan.order(folder.len()));
        let total = plan.batches(folder.len());
        let (mut receivers, mut handles) = (Vec::new(), Vec::new());
        for k in 0..workers {
            let (sender, receiver) = sync_channel(ahead.max(1));
            let (folder, order) = (folder.clone(), Arc::clone(&order));
            handles.push(std::thread::spawn(move || {
                for index in (k..total).step_by(workers) {
                    let batch = form_batch(&folder, &plan, &order, index);
                    let failed = batch.is_err();
                    if sender.send(batch).is_err() || failed {
                        return; // the loader was dropped, or this epoch is over
                    }
                }
            }));
            receivers.push(receiver);
        }
        Ok(ImageNetLoader {
            receivers,
            workers: handles,
            next: 0,
            total,
            done: false,
        })
    }

    /// The number of batches of the epoch.
    pub fn batches(&self) -> usize {
        self.total
    }
}

impl Iterator for ImageNetLoader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.done || self.next >= self.total {
            return None;
        }
        let index = self.next;
        self.next += 1;
        let item = self.receivers[index % self.receivers.len()]
            .recv()
            .unwrap_or(Err(ImageNetError::WorkerStopped { batch: index }));
        self.done = item.is_err();
        Some(item)
    }
}

impl Drop for ImageNetLoader {
    fn drop(&mut self) {
        // Unblock the workers (their next send fails), then wait for them.
        for receiver in &mut self.receivers {
            let (_, dead) = sync_channel(1);
            drop(std::mem::replace(receiver, dead));
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
