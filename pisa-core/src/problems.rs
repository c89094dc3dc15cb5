//! Consensus least-squares problems: the paper's Appendix A.2 setting and the spec's reference
//! cases T1–T6 and T8 (spec §10), for the `least_squares` example, the demo and the tests.
//!
//! Node i holds (A_i, b_i) with loss f_i(w) = ‖A_i w − b_i‖² / (2 d_i) (d_i rows); the objective is
//! F(w) = Σ α_i f_i(w) + λ/2 ‖w‖². The minimizer solves (Σ α_i A_iᵀA_i/d_i + λI) w = Σ α_i A_iᵀb_i/d_i.

use crate::error::{Error, Result};
use crate::optimizer::NodeWeights;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// The spec's deterministic generator: x ← (1103515245 x + 12345) mod 2³¹, u = x / 2³¹.
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// Starts from seed x₀.
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// The next u ∈ [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 = (1103515245 * self.0 + 12345) % (1 << 31);
        self.0 as f64 / (1u64 << 31) as f64
    }

    /// The next 2u − 1 ∈ [−1, 1).
    pub fn symmetric(&mut self) -> f64 {
        2.0 * self.uniform() - 1.0
    }
}

/// One node's data as stored in a problem file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeData {
    /// Rows of A_i (a matrix with columns = the parameter's last dimension).
    pub a: Vec<Vec<f64>>,
    /// b_i: one target per row, or one row of targets per row for matrix parameters (T8).
    pub b: Targets,
    /// α_i (default |D_i| / |D|).
    #[serde(default)]
    pub alpha: Option<f64>,
}

/// Targets b_i: a vector (w is a vector) or a matrix (w is a matrix, as in T8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Targets {
    /// One number per row.
    Vector(Vec<f64>),
    /// One row of numbers per row.
    Matrix(Vec<Vec<f64>>),
}

/// A problem file: `{"nodes": [{"a": [[...]], "b": [...], "alpha": 0.25}, ...], "w0": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemFile {
    /// The nodes.
    pub nodes: Vec<NodeData>,
    /// Initial weights (default zeros), flattened row-major for matrix parameters.
    #[serde(default)]
    pub w0: Option<Vec<f64>>,
    /// Optional reference optimum F* (informational; the demo prints it).
    #[serde(default)]
    pub f_star: Option<f64>,
}

/// A consensus least-squares problem in f64 tensors.
#[derive(Debug)]
pub struct LeastSquares {
    /// A_i, each [d_i, n].
    pub a: Vec<Tensor>,
    /// b_i, each `[d_i]` or `[d_i, k]`.
    pub b: Vec<Tensor>,
    /// α_i.
    pub alpha: NodeWeights,
    /// The parameter's shape: `[n]` or `[n, k]`.
    pub shape: Vec<i64>,
    /// Initial weights.
    pub w0: Tensor,
}

fn tensor(rows: &[Vec<f64>], what: &str) -> Result<Tensor> {
    let cols = rows.first().map_or(0, Vec::len);
    if cols == 0 || rows.iter().any(|r| r.len() != cols) {
        return Err(Error::Config(format!(
            "{what}: rows must be non-empty and of equal length"
        )));
    }
    let flat: Vec<f64> = rows.concat();
    Ok(Tensor::from_slice(&flat).view([rows.len() as i64, cols as i64]))
}

impl LeastSquares {
    /// Builds the problem from a parsed problem file.
    ///
    /// # Errors
    /// [`Error::Config`] for inconsistent shapes, [`Error::InvalidNodeWeights`] for bad α.
    pub fn from_file(file: &ProblemFile) -> Result<Self> {
        if file.nodes.is_empty() {
            return Err(Error::Config("the problem has no nodes".into()));
        }
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (i, node) in file.nodes.iter().enumerate() {
            let ai = tensor(&node.a, &format!("nodes[{i}].a"))?;
            let bi = match &node.b {
                Targets::Vector(v) => Tensor::from_slice(v),
                Targets::Matrix(m) => tensor(m, &format!("nodes[{i}].b"))?,
            };
            if bi.size()[0] != ai.size()[0] {
                return Err(Error::Config(format!(
                    "nodes[{i}]: {} rows in a but {} in b",
                    ai.size()[0],
                    bi.size()[0]
                )));
            }
            a.push(ai);
            b.push(bi);
        }
        let n = a[0].size()[1];
        if a.iter().any(|ai| ai.size()[1] != n)
            || b.iter()
                .any(|bi| bi.dim() != b[0].dim() || bi.size()[1..] != b[0].size()[1..])
        {
            return Err(Error::Config(
                "all nodes must have the same number of columns".into(),
            ));
        }
        let shape: Vec<i64> = std::iter::once(n).chain(b[0].size().get(1).copied()).collect();
        let alpha = match file.nodes.iter().map(|nd| nd.alpha).collect::<Option<Vec<f64>>>() {
            Some(alpha) => NodeWeights::new(alpha)?,
            None if file.nodes.iter().all(|nd| nd.alpha.is_none()) => {
                NodeWeights::proportional(&file.nodes.iter().map(|nd| nd.a.len()).collect::<Vec<_>>())?
            }
            None => return Err(Error::Config("give alpha for every node or for none".into())),
        };
        let numel: i64 = shape.iter().product();
        let w0 = match &file.w0 {
            Some(w) if w.len() as i64 == numel => Tensor::from_slice(w).view(shape.as_slice()),
            Some(w) => {
                return Err(Error::Config(format!(
                    "w0 has {} entries, expected {numel}",
                    w.len()
                )))
            }
            None => Tensor::zeros(shape.as_slice(), (Kind::Double, Device::Cpu)),
        };
        Ok(LeastSquares {
            a,
            b,
            alpha,
            shape,
            w0,
        })
    }

    /// Number of nodes m.
    pub fn nodes(&self) -> usize {
        self.a.len()
    }

    /// f_i(w) = ‖A_i w − b_i‖² / (2 d_i), differentiable in `w`.
    pub fn node_loss(&self, i: usize, w: &Tensor) -> Tensor {
        let w = if self.shape.len() == 1 {
            w.unsqueeze(1)
        } else {
            w.shallow_clone()
        };
        let pred = self.a[i].matmul(&w);
        let target = if self.shape.len() == 1 {
            self.b[i].unsqueeze(1)
        } else {
            self.b[i].shallow_clone()
        };
        let rows = self.a[i].size()[0] as f64;
        (pred - target).square().sum(Kind::Double) / (2.0 * rows)
    }

    /// F(w) = Σ α_i f_i(w) + λ/2 ‖w‖².
    pub fn objective(&self, w: &Tensor, lambda: f64) -> f64 {
        let data: f64 = (0..self.nodes())
            .map(|i| self.alpha.get(i) * self.node_loss(i, w).double_value(&[]))
            .sum();
        data + 0.5 * lambda * w.square().sum(Kind::Double).double_value(&[])
    }

    /// The minimizer of F with L2 weight λ, from the normal equations.
    pub fn optimum(&self, lambda: f64) -> Tensor {
        let n = self.shape[0];
        let mut lhs = Tensor::eye(n, (Kind::Double, Device::Cpu)) * lambda;
        let cols = self.shape.get(1).copied().unwrap_or(1);
        let mut rhs = Tensor::zeros([n, cols], (Kind::Double, Device::Cpu));
        for i in 0..self.nodes() {
            let scale = self.alpha.get(i) / self.a[i].size()[0] as f64;
            lhs += self.a[i].tr().matmul(&self.a[i]) * scale;
            rhs += self.a[i].tr().matmul(&self.b[i].view([-1, cols])) * scale;
        }
        Tensor::linalg_solve(&lhs, &rhs, true).view(self.shape.as_slice())
    }

    /// Spec T1–T6: m = 4, n = 6, 16 rows per node, seed 20250214, feature and label skew.
    pub fn spec_t1() -> Self {
        let (m, n, d) = (4, 6, 16);
        let mut rng = Lcg::new(20250214);
        let w_true: Vec<f64> = (0..n).map(|c| 1.0 - 0.25 * c as f64).collect();
        let a: Vec<Vec<Vec<f64>>> = (0..m)
            .map(|i| {
                (0..d)
                    .map(|_| {
                        (0..n)
                            .map(|c| rng.symmetric() + if c == 0 { 0.5 * i as f64 } else { 0.0 })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let nodes = a
            .into_iter()
            .enumerate()
            .map(|(i, rows)| {
                let b = rows
                    .iter()
                    .map(|r| {
                        let dot: f64 = r.iter().zip(&w_true).map(|(x, w)| x * w).sum();
                        dot + 0.1 * rng.symmetric() + 0.5 * (i as f64 - 1.5)
                    })
                    .collect();
                NodeData {
                    a: rows,
                    b: Targets::Vector(b),
                    alpha: None,
                }
            })
            .collect();
        Self::from_file(&ProblemFile {
            nodes,
            w0: None,
            f_star: None,
        })
        .expect("the spec problem is well formed")
    }

    /// Spec T8: m = 4, W ∈ ℝ^{4×3}, 16 rows per node, seed 7; `homogeneous` gives every node
    /// node 0's data.
    pub fn spec_t8(homogeneous: bool) -> Self {
        let (m, p, q, d) = (4, 4, 3, 16);
        let mut rng = Lcg::new(7);
        let x: Vec<Vec<Vec<f64>>> = (0..m)
            .map(|_| {
                (0..d)
                    .map(|_| (0..p).map(|_| rng.symmetric()).collect())
                    .collect()
            })
            .collect();
        let w_true = |a: usize, b: usize| 1.0 - 0.3 * a as f64 + 0.2 * b as f64;
        let mut nodes: Vec<NodeData> = x
            .into_iter()
            .enumerate()
            .map(|(i, rows)| {
                let y = rows
                    .iter()
                    .map(|r| {
                        (0..q)
                            .map(|b| {
                                let dot: f64 = (0..p).map(|a| r[a] * w_true(a, b)).sum();
                                dot + 0.1 * rng.symmetric() + 0.3 * (i as f64 - 1.5)
                            })
                            .collect()
                    })
                    .collect();
                NodeData {
                    a: rows,
                    b: Targets::Matrix(y),
                    alpha: None,
                }
            })
            .collect();
        if homogeneous {
            let first = nodes[0].clone();
            nodes.iter_mut().for_each(|nd| *nd = first.clone());
        }
        Self::from_file(&ProblemFile {
            nodes,
            w0: None,
            f_star: None,
        })
        .expect("the spec problem is well formed")
    }

    /// The problem as a problem file (for the example's input format).
    pub fn to_file(&self) -> ProblemFile {
        let rows = |t: &Tensor| -> Vec<Vec<f64>> {
            let cols = t.size()[1];
            let flat = Vec::<f64>::try_from(t.reshape([-1])).unwrap_or_default();
            flat.chunks(cols as usize).map(<[f64]>::to_vec).collect()
        };
        let nodes = (0..self.nodes())
            .map(|i| NodeData {
                a: rows(&self.a[i]),
                b: if self.b[i].dim() == 1 {
                    Targets::Vector(Vec::<f64>::try_from(&self.b[i]).unwrap_or_default())
                } else {
                    Targets::Matrix(rows(&self.b[i]))
                },
                alpha: Some(self.alpha.get(i)),
            })
            .collect();
        let w0 = Vec::<f64>::try_from(self.w0.reshape([-1])).ok();
        ProblemFile {
            nodes,
            w0,
            f_star: Some(self.portable_f_star()),
        }
    }

    /// F* = min F (λ = 0) in plain f64 scalar arithmetic: the normal equations summed in a fixed
    /// order and solved by Gaussian elimination with partial pivoting, no BLAS or LAPACK. The
    /// value written to problem files is then the same on every machine; libtorch's
    /// `linalg_solve` (MKL) rounds the last bit differently on AVX2, AVX-512 and SSE code paths.
    pub fn portable_f_star(&self) -> f64 {
        let n = self.shape[0] as usize;
        let k = self.shape.get(1).copied().unwrap_or(1) as usize;
        let flat = |t: &Tensor| Vec::<f64>::try_from(t.reshape([-1])).unwrap_or_default();
        let nodes: Vec<(f64, usize, Vec<f64>, Vec<f64>)> = (0..self.nodes())
            .map(|i| {
                let rows = self.a[i].size()[0] as usize;
                (self.alpha.get(i), rows, flat(&self.a[i]), flat(&self.b[i]))
            })
            .collect();
        // lhs = Σ α_i A_iᵀA_i / d_i (n × n), rhs = Σ α_i A_iᵀb_i / d_i (n × k)
        let (mut lhs, mut rhs) = (vec![0.0; n * n], vec![0.0; n * k]);
        for (alpha, rows, a, b) in &nodes {
            let scale = alpha / *rows as f64;
            for r in 0..n {
                for c in 0..n {
                    let dot: f64 = (0..*rows).map(|j| a[j * n + r] * a[j * n + c]).sum();
                    lhs[r * n + c] += dot * scale;
                }
                for c in 0..k {
                    let dot: f64 = (0..*rows).map(|j| a[j * n + r] * b[j * k + c]).sum();
                    rhs[r * k + c] += dot * scale;
                }
            }
        }
        for col in 0..n {
            let pivot = (col..n)
                .max_by(|&x, &y| lhs[x * n + col].abs().total_cmp(&lhs[y * n + col].abs()))
                .unwrap_or(col);
            for c in 0..n {
                lhs.swap(col * n + c, pivot * n + c);
            }
            for c in 0..k {
                rhs.swap(col * k + c, pivot * k + c);
            }
            for r in col + 1..n {
                let f = lhs[r * n + col] / lhs[col * n + col];
                for c in col..n {
                    lhs[r * n + c] -= f * lhs[col * n + c];
                }
                for c in 0..k {
                    rhs[r * k + c] -= f * rhs[col * k + c];
                }
            }
        }
        let mut w = vec![0.0; n * k];
        for r in (0..n).rev() {
            for c in 0..k {
                let tail: f64 = (r + 1..n).map(|j| lhs[r * n + j] * w[j * k + c]).sum();
                w[r * k + c] = (rhs[r * k + c] - tail) / lhs[r * n + r];
            }
        }
        nodes
            .iter()
            .map(|(alpha, rows, a, b)| {
                let sq: f64 = (0..*rows)
                    .flat_map(|j| (0..k).map(move |c| (j, c)))
                    .map(|(j, c)| {
                        let pred: f64 = (0..n).map(|q| a[j * n + q] * w[q * k + c]).sum();
                        (pred - b[j * k + c]).powi(2)
                    })
                    .sum();
                alpha * sq / (2.0 * *rows as f64)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portable_optimum_value_equals_lapack_to_rounding() {
        for problem in [LeastSquares::spec_t1(), LeastSquares::spec_t8(false)] {
            let lapack = problem.objective(&problem.optimum(0.0), 0.0);
            let portable = problem.portable_f_star();
            assert!(
                (portable - lapack).abs() <= 1e-14 * lapack.abs(),
                "{portable} vs {lapack}"
            );
        }
    }

    /// Spec §10 sanity values of the T1 problem.
    #[test]
    fn t1_problem_matches_the_spec() {
        let p = LeastSquares::spec_t1();
        let row = Vec::<f64>::try_from(p.a[0].get(0)).unwrap();
        let want = [
            0.280736363,
            0.940294821,
            -0.435734275,
            0.992346512,
            0.484246555,
            -0.456590712,
        ];
        row.iter()
            .zip(want)
            .for_each(|(g, w)| assert!((g - w).abs() < 5e-10, "{row:?}"));
        for (got, want) in [
            (p.b[0].double_value(&[0]), 0.468879701),
            (p.b[0].double_value(&[1]), -0.501309072),
            (p.b[0].double_value(&[2]), -0.361107552),
            (p.b[3].double_value(&[15]), 3.724852305),
        ] {
            assert!((got - want).abs() < 5e-10, "{got} vs {want}");
        }
        let w_star = Vec::<f64>::try_from(p.optimum(0.0)).unwrap();
        let want = [
            1.223395778797,
            0.783994813202,
            0.578351192941,
            0.155522084684,
            0.032689087848,
            -0.195909371472,
        ];
        w_star
            .iter()
            .zip(want)
            .for_each(|(g, w)| assert!((g - w).abs() < 5e-13, "{w_star:?}"));
        assert!((p.objective(&p.optimum(0.0), 0.0) - 0.128341968165731).abs() < 5e-16);
        assert!((p.objective(&p.w0, 0.0) - 0.971320216858749).abs() < 5e-16);
    }

    /// Spec T8 reference values F* = 0.16611399 and F(0) = 1.38336.
    #[test]
    fn t8_problem_matches_the_spec() {
        let p = LeastSquares::spec_t8(false);
        assert!((p.objective(&p.optimum(0.0), 0.0) - 0.16611399).abs() < 5e-9);
        assert!((p.objective(&p.w0, 0.0) - 1.38336).abs() < 5e-6);
    }

    #[test]
    fn problem_files_round_trip() {
        let p = LeastSquares::spec_t1();
        let file: ProblemFile = serde_json::from_str(&serde_json::to_string(&p.to_file()).unwrap()).unwrap();
        let q = LeastSquares::from_file(&file).unwrap();
        assert!((q.objective(&q.w0, 0.0) - p.objective(&p.w0, 0.0)).abs() < 1e-15);
        let bad = r#"{"nodes": [{"a": [[1, 2]], "b": [1, 2]}]}"#;
        assert!(LeastSquares::from_file(&serde_json::from_str(bad).unwrap()).is_err());
    }
}
