//! Training the demo CNN: [`train`] runs one run of [`TrainConfig`] through the run skeleton
//! ([`Session`]): the data is loaded first (a missing dataset leaves no run folder behind),
//! then the session owns resume, checkpoints, the non-finite stop and the summary.

use std::path::PathBuf;

use runs::cli::{check_range, in_range, UsageError};
use runs::nodes::NodeSplit;
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError};
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::Tensor;

use crate::model::{evaluate, Cnn};

/// What an MNIST run trains on and for how long (the `mnist` binary's own flags).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct TrainConfig {
    /// Folder with the MNIST IDX files (default: $PISA_DATA_DIR/mnist or data/mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Examples per step (split over the optimizer's nodes), 1 to the training set's size.
    #[arg(long, default_value_t = 128, value_parser = in_range(1usize, 60_000))]
    pub batch: usize,
    /// Training examples in all (60,000 = one epoch), at least one batch and at most 10⁹.
    #[arg(long, default_value_t = 60_000, value_parser = in_range(1usize, MAX_EXAMPLES))]
    pub examples: usize,
    /// Evaluate on the test set every this many steps, 1 to 10⁹.
    #[arg(long, default_value_t = 100, value_parser = in_range(1u64, 1_000_000_000))]
    pub eval_every: u64,
}

/// `--examples`.
const MAX_EXAMPLES: usize = 1_000_000_000;

impl TrainConfig {
    /// Checks every number against the range its flag accepts (for a configuration built in
    /// code rather than parsed by clap).
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag and the allowed range.
    pub fn validate(&self) -> Result<(), UsageError> {
        check_range("--batch", self.batch, 1, 60_000)?;
        check_range("--examples", self.examples, self.batch, MAX_EXAMPLES)?;
        check_range("--eval-every", self.eval_every, 1, 1_000_000_000)
    }
}

/// MNIST's figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Examples per step.
    pub batch: usize,
    /// Examples trained on.
    pub examples: u64,
    /// The last step's training loss (null when a resume had nothing left to train).
    pub train_loss: f64,
    /// Test-set accuracy at the end.
    pub test_accuracy: f64,
    /// Test-set mean cross-entropy at the end.
    pub test_loss: f64,
}

/// Why an MNIST run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A flag out of range or a dataset smaller than one batch (exit code 2); not transparent,
    /// so that the binary finds it in the error chain.
    #[error("invalid input")]
    Usage(#[from] UsageError),
    /// A setting that cannot work.
    #[error("{0}")]
    Config(String),
    /// The dataset.
    #[error(transparent)]
    Data(#[from] runs::data::DataError),
    /// The node split of a batch.
    #[error(transparent)]
    Split(#[from] runs::nodes::SplitError),
    /// The run skeleton (including a non-finite loss).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Building the optimizer.
    #[error(transparent)]
    Optimizer(#[from] pisa_core::Error),
}

/// Trains the CNN of [`crate::model`] as `config` and `run` say; returns the summary it wrote.
///
/// # Errors
/// [`TrainError`]: bad settings, missing data, a non-finite loss (the run then stops with its
/// last good checkpoint named), or an I/O error.
pub fn train(config: &TrainConfig, run: &RunArgs) -> Result<RunSummary<Figures>, TrainError> {
    config.validate()?;
    let device = run.device().map_err(SessionError::from)?;

    // data
    let data_dir = config.data.clone().unwrap_or_else(crate::data::default_dir);
    let data = crate::data::load(&data_dir)?;
    let (train_x, train_y) = (
        data.train_images.to_device(device),
        data.train_labels.to_device(device),
    );
    let (test_x, test_y) = (
        data.test_images.to_device(device),
        data.test_labels.to_device(device),
    );
    let n_train = train_x.size()[0] as usize;
    if config.batch > n_train {
        return Err(UsageError::new(
            "--batch",
            format!(
                "{} is larger than the {n_train} training examples in {}",
                config.batch,
                data_dir.display()
            ),
        )
        .into());
    }
    // The optimizer's settings before the run folder: its node count must fit the batch.
    let domain = Domain::new("mnist", "sisa");
    let opt_cfg = run.resolve_optimizer(&domain).map_err(SessionError::from)?;
    let m = opt_cfg.base.nodes();
    if config.batch < m {
        return Err(UsageError::new(
            "--batch",
            format!("{} is smaller than the optimizer's {m} nodes", config.batch),
        )
        .into());
    }
    let steps = (config.examples / config.batch) as u64;
    let columns = ["train/loss", "test/loss", "test/accuracy"];
    // Under an MPI launcher (feature `mpi`) the nodes are spread over the ranks; every rank
    // reads the whole (small) dataset and evaluates only its nodes' slices of each batch.
    let world = pisa_core::collective::from_launcher_on(device).map_err(SessionError::from)?;
    let mut session = Session::open_on(world, run, &domain, &columns, steps)?;
    // What shapes the trajectory besides the seed and the optimizer (--examples only says how
    // far to go).
    session.pin_settings(&serde_json::json!({ "batch": config.batch }))?;
    let seed = session.seed();

    // model → optimizer → resume
    tch::manual_seed(seed as i64);
    let mut vs = nn::VarStore::new(device);
    let net = Cnn::new(&vs.root());
    let mut opt = session.use_optimizer_config(opt_cfg)?.build(&vs)?;
    session.distribute(opt.as_mut())?;
    let split = NodeSplit::contiguous(config.batch, m)?;
    let resumed = session.restore(&mut vs, opt.as_mut())?;
    let start = resumed.as_ref().map_or(0, |meta| meta.step);
    // The last step's training loss, for a resume that has nothing left to train.
    let saved_loss = resumed
        .as_ref()
        .and_then(|meta| meta.extra.get("train_loss"))
        .and_then(serde_json::Value::as_f64);

    let steps_per_epoch = (n_train / config.batch) as u64;
    let mut order = Tensor::new();
    let (mut train_loss, mut test_loss, mut test_accuracy) =
        (saved_loss.unwrap_or(f64::NAN), f64::NAN, f64::NAN);
    for step in start..steps {
        // the epoch's permutation is a function of (seed, epoch)
        let (epoch, index) = (step / steps_per_epoch, (step % steps_per_epoch) as usize);
        if index == 0 || step == start {
            order = runs::data::epoch_order(n_train, seed, epoch).to_device(device);
        }
        let ids = order.narrow(0, (index * config.batch) as i64, config.batch as i64);
        let (x, y) = (train_x.index_select(0, &ids), train_y.index_select(0, &ids));
        session.seed_step(step);
        let outcome = opt.step(&mut |i| {
            net.forward_t(&split.slice(&x, 0, i), true)
                .cross_entropy_for_logits(&split.slice(&y, 0, i))
        });
        train_loss = session.check(outcome, step)?.weighted_loss(opt.node_weights());
        let done = step + 1;
        let mut values = vec![("train/loss", train_loss)];
        if done % config.eval_every == 0 || done == steps {
            (test_loss, test_accuracy) = evaluate(&net, &test_x, &test_y);
            values.extend([("test/loss", test_loss), ("test/accuracy", test_accuracy)]);
        }
        session.record(done, &values)?;
        if session.checkpoint_due(done) {
            let state = serde_json::json!({ "epoch": epoch, "train_loss": train_loss });
            session.checkpoint(&vs, opt.as_ref(), done, &state)?;
        }
    }
    if test_accuracy.is_nan() {
        // resumed at the end: nothing trained in this process, but the summary keeps its figures
        (test_loss, test_accuracy) = evaluate(&net, &test_x, &test_y);
    }
    let figures = Figures {
        batch: config.batch,
        examples: steps * config.batch as u64,
        train_loss,
        test_accuracy,
        test_loss,
    };
    Ok(session.finish(opt.as_ref(), steps, figures)?)
}
