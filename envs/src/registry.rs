//! [`make_env`]: environments by Gymnasium id or short alias, on a chosen backend.

use std::str::FromStr;

pub use crate::backend::Backend;
use crate::classic::{CartPole, Pendulum};
use crate::error::{EnvError, Result};
use crate::vector::{AutoresetMode, SyncVectorEnv};
use crate::wrappers::TimeLimit;
use crate::Env;

// Parsing lives here, not in `backend`, so that `backend` stays a leaf module that
// `error` can name without an import cycle.
impl FromStr for Backend {
    type Err = EnvError;
    /// `auto`, `classic` (or `classic_control`, `classic-control`), `rapier`, `mujoco`; case-insensitive.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "auto" => Ok(Backend::Auto),
            "classic" | "classic_control" => Ok(Backend::ClassicControl),
            "rapier" | "rapier3d" => Ok(Backend::Rapier),
            "mujoco" => Ok(Backend::Mujoco),
            _ => Err(EnvError::UnknownBackend(s.to_string())),
        }
    }
}

/// Family of a registered task: decides which backends can build it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskFamily {
    /// Gymnasium's `classic_control` (pure Rust here).
    ClassicControl,
    /// Gymnasium's MuJoCo v5 tasks (rapier3d or MuJoCo backends).
    Locomotion,
}

/// A registered task: Gymnasium id, short aliases and registered time limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvSpec {
    /// Gymnasium id, e.g. `"HalfCheetah-v5"`.
    pub id: &'static str,
    /// Short aliases (lower case), e.g. `"halfcheetah"`.
    pub aliases: &'static [&'static str],
    /// Gymnasium's `max_episode_steps` for the id.
    pub max_episode_steps: u64,
    /// Which backends can build it.
    pub family: TaskFamily,
}

/// Every id [`make_env`] knows, with its aliases and Gymnasium's registered time limit.
pub const REGISTRY: &[EnvSpec] = &[
    EnvSpec {
        id: "CartPole-v1",
        aliases: &["cartpole"],
        max_episode_steps: 500,
        family: TaskFamily::ClassicControl,
    },
    EnvSpec {
        id: "Pendulum-v1",
        aliases: &["pendulum"],
        max_episode_steps: 200,
        family: TaskFamily::ClassicControl,
    },
    EnvSpec {
        id: "HalfCheetah-v5",
        aliases: &["halfcheetah", "cheetah"],
        max_episode_steps: 1000,
        family: TaskFamily::Locomotion,
    },
    EnvSpec {
        id: "Ant-v5",
        aliases: &["ant"],
        max_episode_steps: 1000,
        family: TaskFamily::Locomotion,
    },
    EnvSpec {
        id: "Humanoid-v5",
        aliases: &["humanoid"],
        max_episode_steps: 1000,
        family: TaskFamily::Locomotion,
    },
    EnvSpec {
        id: "Hopper-v5",
        aliases: &["hopper"],
        max_episode_steps: 1000,
        family: TaskFamily::Locomotion,
    },
    EnvSpec {
        id: "Walker2d-v5",
        aliases: &["walker2d", "walker"],
        max_episode_steps: 1000,
        family: TaskFamily::Locomotion,
    },
    EnvSpec {
        id: "InvertedPendulum-v5",
        aliases: &["invertedpendulum"],
        max_episode_steps: 1000,
        family: TaskFamily::Locomotion,
    },
    EnvSpec {
        id: "InvertedDoublePendulum-v5",
        aliases: &["inverteddoublependulum", "doublependulum"],
        max_episode_steps: 1000,
        family: TaskFamily::Locomotion,
    },
];

/// Lower case without `-` and `_`, so `half_cheetah`, `Half-Cheetah` and `halfcheetah` are one alias.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The registered task for an id or alias: the exact Gymnasium id, or an alias compared ignoring case,
/// `-` and `_` (`cartpole`, `half_cheetah`, `Walker2d`).
pub fn env_spec(id: &str) -> Option<&'static EnvSpec> {
    REGISTRY.iter().find(|s| s.id == id).or_else(|| {
        let q = squash(id);
        REGISTRY
            .iter()
            .find(|s| s.aliases.iter().any(|a| squash(a) == q) || squash(s.id) == q)
    })
}

fn list(filter: impl Fn(&EnvSpec) -> bool, with_aliases: bool) -> String {
    REGISTRY
        .iter()
        .filter(|s| filter(s))
        .map(|s| {
            if with_aliases {
                format!("{} ({})", s.id, s.aliases.join(", "))
            } else {
                s.id.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Gymnasium's `gym.make(id)` with a seed: the task with its registered [`TimeLimit`], boxed.
///
/// The environment is seeded with `seed`, so its first `reset(None)` equals `reset(Some(seed))`.
///
/// # Errors
/// * [`EnvError::UnknownId`], listing the known ids and aliases, for an id nobody knows;
/// * [`EnvError::BackendNotImplemented`] for `Backend::Mujoco` without the cargo feature `mujoco`; with
///   it, [`EnvError::MujocoModel`] when MuJoCo's task files are not provisioned;
/// * [`EnvError::UnsupportedBackend`] for a locomotion id with `Backend::ClassicControl` or a
///   classic-control id with `Backend::Rapier`.
///
/// Locomotion ids (`Ant-v5`, ...) are built by the [rapier3d backend](crate::rapier) for `Backend::Auto`
/// and `Backend::Rapier`.
///
/// # Example
/// ```
/// use envs::{make_env, Backend, EnvError};
/// let env = make_env("CartPole-v1", Backend::Auto, 0)?;
/// assert_eq!(env.action_space().discrete_n(), Some(2));
/// assert_eq!(make_env("ant", Backend::Auto, 0)?.observation_space().flat_dim(), 105); // rapier3d
/// assert!(matches!(make_env("ant", Backend::ClassicControl, 0), Err(EnvError::UnsupportedBackend { .. })));
/// let unknown = make_env("CartPole-v0", Backend::Auto, 0).err().map(|e| e.to_string());
/// assert!(unknown.unwrap_or_default().contains("known ids: CartPole-v1 (cartpole), Pendulum-v1 (pendulum)"));
/// # Ok::<(), envs::EnvError>(())
/// ```
pub fn make_env(id: &str, backend: Backend, seed: u64) -> Result<Box<dyn Env>> {
    let spec = env_spec(id).ok_or_else(|| EnvError::UnknownId {
        id: id.to_string(),
        known: list(|_| true, true),
    })?;
    #[cfg_attr(feature = "mujoco", allow(unused_variables))]
    let available = || list(|s| s.family == TaskFamily::ClassicControl, false);
    match (backend, spec.family) {
        #[cfg(not(feature = "mujoco"))]
        (Backend::Mujoco, _) => Err(EnvError::BackendNotImplemented {
            backend,
            available: available(),
        }),
        // The MuJoCo backend (feature `mujoco`): Gymnasium's models on MuJoCo 3.17.0.
        #[cfg(feature = "mujoco")]
        (Backend::Mujoco, TaskFamily::Locomotion) => {
            let task = crate::mujoco::MujocoTask::from_id(spec.id)
                .unwrap_or_else(|| unreachable!("locomotion id {} without a MuJoCo task", spec.id));
            Ok(Box::new(TimeLimit::new(
                crate::mujoco::MujocoEnv::new(task, seed)?,
                spec.max_episode_steps,
            )))
        }
        #[cfg(feature = "mujoco")]
        (Backend::Mujoco, TaskFamily::ClassicControl) => Err(EnvError::UnsupportedBackend {
            id: spec.id.to_string(),
            backend,
            hint: "; it is a classic-control task: use Backend::Auto or Backend::ClassicControl".into(),
        }),
        (Backend::Auto | Backend::Rapier, TaskFamily::Locomotion) => {
            let task = crate::rapier::Task::from_id(spec.id)
                .unwrap_or_else(|| unreachable!("locomotion id {} without a rapier task", spec.id));
            Ok(Box::new(TimeLimit::new(
                crate::rapier::RapierEnv::new(task, seed)?,
                spec.max_episode_steps,
            )))
        }
        (Backend::Rapier, TaskFamily::ClassicControl) => Err(EnvError::UnsupportedBackend {
            id: spec.id.to_string(),
            backend,
            hint: "; it is a classic-control task: use Backend::Auto or Backend::ClassicControl".into(),
        }),
        (Backend::ClassicControl, TaskFamily::Locomotion) => Err(EnvError::UnsupportedBackend {
            id: spec.id.to_string(),
            backend,
            hint: "; it is a MuJoCo task: use Backend::Auto or Backend::Rapier".into(),
        }),
        (Backend::Auto | Backend::ClassicControl, TaskFamily::ClassicControl) => Ok(match spec.id {
            CartPole::ID => Box::new(TimeLimit::new(CartPole::new(seed), spec.max_episode_steps)),
            Pendulum::ID => Box::new(TimeLimit::new(Pendulum::new(seed), spec.max_episode_steps)),
            other => unreachable!("classic-control id {other} without a constructor"),
        }),
    }
}

/// Gymnasium's `gym.make_vec(id, num_envs, vectorization_mode="sync")`: `num_envs` copies from
/// [`make_env`], copy `i` seeded with `seed + i`.
///
/// # Errors
/// Those of [`make_env`]; [`EnvError::InvalidParameter`] for `num_envs == 0` or a seed that overflows.
pub fn make_vec_env(
    id: &str,
    backend: Backend,
    seed: u64,
    num_envs: usize,
    mode: AutoresetMode,
) -> Result<SyncVectorEnv<Box<dyn Env>>> {
    if seed.checked_add(num_envs.saturating_sub(1) as u64).is_none() {
        return Err(EnvError::InvalidParameter {
            name: "seed",
            value: seed.to_string(),
            reason: format!("seed + i must fit in u64 for {num_envs} copies"),
        });
    }
    let envs = (0..num_envs as u64)
        .map(|i| make_env(id, backend, seed + i))
        .collect::<Result<Vec<_>>>()?;
    SyncVectorEnv::new(envs, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_aliases_resolve() {
        for (q, id) in [
            ("CartPole-v1", "CartPole-v1"),
            ("cartpole", "CartPole-v1"),
            ("Cart_Pole", "CartPole-v1"),
            ("pendulum", "Pendulum-v1"),
            ("half_cheetah", "HalfCheetah-v5"),
            ("Walker2d-v5", "Walker2d-v5"),
            ("walker", "Walker2d-v5"),
            ("inverted_double_pendulum", "InvertedDoublePendulum-v5"),
            ("humanoid", "Humanoid-v5"),
        ] {
            assert_eq!(env_spec(q).map(|s| s.id), Some(id), "{q}");
        }
        assert_eq!(env_spec("CartPole-v0"), None);
        assert_eq!(REGISTRY.len(), 9);
    }

    #[test]
    fn errors_say_what_exists() {
        let e = make_env("HumanoidStandup-v5", Backend::Auto, 0).err().unwrap();
        let msg = e.to_string();
        for s in REGISTRY {
            assert!(msg.contains(s.id), "{msg}");
        }
        assert!(msg.contains("halfcheetah"));
        assert_eq!(make_env("Hopper-v5", Backend::Auto, 0).unwrap().id(), "Hopper-v5");
        assert!(matches!(
            make_env("cartpole", Backend::Rapier, 0),
            Err(EnvError::UnsupportedBackend { .. })
        ));
        let e = make_env("cartpole", Backend::Mujoco, 0).err().unwrap();
        #[cfg(not(feature = "mujoco"))]
        assert_eq!(
            e,
            EnvError::BackendNotImplemented {
                backend: Backend::Mujoco,
                available: "CartPole-v1, Pendulum-v1".into()
            }
        );
        #[cfg(feature = "mujoco")]
        assert!(matches!(e, EnvError::UnsupportedBackend { .. }), "{e}");
        assert_eq!(make_env("ant", Backend::Rapier, 0).unwrap().id(), "Ant-v5");
        assert!(matches!(
            make_env("ant", Backend::ClassicControl, 0),
            Err(EnvError::UnsupportedBackend { .. })
        ));
        assert!(make_vec_env("cartpole", Backend::Auto, u64::MAX, 2, AutoresetMode::NextStep).is_err());
        assert!(make_vec_env("cartpole", Backend::Auto, 0, 0, AutoresetMode::NextStep).is_err());
    }

    #[test]
    fn backend_names_parse() {
        for b in [
            Backend::Auto,
            Backend::ClassicControl,
            Backend::Rapier,
            Backend::Mujoco,
        ] {
            assert_eq!(b.to_string().parse::<Backend>(), Ok(b));
        }
        assert_eq!("Classic-Control".parse::<Backend>(), Ok(Backend::ClassicControl));
        assert!(matches!(
            "bullet".parse::<Backend>(),
            Err(EnvError::UnknownBackend(_))
        ));
        assert_eq!(
            serde_json::from_str::<Backend>("\"classic_control\"").unwrap(),
            Backend::ClassicControl
        );
        assert_eq!(serde_json::to_string(&Backend::Mujoco).unwrap(), "\"mujoco\"");
        assert_eq!(
            serde_json::to_string(&Backend::ClassicControl).unwrap(),
            "\"classic\""
        );
    }
}
