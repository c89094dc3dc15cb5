//! Token shards in the nanoGPT / modded-nanogpt `.bin` format (the FineWeb shards' format), and
//! the batch sampler.
//!
//! A shard is a header of 256 little-endian int32 — `[20240520, 1, ntokens, 0, ...]` — followed
//! by `ntokens` little-endian uint16 token ids. A data directory holds `*train*.bin` and
//! `*val*.bin` shards (`fineweb_train_000001.bin`, `text_val_000000.bin`, ...); each split is the
//! concatenation of its shards in name order, held in memory (2 bytes per token: point the
//! reader at a subset of FineWeb's shards on a small machine).

use crate::error::{LlmError, Result};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// The shard header's magic number.
pub const MAGIC: i32 = 20240520;
/// The shard format's version.
pub const VERSION: i32 = 1;
/// Header length in int32.
pub const HEADER_INTS: usize = 256;

/// Writes `tokens` as one shard, atomically.
///
/// # Errors
/// [`LlmError::Io`]; [`LlmError::Config`] when there are more tokens than an int32 counts.
pub fn write_shard(path: &Path, tokens: &[u16]) -> Result<()> {
    let n = i32::try_from(tokens.len())
        .map_err(|_| LlmError::Config(format!("{} tokens do not fit one shard", tokens.len())))?;
    let mut header = [0i32; HEADER_INTS];
    header[..3].copy_from_slice(&[MAGIC, VERSION, n]);
    let tmp = path.with_extension("bin.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for h in header {
            f.write_all(&h.to_le_bytes())?;
        }
        for t in tokens {
            f.write_all(&t.to_le_bytes())?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| LlmError::io(path, e))
}

/// Reads one shard, checking magic, version and length.
///
/// # Errors
/// [`LlmError::Io`] when unreadable, [`LlmError::Corrupt`] saying what does not match.
pub fn read_shard(path: &Path) -> Result<Vec<u16>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| LlmError::io(path, e))?;
    if bytes.len() < HEADER_INTS * 4 {
        return Err(LlmError::corrupt(
            path,
            format!("{} bytes: shorter than the 1024-byte header", bytes.len()),
        ));
    }
    let int = |i: usize| i32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    if int(0) != MAGIC {
        return Err(LlmError::corrupt(
            path,
            format!("magic {} is not {MAGIC}: not a token shard", int(0)),
        ));
    }
    if int(1) != VERSION {
        return Err(LlmError::corrupt(
            path,
            format!("version {} (only {VERSION} is known)", int(1)),
        ));
    }
    let n = usize::try_from(int(2)).map_err(|_| LlmError::corrupt(path, "negative token count"))?;
    let body = &bytes[HEADER_INTS * 4..];
    if body.len() != 2 * n {
        return Err(LlmError::corrupt(
            path,
            format!(
                "header says {n} tokens but the file holds {} bytes of tokens (truncated?)",
                body.len()
            ),
        ));
    }
    Ok(body
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}

/// The shards of `split` (`train` or `val`) in `dir`: `.bin` files whose name contains
/// `_<split>_` or starts with `<split>`, sorted by name.
///
/// # Errors
/// [`LlmError::Io`] when the directory cannot be read or holds no such shard.
pub fn shard_paths(dir: &Path, split: &str) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| LlmError::io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".bin") && (name.contains(&format!("_{split}_")) || name.starts_with(split))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(LlmError::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no `*_{split}_*.bin` token shards here (make them with `cargo xtask data text`)"),
            ),
        ));
    }
    Ok(paths)
}

/// All tokens of a split, in shard order.
///
/// # Errors
/// As [`shard_paths`] and [`read_shard`].
pub fn load_split(dir: &Path, split: &str) -> Result<Vec<u16>> {
    let mut all = Vec::new();
    for p in shard_paths(dir, split)? {
        all.extend(read_shard(&p)?);
    }
    Ok(all)
}

pub use runs::rng::SplitMix64;

/// The generator of stream `stream` of `seed` as llm draws it (data order, initialization,
/// sampling): [`SplitMix64`] with its first output skipped, which every llm stream has always
/// done, so runs keep their trajectories.
pub fn stream(seed: u64, stream: u64) -> SplitMix64 {
    let mut g = SplitMix64::new(seed, stream);
    g.next_u64();
    g
}

/// One batch: inputs `[batch, seq]` and next-token targets `[batch, seq]`, int64.
#[derive(Debug)]
pub struct Batch {
    /// Input ids.
    pub x: Tensor,
    /// Target ids (the inputs shifted by one token).
    pub y: Tensor,
}

/// Windows of `seq + 1` tokens starting at `starts`, as a [`Batch`] on `device`.
fn windows(tokens: &[u16], starts: &[usize], seq: usize, device: Device) -> Batch {
    let mut buf = Vec::with_capacity(starts.len() * (seq + 1));
    for &s in starts {
        buf.extend(tokens[s..s + seq + 1].iter().map(|&t| i64::from(t)));
    }
    let all = Tensor::from_slice(&buf).view([starts.len() as i64, seq as i64 + 1]);
    let x = all.narrow(1, 0, seq as i64).contiguous().to_device(device);
    let y = all.narrow(1, 1, seq as i64).contiguous().to_device(device);
    Batch { x, y }
}

/// A token sequence to draw training windows from and to evaluate on.
#[derive(Debug, Clone)]
pub struct TokenData {
    tokens: Vec<u16>,
}

impl TokenData {
    /// Wraps tokens.
    pub fn new(tokens: Vec<u16>) -> Self {
        TokenData { tokens }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The largest token id (to check it fits the vocabulary).
    pub fn max_token(&self) -> Option<u16> {
        self.tokens.iter().copied().max()
    }

    /// `batch` windows at uniformly random offsets, a pure function of `(seed, step, micro)`:
    /// the same on every run and after a resume.
    ///
    /// # Errors
    /// [`LlmError::Config`] when there are no more than `seq` tokens.
    pub fn sample(
        &self,
        batch: usize,
        seq: usize,
        seed: u64,
        step: u64,
        micro: u64,
        device: Device,
    ) -> Result<Batch> {
        if self.tokens.len() <= seq {
            return Err(LlmError::Config(format!(
                "{} tokens cannot fill a window of {} + 1",
                self.tokens.len(),
                seq
            )));
        }
        let mut rng = stream(seed, (step << 16) ^ micro);
        let span = (self.tokens.len() - seq) as u64;
        let starts: Vec<usize> = (0..batch).map(|_| rng.below(span) as usize).collect();
        Ok(windows(&self.tokens, &starts, seq, device))
    }

    /// Consecutive non-overlapping windows covering the first `max_tokens` tokens (all when
    /// `None`), in batches of at most `batch`: the fixed validation set.
    pub fn eval_batches(
        &self,
        batch: usize,
        seq: usize,
        max_tokens: Option<usize>,
        device: Device,
    ) -> Vec<Batch> {
        let usable = max_tokens
            .unwrap_or(usize::MAX)
            .min(self.tokens.len().saturating_sub(1));
        let starts: Vec<usize> = (0..usable / seq).map(|i| i * seq).collect();
        starts
            .chunks(batch.max(1))
            .map(|c| windows(&self.tokens, c, seq, device))
            .collect()
    }
}

/// Mean loss over [`TokenData::eval_batches`], weighted by window count.
pub fn mean_loss(batches: &[Batch], loss: impl Fn(&Batch) -> f64) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for b in batches {
        let k = b.x.size()[0] as usize;
        sum += loss(b) * k as f64;
        n += k;
    }
    sum / n.max(1) as f64
}

/// Token ids as `[1, n]` int64 on `device`.
pub fn ids_tensor(ids: &[u32], device: Device) -> Tensor {
    let v: Vec<i64> = ids.iter().map(|&t| i64::from(t)).collect();
    Tensor::from_slice(&v)
        .view([1, -1])
        .to_kind(Kind::Int64)
        .to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_round_trip_and_match_the_reference_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("text_train_000000.bin");
        write_shard(&p, &[1, 2, 50256, 65535]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 1024 + 8);
        // The header as numpy's np.zeros(256, dtype=np.int32) with [0..3] = magic, 1, n.
        assert_eq!(&bytes[..12], &[0x88, 0xD8, 0x34, 0x01, 1, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(&bytes[1024..], &[1, 0, 2, 0, 0x50, 0xC4, 0xFF, 0xFF]);
        assert_eq!(read_shard(&p).unwrap(), [1, 2, 50256, 65535]);
        write_shard(&dir.path().join("text_val_000000.bin"), &[7]).unwrap();
        assert_eq!(load_split(dir.path(), "val").unwrap(), [7]);
        assert_eq!(shard_paths(dir.path(), "train").unwrap(), [p]);
    }

    #[test]
    fn corrupt_shards_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x_train_0.bin");
        write_shard(&p, &[1, 2, 3]).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.pop();
        std::fs::write(&p, &bytes).unwrap();
        assert!(read_shard(&p).unwrap_err().to_string().contains("truncated"));
        bytes[0] = 0;
        std::fs::write(&p, &bytes).unwrap();
        assert!(read_shard(&p).unwrap_err().to_string().contains("magic"));
        std::fs::write(&p, b"short").unwrap();
        assert!(read_shard(&p).unwrap_err().to_string().contains("header"));
        assert!(shard_paths(dir.path(), "val")
            .unwrap_err()
            .to_string()
            .contains("xtask data text"));
    }

    #[test]
    fn sampling_is_a_function_of_seed_and_step() {
        let data = TokenData::new((0..1000u16).collect());
        let a = data.sample(4, 8, 1, 5, 0, Device::Cpu).unwrap();
        let b = data.sample(4, 8, 1, 5, 0, Device::Cpu).unwrap();
        let c = data.sample(4, 8, 1, 6, 0, Device::Cpu).unwrap();
        assert_eq!(a.x, b.x);
        assert_ne!(a.x, c.x);
        assert_eq!(a.y, &a.x + 1, "targets are the next tokens");
        let evals = data.eval_batches(3, 10, Some(100), Device::Cpu);
        assert_eq!(
            evals.iter().map(|b| b.x.size()[0]).collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        assert_eq!(evals[1].x.int64_value(&[0, 0]), 30);
        assert!(TokenData::new(vec![1; 8])
            .sample(1, 8, 0, 0, 0, Device::Cpu)
            .is_err());
    }

    #[test]
    fn splitmix_is_uniform_enough() {
        let mut g = stream(3, 0);
        let mean: f64 = (0..10_000).map(|_| g.uniform()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
