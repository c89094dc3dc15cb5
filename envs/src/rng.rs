//! numpy-compatible seeding: `np.random.default_rng(seed)` in Rust.
//!
//! Gymnasium seeds an environment with `np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))`
//! and draws its reset states with `Generator.uniform`. [`NumpyRng`] reproduces that chain bit for bit:
//!
//! 1. [`SeedSequence`] — numpy's entropy pool (pool size 4, Melissa O'Neill's `seed_seq` design) hashes the
//!    seed's 32-bit words and generates four 64-bit words;
//! 2. PCG64 (XSL-RR 128/64, numpy's `pcg64_set_seed`): state from words 0–1, stream from words 2–3;
//! 3. `random()` = `(next_u64 >> 11) · 2⁻⁵³` and `uniform(low, high)` = `low + (high − low) · random()`.
//!
//! So `CartPole::new(seed).reset(None)` gives the very observation `gym.make("CartPole-v1").reset(seed=seed)`
//! gives (checked against numpy 2.4 in `tests/golden.rs`). Draws that Gymnasium takes from other numpy
//! routines (integers, normals) are not reproduced: [`NumpyRng::below`] and [`NumpyRng::standard_normal`]
//! are ordinary unbiased samplers on the same stream, used for action sampling in tests.

/// Words numpy's `SeedSequence` keeps in its pool (`DEFAULT_POOL_SIZE`).
const POOL_SIZE: usize = 4;
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;

/// numpy's PCG64 multiplier (`PCG_DEFAULT_MULTIPLIER_128`).
const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// numpy's `np.random.SeedSequence(seed)` for an integer seed without spawn key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSequence {
    pool: [u32; POOL_SIZE],
}

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut v = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*hash_const);
    v ^ (v >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> XSHIFT)
}

impl SeedSequence {
    /// Pools the entropy of `seed`: its little-endian 32-bit words (`[0]` for zero), as numpy's
    /// `_int_to_uint32_array` splits a Python int.
    pub fn new(seed: u64) -> Self {
        let lo = seed as u32;
        let hi = (seed >> 32) as u32;
        let entropy: &[u32] = if hi == 0 { &[lo][..] } else { &[lo, hi][..] };
        let mut pool = [0u32; POOL_SIZE];
        let mut hash_const = INIT_A;
        for (i, slot) in pool.iter_mut().enumerate() {
            *slot = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
        }
        for i_src in 0..POOL_SIZE {
            for i_dst in 0..POOL_SIZE {
                if i_src != i_dst {
                    let h = hashmix(pool[i_src], &mut hash_const);
                    pool[i_dst] = mix(pool[i_dst], h);
                }
            }
        }
        // Entropy longer than the pool would be mixed in here; a u64 has at most two words.
        Self { pool }
    }

    /// `generate_state(n_words, np.uint64)`: `n_words` 64-bit words, each two 32-bit outputs (low first).
    pub fn generate_state_u64(&self, n_words: usize) -> Vec<u64> {
        let mut hash_const = INIT_B;
        let mut words32 = (0..2 * n_words).map(|i| {
            let mut v = self.pool[i % POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> XSHIFT)
        });
        (0..n_words)
            .map(|_| {
                let lo = words32.next().unwrap_or(0) as u64;
                let hi = words32.next().unwrap_or(0) as u64;
                lo | (hi << 32)
            })
            .collect()
    }
}

/// numpy's `Generator(PCG64(SeedSequence(seed)))`: the random stream Gymnasium's `np_random` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumpyRng {
    state: u128,
    inc: u128,
}

impl NumpyRng {
    /// `np.random.default_rng(seed)`, which is what Gymnasium's `reset(seed=seed)` builds.
    pub fn new(seed: u64) -> Self {
        let w = SeedSequence::new(seed).generate_state_u64(4);
        let initstate = ((w[0] as u128) << 64) | w[1] as u128;
        let initseq = ((w[2] as u128) << 64) | w[3] as u128;
        // pcg_setseq_128_srandom_r
        let mut rng = Self {
            state: 0,
            inc: (initseq << 1) | 1,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next raw 64-bit output (`PCG64.random_raw()`): advance, then XSL-RR of the new state.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let rot = (self.state >> 122) as u32;
        (((self.state >> 64) as u64) ^ (self.state as u64)).rotate_right(rot)
    }

    /// A double in `[0, 1)` with 53 random bits (`Generator.random()`).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `Generator.uniform(low, high)` for one value: `low + (high − low) · random()`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// An unbiased integer in `0..n` (Lemire's multiply-and-reject; not numpy's `integers` stream).
    /// Returns 0 for `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = self.next_u64() as u128 * n as u128;
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A standard normal draw (Box–Muller on two doubles; not numpy's ziggurat).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A standard exponential draw (inversion).
    pub fn standard_exponential(&mut self) -> f64 {
        -(1.0 - self.next_f64()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `np.random.SeedSequence(0).generate_state(4, np.uint64)` and `np.random.PCG64(0).random_raw(2)`,
    /// numpy 2.4.6 (more seeds in tests/golden/classic_control.json).
    #[test]
    fn seed_zero_matches_numpy() {
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../tests/golden/classic_control.json")).unwrap();
        let s0 = &golden["seeding"][0];
        assert_eq!(s0["seed"], 0);
        let words: Vec<u64> = serde_json::from_value(s0["state_words"].clone()).unwrap();
        assert_eq!(SeedSequence::new(0).generate_state_u64(4), words);
        let raw: Vec<u64> = serde_json::from_value(s0["raw"].clone()).unwrap();
        let mut rng = NumpyRng::new(0);
        assert_eq!(rng.next_u64(), raw[0]);
        assert_eq!(rng.next_u64(), raw[1]);
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut rng = NumpyRng::new(3);
        let mut seen = [0usize; 5];
        for _ in 0..5000 {
            seen[rng.below(5) as usize] += 1;
        }
        // Each bucket expects 1000; a 5-sigma band is ±~140.
        assert!(seen.iter().all(|&c| (860..=1140).contains(&c)), "{seen:?}");
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = NumpyRng::new(9);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.standard_normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard errors: mean 1/√n ≈ 0.007, variance √(2/n) ≈ 0.01.
        assert!(mean.abs() < 0.035, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }
}
