//! Small 3-D vector and quaternion helpers, and orthographic ray casts against the [`ShapeKind`]s.

use super::ShapeKind;

/// A 3-vector.
pub(crate) type V3 = [f64; 3];

pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn normalize(a: V3) -> V3 {
    let n = dot(a, a).sqrt();
    if n > 0.0 {
        scale(a, 1.0 / n)
    } else {
        a
    }
}

/// Rotates `v` by the unit quaternion `q = [w, x, y, z]`.
pub(crate) fn rotate(q: [f64; 4], v: V3) -> V3 {
    let u = [q[1], q[2], q[3]];
    // v' = v + 2w (u × v) + 2 u × (u × v)
    let t = scale(cross(u, v), 2.0);
    add(add(v, scale(t, q[0])), cross(u, t))
}

/// Rotates `v` by the inverse of the unit quaternion `q`.
pub(crate) fn rotate_inv(q: [f64; 4], v: V3) -> V3 {
    rotate([q[0], -q[1], -q[2], -q[3]], v)
}

/// `q` scaled to unit norm (identity for a zero or non-finite quaternion).
pub(crate) fn unit_quat(q: [f64; 4]) -> [f64; 4] {
    let n = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    if n > 0.0 && n.is_finite() {
        q.map(|c| c / n)
    } else {
        [1.0, 0.0, 0.0, 0.0]
    }
}

/// Radius of a sphere about the shape's origin that contains it (`None`: unbounded).
pub(crate) fn bounding_radius(kind: &ShapeKind) -> Option<f64> {
    match *kind {
        ShapeKind::Sphere { radius } => Some(radius),
        ShapeKind::Capsule { radius, half_length } => Some(radius + half_length),
        ShapeKind::Cuboid { half_extents: h } => Some(dot(h, h).sqrt()),
        ShapeKind::Plane => None,
    }
}

/// Where the line `o + t·d` (local frame, `d` unit) first enters the shape: `(t, local normal)`.
///
/// A [`ShapeKind::Plane`] is the solid half-space `z ≤ 0`: a line parallel to it inside the solid hits it
/// at `t = f64::MAX` (behind everything), so an edge-on floor still fills the view below its line.
pub(crate) fn intersect(kind: &ShapeKind, o: V3, d: V3) -> Option<(f64, V3)> {
    match *kind {
        ShapeKind::Sphere { radius } => {
            sphere(o, d, radius).map(|t| (t, scale(add(o, scale(d, t)), 1.0 / radius)))
        }
        ShapeKind::Capsule { radius, half_length } => capsule(o, d, radius, half_length),
        ShapeKind::Cuboid { half_extents } => cuboid(o, d, half_extents),
        ShapeKind::Plane => {
            if d[2].abs() > 1e-9 {
                Some((-o[2] / d[2], [0.0, 0.0, 1.0]))
            } else if o[2] <= 0.0 {
                Some((f64::MAX, [0.0, 0.0, 1.0]))
            } else {
                None
            }
        }
    }
}

fn sphere(o: V3, d: V3, r: f64) -> Option<f64> {
    let b = dot(o, d);
    let c = dot(o, o) - r * r;
    let disc = b * b - c;
    (disc >= 0.0).then(|| -b - disc.sqrt())
}

fn capsule(o: V3, d: V3, r: f64, h: f64) -> Option<(f64, V3)> {
    let mut best: Option<(f64, V3)> = None;
    let mut consider = |hit: (f64, V3)| {
        if best.is_none_or(|(t, _)| hit.0 < t) {
            best = Some(hit);
        }
    };
    let a = d[0] * d[0] + d[1] * d[1];
    if a > 1e-12 {
        let b = o[0] * d[0] + o[1] * d[1];
        let c = o[0] * o[0] + o[1] * o[1] - r * r;
        let disc = b * b - a * c;
        if disc >= 0.0 {
            let t = (-b - disc.sqrt()) / a;
            let p = add(o, scale(d, t));
            if p[2].abs() <= h {
                consider((t, [p[0] / r, p[1] / r, 0.0]));
            }
        }
    }
    for zc in [-h, h] {
        let oc = sub(o, [0.0, 0.0, zc]);
        if let Some(t) = sphere(oc, d, r) {
            consider((t, scale(add(oc, scale(d, t)), 1.0 / r)));
        }
    }
    best
}

fn cuboid(o: V3, d: V3, h: V3) -> Option<(f64, V3)> {
    let (mut t_near, mut t_far) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut normal = [0.0; 3];
    for i in 0..3 {
        if d[i].abs() < 1e-12 {
            if o[i].abs() > h[i] {
                return None;
            }
            continue;
        }
        let (mut t0, mut t1) = ((-h[i] - o[i]) / d[i], (h[i] - o[i]) / d[i]);
        let mut sign = -1.0;
        if t0 > t1 {
            std::mem::swap(&mut t0, &mut t1);
            sign = 1.0;
        }
        if t0 > t_near {
            t_near = t0;
            normal = [0.0; 3];
            normal[i] = sign;
        }
        t_far = t_far.min(t1);
        if t_near > t_far {
            return None;
        }
    }
    t_near.is_finite().then_some((t_near, normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quaternion_rotation_is_right_handed() {
        let h = std::f64::consts::FRAC_PI_4; // 90° about z: x → y
        let q = [h.cos(), 0.0, 0.0, h.sin()];
        let v = rotate(q, [1.0, 0.0, 0.0]);
        assert!((v[0]).abs() < 1e-12 && (v[1] - 1.0).abs() < 1e-12);
        let back = rotate_inv(q, v);
        assert!((back[0] - 1.0).abs() < 1e-12 && back[1].abs() < 1e-12);
    }

    #[test]
    fn rays_hit_where_the_surfaces_are() {
        let d = [0.0, 1.0, 0.0];
        let (t, n) = intersect(&ShapeKind::Sphere { radius: 2.0 }, [0.0, -10.0, 0.0], d).unwrap();
        assert!((t - 8.0).abs() < 1e-12 && (n[1] + 1.0).abs() < 1e-12);
        assert!(intersect(&ShapeKind::Sphere { radius: 2.0 }, [2.1, -10.0, 0.0], d).is_none());
        let cap = ShapeKind::Capsule {
            radius: 0.5,
            half_length: 1.0,
        };
        // Through the cylinder part, through an end cap, and past the end.
        assert!((intersect(&cap, [0.0, -5.0, 0.9], d).unwrap().0 - 4.5).abs() < 1e-12);
        assert!((intersect(&cap, [0.0, -5.0, 1.5], d).unwrap().0 - 5.0).abs() < 1e-12);
        assert!(intersect(&cap, [0.0, -5.0, 1.51], d).is_none());
        let cube = ShapeKind::Cuboid {
            half_extents: [1.0, 2.0, 3.0],
        };
        let (t, n) = intersect(&cube, [0.5, -5.0, 2.9], d).unwrap();
        assert!((t - 3.0).abs() < 1e-12 && n == [0.0, -1.0, 0.0]);
        assert!(intersect(&cube, [1.01, -5.0, 0.0], d).is_none());
        // Edge-on floor: solid below, empty above.
        assert_eq!(
            intersect(&ShapeKind::Plane, [0.0, -5.0, -0.1], d).unwrap().0,
            f64::MAX
        );
        assert!(intersect(&ShapeKind::Plane, [0.0, -5.0, 0.1], d).is_none());
    }
}
