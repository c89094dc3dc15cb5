//! What one client computes in a round: its shard of the data, the full local gradient of the
//! PISA family (spec §6), and the local mini-batch SGD of the federated baselines (NIID-Bench's
//! `train_net`, `train_net_fedprox`, `train_net_scaffold`, `train_net_fednova`).

use runs::rng::SplitMix64;
use tch::nn::ModuleT;
use tch::{Kind, Reduction, Tensor};

/// A client's data on the training device.
#[derive(Debug)]
pub struct Client {
    /// Inputs `[n_i, ...]`.
    pub x: Tensor,
    /// Labels `[n_i]`.
    pub y: Tensor,
}

impl Client {
    /// n_i.
    pub fn len(&self) -> usize {
        self.y.size()[0] as usize
    }

    /// Whether the client holds nothing (never, for a client of a partition).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Client `client`'s sample order in local epoch `epoch` of round `round`: a permutation that
/// is a function of (seed, round, epoch, client), so a resumed run draws what an
/// uninterrupted one would and every rank draws the same.
pub fn round_order(seed: u64, round: u64, epoch: usize, client: usize, n: usize) -> Vec<i64> {
    let mut order: Vec<i64> = (0..n as i64).collect();
    let stream = (round.wrapping_mul(1 << 20).wrapping_add(epoch as u64))
        .wrapping_mul(1 << 24)
        .wrapping_add(client as u64);
    SplitMix64::new(seed ^ 0xFED0_0000, stream).shuffle(&mut order);
    order
}

/// The sample positions of the round's shuffle that its mini-batches cover: ⌊n/B⌋·B, as
/// NIID-Bench's `DataLoader(batch_size = B, shuffle = True, drop_last = True)` forms them; a
/// client with fewer than B samples makes one batch of all of them (NIID-Bench would train it
/// on nothing).
pub fn covered(n: usize, batch: usize) -> usize {
    match n / batch {
        0 => n,
        full => full * batch,
    }
}

/// Samples per forward pass of [`full_gradient`]: a memory bound only (every covered sample
/// weighs 1/B whatever the chunk).
pub const CHUNK: usize = 256;

/// Accumulates into the variables' `.grad()` the client's full local gradient (spec §6): the
/// sum over the round's mini-batches of their mean-loss gradients, Σ_b ∇ mean_b(ℓ) =
/// (1/B) Σ_{j covered} ∇ℓ_j ([`covered`]; `order` is the round's shuffle), computed in chunks
/// of [`CHUNK`] samples. Returns the mean loss over the covered samples.
///
/// # Errors
/// A libtorch error.
pub fn full_gradient(
    net: &dyn ModuleT,
    client: &Client,
    order: &[i64],
    batch: usize,
) -> Result<f64, tch::TchError> {
    let n = covered(order.len(), batch);
    let weight = 1.0 / batch.min(n) as f64;
    let order = Tensor::from_slice(&order[..n]).to_device(client.x.device());
    let mut total = 0.0;
    for start in (0..n).step_by(CHUNK) {
        let len = CHUNK.min(n - start) as i64;
        let ids = order.narrow(0, start as i64, len);
        let summed = net
            .forward_t(&client.x.index_select(0, &ids), true)
            .f_cross_entropy_loss::<Tensor>(
                &client.y.index_select(0, &ids),
                None,
                Reduction::None,
                -100,
                0.0,
            )?
            .f_sum(Kind::Float)?;
        total += summed.f_double_value(&[])?;
        (summed * weight).f_backward()?;
    }
    Ok(total / n as f64)
}

/// Local-SGD settings of the federated baselines (NIID-Bench's flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalSgd {
    /// Learning rate η.
    pub lr: f64,
    /// Momentum (NIID-Bench `--rho`; PyTorch SGD semantics, no dampening).
    pub momentum: f64,
    /// Coupled weight decay (NIID-Bench `--reg`).
    pub weight_decay: f64,
    /// Mini-batch size.
    pub batch: usize,
    /// Local epochs E.
    pub epochs: usize,
}

impl LocalSgd {
    /// Local steps τ_i of a client with `n` samples: E · ⌊n / B⌋ (E when n < B; see
    /// [`covered`]).
    pub fn steps(&self, n: usize) -> usize {
        self.epochs * (n / self.batch).max(1)
    }
}

/// What the local objective adds to the cross-entropy.
#[derive(Debug)]
pub enum Drift<'a> {
    /// Nothing (FedAvg, FedNova).
    None,
    /// FedProx: (μ/2) Σ ‖w − w_global‖², with the global weights per variable.
    Proximal {
        /// μ.
        mu: f64,
        /// The round's global weights, one tensor per variable.
        global: &'a [Tensor],
    },
    /// SCAFFOLD: after every SGD step, w ← w − η (c − c_i), one tensor per variable.
    Control {
        /// c − c_i per variable.
        correction: &'a [Tensor],
    },
}

/// Trains `vars` (the model's trainable variables, read by `net`) on `client` for E epochs of
/// mini-batch SGD from their current values, as NIID-Bench's `train_net*`: a fresh SGD with
/// momentum each round, batches from the round's shuffle of each epoch (`orders(epoch)`), a
/// last partial batch dropped ([`covered`]). Returns the mean mini-batch loss.
///
/// # Errors
/// A libtorch error (as text).
pub fn local_sgd(
    net: &dyn ModuleT,
    vars: &[Tensor],
    client: &Client,
    settings: &LocalSgd,
    drift: &Drift<'_>,
    orders: &mut dyn FnMut(usize) -> Vec<i64>,
) -> Result<f64, tch::TchError> {
    let mut momentum: Vec<Option<Tensor>> = vars.iter().map(|_| None).collect();
    let (mut total, mut count) = (0.0, 0usize);
    let n = covered(client.len(), settings.batch);
    for epoch in 0..settings.epochs {
        let order = Tensor::from_slice(&orders(epoch)).to_device(client.x.device());
        for start in (0..n).step_by(settings.batch) {
            let len = settings.batch.min(n - start) as i64;
            let ids = order.narrow(0, start as i64, len);
            let (x, y) = (client.x.index_select(0, &ids), client.y.index_select(0, &ids));
            for v in vars {
                let mut g = v.grad();
                if g.defined() {
                    let _ = g.f_zero_()?;
                }
            }
            let mut loss = net.forward_t(&x, true).cross_entropy_for_logits(&y);
            if let Drift::Proximal { mu, global } = drift {
                let mut prox = Tensor::zeros([], (Kind::Float, x.device()));
                for (v, g) in vars.iter().zip(global.iter()) {
                    prox += (v - g).square().sum(Kind::Float);
                }
                loss += prox * (mu / 2.0);
            }
            loss.f_backward()?;
            total += loss.f_double_value(&[])?;
            count += 1;
            tch::no_grad(|| -> Result<(), tch::TchError> {
                for (i, v) in vars.iter().enumerate() {
                    let mut d = v.grad();
                    if !d.defined() {
                        continue;
                    }
                    if settings.weight_decay != 0.0 {
                        d = d.f_add(&(v * settings.weight_decay))?;
                    }
                    if settings.momentum != 0.0 {
                        let buf = match momentum[i].take() {
                            None => d.f_detach_copy()?,
                            Some(mut b) => {
                                let _ = b.f_mul_scalar_(settings.momentum)?.f_add_(&d)?;
                                b
                            }
                        };
                        d = buf.shallow_clone();
                        momentum[i] = Some(buf);
                    }
                    let mut v = v.shallow_clone();
                    let _ = v.f_sub_(&(d * settings.lr))?;
                    if let Drift::Control { correction } = drift {
                        let _ = v.f_sub_(&(&correction[i] * settings.lr))?;
                    }
                }
                Ok(())
            })?;
        }
    }
    Ok(total / count.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_seeded_and_batches_drop_the_rest() {
        assert_eq!(covered(130, 64), 128);
        assert_eq!(covered(128, 64), 128);
        assert_eq!(covered(3, 64), 3);
        let a = round_order(1, 2, 0, 3, 50);
        assert_eq!(a, round_order(1, 2, 0, 3, 50));
        assert_ne!(a, round_order(1, 3, 0, 3, 50));
        assert_ne!(a, round_order(1, 2, 1, 3, 50));
        assert_ne!(a, round_order(1, 2, 0, 4, 50));
    }
}
