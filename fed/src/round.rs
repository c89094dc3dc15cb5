//! One communication round: every taking-part client computes on its shard and the optimizer
//! (SISA, a registry optimizer, or the averaging server of [`crate::server`]) aggregates, with
//! the clients as its nodes.

use pisa_core::{NodeWeights, Optimizer, StepReport};
use runs::rng::SplitMix64;
use tch::nn;
use tch::{Kind, Tensor};

use crate::client::{self, Client, Drift, LocalSgd};
use crate::model::Net;
use crate::train::LocalAlgorithm;

/// What the clients do in a round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// One optimizer step from the clients' full local gradients over mini-batches of `batch`
    /// (SISA and the registry optimizers).
    FullGradient {
        /// The clients' loader batch size B.
        batch: usize,
    },
    /// Local SGD, then the server's average (FedAvg, FedProx with μ, SCAFFOLD, FedNova).
    Local {
        /// Which baseline.
        algorithm: LocalAlgorithm,
        /// The local SGD.
        sgd: LocalSgd,
        /// FedProx's μ.
        mu: f64,
    },
}

/// A federation: the model, its variables (in name order, as the optimizer flattened them),
/// the clients, what they do, and SCAFFOLD's control variates.
pub struct Federation {
    net: Net,
    vars: Vec<Tensor>,
    clients: Vec<Client>,
    /// n_i, kept when a rank drops other ranks' clients ([`Federation::keep_only`]).
    sizes: Vec<usize>,
    method: Method,
    seed: u64,
    controls: Option<Controls>,
}

impl Federation {
    /// A federation over `vars` (the model's trainable variables, after the optimizer was
    /// built over them) with `controls` for SCAFFOLD.
    pub fn new(
        net: Net,
        vars: Vec<Tensor>,
        clients: Vec<Client>,
        method: Method,
        seed: u64,
        controls: Option<Controls>,
    ) -> Self {
        let sizes = clients.iter().map(Client::len).collect();
        Federation {
            net,
            vars,
            clients,
            sizes,
            method,
            seed,
            controls,
        }
    }

    /// The model.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// Frees the samples of the clients outside `owned` (another rank trains them): a rank
    /// then holds its own clients' data only.
    pub fn keep_only(&mut self, owned: std::ops::Range<usize>) {
        for (i, client) in self.clients.iter_mut().enumerate() {
            if !owned.contains(&i) {
                *client = Client {
                    x: Tensor::new(),
                    y: Tensor::new(),
                };
            }
        }
    }

    /// Runs round `round` with the clients flagged in `selected` (the others send nothing; the
    /// optimizer's α must be 0 for them): each client's step, the optimizer's aggregation, then
    /// SCAFFOLD's control update. The report's node losses are the clients' mean losses.
    ///
    /// # Errors
    /// The optimizer's errors; a client's libtorch error surfaces as a non-finite loss.
    pub fn round(
        &mut self,
        opt: &mut dyn Optimizer,
        round: u64,
        selected: &[bool],
    ) -> pisa_core::Result<StepReport> {
        let Federation {
            net,
            vars,
            clients,
            sizes,
            method,
            seed,
            controls,
        } = self;
        let (seed, method) = (*seed, *method);
        let report = match method {
            Method::FullGradient { batch } => opt.step(&mut |i| {
                let order = client::round_order(seed, round, 0, i, sizes[i]);
                reported(client::full_gradient(net, &clients[i], &order, batch).unwrap_or(f64::NAN))
            })?,
            Method::Local { algorithm, sgd, mu } => {
                let (global, global_views) = flat_copy(vars);
                // FedNova's τ_eff = Σ α_i a_i over the taking-part clients
                let a: Vec<f64> = sizes
                    .iter()
                    .map(|&n| fednova_a(sgd.steps(n), sgd.momentum))
                    .collect();
                let tau_eff: f64 = a
                    .iter()
                    .zip(opt.node_weights().as_slice())
                    .map(|(a, w)| a * w)
                    .sum();
                let mut controls = controls.as_mut();
                opt.step(&mut |i| {
                    if !selected[i] {
                        return reported(0.0);
                    }
                    let correction: Vec<Tensor>;
                    let drift = match (algorithm, controls.as_ref()) {
                        (LocalAlgorithm::Fedprox, _) => Drift::Proximal {
                            mu,
                            global: &global_views,
                        },
                        (LocalAlgorithm::Scaffold, Some(c)) => {
                            correction = split_views(&(&c.global - c.clients.get(i as i64)), vars);
                            Drift::Control {
                                correction: &correction,
                            }
                        }
                        _ => Drift::None,
                    };
                    let n = sizes[i];
                    let loss = client::local_sgd(net, vars, &clients[i], &sgd, &drift, &mut |epoch| {
                        client::round_order(seed, round, epoch, i, n)
                    })
                    .unwrap_or(f64::NAN);
                    // the message u_i into the gradients (w_i; FedNova: w − (τ_eff/a_i)(w − w_i)),
                    // SCAFFOLD's Δc_i = c_i⁺ − c_i = (w − w_i)/(τ_i η) − c, and the model back at w
                    let written = tch::no_grad(|| -> Result<(), tch::TchError> {
                        if let (LocalAlgorithm::Scaffold, Some(c)) = (algorithm, controls.as_mut()) {
                            let (now, _) = flat_copy(vars);
                            let tau = sgd.steps(n) as f64;
                            let dc = (&global - now) / (tau * sgd.lr) - &c.global;
                            c.delta.get(i as i64).f_copy_(&dc)?;
                        }
                        for (v, g) in vars.iter().zip(&global_views) {
                            let message = match algorithm {
                                LocalAlgorithm::Fednova => g - (g - v) * (tau_eff / a[i]),
                                _ => v.shallow_clone(),
                            };
                            v.grad().f_copy_(&message)?;
                            v.shallow_clone().f_copy_(g)?;
                        }
                        Ok(())
                    });
                    reported(if written.is_ok() { loss } else { f64::NAN })
                })?
            }
        };
        if let Some(c) = controls.as_mut() {
            c.update(opt, selected)?;
        }
        Ok(report)
    }
}

/// What a client's step hands the optimizer's protocol, which back-propagates it: the client
/// already left its gradient (or update) in `.grad()`, so this is a leaf scalar whose
/// backward touches no parameter, with the client's mean loss as its value (the node loss
/// the run reports).
fn reported(loss: f64) -> Tensor {
    Tensor::from(loss as f32).set_requires_grad(true)
}

/// Which clients take part in round `round`: all, or ⌊N·fraction⌋ (at least one) drawn
/// uniformly as NIID-Bench does (a shuffle, then the first ones).
pub fn participants(seed: u64, round: u64, clients: usize, fraction: f64) -> Vec<bool> {
    if fraction >= 1.0 {
        return vec![true; clients];
    }
    let take = ((clients as f64 * fraction).floor() as usize).max(1);
    let mut order: Vec<usize> = (0..clients).collect();
    SplitMix64::new(seed ^ 0x5E1E_C7ED, round).shuffle(&mut order);
    let mut selected = vec![false; clients];
    for &i in &order[..take] {
        selected[i] = true;
    }
    selected
}

/// α over the taking-part clients: n_i / Σ_{selected} n_j, 0 for the others.
pub fn weights(sizes: &[usize], selected: &[bool]) -> Result<NodeWeights, pisa_core::Error> {
    let total: usize = sizes
        .iter()
        .zip(selected)
        .filter(|(_, s)| **s)
        .map(|(n, _)| n)
        .sum();
    let alpha = sizes
        .iter()
        .zip(selected)
        .map(|(&n, &s)| if s { n as f64 / total as f64 } else { 0.0 })
        .collect();
    NodeWeights::new(alpha)
}

/// FedNova's a_i for τ local steps of SGD with momentum ρ (NIID-Bench's `train_net_fednova`):
/// (τ − ρ(1 − ρ^τ)/(1 − ρ)) / (1 − ρ); τ when ρ = 0.
pub fn fednova_a(tau: usize, momentum: f64) -> f64 {
    let tau_f = tau as f64;
    if momentum == 0.0 {
        return tau_f;
    }
    (tau_f - momentum * (1.0 - momentum.powi(tau as i32)) / (1.0 - momentum)) / (1.0 - momentum)
}

/// The flat copy of `vars` (in order) and views of it shaped like each variable.
fn flat_copy(vars: &[Tensor]) -> (Tensor, Vec<Tensor>) {
    let flat = tch::no_grad(|| Tensor::cat(&vars.iter().map(|v| v.reshape([-1])).collect::<Vec<_>>(), 0));
    let views = split_views(&flat, vars);
    (flat, views)
}

/// Views of the flat `flat` shaped like `vars`, in order.
fn split_views(flat: &Tensor, vars: &[Tensor]) -> Vec<Tensor> {
    let mut offset = 0i64;
    vars.iter()
        .map(|v| {
            let n = v.numel() as i64;
            let view = flat.narrow(0, offset, n).view(v.size().as_slice());
            offset += n;
            view
        })
        .collect()
}

/// SCAFFOLD's control variates: c and every c_i, flat, non-trainable variables of the model's
/// `VarStore` (saved with its checkpoints).
pub struct Controls {
    /// c, `[P]`.
    global: Tensor,
    /// c_i, `[N, P]`.
    clients: Tensor,
    /// This round's Δc_i, `[N, P]` (rows of other ranks' clients stay zero).
    delta: Tensor,
}

impl Controls {
    /// Zero controls for `clients` clients and `params` parameters, as variables of `vs`
    /// (create them before restoring a checkpoint, which then fills them).
    pub fn new(vs: &nn::VarStore, clients: usize, params: i64) -> Self {
        let root = vs.root().sub("scaffold");
        Controls {
            global: root.zeros_no_train("c", &[params]),
            clients: root.zeros_no_train("c_clients", &[clients as i64, params]),
            delta: Tensor::zeros([clients as i64, params], (Kind::Float, vs.device())),
        }
    }

    /// After a round: every rank learns every Δc_i (one non-zero contribution per row, so the
    /// sum is exact in any order), then c_i += Δc_i and c += (1/N) Σ_i Δc_i, in client order.
    fn update(&mut self, opt: &dyn Optimizer, selected: &[bool]) -> Result<(), pisa_core::Error> {
        if let Some(ranks) = opt.ranks() {
            ranks.all_reduce_sum(&mut self.delta)?;
        }
        tch::no_grad(|| -> Result<(), pisa_core::Error> {
            let n = selected.len() as f64;
            for (i, _) in selected.iter().enumerate().filter(|(_, s)| **s) {
                let d = self.delta.get(i as i64);
                let _ = self.clients.get(i as i64).f_add_(&d)?;
                let _ = self.global.f_add_(&(d / n))?;
            }
            let _ = self.delta.f_zero_()?;
            Ok(())
        })
    }
}
