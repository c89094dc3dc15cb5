//! GPT-2 with PISA-family optimizers: train, fine-tune, sample, tokenize, compare, bench.
//!
//! Paper: Preconditioned Inexact Stochastic ADMM (arXiv 2502.10784), §5.3 (NSISA pre-training)
//! and App. A.4 (SISA fine-tuning).
//!
//! ```text
//! cargo xtask data text                                   # corpora → data/text/*.bin
//! llm train --preset tiny --optimizer nsisa --data data/text --steps 300
//! llm compare --runs runs --names adamw,muon,nsisa        # val loss vs tokens / wall-clock
//! llm sample --checkpoint runs/llm/nsisa/model --prompt "It was" --top-k 40
//! llm finetune --from <hf dir> --data recipes.txt --optimizer sisa --epochs 5
//! ```
//!
//! Expected (tiny preset, CPU): the validation loss falls from ln(50257) ≈ 10.8 to about 6–7
//! within a few hundred steps of 2k tokens (see README's LLM section for measured numbers).

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use llm::generate::{generate, Sampling};
use llm::tokenizer::Tokenizer;
use llm::train::{train, TrainArgs};
use llm::{hf, Gpt2};
use report::plot::{plot_curves, read_metrics_csv, Axis, PlotOptions, Run};
use runs::cli::{in_half_open, in_range, probability, UsageError};
use runs::device::parse_device;
use std::path::PathBuf;
use std::process::ExitCode;
use tch::nn::VarStore;

#[derive(Parser)]
#[command(about = "GPT-2 in tch with PISA-family optimizers")]
struct Cli {
    /// Torch intra-op threads, 1 to 1024 (default: libtorch's choice).
    #[arg(long, global = true, value_parser = in_range(1usize, 1024))]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pre-train from a preset (or continue a Hugging Face checkpoint with --from).
    Train(TrainArgs),
    /// Fine-tune a Hugging Face checkpoint (--from required; presets `gpt2-finetune`).
    Finetune(TrainArgs),
    /// Generate text from a Hugging Face checkpoint directory (a run's `model/`).
    Sample(SampleArgs),
    /// Tokenize text files into train/val shards.
    Tokenize(TokenizeArgs),
    /// Plot the validation loss of runs against tokens and wall-clock.
    Compare(CompareArgs),
}

#[derive(clap::Args)]
struct SampleArgs {
    /// A Hugging Face checkpoint directory, or a run folder (its `model/` is used).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The text to continue.
    #[arg(long, default_value = "")]
    prompt: String,
    /// New tokens to generate, 1 to the model's context (n_positions) less the prompt.
    #[arg(long, default_value_t = 64, value_parser = in_range(1usize, 1_000_000))]
    max_new: usize,
    /// Temperature, 0 to 100 (0: greedy).
    #[arg(long, default_value_t = 0.8, value_parser = in_range(0.0f64, 100.0))]
    temperature: f64,
    /// Top-k filter, 1 to 10⁶ (beyond the vocabulary: no filter).
    #[arg(long, value_parser = in_range(1usize, 1_000_000))]
    top_k: Option<usize>,
    /// Top-p (nucleus) filter, in (0, 1].
    #[arg(long, value_parser = probability)]
    top_p: Option<f64>,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, cuda or auto.
    #[arg(long, default_value = "auto")]
    device: String,
}

#[derive(clap::Args)]
struct TokenizeArgs {
    /// Text files (each one document).
    #[arg(long, num_args = 1.., required = true)]
    input: Vec<PathBuf>,
    /// Output directory of the shards.
    #[arg(long)]
    out: PathBuf,
    /// Shard name prefix.
    #[arg(long, default_value = "text")]
    prefix: String,
    /// Share of each file's tokens held out for validation, in [0, 1).
    #[arg(long, default_value_t = 0.1, value_parser = in_half_open(0.0, 1.0))]
    val_fraction: f64,
    /// Tokens per shard, 1 to 4·10⁹.
    #[arg(long, default_value_t = 100_000_000, value_parser = in_range(1usize, 4_000_000_000))]
    shard_tokens: usize,
}

#[derive(clap::Args)]
struct CompareArgs {
    /// Where run folders are (`<runs>/llm/<name>`).
    #[arg(long, default_value = "runs")]
    runs: PathBuf,
    /// Run names, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    names: Vec<String>,
}

fn main() -> ExitCode {
    runs::cli::exit(run())
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    if let Some(n) = cli.threads.filter(|&n| n > 0) {
        tch::set_num_threads(n as i32);
    }
    match cli.command {
        // The session prints the summary as one JSON line.
        Command::Train(args) => drop(train(&args)?),
        Command::Finetune(args) => {
            if args.from.is_none() {
                bail!("finetune needs --from <Hugging Face checkpoint directory>");
            }
            train(&args)?;
        }
        Command::Sample(args) => sample(&args)?,
        Command::Tokenize(a) => {
            let stats =
                llm::text::tokenize_files(&a.input, &a.out, &a.prefix, a.val_fraction, a.shard_tokens)?;
            println!("{}", serde_json::to_string(&stats)?);
        }
        Command::Compare(a) => compare(&a)?,
    }
    Ok(())
}

fn sample(args: &SampleArgs) -> Result<()> {
    let device = parse_device(&args.device)?;
    let dir = if args.checkpoint.join(hf::CONFIG).exists() {
        args.checkpoint.clone()
    } else {
        args.checkpoint.join("model")
    };
    let config = hf::load_config(&dir)?;
    let mut vs = VarStore::new(device);
    let model = Gpt2::new(&vs.root(), &config)?;
    hf::load_weights(&dir, &mut vs, config.tie_word_embeddings)?;
    let tok = Tokenizer::gpt2();
    let prompt = tok.encode(&args.prompt);
    // Generation past the context would slide a window one token at a time (minutes with no
    // output): refused, naming the room left.
    let room = (config.n_positions as usize).saturating_sub(prompt.len().max(1));
    if args.max_new > room {
        return Err(UsageError::new(
            "--max-new",
            format!(
                "{} is beyond the model's context: {} positions, {} taken by the prompt; at most {room}",
                args.max_new,
                config.n_positions,
                prompt.len().max(1)
            ),
        )
        .into());
    }
    let s = Sampling {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
    };
    let out = generate(&model, &prompt, args.max_new, &s, args.seed, device);
    println!("{}{}", args.prompt, tok.decode(&out));
    Ok(())
}

fn compare(args: &CompareArgs) -> Result<()> {
    let dir = args.runs.join("llm");
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)?;
    let (mut by_step, mut by_tokens) = (Vec::new(), Vec::new());
    for name in &args.names {
        let run = read_metrics_csv(dir.join(name).join("metrics.csv"))
            .with_context(|| format!("run `{name}` in {}", dir.display()))?;
        // x = tokens seen: the `train/tokens` column of the same row.
        let mut t = Run::new(name.clone(), ["val/loss"])?;
        let tokens_col = run.metric_index("train/tokens");
        let val_col = run.metric_index("val/loss");
        if let (Some(tc), Some(vc)) = (tokens_col, val_col) {
            for row in run.rows() {
                if let (Some(tok), Some(v)) = (row.values[tc], row.values[vc]) {
                    t.push(tok as u64, row.wall_time_s, &[("val/loss", v)])?;
                }
            }
        }
        by_tokens.push(t);
        by_step.push(run);
    }
    let opts = |title: &str, x_label: Option<&str>| PlotOptions {
        title: Some(title.into()),
        x_label: x_label.map(String::from),
        y_label: Some("validation loss".into()),
        ..PlotOptions::default()
    };
    let a = plot_curves(
        &by_tokens,
        "val/loss",
        Axis::Steps,
        &plots.join("val_loss_vs_tokens.png"),
        &opts("validation loss vs tokens", Some("training tokens")),
    )?;
    let b = plot_curves(
        &by_step,
        "val/loss",
        Axis::WallClock,
        &plots.join("val_loss_vs_wallclock.png"),
        &opts("validation loss vs wall-clock", None),
    )?;
    println!("{}\n{}", a.path.display(), b.path.display());
    for r in &by_step {
        println!(
            "{}: final val/loss {:?}, wall {:?} s",
            r.name(),
            r.final_value("val/loss"),
            r.wall_clock_s()
        );
    }
    Ok(())
}
