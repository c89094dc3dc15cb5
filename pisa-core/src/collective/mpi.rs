//! [`Collective`] over MPI (feature `mpi`): the `mpi` crate (rsmpi 0.8) on the system's MPI
//! library. Start the processes with `mpirun` (`cargo xtask launch --nproc N -- ...`).
//!
//! MPI reports its own failures by aborting the job (its default error handler): `mpirun` then
//! stops every rank, so no rank waits forever on one that died.

use std::sync::Mutex;

use mpi::collective::SystemOperation;
use mpi::environment::{Threading, Universe};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Destination, Root, Source};

use super::{expect_rank, Collective, FlatMut};
use crate::error::{Error, Result};

/// The world communicator of an MPI job. One per process: MPI is initialized when it is
/// created and finalized when it is dropped.
pub struct Mpi {
    rank: usize,
    world: usize,
    /// MPI calls are serialized through this lock (MPI was initialized for serialized
    /// threading), which is what makes the communicator safe to share between threads.
    inner: Mutex<Inner>,
}

struct Inner {
    comm: SimpleCommunicator,
    _universe: Universe,
}

// SAFETY: MPI is initialized with `Threading::Serialized` or better (checked in `Mpi::init`),
// which allows MPI calls from any thread as long as no two run at once; every call goes
// through the `Mutex` around the communicator and the universe.
unsafe impl Send for Inner {}

impl Mpi {
    /// Initializes MPI for this process and joins its world communicator.
    ///
    /// # Errors
    /// [`Error::Collective`] when MPI was already initialized or cannot serialize calls from
    /// several threads.
    pub fn init() -> Result<Self> {
        let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| Error::Collective("MPI was already initialized in this process".into()))?;
        if threading < Threading::Serialized {
            return Err(Error::Collective(format!(
                "the MPI library offers {threading:?} threading; serialized calls from several threads are needed"
            )));
        }
        let comm = universe.world();
        Ok(Mpi {
            rank: comm.rank() as usize,
            world: comm.size() as usize,
            inner: Mutex::new(Inner {
                comm,
                _universe: universe,
            }),
        })
    }

    fn with<T>(&self, call: impl FnOnce(&SimpleCommunicator) -> T) -> Result<T> {
        let inner = self
            .inner
            .lock()
            .map_err(|_| Error::Collective("an MPI call panicked on another thread".into()))?;
        Ok(call(&inner.comm))
    }

    /// Replaces `buf` on every rank by `root`'s bytes (every rank passes as many): how
    /// `Nccl` (feature `nccl`) hands its unique id from rank 0 to the others.
    ///
    /// # Errors
    /// [`Error::Collective`] when `root` is not a rank or MPI fails.
    pub fn broadcast_bytes(&self, buf: &mut [u8], root: usize) -> Result<()> {
        expect_rank(root, self.world)?;
        self.with(|comm| comm.process_at_rank(root as i32).broadcast_into(buf))
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world(&self) -> usize {
        self.world
    }

    fn all_reduce_sum(&self, buf: FlatMut<'_>) -> Result<()> {
        self.with(|comm| match buf {
            FlatMut::F32(s) => {
                let send = s.to_vec();
                comm.all_reduce_into(&send[..], s, SystemOperation::sum());
            }
            FlatMut::F64(s) => {
                let send = s.to_vec();
                comm.all_reduce_into(&send[..], s, SystemOperation::sum());
            }
        })
    }

    fn broadcast(&self, buf: FlatMut<'_>, root: usize) -> Result<()> {
        expect_rank(root, self.world)?;
        self.with(|comm| {
            let root = comm.process_at_rank(root as i32);
            match buf {
                FlatMut::F32(s) => root.broadcast_into(s),
                FlatMut::F64(s) => root.broadcast_into(s),
            }
        })
    }

    fn send(&self, buf: FlatMut<'_>, to: usize) -> Result<()> {
        expect_rank(to, self.world)?;
        self.with(|comm| {
            let to = comm.process_at_rank(to as i32);
            match buf {
                FlatMut::F32(s) => to.send(&s[..]),
                FlatMut::F64(s) => to.send(&s[..]),
            }
        })
    }

    fn receive(&self, buf: FlatMut<'_>, from: usize) -> Result<()> {
        expect_rank(from, self.world)?;
        let expected = buf.len();
        let count = self.with(|comm| {
            let from = comm.process_at_rank(from as i32);
            match buf {
                FlatMut::F32(s) => from
                    .receive_into(s)
                    .count(<f32 as mpi::datatype::Equivalence>::equivalent_datatype()),
                FlatMut::F64(s) => from
                    .receive_into(s)
                    .count(<f64 as mpi::datatype::Equivalence>::equivalent_datatype()),
            }
        })?;
        match count as usize == expected {
            true => Ok(()),
            false => Err(Error::Collective(format!(
                "received {count} elements from rank {from}, expected {expected}"
            ))),
        }
    }

    fn all_gather(&self, local: &[f64]) -> Result<Vec<f64>> {
        let mut all = vec![0.0; local.len() * self.world];
        self.with(|comm| comm.all_gather_into(local, &mut all[..]))?;
        Ok(all)
    }

    fn barrier(&self) -> Result<()> {
        self.with(|comm| comm.barrier())
    }
}
