//! One PISA node per device: model replicas that compute the m nodes' gradients in parallel.
//!
//! `--node-devices` picks the path (see [`NodeDevices`]): `auto` (the default) uses every CUDA
//! device when the run's device is CUDA, libtorch sees more than one and m > 1; otherwise the
//! m nodes run one after another on the run's device, as before. An explicit list such as
//! `cuda:0,cuda:1` (or `cpu,cpu`, which exists so the path can be tested without GPUs) forces
//! this path with one replica per listed entry.
//!
//! # Design
//! - The **primary** model (the one the optimizer was built on, on the run's device) holds the
//!   global weights, the optimizer state and does the aggregation, as in the sequential path.
//! - Each listed device gets a **replica**: its own `VarStore` and [`Gpt2`] built once from the
//!   same configuration (and the same bf16 setting). With d replicas node i runs on replica
//!   `i mod d` (round-robin).
//! - Per step, one OS thread per replica (`std::thread::scope`) copies the global weights into
//!   its replica under `no_grad` (so a resumed run starts from the restored weights), then, for
//!   each of its nodes in increasing order, zeroes the replica's gradients, samples and
//!   back-propagates the node's `accum` micro-batches with exactly the sampling calls of the
//!   sequential path (same seed, step and micro-batch indices, the replica's device), clips the
//!   node's gradient to `--clip`, and copies it out into a per-node flat f32 buffer before the
//!   next node on that replica runs. Threads stop at their first non-finite loss.
//! - Back on the calling thread, for i = 0..m in order, node i's buffer is moved to the primary
//!   device, copied into the primary parameters' `.grad()` (f32: the aggregation is in f32) and
//!   `node_step(i)` consumes it; the caller then calls `end_iteration`. A non-finite loss is
//!   reported as the first one in node order (what the sequential path would have hit) and the
//!   caller aborts the iteration exactly as before.
//! - Timing: the optimizer time counts only `node_step` (and the caller's `end_iteration`); the
//!   weight broadcast and the gradient transfers count toward the step time, so tokens/s is the
//!   real throughput.
//!
//! # Seeding
//! The caller seeds once per step with `tch::manual_seed`, which in libtorch seeds the CPU
//! generator and the generator of every CUDA device with the same value. Every device then
//! draws its nodes' dropout masks from its own generator in a fixed order, so CUDA runs are
//! reproducible; but the first node of each device starts from the same seed (tch cannot seed
//! one CUDA device from a worker thread), so their dropout masks coincide where their shapes
//! do. Replicas on the CPU share the one CPU generator, drawn by concurrent threads: with
//! dropout > 0 a list with several `cpu` entries is not reproducible (a warning says so). The
//! small presets (`nano`, `tiny`, `test`, `unit`) have dropout 0, where none of this matters;
//! the GPT-2 presets and Hugging Face checkpoints have 0.1 unless `--dropout` says otherwise.
//!
//! # What was verified
//! The `cpu,cpu` path is tested against the sequential path (`tests/replicas.rs`): the same
//! final weights for SISA, NSISA and AdamW, with two and with three nodes. **Several CUDA
//! devices were never run**: no multi-GPU machine was available to this work (only single-GPU
//! machines); the code relies on libtorch's cross-device `copy_`, which orders the copy after
//! the source device's pending work.
//!
//! # Deviation from the authors
//! The authors run one node per GPU in separate processes and all-reduce in 16 bits; here one
//! process drives all devices, and every node's full f32 gradient is moved to the primary device,
//! where the optimizer keeps the node states and aggregates in f32 (one replica's memory per
//! device, plus one flat gradient buffer per node).

use crate::config::Gpt2Config;
use crate::error::{LlmError, Result};
use crate::model::Gpt2;
use crate::node::sync;
use crate::shards::TokenData;
use pisa_core::{ClipArithmetic, Optimizer};
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// A bad `--node-devices` value.
#[derive(Debug, thiserror::Error)]
pub enum NodeDevicesError {
    /// An item of the list is empty (`cpu,,cpu`).
    #[error("--node-devices `{list}`: empty item (expected a comma list such as cuda:0,cuda:1)")]
    EmptyItem {
        /// The whole list.
        list: String,
    },
    /// An item names no known device.
    #[error("--node-devices: unknown device `{item}` (expected auto, or a comma list of cpu, cuda, cuda:N)")]
    UnknownDevice {
        /// The item.
        item: String,
    },
    /// A CUDA index libtorch does not see.
    #[error("--node-devices: `{item}`, but libtorch sees {count} CUDA device(s)")]
    NoSuchCuda {
        /// The item.
        item: String,
        /// The number of CUDA devices libtorch sees.
        count: i64,
    },
    /// More devices than nodes.
    #[error("--node-devices lists {listed} devices for {nodes} node(s): at most one device per node")]
    TooManyDevices {
        /// Devices listed.
        listed: usize,
        /// Nodes m.
        nodes: usize,
    },
}

/// Where the nodes run: the `--node-devices` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeDevices {
    /// All CUDA devices when the run is on CUDA, there are several and m > 1 (node i on device
    /// `i mod d`); otherwise sequentially on the run's device. Under an MPI launcher each rank
    /// has its own GPU and runs its nodes there (no replicas).
    Auto,
    /// One replica per entry, nodes assigned round-robin (entries may repeat: `cpu,cpu`).
    List(Vec<Device>),
}

impl NodeDevices {
    /// Parses `auto` or a comma list of `cpu`, `cuda` (= `cuda:0`), `cuda:N`, checking CUDA
    /// indices against the devices libtorch sees.
    ///
    /// # Errors
    /// [`NodeDevicesError`] naming the bad item.
    pub fn parse(spec: &str) -> Result<Self, NodeDevicesError> {
        let spec = spec.trim();
        if spec == "auto" {
            return Ok(NodeDevices::Auto);
        }
        let parse_item = |item: &str| -> Result<Device, NodeDevicesError> {
            let item = item.trim();
            if item.is_empty() {
                return Err(NodeDevicesError::EmptyItem { list: spec.into() });
            }
            let index = match item {
                "cpu" => return Ok(Device::Cpu),
                "cuda" => 0,
                _ => item
                    .strip_prefix("cuda:")
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| NodeDevicesError::UnknownDevice { item: item.into() })?,
            };
            let count = tch::Cuda::device_count();
            if index as i64 >= count {
                return Err(NodeDevicesError::NoSuchCuda {
                    item: item.into(),
                    count,
                });
            }
            Ok(Device::Cuda(index))
        };
        spec.split(',')
            .map(parse_item)
            .collect::<Result<_, _>>()
            .map(NodeDevices::List)
    }

    /// The replica devices for m nodes with the primary model on `primary`; `None` means the
    /// sequential single-device path.
    ///
    /// # Errors
    /// [`NodeDevicesError::TooManyDevices`] when an explicit list is longer than m.
    pub fn resolve(&self, primary: Device, nodes: usize) -> Result<Option<Vec<Device>>, NodeDevicesError> {
        match self {
            NodeDevices::Auto => {
                let count = tch::Cuda::device_count().max(0) as usize;
                let ranked = pisa_core::collective::local_rank().is_some();
                if !primary.is_cuda() || count < 2 || nodes < 2 || ranked {
                    return Ok(None);
                }
                Ok(Some((0..count.min(nodes)).map(Device::Cuda).collect()))
            }
            NodeDevices::List(list) if list.len() > nodes => Err(NodeDevicesError::TooManyDevices {
                listed: list.len(),
                nodes,
            }),
            NodeDevices::List(list) => Ok(Some(list.clone())),
        }
    }
}

/// `cpu` or `cuda:N`.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// What the nodes of one step compute on: the training data and the sampling settings of the
/// sequential path.
#[derive(Debug, Clone, Copy)]
pub struct NodeWork<'a> {
    /// Training tokens.
    pub data: &'a TokenData,
    /// Sequences per node and micro-batch.
    pub per_node: usize,
    /// Sequence length.
    pub seq: usize,
    /// Micro-batches per node (gradient accumulation).
    pub accum: usize,
    /// The run's seed (data order).
    pub seed: u64,
    /// The step (0-based).
    pub step: u64,
    /// Per-node gradient clipping norm (`None`: no clipping).
    pub clip: Option<f64>,
}

/// The outcome of one step's node computations.
#[derive(Debug)]
pub enum NodeOutcome {
    /// Every node stepped: their losses (node order) and the seconds spent in `node_step`.
    Stepped {
        /// Node i's mean loss over its micro-batches.
        losses: Vec<f64>,
        /// Seconds in `node_step` (synchronized).
        opt_time: f64,
    },
    /// A node's loss was not finite; no node stepped (the caller aborts the iteration).
    NonFinite {
        /// The first node (in node order) with a non-finite loss.
        node: usize,
        /// That loss.
        value: f64,
    },
}

/// One replica: a copy of the model on a device and the nodes it computes.
struct Replica {
    device: Device,
    /// Kept alive: owns the replica's variables.
    _vs: VarStore,
    model: Gpt2,
    /// All variables, aligned with [`ReplicaSet::primary`].
    vars: Vec<Tensor>,
    nodes: Vec<usize>,
}

/// A node's result from a replica thread.
enum NodeResult {
    Grad { node: usize, loss: f64, grad: Tensor },
    NonFinite { node: usize, value: f64 },
}

/// The replicas of a run and the primary model's variables they mirror.
pub struct ReplicaSet {
    replicas: Vec<Replica>,
    /// The primary model's variables by sorted name.
    primary: Vec<Tensor>,
    /// Which of them are trained (indices into `primary`, in the primary's
    /// `trainable_variables` order), with their element counts.
    trainable: Vec<(usize, i64)>,
    primary_device: Device,
    nodes: usize,
}

impl std::fmt::Debug for ReplicaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaSet")
            .field("devices", &self.devices())
            .field("nodes", &self.nodes)
            .finish()
    }
}

impl ReplicaSet {
    /// Builds one replica of `config` per device in `devices` for m = `nodes` nodes (node i on
    /// `devices[i mod d]`), mirroring the variables of `primary` (after the optimizer was
    /// built on it). `bf16` sets the replicas' matrix products to bf16 as on the primary.
    ///
    /// # Errors
    /// No devices, more devices than nodes, or a model that cannot be built.
    pub fn new(
        config: &Gpt2Config,
        primary: &VarStore,
        devices: &[Device],
        nodes: usize,
        bf16: bool,
    ) -> Result<Self> {
        if devices.is_empty() || devices.len() > nodes {
            return Err(LlmError::Replica(format!(
                "{} replica devices for {nodes} nodes: need between 1 and m",
                devices.len()
            )));
        }
        let mut named: Vec<(String, Tensor)> = primary.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        // The trained variables in the primary's `trainable_variables` order, the order the
        // sequential path clips in (the global norm's sum depends on it in the last bit).
        let trainable = primary
            .trainable_variables()
            .iter()
            .map(|t| {
                named
                    .iter()
                    .position(|(_, n)| n.data_ptr() == t.data_ptr() && n.size() == t.size())
                    .map(|k| (k, t.numel() as i64))
                    .ok_or_else(|| {
                        LlmError::Replica(format!(
                            "a trainable variable of shape {:?} has no name",
                            t.size()
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut replicas = Vec::with_capacity(devices.len());
        for (r, &device) in devices.iter().enumerate() {
            let vs = VarStore::new(device);
            let mut model = Gpt2::new(&vs.root(), config).map_err(|e| {
                LlmError::Replica(format!("building the replica on {}: {e}", device_name(device)))
            })?;
            if bf16 {
                model.set_compute_kind(Some(Kind::BFloat16));
            }
            let theirs = vs.variables();
            let vars = named
                .iter()
                .map(|(name, _)| {
                    theirs.get(name).map(Tensor::shallow_clone).ok_or_else(|| {
                        LlmError::Replica(format!(
                            "the replica on {} has no variable `{name}`",
                            device_name(device)
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if theirs.len() != vars.len() {
                return Err(LlmError::Replica(format!(
                    "the replica has {} variables, the primary model {}",
                    theirs.len(),
                    vars.len()
                )));
            }
            replicas.push(Replica {
                device,
                _vs: vs,
                model,
                vars,
                nodes: (r..nodes).step_by(devices.len()).collect(),
            });
        }
        Ok(ReplicaSet {
            replicas,
            primary: named.into_iter().map(|(_, t)| t).collect(),
            trainable,
            primary_device: primary.device(),
            nodes,
        })
    }

    /// The replicas' devices, in node-assignment order.
    pub fn devices(&self) -> Vec<Device> {
        self.replicas.iter().map(|r| r.device).collect()
    }

    /// One step's node work: the replicas compute all nodes' gradients in parallel at the
    /// current global weights, then node i's gradient goes into the primary parameters' `.grad()`
    /// and `opt.node_step(i)` runs, for i in order. The caller has called `begin_iteration`
    /// and calls `end_iteration` (or `abort_iteration` on [`NodeOutcome::NonFinite`]).
    ///
    /// # Errors
    /// Sampling errors, a panicking replica thread, optimizer errors.
    pub fn step(&mut self, work: NodeWork<'_>, opt: &mut dyn Optimizer) -> Result<NodeOutcome> {
        self.ensure_primary_grads();
        let results: Vec<Result<Vec<NodeResult>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .replicas
                .iter_mut()
                .map(|replica| {
                    let weights: Vec<Tensor> = self.primary.iter().map(Tensor::shallow_clone).collect();
                    let trainable: Vec<usize> = self.trainable.iter().map(|&(k, _)| k).collect();
                    let device = replica.device;
                    let handle = scope.spawn(move || replica.run(&weights, &trainable, work));
                    (device, handle)
                })
                .collect();
            handles
                .into_iter()
                .map(|(device, h)| {
                    h.join().unwrap_or_else(|panic| {
                        let msg = panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("(no message)");
                        Err(LlmError::Replica(format!(
                            "the replica thread on {} panicked: {msg}",
                            device_name(device)
                        )))
                    })
                })
                .collect()
        });
        let mut grads: Vec<Option<(f64, Tensor)>> = (0..self.nodes).map(|_| None).collect();
        let mut non_finite: Option<(usize, f64)> = None;
        for result in results {
            for r in result? {
                match r {
                    NodeResult::Grad { node, loss, grad } => grads[node] = Some((loss, grad)),
                    NodeResult::NonFinite { node, value } => {
                        if non_finite.is_none_or(|(n, _)| node < n) {
                            non_finite = Some((node, value));
                        }
                    }
                }
            }
        }
        if let Some((node, value)) = non_finite {
            return Ok(NodeOutcome::NonFinite { node, value });
        }
        let mut losses = Vec::with_capacity(self.nodes);
        let mut opt_time = 0.0;
        for (i, g) in grads.into_iter().enumerate() {
            let (loss, flat) =
                g.ok_or_else(|| LlmError::Replica(format!("node {i} got no gradient from its replica")))?;
            self.load_primary_grads(&flat)?;
            sync(self.primary_device);
            let t = Instant::now();
            opt.node_step(i)?;
            sync(self.primary_device);
            opt_time += t.elapsed().as_secs_f64();
            losses.push(loss);
        }
        Ok(NodeOutcome::Stepped { losses, opt_time })
    }

    /// Gives every trained primary variable a defined gradient (zeros) so that node gradients
    /// can be copied into `.grad()` in place; the primary model itself never runs backward.
    fn ensure_primary_grads(&self) {
        let missing: Vec<&Tensor> = self
            .trainable
            .iter()
            .map(|&(k, _)| &self.primary[k])
            .filter(|t| !t.grad().defined())
            .collect();
        if missing.is_empty() {
            return;
        }
        let sums: Vec<Tensor> = missing.iter().map(|t| t.sum(Kind::Float)).collect();
        (Tensor::stack(&sums, 0).sum(Kind::Float) * 0.0).backward();
    }

    /// Copies a node's flat f32 gradient into the primary parameters' `.grad()`.
    fn load_primary_grads(&self, flat: &Tensor) -> Result<()> {
        let flat = flat.to_device(self.primary_device);
        let mut offset = 0;
        tch::no_grad(|| -> Result<()> {
            for &(k, numel) in &self.trainable {
                let mut grad = self.primary[k].grad();
                let piece = flat.f_narrow(0, offset, numel)?.f_view_as(&grad)?;
                grad.f_copy_(&piece)?;
                offset += numel;
            }
            Ok(())
        })
    }
}

impl Replica {
    /// The thread body: load the global weights, then compute this replica's nodes in order.
    fn run(
        &mut self,
        weights: &[Tensor],
        trainable: &[usize],
        work: NodeWork<'_>,
    ) -> Result<Vec<NodeResult>> {
        tch::no_grad(|| -> Result<()> {
            for (mine, global) in self.vars.iter_mut().zip(weights) {
                mine.f_copy_(global)?;
            }
            Ok(())
        })?;
        let trained: Vec<Tensor> = trainable.iter().map(|&k| self.vars[k].shallow_clone()).collect();
        let mut out = Vec::with_capacity(self.nodes.len());
        for &node in &self.nodes {
            for v in &trained {
                let mut g = v.grad();
                if g.defined() {
                    let _ = g.f_zero_()?;
                }
            }
            let mut node_loss = 0.0;
            for a in 0..work.accum {
                let micro = (node * work.accum + a) as u64;
                let b =
                    work.data
                        .sample(work.per_node, work.seq, work.seed, work.step, micro, self.device)?;
                let loss = self.model.loss(&b.x, &b.y, true) / work.accum as f64;
                let value = loss.double_value(&[]);
                if !value.is_finite() {
                    out.push(NodeResult::NonFinite { node, value });
                    return Ok(out);
                }
                loss.backward();
                node_loss += value;
            }
            if let Some(max) = work.clip {
                let _norm = pisa_core::clip_grad_norm(&trained, max, ClipArithmetic::Torch)?;
            }
            let pieces: Vec<Tensor> = trained
                .iter()
                .map(|v| {
                    let g = v.grad();
                    if g.defined() {
                        g.reshape([-1]).to_kind(Kind::Float)
                    } else {
                        Tensor::zeros([v.numel() as i64], (Kind::Float, self.device))
                    }
                })
                .collect();
            // `cat` copies: the next node on this replica may overwrite the gradients.
            out.push(NodeResult::Grad {
                node,
                loss: node_loss,
                grad: Tensor::cat(&pieces, 0),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_sequential_without_several_cuda_devices_and_lists_are_kept() {
        let auto = NodeDevices::parse("auto").unwrap();
        assert_eq!(auto, NodeDevices::Auto);
        assert_eq!(auto.resolve(Device::Cpu, 4).unwrap(), None, "auto on the CPU");
        if tch::Cuda::device_count() < 2 {
            assert_eq!(auto.resolve(Device::Cuda(0), 4).unwrap(), None, "one GPU");
        }
        let list = NodeDevices::parse(" cpu , cpu ").unwrap();
        assert_eq!(list, NodeDevices::List(vec![Device::Cpu, Device::Cpu]));
        assert_eq!(
            list.resolve(Device::Cpu, 3).unwrap(),
            Some(vec![Device::Cpu, Device::Cpu])
        );
        assert!(matches!(
            list.resolve(Device::Cpu, 1),
            Err(NodeDevicesError::TooManyDevices { listed: 2, nodes: 1 })
        ));
        assert!(matches!(
            NodeDevices::parse("cuda:-1"),
            Err(NodeDevicesError::UnknownDevice { .. })
        ));
        assert_eq!(device_name(Device::Cuda(3)), "cuda:3");
        assert_eq!(device_name(Device::Cpu), "cpu");
    }

    #[test]
    fn nodes_are_assigned_round_robin() {
        let config = Gpt2Config::preset("unit").unwrap();
        let vs = VarStore::new(Device::Cpu);
        let _model = Gpt2::new(&vs.root(), &config).unwrap();
        let set = ReplicaSet::new(&config, &vs, &[Device::Cpu, Device::Cpu], 5, false).unwrap();
        let nodes: Vec<Vec<usize>> = set.replicas.iter().map(|r| r.nodes.clone()).collect();
        assert_eq!(nodes, vec![vec![0, 2, 4], vec![1, 3]]);
        assert_eq!(set.trainable.len(), vs.trainable_variables().len());
        assert!(ReplicaSet::new(&config, &vs, &[Device::Cpu; 3], 2, false).is_err());
    }
}
