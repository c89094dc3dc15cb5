//! Environment steps per second of the MuJoCo backend, beside raw `mj_step` and Python Gymnasium.
//!
//! ```sh
//! cargo xtask setup --mujoco && eval "$(cargo xtask env)"
//! cargo run -p envs --release --features mujoco --example mujoco_steps            # ours + raw mj_step
//! cargo run -p envs --release --features mujoco --example mujoco_steps -- --gymnasium   # + Python, same run
//! ```
//!
//! For each task, the same trajectory three times: `MujocoEnv` (seed 0, reset when an episode terminates
//! or reaches Gymnasium's 1000-step limit) stepped with uniform random actions drawn beforehand from
//! `default_rng(0)`; "raw": bare `mj_step` (`frame_skip` per env step) on the same model with the same
//! controls and the same reset states (the ceiling of any wrapper); with `--gymnasium`, `$PISA_PYTHON`
//! runs `gym.make(id)` (needs `mujoco==3.17.0` in the venv) with `reset(seed=0)` and the same actions
//! (`np.random.default_rng(0).uniform(low, high)` per step, as [`NumpyRng`] draws them), so its episodes
//! are the very same ones. Each figure is the best of three runs; one thread everywhere.

use std::process::Command;
use std::time::Instant;

use envs::mujoco::{assets_dir, MujocoEnv, MujocoTask};
use envs::rng::NumpyRng;
use envs::{Action, Env, Space};
use mujoco_rs::prelude::{MjData, MjModel};

/// The Python side: same tasks, step counts and protocol, printing `id steps_per_second` lines.
const GYMNASIUM_BENCH: &str = r#"
import sys, time
import gymnasium as gym
import numpy as np
env_id, steps, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = gym.make(env_id)
rng = np.random.default_rng(0)
low, high = env.action_space.low.astype(np.float64), env.action_space.high.astype(np.float64)
actions = [rng.uniform(low, high).astype(np.float32) for _ in range(steps)]
best = 0.0
for _ in range(repeats):
    env.reset(seed=0)
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    best = max(best, steps / (time.perf_counter() - start))
print(best)
"#;

/// Gymnasium's registered time limit of every v5 task.
const MAX_EPISODE_STEPS: usize = 1000;

fn steps_for(task: MujocoTask) -> usize {
    match task {
        MujocoTask::Ant | MujocoTask::Humanoid => 3_000,
        _ => 10_000,
    }
}

/// `n` actions, each `default_rng(0).uniform(low, high)` rounded to `f32`, as the Python side draws them.
fn random_actions(space: &Space, n: usize) -> Vec<Vec<f32>> {
    let mut rng = NumpyRng::new(0);
    let Space::Box { low, high, .. } = space else {
        panic!("MuJoCo tasks have box actions")
    };
    (0..n)
        .map(|_| {
            low.iter()
                .zip(high)
                .map(|(&l, &h)| rng.uniform(l, h) as f32)
                .collect()
        })
        .collect()
}

/// Where episodes start: (env step index, qpos, qvel) of every reset, from a first untimed pass.
type Resets = Vec<(usize, Vec<f64>, Vec<f64>)>;

/// Steps `env` through `actions`, resetting at termination or the time limit; records resets if asked.
fn run_env(env: &mut MujocoEnv, actions: &[Vec<f32>], mut resets: Option<&mut Resets>) {
    env.reset(Some(0)).expect("reset");
    let mut record = |t: usize, env: &MujocoEnv| {
        if let Some(r) = resets.as_deref_mut() {
            r.push((t, env.qpos().to_vec(), env.qvel().to_vec()));
        }
    };
    record(0, env);
    let mut episode_len = 0;
    for (t, a) in actions.iter().enumerate() {
        let step = env.step(Action::Continuous(a)).expect("step");
        episode_len += 1;
        if step.terminated || episode_len == MAX_EPISODE_STEPS {
            env.reset(None).expect("reset");
            episode_len = 0;
            record(t + 1, env);
        }
    }
}

/// Env steps per second of the backend.
fn ours(task: MujocoTask, actions: &[Vec<f32>]) -> f64 {
    let mut env = MujocoEnv::new(task, 0).expect("MuJoCo task");
    let start = Instant::now();
    run_env(&mut env, actions, None);
    actions.len() as f64 / start.elapsed().as_secs_f64()
}

/// Env-step equivalents per second of bare `mj_step` on the same trajectory.
fn raw(task: MujocoTask, actions: &[Vec<f32>], resets: &Resets) -> f64 {
    let model = MjModel::from_xml(assets_dir().expect("assets").join(task.xml_file())).expect("model");
    let mut data = MjData::new(&model);
    let mut next = resets.iter().peekable();
    let start = Instant::now();
    for (t, a) in actions.iter().enumerate() {
        if let Some((_, qpos, qvel)) = next.next_if(|r| r.0 == t) {
            data.reset();
            data.qpos_mut().copy_from_slice(qpos);
            data.qvel_mut().copy_from_slice(qvel);
            data.forward();
        }
        for (c, &x) in data.ctrl_mut().iter_mut().zip(a) {
            *c = f64::from(x);
        }
        for _ in 0..task.frame_skip() {
            data.step();
        }
    }
    actions.len() as f64 / start.elapsed().as_secs_f64()
}

/// Best of [`REPEATS`] runs of the Python side for one task, in env steps per second.
fn gymnasium(task: MujocoTask, steps: usize) -> f64 {
    let python = std::env::var("PISA_PYTHON").expect("PISA_PYTHON: run `eval \"$(cargo xtask env)\"`");
    let out = Command::new(python)
        .args(["-W", "ignore", "-c", GYMNASIUM_BENCH, task.id()])
        .args([steps.to_string(), REPEATS.to_string()])
        // Python MuJoCo logs Humanoid's XML deprecation warning to ./MUJOCO_LOG.TXT: not into the repo.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run Python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("steps/s from Python")
}

/// Each measurement is the best of this many runs (the machine may be shared).
const REPEATS: usize = 3;

/// Best of [`REPEATS`] calls of `f`.
fn best(mut f: impl FnMut() -> f64) -> f64 {
    (0..REPEATS).map(|_| f()).fold(0.0, f64::max)
}

fn main() {
    let with_python = std::env::args().any(|a| a == "--gymnasium");
    println!("| task | steps (episodes) | ours (steps/s) | raw mj_step (steps/s) | ours / raw | Gymnasium (steps/s) | ours / Gymnasium |");
    println!("|---|---|---|---|---|---|---|");
    for task in MujocoTask::ALL {
        let n = steps_for(task);
        let mut env = MujocoEnv::new(task, 0).expect("MuJoCo task");
        let actions = random_actions(env.action_space(), n);
        let mut resets = Resets::new();
        run_env(&mut env, &actions, Some(&mut resets));
        let ours = best(|| ours(task, &actions));
        let raw = best(|| raw(task, &actions, &resets));
        let gym = with_python.then(|| gymnasium(task, n));
        let (gym_col, ratio_col) = match gym {
            Some(g) => (format!("{g:.0}"), format!("{:.2}×", ours / g)),
            None => ("–".into(), "–".into()),
        };
        println!(
            "| {} | {n} ({}) | {ours:.0} | {raw:.0} | {:.0} % | {gym_col} | {ratio_col} |",
            task.id(),
            resets.len(),
            100.0 * ours / raw
        );
    }
}
