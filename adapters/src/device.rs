//! The `--device` flag every trainer binary takes: `cpu`, `cuda` or `auto`.

use anyhow::{bail, Result};
use tch::Device;

/// Parses a `--device` value: `cpu`, `cuda` (the first GPU; an error when libtorch sees none) or
/// `auto` (the first GPU when there is one, else the CPU).
///
/// # Errors
/// An unknown name, or `cuda` asked for without a CUDA device.
///
/// ```
/// assert_eq!(adapters::device::parse_device("cpu").unwrap(), tch::Device::Cpu);
/// assert!(adapters::device::parse_device("gpu").is_err());
/// ```
pub fn parse_device(name: &str) -> Result<Device> {
    Ok(match name {
        "cpu" => Device::Cpu,
        "cuda" if tch::Cuda::is_available() => Device::Cuda(0),
        "cuda" => bail!("--device cuda: libtorch sees no CUDA device"),
        "auto" => Device::cuda_if_available(),
        other => bail!("--device {other}: expected cpu, cuda or auto"),
    })
}
