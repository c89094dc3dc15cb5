//! `bench lstm`: the pisa-rs side of `cargo xtask bench lstm` (beside `lstm_torch.py`).

use anyhow::Result;
use lstm::model::{AwdConfig, AwdLstm};
use lstm::train::SplitMode;
use runs::registry::Registry;
use tch::nn::VarStore;

/// `bench lstm`: training tokens per second of an AWD-LSTM on synthetic tokens.
#[derive(clap::Args, Debug)]
pub struct LstmArgs {
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
