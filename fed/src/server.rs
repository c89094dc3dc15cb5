//! The server step of the federated baselines: the α-weighted average of what the clients
//! send, w ← Σ α_i u_i, as NIID-Bench forms `global_para` (Σ freq_i · net_para_i).
//!
//! It is a pisa-core [`Baseline`] whose [`UpdateRule`] replaces the weights by the averaged
//! "gradient": each client leaves its message u_i in `.grad()` (its trained weights w_i for
//! FedAvg, FedProx and SCAFFOLD; w − (τ_eff/a_i)(w − w_i) for FedNova), the driver forms
//! Σ α_i u_i, over ranks too, in node order under `--reduction ordered`. So the clients are the
//! optimizer's nodes, and ranks, checkpoints and the protocol are pisa-core's.

use pisa_core::baselines::driver::{Baseline, UpdateRule};
use pisa_core::params::trainable_named;
use pisa_core::schedule::LrSchedule;
use pisa_core::{NodeWeights, Optimizer, ParamSet};
use tch::Tensor;

/// The update w ← ḡ, ḡ = Σ α_i u_i: no state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Average;

impl UpdateRule for Average {
    fn name(&self) -> &'static str {
        "average"
    }

    fn update(
        &mut self,
        params: &mut ParamSet,
        grad: &Tensor,
        _step: u64,
        _lr_factor: f64,
    ) -> pisa_core::Result<()> {
        params.assign(grad)
    }

    fn state_tensors(&self) -> Vec<(&'static str, &Tensor)> {
        Vec::new()
    }

    fn state_tensors_mut(&mut self) -> Vec<(&'static str, &mut Tensor)> {
        Vec::new()
    }
}

/// The averaging server over the trainable variables of `vs`, one node per client.
///
/// # Errors
/// A model without parameters, or a libtorch error.
pub fn averaging(vs: &tch::nn::VarStore, alpha: NodeWeights) -> pisa_core::Result<Box<dyn Optimizer>> {
    let params = ParamSet::new(trainable_named(vs))?;
    Ok(Box::new(Baseline::new(
        params,
        alpha,
        LrSchedule::Constant,
        Average,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind};

    /// Two clients sending 1 and 4 with α = (0.8, 0.2): the weights become 1.6.
    #[test]
    fn the_server_takes_the_weighted_average_of_the_messages() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[2], nn::Init::Const(0.0));
        let mut server = averaging(&vs, NodeWeights::new(vec![0.8, 0.2]).unwrap()).unwrap();
        let messages = [1.0, 4.0];
        server
            .step(&mut |i| (&w * messages[i]).sum(Kind::Float) + 0.0 * w.sum(Kind::Float))
            .unwrap();
        let got = Vec::<f64>::try_from(&w).unwrap();
        assert!(got.iter().all(|v| (v - 1.6).abs() < 1e-6), "{got:?}");
    }
}
