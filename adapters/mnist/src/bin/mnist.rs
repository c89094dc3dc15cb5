//! A small CNN on MNIST, trained with any optimizer of the registry: the classifier part of
//! `cargo xtask demo`.
//!
//! ```text
//! cargo xtask data mnist
//! cargo run --release -p mnist --bin mnist -- --optimizer sisa      # SISA, m = 4 nodes
//! cargo run --release -p mnist --bin mnist -- --optimizer adamw
//! ```
//!
//! Each step takes a mini-batch of `--batch` examples; the PISA family splits it into m
//! contiguous node batches (α_i = slice share, spec §6), baselines average the node gradients.
//! Every optimizer sees the same examples in the same order for the same `--seed`. Logged:
//! `train/loss` every step, `test/accuracy` and `test/loss` every `--eval-every` steps, to
//! `runs/<domain>/<name>/metrics.csv` and TensorBoard. Expected: about 98 % test accuracy after
//! one epoch (60,000 examples) with SISA, Adam and AdamW alike.
//!
//! The run skeleton (device, run folder, resume, checkpoints, the non-finite stop, the summary)
//! is [`runs::session::Session`]; this file holds only what is MNIST's.

use anyhow::{bail, Result};
use clap::Parser;
use mnist::model::{evaluate, Cnn};
use runs::nodes::NodeSplit;
use runs::session::{Domain, RunArgs, Session};
use serde::Serialize;
use std::path::PathBuf;
use tch::nn::{self, ModuleT};
use tch::Tensor;

#[derive(Parser, Debug)]
#[command(about = "Train a small CNN on MNIST with any pisa-rs optimizer")]
struct Args {
    #[command(flatten)]
    run: RunArgs,
    /// Folder with the MNIST IDX files (default: $PISA_DATA_DIR/mnist or data/mnist).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Examples per step (split over the optimizer's nodes).
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Training examples in all (60,000 = one epoch).
    #[arg(long, default_value_t = 60_000)]
    examples: usize,
    /// Evaluate on the test set every this many steps.
    #[arg(long, default_value_t = 100)]
    eval_every: u64,
}

/// MNIST's figures in `summary.json`.
#[derive(Debug, Serialize)]
struct Figures {
    batch: usize,
    examples: u64,
    train_loss: f64,
    test_accuracy: f64,
    test_loss: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.batch == 0 || args.eval_every == 0 {
        bail!("--batch and --eval-every must be at least 1");
    }
    let steps = (args.examples / args.batch) as u64;
    let columns = ["train/loss", "test/loss", "test/accuracy"];
    let mut session = Session::open(&args.run, &Domain::new("mnist", "sisa"), &columns, steps)?;
    let (device, seed) = (session.device(), session.seed());

    // data
    let data_dir = args.data.clone().unwrap_or_else(mnist::data::default_dir);
    let data = mnist::data::load(&data_dir)?;
    let (train_x, train_y) = (
        data.train_images.to_device(device),
        data.train_labels.to_device(device),
    );
    let (test_x, test_y) = (
        data.test_images.to_device(device),
        data.test_labels.to_device(device),
    );
    let n_train = train_x.size()[0] as usize;

    // model → optimizer → resume
    tch::manual_seed(seed as i64);
    let mut vs = nn::VarStore::new(device);
    let net = Cnn::new(&vs.root());
    let mut opt = session.optimizer_config()?.build(&vs)?;
    let m = opt.node_weights().len();
    if args.batch < m {
        bail!("--batch {} is smaller than the optimizer's {m} nodes", args.batch);
    }
    let split = NodeSplit::contiguous(args.batch, m)?;
    let start = session
        .restore(&mut vs, opt.as_mut())?
        .map_or(0, |meta| meta.step);

    let steps_per_epoch = (n_train / args.batch) as u64;
    let mut order = Tensor::new();
    let (mut train_loss, mut test_loss, mut test_accuracy) = (f64::NAN, f64::NAN, f64::NAN);
    for step in start..steps {
        // the epoch's permutation is a function of (seed, epoch)
        let (epoch, index) = (step / steps_per_epoch, (step % steps_per_epoch) as usize);
        if index == 0 || step == start {
            order = runs::data::epoch_order(n_train, seed, epoch).to_device(device);
        }
        let ids = order.narrow(0, (index * args.batch) as i64, args.batch as i64);
        let (x, y) = (train_x.index_select(0, &ids), train_y.index_select(0, &ids));
        session.seed_step(step);
        let outcome = opt.step(&mut |i| {
            net.forward_t(&split.slice(&x, 0, i), true)
                .cross_entropy_for_logits(&split.slice(&y, 0, i))
        });
        train_loss = session.check(outcome, step)?.weighted_loss(opt.node_weights());
        let done = step + 1;
        let mut values = vec![("train/loss", train_loss)];
        if done % args.eval_every == 0 || done == steps {
            (test_loss, test_accuracy) = evaluate(&net, &test_x, &test_y);
            values.extend([("test/loss", test_loss), ("test/accuracy", test_accuracy)]);
        }
        session.record(done, &values)?;
        if session.checkpoint_due(done) {
            session.checkpoint(&vs, opt.as_ref(), done, &epoch)?;
        }
    }
    if test_accuracy.is_nan() {
        // resumed at the end: nothing trained in this process, but the summary keeps its figures
        (test_loss, test_accuracy) = evaluate(&net, &test_x, &test_y);
    }
    let figures = Figures {
        batch: args.batch,
        examples: steps * args.batch as u64,
        train_loss,
        test_accuracy,
        test_loss,
    };
    session.finish(opt.as_ref(), steps, figures)?;
    Ok(())
}
