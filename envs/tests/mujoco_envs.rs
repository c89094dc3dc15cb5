//! The MuJoCo backend's contract: Gymnasium v5 spaces and time steps, determinism, termination rules,
//! reward bookkeeping, typed errors, finite states under random actions, and rendering.
//!
//! Needs `cargo xtask setup --mujoco` and `eval "$(cargo xtask env)"`; `cargo xtask test` does both.
#![cfg(feature = "mujoco")]

use envs::mujoco::{MujocoEnv, MujocoTask};
use envs::rng::NumpyRng;
use envs::{Action, Dtype, Env, EnvError, Space};

fn env(task: MujocoTask, seed: u64) -> MujocoEnv {
    MujocoEnv::new(task, seed).unwrap_or_else(|e| panic!("{e}"))
}

fn random_action(space: &Space, rng: &mut NumpyRng) -> Vec<f32> {
    match space {
        Space::Box { low, high, .. } => low
            .iter()
            .zip(high)
            .map(|(&l, &h)| rng.uniform(l, h) as f32)
            .collect(),
        Space::Discrete(_) => unreachable!("MuJoCo tasks have box actions"),
    }
}

/// (task, observation size, action size, action bound, dt) from Gymnasium 1.4's v5 documentation.
const SPECS: [(MujocoTask, usize, usize, f64, f64); 7] = [
    (MujocoTask::HalfCheetah, 17, 6, 1.0, 0.05),
    (MujocoTask::Hopper, 11, 3, 1.0, 0.008),
    (MujocoTask::Walker2d, 17, 6, 1.0, 0.008),
    (MujocoTask::Ant, 105, 8, 1.0, 0.05),
    (MujocoTask::Humanoid, 348, 17, 0.4, 0.015),
    (MujocoTask::InvertedPendulum, 4, 1, 3.0, 0.04),
    (MujocoTask::InvertedDoublePendulum, 9, 1, 1.0, 0.05),
];

#[test]
fn spaces_and_time_steps_are_gymnasiums() {
    for (task, obs_dim, act_dim, bound, dt) in SPECS {
        let mut e = env(task, 0);
        assert_eq!(e.id(), task.id());
        assert_eq!(
            e.observation_space(),
            &Space::unbounded(obs_dim, Dtype::F64),
            "{}",
            task.id()
        );
        assert_eq!(
            e.action_space(),
            &Space::box_f32(&vec![-bound; act_dim], &vec![bound; act_dim]),
            "{}",
            task.id()
        );
        assert!((e.dt() - dt).abs() < 1e-12, "{}: dt {}", task.id(), e.dt());
        let obs = e.reset(None).unwrap().obs;
        assert!(e.observation_space().contains_obs(&obs));
    }
}

#[test]
fn same_seed_same_trajectory_bit_for_bit() {
    for task in MujocoTask::ALL {
        let (mut a, mut b) = (env(task, 3), env(task, 0));
        let first = a.reset(None).unwrap().obs;
        assert_eq!(
            b.reset(Some(3)).unwrap().obs,
            first,
            "{}: seed at construction = seed at reset",
            task.id()
        );
        assert_ne!(
            b.reset(Some(4)).unwrap().obs,
            first,
            "{}: another seed, another start",
            task.id()
        );
        b.reset(Some(3)).unwrap();
        let mut rng = NumpyRng::new(11);
        for _ in 0..100 {
            let action = random_action(a.action_space(), &mut rng);
            let (sa, sb) = (
                a.step(Action::Continuous(&action)).unwrap(),
                b.step(Action::Continuous(&action)).unwrap(),
            );
            assert_eq!(sa, sb, "{}", task.id());
            if sa.done() {
                break;
            }
        }
    }
}

#[test]
fn random_actions_keep_every_task_finite() {
    // 10k random steps per task (Humanoid 3k: it dominates the time), resetting when an episode ends.
    for task in MujocoTask::ALL {
        let mut e = env(task, 1);
        e.reset(None).unwrap();
        let mut rng = NumpyRng::new(5);
        let steps = if task == MujocoTask::Humanoid {
            3_000
        } else {
            10_000
        };
        for t in 0..steps {
            let action = random_action(e.action_space(), &mut rng);
            let step = e.step(Action::Continuous(&action)).unwrap();
            assert!(
                step.obs.iter().all(|v| v.is_finite()) && step.reward.is_finite(),
                "{} step {t}: non-finite",
                task.id()
            );
            if step.terminated {
                e.reset(None).unwrap();
            }
        }
    }
}

/// Puts the task in a state with `qpos[index] = value` (else its initial state) and steps once with zero
/// action; returns (terminated, reward).
fn step_from(task: MujocoTask, index: usize, value: f64) -> (bool, f64) {
    let mut e = env(task, 0);
    e.reset(None).unwrap();
    let mut qpos = e.qpos().to_vec();
    qpos[index] = value;
    let qvel = vec![0.0; e.qvel().len()];
    e.set_state(&qpos, &qvel).unwrap();
    let zero = vec![0.0f32; e.action_space().flat_dim()];
    let step = e.step(Action::Continuous(&zero)).unwrap();
    (step.terminated, step.reward)
}

#[test]
fn termination_follows_the_v5_health_rules() {
    // Hopper: healthy z > 0.7, |angle| < 0.2; Walker2d: 0.8 < z < 2, |angle| < 1.
    assert!(step_from(MujocoTask::Hopper, 1, 0.4).0);
    assert!(step_from(MujocoTask::Hopper, 2, 0.5).0);
    assert!(!step_from(MujocoTask::Hopper, 2, 0.1).0);
    assert!(step_from(MujocoTask::Walker2d, 2, 1.5).0);
    assert!(!step_from(MujocoTask::Walker2d, 2, 0.5).0);
    // Ant: 0.2 ≤ z ≤ 1; Humanoid: 1 < z < 2 (z = qpos[2]).
    assert!(step_from(MujocoTask::Ant, 2, 1.5).0);
    assert!(step_from(MujocoTask::Humanoid, 2, 0.7).0);
    // InvertedPendulum: |angle| > 0.2 ends it with reward 0; InvertedDoublePendulum: tip at y ≤ 1, no bonus.
    assert_eq!(step_from(MujocoTask::InvertedPendulum, 1, 0.5), (true, 0.0));
    assert_eq!(step_from(MujocoTask::InvertedPendulum, 1, 0.05), (false, 1.0));
    let (done, reward) = step_from(MujocoTask::InvertedDoublePendulum, 1, 1.4);
    assert!(done && reward < 0.0, "{reward}");
    // HalfCheetah never terminates, even flipped over.
    assert!(!step_from(MujocoTask::HalfCheetah, 2, 3.0).0);
}

#[test]
fn rewards_are_the_sum_of_their_reported_terms() {
    let terms: [(MujocoTask, &[&str]); 5] = [
        (MujocoTask::HalfCheetah, &["reward_forward", "reward_ctrl"]),
        (
            MujocoTask::Hopper,
            &["reward_forward", "reward_ctrl", "reward_survive"],
        ),
        (
            MujocoTask::Walker2d,
            &["reward_forward", "reward_ctrl", "reward_survive"],
        ),
        (
            MujocoTask::Ant,
            &[
                "reward_forward",
                "reward_ctrl",
                "reward_contact",
                "reward_survive",
            ],
        ),
        (
            MujocoTask::Humanoid,
            &[
                "reward_forward",
                "reward_ctrl",
                "reward_contact",
                "reward_survive",
            ],
        ),
    ];
    for (task, keys) in terms {
        let mut e = env(task, 2);
        e.reset(None).unwrap();
        let mut rng = NumpyRng::new(9);
        for _ in 0..20 {
            let action = random_action(e.action_space(), &mut rng);
            let step = e.step(Action::Continuous(&action)).unwrap();
            let sum: f64 = keys.iter().map(|k| step.info.get(k).unwrap()).sum();
            assert!(
                (step.reward - sum).abs() < 1e-12,
                "{}: {} vs {sum}",
                task.id(),
                step.reward
            );
            let forward = step.info.get("reward_forward").unwrap();
            let weight = if task == MujocoTask::Humanoid { 1.25 } else { 1.0 };
            assert!((forward - weight * step.info.get("x_velocity").unwrap()).abs() < 1e-12);
            // Control costs are weight · Σa² (the f32 evaluation differs from f64 by < 1e-6).
            let sq: f64 = action.iter().map(|&a| f64::from(a).powi(2)).sum();
            let w = match task {
                MujocoTask::HalfCheetah | MujocoTask::Humanoid => 0.1,
                MujocoTask::Ant => 0.5,
                _ => 1e-3,
            };
            assert!(
                (step.info.get("reward_ctrl").unwrap() + w * sq).abs() < 1e-6,
                "{}",
                task.id()
            );
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let mut e = env(MujocoTask::Hopper, 0);
    assert!(matches!(
        e.step(Action::Continuous(&[0.0; 3])),
        Err(EnvError::ResetNeeded { .. })
    ));
    assert!(matches!(e.render(32, 32), Err(EnvError::ResetNeeded { .. })));
    e.reset(None).unwrap();
    assert!(matches!(
        e.step(Action::Continuous(&[0.0; 2])),
        Err(EnvError::ActionLength {
            expected: 3,
            got: 2,
            ..
        })
    ));
    assert!(matches!(
        e.step(Action::Discrete(0)),
        Err(EnvError::ActionKind { .. })
    ));
    assert!(matches!(
        e.step(Action::Continuous(&[0.0, f32::NAN, 0.0])),
        Err(EnvError::NonFiniteAction { index: 1, .. })
    ));
    assert!(matches!(
        e.set_state(&[0.0; 5], &[0.0; 6]),
        Err(EnvError::InvalidState { .. })
    ));
    assert!(matches!(e.render(0, 32), Err(EnvError::InvalidParameter { .. })));

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("hopper.xml");
    let err = MujocoEnv::from_xml(MujocoTask::Hopper, &missing, 0)
        .err()
        .unwrap();
    assert!(matches!(err, EnvError::MujocoModel { .. }));
    assert!(
        err.to_string().contains("hopper.xml") && err.to_string().contains("setup --mujoco"),
        "{err}"
    );
    let corrupt = dir.path().join("corrupt.xml");
    std::fs::write(&corrupt, "<mujoco><worldbody><body></mujoco>").unwrap();
    let err = MujocoEnv::from_xml(MujocoTask::Hopper, &corrupt, 0)
        .err()
        .unwrap();
    assert!(err.to_string().contains("corrupt.xml"), "{err}");
    // A valid model that cannot carry the task: one hinge, one motor.
    let tiny = dir.path().join("tiny.xml");
    std::fs::write(
        &tiny,
        r#"<mujoco><worldbody><body><joint name="j" type="hinge"/><geom size="0.1"/></body></worldbody>
           <actuator><motor joint="j"/></actuator></mujoco>"#,
    )
    .unwrap();
    let err = MujocoEnv::from_xml(MujocoTask::Ant, &tiny, 0).err().unwrap();
    assert!(
        err.to_string().contains("Ant-v5 needs its Gymnasium model"),
        "{err}"
    );
}

#[test]
fn frames_show_the_robot_and_its_motion() {
    for task in MujocoTask::ALL {
        let mut e = env(task, 0);
        e.reset(None).unwrap();
        let frame = e.render(96, 64).unwrap();
        assert_eq!(
            (frame.width, frame.height, frame.rgb.len()),
            (96, 64, 96 * 64 * 3)
        );
        let distinct: std::collections::HashSet<_> = frame.rgb.chunks(3).collect();
        assert!(distinct.len() > 10, "{}: {} colours", task.id(), distinct.len());
        assert_eq!(
            e.render(96, 64).unwrap(),
            frame,
            "{}: rendering is pure",
            task.id()
        );
    }
    // The cheetah's legs move under a strong action: the picture changes.
    let mut e = env(MujocoTask::HalfCheetah, 0);
    e.reset(None).unwrap();
    let before = e.render(96, 64).unwrap();
    for _ in 0..5 {
        e.step(Action::Continuous(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0]))
            .unwrap();
    }
    assert_ne!(e.render(96, 64).unwrap(), before);
}
