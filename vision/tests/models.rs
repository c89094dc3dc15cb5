//! The vision models against their PyTorch definitions: tensor names and shapes, parameter
//! counts, logits on fixed weights (eval mode in f32, train mode in f64) and batch-norm running statistics, all
//! from `reference_models.json`, which `reference_models.py` writes:
//!
//! ```text
//! $PISA_PYTHON vision/tests/reference_models.py > vision/tests/reference_models.json
//! ```
//!
//! Parameter counts there (PyTorch 2.11): vgg11 9,231,114; resnet18 11,173,962; resnet34
//! 21,282,122; densenet121 6,956,298 (pytorch-cifar definitions, 10 classes); resnet18-imagenet
//! 11,689,512 (torchvision's resnet18, 1,000 classes).

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};
use vision::models::{batch_norm, ModelName};

#[derive(Debug, Deserialize)]
struct Reference {
    classes: i64,
    side: i64,
    parameters: i64,
    tensors: Vec<(String, Vec<i64>)>,
    logits_eval: Vec<f32>,
    logits_train: Vec<f32>,
    first_bn: String,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
}

fn reference(model: ModelName) -> Reference {
    let all: HashMap<String, Reference> =
        serde_json::from_str(include_str!("reference_models.json")).expect("reference_models.json");
    all.into_iter()
        .find(|(name, _)| name == model.as_str())
        .expect("model in the reference")
        .1
}

/// sin(0.37 k + 1.3 j) in f64, as `pattern` in reference_models.py.
fn pattern(n: i64, j: usize) -> Tensor {
    (Tensor::arange(n, (Kind::Double, Device::Cpu)) * 0.37 + 1.3 * j as f64).sin()
}

/// Sets every tensor of `vs` (parameters and running statistics) by the rule of `fill` in
/// reference_models.py: the j-th name in sorted order gets a scaled `pattern(n, j)`.
fn fill(vs: &nn::VarStore) {
    let variables: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    tch::no_grad(|| {
        for (j, (name, mut t)) in variables.into_iter().enumerate() {
            let shape = t.size();
            let n: i64 = shape.iter().product();
            let v = pattern(n, j);
            let v = if name.ends_with("running_var") {
                v * 0.5 + 1.0
            } else if name.ends_with("running_mean") || name.ends_with("bias") {
                v * 0.1
            } else if shape.len() == 1 {
                v * 0.1 + 1.0
            } else {
                v * (1.0 / ((n / shape[0]) as f64).sqrt())
            };
            t.copy_(&v.to_kind(Kind::Float).reshape(&shape));
        }
    });
}

/// `input_batch` of reference_models.py: sin(0.1 k) shaped [2, 3, side, side].
fn input(side: i64) -> Tensor {
    (Tensor::arange(2 * 3 * side * side, (Kind::Double, Device::Cpu)) * 0.1)
        .sin()
        .to_kind(Kind::Float)
        .reshape([2, 3, side, side])
}

fn to_vec(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.flatten(0, -1).to_kind(Kind::Float)).unwrap()
}

fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    let worst = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= tol, "{what}: max |ours - PyTorch| = {worst:e} > {tol:e}");
}

/// Everything `reference_models.json` pins for one model.
fn check_against_pytorch(model: ModelName) {
    let r = reference(model);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = model.build(&vs.root(), r.classes);

    // 1. The same tensors, by name and shape, as PyTorch's state_dict.
    let ours: BTreeMap<String, Vec<i64>> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.size()))
        .collect();
    let theirs: BTreeMap<String, Vec<i64>> = r.tensors.into_iter().collect();
    let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{model}: missing {missing:?}, extra {extra:?}"
    );
    for (name, shape) in &theirs {
        assert_eq!(&ours[name], shape, "{model}: shape of {name}");
    }

    // 2. The same number of trainable parameters.
    let parameters: i64 = vs.trainable_variables().iter().map(Tensor::numel).sum::<usize>() as i64;
    assert_eq!(parameters, r.parameters, "{model}: parameter count");

    // 3. The same logits on the same weights and input, eval mode then train mode, and the same
    //    running statistics after the train-mode forward.
    fill(&vs);
    let x = input(r.side);
    let eval = tch::no_grad(|| net.forward_t(&x, false));
    // Train mode in f64, as the reference: batch norm over a batch of 2 is ill-conditioned, so
    // f32 train logits differ between CPUs' kernels (PyTorch's own f32 and f64 results differ
    // by up to 1.2 on resnet34), while f64 ones agree to far below the tolerance.
    vs.double();
    let train = tch::no_grad(|| net.forward_t(&x.to_kind(Kind::Double), true));
    assert_eq!(eval.size(), [2, r.classes]);
    assert_close(
        &format!("{model} eval logits"),
        &to_vec(&eval),
        &r.logits_eval,
        1e-5,
    );
    assert_close(
        &format!("{model} train logits"),
        &to_vec(&train),
        &r.logits_train,
        1e-5,
    );
    let variables = vs.variables();
    let stat = |s: &str| to_vec(&variables[&format!("{}.{s}", r.first_bn)]);
    assert_close(
        &format!("{model} running_mean"),
        &stat("running_mean"),
        &r.running_mean,
        1e-6,
    );
    assert_close(
        &format!("{model} running_var"),
        &stat("running_var"),
        &r.running_var,
        1e-6,
    );
}

#[test]
fn vgg11_equals_pytorch_cifar() {
    check_against_pytorch(ModelName::Vgg11);
}

#[test]
fn resnet18_equals_pytorch_cifar() {
    check_against_pytorch(ModelName::Resnet18);
}

#[test]
fn resnet34_equals_pytorch_cifar() {
    check_against_pytorch(ModelName::Resnet34);
}

#[test]
fn densenet121_equals_pytorch_cifar() {
    check_against_pytorch(ModelName::Densenet121);
}

#[test]
fn resnet18_imagenet_equals_torchvision() {
    check_against_pytorch(ModelName::Resnet18Imagenet);
}

#[test]
fn output_shapes() {
    tch::manual_seed(0);
    for model in ModelName::ALL {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = model.build(&vs.root(), 100);
        // CIFAR models at 32×32; the ImageNet ResNet at its own 224×224.
        let side = model.input_side();
        let x = Tensor::randn([2, 3, side, side], (Kind::Float, Device::Cpu));
        let y = tch::no_grad(|| net.forward_t(&x, false));
        assert_eq!(y.size(), [2, 100], "{model}");
        assert!(
            y.isfinite().all().int64_value(&[]) == 1,
            "{model}: non-finite logits"
        );
    }
}

#[test]
fn model_names_parse_and_print() {
    for model in ModelName::ALL {
        assert_eq!(model.as_str().parse::<ModelName>(), Ok(model));
        assert_eq!(model.to_string(), model.as_str());
    }
    let err = "resnet50".parse::<ModelName>().unwrap_err();
    assert_eq!(err.name, "resnet50");
    assert!(err.to_string().contains("resnet18-imagenet"), "{err}");
}

/// A batch norm of 2 channels on a [4, 2, 2, 2] input, against the update written out by hand:
/// train mode normalizes with the batch mean and biased variance, and moves the running ones by
/// momentum 0.1 with the unbiased variance (PyTorch's rule); eval mode normalizes with the
/// running statistics and moves nothing.
#[test]
fn batch_norm_follows_pytorch() {
    let vs = nn::VarStore::new(Device::Cpu);
    let bn = batch_norm(vs.root() / "bn", 2);
    let variables = vs.variables();
    // PyTorch's initial state: γ = 1, β = 0, running mean 0, running variance 1.
    assert_eq!(to_vec(&variables["bn.weight"]), [1.0, 1.0]);
    assert_eq!(to_vec(&variables["bn.bias"]), [0.0, 0.0]);
    assert_eq!(to_vec(&variables["bn.running_mean"]), [0.0, 0.0]);
    assert_eq!(to_vec(&variables["bn.running_var"]), [1.0, 1.0]);
    assert_eq!(
        vs.trainable_variables().len(),
        2,
        "running statistics are buffers"
    );

    let (gamma, beta, mean0, var0) = ([2.0, 0.5], [0.1, -0.2], [0.5, -1.0], [2.0, 0.5]);
    tch::no_grad(|| {
        for (name, v) in [
            ("weight", gamma),
            ("bias", beta),
            ("running_mean", mean0),
            ("running_var", var0),
        ] {
            variables[&format!("bn.{name}")]
                .shallow_clone()
                .copy_(&Tensor::from_slice(&v).to_kind(Kind::Float));
        }
    });
    // x[n, c, h, w] = (n + 1) · (c + 1) + h − 0.5 w² (different statistics per channel)
    let mut values = Vec::new();
    for n in 0..4 {
        for c in 0..2 {
            for h in 0..2 {
                for w in 0..2 {
                    values.push(((n + 1) * (c + 1)) as f64 + h as f64 - 0.5 * (w * w) as f64);
                }
            }
        }
    }
    let x = Tensor::from_slice(&values)
        .to_kind(Kind::Float)
        .reshape([4, 2, 2, 2]);
    let v = &values;
    let channel = |c: usize| -> Vec<f64> {
        (0..4)
            .flat_map(|n| (0..4).map(move |hw| v[n * 8 + c * 4 + hw]))
            .collect()
    };
    let eps = 1e-5;

    // Train mode.
    let y = to_vec(&bn.forward_t(&x, true));
    let mut expected_mean = [0.0; 2];
    let mut expected_var = [0.0; 2];
    for c in 0..2 {
        let xs = channel(c);
        let m = xs.iter().sum::<f64>() / 16.0;
        let biased = xs.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 16.0;
        for n in 0..4 {
            for hw in 0..4 {
                let i = n * 8 + c * 4 + hw;
                let want = (values[i] - m) / (biased + eps).sqrt() * gamma[c] + beta[c];
                assert!(
                    (f64::from(y[i]) - want).abs() < 1e-5,
                    "train y[{i}] = {} ≠ {want}",
                    y[i]
                );
            }
        }
        expected_mean[c] = 0.9 * mean0[c] + 0.1 * m;
        expected_var[c] = 0.9 * var0[c] + 0.1 * biased * 16.0 / 15.0;
    }
    let mean1 = to_vec(&variables["bn.running_mean"]);
    let var1 = to_vec(&variables["bn.running_var"]);
    for c in 0..2 {
        assert!(
            (f64::from(mean1[c]) - expected_mean[c]).abs() < 1e-6,
            "running_mean {mean1:?} ≠ {expected_mean:?}"
        );
        assert!(
            (f64::from(var1[c]) - expected_var[c]).abs() < 1e-6,
            "running_var {var1:?} ≠ {expected_var:?}"
        );
    }

    // Eval mode: the running statistics, and nothing moves.
    let y = to_vec(&bn.forward_t(&x, false));
    for (i, &v) in values.iter().enumerate() {
        let c = (i / 4) % 2;
        let want = (v - expected_mean[c]) / (expected_var[c] + eps).sqrt() * gamma[c] + beta[c];
        assert!(
            (f64::from(y[i]) - want).abs() < 1e-5,
            "eval y[{i}] = {} ≠ {want}",
            y[i]
        );
    }
    assert_eq!(to_vec(&variables["bn.running_mean"]), mean1);
    assert_eq!(to_vec(&variables["bn.running_var"]), var1);
}

/// In a whole model, a train-mode forward moves every batch norm's running statistics and an
/// eval-mode forward moves none; one backward reaches every trainable tensor.
#[test]
fn running_statistics_move_in_train_mode_only() {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = ModelName::Resnet18.build(&vs.root(), 10);
    let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let buffers = || -> BTreeMap<String, Tensor> {
        vs.variables()
            .into_iter()
            .filter(|(name, _)| name.ends_with("running_mean") || name.ends_with("running_var"))
            .map(|(name, t)| (name, t.copy()))
            .collect()
    };
    let before = buffers();
    assert_eq!(before.len(), 2 * 20, "resnet18 has 20 batch norms");

    let _ = tch::no_grad(|| net.forward_t(&x, false));
    for (name, t) in buffers() {
        assert!(t.equal(&before[&name]), "{name} moved in eval mode");
    }

    let loss = net
        .forward_t(&x, true)
        .cross_entropy_for_logits(&Tensor::from_slice(&[3i64, 7]));
    loss.backward();
    for (name, t) in buffers() {
        assert!(!t.equal(&before[&name]), "{name} did not move in train mode");
    }
    for (name, t) in vs.variables() {
        if t.requires_grad() {
            let g = t.grad();
            assert!(
                g.defined() && g.abs().sum(Kind::Float).double_value(&[]) > 0.0,
                "no gradient for {name}"
            );
        }
    }
}

/// The initial distributions of PyTorch's definitions: conv and linear weights U(±1/√fan_in)
/// (`reset_parameters`, Kaiming uniform with a = √5) in pytorch-cifar's models, conv weights
/// N(0, 2/fan_out) in torchvision's ResNet, biases U(±1/√fan_in), batch norm γ = 1, β = 0.
#[test]
fn initialization_follows_pytorch() {
    tch::manual_seed(2);
    let stats = |t: &Tensor| {
        let max = t.abs().max().double_value(&[]);
        let std = t.std(true).double_value(&[]);
        (max, std)
    };
    let uniform = |t: &Tensor, fan_in: i64, what: &str| {
        // The weights are f32: a draw at the edge of U(±b) rounds to b's nearest f32, which may
        // lie just above b in f64.
        let bound = f64::from((1.0 / (fan_in as f64).sqrt()) as f32);
        let (max, std) = stats(t);
        assert!(
            max <= bound && max > 0.0,
            "{what}: max |w| {max} vs bound {bound}"
        );
        // Statistical checks on large tensors only (the generator is shared by parallel tests).
        if t.numel() > 1000 {
            assert!(max > 0.98 * bound, "{what}: max |w| {max} vs bound {bound}");
            let want = bound / 3f64.sqrt();
            assert!((std / want - 1.0).abs() < 0.03, "{what}: std {std} vs {want}");
        }
    };

    let vs = nn::VarStore::new(Device::Cpu);
    let _net = ModelName::Resnet18.build(&vs.root(), 10);
    let v = vs.variables();
    uniform(&v["layer1.0.conv1.weight"], 64 * 9, "resnet18 layer1.0.conv1");
    uniform(&v["layer4.1.conv2.weight"], 512 * 9, "resnet18 layer4.1.conv2");
    uniform(&v["linear.weight"], 512, "resnet18 linear.weight");
    uniform(&v["linear.bias"], 512, "resnet18 linear.bias");
    assert_eq!(to_vec(&v["bn1.weight"]), vec![1.0; 64]);
    assert_eq!(to_vec(&v["layer2.0.shortcut.1.bias"]), vec![0.0; 128]);

    let vs = nn::VarStore::new(Device::Cpu);
    let _net = ModelName::Vgg11.build(&vs.root(), 10);
    let v = vs.variables();
    uniform(&v["features.4.weight"], 64 * 9, "vgg11 features.4.weight");
    uniform(&v["features.4.bias"], 64 * 9, "vgg11 features.4.bias");

    let vs = nn::VarStore::new(Device::Cpu);
    let _net = ModelName::Resnet18Imagenet.build(&vs.root(), 1000);
    let v = vs.variables();
    for (name, fan_out) in [("conv1.weight", 64 * 49), ("layer3.0.conv2.weight", 256 * 9)] {
        let want = (2.0 / fan_out as f64).sqrt();
        let (_, std) = stats(&v[name]);
        assert!(
            (std / want - 1.0).abs() < 0.04,
            "resnet18-imagenet {name}: std {std} vs {want}"
        );
    }
    uniform(&v["fc.weight"], 512, "resnet18-imagenet fc.weight");
}
