//! VGG-11 with batch normalization for 32×32 images, as `pytorch-cifar`'s `VGG('VGG11')`
//! (Simonyan & Zisserman 2015, configuration A; batch norm after every convolution).

use super::layers::{batch_norm, conv, linear, ConvInit};
use tch::nn::{self, ModuleT};
use tch::Tensor;
use Item::{Conv as C, MaxPool as M};

/// One entry of a VGG configuration: a 3×3 convolution to that many channels, or a max-pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Conv(i64),
    MaxPool,
}

/// Configuration A (VGG-11): `[64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M]`.
#[rustfmt::skip]
const VGG11: [Item; 13] = [C(64), M, C(128), M, C(256), C(256), M, C(512), C(512), M, C(512), C(512), M];

/// A three-block VGG (8, 16, 32 channels) for tests and smoke runs: not a model of the paper.
#[rustfmt::skip]
const VGG_TINY: [Item; 8] = [C(8), M, C(16), M, C(32), M, M, M];

/// conv 3×3 pad 1 (with bias) → batch norm → ReLU
type ConvBn = (nn::Conv2D, nn::BatchNorm);

/// `pytorch-cifar`'s VGG: `features` (conv-BN-ReLU blocks and max-pools, then `AvgPool2d(1)`,
/// an identity) and one `classifier` Linear(512, classes). Tensor names follow the PyTorch
/// `nn.Sequential` indices: `features.0` (conv), `features.1` (BN), `features.4`, … and
/// `classifier`.
#[derive(Debug)]
pub struct Vgg {
    /// The conv-BN-ReLU blocks between two max-pools (every configuration ends with a max-pool).
    stages: Vec<Vec<ConvBn>>,
    classifier: nn::Linear,
}

impl Vgg {
    fn new(root: &nn::Path<'_>, config: &[Item], classes: i64) -> Self {
        let features = root / "features";
        let (mut stages, mut stage, mut index, mut c_in) = (Vec::new(), Vec::new(), 0, 3);
        for item in config {
            match *item {
                Item::Conv(c_out) => {
                    let conv = conv(&features / index, c_in, c_out, 3, 1, 1, true, ConvInit::PyTorch);
                    stage.push((conv, batch_norm(&features / (index + 1), c_out)));
                    c_in = c_out;
                    index += 3; // conv, BN, ReLU
                }
                Item::MaxPool => {
                    stages.push(std::mem::take(&mut stage));
                    index += 1;
                }
            }
        }
        debug_assert!(stage.is_empty(), "a VGG configuration ends with a max-pool");
        Vgg {
            stages,
            // five max-pools bring 32×32 to 1×1: the last block's channels are the features
            classifier: linear(root / "classifier", c_in, classes),
        }
    }
}

/// VGG-11 with batch norm for 32×32 inputs (`pytorch-cifar`'s `VGG('VGG11')`, 9,231,114
/// parameters at 10 classes): eight conv-BN-ReLU blocks, five max-pools bringing 32×32 to 1×1,
/// then Linear(512, `classes`).
pub fn vgg11(root: &nn::Path<'_>, classes: i64) -> Vgg {
    Vgg::new(root, &VGG11, classes)
}

/// A small VGG for tests and smoke runs (not a model of the paper): three conv-BN-ReLU blocks
/// of 8, 16 and 32 channels, five max-pools bringing 32×32 to 1×1, then Linear(32, `classes`);
/// 6,474 parameters at 10 classes.
pub fn vgg_tiny(root: &nn::Path<'_>, classes: i64) -> Vgg {
    Vgg::new(root, &VGG_TINY, classes)
}

impl ModuleT for Vgg {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for stage in &self.stages {
            for (conv, bn) in stage {
                h = h.apply(conv).apply_t(bn, train).relu();
            }
            h = h.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
        }
        // AvgPool2d(kernel_size=1, stride=1) is the identity.
        h.flatten(1, -1).apply(&self.classifier)
    }
}
