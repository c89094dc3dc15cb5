//! Environment steps per second of every locomotion task on every backend in this build, for
//! `cargo xtask bench envs`. Prints one JSON line per (task, backend):
//! `{"task": "Ant-v5", "backend": "rapier", "steps": 3000, "seconds": 2.1, "steps_per_s": 1428.6}`.
//!
//! `cargo run --release -p envs --example bench_envs -- [--steps N] [--tasks Ant-v5,Hopper-v5]`
//!
//! Each run: `make_env(id, backend, 0)` (with its registered time limit), `reset`, 100 untimed warm-up
//! steps, then `--steps` timed steps of uniform random actions drawn beforehand, resetting whenever an
//! episode ends (resets are timed, as in a training loop). The MuJoCo backend is timed when this build
//! has it (`make_env` answers `BackendNotImplemented` otherwise).

use std::time::Instant;

use envs::rng::NumpyRng;
use envs::{make_env, Action, Backend, EnvError, Space};

const TASKS: [&str; 7] = [
    "HalfCheetah-v5",
    "Hopper-v5",
    "Walker2d-v5",
    "Ant-v5",
    "Humanoid-v5",
    "InvertedPendulum-v5",
    "InvertedDoublePendulum-v5",
];
const WARMUP: usize = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut steps = 3000usize;
    let mut tasks: Vec<String> = TASKS.iter().map(|s| s.to_string()).collect();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--steps" => steps = args.next().ok_or("--steps needs a value")?.parse()?,
            "--tasks" => {
                tasks = args
                    .next()
                    .ok_or("--tasks needs a value")?
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            other => return Err(format!("unknown argument {other}; use --steps N, --tasks A,B").into()),
        }
    }
    for task in &tasks {
        for backend in [Backend::Rapier, Backend::Mujoco] {
            let mut env = match make_env(task, backend, 0) {
                Ok(env) => env,
                Err(EnvError::BackendNotImplemented { .. }) => continue,
                Err(e) if backend == Backend::Mujoco => {
                    eprintln!("{task}: MuJoCo backend unavailable, skipped: {e}");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let Space::Box { low, high, .. } = env.action_space().clone() else {
                return Err(format!("{task}: not a continuous task").into());
            };
            let mut rng = NumpyRng::new(1);
            let actions: Vec<Vec<f32>> = (0..1000)
                .map(|_| {
                    low.iter()
                        .zip(&high)
                        .map(|(l, h)| rng.uniform(*l, *h) as f32)
                        .collect()
                })
                .collect();
            env.reset(None)?;
            let mut run = |n: usize| -> envs::Result<()> {
                for i in 0..n {
                    if env.step(Action::Continuous(&actions[i % actions.len()]))?.done() {
                        env.reset(None)?;
                    }
                }
                Ok(())
            };
            run(WARMUP)?;
            let t0 = Instant::now();
            run(steps)?;
            let seconds = t0.elapsed().as_secs_f64();
            println!(
                "{{\"task\": \"{task}\", \"backend\": \"{backend}\", \"steps\": {steps}, \"seconds\": {seconds:.6}, \
                 \"steps_per_s\": {:.1}}}",
                steps as f64 / seconds
            );
        }
    }
    Ok(())
}
