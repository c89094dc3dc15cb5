//! `bench lstm`: the pisa-rs side of `cargo xtask bench lstm` (beside `lstm_torch.py`).

use anyhow::Result;
use lstm::model::{AwdConfig, AwdLstm};
use lstm::train::SplitMode;
use runs::cli::in_range;
use runs::registry::Registry;
use tch::nn::VarStore;

/// `bench lstm`: training tokens per second of an AWD-LSTM on synthetic tokens.
#[derive(clap::Args, Debug)]
pub struct LstmArgs {
    /// Optimizer (registry name; presets of `lstm-<layers>`).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Vocabulary size, 2 to 2²⁴.
    #[arg(long, default_value_t = 10_000, value_parser = in_range(2usize, 16777216))]
    vocab: usize,
    /// LSTM layers, 1 to 3.
    #[arg(long, default_value_t = 1, value_parser = in_range(1usize, 3))]
    layers: usize,
    /// Embedding size, 1 to 65536.
    #[arg(long, default_value_t = 400, value_parser = in_range(1usize, 65536))]
    emb: usize,
    /// Hidden size, 1 to 65536.
    #[arg(long, default_value_t = 1150, value_parser = in_range(1usize, 65536))]
    hidden: usize,
    /// Window length, 1 to 65536.
    #[arg(long, default_value_t = 70, value_parser = in_range(1usize, 65536))]
    bptt: usize,
    /// Streams, 1 to 65536.
    #[arg(long, default_value_t = 20, value_parser = in_range(1usize, 65536))]
    batch: usize,
    /// Untimed windows, 0 to 10⁶.
    #[arg(long, default_value_t = 1, value_parser = in_range(0usize, 1000000))]
    warmup: usize,
    /// Timed windows, 1 to 10⁶.
    #[arg(long, default_value_t = 5, value_parser = in_range(1usize, 1000000))]
    windows: usize,
    /// Torch threads (0: default), 0 to 1024.
    #[arg(long, default_value_t = 0, value_parser = in_range(0usize, 1024))]
    threads: usize,
    /// cpu, cuda or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs `bench lstm`: one JSON line.
pub fn run(args: &LstmArgs) -> Result<()> {
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
