//! NCCL for CUDA tensors (feature `nccl`). The two-GPU test starts itself again under
//! `mpirun -np 2`, one rank per GPU, and checks all-reduce, broadcast and send/receive of CUDA
//! tensors in device memory:
//!
//! ```text
//! cargo test -p pisa-core --features nccl --test nccl -- --ignored   # needs 2 CUDA GPUs
//! ```
//!
//! It finds torch's `libnccl.so.2` (next to `$LIBTORCH`, or `PISA_NCCL_LIB=/path/libnccl.so.2`)
//! and links it as `libnccl.so` in a temporary folder put first on the ranks' `LD_LIBRARY_PATH`,
//! since cudarc opens `libnccl.so`. `cargo xtask test` only compiles this file and runs the test
//! that needs no GPU.
#![cfg(feature = "nccl")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use pisa_core::collective::{local_rank, Collective, Mpi, Nccl, Ranks, Reduction};
use tch::{Device, Kind, Tensor};

/// CPU tensors always take the host path (MPI), whatever their kind; on a machine with CUDA,
/// tensors on another GPU than the communicator's, or of another kind than f32/f64, are refused
/// rather than summed on the host behind NCCL's back.
#[test]
fn cpu_tensors_take_the_host_path_and_foreign_cuda_tensors_are_refused() {
    for kind in [Kind::Float, Kind::Double, Kind::Int64] {
        let t = Tensor::zeros([3], (kind, Device::Cpu));
        assert!(!Nccl::takes_device_path(&t, 0).unwrap(), "{kind:?}");
    }
    if tch::Cuda::is_available() {
        let on_0 = Tensor::zeros([3], (Kind::Float, Device::Cuda(0)));
        assert!(Nccl::takes_device_path(&on_0, 0).unwrap());
        assert!(Nccl::takes_device_path(&on_0, 1).is_err());
        let ints = Tensor::zeros([3], (Kind::Int64, Device::Cuda(0)));
        assert!(Nccl::takes_device_path(&ints, 0).is_err());
    }
}

const TWO_GPUS: &str = "cuda_tensors_are_summed_broadcast_and_passed_by_nccl_over_two_ranks";

#[test]
#[ignore = "needs 2 CUDA GPUs: cargo test -p pisa-core --features nccl --test nccl -- --ignored (it runs itself under mpirun -np 2; see the module docs)"]
fn cuda_tensors_are_summed_broadcast_and_passed_by_nccl_over_two_ranks() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        return rank();
    }
    let gpus = tch::Cuda::device_count();
    assert!(gpus >= 2, "needs 2 CUDA GPUs, found {gpus}");
    let links = nccl_link_dir();
    let path = match std::env::var("LD_LIBRARY_PATH") {
        Ok(old) => format!("{}:{old}", links.display()),
        Err(_) => links.display().to_string(),
    };
    let out = Command::new("mpirun")
        .args(["--oversubscribe", "--allow-run-as-root", "-np", "2"])
        .args(["-x", "LD_LIBRARY_PATH"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            TWO_GPUS,
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LD_LIBRARY_PATH", path)
        .output()
        .expect("mpirun: install OpenMPI (cargo xtask setup)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for r in 0..2 {
        assert!(
            stdout.contains(&format!("rank {r}: nccl ok")),
            "{stdout}\n{stderr}"
        );
    }
}

/// One rank's part, under mpirun: rank r holds r + 1 everywhere.
fn rank() {
    let mpi = Arc::new(Mpi::init().unwrap());
    let r = mpi.rank();
    let ordinal = local_rank().expect("OMPI_COMM_WORLD_LOCAL_RANK");
    let nccl = Arc::new(Nccl::init(mpi, ordinal).unwrap());
    let dev = Device::Cuda(ordinal);
    let own = (r + 1) as f64;

    // The engine takes a CUDA tensor itself (no host copy) and sums it: 1 + 2.
    let mut t = Tensor::full([1000], own, (Kind::Float, dev));
    assert!(matches!(nccl.all_reduce_sum_tensor(&mut t), Some(Ok(()))));
    assert_eq!(t.device(), dev);
    assert_eq!(Vec::<f32>::try_from(t.to(Device::Cpu)).unwrap(), vec![3.0; 1000]);

    let ranks = Ranks::new(nccl.clone(), 2, Reduction::AllReduce).unwrap();
    // f64, non-contiguous: summed through a contiguous device copy written back.
    let base = Tensor::arange(6, (Kind::Double, dev)).view([2, 3]) * own;
    let mut view = base.tr();
    ranks.all_reduce_sum(&mut view).unwrap();
    let expected = Tensor::arange(6, (Kind::Double, Device::Cpu)) * 3.0;
    assert_eq!(
        Vec::<f64>::try_from(base.to(Device::Cpu).reshape([-1])).unwrap(),
        Vec::<f64>::try_from(expected).unwrap()
    );

    // Broadcast from rank 1.
    let mut b = Tensor::full([5], own, (Kind::Float, dev));
    ranks.broadcast(&mut b, 1).unwrap();
    assert_eq!(Vec::<f32>::try_from(b.to(Device::Cpu)).unwrap(), vec![2.0; 5]);

    // Rank 0 sends to rank 1.
    let mut p = Tensor::from_slice(&[1.5f64, -2.5]).to(dev);
    match r {
        0 => ranks.send(&mut p, 1).unwrap(),
        _ => {
            let mut got = Tensor::zeros([2], (Kind::Double, dev));
            ranks.receive(&mut got, 0).unwrap();
            assert_eq!(Vec::<f64>::try_from(got.to(Device::Cpu)).unwrap(), [1.5, -2.5]);
        }
    }

    // CPU tensors go to MPI.
    let mut c = Tensor::from_slice(&[own]);
    assert!(nccl.all_reduce_sum_tensor(&mut c).is_none());
    ranks.all_reduce_sum(&mut c).unwrap();
    assert_eq!(Vec::<f64>::try_from(&c).unwrap(), [3.0]);

    ranks.collective().barrier().unwrap();
    println!("rank {r}: nccl ok");
}

/// A fresh folder holding `libnccl.so` → torch's `libnccl.so.2`.
fn nccl_link_dir() -> PathBuf {
    let lib = std::env::var_os("PISA_NCCL_LIB")
        .map(PathBuf::from)
        .or_else(torch_nccl)
        .expect("torch's libnccl.so.2 not found next to $LIBTORCH: set PISA_NCCL_LIB=/path/to/libnccl.so.2");
    let dir = std::env::temp_dir().join(format!("pisa-nccl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("libnccl.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&lib, &link).unwrap();
    dir
}

/// `libnccl.so.2` in torch's own `lib` or in a `site-packages/nvidia/*/lib` beside it.
fn torch_nccl() -> Option<PathBuf> {
    let torch = PathBuf::from(std::env::var_os("LIBTORCH")?);
    let site = torch.parent().map(Path::to_path_buf)?;
    let mut candidates = vec![torch.join("lib").join("libnccl.so.2")];
    if let Ok(entries) = std::fs::read_dir(site.join("nvidia")) {
        candidates.extend(
            entries
                .flatten()
                .map(|e| e.path().join("lib").join("libnccl.so.2")),
        );
    }
    candidates.into_iter().find(|p| p.is_file())
}
