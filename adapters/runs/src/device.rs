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

/// Parses a `--device` value: `cpu`, `cuda` (this process's GPU; an error when libtorch sees
/// none) or `auto` (that GPU when there is one, else the CPU). This process's GPU is the first,
/// or under an MPI launcher the one of its local rank ([`gpu_of`]): one GPU per rank, as NCCL
/// needs.
///
/// # Errors
/// An unknown name, or `cuda` asked for without a CUDA device.
///
/// ```
/// assert_eq!(runs::device::parse_device("cpu").unwrap(), tch::Device::Cpu);
/// assert!(runs::device::parse_device("gpu").is_err());
/// ```
pub fn parse_device(name: &str) -> Result<Device, DeviceError> {
    let gpus = || usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    let this_gpu = || Device::Cuda(gpu_of(pisa_core::collective::local_rank(), gpus()));
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(this_gpu()),
        "cuda" => Err(DeviceError::NoCuda),
        "auto" if tch::Cuda::is_available() => Ok(this_gpu()),
        "auto" => Ok(Device::Cpu),
        other => Err(DeviceError::Unknown(other.to_string())),
    }
}

/// The GPU ordinal of a process with this machine-local rank among `gpus` GPUs: the rank modulo
/// the GPU count (0 outside a launcher or without GPUs).
///
/// ```
/// use runs::device::gpu_of;
/// assert_eq!((gpu_of(None, 4), gpu_of(Some(3), 4), gpu_of(Some(5), 4), gpu_of(Some(1), 0)), (0, 3, 1, 0));
/// ```
pub fn gpu_of(local_rank: Option<usize>, gpus: usize) -> usize {
    match (local_rank, gpus) {
        (Some(rank), n) if n > 0 => rank % n,
        _ => 0,
    }
}
