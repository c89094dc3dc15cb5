//! Text generation: greedy, temperature, top-k and top-p (nucleus) sampling.
//!
//! The logits of the last position are turned into a distribution on the host
//! ([`distribution`], a pure function), and a token is drawn from it with a [`SplitMix64`](crate::shards::SplitMix64)
//! seeded by the caller, so a seed gives the same text on every run and device.

use crate::model::Gpt2;
use crate::shards::ids_tensor;
use tch::Kind;

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f64,
    /// Keep only the k most likely tokens.
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches p (0 < p ≤ 1).
    pub top_p: Option<f64>,
}

impl Sampling {
    /// Greedy decoding.
    pub const GREEDY: Sampling = Sampling {
        temperature: 0.0,
        top_k: None,
        top_p: None,
    };
}

/// The next-token distribution from `logits`: softmax(logits / T) restricted to the top-k and
/// then the top-p set, renormalized. Greedy (T = 0) puts all mass on the first maximum.
pub fn distribution(logits: &[f32], s: &Sampling) -> Vec<f64> {
    let n = logits.len();
    let mut probs = vec![0.0; n];
    if n == 0 {
        return probs;
    }
    let argmax = (0..n).fold(0, |best, i| if logits[i] > logits[best] { i } else { best });
    if s.temperature <= 0.0 {
        probs[argmax] = 1.0;
        return probs;
    }
    let max = f64::from(logits[argmax]);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let k = s.top_k.unwrap_or(n).clamp(1, n);
    let kept = &order[..k];
    let weights: Vec<f64> = kept
        .iter()
        .map(|&i| ((f64::from(logits[i]) - max) / s.temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut keep = k;
    if let Some(p) = s.top_p {
        let mut cum = 0.0;
        for (j, w) in weights.iter().enumerate() {
            cum += w / total;
            if cum >= p {
                keep = j + 1;
                break;
            }
        }
    }
    let total: f64 = weights[..keep].iter().sum();
    for (j, &i) in kept[..keep].iter().enumerate() {
        probs[i] = weights[j] / total;
    }
    probs
}

/// Draws an index from `probs` with the uniform number `u` ∈ [0, 1) (inverse CDF).
pub fn draw(probs: &[f64], u: f64) -> usize {
    let mut cum = 0.0;
    let mut last = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            cum += p;
            last = i;
            if u < cum {
                return i;
            }
        }
    }
    last
}

/// Continues `prompt` by `max_new` tokens (the context is cropped to the model's last
/// `n_positions` tokens). Returns the new tokens only.
pub fn generate(
    model: &Gpt2,
    prompt: &[u32],
    max_new: usize,
    s: &Sampling,
    seed: u64,
    device: tch::Device,
) -> Vec<u32> {
    let ctx = model.config().n_positions as usize;
    let mut tokens = prompt.to_vec();
    if tokens.is_empty() {
        tokens.push(crate::tokenizer::EOT);
    }
    let mut rng = crate::shards::stream(seed, 0x5A3);
    let mut out = Vec::with_capacity(max_new);
    for _ in 0..max_new {
        let window = &tokens[tokens.len().saturating_sub(ctx)..];
        let logits = tch::no_grad(|| model.forward_t(&ids_tensor(window, device), false));
        let last = logits
            .get(0)
            .get(-1)
            .to_kind(Kind::Float)
            .to_device(tch::Device::Cpu);
        let last: Vec<f32> = Vec::try_from(&last).expect("f32 logits");
        let next = draw(&distribution(&last, s), rng.uniform()) as u32;
        tokens.push(next);
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: [f32; 5] = [1.0, 3.0, 2.0, 3.0, -1.0];

    #[test]
    fn greedy_takes_the_first_maximum() {
        assert_eq!(distribution(&L, &Sampling::GREEDY), [0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn temperature_top_k_top_p_match_closed_forms() {
        let full = distribution(
            &L,
            &Sampling {
                temperature: 1.0,
                top_k: None,
                top_p: None,
            },
        );
        let z: f64 = L.iter().map(|&l| f64::from(l).exp()).sum();
        for (p, &l) in full.iter().zip(&L) {
            assert!((p - f64::from(l).exp() / z).abs() < 1e-12);
        }
        // T = 2 halves the logits.
        let hot = distribution(
            &L,
            &Sampling {
                temperature: 2.0,
                top_k: None,
                top_p: None,
            },
        );
        assert!((hot[1] / hot[0] - 1f64.exp()).abs() < 1e-12);
        // top-k 3: tokens 1, 3 (ties keep index order) and 2.
        let k3 = distribution(
            &L,
            &Sampling {
                temperature: 1.0,
                top_k: Some(3),
                top_p: None,
            },
        );
        let z3 = 2.0 * 3f64.exp() + 2f64.exp();
        assert!((k3[2] - 2f64.exp() / z3).abs() < 1e-12 && k3[0] == 0.0 && k3[4] == 0.0);
        // top-p 0.6: tokens 1 and 3 hold 2e³/z ≈ 0.78 ≥ 0.6, token 1 alone 0.39 < 0.6.
        let p = distribution(
            &L,
            &Sampling {
                temperature: 1.0,
                top_k: None,
                top_p: Some(0.6),
            },
        );
        assert_eq!(p, [0.0, 0.5, 0.0, 0.5, 0.0]);
        let tiny_p = distribution(
            &L,
            &Sampling {
                temperature: 1.0,
                top_k: None,
                top_p: Some(1e-9),
            },
        );
        assert_eq!(tiny_p, [0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn draw_inverts_the_cdf() {
        let p = [0.0, 0.25, 0.0, 0.75];
        assert_eq!(draw(&p, 0.0), 1);
        assert_eq!(draw(&p, 0.2499), 1);
        assert_eq!(draw(&p, 0.25), 3);
        assert_eq!(draw(&p, 0.999_999), 3);
    }
}
