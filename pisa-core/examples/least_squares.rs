//! Consensus least squares with any pisa-core optimizer: the paper's Appendix A.2 setting
//! (arXiv 2502.10784) and the spec's reference problems T1–T6 and T8 (`pisa-algorithm.md` §10).
//!
//! ```text
//! cargo run -p pisa-core --release --example least_squares -- \
//!     --problem pisa-core/examples/data/t1.json --config configs/least_squares/sisa.toml --iters 100
//! ```
//!
//! Over MPI (built with `--features mpi`, started by `cargo xtask launch --nproc P -- ...` or
//! `mpirun -np P`), the m nodes are spread over the P ranks (P divides m) and rank 0 prints the
//! same output; `--reduction ordered` makes it bit-identical to the one-process run.
//!
//! prints `{"objective": [F(w^1), ..., F(w^K)], "w": [w^{K+1}]}` on stdout; with
//! `configs/least_squares/sisa.toml` (spec T2) F(w^50) − F* ≈ 3.9e-9 and F(w^100) − F* is at
//! machine precision. `cargo xtask demo` runs every config in `configs/least_squares/`.
//!
//! Phases: arguments → problem → configuration → optimizer → iterations → output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};
use std::sync::Arc;

use pisa_core::collective::{Collective, Ranks, Reduction};
use pisa_core::problems::{LeastSquares, ProblemFile};
use pisa_core::OptimizerConfig;
use serde_json::{json, Map, Value};

const AFTER_HELP: &str = r#"OUTPUT
  One JSON object on stdout (everything else goes to stderr):

    {"objective": [F(w^1), F(w^2), ..., F(w^K)], "w": [...]}

  with F(w) = sum_i alpha_i f_i(w) + lambda/2 ||w||^2 and f_i(w) = ||A_i w - b_i||^2 / (2 d_i)
  (d_i rows at node i). The indexing is the spec's (pisa-algorithm.md §10): w^k is the global
  point at which iteration k evaluates the node gradients, i.e. the aggregate after k - 1
  iterations. The run makes K iterations, so:
    objective[0]     = F(w^1), at the start: w^1 = w0, except that PISA/SISA with lambda > 0
                       first shrink it to sigma_0 w0 / (sigma_0 + lambda) (spec §2.2);
    objective[k - 1] = F(w^k), k = 1..K;
    w                = w^{K+1}, the aggregate after the K-th (last) iteration, flattened
                       row-major for matrix problems. F(w^{K+1}) is not in `objective`.
  alpha_i are the problem's node weights; lambda is the config's `lambda` (0 when absent).

PROBLEM FILE (JSON)
  {"nodes": [{"a": [[row], ...], "b": [...], "alpha": 0.25}, ...], "w0": [...], "f_star": 0.128}
  a: the rows of A_i; b: one target per row (w is a vector), or one row of targets per row
  (w is a matrix, spec T8); alpha: optional, for every node or for none (default |D_i|/|D|);
  w0: optional start (default 0); f_star: optional F*, reported on stderr.
  `--write-problem spec-t1 --out t1.json` writes the spec's problems.

CONFIG FILE (TOML, or JSON when the name ends in .json)
  The optimizer's own configuration exactly as pisa_core::OptimizerConfig reads it: `name`
  picks the optimizer (pisa, sisa, nsisa, adam, adamw, ...), the other keys are its settings;
  plus `iters = K` (the --iters flag overrides it). When `nodes` is absent, it and `alpha` are
  taken from the problem; a `nodes` different from the problem's is an error. Example (spec T5):

    # SISA with the paper's sigma growth: sigma_k = sigma_0 * gamma^floor(k / k0).
    name = "sisa"
    sigma = 0.01        # sigma_0, penalty and dual step
    rho = 1.0           # preconditioner weight (or lr = eta_0: rho = 1/eta_0 - sigma_0)
    lambda = 0.0        # L2 weight in the aggregation; also enters F
    iters = 500

    [preconditioner]    # identity | hessian | diagonal_hessian | second_moment
    kind = "second_moment"
    scheme = "adam"     # adagrad (I) | rmsprop (II) | adam (III)
    beta = 0.999

    [schedule]          # constant | gamma | lr_linked
    kind = "gamma"
    gamma = 1.01
    k0 = 1

  A baseline: name = "adam", lr = 0.05 (the m node gradients are averaged with weights alpha).
  NSISA on the T8 problem (--problem pisa-core/examples/data/t8.json; spec §10 T8, ends about
  4.4e-3 above F*):

    name = "nsisa"
    sigma = 10.0
    rho = 10.0
    iters = 600
    dual_scaling = "paper"      # or "code_alpha_scaled"
    [newton_schulz]
    precision = "f64"           # bf16 (default) | f32 | f64
    [schedule]                  # sigma_t = sigma_0 / r_t^2, rho_t = rho_0 / r_t
    kind = "lr_linked"
    sigma_power = 2.0
    [schedule.lr]               # r_t: 1, then (T - t)/D over the last D of T iterations
    kind = "trapezoid"
    total = 600
    warmdown = 200

  The trapezoid reaches r = 0 at t = T, so such a run takes at most T iterations."#;

/// Runs a pisa-core optimizer on a consensus least-squares problem and prints the objective per
/// iteration as JSON.
#[derive(Debug, Parser)]
#[command(after_long_help = AFTER_HELP, after_help = "See --help for the file formats and the output.")]
struct Args {
    /// The problem file (JSON).
    #[arg(long, value_name = "FILE", required_unless_present = "write_problem")]
    problem: Option<PathBuf>,
    /// The optimizer configuration (TOML; JSON when the name ends in .json).
    #[arg(long, value_name = "FILE", required_unless_present = "write_problem")]
    config: Option<PathBuf>,
    /// Number of iterations K (overrides the config's `iters`).
    #[arg(long, value_name = "K")]
    iters: Option<u64>,
    /// Instead of running, write one of the spec's reference problems as a problem file.
    #[arg(long, value_name = "PROBLEM", conflicts_with_all = ["problem", "config", "iters"])]
    write_problem: Option<SpecProblem>,
    /// Where `--write-problem` writes (default stdout).
    #[arg(long, value_name = "FILE", requires = "write_problem")]
    out: Option<PathBuf>,
    /// Under MPI: how the ranks sum the aggregation (`all-reduce`: MPI's all-reduce; `ordered`:
    /// rank by rank in node order, bit-identical to one process).
    #[arg(long, default_value = "all-reduce")]
    reduction: Reduction,
}

/// The spec's reference problems (`pisa-algorithm.md` §10).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum SpecProblem {
    /// T1–T6: m = 4 nodes, w ∈ ℝ⁶, 16 rows per node, feature and label skew.
    SpecT1,
    /// T8: m = 4 nodes, W ∈ ℝ^{4×3}, 16 rows per node, heterogeneous.
    SpecT8,
}

/// What the run prints on stdout.
#[derive(Debug, serde::Serialize)]
struct Output {
    /// F(w^k) for k = 1..=K, the point at which iteration k evaluates gradients.
    objective: Vec<f64>,
    /// w^{K+1}, flattened row-major.
    w: Vec<f64>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(which) = args.write_problem {
        return write_problem(which, args.out.as_deref());
    }
    let (Some(problem_path), Some(config_path)) = (&args.problem, &args.config) else {
        bail!("--problem and --config are required (see --help)");
    };
    let (problem, f_star) = read_problem(problem_path)?;
    let settings = read_settings(config_path)?;
    let world = pisa_core::collective::from_launcher()?;
    let rank = world.as_ref().map_or(0, |w| w.rank());
    let reduction = args.reduction;
    let output = run(&problem, settings, args.iters, world.map(|w| (w, reduction)))
        .with_context(|| format!("running {} on {}", config_path.display(), problem_path.display()))?;
    let last = output.objective[output.objective.len() - 1];
    let k = output.objective.len();
    if rank != 0 {
        return Ok(()); // rank 0 reports
    }
    let gap = f_star.map_or_else(String::new, |f| format!(", F(w^{k}) - F* = {:.3e}", last - f));
    eprintln!(
        "least_squares: {} on {}: F(w^1) = {:.6e}, F(w^{k}) = {last:.6e}{gap}",
        config_path.display(),
        problem_path.display(),
        output.objective[0],
    );
    println!("{}", serde_json::to_string(&output)?);
    Ok(())
}

/// Runs the optimizer configured by `settings` (plus `iters`; `iters_flag` wins) on `problem`.
///
/// Phases: configuration → optimizer → iterations → output (see `--help` for the indexing).
/// Runs the optimizer for the iteration count; with `world`, its nodes spread over the ranks.
fn run(
    problem: &LeastSquares,
    mut settings: Map<String, Value>,
    iters_flag: Option<u64>,
    world: Option<(Arc<dyn Collective>, Reduction)>,
) -> Result<Output> {
    // Configuration.
    let iters = take_iters(&mut settings, iters_flag)?;
    let lambda = match settings.get("lambda") {
        None => 0.0,
        Some(v) => v
            .as_f64()
            .with_context(|| format!("`lambda` must be a number, got {v}"))?,
    };
    fill_nodes(&mut settings, problem)?;
    let config =
        OptimizerConfig::from_value(Value::Object(settings)).context("invalid optimizer configuration")?;

    // Optimizer over one f64 parameter `w`, starting at w0.
    let w = problem.w0.copy().set_requires_grad(true);
    let mut opt = config
        .build_named(vec![("w".into(), w.shallow_clone())])
        .context("cannot build the optimizer")?;
    let m = opt.node_weights().len();
    if let Some((comm, reduction)) = world {
        opt.distribute(Ranks::new(comm, m, reduction)?)
            .context("cannot spread the nodes over the MPI ranks")?;
    }
    ensure!(
        m == problem.nodes(),
        "the optimizer has {m} nodes but the problem has {}",
        problem.nodes()
    );
    if opt.node_weights().as_slice() != problem.alpha.as_slice() {
        eprintln!(
            "least_squares: note: the optimizer's node weights {:?} differ from the problem's {:?}; \
             F uses the problem's",
            opt.node_weights().as_slice(),
            problem.alpha.as_slice()
        );
    }

    // Iterations. F(w^k) is evaluated where iteration k evaluates node 0's loss: after the
    // optimizer's `begin_iteration` (which applies PISA's first-iteration λ-shrinkage) and
    // before any node step changes the weights.
    let mut objective = Vec::with_capacity(iters as usize);
    for k in 1..=iters {
        // F at the point the iteration evaluates, i.e. after `begin_iteration` (λ shrinkage):
        // at the first node this rank steps.
        let mut f_k = f64::NAN;
        opt.step(&mut |i| {
            if f_k.is_nan() {
                f_k = tch::no_grad(|| problem.objective(&w, lambda));
            }
            problem.node_loss(i, &w)
        })
        .map_err(|e| {
            let hint = match e {
                pisa_core::Error::NonFiniteLoss { .. } => ": the run diverged",
                _ => "",
            };
            anyhow::Error::new(e).context(format!("iteration {k} of {iters} failed{hint}"))
        })?;
        ensure!(f_k.is_finite(), "F(w^{k}) = {f_k}: the run diverged");
        objective.push(f_k);
    }

    // Output: w^{K+1}.
    let w = Vec::<f64>::try_from(w.detach().reshape([-1])).context("reading the weights")?;
    ensure!(
        w.iter().all(|x| x.is_finite()),
        "the final aggregate w^{} is not finite: the run diverged",
        iters + 1
    );
    Ok(Output { objective, w })
}

/// Reads and checks a problem file; also returns its optional F*.
fn read_problem(path: &Path) -> Result<(LeastSquares, Option<f64>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the problem file {}", path.display()))?;
    let file: ProblemFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid problem file (see --help)", path.display()))?;
    let problem = LeastSquares::from_file(&file)
        .with_context(|| format!("inconsistent problem in {}", path.display()))?;
    Ok((problem, file.f_star))
}

/// Reads a configuration file as a table of settings: JSON when the name ends in `.json`, TOML
/// otherwise.
fn read_settings(path: &Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let value: Value = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?
    } else {
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
        serde_json::to_value(table)?
    };
    match value {
        Value::Object(map) => Ok(map),
        other => bail!("{}: expected a table of settings, got {other}", path.display()),
    }
}

/// Removes `iters` from the settings; the flag wins over it.
fn take_iters(settings: &mut Map<String, Value>, flag: Option<u64>) -> Result<u64> {
    let from_file = match settings.remove("iters") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .with_context(|| format!("`iters` must be a non-negative integer, got {v}"))?,
        ),
    };
    let iters = flag
        .or(from_file)
        .context("no iteration count: give --iters K or `iters = K` in the config")?;
    ensure!(iters >= 1, "the iteration count must be at least 1");
    Ok(iters)
}

/// Takes `nodes` (and `alpha`, unless given) from the problem when the config has no `nodes`;
/// refuses a `nodes` different from the problem's.
fn fill_nodes(settings: &mut Map<String, Value>, problem: &LeastSquares) -> Result<()> {
    let m = problem.nodes();
    match settings.get("nodes") {
        None => {
            settings.insert("nodes".into(), json!(m));
            if !settings.contains_key("alpha") {
                settings.insert("alpha".into(), json!(problem.alpha.as_slice()));
            }
            Ok(())
        }
        Some(v) if v.as_u64() == Some(m as u64) => Ok(()),
        Some(v) => bail!("`nodes = {v}` but the problem has {m} nodes; remove `nodes` to use the problem's"),
    }
}

/// Writes one of the spec's problems, with its F* (λ = 0), one matrix row per line.
fn write_problem(which: SpecProblem, out: Option<&Path>) -> Result<()> {
    let problem = match which {
        SpecProblem::SpecT1 => LeastSquares::spec_t1(),
        SpecProblem::SpecT8 => LeastSquares::spec_t8(false),
    };
    let mut text = String::new();
    pretty(&serde_json::to_value(problem.to_file())?, 0, &mut text);
    text.push('\n');
    match out {
        None => print!("{text}"),
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            let name = which.to_possible_value().map(|v| v.get_name().to_owned());
            eprintln!(
                "least_squares: wrote {} to {}",
                name.unwrap_or_default(),
                path.display()
            );
        }
    }
    Ok(())
}

/// JSON with two-space indentation where arrays of numbers stay on one line (a matrix row per
/// line). Numbers are printed by serde_json, which round-trips f64 exactly.
fn pretty(value: &Value, depth: usize, out: &mut String) {
    let indent = |d: usize| "  ".repeat(d);
    match value {
        Value::Array(items) if items.iter().any(|v| v.is_array() || v.is_object()) => {
            out.push_str("[\n");
            for (j, item) in items.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                pretty(item, depth + 1, out);
                out.push_str(if j + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("{\n");
            for (j, (key, item)) in map.iter().enumerate() {
                let _ = write!(out, "{}{}: ", indent(depth + 1), Value::String(key.clone()));
                pretty(item, depth + 1, out);
                out.push_str(if j + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push('}');
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(Value::to_string).collect();
            let _ = write!(out, "[{}]", items.join(", "));
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    //! Run with `cargo test -p pisa-core --example least_squares`.
    use super::*;

    fn settings(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object"),
        }
    }

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// objective[k − 1] = F(w^k) with w¹ the start, and `w` = w^{K+1}: spec T2's w² and w³.
    #[test]
    fn objective_and_w_follow_the_spec_indexing() {
        let problem = LeastSquares::spec_t1();
        let cfg = json!({"name": "sisa", "sigma": 1.0, "rho": 10.0});
        let out = run(&problem, settings(cfg), Some(2), None).unwrap();
        assert_eq!(out.objective.len(), 2);
        assert!(
            (out.objective[0] - 0.971320216858749).abs() < 1e-15,
            "F(w¹) = F(0)"
        );
        let w2 = [
            0.1746023037,
            0.0971918423,
            0.0199844267,
            0.1038902854,
            0.0374407897,
            -0.0589019573,
        ];
        let f_w2 = problem.objective(&tch::Tensor::from_slice(&w2), 0.0);
        assert!((out.objective[1] - f_w2).abs() < 1e-9, "F(w²)");
        let w3 = [
            0.3985853668,
            0.1991608255,
            0.0733230024,
            0.1632961780,
            0.0619170290,
            -0.1111893213,
        ];
        for (got, want) in out.w.iter().zip(w3) {
            assert!((got - want).abs() < 5e-11, "w = w³: {:?}", out.w);
        }
    }

    /// With λ > 0, PISA starts from w¹ = σ w⁰/(σ + λ) and F includes λ/2 ‖w‖².
    #[test]
    fn first_objective_sees_the_lambda_shrinkage() {
        let mut file = LeastSquares::spec_t1().to_file();
        file.w0 = Some(vec![1.0; 6]);
        let problem = LeastSquares::from_file(&file).unwrap();
        let cfg = json!({"name": "sisa", "sigma": 2.0, "rho": 10.0, "lambda": 0.5, "iters": 1});
        let out = run(&problem, settings(cfg), None, None).unwrap();
        let w1 = &problem.w0 * (2.0 / 2.5);
        assert_eq!(out.objective, [problem.objective(&w1, 0.5)]);
    }

    #[test]
    fn iters_and_nodes_are_checked() {
        let problem = LeastSquares::spec_t1();
        let mut s = settings(json!({"name": "adam", "iters": 5}));
        assert_eq!(take_iters(&mut s.clone(), Some(7)).unwrap(), 7, "the flag wins");
        assert_eq!(take_iters(&mut s, None).unwrap(), 5);
        assert!(!s.contains_key("iters"), "removed before the optimizer sees it");
        assert!(take_iters(&mut s, None).is_err(), "no count at all");
        assert!(take_iters(&mut settings(json!({"iters": -3})), None).is_err());

        let mut s = settings(json!({"name": "adam"}));
        fill_nodes(&mut s, &problem).unwrap();
        assert_eq!(s["nodes"], json!(4));
        assert_eq!(s["alpha"], json!([0.25, 0.25, 0.25, 0.25]));
        let err = run(
            &problem,
            settings(json!({"name": "sisa", "rho": 1.0, "nodes": 3})),
            Some(1),
            None,
        );
        assert!(format!("{:#}", err.unwrap_err()).contains("the problem has 4 nodes"));
        let err = run(
            &problem,
            settings(json!({"name": "sisa", "rhoo": 1.0})),
            Some(1),
            None,
        );
        assert!(format!("{:#}", err.unwrap_err()).contains("rhoo"));
    }

    /// A diverging run is an error, not NaNs in the JSON.
    #[test]
    fn divergence_is_an_error() {
        let cfg = json!({"name": "pisa", "sigma": 0.01, "rho": 0.01, "preconditioner": {"kind": "identity"}});
        let err = run(&LeastSquares::spec_t1(), settings(cfg), Some(3000), None).unwrap_err();
        assert!(format!("{err:#}").contains("diverged"), "{err:#}");
    }

    /// Every demo config parses and runs.
    #[test]
    fn demo_configs_run() {
        let problem = LeastSquares::spec_t1();
        let dir = repo_root().join("configs/least_squares");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let out = run(&problem, read_settings(&path).unwrap(), Some(3), None)
                    .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                assert_eq!(out.objective.len(), 3);
                count += 1;
            }
        }
        assert!(count >= 5, "{count} configs in {}", dir.display());
    }

    /// The checked-in problem files are what `--write-problem` writes, and they parse back to the
    /// same problem.
    #[test]
    fn data_files_are_up_to_date() {
        for (problem, name) in [
            (LeastSquares::spec_t1(), "t1.json"),
            (LeastSquares::spec_t8(false), "t8.json"),
        ] {
            let file = problem.to_file();
            let mut text = String::new();
            pretty(&serde_json::to_value(&file).unwrap(), 0, &mut text);
            text.push('\n');
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/data")
                .join(name);
            let on_disk = std::fs::read_to_string(&path).unwrap();
            assert!(on_disk == text, "{name} is stale: rerun --write-problem");
            // serde_json's default float parser (without its `float_roundtrip` feature) may be
            // 1 ulp off, so the problem read back equals the generator's to rounding only.
            let back = LeastSquares::from_file(&serde_json::from_str(&on_disk).unwrap()).unwrap();
            for (x, y) in back
                .a
                .iter()
                .chain(&back.b)
                .zip(problem.a.iter().chain(&problem.b))
            {
                let err = (x - y).abs().max().double_value(&[]);
                assert!(err < 1e-15, "{name}: {err:e}");
            }
        }
    }
}
