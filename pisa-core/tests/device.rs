//! Linking and device checks.

use pisa_core::pisa::PisaConfig;
use pisa_core::{OptimizerConfig, OptimizerKind};
use tch::{Device, Kind, Tensor};

/// The build script keeps libtorch_cuda linked (`--no-as-needed`), so a CUDA machine sees its
/// GPU. The wheel's libtorch ships the CUDA library; it must be mapped into this process.
#[test]
fn libtorch_cuda_is_linked() {
    let lib = std::env::var_os("LIBTORCH").map(|p| std::path::PathBuf::from(p).join("lib/libtorch_cuda.so"));
    if !lib.is_some_and(|l| l.exists()) {
        eprintln!("LIBTORCH has no libtorch_cuda.so (a CPU-only libtorch): nothing to check");
        return;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").expect("Linux /proc");
    assert!(
        maps.contains("libtorch_cuda.so"),
        "libtorch_cuda.so is not loaded: CUDA would be unavailable"
    );
}

fn sisa_run(device: Device) -> Vec<f64> {
    tch::manual_seed(11);
    let w = Tensor::randn([64, 33], (Kind::Float, Device::Cpu))
        .to_device(device)
        .set_requires_grad(true);
    let targets: Vec<Tensor> = (0..4)
        .map(|_| Tensor::randn([64, 33], (Kind::Float, Device::Cpu)).to_device(device))
        .collect();
    let cfg = PisaConfig {
        nodes: 4,
        sigma: 0.5,
        lr: Some(0.01),
        lambda: 1e-3,
        ..PisaConfig::default()
    };
    let mut opt = OptimizerConfig::new(OptimizerKind::Sisa(cfg))
        .build_named(vec![("w".into(), w.shallow_clone())])
        .unwrap();
    for _ in 0..10 {
        opt.step(&mut |i| (&w - &targets[i]).square().mean(Kind::Float))
            .unwrap();
    }
    Vec::<f64>::try_from(w.to_device(Device::Cpu).to_kind(Kind::Double).reshape([-1])).unwrap()
}

/// SISA on CUDA (tensor path) equals SISA on CPU (fused kernel) to f32 rounding.
#[test]
#[ignore = "needs a CUDA device: run `cargo xtask test -- --ignored` on a GPU machine"]
fn sisa_on_cuda_matches_cpu() {
    assert!(tch::Cuda::is_available(), "no CUDA device");
    let (cpu, gpu) = (sisa_run(Device::Cpu), sisa_run(Device::Cuda(0)));
    let err = cpu
        .iter()
        .zip(&gpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-5, "max |cpu − cuda| = {err}");
}
