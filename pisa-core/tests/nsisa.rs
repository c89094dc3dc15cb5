//! NSISA reference behaviour: spec §10 T8 (the matrix least-squares toy) and two exact checks of
//! the update (spec §3.4): the code's α-scaled dual equals the paper's dual when m = 1, and
//! vectors skip Newton–Schulz.
//!
//! T8's expected values come from the spec's independent pure-Python float64 transcription and
//! are qualitative ("about"), so they are asserted as bounds. Every bound below states the value
//! this implementation measured (CPU, f64, libtorch 2.11) next to the spec's value.
//!
//! Indexing follows the spec (§10): w¹ is the start and w^{k+1} the aggregate after k
//! iterations. A T8 run is the full trapezoid of T = 600 iterations t = 0..599 (the schedule
//! factor r_t = (T − t)/D is 1/200 at t = 599 and only reaches 0 at t = T), so "the end of
//! warm-down" is w^601.

use pisa_core::config::{OptimizerConfig, OptimizerKind};
use pisa_core::newton_schulz::{NewtonSchulz, Precision};
use pisa_core::nsisa::{DualScaling, NsisaConfig};
use pisa_core::problems::{LeastSquares, NodeData, ProblemFile, Targets};
use pisa_core::schedule::{LrSchedule, PenaltySchedule};
use pisa_core::Optimizer;
use tch::{Kind, Tensor};

/// T8's run length T (iterations) and warm-down length D.
const T: u64 = 600;
const WARMDOWN: u64 = 200;

/// T8's settings (spec §10): m = 4, fp64 Newton–Schulz, β₁ = 0.95, the Nano schedule
/// σ_t = σ₀/r_t², ρ_t = ρ₀/r_t with the trapezoid (no warm-up, T = 600, D = 200).
fn t8_config(sigma: f64, rho: f64, dual_scaling: DualScaling) -> NsisaConfig {
    NsisaConfig {
        nodes: 4,
        sigma,
        rho: Some(rho),
        momentum: 0.95,
        dual_scaling,
        newton_schulz: NewtonSchulz {
            precision: Precision::F64,
            ..NewtonSchulz::default()
        },
        schedule: PenaltySchedule::LrLinked {
            lr: LrSchedule::Trapezoid {
                warmup: 0,
                total: T,
                warmdown: WARMDOWN,
            },
            sigma_power: 2.0,
        },
        ..NsisaConfig::default()
    }
}

/// NSISA on `vars` (f64 tensors with `requires_grad`).
fn nsisa(cfg: NsisaConfig, vars: Vec<(String, Tensor)>) -> Box<dyn Optimizer> {
    OptimizerConfig::new(OptimizerKind::Nsisa(cfg))
        .build_named(vars)
        .expect("valid NSISA settings")
}

/// The gaps F(w^k) − F* for k = 1..=iters + 1 of a full-batch run on `problem`, where F* is the
/// problem's own optimum (for the homogeneous problem: node 0's least-squares optimum).
fn gaps(problem: &LeastSquares, cfg: NsisaConfig, iters: u64) -> Vec<f64> {
    let w = problem.w0.copy().set_requires_grad(true);
    let mut opt = nsisa(cfg, vec![("w".into(), w.shallow_clone())]);
    let f_star = problem.objective(&problem.optimum(0.0), 0.0);
    let mut gaps = vec![problem.objective(&w, 0.0) - f_star];
    for _ in 0..iters {
        opt.step(&mut |i| problem.node_loss(i, &w))
            .expect("finite losses");
        gaps.push(problem.objective(&w, 0.0) - f_star);
    }
    gaps
}

/// F(w^k) − F* from the output of [`gaps`] (k counted from 1).
fn at(gaps: &[f64], k: usize) -> f64 {
    gaps[k - 1]
}

/// The smallest and largest gap over k ∈ [from, to].
fn range(gaps: &[f64], from: usize, to: usize) -> (f64, f64) {
    gaps[from - 1..to]
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &g| {
            (lo.min(g), hi.max(g))
        })
}

/// Asserts `got` lies within ±`rel` of `want`.
fn assert_near(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want,
        "{what}: got {got:.4e}, spec about {want:.1e} (±{:.0}%)",
        rel * 100.0
    );
}

/// T8, heterogeneous nodes, σ₀ = ρ₀ = 10: the gap falls to a few 1e-3 within 100–200 iterations
/// and then stays on a plateau, the bias of averaging polar factors (spec §3.4), instead of
/// converging to 0 as the penalties grow in the warm-down.
///
/// The ±15% on the plateau is not slack for a mismatch: the trajectories are sensitive to
/// perturbations far below the tolerance of any transcription. Measured: Π⁰ = 0 instead of the
/// code's 1e-10 moves the code dual's plateau from 4.594e-3 to 4.649e-3 (and its k = 100 gap from
/// 5.6e-3 to 4.4e-3); a schedule shifted by one iteration moves it to 4.728e-3. The paper dual is
/// stable to 0.1% under both.
#[test]
fn t8_heterogeneous_plateau() {
    let problem = LeastSquares::spec_t8(false);
    // (dual, spec plateau, measured plateau at w^601 — the measured values in comments).
    for (dual, plateau) in [
        (DualScaling::Paper, 4.4e-3),           // measured 4.428e-3
        (DualScaling::CodeAlphaScaled, 4.8e-3), // measured 4.594e-3
    ] {
        let g = gaps(&problem, t8_config(10.0, 10.0, dual), T);
        let what = format!("{dual:?}");
        // Spec: "falls to about 4e-3 by k ≈ 100–200". Measured: paper 3.1e-2 at k = 50,
        // 1.45e-2 at 100, 3.7e-3 at 150; code 5.9e-2 at 50, 5.6e-3 at 100.
        assert!(
            at(&g, 50) > 1e-2,
            "{what}: not yet at the plateau at k = 50: {:.3e}",
            at(&g, 50)
        );
        let (low, _) = range(&g, 100, 200);
        assert!(
            low < 6e-3,
            "{what}: reaches a few 1e-3 by k = 200 (min {low:.3e})"
        );
        // Spec: plateau about 4.4e-3 (paper) / 4.8e-3 (code) at the end of the run.
        assert_near(at(&g, T as usize + 1), plateau, 0.15, &format!("{what} plateau"));
        // A floor, not slow convergence: from k = 250 on, the gap never drops below 3.5e-3
        // although σ grows 40 000-fold in the warm-down (measured minima: paper 4.41e-3,
        // code 4.53e-3), and the last 50 iterations, where σ ≥ 10·50² = 25 000, leave it
        // where it is (measured relative drift between w^551 and w^601: paper 2.5e-5, code 7.7e-3).
        let (floor, _) = range(&g, 250, T as usize + 1);
        assert!(floor > 3.5e-3, "{what}: converging towards 0 (min {floor:.3e})");
        let drift = (at(&g, T as usize + 1) / at(&g, T as usize - 49) - 1.0).abs();
        assert!(drift < 0.05, "{what}: still moving at the end ({drift:.3})");
    }
}

/// T8 with every node holding node 0's data: no bias, so the warm-down drives the gap to about
/// 1e-9 (spec). Measured at w^601: 2.3e-10 (paper dual), 2.7e-9 (code dual); 2.9e-10 and
/// 2.9e-9 one iteration earlier. Both are within the spec's "about 1e-9" (a factor 4) and six
/// orders of magnitude below the heterogeneous plateau.
#[test]
fn t8_homogeneous_reaches_the_optimum() {
    let problem = LeastSquares::spec_t8(true);
    for dual in [DualScaling::Paper, DualScaling::CodeAlphaScaled] {
        let g = gaps(&problem, t8_config(10.0, 10.0, dual), T);
        let end = at(&g, T as usize + 1);
        assert!(
            (0.0..1e-8).contains(&end),
            "{dual:?}: F − F* = {end:.3e} at the end of warm-down"
        );
        // It is the warm-down that converges: before it the gap is still ~1e-3 (measured:
        // paper 3.5e-3, code 9.0e-3 at k = 400).
        let before = at(&g, (T - WARMDOWN) as usize);
        assert!(
            before > 1e-4,
            "{dual:?}: already converged before the warm-down ({before:.3e})"
        );
    }
}

/// T8 with σ₀ = 80, ρ₀ = 100 (the authors' GPT-2 values): slower, "0.46 at k = 100", and a
/// plateau similar to σ₀ = 10's. The spec's 0.46 matches the code dual (measured 0.4658); the
/// paper dual is as slow (measured 0.529) but ends on a lower plateau (measured 2.344e-3, about
/// half of σ₀ = 10's 4.43e-3).
#[test]
fn t8_large_penalties_are_slower() {
    let problem = LeastSquares::spec_t8(false);
    let g = gaps(&problem, t8_config(80.0, 100.0, DualScaling::CodeAlphaScaled), T);
    // Measured 0.4658 at k = 100 and a plateau of 4.276e-3 (σ₀ = 10: 4.594e-3).
    assert_near(at(&g, 100), 0.46, 0.05, "code dual, k = 100");
    assert_near(at(&g, T as usize + 1), 4.8e-3, 0.15, "code dual plateau");
    let paper = gaps(&problem, t8_config(80.0, 100.0, DualScaling::Paper), T);
    // Paper dual: measured 0.529 at k = 100 and 2.344e-3 at the end (a plateau: not 0).
    assert!(
        (0.4..0.7).contains(&at(&paper, 100)),
        "paper dual, k = 100: {:.3e}",
        at(&paper, 100)
    );
    let end = at(&paper, T as usize + 1);
    assert!((1.5e-3..4e-3).contains(&end), "paper dual plateau: {end:.3e}");
}

/// T8 with σ₀ = 1, ρ₀ = 10: with the paper dual, σ is too small for the curvature and the run
/// blows up in the middle (spec: "gap about 30"; measured: 13 at k = 100, 28 at k = 200, peak
/// 79 at k = 365, chaotic) until the warm-down's growing σ rescues it (measured 1.2e-2 at the
/// end, above σ₀ = 10's plateau). The code's α-scaled dual keeps only a 1/m share of the
/// multiplier each step, which damps the instability: it stays below 2.2e-2 after k = 50
/// (measured).
#[test]
fn t8_small_sigma_paper_dual_blows_up() {
    let problem = LeastSquares::spec_t8(false);
    let paper = gaps(&problem, t8_config(1.0, 10.0, DualScaling::Paper), T);
    let (_, peak) = range(&paper, 100, 450);
    assert!(peak > 10.0, "paper dual should blow up mid-run (peak {peak:.3e})");
    assert!(
        at(&paper, 100) > 1.0,
        "already unstable at k = 100: {:.3e}",
        at(&paper, 100)
    );
    let end = at(&paper, T as usize + 1);
    assert!(end < 5e-2, "the warm-down rescues the run: {end:.3e}");
    let code = gaps(&problem, t8_config(1.0, 10.0, DualScaling::CodeAlphaScaled), T);
    let (_, code_peak) = range(&code, 50, T as usize + 1);
    assert!(code_peak < 5e-2, "code dual stays stable (peak {code_peak:.3e})");
}

/// With one node (α = 1) the code's dual Π ← α(Π + σ(W_i − W)) and aggregation
/// Σ(σαW_i + Π) are the paper's, bit for bit: multiplying by 1.0 is exact.
#[test]
fn single_node_code_dual_equals_paper_dual() {
    // T8's data pooled on one node.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for node in LeastSquares::spec_t8(false).to_file().nodes {
        a.extend(node.a);
        let Targets::Matrix(rows) = node.b else {
            panic!("T8 has matrix targets")
        };
        b.extend(rows);
    }
    let pooled = ProblemFile {
        nodes: vec![NodeData {
            a,
            b: Targets::Matrix(b),
            alpha: None,
        }],
        w0: None,
        f_star: None,
    };
    let problem = LeastSquares::from_file(&pooled).unwrap();
    let run = |dual| {
        let cfg = NsisaConfig {
            nodes: 1,
            ..t8_config(10.0, 10.0, dual)
        };
        let w = problem.w0.copy().set_requires_grad(true);
        let mut opt = nsisa(cfg, vec![("w".into(), w.shallow_clone())]);
        for _ in 0..100 {
            opt.step(&mut |i| problem.node_loss(i, &w)).unwrap();
        }
        Vec::<f64>::try_from(w.detach().reshape([-1])).unwrap()
    };
    let (paper, code) = (run(DualScaling::Paper), run(DualScaling::CodeAlphaScaled));
    assert_eq!(paper, code);
    // And the run did move (the pooled optimum is far from W⁰ = 0).
    assert!(paper.iter().any(|x| x.abs() > 0.1), "{paper:?}");
}

/// Vectors skip Newton–Schulz: O = G̃, the Nesterov look-ahead itself, unnormalized.
///
/// Closed form. Take a linear loss f(w) = ⟨g, w⟩ (constant gradient g), m = 1, ρ = 0, Π⁰ = 0.
/// The momentum is B_k = g(1 − β^k)/(1 − β), so the look-ahead is O_k = c_k g with
/// c_k = 1 + β(1 − β^k)/(1 − β). With ρ = 0, D = σ: W_i = W − (O_k + Π)/σ, the dual step gives
/// Π ← Π − (O_k + Π) = −O_k, and the aggregate is W + (Π_new − O_k − Π_old)/σ, i.e.
/// W^{k+1} = W^k − (2O_k − O_{k−1})/σ (O₀ = 0; the displacement identity of spec §2.3b with
/// π = −O). Summed: W^{K+1} = W¹ − (c_K + Σ_{k≤K} c_k) g/σ. Had NS run on the vector (as a
/// 1 × n matrix) the step would be scale-free; here it is proportional to g.
#[test]
fn vectors_skip_newton_schulz() {
    let (sigma, beta) = (4.0, 0.95);
    let g = [3.0, -0.5, 12.0, 0.0, 7.25];
    let w0 = [0.5, -1.0, 2.0, 0.25, 0.0];
    let cfg = NsisaConfig {
        nodes: 1,
        sigma,
        rho: Some(0.0),
        momentum: beta,
        pi_init: 0.0,
        newton_schulz: NewtonSchulz {
            precision: Precision::F64,
            ..NewtonSchulz::default()
        },
        ..NsisaConfig::default()
    };
    let w = Tensor::from_slice(&w0).set_requires_grad(true);
    let grad = Tensor::from_slice(&g);
    let mut opt = nsisa(cfg.clone(), vec![("w".into(), w.shallow_clone())]);
    let c = |k: i32| 1.0 + beta * (1.0 - beta.powi(k)) / (1.0 - beta);
    let mut sum_c = 0.0;
    for k in 1..=20 {
        opt.step(&mut |_| (&w * &grad).sum(Kind::Double)).unwrap();
        sum_c += c(k);
        let got = Vec::<f64>::try_from(w.detach()).unwrap();
        for (j, (&got, (&start, &gj))) in got.iter().zip(w0.iter().zip(&g)).enumerate() {
            let want = start - (c(k) + sum_c) * gj / sigma;
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "k = {k}, w[{j}]: got {got}, closed form {want}"
            );
        }
    }
    // The same values as a 1 × 5 matrix do go through Newton–Schulz: the first step differs.
    let row = Tensor::from_slice(&w0).view([1, 5]).set_requires_grad(true);
    let mut opt = nsisa(cfg, vec![("w".into(), row.shallow_clone())]);
    opt.step(&mut |_| (&row * grad.view([1, 5])).sum(Kind::Double))
        .unwrap();
    let vector_step = 2.0 * c(1) * 12.0 / sigma;
    let matrix_step = 2.0 - row.double_value(&[0, 2]);
    assert!(
        (matrix_step - vector_step).abs() > 1.0,
        "a 1 × n matrix is orthogonalized (step {matrix_step} vs {vector_step} unnormalized)"
    );
}

/// State memory: m nodes keep a momentum and a multiplier each, plus one accumulator when
/// m > 1. With m = 1 that is Muon's momentum plus one buffer (the paper's Table 7 claim).
#[test]
fn state_is_two_buffers_per_node_plus_an_accumulator_only_for_several_nodes() {
    for (nodes, buffers) in [(1, 2.0), (3, 7.0)] {
        let w = Tensor::zeros([6, 4], (Kind::Double, tch::Device::Cpu)).set_requires_grad(true);
        let cfg = NsisaConfig {
            nodes,
            ..NsisaConfig::default()
        };
        let opt = nsisa(cfg, vec![("w".into(), w)]);
        assert_eq!(opt.footprint().buffers(), buffers, "m = {nodes}");
    }
}
