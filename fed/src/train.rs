//! One federated run on the run skeleton ([`Session`]): the dataset split over clients by a
//! [`Partition`], the clients as the optimizer's nodes (α_i = n_i / n), one communication
//! round per step.
//!
//! Two families of algorithms (`--optimizer`):
//! - **one step per round from the full local gradients**: SISA (the paper's federated
//!   setting, spec §6–§7.1) and every other optimizer of the registry (Adam, AdamW, ... on the
//!   α-weighted average of the clients' full gradients). Client i's gradient is the sum over
//!   its round's mini-batches of their mean-loss gradients ([`crate::client::full_gradient`]).
//! - **local training then averaging**: FedAvg, FedProx (μ), SCAFFOLD and FedNova as
//!   NIID-Bench runs them: E epochs of mini-batch SGD with momentum on each client from the
//!   global weights, then the server's α-weighted average ([`crate::server`], a pisa-core
//!   optimizer with the clients as nodes, so ranks, ordered reduction and checkpoints are the
//!   optimizer's). FedNova's clients send w − (τ_eff/a_i)(w − w_i), NIID-Bench's normalized
//!   update; SCAFFOLD's control variates c and c_i are non-trainable variables of the model's
//!   `VarStore` (so checkpoints carry them), kept equal on every rank.
//!
//! Under an MPI launcher (feature `mpi`) the clients are spread over the ranks; every rank
//! reads the dataset files (the partition needs every label), then keeps only its own clients'
//! samples (and the test set) and trains only those.

use std::path::PathBuf;

use datasets::{Classification, DatasetName};
use pisa_core::params::trainable_named;
use runs::cli::{check_range, in_range, probability, UsageError};
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError};
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Tensor};

use crate::client::{Client, LocalSgd};
use crate::partition::{partition, Partition, PartitionError, Shards};
use crate::round::{participants, weights, Controls, Federation, Method};

/// What a federated run trains on and how (the `fed` binary's own flags).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct FedConfig {
    /// mnist, fmnist, cifar10 or a9a.
    #[arg(long, default_value = "mnist")]
    pub dataset: DatasetName,
    /// The dataset's folder (default: $PISA_DATA_DIR/DATASET or data/DATASET).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How the training set is split: iid, label:k (#C=k), dir:β, quantity:β.
    #[arg(long, default_value = "label:1")]
    pub partition: Partition,
    /// Clients, 1 to 10,000.
    #[arg(long, default_value_t = 10, value_parser = in_range(1usize, 10_000))]
    pub clients: usize,
    /// Communication rounds, 1 to 10⁶.
    #[arg(long, default_value_t = 50, value_parser = in_range(1u64, 1_000_000))]
    pub rounds: u64,
    /// Fraction of the clients taking part in each round, (0, 1] (⌊N·fraction⌋, at least 1,
    /// drawn per round); below 1 only for fedavg, fedprox, scaffold and fednova.
    #[arg(long, default_value_t = 1.0, value_parser = probability)]
    pub fraction: f64,
    /// Local epochs E of the federated baselines, 1 to 1000.
    #[arg(long, default_value_t = 1, value_parser = in_range(1usize, 1000))]
    pub local_epochs: usize,
    /// Mini-batch size of the clients' loaders, 1 to 10⁶ (the full local gradient of SISA is
    /// the sum of these batches' mean-loss gradients).
    #[arg(long, default_value_t = 64, value_parser = in_range(1usize, 1_000_000))]
    pub local_batch: usize,
    /// Local SGD learning rate of the federated baselines, (0, 10].
    #[arg(long, default_value_t = 0.01, value_parser = in_range(1e-12f64, 10.0))]
    pub lr: f64,
    /// Local SGD momentum, [0, 1).
    #[arg(long, default_value_t = 0.9, value_parser = in_range(0.0f64, 0.999_999))]
    pub momentum: f64,
    /// Local SGD coupled weight decay, [0, 1].
    #[arg(long, default_value_t = 1e-5, value_parser = in_range(0.0f64, 1.0))]
    pub weight_decay: f64,
    /// FedProx's proximal weight μ, [0, 10⁶].
    #[arg(long, default_value_t = 0.01, value_parser = in_range(0.0f64, 1e6))]
    pub mu: f64,
    /// Evaluate on the test set every this many rounds, 1 to 10⁶.
    #[arg(long, default_value_t = 1, value_parser = in_range(1u64, 1_000_000))]
    pub eval_every: u64,
    /// The accuracy whose first round is reported as `rounds_to_target`, [0, 1].
    #[arg(long, default_value_t = 0.9, value_parser = in_range(0.0f64, 1.0))]
    pub target_accuracy: f64,
}

impl FedConfig {
    /// Checks every number against the range its flag accepts (for configurations built in
    /// code).
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag.
    pub fn validate(&self) -> Result<(), UsageError> {
        check_range("--clients", self.clients, 1, 10_000)?;
        check_range("--rounds", self.rounds, 1, 1_000_000)?;
        check_range("--local-epochs", self.local_epochs, 1, 1000)?;
        check_range("--local-batch", self.local_batch, 1, 1_000_000)?;
        check_range("--eval-every", self.eval_every, 1, 1_000_000)?;
        let unit = |flag: &str, v: f64, lo: f64, hi: f64| match (lo..=hi).contains(&v) {
            true => Ok(()),
            false => Err(UsageError::new(flag, format!("{v} is outside [{lo}, {hi}]"))),
        };
        unit("--fraction", self.fraction, f64::MIN_POSITIVE, 1.0)?;
        unit("--lr", self.lr, 1e-12, 10.0)?;
        unit("--momentum", self.momentum, 0.0, 0.999_999)?;
        unit("--weight-decay", self.weight_decay, 0.0, 1.0)?;
        unit("--mu", self.mu, 0.0, 1e6)?;
        unit("--target-accuracy", self.target_accuracy, 0.0, 1.0)
    }

    /// A configuration with every default (MNIST, `#C=1`, 10 clients, 50 rounds).
    pub fn defaults() -> Self {
        FedConfig {
            dataset: DatasetName::Mnist,
            data: None,
            partition: Partition::Labels { k: 1 },
            clients: 10,
            rounds: 50,
            fraction: 1.0,
            local_epochs: 1,
            local_batch: 64,
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 1e-5,
            mu: 0.01,
            eval_every: 1,
            target_accuracy: 0.9,
        }
    }

    fn local_sgd(&self) -> LocalSgd {
        LocalSgd {
            lr: self.lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            batch: self.local_batch,
            epochs: self.local_epochs,
        }
    }
}

/// The federated baselines: local training, then the server combines the updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalAlgorithm {
    /// FedAvg (McMahan et al. 2017): w ← Σ α_i w_i.
    Fedavg,
    /// FedProx (Li et al. 2020): FedAvg with (μ/2)‖w − w_global‖² in the local loss.
    Fedprox,
    /// SCAFFOLD (Karimireddy et al. 2020): control variates correct the local drift.
    Scaffold,
    /// FedNova (Wang et al. 2020): updates normalized by their number of local steps.
    Fednova,
}

impl LocalAlgorithm {
    /// All four, in the paper's order.
    pub const ALL: [LocalAlgorithm; 4] = [
        LocalAlgorithm::Fedavg,
        LocalAlgorithm::Fedprox,
        LocalAlgorithm::Scaffold,
        LocalAlgorithm::Fednova,
    ];

    /// `fedavg`, `fedprox`, `scaffold`, `fednova`.
    pub fn name(self) -> &'static str {
        match self {
            LocalAlgorithm::Fedavg => "fedavg",
            LocalAlgorithm::Fedprox => "fedprox",
            LocalAlgorithm::Scaffold => "scaffold",
            LocalAlgorithm::Fednova => "fednova",
        }
    }

    /// The algorithm named `name`, if it is one of the four.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A federated run's figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The dataset.
    pub dataset: DatasetName,
    /// The partition (`label:1`, ...).
    pub partition: String,
    /// Clients N.
    pub clients: usize,
    /// Rounds run.
    pub rounds: u64,
    /// Test accuracy after the last round (the honest figure).
    pub test_accuracy: f64,
    /// Test loss after the last round.
    pub test_loss: f64,
    /// The best test accuracy over the evaluated rounds (the paper's metric).
    pub best_test_accuracy: f64,
    /// The round of [`Figures::best_test_accuracy`].
    pub best_round: u64,
    /// The first evaluated round whose test accuracy reached `target_accuracy`.
    pub rounds_to_target: Option<u64>,
    /// The target of [`Figures::rounds_to_target`].
    pub target_accuracy: f64,
    /// The last round's training loss (α-weighted client mean losses).
    pub train_loss: f64,
    /// Bytes a round moves between the server and the clients (both directions, f32 weights):
    /// 2·P·4 per taking-part client, 4·P·4 for SCAFFOLD (its control variates travel too).
    pub bytes_per_round: f64,
}

/// Why a federated run failed.
#[derive(Debug, thiserror::Error)]
pub enum FedError {
    /// A flag out of range or a combination that cannot work (exit code 2).
    #[error("invalid input")]
    Usage(#[from] UsageError),
    /// The dataset.
    #[error(transparent)]
    Data(#[from] datasets::DatasetError),
    /// The partition.
    #[error("--partition: {0}")]
    Partition(#[from] PartitionError),
    /// The run skeleton (including a non-finite loss).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Building or stepping the optimizer.
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
    /// libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl From<PartitionError> for UsageError {
    fn from(e: PartitionError) -> Self {
        UsageError::new("--partition", e.to_string())
    }
}

/// The dataset, moved to `device` and standardized as NIID-Bench feeds it (CIFAR-10 with its
/// per-channel mean and standard deviation; MNIST, Fashion-MNIST and a9a as they are).
fn prepare(data: &Classification, device: Device) -> (Tensor, Tensor, Tensor, Tensor) {
    let standardize = |x: &Tensor| match data.name {
        DatasetName::Cifar10 => {
            let mean =
                Tensor::from_slice(&[125.3f32 / 255.0, 123.0 / 255.0, 113.9 / 255.0]).view([1, 3, 1, 1]);
            let std = Tensor::from_slice(&[63.0f32 / 255.0, 62.1 / 255.0, 66.7 / 255.0]).view([1, 3, 1, 1]);
            (x - mean) / std
        }
        _ => x.shallow_clone(),
    };
    (
        standardize(&data.train.x).to_device(device),
        data.train.y.to_device(device),
        standardize(&data.test.x).to_device(device),
        data.test.y.to_device(device),
    )
}

/// Splits a training set with `labels` (in `0..classes`) as `config` says, with the run's seed.
///
/// # Errors
/// [`PartitionError`] for a partition that cannot be made.
pub fn shards(
    config: &FedConfig,
    labels: &[usize],
    classes: usize,
    seed: u64,
) -> Result<Shards, PartitionError> {
    partition(labels, classes, config.clients, config.partition, seed)
}

/// Trains one federated run as `config` and `run` say; returns the summary it wrote.
///
/// # Errors
/// [`FedError`]: bad settings (exit 2), missing data, an impossible partition, a non-finite
/// loss (the run stops with its last good checkpoint named), or an I/O error.
pub fn train(config: &FedConfig, run: &RunArgs) -> Result<RunSummary<Figures>, FedError> {
    config.validate()?;
    let device = run.device().map_err(SessionError::from)?;
    let presets = match config.dataset {
        DatasetName::A9a => "fed-a9a",
        _ => "fed",
    };
    let domain = Domain::new("fed", "sisa").presets(presets).step_unit("round");
    let name = run.optimizer_name(&domain);
    let local = LocalAlgorithm::parse(&name);
    if local.is_some() && run.config.is_some() {
        return Err(UsageError::new("--config", format!("{name} takes its settings from the fed flags (--lr, --momentum, --mu, ...), not an optimizer file")).into());
    }
    if local.is_none() && config.fraction < 1.0 {
        return Err(UsageError::new("--fraction", format!("{name} steps every client each round; partial participation is for fedavg, fedprox, scaffold and fednova")).into());
    }

    // data and partition, before the run folder
    let dir = config
        .data
        .clone()
        .unwrap_or_else(|| config.dataset.default_dir());
    let data = datasets::load(config.dataset, &dir)?;
    let labels = data.train_labels()?;
    let shards = shards(config, &labels, data.classes, run.seed).map_err(UsageError::from)?;
    let sizes = shards.sizes();
    let all = vec![true; config.clients];
    let alpha = weights(&sizes, &all)?;
    let cfg = match local {
        Some(_) => None,
        None => {
            let mut cfg = run.resolve_optimizer(&domain).map_err(SessionError::from)?;
            cfg.base.set_nodes(&alpha);
            Some(cfg)
        }
    };
    let summary = shards.summary(&labels);
    let classes = data.classes;
    let (train_x, train_y, test_x, test_y) = prepare(&data, device);
    let clients: Vec<Client> = shards
        .clients()
        .iter()
        .map(|idx| {
            let ids =
                Tensor::from_slice(&idx.iter().map(|&j| j as i64).collect::<Vec<_>>()).to_device(device);
            Client {
                x: train_x.index_select(0, &ids),
                y: train_y.index_select(0, &ids),
            }
        })
        .collect();
    drop((train_x, train_y, data));

    let columns = ["train/loss", "test/loss", "test/accuracy", "comm/bytes"];
    let world = pisa_core::collective::from_launcher_on(device).map_err(SessionError::from)?;
    let mut session = Session::open_on(world, run, &domain, &columns, config.rounds)?;
    let mut pinned = serde_json::json!({
        "dataset": config.dataset,
        "partition": config.partition.to_string(),
        "clients": config.clients,
        "local_batch": config.local_batch,
    });
    if let Some(algorithm) = local {
        pinned["algorithm"] = serde_json::json!(algorithm.name());
        pinned["fraction"] = serde_json::json!(config.fraction);
        pinned["local_epochs"] = serde_json::json!(config.local_epochs);
        pinned["lr"] = serde_json::json!(config.lr);
        pinned["momentum"] = serde_json::json!(config.momentum);
        pinned["weight_decay"] = serde_json::json!(config.weight_decay);
        if algorithm == LocalAlgorithm::Fedprox {
            pinned["mu"] = serde_json::json!(config.mu);
        }
    }
    session.pin_settings(&pinned)?;
    if session.is_lead() {
        let text = serde_json::to_string_pretty(&summary)
            .map_err(|e| UsageError::new("--partition", e.to_string()))?;
        std::fs::write(session.dir().path().join("partition.json"), text)
            .map_err(|e| UsageError::new("--runs", format!("cannot write partition.json: {e}")))?;
    }
    let seed = session.seed();

    // model → optimizer → resume
    tch::manual_seed(seed as i64);
    let mut vs = nn::VarStore::new(device);
    let net = crate::model::for_dataset(&vs.root(), config.dataset, classes);
    let params: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
    let controls =
        (local == Some(LocalAlgorithm::Scaffold)).then(|| Controls::new(&vs, config.clients, params));
    let mut opt = match (cfg, local) {
        (Some(cfg), _) => session.use_optimizer_config(cfg)?.build(&vs)?,
        (None, algorithm) => {
            let algorithm = algorithm.unwrap_or(LocalAlgorithm::Fedavg);
            let settings = ServerSettings {
                name: algorithm.name(),
                nodes: config.clients,
                alpha: alpha.as_slice().to_vec(),
                server: "average",
            };
            session.use_algorithm(algorithm.name(), config.clients, &settings)?;
            crate::server::averaging(&vs, alpha.clone())?
        }
    };
    session.distribute(opt.as_mut())?;
    let resumed = session.restore(&mut vs, opt.as_mut())?;
    let start = resumed.as_ref().map_or(0, |meta| meta.step);
    let mut best: Best = resumed
        .as_ref()
        .and_then(|meta| serde_json::from_value(meta.extra.clone()).ok())
        .unwrap_or_default();
    // The variables in name order (after the optimizer flattened them: views of its buffer).
    let vars: Vec<Tensor> = trainable_named(&vs).into_iter().map(|(_, t)| t).collect();
    let method = match local {
        None => Method::FullGradient {
            batch: config.local_batch,
        },
        Some(algorithm) => Method::Local {
            algorithm,
            sgd: config.local_sgd(),
            mu: config.mu,
        },
    };
    let mut federation = Federation::new(net, vars, clients, method, seed, controls);
    if let Some(ranks) = opt.ranks() {
        federation.keep_only(ranks.owned());
    }
    let per_client_bytes = match local {
        Some(LocalAlgorithm::Scaffold) => 4.0 * params as f64 * 4.0,
        _ => 2.0 * params as f64 * 4.0,
    };
    let (mut test_loss, mut test_accuracy) = (f64::NAN, f64::NAN);
    let mut train_loss = best.train_loss;
    let mut bytes = f64::NAN;
    for round in start..config.rounds {
        let selected = participants(seed, round, config.clients, config.fraction);
        if config.fraction < 1.0 {
            opt.set_node_weights(weights(&sizes, &selected)?)?;
        }
        session.seed_step(round);
        let outcome = federation.round(opt.as_mut(), round, &selected);
        let report = session.check(outcome, round)?;
        train_loss = report.weighted_loss(opt.node_weights());
        bytes = per_client_bytes * selected.iter().filter(|s| **s).count() as f64;
        let done = round + 1;
        let mut values = vec![("train/loss", train_loss), ("comm/bytes", bytes)];
        if done % config.eval_every == 0 || done == config.rounds {
            (test_loss, test_accuracy) = mnist::model::evaluate(federation.net(), &test_x, &test_y);
            best.observe(done, test_accuracy, config.target_accuracy);
            values.extend([("test/loss", test_loss), ("test/accuracy", test_accuracy)]);
        }
        session.record(done, &values)?;
        if session.checkpoint_due(done) {
            best.train_loss = train_loss;
            session.checkpoint(&vs, opt.as_ref(), done, &best)?;
        }
    }
    if test_accuracy.is_nan() {
        (test_loss, test_accuracy) = mnist::model::evaluate(federation.net(), &test_x, &test_y);
    }
    if bytes.is_nan() {
        bytes = per_client_bytes * config.clients as f64;
    }
    let figures = Figures {
        dataset: config.dataset,
        partition: config.partition.to_string(),
        clients: config.clients,
        rounds: config.rounds,
        test_accuracy,
        test_loss,
        best_test_accuracy: best.accuracy,
        best_round: best.round,
        rounds_to_target: best.to_target,
        target_accuracy: config.target_accuracy,
        train_loss,
        bytes_per_round: bytes,
    };
    Ok(session.finish(opt.as_ref(), config.rounds, figures)?)
}

/// The federated baselines' server settings, pinned and written to `config.toml`.
#[derive(Debug, Serialize)]
struct ServerSettings {
    /// The algorithm.
    name: &'static str,
    /// Clients.
    nodes: usize,
    /// α_i = n_i / n.
    alpha: Vec<f64>,
    /// What the server does with the messages.
    server: &'static str,
}

/// The best test accuracy so far and when the target was reached: the resume state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Best {
    accuracy: f64,
    round: u64,
    to_target: Option<u64>,
    train_loss: f64,
}

impl Best {
    fn observe(&mut self, round: u64, accuracy: f64, target: f64) {
        if accuracy > self.accuracy {
            (self.accuracy, self.round) = (accuracy, round);
        }
        if self.to_target.is_none() && accuracy >= target {
            self.to_target = Some(round);
        }
    }
}
