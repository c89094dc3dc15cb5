//! A Gymnasium MJCF model as a rapier3d world: build, read and write MuJoCo's `qpos`/`qvel`, apply motor
//! controls, step, and read body poses, inertias and contact forces.

use std::sync::Arc;

use rapier3d::prelude::*;
use rapier3d_mjcf::{
    ContactFilterMode, MjcfDofKind, MjcfLoaderOptions, MjcfMultibodyOptions, MjcfRobot, MjcfRobotHandles,
};

use crate::error::{EnvError, Result};

/// rapier solver iterations (= substeps) per physics step of `<option timestep>`.
pub(crate) const SOLVER_SUBSTEPS: usize = 1;

/// rapier's joint axes by index (the bit order of [`JointAxesMask`]).
const JOINT_AXES: [JointAxis; 6] = [
    JointAxis::LinX,
    JointAxis::LinY,
    JointAxis::LinZ,
    JointAxis::AngX,
    JointAxis::AngY,
    JointAxis::AngZ,
];

/// Collision group of the ground; robot geoms collide with it only.
const GROUND: Group = Group::GROUP_1;
/// Collision group of every robot geom.
const ROBOT: Group = Group::GROUP_2;

/// One generalized coordinate slot of MuJoCo's `qpos`/`qvel`, resolved to the rapier model.
#[derive(Clone, Copy, Debug)]
enum DofRef {
    /// A free joint: 7 `qpos` (position, quaternion w x y z) and 6 `qvel` (world linear velocity of the
    /// body origin, body-frame angular velocity), carried by the root rigid body of index `body`.
    Free { body: usize },
    /// A hinge (angle, `angular`) or slide joint: one `qpos` (`coord + reference`) and one `qvel`.
    Scalar {
        joint: usize,
        angular: bool,
        reference: f64,
    },
}

/// A parsed MJCF model and what the environments need to know about it; shared by every copy of a task.
#[derive(Debug)]
pub(crate) struct Model {
    robot: MjcfRobot,
    dofs: Vec<DofRef>,
    /// `<option timestep>` (s).
    pub timestep: f64,
    /// `ctrlrange` of each actuator.
    pub ctrl_range: Vec<[f64; 2]>,
    /// Gear of each actuator.
    pub gear: Vec<f64>,
    /// `qvel` index driven by each actuator.
    pub actuator_dof: Vec<usize>,
    /// Number of `qpos` entries.
    pub nq: usize,
    /// Number of `qvel` entries.
    pub nv: usize,
    /// Rapier body index (into `robot.bodies`) of MuJoCo bodies 1.. (the world body 0 left out).
    pub mj_bodies: Vec<usize>,
    /// Friction of the ground, when the task has one (MuJoCo takes the larger of two geoms' frictions).
    floor_friction: Option<f64>,
    /// Diagonal of the inverse joint-space inertia in the reference pose, per multibody DoF (computed
    /// by the first [`Sim`]).
    inv_inertia: std::sync::OnceLock<Vec<Real>>,
}

impl Model {
    /// Parses `xml` (a Gymnasium asset) for the task `id`.
    pub fn load(id: &str, xml: &str, floor_friction: Option<f64>) -> Result<Arc<Self>> {
        let bad = |reason: String| EnvError::InvalidParameter {
            name: "MJCF model",
            value: id.to_string(),
            reason,
        };
        let options = MjcfLoaderOptions {
            contact_filter_mode: ContactFilterMode::Asymmetric,
            ..MjcfLoaderOptions::default()
        };
        let (robot, model) =
            MjcfRobot::from_str(xml, options, std::path::Path::new("")).map_err(|e| bad(e.to_string()))?;
        let mut dofs = Vec::new();
        let (mut nq, mut nv) = (0, 0);
        for dof in &robot.qpos_dofs {
            nq += dof.kind.qpos_width();
            nv += dof.kind.qvel_width();
            dofs.push(match dof.kind {
                MjcfDofKind::Free => DofRef::Free { body: dof.body },
                MjcfDofKind::Hinge | MjcfDofKind::Slide => DofRef::Scalar {
                    joint: dof
                        .joint
                        .ok_or_else(|| bad("a hinge/slide without a joint".into()))?,
                    angular: dof.kind == MjcfDofKind::Hinge,
                    reference: f64::from(dof.reference),
                },
                MjcfDofKind::Ball => return Err(bad("ball joints are not supported".into())),
            });
        }
        // qvel index of each joint, to route actuators.
        let mut dof_of_joint = std::collections::HashMap::new();
        let mut v = 0;
        for (d, slot) in robot.qpos_dofs.iter().zip(&dofs) {
            if let DofRef::Scalar { joint, .. } = slot {
                dof_of_joint.insert(*joint, v);
            }
            v += d.kind.qvel_width();
        }
        let mut ctrl_range = Vec::new();
        let mut gear = Vec::new();
        let mut actuator_dof = Vec::new();
        for a in &robot.actuators {
            let joint = a
                .joint_index
                .ok_or_else(|| bad("an actuator without a joint".into()))?;
            actuator_dof.push(dof_of_joint[&joint]);
            ctrl_range.push(
                a.actuator
                    .ctrl_range
                    .unwrap_or([f64::NEG_INFINITY, f64::INFINITY]),
            );
            gear.push(a.actuator.gear[0]);
        }
        let mut mj_bodies: Vec<(usize, usize)> = robot
            .bodies
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, b)| !b.is_intermediate)
            .map(|(i, b)| (b.mjcf_body_id, i))
            .collect();
        mj_bodies.sort_unstable();
        Ok(Arc::new(Self {
            timestep: model.option.timestep,
            robot,
            dofs,
            ctrl_range,
            gear,
            actuator_dof,
            nq,
            nv,
            mj_bodies: mj_bodies.into_iter().map(|(_, i)| i).collect(),
            floor_friction,
            inv_inertia: std::sync::OnceLock::new(),
        }))
    }
}

/// The joint an actuator drives, resolved to the rapier multibody.
#[derive(Clone, Copy, Debug)]
struct Drive {
    joint: MultibodyJointHandle,
    /// The joint's free axis (0–2 linear, 3–5 angular).
    axis: usize,
    /// Its `range`, when limited.
    range: Option<[Real; 2]>,
}

/// A running simulation of a [`Model`].
pub(crate) struct Sim {
    /// The rapier world (bodies, colliders, multibody joints, solver parameters).
    pub world: PhysicsWorld,
    handles: MjcfRobotHandles<Option<MultibodyJointHandle>>,
    /// The model simulated.
    pub model: Arc<Model>,
    ctrl: Vec<f32>,
    /// Per actuator: the joint it drives, `None` when that joint was not inserted.
    drives: Vec<Option<Drive>>,
    /// Every joint with `range` limits, and its limited axes.
    limited: Vec<(MultibodyJointHandle, JointAxesMask)>,
    /// Every rigid body of the robot (the actuator forces on them are rebuilt at each physics step).
    robot_bodies: Vec<RigidBodyHandle>,
}

fn v64(v: Vector) -> [f64; 3] {
    [f64::from(v.x), f64::from(v.y), f64::from(v.z)]
}

impl Sim {
    /// A fresh world in the model's reference pose (all joint coordinates at MuJoCo's `qpos0`), at rest.
    pub fn new(model: &Arc<Model>) -> Self {
        let mut world = PhysicsWorld::new();
        world.gravity = model.robot.gravity;
        world.integration_parameters.dt = model.timestep as Real;
        // One solver substep per MuJoCo timestep, as MuJoCo takes one integration step (rapier's
        // default of 4 substeps is 2–3× slower and changed none of the tests' outcomes).
        world.integration_parameters.num_solver_iterations = SOLVER_SUBSTEPS;
        let handles = model.robot.clone().insert_using_multibody_joints(
            &mut world.bodies,
            &mut world.colliders,
            &mut world.multibody_joints,
            &mut world.impulse_joints,
            MjcfMultibodyOptions::DISABLE_SELF_CONTACTS,
        );
        // Robot geoms touch the ground only (see the crate docs on contacts).
        for h in handles.bodies.iter().flatten() {
            if let Some(rb) = world.bodies.get_mut(h.body) {
                rb.activation_mut().normalized_linear_threshold = -1.0;
                rb.activation_mut().angular_threshold = -1.0;
            }
            for c in &h.colliders {
                if let Some(col) = world.colliders.get_mut(c.handle) {
                    col.set_collision_groups(InteractionGroups::new(ROBOT, GROUND, InteractionTestMode::And));
                    col.set_friction_combine_rule(CoefficientCombineRule::Max);
                }
            }
        }
        if let Some(friction) = model.floor_friction {
            let ground = world.bodies.insert(RigidBodyBuilder::fixed());
            let floor = ColliderBuilder::halfspace(rapier3d::na::Unit::new_unchecked(Vector::Z))
                .friction(friction as Real)
                .friction_combine_rule(CoefficientCombineRule::Max)
                .collision_groups(InteractionGroups::new(GROUND, ROBOT, InteractionTestMode::And));
            world
                .colliders
                .insert_with_parent(floor, ground, &mut world.bodies);
        }
        // Per-DoF damping exactly as the model says: rapier gives every angular DoF a default damping
        // of 0.1 that MuJoCo does not have (the loader only overrides it for joints with damping > 0).
        for dof in &model.dofs {
            match *dof {
                DofRef::Free { body } => {
                    let Some(h) = handles.bodies[body].as_ref().map(|b| b.body) else {
                        continue;
                    };
                    let Some(link) = world.multibody_joints.rigid_body_link(h).copied() else {
                        continue;
                    };
                    if let Some(mb) = world.multibody_joints.get_multibody_mut(link.multibody) {
                        let n = mb.damping().len().min(6);
                        mb.damping_mut().rows_mut(0, n).fill(0.0);
                    }
                }
                DofRef::Scalar { joint, .. } => {
                    let Some(h) = handles.joints.get(joint).and_then(|j| j.joint) else {
                        continue;
                    };
                    let Some((mb, link_id)) = world.multibody_joints.get_mut(h) else {
                        continue;
                    };
                    let Some(id) = mb.link(link_id).map(|l| l.assembly_id()) else {
                        continue;
                    };
                    mb.damping_mut()[id] = model.robot.joints[joint].damping_per_dof;
                }
            }
        }
        // Mass properties from the colliders now, not at the first step, so that a fresh state's centre
        // of mass and inertias are right.
        for h in handles.bodies.iter().flatten() {
            if let Some(rb) = world.bodies.get_mut(h.body) {
                rb.recompute_mass_properties_from_colliders(&world.colliders);
            }
        }
        // Every task's robot is one multibody.
        model.inv_inertia.get_or_init(|| {
            let root = handles.bodies.iter().flatten().next().map(|b| b.body);
            let link = root.and_then(|h| world.multibody_joints.rigid_body_link(h).copied());
            link.and_then(|l| world.multibody_joints.get_multibody_mut(l.multibody))
                .map(|mb| mb.dof_inverse_inertia(&world.bodies).iter().copied().collect())
                .unwrap_or_default()
        });
        // Actuators apply their force directly (see `apply_actuator_forces`), so the loader's motor
        // emulation starts switched off.
        let mut drives = Vec::with_capacity(model.gear.len());
        for a in &model.robot.actuators {
            let h = a
                .joint_index
                .and_then(|j| handles.joints.get(j))
                .and_then(|j| j.joint);
            drives.push(h.and_then(|h| {
                let (mb, link_id) = world.multibody_joints.get_mut(h)?;
                let link = mb.link_mut(link_id)?;
                let data = &mut link.joint.data;
                data.motor_axes = JointAxesMask::empty();
                let free = !data.locked_axes.bits() & JointAxesMask::all().bits();
                let axis = free.trailing_zeros() as usize;
                let limited = data.limit_axes.bits() & free != 0;
                (free.count_ones() == 1).then(|| Drive {
                    joint: h,
                    axis,
                    range: limited.then(|| [data.limits[axis].min, data.limits[axis].max]),
                })
            }));
        }
        let limited = handles
            .joints
            .iter()
            .filter_map(|j| j.joint)
            .filter_map(|h| {
                let (mb, link_id) = world.multibody_joints.get(h)?;
                let mask = mb.link(link_id)?.joint.data.limit_axes;
                (!mask.is_empty()).then_some((h, mask))
            })
            .collect();
        let robot_bodies = handles.bodies.iter().flatten().map(|b| b.body).collect();
        let nu = model.gear.len();
        let mut sim = Self {
            world,
            handles,
            model: Arc::clone(model),
            ctrl: vec![0.0; nu],
            drives,
            limited,
            robot_bodies,
        };
        let (qpos, qvel) = sim.state();
        sim.set_state(&qpos, &qvel);
        sim
    }

    fn body_handle(&self, body: usize) -> RigidBodyHandle {
        self.handles.bodies[body]
            .as_ref()
            .map(|b| b.body)
            .expect("every non-world body is inserted")
    }

    fn joint_handle(&self, joint: usize) -> Option<MultibodyJointHandle> {
        self.handles.joints.get(joint).and_then(|j| j.joint)
    }

    /// World velocity of body `h`'s centre of mass and its angular velocity, from the multibody's
    /// generalized velocities (the rigid bodies' own velocities lag one substep behind them).
    fn velocity(&self, h: RigidBodyHandle) -> (Vector, Vector) {
        let rb = &self.world.bodies[h];
        let Some(link) = self.world.multibody_joints.rigid_body_link(h) else {
            return (rb.linvel(), rb.angvel());
        };
        let Some(mb) = self.world.multibody_joints.get_multibody(link.multibody) else {
            return (rb.linvel(), rb.angvel());
        };
        let jacobian = mb.body_jacobian(link.id);
        if jacobian.ncols() != mb.generalized_velocity().len() {
            // Before the first forward kinematics (a fresh world): the bodies' velocities are current.
            return (rb.linvel(), rb.angvel());
        }
        let v = jacobian * mb.generalized_velocity();
        (Vector::new(v[0], v[1], v[2]), Vector::new(v[3], v[4], v[5]))
    }

    /// MuJoCo's `qpos` and `qvel`.
    pub fn state(&self) -> (Vec<f64>, Vec<f64>) {
        let mut qpos = Vec::with_capacity(self.model.nq);
        let mut qvel = Vec::with_capacity(self.model.nv);
        for dof in &self.model.dofs {
            match *dof {
                DofRef::Free { body } => {
                    let h = self.body_handle(body);
                    let rb = &self.world.bodies[h];
                    let p = rb.translation();
                    let q = *rb.rotation();
                    qpos.extend(v64(p));
                    qpos.extend([q.w, q.x, q.y, q.z].map(f64::from));
                    // Velocity of the body origin, and the angular velocity in the body frame.
                    let (v_com, w) = self.velocity(h);
                    let v_origin = v_com + w.cross(p - rb.center_of_mass());
                    qvel.extend(v64(v_origin));
                    qvel.extend(v64(q.inverse() * w));
                }
                DofRef::Scalar {
                    joint,
                    angular,
                    reference,
                } => {
                    let (value, speed) = self
                        .joint_handle(joint)
                        .and_then(|h| self.world.multibody_joints.get(h))
                        .and_then(|(mb, link_id)| {
                            let link = mb.link(link_id)?;
                            let c = link.joint().coords();
                            let x = if angular { c[3] } else { c[0] };
                            Some((
                                f64::from(x),
                                f64::from(mb.generalized_velocity()[link.assembly_id()]),
                            ))
                        })
                        .unwrap_or((0.0, 0.0));
                    qpos.push(value + reference);
                    qvel.push(speed);
                }
            }
        }
        (qpos, qvel)
    }

    /// Sets MuJoCo's `qpos` and `qvel` (Gymnasium's `set_state`), then runs forward kinematics.
    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        let (mut iq, mut iv) = (0, 0);
        let mut touched = Vec::new();
        for dof in self.model.dofs.clone() {
            match dof {
                DofRef::Free { body } => {
                    let (p, v) = (&qpos[iq..iq + 7], &qvel[iv..iv + 6]);
                    iq += 7;
                    iv += 6;
                    let h = self.body_handle(body);
                    let rot = Rotation::from_xyzw(p[4] as Real, p[5] as Real, p[6] as Real, p[3] as Real)
                        .normalize();
                    let t = Vector::new(p[0] as Real, p[1] as Real, p[2] as Real);
                    let w = rot * Vector::new(v[3] as Real, v[4] as Real, v[5] as Real);
                    let v_origin = Vector::new(v[0] as Real, v[1] as Real, v[2] as Real);
                    let rb = &mut self.world.bodies[h];
                    rb.set_position(Pose::from_parts(t, rot), true);
                    let com = rb.position() * rb.local_center_of_mass();
                    let v_com = v_origin + w.cross(com - t);
                    rb.set_linvel(v_com, true);
                    rb.set_angvel(w, true);
                    if let Some(link) = self.world.multibody_joints.rigid_body_link(h) {
                        let mbi = link.multibody;
                        if let Some(mb) = self.world.multibody_joints.get_multibody_mut(mbi) {
                            mb.forward_kinematics(&self.world.bodies, true);
                            let mut gv = mb.generalized_velocity_mut();
                            // The free root's generalized velocity: centre-of-mass velocity and world
                            // angular velocity.
                            for k in 0..3 {
                                gv[k] = v_com[k];
                                gv[3 + k] = w[k];
                            }
                        }
                        touched.push(mbi);
                    }
                }
                DofRef::Scalar {
                    joint,
                    angular,
                    reference,
                } => {
                    let (target, speed) = ((qpos[iq] - reference) as Real, qvel[iv] as Real);
                    iq += 1;
                    iv += 1;
                    let Some(h) = self.joint_handle(joint) else {
                        continue;
                    };
                    let Some((mb, link_id)) = self.world.multibody_joints.get_mut(h) else {
                        continue;
                    };
                    let assembly_id = mb.link(link_id).map(|l| l.assembly_id()).unwrap_or(0);
                    if let Some(link) = mb.link_mut(link_id) {
                        let c = link.joint().coords();
                        let current = if angular { c[3] } else { c[0] };
                        link.joint.apply_displacement(&[target - current]);
                    }
                    mb.generalized_velocity_mut()[assembly_id] = speed;
                    if let Some(l) = self
                        .world
                        .multibody_joints
                        .rigid_body_link(self.handles.joints[joint].link2)
                    {
                        touched.push(l.multibody);
                    }
                }
            }
        }
        let mut unique: Vec<MultibodyIndex> = Vec::new();
        for idx in touched {
            if !unique.contains(&idx) {
                unique.push(idx);
            }
        }
        for idx in unique {
            if let Some(mb) = self.world.multibody_joints.get_multibody_mut(idx) {
                mb.forward_kinematics(&self.world.bodies, false);
                mb.update_rigid_bodies(&mut self.world.bodies, true);
            }
        }
    }

    /// Applies `ctrl` (clamped into each actuator's `ctrlrange`, as MuJoCo does) and advances `n` physics
    /// steps of `timestep`.
    pub fn step(&mut self, ctrl: &[f64], n: u32) {
        for ((c, &u), r) in self.ctrl.iter_mut().zip(ctrl).zip(&self.model.ctrl_range) {
            *c = u.clamp(r[0], r[1]) as Real;
        }
        for _ in 0..n {
            self.sync_limits();
            self.apply_actuator_forces();
            self.world.step();
        }
    }

    /// Enables each joint limit only while its coordinate is outside the range. rapier builds a limit
    /// constraint (with a solve against the joint-space mass matrix) for every limited axis at every
    /// step, but one whose coordinate is inside the range has impulse bounds `[0, 0]` and does nothing:
    /// leaving those out is the same physics, minus most of the constraint work.
    fn sync_limits(&mut self) {
        for &(h, mask) in &self.limited {
            let Some((mb, link_id)) = self.world.multibody_joints.get_mut(h) else {
                continue;
            };
            let Some(link) = mb.link_mut(link_id) else {
                continue;
            };
            let coords = link.joint.coords();
            let data = &mut link.joint.data;
            for (axis, (&x, l)) in coords.iter().zip(data.limits).enumerate() {
                let bit = JointAxesMask::from_bits_truncate(1 << axis);
                if mask.contains(bit) {
                    data.limit_axes.set(bit, x < l.min || x > l.max);
                }
            }
        }
    }

    /// Applies each actuator's `gear · ctrl` as a generalized force on its joint, as MuJoCo does: a
    /// torque (hinge) or force (slide) along the joint axis on the child body and its opposite on the
    /// parent (at the same point), which projects onto the joint's own coordinate only.
    ///
    /// Close to a joint limit (within about twice what the joint can travel in this step) the
    /// actuator is rapier-mjcf's motor emulation instead, as before: a velocity motor capped at
    /// `|gear · ctrl|` whose target is clamped so that the joint just reaches its limit within the
    /// step. Far from the limits that motor always saturates, which is the same force; the force is
    /// only much cheaper (no constraint to build and solve).
    fn apply_actuator_forces(&mut self) {
        let dt = self.world.integration_parameters.dt;
        let inv_inertia = self.model.inv_inertia.get().map_or(&[][..], Vec::as_slice);
        let bodies = &mut self.world.bodies;
        for &h in &self.robot_bodies {
            if let Some(rb) = bodies.get_mut(h) {
                rb.reset_forces(false);
                rb.reset_torques(false);
            }
        }
        for ((drive, &u), &gear) in self.drives.iter().zip(&self.ctrl).zip(&self.model.gear) {
            let Some(d) = *drive else {
                continue;
            };
            let f = gear as Real * u;
            let Some((mb, link_id)) = self.world.multibody_joints.get_mut(d.joint) else {
                continue;
            };
            let Some(dof) = mb.link(link_id).map(|l| l.assembly_id()) else {
                continue;
            };
            let v = mb.generalized_velocity()[dof];
            // Diagonal of the inverse joint-space inertia in the reference pose (MuJoCo's
            // `dof_invweight0`): turns the force into a rough acceleration scale.
            let inv_inertia = inv_inertia.get(dof).copied().unwrap_or(0.0);
            let Some(link) = mb.link_mut(link_id) else {
                continue;
            };
            let x = link.joint.coords()[d.axis];
            let data = &mut link.joint.data;
            data.motor_axes = JointAxesMask::empty();
            if f == 0.0 {
                continue;
            }
            let near_limit = d.range.is_some_and(|[lo, hi]| {
                let room = if f > 0.0 { hi - x } else { x - lo };
                room < 2.0 * dt * (v.abs() + f.abs() * inv_inertia * dt) + 0.01
            });
            if near_limit {
                let axis = JOINT_AXES[d.axis];
                let bit = JointAxesMask::from_bits_truncate(1 << d.axis);
                data.limit_axes.insert(bit);
                data.set_motor_model(axis, MotorModel::ForceBased);
                data.set_motor_velocity(axis, if f > 0.0 { 1.0e9 } else { -1.0e9 }, 0.0);
                data.set_motor_max_force(axis, f.abs());
                continue;
            }
            let Some(link) = mb.link(link_id) else {
                continue;
            };
            let Some(parent) = link.parent_id().and_then(|p| mb.link(p)) else {
                continue;
            };
            let unit = [Vector::X, Vector::Y, Vector::Z][d.axis % 3];
            let dir = parent.local_to_world().rotation * link.joint.data.local_frame1.rotation * unit;
            let (child, parent) = (link.rigid_body_handle(), parent.rigid_body_handle());
            if d.axis >= 3 {
                bodies[child].add_torque(dir * f, false);
                bodies[parent].add_torque(-dir * f, false);
            } else {
                let at = bodies[child].center_of_mass();
                bodies[child].add_force(dir * f, false);
                bodies[parent].add_force_at_point(-dir * f, at, false);
            }
        }
    }

    /// The clamped controls of the last [`step`](Self::step).
    pub fn ctrl(&self) -> impl Iterator<Item = f64> + '_ {
        self.ctrl.iter().map(|&c| f64::from(c))
    }

    /// Pose of MuJoCo body `b` (1-based, as MuJoCo numbers them): origin and rotation `[w, x, y, z]`.
    pub fn body_pose(&self, b: usize) -> ([f64; 3], [f64; 4]) {
        let rb = &self.world.bodies[self.body_handle(self.model.mj_bodies[b - 1])];
        let q = rb.rotation();
        (v64(rb.translation()), [q.w, q.x, q.y, q.z].map(f64::from))
    }

    /// Mass, centre of mass, world inertia tensor about the centre of mass (row-major), linear velocity
    /// of the centre of mass and angular velocity of every MuJoCo body 1.., in order.
    pub fn body_dynamics(&self) -> Vec<BodyDynamics> {
        self.model
            .mj_bodies
            .iter()
            .map(|&i| {
                let h = self.body_handle(i);
                let rb = &self.world.bodies[h];
                let (linvel, angvel) = self.velocity(h);
                let mp = &rb.mass_properties().local_mprops;
                let frame = *rb.rotation() * mp.principal_inertia_local_frame;
                let m = Mat3::from_quat(frame);
                let d = mp.principal_inertia();
                let mut inertia = [[0.0; 3]; 3];
                for (r, row) in inertia.iter_mut().enumerate() {
                    for (c, x) in row.iter_mut().enumerate() {
                        *x = (0..3)
                            .map(|k| f64::from(m.col(k)[r]) * f64::from(d[k]) * f64::from(m.col(k)[c]))
                            .sum();
                    }
                }
                BodyDynamics {
                    mass: f64::from(rb.mass()),
                    com: v64(rb.center_of_mass()),
                    inertia,
                    linvel: v64(linvel),
                    angvel: v64(angvel),
                }
            })
            .collect()
    }

    /// External contact force on every MuJoCo body 1.., as `(force, torque about the body's centre of
    /// mass)` in world coordinates: the normal contact impulses of the last physics step divided by the
    /// step (friction impulses are not included).
    pub fn contact_forces(&self) -> Vec<([f64; 3], [f64; 3])> {
        let n = self.model.mj_bodies.len();
        let mut out = vec![([0.0; 3], [0.0; 3]); n];
        let index_of = |h: RigidBodyHandle| {
            self.model
                .mj_bodies
                .iter()
                .position(|&i| self.handles.bodies[i].as_ref().is_some_and(|b| b.body == h))
        };
        let dt = f64::from(self.world.integration_parameters.dt);
        for pair in self.world.narrow_phase.contact_pairs() {
            for manifold in pair.manifolds() {
                let normal = manifold.data.normal;
                for (side, body, collider, sign) in [
                    (1, manifold.data.rigid_body1, pair.collider1, 1.0),
                    (2, manifold.data.rigid_body2, pair.collider2, -1.0),
                ] {
                    let Some(b) = body.and_then(index_of) else {
                        continue;
                    };
                    let Some(col) = self.world.colliders.get(collider) else {
                        continue;
                    };
                    let com = self.world.bodies[body.expect("checked")].center_of_mass();
                    for p in &manifold.points {
                        let f = normal * (p.data.impulse * sign as Real);
                        let local = if side == 1 { p.local_p1 } else { p.local_p2 };
                        let at = col.position() * local;
                        let tq = (at - com).cross(f);
                        for k in 0..3 {
                            out[b].0[k] += f64::from(f[k]) / dt;
                            out[b].1[k] += f64::from(tq[k]) / dt;
                        }
                    }
                }
            }
        }
        out
    }

    /// Every collider of the robot and the ground, as (rapier shape, world pose, is-ground).
    pub fn colliders(&self) -> impl Iterator<Item = (&Collider, bool)> {
        self.world.colliders.iter().map(|(_, c)| {
            let ground = c.collision_groups().memberships == GROUND;
            (c, ground)
        })
    }
}

/// Dynamics of one body, as [`Sim::body_dynamics`] returns it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyDynamics {
    /// Mass (kg).
    pub mass: f64,
    /// World centre of mass.
    pub com: [f64; 3],
    /// World inertia tensor about the centre of mass.
    pub inertia: [[f64; 3]; 3],
    /// Linear velocity of the centre of mass.
    pub linvel: [f64; 3],
    /// Angular velocity (world).
    pub angvel: [f64; 3],
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 m, 1 kg rod on an undamped hinge about y, no armature, no limits.
    const PENDULUM: &str = r#"<mujoco>
  <option gravity="0 0 -9.81" timestep="0.001"/>
  <worldbody>
    <body name="rod" pos="0 0 0">
      <joint name="hinge" type="hinge" axis="0 1 0" damping="0" armature="0" limited="false"/>
      <geom type="capsule" fromto="0 0 0 0 0 -1" size="0.02" mass="1" contype="0" conaffinity="0"/>
    </body>
  </worldbody>
</mujoco>"#;

    fn energy(sim: &Sim) -> f64 {
        let g = 9.81;
        sim.body_dynamics()
            .iter()
            .map(|b| {
                let v2: f64 = b.linvel.iter().map(|v| v * v).sum();
                let iw: Vec<f64> = (0..3)
                    .map(|r| (0..3).map(|c| b.inertia[r][c] * b.angvel[c]).sum())
                    .collect();
                let rot: f64 = (0..3).map(|k| b.angvel[k] * iw[k]).sum();
                0.5 * b.mass * v2 + 0.5 * rot + b.mass * g * b.com[2]
            })
            .sum()
    }

    #[test]
    fn undamped_pendulum_conserves_energy() {
        let model = Model::load("pendulum", PENDULUM, None).unwrap();
        assert_eq!((model.nq, model.nv), (1, 1));
        let mut sim = Sim::new(&model);
        // Released from horizontal at rest: it swings through the bottom at √(3g/L)·... and back.
        sim.set_state(&[std::f64::consts::FRAC_PI_2], &[0.0]);
        let e0 = energy(&sim);
        let scale = 9.81 * 0.5; // m·g·L/2: the potential energy swing
        let mut worst: f64 = 0.0;
        let mut lowest = f64::INFINITY;
        for _ in 0..2000 {
            sim.step(&[], 1);
            worst = worst.max((energy(&sim) - e0).abs() / scale);
            lowest = lowest.min(sim.state().0[0].abs());
        }
        assert!(
            lowest < 0.05,
            "the rod swung through the bottom (min |θ| = {lowest})"
        );
        // Stated tolerance: 1% of m·g·L/2 over 2 s (two full swings) with dt = 1 ms.
        assert!(worst < 0.01, "energy drifted by {worst} of m·g·L/2");
    }

    /// The actuator forces equal the loader's motor emulation (a saturated velocity motor) away from
    /// contacts and joint limits: same sign, same generalized impulse over one physics step (within a
    /// few percent: the motor impulse goes through rapier's plain mass matrix, a force through the one
    /// with the implicit Coriolis and damping terms).
    #[test]
    fn actuator_forces_match_motor_emulation() {
        for (id, xml, z) in [
            ("half_cheetah", include_str!("../../assets/half_cheetah.xml"), 1),
            ("humanoid", include_str!("../../assets/humanoid.xml"), 2),
        ] {
            let model = Model::load(id, xml, Some(1.0)).unwrap();
            let (mut qpos, qvel) = Sim::new(&model).state();
            qpos[z] += 1.0; // in the air: no contacts
            if id == "humanoid" {
                // The knees start at 0, outside their range [-160°, -2°], where rapier's motor emulation
                // aims at the limit instead of applying `gear · ctrl`: bend them into range.
                qpos[13] = -0.5;
                qpos[17] = -0.5;
            }
            let ctrl: Vec<f64> = (0..model.gear.len())
                .map(|i| 0.3 * ((i % 3) as f64 - 1.0) + 0.1)
                .collect();
            let mut passive = Sim::new(&model);
            passive.set_state(&qpos, &qvel);
            passive.step(&vec![0.0; ctrl.len()], 1);
            let mut forced = Sim::new(&model);
            forced.set_state(&qpos, &qvel);
            forced.step(&ctrl, 1);
            let mut motor = Sim::new(&model);
            motor.set_state(&qpos, &qvel);
            motor.drives.iter_mut().for_each(|d| *d = None);
            for ((c, &u), r) in motor.ctrl.iter_mut().zip(&ctrl).zip(&model.ctrl_range) {
                *c = u.clamp(r[0], r[1]) as Real;
            }
            motor.handles.apply_controls_multibody(
                &mut motor.world.bodies,
                &mut motor.world.multibody_joints,
                &motor.ctrl,
            );
            motor.world.step();
            let (v0, v1, v2) = (passive.state().1, forced.state().1, motor.state().1);
            let scale = v0.iter().zip(&v2).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(scale > 1e-3, "{id}: the controls changed nothing ({scale})");
            for (k, (f, m)) in v1.iter().zip(&v2).enumerate() {
                assert!(
                    (f - m).abs() < 0.02 * m.abs() + 0.05 * scale,
                    "{id}: qvel[{k}] {f} (force) vs {m} (motor), scale {scale}\n{v1:?}\n{v2:?}"
                );
            }
        }
    }

    #[test]
    fn state_round_trips_through_set_state() {
        for (id, xml) in [
            ("ant", include_str!("../../assets/ant.xml")),
            ("hopper", include_str!("../../assets/hopper.xml")),
            ("humanoid", include_str!("../../assets/humanoid.xml")),
        ] {
            let model = Model::load(id, xml, Some(1.0)).unwrap();
            let mut sim = Sim::new(&model);
            let (q0, v0) = sim.state();
            let qpos: Vec<f64> = q0
                .iter()
                .enumerate()
                .map(|(i, q)| q + 0.01 * ((i % 5) as f64 - 2.0))
                .collect();
            let qvel: Vec<f64> = (0..v0.len()).map(|i| 0.1 * ((i % 7) as f64 - 3.0)).collect();
            // A free joint's quaternion is normalized when set: compare against the normalized one.
            let mut want = qpos.clone();
            if id != "hopper" {
                let n = want[3..7].iter().map(|x| x * x).sum::<f64>().sqrt();
                want[3..7].iter_mut().for_each(|x| *x /= n);
            }
            sim.set_state(&qpos, &qvel);
            let (q, v) = sim.state();
            for (a, b) in q.iter().zip(&want).chain(v.iter().zip(&qvel)) {
                assert!(
                    (a - b).abs() < 1e-5,
                    "{id}: {a} vs {b}\n{q:?}\n{want:?}\n{v:?}\n{qvel:?}"
                );
            }
        }
    }
}
