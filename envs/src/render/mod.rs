//! Headless rendering: bodies as simple shapes, drawn orthographically into an RGB [`Frame`], saved as a
//! PNG, a PNG filmstrip or an animated GIF.
//!
//! Backends describe a scene as a list of [`Shape`]s (sphere, capsule, box, ground plane) with world
//! poses, and [`draw`] casts one orthographic ray per pixel against them with a depth buffer, so
//! occlusion is exact whatever the order of the shapes, and shades each hit by its normal (Lambert with
//! an ambient term). The default [`Camera::side`] looks along +y at the x–z plane, the view of
//! Gymnasium's planar tasks; [`Camera::oblique`] turns it for the 3-D ones.
//!
//! ```
//! use envs::render::{draw, Camera, Shape, ShapeKind};
//! let ball = Shape::new(ShapeKind::Sphere { radius: 0.5 }, [0.0, 0.0, 1.0], [200, 40, 40]);
//! let floor = Shape::new(ShapeKind::Plane, [0.0; 3], [90, 90, 90]);
//! let frame = draw(&[floor, ball], &Camera::side([0.0, 0.0, 1.0], 50.0), 64, 48);
//! assert_eq!((frame.width, frame.height, frame.rgb.len()), (64, 48, 64 * 48 * 3));
//! assert!(frame.pixel(32, 24)[0] > frame.pixel(32, 24)[2]); // the ball is red in the middle
//! assert_eq!(frame.pixel(0, 0), Camera::DEFAULT_BACKGROUND); // sky above the floor
//! ```

mod geometry;
mod image;

use geometry::{add, cross, dot, intersect, normalize, rotate, rotate_inv, scale, sub, unit_quat};
pub use image::{filmstrip, write_filmstrip, write_gif};

use crate::error::{EnvError, Result};

/// An RGB8 image, row-major from the top-left pixel, 3 bytes a pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width · height · 3` bytes: row 0 first, each pixel `[r, g, b]`.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// A frame filled with one colour.
    pub fn filled(width: u32, height: u32, color: [u8; 3]) -> Self {
        let n = width as usize * height as usize;
        Self {
            width,
            height,
            rgb: color.repeat(n),
        }
    }

    /// The colour at column `x`, row `y` (row 0 at the top).
    ///
    /// # Panics
    /// If `(x, y)` is outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) outside {}×{}",
            self.width,
            self.height
        );
        let i = 3 * (y as usize * self.width as usize + x as usize);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Writes the frame as an 8-bit RGB PNG.
    ///
    /// # Errors
    /// [`EnvError::ImageWrite`] naming the path if the file cannot be written.
    pub fn write_png(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        image::write_png(self, path.as_ref())
    }
}

/// Geometry of a [`Shape`], in the shape's local frame, centred on its origin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    /// A ball.
    Sphere {
        /// Radius (m).
        radius: f64,
    },
    /// A cylinder with hemispherical ends along the local z axis (MuJoCo's capsule axis).
    Capsule {
        /// Radius (m).
        radius: f64,
        /// Half the length of the cylinder part, without the caps (MuJoCo's `size[1]`).
        half_length: f64,
    },
    /// A box.
    Cuboid {
        /// Half the side lengths along local x, y, z.
        half_extents: [f64; 3],
    },
    /// The ground: the solid half-space below the local x–y plane (normal local +z), drawn with a 1 m
    /// checker so that motion shows.
    Plane,
}

/// A coloured shape placed in the world.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    /// Geometry.
    pub kind: ShapeKind,
    /// World position of the shape's centre (m).
    pub position: [f64; 3],
    /// Orientation as a unit quaternion `[w, x, y, z]` (normalized when drawn).
    pub rotation: [f64; 4],
    /// Base colour; the drawing shades it.
    pub color: [u8; 3],
}

impl Shape {
    /// A shape at `position` with the identity rotation.
    pub fn new(kind: ShapeKind, position: [f64; 3], color: [u8; 3]) -> Self {
        Self {
            kind,
            position,
            rotation: [1.0, 0.0, 0.0, 0.0],
            color,
        }
    }

    /// The same shape with orientation `rotation` (`[w, x, y, z]`).
    pub fn rotated(mut self, rotation: [f64; 4]) -> Self {
        self.rotation = rotation;
        self
    }

    /// A capsule of `radius` between the points `a` and `b` (MuJoCo's `fromto`).
    pub fn capsule_between(a: [f64; 3], b: [f64; 3], radius: f64, color: [u8; 3]) -> Self {
        let axis = sub(b, a);
        let len = dot(axis, axis).sqrt();
        let kind = ShapeKind::Capsule {
            radius,
            half_length: len / 2.0,
        };
        Self::new(kind, scale(add(a, b), 0.5), color).rotated(quat_from_z(axis))
    }
}

/// The shortest rotation taking local +z to the direction of `dir` (identity for a zero vector).
pub fn quat_from_z(dir: [f64; 3]) -> [f64; 4] {
    let d = normalize(dir);
    if dot(d, d) == 0.0 {
        return [1.0, 0.0, 0.0, 0.0];
    }
    let c = d[2]; // cos of the angle between z and d
    if c < -1.0 + 1e-12 {
        return [0.0, 1.0, 0.0, 0.0]; // half a turn about x
    }
    // q = (1 + c, z × d) normalized
    let axis = cross([0.0, 0.0, 1.0], d);
    unit_quat([1.0 + c, axis[0], axis[1], axis[2]])
}

/// `v` rotated by the unit quaternion `q = [w, x, y, z]`.
pub fn rotate_point(q: [f64; 4], v: [f64; 3]) -> [f64; 3] {
    rotate(unit_quat(q), v)
}

/// An orthographic camera: a view direction, the world point drawn at the image centre, and a scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// World point at the centre of the image (track a body by setting it every frame).
    pub center: [f64; 3],
    /// Pixels per metre.
    pub scale: f64,
    /// World direction drawn to the right (unit).
    pub right: [f64; 3],
    /// World direction drawn upward (unit, orthogonal to `right`); the view looks along `up × right`.
    pub up: [f64; 3],
    /// Colour where no shape is hit.
    pub background: [u8; 3],
}

impl Camera {
    /// Sky colour of the default background.
    pub const DEFAULT_BACKGROUND: [u8; 3] = [214, 228, 240];

    /// Side view of the x–z plane looking along +y (x to the right, z up), centred on `center`, at
    /// `scale` pixels per metre.
    pub fn side(center: [f64; 3], scale: f64) -> Self {
        Self {
            center,
            scale,
            right: [1.0, 0.0, 0.0],
            up: [0.0, 0.0, 1.0],
            background: Self::DEFAULT_BACKGROUND,
        }
    }

    /// The side view turned by `azimuth_deg` about the vertical (positive: from the −x side) and tilted
    /// down by `elevation_deg`, for 3-D tasks.
    pub fn oblique(center: [f64; 3], scale: f64, azimuth_deg: f64, elevation_deg: f64) -> Self {
        let (az, el) = (azimuth_deg.to_radians(), elevation_deg.to_radians());
        let forward = [az.sin() * el.cos(), az.cos() * el.cos(), -el.sin()];
        let right = normalize(cross(forward, [0.0, 0.0, 1.0]));
        let up = cross(right, forward);
        Self {
            center,
            scale,
            right,
            up,
            background: Self::DEFAULT_BACKGROUND,
        }
    }

    /// The same camera centred on `center`.
    pub fn centered_on(mut self, center: [f64; 3]) -> Self {
        self.center = center;
        self
    }

    /// The same camera with another background colour.
    pub fn with_background(mut self, background: [u8; 3]) -> Self {
        self.background = background;
        self
    }

    /// Direction the camera looks along (into the image).
    pub fn forward(&self) -> [f64; 3] {
        cross(self.up, self.right)
    }

    /// Image coordinates `(column, row)` (fractional, row 0 at the top) where the world point `p` is drawn.
    pub fn project(&self, p: [f64; 3], width: u32, height: u32) -> (f64, f64) {
        let rel = sub(p, self.center);
        let u = dot(rel, self.right) * self.scale + f64::from(width) / 2.0;
        let v = f64::from(height) / 2.0 - dot(rel, self.up) * self.scale;
        (u, v)
    }
}

/// Largest width or height [`check_size`] accepts.
pub const MAX_SIDE: u32 = 8192;

/// Checks a render size: both sides in `1..=MAX_SIDE`.
///
/// # Errors
/// [`EnvError::InvalidParameter`] naming the bad side.
pub fn check_size(width: u32, height: u32) -> Result<()> {
    for (name, v) in [("width", width), ("height", height)] {
        if v == 0 || v > MAX_SIDE {
            return Err(EnvError::InvalidParameter {
                name,
                value: v.to_string(),
                reason: format!("render sizes must be in 1..={MAX_SIDE} pixels"),
            });
        }
    }
    Ok(())
}

/// Draws `shapes` seen by `camera` into a `width × height` frame.
///
/// One orthographic ray per pixel centre; the nearest hit along the view direction wins (a depth buffer,
/// so the order of `shapes` does not matter), shaded `colour · (0.35 + 0.65·max(0, n·l))` with the light
/// coming from above, behind the viewer; the ground plane gets a 1 m checker instead. Shapes with a
/// non-finite pose or size are skipped.
pub fn draw(shapes: &[Shape], camera: &Camera, width: u32, height: u32) -> Frame {
    let mut frame = Frame::filled(width, height, camera.background);
    let mut depth = vec![f64::INFINITY; width as usize * height as usize];
    let forward = camera.forward();
    let light = normalize(add(
        add(scale(forward, -0.6), scale(camera.up, 0.8)),
        scale(camera.right, 0.3),
    ));
    let (w, h) = (width as usize, height as usize);
    for shape in shapes {
        let finite = shape
            .position
            .iter()
            .chain(&shape.rotation)
            .all(|c| c.is_finite());
        let radius = geometry::bounding_radius(&shape.kind);
        if !finite || radius.is_some_and(|r| !r.is_finite() || r <= 0.0) {
            continue;
        }
        let q = unit_quat(shape.rotation);
        let d_local = rotate_inv(q, forward);
        // Pixel rectangle that can see the shape.
        let (cols, rows) = match radius {
            Some(r) => {
                let (u, v) = camera.project(shape.position, width, height);
                let rp = r * camera.scale + 1.0;
                let clamp = |x: f64, n: usize| x.clamp(0.0, n as f64) as usize;
                (
                    clamp(u - rp, w)..clamp(u + rp + 1.0, w),
                    clamp(v - rp, h)..clamp(v + rp + 1.0, h),
                )
            }
            None => (0..w, 0..h),
        };
        for row in rows {
            let v = (h as f64 / 2.0 - row as f64 - 0.5) / camera.scale;
            for col in cols.clone() {
                let u = (col as f64 + 0.5 - w as f64 / 2.0) / camera.scale;
                let p0 = add(camera.center, add(scale(camera.right, u), scale(camera.up, v)));
                let o_local = rotate_inv(q, sub(p0, shape.position));
                let Some((t, n_local)) = intersect(&shape.kind, o_local, d_local) else {
                    continue;
                };
                let k = row * w + col;
                if t >= depth[k] {
                    continue;
                }
                depth[k] = t;
                let color = if shape.kind == ShapeKind::Plane {
                    // Checker on the plane's local x, y (only x when seen edge-on).
                    let hit = if t == f64::MAX {
                        o_local
                    } else {
                        add(o_local, scale(d_local, t))
                    };
                    let y = if t == f64::MAX { 0.0 } else { hit[1] };
                    let parity = (hit[0].floor() + y.floor()).rem_euclid(2.0);
                    let f = if parity < 0.5 { 1.0 } else { 0.82 };
                    shape.color.map(|c| (f64::from(c) * f).round() as u8)
                } else {
                    let n = rotate(q, n_local);
                    let f = 0.35 + 0.65 * dot(n, light).max(0.0);
                    shape.color.map(|c| (f64::from(c) * f).round().min(255.0) as u8)
                };
                frame.rgb[3 * k..3 * k + 3].copy_from_slice(&color);
            }
        }
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearer_shapes_cover_farther_ones_in_any_order() {
        let near = Shape::new(ShapeKind::Sphere { radius: 0.3 }, [0.0, -1.0, 0.0], [255, 0, 0]);
        let far = Shape::new(
            ShapeKind::Cuboid {
                half_extents: [1.0; 3],
            },
            [0.0, 1.0, 0.0],
            [0, 0, 255],
        );
        let cam = Camera::side([0.0; 3], 20.0);
        let a = draw(&[near, far], &cam, 40, 40);
        let b = draw(&[far, near], &cam, 40, 40);
        assert_eq!(a, b);
        let mid = a.pixel(20, 20);
        assert!(mid[0] > 0 && mid[2] == 0, "{mid:?}");
        let edge = a.pixel(20 + 10, 20); // 0.5 m right: box only
        assert!(edge[2] > 0 && edge[0] == 0, "{edge:?}");
    }

    #[test]
    fn side_view_puts_up_at_the_top_and_x_to_the_right() {
        let cam = Camera::side([0.0; 3], 10.0);
        let (u, v) = cam.project([1.0, 5.0, 2.0], 100, 80);
        assert_eq!((u, v), (60.0, 20.0));
        assert_eq!(cam.forward(), [0.0, 1.0, 0.0]);
        let ob = Camera::oblique([0.0; 3], 10.0, 0.0, 0.0);
        for (a, b) in ob.right.iter().zip(cam.right).chain(ob.up.iter().zip(cam.up)) {
            assert!((a - b).abs() < 1e-12);
        }
        let down = Camera::oblique([0.0; 3], 10.0, 30.0, 45.0);
        assert!(down.forward()[2] < -0.7 && dot(down.right, down.up).abs() < 1e-12);
    }

    #[test]
    fn capsule_between_spans_its_end_points() {
        let s = Shape::capsule_between([0.0, 0.0, 0.0], [1.0, 0.0, 1.0], 0.1, [0; 3]);
        let tip = add(s.position, rotate(s.rotation, [0.0, 0.0, 2.0f64.sqrt() / 2.0]));
        assert!(
            sub(tip, [1.0, 0.0, 1.0]).iter().all(|c| c.abs() < 1e-12),
            "{tip:?}"
        );
        assert_eq!(quat_from_z([0.0, 0.0, -2.0]), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn sizes_are_checked_and_bad_shapes_skipped() {
        assert!(check_size(0, 10).is_err());
        assert!(check_size(10, MAX_SIDE + 1).is_err());
        assert!(check_size(1, 1).is_ok());
        let nan = Shape::new(ShapeKind::Sphere { radius: 1.0 }, [f64::NAN; 3], [255; 3]);
        let cam = Camera::side([0.0; 3], 10.0);
        assert_eq!(draw(&[nan], &cam, 8, 8), Frame::filled(8, 8, cam.background));
    }
}
