//! Training throughput on synthetic tokens, for `cargo xtask bench lstm`.
//!
//! The PyTorch side (`bench/lstm_torch.py`) builds the same model (same sizes, dropouts,
//! weight-drop through the same ATen `lstm` kernel, tied decoder, AR/TAR, clipping 0.25) and
//! times the same windows, so that tokens per second compare like for like. The windows have a
//! fixed length here (no variable BPTT) and the tokens come from a fixed formula: only speed is
//! measured.

use std::time::Instant;

use pisa_core::Optimizer;
use serde::Serialize;
use tch::{Device, Tensor};

use crate::corpus::{batchify, window};
use crate::error::LstmError;
use crate::model::AwdLstm;
use crate::train::{Regularization, SplitMode, WindowTrainer};

/// What [`throughput`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Training tokens per second (timed windows only).
    pub tokens_per_s: f64,
    /// Seconds per window.
    pub seconds_per_window: f64,
    /// Windows timed.
    pub windows: usize,
    /// Tokens per window (`bptt × batch`).
    pub tokens_per_window: usize,
}

/// Times `windows` training iterations of `bptt × batch` tokens after `warmup` untimed ones.
///
/// # Errors
/// A libtorch or optimizer error.
#[allow(clippy::too_many_arguments)]
pub fn throughput(
    model: &AwdLstm,
    vars: &[Tensor],
    opt: &mut dyn Optimizer,
    mode: SplitMode,
    bptt: usize,
    batch: usize,
    warmup: usize,
    windows: usize,
    device: Device,
) -> Result<Throughput, LstmError> {
    let vocab = model.config().vocab;
    let total = (warmup + windows) * bptt * batch + batch;
    let ids: Vec<i64> = (0..total).map(|i| ((i * 7919 + i / 13) % vocab) as i64).collect();
    let data = batchify(&ids, batch, device)?;
    let trainer = WindowTrainer {
        model,
        vars,
        mode,
        reg: Regularization::default(),
    };
    let mut hidden = model.init_hidden(batch as i64);
    let mut start = Instant::now();
    for w in 0..warmup + windows {
        if w == warmup {
            if let Device::Cuda(_) = device {
                tch::Cuda::synchronize(0);
            }
            start = Instant::now();
        }
        let (x, y) = window(&data, (w * bptt) as i64, bptt as i64);
        hidden = trainer.step(opt, &x, &y, &hidden)?.1;
    }
    if let Device::Cuda(_) = device {
        tch::Cuda::synchronize(0);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(Throughput {
        tokens_per_s: (windows * bptt * batch) as f64 / secs.max(1e-12),
        seconds_per_window: secs / windows.max(1) as f64,
        windows,
        tokens_per_window: bptt * batch,
    })
}
