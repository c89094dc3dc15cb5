//! [`Backend`]: which implementation builds a task. A leaf module (no crate imports), so that
//! both [`crate::registry`] and the error type can name it without an import cycle; parsing
//! (`FromStr`) is in the registry.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which implementation of a task to build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The best available backend for the id: classic control for `CartPole-v1` and `Pendulum-v1`,
    /// rapier3d for the MuJoCo tasks.
    #[default]
    Auto,
    /// The pure-Rust classic-control tasks ([`crate::classic`]).
    #[serde(rename = "classic", alias = "classic_control")]
    ClassicControl,
    /// rapier3d locomotion and balance tasks ([`crate::rapier`]), pure Rust.
    Rapier,
    /// MuJoCo through `mujoco-rs` (not yet in this build).
    Mujoco,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::ClassicControl => "classic",
            Backend::Rapier => "rapier",
            Backend::Mujoco => "mujoco",
        })
    }
}
