//! The rapier3d backend: Gymnasium's MuJoCo v5 locomotion and balance tasks in pure Rust.
//!
//! Each task loads Gymnasium's own MJCF model (checked in under `envs/assets/`, MIT licensed, from
//! Gymnasium) with [`rapier3d_mjcf`] and simulates it as a rapier3d *multibody*: reduced coordinates, one
//! rapier link per MuJoCo joint (massless spacer links for bodies with several joints, e.g. the planar
//! `rootx`/`rootz`/`rooty` roots), so joint coordinates are MuJoCo's `qpos` and joint velocities its
//! `qvel` in MuJoCo's order. From the model: joint `armature` (added to the joint-space mass matrix),
//! `damping` (implicit, per DoF), `stiffness` springs (implicit), `range` limits, geom sizes and
//! densities (`inertiafromgeom`, `settotalmass`), `<motor>` actuators with their `gear` and `ctrlrange`
//! (controls are clamped into it, as MuJoCo does), `<option timestep>` and gravity. On top, each task
//! ports Gymnasium 1.4's `*_v5.py` with default options: the observation layout and size, the reward
//! terms and `info` keys and the termination rules (the crate's shared v5 rules, `crate::v5`, which the
//! MuJoCo backend uses too), `frame_skip`, and the reset noise (`uniform` or
//! `scale · standard_normal` on `init_qpos`/`init_qvel`, drawn from [`crate::rng::NumpyRng`]).
//!
//! | task | obs | act | frame skip | dt (s) |
//! |---|---|---|---|---|
//! | `InvertedPendulum-v5` | 4 | 1 | 2 | 0.04 |
//! | `InvertedDoublePendulum-v5` | 9 | 1 | 5 | 0.05 |
//! | `HalfCheetah-v5` | 17 | 6 | 5 | 0.05 |
//! | `Hopper-v5` | 11 | 3 | 4 | 0.008 |
//! | `Walker2d-v5` | 17 | 6 | 4 | 0.008 |
//! | `Ant-v5` | 105 | 8 | 5 | 0.05 |
//! | `Humanoid-v5` | 348 | 17 | 5 | 0.015 |
//!
//! `tests/rapier_kinematics.rs` checks the loaded models against MuJoCo 3.17.0 itself: every body's
//! mass, and every body's position and orientation for the same `qpos` (golden values from
//! `tests/golden/rapier_kinematics.py`), so joint axes, anchors, signs, `ref` offsets and the `qpos`
//! order are MuJoCo's.
//!
//! # Deviations from MuJoCo
//! The physics is rapier's, not MuJoCo's, so trajectories differ from Gymnasium's even from the same
//! state; the tasks are the same problems with the same interfaces. In detail:
//! * **Integrator and contacts.** rapier's semi-implicit Euler, one solver substep per model
//!   `timestep` (as MuJoCo takes one step), with its velocity solver and contact softness, replaces
//!   MuJoCo's RK4/Euler with soft convex-optimization contacts; `solref`,
//!   `solimp`, `margin`, `condim` and torsional/rolling friction are ignored. Friction between a geom
//!   and the floor is the larger of the two sliding frictions, as in MuJoCo.
//! * **Collisions.** Robot geoms collide with the floor only. MuJoCo's models have no self-contacts
//!   except Hopper's and Humanoid's `contype = conaffinity = 1` geoms (e.g. a Humanoid hand touching
//!   its thigh), which pass through each other here. The inverted pendulums have no contacts at all,
//!   as in MuJoCo.
//! * **Motors.** A `<motor>` applies `gear · ctrl` as a generalized force on its joint, as MuJoCo does
//!   (a torque, or force, along the joint axis on the child body and its opposite on the parent). Near
//!   a joint limit in the force's direction (closer than about twice what the joint can travel in
//!   one physics step) it is rapier-mjcf's motor emulation instead: a velocity motor capped at
//!   `|gear · ctrl|` whose target is clamped so that the joint just reaches the limit within the step,
//!   which brakes the joint before the limit (MuJoCo's soft limits act before it too) and keeps the
//!   overshoot of the hard limits small. Far from the limits that motor would saturate, i.e. apply the
//!   same force (up to rapier's implicit Coriolis and damping terms), but as a constraint it costs a
//!   solve against the joint-space mass matrix and a solver row per actuator and step.
//! * **Joint limits** are hard velocity-level constraints (MuJoCo: soft), acting once a coordinate is
//!   out of its range; a limit is handed to rapier only while that is so (inside the range rapier's
//!   constraint has zero impulse bounds and does nothing, at the cost of a mass-matrix solve). Ant's
//!   ankles start outside their ranges at `qpos0`, as in MuJoCo, and are pushed into range in the
//!   first steps.
//!
//! # Speed
//! Most of a physics step is rapier's multibody dynamics: assembling the dense joint-space mass
//! matrix (one `Jᵀ M J` product per link over all DoFs, for the plain and the Coriolis-augmented
//! matrix) and its LU factorizations, which MuJoCo does with sparse, tree-structured algorithms.
//! This grows with links × DoFs², so Humanoid (23 DoFs, 20 links) and the light HalfCheetah model
//! (where MuJoCo itself is very fast) are the slowest relative to MuJoCo; the actuator forces and the
//! limit handling above remove the per-actuator constraint work on top of it.
//! * **`cfrc_ext`** (Ant, Humanoid) is the normal contact force of the last physics step on each body
//!   with its torque, expressed about the robot's centre of mass like MuJoCo's com-based frame; friction
//!   forces are left out. **`cinert`/`cvel`** (Humanoid) are computed from rapier's body masses,
//!   inertias and velocities with MuJoCo's formulas, and **`qfrc_actuator`** is `gear · ctrl`.
//! * **`qfrc_constraint[0]`** in InvertedDoublePendulum's observation is always 0 (rapier does not
//!   expose the slider's limit force; MuJoCo's is 0 except while the cart touches the end of the rail).
//! * **Reset and state.** Each reset builds a fresh rapier world (so no solver warm-start carries over
//!   between episodes) and sets `qpos`/`qvel` as Gymnasium's `set_state` does; a free joint's `qvel` is
//!   MuJoCo's (linear velocity of the body origin in the world frame, angular velocity in the body
//!   frame).
//! * **Non-finite states** end the episode (`terminated`) in every task, HalfCheetah included, on top of
//!   Gymnasium's rules, so that a diverged simulation is never stepped on.
//! * **Precision.** rapier3d is built in `f32` (rapier-mjcf needs it); observations are those `f32`
//!   values widened to `f64`.
//! * Gymnasium's `reset(seed)` draws from numpy's generator; ours uses [`crate::rng::NumpyRng`]'s
//!   uniform (numpy's exactly) and its own normal (not numpy's ziggurat), so reset states match
//!   Gymnasium's for the uniform-noise tasks only in distribution anyway, since the physics differs.

mod env;
mod scene;
mod sim;
mod task;

pub use env::RapierEnv;
pub use task::Task;
