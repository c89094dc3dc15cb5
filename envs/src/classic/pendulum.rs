//! `Pendulum-v1`: the inverted-pendulum swing-up, as Gymnasium's `PendulumEnv`.

use std::f64::consts::PI;

use super::check_state;
use crate::env::{Env, Info, Reset, Step};
use crate::error::{EnvError, Result};
use crate::rng::NumpyRng;
use crate::space::{Action, Space};

/// A rod of mass 1 and length 1 pivoting at one end; apply a torque in [−2, 2] to swing it up and keep
/// it upright (θ = 0 is upright, θ = π hangs down).
///
/// State `[θ, θ̇]` (float64); observation `[cos θ, sin θ, θ̇]` rounded to `float32`. Observation space
/// `Box(±[1, 1, 8], float32)`; action space `Box([−2], [2], float32)`.
///
/// # Dynamics (Gymnasium 1.4)
/// With g = 10 (configurable), m = l = 1, dt = 0.05, and u the `float32` action clipped to [−2, 2]:
/// 1. cost = normalize(θ)² + 0.1·θ̇² + 0.001·u², with normalize(θ) = ((θ + π) mod 2π) − π (Python's
///    mod, sign of the divisor), the last term in `float32` and the squares by libm's `pow`/`powf`, as
///    numpy computes them on scalars;
/// 2. θ̇' = clip(θ̇ + (3g/(2l)·sin θ + 3/(m l²)·u)·dt, −8, 8), the torque term in `float32`;
/// 3. θ' = θ + θ̇'·dt (semi-implicit Euler);
/// 4. reward = −cost (of the state before the step). Never terminates; `Pendulum-v1` adds a 200-step
///    [`TimeLimit`](crate::wrappers::TimeLimit) ([`pendulum_v1`](super::pendulum_v1)).
///
/// Reset: θ uniform in [−π, π), θ̇ uniform in [−1, 1), drawn from numpy's generator as Gymnasium draws them.
///
/// # Example
/// ```
/// use envs::{classic::Pendulum, Action, Env};
/// let mut env = Pendulum::new(0);
/// env.reset_to_state(&[0.0, 0.0])?; // upright, at rest: the cost is 0 ...
/// let step = env.step(Action::Continuous(&[0.0]))?;
/// assert_eq!(step.reward, 0.0);
/// assert_eq!(step.obs, vec![1.0, 0.0, 0.0]); // ... and it stays there
/// # Ok::<(), envs::EnvError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Pendulum {
    state: Option<[f64; 2]>,
    gravity: f64,
    last_u: Option<f32>,
    rng: NumpyRng,
    observation_space: Space,
    action_space: Space,
}

/// Python's float `%` (numpy's `npy_remainder`): the result has the sign of the divisor.
fn py_mod(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m == 0.0 {
        0.0f64.copysign(b)
    } else if (b < 0.0) != (m < 0.0) {
        m + b
    } else {
        m
    }
}

/// numpy's `x ** 2` on a float64 scalar: libm's `pow(x, 2.0)` (`black_box` keeps LLVM from turning it
/// into `x * x`, which `pow` need not equal).
fn np_square(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// numpy's `u ** 2` on a float32 scalar: libm's `powf(u, 2.0)`. glibc's `powf` is not correctly rounded
/// and gives, e.g., `0.06845154` for `0.26163244²` where `u * u` is `0.06845153`.
fn np_square_f32(u: f32) -> f32 {
    u.powf(std::hint::black_box(2.0))
}

/// Gymnasium's `angle_normalize`: maps θ to [−π, π).
fn angle_normalize(x: f64) -> f64 {
    py_mod(x + PI, 2.0 * PI) - PI
}

impl Pendulum {
    /// Gymnasium id.
    pub const ID: &'static str = "Pendulum-v1";
    /// Registered time limit of `Pendulum-v1`.
    pub const MAX_EPISODE_STEPS: u64 = 200;
    /// Largest angular speed |θ̇| (rad/s); faster is clipped.
    pub const MAX_SPEED: f64 = 8.0;
    /// Largest torque |u|; larger actions are clipped.
    pub const MAX_TORQUE: f64 = 2.0;
    /// Time step dt (s).
    pub const DT: f64 = 0.05;
    /// Default gravity g (Gymnasium's `g=10.0`).
    pub const DEFAULT_GRAVITY: f64 = 10.0;
    /// Mass m.
    pub const MASS: f64 = 1.0;
    /// Length l.
    pub const LENGTH: f64 = 1.0;

    /// A pendulum with g = 10 whose generator is seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let high = [1.0, 1.0, Self::MAX_SPEED];
        Self {
            state: None,
            gravity: Self::DEFAULT_GRAVITY,
            last_u: None,
            rng: NumpyRng::new(seed),
            observation_space: Space::box_f32(&high.map(|h| -h), &high),
            action_space: Space::box_f32(&[-Self::MAX_TORQUE], &[Self::MAX_TORQUE]),
        }
    }

    /// Gymnasium's `g` option.
    ///
    /// # Errors
    /// [`EnvError::InvalidParameter`] unless `g` is finite.
    pub fn with_gravity(mut self, g: f64) -> Result<Self> {
        if !g.is_finite() {
            return Err(EnvError::InvalidParameter {
                name: "g",
                value: g.to_string(),
                reason: "gravity must be finite".into(),
            });
        }
        self.gravity = g;
        Ok(self)
    }

    /// The float64 state `[θ, θ̇]`, `None` before the first reset.
    pub fn state(&self) -> Option<[f64; 2]> {
        self.state
    }

    /// The clipped torque of the last step (Gymnasium's `last_u`, used for rendering).
    pub fn last_torque(&self) -> Option<f32> {
        self.last_u
    }

    /// Starts an episode from an exact state `[θ, θ̇]` without touching the generator
    /// (Gymnasium: `env.reset(); env.unwrapped.state = state`).
    ///
    /// # Errors
    /// [`EnvError::InvalidState`] unless `state` is two finite values.
    pub fn reset_to_state(&mut self, state: &[f64]) -> Result<Reset> {
        let s = check_state::<2>(Self::ID, state)?;
        self.state = Some(s);
        self.last_u = None;
        Ok(Reset {
            obs: Self::obs(&s),
            info: Info::default(),
        })
    }

    fn obs(&[theta, theta_dot]: &[f64; 2]) -> Vec<f64> {
        vec![
            theta.cos() as f32 as f64,
            theta.sin() as f32 as f64,
            theta_dot as f32 as f64,
        ]
    }
}

impl Env for Pendulum {
    fn id(&self) -> &str {
        Self::ID
    }

    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Reset> {
        if let Some(seed) = seed {
            self.rng = NumpyRng::new(seed);
        }
        // uniform(low=-high, high=high) with high = [π, 1].
        let theta = self.rng.uniform(-PI, PI);
        let theta_dot = self.rng.uniform(-1.0, 1.0);
        self.state = Some([theta, theta_dot]);
        self.last_u = None;
        Ok(Reset {
            obs: Self::obs(&[theta, theta_dot]),
            info: Info::default(),
        })
    }

    /// A side view as Gymnasium's `rgb_array` drawing (see `classic::scene`).
    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        let [theta, _] = self.state.ok_or_else(|| EnvError::ResetNeeded {
            env: Self::ID.to_string(),
        })?;
        crate::render::check_size(width, height)?;
        Ok(super::scene::pendulum(theta, width, height))
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        self.action_space.validate_action(action, Self::ID)?;
        let [th, thdot] = self.state.ok_or_else(|| EnvError::ResetNeeded {
            env: Self::ID.to_string(),
        })?;
        let Action::Continuous(&[u]) = action else {
            unreachable!("validate_action checked a one-component continuous action")
        };
        let (g, m, l, dt) = (self.gravity, Self::MASS, Self::LENGTH, Self::DT);
        // np.clip of a float32 array stays float32, and so do the terms numpy computes from it with
        // Python floats (NEP 50): 0.001·u² and 3/(m l²)·u. Everything else is float64.
        let u = u.clamp(-Self::MAX_TORQUE as f32, Self::MAX_TORQUE as f32);
        self.last_u = Some(u);
        // `x**2` of numpy scalars is libm's pow, not x·x (see `np_square_f32`).
        let ctrl_cost = (0.001f64 as f32 * np_square_f32(u)) as f64;
        let costs = np_square(angle_normalize(th)) + 0.1 * np_square(thdot) + ctrl_cost;
        let torque_acc = ((3.0 / (m * l * l)) as f32 * u) as f64;
        let newthdot = thdot + (3.0 * g / (2.0 * l) * th.sin() + torque_acc) * dt;
        let newthdot = newthdot.clamp(-Self::MAX_SPEED, Self::MAX_SPEED);
        let newth = th + newthdot * dt;
        let s = [newth, newthdot];
        self.state = Some(s);
        Ok(Step {
            obs: Self::obs(&s),
            reward: -costs,
            terminated: false,
            truncated: false,
            info: Info::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_normalize_is_pythons() {
        // ((x + π) % 2π) − π in Python for these x.
        assert_eq!(angle_normalize(0.0), 0.0);
        assert_eq!(angle_normalize(PI), -PI);
        assert_eq!(angle_normalize(-PI), -PI);
        assert!((angle_normalize(3.0 * PI + 0.25) - (-PI + 0.25)).abs() < 1e-12);
        assert!((angle_normalize(-7.0) - (-7.0 + 2.0 * PI)).abs() < 1e-12);
        assert_eq!(py_mod(-1.0, 3.0), 2.0);
        assert_eq!(py_mod(1.0, -3.0), -2.0);
        assert_eq!(py_mod(-3.0, 3.0).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn torque_and_speed_are_clipped() {
        let mut env = Pendulum::new(0);
        env.reset_to_state(&[PI, 7.99]).unwrap();
        // Hanging down, at the largest speed, a torque of 100 → 2: θ̇ would pass 8 and is clipped.
        let s = env.step(Action::Continuous(&[100.0])).unwrap();
        assert_eq!(env.last_torque(), Some(2.0));
        assert_eq!(env.state().unwrap()[1], 8.0);
        assert_eq!(s.obs[2], 8.0);
        // cost = π² + 0.1·7.99² + 0.001·2² (float32); libm's pow may differ from x·x by an ulp.
        let expected = PI * PI + 0.1 * (7.99 * 7.99) + (0.001f64 as f32 * 4.0) as f64;
        assert!(
            (s.reward + expected).abs() < 1e-13,
            "{} vs {}",
            s.reward,
            -expected
        );
    }

    #[test]
    fn spaces_are_gymnasiums() {
        let env = Pendulum::new(0);
        assert_eq!(env.action_space(), &Space::box_f32(&[-2.0], &[2.0]));
        assert_eq!(
            env.observation_space(),
            &Space::box_f32(&[-1.0, -1.0, -8.0], &[1.0, 1.0, 8.0])
        );
    }

    #[test]
    fn invalid_actions_are_errors() {
        let mut env = Pendulum::new(0);
        assert!(matches!(
            env.step(Action::Continuous(&[0.0])),
            Err(EnvError::ResetNeeded { .. })
        ));
        env.reset(None).unwrap();
        assert!(matches!(
            env.step(Action::Continuous(&[f32::NAN])),
            Err(EnvError::NonFiniteAction { .. })
        ));
        assert!(matches!(
            env.step(Action::Continuous(&[f32::INFINITY])),
            Err(EnvError::NonFiniteAction { .. })
        ));
        assert!(matches!(
            env.step(Action::Continuous(&[0.0, 0.0])),
            Err(EnvError::ActionLength { .. })
        ));
        assert!(matches!(
            env.step(Action::Discrete(0)),
            Err(EnvError::ActionKind { .. })
        ));
        assert!(Pendulum::new(0).with_gravity(f64::NAN).is_err());
    }
}
