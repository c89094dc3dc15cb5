//! SplitMix64: the small, well-mixed, seedable generator the domains use where libtorch's global
//! generator would not do (data order, window lengths, sampling, partitions): its stream is a
//! pure function of `(seed, stream)`, so a resumed run draws what an uninterrupted one would.

/// SplitMix64 (Steele, Lea and Flood): 64 bits of state, a fixed increment, a mixing function.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator of stream `stream` of `seed` (e.g. an epoch or a step); nearby streams are
    /// unrelated.
    pub fn new(seed: u64, stream: u64) -> Self {
        SplitMix64(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n) (n > 0; the modulo bias is below 2⁻³² for n < 2³²).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Gamma(shape, 1) for shape > 0 (Marsaglia and Tsang; shape < 1 through
    /// Gamma(shape + 1) · U^(1/shape)).
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = 1.0 - self.uniform();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = 1.0 - self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// A draw of the symmetric Dirichlet(β, …, β) over `k` categories: normalized Gamma(β)
    /// draws (`k` > 0, β > 0).
    pub fn dirichlet(&mut self, beta: f64, k: usize) -> Vec<f64> {
        let draws: Vec<f64> = (0..k).map(|_| self.gamma(beta)).collect();
        let total: f64 = draws.iter().sum();
        if total > 0.0 {
            draws.iter().map(|g| g / total).collect()
        } else {
            // every draw underflowed (β ≪ 1): all the mass on one category, chosen uniformly
            let hit = self.below(k as u64) as usize;
            (0..k).map(|i| if i == hit { 1.0 } else { 0.0 }).collect()
        }
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_splitmix64_of_the_mixed_seed() {
        // SplitMix64's reference outputs for the state 0 (Vigna's splitmix64.c).
        let mut g = SplitMix64::new(0, 0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let mut a = SplitMix64::new(7, 1);
        let u: Vec<f64> = (0..1000).map(|_| a.uniform()).collect();
        assert!(u.iter().all(|x| (0.0..1.0).contains(x)));
        assert!((u.iter().sum::<f64>() / 1000.0 - 0.5).abs() < 0.05);
        assert_ne!(SplitMix64::new(7, 1).next_u64(), SplitMix64::new(7, 2).next_u64());
    }

    /// Gamma(k, 1) has mean k and variance k; Dirichlet(β) sums to 1 with mean 1/k per
    /// category and variance (k − 1)/(k²(kβ + 1)).
    #[test]
    fn gamma_and_dirichlet_have_their_moments() {
        let mut g = SplitMix64::new(3, 0);
        for shape in [0.3, 1.0, 4.5] {
            let x: Vec<f64> = (0..40_000).map(|_| g.gamma(shape)).collect();
            let mean = x.iter().sum::<f64>() / x.len() as f64;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
            assert!(
                (mean - shape).abs() < 0.03 * shape.max(1.0),
                "shape {shape}: mean {mean}"
            );
            assert!(
                (var - shape).abs() < 0.08 * shape.max(1.0),
                "shape {shape}: var {var}"
            );
        }
        let (beta, k) = (0.5, 4);
        let draws: Vec<Vec<f64>> = (0..20_000).map(|_| g.dirichlet(beta, k)).collect();
        assert!(draws.iter().all(|d| (d.iter().sum::<f64>() - 1.0).abs() < 1e-12));
        let first: Vec<f64> = draws.iter().map(|d| d[0]).collect();
        let mean = first.iter().sum::<f64>() / first.len() as f64;
        let var = first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / first.len() as f64;
        let want_var = (k as f64 - 1.0) / ((k * k) as f64 * (k as f64 * beta + 1.0));
        assert!((mean - 0.25).abs() < 0.01, "mean {mean}");
        assert!((var - want_var).abs() < 0.1 * want_var, "var {var} vs {want_var}");
        let mut items: Vec<u32> = (0..100).collect();
        g.shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<u32>>());
        assert_ne!(items, sorted);
    }
}
