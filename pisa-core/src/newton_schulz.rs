//! Newton–Schulz orthogonalization: the quintic iteration of Muon, used by NSISA (spec §3.4)
//! and the Muon baseline.
//!
//! For a matrix G = UΣVᵀ it drives the singular values towards 1 without an SVD, so the result
//! approximates the polar factor UVᵀ. With Muon's coefficients the singular values land roughly
//! in [0.7, 1.2] after 5 steps rather than converging to 1 (spec T7).

use crate::error::Result;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Settings of the iteration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewtonSchulz {
    /// Number of iterations (default 5).
    pub steps: usize,
    /// Quintic coefficients (a, b, c): X ← aX + (bA + cA²)X with A = XXᵀ
    /// (default (3.4445, −4.7750, 2.0315)).
    pub coefficients: (f64, f64, f64),
    /// The guard in the initial normalization X = G / (‖G‖_F + eps) (default 1e-7).
    pub eps: f64,
    /// Precision of the iteration (default bf16, as the authors' NSISA and Muon).
    pub precision: Precision,
}

impl Default for NewtonSchulz {
    fn default() -> Self {
        NewtonSchulz {
            steps: 5,
            coefficients: (3.4445, -4.7750, 2.0315),
            eps: 1e-7,
            precision: Precision::Bf16,
        }
    }
}

/// The dtype Newton–Schulz runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// bfloat16, as the reference code.
    Bf16,
    /// float32.
    F32,
    /// float64 (tests).
    F64,
}

impl Precision {
    /// (storage, compute) kinds: values are rounded to `storage` after each matrix product,
    /// as `torch.addmm` on bf16 tensors does (products accumulate in f32, one rounding).
    fn kinds(self) -> (Kind, Kind) {
        match self {
            Precision::Bf16 => (Kind::BFloat16, Kind::Float),
            Precision::F32 => (Kind::Float, Kind::Float),
            Precision::F64 => (Kind::Double, Kind::Double),
        }
    }
}

impl NewtonSchulz {
    /// Orthogonalizes a matrix `g` ([p, q]); the result has `g`'s shape and dtype.
    ///
    /// The iteration runs on the short-and-wide orientation (transposing when p > q), so
    /// NS(Gᵀ) = NS(G)ᵀ exactly. Each step is A = XXᵀ, B = bA + cA², X = aX + BX, with one
    /// rounding to the storage precision per product, the order of operations of
    /// `torch.optim.Muon` (so bf16 results match PyTorch's bit for bit).
    ///
    /// # Errors
    /// A libtorch error (e.g. `g` is not 2-D).
    pub fn orthogonalize(&self, g: &Tensor) -> Result<Tensor> {
        let (storage, compute) = self.precision.kinds();
        let round = |t: Tensor| -> Result<Tensor> { Ok(t.f_to_kind(storage)?.f_to_kind(compute)?) };
        let size = g.size();
        let tall = size.len() == 2 && size[0] > size[1];
        let mut x = round(g.f_to_kind(compute)?)?;
        if tall {
            x = x.f_tr()?;
        }
        let norm = round(x.f_norm()?)?.f_clamp_min(self.eps)?;
        x = round(x.f_div(&norm)?)?;
        let (a, b, c) = self.coefficients;
        for _ in 0..self.steps {
            let gram = round(x.f_matmul(&x.f_tr()?)?)?;
            let poly = round(&gram * b + gram.f_matmul(&gram)? * c)?;
            x = round(&x * a + poly.f_matmul(&x)?)?;
        }
        if tall {
            x = x.f_tr()?;
        }
        Ok(x.f_to_kind(g.kind())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t7_input() -> Tensor {
        Tensor::from_slice(&[1.0f64, 2., 0., -1., 0.5, 0., 1., 3., 1., -2., 2., -1., 1., 0., 1.]).view([3, 5])
    }

    fn singular_values(x: &Tensor) -> Vec<f64> {
        // σ(X) = √eig(XXᵀ) (libtorch's CPU SVD entry point rejects tch's driver argument).
        let gram = x.matmul(&x.tr());
        let mut s = Vec::<f64>::try_from(gram.linalg_eigvalsh("L").clamp_min(0.0).sqrt()).unwrap();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        s
    }

    fn ns(steps: usize) -> NewtonSchulz {
        NewtonSchulz {
            steps,
            precision: Precision::F64,
            ..NewtonSchulz::default()
        }
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "got {got:?}, want {want:?}");
        }
    }

    /// Spec T7: singular values after 1, 2, 5, 10 steps (fp64), to the printed digits.
    #[test]
    fn t7_singular_values() {
        let g = t7_input();
        assert_close(&singular_values(&g), &[2.449490, 2.692582, 3.872983], 5e-7);
        let table = [
            (1, [1.0798, 1.1623, 1.1919]),
            (2, [0.6898, 0.8151, 0.9071]),
            (5, [0.7344, 1.0552, 1.0664]),
            (10, [0.6819, 0.6819, 1.0578]),
        ];
        for (steps, want) in table {
            assert_close(
                &singular_values(&ns(steps).orthogonalize(&g).unwrap()),
                &want,
                5e-5,
            );
        }
    }

    /// Spec T7: the first row of NS₅(G), transposition symmetry, rank-1 input.
    #[test]
    fn t7_row_transpose_and_rank_one() {
        let g = t7_input();
        let x = ns(5).orthogonalize(&g).unwrap();
        let row = Vec::<f64>::try_from(x.get(0)).unwrap();
        assert_close(&row, &[0.272744, 0.861543, -0.063211, -0.399166, 0.136372], 5e-7);
        let xt = ns(5).orthogonalize(&g.tr()).unwrap();
        assert_eq!(
            Vec::<f64>::try_from(xt.tr().reshape([-1])).unwrap(),
            Vec::<f64>::try_from(x.reshape([-1])).unwrap()
        );
        let rank1 = Tensor::from_slice(&[1.0f64, 2., 3.]).view([1, 3]).repeat([2, 1])
            * Tensor::from_slice(&[1.0f64, -0.5]).view([2, 1]);
        let s = singular_values(&ns(5).orthogonalize(&rank1).unwrap());
        assert_close(&s, &[0.0, 0.6964], 5e-5);
    }

    /// bf16 equals PyTorch's `torch.optim._muon._zeropower_via_newtonschulz` on the T7 input,
    /// to the last bit of its f32 output. Golden values: `tests/golden/newton_schulz.py`.
    #[test]
    fn bf16_matches_pytorch_muon() {
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../tests/golden/newton_schulz.json")).unwrap();
        let want: Vec<f32> = serde_json::from_value(golden["t7_bf16"].clone()).unwrap();
        let got = NewtonSchulz::default()
            .orthogonalize(&t7_input().to_kind(Kind::Float))
            .unwrap();
        assert_eq!(Vec::<f32>::try_from(got.reshape([-1])).unwrap(), want);
        // bf16 is about 3e-2 from the exact iteration on this input (PyTorch's own bf16 too).
        let exact = Vec::<f64>::try_from(ns(5).orthogonalize(&t7_input()).unwrap().reshape([-1])).unwrap();
        let err = want
            .iter()
            .zip(&exact)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 5e-2, "bf16 vs f64: {err}");
    }
}
