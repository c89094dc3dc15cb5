//! Mini-batches of a dataset held as tensors, in a deterministic order.
//!
//! The order of epoch `e` of a run shuffled with seed `s` is [`permutation`]`(n, s, e)`: a pure
//! function of `(n, s, e)` computed with our own PRNG (SplitMix64), independent of libtorch's
//! generator, the device and the batch size. So a checkpoint needs only the seed and a
//! [`BatchPosition`] (epoch, next batch) to resume mid-epoch with exactly the batches an
//! uninterrupted run would have seen.

use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Where an iteration over [`Batches`] stands: the epoch and the index of the next batch in
/// it. Store it in a checkpoint (it is serde-serializable) and give it back to
/// [`Batches::start_at`] to resume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BatchPosition {
    /// The epoch, from 0; it selects the shuffled order.
    pub epoch: u64,
    /// The index of the next batch within the epoch, from 0.
    pub batch: usize,
}

/// The batches of one epoch (epoch 0 from its first batch; see [`Batches::start_at`]).
///
/// `inputs` and `targets` hold one example per row along dimension 0. With `shuffle_seed`
/// `None` the batches follow the dataset's order and are views (no copy); with a seed they
/// follow [`permutation`] and are gathered with `index_select` on the inputs' device. The last
/// batch is smaller when `batch_size` does not divide the number of examples, unless
/// [`Batches::drop_last`] is set (PyTorch's `DataLoader` default keeps it, as here).
///
/// # Panics
/// When `batch_size` is 0, or `inputs` and `targets` differ in length along dimension 0.
///
/// # Examples
/// ```
/// use runs::data::{batches, BatchPosition};
/// use tch::Tensor;
///
/// let x = Tensor::arange(10, (tch::Kind::Float, tch::Device::Cpu)).view([10, 1]);
/// let y = Tensor::arange(10, (tch::Kind::Int64, tch::Device::Cpu));
/// let epoch1: Vec<_> = batches(&x, &y, 4, Some(7)).epoch(1).collect();
/// assert_eq!(epoch1.len(), 3); // 4 + 4 + 2
///
/// // Resume epoch 1 at its second batch: the same batches as before.
/// let resume = BatchPosition { epoch: 1, batch: 1 };
/// let rest: Vec<_> = batches(&x, &y, 4, Some(7)).start_at(resume).collect();
/// assert_eq!(rest[0].1, epoch1[1].1);
/// ```
pub fn batches<'a>(
    inputs: &'a Tensor,
    targets: &'a Tensor,
    batch_size: usize,
    shuffle_seed: Option<u64>,
) -> Batches<'a> {
    assert!(batch_size > 0, "batch_size must be at least 1");
    let len = usize::try_from(inputs.size().first().copied().unwrap_or(0)).unwrap_or(0);
    let target_len = usize::try_from(targets.size().first().copied().unwrap_or(0)).unwrap_or(0);
    assert_eq!(
        len, target_len,
        "inputs hold {len} examples but targets hold {target_len}"
    );
    Batches {
        inputs,
        targets,
        len,
        batch_size,
        shuffle_seed,
        drop_last: false,
        position: BatchPosition::default(),
        order: None,
    }
}

/// An iterator over the `(inputs, targets)` batches of one epoch; see [`batches`].
#[derive(Debug)]
pub struct Batches<'a> {
    inputs: &'a Tensor,
    targets: &'a Tensor,
    /// Examples in the dataset.
    len: usize,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    drop_last: bool,
    position: BatchPosition,
    /// The epoch's permutation on the inputs' device, made on first use.
    order: Option<Tensor>,
}

impl Batches<'_> {
    /// Leaves out the last batch of each epoch when it would be smaller than the others.
    #[must_use]
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Iterates over epoch `epoch`, from its first batch.
    #[must_use]
    pub fn epoch(self, epoch: u64) -> Self {
        self.start_at(BatchPosition { epoch, batch: 0 })
    }

    /// Iterates from `position` (as [`Batches::position`] returned it) to the end of that epoch.
    /// A position at or past the epoch's end yields nothing: go on with the next epoch.
    #[must_use]
    pub fn start_at(mut self, position: BatchPosition) -> Self {
        if position.epoch != self.position.epoch {
            self.order = None;
        }
        self.position = position;
        self
    }

    /// The position of the next batch: what a checkpoint stores to resume here.
    pub fn position(&self) -> BatchPosition {
        self.position
    }

    /// The number of batches in an epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.len / self.batch_size
        } else {
            self.len.div_ceil(self.batch_size)
        }
    }

    /// The examples of batch `batch`: `(start, len)` along dimension 0 of the epoch's order.
    fn range(&self, batch: usize) -> (i64, i64) {
        let start = batch * self.batch_size;
        let len = self.batch_size.min(self.len - start);
        (to_i64(start), to_i64(len))
    }
}

impl Iterator for Batches<'_> {
    type Item = (Tensor, Tensor);

    fn next(&mut self) -> Option<Self::Item> {
        if self.position.batch >= self.batches_per_epoch() {
            return None;
        }
        let (start, len) = self.range(self.position.batch);
        self.position.batch += 1;
        let Some(seed) = self.shuffle_seed else {
            return Some((
                self.inputs.narrow(0, start, len),
                self.targets.narrow(0, start, len),
            ));
        };
        let (len_all, epoch, device) = (self.len, self.position.epoch, self.inputs.device());
        let order = self
            .order
            .get_or_insert_with(|| epoch_order(len_all, seed, epoch).to_device(device));
        let index = order.narrow(0, start, len);
        let inputs = self.inputs.index_select(0, &index);
        let targets = if self.targets.device() == device {
            self.targets.index_select(0, &index)
        } else {
            self.targets
                .index_select(0, &index.to_device(self.targets.device()))
        };
        Some((inputs, targets))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batches_per_epoch().saturating_sub(self.position.batch);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).expect("tensor sizes fit in i64")
}

/// The order of `n` examples in epoch `epoch` of a run shuffled with `seed`.
///
/// # Algorithm
/// 1. k = mix(seed ⊕ mix(epoch)), where mix is SplitMix64's output function (Steele, Lea and
///    Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014);
/// 2. a SplitMix64 generator starts from state k;
/// 3. Fisher–Yates (Durstenfeld): for i = n−1 down to 1, swap positions i and j, with j drawn
///    uniformly from 0..=i by Lemire's multiply-and-reject method (no modulo bias).
///
/// The result depends on `(n, seed, epoch)` only; the test `permutation_is_pinned` fixes it,
/// because checkpoints rely on it staying the same.
pub fn permutation(n: usize, seed: u64, epoch: u64) -> Vec<i64> {
    let mut rng = SplitMix64(mix(seed ^ mix(epoch)));
    let mut order: Vec<i64> = (0..to_i64(n)).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// [`permutation`]`(n, seed, epoch)` as an `i64` tensor `[n]` on the CPU: the example indices
/// of epoch `epoch` in the order [`Batches`] takes them, for training loops that gather their
/// own batches (`index_select` with a `narrow` of it).
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Tensor {
    Tensor::from_slice(&permutation(n, seed, epoch))
}

/// SplitMix64's increment (the golden ratio in 64-bit fixed point).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function applied to `z + γ`: one step from state `z`.
fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The SplitMix64 generator: 64-bit state, one [`mix`] per output.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        let out = mix(self.0);
        self.0 = self.0.wrapping_add(GAMMA);
        out
    }

    /// Uniform in `0..bound` (`bound` ≥ 1), by Lemire's method: the high word of x·bound,
    /// rejecting the few x whose low word falls below 2^64 mod bound.
    fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// Inputs whose row i is [i, i] and targets i, so a batch shows which examples it took.
    fn dataset(n: i64) -> (Tensor, Tensor) {
        let targets = Tensor::arange(n, (Kind::Int64, Device::Cpu));
        let inputs = targets.to_kind(Kind::Float).view([n, 1]).repeat([1, 2]);
        (inputs, targets)
    }

    fn ids(t: &Tensor) -> Vec<i64> {
        Vec::<i64>::try_from(t).unwrap()
    }

    #[test]
    fn permutation_is_pinned() {
        // Recorded once, and reproduced by an independent Python transcription of the
        // algorithm in the doc comment (arbitrary-precision integers masked to 64 bits).
        // A change would make resumed runs see other batches than the runs they resume.
        assert_eq!(permutation(10, 0, 0), [4, 7, 0, 5, 9, 3, 6, 2, 8, 1]);
        assert_eq!(permutation(8, 123, 5), [5, 6, 0, 4, 7, 2, 3, 1]);
        assert_eq!(permutation(0, 3, 4), Vec::<i64>::new());
        assert_eq!(permutation(1, 3, 4), [0]);
    }

    #[test]
    fn permutations_are_permutations_and_differ_by_seed_and_epoch() {
        let base = permutation(1000, 42, 0);
        let mut sorted = base.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<i64>>());
        assert_eq!(base, permutation(1000, 42, 0));
        assert_ne!(base, permutation(1000, 42, 1));
        assert_ne!(base, permutation(1000, 43, 0));
    }

    #[test]
    fn all_orders_of_four_are_about_equally_likely() {
        // 24 orders of 4 items over 24,000 (seed, epoch) pairs: about 1,000 each; a chi-square
        // with 23 degrees of freedom above 60 has probability < 1e-4 for a uniform shuffle.
        let mut counts = std::collections::HashMap::new();
        for seed in 0..240u64 {
            for epoch in 0..100 {
                *counts.entry(permutation(4, seed, epoch)).or_insert(0u32) += 1;
            }
        }
        assert_eq!(counts.len(), 24);
        let chi2: f64 = counts
            .values()
            .map(|&c| (f64::from(c) - 1000.0).powi(2) / 1000.0)
            .sum();
        assert!(chi2 < 60.0, "chi-square {chi2}");
    }

    #[test]
    fn below_is_in_range() {
        let mut rng = SplitMix64(5);
        for bound in [1, 2, 3, 7, 1 << 40, u64::MAX] {
            for _ in 0..100 {
                assert!(rng.below(bound) < bound);
            }
        }
    }

    #[test]
    fn unshuffled_batches_are_in_order_with_a_short_last_batch() {
        let (x, y) = dataset(10);
        let all: Vec<_> = batches(&x, &y, 4, None).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(ids(&all[0].1), [0, 1, 2, 3]);
        assert_eq!(ids(&all[2].1), [8, 9]);
        assert_eq!(all[2].0.size(), [2, 2]);
        let dropped = batches(&x, &y, 4, None).drop_last(true);
        assert_eq!(dropped.len(), 2);
        assert_eq!(batches(&x, &y, 5, None).len(), 2);
    }

    #[test]
    fn shuffled_batches_follow_the_permutation_and_keep_pairs_together() {
        let (x, y) = dataset(10);
        let order = permutation(10, 9, 2);
        let taken: Vec<i64> = batches(&x, &y, 3, Some(9))
            .epoch(2)
            .flat_map(|(inputs, targets)| {
                let targets = ids(&targets);
                let first_column = Vec::<f32>::try_from(inputs.select(1, 0)).unwrap();
                assert_eq!(
                    first_column,
                    targets.iter().map(|&t| t as f32).collect::<Vec<_>>()
                );
                targets
            })
            .collect();
        assert_eq!(taken, order);
    }

    #[test]
    fn resuming_mid_epoch_gives_the_same_batches() {
        let (x, y) = dataset(23);
        let full: Vec<Vec<i64>> = batches(&x, &y, 5, Some(1))
            .epoch(3)
            .map(|(_, t)| ids(&t))
            .collect();
        let mut it = batches(&x, &y, 5, Some(1)).epoch(3);
        let _ = it.next();
        let _ = it.next();
        let saved = it.position();
        assert_eq!(saved, BatchPosition { epoch: 3, batch: 2 });
        let json = serde_json::to_string(&saved).unwrap();
        let restored: BatchPosition = serde_json::from_str(&json).unwrap();
        let rest: Vec<Vec<i64>> = batches(&x, &y, 5, Some(1))
            .start_at(restored)
            .map(|(_, t)| ids(&t))
            .collect();
        assert_eq!(rest, full[2..]);
        let mut done = batches(&x, &y, 5, Some(1)).start_at(BatchPosition { epoch: 3, batch: 5 });
        assert!(done.next().is_none());
    }

    #[test]
    #[should_panic(expected = "inputs hold 3 examples but targets hold 2")]
    fn mismatched_lengths_panic() {
        let (x, _) = dataset(3);
        let (_, y) = dataset(2);
        let _ = batches(&x, &y, 1, None);
    }
}
