//! Text files → token shards with a train/validation split (`cargo xtask data text`).
//!
//! Each file is one document: `[EOT] + encode(text)` (nanoGPT's FineWeb script puts the
//! end-of-text token before every document). The last `val_fraction` of each file's tokens go
//! to the validation split, the rest to training, so both splits sample every file. Splits are
//! written as `<prefix>_{train,val}_NNNNNN.bin` shards of at most `shard_tokens` tokens.

use crate::error::{LlmError, Result};
use crate::shards::write_shard;
use crate::tokenizer::{Tokenizer, EOT};
use std::path::{Path, PathBuf};

/// What [`tokenize_files`] wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TextStats {
    /// Training tokens.
    pub train_tokens: usize,
    /// Validation tokens.
    pub val_tokens: usize,
    /// Shard files written.
    pub shards: Vec<PathBuf>,
}

/// Tokenizes `inputs` into shards in `out_dir` (created if needed).
///
/// # Errors
/// [`LlmError::Io`] naming an unreadable input or unwritable shard; [`LlmError::Config`] for a
/// `val_fraction` outside (0, 1) or `shard_tokens` of 0.
pub fn tokenize_files(
    inputs: &[PathBuf],
    out_dir: &Path,
    prefix: &str,
    val_fraction: f64,
    shard_tokens: usize,
) -> Result<TextStats> {
    if !(val_fraction > 0.0 && val_fraction < 1.0) {
        return Err(LlmError::Config(format!(
            "val_fraction {val_fraction} must be in (0, 1)"
        )));
    }
    if shard_tokens == 0 || inputs.is_empty() {
        return Err(LlmError::Config(
            "need at least one input file and shard_tokens > 0".into(),
        ));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| LlmError::io(out_dir, e))?;
    let tok = Tokenizer::gpt2();
    let (mut train, mut val) = (Vec::<u16>::new(), Vec::<u16>::new());
    for path in inputs {
        let bytes = std::fs::read(path).map_err(|e| LlmError::io(path, e))?;
        let text = String::from_utf8_lossy(&bytes);
        let mut ids = vec![EOT];
        ids.extend(tok.encode(&text));
        let cut = ((1.0 - val_fraction) * ids.len() as f64).round() as usize;
        train.extend(ids[..cut].iter().map(|&t| t as u16));
        val.extend(ids[cut..].iter().map(|&t| t as u16));
    }
    let mut shards = Vec::new();
    for (split, tokens) in [("val", &val), ("train", &train)] {
        for (k, chunk) in tokens.chunks(shard_tokens).enumerate() {
            let p = out_dir.join(format!("{prefix}_{split}_{k:06}.bin"));
            write_shard(&p, chunk)?;
            shards.push(p);
        }
    }
    Ok(TextStats {
        train_tokens: train.len(),
        val_tokens: val.len(),
        shards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shards::load_split;

    #[test]
    fn files_become_split_shards() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        std::fs::write(&a, "hello world ".repeat(20)).unwrap();
        std::fs::write(&b, "the quick brown fox").unwrap();
        let out = dir.path().join("tokens");
        let stats = tokenize_files(&[a.clone(), b], &out, "text", 0.25, 16).unwrap();
        let (train, val) = (
            load_split(&out, "train").unwrap(),
            load_split(&out, "val").unwrap(),
        );
        assert_eq!((train.len(), val.len()), (stats.train_tokens, stats.val_tokens));
        // Each file is EOT + its tokens; "hello world" is [31373, 995].
        assert_eq!(&train[..3], &[50256, 31373, 995]);
        let tok = Tokenizer::gpt2();
        let total =
            tok.encode("the quick brown fox").len() + tok.encode(&"hello world ".repeat(20)).len() + 2;
        assert_eq!(train.len() + val.len(), total);
        assert_eq!(stats.shards.len(), 1 + train.len().div_ceil(16));
        assert!(
            tokenize_files(&[dir.path().join("missing.txt")], &out, "t", 0.1, 10)
                .unwrap_err()
                .to_string()
                .contains("missing.txt")
        );
        assert!(tokenize_files(&[a], &out, "t", 1.0, 10).is_err());
    }
}
