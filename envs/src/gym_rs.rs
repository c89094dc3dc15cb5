//! Adapter for environments of the [`gym-rs`](https://crates.io/crates/gym-rs) crate (cargo feature
//! `gym-rs`): any [`gym_rs::core::Env`] becomes an [`Env`] of ours, so it runs under
//! our wrappers, vector envs and agents.
//!
//! ```no_run
//! use envs::gym_rs::GymRsEnv;
//! use envs::wrappers::TimeLimit;
//! use envs::{Action, Env};
//!
//! // gym-rs' CartPole, cut at 500 steps as Gymnasium's CartPole-v1 (gym-rs never truncates).
//! let mut env = TimeLimit::new(GymRsEnv::cartpole(42)?, 500);
//! let obs = env.reset(None)?.obs;
//! let step = env.step(Action::Discrete(usize::from(obs[2] > 0.0)))?;
//! # Ok::<(), envs::EnvError>(())
//! ```
//!
//! Your own `gym_rs` environment plugs in through [`GymRsEnv::new`] once its spaces implement
//! [`GymRsSpace`] (done here for gym-rs' [`Discrete`] and [`BoxR`] of any observation that converts to
//! `Vec<f64>`) and its action type implements [`GymRsAction`] (done for `usize`, `f32`, `f64`, `Vec<f32>`
//! and `Vec<f64>`). The gym-rs crate itself is re-exported as [`upstream`], so you need no second copy.
//!
//! # System dependencies
//! gym-rs 0.3.0 (the release on crates.io) depends on `sdl2` 0.35 with the `bundled` and `gfx` features,
//! unconditionally, even for environments that never draw: building it compiles SDL2 from source with
//! **cmake** and links the system **SDL2_gfx**. On Debian/Ubuntu:
//! `apt-get install cmake pkg-config libsdl2-dev libsdl2-gfx-dev` (about 40 s). The first build then
//! compiles SDL2 (about 5 min on two busy cores). `cargo xtask check-gym-rs` checks for the packages (and
//! names the missing ones) and runs this adapter's clippy and tests; `cargo xtask test --gym-rs` adds
//! them to the full test run, which skips them by default.
//!
//! # How the adapter behaves
//! * **Threads.** gym-rs environments hold SDL2 handles and are not `Send`, while our [`Env`] is (vector
//!   envs step copies on threads). [`GymRsEnv`] therefore builds and keeps the gym-rs environment on a
//!   worker thread of its own and talks to it over channels: a step costs a channel round trip between
//!   threads. The environment is closed and the thread joined when the [`GymRsEnv`] is dropped.
//! * **Seeding.** gym-rs' `reset(None)` reseeds from the OS (`thread_rng`), which would break our
//!   determinism. The adapter never passes `None`: `reset(Some(seed))` passes `seed`, the first
//!   `reset(None)` after [`GymRsEnv::new`] passes the construction seed, and later `reset(None)` calls
//!   pass seeds drawn from a [`NumpyRng`] seeded by the last explicit seed. The same seed and actions
//!   give the same trajectory, bit for bit.
//! * **Steps.** Actions are checked with [`Space::validate_action`] first (gym-rs' own check is an
//!   `assert!`), so a bad action is a typed error, never a panic. gym-rs' `done` becomes `terminated`,
//!   its `truncated` stays `truncated`, its `O64` reward an `f64`; its typed `info` is dropped
//!   ([`Info`] stays empty). Stepping after termination does what the gym-rs environment
//!   does (CartPole gives reward 0). A panic inside the gym-rs environment stops the worker and is
//!   reported as [`EnvError::GymRs`] with its message, on that and every later call.
//! * **Spaces.** gym-rs `Discrete(n)` → [`Space::Discrete`]`(n)`; `BoxR { low, high }` → a
//!   one-dimensional [`Space::Box`] of [`Dtype::F64`] (gym-rs computes in `f64`).
//! * **Rendering.** [`Env::render`] is unsupported (gym-rs draws in SDL2 windows); the built-in
//!   constructors use `RenderMode::None`, so no window and no display is needed.
//!
//! # gym-rs' CartPole is not Gymnasium's
//! [`GymRsEnv::cartpole`] runs gym-rs 0.3.0's `CartPoleEnv` as it is; for Gymnasium's CartPole-v1 use
//! [`make_env`](crate::make_env)`("CartPole-v1", ..)` (bit-identical to Gymnasium). Differences:
//! * `reset` draws all four state variables uniformly in **±0.5**, not Gymnasium's ±0.05: the pole can
//!   start beyond the ±12° (0.2095 rad) termination angle, so some episodes end on their first step,
//!   and the first observation can lie outside the observation space (`theta` bound ±0.419).
//! * it never truncates: wrap it in [`TimeLimit`](crate::wrappers::TimeLimit)`(.., 500)` for v1's limit;
//! * its `polemass_length` is `masspole + length` (0.6) where Gymnasium has `masspole * length` (0.05),
//!   so its dynamics differ;
//! * its random numbers come from `rand_pcg::Pcg64`, not numpy, so seeds give other initial states.

use std::any::Any;
use std::sync::mpsc;
use std::thread::JoinHandle;

pub use ::gym_rs as upstream;
use ::gym_rs::core::{Env as GymEnv, EnvProperties};
use ::gym_rs::envs::classical_control::{cartpole::CartPoleEnv, mountain_car::MountainCarEnv};
use ::gym_rs::spaces::{BoxR, Discrete};
use ::gym_rs::utils::custom::traits::Sample;
use ::gym_rs::utils::renderer::RenderMode;

use crate::env::{Env, Info, Reset, Step};
use crate::error::{EnvError, Result};
use crate::rng::NumpyRng;
use crate::space::{Action, Dtype, OwnedAction, Space};

/// A gym-rs space that has an equivalent [`Space`].
///
/// Implement it for the space types of your own gym-rs environment (the trait is ours, so the orphan
/// rule allows it for your types).
pub trait GymRsSpace {
    /// Our equivalent of the space.
    ///
    /// # Errors
    /// A message saying why the space cannot be expressed (e.g. bounds of different lengths).
    fn to_space(&self) -> std::result::Result<Space, String>;
}

impl GymRsSpace for Discrete {
    fn to_space(&self) -> std::result::Result<Space, String> {
        Ok(Space::Discrete(self.0))
    }
}

impl<T: Clone + Into<Vec<f64>>> GymRsSpace for BoxR<T> {
    fn to_space(&self) -> std::result::Result<Space, String> {
        let low: Vec<f64> = self.low.clone().into();
        let high: Vec<f64> = self.high.clone().into();
        if low.len() != high.len() {
            return Err(format!(
                "box bounds of different lengths ({} and {})",
                low.len(),
                high.len()
            ));
        }
        if let Some(i) = (0..low.len()).find(|&i| low[i].is_nan() || high[i].is_nan() || low[i] > high[i]) {
            return Err(format!(
                "box component {i} has low {} above high {}",
                low[i], high[i]
            ));
        }
        let dim = low.len();
        Ok(Space::Box {
            low,
            high,
            shape: vec![dim],
            dtype: Dtype::F64,
        })
    }
}

/// A gym-rs action type built from one of our [`Action`]s.
///
/// The action has already passed [`Space::validate_action`] against the converted action space, so the
/// kind and length match that space; implement it for the action type of your own gym-rs environment.
pub trait GymRsAction: Sized {
    /// The gym-rs action for `action`.
    ///
    /// # Errors
    /// A message saying why `action` has no gym-rs equivalent.
    fn from_action(action: Action<'_>) -> std::result::Result<Self, String>;
}

impl GymRsAction for usize {
    fn from_action(action: Action<'_>) -> std::result::Result<Self, String> {
        match action {
            Action::Discrete(a) => Ok(a),
            Action::Continuous(_) => Err("a continuous action for a usize (discrete) action type".into()),
        }
    }
}

fn continuous(action: Action<'_>) -> std::result::Result<&[f32], String> {
    match action {
        Action::Continuous(v) => Ok(v),
        Action::Discrete(_) => Err("a discrete action for a continuous action type".into()),
    }
}

fn scalar(action: Action<'_>) -> std::result::Result<f32, String> {
    match continuous(action)? {
        [x] => Ok(*x),
        v => Err(format!("{} components for a scalar action type", v.len())),
    }
}

impl GymRsAction for f32 {
    fn from_action(action: Action<'_>) -> std::result::Result<Self, String> {
        scalar(action)
    }
}

impl GymRsAction for f64 {
    fn from_action(action: Action<'_>) -> std::result::Result<Self, String> {
        scalar(action).map(f64::from)
    }
}

impl GymRsAction for Vec<f32> {
    fn from_action(action: Action<'_>) -> std::result::Result<Self, String> {
        continuous(action).map(<[f32]>::to_vec)
    }
}

impl GymRsAction for Vec<f64> {
    fn from_action(action: Action<'_>) -> std::result::Result<Self, String> {
        continuous(action).map(|v| v.iter().map(|&x| f64::from(x)).collect())
    }
}

enum Request {
    Reset(u64),
    Step(OwnedAction),
}

enum Reply {
    Ready {
        observation_space: Space,
        action_space: Space,
    },
    Obs(Vec<f64>),
    Step {
        obs: Vec<f64>,
        reward: f64,
        terminated: bool,
        truncated: bool,
    },
    Failed(String),
}

/// A gym-rs environment behind our [`Env`] trait; see the [module documentation](self) for how seeds,
/// actions, threads and spaces are handled.
///
/// The gym-rs type is erased after construction: every adapted environment is a `GymRsEnv`.
pub struct GymRsEnv {
    id: String,
    observation_space: Space,
    action_space: Space,
    requests: Option<mpsc::Sender<Request>>,
    replies: mpsc::Receiver<Reply>,
    worker: Option<JoinHandle<()>>,
    /// Why the worker stopped, once it has.
    failure: Option<String>,
    /// Seed of the first `reset(None)` after construction.
    pending_seed: Option<u64>,
    /// Draws the seeds of later `reset(None)` calls.
    rng: NumpyRng,
    started: bool,
}

impl std::fmt::Debug for GymRsEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GymRsEnv")
            .field("id", &self.id)
            .field("observation_space", &self.observation_space)
            .field("action_space", &self.action_space)
            .field("failure", &self.failure)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// The worker thread: builds the gym-rs environment, then answers requests until the adapter drops.
fn serve<E, F>(make: F, requests: &mpsc::Receiver<Request>, replies: &mpsc::Sender<Reply>)
where
    F: FnOnce() -> E,
    E: GymEnv,
    E::Observation: Sample + Into<Vec<f64>>,
    E::Action: GymRsAction,
    E::ActionSpace: GymRsSpace,
    E::ObservationSpace: GymRsSpace,
{
    let mut env = make();
    let spaces = EnvProperties::observation_space(&env)
        .to_space()
        .map_err(|e| format!("observation space: {e}"))
        .and_then(|o| {
            EnvProperties::action_space(&env)
                .to_space()
                .map(|a| (o, a))
                .map_err(|e| format!("action space: {e}"))
        });
    let ready = match spaces {
        Ok((observation_space, action_space)) => Reply::Ready {
            observation_space,
            action_space,
        },
        Err(e) => Reply::Failed(e),
    };
    if replies.send(ready).is_err() {
        return;
    }
    while let Ok(request) = requests.recv() {
        let reply = match request {
            Request::Reset(seed) => Reply::Obs(env.reset(Some(seed), false, None).0.into()),
            Request::Step(action) => match E::Action::from_action(action.as_action()) {
                Ok(a) => {
                    let r = env.step(a);
                    Reply::Step {
                        obs: r.observation.into(),
                        reward: r.reward.into_inner(),
                        terminated: r.done,
                        truncated: r.truncated,
                    }
                }
                Err(e) => Reply::Failed(format!("cannot convert the action: {e}")),
            },
        };
        if replies.send(reply).is_err() {
            break;
        }
    }
    env.close();
}

impl GymRsEnv {
    /// Adapts the gym-rs environment that `make` builds, under the name `id` (used in messages), seeded
    /// with `seed` (the first `reset(None)` is `reset(Some(seed))`).
    ///
    /// `make` runs on the adapter's worker thread, where the environment lives (see the
    /// [module documentation](self)); build it with `RenderMode::None`.
    ///
    /// # Errors
    /// [`EnvError::GymRs`] when a space has no equivalent of ours or `make` panics.
    pub fn new<E, F>(id: impl Into<String>, seed: u64, make: F) -> Result<Self>
    where
        F: FnOnce() -> E + Send + 'static,
        E: GymEnv + 'static,
        E::Observation: Sample + Into<Vec<f64>>,
        E::Action: GymRsAction,
        E::ActionSpace: GymRsSpace,
        E::ObservationSpace: GymRsSpace,
    {
        let id = id.into();
        let (request_tx, request_rx) = mpsc::channel();
        let (reply_tx, reply_rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name(format!("gym-rs {id}"))
            .spawn(move || serve(make, &request_rx, &reply_tx))
            .map_err(|e| EnvError::GymRs {
                env: id.clone(),
                reason: format!("cannot start its worker thread: {e}"),
            })?;
        let mut env = GymRsEnv {
            id,
            observation_space: Space::Discrete(0),
            action_space: Space::Discrete(0),
            requests: Some(request_tx),
            replies: reply_rx,
            worker: Some(worker),
            failure: None,
            pending_seed: Some(seed),
            rng: NumpyRng::new(seed),
            started: false,
        };
        match env.receive()? {
            Reply::Ready {
                observation_space,
                action_space,
            } => {
                env.observation_space = observation_space;
                env.action_space = action_space;
                Ok(env)
            }
            _ => Err(env.fail("its worker answered out of turn".to_string())),
        }
    }

    /// gym-rs 0.3.0's `CartPoleEnv` (render mode `None`) as `gym_rs/CartPole`: `Discrete(2)` actions,
    /// 4 observations. Not Gymnasium's CartPole (see the [module documentation](self)).
    ///
    /// # Errors
    /// See [`GymRsEnv::new`].
    pub fn cartpole(seed: u64) -> Result<Self> {
        Self::new("gym_rs/CartPole", seed, || CartPoleEnv::new(RenderMode::None))
    }

    /// gym-rs 0.3.0's `MountainCarEnv` (render mode `None`) as `gym_rs/MountainCar`: `Discrete(3)`
    /// actions, 2 observations, reward −1 per step; it never truncates (Gymnasium's v0 stops at 200).
    ///
    /// # Errors
    /// See [`GymRsEnv::new`].
    pub fn mountain_car(seed: u64) -> Result<Self> {
        Self::new("gym_rs/MountainCar", seed, || {
            MountainCarEnv::new(RenderMode::None)
        })
    }

    /// Records that the worker stopped and returns the error that says why.
    fn fail(&mut self, reason: String) -> EnvError {
        self.requests = None;
        self.failure = Some(reason.clone());
        EnvError::GymRs {
            env: self.id.clone(),
            reason,
        }
    }

    /// The error for a stopped worker, with the panic message when it panicked.
    fn worker_stopped(&mut self) -> EnvError {
        let reason = match self.worker.take().map(JoinHandle::join) {
            Some(Err(payload)) => format!("the gym-rs environment panicked: {}", panic_message(&*payload)),
            _ => "its worker thread stopped".to_string(),
        };
        self.fail(reason)
    }

    fn receive(&mut self) -> Result<Reply> {
        match self.replies.recv() {
            Ok(Reply::Failed(reason)) => Err(EnvError::GymRs {
                env: self.id.clone(),
                reason,
            }),
            Ok(reply) => Ok(reply),
            Err(_) => Err(self.worker_stopped()),
        }
    }

    fn call(&mut self, request: Request) -> Result<Reply> {
        if let Some(reason) = &self.failure {
            return Err(EnvError::GymRs {
                env: self.id.clone(),
                reason: reason.clone(),
            });
        }
        let sent = self.requests.as_ref().is_some_and(|tx| tx.send(request).is_ok());
        if !sent {
            return Err(self.worker_stopped());
        }
        self.receive()
    }
}

impl Env for GymRsEnv {
    fn id(&self) -> &str {
        &self.id
    }

    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        let seed = match seed {
            Some(s) => {
                self.rng = NumpyRng::new(s);
                self.pending_seed = None;
                s
            }
            None => match self.pending_seed.take() {
                Some(s) => s,
                None => self.rng.next_u64(),
            },
        };
        match self.call(Request::Reset(seed))? {
            Reply::Obs(obs) => {
                self.started = true;
                Ok(Reset {
                    obs,
                    info: Info::default(),
                })
            }
            _ => Err(self.fail("its worker answered out of turn".to_string())),
        }
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        self.action_space.validate_action(action, &self.id)?;
        if !self.started {
            return Err(EnvError::ResetNeeded { env: self.id.clone() });
        }
        let owned = match action {
            Action::Discrete(a) => OwnedAction::Discrete(a),
            Action::Continuous(v) => OwnedAction::Continuous(v.to_vec()),
        };
        match self.call(Request::Step(owned))? {
            Reply::Step {
                obs,
                reward,
                terminated,
                truncated,
            } => Ok(Step {
                obs,
                reward,
                terminated,
                truncated,
                info: Info::default(),
            }),
            _ => Err(self.fail("its worker answered out of turn".to_string())),
        }
    }
}

impl Drop for GymRsEnv {
    fn drop(&mut self) {
        // Closing the request channel ends the worker's loop; it then closes the gym-rs environment.
        self.requests = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_convert() {
        assert_eq!(usize::from_action(Action::Discrete(2)), Ok(2));
        assert!(usize::from_action(Action::Continuous(&[1.0])).is_err());
        assert_eq!(f64::from_action(Action::Continuous(&[0.5])), Ok(0.5));
        assert!(f32::from_action(Action::Continuous(&[0.5, 1.0])).is_err());
        assert!(f32::from_action(Action::Discrete(0)).is_err());
        assert_eq!(
            Vec::<f32>::from_action(Action::Continuous(&[1.0, -2.0])),
            Ok(vec![1.0, -2.0])
        );
        assert_eq!(
            Vec::<f64>::from_action(Action::Continuous(&[0.25])),
            Ok(vec![0.25])
        );
    }

    #[test]
    fn spaces_convert() {
        assert_eq!(Discrete(3).to_space(), Ok(Space::Discrete(3)));
        let b = BoxR::new(vec![-1.0, 0.0], vec![1.0, f64::INFINITY]);
        assert_eq!(
            b.to_space(),
            Ok(Space::Box {
                low: vec![-1.0, 0.0],
                high: vec![1.0, f64::INFINITY],
                shape: vec![2],
                dtype: Dtype::F64,
            })
        );
        assert!(BoxR::new(vec![0.0], vec![0.0, 1.0]).to_space().is_err());
        assert!(BoxR::new(vec![2.0], vec![1.0]).to_space().is_err());
    }
}
