//! numpy's `Generator.standard_normal`: the 256-layer ziggurat of `random_standard_normal`.
//!
//! Gymnasium draws the initial velocities of HalfCheetah, Ant and InvertedDoublePendulum with
//! `np_random.standard_normal(nv)`, so matching Gymnasium's initial states needs numpy's exact algorithm
//! on the same PCG64 stream ([`NumpyRng`]): one 64-bit draw per try, the low 8 bits pick the layer, bit 8
//! the sign, the next 52 bits the abscissa; the base layer falls back to Marsaglia's tail method and the
//! other layers to the wedge test.
//!
//! The layer tables are numpy's: `ki` and `wi` ([`ziggurat_tables`](super::ziggurat_tables)) were measured
//! from numpy's own `standard_normal` by `ziggurat_tables.py` (numpy's tables were generated in more
//! than double precision, so recomputing them in `f64` is off in the last bits, and a chaotic task such
//! as HalfCheetah turns a 1e-16 difference in the initial velocity into 1e-6 after 40 steps). `fi` is
//! `exp(−x²/2)` at the measured layer edges, which equals numpy's `fi_double` (spot-checked); it only
//! enters the wedge test. `tests/mujoco_parity.rs` checks 6000 draws against numpy's bit for bit.

use std::sync::OnceLock;

use crate::rng::NumpyRng;

/// numpy's `ziggurat_nor_r` (3.6541528853610087963519472518): where the tail starts.
const R: f64 = 3.654_152_885_361_009;
/// numpy's `ziggurat_nor_inv_r`, `1 / R`.
const INV_R: f64 = 0.273_661_237_329_758_3;

use super::ziggurat_tables::{KI, WI};

/// Density at each layer's right edge, `exp(−x²/2)` with `x = wi · 2⁵²` (numpy's `fi_double`; 1 for
/// the base layer).
fn fi() -> &'static [f64; 256] {
    static FI: OnceLock<[f64; 256]> = OnceLock::new();
    FI.get_or_init(|| {
        let two52 = (1u64 << 52) as f64;
        let mut fi = WI.map(|w| (-0.5 * (w * two52) * (w * two52)).exp());
        fi[0] = 1.0;
        fi
    })
}

/// One `Generator.standard_normal()` draw from `rng`, consuming the stream as numpy does.
pub fn standard_normal(rng: &mut NumpyRng) -> f64 {
    let fi = fi();
    loop {
        let r = rng.next_u64();
        let idx = (r & 0xff) as usize;
        let r = r >> 8;
        let negative = r & 1 == 1;
        let rabs = (r >> 1) & 0x000f_ffff_ffff_ffff;
        let mut x = rabs as f64 * WI[idx];
        if negative {
            x = -x;
        }
        if rabs < KI[idx] {
            return x;
        }
        if idx == 0 {
            loop {
                let xx = -INV_R * (-rng.next_f64()).ln_1p();
                let yy = -(-rng.next_f64()).ln_1p();
                if yy + yy > xx * xx {
                    return if (rabs >> 8) & 1 == 1 { -(R + xx) } else { R + xx };
                }
            }
        } else if (fi[idx - 1] - fi[idx]) * rng.next_f64() + fi[idx] < (-0.5 * x * x).exp() {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layers are monotone, the top one (1) is never accepted directly, the bottom one's edge is r,
    /// and `fi` is the density at the edges.
    #[test]
    fn tables_are_a_closed_ziggurat() {
        let two52 = (1u64 << 52) as f64;
        assert_eq!(KI[1], 0);
        assert!(WI.windows(2).skip(1).all(|w| w[0] < w[1]));
        assert!((WI[255] * two52 - R).abs() < 1e-14);
        assert!((R * INV_R - 1.0).abs() < 1e-15);
        // ki[i] = ⌊x[i−1]/x[i] · 2⁵²⌋ for the inner layers.
        for i in 2..256 {
            let ratio = WI[i - 1] / WI[i] * two52;
            assert!((KI[i] as f64 - ratio).abs() <= 2.0, "layer {i}");
        }
        assert_eq!(fi()[0], 1.0);
        assert!(fi().windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn moments_are_standard_normal() {
        let mut rng = NumpyRng::new(7);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        let tail = draws.iter().filter(|x| x.abs() > R).count() as f64 / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
        // P(|Z| > 3.654) = 2.58e-4: about 52 of 200k.
        assert!((tail - 2.58e-4).abs() < 1.5e-4, "{tail}");
    }
}
