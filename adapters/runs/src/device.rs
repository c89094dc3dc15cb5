//! The `--device` flag every trainer binary takes: `cpu`, `cuda` or `auto`.

use tch::Device;

/// A `--device` value that names no usable device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// `cuda` was asked for, but libtorch sees no CUDA device.
    #[error("--device cuda: libtorch sees no CUDA device")]
    NoCuda,
    /// The name is not a device.
    #[error("--device {0}: expected cpu, cuda or auto")]
    Unknown(String),
}

/// Parses a `--device` value: `cpu`, `cuda` (the first GPU; an error when libtorch sees none) or
/// `auto` (the first GPU when there is one, else the CPU).
///
/// # Errors
/// An unknown name, or `cuda` asked for without a CUDA device.
///
/// ```
/// assert_eq!(runs::device::parse_device("cpu").unwrap(), tch::Device::Cpu);
/// assert!(runs::device::parse_device("gpu").is_err());
/// ```
pub fn parse_device(name: &str) -> Result<Device, DeviceError> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err(DeviceError::NoCuda),
        "auto" => Ok(Device::cuda_if_available()),
        other => Err(DeviceError::Unknown(other.to_string())),
    }
}
