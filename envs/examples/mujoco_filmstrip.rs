//! Filmstrips of the MuJoCo backend's tasks: one PNG per task, `frames` pictures of an episode under
//! uniform random actions (seed 0), drawn by `Env::render` from the geoms' poses.
//!
//! ```sh
//! cargo xtask setup --mujoco && eval "$(cargo xtask env)"
//! cargo run -p envs --features mujoco --example mujoco_filmstrip -- [out_dir] [frames]
//! ```
//! writes `<out_dir>/<id>.png` (default: the system's temporary directory, 8 frames 4 steps apart).

use envs::mujoco::{MujocoEnv, MujocoTask};
use envs::render::write_filmstrip;
use envs::rng::NumpyRng;
use envs::{Action, Env, Space};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let frames: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(8);
    std::fs::create_dir_all(&out)?;
    for task in MujocoTask::ALL {
        let mut env = MujocoEnv::new(task, 0)?;
        env.reset(None)?;
        let Space::Box { low, high, .. } = env.action_space().clone() else {
            return Err("MuJoCo tasks have box actions".into());
        };
        let mut rng = NumpyRng::new(0);
        let mut strip = vec![env.render(160, 120)?];
        while strip.len() < frames {
            for _ in 0..4 {
                let a: Vec<f32> = low
                    .iter()
                    .zip(&high)
                    .map(|(&l, &h)| rng.uniform(l, h) as f32)
                    .collect();
                if env.step(Action::Continuous(&a))?.terminated {
                    env.reset(None)?;
                }
            }
            strip.push(env.render(160, 120)?);
        }
        let path = out.join(format!("{}.png", task.id()));
        write_filmstrip(&strip, 4, &path)?;
        println!("{}", path.display());
    }
    Ok(())
}
