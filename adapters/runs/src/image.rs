//! Image batches to pictures: a tiled grid of a `[N, C, H, W]` batch and PNG encoding.
//!
//! Used for sample grids (GAN samples every epoch, written as `plots/*.png` and logged to
//! TensorBoard with [`tfevents::SummaryWriter::add_image`]). Pixel values are floats in a given
//! range (for example `[-1, 1]` from a `tanh` generator), clamped and mapped to `0..=255`.

use std::path::Path;
use tch::{Kind, Tensor};

/// Errors while building or writing an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The batch does not have the shape `[N, C, H, W]` with C = 1 or 3 and N ≥ 1.
    #[error("expected an image batch [N, C, H, W] with N ≥ 1 and C = 1 or 3, got {0:?}")]
    Shape(Vec<i64>),
    /// libtorch failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// PNG encoding failed.
    #[error("PNG encoding: {0}")]
    Png(String),
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// An 8-bit RGB picture, rows top to bottom, `3 * width` bytes per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width * 3` bytes, RGB interleaved.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// The image as PNG file bytes.
    ///
    /// # Errors
    /// [`ImageError::Png`].
    pub fn to_png(&self) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder
                .write_header()
                .map_err(|e| ImageError::Png(e.to_string()))?;
            writer
                .write_image_data(&self.data)
                .map_err(|e| ImageError::Png(e.to_string()))?;
        }
        Ok(out)
    }

    /// Writes the image as a PNG file.
    ///
    /// # Errors
    /// [`ImageError::Png`] or [`ImageError::Io`] naming the file.
    pub fn save_png(&self, path: &Path) -> Result<(), ImageError> {
        let bytes = self.to_png()?;
        crate::run::write_atomic(path, &bytes).map_err(|e| ImageError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })
    }
}

/// Tiles a batch `[N, C, H, W]` (C = 1 or 3, any float or integer kind, any device) into a grid
/// of `columns` images per row with `padding` black pixels between and around them. Values are
/// mapped linearly from `[low, high]` to `0..=255` (clamped); gray images become RGB.
///
/// # Errors
/// [`ImageError::Shape`] for another shape, [`ImageError::Torch`] for a libtorch failure.
pub fn grid(
    batch: &Tensor,
    columns: usize,
    padding: usize,
    low: f64,
    high: f64,
) -> Result<RgbImage, ImageError> {
    let size = batch.size();
    let &[n, c, h, w] = size.as_slice() else {
        return Err(ImageError::Shape(size));
    };
    if n < 1 || !(c == 1 || c == 3) || h < 1 || w < 1 {
        return Err(ImageError::Shape(size));
    }
    let columns = columns.clamp(1, n as usize);
    let rows = (n as usize).div_ceil(columns);
    let (h, w, p) = (h as usize, w as usize, padding);
    let width = columns * (w + p) + p;
    let height = rows * (h + p) + p;
    let pixels = tch::no_grad(|| -> Result<Vec<u8>, ImageError> {
        let x = batch.f_to_kind(Kind::Double)?.f_to_device(tch::Device::Cpu)?;
        let x = ((x - low) / (high - low) * 255.0)
            .f_clamp(0.0, 255.0)?
            .f_round()?;
        let x = if c == 1 {
            x.f_expand([n, 3, h as i64, w as i64], false)?
        } else {
            x
        };
        // [N, 3, H, W] → [N, H, W, 3], bytes.
        let x = x
            .f_permute([0, 2, 3, 1])?
            .f_contiguous()?
            .f_to_kind(Kind::Uint8)?;
        let mut bytes = vec![0u8; x.numel()];
        x.f_copy_data_u8(&mut bytes, x.numel())?;
        Ok(bytes)
    })?;
    let mut data = vec![0u8; width * height * 3];
    for k in 0..n as usize {
        let (top, left) = (p + (k / columns) * (h + p), p + (k % columns) * (w + p));
        for y in 0..h {
            let src = &pixels[((k * h + y) * w) * 3..((k * h + y) * w + w) * 3];
            let dst = ((top + y) * width + left) * 3;
            data[dst..dst + w * 3].copy_from_slice(src);
        }
    }
    Ok(RgbImage { width, height, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_places_each_image_and_maps_the_range() {
        // Three 1×2×2 gray images with values −1 (black), 0 (mid) and 1 (white), 2 per row,
        // padding 1: the grid is 2·(2+1)+1 = 7 wide and 7 high.
        let batch = Tensor::from_slice(&[-1.0f32, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
            .view([3, 1, 2, 2]);
        let img = grid(&batch, 2, 1, -1.0, 1.0).unwrap();
        assert_eq!((img.width, img.height), (7, 7));
        let px = |x: usize, y: usize| &img.data[(y * 7 + x) * 3..(y * 7 + x) * 3 + 3];
        assert_eq!(px(0, 0), [0, 0, 0]); // padding
        assert_eq!(px(1, 1), [0, 0, 0]); // image 0: −1 → 0
        assert_eq!(px(4, 2), [128, 128, 128]); // image 1: 0 → 127.5 → 128 (round half to even: 128)
        assert_eq!(px(2, 5), [255, 255, 255]); // image 2, second row
        assert_eq!(px(5, 5), [0, 0, 0]); // empty slot of the second row
        let png = img.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn grid_rejects_bad_shapes() {
        assert!(matches!(
            grid(
                &Tensor::zeros([2, 2, 4, 4], (Kind::Float, tch::Device::Cpu)),
                2,
                0,
                0.0,
                1.0
            ),
            Err(ImageError::Shape(_))
        ));
        assert!(matches!(
            grid(
                &Tensor::zeros([4, 4], (Kind::Float, tch::Device::Cpu)),
                2,
                0,
                0.0,
                1.0
            ),
            Err(ImageError::Shape(_))
        ));
    }
}
