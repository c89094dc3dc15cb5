//! Image datasets for the GAN as one `u8` tensor `[N, C, H, W]`: CIFAR-10 and class-per-folder
//! image trees through the shared loaders of [`datasets::images`] (re-exported here), MNIST
//! through `mnist::data`, and [`to_model_range`] to the generator's `[-1, 1]`.
//!
//! Every loader names the file that is missing or corrupt.

use crate::error::Result;
use std::path::Path;
use tch::{Device, Kind, Tensor};

pub use datasets::images::{
    decode_image, load_cifar10, load_cifar10_binary, load_image_folder, ImageSet, Split,
};

/// `u8` images → floats in `[-1, 1]` (the generator's `tanh` range) on `device`, resized
/// bilinearly to `size`×`size` when they have another size (zero-padded instead when
/// `pad` is set and they are smaller, e.g. MNIST 28 → 32).
pub fn to_model_range(images: &Tensor, size: i64, pad: bool, device: Device) -> Tensor {
    let x = images.to_device(device).to_kind(Kind::Float) / 127.5 - 1.0;
    let (h, w) = (x.size()[2], x.size()[3]);
    if h == size && w == size {
        x
    } else if pad && h <= size && w <= size {
        let (top, left) = ((size - h) / 2, (size - w) / 2);
        (x + 1.0).constant_pad_nd([left, size - w - left, top, size - h - top]) - 1.0
    } else {
        x.upsample_bilinear2d([size, size], false, None, None)
    }
}

/// MNIST as an [`ImageSet`] `[N, 1, 28, 28]` from the IDX files in `dir`.
///
/// # Errors
/// [`crate::GanError::Data`] from the MNIST loader (naming the file).
pub fn load_mnist(dir: &Path, split: Split) -> Result<ImageSet> {
    let m = mnist::data::load(dir)?;
    let (x, y) = match split {
        Split::Train => (m.train_images, m.train_labels),
        Split::Test => (m.test_images, m.test_labels),
    };
    // The loader gives floats in [0, 1] (`[N, 1, 28, 28]`); back to bytes.
    let images = (x * 255.0).round().to_kind(Kind::Uint8);
    let n = images.size()[0];
    Ok(ImageSet {
        images: images.view([n, 1, 28, 28]),
        labels: Some(y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_range_maps_pads_and_resizes() {
        let x = Tensor::from_slice(&[0u8, 255, 255, 0]).view([1, 1, 2, 2]);
        let y = to_model_range(&x, 2, false, Device::Cpu);
        assert_eq!(
            Vec::<f32>::try_from(y.flatten(0, -1)).unwrap(),
            [-1.0, 1.0, 1.0, -1.0]
        );
        let padded = to_model_range(&x, 4, true, Device::Cpu);
        assert_eq!(padded.size(), [1, 1, 4, 4]);
        assert_eq!(padded.double_value(&[0, 0, 0, 0]), -1.0);
        assert_eq!(padded.double_value(&[0, 0, 1, 2]), 1.0);
        let resized = to_model_range(&x, 4, false, Device::Cpu);
        assert_eq!(resized.size(), [1, 1, 4, 4]);
        // Bilinear, half-pixel centres: the corner keeps its value, the mean stays 0.
        assert_eq!(resized.double_value(&[0, 0, 0, 0]), -1.0);
        assert!(resized.mean(Kind::Double).double_value(&[]).abs() < 1e-6);
    }
}
