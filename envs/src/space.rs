//! Observation and action spaces, and the action types that go with them.

use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};
use crate::rng::NumpyRng;

/// Element type of a [`Space::Box`], as Gymnasium's `Box.dtype`.
///
/// Values travel as `f64` (observations) or `f32` (actions) whatever the dtype; `F32` says that every
/// observation value is exactly an `f32` (Gymnasium's `np.float32` arrays, widened without loss).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// `np.float32`.
    F32,
    /// `np.float64`.
    F64,
}

/// A Gymnasium space: a box of reals or a finite set of integers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Space {
    /// `gymnasium.spaces.Box`: real vectors with per-component bounds (`±∞` allowed), row-major `shape`.
    Box {
        /// Lower bounds, one per component (`shape.iter().product()` of them).
        low: Vec<f64>,
        /// Upper bounds, one per component.
        high: Vec<f64>,
        /// Shape of a value; values are stored flat in row-major order.
        shape: Vec<usize>,
        /// Element type.
        dtype: Dtype,
    },
    /// `gymnasium.spaces.Discrete(n)`: the integers `0..n`.
    Discrete(usize),
}

/// An action passed to [`Env::step`](crate::Env::step): borrowed, so stepping allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action<'a> {
    /// An element of a [`Space::Discrete`].
    Discrete(usize),
    /// An element of a [`Space::Box`], flat, as `f32` like Gymnasium's `np.float32` action boxes.
    Continuous(&'a [f32]),
}

impl Action<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Action::Discrete(_) => "discrete",
            Action::Continuous(_) => "continuous",
        }
    }
}

/// An owned action, as [`Space::sample`] returns it.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedAction {
    /// An element of a [`Space::Discrete`].
    Discrete(usize),
    /// An element of a [`Space::Box`].
    Continuous(Vec<f32>),
}

impl OwnedAction {
    /// Borrows it as an [`Action`].
    pub fn as_action(&self) -> Action<'_> {
        match self {
            OwnedAction::Discrete(a) => Action::Discrete(*a),
            OwnedAction::Continuous(v) => Action::Continuous(v),
        }
    }
}

impl Space {
    /// A one-dimensional `float32` box with the given bounds (each rounded to `f32` as numpy does).
    ///
    /// # Panics
    /// If `low` and `high` differ in length: spaces are built by environment code, not from user input.
    pub fn box_f32(low: &[f64], high: &[f64]) -> Self {
        assert_eq!(
            low.len(),
            high.len(),
            "Space::box_f32: low and high differ in length"
        );
        let round = |v: &[f64]| v.iter().map(|&x| x as f32 as f64).collect::<Vec<_>>();
        Space::Box {
            low: round(low),
            high: round(high),
            shape: vec![low.len()],
            dtype: Dtype::F32,
        }
    }

    /// A one-dimensional box `(−∞, ∞)^dim`.
    pub fn unbounded(dim: usize, dtype: Dtype) -> Self {
        Space::Box {
            low: vec![f64::NEG_INFINITY; dim],
            high: vec![f64::INFINITY; dim],
            shape: vec![dim],
            dtype,
        }
    }

    /// The same box with unbounded components (Gymnasium's wrappers that rescale or clip do this); a
    /// `Discrete` space is returned unchanged.
    pub fn to_unbounded(&self) -> Self {
        match self {
            Space::Box {
                low, shape, dtype, ..
            } => Space::Box {
                low: vec![f64::NEG_INFINITY; low.len()],
                high: vec![f64::INFINITY; low.len()],
                shape: shape.clone(),
                dtype: *dtype,
            },
            Space::Discrete(n) => Space::Discrete(*n),
        }
    }

    /// Number of scalars in one value: the product of a box's shape, 1 for a discrete space.
    pub fn flat_dim(&self) -> usize {
        match self {
            Space::Box { shape, .. } => shape.iter().product(),
            Space::Discrete(_) => 1,
        }
    }

    /// Shape of one value (`[]` for a discrete space, like Gymnasium's `Discrete.shape`).
    pub fn shape(&self) -> &[usize] {
        match self {
            Space::Box { shape, .. } => shape,
            Space::Discrete(_) => &[],
        }
    }

    /// `n` of a discrete space; `None` for a box.
    pub fn discrete_n(&self) -> Option<usize> {
        match self {
            Space::Discrete(n) => Some(*n),
            Space::Box { .. } => None,
        }
    }

    /// Whether an observation vector lies in this box (length, bounds, and `f32`-exactness for
    /// [`Dtype::F32`]). Always false for a discrete space: observations here are boxes.
    pub fn contains_obs(&self, obs: &[f64]) -> bool {
        match self {
            Space::Box { low, high, dtype, .. } => {
                obs.len() == low.len()
                    && obs.iter().zip(low.iter().zip(high)).all(|(&x, (&l, &h))| {
                        l <= x && x <= h && (*dtype == Dtype::F64 || x as f32 as f64 == x)
                    })
            }
            Space::Discrete(_) => false,
        }
    }

    /// Whether an action is an element of this space (kind, length, finite, within bounds).
    pub fn contains(&self, action: Action<'_>) -> bool {
        match (self, action) {
            (Space::Discrete(n), Action::Discrete(a)) => a < *n,
            (Space::Box { low, high, .. }, Action::Continuous(v)) => {
                v.len() == low.len()
                    && v.iter()
                        .zip(low.iter().zip(high))
                        .all(|(&x, (&l, &h))| l <= x as f64 && x as f64 <= h)
            }
            _ => false,
        }
    }

    /// Checks that an action can be stepped: the right kind, the right length, finite components, a
    /// discrete action below `n`. Out-of-bounds continuous values are allowed, as in Gymnasium
    /// (Pendulum clips its torque; wrap in [`ClipAction`](crate::wrappers::ClipAction) to clip for any task).
    ///
    /// # Errors
    /// [`EnvError::ActionKind`], [`EnvError::ActionLength`], [`EnvError::NonFiniteAction`] or
    /// [`EnvError::DiscreteOutOfRange`], naming `env`.
    pub fn validate_action(&self, action: Action<'_>, env: &str) -> Result<()> {
        match (self, action) {
            (Space::Discrete(n), Action::Discrete(a)) => {
                if a < *n {
                    Ok(())
                } else {
                    Err(EnvError::DiscreteOutOfRange {
                        env: env.to_string(),
                        action: a,
                        n: *n,
                    })
                }
            }
            (Space::Box { low, .. }, Action::Continuous(v)) => {
                if v.len() != low.len() {
                    return Err(EnvError::ActionLength {
                        env: env.to_string(),
                        expected: low.len(),
                        got: v.len(),
                    });
                }
                match v.iter().position(|x| !x.is_finite()) {
                    Some(index) => Err(EnvError::NonFiniteAction {
                        env: env.to_string(),
                        index,
                        value: v[index],
                    }),
                    None => Ok(()),
                }
            }
            (space, action) => Err(EnvError::ActionKind {
                env: env.to_string(),
                expected: match space {
                    Space::Discrete(_) => "discrete",
                    Space::Box { .. } => "continuous",
                },
                got: action.kind(),
            }),
        }
    }

    /// A random element, as Gymnasium's `Space.sample` draws it: uniform on bounded components,
    /// `low + Exp(1)` / `high − Exp(1)` on half-bounded ones, `N(0, 1)` on unbounded ones, uniform on
    /// `0..n` for a discrete space. The numbers are not numpy's (see [`NumpyRng`]).
    pub fn sample(&self, rng: &mut NumpyRng) -> OwnedAction {
        match self {
            Space::Discrete(n) => OwnedAction::Discrete(rng.below(*n as u64) as usize),
            Space::Box { low, high, .. } => OwnedAction::Continuous(
                low.iter()
                    .zip(high)
                    .map(|(&l, &h)| {
                        let x = match (l.is_finite(), h.is_finite()) {
                            (true, true) => rng.uniform(l, h),
                            (true, false) => l + rng.standard_exponential(),
                            (false, true) => h - rng.standard_exponential(),
                            (false, false) => rng.standard_normal(),
                        };
                        // Rounding to f32 can step past a bound that is not an f32: clamp.
                        (x as f32).clamp(l as f32, h as f32)
                    })
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_are_typed() {
        let b = Space::box_f32(&[-2.0], &[2.0]);
        let d = Space::Discrete(2);
        assert!(
            b.validate_action(Action::Continuous(&[5.0]), "t").is_ok(),
            "out of bounds is allowed"
        );
        assert!(matches!(
            b.validate_action(Action::Continuous(&[0.0, 1.0]), "t"),
            Err(EnvError::ActionLength {
                expected: 1,
                got: 2,
                ..
            })
        ));
        assert!(matches!(
            b.validate_action(Action::Continuous(&[f32::NAN]), "t"),
            Err(EnvError::NonFiniteAction { index: 0, .. })
        ));
        assert!(matches!(
            b.validate_action(Action::Discrete(0), "t"),
            Err(EnvError::ActionKind {
                expected: "continuous",
                got: "discrete",
                ..
            })
        ));
        assert!(matches!(
            d.validate_action(Action::Discrete(2), "t"),
            Err(EnvError::DiscreteOutOfRange { action: 2, n: 2, .. })
        ));
        assert!(d.validate_action(Action::Discrete(1), "t").is_ok());
    }

    #[test]
    fn sample_stays_in_space() {
        let mut rng = NumpyRng::new(1);
        let spaces = [
            Space::box_f32(&[-2.0, 0.0], &[2.0, 0.1]),
            Space::Discrete(3),
            Space::Box {
                low: vec![0.0, f64::NEG_INFINITY, f64::NEG_INFINITY],
                high: vec![f64::INFINITY, 1.0, f64::INFINITY],
                shape: vec![3],
                dtype: Dtype::F32,
            },
        ];
        for s in &spaces {
            for _ in 0..1000 {
                let a = s.sample(&mut rng);
                assert!(s.contains(a.as_action()), "{a:?} not in {s:?}");
            }
        }
        assert_eq!(spaces[0].flat_dim(), 2);
        assert_eq!(spaces[1].shape(), &[] as &[usize]);
        assert_eq!(spaces[1].discrete_n(), Some(3));
    }

    #[test]
    fn f32_box_bounds_are_rounded() {
        let Space::Box { high, .. } = Space::box_f32(&[0.0], &[0.1]) else {
            unreachable!()
        };
        assert_eq!(high[0], 0.1f32 as f64);
        let s = Space::box_f32(&[0.0], &[1.0]);
        assert!(s.contains_obs(&[0.5]));
        assert!(!s.contains_obs(&[0.1]), "0.1 is not an f32 value");
        assert!(!s.contains_obs(&[1.5]));
    }
}
