//! The paper's vision domain (arXiv 2502.10784, Table 3): image classifiers on CIFAR-10/100
//! and ImageNet, written layer for layer in `tch::nn` after the definitions the paper's
//! experiments use.
//!
//! - [`models`]: the networks and a by-name choice of them ([`models::ModelName`],
//!   [`models::Model`]):
//!   - [`models::vgg11`], [`models::resnet18`], [`models::resnet34`], [`models::densenet121`]:
//!     the CIFAR (32×32) forms of the widely used `pytorch-cifar` model definitions
//!     (github.com/kuangliu/pytorch-cifar), which AdaBelief's CIFAR code (the code the paper's
//!     CIFAR experiments follow) uses;
//!   - [`models::resnet18_imagenet`]: torchvision's `resnet18` (He et al. 2016, ImageNet form).
//!
//! - [`data`]: training batches with the standard CIFAR augmentation (random crop with
//!   4-pixel zero padding, horizontal flip), per-channel normalization, and a [`data::Loader`]
//!   that forms the next batches on a worker thread, seeded by (seed, epoch, sample).
//! - [`imagenet`]: ImageNet-style folder trees (`train/<class>/*.JPEG`, `val/<class>/...`)
//!   decoded on the fly, with torchvision's `RandomResizedCrop` + flip and `Resize` +
//!   `CenterCrop` transforms, batched by worker threads, seeded by (seed, epoch, sample).
//!
//! - [`train`]: one training run on the run skeleton (`vision train`, `cargo xtask vision`),
//!   with the paper's metric (best test accuracy over epochs) and the honest ones (final, and
//!   test accuracy at the best validation epoch);
//! - [`source`]: what a run reads (CIFAR-10/100 in memory, an ImageNet tree on the fly) and its
//!   epochs as batches formed on worker threads;
//! - [`schedule`]: the paper's learning-rate (and σ/ρ) schedules per model, in epochs,
//!   compressed to a shorter run.
//!
//! Every model has the same tensors as its PyTorch definition — same names (PyTorch's
//! `state_dict` keys without `num_batches_tracked`), same shapes, same initialization
//! distributions — so a weight file moves between the two sides by name. `tests/models.rs`
//! pins parameter counts, names and shapes, and logits on fixed weights, against PyTorch
//! (`tests/reference_models.py` generates the numbers).
//!
//! ```
//! use tch::nn::{self, ModuleT};
//! use vision::models::ModelName;
//!
//! let vs = nn::VarStore::new(tch::Device::Cpu);
//! let net = "resnet18".parse::<ModelName>()?.build(&vs.root(), 10);
//! let logits = net.forward_t(&tch::Tensor::zeros([2, 3, 32, 32], tch::kind::FLOAT_CPU), true);
//! assert_eq!(logits.size(), [2, 10]);
//! # Ok::<(), vision::models::UnknownModel>(())
//! ```
#![warn(missing_docs)]

pub mod data;
pub mod imagenet;
pub mod models;
pub mod schedule;
pub mod source;
pub mod train;
