//! DCGAN-style generator and critic (Radford et al. 2016), as in the paper's GAN setup.
//!
//! - Generator: z ∈ R^`z_dim` (100) → transposed convolutions (kernel 4, stride 2) with batch
//!   norm and ReLU, doubling the resolution from 4×4 each time, → `tanh` image in `[-1, 1]`.
//! - Critic: convolutions (kernel 4, stride 2) with LeakyReLU(0.2), halving the resolution down
//!   to 4×4, → one score per image (no sigmoid: a Wasserstein critic). Batch norm after every
//!   convolution but the first for WGAN ([`CriticNorm::Batch`], as DCGAN); none for WGAN-GP
//!   ([`CriticNorm::None`]: the gradient penalty is per example, which batch norm breaks).
//!
//! With `base` = 64 and 64×64 images the channel widths are 512-256-128-64 (the paper's
//! DCGAN); 32×32 images drop one block (256-128-64). `channels` = 1 gives the MNIST variant.

use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Normalization inside the critic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriticNorm {
    /// Batch norm after every convolution but the first (DCGAN; used for WGAN).
    Batch,
    /// No normalization (used for WGAN-GP).
    None,
}

/// Shapes of the generator and the critic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Noise dimension (100 in DCGAN and the paper).
    pub z_dim: i64,
    /// Base channel width (64 in the paper).
    pub base: i64,
    /// Image channels: 3 (CIFAR-10) or 1 (MNIST).
    pub channels: i64,
    /// Image side: a power of two ≥ 8 (64 for the paper's upsampled CIFAR-10, 32 native).
    pub image_size: i64,
    /// The critic's normalization.
    pub critic_norm: CriticNorm,
}

impl ModelConfig {
    /// Number of stride-2 blocks between 4×4 and the image size (64 → 4, 32 → 3).
    ///
    /// # Panics
    /// If `image_size` is not a power of two ≥ 8 (checked by [`Self::validate`]).
    fn blocks(&self) -> i64 {
        i64::from(self.image_size.trailing_zeros()) - 2
    }

    /// Checks the shapes.
    ///
    /// # Errors
    /// A message when `image_size` is not a power of two in 8..=256, or a width is not positive.
    pub fn validate(&self) -> Result<(), String> {
        if !(8..=256).contains(&self.image_size) || self.image_size.count_ones() != 1 {
            return Err(format!(
                "image size {} must be a power of two in 8..=256",
                self.image_size
            ));
        }
        if self.z_dim < 1 || self.base < 1 || !(self.channels == 1 || self.channels == 3) {
            return Err(format!(
                "z_dim {} and base {} must be positive and channels {} 1 or 3",
                self.z_dim, self.base, self.channels
            ));
        }
        Ok(())
    }
}

/// DCGAN initialization: conv weights N(0, 0.02), batch-norm weights N(1, 0.02), biases 0.
fn conv_config(stride: i64, padding: i64, bias: bool) -> nn::ConvConfig {
    nn::ConvConfig {
        stride,
        padding,
        bias,
        ws_init: nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
        ..Default::default()
    }
}

fn tconv_config(stride: i64, padding: i64) -> nn::ConvTransposeConfig {
    nn::ConvTransposeConfig {
        stride,
        padding,
        bias: false,
        ws_init: nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
        ..Default::default()
    }
}

fn batch_norm(path: nn::Path, channels: i64) -> nn::BatchNorm {
    nn::batch_norm2d(
        path,
        channels,
        nn::BatchNormConfig {
            ws_init: nn::Init::Randn {
                mean: 1.0,
                stdev: 0.02,
            },
            ..Default::default()
        },
    )
}

/// The generator: noise `[N, z_dim]` → images `[N, channels, size, size]` in `[-1, 1]`.
#[derive(Debug)]
pub struct Generator {
    layers: Vec<(nn::ConvTranspose2D, Option<nn::BatchNorm>)>,
    z_dim: i64,
}

impl Generator {
    /// Builds the generator's variables under `path`.
    pub fn new(path: &nn::Path, cfg: &ModelConfig) -> Self {
        let blocks = cfg.blocks();
        let mut layers = Vec::new();
        let mut width = cfg.base << (blocks - 1);
        layers.push((
            nn::conv_transpose2d(path / "tconv0", cfg.z_dim, width, 4, tconv_config(1, 0)),
            Some(batch_norm(path / "bn0", width)),
        ));
        for b in 1..blocks {
            layers.push((
                nn::conv_transpose2d(
                    path / format!("tconv{b}"),
                    width,
                    width / 2,
                    4,
                    tconv_config(2, 1),
                ),
                Some(batch_norm(path / format!("bn{b}"), width / 2)),
            ));
            width /= 2;
        }
        layers.push((
            nn::conv_transpose2d(
                path / format!("tconv{blocks}"),
                width,
                cfg.channels,
                4,
                tconv_config(2, 1),
            ),
            None,
        ));
        Generator {
            layers,
            z_dim: cfg.z_dim,
        }
    }

    /// Noise dimension.
    pub fn z_dim(&self) -> i64 {
        self.z_dim
    }
}

impl ModuleT for Generator {
    fn forward_t(&self, z: &Tensor, train: bool) -> Tensor {
        let mut x = z.view([-1, self.z_dim, 1, 1]);
        for (conv, bn) in &self.layers {
            x = x.apply(conv);
            x = match bn {
                Some(bn) => x.apply_t(bn, train).relu(),
                None => x.tanh(),
            };
        }
        x
    }
}

/// The critic: images `[N, channels, size, size]` → scores `[N]`.
#[derive(Debug)]
pub struct Critic {
    layers: Vec<(nn::Conv2D, Option<nn::BatchNorm>)>,
    head: nn::Conv2D,
}

impl Critic {
    /// Builds the critic's variables under `path`.
    pub fn new(path: &nn::Path, cfg: &ModelConfig) -> Self {
        let mut layers = Vec::new();
        let (mut c_in, mut width) = (cfg.channels, cfg.base);
        for b in 0..cfg.blocks() {
            let norm = b > 0 && cfg.critic_norm == CriticNorm::Batch;
            layers.push((
                nn::conv2d(
                    path / format!("conv{b}"),
                    c_in,
                    width,
                    4,
                    conv_config(2, 1, !norm),
                ),
                norm.then(|| batch_norm(path / format!("bn{b}"), width)),
            ));
            c_in = width;
            width *= 2;
        }
        let head = nn::conv2d(path / "head", c_in, 1, 4, conv_config(1, 0, true));
        Critic { layers, head }
    }
}

/// LeakyReLU with slope 0.2, written `0.2·x + 0.8·relu(x)` (exact up to rounding).
///
/// tch binds `aten::leaky_relu` only with its default slope 0.01. `maximum(x, 0.2·x)` computes
/// the same values, but its backward and double backward (WGAN-GP differentiates the critic
/// twice) run comparison, `where` and `masked_fill` kernels: about 3× the time of this form.
fn leaky_relu_02(x: &Tensor) -> Tensor {
    x * 0.2 + x.relu() * 0.8
}

impl ModuleT for Critic {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut x = x.shallow_clone();
        for (conv, bn) in &self.layers {
            x = x.apply(conv);
            if let Some(bn) = bn {
                x = x.apply_t(bn, train);
            }
            x = leaky_relu_02(&x);
        }
        x.apply(&self.head).view([-1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn leaky_relu_02_matches_the_definition_and_its_derivatives() {
        let x = Tensor::from_slice(&[-3.0f64, -0.5, -1e-30, 0.0, 1e-30, 0.25, 7.0]).set_requires_grad(true);
        let y = leaky_relu_02(&x);
        let expected = [-0.6, -0.1, -2e-31, 0.0, 1e-30, 0.25, 7.0];
        for (k, e) in expected.iter().enumerate() {
            let v = y.double_value(&[k as i64]);
            assert!((v - e).abs() <= 1e-15 * e.abs().max(1e-30), "{k}: {v} vs {e}");
        }
        let grads = Tensor::run_backward(&[y.sum(Kind::Double)], &[&x], true, true);
        let slopes = [0.2, 0.2, 0.2, 0.2, 1.0, 1.0, 1.0]; // at 0: slope 0.2, as torch's leaky_relu
        for (k, s) in slopes.iter().enumerate() {
            assert!(
                (grads[0].double_value(&[k as i64]) - s).abs() < 1e-15,
                "slope {k}"
            );
        }
    }

    fn cfg(size: i64, channels: i64, norm: CriticNorm) -> ModelConfig {
        ModelConfig {
            z_dim: 100,
            base: 64,
            channels,
            image_size: size,
            critic_norm: norm,
        }
    }

    fn count(vs: &nn::VarStore) -> i64 {
        vs.trainable_variables().iter().map(Tensor::numel).sum::<usize>() as i64
    }

    #[test]
    fn paper_dcgan_has_the_reference_shapes_and_sizes() {
        let _rng = crate::torch_rng_lock();
        // 64×64 RGB DCGAN: the parameter counts of the PyTorch DCGAN example (netG 3,576,704;
        // netD 2,765,568 with batch norm and no conv biases; our critic adds the head's bias).
        let c = cfg(64, 3, CriticNorm::Batch);
        let gvs = nn::VarStore::new(Device::Cpu);
        let g = Generator::new(&gvs.root(), &c);
        assert_eq!(count(&gvs), 3_576_704);
        let dvs = nn::VarStore::new(Device::Cpu);
        let d = Critic::new(&dvs.root(), &c);
        assert_eq!(count(&dvs), 2_765_568 + 1 + 64);
        let z = Tensor::zeros([2, 100], (Kind::Float, Device::Cpu));
        let x = g.forward_t(&z, false);
        assert_eq!(x.size(), [2, 3, 64, 64]);
        assert_eq!(d.forward_t(&x, false).size(), [2]);
    }

    #[test]
    fn native_32_and_mnist_variants_have_the_right_shapes() {
        let _rng = crate::torch_rng_lock();
        for (size, channels) in [(32, 3), (32, 1), (16, 1)] {
            let c = cfg(size, channels, CriticNorm::None);
            c.validate().unwrap();
            let vs = nn::VarStore::new(Device::Cpu);
            let g = Generator::new(&(vs.root() / "g"), &c);
            let d = Critic::new(&(vs.root() / "d"), &c);
            let x = g.forward_t(&Tensor::ones([3, 100], (Kind::Float, Device::Cpu)), true);
            assert_eq!(x.size(), [3, channels, size, size]);
            assert!(x.abs().max().double_value(&[]) <= 1.0);
            assert_eq!(d.forward_t(&x, true).size(), [3]);
        }
        assert!(cfg(48, 3, CriticNorm::None).validate().is_err());
        assert!(cfg(32, 2, CriticNorm::None).validate().is_err());
    }
}
