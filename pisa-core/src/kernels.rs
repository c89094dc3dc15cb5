//! Fused CPU kernels: one pass over contiguous memory per node step.
//!
//! A SISA node step written with tensor operations reads and writes the parameter-sized buffers
//! a dozen times. The fused loop below reads w, g, π_i, v_i (and the aggregation accumulator)
//! once and writes π_i, v_i and the accumulator (or w) once: for m = 1 that is the same 28 bytes
//! per f32 parameter as a fused AdamW step. It is split across libtorch's intra-op thread count.
//!
//! The arithmetic is the same, in the same order, as the tensor path in [`crate::pisa`], so the
//! two agree to rounding (tested there).

use crate::error::{Error, Result};
use crate::pisa::Scheme;
use tch::{Device, Kind, Tensor};

/// Where a node's contribution α_i(σ w_i + π_i) goes (spec §6, streaming form).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Aggregation {
    /// m = 1: w ← contribution / (σ + λ).
    Only {
        /// 1 / (σ + λ).
        inv_denominator: f64,
    },
    /// First of several nodes: acc ← contribution.
    First,
    /// A middle node: acc ← acc + contribution.
    Middle,
    /// Last node: w ← (acc + contribution) / (σ + λ).
    Last {
        /// 1 / (σ + λ).
        inv_denominator: f64,
    },
}

/// Scalars of one SISA/PISA node step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeScalars {
    pub sigma: f64,
    pub rho: f64,
    pub eps: f64,
    pub alpha: f64,
    /// `None`: identity preconditioner (q = 1). Otherwise the scheme, β and 1/(1 − β^k) (1 for
    /// schemes I and II).
    pub second_moment: Option<(Scheme, f64, f64)>,
    /// Coupled weight decay.
    pub weight_decay: f64,
    /// 1 − wd_dec·η: the local step's anchor is `anchor_scale · w`.
    pub anchor_scale: f64,
    pub aggregation: Aggregation,
}

/// Buffers of one node step. `v` is present iff the preconditioner is the second moment,
/// `acc` iff m > 1.
pub(crate) struct NodeBuffers<'a> {
    pub w: &'a Tensor,
    pub g: &'a Tensor,
    pub pi: &'a Tensor,
    pub v: Option<&'a Tensor>,
    pub acc: Option<&'a Tensor>,
}

/// Whether the fused kernel can run on tensors of this kind and device.
pub(crate) fn supported(kind: Kind, device: Device) -> bool {
    device == Device::Cpu && matches!(kind, Kind::Float | Kind::Double)
}

/// Runs one fused node step.
///
/// # Errors
/// [`Error::Protocol`] when a buffer is not a contiguous CPU tensor of the parameters' kind and
/// length (an internal invariant; [`supported`] is checked by the caller).
pub(crate) fn sisa_node_step(b: &NodeBuffers<'_>, s: &NodeScalars) -> Result<()> {
    let n = b.w.numel();
    let kind = b.w.kind();
    let all = [Some(b.w), Some(b.g), Some(b.pi), b.v, b.acc];
    for t in all.iter().flatten() {
        if t.kind() != kind || t.numel() != n || !t.is_contiguous() || t.device() != Device::Cpu {
            return Err(Error::Protocol(
                "fused kernel needs contiguous CPU buffers of one kind and length".into(),
            ));
        }
    }
    let ptr = |t: Option<&Tensor>| t.map_or(std::ptr::null_mut(), |t| t.data_ptr());
    let raw = RawBuffers {
        w: ptr(Some(b.w)),
        g: ptr(Some(b.g)),
        pi: ptr(Some(b.pi)),
        v: ptr(b.v),
        acc: ptr(b.acc),
    };
    match kind {
        Kind::Float => parallel_chunks(n, |lo, hi| unsafe { run::<f32>(&raw, lo, hi, s) }),
        Kind::Double => parallel_chunks(n, |lo, hi| unsafe { run::<f64>(&raw, lo, hi, s) }),
        other => return Err(Error::Protocol(format!("fused kernel does not handle {other:?}"))),
    }
    Ok(())
}

/// Raw base pointers of the buffers (null when absent). The buffers are distinct allocations.
struct RawBuffers {
    w: *mut std::ffi::c_void,
    g: *mut std::ffi::c_void,
    pi: *mut std::ffi::c_void,
    v: *mut std::ffi::c_void,
    acc: *mut std::ffi::c_void,
}

// SAFETY: each thread touches a disjoint index range of every buffer.
unsafe impl Sync for RawBuffers {}

/// Smallest chunk worth a thread of its own.
const MIN_CHUNK: usize = 1 << 15;

fn parallel_chunks(n: usize, f: impl Fn(usize, usize) + Sync) {
    let threads = (tch::get_num_threads().max(1) as usize)
        .min(n.div_ceil(MIN_CHUNK))
        .max(1);
    if threads == 1 {
        f(0, n);
        return;
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        for t in 1..threads {
            let f = &f;
            scope.spawn(move || f(t * chunk, ((t + 1) * chunk).min(n)));
        }
        f(0, chunk.min(n));
    });
}

/// Floating-point element type of the fused loop.
trait Real:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    fn of(x: f64) -> Self;
    fn sqrt(self) -> Self;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

/// Aggregation modes as const parameters, so each mode gets its own branch-free loop.
const ONLY: u8 = 0;
const FIRST: u8 = 1;
const MIDDLE: u8 = 2;
const LAST: u8 = 3;

/// Dispatches to the monomorphized loop for the preconditioner and aggregation mode.
///
/// # Safety
/// As [`run_mode`].
unsafe fn run<T: Real>(raw: &RawBuffers, lo: usize, hi: usize, s: &NodeScalars) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return run_avx2::<T>(raw, lo, hi, s);
    }
    run_portable::<T>(raw, lo, hi, s)
}

/// The loops compiled for AVX2 (8 f32 lanes instead of SSE2's 4). No FMA is enabled and Rust
/// never contracts `a * b + c`, so the results are the same as the portable build's.
///
/// # Safety
/// As [`run_mode`]; the CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<T: Real>(raw: &RawBuffers, lo: usize, hi: usize, s: &NodeScalars) {
    run_portable::<T>(raw, lo, hi, s)
}

/// # Safety
/// As [`run_mode`].
#[inline(always)]
unsafe fn run_portable<T: Real>(raw: &RawBuffers, lo: usize, hi: usize, s: &NodeScalars) {
    let second_moment = !raw.v.is_null();
    match (second_moment, s.aggregation) {
        (true, Aggregation::Only { .. }) => run_mode::<T, true, ONLY>(raw, lo, hi, s),
        (true, Aggregation::First) => run_mode::<T, true, FIRST>(raw, lo, hi, s),
        (true, Aggregation::Middle) => run_mode::<T, true, MIDDLE>(raw, lo, hi, s),
        (true, Aggregation::Last { .. }) => run_mode::<T, true, LAST>(raw, lo, hi, s),
        (false, Aggregation::Only { .. }) => run_mode::<T, false, ONLY>(raw, lo, hi, s),
        (false, Aggregation::First) => run_mode::<T, false, FIRST>(raw, lo, hi, s),
        (false, Aggregation::Middle) => run_mode::<T, false, MIDDLE>(raw, lo, hi, s),
        (false, Aggregation::Last { .. }) => run_mode::<T, false, LAST>(raw, lo, hi, s),
    }
}

/// The per-element node step on indices lo..hi.
///
/// Coupled weight decay is always applied (e + 0·w = e exactly for finite w), and Scheme I uses
/// β = 1, 1 − β = 1 (1·v + 1·e² = v + e² exactly), so the loop has no data-dependent branches.
///
/// # Safety
/// The pointers of `raw` must point at valid, distinct buffers of at least `hi` elements of `T`
/// (`v` non-null iff `SECOND_MOMENT`, `acc` non-null unless `AGG == ONLY`), and no other thread
/// may touch indices lo..hi concurrently.
#[inline(always)]
unsafe fn run_mode<T: Real, const SECOND_MOMENT: bool, const AGG: u8>(
    raw: &RawBuffers,
    lo: usize,
    hi: usize,
    s: &NodeScalars,
) {
    let len = hi - lo;
    let slice = |p: *mut std::ffi::c_void| std::slice::from_raw_parts_mut((p as *mut T).add(lo), len);
    let empty = |p: *mut std::ffi::c_void| if p.is_null() { &mut [][..] } else { slice(p) };
    let (w, g, pi) = (slice(raw.w), &*slice(raw.g), slice(raw.pi));
    // Re-slicing to `len` lets the compiler drop bounds checks in the loop.
    let v = if SECOND_MOMENT {
        &mut empty(raw.v)[..len]
    } else {
        &mut [][..]
    };
    let acc = if AGG == ONLY {
        &mut [][..]
    } else {
        &mut empty(raw.acc)[..len]
    };
    let (sigma, rho, eps, alpha) = (T::of(s.sigma), T::of(s.rho), T::of(s.eps), T::of(s.alpha));
    let (wd, anchor) = (T::of(s.weight_decay), T::of(s.anchor_scale));
    let (beta, one_minus_beta, inv_bc) = match s.second_moment {
        Some((Scheme::Adagrad, _, _)) => (T::of(1.0), T::of(1.0), T::of(1.0)),
        Some((_, beta, inv_bc)) => (T::of(beta), T::of(1.0 - beta), T::of(inv_bc)),
        None => (T::of(0.0), T::of(0.0), T::of(1.0)),
    };
    let inv_denominator = match s.aggregation {
        Aggregation::Only { inv_denominator } | Aggregation::Last { inv_denominator } => {
            T::of(inv_denominator)
        }
        Aggregation::First | Aggregation::Middle => T::of(1.0),
    };
    let one = T::of(1.0);
    for j in 0..len {
        let wj = w[j];
        let e = g[j] + pi[j] + wd * wj;
        let q = if SECOND_MOMENT {
            let vn = beta * v[j] + one_minus_beta * (e * e);
            v[j] = vn;
            (vn * inv_bc).sqrt() + eps
        } else {
            one
        };
        let step = e / (sigma + rho * q);
        let wi = anchor * wj - step;
        let p = pi[j] + sigma * (wi - wj);
        pi[j] = p;
        let contribution = alpha * (sigma * wi + p);
        match AGG {
            ONLY => w[j] = contribution * inv_denominator,
            FIRST => acc[j] = contribution,
            MIDDLE => acc[j] = acc[j] + contribution,
            _ => w[j] = (acc[j] + contribution) * inv_denominator,
        }
    }
}

/// Scalars of one fused Adam/AdamW step, with PyTorch's formulas (`torch.optim.AdamW`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamScalars {
    /// Coupled decay (Adam's `weight_decay`, added to the gradient); 0 for AdamW.
    pub coupled_decay: f64,
    /// w ← w·decay before the step: 1 − lr·wd for AdamW, 1 for Adam.
    pub decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// lr / (1 − β₁ᵗ).
    pub step_size: f64,
    /// √(1 − β₂ᵗ).
    pub bias_correction2_sqrt: f64,
}

/// One fused Adam step over contiguous CPU buffers `w`, `g`, `m`, `v` of one kind and length.
///
/// # Errors
/// [`Error::Protocol`] when a buffer is not a contiguous CPU tensor of `w`'s kind and length.
pub(crate) fn adam_step(w: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, s: &AdamScalars) -> Result<()> {
    let n = w.numel();
    let kind = w.kind();
    for t in [w, g, m, v] {
        if t.kind() != kind || t.numel() != n || !t.is_contiguous() || t.device() != Device::Cpu {
            return Err(Error::Protocol(
                "fused kernel needs contiguous CPU buffers of one kind and length".into(),
            ));
        }
    }
    let raw = RawBuffers {
        w: w.data_ptr(),
        g: g.data_ptr(),
        pi: m.data_ptr(),
        v: v.data_ptr(),
        acc: std::ptr::null_mut(),
    };
    match kind {
        Kind::Float => parallel_chunks(n, |lo, hi| unsafe { adam_dispatch::<f32>(&raw, lo, hi, s) }),
        Kind::Double => parallel_chunks(n, |lo, hi| unsafe { adam_dispatch::<f64>(&raw, lo, hi, s) }),
        other => return Err(Error::Protocol(format!("fused kernel does not handle {other:?}"))),
    }
    Ok(())
}

/// # Safety
/// As [`adam_loop`].
unsafe fn adam_dispatch<T: Real>(raw: &RawBuffers, lo: usize, hi: usize, s: &AdamScalars) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return adam_avx2::<T>(raw, lo, hi, s);
    }
    adam_loop::<T>(raw, lo, hi, s)
}

/// # Safety
/// As [`adam_loop`]; the CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_avx2<T: Real>(raw: &RawBuffers, lo: usize, hi: usize, s: &AdamScalars) {
    adam_loop::<T>(raw, lo, hi, s)
}

/// The per-element Adam step on lo..hi (`raw.pi` holds m, `raw.v` holds v).
///
/// # Safety
/// `raw.w`, `raw.g`, `raw.pi`, `raw.v` must point at valid, distinct buffers of at least `hi`
/// elements of `T`, and no other thread may touch indices lo..hi concurrently.
#[inline(always)]
unsafe fn adam_loop<T: Real>(raw: &RawBuffers, lo: usize, hi: usize, s: &AdamScalars) {
    let len = hi - lo;
    let slice = |p: *mut std::ffi::c_void| std::slice::from_raw_parts_mut((p as *mut T).add(lo), len);
    let (w, g, m, v) = (slice(raw.w), &*slice(raw.g), slice(raw.pi), slice(raw.v));
    let (coupled, decay) = (T::of(s.coupled_decay), T::of(s.decay));
    let (one_minus_beta1, beta2, one_minus_beta2) =
        (T::of(1.0 - s.beta1), T::of(s.beta2), T::of(1.0 - s.beta2));
    let (eps, step_size, bc2_sqrt) = (T::of(s.eps), T::of(s.step_size), T::of(s.bias_correction2_sqrt));
    for j in 0..len {
        let gj = g[j] + coupled * w[j];
        let mj = m[j] + one_minus_beta1 * (gj - m[j]);
        let vj = beta2 * v[j] + one_minus_beta2 * (gj * gj);
        m[j] = mj;
        v[j] = vj;
        let denom = vj.sqrt() / bc2_sqrt + eps;
        w[j] = w[j] * decay - step_size * mj / denom;
    }
}
