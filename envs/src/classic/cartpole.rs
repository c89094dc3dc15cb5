//! `CartPole-v1`: Barto, Sutton & Anderson's cart-pole, as Gymnasium's `CartPoleEnv`.

use super::check_state;
use crate::env::{Env, Info, Reset, Step};
use crate::error::{EnvError, Result};
use crate::rng::NumpyRng;
use crate::space::{Action, Space};

/// A pole hinged on a cart that moves along a frictionless track; push the cart left (action 0) or
/// right (action 1) with a force of 10 N to keep the pole upright.
///
/// State `[x, ẋ, θ, θ̇]` (float64); observation: the state rounded to `float32`. Observation space
/// `Box(±[4.8, ∞, 0.4189, ∞], float32)`; action space `Discrete(2)`.
///
/// # Dynamics (Gymnasium 1.4, `kinematics_integrator="euler"`)
/// With F = ±10, m_c = 1, m_p = 0.1, l = 0.5 (half the pole), g = 9.8, τ = 0.02:
/// 1. temp = (F + m_p·l·θ̇²·sin θ) / (m_c + m_p)
/// 2. θ̈ = (g·sin θ − cos θ·temp) / (l·(4/3 − m_p·cos²θ / (m_c + m_p)))
/// 3. ẍ = temp − m_p·l·θ̈·cos θ / (m_c + m_p)
/// 4. explicit Euler: x += τ·ẋ, ẋ += τ·ẍ, θ += τ·θ̇, θ̇ += τ·θ̈
///
/// Terminated when |x| > 2.4 or |θ| > 12° (2π·12/360 rad). Reward +1 on every step including the
/// terminating one, then 0 on steps taken after termination without a reset (`sutton_barto_reward`:
/// 0 per step, −1 on termination and after). Reset: each state component uniform in [−0.05, 0.05),
/// drawn from numpy's generator as Gymnasium draws them. No time limit here; `CartPole-v1` adds a
/// 500-step [`TimeLimit`](crate::wrappers::TimeLimit) ([`cartpole_v1`](super::cartpole_v1)).
///
/// # Example
/// ```
/// use envs::{classic::CartPole, Action, Env};
/// let mut env = CartPole::new(42);
/// let first = env.reset(None)?;
/// assert_eq!(first.obs, CartPole::new(0).reset(Some(42))?.obs); // seed at construction = seed at reset
/// let step = env.step(Action::Discrete(1))?;
/// assert_eq!((step.reward, step.terminated), (1.0, false));
/// # Ok::<(), envs::EnvError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CartPole {
    state: Option<[f64; 4]>,
    steps_beyond_terminated: Option<u64>,
    sutton_barto_reward: bool,
    rng: NumpyRng,
    observation_space: Space,
    action_space: Space,
}

impl CartPole {
    /// Gymnasium id.
    pub const ID: &'static str = "CartPole-v1";
    /// Registered time limit of `CartPole-v1`.
    pub const MAX_EPISODE_STEPS: u64 = 500;
    /// Gravity g (m/s²).
    pub const GRAVITY: f64 = 9.8;
    /// Cart mass m_c (kg).
    pub const MASS_CART: f64 = 1.0;
    /// Pole mass m_p (kg).
    pub const MASS_POLE: f64 = 0.1;
    /// Half the pole's length l (m).
    pub const HALF_LENGTH: f64 = 0.5;
    /// Magnitude of the push (N).
    pub const FORCE_MAG: f64 = 10.0;
    /// Seconds between state updates τ.
    pub const TAU: f64 = 0.02;
    /// Pole angle beyond which the episode terminates (12°, computed as Gymnasium does).
    pub const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
    /// Cart position beyond which the episode terminates.
    pub const X_THRESHOLD: f64 = 2.4;
    /// Half-width of the uniform reset distribution.
    pub const RESET_BOUND: f64 = 0.05;

    const TOTAL_MASS: f64 = Self::MASS_POLE + Self::MASS_CART;
    const POLEMASS_LENGTH: f64 = Self::MASS_POLE * Self::HALF_LENGTH;

    /// A cart-pole whose generator is seeded with `seed` (`sutton_barto_reward = false`).
    pub fn new(seed: u64) -> Self {
        let high = [
            Self::X_THRESHOLD * 2.0,
            f64::INFINITY,
            Self::THETA_THRESHOLD * 2.0,
            f64::INFINITY,
        ];
        let low = high.map(|h| -h);
        Self {
            state: None,
            steps_beyond_terminated: None,
            sutton_barto_reward: false,
            rng: NumpyRng::new(seed),
            observation_space: Space::box_f32(&low, &high),
            action_space: Space::Discrete(2),
        }
    }

    /// Gymnasium's `sutton_barto_reward` option: 0 per step and −1 on termination.
    pub fn with_sutton_barto_reward(mut self, on: bool) -> Self {
        self.sutton_barto_reward = on;
        self
    }

    /// The float64 state `[x, ẋ, θ, θ̇]`, `None` before the first reset.
    pub fn state(&self) -> Option<[f64; 4]> {
        self.state
    }

    /// Starts an episode from an exact state `[x, ẋ, θ, θ̇]` without touching the generator
    /// (Gymnasium: `env.reset(); env.unwrapped.state = state`).
    ///
    /// # Errors
    /// [`EnvError::InvalidState`] unless `state` is four finite values.
    pub fn reset_to_state(&mut self, state: &[f64]) -> Result<Reset> {
        let s = check_state::<4>(Self::ID, state)?;
        self.state = Some(s);
        self.steps_beyond_terminated = None;
        Ok(Reset {
            obs: Self::obs(&s),
            info: Info::default(),
        })
    }

    fn obs(s: &[f64; 4]) -> Vec<f64> {
        s.iter().map(|&x| x as f32 as f64).collect()
    }

    /// One Euler step of the dynamics under `force` (the order of operations is Gymnasium's).
    fn integrate([x, x_dot, theta, theta_dot]: [f64; 4], force: f64) -> [f64; 4] {
        let (sintheta, costheta) = (theta.sin(), theta.cos());
        let temp = (force + Self::POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / Self::TOTAL_MASS;
        let thetaacc = (Self::GRAVITY * sintheta - costheta * temp)
            / (Self::HALF_LENGTH * (4.0 / 3.0 - Self::MASS_POLE * (costheta * costheta) / Self::TOTAL_MASS));
        let xacc = temp - Self::POLEMASS_LENGTH * thetaacc * costheta / Self::TOTAL_MASS;
        [
            x + Self::TAU * x_dot,
            x_dot + Self::TAU * xacc,
            theta + Self::TAU * theta_dot,
            theta_dot + Self::TAU * thetaacc,
        ]
    }
}

impl Env for CartPole {
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
        let b = Self::RESET_BOUND;
        let s = [(); 4].map(|()| self.rng.uniform(-b, b));
        self.state = Some(s);
        self.steps_beyond_terminated = None;
        Ok(Reset {
            obs: Self::obs(&s),
            info: Info::default(),
        })
    }

    /// A side view as Gymnasium's `rgb_array` drawing (see `classic::scene`).
    fn render(&mut self, width: u32, height: u32) -> Result<crate::render::Frame> {
        let state = self.state.ok_or_else(|| EnvError::ResetNeeded {
            env: Self::ID.to_string(),
        })?;
        crate::render::check_size(width, height)?;
        Ok(super::scene::cartpole(state, width, height))
    }

    fn step(&mut self, action: Action<'_>) -> Result<Step> {
        self.action_space.validate_action(action, Self::ID)?;
        let state = self.state.ok_or_else(|| EnvError::ResetNeeded {
            env: Self::ID.to_string(),
        })?;
        let force = if action == Action::Discrete(1) {
            Self::FORCE_MAG
        } else {
            -Self::FORCE_MAG
        };
        let s = Self::integrate(state, force);
        self.state = Some(s);
        let [x, _, theta, _] = s;
        let terminated = !(-Self::X_THRESHOLD..=Self::X_THRESHOLD).contains(&x)
            || !(-Self::THETA_THRESHOLD..=Self::THETA_THRESHOLD).contains(&theta);
        let reward = if !terminated {
            if self.sutton_barto_reward {
                0.0
            } else {
                1.0
            }
        } else if let Some(n) = self.steps_beyond_terminated.as_mut() {
            *n += 1;
            if self.sutton_barto_reward {
                -1.0
            } else {
                0.0
            }
        } else {
            self.steps_beyond_terminated = Some(0);
            if self.sutton_barto_reward {
                -1.0
            } else {
                1.0
            }
        };
        Ok(Step {
            obs: Self::obs(&s),
            reward,
            terminated,
            truncated: false,
            info: Info::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_are_gymnasiums() {
        let env = CartPole::new(0);
        assert_eq!(env.action_space(), &Space::Discrete(2));
        let Space::Box { low, high, shape, .. } = env.observation_space() else {
            panic!("not a box")
        };
        assert_eq!(shape, &[4]);
        // np.float32(4.8), np.float32(0.41887903) (= 2·12° in radians).
        assert_eq!(
            high,
            &[
                4.8f32 as f64,
                f64::INFINITY,
                0.418_879_03_f32 as f64,
                f64::INFINITY
            ]
        );
        assert_eq!(low, &high.iter().map(|h| -h).collect::<Vec<_>>());
        assert_eq!(CartPole::THETA_THRESHOLD, 0.20943951023931953);
    }

    #[test]
    fn terminates_exactly_past_the_thresholds() {
        let mut env = CartPole::new(0);
        // Exactly on a threshold with zero velocity: Euler keeps the position, and |·| > threshold is false.
        env.reset_to_state(&[CartPole::X_THRESHOLD, 0.0, 0.0, 0.0])
            .unwrap();
        let s = env.step(Action::Discrete(1)).unwrap();
        assert_eq!(env.state().unwrap()[0], 2.4);
        assert!(!s.terminated && s.reward == 1.0);
        // The push gave ẋ > 0: the next step leaves the track.
        let s = env.step(Action::Discrete(1)).unwrap();
        assert!(env.state().unwrap()[0] > 2.4 && s.terminated && s.reward == 1.0);
        let s = env.step(Action::Discrete(1)).unwrap();
        assert!(
            s.terminated && s.reward == 0.0,
            "after termination the reward is 0"
        );

        env.reset_to_state(&[0.0, 0.0, -CartPole::THETA_THRESHOLD, 0.0])
            .unwrap();
        assert!(
            !env.step(Action::Discrete(1)).unwrap().terminated,
            "θ = −12° exactly is not past it"
        );
        // Gravity gave θ̇ < 0: the pole falls past −12°.
        assert!(env.step(Action::Discrete(1)).unwrap().terminated);
        assert!(env.state().unwrap()[2] < -CartPole::THETA_THRESHOLD);
    }

    #[test]
    fn sutton_barto_reward() {
        let mut env = CartPole::new(0).with_sutton_barto_reward(true);
        env.reset_to_state(&[0.0, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!(env.step(Action::Discrete(1)).unwrap().reward, 0.0);
        env.reset_to_state(&[0.0, 0.0, 0.3, 0.0]).unwrap();
        assert_eq!(env.step(Action::Discrete(1)).unwrap().reward, -1.0);
        assert_eq!(env.step(Action::Discrete(1)).unwrap().reward, -1.0);
    }

    #[test]
    fn invalid_use_is_an_error() {
        let mut env = CartPole::new(0);
        assert!(matches!(
            env.step(Action::Discrete(0)),
            Err(EnvError::ResetNeeded { .. })
        ));
        env.reset(None).unwrap();
        assert!(matches!(
            env.step(Action::Discrete(2)),
            Err(EnvError::DiscreteOutOfRange { .. })
        ));
        assert!(matches!(
            env.step(Action::Continuous(&[1.0])),
            Err(EnvError::ActionKind { .. })
        ));
        assert!(matches!(
            env.reset_to_state(&[0.0; 3]),
            Err(EnvError::InvalidState { .. })
        ));
        assert!(matches!(
            env.reset_to_state(&[0.0, f64::NAN, 0.0, 0.0]),
            Err(EnvError::InvalidState { .. })
        ));
    }
}
