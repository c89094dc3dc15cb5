//! What a MuJoCo task looks like: its visible geoms as [`crate::render`] shapes at their world poses
//! (`geom_xpos`, `geom_xmat`), drawn orthographically from the side (planar tasks) or at an angle (Ant,
//! Humanoid), tracking the torso.

use crate::render::{draw, Camera, Frame, Shape, ShapeKind};

use super::tasks::{Data, MujocoTask};

/// MuJoCo geom types (`mjtGeom`) we draw.
const PLANE: i32 = 0;
const SPHERE: i32 = 2;
const CAPSULE: i32 = 3;
const ELLIPSOID: i32 = 4;
const CYLINDER: i32 = 5;
const BOX: i32 = 6;

/// Geoms in groups ≥ 3 are hidden in MuJoCo's default visualization, so here too.
const VISIBLE_GROUPS: i32 = 3;

/// The unit quaternion `[w, x, y, z]` of a row-major rotation matrix (Shepperd's method).
pub(super) fn mat_to_quat(m: &[f64; 9]) -> [f64; 4] {
    let trace = m[0] + m[4] + m[8];
    let q = if trace > 0.0 {
        let s = (trace + 1.0).sqrt() * 2.0;
        [0.25 * s, (m[7] - m[5]) / s, (m[2] - m[6]) / s, (m[3] - m[1]) / s]
    } else if m[0] > m[4] && m[0] > m[8] {
        let s = (1.0 + m[0] - m[4] - m[8]).sqrt() * 2.0;
        [(m[7] - m[5]) / s, 0.25 * s, (m[1] + m[3]) / s, (m[2] + m[6]) / s]
    } else if m[4] > m[8] {
        let s = (1.0 + m[4] - m[0] - m[8]).sqrt() * 2.0;
        [(m[2] - m[6]) / s, (m[1] + m[3]) / s, 0.25 * s, (m[5] + m[7]) / s]
    } else {
        let s = (1.0 + m[8] - m[0] - m[4]).sqrt() * 2.0;
        [(m[3] - m[1]) / s, (m[2] + m[6]) / s, (m[5] + m[7]) / s, 0.25 * s]
    };
    let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    q.map(|v| v / n)
}

/// The visible geoms of the model as shapes at their current poses.
pub(super) fn shapes(data: &Data) -> Vec<Shape> {
    let model = data.model();
    let m = model.ffi();
    let ngeom = m.ngeom as usize;
    // SAFETY: geom_type, geom_matid are arrays of ngeom ints in a loaded model, read only.
    let (types, matids) = unsafe {
        (
            std::slice::from_raw_parts(m.geom_type, ngeom),
            std::slice::from_raw_parts(m.geom_matid, ngeom),
        )
    };
    let (groups, sizes, rgbas, mat_rgba) = (
        model.geom_group(),
        model.geom_size(),
        model.geom_rgba(),
        model.mat_rgba(),
    );
    let (xpos, xmat) = (data.geom_xpos(), data.geom_xmat());
    (0..ngeom)
        .filter_map(|g| {
            let rgba = usize::try_from(matids[g])
                .ok()
                .and_then(|id| mat_rgba.get(id))
                .unwrap_or(&rgbas[g]);
            if groups[g] >= VISIBLE_GROUPS || rgba[3] == 0.0 {
                return None;
            }
            let size = sizes[g];
            let kind = match types[g] {
                PLANE => ShapeKind::Plane,
                SPHERE => ShapeKind::Sphere { radius: size[0] },
                ELLIPSOID => ShapeKind::Sphere {
                    radius: size[0].max(size[1]).max(size[2]),
                },
                CAPSULE | CYLINDER => ShapeKind::Capsule {
                    radius: size[0],
                    half_length: size[1],
                },
                BOX => ShapeKind::Cuboid { half_extents: size },
                _ => return None,
            };
            let color = [rgba[0], rgba[1], rgba[2]].map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
            Some(Shape::new(kind, xpos[g], color).rotated(mat_to_quat(&xmat[g])))
        })
        .collect()
}

/// The task drawn into a `width × height` frame, the camera following body 1 (the torso, or the cart).
pub(super) fn draw_task(task: MujocoTask, data: &Data, width: u32, height: u32) -> Frame {
    let torso = data.xpos()[1];
    let short = f64::from(width.min(height));
    let camera = match task {
        MujocoTask::Ant => Camera::oblique([torso[0], torso[1], 0.4], short / 4.0, 30.0, 30.0),
        MujocoTask::Humanoid => Camera::oblique([torso[0], torso[1], 1.0], short / 3.0, 30.0, 15.0),
        MujocoTask::HalfCheetah => Camera::side([torso[0], 0.0, 0.5], short / 3.0),
        MujocoTask::Hopper | MujocoTask::Walker2d => Camera::side([torso[0], 0.0, 1.0], short / 2.5),
        MujocoTask::InvertedPendulum => Camera::side([0.0, 0.0, 0.2], short / 2.5),
        MujocoTask::InvertedDoublePendulum => Camera::side([0.0, 0.0, 0.6], short / 3.0),
    };
    draw(&shapes(data), &camera, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_to_quaternion_round_trips() {
        // Rotation by θ about the axis (1, 2, 2)/3, written out as a matrix.
        let (ax, theta) = ([1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0], 2.5f64);
        let (c, s) = (theta.cos(), theta.sin());
        let [x, y, z] = ax;
        let m = [
            c + x * x * (1.0 - c),
            x * y * (1.0 - c) - z * s,
            x * z * (1.0 - c) + y * s,
            y * x * (1.0 - c) + z * s,
            c + y * y * (1.0 - c),
            y * z * (1.0 - c) - x * s,
            z * x * (1.0 - c) - y * s,
            z * y * (1.0 - c) + x * s,
            c + z * z * (1.0 - c),
        ];
        let q = mat_to_quat(&m);
        let half = theta / 2.0;
        let expected = [half.cos(), x * half.sin(), y * half.sin(), z * half.sin()];
        let sign = q[0].signum() * expected[0].signum();
        for (a, b) in q.iter().zip(expected) {
            assert!((a * sign - b).abs() < 1e-12, "{q:?} vs {expected:?}");
        }
        assert_eq!(
            mat_to_quat(&[1., 0., 0., 0., 1., 0., 0., 0., 1.]),
            [1.0, 0.0, 0.0, 0.0]
        );
    }
}
