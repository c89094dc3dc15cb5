//! What a node's step needs on any device, shared by the sequential path ([`crate::train`]) and
//! the replicas ([`crate::replicas`]), so neither imports the other: this domain's gradient
//! clipping and a device synchronization for honest timings.

use pisa_core::ClipArithmetic;
use tch::{Device, Tensor};

/// Clips the gradients of `vars` to global norm `max` (0: no clipping) the way this domain
/// always has: [`pisa_core::clip_grad_norm`] with PyTorch's arithmetic, no host sync.
pub(crate) fn clip_grad_norm(vars: &[Tensor], max: f64) -> pisa_core::Result<()> {
    if max > 0.0 {
        let _ = pisa_core::clip_grad_norm(vars, max, ClipArithmetic::Torch)?;
    }
    Ok(())
}

/// Waits for the device's pending work (CUDA), for honest timings.
pub(crate) fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}
