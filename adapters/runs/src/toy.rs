//! The smallest domain on the run skeleton: a linear regression y = 2x trained through a
//! [`Session`]. It is what the reliability tests run (in process, and as the `runs-toy` binary
//! they kill, interrupt and resume), and the template for a new domain: build, restore, then
//! per step seed → step → check → record → checkpoint, then finish.
//!
//! [`Fault`] injects what the tests need: a NaN loss, a loss that jumps by a constant, or
//! gradients scaled until the weights explode, from a given step on.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, VarStore};
use tch::{Kind, Tensor};

use crate::cli::in_range;
use crate::session::{Domain, RunArgs, RunSummary, Session, SessionError};

/// A fault injected from a step (counted from 0) on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// The loss is NaN.
    Nan(u64),
    /// The loss jumps by 10⁶ (gradients unchanged): the divergence guard's loss rule.
    Jump(u64),
    /// The loss (and so the gradients) is scaled by 10⁸: the weights explode.
    Explode(u64),
}

impl FromStr for Fault {
    type Err = String;

    /// `nan@K`, `jump@K` or `explode@K`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (kind, at) = text
            .split_once('@')
            .ok_or("expected nan@K, jump@K or explode@K")?;
        let at: u64 = at.parse().map_err(|e| format!("{at}: {e}"))?;
        match kind {
            "nan" => Ok(Fault::Nan(at)),
            "jump" => Ok(Fault::Jump(at)),
            "explode" => Ok(Fault::Explode(at)),
            _ => Err(format!("{kind}: expected nan, jump or explode")),
        }
    }
}

/// The toy's own flags.
#[derive(clap::Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyConfig {
    /// Steps to train, 1 to 10⁶ (not pinned: a resume may extend a run).
    #[arg(long, default_value_t = 20, value_parser = in_range(1u64, 1_000_000))]
    #[serde(skip)]
    pub steps: u64,
    /// Examples per step, 1 to 4096.
    #[arg(long, default_value_t = 16, value_parser = in_range(1i64, 4096))]
    pub batch: i64,
    /// Milliseconds to sleep after every step (so a test can kill the run mid-way), 0 to 10⁴.
    #[arg(long, default_value_t = 0, value_parser = in_range(0u64, 10_000))]
    #[serde(skip)]
    pub sleep_ms: u64,
    /// A fault to inject: nan@K, jump@K or explode@K (from step K, counted from 0).
    #[arg(long)]
    #[serde(skip)]
    pub fault: Option<Fault>,
}

impl ToyConfig {
    /// `steps` steps of batch 16, no sleep, no fault.
    pub fn new(steps: u64) -> Self {
        ToyConfig {
            steps,
            batch: 16,
            sleep_ms: 0,
            fault: None,
        }
    }
}

/// What the toy's summary records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyFigures {
    /// The learned slope (2 is exact).
    pub weight: f64,
    /// The last step's loss.
    pub train_loss: f64,
}

/// Trains the toy for `config.steps` steps in the run `args` names (domain folder `toy`,
/// SGD unless told otherwise).
///
/// # Errors
/// [`SessionError`]: the run folder, a resume with other settings, a stop (non-finite loss,
/// divergence, Ctrl-C).
pub fn train(config: &ToyConfig, args: &RunArgs) -> Result<RunSummary<ToyFigures>, SessionError> {
    let mut session = Session::open(args, &Domain::new("toy", "sgd"), &["train/loss"], config.steps)?;
    session.pin_settings(config)?;
    let mut vs = VarStore::new(session.device());
    let mut net = nn::linear(vs.root(), 1, 1, Default::default());
    // A fixed start, not libtorch's global generator (tests run in parallel threads).
    tch::no_grad(|| {
        let _ = net.ws.fill_(0.0);
        if let Some(b) = net.bs.as_mut() {
            let _ = b.fill_(0.0);
        }
    });
    let mut opt = session.optimizer_config()?.build(&vs)?;
    let start = session.restore(&mut vs, opt.as_mut())?.map_or(0, |m| m.step);
    let mut train_loss = f64::NAN;
    for step in start..config.steps {
        session.seed_step(step);
        // Inputs from the step alone: libtorch's generator is global.
        let x = (Tensor::arange(config.batch, (Kind::Float, session.device())).view([-1, 1]) * 0.1
            + step as f64 * 0.01)
            .sin();
        let (offset, scale) = match config.fault {
            Some(Fault::Nan(at)) if step >= at => (f64::NAN, 1.0),
            Some(Fault::Jump(at)) if step >= at => (1e6, 1.0),
            Some(Fault::Explode(at)) if step >= at => (0.0, 1e8),
            _ => (0.0, 1.0),
        };
        let outcome = opt.step(&mut |_| (net.forward(&x) - &x * 2.0).square().mean(None) * scale + offset);
        let report = session.check(outcome, step)?;
        train_loss = report.weighted_loss(opt.node_weights());
        let done = step + 1;
        session.record(done, &[("train/loss", train_loss)])?;
        if session.checkpoint_due(done) {
            session.checkpoint(&vs, opt.as_ref(), done, &done)?;
        }
        if config.sleep_ms > 0 {
            std::thread::sleep(Duration::from_millis(config.sleep_ms));
        }
    }
    let weight = net.ws.double_value(&[0, 0]);
    session.finish(opt.as_ref(), config.steps, ToyFigures { weight, train_loss })
}
