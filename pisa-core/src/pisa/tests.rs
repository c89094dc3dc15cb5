//! Reference cases T0–T6 of the spec (§10), the displacement identity (§2.3b), fused-kernel
//! agreement, save/resume and error handling.

use super::*;
use crate::problems::LeastSquares;
use crate::schedule::PenaltySchedule;
use tch::{nn, Device, Kind};

/// A PISA/SISA run on a least-squares problem in f64.
struct Run {
    problem: LeastSquares,
    w: Tensor,
    opt: Pisa,
    lambda: f64,
}

impl Run {
    fn new(problem: LeastSquares, cfg: PisaConfig) -> Self {
        Self::on(problem, cfg, Device::Cpu)
    }

    fn on(problem: LeastSquares, cfg: PisaConfig, device: Device) -> Self {
        let w = problem.w0.to_device(device).set_requires_grad(true);
        let lambda = cfg.lambda;
        let sisa = matches!(cfg.preconditioner, Preconditioner::SecondMoment { .. });
        let cfg = PisaConfig {
            nodes: problem.nodes(),
            alpha: Some(problem.alpha.as_slice().to_vec()),
            ..cfg
        };
        let opt = Pisa::new(
            ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap(),
            cfg,
            sisa,
        )
        .unwrap();
        Run {
            problem,
            w,
            opt,
            lambda,
        }
    }

    fn step(&mut self) {
        let (p, w) = (&self.problem, &self.w);
        let device = w.device();
        let a: Vec<Tensor> = p.a.iter().map(|a| a.to_device(device)).collect();
        let b: Vec<Tensor> = p.b.iter().map(|b| b.to_device(device)).collect();
        self.opt
            .step(&mut |i| {
                let pred = if w.dim() == 1 { a[i].mv(w) } else { a[i].matmul(w) };
                (pred - &b[i]).square().sum(Kind::Double) / (2.0 * a[i].size()[0] as f64)
            })
            .unwrap();
    }

    /// Runs until the aggregate is w^k (k − 1 iterations in all; w¹ is the start, spec §10).
    fn run_to(&mut self, k: u64) -> &mut Self {
        while self.opt.iteration() + 1 < k {
            self.step();
        }
        self
    }

    /// F(w) − F* at the current aggregate.
    fn gap(&self) -> f64 {
        let w = self.w.to_device(Device::Cpu);
        let star = self.problem.optimum(self.lambda);
        self.problem.objective(&w, self.lambda) - self.problem.objective(&star, self.lambda)
    }

    fn w(&self) -> Vec<f64> {
        Vec::<f64>::try_from(self.w.to_device(Device::Cpu).reshape([-1])).unwrap()
    }

    fn pis(&self) -> Vec<Tensor> {
        (0..self.problem.nodes())
            .map(|i| self.opt.multiplier(i).copy())
            .collect()
    }
}

/// Deterministic test values in [−2, 2], independent of libtorch's global RNG (tests run in
/// parallel threads, so seeding it is racy).
fn fixed_values(shape: &[i64], seed: f64, kind: Kind) -> Tensor {
    let n: i64 = shape.iter().product();
    ((Tensor::arange(n, (Kind::Double, Device::Cpu)) * 0.7 + seed * 1.3).sin() * 2.0)
        .view(shape)
        .to_kind(kind)
}

fn sisa(sigma: f64, rho: f64, beta: f64) -> PisaConfig {
    PisaConfig {
        sigma,
        rho: Some(rho),
        preconditioner: Preconditioner::SecondMoment {
            scheme: Scheme::Adam,
            beta,
        },
        ..PisaConfig::default()
    }
}

fn with_preconditioner(sigma: f64, rho: f64, preconditioner: Preconditioner) -> PisaConfig {
    PisaConfig {
        sigma,
        rho: Some(rho),
        preconditioner,
        ..PisaConfig::default()
    }
}

/// T0's problem: f₁ = ½(w − 1)², f₂ = (3/2)(w + 1)², m = 2, w* = −0.5.
fn t0_problem() -> LeastSquares {
    let r3 = 3f64.sqrt();
    let file = serde_json::json!({"nodes": [{"a": [[1.0]], "b": [1.0]}, {"a": [[r3]], "b": [-r3]}]});
    LeastSquares::from_file(&serde_json::from_value(file).unwrap()).unwrap()
}

fn assert_digits(got: f64, want: f64, digits: i32, what: &str) {
    let tol = 0.5 * 10f64.powi(-digits);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.15}, want {want} (±{tol:e})"
    );
}

/// T0: the exact SISA trace (σ = ρ = 1, β = 0.9), to the 12 printed digits.
#[test]
fn t0_sisa_trace() {
    let mut run = Run::new(t0_problem(), sisa(1.0, 1.0, 0.9));
    #[rustfmt::skip]
    let table = [
        [0.0, 0.499999997500, -0.749999998125, 0.499999997500, -0.749999998125, 0.1, 0.9],
        [-0.250000000625, 0.149500042355, -0.699915440056, 0.899500040480, -1.199915437556, 0.146250000469, 1.035],
        [-0.425415397388, -0.127725806260, -0.607234455806, 1.197189631608, -1.381734495973, 0.159283696685, 0.958940663818],
    ];
    for (k, row) in table.iter().enumerate() {
        let w = run.w()[0];
        let before = run.pis();
        run.step();
        let pi: Vec<f64> = run.pis().iter().map(|t| t.double_value(&[0])).collect();
        let w_i: Vec<f64> = (0..2)
            .map(|i| w + (pi[i] - before[i].double_value(&[0])) / 1.0)
            .collect();
        let v: Vec<f64> = (0..2)
            .map(|i| run.opt.second_moment(i).unwrap().double_value(&[0]))
            .collect();
        let got = [w, w_i[0], w_i[1], pi[0], pi[1], v[0], v[1]];
        for (j, (g, want)) in got.iter().zip(row).enumerate() {
            assert_digits(*g, *want, 12, &format!("k = {}, column {j}", k + 1));
        }
    }
    assert_digits(run.w()[0], -0.459752563215, 12, "next aggregate");
}

/// T0: other preconditioners' first iterates, σ = ρ = 1.
#[test]
fn t0_identity_and_hessian_iterates() {
    let mut identity = Run::new(
        t0_problem(),
        with_preconditioner(1.0, 1.0, Preconditioner::Identity),
    );
    let mut hessian = Run::new(
        t0_problem(),
        with_preconditioner(1.0, 1.0, Preconditioner::Hessian),
    );
    let (mut wi, mut wh) = (vec![], vec![]);
    for _ in 0..4 {
        wi.push(identity.w()[0]);
        wh.push(hessian.w()[0]);
        identity.step();
        hessian.step();
    }
    for (g, w) in wi.iter().zip([0.0, -1.0, 0.0, -1.0]) {
        assert_digits(*g, w, 14, "identity: a persistent 2-cycle");
    }
    for (g, w) in wh.iter().zip([0.0, -0.25, -0.375, -0.4375]) {
        assert_digits(*g, w, 14, "hessian iterates");
    }
}

/// T0's convergence sweep (400 iterations, ρ = 1, β = 0.9).
#[test]
fn t0_convergence_sweep() {
    let distance = |cfg: PisaConfig| {
        let mut run = Run::new(t0_problem(), cfg);
        (0..400).for_each(|_| run.step());
        (run.w()[0] + 0.5).abs()
    };
    let identity = |s| with_preconditioner(s, 1.0, Preconditioner::Identity);
    let diverged = distance(identity(0.5));
    assert!(diverged.is_nan() || diverged > 1.0, "Q = I, σ = 0.5 diverges");
    assert!(
        (distance(identity(1.0)) - 0.5).abs() < 1e-12,
        "Q = I, σ = 1: 2-cycle between 0 and −1"
    );
    assert!(distance(identity(2.0)) < 1e-9);
    for (sigma, far) in [(0.5, 0.5), (1.0, 0.34), (2.0, 0.13)] {
        let d = distance(sisa(sigma, 1.0, 0.9));
        assert!(
            (d - far).abs() < 0.02,
            "SISA σ = {sigma}: |w − w*| = {d}, expected about {far}"
        );
    }
    assert!(distance(sisa(3.0, 1.0, 0.9)) < 1e-6);
    for sigma in [0.5, 1.0, 2.0, 5.0, 10.0] {
        assert!(
            distance(with_preconditioner(sigma, 1.0, Preconditioner::Hessian)) < 1e-6,
            "Hessian σ = {sigma}"
        );
    }
}

/// T1: PISA with Q = I, σ = ρ = 1: consensus residual max_i ‖w_i − w‖.
#[test]
fn t1_identity_consensus() {
    let mut run = Run::new(
        LeastSquares::spec_t1(),
        with_preconditioner(1.0, 1.0, Preconditioner::Identity),
    );
    let mut residual = vec![];
    for _ in 0..100 {
        let before = run.pis();
        run.step();
        // w_i − w = (π_i^new − π_i^old)/σ.
        let r = run
            .pis()
            .iter()
            .zip(&before)
            .map(|(a, b)| (a - b).norm().double_value(&[]))
            .fold(0.0, f64::max);
        residual.push(r);
    }
    assert_digits(residual[49], 2.5e-6, 7, "residual at k = 50");
    assert_digits(residual[99], 7.6e-11, 12, "residual at k = 100");
    assert!(run.gap().abs() < 1e-15, "F − F* = {}", run.gap());
}

/// T2: SISA Scheme III, σ = 1, ρ = 10, β = 0.999.
#[test]
fn t2_sisa_iterates_and_rate() {
    let mut run = Run::new(LeastSquares::spec_t1(), sisa(1.0, 10.0, 0.999));
    run.step();
    let w2 = [
        0.1746023037,
        0.0971918423,
        0.0199844267,
        0.1038902854,
        0.0374407897,
        -0.0589019573,
    ];
    run.w()
        .iter()
        .zip(w2)
        .for_each(|(g, w)| assert_digits(*g, w, 10, "w²"));
    run.step();
    let w3 = [
        0.3985853668,
        0.1991608255,
        0.0733230024,
        0.1632961780,
        0.0619170290,
        -0.1111893213,
    ];
    run.w()
        .iter()
        .zip(w3)
        .for_each(|(g, w)| assert_digits(*g, w, 10, "w³"));
    assert_digits(run.run_to(50).gap(), 3.9e-9, 10, "F − F* at k = 50");
    // "≤ 1e-16 by k = 100" is machine zero; F itself is accurate only to a few ulps (3e-17 each).

    assert!(run.run_to(100).gap() < 1e-15, "F − F* at k = 100: {}", run.gap());
}

/// T2: Scheme II is as fast as III; Scheme I (AdaGrad) slower.
#[test]
fn t2_schemes_compared() {
    let gap_after = |scheme, k| {
        let cfg = PisaConfig {
            preconditioner: Preconditioner::SecondMoment { scheme, beta: 0.999 },
            ..sisa(1.0, 10.0, 0.999)
        };
        Run::new(LeastSquares::spec_t1(), cfg).run_to(k).gap()
    };
    assert!(gap_after(Scheme::Rmsprop, 50) < 1e-8);
    assert_digits(gap_after(Scheme::Adagrad, 50), 2.2e-4, 5, "Scheme I at k = 50");
    assert!(gap_after(Scheme::Adagrad, 500) < 1e-14);
}

/// The federated script's frozen bias correction, v̂ = v / (1 − β): since
/// σ + ρ(√(v/(1 − β)) + ε) = σ + ρ'(√v + ε') with ρ' = ρ/√(1 − β) and ε' = ε√(1 − β), it is
/// Scheme II with those settings (a closed-form rescaling, so the iterates agree to rounding).
#[test]
fn frozen_bias_correction_is_a_rescaled_scheme_ii() {
    let beta: f64 = 0.999;
    let scheme = |scheme, rho, eps, fused| PisaConfig {
        preconditioner: Preconditioner::SecondMoment { scheme, beta },
        eps,
        fused,
        ..sisa(1.0, rho, beta)
    };
    for fused in [true, false] {
        let mut frozen = Run::new(LeastSquares::spec_t1(), scheme(Scheme::Frozen, 10.0, 1e-8, fused));
        let rescaled = scheme(
            Scheme::Rmsprop,
            10.0 / (1.0 - beta).sqrt(),
            1e-8 * (1.0 - beta).sqrt(),
            fused,
        );
        let mut rmsprop = Run::new(LeastSquares::spec_t1(), rescaled);
        for k in 0..20 {
            frozen.step();
            rmsprop.step();
            for (a, b) in frozen.w().iter().zip(rmsprop.w()) {
                assert!(
                    (a - b).abs() <= 1e-13 * b.abs().max(1.0),
                    "k = {k}, fused {fused}: {a} vs {b}"
                );
            }
        }
        // and it is not Scheme III, whose correction shrinks from the second iteration on
        let mut adam = Run::new(LeastSquares::spec_t1(), scheme(Scheme::Adam, 10.0, 1e-8, fused));
        adam.run_to(21);
        assert!((adam.w()[0] - frozen.w()[0]).abs() > 1e-3);
    }
}

/// T3: explicit Hessian, σ = ρ = 1.
#[test]
fn t3_hessian() {
    let mut run = Run::new(
        LeastSquares::spec_t1(),
        with_preconditioner(1.0, 1.0, Preconditioner::Hessian),
    );
    assert_digits(run.run_to(50).gap(), 1.6e-9, 10, "F − F* at k = 50");
    assert!(run.run_to(100).gap() < 1e-15);
}

/// T4: σ = 0.01 never converges; σ ≥ 10 converges for ρ ∈ {1, 10}.
#[test]
fn t4_small_sigma_is_unstable() {
    let mut run = Run::new(LeastSquares::spec_t1(), sisa(0.01, 1.0, 0.999));
    let mut gaps = vec![];
    for _ in 0..2000 {
        run.step();
        gaps.push(run.gap());
    }
    let tail = &gaps[1000..];
    assert!(
        tail.iter().all(|&g| g > 0.05),
        "keeps oscillating well above the optimum"
    );
    for rho in [1.0, 10.0] {
        let mut run = Run::new(LeastSquares::spec_t1(), sisa(10.0, rho, 0.999));
        (0..500).for_each(|_| run.step());
        assert!(run.gap() < 1e-8, "σ = 10, ρ = {rho}: F − F* = {}", run.gap());
    }
}

/// T5: σ growth by γ every iteration from σ₀ = 0.01.
#[test]
fn t5_sigma_growth() {
    let grow = |sigma0, gamma, k| {
        let cfg = PisaConfig {
            schedule: PenaltySchedule::Gamma { gamma, k0: 1 },
            ..sisa(sigma0, 1.0, 0.999)
        };
        Run::new(LeastSquares::spec_t1(), cfg).run_to(k).gap()
    };
    assert_digits(grow(0.01, 1.01, 100), 1.2e-2, 3, "γ = 1.01, k = 100");
    assert!(grow(0.01, 1.01, 500) < 1e-14);
    let frozen = grow(0.01, 1.1, 1000);
    assert!(
        (5e-12..2e-11).contains(&frozen),
        "γ = 1.1 freezes at about 9e-12, got {frozen}"
    );
    assert_digits(
        grow(0.1, 1.001, 2000),
        1.8e-11,
        12,
        "σ₀ = 0.1, γ = 1.001, k = 2000",
    );
}

/// T6: ridge with λ = 0.1 converges to w*_λ.
#[test]
fn t6_ridge() {
    let cfg = PisaConfig {
        lambda: 0.1,
        ..sisa(1.0, 10.0, 0.999)
    };
    let mut run = Run::new(LeastSquares::spec_t1(), cfg);
    assert_digits(run.run_to(50).gap(), 3e-9, 9, "F − F* at k = 50");
    (50..300).for_each(|_| run.step());
    let want = [
        1.102906396915,
        0.525073722977,
        0.373891328195,
        0.121102527688,
        0.025839238615,
        -0.182755962530,
    ];
    run.w()
        .iter()
        .zip(want)
        .for_each(|(g, w)| assert_digits(*g, w, 12, "w*_λ"));
    assert_digits(
        run.problem.objective(&run.w, 0.1),
        0.229975417461136,
        15,
        "objective",
    );
}

/// §2.3(b): w^{k+1} − w^k = (2π̄^k − π̄^{k−1})/σ with λ = 0 and constant σ, for any preconditioner.
#[test]
fn displacement_identity() {
    let configs = [
        sisa(0.7, 3.0, 0.99),
        with_preconditioner(2.0, 0.5, Preconditioner::Identity),
        with_preconditioner(1.5, 1.0, Preconditioner::Hessian),
        with_preconditioner(1.5, 2.0, Preconditioner::DiagonalHessian),
    ];
    for cfg in configs {
        let mut run = Run::new(LeastSquares::spec_t1(), cfg.clone());
        let alpha = run.problem.alpha.clone();
        let pi_bar = |run: &Run| {
            run.pis()
                .iter()
                .enumerate()
                .map(|(i, p)| p * alpha.get(i))
                .fold(Tensor::zeros([6], (Kind::Double, Device::Cpu)), |a, b| a + b)
        };
        let mut prev_pi_bar = pi_bar(&run);
        for _ in 0..30 {
            let w_before = run.w.copy();
            run.step();
            let pi_now = pi_bar(&run);
            let predicted = (&pi_now * 2.0 - &prev_pi_bar) / cfg.sigma;
            let err = (&run.w - w_before - predicted).abs().max().double_value(&[]);
            assert!(err < 1e-13, "{:?}: identity off by {err}", cfg.preconditioner);
            prev_pi_bar = pi_now;
        }
    }
}

/// The fused CPU kernel and the tensor path agree (f64 to rounding, f32 to f32 precision),
/// with decay, several nodes and λ > 0.
#[test]
fn fused_kernel_matches_tensor_path() {
    for kind in [Kind::Double, Kind::Float] {
        for (nodes, preconditioner) in [
            (1, Preconditioner::default()),
            (3, Preconditioner::default()),
            (3, Preconditioner::Identity),
        ] {
            let run = |fused: bool| {
                let w = fixed_values(&[5, 7], 0.0, kind).set_requires_grad(true);
                let targets: Vec<Tensor> = (0..nodes)
                    .map(|i| fixed_values(&[5, 7], 1.0 + i as f64, kind))
                    .collect();
                let cfg = PisaConfig {
                    nodes,
                    sigma: 0.3,
                    lr: Some(0.05),
                    lambda: 0.01,
                    weight_decay: 1e-3,
                    decoupled_weight_decay: 1e-2,
                    preconditioner: preconditioner.clone(),
                    fused,
                    ..PisaConfig::default()
                };
                let mut opt = Pisa::new(
                    ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap(),
                    cfg,
                    false,
                )
                .unwrap();
                assert_eq!(opt.is_fused(), fused);
                for _ in 0..20 {
                    opt.step(&mut |i| (&w - &targets[i]).square().sum(kind) * 0.5)
                        .unwrap();
                }
                w.to_kind(Kind::Double)
            };
            let (fused, plain) = (run(true), run(false));
            let scale = plain.abs().max().double_value(&[]);
            let err = (fused - plain).abs().max().double_value(&[]) / scale;
            let tol = if kind == Kind::Double { 1e-13 } else { 1e-5 };
            assert!(
                err < tol,
                "{kind:?}, m = {nodes}, {preconditioner:?}: relative difference {err}"
            );
        }
    }
}

/// Save → load → step equals an uninterrupted run, bit for bit.
#[test]
fn resume_is_bit_identical() {
    let dir = std::env::temp_dir().join(format!("pisa-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("opt");
    let mut straight = Run::new(LeastSquares::spec_t1(), sisa(0.5, 2.0, 0.99));
    (0..10).for_each(|_| straight.step());
    straight.opt.state().unwrap().save(&path).unwrap();
    let saved_w = straight.w.copy();
    (0..10).for_each(|_| straight.step());

    let mut resumed = Run::new(LeastSquares::spec_t1(), sisa(0.5, 2.0, 0.99));
    tch::no_grad(|| resumed.w.copy_(&saved_w));
    resumed
        .opt
        .load_state(&OptimizerState::load(&path, Device::Cpu).unwrap())
        .unwrap();
    (0..10).for_each(|_| resumed.step());
    assert_eq!(resumed.w(), straight.w());
    assert_eq!(resumed.opt.iteration(), 20);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Bad settings and NaN losses are typed errors.
#[test]
fn invalid_settings_are_errors() {
    let params = || {
        let vs = nn::VarStore::new(Device::Cpu);
        ParamSet::new(vec![("w".into(), vs.root().zeros("w", &[2]))]).unwrap()
    };
    let bad = [
        PisaConfig {
            sigma: 0.0,
            ..sisa(1.0, 1.0, 0.9)
        },
        PisaConfig {
            sigma: -1.0,
            ..sisa(1.0, 1.0, 0.9)
        },
        PisaConfig {
            nodes: 0,
            ..sisa(1.0, 1.0, 0.9)
        },
        PisaConfig {
            nodes: 2,
            alpha: Some(vec![0.3, 0.3]),
            ..sisa(1.0, 1.0, 0.9)
        },
        PisaConfig {
            rho: None,
            lr: None,
            ..sisa(1.0, 1.0, 0.9)
        },
        PisaConfig {
            lr: Some(1e-3),
            ..sisa(1.0, 1.0, 0.9)
        },
    ];
    for cfg in bad {
        let err = Pisa::new(params(), cfg.clone(), true)
            .err()
            .unwrap_or_else(|| panic!("{cfg:?} accepted"));
        assert!(
            matches!(
                err,
                Error::InvalidSetting { .. } | Error::InvalidNodeWeights { .. }
            ),
            "{err}"
        );
    }
    let not_sisa = with_preconditioner(1.0, 1.0, Preconditioner::Identity);
    assert!(Pisa::new(params(), not_sisa, true).is_err());

    let vs = nn::VarStore::new(Device::Cpu);
    let w = vs.root().zeros("w", &[2]);
    let mut opt = Pisa::new(
        ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap(),
        sisa(1.0, 1.0, 0.9),
        true,
    )
    .unwrap();
    let err = opt.step(&mut |_| (&w / 0.0).sum(Kind::Float)).unwrap_err();
    assert!(matches!(err, Error::NonFiniteLoss { node: 0, .. }), "{err}");
    assert_eq!(Vec::<f32>::try_from(&w).unwrap(), [0.0, 0.0], "weights untouched");
    // The optimizer is usable again afterwards.
    opt.step(&mut |_| (&w - 1.0).square().sum(Kind::Float)).unwrap();
}

/// State footprint of the streaming form: 2m buffers (+1 accumulator when m > 1).
#[test]
fn footprint_is_the_streaming_count() {
    let vs = nn::VarStore::new(Device::Cpu);
    let w = vs.root().zeros("w", &[1000]);
    for (m, buffers) in [(1, 2.0), (4, 9.0)] {
        let cfg = PisaConfig {
            nodes: m,
            ..sisa(1.0, 1.0, 0.9)
        };
        let opt = Pisa::new(
            ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap(),
            cfg,
            true,
        )
        .unwrap();
        assert_eq!(opt.footprint().buffers(), buffers);
    }
}

/// The ∞-norm-normalized preconditioner (spec §3.3, theory form) keeps 0 ⪯ Q ⪯ I, so each local
/// step is bounded by |e|/σ ≥ |step| ≥ |e|/(σ + ρ); with σ above the largest node curvature
/// (L_i ≤ 2 on T1, §2.3d) it converges to w*.
#[test]
fn inf_norm_preconditioner_is_bounded_and_converges() {
    let (sigma, rho) = (3.0, 1.0);
    let cfg = PisaConfig {
        qnorm: QNorm::InfRunningMax,
        ..sisa(sigma, rho, 0.999)
    };
    let mut run = Run::new(LeastSquares::spec_t1(), cfg);
    assert!(!run.opt.is_fused(), "the normalized form runs on the tensor path");
    for _ in 0..5 {
        let before = run.pis();
        let w = run.w.copy();
        let problem = &run.problem;
        let e: Vec<Tensor> = (0..4)
            .map(|i| {
                let w = w.copy().set_requires_grad(true);
                let g = Tensor::run_backward(&[problem.node_loss(i, &w)], &[&w], false, false).remove(0);
                g + &before[i]
            })
            .collect();
        run.step();
        for (i, e) in e.iter().enumerate() {
            // π_i moves by −σ·step, so |step| = |Δπ_i|/σ.
            let step = (run.opt.multiplier(i) - &before[i]).abs() / sigma;
            let (lo, hi) = (e.abs() / (sigma + rho), e.abs() / sigma);
            assert!(
                bool::try_from((&step - lo).min().ge(-1e-15)).unwrap(),
                "step below |e|/(σ+ρ)"
            );
            assert!(
                bool::try_from((hi - &step).min().ge(-1e-15)).unwrap(),
                "step above |e|/σ"
            );
        }
    }
    assert!(run.run_to(400).gap() < 1e-12, "F − F* = {}", run.gap());
}

/// The authors' σ/ρ schedule (spec §4.2): both scale with 1/η_t, here a step decay ×0.5 every
/// 3 iterations; `penalties()` reports the open iteration's values.
#[test]
fn lr_linked_schedule_scales_sigma_and_rho() {
    let schedule = PenaltySchedule::LrLinked {
        lr: crate::schedule::LrSchedule::Step {
            step_size: 3,
            gamma: 0.5,
        },
        sigma_power: 1.0,
    };
    let cfg = PisaConfig {
        schedule,
        lr: Some(0.01),
        rho: None,
        ..sisa(0.5, 1.0, 0.999)
    };
    let mut run = Run::new(LeastSquares::spec_t1(), cfg);
    for t in 0..7u32 {
        run.opt.begin_iteration().unwrap();
        let scale = 2f64.powi((t / 3) as i32);
        let (sigma, rho) = run.opt.penalties();
        assert_eq!(
            (sigma, rho),
            (0.5 * scale, (1.0 / 0.01 - 0.5) * scale),
            "iteration {t}"
        );
        run.opt.abort_iteration();
        run.step();
    }
}

/// Spread over the one rank of a local run, SISA takes the same steps as without ranks, bit for
/// bit, with either reduction (the multi-process runs are tested under `mpirun`, see
/// `pisa-core/tests/mpi.rs`); misuse is an error.
#[test]
fn a_one_rank_plan_equals_the_plain_run() {
    use crate::collective::{Local, Ranks, Reduction};
    use std::sync::Arc;
    let plain = {
        let mut run = Run::new(LeastSquares::spec_t1(), sisa(0.5, 1.0, 0.999));
        run.run_to(20);
        run.w()
    };
    for reduction in [Reduction::Ordered, Reduction::AllReduce] {
        let mut run = Run::new(LeastSquares::spec_t1(), sisa(0.5, 1.0, 0.999));
        let ranks = Ranks::new(Arc::new(Local), 4, reduction).unwrap();
        run.opt.distribute(ranks.clone()).unwrap();
        assert_eq!(run.opt.ranks().map(Ranks::owned), Some(0..4));
        run.run_to(20);
        let bits = |w: &[f64]| w.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&run.w()), bits(&plain), "{reduction:?}");
        // Too late to distribute, and never twice.
        assert!(run.opt.distribute(ranks).is_err());
    }
    let mut run = Run::new(LeastSquares::spec_t1(), sisa(0.5, 1.0, 0.999));
    let wrong = Ranks::new(Arc::new(Local), 3, Reduction::AllReduce).unwrap();
    let err = run.opt.distribute(wrong).unwrap_err();
    assert!(err.to_string().contains("3 nodes"), "{err}");
}

/// The node-scaling tests' problem: m = 2 nodes with α = (0.4, 0.6), n = 3, w⁰ ≠ 0.
fn node_scale_problem() -> LeastSquares {
    let file = serde_json::json!({
        "nodes": [
            {"a": [[1.0, 0.5, -0.2], [0.3, -1.2, 0.8], [0.0, 0.7, 1.1], [-0.6, 0.2, 0.4]],
             "b": [1.0, -0.5, 0.3, 0.8], "alpha": 0.4},
            {"a": [[2.0, -0.3, 0.1], [0.4, 0.9, -1.5], [-1.0, 0.2, 0.6]],
             "b": [-1.0, 0.4, 2.0], "alpha": 0.6}
        ],
        "w0": [0.2, -0.4, 0.5]
    });
    LeastSquares::from_file(&serde_json::from_value(file).unwrap()).unwrap()
}

/// SISA (Scheme III, β = 0.9, ε = 1e-8) with coupled decay 0.01 and λ = 0.1, node-scaled.
fn node_scaled(lambda: f64) -> PisaConfig {
    PisaConfig {
        lambda,
        weight_decay: 0.01,
        node_scale: NodeScale::FirstGradientNorm,
        ..sisa(0.5, 2.0, 0.9)
    }
}

/// An independent float64 transcription of the VGG script's node-scaled SISA (spec §3.3) on
/// `node_scale_problem`, in plain loops: returns w after each of `steps` iterations, and c_i.
fn node_scaled_reference(steps: usize, lambda: f64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let a: [&[[f64; 3]]; 2] = [
        &[
            [1.0, 0.5, -0.2],
            [0.3, -1.2, 0.8],
            [0.0, 0.7, 1.1],
            [-0.6, 0.2, 0.4],
        ],
        &[[2.0, -0.3, 0.1], [0.4, 0.9, -1.5], [-1.0, 0.2, 0.6]],
    ];
    let b: [&[f64]; 2] = [&[1.0, -0.5, 0.3, 0.8], &[-1.0, 0.4, 2.0]];
    let alpha = [0.4, 0.6];
    let (sigma, rho, beta, eps, wd): (f64, f64, f64, f64, f64) = (0.5, 2.0, 0.9, 1e-8, 0.01);
    let mut w = vec![0.2, -0.4, 0.5]; // w¹ = w⁰: the scaled aggregate of w_i = w⁰, π_i = 0
    let mut pi = [[0.0f64; 3]; 2];
    let mut v = [[0.0f64; 3]; 2];
    let mut c = [0.0f64; 2];
    let mut trace = Vec::new();
    for k in 0..steps {
        let bias_correction = 1.0 - beta.powi(k as i32 + 1);
        let mut next = vec![0.0; 3];
        for i in 0..2 {
            // g = Aᵀ(Aw − b)/d plus the coupled decay.
            let d = a[i].len();
            let mut g = [0.0f64; 3];
            for r in 0..d {
                let residual: f64 = (0..3).map(|j| a[i][r][j] * w[j]).sum::<f64>() - b[i][r];
                for j in 0..3 {
                    g[j] += a[i][r][j] * residual / d as f64;
                }
            }
            for j in 0..3 {
                g[j] += wd * w[j];
            }
            if k == 0 {
                c[i] = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            }
            for j in 0..3 {
                let e = g[j] + pi[i][j];
                v[i][j] = beta * v[i][j] + (1.0 - beta) * e * e;
                let q = (v[i][j] / bias_correction).sqrt() + eps;
                let w_i = w[j] - e / (c[i] * (sigma + rho * q));
                pi[i][j] += sigma * (w_i - w[j]);
                next[j] += alpha[i] * w_i + alpha[i] * pi[i][j] / c[i] / (sigma + lambda);
            }
        }
        w = next;
        trace.push(w.clone());
    }
    (trace, c.to_vec())
}

/// Node scaling (spec §3.3, VGG-11 script) against the float64 reference, to 1e-12, with λ > 0
/// (the aggregation then differs from (2.9)) and λ = 0; c_i is the first decayed gradient's norm.
#[test]
fn node_scale_matches_a_float64_reference() {
    for lambda in [0.1, 0.0] {
        let (want, c) = node_scaled_reference(6, lambda);
        let mut run = Run::new(node_scale_problem(), node_scaled(lambda));
        assert!(!run.opt.is_fused(), "node scaling takes the tensor path");
        for (k, want) in want.iter().enumerate() {
            run.step();
            for (got, want) in run.w().iter().zip(want) {
                assert!(
                    (got - want).abs() < 1e-12,
                    "λ {lambda} step {}: {got} vs {want}",
                    k + 1
                );
            }
        }
        for (i, c) in c.iter().enumerate() {
            let got = run.opt.node_scale(i).unwrap().double_value(&[]);
            assert!((got - c).abs() < 1e-12 * c, "c_{i}: {got} vs {c}");
        }
    }
}

/// c_i is saved with the node state: save after 3 steps → load → 3 steps equals 6 straight,
/// bit for bit; a state with c_i does not load into an optimizer without node scaling.
#[test]
fn node_scale_resume_is_bit_identical() {
    let dir = std::env::temp_dir().join(format!("pisa-node-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("opt");
    let mut straight = Run::new(node_scale_problem(), node_scaled(0.1));
    (0..3).for_each(|_| straight.step());
    straight.opt.state().unwrap().save(&path).unwrap();
    let saved_w = straight.w.copy();
    (0..3).for_each(|_| straight.step());

    let mut resumed = Run::new(node_scale_problem(), node_scaled(0.1));
    tch::no_grad(|| resumed.w.copy_(&saved_w));
    let state = OptimizerState::load(&path, Device::Cpu).unwrap();
    resumed.opt.load_state(&state).unwrap();
    (0..3).for_each(|_| resumed.step());
    assert_eq!(resumed.w(), straight.w());
    for i in 0..2 {
        let c = |run: &Run| run.opt.node_scale(i).unwrap().double_value(&[]);
        assert_eq!(c(&resumed), c(&straight));
    }
    let mut plain = Run::new(node_scale_problem(), sisa(0.5, 2.0, 0.9));
    assert!(matches!(
        plain.opt.load_state(&state),
        Err(Error::StateMismatch(_))
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

/// With every c_i = 1 and λ = 0 the node-scaled step and aggregation w̄ + Σα_iπ_i/σ are SISA's
/// (2.9) (σw̄ + π̄)/σ: from the same state (c_i set to 1 after one plain iteration) both runs
/// agree to rounding. (With λ > 0 they differ by design: the VGG form does not shrink w̄.)
#[test]
fn node_scale_with_unit_norms_is_sisa() {
    let plain_cfg = PisaConfig {
        weight_decay: 0.01,
        fused: false,
        ..sisa(0.5, 2.0, 0.9)
    };
    let mut plain = Run::new(node_scale_problem(), plain_cfg);
    plain.step();
    let mut state = plain.opt.state().unwrap();
    for i in 0..2 {
        state
            .tensors
            .push((format!("c.{i}"), Tensor::from(1.0f64).to_kind(Kind::Double)));
    }
    let mut scaled = Run::new(node_scale_problem(), node_scaled(0.0));
    tch::no_grad(|| scaled.w.copy_(&plain.w));
    scaled.opt.load_state(&state).unwrap();
    for k in 0..8 {
        plain.step();
        scaled.step();
        for (a, b) in plain.w().iter().zip(scaled.w()) {
            assert!((a - b).abs() < 1e-13, "step {}: {a} vs {b}", k + 2);
        }
    }
}

/// Spread over one rank, node scaling takes the same steps as without ranks (both reductions),
/// and a zero first gradient is an error rather than a division by zero.
#[test]
fn node_scale_over_ranks_and_zero_gradient() {
    use crate::collective::{Local, Ranks, Reduction};
    use std::sync::Arc;
    let plain = {
        let mut run = Run::new(node_scale_problem(), node_scaled(0.1));
        run.run_to(6);
        run.w()
    };
    for reduction in [Reduction::Ordered, Reduction::AllReduce] {
        let mut run = Run::new(node_scale_problem(), node_scaled(0.1));
        run.opt
            .distribute(Ranks::new(Arc::new(Local), 2, reduction).unwrap())
            .unwrap();
        run.run_to(6);
        assert_eq!(run.w(), plain, "{reduction:?}");
    }
    let w = Tensor::zeros([2], (Kind::Double, Device::Cpu)).set_requires_grad(true);
    let cfg = PisaConfig {
        node_scale: NodeScale::FirstGradientNorm,
        ..sisa(1.0, 1.0, 0.9)
    };
    let mut opt = Pisa::new(
        ParamSet::new(vec![("w".into(), w.shallow_clone())]).unwrap(),
        cfg,
        true,
    )
    .unwrap();
    let err = opt.step(&mut |_| (&w * 0.0).sum(Kind::Double)).unwrap_err();
    assert!(err.to_string().contains("first gradient norm is 0"), "{err}");
}
