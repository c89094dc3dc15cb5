//! The MuJoCo backend against Python Gymnasium 1.4 on MuJoCo 3.17.0: same seed → same initial state, same
//! actions → same observations, rewards and terminations, to 1e-6 (golden trajectories recorded by
//! `tests/golden/mujoco_v5.py`, see its header for the command).
//!
//! Needs `cargo xtask setup --mujoco` and `eval "$(cargo xtask env)"` (for `PISA_MUJOCO_ASSETS` and the
//! library path); `cargo xtask test` does both.
#![cfg(feature = "mujoco")]

use envs::mujoco::{standard_normal, MujocoEnv, MujocoTask};
use envs::rng::NumpyRng;
use envs::{make_env, Action, Backend, Env};
use serde_json::Value;

/// Largest accepted absolute difference to Gymnasium's numbers.
const TOL: f64 = 1e-6;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/mujoco_v5.json")).expect("golden/mujoco_v5.json parses")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// Max |a − b| over two vectors of the same length.
fn max_diff(a: &[f64], b: &[f64], what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Replays one recorded task on `env` (already built with the recorded seed); returns the largest error.
fn replay(env: &mut dyn Env, task: &Value) -> f64 {
    let id = task["id"].as_str().unwrap();
    let mut worst = max_diff(&env.reset(None).unwrap().obs, &floats(&task["initial_obs"]), id);
    assert!(worst <= TOL, "{id}: initial observation differs by {worst:e}");
    let actions = task["actions"].as_array().unwrap();
    for (t, a) in actions.iter().enumerate() {
        let action: Vec<f32> = floats(a).into_iter().map(|x| x as f32).collect();
        let step = env.step(Action::Continuous(&action)).unwrap();
        let d_obs = max_diff(&step.obs, &floats(&task["obs"][t]), id);
        let d_rew = (step.reward - task["rewards"][t].as_f64().unwrap()).abs();
        assert!(d_obs <= TOL, "{id} step {t}: observation differs by {d_obs:e}");
        assert!(
            d_rew <= TOL,
            "{id} step {t}: reward {} vs {}",
            step.reward,
            task["rewards"][t]
        );
        assert_eq!(
            step.terminated,
            task["terminated"][t].as_bool().unwrap(),
            "{id} step {t}: terminated"
        );
        worst = worst.max(d_obs).max(d_rew);
    }
    worst
}

#[test]
fn every_task_matches_gymnasium() {
    let golden = golden();
    let tasks = golden["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 7);
    for task in tasks {
        let id = task["id"].as_str().unwrap();
        let seed = task["seed"].as_u64().unwrap();
        let mut env = MujocoEnv::new(MujocoTask::from_id(id).unwrap(), seed).unwrap();
        let worst = replay(&mut env, task);
        let steps = task["actions"].as_array().unwrap().len();
        println!("{id}: {steps} steps, max |ours − Gymnasium| = {worst:.3e}");
    }
}

#[test]
fn make_env_builds_the_mujoco_tasks_with_their_time_limit() {
    let golden = golden();
    let task = &golden["tasks"][0];
    let mut env = make_env(
        task["id"].as_str().unwrap(),
        Backend::Mujoco,
        task["seed"].as_u64().unwrap(),
    )
    .unwrap();
    replay(env.as_mut(), task);
    // Aliases reach the same task; the registered time limit truncates at 1000 steps.
    let mut env = make_env("cheetah", Backend::Mujoco, 0).unwrap();
    assert_eq!(env.id(), "HalfCheetah-v5");
    env.reset(None).unwrap();
    let zero = [0.0f32; 6];
    let last = (0..1000)
        .map(|_| env.step(Action::Continuous(&zero)).unwrap())
        .last()
        .unwrap();
    assert!(last.truncated && !last.terminated);
}

#[test]
fn reset_noise_normal_draws_are_numpys() {
    let golden = golden();
    for case in golden["standard_normal"].as_array().unwrap() {
        let mut rng = NumpyRng::new(case["seed"].as_u64().unwrap());
        let expected = floats(&case["draws"]);
        let ours: Vec<f64> = expected.iter().map(|_| standard_normal(&mut rng)).collect();
        // Bit for bit: same stream consumption (one different accept/reject decision would shift every
        // later draw) and the same layer tables.
        for (i, (a, b)) in ours.iter().zip(&expected).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "draw {i}: {a} vs {b}");
        }
        assert!(
            expected.iter().any(|x| x.abs() > 3.0),
            "the draws reach the tail layers"
        );
    }
}
