//! Model and training tests on tiny models, CPU, no data files and no global RNG: parameters
//! are set from a fixed formula, dropout is off wherever results are compared.

use lstm::corpus::{batchify, window};
use lstm::model::{detach, AwdConfig, AwdLstm};
use lstm::train::{evaluate, Regularization, SplitMode, WindowTrainer};
use runs::registry::Registry;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// The trainer of `model` with the default regularization.
fn trainer<'a>(model: &'a AwdLstm, vars: &'a [Tensor], mode: SplitMode) -> WindowTrainer<'a> {
    WindowTrainer {
        model,
        vars,
        mode,
        reg: Regularization::default(),
    }
}

/// A tiny configuration without any dropout.
fn tiny(vocab: usize, layers: usize) -> AwdConfig {
    AwdConfig {
        vocab,
        emb: 8,
        hidden: 12,
        layers,
        dropout: 0.0,
        dropouth: 0.0,
        dropouti: 0.0,
        dropoute: 0.0,
        wdrop: 0.0,
        tie: true,
    }
}

/// Overwrites every variable with a fixed quasi-random formula in [−scale, scale].
fn fill_fixed(vs: &VarStore, scale: f64) {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (k, (_, mut v)) in vars.into_iter().enumerate() {
            let n = v.numel() as i64;
            let i = Tensor::arange(n, (Kind::Double, Device::Cpu)) + (k as f64 * 17.0);
            let values = ((i * 0.754_877_666_246_692_7).frac() - 0.5) * (2.0 * scale);
            v.copy_(&values.to_kind(Kind::Float).view(v.size().as_slice()));
        }
    });
}

/// Token ids from a fixed formula.
fn tokens(n: usize, vocab: usize) -> Vec<i64> {
    (0..n).map(|i| ((i * 7 + i / 3) % vocab) as i64).collect()
}

#[test]
fn a_uniform_model_has_perplexity_equal_to_the_vocabulary_size() {
    let vs = VarStore::new(Device::Cpu);
    let model = AwdLstm::new(&vs.root(), &tiny(37, 2)).unwrap();
    fill_fixed(&vs, 0.0); // all weights zero: every logit 0, p = 1/V
    let data = batchify(&tokens(500, 37), 5, Device::Cpu).unwrap();
    let ppl = evaluate(&model, &data, 7).exp();
    assert!((ppl - 37.0).abs() < 1e-3, "perplexity {ppl}");
    // With weights it is something else: the check above can fail.
    fill_fixed(&vs, 0.5);
    assert!((evaluate(&model, &data, 7).exp() - 37.0).abs() > 0.1);
}

#[test]
fn weight_drop_leaves_evaluation_deterministic() {
    let dropped_cfg = AwdConfig {
        wdrop: 0.5,
        dropout: 0.4,
        dropouth: 0.25,
        dropouti: 0.4,
        dropoute: 0.1,
        ..tiny(20, 2)
    };
    let vs = VarStore::new(Device::Cpu);
    let model = AwdLstm::new(&vs.root(), &dropped_cfg).unwrap();
    fill_fixed(&vs, 0.4);
    // The same weights without any dropout configured.
    let vs_plain = VarStore::new(Device::Cpu);
    let plain = AwdLstm::new(&vs_plain.root(), &tiny(20, 2)).unwrap();
    fill_fixed(&vs_plain, 0.4);
    let x = batchify(&tokens(60, 20), 3, Device::Cpu).unwrap();
    let h = model.init_hidden(3);
    let a = tch::no_grad(|| model.forward(&x, &h, false).logits);
    let b = tch::no_grad(|| model.forward(&x, &h, false).logits);
    let c = tch::no_grad(|| plain.forward(&x, &h, false).logits);
    assert!(a.equal(&b), "two evaluations differ");
    assert!(a.equal(&c), "evaluation applies some dropout");
    // Training mode does drop (weights, embeddings, activations): the outputs move.
    let t = tch::no_grad(|| model.forward(&x, &h, true).logits);
    assert!(!t.allclose(&a, 1e-6, 1e-6, false));
}

#[test]
fn nodes_along_time_reproduce_the_unsplit_forward() {
    let vs = VarStore::new(Device::Cpu);
    let model = AwdLstm::new(&vs.root(), &tiny(25, 3)).unwrap();
    fill_fixed(&vs, 0.5);
    let data = batchify(&tokens(200, 25), 4, Device::Cpu).unwrap();
    let (x, _) = window(&data, 0, 12);
    let h0 = model.init_hidden(4);
    let full = tch::no_grad(|| model.forward(&x, &h0, false));
    // Four chunks of 3 steps, each starting from the state the previous one ended with.
    let mut h = detach(&h0);
    let mut logits = Vec::new();
    for i in 0..4 {
        let out = tch::no_grad(|| model.forward(&x.narrow(0, 3 * i, 3), &h, false));
        logits.push(out.logits);
        h = detach(&out.hidden);
    }
    let chunked = Tensor::cat(&logits, 0);
    assert!(chunked.allclose(&full.logits, 1e-5, 1e-6, false));
    for ((hc, cc), (hf, cf)) in h.iter().zip(&full.hidden) {
        assert!(hc.allclose(hf, 1e-5, 1e-6, false) && cc.allclose(cf, 1e-5, 1e-6, false));
    }

    // The training iteration with SISA (m = 4 along time) reports the loss at the starting
    // weights: with α_i = chunk length / window length (14 steps: unequal chunks), the
    // α-weighted node losses equal the unsplit cross-entropy.
    let (x, y) = window(&data, 0, 14);
    let full = tch::no_grad(|| model.forward(&x, &h0, false));
    let full_ce = full
        .logits
        .cross_entropy_for_logits(&y.reshape([-1]))
        .double_value(&[]);
    let cfg = Registry::builtin()
        .resolve("lstm-1", "sisa", &toml::Table::new())
        .unwrap();
    let mut opt = cfg.build(&vs).unwrap();
    assert_eq!(opt.node_weights().len(), 4);
    let vars = vs.trainable_variables();
    let (ce, _) = trainer(&model, &vars, SplitMode::Time)
        .step(opt.as_mut(), &x, &y, &h0)
        .unwrap();
    assert!((ce - full_ce).abs() < 1e-5, "{ce} vs {full_ce}");
    let alpha = opt.node_weights().as_slice();
    let lengths = runs::nodes::NodeSplit::contiguous(14, 4).unwrap();
    let expected: Vec<f64> = lengths.ranges().iter().map(|r| r.len() as f64 / 14.0).collect();
    assert_eq!(alpha, expected.as_slice());
    assert!(alpha.iter().any(|a| (a - 0.25).abs() > 1e-3), "{alpha:?}");
}

#[test]
fn nodes_along_the_batch_cover_every_stream() {
    let vs = VarStore::new(Device::Cpu);
    let model = AwdLstm::new(&vs.root(), &tiny(25, 1)).unwrap();
    fill_fixed(&vs, 0.5);
    let data = batchify(&tokens(200, 25), 8, Device::Cpu).unwrap();
    let (x, y) = window(&data, 0, 6);
    let h0 = model.init_hidden(8);
    let full = tch::no_grad(|| model.forward(&x, &h0, false));
    let full_ce = full
        .logits
        .cross_entropy_for_logits(&y.reshape([-1]))
        .double_value(&[]);
    let cfg = Registry::builtin()
        .resolve("lstm-1", "sisa", &toml::Table::new())
        .unwrap();
    let mut opt = cfg.build(&vs).unwrap();
    let vars = vs.trainable_variables();
    let (ce, next) = trainer(&model, &vars, SplitMode::Batch)
        .step(opt.as_mut(), &x, &y, &h0)
        .unwrap();
    assert!((ce - full_ce).abs() < 1e-5, "{ce} vs {full_ce}");
    // The carried state is the unsplit one (computed at the starting weights).
    assert!(next[0].0.allclose(&full.hidden[0].0, 1e-5, 1e-6, false));
}

/// A short run on a periodic sequence (period 7, vocabulary 9): the uniform perplexity is 9,
/// a model that learned the cycle approaches 1.
fn short_run(optimizer: &str, overrides: &str, steps: usize) -> (f64, f64) {
    let vocab = 9;
    let ids: Vec<i64> = (0..2000).map(|i| (i % 7) as i64).collect();
    let data = batchify(&ids, 4, Device::Cpu).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = AwdLstm::new(&vs.root(), &tiny(vocab, 1)).unwrap();
    fill_fixed(&vs, 0.3);
    let before = evaluate(&model, &data, 10).exp();
    let table: toml::Table = overrides.parse().unwrap();
    let cfg = Registry::builtin().resolve("lstm-1", optimizer, &table).unwrap();
    let mut opt = cfg.build(&vs).unwrap();
    let vars = vs.trainable_variables();
    let mut hidden = model.init_hidden(4);
    let rows = data.size()[0];
    let mut start = 0;
    for _ in 0..steps {
        if start + 13 >= rows {
            start = 0;
            hidden = model.init_hidden(4);
        }
        let (x, y) = window(&data, start, 12);
        hidden = trainer(&model, &vars, SplitMode::Time)
            .step(opt.as_mut(), &x, &y, &hidden)
            .unwrap()
            .1;
        start += 12;
    }
    (before, evaluate(&model, &data, 10).exp())
}

#[test]
fn a_tiny_model_learns_a_periodic_sequence_with_adam() {
    let (before, after) = short_run("adam", "lr = 0.02", 150);
    assert!(before > 5.0, "{before}");
    assert!(after < 1.5, "perplexity {before} → {after}");
}

#[test]
fn a_tiny_model_learns_a_periodic_sequence_with_sisa_on_time_nodes() {
    let (before, after) = short_run("sisa", "lr = 0.02\nsigma = 0.04", 150);
    assert!(before > 5.0, "{before}");
    assert!(after < 1.5, "perplexity {before} → {after}");
}

#[test]
fn the_lstm_presets_resolve_for_every_domain_and_baseline() {
    let registry = Registry::builtin();
    for layers in 1..=3 {
        let domain = format!("lstm-{layers}");
        for name in ["sisa", "adam", "adabelief", "sgd"] {
            let cfg = registry.resolve(&domain, name, &toml::Table::new());
            assert!(cfg.is_ok(), "{domain}.{name}: {:?}", cfg.err());
            let vs = VarStore::new(Device::Cpu);
            let _ = vs.root().zeros("w", &[2]);
            let built = cfg.unwrap().build(&vs);
            assert!(built.is_ok(), "{domain}.{name}: {:?}", built.err());
        }
        let sisa = registry.resolve(&domain, "sisa", &toml::Table::new()).unwrap();
        assert_eq!(sisa.base.nodes(), 4, "{domain}: Table A.1 has m = 4");
    }
}
