//! Fused CPU kernels: one pass over contiguous memory per node step.
//!
//! A SISA node step written with tensor operations reads and writes the parameter-sized buffers
//! a dozen times. The fused loop below reads w, g, π_i, v_i (and the aggregation accumulator)
//! once and writes π_i, v_i and the accumulator (or w) once: for m = 1 that is the same 28 bytes
//! per f32 parameter as a fused AdamW step. It is split across libtorch's intra-op thread count.
//!
//! The arithmetic is the same, in the same order, as the tensor path in [`crate::pisa`], so the
//! two agree to rounding (tested there). The same machinery runs a fused Adam/AdamW step
//! ([`adam_step`]) like PyTorch's `fused=True`.
//!
//! Every kernel is an [`ElementLoop`]; [`launch`] splits it across threads and runs the loop
//! compiled for AVX2 where the CPU has it (8 f32 lanes instead of SSE2's 4; no FMA is enabled
//! and Rust never contracts `a * b + c`, so results do not depend on the instruction set).

use crate::error::{Error, Result};
use crate::second_moment::Scheme;
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

/// Whether the fused kernels can run on tensors of this kind and device.
pub(crate) fn supported(kind: Kind, device: Device) -> bool {
    device == Device::Cpu && matches!(kind, Kind::Float | Kind::Double)
}

/// Runs one fused node step.
///
/// # Errors
/// [`Error::Protocol`] when a buffer is not a contiguous CPU tensor of the parameters' kind and
/// length (an internal invariant; [`supported`] is checked by the caller).
pub(crate) fn sisa_node_step(b: &NodeBuffers<'_>, s: &NodeScalars) -> Result<()> {
    let (kind, n) = check_buffers(&[Some(b.w), Some(b.g), Some(b.pi), b.v, b.acc])?;
    let kernel = SisaLoop {
        w: Ptr::of(b.w),
        g: Ptr::of(b.g),
        pi: Ptr::of(b.pi),
        v: Ptr::maybe(b.v),
        acc: Ptr::maybe(b.acc),
        s: *s,
    };
    launch(kind, n, &kernel)
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
    let (kind, n) = check_buffers(&[Some(w), Some(g), Some(m), Some(v)])?;
    launch(
        kind,
        n,
        &AdamLoop {
            w: Ptr::of(w),
            g: Ptr::of(g),
            m: Ptr::of(m),
            v: Ptr::of(v),
            s: *s,
        },
    )
}

/// The common kind and length of the present buffers.
fn check_buffers(buffers: &[Option<&Tensor>]) -> Result<(Kind, usize)> {
    let first = buffers
        .iter()
        .flatten()
        .next()
        .ok_or_else(|| Error::Protocol("no buffers".into()))?;
    let (kind, n) = (first.kind(), first.numel());
    for t in buffers.iter().flatten() {
        if t.kind() != kind || t.numel() != n || !t.is_contiguous() || t.device() != Device::Cpu {
            return Err(Error::Protocol(
                "fused kernel needs contiguous CPU buffers of one kind and length".into(),
            ));
        }
    }
    Ok((kind, n))
}

/// A buffer's base pointer (null when absent).
#[derive(Clone, Copy)]
struct Ptr(*mut std::ffi::c_void);

// SAFETY: kernels touch disjoint index ranges of each buffer from different threads.
unsafe impl Sync for Ptr {}

impl Ptr {
    fn of(t: &Tensor) -> Self {
        Ptr(t.data_ptr())
    }

    fn maybe(t: Option<&Tensor>) -> Self {
        Ptr(t.map_or(std::ptr::null_mut(), Tensor::data_ptr))
    }

    /// Elements lo..hi, or an empty slice for an absent buffer.
    ///
    /// # Safety
    /// A present buffer must hold at least `hi` elements of `T`, and no other live slice may
    /// overlap lo..hi.
    #[inline(always)]
    unsafe fn slice<'a, T>(self, lo: usize, hi: usize) -> &'a mut [T] {
        if self.0.is_null() {
            &mut []
        } else {
            std::slice::from_raw_parts_mut((self.0 as *mut T).add(lo), hi - lo)
        }
    }
}

/// An elementwise loop over index ranges of its buffers.
trait ElementLoop: Sync {
    /// Runs the loop on indices lo..hi.
    ///
    /// # Safety
    /// The loop's buffers must hold at least `hi` elements of `T`, and no other thread may
    /// touch lo..hi concurrently.
    unsafe fn run<T: Real>(&self, lo: usize, hi: usize);
}

/// Runs `kernel` over n elements of `kind`, split across libtorch's intra-op thread count.
fn launch<L: ElementLoop>(kind: Kind, n: usize, kernel: &L) -> Result<()> {
    match kind {
        // SAFETY: `parallel_chunks` hands out disjoint ranges within 0..n.
        Kind::Float => parallel_chunks(n, |lo, hi| unsafe { dispatch::<L, f32>(kernel, lo, hi) }),
        Kind::Double => parallel_chunks(n, |lo, hi| unsafe { dispatch::<L, f64>(kernel, lo, hi) }),
        other => return Err(Error::Protocol(format!("fused kernel does not handle {other:?}"))),
    }
    Ok(())
}

/// # Safety
/// As [`ElementLoop::run`].
unsafe fn dispatch<L: ElementLoop, T: Real>(kernel: &L, lo: usize, hi: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return dispatch_avx2::<L, T>(kernel, lo, hi);
    }
    kernel.run::<T>(lo, hi)
}

/// The loop compiled for AVX2 (its `run` is inlined here).
///
/// # Safety
/// As [`ElementLoop::run`]; the CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dispatch_avx2<L: ElementLoop, T: Real>(kernel: &L, lo: usize, hi: usize) {
    kernel.run::<T>(lo, hi)
}

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

/// Floating-point element type of the fused loops.
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
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

/// Aggregation modes as const parameters, so each mode gets its own branch-free loop.
const ONLY: u8 = 0;
const FIRST: u8 = 1;
const MIDDLE: u8 = 2;
const LAST: u8 = 3;

/// The SISA/PISA node step (identity or second-moment preconditioner).
struct SisaLoop {
    w: Ptr,
    g: Ptr,
    pi: Ptr,
    /// Present iff the preconditioner is the second moment.
    v: Ptr,
    /// Present iff m > 1.
    acc: Ptr,
    s: NodeScalars,
}

impl ElementLoop for SisaLoop {
    #[inline(always)]
    unsafe fn run<T: Real>(&self, lo: usize, hi: usize) {
        let second_moment = !self.v.0.is_null();
        match (second_moment, self.s.aggregation) {
            (true, Aggregation::Only { .. }) => self.run_mode::<T, true, ONLY>(lo, hi),
            (true, Aggregation::First) => self.run_mode::<T, true, FIRST>(lo, hi),
            (true, Aggregation::Middle) => self.run_mode::<T, true, MIDDLE>(lo, hi),
            (true, Aggregation::Last { .. }) => self.run_mode::<T, true, LAST>(lo, hi),
            (false, Aggregation::Only { .. }) => self.run_mode::<T, false, ONLY>(lo, hi),
            (false, Aggregation::First) => self.run_mode::<T, false, FIRST>(lo, hi),
            (false, Aggregation::Middle) => self.run_mode::<T, false, MIDDLE>(lo, hi),
            (false, Aggregation::Last { .. }) => self.run_mode::<T, false, LAST>(lo, hi),
        }
    }
}

impl SisaLoop {
    /// The per-element node step on lo..hi.
    ///
    /// Coupled weight decay is always applied (e + 0·w = e exactly for finite w), and Scheme I
    /// uses β = 1, 1 − β = 1 (1·v + 1·e² = v + e² exactly), so the loop has no data-dependent
    /// branches.
    ///
    /// # Safety
    /// As [`ElementLoop::run`]; `v` present iff `SECOND_MOMENT`, `acc` present unless
    /// `AGG == ONLY`.
    #[inline(always)]
    unsafe fn run_mode<T: Real, const SECOND_MOMENT: bool, const AGG: u8>(&self, lo: usize, hi: usize) {
        let len = hi - lo;
        let s = &self.s;
        let (w, g, pi) = (
            self.w.slice::<T>(lo, hi),
            &*self.g.slice::<T>(lo, hi),
            self.pi.slice::<T>(lo, hi),
        );
        // Re-slicing to `len` lets the compiler drop bounds checks in the loop.
        let v = if SECOND_MOMENT {
            &mut self.v.slice::<T>(lo, hi)[..len]
        } else {
            &mut [][..]
        };
        let acc = if AGG == ONLY {
            &mut [][..]
        } else {
            &mut self.acc.slice::<T>(lo, hi)[..len]
        };
        let (sigma, rho, eps, alpha) = (T::of(s.sigma), T::of(s.rho), T::of(s.eps), T::of(s.alpha));
        let (wd, anchor) = (T::of(s.weight_decay), T::of(s.anchor_scale));
        let one_minus_anchor = T::of(1.0 - s.anchor_scale);
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
            // π_i + σ(w_i − w) with w_i − w = −(step + (1 − anchor)·w) formed without the
            // rounding of w_i (spec §6: π_i += −σ e_i ⊘ D_i); (1 − anchor)·w is 0 without decay.
            let p = pi[j] - sigma * (step + one_minus_anchor * wj);
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
}

/// The Adam/AdamW step.
struct AdamLoop {
    w: Ptr,
    g: Ptr,
    m: Ptr,
    v: Ptr,
    s: AdamScalars,
}

impl ElementLoop for AdamLoop {
    #[inline(always)]
    unsafe fn run<T: Real>(&self, lo: usize, hi: usize) {
        let len = hi - lo;
        let (w, g) = (self.w.slice::<T>(lo, hi), &*self.g.slice::<T>(lo, hi));
        let (m, v) = (self.m.slice::<T>(lo, hi), self.v.slice::<T>(lo, hi));
        let s = &self.s;
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
}
