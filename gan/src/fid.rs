//! Fréchet Inception Distance (Heusel et al. 2017) with statistics in f64.
//!
//! FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}.
//!
//! [`FeatureStats`] accumulates the mean and covariance (unbiased, n − 1) of feature vectors
//! batch by batch in f64. [`frechet_distance`] takes the square roots Σ₁^{1/2}, Σ₂^{1/2} through
//! symmetric eigendecompositions in f64 (V diag(√λ) Vᵀ, eigenvalues below the numerical-rank
//! tolerance d·ε·λ_max, round-off negatives included, taken as 0), and the trace term as the sum
//! of the singular values of Σ₂^{1/2} Σ₁^{1/2} (whose squares are the eigenvalues of
//! Σ₁^{1/2} Σ₂ Σ₁^{1/2}). This equals the usual `scipy.linalg.sqrtm(Σ₁ Σ₂)` trace (the same
//! eigenvalues) without its complex round-off, and stays accurate for rank-deficient
//! covariances (fewer samples than the 2048 feature dimensions).

use crate::error::{GanError, Result};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Running mean and covariance of feature vectors, in f64 on the CPU.
#[derive(Debug)]
pub struct FeatureStats {
    n: i64,
    sum: Tensor,
    sum_outer: Tensor,
}

impl FeatureStats {
    /// Empty statistics of `dim`-dimensional features.
    pub fn new(dim: i64) -> Self {
        let opts = (Kind::Double, Device::Cpu);
        FeatureStats {
            n: 0,
            sum: Tensor::zeros([dim], opts),
            sum_outer: Tensor::zeros([dim, dim], opts),
        }
    }

    /// Feature dimension.
    pub fn dim(&self) -> i64 {
        self.sum.size()[0]
    }

    /// Number of vectors seen.
    pub fn count(&self) -> i64 {
        self.n
    }

    /// Adds a batch `[N, dim]` (any float kind, any device).
    ///
    /// # Errors
    /// [`GanError::Stats`] for another dimension.
    pub fn update(&mut self, features: &Tensor) -> Result<()> {
        let size = features.size();
        if size.len() != 2 || size[1] != self.dim() {
            return Err(GanError::Stats(format!(
                "features {size:?} where [N, {}] was expected",
                self.dim()
            )));
        }
        let x = features.to_device(Device::Cpu).to_kind(Kind::Double);
        self.n += size[0];
        self.sum += x.sum_dim_intlist(0, false, Kind::Double);
        self.sum_outer += x.tr().matmul(&x);
        Ok(())
    }

    /// Mean μ `[dim]` and unbiased covariance Σ `[dim, dim]`.
    ///
    /// # Errors
    /// [`GanError::Stats`] with fewer than 2 vectors.
    pub fn mean_cov(&self) -> Result<(Tensor, Tensor)> {
        if self.n < 2 {
            return Err(GanError::Stats(format!(
                "{} feature vectors; at least 2 are needed",
                self.n
            )));
        }
        let n = self.n as f64;
        let mu = &self.sum / n;
        let cov = (&self.sum_outer - mu.outer(&mu) * n) / (n - 1.0);
        Ok((mu, cov))
    }

    /// Saves μ and Σ (f64 safetensors, keys `mu`, `sigma`, `n`), atomically: the file is
    /// written under a temporary name unique to this process and renamed into place, so an
    /// interrupted run or a concurrent one never leaves a half-written cache behind.
    ///
    /// # Errors
    /// [`GanError::Stats`], a libtorch error, or [`GanError::Io`] naming the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let (mu, sigma) = self.mean_cov()?;
        let n = Tensor::from_slice(&[self.n]);
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        Tensor::write_safetensors(&[("mu", &mu), ("sigma", &sigma), ("n", &n)], &tmp)?;
        std::fs::rename(&tmp, path).map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            GanError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }
}

/// Cached reference statistics: μ, Σ and the number of samples they came from.
#[derive(Debug)]
pub struct RefStats {
    /// Mean.
    pub mu: Tensor,
    /// Covariance.
    pub sigma: Tensor,
    /// Sample count.
    pub n: i64,
}

impl RefStats {
    /// Loads what [`FeatureStats::save`] wrote.
    ///
    /// # Errors
    /// [`GanError::CorruptFile`] naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |m: String| GanError::CorruptFile {
            path: path.to_path_buf(),
            message: m,
        };
        let tensors = Tensor::read_safetensors(path).map_err(|e| bad(e.to_string()))?;
        let get = |k: &str| {
            tensors
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, t)| t.shallow_clone())
                .ok_or_else(|| bad(format!("no `{k}`")))
        };
        Ok(RefStats {
            mu: get("mu")?,
            sigma: get("sigma")?,
            n: get("n")?.int64_value(&[0]),
        })
    }

    /// From accumulated statistics.
    ///
    /// # Errors
    /// As [`FeatureStats::mean_cov`].
    pub fn from_stats(stats: &FeatureStats) -> Result<Self> {
        let (mu, sigma) = stats.mean_cov()?;
        Ok(RefStats {
            mu,
            sigma,
            n: stats.count(),
        })
    }
}

/// Eigenvalues and eigenvectors of the symmetric part of `a` (f64), with eigenvalues below the
/// numerical-rank tolerance `d · ε_f64 · λ_max` (numpy's `matrix_rank` rule) set to 0: the
/// square root of a round-off eigenvalue δ would add √δ, far above δ, to the trace.
fn psd_eigh(a: &Tensor) -> (Tensor, Tensor) {
    let a = a.to_kind(Kind::Double);
    let sym = (&a + a.tr()) / 2.0;
    let (eigenvalues, v) = sym.linalg_eigh("L");
    let d = eigenvalues.size()[0] as f64;
    let tol = d * f64::EPSILON * eigenvalues.abs().max().double_value(&[]);
    let kept = eigenvalues.where_scalarother(&eigenvalues.gt(tol), 0.0);
    (kept, v)
}

/// The symmetric PSD square root V diag(√λ) Vᵀ of a symmetric matrix, in f64 (eigenvalues
/// below the rank tolerance, negative round-off included, taken as 0).
pub fn sqrt_psd(a: &Tensor) -> Tensor {
    let (eigenvalues, v) = psd_eigh(a);
    (&v * eigenvalues.sqrt().unsqueeze(0)).matmul(&v.tr())
}

/// The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂), in f64.
///
/// # Errors
/// [`GanError::Stats`] when the shapes differ or are not `[d]` and `[d, d]`.
pub fn frechet_distance(mu1: &Tensor, sigma1: &Tensor, mu2: &Tensor, sigma2: &Tensor) -> Result<f64> {
    let d = mu1.size();
    if d.len() != 1 || mu2.size() != d || sigma1.size() != [d[0], d[0]] || sigma2.size() != [d[0], d[0]] {
        return Err(GanError::Stats(format!(
            "shapes μ₁ {:?}, Σ₁ {:?}, μ₂ {:?}, Σ₂ {:?} do not match",
            mu1.size(),
            sigma1.size(),
            mu2.size(),
            sigma2.size()
        )));
    }
    let (s1, s2) = (sigma1.to_kind(Kind::Double), sigma2.to_kind(Kind::Double));
    let diff = mu1.to_kind(Kind::Double) - mu2.to_kind(Kind::Double);
    // tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} = Σ singular values of Σ₂^{1/2} Σ₁^{1/2}: taking them
    // directly avoids the √ of round-off eigenvalues of the product (error √ε instead of ε).
    let product = sqrt_psd(&s2).matmul(&sqrt_psd(&s1));
    let (_, singular, _) = product.svd(true, false);
    let tr_sqrt = singular.sum(Kind::Double);
    let fid = diff.dot(&diff) + s1.trace() + s2.trace() - tr_sqrt * 2.0;
    Ok(fid.double_value(&[]))
}

/// FID between two accumulated statistics.
///
/// # Errors
/// As [`FeatureStats::mean_cov`] and [`frechet_distance`].
pub fn fid(a: &RefStats, b: &RefStats) -> Result<f64> {
    frechet_distance(&a.mu, &a.sigma, &b.mu, &b.sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic features: row i, column j → a smooth but non-degenerate pattern.
    fn features(n: i64, d: i64, shift: f64) -> Tensor {
        let i = Tensor::arange(n, (Kind::Double, Device::Cpu)).unsqueeze(1);
        let j = Tensor::arange(d, (Kind::Double, Device::Cpu)).unsqueeze(0);
        ((&i * 0.37 + &j * 1.3 + shift).sin() * (&j * 0.1 + 1.0) + (&i * &j * 0.011).cos()) * 0.5
    }

    fn stats_of(x: &Tensor, batch: i64) -> RefStats {
        let mut s = FeatureStats::new(x.size()[1]);
        for b in x.split(batch, 0) {
            s.update(&b).unwrap();
        }
        RefStats::from_stats(&s).unwrap()
    }

    #[test]
    fn fid_of_a_set_with_itself_is_zero() {
        // Full-rank (n > d) and rank-deficient (n < d, as with few samples of 2048-d features).
        for (n, d) in [(300, 16), (40, 64)] {
            let s = stats_of(&features(n, d, 0.0), 7);
            let value = fid(&s, &s).unwrap();
            assert!(value.abs() < 1e-6, "n {n} d {d}: FID {value}");
        }
    }

    #[test]
    fn batched_accumulation_equals_the_two_pass_formula() {
        let x = features(123, 8, 0.3);
        let s = stats_of(&x, 10);
        let mu = x.mean_dim(0, false, Kind::Double);
        let centred = &x - &mu;
        let cov = centred.tr().matmul(&centred) / 122.0;
        assert!((&s.mu - mu).abs().max().double_value(&[]) < 1e-13);
        assert!((&s.sigma - cov).abs().max().double_value(&[]) < 1e-13);
    }

    /// Rows of the 8×8 Sylvester–Hadamard matrix but the all-ones one: columns of mean 0 with
    /// ZᵀZ = 8·I, so μ + sqrt(7/8)·Z·Lᵀ has sample mean μ and sample covariance L·Lᵀ exactly.
    fn exact_gaussian_sample(mu: &[f64], l: &Tensor) -> Tensor {
        let d = mu.len() as i64;
        let mut h = vec![0f64; 64];
        for r in 0..8 {
            for c in 0..8 {
                h[r * 8 + c] = if (r & c).count_ones() % 2 == 0 { 1.0 } else { -1.0 };
            }
        }
        let z = Tensor::from_slice(&h).view([8, 8]).narrow(0, 1, d).tr(); // [8, d]
        Tensor::from_slice(mu).unsqueeze(0) + z.matmul(&l.tr()) * (7.0f64 / 8.0).sqrt()
    }

    #[test]
    fn gaussian_feature_sets_match_the_closed_form() {
        // Diagonal covariances: FID = ‖Δμ‖² + Σ (√a_k − √b_k)².
        let (a, b) = ([4.0, 1.0, 0.25, 9.0], [1.0, 1.0, 1.0, 4.0]);
        let (mu1, mu2) = ([0.5, -1.0, 2.0, 0.0], [0.0, 0.0, 1.0, 3.0]);
        let diag = |v: &[f64]| Tensor::from_slice(v).sqrt().diag(0);
        let s1 = stats_of(&exact_gaussian_sample(&mu1, &diag(&a)), 3);
        let s2 = stats_of(&exact_gaussian_sample(&mu2, &diag(&b)), 5);
        let expected: f64 = mu1.iter().zip(&mu2).map(|(x, y)| (x - y).powi(2)).sum::<f64>()
            + a.iter()
                .zip(&b)
                .map(|(x, y)| (x.sqrt() - y.sqrt()).powi(2))
                .sum::<f64>();
        let got = fid(&s1, &s2).unwrap();
        assert!((got - expected).abs() < 1e-10, "{got} vs {expected}");

        // Non-commuting 2×2 covariances: tr √M = √(tr M + 2√det M) for a 2×2 PSD M, with
        // M = Σ₁^{1/2} Σ₂ Σ₁^{1/2}: tr M = tr Σ₁Σ₂ and det M = det Σ₁ det Σ₂.
        let l1 = Tensor::from_slice(&[1.0, 0.0, 0.8, 0.6]).view([2, 2]);
        let l2 = Tensor::from_slice(&[2.0, 0.0, -0.5, 0.3]).view([2, 2]);
        let (p, q) = ([1.0, 2.0], [-1.0, 0.5]);
        let s1 = stats_of(&exact_gaussian_sample(&p, &l1), 4);
        let s2 = stats_of(&exact_gaussian_sample(&q, &l2), 8);
        // Σ₁ = [[1, 0.8], [0.8, 1]], Σ₂ = [[4, -1], [-1, 0.34]].
        let (tr1, tr2): (f64, f64) = (2.0, 4.34);
        let tr12: f64 = 4.0 - 0.8 - 0.8 + 0.34;
        let (det1, det2): (f64, f64) = (1.0 - 0.64, 4.0 * 0.34 - 1.0);
        let expected = 4.0 + 2.25 + tr1 + tr2 - 2.0 * (tr12 + 2.0 * (det1 * det2).sqrt()).sqrt();
        let got = fid(&s1, &s2).unwrap();
        assert!((got - expected).abs() < 1e-10, "{got} vs {expected}");
    }

    #[test]
    fn equals_the_scipy_reference_on_the_golden_features() {
        // tests/golden/fid_features.bin: two float64 sets [200, 24] written by
        // tests/golden/fid_golden.py, which also computed the FID with scipy.linalg.sqrtm.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let bytes = std::fs::read(dir.join("fid_features.bin")).unwrap();
        let values: Vec<f64> = bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let all = Tensor::from_slice(&values).view([2, 200, 24]);
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("fid.json")).unwrap()).unwrap();
        let (a, b) = (stats_of(&all.get(0), 64), stats_of(&all.get(1), 50));
        let got = fid(&a, &b).unwrap();
        let expected = golden["fid"].as_f64().unwrap();
        assert!(
            (got - expected).abs() < 1e-9 * expected.abs().max(1.0),
            "{got} vs scipy {expected}"
        );
    }

    #[test]
    fn stats_round_trip_and_shape_errors() {
        let x = features(20, 5, 1.0);
        let mut s = FeatureStats::new(5);
        s.update(&x).unwrap();
        assert!(s.update(&features(3, 4, 0.0)).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ref.safetensors");
        s.save(&path).unwrap();
        s.save(&path).unwrap(); // replaces the file in place
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["ref.safetensors"], "no temporary file is left behind");
        let back = RefStats::load(&path).unwrap();
        assert_eq!(back.n, 20);
        let value = fid(&back, &RefStats::from_stats(&s).unwrap()).unwrap();
        assert!(value.abs() < 1e-9, "{value}");
        assert!(FeatureStats::new(3).mean_cov().is_err());
        std::fs::write(&path, b"junk").unwrap();
        assert!(RefStats::load(&path)
            .unwrap_err()
            .to_string()
            .contains("ref.safetensors"));
    }
}
