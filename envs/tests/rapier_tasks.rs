//! The rapier3d locomotion tasks: spaces, determinism, termination and truncation, physics sanity,
//! stability under zero and random actions, rendering.

use envs::rapier::{RapierEnv, Task};
use envs::rng::NumpyRng;
use envs::{make_env, Action, Backend, Env, Space};

fn random_action(env: &dyn Env, rng: &mut NumpyRng) -> Vec<f32> {
    match env.action_space() {
        Space::Box { low, high, .. } => low
            .iter()
            .zip(high)
            .map(|(l, h)| rng.uniform(*l, *h) as f32)
            .collect(),
        Space::Discrete(_) => unreachable!("continuous tasks"),
    }
}

#[test]
fn spaces_have_gymnasiums_shapes() {
    // (task, obs, act, |ctrl| bound, nq, nv)
    let expected = [
        (Task::InvertedPendulum, 4, 1, 3.0, 2, 2),
        (Task::InvertedDoublePendulum, 9, 1, 1.0, 3, 3),
        (Task::HalfCheetah, 17, 6, 1.0, 9, 9),
        (Task::Hopper, 11, 3, 1.0, 6, 6),
        (Task::Walker2d, 17, 6, 1.0, 9, 9),
        (Task::Ant, 105, 8, 1.0, 15, 14),
        (Task::Humanoid, 348, 17, 0.4, 24, 23),
    ];
    for (task, obs, act, bound, nq, nv) in expected {
        let mut env = RapierEnv::new(task, 0).unwrap();
        assert_eq!(env.observation_space().flat_dim(), obs, "{task:?}");
        assert_eq!(
            env.action_space(),
            &Space::box_f32(&vec![-bound; act], &vec![bound; act]),
            "{task:?}"
        );
        let (q, v) = env.init_state();
        assert_eq!((q.len(), v.len()), (nq, nv), "{task:?}");
        let first = env.reset(None).unwrap();
        assert_eq!(first.obs.len(), obs, "{task:?}");
        let step = env.step(Action::Continuous(&vec![0.0; act])).unwrap();
        assert_eq!(step.obs.len(), obs, "{task:?}");
        assert!(!step.truncated);
    }
    // MuJoCo's reference poses: planar roots at their `ref`, free roots at the body's position.
    assert_eq!(RapierEnv::new(Task::Hopper, 0).unwrap().init_state().0[1], 1.25);
    let ant = RapierEnv::new(Task::Ant, 0).unwrap();
    assert_eq!(&ant.init_state().0[..7], &[0.0, 0.0, 0.75, 1.0, 0.0, 0.0, 0.0]);
    assert!((RapierEnv::new(Task::Humanoid, 0).unwrap().init_state().0[2] - 1.4).abs() < 1e-6);
}

#[test]
fn registry_builds_rapier_tasks_with_time_limits() {
    for task in Task::ALL {
        let env = make_env(task.id(), Backend::Rapier, 1).unwrap();
        assert_eq!(env.id(), task.id());
    }
    assert_eq!(
        make_env("halfcheetah", Backend::Auto, 1).unwrap().id(),
        "HalfCheetah-v5"
    );
    // HalfCheetah never terminates: the registered 1000-step limit truncates it.
    let mut env = make_env("HalfCheetah-v5", Backend::Auto, 1).unwrap();
    env.reset(None).unwrap();
    let zero = [0.0f32; 6];
    for i in 1..=1000 {
        let s = env.step(Action::Continuous(&zero)).unwrap();
        assert!(!s.terminated);
        assert_eq!(s.truncated, i == 1000, "step {i}");
    }
}

fn trajectory(task: Task, seed: u64, steps: usize) -> Vec<u64> {
    let mut env = RapierEnv::new(task, seed).unwrap();
    let mut rng = NumpyRng::new(7);
    let mut bits: Vec<u64> = env.reset(None).unwrap().obs.iter().map(|x| x.to_bits()).collect();
    for _ in 0..steps {
        let a = random_action(&env, &mut rng);
        let s = env.step(Action::Continuous(&a)).unwrap();
        bits.extend(s.obs.iter().map(|x| x.to_bits()));
        bits.push(s.reward.to_bits());
        if s.terminated {
            bits.extend(env.reset(None).unwrap().obs.iter().map(|x| x.to_bits()));
        }
    }
    bits
}

#[test]
fn same_seed_same_trajectory() {
    for task in [
        Task::HalfCheetah,
        Task::Ant,
        Task::Humanoid,
        Task::InvertedDoublePendulum,
    ] {
        let a = trajectory(task, 3, 40);
        assert_eq!(a, trajectory(task, 3, 40), "{task:?}");
        assert_ne!(
            a,
            trajectory(task, 4, 40),
            "{task:?}: another seed, another trajectory"
        );
    }
    // reset(Some(seed)) restarts the same episode.
    let mut env = RapierEnv::new(Task::Hopper, 0).unwrap();
    let first = env.reset(Some(11)).unwrap().obs;
    env.step(Action::Continuous(&[0.5, -0.5, 0.5])).unwrap();
    assert_eq!(env.reset(Some(11)).unwrap().obs, first);
    assert_eq!(
        RapierEnv::new(Task::Hopper, 11).unwrap().reset(None).unwrap().obs,
        first
    );
}

#[test]
fn termination_rules_are_gymnasiums() {
    // Hopper: unhealthy below z = 0.7 or beyond |angle| = 0.2.
    let mut env = RapierEnv::new(Task::Hopper, 0).unwrap();
    env.reset_to_state(&[0.0, 1.25, 0.3, 0.0, 0.0, 0.0], &[0.0; 6])
        .unwrap();
    let s = env.step(Action::Continuous(&[0.0; 3])).unwrap();
    assert!(s.terminated && s.info.get("reward_survive") == Some(0.0));
    assert_eq!(s.reward, s.info.get("reward_forward").unwrap()); // no survive bonus, no control cost
    env.reset_to_state(&[0.0, 1.25, 0.0, 0.0, 0.0, 0.0], &[0.0; 6])
        .unwrap();
    let s = env.step(Action::Continuous(&[0.0; 3])).unwrap();
    assert!(!s.terminated && s.info.get("reward_survive") == Some(1.0));
    // Walker2d: |angle| < 1 and 0.8 < z < 2.
    let mut env = RapierEnv::new(Task::Walker2d, 0).unwrap();
    env.reset_to_state(&[0.0, 2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], &[0.0; 9])
        .unwrap();
    assert!(env.step(Action::Continuous(&[0.0; 6])).unwrap().terminated);
    // InvertedPendulum: |θ| > 0.2 ends with reward 0.
    let mut env = RapierEnv::new(Task::InvertedPendulum, 0).unwrap();
    env.reset_to_state(&[0.0, 0.25], &[0.0, 0.0]).unwrap();
    let s = env.step(Action::Continuous(&[0.0])).unwrap();
    assert!(s.terminated && s.reward == 0.0);
    env.reset_to_state(&[0.0, 0.0], &[0.0, 0.0]).unwrap();
    let s = env.step(Action::Continuous(&[0.0])).unwrap();
    assert!(!s.terminated && s.reward == 1.0);
    // InvertedDoublePendulum: upright the tip is at y = 1.2 (two 0.6 m poles): reward 10 − (y − 2)²;
    // bent over, the tip drops below 1 and the episode ends.
    let mut env = RapierEnv::new(Task::InvertedDoublePendulum, 0).unwrap();
    env.reset_to_state(&[0.0, 0.0, 0.0], &[0.0; 3]).unwrap();
    let s = env.step(Action::Continuous(&[0.0])).unwrap();
    assert!(!s.terminated);
    let dist = -s.info.get("distance_penalty").unwrap();
    assert!((dist - 0.8f64.powi(2)).abs() < 1e-3, "{dist}");
    env.reset_to_state(&[0.0, 1.2, 0.0], &[0.0; 3]).unwrap();
    assert!(env.step(Action::Continuous(&[0.0])).unwrap().terminated);
    // Ant and Humanoid: healthy z ranges.
    let mut env = RapierEnv::new(Task::Ant, 0).unwrap();
    let (q, v) = (env.init_state().0.to_vec(), env.init_state().1.to_vec());
    let mut high = q.clone();
    high[2] = 1.5; // airborne above the healthy range (0.2, 1.0)
    env.reset_to_state(&high, &v).unwrap();
    assert!(env.step(Action::Continuous(&[0.0; 8])).unwrap().terminated);
    let mut env = RapierEnv::new(Task::Humanoid, 0).unwrap();
    let (q, v) = (env.init_state().0.to_vec(), env.init_state().1.to_vec());
    let s = {
        env.reset_to_state(&q, &v).unwrap();
        env.step(Action::Continuous(&[0.0; 17])).unwrap()
    };
    assert!(!s.terminated && s.info.get("reward_survive") == Some(5.0));
    assert!(env.reset_to_state(&q[1..], &v).is_err());
}

#[test]
fn free_fall_matches_gravity() {
    // Ant high above the floor with its ankles inside their ranges, at rest: nothing but gravity acts,
    // so the torso falls as rapier integrates g: one semi-implicit Euler substep per physics step of
    // h = 0.01 s, so after m steps z_m = z0 − g·h²·m(m+1)/2 and v_m = −g·h·m, within g·h·t of the exact
    // z0 − g·t²/2.
    let mut env = RapierEnv::new(Task::Ant, 0).unwrap();
    let mut q = env.init_state().0.to_vec();
    q[2] = 10.0;
    for (i, ankle) in [(8, 0.9), (10, -0.9), (12, -0.9), (14, 0.9)] {
        q[i] = ankle;
    }
    let v = vec![0.0; 14];
    env.reset_to_state(&q, &v).unwrap();
    let (g, h) = (9.81, 0.01);
    for step in 1..=6u32 {
        env.step(Action::Continuous(&[0.0; 8])).unwrap();
        let n = f64::from(5 * step); // physics steps so far (frame skip 5)
        let (qpos, qvel) = env.state().unwrap();
        let z_euler = 10.0 - g * h * h * n * (n + 1.0) / 2.0;
        let z_exact = 10.0 - g * (n * h).powi(2) / 2.0;
        assert!((qpos[2] - z_euler).abs() < 1e-3, "z {} vs {z_euler}", qpos[2]);
        assert!((qpos[2] - z_exact).abs() < g * h * n * h, "Euler error bound");
        assert!(
            (qvel[2] + g * h * n).abs() < 1e-3,
            "vz {} vs {}",
            qvel[2],
            -g * h * n
        );
        assert!(qpos[0].abs() < 1e-6 && qpos[1].abs() < 1e-6 && (qpos[3] - 1.0).abs() < 1e-6);
    }
}

/// Limited hinges of HalfCheetah (qpos 3..9) and Walker2d (qpos 3..9), from the models' `range`s.
const CHEETAH_RANGES: [(f64, f64); 6] = [
    (-0.52, 1.05),
    (-0.785, 0.785),
    (-0.4, 0.785),
    (-1.0, 0.7),
    (-1.2, 0.87),
    (-0.5, 0.5),
];

#[test]
fn joint_limits_hold_under_random_actions() {
    let deg = std::f64::consts::PI / 180.0;
    let walker = [
        (-150.0 * deg, 0.0),
        (-150.0 * deg, 0.0),
        (-45.0 * deg, 45.0 * deg),
    ]
    .repeat(2);
    for (task, ranges) in [
        (Task::HalfCheetah, CHEETAH_RANGES.to_vec()),
        (Task::Walker2d, walker),
    ] {
        let mut env = RapierEnv::new(task, 5).unwrap();
        env.reset(None).unwrap();
        let mut rng = NumpyRng::new(1);
        let mut worst: f64 = 0.0;
        for _ in 0..300 {
            let a = random_action(&env, &mut rng);
            if env.step(Action::Continuous(&a)).unwrap().terminated {
                env.reset(None).unwrap();
            }
            let q = env.state().unwrap().0;
            for (x, (lo, hi)) in q[3..].iter().zip(&ranges) {
                worst = worst.max(lo - x).max(x - hi);
            }
        }
        // Hard limits solved at the velocity level: a small overshoot within one step, no more.
        assert!(worst < 0.05, "{task:?}: a joint left its range by {worst} rad");
    }
}

/// Steps `steps` random (or zero) actions, resetting on termination; checks every observation and
/// reward is finite and the velocities stay physical.
fn run_stable(task: Task, steps: usize, zero: bool) {
    let mut env = RapierEnv::new(task, 9).unwrap();
    env.reset(None).unwrap();
    let mut rng = NumpyRng::new(2);
    let n = env.action_space().flat_dim();
    for i in 0..steps {
        let a = if zero {
            vec![0.0; n]
        } else {
            random_action(&env, &mut rng)
        };
        let s = env.step(Action::Continuous(&a)).unwrap();
        assert!(
            s.obs.iter().all(|x| x.is_finite()) && s.reward.is_finite(),
            "{task:?} step {i}"
        );
        let (_, qvel) = env.state().unwrap();
        let fastest = qvel.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(fastest < 200.0, "{task:?} step {i}: |qvel| = {fastest}: exploded");
        if s.terminated {
            env.reset(None).unwrap();
        }
    }
}

#[test]
fn stable_under_zero_and_random_actions() {
    for task in Task::ALL {
        run_stable(task, 200, true);
        run_stable(task, 300, false);
    }
}

#[test]
#[ignore = "10k random steps per task: about a minute in release (cargo test --release -- --ignored)"]
fn no_nan_in_ten_thousand_random_steps() {
    for task in Task::ALL {
        run_stable(task, 10_000, false);
    }
}

#[test]
fn every_task_renders() {
    for task in Task::ALL {
        let mut env = RapierEnv::new(task, 0).unwrap();
        assert!(env.render(32, 24).is_err(), "render before reset");
        env.reset(None).unwrap();
        let frame = env.render(80, 60).unwrap();
        let body = frame
            .rgb
            .chunks_exact(3)
            .filter(|p| i32::from(p[0]) > i32::from(p[2]) + 40)
            .count();
        assert!(body > 20, "{task:?}: only {body} robot pixels");
    }
}
