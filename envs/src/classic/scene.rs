//! What [`CartPole`](super::CartPole) and [`Pendulum`](super::Pendulum) look like: Gymnasium's pygame
//! drawings redone as [`crate::render`] shapes, in a side view.

use crate::render::{draw, Camera, Frame, Shape, ShapeKind};

const TRACK: [u8; 3] = [0, 0, 0];
const CART: [u8; 3] = [30, 30, 30];
const POLE: [u8; 3] = [202, 152, 101];
const AXLE: [u8; 3] = [129, 132, 203];
const ROD: [u8; 3] = [204, 77, 77];

/// Gymnasium's CartPole picture: a 4.8 m wide world across the frame, the track a quarter of the height
/// from the bottom, a 0.4 × 0.24 m cart (50 × 30 px at 600 px), a 1 m pole leaning right for θ > 0.
pub(super) fn cartpole(state: [f64; 4], width: u32, height: u32) -> Frame {
    let [x, _, theta, _] = state;
    let scale = f64::from(width) / (2.0 * super::CartPole::X_THRESHOLD);
    let center_z = f64::from(height) / 4.0 / scale; // track 1/4 of the height above the bottom
    let camera = Camera::side([0.0, 0.0, center_z], scale).with_background([255; 3]);
    let (cart_w, cart_h, pole_w) = (50.0 / 125.0, 30.0 / 125.0, 10.0 / 125.0);
    let axle = [x, 0.0, cart_h / 4.0];
    let tip = [
        x + theta.sin() * 2.0 * super::CartPole::HALF_LENGTH,
        0.0,
        axle[2] + theta.cos() * 2.0 * super::CartPole::HALF_LENGTH,
    ];
    // The pole hangs in front of the cart (toward the viewer, −y), so that it covers it.
    let mut pole = Shape::capsule_between(axle, tip, pole_w / 2.0, POLE);
    pole.position[1] -= 0.3;
    let shapes = [
        Shape::new(
            ShapeKind::Cuboid {
                half_extents: [50.0, 0.5, 0.5 / scale],
            },
            [0.0, 1.0, 0.0],
            TRACK,
        ),
        Shape::new(
            ShapeKind::Cuboid {
                half_extents: [cart_w / 2.0, 0.2, cart_h / 2.0],
            },
            [x, 0.0, 0.0],
            CART,
        ),
        pole,
        Shape::new(
            ShapeKind::Sphere { radius: pole_w / 2.0 },
            [axle[0], -0.5, axle[2]],
            AXLE,
        ),
    ];
    draw(&shapes, &camera, width, height)
}

/// Gymnasium's Pendulum picture: a 4.4 m square world, a 1 m rod of 0.2 m width from the pivot at the
/// centre, upright at θ = 0 and turning counter-clockwise (tip at (−sin θ, cos θ)).
pub(super) fn pendulum(theta: f64, width: u32, height: u32) -> Frame {
    let scale = f64::from(width.min(height)) / 4.4;
    let camera = Camera::side([0.0; 3], scale).with_background([255; 3]);
    let tip = [-theta.sin(), 0.0, theta.cos()];
    let shapes = [
        Shape::capsule_between([0.0; 3], tip, 0.1, ROD),
        Shape::new(ShapeKind::Sphere { radius: 0.05 }, [0.0, -0.5, 0.0], TRACK),
    ];
    draw(&shapes, &camera, width, height)
}
