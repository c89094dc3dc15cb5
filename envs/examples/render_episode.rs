//! Renders an episode of a task under random actions to an animated GIF and a PNG filmstrip.
//!
//! `cargo run -p envs --release --example render_episode -- HalfCheetah-v5 [steps] [out_dir]`
//! writes `<out_dir>/<id>.gif` and `<out_dir>/<id>.png` (default: the system's temporary directory).

use envs::render::{write_filmstrip, write_gif};
use envs::{make_env, Action, Backend, OwnedAction};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let id = args.next().unwrap_or_else(|| "CartPole-v1".into());
    let steps: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    let out = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let mut env = make_env(&id, Backend::Auto, 0)?;
    env.reset(None)?;
    let space = env.action_space().clone();
    let mut rng = envs::rng::NumpyRng::new(1);
    let mut frames = vec![env.render(320, 240)?];
    for _ in 0..steps {
        let action = space.sample(&mut rng);
        let step = match &action {
            OwnedAction::Discrete(a) => env.step(Action::Discrete(*a))?,
            OwnedAction::Continuous(a) => env.step(Action::Continuous(a))?,
        };
        frames.push(env.render(320, 240)?);
        if step.done() {
            break;
        }
    }
    let gif = out.join(format!("{id}.gif"));
    write_gif(&frames, &gif, 25)?;
    let strip: Vec<_> = frames
        .iter()
        .step_by(frames.len().div_ceil(8).max(1))
        .cloned()
        .collect();
    let png = out.join(format!("{id}.png"));
    write_filmstrip(&strip, 4, &png)?;
    println!("{} frames: {} and {}", frames.len(), gif.display(), png.display());
    Ok(())
}
