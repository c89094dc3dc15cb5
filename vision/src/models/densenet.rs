//! DenseNet-121 for 32×32 images, as `pytorch-cifar`'s `DenseNet121`
//! (Huang et al. 2017, DenseNet-BC: bottleneck layers, compression 0.5).

use super::layers::{batch_norm, conv, linear, ConvInit};
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Growth rate k: channels each bottleneck adds.
const GROWTH: i64 = 32;
/// Compression θ of the transitions: ⌊θ · channels⌋ channels out.
const REDUCTION: f64 = 0.5;

/// BN → ReLU → conv 1×1 (4k) → BN → ReLU → conv 3×3 (k); the output is concatenated in front of
/// the input (`torch.cat([out, x], 1)`).
#[derive(Debug)]
struct Bottleneck {
    bn1: nn::BatchNorm,
    conv1: nn::Conv2D,
    bn2: nn::BatchNorm,
    conv2: nn::Conv2D,
}

impl Bottleneck {
    fn new(p: &nn::Path<'_>, c_in: i64) -> Self {
        let init = ConvInit::PyTorch;
        Bottleneck {
            bn1: batch_norm(p / "bn1", c_in),
            conv1: conv(p / "conv1", c_in, 4 * GROWTH, 1, 1, 0, false, init),
            bn2: batch_norm(p / "bn2", 4 * GROWTH),
            conv2: conv(p / "conv2", 4 * GROWTH, GROWTH, 3, 1, 1, false, init),
        }
    }
}

impl ModuleT for Bottleneck {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let out = x
            .apply_t(&self.bn1, train)
            .relu()
            .apply(&self.conv1)
            .apply_t(&self.bn2, train)
            .relu()
            .apply(&self.conv2);
        Tensor::cat(&[&out, x], 1)
    }
}

/// BN → ReLU → conv 1×1 → avg-pool 2.
#[derive(Debug)]
struct Transition {
    bn: nn::BatchNorm,
    conv: nn::Conv2D,
}

impl ModuleT for Transition {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.apply_t(&self.bn, train).relu().apply(&self.conv).avg_pool2d(
            [2, 2],
            [2, 2],
            [0, 0],
            false,
            true,
            None,
        )
    }
}

/// A CIFAR DenseNet: stem `conv1` (3×3 → 2k channels), dense blocks `dense1` … `dense4` with
/// transitions `trans1` … `trans3` between them, then `bn` → ReLU → avg-pool 4 → `linear`.
#[derive(Debug)]
pub struct DenseNet {
    conv1: nn::Conv2D,
    dense: Vec<Vec<Bottleneck>>,
    transitions: Vec<Transition>,
    bn: nn::BatchNorm,
    linear: nn::Linear,
}

impl DenseNet {
    fn new(root: &nn::Path<'_>, blocks: [usize; 4], classes: i64) -> Self {
        let mut channels = 2 * GROWTH;
        let conv1 = conv(root / "conv1", 3, channels, 3, 1, 1, false, ConvInit::PyTorch);
        let (mut dense, mut transitions) = (Vec::new(), Vec::new());
        for (stage, &n) in blocks.iter().enumerate() {
            let p = root / format!("dense{}", stage + 1);
            let mut block = Vec::new();
            for i in 0..n {
                block.push(Bottleneck::new(&(&p / i), channels));
                channels += GROWTH;
            }
            dense.push(block);
            if stage + 1 < blocks.len() {
                let p = root / format!("trans{}", stage + 1);
                // int(math.floor(num_planes * reduction))
                let c_out = (channels as f64 * REDUCTION).floor() as i64;
                transitions.push(Transition {
                    bn: batch_norm(&p / "bn", channels),
                    conv: conv(&p / "conv", channels, c_out, 1, 1, 0, false, ConvInit::PyTorch),
                });
                channels = c_out;
            }
        }
        DenseNet {
            conv1,
            dense,
            transitions,
            bn: batch_norm(root / "bn", channels),
            linear: linear(root / "linear", channels, classes),
        }
    }
}

impl ModuleT for DenseNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.apply(&self.conv1);
        for (stage, block) in self.dense.iter().enumerate() {
            for layer in block {
                h = h.apply_t(layer, train);
            }
            if let Some(transition) = self.transitions.get(stage) {
                h = h.apply_t(transition, train);
            }
        }
        h.apply_t(&self.bn, train)
            .relu()
            .avg_pool2d([4, 4], [4, 4], [0, 0], false, true, None)
            .flatten(1, -1)
            .apply(&self.linear)
    }
}

/// `pytorch-cifar`'s `DenseNet121` for 32×32 inputs: growth 32, dense blocks [6, 12, 24, 16],
/// 1,024 channels before Linear(1024, `classes`); 6,956,298 parameters at 10 classes.
pub fn densenet121(root: &nn::Path<'_>, classes: i64) -> DenseNet {
    DenseNet::new(root, [6, 12, 24, 16], classes)
}
