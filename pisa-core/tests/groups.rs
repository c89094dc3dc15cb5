//! Optimizers on a real `VarStore` model: named parameter groups with their own settings (even
//! another optimizer), training progress, and bit-identical resume of grouped state.

use pisa_core::{Error, Optimizer, OptimizerConfig, OptimizerState};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// A two-layer MLP regression problem with its data split over two nodes.
struct Problem {
    vs: nn::VarStore,
    net: nn::Sequential,
    inputs: Vec<Tensor>,
    targets: Vec<Tensor>,
}

impl Problem {
    fn new() -> Self {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let net = nn::seq()
            .add(nn::linear(&root / "l1", 4, 16, Default::default()))
            .add_fn(|x| x.tanh())
            .add(nn::linear(&root / "l2", 16, 1, Default::default()));
        // Data from a formula, not the global RNG: tests run in parallel threads, so seeding
        // libtorch's generator is racy (the initial weights may differ between runs; the resume
        // test restores every weight from the checkpoint).
        let x = ((Tensor::arange(256, (Kind::Float, Device::Cpu)) * 0.37).sin() * 1.5).view([64, 4]);
        let y = (x.narrow(1, 0, 1) * 2.0 - x.narrow(1, 1, 1)).sin();
        let (inputs, targets) = (
            (0..2).map(|i| x.narrow(0, 32 * i, 32)).collect(),
            (0..2).map(|i| y.narrow(0, 32 * i, 32)).collect(),
        );
        Problem {
            vs,
            net,
            inputs,
            targets,
        }
    }

    fn loss(&self, node: usize) -> Tensor {
        (self.net.forward(&self.inputs[node]) - &self.targets[node])
            .square()
            .mean(Kind::Float)
    }

    fn train(&self, opt: &mut dyn Optimizer, steps: usize) -> f64 {
        let mut last = 0.0;
        for _ in 0..steps {
            let report = opt.step(&mut |i| self.loss(i)).unwrap();
            last = report.weighted_loss(opt.node_weights());
        }
        last
    }

    fn weights(&self) -> Vec<(String, Tensor)> {
        let mut vars: Vec<_> = self
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars
    }

    fn set_weights(&self, weights: &[(String, Tensor)]) {
        let vars = self.vs.variables();
        tch::no_grad(|| weights.iter().for_each(|(n, w)| vars[n].shallow_clone().copy_(w)));
    }
}

fn grouped_config() -> OptimizerConfig {
    OptimizerConfig::from_value(serde_json::json!({
        "name": "sisa", "nodes": 2, "sigma": 0.5, "lr": 0.02,
        "groups": [
            { "name": "biases", "params": ["*.bias"], "sigma": 1.0 },
            { "name": "head", "params": ["l2.weight"], "optimizer": "adamw", "nodes": 2, "lr": 0.01 },
            { "name": "hidden", "params": ["l1.weight"], "optimizer": "nsisa", "nodes": 2, "sigma": 20.0,
              "rho": 50.0, "newton_schulz": { "precision": "f32" } }
        ]
    }))
    .unwrap()
}

#[test]
fn grouped_optimizers_train_a_varstore_model() {
    let problem = Problem::new();
    let mut opt = grouped_config().build(&problem.vs).unwrap();
    let initial = (problem.loss(0).double_value(&[]) + problem.loss(1).double_value(&[])) / 2.0;
    let last = problem.train(opt.as_mut(), 150);
    assert!(
        last < 0.3 * initial,
        "loss {initial} → {last}: the grouped optimizer does not train"
    );
}

#[test]
fn grouped_state_resumes_bit_identically() {
    let dir = std::env::temp_dir().join(format!("pisa-groups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("opt");

    let straight = Problem::new();
    let mut opt = grouped_config().build(&straight.vs).unwrap();
    straight.train(opt.as_mut(), 7);
    opt.state().unwrap().save(&path).unwrap();
    let checkpoint = straight.weights();
    straight.train(opt.as_mut(), 7);

    let resumed = Problem::new();
    let mut opt2 = grouped_config().build(&resumed.vs).unwrap();
    resumed.set_weights(&checkpoint);
    opt2.load_state(&OptimizerState::load(&path, Device::Cpu).unwrap())
        .unwrap();
    resumed.train(opt2.as_mut(), 7);

    for ((name, a), (_, b)) in straight.weights().iter().zip(resumed.weights()) {
        assert!(a.equal(&b), "{name} differs after resume");
    }
    // A state from another optimizer is refused.
    let mut sisa_only =
        OptimizerConfig::from_value(serde_json::json!({"name": "sisa", "sigma": 1.0, "lr": 0.1}))
            .unwrap()
            .build(&Problem::new().vs)
            .unwrap();
    let err = { sisa_only }
        .load_state(&OptimizerState::load(&path, Device::Cpu).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::StateMismatch(_)), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn groups_must_agree_on_nodes() {
    let cfg = OptimizerConfig::from_value(serde_json::json!({
        "name": "sisa", "nodes": 2, "sigma": 0.5, "lr": 0.02,
        "groups": [{ "name": "head", "params": ["l2.*"], "optimizer": "adamw" }]
    }))
    .unwrap();
    let err = cfg
        .build(&Problem::new().vs)
        .err()
        .expect("1 node vs 2 nodes accepted");
    assert!(matches!(err, Error::InvalidNodeWeights { .. }), "{err}");
}
