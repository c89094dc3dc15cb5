//! Rendering a rapier task: every collider as a [`crate::render`] shape, seen by a camera that tracks
//! the robot.

use rapier3d::prelude::*;

use super::sim::Sim;
use super::task::Task;
use crate::render::{draw as draw_shapes, quat_from_z, Camera, Frame, Shape, ShapeKind};

const BODY: [u8; 3] = [204, 153, 102];
const FLOOR: [u8; 3] = [190, 215, 190];

fn v64(v: Vector) -> [f64; 3] {
    [f64::from(v.x), f64::from(v.y), f64::from(v.z)]
}

fn q64(q: Rotation) -> [f64; 4] {
    [q.w, q.x, q.y, q.z].map(f64::from)
}

/// The shape of a collider in the world, `None` for shapes the renderer does not draw.
fn shape_of(collider: &Collider, color: [u8; 3]) -> Option<Shape> {
    let pose = collider.position();
    let (t, r) = (pose.translation, pose.rotation);
    let s = collider.shape();
    if let Some(ball) = s.as_ball() {
        return Some(Shape::new(
            ShapeKind::Sphere {
                radius: f64::from(ball.radius),
            },
            v64(t),
            color,
        ));
    }
    if let Some(c) = s.as_capsule() {
        let (a, b) = (
            pose.transform_point(c.segment.a),
            pose.transform_point(c.segment.b),
        );
        return Some(Shape::capsule_between(v64(a), v64(b), f64::from(c.radius), color));
    }
    if let Some(c) = s.as_cuboid() {
        let kind = ShapeKind::Cuboid {
            half_extents: v64(c.half_extents),
        };
        return Some(Shape::new(kind, v64(t), color).rotated(q64(r)));
    }
    if let Some(c) = s.as_cylinder() {
        // Drawn as a capsule of the same radius: close enough for a picture.
        let axis = r * Vector::Y;
        let kind = ShapeKind::Capsule {
            radius: f64::from(c.radius),
            half_length: f64::from(c.half_height),
        };
        return Some(Shape::new(kind, v64(t), color).rotated(quat_from_z(v64(axis))));
    }
    if let Some(h) = s.as_halfspace() {
        let n = r * h.normal;
        return Some(Shape::new(ShapeKind::Plane, v64(t), color).rotated(quat_from_z(v64(n))));
    }
    None
}

/// Draws the task: planar tasks from the side, Ant and Humanoid from the side and above, centred on
/// the torso (x, y) at a fixed height.
pub(super) fn draw(task: Task, sim: &Sim, width: u32, height: u32) -> Frame {
    let shapes: Vec<Shape> = sim
        .colliders()
        .filter_map(|(c, ground)| shape_of(c, if ground { FLOOR } else { BODY }))
        .collect();
    let (torso, _) = sim.body_pose(1);
    let (center, view_m) = match task {
        Task::InvertedPendulum => ([0.0, 0.0, 0.3], 2.4),
        Task::InvertedDoublePendulum => ([0.0, 0.0, 0.6], 3.0),
        Task::HalfCheetah => ([torso[0], 0.0, 0.5], 3.0),
        Task::Hopper | Task::Walker2d => ([torso[0], 0.0, 0.8], 3.0),
        Task::Ant => ([torso[0], torso[1], 0.4], 4.0),
        Task::Humanoid => ([torso[0], torso[1], 1.0], 3.0),
    };
    let scale = f64::from(width.min(height)) / view_m;
    let camera = match task {
        Task::Ant | Task::Humanoid => Camera::oblique(center, scale, 20.0, 25.0),
        _ => Camera::side(center, scale),
    };
    draw_shapes(&shapes, &camera, width, height)
}
