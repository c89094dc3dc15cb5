//! The training loop: pre-training from a preset or fine-tuning a Hugging Face checkpoint, with
//! any optimizer of the registry.
//!
//! Per step: σ/ρ/learning rate advance (`begin_iteration`); each of the m nodes takes
//! `batch / m` sequences × `accum` micro-batches at random offsets (a pure function of seed,
//! step, node and micro-batch, so a resume sees the same data), back-propagates their mean loss
//! at the global weights, clips that node's gradient to `clip` (global norm; for baselines with
//! m = 1 this is ordinary clipping) and calls `node_step`; then the nodes aggregate
//! (`end_iteration`). With `--node-devices` (or `auto` on a machine with several CUDA devices)
//! the nodes' gradients are computed in parallel on model replicas, one thread per device
//! ([`crate::replicas`]), and stepped in node order on the primary device. Dropout is seeded per
//! step. Logged every step: `train/loss`, `perf/tokens_per_s`, `perf/opt_share` (optimizer time
//! / step time) and `perf/mfu` (when the peak FLOP/s is known); `val/loss` every `eval_every`
//! steps on a fixed validation prefix.
//! Checkpoints (weights + optimizer state + step) resume bit for bit; the final weights are also
//! saved as a Hugging Face checkpoint in `<run>/model/`.

use crate::config::Gpt2Config;
use crate::error::{LlmError, Result};
use crate::hf;
use crate::model::{init_weights, Gpt2};
use crate::node::sync;
use crate::optim::{self, OptimSetup};
use crate::replicas::{device_name, NodeDevices, NodeOutcome, NodeWork, ReplicaSet};
use crate::shards::{self, mean_loss, Batch, TokenData};
use crate::tokenizer::Tokenizer;
use pisa_core::{ClipArithmetic, Optimizer};
use runs::cli::{check_range, in_half_open, in_open_range, in_range, non_negative, positive, UsageError};
use runs::registry::Registry;
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError, Status};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Settings of a training or fine-tuning run (the `llm train` / `llm finetune` flags).
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Optimizer (default nsisa; `--config` may give its own `[[groups]]`; `--presets` default
    /// gpt2-pretrain, gpt2-finetune with --from), run folder (`<runs>/llm/<name>/`; checkpoints
    /// every 100 steps by default), seed, device.
    #[command(flatten)]
    pub run: RunArgs,
    /// Model preset (gpt2, gpt2-medium, gpt2-large, gpt2-xl, nano, tiny, test).
    #[arg(long, default_value = "tiny")]
    pub preset: String,
    /// Start from this Hugging Face checkpoint directory instead (fine-tuning).
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Do not add the default parameter groups (AdamW on embeddings, biases and norms) of
    /// pre-training; fine-tuning never adds them.
    #[arg(long)]
    pub no_groups: bool,
    /// Token shards directory (`*_train_*.bin`, `*_val_*.bin`) or one text file (tokenized,
    /// last `val_fraction` held out).
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out share of a text file given as `--data`, in (0, 1).
    #[arg(long, default_value_t = 0.1, value_parser = in_open_range(0.0, 1.0))]
    pub val_fraction: f64,
    /// Number of PISA nodes m (all groups), 1 to 1024 [default: the preset's].
    #[arg(long, value_parser = in_range(1usize, 1024))]
    pub nodes: Option<usize>,
    /// Sequences per step over all nodes and one micro-batch (a multiple of m), 1 to 10⁵.
    #[arg(long, default_value_t = 16, value_parser = in_range(1usize, 100_000))]
    pub batch: usize,
    /// Sequence length, 1 to the model's n_positions [default: min(128, n_positions)].
    #[arg(long, value_parser = in_range(1usize, 1_000_000))]
    pub seq: Option<usize>,
    /// Gradient accumulation: micro-batches per node and step, 1 to 10⁴.
    #[arg(long, default_value_t = 1, value_parser = in_range(1, ACCUM_MAX))]
    pub accum: usize,
    /// Training steps, 1 to 10⁹ (with --epochs: computed from the data instead).
    #[arg(long, default_value_t = 300, value_parser = in_range(1u64, STEPS_MAX))]
    pub steps: u64,
    /// Train for this many passes over the training tokens (fine-tuning), over 0 and at most
    /// 10⁴; overrides --steps.
    #[arg(long, value_parser = in_range(f64::MIN_POSITIVE, 10_000.0))]
    pub epochs: Option<f64>,
    /// Linear warm-up steps [default: 0; fine-tuning: 5 % of the steps, the recipe script's
    /// 100 of 2000].
    #[arg(long, value_parser = in_range(0u64, STEPS_MAX))]
    pub warmup: Option<u64>,
    /// Linear warm-down steps at the end [default: 28 % of the steps, NSISA's 1450/5100;
    /// fine-tuning: all steps after the warm-up, a linear decay to 0 as the recipe script].
    #[arg(long, value_parser = in_range(0u64, STEPS_MAX))]
    pub warmdown: Option<u64>,
    /// Clip each node's gradient to this global norm, ≥ 0 (0: no clipping).
    #[arg(long, default_value_t = 1.0, value_parser = non_negative)]
    pub clip: f64,
    /// Validation every this many steps (and at the end), 1 to 10⁹.
    #[arg(long, default_value_t = 50, value_parser = in_range(1u64, STEPS_MAX))]
    pub eval_every: u64,
    /// Validation tokens (a fixed prefix of the validation split), 1 to 10⁹.
    #[arg(long, default_value_t = 32_768, value_parser = in_range(1usize, 1_000_000_000))]
    pub val_tokens: usize,
    /// Where the m nodes run: `auto` = one node per CUDA device (node i on device i mod d)
    /// when the run is on CUDA and libtorch sees several, else all nodes one after another on
    /// `--device`; or a comma list (`cuda:0,cuda:1`, `cpu,cpu`) of at most m devices, one
    /// model replica each, nodes assigned round-robin.
    #[arg(long, default_value = "auto")]
    pub node_devices: String,
    /// Matrix products in bf16 (autocast-like; f32 master weights).
    #[arg(long)]
    pub bf16: bool,
    /// Override every dropout rate of the model, in [0, 1).
    #[arg(long, value_parser = in_half_open(0.0, 1.0))]
    pub dropout: Option<f64>,
    /// Peak FLOP/s of the device for the MFU, > 0 [default: 989e12 on CUDA with --bf16 (H100),
    /// else none].
    #[arg(long, value_parser = positive)]
    pub peak_flops: Option<f64>,
    /// Stop after this many steps of this invocation (to test resuming), 1 to 10⁹.
    #[arg(long, hide = true, value_parser = in_range(1u64, STEPS_MAX))]
    pub stop_after: Option<u64>,
}

/// `--steps`, `--warmup`, `--warmdown`, `--eval-every`, `--stop-after`.
const STEPS_MAX: u64 = 1_000_000_000;
/// `--accum`.
const ACCUM_MAX: usize = 10_000;

/// Train and validation tokens from a shard directory or a text file.
///
/// # Errors
/// Missing or corrupt files; a split too small.
pub fn load_data(path: &Path, val_fraction: f64) -> Result<(TokenData, TokenData)> {
    if path.is_dir() {
        let train = shards::load_split(path, "train")?;
        let val = shards::load_split(path, "val")?;
        return Ok((TokenData::new(train), TokenData::new(val)));
    }
    let text = std::fs::read_to_string(path).map_err(|e| LlmError::io(path, e))?;
    let ids = Tokenizer::gpt2().encode(&text);
    if !(0.0..1.0).contains(&val_fraction) || val_fraction == 0.0 {
        return Err(UsageError::new("--val-fraction", format!("{val_fraction} is not in (0, 1)")).into());
    }
    let cut = ((1.0 - val_fraction) * ids.len() as f64) as usize;
    let to16 = |s: &[u32]| s.iter().map(|&t| t as u16).collect::<Vec<u16>>();
    Ok((
        TokenData::new(to16(&ids[..cut])),
        TokenData::new(to16(&ids[cut..])),
    ))
}

/// One step of the sequential path through [`Optimizer::step_with`]: node i back-propagates
/// its `accum` micro-batches `batches[i]` (each loss divided by `accum`) at the global weights,
/// its gradient is clipped to `clip` (0: none), then it steps. Returns the node losses (the sums
/// of their micro-batch losses) and the optimizer's time: from after each node's clipping to the
/// next node's start (its `node_step` and the next `zero_grad`), and the aggregation.
///
/// # Errors
/// [`pisa_core::Error::NonFiniteLoss`] with the first non-finite micro-batch loss, or an
/// optimizer error; the iteration is then abandoned.
fn sequential_step(
    opt: &mut dyn Optimizer,
    model: &Gpt2,
    vars: &[Tensor],
    batches: &[Vec<Batch>],
    clip: Option<f64>,
    device: Device,
) -> pisa_core::Result<(Vec<f64>, f64)> {
    let opt_time = Cell::new(0.0);
    let stepping: Cell<Option<Instant>> = Cell::new(None);
    let stop_clock = || {
        if let Some(t) = stepping.take() {
            sync(device);
            opt_time.set(opt_time.get() + t.elapsed().as_secs_f64());
        }
    };
    let report = opt.step_with(
        &mut |i| {
            stop_clock();
            // All micro-batches but the last are back-propagated here (the gradients were
            // zeroed just before); the last one, or the first non-finite one (which stops the
            // iteration with its value, unpropagated), goes back to the protocol.
            let accum = batches[i].len() as f64;
            let (last, rest) = batches[i].split_last().expect("--accum is at least 1");
            let mut partial = 0.0;
            for b in rest {
                let loss = model.loss(&b.x, &b.y, true) / accum;
                let v = loss.double_value(&[]);
                if !v.is_finite() {
                    return loss;
                }
                loss.backward();
                partial += v;
            }
            // The node's loss is the sum over its micro-batches; the earlier ones are
            // back-propagated already, so they join its value as a constant (the gradient the
            // protocol adds is the last one's). Each rank then reports whole node losses.
            // In f64, so the value is the same sum the replica path reports.
            (model.loss(&last.x, &last.y, true) / accum).to_kind(Kind::Double) + partial
        },
        &mut |_| {
            if let Some(max) = clip {
                let _norm = pisa_core::clip_grad_norm(vars, max, ClipArithmetic::Torch)?;
            }
            sync(device);
            stepping.set(Some(Instant::now()));
            Ok(())
        },
    )?;
    stop_clock();
    Ok((report.node_losses, opt_time.get()))
}

/// Runs training on the run skeleton ([`Session`]: run folder, resume, checkpoints, the
/// non-finite stop); returns the run's typed summary (also written to `summary.json`).
///
/// # Errors
/// Bad data, configuration or files; a non-finite loss ([`LlmError::Session`] with
/// `SessionError::NonFinite`; the last good checkpoint is kept).
pub fn train(args: &TrainArgs) -> Result<RunSummary<Figures>> {
    let device = args.run.device().map_err(SessionError::from)?;
    let node_devices = NodeDevices::parse(&args.node_devices)?;
    let registry = Registry::builtin();

    // model
    let mut config = match &args.from {
        Some(dir) => hf::load_config(dir)?,
        None => Gpt2Config::preset(&args.preset)?,
    };
    if let Some(p) = args.dropout {
        config.resid_pdrop = p;
        config.embd_pdrop = p;
        config.attn_pdrop = p;
    }
    config.validate()?;
    let mut vs = VarStore::new(device);
    let mut model = Gpt2::new(&vs.root(), &config)?;
    match &args.from {
        Some(dir) => hf::load_weights(dir, &mut vs, config.tie_word_embeddings)?,
        None => init_weights(&vs, &config, args.run.seed)?,
    }
    if args.bf16 {
        model.set_compute_kind(Some(Kind::BFloat16));
    }
    let seq = args.seq.unwrap_or(128.min(config.n_positions as usize));
    if seq == 0 || seq as i64 > config.n_positions {
        return Err(UsageError::new(
            "--seq",
            format!(
                "{seq} is not in 1..={} (the model's n_positions)",
                config.n_positions
            ),
        )
        .into());
    }

    // data
    let (train_data, val_data) = load_data(&args.data, args.val_fraction)?;
    for (split, d) in [("train", &train_data), ("val", &val_data)] {
        if d.len() <= seq {
            return Err(UsageError::new(
                "--seq",
                format!(
                    "{seq}: the {split} split of {} has {} tokens, not enough for one window",
                    args.data.display(),
                    d.len()
                ),
            )
            .into());
        }
        if let Some(t) = d.max_token() {
            if i64::from(t) >= config.vocab_size {
                return Err(LlmError::Setting(format!(
                    "the {split} split holds token {t} ≥ the model's vocab_size {}",
                    config.vocab_size
                )));
            }
        }
    }

    // optimizer
    let presets = if args.from.is_some() {
        "gpt2-finetune"
    } else {
        optim::PRETRAIN_DOMAIN
    };
    let domain = Domain::new("llm", "nsisa").presets(presets).checkpoint_every(100);
    let overrides = match &args.run.config {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| LlmError::io(p, e))?
            .parse::<toml::Table>()
            .map_err(|e| LlmError::Setting(format!("{}: {e}", p.display())))?,
        None => toml::Table::new(),
    };
    let mut setup = OptimSetup {
        domain: args.run.presets.clone().unwrap_or_else(|| presets.to_string()),
        optimizer: args
            .run
            .optimizer
            .clone()
            .unwrap_or_else(|| domain.optimizer.clone()),
        overrides,
        nodes: args.nodes,
        steps: args.steps,
        warmup: 0,
        warmdown: 0,
        groups: !args.no_groups && args.from.is_none(),
    };
    // m is needed for the step count with --epochs: read it from the settings first.
    let m = optim::settings(&registry, &setup)?["nodes"].as_u64().unwrap_or(1) as usize;
    if !args.batch.is_multiple_of(m) || args.batch == 0 {
        return Err(UsageError::new(
            "--batch",
            format!("{} is not a positive multiple of the {m} nodes", args.batch),
        )
        .into());
    }
    check_range("--accum", args.accum, 1, ACCUM_MAX)?;
    let tokens_per_step = (args.batch * seq * args.accum) as u64;
    let steps = match args.epochs {
        Some(e) => ((e * train_data.len() as f64 / tokens_per_step as f64).ceil() as u64).max(1),
        None => args.steps,
    };
    setup.steps = steps;
    let finetuning = args.from.is_some();
    setup.warmup = args
        .warmup
        .unwrap_or(if finetuning {
            (steps as f64 * 0.05).round() as u64
        } else {
            0
        })
        .min(steps);
    setup.warmdown = args
        .warmdown
        .unwrap_or(if finetuning {
            steps - setup.warmup
        } else {
            (steps as f64 * 0.284).round() as u64
        })
        .min(steps);
    let opt_cfg = optim::build_config(&registry, &setup)?;
    let vars: Vec<Tensor> = vs.trainable_variables();
    let names: Vec<String> = vs.variables().into_keys().collect();
    eprintln!(
        "llm: GPT-2 {} params, d={} L={} heads={}, seq {seq}, {} tokens/step, {steps} steps, {} on {device:?}",
        config.num_params(),
        config.n_embd,
        config.n_layer,
        config.n_head,
        tokens_per_step,
        opt_cfg.base.name(),
    );
    for g in &opt_cfg.groups {
        let n = names
            .iter()
            .filter(|v| g.params.iter().any(|p| pisa_core::config::glob_match(p, v)))
            .count();
        eprintln!(
            "llm: group `{}` ({}) gets {n} tensors: {:?}",
            g.name,
            g.optimizer.name(),
            g.params
        );
    }

    let mut replicas = match node_devices.resolve(device, m)? {
        Some(devices) => {
            let set = ReplicaSet::new(&config, &vs, &devices, m, args.bf16)?;
            let on: Vec<String> = (0..m)
                .map(|i| format!("{i}→{}", device_name(devices[i % devices.len()])))
                .collect();
            eprintln!(
                "llm: {} replicas in parallel, nodes {}; aggregation on {}",
                devices.len(),
                on.join(" "),
                device_name(device)
            );
            let cpus = devices.iter().filter(|d| **d == Device::Cpu).count();
            if cpus > 1 && (config.resid_pdrop > 0.0 || config.embd_pdrop > 0.0 || config.attn_pdrop > 0.0) {
                eprintln!(
                    "llm: warning: {cpus} CPU replicas draw dropout masks from the one CPU generator \
                     concurrently: this run is not reproducible"
                );
            }
            Some(set)
        }
        None => None,
    };

    let columns = [
        "train/loss",
        "val/loss",
        "train/tokens",
        "perf/tokens_per_s",
        "perf/opt_share",
        "perf/mfu",
    ];
    // Under an MPI launcher (feature `mpi`) the nodes are spread over the ranks: each rank
    // samples and evaluates only its own nodes' batches.
    let world = pisa_core::collective::from_launcher_on(device).map_err(SessionError::from)?;
    if world.as_ref().is_some_and(|w| w.world() > 1) && replicas.is_some() {
        return Err(UsageError::new(
            "--node-devices",
            "replicas and MPI ranks both place the nodes: use one (under mpirun, one device per rank)",
        )
        .into());
    }
    let mut session = Session::open_on(world, &args.run, &domain, &columns, steps)?;
    let opt_cfg = session.use_optimizer_config(opt_cfg)?;
    // What shapes the trajectory besides the seed and the optimizer (the step count too: the
    // warm-down is measured from the end; --stop-after only pauses).
    session.pin_settings(&serde_json::json!({
        "preset": args.preset, "from": args.from, "no_groups": args.no_groups,
        "val_fraction": args.val_fraction, "nodes": args.nodes, "batch": args.batch,
        "seq": args.seq, "accum": args.accum, "steps": steps, "warmup": args.warmup,
        "warmdown": args.warmdown, "clip": args.clip, "dropout": args.dropout,
    }))?;
    let mut opt = opt_cfg.build(&vs)?;
    session.distribute(opt.as_mut())?;
    let owned = opt.ranks().map_or(0..m, pisa_core::collective::Ranks::owned);
    let start = session
        .restore(&mut vs, opt.as_mut())?
        .map_or(0, |meta| meta.step);
    let val_batches = val_data.eval_batches(args.batch, seq, Some(args.val_tokens), device);
    let evaluate = |model: &Gpt2| {
        tch::no_grad(|| mean_loss(&val_batches, |b| model.loss(&b.x, &b.y, false).double_value(&[])))
    };
    let peak = args
        .peak_flops
        .or((device.is_cuda() && args.bf16).then_some(989e12));
    let flops_per_token = config.flops_per_token(seq as i64);
    let footprint = opt.footprint();
    let node_devices = replicas.as_ref().map_or_else(
        || format!("sequential on {}", device_name(device)),
        |r| {
            r.devices()
                .into_iter()
                .map(device_name)
                .collect::<Vec<_>>()
                .join(",")
        },
    );
    let (mut train_loss, mut val_loss) = (f64::NAN, f64::NAN);
    // `--clip 0` turns clipping off.
    let clip = (args.clip > 0.0).then_some(args.clip);
    let per_node = args.batch / m;
    let (mut rates, mut shares) = (Vec::new(), Vec::new());
    let end = args.stop_after.map_or(steps, |k| (start + k).min(steps));

    for step in start..end {
        session.seed_step(step);
        sync(device);
        let t0 = Instant::now();
        let mut opt_time = 0.0;
        let mut node_losses = Vec::with_capacity(m);
        let mut non_finite = None;
        if let Some(set) = replicas.as_mut() {
            // The replicas compute all nodes' gradients at once, before any node steps, so this
            // path drives the protocol itself (see `ReplicaSet::step`).
            opt.begin_iteration()?;
            let work = NodeWork {
                data: &train_data,
                per_node,
                seq,
                accum: args.accum,
                seed: args.run.seed,
                step,
                clip,
            };
            match set.step(work, opt.as_mut())? {
                NodeOutcome::Stepped { losses, opt_time: t } => {
                    node_losses = losses;
                    opt_time += t;
                    let t = Instant::now();
                    opt.end_iteration()?;
                    sync(device);
                    opt_time += t.elapsed().as_secs_f64();
                }
                NodeOutcome::NonFinite { value, .. } => {
                    opt.abort_iteration();
                    non_finite = Some(value);
                }
            }
        } else {
            // Another rank's nodes get no batches: this rank never evaluates them.
            let batches = (0..m)
                .map(|i| {
                    (0..if owned.contains(&i) { args.accum } else { 0 })
                        .map(|a| {
                            let micro = (i * args.accum + a) as u64;
                            train_data.sample(per_node, seq, args.run.seed, step, micro, device)
                        })
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let outcome = sequential_step(opt.as_mut(), &model, &vars, &batches, clip, device);
            let (losses, t) = session.check(outcome, step)?;
            node_losses = losses;
            opt_time += t;
        }
        if let Some(value) = non_finite {
            // The replicas found it: the same stop as the sequential path's.
            return Err(session.stop_non_finite(step + 1, value).into());
        }
        let dt = t0.elapsed().as_secs_f64();
        train_loss = node_losses
            .iter()
            .zip(opt.node_weights().as_slice())
            .map(|(l, a)| l * a)
            .sum();
        let done = step + 1;
        let rate = tokens_per_step as f64 / dt;
        rates.push(rate);
        shares.push(opt_time / dt);
        let mut values = vec![
            ("train/loss", train_loss),
            ("train/tokens", (done * tokens_per_step) as f64),
            ("perf/tokens_per_s", rate),
            ("perf/opt_share", opt_time / dt),
        ];
        if let Some(p) = peak {
            values.push(("perf/mfu", flops_per_token * rate / p));
        }
        if done % args.eval_every.max(1) == 0 || done == steps {
            val_loss = evaluate(&model);
            values.push(("val/loss", val_loss));
        }
        session.record(done, &values)?;
        if session.checkpoint_due(done) || done == end {
            session.checkpoint(&vs, opt.as_ref(), done, &(done * tokens_per_step))?;
        }
    }
    let median = |v: &mut Vec<f64>| {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (rate, share) = (median(&mut rates), median(&mut shares));
    if end == steps && session.is_lead() {
        let dir = session.dir().path().join("model");
        hf::save(&dir, &config, &vs, None)?;
    }
    let figures = Figures {
        node_devices,
        params: config.num_params(),
        seq,
        tokens_per_step,
        optimizer_state_bytes: footprint.bytes as u64,
        optimizer_state_buffers: footprint.buffers(),
        tokens: end * tokens_per_step,
        train_loss,
        val_loss,
        tokens_per_s: rate,
        opt_share: share,
        flops_per_token,
        mfu: peak.map(|p| flops_per_token * rate / p),
    };
    let status = if end == steps {
        Status::Finished
    } else {
        Status::Paused
    };
    Ok(session.finish_as(status, opt.as_ref(), end, figures)?)
}

/// GPT-2's figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Where the nodes ran (`sequential on cpu`, or the replica devices).
    pub node_devices: String,
    /// Model parameters.
    pub params: i64,
    /// Sequence length.
    pub seq: usize,
    /// Tokens per step (batch × seq × accum).
    pub tokens_per_step: u64,
    /// Bytes of optimizer state.
    pub optimizer_state_bytes: u64,
    /// Optimizer state in parameter-sized buffers.
    pub optimizer_state_buffers: f64,
    /// Tokens trained on.
    pub tokens: u64,
    /// The last step's training loss.
    pub train_loss: f64,
    /// The last validation loss.
    pub val_loss: f64,
    /// Median training tokens per second in this invocation.
    pub tokens_per_s: f64,
    /// Median share of a step spent in the optimizer.
    pub opt_share: f64,
    /// Model FLOPs per token.
    pub flops_per_token: f64,
    /// Model FLOPs utilization, when the device's peak is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfu: Option<f64>,
}
