//! Build-script helper shared by every crate that produces binaries, tests or examples on tch.
//!
//! The linker's default `--as-needed` drops `libtorch_cuda.so` from a binary because no symbol
//! of it is referenced directly; libtorch then silently reports CUDA as unavailable on a GPU
//! machine. [`link_libtorch`] tells the linker to keep `libtorch_cuda` (and `libtorch`) with
//! `--no-as-needed`, and records an rpath to libtorch's library folder so the binaries run
//! without `LD_LIBRARY_PATH`. Call it from `build.rs`:
//!
//! ```no_run
//! torch_link::link_libtorch();
//! ```
#![warn(missing_docs)]

use std::path::PathBuf;

/// Emits the `cargo:` lines that force-link libtorch's CUDA library (when the libtorch found
/// through `LIBTORCH` ships one) and add an rpath to it. Does nothing on non-Linux targets.
pub fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let lib_dir = std::env::var_os("LIBTORCH").map(|p| PathBuf::from(p).join("lib"));
    let has_cuda = lib_dir
        .as_ref()
        .is_none_or(|dir| dir.join("libtorch_cuda.so").exists());
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    if has_cuda {
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
    if let Some(dir) = lib_dir {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
}
