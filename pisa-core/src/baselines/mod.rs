//! Baseline optimizers in Rust, numerically equal to PyTorch's `torch.optim` on the same inputs,
//! with savable state. Each is an [`driver::UpdateRule`] run by [`driver::Baseline`].

pub mod adam;
pub mod driver;
