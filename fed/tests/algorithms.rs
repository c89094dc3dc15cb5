//! The federated algorithms against their definitions, driven round by round in memory
//! ([`Federation`]) on a small two-class problem with the a9a MLP:
//! - FedAvg with one client and one full-batch local step is centralized gradient descent, bit
//!   for bit;
//! - FedProx with μ = 0 is FedAvg, bit for bit;
//! - SCAFFOLD with identical clients is FedAvg (its correction c − c_i is zero up to rounding);
//! - FedNova's normalization on a hand-computed two-client case;
//! - SISA's round is the optimizer's m-node step on the clients' full gradients, which are the
//!   sums of their mini-batches' mean-loss gradients.

use datasets::DatasetName;
use fed::client::{self, Client, LocalSgd};
use fed::model::{for_dataset, Net};
use fed::round::{fednova_a, weights, Controls, Federation, Method};
use fed::server::averaging;
use fed::train::LocalAlgorithm;
use pisa_core::params::trainable_named;
use pisa_core::{NodeWeights, OptimizerConfig};
use runs::rng::SplitMix64;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

/// `n` samples of 123 binary features with a learnable label, from `seed` (not libtorch's
/// global generator: the tests run in parallel threads).
fn samples(n: usize, seed: u64) -> Client {
    let mut rng = SplitMix64::new(seed, 0);
    let bits: Vec<f32> = (0..n * 123).map(|_| f32::from(rng.uniform() > 0.7)).collect();
    let x = Tensor::from_slice(&bits).view([n as i64, 123]);
    let y = x
        .narrow(1, 0, 10)
        .sum_dim_intlist([1].as_slice(), false, Kind::Float)
        .gt(3.0)
        .to_kind(Kind::Int64);
    Client { x, y }
}

fn copy(client: &Client) -> Client {
    Client {
        x: client.x.copy(),
        y: client.y.copy(),
    }
}

/// The MLP with fixed weights (the same for every call, whatever libtorch's generator did).
fn model() -> (nn::VarStore, Net) {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = for_dataset(&vs.root(), DatasetName::A9a, 2);
    let mut rng = SplitMix64::new(7, 0);
    tch::no_grad(|| {
        for v in vars(&vs) {
            let values: Vec<f32> = (0..v.numel())
                .map(|_| (rng.uniform() as f32 - 0.5) * 0.4)
                .collect();
            v.shallow_clone()
                .copy_(&Tensor::from_slice(&values).view(v.size().as_slice()));
        }
    });
    (vs, net)
}

fn vars(vs: &nn::VarStore) -> Vec<Tensor> {
    trainable_named(vs).into_iter().map(|(_, t)| t).collect()
}

fn flat(vs: &nn::VarStore) -> Vec<f32> {
    let parts: Vec<Tensor> = vars(vs).iter().map(|t| t.detach().reshape([-1])).collect();
    Vec::<f32>::try_from(Tensor::cat(&parts, 0)).unwrap()
}

fn sizes(clients: &[Client]) -> Vec<usize> {
    clients.iter().map(Client::len).collect()
}

/// A federation of `clients` running `method` for `rounds` rounds from the fixed initial model;
/// returns the final weights.
fn federate(clients: Vec<Client>, method: Method, rounds: u64) -> Vec<f32> {
    let (vs, net) = model();
    let n = clients.len();
    let alpha = weights(&sizes(&clients), &vec![true; n]).unwrap();
    let scaffold = matches!(
        method,
        Method::Local {
            algorithm: LocalAlgorithm::Scaffold,
            ..
        }
    );
    let params = vars(&vs).iter().map(|t| t.numel() as i64).sum();
    let controls = scaffold.then(|| Controls::new(&vs, n, params));
    let mut server = averaging(&vs, alpha).unwrap();
    let mut federation = Federation::new(net, vars(&vs), clients, method, 3, controls);
    for round in 0..rounds {
        federation.round(server.as_mut(), round, &vec![true; n]).unwrap();
    }
    flat(&vs)
}

fn local(algorithm: LocalAlgorithm, sgd: LocalSgd, mu: f64) -> Method {
    Method::Local { algorithm, sgd, mu }
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn fedavg_with_one_client_and_one_full_batch_step_is_gradient_descent_bit_for_bit() {
    let data = samples(50, 1);
    let sgd = LocalSgd {
        lr: 0.3,
        momentum: 0.0,
        weight_decay: 0.0,
        batch: 50,
        epochs: 1,
    };
    let rounds = 3;
    let federated = federate(vec![copy(&data)], local(LocalAlgorithm::Fedavg, sgd, 0.0), rounds);

    // centralized GD on the same batches (the round's shuffle orders the one batch)
    let (vs, net) = model();
    let vars = vars(&vs);
    for round in 0..rounds {
        let order = Tensor::from_slice(&client::round_order(3, round, 0, 0, 50));
        let (x, y) = (data.x.index_select(0, &order), data.y.index_select(0, &order));
        for v in &vars {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        net.forward_t(&x, true).cross_entropy_for_logits(&y).backward();
        tch::no_grad(|| {
            for v in &vars {
                let _ = v.shallow_clone().f_sub_(&(v.grad() * 0.3)).unwrap();
            }
        });
    }
    assert!(
        federated == flat(&vs),
        "largest difference {}",
        max_difference(&federated, &flat(&vs))
    );
    assert!(
        max_difference(&federated, &flat(&model().0)) > 1e-3,
        "the weights moved"
    );
}

#[test]
fn fedprox_with_mu_zero_is_fedavg_bit_for_bit() {
    let clients = || vec![samples(40, 1), samples(70, 2), samples(25, 3)];
    let sgd = LocalSgd {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 1e-5,
        batch: 8,
        epochs: 2,
    };
    let fedavg = federate(clients(), local(LocalAlgorithm::Fedavg, sgd, 0.0), 3);
    let fedprox = federate(clients(), local(LocalAlgorithm::Fedprox, sgd, 0.0), 3);
    assert!(
        fedavg == fedprox,
        "largest difference {}",
        max_difference(&fedavg, &fedprox)
    );
    let proximal = federate(clients(), local(LocalAlgorithm::Fedprox, sgd, 1.0), 3);
    assert!(
        max_difference(&fedavg, &proximal) > 1e-4,
        "μ = 1 pulls the clients back"
    );
}

/// With identical clients every Δc_i is the same, so c = mean Δc_i = c_i and the correction
/// c − c_i vanishes: SCAFFOLD is FedAvg. The clients' data are the same but their shuffles
/// differ, so with one full batch per epoch their gradients differ only in the order of the
/// batch's sum: the weights agree to float32 rounding (measured: 1.5e-11), far below what a
/// nonzero correction would do (the second assertion).
#[test]
fn scaffold_with_identical_clients_is_fedavg() {
    let data = samples(40, 4);
    let clients = || vec![copy(&data), copy(&data)];
    let sgd = LocalSgd {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.0,
        batch: 40,
        epochs: 3,
    };
    let fedavg = federate(clients(), local(LocalAlgorithm::Fedavg, sgd, 0.0), 4);
    let scaffold = federate(clients(), local(LocalAlgorithm::Scaffold, sgd, 0.0), 4);
    eprintln!(
        "identical clients: SCAFFOLD − FedAvg = {:e}",
        max_difference(&fedavg, &scaffold)
    );
    assert!(
        max_difference(&fedavg, &scaffold) < 1e-6,
        "{}",
        max_difference(&fedavg, &scaffold)
    );
    // different clients: the correction matters
    let mixed = || vec![samples(40, 5), samples(40, 6)];
    let fedavg = federate(mixed(), local(LocalAlgorithm::Fedavg, sgd, 0.0), 4);
    let scaffold = federate(mixed(), local(LocalAlgorithm::Scaffold, sgd, 0.0), 4);
    assert!(max_difference(&fedavg, &scaffold) > 1e-4);
}

/// Two clients of 24 and 12 samples, batch 4, 1 epoch: τ = 6 and 3 local steps; momentum 0.5
/// gives a_i = (τ − ρ(1 − ρ^τ)/(1 − ρ))/(1 − ρ) = 10.03125 and 4.25; α = (2/3, 1/3), so
/// τ_eff = Σ α_i a_i = 8.104166…; the new weights are w − τ_eff Σ α_i (w − w_i)/a_i, with w_i
/// each client's local SGD from w.
#[test]
fn fednova_normalizes_by_the_local_steps() {
    assert_eq!(fednova_a(6, 0.5), 10.03125);
    assert_eq!(fednova_a(3, 0.5), 4.25);
    assert_eq!(fednova_a(7, 0.0), 7.0);
    let sgd = LocalSgd {
        lr: 0.05,
        momentum: 0.5,
        weight_decay: 0.0,
        batch: 4,
        epochs: 1,
    };
    assert_eq!((sgd.steps(24), sgd.steps(12)), (6, 3));
    let clients = || vec![samples(24, 8), samples(12, 9)];
    let fednova = federate(clients(), local(LocalAlgorithm::Fednova, sgd, 0.0), 1);

    // by hand: each client's w_i, then the normalized combination
    let w0 = flat(&model().0);
    let (alpha, a): ([f64; 2], [f64; 2]) = ([2.0 / 3.0, 1.0 / 3.0], [10.03125, 4.25]);
    let tau_eff = alpha[0] * a[0] + alpha[1] * a[1];
    assert!((tau_eff - 8.104_166_666_666_666).abs() < 1e-12);
    let mut combined = vec![0.0f64; w0.len()];
    for (i, data) in clients().into_iter().enumerate() {
        let (vs, net) = model();
        let n = data.len();
        client::local_sgd(
            &net,
            &vars(&vs),
            &data,
            &sgd,
            &client::Drift::None,
            &mut |epoch| client::round_order(3, 0, epoch, i, n),
        )
        .unwrap();
        for (c, (w, wi)) in combined.iter_mut().zip(w0.iter().zip(flat(&vs))) {
            *c += alpha[i] * (*w as f64 - wi as f64) / a[i];
        }
    }
    let expected: Vec<f32> = w0
        .iter()
        .zip(&combined)
        .map(|(w, c)| (*w as f64 - tau_eff * c) as f32)
        .collect();
    assert!(
        max_difference(&fednova, &expected) < 1e-6,
        "{}",
        max_difference(&fednova, &expected)
    );
    let fedavg = federate(clients(), local(LocalAlgorithm::Fedavg, sgd, 0.0), 1);
    assert!(
        max_difference(&fednova, &fedavg) > 1e-4,
        "the normalization changes the step"
    );
}

/// Client i's full gradient is Σ over the round's mini-batches of ∇ mean-loss (checked against
/// a batch-by-batch loop), and the SISA round is the optimizer's m-node step on exactly those
/// gradients (bit for bit).
#[test]
fn the_sisa_round_is_the_optimizers_step_on_the_full_local_gradients() {
    let data = [samples(37, 10), samples(64, 11), samples(20, 12)];
    let batch = 8;
    let alpha = NodeWeights::proportional(&[37, 64, 20]).unwrap();
    let sisa = |alpha: &NodeWeights| {
        let mut cfg: OptimizerConfig = runs::registry::Registry::builtin()
            .resolve("fed", "sisa", &toml::Table::new())
            .unwrap();
        cfg.base.set_nodes(alpha);
        cfg
    };

    // the federation
    let (vs, net) = model();
    let mut opt = sisa(&alpha).build(&vs).unwrap();
    let clients: Vec<Client> = data.iter().map(copy).collect();
    let mut federation = Federation::new(net, vars(&vs), clients, Method::FullGradient { batch }, 3, None);
    for round in 0..3 {
        federation.round(opt.as_mut(), round, &[true; 3]).unwrap();
    }

    // the optimizer's protocol, fed the gradients by a batch-by-batch loop
    let (vs_ref, net_ref) = model();
    let mut reference = sisa(&alpha).build(&vs_ref).unwrap();
    let vars_ref = vars(&vs_ref);
    let mut largest_gap = 0.0f64;
    for round in 0..3 {
        reference
            .step(&mut |i| {
                let order = client::round_order(3, round, 0, i, data[i].len());
                // the chunked gradient, as the round computes it
                let mean = client::full_gradient(&net_ref, &data[i], &order, batch).unwrap();
                let chunked: Vec<Tensor> = vars_ref.iter().map(|v| v.grad().copy()).collect();
                // the definition: one backward per mini-batch of the shuffle (last partial dropped)
                for v in &vars_ref {
                    let _ = v.grad().zero_();
                }
                for b in 0..data[i].len() / batch {
                    let ids = Tensor::from_slice(&order[b * batch..(b + 1) * batch]);
                    net_ref
                        .forward_t(&data[i].x.index_select(0, &ids), true)
                        .cross_entropy_for_logits(&data[i].y.index_select(0, &ids))
                        .backward();
                }
                for (v, c) in vars_ref.iter().zip(&chunked) {
                    let gap = (v.grad() - c).abs().max().double_value(&[]);
                    largest_gap = largest_gap.max(gap / c.abs().max().double_value(&[]).max(1e-12));
                    v.grad().copy_(c);
                }
                Tensor::from(mean as f32).set_requires_grad(true)
            })
            .unwrap();
    }
    assert!(
        largest_gap < 1e-5,
        "chunked vs batch-by-batch gradient: relative gap {largest_gap:e}"
    );
    assert!(
        flat(&vs) == flat(&vs_ref),
        "largest difference {}",
        max_difference(&flat(&vs), &flat(&vs_ref))
    );
}
