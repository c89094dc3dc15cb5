//! The rules against Gymnasium 1.4's own code: `tests/golden/v5_rules.json`, written by
//! `tests/golden/v5_rules.py` (see its header for the command), holds states, actions, contact forces and
//! what Gymnasium's `_get_rew` / `is_healthy` / `step` made of them. Rewards and reward terms must be
//! identical to the bit, terminations equal; the cases sit on both sides of every healthy-range bound.

use serde_json::Value;

use super::*;

fn golden() -> Vec<Value> {
    let all: Value = serde_json::from_str(include_str!("../../tests/golden/v5_rules.json"))
        .expect("tests/golden/v5_rules.json parses");
    all["cases"].as_array().expect("a list of cases").clone()
}

/// A float written as Python's `repr` (`nan` and `inf` included): parsed back to the same double.
fn float(v: &Value) -> f64 {
    v.as_str().expect("a float as a string").parse().expect("a float")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(float).collect()
}

/// The outcome the rules give for a golden case.
fn outcome(case: &Value) -> Outcome {
    let task = Task::from_id(case["id"].as_str().unwrap()).expect("a v5 id");
    let (qpos, qvel) = (floats(&case["qpos"]), floats(&case["qvel"]));
    if matches!(task, Task::InvertedPendulum | Task::InvertedDoublePendulum) {
        let tip = floats(&case["tip"]);
        return match task {
            Task::InvertedPendulum => inverted_pendulum(&[qpos, qvel].concat()),
            _ => inverted_double_pendulum([tip[0], tip[1], tip[2]], &qvel),
        };
    }
    let ctrl = floats(&case["action"]);
    let action: Vec<f32> = ctrl.iter().map(|&a| a as f32).collect();
    let cfrc_ext = floats(&case["cfrc_ext"]);
    let v = floats(&case["velocity"]);
    match task {
        Task::HalfCheetah => HALF_CHEETAH.step(&qpos, v[0], &action),
        Task::Hopper => HOPPER.step(&qpos, &qvel, v[0], &action, 1.25),
        Task::Walker2d => WALKER2D.step(&qpos, &qvel, v[0], &action, 1.25),
        Task::Ant => ANT.step(&qpos, &qvel, [v[0], v[1]], &action, &cfrc_ext),
        Task::Humanoid => HUMANOID.step(&qpos, [v[0], v[1]], &ctrl, &cfrc_ext),
        Task::InvertedPendulum | Task::InvertedDoublePendulum => unreachable!("returned above"),
    }
}

#[test]
fn rewards_terminations_and_terms_are_gymnasiums_to_the_bit() {
    let cases = golden();
    assert_eq!(cases.len(), 38, "the golden file holds every case of v5_rules.py");
    let mut terminated = 0;
    for (i, case) in cases.iter().enumerate() {
        let id = case["id"].as_str().unwrap();
        let got = outcome(case);
        let want = float(&case["reward"]);
        assert_eq!(
            got.reward.to_bits(),
            want.to_bits(),
            "case {i} ({id}): reward {} vs {want}",
            got.reward
        );
        assert_eq!(
            got.terminated,
            case["terminated"].as_bool().unwrap(),
            "case {i} ({id}): terminated"
        );
        terminated += usize::from(got.terminated);
        for (key, value) in case["info"].as_object().unwrap() {
            let v = got
                .info
                .get(key)
                .unwrap_or_else(|| panic!("case {i} ({id}): no info[{key:?}]"));
            assert_eq!(
                v.to_bits(),
                float(value).to_bits(),
                "case {i} ({id}): info[{key:?}] = {v}"
            );
        }
    }
    // The cases cover both outcomes (and Humanoid's contact cost cap, case 24).
    assert_eq!(terminated, 15);
    assert_eq!(float(&cases[24]["info"]["reward_contact"]), -10.0);
}

#[test]
fn healthy_ranges_are_open_or_closed_as_in_gymnasium() {
    // Hopper: qpos = [x, z, angle, ...]; every bound is strict.
    let hopper = |z: f64, angle: f64, v: f64| HOPPER.is_healthy(&[0.0, z, angle, 0.0, 0.0, 0.0], &[v; 6]);
    assert!(hopper(1.25, 0.0, 0.0));
    assert!(!hopper(0.7, 0.0, 0.0) && hopper(0.71, 0.0, 0.0) && hopper(1e6, 0.0, 0.0));
    assert!(!hopper(1.25, 0.2, 0.0) && !hopper(1.25, -0.2, 0.0) && hopper(1.25, 0.19, 0.0));
    assert!(!hopper(1.25, 0.0, 100.0) && !hopper(1.25, 0.0, -100.0) && hopper(1.25, 0.0, 99.9));
    assert!(!hopper(f64::NAN, 0.0, 0.0) && !hopper(1.25, 0.0, f64::NAN));
    // Walker2d: no state range; z in (0.8, 2.0), angle in (−1, 1).
    let walker = |z: f64, angle: f64| WALKER2D.is_healthy(&[0.0, z, angle], &[1e9]);
    assert!(walker(1.25, 0.0) && !walker(0.8, 0.0) && !walker(2.0, 0.0) && !walker(1.25, 1.0));
    // Ant: the height range is closed, and the state must be finite.
    let ant = |z: f64, v: f64| ANT.is_healthy(&[0.0, 0.0, z], &[v]);
    assert!(ant(0.2, 0.0) && ant(1.0, 0.0) && !ant(0.199, 0.0) && !ant(1.001, 0.0));
    assert!(!ant(0.5, f64::INFINITY) && !ant(0.5, f64::NAN));
    // Humanoid: open (1, 2).
    let humanoid = |z: f64| HUMANOID.is_healthy(&[0.0, 0.0, z]);
    assert!(humanoid(1.4) && !humanoid(1.0) && !humanoid(2.0));
}

#[test]
fn costs_group_as_gymnasium_groups_them() {
    // Ant: (forward + healthy) − (ctrl + contact). With ctrl = 0.5 and a contact cost d in (2⁻⁵⁵, 2⁻⁵⁴),
    // 0.5 + d rounds to 0.5, so the reward is exactly 1 − 0.5; a left-to-right chain
    // (forward + healthy − ctrl − contact) would give 0.5 − d < 0.5.
    let force = [2.83e-7];
    let d = ANT.contact_cost(&force);
    assert!(d > 2f64.powi(-55) && d < 2f64.powi(-54), "{d:e}");
    let got = ANT.step(&[0.0, 0.0, 0.5], &[0.0], [0.0, 0.0], &[1.0], &force);
    assert_eq!(got.reward, 0.5);
    assert_ne!(((0.0 + 1.0) - 0.5) - d, 0.5);
    // Contact forces are clipped to [−1, 1] before squaring: 84 entries of ±7 cost 5e-4 · 84.
    let forces: Vec<f64> = (0..84).map(|i| if i % 2 == 0 { 7.0 } else { -7.0 }).collect();
    assert_eq!(ANT.contact_cost(&forces), 5e-4 * 84.0);
    // Humanoid's contact cost is capped at 10, and a NaN stays NaN (numpy's clip), not the cap.
    assert_eq!(HUMANOID.contact_cost(&[1e5; 6]), 10.0);
    assert!(HUMANOID.contact_cost(&[f64::NAN]).is_nan());
}

#[test]
fn reset_info_has_gymnasiums_keys() {
    let qpos = [3.0, 4.0, 0.5];
    let keys = |task: Task| -> Vec<&str> {
        task.reset_info(&qpos, 1.25)
            .values
            .iter()
            .map(|(k, _)| *k)
            .collect()
    };
    assert_eq!(keys(Task::HalfCheetah), ["x_position"]);
    assert_eq!(keys(Task::Hopper), ["x_position", "z_distance_from_origin"]);
    assert_eq!(
        Task::Walker2d
            .reset_info(&qpos, 1.25)
            .get("z_distance_from_origin"),
        Some(4.0 - 1.25)
    );
    assert_eq!(
        keys(Task::Ant),
        ["x_position", "y_position", "distance_from_origin"]
    );
    assert_eq!(
        Task::Humanoid.reset_info(&qpos, 0.0).get("distance_from_origin"),
        Some(5.0)
    );
    assert!(keys(Task::InvertedPendulum).is_empty() && keys(Task::InvertedDoublePendulum).is_empty());
    for task in Task::ALL {
        assert_eq!(Task::from_id(task.id()), Some(task));
    }
    assert_eq!(Task::from_id("Ant-v4"), None);
}

#[test]
fn reset_noise_draws_positions_then_velocities_from_one_stream() {
    let (init_qpos, init_qvel) = ([0.0, 1.25, 0.0], [0.0, 0.0]);
    // Hopper: uniform(−5e-3, 5e-3) on all five entries, positions first.
    let mut rng = crate::rng::NumpyRng::new(3);
    let (qpos, qvel) = Task::Hopper.noisy_initial_state(&mut rng, &init_qpos, &init_qvel, |_| unreachable!());
    let mut replay = crate::rng::NumpyRng::new(3);
    let want: Vec<f64> = [init_qpos.as_slice(), &init_qvel]
        .concat()
        .iter()
        .map(|x| x + replay.uniform(-5e-3, 5e-3))
        .collect();
    assert_eq!([qpos, qvel].concat(), want);
    // Ant: s = 0.1 and velocities from the backend's normal sampler.
    let mut rng = crate::rng::NumpyRng::new(3);
    let (qpos, qvel) = Task::Ant.noisy_initial_state(&mut rng, &init_qpos, &init_qvel, |_| 2.0);
    assert!(qpos.iter().zip(init_qpos).all(|(q, q0)| (q - q0).abs() <= 0.1));
    assert_eq!(qvel, [0.2, 0.2]);
    let scales: Vec<f64> = Task::ALL.iter().map(|t| t.reset_noise_scale()).collect();
    assert_eq!(scales, [0.1, 0.1, 1e-2, 5e-3, 5e-3, 1e-2, 0.1]); // Gymnasium's v5 defaults, ALL's order
}
