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
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lstm::corpus::{Vocab, EOS};
use lstm::model::{AwdConfig, AwdLstm};
use lstm::run::TrainConfig;
use runs::cli::in_range;
use runs::session::RunArgs;
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
    /// Build the PTB-like corpus from raw texts (`cargo xtask data ptb-like` runs this).
    Corpus(CorpusArgs),
}

#[derive(Args, Debug, Clone)]
struct TrainArgs {
    /// Optimizer (default sisa; presets of the `lstm-<layers>` domain), run folder, seed, device.
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    config: TrainConfig,
}

#[derive(Args, Debug)]
struct CorpusArgs {
    /// Output folder for ptb.{train,valid,test}.txt.
    #[arg(long)]
    out: PathBuf,
    /// Raw text files in order (a file in a `brown/` folder is one sentence per line).
    #[arg(required = true)]
    texts: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// A checkpoint folder (`runs/<domain>/<name>/checkpoints/step-N`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Words to generate, 1 to 10⁶.
    #[arg(long, default_value_t = 100, value_parser = in_range(1usize, 1_000_000))]
    words: usize,
    /// Softmax temperature, 0 to 100 (0: greedy).
    #[arg(long, default_value_t = 1.0, value_parser = in_range(0.0f64, 100.0))]
    temperature: f64,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> ExitCode {
    runs::cli::exit(run())
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Sample(args)) => sample(&args),
        Some(Command::Corpus(args)) => corpus(&args),
        Some(Command::Train(args)) => train(&args),
        None => train(&cli.train),
    }
}

fn train(args: &TrainArgs) -> Result<()> {
    lstm::run::train(&args.config, &args.run)?;
    Ok(())
}

fn corpus(args: &CorpusArgs) -> Result<()> {
    for split in lstm::ptb_like::build(&args.texts, &args.out)? {
        println!(
            "  {:<40} {:>7} sentences {:>8} words (+<eos>: {:>8})",
            split.path.display(),
            split.sentences,
            split.words,
            split.words + split.sentences
        );
    }
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
