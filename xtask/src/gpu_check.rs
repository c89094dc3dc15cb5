//! `cargo xtask gpu-check`: everything that needs a CUDA GPU, prepared to run in one go on the
//! day a GPU is lent.
//!
//! It builds release binaries (the test executables of the `#[ignore]`d CUDA tests in
//! [`CUDA_TESTS`], and the programs that `cargo xtask bench optim|llm|gan --device cuda` run),
//! copies them, stripped, with the PyTorch baseline scripts and a generated `run.sh` into one
//! folder, and (without `--prepare`) runs `run.sh` at once. `run.sh` needs no cargo: it runs each
//! item under `timeout` and appends PASS / FAIL / TIMEOUT / SKIP per item, each item's output and
//! the total wall time to one Markdown file.
//!
//! ```text
//! cargo xtask gpu-check                                  # a machine with cargo and a GPU
//! cargo xtask gpu-check --prepare target/gpu-check       # here; then, on the GPU machine:
//! bash target/gpu-check/run.sh [RESULTS.md]              # default $OUT/gpu-check.md, else beside run.sh
//! ```
//!
//! Time budget: the items' timeouts (plus a kill grace each and the probes) sum to at most
//! [`BUDGET_S`] (8 minutes); a unit test keeps it so. On a machine with fewer GPUs than a test
//! needs, without `mpirun` where one is needed, without a binary's shared libraries, or without a
//! Python that imports torch (the PyTorch side of the benches), the item is skipped with the
//! reason in the results file.
//!
//! `run.sh` finds libtorch through `$PISA_TORCH_LIB` (a `.../torch/lib` folder) or else the
//! Python's torch (`$PISA_PYTHON`, default `python3`): the binaries are built against torch
//! [`setup::TORCH_VERSION`], and the results file names the version found. The GAN bench's FID
//! part needs the Inception network (`cargo xtask data fid-inception`, 87 MB, not copied):
//! `$PISA_FID_INCEPTION`, else `fid-inception/default_1.pt` beside `run.sh`, else it runs with
//! `--fid-images 0` and says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;

use crate::cache::project_root;
use crate::cargo::{cargo, run_checked, stdout_of, succeeds};
use crate::setup::{self, Toolchain};

/// Arguments of `cargo xtask gpu-check`.
#[derive(Args, Debug)]
pub struct GpuCheckArgs {
    /// Only build and copy the binaries, scripts and `run.sh` into DIR (git-ignored, e.g.
    /// `target/gpu-check`) for a GPU machine without cargo; runs nothing.
    #[arg(long, value_name = "DIR")]
    pub prepare: Option<PathBuf>,
    /// The results file when running [default: `$OUT/gpu-check.md`, else
    /// `target/gpu-check/gpu-check.md`].
    #[arg(long, value_name = "FILE", conflicts_with = "prepare")]
    pub results: Option<PathBuf>,
}

/// An `#[ignore]`d test that needs CUDA, run as `<test binary> --ignored --exact <name>`.
#[derive(Debug, Clone, Copy)]
pub struct CudaTest {
    /// The package that holds it.
    pub package: &'static str,
    /// Its integration-test target (`--test <target>`).
    pub target: &'static str,
    /// Features the target needs (`--features`), empty for none.
    pub features: &'static str,
    /// The test function's name.
    pub name: &'static str,
    /// The source file, relative to the repository root (checked by a unit test).
    pub file: &'static str,
    /// CUDA GPUs it needs; skipped on a machine with fewer.
    pub gpus: u32,
    /// A program it starts that must be on `PATH` (`-`: none); skipped without it.
    pub tool: &'static str,
    /// Its timeout in seconds.
    pub timeout_s: u32,
}

/// Every `#[ignore]`d test that needs CUDA, read from the ignore reasons. A unit test fails when
/// an entry no longer names an ignored test in its file, or when an ignored test whose reason
/// mentions CUDA or a GPU is missing here. Other ignored tests (the FID Inception network,
/// ImageNet, 10k rapier steps) need data or time, not a GPU, and are left out.
pub const CUDA_TESTS: &[CudaTest] = &[
    // SISA on CUDA (tensor path) equals SISA on CPU (fused kernel): one GPU, seconds.
    CudaTest {
        package: "pisa-core",
        target: "device",
        features: "",
        name: "sisa_on_cuda_matches_cpu",
        file: "pisa-core/tests/device.rs",
        gpus: 1,
        tool: "-",
        timeout_s: 40,
    },
    // NCCL all-reduce / broadcast / send-receive of CUDA tensors: two GPUs, starts itself under
    // `mpirun -np 2`; its binary links OpenMPI, so it is built only where MPI is installed.
    CudaTest {
        package: "pisa-core",
        target: "nccl",
        features: "nccl",
        name: "cuda_tensors_are_summed_broadcast_and_passed_by_nccl_over_two_ranks",
        file: "pisa-core/tests/nccl.rs",
        gpus: 2,
        tool: "mpirun",
        timeout_s: 50,
    },
];

/// The whole run's limit in seconds: 8 minutes.
pub const BUDGET_S: u32 = 480;
/// Seconds `timeout -k` waits after its TERM before it kills an item.
const KILL_GRACE_S: u32 = 2;
/// Seconds kept for what `run.sh` does besides the items (probes, `ldd`, writing results).
const OVERHEAD_S: u32 = 20;
/// Lines of each item's output kept in the results file.
const TAIL_LINES: u32 = 60;
/// Where `cargo xtask gpu-check` prepares when it runs at once.
const DEFAULT_DIR: &str = "target/gpu-check";
/// The PyTorch side of the benches and their shared input, copied beside `run.sh` (same paths).
const BENCH_FILES: &[&str] = &[
    "bench/torch_optim.py",
    "bench/shapes.json",
    "bench/gpt2_torch.py",
    "bench/gan_torch.py",
];

/// Which program an item runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// A release binary in `bin/`.
    Rust,
    /// A PyTorch script, run by `$PYTHON`.
    Python,
}

/// One item of `run.sh`.
#[derive(Debug, Clone)]
struct Step {
    /// What the results file calls it.
    title: String,
    /// Which program runs it.
    side: Side,
    /// The program (`bin/...` or a script) and its arguments; an argument starting with `$` is a
    /// shell variable of `run.sh`.
    argv: Vec<String>,
    /// Its `timeout` in seconds.
    timeout_s: u32,
    /// CUDA GPUs needed.
    gpus: u32,
    /// A program needed on `PATH`, `-` for none.
    tool: &'static str,
    /// Tests that must pass (`test result: ok. N passed`), 0 for a bench.
    expect_passed: usize,
    /// What a machine with cargo would run instead.
    equivalent: String,
    /// Where it is defined: the test's file, or the xtask module that runs the bench.
    source: &'static str,
}

/// A release binary copied into `bin/`.
#[derive(Debug, Clone, Copy)]
struct Program {
    package: &'static str,
    /// `--bin` or `--example`.
    flag: &'static str,
    name: &'static str,
}

/// The programs the benches run (`cargo xtask bench optim` runs pisa-core's example, `llm` and
/// `gan` the `bench` binary).
const PROGRAMS: &[Program] = &[
    Program {
        package: "pisa-core",
        flag: "--example",
        name: "bench_optim",
    },
    Program {
        package: "bench",
        flag: "--bin",
        name: "bench",
    },
];

/// The file name in `bin/` of a CUDA test's executable.
fn test_binary(test: &CudaTest) -> String {
    format!("bin/test-{}-{}", test.package, test.target)
}

/// The test items: one per test binary and requirement, all its names at once.
fn test_steps() -> Vec<Step> {
    let mut groups: BTreeMap<(String, u32, &str), Vec<&CudaTest>> = BTreeMap::new();
    for t in CUDA_TESTS {
        groups
            .entry((test_binary(t), t.gpus, t.tool))
            .or_default()
            .push(t);
    }
    groups
        .into_iter()
        .map(|((binary, gpus, tool), tests)| {
            let names: Vec<&str> = tests.iter().map(|t| t.name).collect();
            let first = tests[0];
            let features = match first.features {
                "" => String::new(),
                f => format!(" --features {f}"),
            };
            let mut argv = vec![binary, "--ignored".into(), "--exact".into()];
            argv.extend(names.iter().map(|n| n.to_string()));
            argv.extend(["--nocapture".into(), "--test-threads=1".into()]);
            Step {
                title: format!("test {}/{}: {}", first.package, first.target, names.join(", ")),
                side: Side::Rust,
                argv,
                timeout_s: tests.iter().map(|t| t.timeout_s).sum(),
                gpus,
                tool,
                expect_passed: names.len(),
                source: first.file,
                equivalent: format!(
                    "cargo test --release -p {}{features} --test {} -- --ignored --exact {}",
                    first.package,
                    first.target,
                    names.join(" ")
                ),
            }
        })
        .collect()
}

/// The bench items: the arguments `cargo xtask bench optim|llm|gan --device cuda` passes (one
/// round, `--quick` for optim), both sides.
fn bench_steps() -> Vec<Step> {
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let step = |title: &str, side, argv: &str, timeout_s, equivalent: &str| Step {
        title: title.into(),
        side,
        argv: words(argv),
        timeout_s,
        gpus: 1,
        tool: "-",
        expect_passed: 0,
        equivalent: equivalent.into(),
        source: match title.split(':').next() {
            Some("bench optim") => "xtask/src/bench/optim.rs",
            Some("bench llm") => "xtask/src/bench/llm.rs",
            _ => "xtask/src/bench/gan.rs",
        },
    };
    let optim = "--shapes bench/shapes.json --device cuda --quick";
    let optim_eq = "cargo xtask bench optim --device cuda --quick";
    let llm = "--preset tiny --batch 8 --seq 128 --steps 10 --device cuda --threads 2";
    let llm_eq = "cargo xtask bench llm --device cuda";
    let gan = "--image-size 64 --base 64 --batch 64 --iters 10 --warmup 2 --fid-images $FID_IMAGES \
               --threads 2 --device cuda --model wgan-gp --inception $FID_INCEPTION";
    let gan_eq = "cargo xtask bench gan --device cuda --repeat 1";
    vec![
        step(
            "bench optim: pisa-rs",
            Side::Rust,
            &format!("bin/bench_optim {optim}"),
            45,
            optim_eq,
        ),
        step(
            "bench optim: PyTorch",
            Side::Python,
            &format!("bench/torch_optim.py {optim}"),
            45,
            optim_eq,
        ),
        step(
            "bench llm: pisa-rs adamw, muon, nsisa",
            Side::Rust,
            &format!("bin/bench llm --optimizers adamw,muon,nsisa {llm}"),
            45,
            llm_eq,
        ),
        step(
            "bench llm: pisa-rs nsisa, 4 nodes",
            Side::Rust,
            &format!("bin/bench llm --optimizers nsisa --nodes 4 {llm}"),
            30,
            llm_eq,
        ),
        step(
            "bench llm: PyTorch adamw, muon",
            Side::Python,
            &format!("bench/gpt2_torch.py --optimizers adamw,muon {llm}"),
            45,
            llm_eq,
        ),
        step(
            "bench gan: pisa-rs adam",
            Side::Rust,
            &format!("bin/bench gan --optimizer adam {gan}"),
            30,
            gan_eq,
        ),
        step(
            "bench gan: pisa-rs sisa",
            Side::Rust,
            &format!("bin/bench gan --optimizer sisa {gan}"),
            30,
            gan_eq,
        ),
        step(
            "bench gan: PyTorch adam",
            Side::Python,
            &format!("bench/gan_torch.py {gan}"),
            45,
            gan_eq,
        ),
    ]
}

/// Every item of `run.sh`, tests first.
fn steps() -> Vec<Step> {
    let mut all = test_steps();
    all.extend(bench_steps());
    all
}

/// The worst-case wall time of `steps`: every item at its timeout and kill grace, plus overhead.
fn worst_case_s(steps: &[Step]) -> u32 {
    steps.iter().map(|s| s.timeout_s + KILL_GRACE_S).sum::<u32>() + OVERHEAD_S
}

/// `word` for the shell: `"$VAR"` for a `run.sh` variable, else single-quoted when needed.
fn sh_word(word: &str) -> String {
    if let Some(var) = word.strip_prefix('$') {
        return format!("\"${{{var}}}\"");
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=,:".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The text of `run.sh` for `steps`; `stamp` names the build (torch version, commit).
fn render_run_sh(steps: &[Step], stamp: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r##"#!/usr/bin/env bash
# Generated by `cargo xtask gpu-check --prepare` (xtask/src/gpu_check.rs); do not edit.
# Runs every #[ignore]d CUDA test and the `bench optim|llm|gan --device cuda` programs, each under
# `timeout`, and appends the results to one Markdown file. Worst case {worst} s (budget {BUDGET_S} s).
#
#   bash run.sh [RESULTS.md]      default: $OUT/gpu-check.md, else gpu-check.md beside run.sh
#
# Environment: PISA_TORCH_LIB (a .../torch/lib folder; default: the Python's torch + /lib),
# PISA_PYTHON (default python3), PISA_FID_INCEPTION (the FID network; default
# fid-inception/default_1.pt here), PISA_GPUS (GPU count; default: nvidia-smi -L).
set -u
DIR=$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)
cd "$DIR" || exit 1
STAMP={stamp}
RESULTS=${{1:-${{OUT:-$DIR}}/gpu-check.md}}
mkdir -p "$(dirname "$RESULTS")"
PYTHON=${{PISA_PYTHON:-python3}}
TORCH_PY=""
if "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
  TORCH_PY=$("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null)
fi
if [ -n "${{PISA_TORCH_LIB:-}}" ]; then
  TORCH_LIB=$PISA_TORCH_LIB
elif [ -n "$TORCH_PY" ]; then
  TORCH_LIB=$("$PYTHON" -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib
else
  TORCH_LIB=""
fi
if [ -n "$TORCH_LIB" ]; then
  export LD_LIBRARY_PATH="$TORCH_LIB${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"
  export LIBTORCH="$(dirname "$TORCH_LIB")"
fi
GPUS=${{PISA_GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}}
FID_INCEPTION=${{PISA_FID_INCEPTION:-$DIR/fid-inception/default_1.pt}}
if [ -f "$FID_INCEPTION" ]; then FID_IMAGES=100; else FID_IMAGES=0; fi
RUN_START=$(date +%s.%N)
PASSED=0; FAILED=0; SKIPPED=0
SUMMARY=""
elapsed() {{ awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {{ printf "%.1f", b - a }}'; }}
{{
  echo
  echo "# gpu-check $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
  echo
  echo "- built: $STAMP"
  echo "- GPUs: $GPUS; $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | paste -sd ';' -)"
  echo "- torch lib: ${{TORCH_LIB:-none found (set PISA_TORCH_LIB)}}"
  if [ -n "$TORCH_PY" ]; then
    echo "- Python torch: $TORCH_PY ($PYTHON); the PyTorch side of the benches runs"
  else
    echo "- Python torch: \`$PYTHON -c 'import torch'\` fails; the PyTorch side of the benches is skipped"
  fi
  if [ "$FID_IMAGES" = 0 ]; then
    echo "- FID Inception: not found ($FID_INCEPTION); bench gan runs with --fid-images 0 (fetch it with \`cargo xtask data fid-inception\`, set PISA_FID_INCEPTION)"
  fi
  echo "- budget: {BUDGET_S} s; worst case of the timeouts below: {worst} s"
}} >>"$RESULTS"

# item SIDE TITLE TIMEOUT GPUS TOOL EXPECT EQUIVALENT -- ARGV...
item() {{
  local side=$1 title=$2 limit=$3 gpus=$4 tool=$5 expect=$6 equivalent=$7
  shift 8
  local why="" prog=$1 missing=""
  if [ "$GPUS" -lt "$gpus" ]; then
    why="needs $gpus CUDA GPUs, this machine has $GPUS"
  elif [ "$tool" != - ] && ! command -v "$tool" >/dev/null; then
    why="needs \`$tool\` on PATH"
  elif [ "$side" = python ]; then
    if [ -z "$TORCH_PY" ]; then why="\`$PYTHON -c 'import torch'\` fails here: PyTorch side skipped"; fi
  elif [ ! -x "$prog" ]; then
    why="$prog is missing: \`--prepare\` did not build it (see its output)"
  elif command -v ldd >/dev/null && missing=$(ldd "$prog" 2>/dev/null | grep 'not found'); then
    why="missing shared libraries: $(echo "$missing" | awk '{{print $1}}' | paste -sd ' ' -)"
  fi
  if [ "$side" = python ]; then set -- "$PYTHON" "$@"; fi
  if [ -n "$why" ]; then
    SKIPPED=$((SKIPPED + 1))
    SUMMARY+="| $title | SKIP | – | $limit |"$'\n'
    printf '\n## SKIP %s\n\n%s. Elsewhere: `%s`\n' "$title" "$why" "$equivalent" >>"$RESULTS"
    echo "gpu-check: SKIP $title: $why" >&2
    return
  fi
  echo "gpu-check: $title (timeout $limit s)" >&2
  local start log rc result secs
  start=$(date +%s.%N)
  log=$(mktemp)
  timeout -k {KILL_GRACE_S} "$limit" "$@" >"$log" 2>&1
  rc=$?
  secs=$(elapsed "$start")
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    result=TIMEOUT
  elif [ $rc != 0 ]; then
    result=FAIL
  elif [ "$expect" != 0 ] && ! grep -q "test result: ok. $expect passed" "$log"; then
    result=FAIL; rc="ok, but not $expect test(s) passed: a listed name matches no test"
  else
    result=PASS
  fi
  if [ $result = PASS ]; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
  SUMMARY+="| $title | $result | $secs | $limit |"$'\n'
  {{
    printf '\n## %s %s (%s s of %s s, exit %s)\n\n' "$result" "$title" "$secs" "$limit" "$rc"
    printf '`%s`; elsewhere `%s`\n\n```text\n' "$*" "$equivalent"
    tail -n {TAIL_LINES} "$log"
    printf '```\n'
  }} >>"$RESULTS"
  rm -f "$log"
  echo "gpu-check: $result $title ($secs s)" >&2
}}

"##,
        worst = worst_case_s(steps),
        stamp = sh_word(stamp),
    );
    for step in steps {
        let side = match step.side {
            Side::Rust => "rust",
            Side::Python => "python",
        };
        let argv: Vec<String> = step.argv.iter().map(|a| sh_word(a)).collect();
        let _ = writeln!(
            s,
            "# {}\nitem {side} {} {} {} {} {} {} --\\\n  {}",
            step.source,
            sh_word(&step.title),
            step.timeout_s,
            step.gpus,
            step.tool,
            step.expect_passed,
            sh_word(&step.equivalent),
            argv.join(" "),
        );
    }
    s.push_str(
        r#"
{
  printf '\n## Summary\n\n| item | result | s | timeout s |\n|---|---|---|---|\n%s' "$SUMMARY"
  printf '\n%s passed, %s failed, %s skipped; total wall time %s s\n' "$PASSED" "$FAILED" "$SKIPPED" "$(elapsed "$RUN_START")"
} >>"$RESULTS"
echo "gpu-check: $PASSED passed, $FAILED failed, $SKIPPED skipped; results in $RESULTS" >&2
[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
"#,
    );
    s
}

/// A built executable, from cargo's `--message-format=json` output.
#[derive(Debug, Clone, PartialEq)]
struct Artifact {
    /// The target's name (`device`, `bench`, `bench_optim`).
    target: String,
    /// Whether it is a test harness (`cargo test --no-run`).
    test: bool,
    executable: PathBuf,
}

/// The executables in cargo's JSON messages (other lines are skipped).
fn artifacts(json_lines: &str) -> Vec<Artifact> {
    json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| {
            Some(Artifact {
                target: m["target"]["name"].as_str()?.to_owned(),
                test: m["profile"]["test"].as_bool().unwrap_or(false),
                executable: PathBuf::from(m["executable"].as_str()?),
            })
        })
        .collect()
}

/// Runs `cargo <args> --release --message-format=json-render-diagnostics` and returns its
/// executables.
fn build(toolchain: &Toolchain, args: &[&str]) -> Result<Vec<Artifact>> {
    let mut cmd = cargo(toolchain, args)?;
    cmd.args(["--release", "--message-format=json-render-diagnostics"]);
    Ok(artifacts(&stdout_of(&mut cmd)?))
}

/// Copies `from` to `to`, stripped when `strip` is installed (each binary is ~80 MB with line
/// tables, ~5 MB stripped: the folder must travel).
fn copy_binary(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    if succeeds("strip", &["--version"]) {
        run_checked(Command::new("strip").arg(to))?;
    }
    Ok(())
}

/// Builds the binaries and writes `dir` (bin/, bench/, run.sh); returns notes on what was left
/// out.
fn prepare(toolchain: &Toolchain, dir: &Path) -> Result<Vec<String>> {
    let bin = dir.join("bin");
    if bin.is_dir() {
        fs::remove_dir_all(&bin).with_context(|| format!("cannot clear {}", bin.display()))?;
    }
    fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    let mut notes = Vec::new();

    // Test binaries: one `cargo test --no-run` per package and feature set.
    let mut groups: BTreeMap<(&str, &str), Vec<&CudaTest>> = BTreeMap::new();
    for t in CUDA_TESTS {
        groups.entry((t.package, t.features)).or_default().push(t);
    }
    for ((package, features), tests) in groups {
        if features.contains("nccl") || features.contains("mpi") {
            if let Some(missing) = crate::mpi::missing() {
                notes.push(format!(
                    "not built: {package} --features {features} (its tests link OpenMPI; missing here: \
                     {missing}; `cargo xtask setup --mpi` installs it)"
                ));
                continue;
            }
        }
        let mut args = vec!["test", "--no-run", "-p", package];
        if !features.is_empty() {
            args.extend(["--features", features]);
        }
        for t in &tests {
            args.extend(["--test", t.target]);
        }
        let built = build(toolchain, &args)?;
        for t in tests {
            let exe = built
                .iter()
                .find(|a| a.test && a.target == t.target)
                .with_context(|| format!("cargo built no test executable `{}` of {package}", t.target))?;
            copy_binary(&exe.executable, &dir.join(test_binary(t)))?;
        }
    }

    for p in PROGRAMS {
        let built = build(toolchain, &["build", "-p", p.package, p.flag, p.name])?;
        let exe = built
            .iter()
            .find(|a| !a.test && a.target == p.name)
            .with_context(|| format!("cargo built no executable `{}` of {}", p.name, p.package))?;
        copy_binary(&exe.executable, &bin.join(p.name))?;
    }

    let root = project_root();
    for file in BENCH_FILES {
        let to = dir.join(file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::copy(root.join(file), &to).with_context(|| format!("cannot copy {file}"))?;
    }

    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(root)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let stamp = format!("pisa-rs {commit}, against torch {}", setup::TORCH_VERSION);
    let mut script = render_run_sh(&steps(), &stamp);
    for note in &notes {
        script.insert_str(script.find("\nset -u").unwrap_or(0), &format!("\n# {note}"));
    }
    let run_sh = dir.join("run.sh");
    fs::write(&run_sh, script).with_context(|| format!("cannot write {}", run_sh.display()))?;
    make_executable(&run_sh)?;
    Ok(notes)
}

/// `chmod +x`.
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = fs::metadata(path)?.permissions();
    perms.set_mode(perms.mode() | 0o111);
    fs::set_permissions(path, perms).with_context(|| format!("cannot chmod {}", path.display()))
}

/// Total size of the files under `dir`, in bytes.
fn size_of(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Runs `cargo xtask gpu-check`.
///
/// # Errors
/// When a build fails, the folder cannot be written, or (when running) any item fails or times out.
pub fn run(args: &GpuCheckArgs) -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let root = project_root();
    let dir = args.prepare.clone().unwrap_or_else(|| root.join(DEFAULT_DIR));
    let dir = if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()?.join(dir)
    };
    let notes = prepare(&toolchain, &dir)?;
    for note in &notes {
        eprintln!("xtask: gpu-check: {note}");
    }
    let run_sh = dir.join("run.sh");
    if args.prepare.is_some() {
        let ignored = Command::new("git")
            .args(["check-ignore", "-q"])
            .arg(&dir)
            .current_dir(root)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if dir.starts_with(root) && !ignored {
            eprintln!(
                "xtask: warning: {} is not git-ignored: its binaries would show as untracked files \
                 (prefer a folder under target/)",
                dir.display()
            );
        }
        let mib = size_of(&dir) as f64 / (1024.0 * 1024.0);
        if mib > 48.0 {
            eprintln!(
                "xtask: warning: {} holds {mib:.0} MiB: with the working tree it may not fit the \
                 64 MiB that travels to a lent GPU machine",
                dir.display()
            );
        }
        eprintln!(
            "xtask: prepared {} ({:.1} MiB). On the GPU machine, from the repository root: \
             `bash {}` (results in $OUT/gpu-check.md, else {}/gpu-check.md; a path as argument \
             goes first). Worst case {} s of a {BUDGET_S} s budget.",
            dir.display(),
            mib,
            dir.strip_prefix(root).unwrap_or(&dir).join("run.sh").display(),
            dir.display(),
            worst_case_s(&steps()),
        );
        return Ok(());
    }
    let mut cmd = Command::new("bash");
    cmd.arg(&run_sh).stdin(Stdio::null());
    if let Some(results) = &args.results {
        cmd.arg(results);
    }
    // The toolchain's own torch: the one the binaries were linked against.
    cmd.env("PISA_TORCH_LIB", toolchain.libtorch.join("lib"));
    if let Some(python) = &toolchain.python {
        cmd.env("PISA_PYTHON", python);
    }
    let inception = crate::data::default_data_dir().join("fid-inception/default_1.pt");
    if std::env::var_os("PISA_FID_INCEPTION").is_none() && inception.is_file() {
        cmd.env("PISA_FID_INCEPTION", inception);
    }
    if run_checked(&mut cmd).is_err() {
        bail!("gpu-check: some items failed or timed out, or none passed (see the results file)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.rs` file under `dir`, skipping build output, data and hidden folders.
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                if !name.starts_with('.')
                    && !["target", "data", "runs", "device-bin"].contains(&name.as_str())
                {
                    rust_files(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }

    /// `(function name, ignore reason)` of each `#[ignore = "..."]` test in `source`.
    fn ignored_tests(source: &str) -> Vec<(String, String)> {
        let lines: Vec<&str> = source.lines().collect();
        let mut found = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let Some(reason) = line.trim().strip_prefix("#[ignore") else {
                continue;
            };
            let name = lines[i + 1..].iter().find_map(|l| {
                let rest = l.split("fn ").nth(1)?;
                Some(rest.split(['(', '<']).next()?.trim().to_owned())
            });
            found.push((name.unwrap_or_default(), reason.to_owned()));
        }
        found
    }

    #[test]
    fn listed_tests_are_ignored_tests_in_their_files() {
        for t in CUDA_TESTS {
            let source = fs::read_to_string(project_root().join(t.file)).unwrap();
            let ignored = ignored_tests(&source);
            assert!(
                ignored.iter().any(|(name, _)| name == t.name),
                "{}: no #[ignore]d test `{}` (renamed? update CUDA_TESTS in xtask/src/gpu_check.rs)",
                t.file,
                t.name
            );
            assert!(
                t.file.ends_with(&format!("tests/{}.rs", t.target)),
                "{}: not the file of --test {}",
                t.file,
                t.target
            );
        }
    }

    #[test]
    fn every_ignored_cuda_test_is_listed() {
        let mut files = Vec::new();
        rust_files(project_root(), &mut files);
        let mut seen = 0;
        for file in files {
            let source = fs::read_to_string(&file).unwrap();
            for (name, reason) in ignored_tests(&source) {
                seen += 1;
                let lower = reason.to_lowercase();
                if lower.contains("cuda") || lower.contains("gpu") {
                    assert!(
                        CUDA_TESTS.iter().any(|t| t.name == name),
                        "{}: #[ignore]d CUDA test `{name}` is not in CUDA_TESTS (xtask/src/gpu_check.rs)",
                        file.display()
                    );
                }
            }
        }
        assert!(seen >= CUDA_TESTS.len(), "found only {seen} ignored tests");
    }

    #[test]
    fn ignored_tests_are_found_with_their_names() {
        let src = "#[test]\n#[ignore = \"needs a CUDA device\"]\nfn on_gpu() {}\n// #[ignore]d\n";
        assert_eq!(
            ignored_tests(src),
            [("on_gpu".to_owned(), " = \"needs a CUDA device\"]".to_owned())]
        );
    }

    #[test]
    fn run_sh_holds_every_test_and_bench_with_its_timeout() {
        let all = steps();
        let script = render_run_sh(&all, "test build");
        for t in CUDA_TESTS {
            assert!(script.contains(t.name), "{} missing", t.name);
        }
        for step in &all {
            let line = script
                .lines()
                .find(|l| l.starts_with("item ") && l.contains(&sh_word(&step.title)))
                .unwrap_or_else(|| panic!("no item line for {}", step.title));
            assert!(
                line.contains(&format!(" {} {} ", step.timeout_s, step.gpus)),
                "{line}"
            );
        }
        for needle in [
            "bin/bench_optim --shapes bench/shapes.json --device cuda --quick",
            "bench/torch_optim.py --shapes bench/shapes.json --device cuda --quick",
            "bin/bench llm --optimizers adamw,muon,nsisa",
            "bin/bench llm --optimizers nsisa --nodes 4",
            "bench/gpt2_torch.py --optimizers adamw,muon",
            "bin/bench gan --optimizer adam",
            "bin/bench gan --optimizer sisa",
            "bench/gan_torch.py",
            "--ignored --exact sisa_on_cuda_matches_cpu",
            "timeout -k 2",
        ] {
            assert!(script.contains(needle), "run.sh lacks `{needle}`");
        }
        for file in BENCH_FILES {
            assert!(project_root().join(file).is_file(), "{file} is gone");
        }
    }

    #[test]
    fn timeouts_fit_the_budget() {
        let worst = worst_case_s(&steps());
        assert!(worst <= BUDGET_S, "worst case {worst} s > {BUDGET_S} s");
        assert!(steps().iter().all(|s| s.timeout_s >= 20));
    }

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(sh_word("--device"), "--device");
        assert_eq!(sh_word("$FID_IMAGES"), "\"${FID_IMAGES}\"");
        assert_eq!(sh_word("a b'c"), r"'a b'\''c'");
    }

    #[test]
    fn artifacts_are_read_from_cargo_json() {
        let lines = r#"{"reason":"compiler-artifact","target":{"name":"device","kind":["test"]},"profile":{"test":true},"executable":"/t/release/deps/device-abc"}
{"reason":"compiler-artifact","target":{"name":"pisa_core","kind":["lib"]},"profile":{"test":false},"executable":null}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            artifacts(lines),
            [Artifact {
                target: "device".into(),
                test: true,
                executable: "/t/release/deps/device-abc".into()
            }]
        );
    }

    /// run.sh with stub programs: a passing test binary, one whose filter matched nothing, a
    /// failing bench, Python without torch, one GPU.
    #[test]
    fn run_sh_records_pass_fail_and_skip() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let stub = |name: &str, body: &str| {
            let path = bin.join(name);
            fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            make_executable(&path).unwrap();
        };
        stub(
            "test-pisa-core-device",
            "echo 'test result: ok. 1 passed; 0 failed'",
        );
        stub("bench_optim", "echo '{\"x\": 1}'");
        stub("bench", "echo 'test result: ok. 0 passed'; [ \"$1\" = llm ]");
        let mut all = steps();
        all.push(Step {
            title: "filter matching nothing".into(),
            side: Side::Rust,
            argv: vec!["bin/bench_optim".into()],
            timeout_s: 5,
            gpus: 1,
            tool: "-",
            expect_passed: 1,
            equivalent: "-".into(),
            source: "here",
        });
        let run_sh = dir.path().join("run.sh");
        fs::write(&run_sh, render_run_sh(&all, "stub build")).unwrap();
        let results = dir.path().join("out/results.md");
        let status = Command::new("bash")
            .arg(&run_sh)
            .arg(&results)
            .env("PISA_GPUS", "1")
            .env("PISA_PYTHON", "/nonexistent/python")
            .env("PISA_TORCH_LIB", dir.path())
            .env_remove("OUT")
            .status()
            .unwrap();
        assert!(!status.success(), "a failing item must fail the run");
        let md = fs::read_to_string(&results).unwrap();
        for expected in [
            "## PASS test pisa-core/device: sisa_on_cuda_matches_cpu",
            "## SKIP test pisa-core/nccl",
            "needs 2 CUDA GPUs, this machine has 1",
            "## PASS bench optim: pisa-rs",
            "## SKIP bench optim: PyTorch",
            "## PASS bench llm: pisa-rs nsisa, 4 nodes",
            "## FAIL bench gan: pisa-rs adam",
            "## FAIL filter matching nothing",
            "bench gan runs with --fid-images 0",
            "| bench optim: pisa-rs | PASS |",
            "4 passed, 3 failed, 4 skipped; total wall time",
        ] {
            assert!(md.contains(expected), "results lack `{expected}`:\n{md}");
        }
    }
}
