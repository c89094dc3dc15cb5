//! What a node's step needs on any device, shared by the sequential path ([`crate::train`]) and
//! the replicas ([`crate::replicas`]), so neither imports the other: a device synchronization
//! for honest timings.

use tch::Device;

/// Waits for the device's pending work (CUDA), for honest timings.
pub(crate) fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}
