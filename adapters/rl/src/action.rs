//! Tianshou's action scaling: the Gaussian policy acts in [−1, 1], mapped onto the action box.
//!
//! Tianshou's MuJoCo examples build their policies with `action_scaling=True` and
//! `action_bound_method="clip"`: an action a is clipped to [−1, 1] and mapped linearly onto the
//! box, `low + (a + 1)(high − low)/2`. For the tasks whose box is [−1, 1] this is plain clipping
//! (what [`envs::wrappers::ClipAction`] does); for Humanoid ([−0.4, 0.4]) and InvertedPendulum
//! ([−3, 3]) it changes the scale the policy's σ and mean live on, so runs with it compare with
//! Tianshou's published returns. [`ScaleAction`] is that mapping as a wrapper (the log-probability
//! stays the one of the unscaled action, as in Tianshou).

use envs::{Action, Env, EnvError, Reset, Space, Step};

/// `low + (clip(a, −1, 1) + 1)(high − low)/2`.
pub fn scale_to_box(a: f32, low: f32, high: f32) -> f32 {
    low + (a.clamp(-1.0, 1.0) + 1.0) * 0.5 * (high - low)
}

/// Clips each action component to [−1, 1] and maps it onto the wrapped environment's box
/// ([`scale_to_box`]); the action space it shows is unbounded, as `ClipAction`'s is.
#[derive(Clone, Debug)]
pub struct ScaleAction<E> {
    env: E,
    low: Vec<f32>,
    high: Vec<f32>,
    action_space: Space,
    buf: Vec<f32>,
}

impl<E: Env> ScaleAction<E> {
    /// Wraps `env`.
    ///
    /// # Errors
    /// [`EnvError::IncompatibleSpace`] unless the action space is a finite box.
    pub fn new(env: E) -> Result<Self, EnvError> {
        let incompatible = |reason: &str| EnvError::IncompatibleSpace {
            wrapper: "ScaleAction",
            env: env.id().to_string(),
            reason: reason.into(),
        };
        let Space::Box { low, high, .. } = env.action_space() else {
            return Err(incompatible("its action space is discrete, not a box"));
        };
        if low.iter().chain(high).any(|x| !x.is_finite()) {
            return Err(incompatible("its action box is unbounded"));
        }
        let (low, high): (Vec<f32>, Vec<f32>) = (
            low.iter().map(|&x| x as f32).collect(),
            high.iter().map(|&x| x as f32).collect(),
        );
        Ok(Self {
            action_space: env.action_space().to_unbounded(),
            buf: Vec::with_capacity(low.len()),
            low,
            high,
            env,
        })
    }
}

impl<E: Env> Env for ScaleAction<E> {
    fn id(&self) -> &str {
        self.env.id()
    }

    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> envs::Result<Reset> {
        self.env.reset(seed)
    }

    fn render(&mut self, width: u32, height: u32) -> envs::Result<envs::render::Frame> {
        self.env.render(width, height)
    }

    fn step(&mut self, action: Action<'_>) -> envs::Result<Step> {
        self.action_space.validate_action(action, self.env.id())?;
        let Action::Continuous(a) = action else {
            unreachable!("validate_action checked a continuous action")
        };
        self.buf.clear();
        self.buf.extend(
            a.iter()
                .zip(self.low.iter().zip(&self.high))
                .map(|(&x, (&l, &h))| scale_to_box(x, l, h)),
        );
        let buf = std::mem::take(&mut self.buf);
        let out = self.env.step(Action::Continuous(&buf));
        self.buf = buf;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_clipped_then_mapped_onto_the_box() {
        // Humanoid's [−0.4, 0.4]: a ↦ 0.4 a inside [−1, 1], ±0.4 beyond.
        assert!((scale_to_box(0.5, -0.4, 0.4) - 0.2).abs() < 1e-7);
        assert_eq!(scale_to_box(-3.0, -0.4, 0.4), -0.4);
        assert_eq!(scale_to_box(1.0, -0.4, 0.4), 0.4);
        // An asymmetric box [0, 2]: −1 ↦ 0, 0 ↦ 1, 1 ↦ 2.
        assert_eq!(
            [-1.0, 0.0, 1.0].map(|a| scale_to_box(a, 0.0, 2.0)),
            [0.0, 1.0, 2.0]
        );
        // [−1, 1] boxes: plain clipping.
        assert_eq!(
            [-2.0, 0.25, 7.0].map(|a| scale_to_box(a, -1.0, 1.0)),
            [-1.0, 0.25, 1.0]
        );
    }

    #[test]
    fn the_wrapper_steps_the_scaled_action() {
        // Pendulum's torque box is [−2, 2]: action 0.5 is torque 1, so the wrapped step equals
        // the plain step with 1.0 from the same state.
        let make = || envs::make_env("Pendulum-v1", envs::Backend::Auto, 3).unwrap();
        let mut scaled = ScaleAction::new(make()).unwrap();
        let mut plain = make();
        assert_eq!(
            scaled.reset(Some(3)).unwrap().obs,
            plain.reset(Some(3)).unwrap().obs
        );
        let a = scaled.step(Action::Continuous(&[0.5])).unwrap();
        let b = plain.step(Action::Continuous(&[1.0])).unwrap();
        assert_eq!((a.obs, a.reward), (b.obs, b.reward));
        assert!(ScaleAction::new(envs::make_env("cartpole", envs::Backend::Auto, 0).unwrap()).is_err());
    }
}
