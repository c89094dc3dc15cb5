//! `bench gan`: the pisa-rs side of `cargo xtask bench gan` (beside `gan_torch.py`).

use runs::cli::in_range;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use gan::inception::{self, Inception};
use gan::model::{Critic, CriticNorm, Generator, ModelConfig};
use gan::train::{critic_iteration, generator_iteration, GanSettings, Variant};
use gan::GanError;
use runs::registry::Registry;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

/// `bench gan`: training images/s (one critic + one generator iteration) and FID feature
/// images/s, each from the median time of one iteration / one Inception batch.
#[derive(clap::Args, Debug)]
pub struct GanArgs {
    /// wgan or wgan-gp.
    #[arg(long, default_value = "wgan-gp")]
    model: String,
    /// Optimizer of both networks.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Image side, 8 to 1024.
    #[arg(long, default_value_t = 64, value_parser = in_range(8i64, 1024))]
    image_size: i64,
    /// Base width, 1 to 4096.
    #[arg(long, default_value_t = 64, value_parser = in_range(1i64, 4096))]
    base: i64,
    /// Images per iteration, 1 to 65536.
    #[arg(long, default_value_t = 64, value_parser = in_range(1i64, 65536))]
    batch: i64,
    /// Timed training iterations (one critic + one generator iteration each), 1 to 10⁶.
    #[arg(long, default_value_t = 10, value_parser = in_range(1usize, 1000000))]
    iters: usize,
    /// Untimed iterations first, 0 to 10⁶.
    #[arg(long, default_value_t = 2, value_parser = in_range(0usize, 1000000))]
    warmup: usize,
    /// Images through the Inception network (0: skip), 0 to 10⁶.
    #[arg(long, default_value_t = 100, value_parser = in_range(0i64, 1000000))]
    fid_images: i64,
    /// Images per Inception forward pass, 1 to 65536.
    #[arg(long, default_value_t = 50, value_parser = in_range(1i64, 65536))]
    fid_batch: i64,
    /// The TorchScript FID Inception [default: DATA_DIR/fid-inception/default_1.pt].
    #[arg(long)]
    inception: Option<PathBuf>,
    /// libtorch threads (0: default), 0 to 1024.
    #[arg(long, default_value_t = 0, value_parser = in_range(0i32, 1024))]
    threads: i32,
    /// cpu or cuda.
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Runs `bench gan`: one JSON line.
pub fn run(args: GanArgs) -> Result<()> {
    let device = runs::device::parse_device(&args.device)?;
    if args.threads > 0 {
        tch::set_num_threads(args.threads);
    }
    let variant = match args.model.as_str() {
        "wgan" => Variant::Wgan,
        "wgan-gp" => Variant::WganGp,
        other => bail!("--model {other}: expected wgan or wgan-gp"),
    };
    let cfg = ModelConfig {
        z_dim: 100,
        base: args.base,
        channels: 3,
        image_size: args.image_size,
        critic_norm: if variant == Variant::Wgan {
            CriticNorm::Batch
        } else {
            CriticNorm::None
        },
    };
    cfg.validate().map_err(GanError::Config)?;
    tch::manual_seed(0);
    let (gvs, mut dvs) = (VarStore::new(device), VarStore::new(device));
    let (generator, critic) = (Generator::new(&gvs.root(), &cfg), Critic::new(&dvs.root(), &cfg));
    let opt_cfg = Registry::builtin().resolve(variant.as_str(), &args.optimizer, &toml::Table::new())?;
    let (mut opt_g, mut opt_d) = (opt_cfg.build(&gvs)?, opt_cfg.build(&dvs)?);
    let settings = GanSettings::new(variant);
    let opts = (Kind::Float, device);
    let real = Tensor::rand([args.batch, 3, args.image_size, args.image_size], opts) * 2.0 - 1.0;
    let mut iteration = || -> Result<()> {
        let z = Tensor::randn([args.batch, 100], opts);
        let eps = Tensor::rand([args.batch], opts);
        let fake = tch::no_grad(|| generator.forward_t(&z, true));
        critic_iteration(opt_d.as_mut(), &critic, &dvs, &real, &fake, &eps, &settings)?;
        generator_iteration(opt_g.as_mut(), &generator, &critic, &mut dvs, &z)?;
        Ok(())
    };
    for _ in 0..args.warmup {
        iteration()?;
    }
    // Each iteration is timed on its own and the median counts: robust to other load.
    let mut iteration_s = Vec::with_capacity(args.iters);
    for _ in 0..args.iters.max(1) {
        sync(device);
        let t = Instant::now();
        iteration()?;
        sync(device);
        iteration_s.push(t.elapsed().as_secs_f64());
    }
    let mut record = serde_json::json!({
        "side": "pisa-rs",
        "model": variant.as_str(),
        "optimizer": args.optimizer,
        "nodes": opt_d.node_weights().len(),
        "image_size": args.image_size,
        "batch": args.batch,
        "threads": tch::get_num_threads(),
        "device": args.device,
        "iters": iteration_s.len(),
        "train_images_per_s": args.batch as f64 / median(&mut iteration_s),
    });
    if args.fid_images > 0 {
        let net = Inception::load(&args.inception.unwrap_or_else(inception::default_path), device)?;
        let x = Tensor::rand([args.fid_batch, 3, 32, 32], opts) * 255.0;
        let _ = net.features(&x, 0.0, 255.0)?; // warm-up
        let mut batch_s = Vec::new();
        let mut done = 0;
        while done < args.fid_images {
            sync(device);
            let t = Instant::now();
            let _ = net.features(&x, 0.0, 255.0)?;
            sync(device);
            batch_s.push(t.elapsed().as_secs_f64());
            done += args.fid_batch;
        }
        record["fid_images_per_s"] = serde_json::json!(args.fid_batch as f64 / median(&mut batch_s));
    }
    println!("{record}");
    Ok(())
}

/// The median of `values` (sorted in place); NaN when empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => 0.5 * (values[n / 2 - 1] + values[n / 2]),
    }
}
