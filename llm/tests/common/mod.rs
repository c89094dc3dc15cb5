//! Helpers shared by the training-loop tests: `llm train` arguments for a tiny CPU run, and
//! a run's exported weights.

// Each test crate uses a subset of these.
#![allow(dead_code)]

use clap::Parser;
use llm::shards::write_shard;
use llm::train::TrainArgs;
use std::path::Path;
use tch::Tensor;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: TrainArgs,
}

/// Arguments of a `unit`-preset CPU run named `name` on the shards in `data`, writing under
/// `runs`, with sequence length 16 and batch 4 (unless `extra` gives `--batch`): `settings`
/// (flag, value) pairs first, then the flags of `extra`.
pub fn train_args(
    data: &Path,
    runs: &Path,
    name: &str,
    settings: &[(&str, &str)],
    extra: &[&str],
) -> TrainArgs {
    let mut argv = vec![
        "t",
        "--preset",
        "unit",
        "--data",
        data.to_str().unwrap(),
        "--runs",
        runs.to_str().unwrap(),
        "--name",
        name,
        "--seq",
        "16",
        "--device",
        "cpu",
    ];
    if !extra.contains(&"--batch") {
        argv.extend(["--batch", "4"]);
    }
    for (flag, value) in settings {
        argv.extend([*flag, *value]);
    }
    argv.extend_from_slice(extra);
    Cli::parse_from(argv).args
}

/// The final weights a run exported (`<run>/model/model.safetensors`), sorted by name.
pub fn weights(run: &Path) -> Vec<(String, Tensor)> {
    let mut w = Tensor::read_safetensors(run.join("model").join("model.safetensors")).unwrap();
    w.sort_by(|a, b| a.0.cmp(&b.0));
    w
}

/// Token shards from a fixed formula: a period-7 pattern (learnable) mixed with a
/// multiplicative hash, so that different windows give different gradients.
pub fn make_shards(dir: &Path) {
    let tokens: Vec<u16> = (0..4000u64)
        .map(|i| {
            if i % 3 == 0 {
                ((i.wrapping_mul(2_654_435_761) >> 7) % 512) as u16
            } else {
                (100 + (i % 7) * 13) as u16
            }
        })
        .collect();
    write_shard(&dir.join("syn_train_000000.bin"), &tokens).unwrap();
    write_shard(&dir.join("syn_val_000000.bin"), &tokens[..600]).unwrap();
}
