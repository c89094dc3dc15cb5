//! Headless rendering: classic-control pictures, forwarding through wrappers, PNG/GIF files.

use envs::render::{draw, write_filmstrip, write_gif, Camera, Frame, Shape, ShapeKind};
use envs::{make_env, Action, Backend, Env, EnvError, Reset, Space, Step};

fn colored(frame: &Frame, color: [u8; 3]) -> usize {
    frame.rgb.chunks_exact(3).filter(|p| *p == color).count()
}

/// Mean column of the pixels that are neither white nor the track: where the pole and cart are.
fn centroid_column(frame: &Frame, keep: impl Fn([u8; 3]) -> bool) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    for (i, p) in frame.rgb.chunks_exact(3).enumerate() {
        if keep([p[0], p[1], p[2]]) {
            sum += (i % frame.width as usize) as f64;
            n += 1.0;
        }
    }
    assert!(n > 0.0, "nothing drawn");
    sum / n
}

#[test]
fn cartpole_draws_the_cart_where_it_is() {
    let mut env = envs::classic::CartPole::new(0);
    assert!(matches!(env.render(60, 40), Err(EnvError::ResetNeeded { .. })));
    let cart = |p: [u8; 3]| p[0] < 40 && p[0] > 0 && p[0] == p[1] && p[1] == p[2];
    env.reset_to_state(&[0.0, 0.0, 0.0, 0.0]).unwrap();
    let mid = env.render(600, 400).unwrap();
    assert_eq!((mid.width, mid.height, mid.rgb.len()), (600, 400, 600 * 400 * 3));
    // 125 px per metre: the cart is centred on column 300 and moves 125 px for x = 1 m.
    assert!((centroid_column(&mid, cart) - 300.0).abs() < 1.0);
    env.reset_to_state(&[1.0, 0.0, 0.0, 0.0]).unwrap();
    let right = env.render(600, 400).unwrap();
    assert!((centroid_column(&right, cart) - 425.0).abs() < 1.0);
    // The pole (its colour lit or shaded) leans right for θ > 0.
    let pole = |p: [u8; 3]| i32::from(p[0]) > i32::from(p[2]) + 40 && p[0] < 250;
    env.reset_to_state(&[0.0, 0.0, 0.2, 0.0]).unwrap();
    assert!(centroid_column(&env.render(600, 400).unwrap(), pole) > 310.0);
    assert!(matches!(
        env.render(0, 40),
        Err(EnvError::InvalidParameter { .. })
    ));
}

#[test]
fn pendulum_tip_follows_theta() {
    let mut env = envs::classic::Pendulum::new(0);
    let rod = |p: [u8; 3]| i32::from(p[0]) > i32::from(p[1]) + 40;
    env.reset_to_state(&[0.0, 0.0]).unwrap();
    let up = env.render(100, 100).unwrap();
    assert!((centroid_column(&up, rod) - 50.0).abs() < 1.0);
    env.reset_to_state(&[std::f64::consts::FRAC_PI_2, 0.0]).unwrap();
    let left = env.render(100, 100).unwrap();
    assert!(centroid_column(&left, rod) < 45.0, "θ = π/2 points left");
    // Same state, same picture.
    assert_eq!(left, env.render(100, 100).unwrap());
}

#[test]
fn wrappers_and_boxes_forward_render() {
    let mut env = make_env("CartPole-v1", Backend::Auto, 3).unwrap(); // Box<TimeLimit<CartPole>>
    env.reset(None).unwrap();
    let mut stacked =
        envs::wrappers::ClipReward::new(envs::wrappers::RecordEpisodeStatistics::new(env), -1.0, 1.0)
            .unwrap();
    let frame = stacked.render(120, 80).unwrap();
    assert_eq!(frame.rgb.len(), 120 * 80 * 3);
}

/// An environment without a picture: the provided `render` says so.
struct Blind(Space);

impl Env for Blind {
    fn id(&self) -> &str {
        "Blind-v0"
    }
    fn observation_space(&self) -> &Space {
        &self.0
    }
    fn action_space(&self) -> &Space {
        &self.0
    }
    fn reset(&mut self, _seed: Option<u64>) -> envs::Result<Reset> {
        unreachable!("not used")
    }
    fn step(&mut self, _action: Action<'_>) -> envs::Result<Step> {
        unreachable!("not used")
    }
}

#[test]
fn default_render_is_unsupported() {
    let mut env: Box<dyn Env> = Box::new(Blind(Space::Discrete(2)));
    assert_eq!(
        env.render(10, 10),
        Err(EnvError::RenderUnsupported("Blind-v0".into()))
    );
}

fn decode_png(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn png_filmstrip_and_gif_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cam = Camera::side([0.0; 3], 10.0);
    let frames: Vec<Frame> = (0..3)
        .map(|i| {
            let ball = Shape::new(
                ShapeKind::Sphere { radius: 0.5 },
                [f64::from(i) - 1.0, 0.0, 0.0],
                [250, 10, 10],
            );
            draw(&[ball], &cam, 30, 20)
        })
        .collect();
    let png_path = dir.path().join("f.png");
    frames[0].write_png(&png_path).unwrap();
    assert_eq!(decode_png(&png_path), (30, 20, frames[0].rgb.clone()));

    let strip_path = dir.path().join("strip.png");
    write_filmstrip(&frames, 2, &strip_path).unwrap();
    let (w, h, rgb) = decode_png(&strip_path);
    assert_eq!((w, h), (60, 40));
    let strip = Frame {
        width: w,
        height: h,
        rgb,
    };
    assert_eq!(strip.pixel(35, 5), frames[1].pixel(5, 5));
    assert_eq!(strip.pixel(45, 30), [255; 3]); // the empty fourth cell
    assert!(colored(&strip, [255; 3]) >= 600);

    let gif_path = dir.path().join("a.gif");
    write_gif(&frames, &gif_path, 20).unwrap();
    let bytes = std::fs::read(&gif_path).unwrap();
    assert_eq!(&bytes[..6], b"GIF89a");
    assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 30);

    let missing = dir.path().join("no/such/dir/x.png");
    let err = frames[0].write_png(&missing).unwrap_err();
    assert!(err.to_string().contains("x.png"), "{err}");
    assert!(write_gif(&[], &gif_path, 20).is_err());
    assert!(write_gif(&frames, &gif_path, 0).is_err());
    let odd = Frame::filled(4, 4, [0; 3]);
    assert!(write_filmstrip(&[frames[0].clone(), odd], 2, &strip_path).is_err());
}
