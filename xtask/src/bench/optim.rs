//! `cargo xtask bench optim`: optimizer step time and state memory, pisa-rs next to PyTorch's
//! AdamW (foreach and fused), on the parameter shapes of `bench/shapes.json`.
//!
//! Both programs print [`BenchRecord`](super::record::BenchRecord) JSON lines; the raw lines go
//! to `target/bench/optim.jsonl` and the table to `target/bench/optim.md` (and stdout).

use std::fs;
use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};

use super::record::{parse_lines, RawRecord};
use super::{report, OptimArgs};
use crate::cache::{cache_dir, project_root};
use crate::cargo::{release_program, stdout_of, Target};
use crate::setup;

/// The pisa-core example that times pisa-rs optimizers.
const EXAMPLE: &str = "bench_optim";
/// The PyTorch baseline script, relative to the repository root.
const TORCH_SCRIPT: &str = "bench/torch_optim.py";
/// Parameter shapes shared by both programs, relative to the repository root.
const SHAPES: &str = "bench/shapes.json";
/// Output folder, relative to the repository root.
const OUT_DIR: &str = "target/bench";

/// Runs `cargo xtask bench optim`.
pub fn run(args: &OptimArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let torch = setup::ensure_torch_venv(&cache_dir()?)?;
    let root = project_root();

    let mut shared_args = vec!["--shapes", SHAPES, "--device", args.device.as_str()];
    if args.quick {
        shared_args.push("--quick");
    }
    // Build first, so that compiling never overlaps a timed run; then run one program at a time.
    let mut pisa_cmd = release_program(&toolchain, "pisa-core", Target::Example(EXAMPLE))?;
    let pisa_out = stdout_of(pisa_cmd.args(&shared_args))?;
    // The venv's own torch, without LIBTORCH's library path (which may be another libtorch).
    let mut torch_cmd = Command::new(&torch.python);
    torch_cmd
        .arg(TORCH_SCRIPT)
        .args(&shared_args)
        .current_dir(root)
        .stdin(Stdio::null());
    let torch_out = stdout_of(&mut torch_cmd)?;

    let mut records: Vec<RawRecord> = parse_lines(&pisa_out, EXAMPLE)?;
    records.extend(parse_lines(&torch_out, TORCH_SCRIPT)?);
    ensure!(!records.is_empty(), "the benchmarks printed no JSON lines");

    let parsed: Vec<_> = records.iter().map(|r| r.record.clone()).collect();
    let title = format!(
        "Optimizer step: pisa-rs vs. PyTorch on {}{}",
        args.device.as_str(),
        if args.quick {
            " (--quick: rough timings)"
        } else {
            ""
        }
    );
    let markdown = report::render_markdown(&report::group(&parsed), &title);

    let out_dir = root.join(OUT_DIR);
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let jsonl: String = records.iter().map(|r| format!("{}\n", r.line)).collect();
    fs::write(out_dir.join("optim.jsonl"), jsonl).context("cannot write optim.jsonl")?;
    fs::write(out_dir.join("optim.md"), &markdown).context("cannot write optim.md")?;
    print!("{markdown}");
    eprintln!("xtask: wrote {OUT_DIR}/optim.md and {OUT_DIR}/optim.jsonl");
    Ok(())
}
