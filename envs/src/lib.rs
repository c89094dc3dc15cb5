//! Reinforcement-learning environments behind one Gymnasium-style trait.
//!
//! This crate will hold rapier3d locomotion tasks, classic control, a gym-rs adapter and a MuJoCo
//! backend. It knows nothing about tensors and must never depend on `tch`. Later issues fill it in.
#![warn(missing_docs)]
