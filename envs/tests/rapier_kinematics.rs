//! The rapier models against MuJoCo itself: body masses (from the geoms) and forward kinematics (body
//! positions and orientations for a given `qpos`), which pins joint axes, anchors, signs, `ref`
//! offsets, the free joint's layout and the `qpos` order. Golden values from MuJoCo 3.17.0 through
//! `tests/golden/rapier_kinematics.py`.

use envs::rapier::{RapierEnv, Task};
use serde_json::Value;

const GOLDEN: &str = include_str!("golden/rapier_kinematics.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn masses_and_forward_kinematics_match_mujoco() {
    let golden: Value = serde_json::from_str(GOLDEN).unwrap();
    for task in Task::ALL {
        let g = &golden["tasks"][task.id()];
        let qpos = floats(&g["qpos"]);
        let masses = floats(&g["mass"]);
        let mut env = RapierEnv::new(task, 0).unwrap();
        let ours = env.body_masses();
        assert_eq!(ours.len(), masses.len(), "{task:?}: bodies");
        for (b, (m, want)) in ours.iter().zip(&masses).enumerate() {
            // rapier3d is f32: 1e-4 relative.
            assert!(
                (m - want).abs() <= 1e-4 * want.max(1e-3),
                "{task:?} body {}: mass {m} vs MuJoCo's {want}",
                b + 1
            );
        }
        let nv = env.init_state().1.len();
        env.reset_to_state(&qpos, &vec![0.0; nv]).unwrap();
        let poses = env.body_poses().unwrap();
        let (xpos, xquat) = (g["xpos"].as_array().unwrap(), g["xquat"].as_array().unwrap());
        for (b, ((p, q), (want_p, want_q))) in poses.iter().zip(xpos.iter().zip(xquat)).enumerate() {
            let (want_p, want_q) = (floats(want_p), floats(want_q));
            for k in 0..3 {
                assert!(
                    (p[k] - want_p[k]).abs() < 1e-5,
                    "{task:?} body {}: xpos {p:?} vs {want_p:?}",
                    b + 1
                );
            }
            // q and −q are the same rotation.
            let dot: f64 = (0..4).map(|k| q[k] * want_q[k]).sum();
            assert!(
                dot.abs() > 1.0 - 1e-6,
                "{task:?} body {}: xquat {q:?} vs {want_q:?}",
                b + 1
            );
        }
    }
}
