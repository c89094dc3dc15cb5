//! Nodes in several processes: the collectives an optimizer needs when its m nodes are spread
//! over ranks (processes on one or many machines), and the plan of which rank owns which nodes.
//!
//! PISA's iteration is consensus: every node i keeps its own dual π_i (and preconditioner
//! state) and only the aggregate Σ α_i(σ w_i + π_i) crosses the network. With [`Ranks`] an
//! optimizer keeps state for the nodes its rank owns only, and sums the aggregation
//! accumulator over ranks, so every rank forms the same global weights.
//!
//! Engines behind [`Collective`]:
//! - [`Local`]: one process (world size 1), today's behaviour and the default;
//! - `Mpi` (feature `mpi`): MPI through the `mpi` crate (rsmpi) over the system's MPI library
//!   (Debian's OpenMPI: `openmpi-bin libopenmpi-dev`); CUDA tensors go through host buffers, as
//!   that OpenMPI is not CUDA-aware;
//! - `Nccl` (feature `nccl`): NCCL through cudarc for CUDA tensors, in device memory, with MPI
//!   for host buffers and for handing NCCL's unique id from rank 0 to the others. One rank per
//!   GPU.
//!
//! A program picks NCCL on GPUs with [`from_launcher_on`], which does this:
//!
//! ```ignore
//! let mpi = Arc::new(Mpi::init()?);
//! let comm: Arc<dyn Collective> = if tch::Cuda::is_available() {
//!     Arc::new(Nccl::init(mpi, local_rank().unwrap_or(0))?) // OMPI_COMM_WORLD_LOCAL_RANK
//! } else {
//!     mpi
//! };
//! ```
//!
//! [`Ranks`] asks the engine first ([`Collective::all_reduce_sum_tensor`] and its siblings) and
//! falls back to host slices when the engine declines (CPU tensors, and every tensor for `Local`
//! and `Mpi`). NCCL's test needs two GPUs: `cargo test -p pisa-core --features nccl --test nccl
//! -- --ignored` (it starts `mpirun -np 2` itself; see `pisa-core/tests/nccl.rs`).
//!
//! Two ways to sum the accumulator ([`Reduction`]): `AllReduce` (MPI's all-reduce: fast, its
//! summation order is the library's, so results differ from the one-process run in the last
//! bits) and `Ordered` (the accumulator passes from rank to rank in node order and the last
//! rank broadcasts the weights: the same floating-point operations in the same order as the
//! one-process run, so the result is bit-identical to it).

#[cfg(feature = "mpi")]
mod mpi;

#[cfg(feature = "nccl")]
mod nccl;

#[cfg(feature = "mpi")]
pub use self::mpi::Mpi;
#[cfg(feature = "nccl")]
pub use self::nccl::Nccl;

use std::ops::Range;
use std::sync::Arc;

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};

/// A flat buffer of one of the element types the collectives move.
#[derive(Debug)]
pub enum FlatMut<'a> {
    /// 32-bit floats.
    F32(&'a mut [f32]),
    /// 64-bit floats.
    F64(&'a mut [f64]),
}

impl FlatMut<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            FlatMut::F32(s) => s.len(),
            FlatMut::F64(s) => s.len(),
        }
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The collective operations over a fixed group of ranks (processes). Every rank must call the
/// same operations in the same order with buffers of the same length.
pub trait Collective: Send + Sync {
    /// This process's rank, `0..world()`.
    fn rank(&self) -> usize;

    /// The number of ranks.
    fn world(&self) -> usize;

    /// Replaces `buf` on every rank by the element-wise sum over ranks.
    ///
    /// # Errors
    /// [`Error::Collective`] when the engine fails.
    fn all_reduce_sum(&self, buf: FlatMut<'_>) -> Result<()>;

    /// Replaces `buf` on every rank by `root`'s.
    ///
    /// # Errors
    /// [`Error::Collective`] when the engine fails.
    fn broadcast(&self, buf: FlatMut<'_>, root: usize) -> Result<()>;

    /// Sends `buf` to rank `to` (which calls [`Collective::receive`]).
    ///
    /// # Errors
    /// [`Error::Collective`] when the engine fails.
    fn send(&self, buf: FlatMut<'_>, to: usize) -> Result<()>;

    /// Receives into `buf` what rank `from` sends.
    ///
    /// # Errors
    /// [`Error::Collective`] when the engine fails.
    fn receive(&self, buf: FlatMut<'_>, from: usize) -> Result<()>;

    /// Every rank's `local` values, concatenated in rank order (every rank passes as many).
    ///
    /// # Errors
    /// [`Error::Collective`] when the engine fails.
    fn all_gather(&self, local: &[f64]) -> Result<Vec<f64>>;

    /// Waits until every rank has called it.
    ///
    /// # Errors
    /// [`Error::Collective`] when the engine fails.
    fn barrier(&self) -> Result<()>;

    /// [`Collective::all_reduce_sum`] on a tensor where it lies, for engines that move device
    /// memory themselves: `None` when this engine leaves `t` to the host path (the default, and
    /// what every engine answers for CPU tensors), `Some` with the outcome when it summed `t`.
    /// [`Ranks`] tries it first. Every rank must take the same path for the same call.
    fn all_reduce_sum_tensor(&self, _t: &mut Tensor) -> Option<Result<()>> {
        None
    }

    /// [`Collective::broadcast`] on a tensor where it lies; `None` as in
    /// [`Collective::all_reduce_sum_tensor`].
    fn broadcast_tensor(&self, _t: &mut Tensor, _root: usize) -> Option<Result<()>> {
        None
    }

    /// [`Collective::send`] of a tensor where it lies; `None` as in
    /// [`Collective::all_reduce_sum_tensor`].
    fn send_tensor(&self, _t: &Tensor, _to: usize) -> Option<Result<()>> {
        None
    }

    /// [`Collective::receive`] into a tensor where it lies; `None` as in
    /// [`Collective::all_reduce_sum_tensor`].
    fn receive_tensor(&self, _t: &mut Tensor, _from: usize) -> Option<Result<()>> {
        None
    }
}

/// One process: world size 1. Reductions and broadcasts leave the buffer as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Collective for Local {
    fn rank(&self) -> usize {
        0
    }

    fn world(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _buf: FlatMut<'_>) -> Result<()> {
        Ok(())
    }

    fn broadcast(&self, _buf: FlatMut<'_>, root: usize) -> Result<()> {
        expect_rank(root, 1)
    }

    fn send(&self, _buf: FlatMut<'_>, to: usize) -> Result<()> {
        Err(Error::Collective(format!(
            "send to rank {to}: a local run has no other rank"
        )))
    }

    fn receive(&self, _buf: FlatMut<'_>, from: usize) -> Result<()> {
        Err(Error::Collective(format!(
            "receive from rank {from}: a local run has no other rank"
        )))
    }

    fn all_gather(&self, local: &[f64]) -> Result<Vec<f64>> {
        Ok(local.to_vec())
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }
}

/// The world this process was started into: `Some` (MPI's world communicator, initialized
/// here) when an MPI launcher (`mpirun`, `cargo xtask launch`) started it, `None` otherwise.
/// Call it once per process.
///
/// # Errors
/// [`Error::Collective`] when an MPI launcher started more than one rank but pisa-core was built
/// without the `mpi` feature, or MPI fails to initialize.
pub fn from_launcher() -> Result<Option<Arc<dyn Collective>>> {
    let Some(size) = launcher_size() else {
        return Ok(None);
    };
    #[cfg(feature = "mpi")]
    {
        let _ = size;
        Ok(Some(Arc::new(Mpi::init()?)))
    }
    #[cfg(not(feature = "mpi"))]
    match size {
        1 => Ok(None),
        _ => Err(Error::Collective(format!(
            "started as one of {size} MPI ranks, but built without MPI: rebuild with the `mpi` feature"
        ))),
    }
}

/// [`from_launcher`] for a program whose tensors live on `device`: with the `nccl` feature and a
/// CUDA `device`, NCCL on that device (the unique id over MPI) for tensors, MPI for host
/// buffers; otherwise exactly [`from_launcher`]. Each rank passes its own GPU, usually
/// `Device::Cuda(local_rank().unwrap_or(0))`.
///
/// # Errors
/// As [`from_launcher`], or [`Error::Collective`] when NCCL cannot start (no libnccl found, no
/// such GPU, two ranks on one GPU).
pub fn from_launcher_on(device: Device) -> Result<Option<Arc<dyn Collective>>> {
    #[cfg(feature = "nccl")]
    if let (Device::Cuda(ordinal), Some(_)) = (device, launcher_size()) {
        let mpi = Arc::new(Mpi::init()?);
        return Ok(Some(Arc::new(Nccl::init(mpi, ordinal)?)));
    }
    let _ = device;
    from_launcher()
}

/// This process's rank among the ranks of its machine, as the MPI launcher says
/// (`OMPI_COMM_WORLD_LOCAL_RANK`, or MPICH's `MPI_LOCALRANKID`): the GPU a rank uses when each
/// machine runs one rank per GPU. `None` outside a launcher.
pub fn local_rank() -> Option<usize> {
    ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The world size an MPI launcher announced, if one started this process.
fn launcher_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
}

fn expect_rank(rank: usize, world: usize) -> Result<()> {
    match rank < world {
        true => Ok(()),
        false => Err(Error::Collective(format!(
            "rank {rank} does not exist (world size {world})"
        ))),
    }
}

/// How the aggregation accumulator is summed over ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The engine's all-reduce: fast; the summation order is the engine's.
    #[default]
    AllReduce,
    /// Rank by rank in node order, then a broadcast: bit-identical to the one-process run of
    /// the same m nodes; its ranks step their nodes one after another.
    Ordered,
}

impl Reduction {
    /// The spellings [`FromStr`](std::str::FromStr) accepts, in declaration order.
    pub const NAMES: [&'static str; 2] = ["all-reduce", "ordered"];
}

impl std::str::FromStr for Reduction {
    type Err = String;

    /// `all-reduce` or `ordered` (the `--reduction` flag of the binaries).
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "all-reduce" => Ok(Reduction::AllReduce),
            "ordered" => Ok(Reduction::Ordered),
            other => Err(format!("`{other}` is not one of {:?}", Reduction::NAMES)),
        }
    }
}

/// Which nodes this rank owns, and the collective that joins the ranks. Rank r owns the
/// contiguous block `r·m/P .. (r+1)·m/P` of the m nodes (P = world size, which must divide m).
#[derive(Clone)]
pub struct Ranks {
    comm: Arc<dyn Collective>,
    nodes: usize,
    reduction: Reduction,
}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranks")
            .field("rank", &self.rank())
            .field("world", &self.world())
            .field("nodes", &self.nodes)
            .field("reduction", &self.reduction)
            .finish()
    }
}

impl Ranks {
    /// The plan for `nodes` nodes over the ranks of `comm`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the world size does not divide the number of nodes.
    pub fn new(comm: Arc<dyn Collective>, nodes: usize, reduction: Reduction) -> Result<Self> {
        let world = comm.world();
        if world == 0 || !nodes.is_multiple_of(world) {
            return Err(Error::InvalidSetting {
                name: "nodes",
                value: nodes.to_string(),
                reason: format!(
                    "{world} ranks must each own the same number of nodes: use a multiple of {world} nodes, or {world} ranks that divide {nodes}"
                ),
            });
        }
        Ok(Ranks {
            comm,
            nodes,
            reduction,
        })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// The number of ranks.
    pub fn world(&self) -> usize {
        self.comm.world()
    }

    /// The number of nodes m over all ranks.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// How the accumulator is summed.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// The nodes this rank owns.
    pub fn owned(&self) -> Range<usize> {
        self.owned_by(self.rank())
    }

    /// The nodes rank `rank` owns.
    pub fn owned_by(&self, rank: usize) -> Range<usize> {
        let per = self.nodes / self.world();
        rank * per..(rank + 1) * per
    }

    /// The rank that owns `node`.
    pub fn owner(&self, node: usize) -> usize {
        node / (self.nodes / self.world())
    }

    /// The collective.
    pub fn collective(&self) -> &dyn Collective {
        self.comm.as_ref()
    }

    /// Every rank says whether its part of the iteration went well; returns the ranks that
    /// failed (empty when none did). Every rank must call it once per iteration, failed or not,
    /// so that no rank waits forever for one that gave up.
    ///
    /// # Errors
    /// [`Error::Collective`] when the engine fails.
    pub fn agree(&self, ok: bool) -> Result<Vec<usize>> {
        let votes = self.comm.all_gather(&[if ok { 1.0 } else { 0.0 }])?;
        Ok((0..votes.len()).filter(|&r| votes[r] != 1.0).collect())
    }

    /// Sums `t` over ranks in place (any device: the engine's device path when it has one, as
    /// `Nccl` for CUDA tensors, otherwise a host copy).
    ///
    /// # Errors
    /// [`Error::Collective`], or a tensor of another kind than f32/f64.
    pub fn all_reduce_sum(&self, t: &mut Tensor) -> Result<()> {
        match self.comm.all_reduce_sum_tensor(t) {
            Some(done) => done,
            None => on_host(t, |buf| self.comm.all_reduce_sum(buf)),
        }
    }

    /// Replaces `t` by rank `root`'s.
    ///
    /// # Errors
    /// As [`Ranks::all_reduce_sum`].
    pub fn broadcast(&self, t: &mut Tensor, root: usize) -> Result<()> {
        match self.comm.broadcast_tensor(t, root) {
            Some(done) => done,
            None => on_host(t, |buf| self.comm.broadcast(buf, root)),
        }
    }

    /// Sends `t` to rank `to`.
    ///
    /// # Errors
    /// As [`Ranks::all_reduce_sum`].
    pub fn send(&self, t: &mut Tensor, to: usize) -> Result<()> {
        match self.comm.send_tensor(t, to) {
            Some(done) => done,
            None => on_host(t, |buf| self.comm.send(buf, to)),
        }
    }

    /// Receives `t` from rank `from`.
    ///
    /// # Errors
    /// As [`Ranks::all_reduce_sum`].
    pub fn receive(&self, t: &mut Tensor, from: usize) -> Result<()> {
        match self.comm.receive_tensor(t, from) {
            Some(done) => done,
            None => on_host(t, |buf| self.comm.receive(buf, from)),
        }
    }
}

/// An optimizer's side of a rank plan: the plan (if any), the owned nodes' gradients kept for
/// the [`Reduction::Ordered`] replay, and whether this rank has voted in the open iteration.
/// PISA/SISA and the baselines share it, so the agreement that keeps ranks from waiting on a
/// failed one is written once.
#[derive(Debug, Default)]
pub(crate) struct Spread {
    ranks: Option<Ranks>,
    /// [`Reduction::Ordered`]: this rank's node gradients, in node order, replayed at the end.
    pub(crate) stash: Vec<Tensor>,
    voted: bool,
}

impl Spread {
    /// The plan, when the nodes are spread over ranks.
    pub(crate) fn ranks(&self) -> Option<&Ranks> {
        self.ranks.as_ref()
    }

    /// Adopts `ranks` for an optimizer of `nodes` nodes that has `started` iterating.
    pub(crate) fn adopt(&mut self, ranks: Ranks, nodes: usize, started: bool) -> Result<()> {
        if ranks.nodes() != nodes {
            return Err(Error::Protocol(format!(
                "the rank plan is for {} nodes, the optimizer has {nodes}",
                ranks.nodes()
            )));
        }
        if started || self.ranks.is_some() {
            return Err(Error::Protocol(
                "distribute the nodes before the first iteration (then load a checkpoint's state)".into(),
            ));
        }
        self.ranks = Some(ranks);
        Ok(())
    }

    /// Keeps a copy of an owned node's gradient for the ordered replay.
    pub(crate) fn keep(&mut self, g: &Tensor) -> Result<()> {
        self.stash.push(tch::no_grad(|| g.f_detach_copy())?);
        Ok(())
    }

    /// Opens an iteration.
    pub(crate) fn begin(&mut self) {
        self.voted = false;
        self.stash.clear();
    }

    /// This rank's part went well: learns whether every rank's did.
    ///
    /// # Errors
    /// [`Error::RankFailed`] naming the ranks that failed, or [`Error::Collective`].
    pub(crate) fn agree(&mut self, iteration: u64) -> Result<()> {
        let Some(ranks) = &self.ranks else {
            return Ok(());
        };
        self.voted = true;
        let failed = ranks.agree(true)?;
        if failed.is_empty() {
            return Ok(());
        }
        self.stash.clear();
        Err(Error::RankFailed {
            ranks: failed,
            iteration,
        })
    }

    /// This rank's part failed: tells the other ranks (once), which wait for its vote.
    pub(crate) fn abort(&mut self) {
        self.stash.clear();
        if let (Some(ranks), false) = (&self.ranks, self.voted) {
            self.voted = true;
            let _ = ranks.agree(false);
        }
    }
}

/// Runs `op` on `t`'s elements as a host slice: in place for a contiguous CPU tensor, through a
/// host copy (written back) otherwise.
fn on_host(t: &mut Tensor, op: impl FnOnce(FlatMut<'_>) -> Result<()>) -> Result<()> {
    let kind = t.kind();
    if !matches!(kind, Kind::Float | Kind::Double) {
        return Err(Error::Collective(format!(
            "collectives move f32 and f64 tensors, not {kind:?}"
        )));
    }
    if t.device() == Device::Cpu && t.is_contiguous() {
        return with_slice(t, op);
    }
    let mut host = t.f_to_device(Device::Cpu)?.f_contiguous()?;
    with_slice(&mut host, op)?;
    tch::no_grad(|| t.f_copy_(&host))?;
    Ok(())
}

fn with_slice(t: &mut Tensor, op: impl FnOnce(FlatMut<'_>) -> Result<()>) -> Result<()> {
    let n = t.numel();
    let ptr = t.data_ptr();
    // SAFETY: `t` is a contiguous CPU tensor of `n` elements of the matched kind, so its storage
    // holds `n` properly aligned elements from `data_ptr`; the exclusive borrow of `t` keeps
    // other safe code from touching it while the slice lives, and the slice ends with `op`.
    match t.kind() {
        Kind::Float => op(FlatMut::F32(unsafe {
            std::slice::from_raw_parts_mut(ptr as *mut f32, n)
        })),
        Kind::Double => op(FlatMut::F64(unsafe {
            std::slice::from_raw_parts_mut(ptr as *mut f64, n)
        })),
        other => Err(Error::Collective(format!(
            "collectives move f32 and f64 tensors, not {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_splits_nodes_into_equal_blocks_and_refuses_uneven_ones() {
        let ranks = Ranks::new(Arc::new(Local), 4, Reduction::AllReduce).unwrap();
        assert_eq!((ranks.rank(), ranks.world(), ranks.owned()), (0, 1, 0..4));
        assert_eq!(ranks.owner(3), 0);
        assert!(ranks.agree(true).unwrap().is_empty());
        assert_eq!(ranks.agree(false).unwrap(), [0]);

        /// A world of 3 seen from rank 1, for the arithmetic only.
        struct Three;
        impl Collective for Three {
            fn rank(&self) -> usize {
                1
            }
            fn world(&self) -> usize {
                3
            }
            fn all_reduce_sum(&self, _: FlatMut<'_>) -> Result<()> {
                Ok(())
            }
            fn broadcast(&self, _: FlatMut<'_>, _: usize) -> Result<()> {
                Ok(())
            }
            fn send(&self, _: FlatMut<'_>, _: usize) -> Result<()> {
                Ok(())
            }
            fn receive(&self, _: FlatMut<'_>, _: usize) -> Result<()> {
                Ok(())
            }
            fn all_gather(&self, local: &[f64]) -> Result<Vec<f64>> {
                Ok(local.repeat(3))
            }
            fn barrier(&self) -> Result<()> {
                Ok(())
            }
        }
        let three = Ranks::new(Arc::new(Three), 6, Reduction::Ordered).unwrap();
        assert_eq!(
            (three.owned(), three.owned_by(2), three.owner(5)),
            (2..4, 4..6, 2)
        );
        let err = Ranks::new(Arc::new(Three), 4, Reduction::AllReduce).unwrap_err();
        assert!(err.to_string().contains("multiple of 3"), "{err}");
    }

    #[test]
    fn ranks_use_the_engines_tensor_path_when_it_takes_the_tensor_and_host_slices_otherwise() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// Takes f64 tensors itself (adds 10), leaves the others to the host path (adds 1).
        #[derive(Default)]
        struct Picky {
            host_calls: AtomicUsize,
        }
        impl Collective for Picky {
            fn rank(&self) -> usize {
                0
            }
            fn world(&self) -> usize {
                1
            }
            fn all_reduce_sum(&self, buf: FlatMut<'_>) -> Result<()> {
                self.host_calls.fetch_add(1, Ordering::SeqCst);
                if let FlatMut::F32(s) = buf {
                    s.iter_mut().for_each(|x| *x += 1.0);
                }
                Ok(())
            }
            fn broadcast(&self, _: FlatMut<'_>, _: usize) -> Result<()> {
                Ok(())
            }
            fn send(&self, _: FlatMut<'_>, _: usize) -> Result<()> {
                Ok(())
            }
            fn receive(&self, _: FlatMut<'_>, _: usize) -> Result<()> {
                Ok(())
            }
            fn all_gather(&self, local: &[f64]) -> Result<Vec<f64>> {
                Ok(local.to_vec())
            }
            fn barrier(&self) -> Result<()> {
                Ok(())
            }
            fn all_reduce_sum_tensor(&self, t: &mut Tensor) -> Option<Result<()>> {
                (t.kind() == Kind::Double).then(|| {
                    let _ = tch::no_grad(|| t.f_add_scalar_(10.0))?;
                    Ok(())
                })
            }
        }
        let picky = Arc::new(Picky::default());
        let ranks = Ranks::new(picky.clone(), 1, Reduction::AllReduce).unwrap();
        let mut f64s = Tensor::from_slice(&[1.0f64]);
        ranks.all_reduce_sum(&mut f64s).unwrap();
        assert_eq!(Vec::<f64>::try_from(&f64s).unwrap(), [11.0]);
        assert_eq!(picky.host_calls.load(Ordering::SeqCst), 0);
        let mut f32s = Tensor::from_slice(&[1.0f32]);
        ranks.all_reduce_sum(&mut f32s).unwrap();
        assert_eq!(Vec::<f32>::try_from(&f32s).unwrap(), [2.0]);
        assert_eq!(picky.host_calls.load(Ordering::SeqCst), 1);
        // The engines here leave every tensor to the host path.
        assert!(Local.all_reduce_sum_tensor(&mut f32s).is_none());
    }

    #[test]
    fn host_slices_see_cpu_tensors_in_place_and_others_through_a_copy() {
        let mut t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        on_host(&mut t, |buf| {
            if let FlatMut::F32(s) = buf {
                s[1] = 5.0;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(Vec::<f32>::try_from(&t).unwrap(), [1.0, 5.0, 3.0]);
        // A non-contiguous view goes through a copy that is written back.
        let base = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 4.0]).view([2, 2]);
        let mut col = base.tr();
        on_host(&mut col, |buf| {
            if let FlatMut::F64(s) = buf {
                s[0] = 9.0;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            Vec::<f64>::try_from(base.reshape([-1])).unwrap(),
            [9.0, 2.0, 3.0, 4.0]
        );
        let mut ints = Tensor::from_slice(&[1i64]);
        assert!(on_host(&mut ints, |_| Ok(())).is_err());
    }
}
