//! The node protocol under stress: nodes stepped in any order through the lower-level API,
//! recovery after errors, a retried first iteration, the fused kernel's threaded path, dtype
//! range checks, and configuration / state mismatches.

use pisa_core::{Error, Optimizer, OptimizerConfig, OptimizerState};
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

/// Deterministic values (no global RNG: tests run in parallel threads).
fn values(n: i64, seed: f64, kind: Kind) -> Tensor {
    ((Tensor::arange(n, (Kind::Double, Device::Cpu)) * 0.37 + seed).sin() * 1.5).to_kind(kind)
}

fn build(cfg: Value, w: &Tensor) -> Box<dyn Optimizer> {
    OptimizerConfig::from_value(cfg)
        .unwrap()
        .build_named(vec![("w".into(), w.shallow_clone())])
        .unwrap()
}

/// Runs `iters` iterations through the lower-level API, stepping the nodes in `order`.
fn run_lower_level(cfg: Value, order: &[usize], iters: usize, kind: Kind) -> Vec<f64> {
    let n = 64;
    let w = values(n, 0.0, kind).view([8, 8]).set_requires_grad(true);
    let targets: Vec<Tensor> = (0..order.len())
        .map(|i| values(n, 1.0 + i as f64, kind).view([8, 8]))
        .collect();
    let mut opt = build(cfg, &w);
    for _ in 0..iters {
        opt.begin_iteration().unwrap();
        for &i in order {
            opt.zero_grad().unwrap();
            (&w - &targets[i]).square().sum(kind).backward();
            opt.node_step(i).unwrap();
        }
        opt.end_iteration().unwrap();
    }
    Vec::<f64>::try_from(w.to_kind(Kind::Double).reshape([-1])).unwrap()
}

#[test]
fn nodes_may_step_in_any_order() {
    let configs = [
        json!({"name": "sisa", "nodes": 3, "sigma": 0.5, "lr": 0.05, "lambda": 0.01}),
        json!({"name": "sisa", "nodes": 3, "sigma": 0.5, "lr": 0.05, "fused": false}),
        json!({"name": "nsisa", "nodes": 3, "sigma": 5.0, "rho": 10.0, "newton_schulz": {"precision": "f64"}}),
        json!({"name": "adamw", "nodes": 3, "lr": 0.01}),
    ];
    for cfg in configs {
        let in_order = run_lower_level(cfg.clone(), &[0, 1, 2], 5, Kind::Double);
        let reversed = run_lower_level(cfg.clone(), &[2, 0, 1], 5, Kind::Double);
        let err = in_order
            .iter()
            .zip(&reversed)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-12, "{cfg}: order changes the result by {err}");
    }
}

#[test]
fn errors_abandon_the_iteration_and_the_optimizer_stays_usable() {
    let w = values(6, 0.0, Kind::Float).set_requires_grad(true);
    for cfg in [
        json!({"name": "sisa", "nodes": 2, "sigma": 1.0, "lr": 0.1}),
        json!({"name": "nsisa", "nodes": 2}),
        json!({"name": "adam", "nodes": 2}),
        json!({"name": "sisa", "nodes": 2, "sigma": 1.0, "lr": 0.1, "groups": [{"name": "g", "params": ["w"], "sigma": 2.0}]}),
    ] {
        let mut opt = build(cfg.clone(), &w);
        // A loss that is not a scalar is an error (not a NaN), at node 1.
        let err = opt
            .step(&mut |i| if i == 0 { w.sum(Kind::Float) } else { &w * 2.0 })
            .unwrap_err();
        assert!(matches!(err, Error::Torch(_)), "{cfg}: {err}");
        // A NaN at node 1 after node 0 stepped.
        let err = opt
            .step(&mut |i| w.sum(Kind::Float) * if i == 0 { 1.0 } else { f64::NAN })
            .unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteLoss { node: 1, .. }),
            "{cfg}: {err}"
        );
        opt.step(&mut |_| w.square().sum(Kind::Float))
            .unwrap_or_else(|e| panic!("{cfg}: not usable after errors: {e}"));
        assert_eq!(opt.iteration(), 1, "{cfg}");
    }
}

/// With λ > 0 the first point is σ₀w⁰/(σ₀ + λ), set once: an abandoned first iteration does
/// not shrink the weights a second time.
/// Runs `iters` iterations of two nodes with per-iteration weights `alphas(k)`, set through
/// `set_node_weights` when `set` is true; otherwise the optimizer is built with `alphas(0)`.
fn run_weighted(cfg: &Value, alphas: &dyn Fn(usize) -> [f64; 2], set: bool, iters: usize) -> Vec<f64> {
    let n = 64;
    let w = values(n, 0.0, Kind::Double).view([8, 8]).set_requires_grad(true);
    let targets: Vec<Tensor> = (0..2)
        .map(|i| values(n, 1.0 + i as f64, Kind::Double).view([8, 8]))
        .collect();
    let mut cfg = cfg.clone();
    cfg["nodes"] = json!(2);
    if !set {
        cfg["alpha"] = json!(alphas(0));
    }
    let mut opt = build(cfg, &w);
    for k in 0..iters {
        if set {
            let alpha = pisa_core::NodeWeights::new(alphas(k).to_vec()).unwrap();
            opt.set_node_weights(alpha).unwrap();
        }
        assert_eq!(opt.node_weights().as_slice(), alphas(k));
        opt.step(&mut |i| (&w - &targets[i]).square().sum(Kind::Double))
            .unwrap();
    }
    Vec::<f64>::try_from(w.reshape([-1])).unwrap()
}

#[test]
fn node_weights_set_between_iterations_act_like_built_in_ones() {
    let configs = [
        json!({"name": "sisa", "sigma": 0.5, "lr": 0.05, "lambda": 0.01}),
        json!({"name": "sisa", "sigma": 0.5, "lr": 0.05, "fused": false}),
        json!({"name": "nsisa", "sigma": 5.0, "rho": 10.0, "newton_schulz": {"precision": "f64"}}),
        json!({"name": "adam", "lr": 0.01}),
        json!({"name": "sisa", "sigma": 1.0, "lr": 0.1, "groups": [{"name": "g", "params": ["w"], "sigma": 2.0}]}),
    ];
    for cfg in &configs {
        // Constant weights set afterwards equal weights given at build time, bit for bit.
        let fixed = |_: usize| [0.3, 0.7];
        assert_eq!(
            run_weighted(cfg, &fixed, true, 3),
            run_weighted(cfg, &fixed, false, 3),
            "{cfg}"
        );
        // Weights that change per iteration change the result.
        let varying = |k: usize| {
            if k.is_multiple_of(2) {
                [0.3, 0.7]
            } else {
                [0.8, 0.2]
            }
        };
        assert_ne!(
            run_weighted(cfg, &varying, true, 3),
            run_weighted(cfg, &fixed, true, 3),
            "{cfg}"
        );
    }

    // Inside an iteration, or with another node count: protocol errors, nothing changed.
    let w = values(4, 0.0, Kind::Float).set_requires_grad(true);
    let mut opt = build(json!({"name": "sisa", "nodes": 2, "sigma": 1.0, "lr": 0.1}), &w);
    let three = pisa_core::NodeWeights::uniform(3).unwrap();
    assert!(matches!(opt.set_node_weights(three), Err(Error::Protocol(_))));
    opt.begin_iteration().unwrap();
    let two = pisa_core::NodeWeights::new(vec![0.1, 0.9]).unwrap();
    assert!(matches!(opt.set_node_weights(two), Err(Error::Protocol(_))));
    assert_eq!(opt.node_weights().as_slice(), [0.5, 0.5]);
}

#[test]
fn a_retried_first_iteration_shrinks_once() {
    let cfg = json!({"name": "sisa", "sigma": 1.0, "rho": 1.0, "lambda": 1.0});
    let clean = {
        let w = values(4, 0.0, Kind::Double).set_requires_grad(true);
        let mut opt = build(cfg.clone(), &w);
        opt.step(&mut |_| w.square().sum(Kind::Double)).unwrap();
        w
    };
    let w = values(4, 0.0, Kind::Double).set_requires_grad(true);
    let mut opt = build(cfg, &w);
    assert!(opt.step(&mut |_| w.sum(Kind::Double) * f64::NAN).is_err());
    opt.step(&mut |_| w.square().sum(Kind::Double)).unwrap();
    assert!(w.equal(&clean), "{w} vs {clean}");
}

/// The fused kernel splits large buffers across threads; the result equals the tensor path.
#[test]
fn threaded_fused_kernel_equals_the_tensor_path() {
    let n = 200_003; // several chunks, an uneven last one
    let run = |fused: bool| {
        let w = values(n, 0.0, Kind::Double).set_requires_grad(true);
        let targets: Vec<Tensor> = (0..2).map(|i| values(n, 2.0 + i as f64, Kind::Double)).collect();
        let mut opt = build(
            json!({"name": "sisa", "nodes": 2, "sigma": 0.3, "lr": 0.02, "fused": fused}),
            &w,
        );
        for _ in 0..3 {
            opt.step(&mut |i| (&w - &targets[i]).square().sum(Kind::Double))
                .unwrap();
        }
        w
    };
    let (fused, plain) = (run(true), run(false));
    let err = (fused - plain).abs().max().double_value(&[]);
    assert!(err < 1e-12, "{err}");
}

/// σ growing past what f32 parameters can hold is a typed error, not a NaN.
#[test]
fn sigma_beyond_the_dtype_range_is_an_error() {
    let w = values(4, 0.0, Kind::Float).set_requires_grad(true);
    let mut opt = build(
        json!({"name": "sisa", "sigma": 1e30, "rho": 1.0, "schedule": {"kind": "gamma", "gamma": 1e3, "k0": 1}}),
        &w,
    );
    opt.step(&mut |_| w.square().sum(Kind::Float)).unwrap();
    let err = (0..5)
        .find_map(|_| opt.step(&mut |_| w.square().sum(Kind::Float)).err())
        .unwrap();
    assert!(matches!(err, Error::Schedule { .. }), "{err}");
    assert!(bool::try_from(w.isfinite().all()).unwrap(), "weights stay finite");
}

#[test]
fn states_of_another_configuration_are_refused() {
    let dir = std::env::temp_dir().join(format!("pisa-protocol-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let w = values(4, 0.0, Kind::Float).set_requires_grad(true);
    let cfg = |nodes: usize, pre: &str| json!({"name": "sisa", "nodes": nodes, "sigma": 1.0, "lr": 0.1, "preconditioner": {"kind": pre}});
    let saved = build(cfg(2, "second_moment"), &w);
    saved.state().unwrap().save(dir.join("s")).unwrap();
    let state = OptimizerState::load(dir.join("s"), Device::Cpu).unwrap();
    build(cfg(2, "second_moment"), &w)
        .load_state(&state)
        .expect("the same configuration loads");
    for other in [
        cfg(3, "second_moment"),
        json!({"name": "pisa", "nodes": 2, "sigma": 1.0, "lr": 0.1, "preconditioner": {"kind": "identity"}}),
    ] {
        let err = build(other.clone(), &w).load_state(&state).unwrap_err();
        assert!(matches!(err, Error::StateMismatch(_)), "{other}: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unknown_or_clashing_settings_are_refused() {
    for bad in [
        json!({"name": "sisa", "sigmaa": 1.0}),
        json!({"name": "sisa", "lr": 0.1, "preconditioner": {"kind": "second_moment", "betaa": 0.9}}),
        json!({"name": "sisa", "lr": 0.1, "schedule": {"kind": "gamma", "gamma": 1.1, "k": 3}}),
        json!({"name": "nsisa", "newton_schulz": {"stepz": 5}}),
        json!({"name": "adam", "groups": [{"name": "a", "params": ["x"]}, {"name": "a", "params": ["y"]}]}),
        json!({"name": "adam", "groups": [{"name": "default", "params": ["x"]}]}),
    ] {
        assert!(
            OptimizerConfig::from_value(bad.clone()).is_err(),
            "{bad} accepted"
        );
    }
}

/// `step_with`'s hook runs after each node's backward and before its `node_step`: it sees the
/// node's gradient at weights the step has not moved yet, and what it does to the gradient is
/// what `node_step` consumes.
#[test]
fn step_with_runs_its_hook_between_backward_and_node_step() {
    let w = values(6, 0.0, Kind::Float).set_requires_grad(true);
    let targets: Vec<Tensor> = (0..2).map(|i| values(6, 1.0 + i as f64, Kind::Float)).collect();
    let start = w.copy();
    let mut opt = build(json!({"name": "sgd", "nodes": 2, "lr": 0.1}), &w);

    // The hook sees node i's gradient, 2(w − c_i), and the weights of the iteration's start.
    let mut seen = Vec::new();
    opt.step_with(&mut |i| (&w - &targets[i]).square().sum(Kind::Float), &mut |i| {
        let want = (&start - &targets[i]) * 2.0;
        assert!(w.grad().allclose(&want, 1e-6, 1e-6, false), "node {i}");
        assert!(w.equal(&start), "node {i}: the weights moved before node_step");
        seen.push(i);
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, [0, 1]);
    assert!(!w.equal(&start), "SGD did not step");

    // A hook that zeroes the gradient leaves plain SGD's weights where they are.
    let before = w.copy();
    opt.step_with(&mut |i| (&w - &targets[i]).square().sum(Kind::Float), &mut |_| {
        let _ = w.grad().zero_();
        Ok(())
    })
    .unwrap();
    assert!(w.equal(&before));
    assert_eq!(opt.iteration(), 2);

    // A hook error at node 1 abandons the iteration and is returned; the optimizer steps again.
    let err = opt
        .step_with(&mut |i| (&w - &targets[i]).square().sum(Kind::Float), &mut |i| {
            if i == 1 {
                Err(Error::Protocol("hook failed".into()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert!(matches!(&err, Error::Protocol(m) if m == "hook failed"), "{err}");
    assert!(w.equal(&before));
    assert_eq!(opt.iteration(), 2);
    opt.step(&mut |i| (&w - &targets[i]).square().sum(Kind::Float))
        .unwrap();
    assert_eq!(opt.iteration(), 3);
}

/// `step_with` with clipping in its hook is bit for bit the loop the domains hand-rolled before
/// (begin, then per node zero_grad → loss → backward → clip → node_step, then end), for each
/// clipping arithmetic and for the PISA family and a baseline alike.
#[test]
fn step_with_clipping_equals_the_hand_rolled_loop() {
    use pisa_core::{clip_grad_norm, ClipArithmetic};
    let configs = [
        json!({"name": "sisa", "nodes": 3, "sigma": 0.5, "lr": 0.05, "lambda": 0.01}),
        json!({"name": "nsisa", "nodes": 2, "sigma": 5.0, "rho": 10.0}),
        json!({"name": "adamw", "nodes": 2, "lr": 0.01}),
    ];
    let arithmetics = [
        ClipArithmetic::Torch,
        ClipArithmetic::HostCoefficient,
        ClipArithmetic::Float64Norm,
    ];
    for cfg in configs {
        for arithmetic in arithmetics {
            let run = |hand_rolled: bool| {
                let w = values(64, 0.0, Kind::Float).view([8, 8]).set_requires_grad(true);
                let targets: Vec<Tensor> = (0..3)
                    .map(|i| values(64, 3.0 + i as f64, Kind::Float).view([8, 8]))
                    .collect();
                let vars = [w.shallow_clone()];
                let mut opt = build(cfg.clone(), &w);
                let m = opt.node_weights().len();
                let loss = |i: usize| (&w - &targets[i]).square().sum(Kind::Float);
                for _ in 0..4 {
                    if hand_rolled {
                        opt.begin_iteration().unwrap();
                        for i in 0..m {
                            opt.zero_grad().unwrap();
                            loss(i).backward();
                            let _ = clip_grad_norm(&vars, 1.5, arithmetic).unwrap();
                            opt.node_step(i).unwrap();
                        }
                        opt.end_iteration().unwrap();
                    } else {
                        opt.step_with(&mut |i| loss(i), &mut |_| {
                            clip_grad_norm(&vars, 1.5, arithmetic).map(drop)
                        })
                        .unwrap();
                    }
                }
                w
            };
            let (hand, hook) = (run(true), run(false));
            assert!(hand.equal(&hook), "{cfg} {arithmetic:?}");
        }
    }
}

/// The Hessian preconditioner computes its own gradient: `step_with` refuses it up front
/// (nothing changes), `step` still runs it.
#[test]
fn step_with_refuses_the_hessian_preconditioner() {
    let w = values(3, 0.0, Kind::Double).set_requires_grad(true);
    let start = w.copy();
    let mut opt = build(
        json!({"name": "pisa", "sigma": 1.0, "rho": 1.0, "preconditioner": {"kind": "hessian"}}),
        &w,
    );
    let err = opt
        .step_with(&mut |_| w.square().sum(Kind::Double), &mut |_| Ok(()))
        .unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err}");
    assert!(w.equal(&start));
    assert_eq!(opt.iteration(), 0);
    opt.step(&mut |_| w.square().sum(Kind::Double)).unwrap();
    assert_eq!(opt.iteration(), 1);
}
