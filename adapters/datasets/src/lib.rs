//! Labelled datasets for the pisa-rs domains, as CPU tensors with the file named in every error.
//!
//! - [`load`] a [`Classification`] dataset by [`DatasetName`]: MNIST, Fashion-MNIST, CIFAR-10
//!   or a9a, each from the folder `cargo xtask data <name>` fills (or the official files a user
//!   downloads);
//! - [`images`]: the image loaders underneath (CIFAR-10 binary batches, CIFAR-100 binary
//!   files, class-per-folder JPEG/PNG trees) as `u8` tensors, which the `gan` crate uses too,
//!   and the listing and decoding that `vision::imagenet` builds its on-the-fly loader on;
//! - [`a9a`]: the LIBSVM text format of a9a.
//!
//! ```no_run
//! use datasets::{load, DatasetName};
//! let name = DatasetName::A9a;
//! let data = load(name, &name.default_dir())?;
//! assert_eq!(data.train.x.size()[1], 123);
//! # Ok::<(), datasets::DatasetError>(())
//! ```
#![warn(missing_docs)]

pub mod a9a;
mod classification;
pub mod error;
pub mod images;

pub use classification::{load, Classification, DatasetName, Labeled};
pub use error::{DatasetError, Result};
