//! One WGAN / WGAN-GP training iteration through the pisa-core node protocol.
//!
//! - [`critic_iteration`]: the critic's optimizer runs one outer iteration
//!   ([`pisa_core::Optimizer::step`]); node i's loss is computed on slice i of the real and fake
//!   batches ([`NodeSplit::contiguous`], α_i = slice share, spec §6):
//!   `mean D(fake_i) − mean D(real_i)` plus, for WGAN-GP, `λ_GP ·` the gradient penalty on node
//!   i's own interpolates (spec §5). For WGAN the **global** critic weights are clamped to
//!   `[−c, c]` after the iteration (after aggregation; node copies and duals are not clamped).
//! - [`generator_iteration`]: the generator's optimizer runs one outer iteration on
//!   `−mean D(G(z_i))` with the noise of the last critic iteration split the same way (the
//!   paper's code reuses the critic's noise); the critic is frozen meanwhile.
//!
//! Baselines (Adam, RMSProp, AdaBelief) run the same protocol with the node gradients averaged,
//! which equals one gradient of the whole batch for WGAN-GP and for a critic without batch norm.

use crate::error::Result;
use pisa_core::Optimizer;
use runs::nodes::NodeSplit;
use serde::{Deserialize, Serialize};
use tch::nn::{ModuleT, VarStore};
use tch::{Kind, Tensor};

/// WGAN (weight clipping) or WGAN-GP (gradient penalty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Arjovsky et al. 2017: critic weights clipped to `[−c, c]`.
    Wgan,
    /// Gulrajani et al. 2017: gradient penalty on interpolates.
    WganGp,
}

impl Variant {
    /// `wgan` or `wgan-gp` (also the registry's preset domain).
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Wgan => "wgan",
            Variant::WganGp => "wgan-gp",
        }
    }
}

/// The adversarial settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GanSettings {
    /// WGAN or WGAN-GP.
    pub variant: Variant,
    /// Weight-clipping bound c for WGAN (0.01).
    pub clip: f64,
    /// Gradient-penalty weight λ_GP for WGAN-GP (10).
    pub gp_weight: f64,
}

impl GanSettings {
    /// The papers' defaults for `variant`: c = 0.01, λ_GP = 10.
    pub fn new(variant: Variant) -> Self {
        GanSettings {
            variant,
            clip: 0.01,
            gp_weight: 10.0,
        }
    }
}

/// What one critic iteration observed (α-weighted over the nodes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CriticReport {
    /// The critic loss including the penalty.
    pub loss: f64,
    /// The Wasserstein estimate `mean D(real) − mean D(fake)`.
    pub wasserstein: f64,
    /// The gradient penalty (without its weight; 0 for WGAN).
    pub gradient_penalty: f64,
}

/// The gradient penalty `mean_k (‖∇_x D(x̂_k)‖₂ − 1)²` at `x̂ = ε·real + (1 − ε)·fake`, with
/// `eps` `[N]` in `[0, 1]`, built with `create_graph` so that it can be differentiated again.
/// `real` and `fake` are `[N, …]` of any rank (images `[N, C, H, W]`, points `[N, 2]`).
pub fn gradient_penalty(critic: &dyn ModuleT, real: &Tensor, fake: &Tensor, eps: &Tensor) -> Tensor {
    let mut shape = vec![1i64; real.dim()];
    shape[0] = -1;
    let e = eps.view(shape.as_slice());
    let interp = (real * &e + fake * (-&e + 1.0)).detach().set_requires_grad(true);
    let scores = critic.forward_t(&interp, true);
    let grads = Tensor::run_backward(&[scores.sum(Kind::Float)], &[&interp], true, true);
    let norms = grads[0].flatten(1, -1).norm_scalaropt_dim(2, [1], false);
    (norms - 1.0).square().mean(Kind::Float)
}

/// Clamps every trainable variable of `vs` to `[−c, c]` in place.
pub fn clip_weights(vs: &VarStore, c: f64) {
    tch::no_grad(|| {
        for mut v in vs.trainable_variables() {
            let _ = v.clamp_(-c, c);
        }
    });
}

/// One critic iteration on `real` and `fake` (`[B, C, H, W]`, `fake` detached) with
/// interpolation weights `eps` `[B]` (used by WGAN-GP only).
///
/// # Errors
/// A split or optimizer error (e.g. a non-finite node loss, which leaves the weights untouched).
pub fn critic_iteration(
    opt: &mut dyn Optimizer,
    critic: &dyn ModuleT,
    critic_vs: &VarStore,
    real: &Tensor,
    fake: &Tensor,
    eps: &Tensor,
    settings: &GanSettings,
) -> Result<CriticReport> {
    let split = NodeSplit::contiguous(real.size()[0] as usize, opt.node_weights().len())?;
    let mut parts = vec![(0.0, 0.0); split.nodes()];
    let report = opt.step(&mut |i| {
        let (r, f) = (split.slice(real, 0, i), split.slice(fake, 0, i));
        let w = critic.forward_t(&r, true).mean(Kind::Float) - critic.forward_t(&f, true).mean(Kind::Float);
        let mut loss = -&w;
        let mut gp_value = 0.0;
        if settings.variant == Variant::WganGp {
            let gp = gradient_penalty(critic, &r, &f, &split.slice(eps, 0, i));
            gp_value = gp.double_value(&[]);
            loss += gp * settings.gp_weight;
        }
        parts[i] = (w.double_value(&[]), gp_value);
        loss
    })?;
    if settings.variant == Variant::Wgan {
        clip_weights(critic_vs, settings.clip);
    }
    let alpha = split.alpha();
    Ok(CriticReport {
        loss: report.weighted_loss(alpha),
        wasserstein: parts.iter().enumerate().map(|(i, p)| alpha.get(i) * p.0).sum(),
        gradient_penalty: parts.iter().enumerate().map(|(i, p)| alpha.get(i) * p.1).sum(),
    })
}

/// One generator iteration on noise `z` `[B, z_dim]`; the critic's variables are frozen during
/// it (their gradients are not computed) and unfrozen afterwards. Returns the α-weighted loss
/// `−mean D(G(z))`.
///
/// # Errors
/// A split or optimizer error.
pub fn generator_iteration(
    opt: &mut dyn Optimizer,
    generator: &dyn ModuleT,
    critic: &dyn ModuleT,
    critic_vs: &mut VarStore,
    z: &Tensor,
) -> Result<f64> {
    let split = NodeSplit::contiguous(z.size()[0] as usize, opt.node_weights().len())?;
    critic_vs.freeze();
    let report = opt.step(&mut |i| {
        let fake = generator.forward_t(&split.slice(z, 0, i), true);
        -critic.forward_t(&fake, true).mean(Kind::Float)
    });
    critic_vs.unfreeze();
    Ok(report?.weighted_loss(split.alpha()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CriticNorm, Generator, ModelConfig};
    use runs::registry::Registry;
    use tch::nn::{self, Module};
    use tch::Device;

    /// A linear "critic" D(x) = Σ_j w_j x_j + b with known weights.
    fn linear_critic(w: &[f32]) -> (VarStore, Flat) {
        let vs = VarStore::new(Device::Cpu);
        let mut lin = nn::linear(vs.root() / "lin", w.len() as i64, 1, Default::default());
        tch::no_grad(|| {
            lin.ws.copy_(&Tensor::from_slice(w).view([1, -1]));
        });
        (vs, Flat(lin))
    }

    #[derive(Debug)]
    struct Flat(nn::Linear);
    impl ModuleT for Flat {
        fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
            self.0.forward(&x.flatten(1, -1)).view([-1])
        }
    }

    #[test]
    fn gradient_penalty_of_a_linear_critic_is_the_closed_form() {
        let _rng = crate::torch_rng_lock();
        // ∇_x D = w everywhere, so the penalty is (‖w‖ − 1)² whatever the interpolates.
        let w = [0.3f32, -1.2, 2.0, 0.5];
        let (_vs, lin) = linear_critic(&w);
        let real = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]).view([2, 1, 2, 2]);
        let fake = -&real;
        let eps = Tensor::from_slice(&[0.25f32, 0.9]);
        let gp = gradient_penalty(&lin, &real, &fake, &eps).double_value(&[]);
        let norm = w.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
        assert!((gp - (norm - 1.0).powi(2)).abs() < 1e-5, "{gp}");
    }

    #[test]
    fn gradient_penalty_is_differentiable_in_the_weights() {
        let _rng = crate::torch_rng_lock();
        // d/dw (‖w‖ − 1)² = 2 (‖w‖ − 1) w / ‖w‖: checks the create_graph path.
        let w = [3.0f32, 4.0];
        let (vs, lin) = linear_critic(&w);
        let x = Tensor::from_slice(&[1.0f32, 1.0]).view([1, 1, 1, 2]);
        let gp = gradient_penalty(&lin, &x, &x, &Tensor::from_slice(&[0.5f32]));
        gp.backward();
        let _ = &vs;
        let grad = lin.0.ws.grad();
        let expected = [2.0 * 4.0 * 3.0 / 5.0, 2.0 * 4.0 * 4.0 / 5.0];
        for (k, e) in expected.iter().enumerate() {
            assert!((grad.double_value(&[0, k as i64]) - e).abs() < 1e-4, "{grad:?}");
        }
    }

    fn tiny() -> ModelConfig {
        ModelConfig {
            z_dim: 8,
            base: 4,
            channels: 1,
            image_size: 8,
            critic_norm: CriticNorm::None,
        }
    }

    /// Deterministic data independent of libtorch's global RNG.
    fn pattern(shape: &[i64], phase: f64) -> Tensor {
        let n: i64 = shape.iter().product();
        (Tensor::arange(n, (Kind::Float, Device::Cpu)) * 0.731 + phase)
            .sin()
            .view(shape)
    }

    fn set_weights(vs: &VarStore, phase: f64) {
        tch::no_grad(|| {
            for (k, mut v) in vs.trainable_variables().into_iter().enumerate() {
                let p = pattern(&v.size(), phase + k as f64) * 0.1;
                v.copy_(&p);
            }
        });
    }

    #[test]
    fn sisa_wgan_clips_the_global_critic_weights_after_aggregation() {
        let _rng = crate::torch_rng_lock();
        let cfg = tiny();
        let (dvs, gvs) = (VarStore::new(Device::Cpu), VarStore::new(Device::Cpu));
        let critic = crate::model::Critic::new(&dvs.root(), &cfg);
        let _g = Generator::new(&gvs.root(), &cfg);
        set_weights(&dvs, 0.0);
        let reg = Registry::builtin();
        let mut opt = reg
            .resolve("wgan", "sisa", &toml::Table::new())
            .unwrap()
            .build(&dvs)
            .unwrap();
        assert_eq!(opt.node_weights().len(), 4);
        let real = pattern(&[8, 1, 8, 8], 0.5);
        let fake = pattern(&[8, 1, 8, 8], 2.0);
        let eps = Tensor::full([8], 0.5, (Kind::Float, Device::Cpu));
        let settings = GanSettings::new(Variant::Wgan);
        let max_before = dvs
            .trainable_variables()
            .iter()
            .map(|v| v.abs().max().double_value(&[]))
            .fold(0.0, f64::max);
        assert!(max_before > 0.05);
        let r = critic_iteration(opt.as_mut(), &critic, &dvs, &real, &fake, &eps, &settings).unwrap();
        assert_eq!(r.gradient_penalty, 0.0);
        assert!((r.loss + r.wasserstein).abs() < 1e-6);
        let max_after = dvs
            .trainable_variables()
            .iter()
            .map(|v| v.abs().max().double_value(&[]))
            .fold(0.0, f64::max);
        assert!((max_after - 0.01).abs() < 1e-9, "{max_after}");
        // The optimizer's iteration counter advanced once (one outer iteration over 4 nodes).
        assert_eq!(opt.iteration(), 1);
    }

    #[test]
    fn wgan_gp_loss_is_the_alpha_weighted_sum_of_node_losses() {
        let _rng = crate::torch_rng_lock();
        let cfg = tiny();
        let dvs = VarStore::new(Device::Cpu);
        let critic = crate::model::Critic::new(&dvs.root(), &cfg);
        set_weights(&dvs, 1.0);
        let real = pattern(&[6, 1, 8, 8], 0.1);
        let fake = pattern(&[6, 1, 8, 8], 1.7);
        let eps = pattern(&[6], 0.3).abs();
        // Expected: nodes of 3 (m = 2), each −(mean D(r_i) − mean D(f_i)) + 10·GP_i, averaged.
        let expected: f64 = (0..2)
            .map(|i| {
                let (r, f, e) = (
                    real.narrow(0, 3 * i, 3),
                    fake.narrow(0, 3 * i, 3),
                    eps.narrow(0, 3 * i, 3),
                );
                let w = critic.forward_t(&r, true).mean(Kind::Float)
                    - critic.forward_t(&f, true).mean(Kind::Float);
                let gp = gradient_penalty(&critic, &r, &f, &e);
                (-w + gp * 10.0).double_value(&[]) / 2.0
            })
            .sum();
        // λ = 0: with the preset λ = 1e-4 > σ = 5e-5 the first iteration starts from
        // w¹ = σ w⁰ / (σ + λ) (spec §2.2), and the node losses would be at w⁰/3.
        let reg = Registry::builtin();
        let overrides: toml::Table = "lambda = 0.0".parse().unwrap();
        let mut opt = reg
            .resolve("wgan-gp", "sisa", &overrides)
            .unwrap()
            .build(&dvs)
            .unwrap();
        let settings = GanSettings::new(Variant::WganGp);
        let r = critic_iteration(opt.as_mut(), &critic, &dvs, &real, &fake, &eps, &settings).unwrap();
        assert!((r.loss - expected).abs() < 1e-5, "{} vs {expected}", r.loss);
        assert!(r.gradient_penalty > 0.0);
    }

    #[test]
    fn generator_iteration_moves_only_the_generator() {
        let _rng = crate::torch_rng_lock();
        let cfg = tiny();
        let (mut dvs, gvs) = (VarStore::new(Device::Cpu), VarStore::new(Device::Cpu));
        let critic = crate::model::Critic::new(&dvs.root(), &cfg);
        let generator = Generator::new(&gvs.root(), &cfg);
        set_weights(&dvs, 0.2);
        set_weights(&gvs, 0.9);
        let reg = Registry::builtin();
        let mut opt = reg
            .resolve("wgan-gp", "adam", &toml::Table::new())
            .unwrap()
            .build(&gvs)
            .unwrap();
        let snapshot = |vs: &VarStore| {
            vs.trainable_variables()
                .iter()
                .map(|v| v.copy())
                .collect::<Vec<_>>()
        };
        let (d0, g0) = (snapshot(&dvs), snapshot(&gvs));
        let z = pattern(&[4, 8], 0.4);
        let loss = generator_iteration(opt.as_mut(), &generator, &critic, &mut dvs, &z).unwrap();
        assert!(loss.is_finite());
        for (a, b) in d0.iter().zip(dvs.trainable_variables()) {
            assert!(a.equal(&b));
            assert!(b.requires_grad(), "the critic is unfrozen again");
            assert!(!b.grad().defined() || b.grad().abs().max().double_value(&[]) == 0.0);
        }
        let moved = g0
            .iter()
            .zip(gvs.trainable_variables())
            .filter(|(a, b)| !a.equal(b))
            .count();
        assert!(moved > 0);
    }
}
