//! The gym-rs adapter's contract: spaces, seeded determinism, episodes that terminate, typed errors for
//! invalid actions, and gym-rs 0.3.0's CartPole reset range (±0.5, not Gymnasium's ±0.05).
//!
//! Needs cmake and the SDL2 / SDL2_gfx development packages; `cargo xtask check-gym-rs` runs it.
#![cfg(feature = "gym-rs")]

use envs::gym_rs::GymRsEnv;
use envs::wrappers::TimeLimit;
use envs::{Action, AutoresetMode, BatchAction, Dtype, Env, EnvError, Space, SyncVectorEnv};

fn cartpole(seed: u64) -> GymRsEnv {
    GymRsEnv::cartpole(seed).unwrap_or_else(|e| panic!("{e}"))
}

/// Pushes the cart toward the side the pole leans to.
fn policy(obs: &[f64]) -> usize {
    usize::from(obs[2] > 0.0)
}

#[test]
fn spaces_map_to_ours() {
    let e = cartpole(0);
    assert_eq!(e.id(), "gym_rs/CartPole");
    assert_eq!(e.action_space(), &Space::Discrete(2));
    let theta = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
    let high = [4.8, f64::INFINITY, 2.0 * theta, f64::INFINITY];
    assert_eq!(
        e.observation_space(),
        &Space::Box {
            low: high.iter().map(|h| -h).collect(),
            high: high.to_vec(),
            shape: vec![4],
            dtype: Dtype::F64,
        }
    );
    let m = GymRsEnv::mountain_car(0).unwrap();
    assert_eq!(m.action_space(), &Space::Discrete(3));
    assert_eq!(m.observation_space().shape(), &[2]);
}

fn rollout(env: &mut GymRsEnv, seed: Option<u64>, steps: usize) -> Vec<(Vec<f64>, f64, bool)> {
    let mut obs = env.reset(seed).unwrap().obs;
    let mut out = vec![(obs.clone(), 0.0, false)];
    for _ in 0..steps {
        let s = env.step(Action::Discrete(policy(&obs))).unwrap();
        obs = s.obs.clone();
        out.push((s.obs, s.reward, s.terminated));
        if s.terminated {
            obs = env.reset(None).unwrap().obs;
            out.push((obs.clone(), 0.0, false));
        }
    }
    out
}

#[test]
fn same_seed_same_trajectory() {
    let a = rollout(&mut cartpole(7), None, 300);
    let b = rollout(&mut cartpole(7), None, 300);
    assert_eq!(a, b, "same seed, same actions, different trajectories");
    // The first reset(None) is reset(Some(seed)), also on an environment built with another seed.
    let c = rollout(&mut cartpole(1), Some(7), 300);
    assert_eq!(a, c);
    let d = rollout(&mut cartpole(8), None, 300);
    assert_ne!(a[0].0, d[0].0, "seeds 7 and 8 start in the same state");
    // Later reset(None) calls draw fresh seeds: episodes differ.
    let mut e = cartpole(3);
    let first = e.reset(None).unwrap().obs;
    let second = e.reset(None).unwrap().obs;
    assert_ne!(first, second);
}

#[test]
fn episodes_terminate() {
    let mut e = cartpole(11);
    for episode in 0..5 {
        e.reset(None).unwrap();
        let mut ret = 0.0;
        let mut steps = 0;
        let obs;
        loop {
            let s = e.step(Action::Discrete(1)).unwrap();
            steps += 1;
            ret += s.reward;
            assert!(!s.truncated, "gym-rs never truncates");
            if s.terminated {
                obs = s.obs;
                break;
            }
            assert!(
                steps < 1000,
                "episode {episode} never terminates under a constant push"
            );
        }
        assert_eq!(ret, steps as f64, "reward 1 per step, the terminal step included");
        let x = obs[0].abs() > 2.4;
        let theta = obs[2].abs() > 12.0 * 2.0 * std::f64::consts::PI / 360.0;
        assert!(x || theta, "terminated inside the bounds: {obs:?}");
        // After termination, gym-rs' CartPole gives reward 0, as Gymnasium's.
        assert_eq!(e.step(Action::Discrete(0)).unwrap().reward, 0.0);
    }
    // Under our TimeLimit the balancing policy is cut at 500 steps or the pole falls before.
    let mut t = TimeLimit::new(cartpole(5), 500);
    let mut obs = t.reset(None).unwrap().obs;
    let mut steps = 0;
    loop {
        let s = t.step(Action::Discrete(policy(&obs))).unwrap();
        steps += 1;
        if s.done() {
            assert!(s.truncated == (steps == 500) || s.terminated);
            break;
        }
        obs = s.obs;
    }
    assert!(steps <= 500);
}

#[test]
fn invalid_actions_are_typed_errors() {
    let mut e = cartpole(0);
    assert!(matches!(
        e.step(Action::Discrete(0)),
        Err(EnvError::ResetNeeded { .. })
    ));
    e.reset(None).unwrap();
    assert!(matches!(
        e.step(Action::Discrete(2)),
        Err(EnvError::DiscreteOutOfRange { action: 2, n: 2, .. })
    ));
    assert!(matches!(
        e.step(Action::Continuous(&[1.0])),
        Err(EnvError::ActionKind {
            expected: "discrete",
            got: "continuous",
            ..
        })
    ));
    // The environment still works after rejected actions (gym-rs would have panicked on them).
    assert_eq!(e.step(Action::Discrete(1)).unwrap().reward, 1.0);
}

#[test]
fn cartpole_resets_in_half_unit_range() {
    let mut e = cartpole(0);
    let mut max = [0.0f64; 4];
    for seed in 0..400 {
        let obs = e.reset(Some(seed)).unwrap().obs;
        for (m, x) in max.iter_mut().zip(&obs) {
            assert!(x.abs() <= 0.5, "seed {seed}: {obs:?} outside ±0.5");
            *m = m.max(x.abs());
        }
    }
    // Every component uses the range well beyond Gymnasium's ±0.05.
    for (i, m) in max.iter().enumerate() {
        assert!(*m > 0.4, "component {i} reaches only {m}");
    }
}

#[test]
fn works_in_a_vector_env() {
    let envs: Vec<GymRsEnv> = (0..3).map(cartpole).collect();
    let mut v = SyncVectorEnv::new(envs, AutoresetMode::NextStep)
        .unwrap()
        .with_threads(3);
    let obs = v.reset(Some(4)).unwrap().obs;
    assert_eq!(obs.len(), 3 * 4);
    // Sub-environment i is seeded with 4 + i.
    assert_eq!(&obs[4..8], &cartpole(5).reset(None).unwrap().obs[..]);
    let step = v.step(BatchAction::Discrete(&[0, 1, 0])).unwrap();
    assert_eq!(step.obs.len(), 3 * 4);
}

#[test]
fn mountain_car_steps() {
    let mut m = GymRsEnv::mountain_car(2).unwrap();
    let a = m.reset(None).unwrap().obs;
    let s = m.step(Action::Discrete(2)).unwrap();
    assert_eq!(s.reward, -1.0);
    assert!(!s.terminated && !s.truncated);
    assert_ne!(a, s.obs);
    let mut again = GymRsEnv::mountain_car(2).unwrap();
    assert_eq!(again.reset(None).unwrap().obs, a);
}

#[test]
fn a_panicking_gym_rs_env_is_a_typed_error() {
    let err = GymRsEnv::new(
        "broken",
        0,
        || -> envs::gym_rs::upstream::envs::classical_control::cartpole::CartPoleEnv {
            panic!("cannot build it")
        },
    )
    .unwrap_err();
    match err {
        EnvError::GymRs { env, reason } => {
            assert_eq!(env, "broken");
            assert!(reason.contains("panicked: cannot build it"), "{reason}");
        }
        other => panic!("expected EnvError::GymRs, got {other:?}"),
    }
}
