//! Training batches for image classification: the standard CIFAR augmentation (random crop
//! with zero padding, horizontal flip), per-channel normalization, and a [`Loader`] that
//! prepares the next batches on a worker thread while the model trains on the current one.
//!
//! Every random choice is a function of (seed, epoch, sample index) through
//! [`SplitMix64`], so an epoch's batches are the same whichever thread forms them and a
//! resumed run sees what an uninterrupted one would.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use runs::rng::SplitMix64;
use tch::Tensor;

/// Per-channel mean and standard deviation of CIFAR-10's training images, in [0, 1] units (the
/// values of `pytorch-cifar` and AdaBelief's CIFAR code).
pub const CIFAR10_NORMALIZE: Normalize = Normalize {
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.2023, 0.1994, 0.2010],
};

/// Per-channel standardization of pixels scaled to [0, 1]: (x/255 − mean) / std.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalize {
    /// Channel means.
    pub mean: [f32; 3],
    /// Channel standard deviations.
    pub std: [f32; 3],
}

/// The training augmentation: a random `side` × `side` crop of the image padded by `pad`
/// zero pixels on each side, then a horizontal flip with probability ½ (`flip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Augment {
    /// Zero padding on each side before cropping (4 for CIFAR).
    pub pad: usize,
    /// Whether to flip horizontally with probability ½.
    pub flip: bool,
}

impl Augment {
    /// CIFAR's: pad 4, flip.
    pub const CIFAR: Augment = Augment { pad: 4, flip: true };
}

/// Images as bytes `[N, C, H, W]` (C ≤ 3) with their labels, shared by the loader's threads.
#[derive(Debug, Clone)]
pub struct Images {
    pixels: Arc<Vec<u8>>,
    labels: Arc<Vec<i64>>,
    shape: [usize; 3],
}

impl Images {
    /// Wraps `pixels` (`n · c · h · w` bytes, sample-major, CHW) and one label per sample.
    ///
    /// # Errors
    /// [`tch::TchError::Shape`] when C is not 1 or 3 or the sizes disagree.
    pub fn new(pixels: Vec<u8>, labels: Vec<i64>, shape: [usize; 3]) -> Result<Self, tch::TchError> {
        if shape[0] != 1 && shape[0] != 3 {
            return Err(tch::TchError::Shape(format!("1 or 3 channels, not {}", shape[0])));
        }
        let expected = labels.len() * shape.iter().product::<usize>();
        if pixels.len() != expected {
            return Err(tch::TchError::Shape(format!(
                "{} bytes of pixels for {} labels of shape {shape:?}, expected {expected}",
                pixels.len(),
                labels.len()
            )));
        }
        Ok(Images {
            pixels: Arc::new(pixels),
            labels: Arc::new(labels),
            shape,
        })
    }

    /// From a `u8` tensor `[N, C, H, W]` and an `i64` tensor `[N]` (as `datasets` loads them).
    ///
    /// # Errors
    /// A libtorch error for tensors of other kinds or shapes.
    pub fn from_tensors(images: &Tensor, labels: &Tensor) -> Result<Self, tch::TchError> {
        let size = images.size();
        if size.len() != 4 {
            return Err(tch::TchError::Shape(format!(
                "images of shape {size:?}, expected [N, C, H, W]"
            )));
        }
        let pixels = Vec::<u8>::try_from(images.f_contiguous()?.f_view([-1])?)?;
        let labels = Vec::<i64>::try_from(labels.f_contiguous()?)?;
        Images::new(
            pixels,
            labels,
            [size[1] as usize, size[2] as usize, size[3] as usize],
        )
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Writes sample `j`, augmented (when `augment` is given, with `rng`) and normalized, into
    /// `out` (`c · h · w` floats, CHW).
    fn write(
        &self,
        j: usize,
        augment: Option<Augment>,
        normalize: &Normalize,
        rng: &mut SplitMix64,
        out: &mut [f32],
    ) {
        let [c, h, w] = self.shape;
        let image = &self.pixels[j * c * h * w..(j + 1) * c * h * w];
        let (dy, dx, flip) = match augment {
            Some(a) => (
                rng.below(2 * a.pad as u64 + 1) as isize - a.pad as isize,
                rng.below(2 * a.pad as u64 + 1) as isize - a.pad as isize,
                a.flip && rng.below(2) == 1,
            ),
            None => (0, 0, false),
        };
        for ch in 0..c {
            let (mean, std) = (normalize.mean[ch], normalize.std[ch]);
            for y in 0..h {
                for x in 0..w {
                    // output (y, x) shows input (y + dy, x' + dx), x' mirrored when flipped:
                    // the crop window of the padded image starting at (pad + dy, pad + dx)
                    let xs = if flip { w - 1 - x } else { x } as isize + dx;
                    let ys = y as isize + dy;
                    let inside = (0..h as isize).contains(&ys) && (0..w as isize).contains(&xs);
                    let value = if inside {
                        f32::from(image[ch * h * w + ys as usize * w + xs as usize]) / 255.0
                    } else {
                        0.0
                    };
                    out[ch * h * w + y * w + x] = (value - mean) / std;
                }
            }
        }
    }
}

/// One batch: inputs `f32 [B, C, H, W]`, labels `i64 [B]`, and its position in the epoch.
#[derive(Debug)]
pub struct Batch {
    /// The inputs.
    pub x: Tensor,
    /// The labels.
    pub y: Tensor,
    /// 0 for the epoch's first batch.
    pub index: usize,
}

/// How an epoch is cut into batches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochPlan {
    /// Samples per batch.
    pub batch: usize,
    /// The run's seed.
    pub seed: u64,
    /// The epoch (the shuffle and the augmentation draws depend on it).
    pub epoch: u64,
    /// Shuffle the samples (training) or keep their order (evaluation).
    pub shuffle: bool,
    /// The augmentation (training) or none (evaluation).
    pub augment: Option<Augment>,
    /// The normalization.
    pub normalize: Normalize,
    /// Drop a last partial batch.
    pub drop_last: bool,
}

/// The batches of one epoch, formed on a worker thread that keeps up to `ahead` batches ready
/// (decoding and augmenting on one core while the model computes on the other).
#[derive(Debug)]
pub struct Loader {
    receiver: Receiver<Batch>,
    worker: Option<JoinHandle<()>>,
}

impl Loader {
    /// Starts the epoch `plan` over `images`, keeping up to `ahead` (≥ 1) batches ready.
    pub fn start(images: &Images, plan: EpochPlan, ahead: usize) -> Self {
        let (sender, receiver) = sync_channel(ahead.max(1));
        let images = images.clone();
        let worker = std::thread::spawn(move || {
            for batch in epoch_batches(&images, &plan) {
                if sender.send(batch).is_err() {
                    return; // the loader was dropped
                }
            }
        });
        Loader {
            receiver,
            worker: Some(worker),
        }
    }
}

impl Iterator for Loader {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        self.receiver.recv().ok()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Unblock the worker (its next send fails), then wait for it.
        let (_, dead) = sync_channel(1);
        drop(std::mem::replace(&mut self.receiver, dead));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The sample order of epoch `plan.epoch`: a permutation of `n` drawn from (seed, epoch), or
/// 0..n without shuffling.
pub fn order(n: usize, plan: &EpochPlan) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if plan.shuffle {
        SplitMix64::new(plan.seed ^ 0xC1FA_2010, plan.epoch).shuffle(&mut order);
    }
    order
}

/// The epoch's batches, formed on the calling thread (what the [`Loader`]'s worker runs).
pub fn epoch_batches<'a>(images: &'a Images, plan: &'a EpochPlan) -> impl Iterator<Item = Batch> + 'a {
    let n = images.len();
    let order = order(n, plan);
    let batches = match plan.drop_last {
        true => n / plan.batch,
        false => n.div_ceil(plan.batch),
    };
    let [c, h, w] = images.shape;
    (0..batches).map(move |index| {
        let ids = &order[index * plan.batch..((index + 1) * plan.batch).min(n)];
        let mut x = vec![0.0f32; ids.len() * c * h * w];
        for (slot, &j) in ids.iter().enumerate() {
            // each sample's draws depend on (seed, epoch, sample) only
            let mut rng = SplitMix64::new(plan.seed ^ plan.epoch.wrapping_mul(0x9E37_79B9), j as u64);
            images.write(
                j,
                plan.augment,
                &plan.normalize,
                &mut rng,
                &mut x[slot * c * h * w..(slot + 1) * c * h * w],
            );
        }
        let y: Vec<i64> = ids.iter().map(|&j| images.labels[j]).collect();
        Batch {
            x: Tensor::from_slice(&x).view([ids.len() as i64, c as i64, h as i64, w as i64]),
            y: Tensor::from_slice(&y),
            index,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normalization that leaves x/255 as it is.
    const IDENTITY: Normalize = Normalize {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    /// Two 1-channel 3×3 images with pixels 1..=9 and 11..=19 (× 10 so /255 stays exact enough).
    fn tiny() -> Images {
        let pixels: Vec<u8> = (1..=9).chain(11..=19).map(|v| v * 10).collect();
        Images::new(pixels, vec![3, 7], [1, 3, 3]).unwrap()
    }

    fn plan(augment: Option<Augment>, shuffle: bool, epoch: u64) -> EpochPlan {
        EpochPlan {
            batch: 2,
            seed: 5,
            epoch,
            shuffle,
            augment,
            normalize: IDENTITY,
            drop_last: false,
        }
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.reshape([-1])).unwrap()
    }

    #[test]
    fn without_augmentation_the_pixels_are_scaled_and_normalized() {
        let images = tiny();
        let batch = epoch_batches(&images, &plan(None, false, 0)).next().unwrap();
        assert_eq!(batch.x.size(), [2, 1, 3, 3]);
        let x = values(&batch.x);
        assert!((x[0] - 10.0 / 255.0).abs() < 1e-7 && (x[17] - 190.0 / 255.0).abs() < 1e-7);
        assert_eq!(Vec::<i64>::try_from(&batch.y).unwrap(), [3, 7]);
        let normalized = Normalize {
            mean: [0.5; 3],
            std: [0.25; 3],
        };
        let p = EpochPlan {
            normalize: normalized,
            ..plan(None, false, 0)
        };
        let x = values(&epoch_batches(&images, &p).next().unwrap().x);
        assert!((x[0] - (10.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
    }

    /// Every output pixel of a crop/flip is the padded input shifted by one offset in [−pad,
    /// pad]² (mirrored when flipped), zeros outside: checked against every candidate by hand.
    #[test]
    fn crops_and_flips_are_shifts_of_the_padded_image() {
        let images = tiny();
        let aug = Some(Augment { pad: 1, flip: true });
        let mut seen = std::collections::BTreeSet::new();
        for epoch in 0..40 {
            let batch = epoch_batches(&images, &plan(aug, false, epoch)).next().unwrap();
            let got = &values(&batch.x)[..9];
            let source: Vec<f32> = (1..=9).map(|v| (v * 10) as f32 / 255.0).collect();
            let mut matched = None;
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    for flip in [false, true] {
                        let want: Vec<f32> = (0..9)
                            .map(|k| {
                                let (y, x) = ((k / 3) as isize, (k % 3) as isize);
                                let xs = if flip { 2 - x } else { x } + dx;
                                let ys = y + dy;
                                if (0..3).contains(&ys) && (0..3).contains(&xs) {
                                    source[(ys * 3 + xs) as usize]
                                } else {
                                    0.0
                                }
                            })
                            .collect();
                        if want == got {
                            matched = Some((dy, dx, flip));
                        }
                    }
                }
            }
            seen.insert(matched.expect("the output is a crop of the padded image"));
        }
        assert!(seen.len() > 8, "40 epochs draw many of the 18 crops: {seen:?}");
    }

    #[test]
    fn epochs_are_functions_of_seed_and_epoch_and_the_loader_agrees() {
        let pixels: Vec<u8> = (0..10 * 3 * 4 * 4).map(|v| (v % 251) as u8).collect();
        let images = Images::new(pixels, (0..10).collect(), [3, 4, 4]).unwrap();
        assert!(Images::new(vec![0; 5], vec![1], [3, 4, 4]).is_err());
        assert!(Images::new(vec![0; 32], vec![1], [2, 4, 4]).is_err());
        let p = EpochPlan {
            batch: 4,
            seed: 9,
            epoch: 2,
            shuffle: true,
            augment: Some(Augment::CIFAR),
            normalize: CIFAR10_NORMALIZE,
            drop_last: false,
        };
        let direct: Vec<Batch> = epoch_batches(&images, &p).collect();
        let threaded: Vec<Batch> = Loader::start(&images, p, 2).collect();
        assert_eq!(direct.len(), 3);
        assert_eq!(threaded.len(), 3);
        for (a, b) in direct.iter().zip(&threaded) {
            assert_eq!(a.index, b.index);
            assert!(a.x.equal(&b.x) && a.y.equal(&b.y));
        }
        // every sample once per epoch
        let mut labels: Vec<i64> = direct
            .iter()
            .flat_map(|b| Vec::<i64>::try_from(&b.y).unwrap())
            .collect();
        labels.sort_unstable();
        assert_eq!(labels, (0..10).collect::<Vec<i64>>());
        // another epoch reorders
        let other = epoch_batches(&images, &EpochPlan { epoch: 3, ..p })
            .next()
            .unwrap();
        assert!(!other.y.equal(&direct[0].y) || !other.x.equal(&direct[0].x));
        // drop_last
        assert_eq!(
            epoch_batches(&images, &EpochPlan { drop_last: true, ..p }).count(),
            2
        );
        // a loader dropped early stops its worker
        let mut early = Loader::start(&images, p, 1);
        assert!(early.next().is_some());
        drop(early);
    }
}
