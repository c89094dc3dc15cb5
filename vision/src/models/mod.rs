//! The paper's vision models, and their choice by name.
//!
//! | name | function | input | from |
//! |---|---|---|---|
//! | `vgg11` | [`vgg11`] | 32×32 | `pytorch-cifar` `VGG('VGG11')` (with batch norm) |
//! | `resnet18` | [`resnet18`] | 32×32 | `pytorch-cifar` `ResNet18` |
//! | `resnet34` | [`resnet34`] | 32×32 | `pytorch-cifar` `ResNet34` |
//! | `densenet121` | [`densenet121`] | 32×32 | `pytorch-cifar` `DenseNet121` |
//! | `resnet18-imagenet` | [`resnet18_imagenet`] | 224×224 | torchvision `resnet18` |
//! | `vgg-tiny` | [`vgg_tiny`] | 32×32 | three VGG blocks: for tests and smoke runs, not the paper's |
//!
//! Batch norm follows PyTorch ([`batch_norm`]): call `forward_t(x, true)` while training (batch
//! statistics; running statistics move with momentum 0.1) and `forward_t(x, false)` to evaluate
//! (running statistics; nothing moves).

mod densenet;
mod layers;
mod resnet;
mod vgg;

pub use densenet::{densenet121, DenseNet};
pub use layers::batch_norm;
pub use resnet::{resnet18, resnet18_imagenet, resnet34, ResNet};
pub use vgg::{vgg11, vgg_tiny, Vgg};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tch::nn::{self, ModuleT};
use tch::Tensor;

/// A model of the vision domain, by name: `vgg11`, `resnet18`, `resnet34`, `densenet121`,
/// `resnet18-imagenet`, `vgg-tiny` (the same spelling in `FromStr`, `Display` and serde).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelName {
    /// [`vgg11`]
    Vgg11,
    /// [`resnet18`]
    Resnet18,
    /// [`resnet34`]
    Resnet34,
    /// [`densenet121`]
    Densenet121,
    /// [`resnet18_imagenet`]
    Resnet18Imagenet,
    /// [`vgg_tiny`]
    VggTiny,
}

impl ModelName {
    /// Every model, in the order of the table above.
    pub const ALL: [ModelName; 6] = [
        ModelName::Vgg11,
        ModelName::Resnet18,
        ModelName::Resnet34,
        ModelName::Densenet121,
        ModelName::Resnet18Imagenet,
        ModelName::VggTiny,
    ];

    /// The name as written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelName::Vgg11 => "vgg11",
            ModelName::Resnet18 => "resnet18",
            ModelName::Resnet34 => "resnet34",
            ModelName::Densenet121 => "densenet121",
            ModelName::Resnet18Imagenet => "resnet18-imagenet",
            ModelName::VggTiny => "vgg-tiny",
        }
    }

    /// The side of the square images the definition is made for: 32 (CIFAR) or 224 (ImageNet).
    pub fn input_side(self) -> i64 {
        match self {
            ModelName::Resnet18Imagenet => 224,
            _ => 32,
        }
    }

    /// Creates the model's tensors under `root`, initialized as its PyTorch definition does,
    /// with a `classes`-way output.
    pub fn build(self, root: &nn::Path<'_>, classes: i64) -> Model {
        match self {
            ModelName::Vgg11 => Model::Vgg(vgg11(root, classes)),
            ModelName::Resnet18 => Model::ResNet(resnet18(root, classes)),
            ModelName::Resnet34 => Model::ResNet(resnet34(root, classes)),
            ModelName::Densenet121 => Model::DenseNet(densenet121(root, classes)),
            ModelName::Resnet18Imagenet => Model::ResNet(resnet18_imagenet(root, classes)),
            ModelName::VggTiny => Model::Vgg(vgg_tiny(root, classes)),
        }
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model name that [`ModelName`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown vision model `{name}`: expected one of vgg11, resnet18, resnet34, densenet121, resnet18-imagenet, vgg-tiny")]
pub struct UnknownModel {
    /// The name as given.
    pub name: String,
}

impl FromStr for ModelName {
    type Err = UnknownModel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelName::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownModel { name: s.to_owned() })
    }
}

/// Any of the vision models, as one type for a training loop.
#[derive(Debug)]
pub enum Model {
    /// [`vgg11`]
    Vgg(Vgg),
    /// [`resnet18`], [`resnet34`], [`resnet18_imagenet`]
    ResNet(ResNet),
    /// [`densenet121`]
    DenseNet(DenseNet),
}

impl ModuleT for Model {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Model::Vgg(m) => m.forward_t(x, train),
            Model::ResNet(m) => m.forward_t(x, train),
            Model::DenseNet(m) => m.forward_t(x, train),
        }
    }
}
