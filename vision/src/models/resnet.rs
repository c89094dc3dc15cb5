//! Residual networks with basic blocks (He et al. 2016): `pytorch-cifar`'s CIFAR form
//! (`ResNet18`, `ResNet34`) and torchvision's ImageNet `resnet18`.
//!
//! The two forms share the blocks and differ in the stem, the pooling, the initialization and
//! the tensor names:
//!
//! | | CIFAR (`pytorch-cifar`) | ImageNet (torchvision) |
//! |---|---|---|
//! | stem | conv 3×3/1 → 64, BN, ReLU | conv 7×7/2 pad 3 → 64, BN, ReLU, max-pool 3/2 pad 1 |
//! | head | avg-pool 4 → `linear` | adaptive avg-pool 1×1 → `fc` |
//! | projection shortcut | `shortcut.0` (conv 1×1), `shortcut.1` (BN) | `downsample.0`, `downsample.1` |
//! | conv init | PyTorch default, U(±1/√fan_in) | Kaiming normal, fan-out, ReLU gain |

use super::layers::{batch_norm, conv, linear, ConvInit};
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// Which of the two definitions a [`ResNet`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Cifar,
    ImageNet,
}

impl Form {
    fn shortcut_name(self) -> &'static str {
        match self {
            Form::Cifar => "shortcut",
            Form::ImageNet => "downsample",
        }
    }

    fn head_name(self) -> &'static str {
        match self {
            Form::Cifar => "linear",
            Form::ImageNet => "fc",
        }
    }

    fn conv_init(self) -> ConvInit {
        match self {
            Form::Cifar => ConvInit::PyTorch,
            Form::ImageNet => ConvInit::KaimingNormalFanOut,
        }
    }
}

/// The basic block: conv 3×3 (stride s) → BN → ReLU → conv 3×3 → BN, plus the shortcut (the
/// input itself, or conv 1×1 stride s → BN when the shape changes), then ReLU.
#[derive(Debug)]
struct BasicBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    projection: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl BasicBlock {
    fn new(p: &nn::Path<'_>, c_in: i64, c_out: i64, stride: i64, form: Form) -> Self {
        let init = form.conv_init();
        let projection = (stride != 1 || c_in != c_out).then(|| {
            let s = p / form.shortcut_name();
            (
                conv(&s / 0, c_in, c_out, 1, stride, 0, false, init),
                batch_norm(&s / 1, c_out),
            )
        });
        BasicBlock {
            conv1: conv(p / "conv1", c_in, c_out, 3, stride, 1, false, init),
            bn1: batch_norm(p / "bn1", c_out),
            conv2: conv(p / "conv2", c_out, c_out, 3, 1, 1, false, init),
            bn2: batch_norm(p / "bn2", c_out),
            projection,
        }
    }
}

impl ModuleT for BasicBlock {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let out = x
            .apply(&self.conv1)
            .apply_t(&self.bn1, train)
            .relu()
            .apply(&self.conv2)
            .apply_t(&self.bn2, train);
        let shortcut = match &self.projection {
            Some((conv, bn)) => x.apply(conv).apply_t(bn, train),
            None => x.shallow_clone(),
        };
        (out + shortcut).relu()
    }
}

/// A ResNet of basic blocks: stem `conv1`/`bn1`, four stages `layer1` … `layer4` of 64, 128,
/// 256, 512 channels (strides 1, 2, 2, 2), pooling and one Linear(512, classes).
#[derive(Debug)]
pub struct ResNet {
    form: Form,
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    blocks: Vec<BasicBlock>,
    head: nn::Linear,
}

impl ResNet {
    fn new(root: &nn::Path<'_>, blocks_per_stage: [usize; 4], classes: i64, form: Form) -> Self {
        let conv1 = match form {
            Form::Cifar => conv(root / "conv1", 3, 64, 3, 1, 1, false, ConvInit::PyTorch),
            Form::ImageNet => conv(
                root / "conv1",
                3,
                64,
                7,
                2,
                3,
                false,
                ConvInit::KaimingNormalFanOut,
            ),
        };
        let mut blocks = Vec::new();
        let mut c_in = 64;
        for (stage, (&n, c_out)) in blocks_per_stage.iter().zip([64, 128, 256, 512]).enumerate() {
            let layer = root / format!("layer{}", stage + 1);
            for i in 0..n {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(&(&layer / i), c_in, c_out, stride, form));
                c_in = c_out;
            }
        }
        ResNet {
            form,
            conv1,
            bn1: batch_norm(root / "bn1", 64),
            blocks,
            head: linear(root / form.head_name(), 512, classes),
        }
    }
}

impl ModuleT for ResNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.apply(&self.conv1).apply_t(&self.bn1, train).relu();
        if self.form == Form::ImageNet {
            h = h.max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false);
        }
        for block in &self.blocks {
            h = h.apply_t(block, train);
        }
        let pooled = match self.form {
            // F.avg_pool2d(out, 4): 4×4 → 1×1 for 32×32 inputs
            Form::Cifar => h.avg_pool2d([4, 4], [4, 4], [0, 0], false, true, None),
            Form::ImageNet => h.adaptive_avg_pool2d([1, 1]),
        };
        pooled.flatten(1, -1).apply(&self.head)
    }
}

/// `pytorch-cifar`'s `ResNet18` for 32×32 inputs: basic blocks [2, 2, 2, 2], 11,173,962
/// parameters at 10 classes.
pub fn resnet18(root: &nn::Path<'_>, classes: i64) -> ResNet {
    ResNet::new(root, [2, 2, 2, 2], classes, Form::Cifar)
}

/// `pytorch-cifar`'s `ResNet34` for 32×32 inputs: basic blocks [3, 4, 6, 3], 21,282,122
/// parameters at 10 classes.
pub fn resnet34(root: &nn::Path<'_>, classes: i64) -> ResNet {
    ResNet::new(root, [3, 4, 6, 3], classes, Form::Cifar)
}

/// torchvision's `resnet18` (ImageNet form, any input of at least 32×32 thanks to the adaptive
/// pooling; 224×224 in the paper): 11,689,512 parameters at 1,000 classes.
pub fn resnet18_imagenet(root: &nn::Path<'_>, classes: i64) -> ResNet {
    ResNet::new(root, [2, 2, 2, 2], classes, Form::ImageNet)
}
