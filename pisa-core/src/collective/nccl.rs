//! [`Collective`] over NCCL (feature `nccl`): cudarc 0.19's NCCL bindings, loaded at run time
//! (`dynamic-loading`), so this compiles on machines without CUDA; running it needs a GPU per
//! rank, the driver's libcuda and a `libnccl.so` the loader can find.
//!
//! - CUDA tensors (f32, f64) on this rank's GPU move in device memory: NCCL reads and writes the
//!   tensor's own storage (`data_ptr`), on the legacy default stream, which is libtorch's current
//!   stream for tch (tch never switches streams), so the collective runs after the kernels that
//!   produced the tensor; the stream is synchronized before returning, so libtorch and the host
//!   see the result. Non-contiguous tensors go through a contiguous device copy.
//! - Host buffers ([`FlatMut`]), [`Collective::all_gather`] and [`Collective::barrier`] go to
//!   the wrapped [`Mpi`]: they are small (votes, scalars) or already on the host, and a device
//!   staging buffer would add two copies to what MPI does in one.
//!
//! NCCL's unique id is created by rank 0 and broadcast as bytes over MPI; then every rank
//! creates its communicator on its GPU. One rank per GPU: NCCL refuses two ranks on one device.
//!
//! torch's wheels ship NCCL as `libnccl.so.2` only, while cudarc opens `libnccl.so` (or
//! `libnccl.so.<CUDA major>`): put a `libnccl.so` link to torch's `libnccl.so.2` in a folder on
//! `LD_LIBRARY_PATH` (the test `pisa-core/tests/nccl.rs` does so). [`Nccl::init`] checks
//! first and says so, rather than letting cudarc panic.

use std::ffi::{c_void, CStr};
use std::sync::{Arc, Mutex};

use cudarc::driver::{result as driver, CudaContext};
use cudarc::nccl::result::{self as nccl, NcclError, NcclStatus};
use cudarc::nccl::sys::{self, ncclComm_t, ncclDataType_t};
use tch::{Device, Kind, Tensor};

use super::{expect_rank, Collective, FlatMut, Mpi};
use crate::error::{Error, Result};

/// NCCL's communicator over the ranks of an MPI job, one GPU per rank.
///
/// Fields drop in order: the communicator, then the context, then MPI (finalized last).
pub struct Nccl {
    /// NCCL calls on one communicator must not overlap: they are serialized through this lock.
    comm: Mutex<Comm>,
    /// The GPU's primary context (the one libtorch uses), made current before each NCCL call.
    ctx: Arc<CudaContext>,
    ordinal: usize,
    mpi: Arc<Mpi>,
}

/// The raw communicator, destroyed on drop.
struct Comm(ncclComm_t);

// SAFETY: a NCCL communicator may be used from any thread as long as calls on it do not overlap;
// `Nccl` only touches it under its `Mutex`.
unsafe impl Send for Comm {}

impl Drop for Comm {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from a successful `ncclCommInitRank`, is destroyed only here,
        // and nothing uses it afterwards (the `Comm` is being dropped).
        let _ = unsafe { nccl::comm_destroy(self.0) };
    }
}

impl std::fmt::Debug for Nccl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nccl")
            .field("rank", &self.mpi.rank())
            .field("world", &self.mpi.world())
            .field("device", &self.ordinal)
            .finish()
    }
}

impl Nccl {
    /// Joins the ranks of `mpi` in a NCCL communicator on CUDA device `device_ordinal`. Every
    /// rank calls it at the same point (it broadcasts over `mpi`).
    ///
    /// # Errors
    /// [`Error::Collective`] when libnccl or libcuda cannot be loaded, the device does not exist, or NCCL
    /// fails to create the communicator (two ranks on one GPU, unreachable peers).
    pub fn init(mpi: Arc<Mpi>, device_ordinal: usize) -> Result<Self> {
        // SAFETY: only tries to open the library by its candidate names; no symbol is called.
        if !unsafe { sys::is_culib_present() } {
            return Err(Error::Collective(
                "NCCL: no libnccl.so on the library path; torch ships libnccl.so.2 \
                 (`find $LIBTORCH/.. -name libnccl.so.2`): link it as libnccl.so in a folder on \
                 LD_LIBRARY_PATH"
                    .into(),
            ));
        }
        // SAFETY: as above, for the driver's libcuda.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(Error::Collective(
                "NCCL: no CUDA driver (libcuda.so.1) on this machine".into(),
            ));
        }
        let ctx = CudaContext::new(device_ordinal)
            .map_err(|e| Error::Collective(format!("CUDA device {device_ordinal} for NCCL: {e}")))?;
        let mut id = match mpi.rank() {
            0 => nccl::get_uniqueid().map_err(|e| nccl_error("ncclGetUniqueId", &e))?,
            _ => sys::ncclUniqueId { internal: [0; 128] },
        };
        // SAFETY: `internal` is a plain array of 128 `c_char`, which has the size and alignment
        // of `u8` and no invalid bit patterns; the byte view ends before `id` is used again.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(id.internal.as_mut_ptr().cast::<u8>(), id.internal.len())
        };
        mpi.broadcast_bytes(bytes, 0)?;
        let world = i32::try_from(mpi.world())
            .map_err(|_| Error::Collective("NCCL: more ranks than an i32 counts".into()))?;
        let rank = mpi.rank() as i32;
        let mut comm: ncclComm_t = std::ptr::null_mut();
        // SAFETY: `ctx` was just made current on this thread (so NCCL binds the communicator to
        // `device_ordinal`); `comm` is a valid out-pointer; `id` is rank 0's unique id, the same
        // on every rank; `rank < world` as MPI numbers them.
        unsafe { nccl::comm_init_rank(&mut comm, world, id, rank) }
            .map_err(|e| nccl_error("ncclCommInitRank", &e))?;
        Ok(Nccl {
            comm: Mutex::new(Comm(comm)),
            ctx,
            ordinal: device_ordinal,
            mpi,
        })
    }

    /// The CUDA device this rank's communicator uses.
    pub fn device(&self) -> Device {
        Device::Cuda(self.ordinal)
    }

    /// Whether a collective on `t` takes NCCL's device path on a communicator bound to CUDA
    /// device `ordinal` (`Ok(true)`), or the host path (`Ok(false)`: CPU tensors, whatever their
    /// kind, for the host path to judge).
    ///
    /// # Errors
    /// [`Error::Collective`] for a CUDA tensor on another device, or of a kind other than f32
    /// and f64.
    pub fn takes_device_path(t: &Tensor, ordinal: usize) -> Result<bool> {
        match t.device() {
            Device::Cuda(d) if d == ordinal => match t.kind() {
                Kind::Float | Kind::Double => Ok(true),
                other => Err(Error::Collective(format!(
                    "NCCL collectives move f32 and f64 tensors, not {other:?}"
                ))),
            },
            Device::Cuda(d) => Err(Error::Collective(format!(
                "a tensor on cuda:{d} given to the NCCL communicator of cuda:{ordinal}"
            ))),
            _ => Ok(false),
        }
    }

    /// Runs `op` (a NCCL call on the tensor's device pointer, element count, type and the
    /// communicator, on the legacy default stream) on `t`, or `None` for the host path.
    /// `write_back`: whether `op` changes the tensor (not for a send).
    fn on_device(
        &self,
        t: &Tensor,
        write_back: bool,
        op: impl FnOnce(*mut c_void, usize, ncclDataType_t, ncclComm_t) -> Result<NcclStatus, NcclError>,
    ) -> Option<Result<()>> {
        match Self::takes_device_path(t, self.ordinal) {
            Ok(false) => None,
            Ok(true) => Some(self.run(t, write_back, op)),
            Err(e) => Some(Err(e)),
        }
    }

    fn run(
        &self,
        t: &Tensor,
        write_back: bool,
        op: impl FnOnce(*mut c_void, usize, ncclDataType_t, ncclComm_t) -> Result<NcclStatus, NcclError>,
    ) -> Result<()> {
        if !t.is_contiguous() {
            let dense = t.f_contiguous()?;
            self.run(&dense, write_back, op)?;
            if write_back {
                tch::no_grad(|| t.shallow_clone().f_copy_(&dense))?;
            }
            return Ok(());
        }
        let dtype = match t.kind() {
            Kind::Float => ncclDataType_t::ncclFloat32,
            _ => ncclDataType_t::ncclFloat64,
        };
        let n = t.numel();
        if n == 0 {
            return Ok(());
        }
        let comm = self
            .comm
            .lock()
            .map_err(|_| Error::Collective("a NCCL call panicked on another thread".into()))?;
        self.ctx
            .bind_to_thread()
            .map_err(|e| Error::Collective(format!("CUDA device {}: {e}", self.ordinal)))?;
        op(t.data_ptr(), n, dtype, comm.0).map_err(|e| nccl_error("NCCL", &e))?;
        // SAFETY: the null stream is the legacy default stream of the current context (this
        // GPU's primary context, bound above); synchronizing it waits for the NCCL call.
        unsafe { driver::stream::synchronize(driver::stream::null()) }
            .map_err(|e| Error::Collective(format!("synchronizing after NCCL: {e}")))
    }
}

/// The legacy default stream (null): libtorch's current stream under tch.
const LEGACY_STREAM: sys::cudaStream_t = std::ptr::null_mut();

/// A NCCL error with NCCL's own description.
fn nccl_error(call: &str, e: &NcclError) -> Error {
    // SAFETY: ncclGetErrorString returns a pointer to a static NUL-terminated string for any
    // result code.
    let text = unsafe { CStr::from_ptr(sys::ncclGetErrorString(e.0)) };
    Error::Collective(format!("{call}: {:?} ({})", e.0, text.to_string_lossy()))
}

fn root_rank(root: usize, world: usize) -> Result<i32> {
    expect_rank(root, world)?;
    Ok(root as i32)
}

impl Collective for Nccl {
    fn rank(&self) -> usize {
        self.mpi.rank()
    }

    fn world(&self) -> usize {
        self.mpi.world()
    }

    fn all_reduce_sum(&self, buf: FlatMut<'_>) -> Result<()> {
        self.mpi.all_reduce_sum(buf)
    }

    fn broadcast(&self, buf: FlatMut<'_>, root: usize) -> Result<()> {
        self.mpi.broadcast(buf, root)
    }

    fn send(&self, buf: FlatMut<'_>, to: usize) -> Result<()> {
        self.mpi.send(buf, to)
    }

    fn receive(&self, buf: FlatMut<'_>, from: usize) -> Result<()> {
        self.mpi.receive(buf, from)
    }

    fn all_gather(&self, local: &[f64]) -> Result<Vec<f64>> {
        self.mpi.all_gather(local)
    }

    fn barrier(&self) -> Result<()> {
        self.mpi.barrier()
    }

    fn all_reduce_sum_tensor(&self, t: &mut Tensor) -> Option<Result<()>> {
        self.on_device(t, true, |ptr, n, dtype, comm| {
            // SAFETY: `ptr` is the start of the contiguous CUDA storage of `n` elements of
            // `dtype` on the communicator's device, alive and exclusively borrowed for the call,
            // which the stream synchronization after `op` completes; in-place (send = receive
            // buffer) is allowed by NCCL.
            unsafe { nccl::all_reduce(ptr, ptr, n, dtype, sys::ncclRedOp_t::ncclSum, comm, LEGACY_STREAM) }
        })
    }

    fn broadcast_tensor(&self, t: &mut Tensor, root: usize) -> Option<Result<()>> {
        let root = match root_rank(root, self.world()) {
            Ok(root) => root,
            Err(e) => return Some(Err(e)),
        };
        self.on_device(t, true, |ptr, n, dtype, comm| {
            // SAFETY: as in `all_reduce_sum_tensor`; NCCL allows in-place broadcast.
            unsafe { nccl::broadcast(ptr, ptr, n, dtype, root, comm, LEGACY_STREAM) }
        })
    }

    fn send_tensor(&self, t: &Tensor, to: usize) -> Option<Result<()>> {
        let to = match root_rank(to, self.world()) {
            Ok(to) => to,
            Err(e) => return Some(Err(e)),
        };
        self.on_device(t, false, |ptr, n, dtype, comm| {
            // SAFETY: as in `all_reduce_sum_tensor`; NCCL only reads the buffer.
            unsafe { nccl::send(ptr, n, dtype, to, comm, LEGACY_STREAM) }
        })
    }

    fn receive_tensor(&self, t: &mut Tensor, from: usize) -> Option<Result<()>> {
        let from = match root_rank(from, self.world()) {
            Ok(from) => from,
            Err(e) => return Some(Err(e)),
        };
        self.on_device(t, true, |ptr, n, dtype, comm| {
            // SAFETY: as in `all_reduce_sum_tensor`; NCCL writes `n` elements into the buffer.
            unsafe { nccl::recv(ptr, n, dtype, from, comm, LEGACY_STREAM) }
        })
    }
}
