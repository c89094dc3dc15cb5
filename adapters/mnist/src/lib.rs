//! MNIST in pisa-rs: the dataset loader ([`data`]) and the small CNN classifier ([`model`]) that
//! `cargo xtask demo` trains with any optimizer of the registry ([`train::train`], behind the
//! `mnist` binary).
#![warn(missing_docs)]

pub mod data;
pub mod model;
pub mod train;
