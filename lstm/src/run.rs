//! One LSTM training run on the run skeleton: [`train`] (what `lstm train` and
//! `cargo xtask lstm` run). Phases: corpus → session (run folder, resume) → model → optimizer →
//! epochs (train windows, validation, test) → summary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use runs::cli::{check_range, in_half_open, in_range, UsageError};
use runs::run::write_atomic;
use runs::session::{Domain, RunArgs, RunSummary, Session, SessionError};
use tch::nn::VarStore;
use tch::Tensor;

use crate::corpus::{batchify, window, Corpus};
use crate::model::{AwdConfig, AwdLstm};
use crate::train::{evaluate, seq_len, Regularization, SplitMode, WindowTrainer};
use crate::LstmError;
use runs::rng::SplitMix64;

/// What an LSTM run trains and how (the `lstm train` flags besides the common ones). Every
/// number is range-checked by clap when parsed and again by [`TrainConfig::validate`].
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt [default: $PISA_DATA_DIR/ptb-like or data/ptb-like].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// LSTM layers, 1 to 3.
    #[arg(long, default_value_t = 3, value_parser = in_range(LAYERS.0, LAYERS.1))]
    pub layers: usize,
    /// Embedding size (also the last layer's size: tied weights), 1 to 16384.
    #[arg(long, default_value_t = 400, value_parser = in_range(WIDTH.0, WIDTH.1))]
    pub emb: usize,
    /// Hidden size of the other layers, 1 to 16384.
    #[arg(long, default_value_t = 1150, value_parser = in_range(WIDTH.0, WIDTH.1))]
    pub hidden: usize,
    /// Scale all dropouts (0.4/0.25/0.4/0.1 and weight-drop 0.5) by this factor, in [0, 2)
    /// (every rate stays below 1).
    #[arg(long, default_value_t = 1.0, value_parser = in_half_open(0.0, DROPOUT_SCALE_MAX))]
    pub dropout_scale: f64,
    /// Training streams (batch columns), 1 to 10⁵.
    #[arg(long, default_value_t = 20, value_parser = in_range(BATCH.0, BATCH.1))]
    pub batch: usize,
    /// Validation batch, 1 to 10⁵.
    #[arg(long, default_value_t = 10, value_parser = in_range(BATCH.0, BATCH.1))]
    pub eval_batch: usize,
    /// Test batch, 1 to 10⁵.
    #[arg(long, default_value_t = 1, value_parser = in_range(BATCH.0, BATCH.1))]
    pub test_batch: usize,
    /// Mean BPTT length, 1 to 10⁵ (and shorter than the training stream).
    #[arg(long, default_value_t = 70.0, value_parser = in_range(BPTT.0, BPTT.1))]
    pub bptt: f64,
    /// Epochs, 1 to 10⁶.
    #[arg(long, default_value_t = 200, value_parser = in_range(EPOCHS.0, EPOCHS.1))]
    pub epochs: u64,
    /// Training windows per epoch at most, 0 to 10⁹ (0: the whole training stream).
    #[arg(long, default_value_t = 0, value_parser = in_range(0, MAX_COUNT))]
    pub max_windows: u64,
    /// Evaluate on at most this many validation/test tokens, 0 to 10⁹ (0: all).
    #[arg(long, default_value_t = 0, value_parser = in_range(0, MAX_COUNT as usize))]
    pub eval_tokens: usize,
    /// How the nodes divide a window: time (the paper's runs) or batch.
    #[arg(long, default_value = "time")]
    pub split: String,
}

/// `--layers`: AWD-LSTM's 1 to 3.
const LAYERS: (usize, usize) = (1, 3);
/// `--emb`, `--hidden`.
const WIDTH: (usize, usize) = (1, 16_384);
/// `--dropout-scale` (excluded): the largest rate, weight-drop 0.5, stays below 1.
const DROPOUT_SCALE_MAX: f64 = 2.0;
/// `--batch`, `--eval-batch`, `--test-batch`.
const BATCH: (usize, usize) = (1, 100_000);
/// `--bptt`.
const BPTT: (f64, f64) = (1.0, 100_000.0);
/// `--epochs`.
const EPOCHS: (u64, u64) = (1, 1_000_000);
/// `--max-windows`, `--eval-tokens`.
const MAX_COUNT: u64 = 1_000_000_000;

impl TrainConfig {
    /// Checks every number against the range its flag accepts (for a configuration built in
    /// code rather than parsed by clap) and `--split`.
    ///
    /// # Errors
    /// A [`UsageError`] naming the flag and the allowed range.
    pub fn validate(&self) -> Result<(), UsageError> {
        check_range("--layers", self.layers, LAYERS.0, LAYERS.1)?;
        check_range("--emb", self.emb, WIDTH.0, WIDTH.1)?;
        check_range("--hidden", self.hidden, WIDTH.0, WIDTH.1)?;
        if !(0.0..DROPOUT_SCALE_MAX).contains(&self.dropout_scale) {
            return Err(UsageError::new(
                "--dropout-scale",
                format!("{} is not in [0, {DROPOUT_SCALE_MAX})", self.dropout_scale),
            ));
        }
        check_range("--batch", self.batch, BATCH.0, BATCH.1)?;
        check_range("--eval-batch", self.eval_batch, BATCH.0, BATCH.1)?;
        check_range("--test-batch", self.test_batch, BATCH.0, BATCH.1)?;
        check_range("--bptt", self.bptt, BPTT.0, BPTT.1)?;
        check_range("--epochs", self.epochs, EPOCHS.0, EPOCHS.1)?;
        check_range("--max-windows", self.max_windows, 0, MAX_COUNT)?;
        check_range("--eval-tokens", self.eval_tokens as u64, 0, MAX_COUNT)?;
        self.split_mode().map(drop)
    }

    /// `--split` as a [`SplitMode`].
    fn split_mode(&self) -> Result<SplitMode, UsageError> {
        match self.split.as_str() {
            "time" => Ok(SplitMode::Time),
            "batch" => Ok(SplitMode::Batch),
            other => Err(UsageError::new(
                "--split",
                format!("`{other}`: expected time or batch"),
            )),
        }
    }
}

/// Trains an AWD-LSTM as `args` and `run` say: the corpus is loaded first (a missing corpus
/// leaves no run folder behind), then the [`Session`] owns resume, checkpoints (one per epoch),
/// the non-finite stop and the summary it returns.
///
/// # Errors
/// [`LstmError`]: bad settings, a missing or unusable corpus, a non-finite loss
/// ([`LstmError::Session`] with [`SessionError::NonFinite`]), or an I/O error.
pub fn train(args: &TrainConfig, run: &RunArgs) -> Result<RunSummary<Figures>, LstmError> {
    args.validate()?;
    let split_mode = args.split_mode()?;
    let device = run.device().map_err(SessionError::from)?;

    // corpus (before the run folder: a missing corpus leaves nothing behind)
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(|| runs::data::data_root().join("ptb-like"));
    let corpus = Corpus::load(&data_dir)?;
    let label = corpus_label(&data_dir);
    let cut = |ids: &[i64]| -> Vec<i64> {
        let n = if args.eval_tokens > 0 {
            args.eval_tokens.min(ids.len())
        } else {
            ids.len()
        };
        ids[..n].to_vec()
    };
    // Data too small for one training window or one evaluation window is bad input, found
    // here, before the run folder exists (a window needs an input row and the row after it).
    let streams = |ids: &[i64], batch: usize, flag: &str, split: &str, rows: usize| {
        let have = ids.len() / batch;
        match have >= rows {
            true => batchify(ids, batch, device),
            false => Err(UsageError::new(
                flag,
                format!(
                    "{batch} leaves {have} token(s) per column of the {} {split} tokens in {}; \
                     at least {rows} are needed (a smaller {flag} or a longer file)",
                    ids.len(),
                    data_dir.display()
                ),
            )
            .into()),
        }
    };
    let train_data = streams(&corpus.train, args.batch, "--batch", "training", 3)?;
    let eval_flag = if args.eval_tokens > 0 {
        "--eval-tokens"
    } else {
        "--eval-batch"
    };
    let valid_data = streams(&cut(&corpus.valid), args.eval_batch, eval_flag, "validation", 2)?;
    let eval_flag = if args.eval_tokens > 0 {
        "--eval-tokens"
    } else {
        "--test-batch"
    };
    let test_data = streams(&cut(&corpus.test), args.test_batch, eval_flag, "test", 2)?;
    eprintln!(
        "corpus: {label}; {} words, {} / {} / {} tokens",
        corpus.vocab.len(),
        corpus.train.len(),
        corpus.valid.len(),
        corpus.test.len()
    );
    let rows = train_data.size()[0];
    if args.bptt > (rows - 1) as f64 {
        return Err(UsageError::new(
            "--bptt",
            format!(
                "{} is longer than the training stream ({} rows per column at --batch {})",
                args.bptt,
                rows - 1,
                args.batch
            ),
        )
        .into());
    }
    let per_epoch = if args.max_windows > 0 {
        args.max_windows
    } else {
        (rows as f64 / args.bptt).ceil() as u64
    };
    let columns = [
        "train/loss",
        "train/ppl",
        "valid/ppl",
        "test/ppl",
        "train/tokens_per_s",
    ];
    let domain = Domain::new(&format!("lstm-{}", args.layers), "sisa");
    // The optimizer's settings before the run folder: its node count must fit the split.
    let opt_cfg = run.resolve_optimizer(&domain).map_err(SessionError::from)?;
    let m = opt_cfg.base.nodes();
    if split_mode == SplitMode::Batch && args.batch < m {
        return Err(UsageError::new(
            "--batch",
            format!("{} is smaller than the optimizer's {m} nodes", args.batch),
        )
        .into());
    }
    let min_len = if split_mode == SplitMode::Time {
        m as i64
    } else {
        1
    };
    if rows - 1 - min_len <= 0 {
        return Err(UsageError::new(
            "--batch",
            format!(
                "{}: the training stream has {rows} rows per column, too short for one window of \
                 {min_len} tokens (one per node)",
                args.batch
            ),
        )
        .into());
    }
    let mut session = Session::open(run, &domain, &columns, per_epoch * args.epochs)?;
    // What shapes the trajectory besides the seed and the optimizer (--epochs only says how far
    // to go; the evaluation batches only what is measured).
    session.pin_settings(&serde_json::json!({
        "layers": args.layers, "emb": args.emb, "hidden": args.hidden,
        "dropout_scale": args.dropout_scale, "batch": args.batch, "bptt": args.bptt,
        "max_windows": args.max_windows, "split": args.split,
    }))?;
    let seed = session.seed();

    // model → optimizer → resume
    tch::manual_seed(seed as i64);
    let mut vs = VarStore::new(device);
    let s = args.dropout_scale;
    let cfg = AwdConfig {
        emb: args.emb,
        hidden: args.hidden,
        dropout: 0.4 * s,
        dropouth: 0.25 * s,
        dropouti: 0.4 * s,
        dropoute: 0.1 * s,
        wdrop: 0.5 * s,
        ..AwdConfig::awd(corpus.vocab.len(), args.layers)
    };
    let model = AwdLstm::new(&vs.root(), &cfg)?;
    let opt_cfg = session.use_optimizer_config(opt_cfg)?;
    let mut opt = opt_cfg.build(&vs)?;
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(Tensor::numel)
        .map(|n| n as i64)
        .sum();
    eprintln!(
        "model: {} layer(s), emb {}, hidden {}, {params} parameters; optimizer {} with m = {m} nodes split along {:?}",
        cfg.layers,
        cfg.emb,
        cfg.hidden,
        opt_cfg.base.name(),
        split_mode
    );
    let vars = vs.trainable_variables();
    let trainer = WindowTrainer {
        model: &model,
        vars: &vars,
        mode: split_mode,
        reg: Regularization::default(),
    };
    let run_dir = session.dir().path().to_path_buf();
    let model_json = serde_json::to_string_pretty(&cfg).map_err(|e| LstmError::Config(e.to_string()))?;
    write_atomic(&run_dir.join("model.json"), model_json.as_bytes()).map_err(SessionError::from)?;
    let vocab = corpus.vocab.words().join("\n") + "\n";
    write_atomic(&run_dir.join("vocab.txt"), vocab.as_bytes()).map_err(SessionError::from)?;
    let (mut step, mut state) = match session.restore(&mut vs, opt.as_mut())? {
        Some(meta) => (
            meta.step,
            serde_json::from_value::<Selection>(meta.extra)
                .map_err(|e| LstmError::Config(format!("the checkpoint's meta.extra: {e}")))?,
        ),
        None => (0, Selection::default()),
    };
    let (mut train_tokens, mut train_secs) = (0u64, 0.0f64);

    for epoch in state.epoch..args.epochs {
        // epoch: windows of variable length, hidden state carried and detached between windows
        // The window lengths of an epoch: a function of (seed, epoch).
        let mut rng = SplitMix64::new(seed, epoch);
        let mut hidden = model.init_hidden(args.batch as i64);
        let (mut start, mut windows, mut loss_sum, mut tok_sum) = (0i64, 0u64, 0.0, 0i64);
        let t0 = Instant::now();
        while start < rows - 1 - min_len && (args.max_windows == 0 || windows < args.max_windows) {
            let len = seq_len(&mut rng, args.bptt, min_len);
            let (x, y) = window(&train_data, start, len);
            if session.interrupted() {
                // Checkpoints come at epoch ends (the carried hidden state is not saved): the
                // resume restarts this epoch from the last one.
                return Err(session.stop_interrupted(step).into());
            }
            session.seed_step(step);
            let (ce, next) = session.check(trainer.step(opt.as_mut(), &x, &y, &hidden), step)?;
            hidden = next;
            let n = x.numel() as i64;
            loss_sum += ce * n as f64;
            tok_sum += n;
            start += x.size()[0];
            windows += 1;
            step += 1;
            session.show(epoch * per_epoch + windows, &[("train/loss", ce)]);
        }
        let secs = t0.elapsed().as_secs_f64();
        train_tokens += tok_sum as u64;
        train_secs += secs;

        // validation and test
        let train_loss = loss_sum / tok_sum.max(1) as f64;
        let valid_ppl = evaluate(&model, &valid_data, args.bptt as i64).exp();
        let test_ppl = evaluate(&model, &test_data, args.bptt as i64).exp();
        state.epoch = epoch + 1;
        state.record(epoch + 1, valid_ppl, test_ppl);
        let tps = tok_sum as f64 / secs.max(1e-9);
        let values = [
            ("train/loss", train_loss),
            ("train/ppl", train_loss.exp()),
            ("valid/ppl", valid_ppl),
            ("test/ppl", test_ppl),
            ("train/tokens_per_s", tps),
        ];
        session.record(step, &values)?;
        eprintln!(
            "epoch {:>3}: train ppl {:>8.2}  valid ppl {valid_ppl:>8.2}  test ppl {test_ppl:>8.2}  ({tps:.0} tokens/s)",
            epoch + 1,
            train_loss.exp()
        );
        session.checkpoint(&vs, opt.as_ref(), step, &state)?;
    }
    let figures = Figures {
        corpus: label,
        split: format!("{split_mode:?}").to_lowercase(),
        layers: cfg.layers,
        emb: cfg.emb,
        hidden: cfg.hidden,
        parameters: params,
        batch: args.batch,
        epochs: state.epoch,
        best_valid_ppl: state.best_valid,
        best_valid_epoch: state.best_valid_epoch,
        test_ppl_at_best_valid: state.test_at_best_valid,
        best_test_ppl: state.best_test,
        best_test_epoch: state.best_test_epoch,
        train_tokens_per_s: train_tokens as f64 / train_secs.max(1e-9),
    };
    Ok(session.finish(opt.as_ref(), step, figures)?)
}

/// The LSTM's figures in `summary.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    /// What the corpus is (real PTB and PTB-like numbers must not be mixed).
    pub corpus: String,
    /// How the nodes divide a window: `time` or `batch`.
    pub split: String,
    /// LSTM layers.
    pub layers: usize,
    /// Embedding size.
    pub emb: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Trainable parameters.
    pub parameters: i64,
    /// Training streams.
    pub batch: usize,
    /// Epochs done.
    pub epochs: u64,
    /// Best validation perplexity over epochs.
    pub best_valid_ppl: Option<f64>,
    /// Its epoch.
    pub best_valid_epoch: Option<u64>,
    /// Test perplexity at the best validation epoch: the honest number.
    pub test_ppl_at_best_valid: Option<f64>,
    /// Best test perplexity over epochs: the protocol of the authors' scripts (spec §9 Q9).
    pub best_test_ppl: Option<f64>,
    /// Its epoch.
    pub best_test_epoch: Option<u64>,
    /// Training tokens per second in this process (resumed epochs not counted).
    pub train_tokens_per_s: f64,
}

/// Per-run bookkeeping kept in the checkpoints: epochs done and the selection figures.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Selection {
    epoch: u64,
    best_valid: Option<f64>,
    best_valid_epoch: Option<u64>,
    test_at_best_valid: Option<f64>,
    best_test: Option<f64>,
    best_test_epoch: Option<u64>,
}

impl Selection {
    fn record(&mut self, epoch: u64, valid: f64, test: f64) {
        if self.best_valid.is_none_or(|b| valid < b) {
            self.best_valid = Some(valid);
            self.best_valid_epoch = Some(epoch);
            self.test_at_best_valid = Some(test);
        }
        if self.best_test.is_none_or(|b| test < b) {
            self.best_test = Some(test);
            self.best_test_epoch = Some(epoch);
        }
    }
}

/// What the corpus in `dir` is, for labels: real PTB numbers and PTB-like numbers must not be mixed.
pub fn corpus_label(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if name.contains("ptb-like") {
        "PTB-like (built by `cargo xtask data ptb-like`; not Penn Treebank)".into()
    } else {
        format!("PTB-format corpus in {}", dir.display())
    }
}
