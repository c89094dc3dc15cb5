//! Policies: separate actor and critic MLPs, and the action distributions they parameterize.
//!
//! Defaults follow CleanRL's `ppo.py`/`ppo_continuous_action.py` and Tianshou's MuJoCo examples:
//! hidden layers `[64, 64]` with tanh, orthogonal initialization with gain √2 for hidden layers,
//! 0.01 for the actor head and 1 for the critic head, biases zero; for `Box` actions a diagonal
//! Gaussian whose log-std is a learned vector independent of the state (initialized to 0).

use envs::Space;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// An action distribution over a batch: one distribution per row.
#[derive(Debug)]
pub enum Dist {
    /// Diagonal Gaussian N(μ, diag σ²): `mean` is `[B, d]`, `log_std` is `[d]` or `[B, d]`.
    Gaussian {
        /// Means μ, `[B, d]`.
        mean: Tensor,
        /// log σ, broadcast against `mean`.
        log_std: Tensor,
    },
    /// Categorical over n actions with unnormalized `logits`, `[B, n]`.
    Categorical {
        /// Logits, `[B, n]`.
        logits: Tensor,
    },
}

impl Dist {
    /// log π(a), `[B]`: summed over the action dimensions for the Gaussian,
    /// −½ Σ_j ((a_j − μ_j)/σ_j)² + 2 log σ_j + log 2π; for the categorical `actions` are `[B]`
    /// Int64 indices.
    pub fn log_prob(&self, actions: &Tensor) -> Tensor {
        match self {
            Dist::Gaussian { mean, log_std } => {
                let z = (actions - mean) / log_std.exp();
                let per_dim = z.square() * -0.5 - log_std - 0.5 * (2.0 * std::f64::consts::PI).ln();
                per_dim.sum_dim_intlist(-1, false, Kind::Float)
            }
            Dist::Categorical { logits } => logits
                .log_softmax(-1, Kind::Float)
                .gather(-1, &actions.to_kind(Kind::Int64).unsqueeze(-1), false)
                .squeeze_dim(-1),
        }
    }

    /// Entropy, `[B]`: Σ_j ½ log(2πe σ_j²) for the Gaussian, −Σ_k p_k log p_k for the categorical.
    pub fn entropy(&self) -> Tensor {
        match self {
            Dist::Gaussian { mean, log_std } => {
                let per_dim = log_std + 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln();
                (per_dim + mean.zeros_like()).sum_dim_intlist(-1, false, Kind::Float)
            }
            Dist::Categorical { logits } => {
                let logp = logits.log_softmax(-1, Kind::Float);
                -(logp.exp() * logp).sum_dim_intlist(-1, false, Kind::Float)
            }
        }
    }

    /// A sample per row, from torch's global generator (seed it with [`tch::manual_seed`]):
    /// `[B, d]` Float for the Gaussian, `[B]` Int64 for the categorical. Not differentiable.
    pub fn sample(&self) -> Tensor {
        tch::no_grad(|| match self {
            Dist::Gaussian { mean, log_std } => mean + mean.randn_like() * log_std.exp(),
            Dist::Categorical { logits } => logits
                .softmax(-1, Kind::Float)
                .multinomial(1, true)
                .squeeze_dim(-1),
        })
    }

    /// The deterministic action used for evaluation: μ, or the arg-max of the logits.
    pub fn mode(&self) -> Tensor {
        tch::no_grad(|| match self {
            Dist::Gaussian { mean, .. } => mean.copy(),
            Dist::Categorical { logits } => logits.argmax(-1, false),
        })
    }
}

/// Which distribution head an action space gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionHead {
    /// `Discrete(n)`: categorical over n actions.
    Categorical(usize),
    /// `Box` of dimension d: diagonal Gaussian.
    Gaussian(usize),
}

impl ActionHead {
    /// The head for `space`: categorical for a discrete space, Gaussian over the flat dimension
    /// otherwise.
    pub fn for_space(space: &Space) -> Self {
        match space.discrete_n() {
            Some(n) => ActionHead::Categorical(n),
            None => ActionHead::Gaussian(space.flat_dim()),
        }
    }

    /// Size of the actor's output layer.
    pub fn outputs(self) -> usize {
        match self {
            ActionHead::Categorical(n) | ActionHead::Gaussian(n) => n,
        }
    }
}

/// Sizes and initialization of an [`ActorCritic`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PolicyConfig {
    /// Hidden layer widths of both the actor and the critic; default `[64, 64]`.
    pub hidden: Vec<usize>,
    /// Initial log σ of the Gaussian head; default 0 (σ = 1, CleanRL and Tianshou).
    pub init_log_std: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            hidden: vec![64, 64],
            init_log_std: 0.0,
        }
    }
}

/// Separate actor and critic MLPs (tanh) with orthogonal initialization.
#[derive(Debug)]
pub struct ActorCritic {
    actor: nn::Sequential,
    critic: nn::Sequential,
    log_std: Option<Tensor>,
    head: ActionHead,
}

/// An MLP `inputs → hidden… → outputs` with tanh between layers, orthogonal weights (gain √2 for
/// hidden layers, `out_gain` for the last) and zero biases.
fn mlp(p: nn::Path, inputs: usize, hidden: &[usize], outputs: usize, out_gain: f64) -> nn::Sequential {
    let mut seq = nn::seq();
    let mut width = inputs as i64;
    let layers = hidden
        .iter()
        .map(|&h| (h, 2f64.sqrt()))
        .chain([(outputs, out_gain)]);
    let count = hidden.len() + 1;
    for (k, (out, gain)) in layers.enumerate() {
        let cfg = nn::LinearConfig {
            ws_init: nn::Init::Orthogonal { gain },
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        };
        seq = seq.add(nn::linear(&p / k, width, out as i64, cfg));
        if k + 1 < count {
            seq = seq.add_fn(Tensor::tanh);
        }
        width = out as i64;
    }
    seq
}

impl ActorCritic {
    /// An actor-critic for observations of `obs_dim` numbers and actions of kind `head`, with its
    /// variables under `p` (`p/"actor"`, `p/"critic"`, `p/"log_std"`).
    pub fn new(p: &nn::Path, obs_dim: usize, head: ActionHead, cfg: &PolicyConfig) -> Self {
        let actor = mlp(p / "actor", obs_dim, &cfg.hidden, head.outputs(), 0.01);
        let critic = mlp(p / "critic", obs_dim, &cfg.hidden, 1, 1.0);
        let log_std = match head {
            ActionHead::Gaussian(d) => Some(p.var("log_std", &[d as i64], nn::Init::Const(cfg.init_log_std))),
            ActionHead::Categorical(_) => None,
        };
        ActorCritic {
            actor,
            critic,
            log_std,
            head,
        }
    }

    /// The action head.
    pub fn head(&self) -> ActionHead {
        self.head
    }

    /// π(·|s) for a batch of observations `[B, obs_dim]`.
    pub fn dist(&self, obs: &Tensor) -> Dist {
        let out = self.actor.forward(obs);
        match &self.log_std {
            Some(log_std) => Dist::Gaussian {
                mean: out,
                log_std: log_std.shallow_clone(),
            },
            None => Dist::Categorical { logits: out },
        }
    }

    /// V(s), `[B]`.
    pub fn value(&self, obs: &Tensor) -> Tensor {
        self.critic.forward(obs).squeeze_dim(-1)
    }

    /// The Gaussian policy's action standard deviation exp(log σ), averaged over the action
    /// dimensions (state-independent, so one number per policy); `None` for a categorical one.
    pub fn action_std(&self) -> Option<f64> {
        let log_std = self.log_std.as_ref()?;
        Some(tch::no_grad(|| log_std.exp().mean(Kind::Double)).double_value(&[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::{E, PI};
    use tch::Device;

    fn close(t: &Tensor, want: &[f64], tol: f64) {
        let got = Vec::<f64>::try_from(t.to_kind(Kind::Double).reshape([-1])).unwrap();
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn gaussian_log_prob_and_entropy_match_closed_forms() {
        // Two rows, two dims: μ = [[0, 1], [2, −1]], σ = [0.5, 2].
        let mean = Tensor::from_slice(&[0.0f32, 1.0, 2.0, -1.0]).view([2, 2]);
        let sigma = [0.5f64, 2.0];
        let log_std = Tensor::from_slice(&[0.5f32.ln(), 2.0f32.ln()]);
        let d = Dist::Gaussian { mean, log_std };
        let a = Tensor::from_slice(&[0.25f32, 0.0, 2.0, 3.0]).view([2, 2]);
        let density =
            |x: f64, mu: f64, s: f64| -((x - mu) / s).powi(2) / 2.0 - s.ln() - 0.5 * (2.0 * PI).ln();
        let want = [
            density(0.25, 0.0, sigma[0]) + density(0.0, 1.0, sigma[1]),
            density(2.0, 2.0, sigma[0]) + density(3.0, -1.0, sigma[1]),
        ];
        close(&d.log_prob(&a), &want, 1e-5);
        let h: f64 = sigma.iter().map(|s| 0.5 * (2.0 * PI * E * s * s).ln()).sum();
        close(&d.entropy(), &[h, h], 1e-5);
    }

    #[test]
    fn categorical_log_prob_and_entropy_match_closed_forms() {
        // logits [0, ln 2, ln 3] → p = [1/6, 2/6, 3/6]; logits [0, 0, 0] → uniform.
        let logits = Tensor::from_slice(&[0.0f32, 2f32.ln(), 3f32.ln(), 0.0, 0.0, 0.0]).view([2, 3]);
        let d = Dist::Categorical { logits };
        let a = Tensor::from_slice(&[2i64, 0]);
        close(&d.log_prob(&a), &[(0.5f64).ln(), (1.0f64 / 3.0).ln()], 1e-6);
        let p = [1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0f64];
        let h0: f64 = -p.iter().map(|q| q * q.ln()).sum::<f64>();
        close(&d.entropy(), &[h0, 3f64.ln()], 1e-6);
        close(&d.mode(), &[2.0, 0.0], 0.0);
    }

    #[test]
    fn orthogonal_init_and_shapes() {
        let vs = nn::VarStore::new(Device::Cpu);
        let ac = ActorCritic::new(&vs.root(), 4, ActionHead::Gaussian(3), &PolicyConfig::default());
        let vars = vs.variables();
        // Hidden weight [64, 4]: rows orthonormal up to the gain, W Wᵀ... columns here: Wᵀ W = 2 I.
        let w0 = &vars["actor.0.weight"];
        let gram = w0.transpose(0, 1).matmul(w0);
        assert!(gram.allclose(
            &(Tensor::eye(4, (Kind::Float, Device::Cpu)) * 2.0),
            1e-4,
            1e-4,
            false
        ));
        // Actor head [3, 64]: W Wᵀ = 0.01² I; critic head [1, 64]: ‖w‖ = 1.
        let head = &vars["actor.2.weight"];
        let gram = head.matmul(&head.transpose(0, 1));
        assert!(gram.allclose(
            &(Tensor::eye(3, (Kind::Float, Device::Cpu)) * 1e-4),
            1e-7,
            1e-6,
            false
        ));
        let v = &vars["critic.2.weight"];
        assert!((v.norm().double_value(&[]) - 1.0).abs() < 1e-5);
        assert_eq!(vars["actor.0.bias"].abs().sum(Kind::Float).double_value(&[]), 0.0);
        let obs = Tensor::randn([5, 4], (Kind::Float, Device::Cpu));
        assert_eq!(ac.value(&obs).size(), [5]);
        let dist = ac.dist(&obs);
        let a = dist.sample();
        assert_eq!(a.size(), [5, 3]);
        assert_eq!(dist.log_prob(&a).size(), [5]);
        assert_eq!(dist.entropy().size(), [5]);
        assert_eq!(
            ActionHead::for_space(&Space::box_f32(&[-1.0; 3], &[1.0; 3])),
            ActionHead::Gaussian(3)
        );
    }

    #[test]
    fn action_std_is_the_mean_sigma() {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = PolicyConfig {
            init_log_std: 0.5f64.ln(),
            ..PolicyConfig::default()
        };
        let ac = ActorCritic::new(&vs.root(), 4, ActionHead::Gaussian(3), &cfg);
        assert!((ac.action_std().unwrap() - 0.5).abs() < 1e-6);
        let discrete = ActorCritic::new(&(vs.root() / "d"), 4, ActionHead::Categorical(2), &cfg);
        assert_eq!(discrete.action_std(), None);
    }
}
