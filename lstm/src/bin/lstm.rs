//! AWD-LSTM language models on Penn Treebank (or any corpus in its format) with any optimizer of
//! the registry: the paper's PTB experiments (arXiv 2502.10784, App. A.6, Table 8).
//!
//! ```text
//! cargo xtask data ptb-like                     # PTB itself is not obtainable here
//! cargo xtask lstm --layers 3 --optimizer sisa  # = lstm train ...; AWD-LSTM defaults
//! cargo xtask lstm sample --checkpoint runs/lstm-3/sisa/checkpoints/step-0000012345
//! ```
//!
//! Phases: seed → corpus → model → optimizer → run folder (resume) → epochs (train windows,
//! validation, test) → log. Each epoch walks the training stream in windows of AWD's variable
//! BPTT length (about `--bptt`); SISA's m = 4 nodes split every window along time, passing the
//! hidden state from node to node (`--split batch` splits the streams instead). After each
//! epoch the validation (batch `--eval-batch`) and test (batch `--test-batch`) perplexities are
//! logged; the summary reports **`test_ppl_at_best_valid`** (the test perplexity of the epoch
//! with the best validation perplexity: the honest number) and **`best_test_ppl`** (the best
//! test perplexity over epochs: the protocol of the authors' and AdaBelief's scripts, spec §9 Q9).
//! A checkpoint is written after every epoch; `--resume` continues from the latest one exactly
//! (windows and dropout masks are functions of the seed, the epoch and the step).
//!
//! Expected on real PTB with the full AWD-LSTM and 200 epochs (paper, SISA): 84.27 / 66.23 /
//! 61.04 test perplexity for 1 / 2 / 3 layers. Runs here use the PTB-like corpus and are
//! labelled with it (`corpus` in the summary).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lstm::corpus::{batchify, window, Corpus, Vocab, EOS};
use lstm::model::{AwdConfig, AwdLstm};
use lstm::train::{evaluate, seq_len, Regularization, SplitMix, SplitMode, WindowTrainer};
use runs::registry::Registry;
use runs::session::{Domain, RunArgs, Session};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

#[derive(Parser, Debug)]
#[command(about = "AWD-LSTM language models with any pisa-rs optimizer")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train (the default when no subcommand is given).
    Train(Box<TrainArgs>),
    /// Generate text from a checkpoint.
    Sample(SampleArgs),
    /// Training tokens per second on synthetic tokens (`cargo xtask bench lstm`); one JSON line.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Optimizer (registry name; presets of `lstm-<layers>`).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Vocabulary size.
    #[arg(long, default_value_t = 10_000)]
    vocab: usize,
    /// LSTM layers.
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Embedding size.
    #[arg(long, default_value_t = 400)]
    emb: usize,
    /// Hidden size.
    #[arg(long, default_value_t = 1150)]
    hidden: usize,
    /// Window length.
    #[arg(long, default_value_t = 70)]
    bptt: usize,
    /// Streams.
    #[arg(long, default_value_t = 20)]
    batch: usize,
    /// Untimed windows.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Timed windows.
    #[arg(long, default_value_t = 5)]
    windows: usize,
    /// Torch threads (0: default).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// cpu, cuda or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Args, Debug, Clone)]
struct TrainArgs {
    /// Optimizer (default sisa; presets of the `lstm-<layers>` domain), run folder, seed, device.
    #[command(flatten)]
    run: RunArgs,
    /// Folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt [default: $PISA_DATA_DIR/ptb-like or data/ptb-like].
    #[arg(long)]
    data: Option<PathBuf>,
    /// LSTM layers (1-3).
    #[arg(long, default_value_t = 3)]
    layers: usize,
    /// Embedding size (also the last layer's size: tied weights).
    #[arg(long, default_value_t = 400)]
    emb: usize,
    /// Hidden size of the other layers.
    #[arg(long, default_value_t = 1150)]
    hidden: usize,
    /// Scale all dropouts (0.4/0.25/0.4/0.1 and weight-drop 0.5) by this factor.
    #[arg(long, default_value_t = 1.0)]
    dropout_scale: f64,
    /// Training streams (batch columns).
    #[arg(long, default_value_t = 20)]
    batch: usize,
    /// Validation batch.
    #[arg(long, default_value_t = 10)]
    eval_batch: usize,
    /// Test batch.
    #[arg(long, default_value_t = 1)]
    test_batch: usize,
    /// Mean BPTT length.
    #[arg(long, default_value_t = 70.0)]
    bptt: f64,
    /// Epochs.
    #[arg(long, default_value_t = 200)]
    epochs: u64,
    /// Training windows per epoch at most (0: the whole training stream).
    #[arg(long, default_value_t = 0)]
    max_windows: u64,
    /// Evaluate on at most this many validation/test tokens (0: all).
    #[arg(long, default_value_t = 0)]
    eval_tokens: usize,
    /// How the nodes divide a window: time (the paper's runs) or batch.
    #[arg(long, default_value = "time")]
    split: String,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// A checkpoint folder (`runs/<domain>/<name>/checkpoints/step-N`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Words to generate.
    #[arg(long, default_value_t = 100)]
    words: usize,
    /// Softmax temperature.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// What the corpus is, for labels: real PTB numbers and PTB-like numbers must not be mixed.
fn corpus_label(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if name.contains("ptb-like") {
        "PTB-like (built by `cargo xtask data ptb-like`; not Penn Treebank)".into()
    } else {
        format!("PTB-format corpus in {}", dir.display())
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Sample(args)) => sample(&args),
        Some(Command::Bench(args)) => bench(&args),
        Some(Command::Train(args)) => train(&args),
        None => train(&cli.train),
    }
}

fn train(args: &TrainArgs) -> Result<()> {
    let device = args.run.device()?;
    let split_mode = match args.split.as_str() {
        "time" => SplitMode::Time,
        "batch" => SplitMode::Batch,
        other => bail!("--split {other}: expected time or batch"),
    };
    if args.bptt < 1.0 || args.batch == 0 || args.eval_batch == 0 || args.test_batch == 0 {
        bail!("--bptt must be at least 1 and --batch, --eval-batch, --test-batch at least 1");
    }

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
    let train_data = batchify(&corpus.train, args.batch, device)?;
    let valid_data = batchify(&cut(&corpus.valid), args.eval_batch, device)?;
    let test_data = batchify(&cut(&corpus.test), args.test_batch, device)?;
    eprintln!(
        "corpus: {label}; {} words, {} / {} / {} tokens",
        corpus.vocab.len(),
        corpus.train.len(),
        corpus.valid.len(),
        corpus.test.len()
    );
    let rows = train_data.size()[0];
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
    let mut session = Session::open(&args.run, &domain, &columns, per_epoch * args.epochs)?;
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
    let opt_cfg = session.optimizer_config()?;
    let mut opt = opt_cfg.build(&vs).context("building the optimizer")?;
    let m = opt.node_weights().len();
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
    if split_mode == SplitMode::Batch && args.batch < m {
        bail!("--batch {} is smaller than the optimizer's {m} nodes", args.batch);
    }
    let vars = vs.trainable_variables();
    let trainer = WindowTrainer {
        model: &model,
        vars: &vars,
        mode: split_mode,
        reg: Regularization::default(),
    };
    let run_dir = session.dir().path().to_path_buf();
    fs::write(run_dir.join("model.json"), serde_json::to_string_pretty(&cfg)?)?;
    fs::write(run_dir.join("vocab.txt"), corpus.vocab.words().join("\n") + "\n")?;
    let (mut step, mut state) = match session.restore(&mut vs, opt.as_mut())? {
        Some(meta) => (
            meta.step,
            serde_json::from_value::<Selection>(meta.extra).context("checkpoint meta.extra")?,
        ),
        None => (0, Selection::default()),
    };
    let (mut train_tokens, mut train_secs) = (0u64, 0.0f64);
    let min_len = if split_mode == SplitMode::Time {
        m as i64
    } else {
        1
    };
    if rows - 1 - min_len <= 0 {
        bail!(
            "the training stream has {rows} rows per column at --batch {}: too short for one window of {min_len} tokens",
            args.batch
        );
    }

    for epoch in state.epoch..args.epochs {
        // epoch: windows of variable length, hidden state carried and detached between windows
        let mut rng = SplitMix::new(seed, epoch);
        let mut hidden = model.init_hidden(args.batch as i64);
        let (mut start, mut windows, mut loss_sum, mut tok_sum) = (0i64, 0u64, 0.0, 0i64);
        let t0 = Instant::now();
        while start < rows - 1 - min_len && (args.max_windows == 0 || windows < args.max_windows) {
            let len = seq_len(&mut rng, args.bptt, min_len);
            let (x, y) = window(&train_data, start, len);
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
    session.finish(opt.as_ref(), step, figures)?;
    Ok(())
}

/// The LSTM's figures in `summary.json`.
#[derive(Debug, serde::Serialize)]
struct Figures {
    corpus: String,
    split: String,
    layers: usize,
    emb: usize,
    hidden: usize,
    parameters: i64,
    batch: usize,
    epochs: u64,
    best_valid_ppl: Option<f64>,
    best_valid_epoch: Option<u64>,
    test_ppl_at_best_valid: Option<f64>,
    best_test_ppl: Option<f64>,
    best_test_epoch: Option<u64>,
    /// Training tokens per second in this process (resumed epochs not counted).
    train_tokens_per_s: f64,
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

fn bench(args: &BenchArgs) -> Result<()> {
    if args.threads > 0 {
        tch::set_num_threads(args.threads as i32);
    }
    let device = runs::device::parse_device(&args.device)?;
    tch::manual_seed(0);
    let vs = VarStore::new(device);
    let cfg = AwdConfig {
        emb: args.emb,
        hidden: args.hidden,
        ..AwdConfig::awd(args.vocab, args.layers)
    };
    let model = AwdLstm::new(&vs.root(), &cfg)?;
    let domain = format!("lstm-{}", args.layers);
    let opt_cfg = Registry::builtin().resolve(&domain, &args.optimizer, &toml::Table::new())?;
    let mut opt = opt_cfg.build(&vs)?;
    let vars = vs.trainable_variables();
    let result = lstm::bench::throughput(
        &model,
        &vars,
        opt.as_mut(),
        SplitMode::Time,
        args.bptt,
        args.batch,
        args.warmup,
        args.windows,
        device,
    )?;
    let mut json = serde_json::to_value(&result)?;
    json["backend"] = "pisa-rs".into();
    json["optimizer"] = args.optimizer.clone().into();
    json["nodes"] = opt.node_weights().len().into();
    json["layers"] = args.layers.into();
    println!("{json}");
    Ok(())
}

fn sample(args: &SampleArgs) -> Result<()> {
    let run_dir = args
        .checkpoint
        .parent()
        .and_then(Path::parent)
        .context("--checkpoint must be runs/<domain>/<name>/checkpoints/step-N")?;
    let cfg_path = run_dir.join("model.json");
    let cfg: AwdConfig = serde_json::from_str(
        &fs::read_to_string(&cfg_path).with_context(|| format!("cannot read {}", cfg_path.display()))?,
    )
    .with_context(|| format!("{} is not a model configuration", cfg_path.display()))?;
    let vocab_path = run_dir.join("vocab.txt");
    let words: Vec<String> = fs::read_to_string(&vocab_path)
        .with_context(|| format!("cannot read {}", vocab_path.display()))?
        .lines()
        .map(str::to_owned)
        .collect();
    let vocab = Vocab::from_words(&words);
    if vocab.len() != cfg.vocab {
        bail!(
            "{} has {} words but the model {}",
            vocab_path.display(),
            vocab.len(),
            cfg.vocab
        );
    }
    let mut vs = VarStore::new(Device::Cpu);
    let model = AwdLstm::new(&vs.root(), &cfg)?;
    let weights = args.checkpoint.join("model.safetensors");
    vs.load(&weights)
        .with_context(|| format!("cannot load {}", weights.display()))?;
    tch::manual_seed(args.seed as i64);
    let eos = vocab.id(EOS).context("the vocabulary has no <eos>")?;
    let mut token = Tensor::from_slice(&[eos]).view([1, 1]);
    let mut hidden = model.init_hidden(1);
    let mut line = Vec::new();
    tch::no_grad(|| {
        for _ in 0..args.words {
            let out = model.forward(&token, &hidden, false);
            hidden = out.hidden;
            let probs = (out.logits / args.temperature.max(1e-6)).softmax(-1, Kind::Float);
            let id = probs.multinomial(1, true).int64_value(&[0, 0]);
            let word = vocab.word(id).unwrap_or("<?>");
            if word == EOS {
                println!("{}", line.join(" "));
                line.clear();
            } else {
                line.push(word.to_owned());
            }
            token = Tensor::from_slice(&[id]).view([1, 1]);
        }
    });
    if !line.is_empty() {
        println!("{}", line.join(" "));
    }
    Ok(())
}
