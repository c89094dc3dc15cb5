//! `vision`: the paper's image classifiers (Table 3) trained with any pisa-rs optimizer.
//!
//! ```text
//! cargo xtask data cifar10
//! vision train --model resnet34 --optimizer sisa --epochs 200 --valid 0
//! vision train --model vgg11 --optimizer sgd --epochs 10 --examples 10000 --valid 1000
//! vision params --model densenet121
//! ```
//!
//! `train` writes `runs/vision/<name>/` (per epoch: `train/loss`, `train/accuracy`,
//! `valid/*`, `test/loss`, `test/accuracy`, `lr/factor`, `train/images_per_s`; `summary.json`
//! with the best test accuracy over epochs — the paper's metric — the final one, and the test
//! accuracy at the best validation epoch). `params` prints the model's trainable parameter
//! count, tensor by tensor with `--list`.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use runs::session::RunArgs;
use tch::nn;
use vision::models::ModelName;
use vision::train::{train, VisionConfig};

#[derive(Parser, Debug)]
#[command(
    about = "The paper's vision models (VGG-11, ResNet-18/34, DenseNet-121) trained with pisa-rs optimizers"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train one run on CIFAR-10.
    Train(Box<TrainArgs>),
    /// Print a model's trainable parameter count (PyTorch's `sum(p.numel())`).
    Params(ParamsArgs),
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    config: VisionConfig,
}

#[derive(clap::Args, Debug)]
struct ParamsArgs {
    /// vgg11, resnet18, resnet34, densenet121, resnet18-imagenet, vgg-tiny.
    #[arg(long)]
    model: ModelName,
    /// Classes of the output layer [default: 10; 1000 for resnet18-imagenet].
    #[arg(long, value_parser = runs::cli::in_range(1i64, 100_000))]
    classes: Option<i64>,
    /// Also list every tensor with its shape.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    runs::cli::exit(run())
}

fn run() -> Result<()> {
    match Args::parse().command {
        Command::Train(args) => {
            train(&args.config, &args.run)?;
        }
        Command::Params(args) => {
            let classes = args.classes.unwrap_or(match args.model {
                ModelName::Resnet18Imagenet => 1000,
                _ => 10,
            });
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let _net = args.model.build(&vs.root(), classes);
            let mut vars = vs.variables().into_iter().collect::<Vec<_>>();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            let trainable: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
            if args.list {
                for (name, t) in &vars {
                    println!("{name} {:?}", t.size());
                }
            }
            println!(
                "{} ({classes} classes): {trainable} trainable parameters",
                args.model
            );
        }
    }
    Ok(())
}
