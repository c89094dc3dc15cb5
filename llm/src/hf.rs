//! Hugging Face checkpoint directories: `config.json` + `model.safetensors`, or shards listed in
//! `model.safetensors.index.json`.
//!
//! Loading accepts both naming styles found in the wild: `GPT2LMHeadModel`'s
//! (`transformer.h.0...`) and bare `GPT2Model`'s (`h.0...`, as in the original `gpt2` upload).
//! The causal-mask buffers some old exports carry (`attn.bias`, `attn.masked_bias`) are skipped;
//! a tied `lm_head.weight` is skipped (it is the token embedding). Any other unknown tensor, a
//! missing one or a wrong shape is an error naming it. Tensors of any float dtype are converted
//! to the variables' dtype.
//!
//! Saving writes what `save_pretrained` writes: `config.json` and `model.safetensors` (or shards
//! `model-0000k-of-0000n.safetensors` + the index when `max_shard_bytes` is given), names in the
//! `GPT2LMHeadModel` style without the tied head, and `{"format": "pt"}` metadata, so that
//! `GPT2LMHeadModel.from_pretrained(dir)` reads it.

use crate::config::Gpt2Config;
use crate::error::{LlmError, Result};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// The single-file weights' name.
pub const WEIGHTS: &str = "model.safetensors";
/// The shard index's name.
pub const INDEX: &str = "model.safetensors.index.json";
/// The configuration's name.
pub const CONFIG: &str = "config.json";

/// Reads the configuration of a checkpoint directory.
///
/// # Errors
/// As [`Gpt2Config::load`].
pub fn load_config(dir: &Path) -> Result<Gpt2Config> {
    Gpt2Config::load(&dir.join(CONFIG))
}

/// Every tensor of the checkpoint in `dir`, single-file or sharded, under its stored name.
///
/// # Errors
/// [`LlmError::Io`] / [`LlmError::Corrupt`] naming the file at fault.
pub fn read_tensors(dir: &Path) -> Result<Vec<(String, Tensor)>> {
    let single = dir.join(WEIGHTS);
    let index = dir.join(INDEX);
    let files = if single.exists() {
        vec![single]
    } else if index.exists() {
        shard_files(&index)?
    } else {
        return Err(LlmError::io(
            &single,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("neither {WEIGHTS} nor {INDEX} is in this directory"),
            ),
        ));
    };
    let mut out = Vec::new();
    for f in files {
        if !f.exists() {
            return Err(LlmError::io(
                &f,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "shard listed in the index is missing",
                ),
            ));
        }
        let tensors = Tensor::read_safetensors(&f).map_err(|e| LlmError::corrupt(&f, e.to_string()))?;
        out.extend(tensors);
    }
    Ok(out)
}

/// The shard files named in an index, in order, each once.
fn shard_files(index: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(index).map_err(|e| LlmError::io(index, e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| LlmError::corrupt(index, e.to_string()))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| LlmError::corrupt(index, "no `weight_map` object"))?;
    let mut files: Vec<&str> = Vec::new();
    for file in map.values() {
        let file = file
            .as_str()
            .ok_or_else(|| LlmError::corrupt(index, "weight_map values must be file names"))?;
        if file.contains('/') || file.contains("..") {
            return Err(LlmError::corrupt(
                index,
                format!("shard `{file}` is not a plain file name"),
            ));
        }
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files.sort_unstable();
    let dir = index.parent().unwrap_or(Path::new("."));
    Ok(files.into_iter().map(|f| dir.join(f)).collect())
}

/// The `GPT2LMHeadModel` name of a stored tensor, or `None` for tensors to skip.
fn canonical(name: &str, tied: bool) -> Option<String> {
    if name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias") {
        return None;
    }
    if name == "lm_head.weight" {
        return (!tied).then(|| name.to_string());
    }
    Some(if name.starts_with("transformer.") {
        name.to_string()
    } else {
        format!("transformer.{name}")
    })
}

/// Copies the checkpoint in `dir` into the variables of `vs` (built by
/// [`crate::model::Gpt2::new`] with [`load_config`]'s configuration).
///
/// # Errors
/// [`LlmError::MissingTensor`], [`LlmError::ShapeMismatch`], [`LlmError::UnexpectedTensors`],
/// or a file error.
pub fn load_weights(dir: &Path, vs: &mut VarStore, tied: bool) -> Result<()> {
    let mut stored: BTreeMap<String, Tensor> = BTreeMap::new();
    for (name, t) in read_tensors(dir)? {
        if let Some(c) = canonical(&name, tied) {
            stored.insert(c, t);
        }
    }
    let vars = vs.variables();
    let unexpected: Vec<String> = stored
        .keys()
        .filter(|k| !vars.contains_key(*k))
        .cloned()
        .collect();
    if !unexpected.is_empty() {
        return Err(LlmError::UnexpectedTensors {
            dir: dir.into(),
            names: unexpected,
        });
    }
    tch::no_grad(|| {
        for (name, var) in vars.iter() {
            let Some(t) = stored.get(name) else {
                return Err(LlmError::MissingTensor {
                    dir: dir.into(),
                    name: name.clone(),
                    found: stored.keys().take(4).cloned().collect::<Vec<_>>().join(", "),
                });
            };
            if t.size() != var.size() {
                return Err(LlmError::ShapeMismatch {
                    dir: dir.into(),
                    name: name.clone(),
                    got: t.size(),
                    expected: var.size(),
                });
            }
            var.shallow_clone().f_copy_(t)?;
        }
        Ok(())
    })
}

/// The safetensors dtype name of a tensor kind.
fn dtype_name(kind: Kind) -> Result<&'static str> {
    Ok(match kind {
        Kind::Float => "F32",
        Kind::Double => "F64",
        Kind::BFloat16 => "BF16",
        Kind::Half => "F16",
        Kind::Int64 => "I64",
        other => return Err(LlmError::Config(format!("cannot save tensors of kind {other:?}"))),
    })
}

/// Writes `tensors` as one safetensors file with `{"format": "pt"}` metadata (which
/// `transformers` requires), atomically (`.tmp` then rename).
///
/// # Errors
/// [`LlmError::Io`], or an unsupported tensor kind.
pub fn write_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({"format": "pt"}));
    let mut offset = 0usize;
    let mut blobs = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let t = t.to_device(tch::Device::Cpu).contiguous();
        let n = t.numel() * t.kind().elt_size_in_bytes();
        let mut bytes = vec![0u8; n];
        t.f_copy_data_u8(&mut bytes, t.numel())?;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype_name(t.kind())?, "shape": t.size(), "data_offsets": [offset, offset + n]}),
        );
        offset += n;
        blobs.push(bytes);
    }
    let mut head = serde_json::to_string(&header)
        .expect("a JSON map serializes")
        .into_bytes();
    while !head.len().is_multiple_of(8) {
        head.push(b' ');
    }
    let tmp = path.with_extension("safetensors.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(&(head.len() as u64).to_le_bytes())?;
        f.write_all(&head)?;
        for b in &blobs {
            f.write_all(b)?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| LlmError::io(path, e))
}

/// Saves the model's configuration and variables as a Hugging Face checkpoint in `dir`
/// (created if needed). With `max_shard_bytes`, the weights are split into shards of at most
/// that size (a tensor larger than the limit gets a shard of its own) plus the index.
///
/// # Errors
/// [`LlmError::Io`].
pub fn save(dir: &Path, config: &Gpt2Config, vs: &VarStore, max_shard_bytes: Option<usize>) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| LlmError::io(dir, e))?;
    config.save(&dir.join(CONFIG))?;
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let Some(limit) = max_shard_bytes else {
        return write_safetensors(&dir.join(WEIGHTS), &vars);
    };
    let mut shards: Vec<Vec<(String, Tensor)>> = vec![vec![]];
    let mut size = 0usize;
    let mut total = 0usize;
    for (name, t) in vars {
        let n = t.numel() * t.kind().elt_size_in_bytes();
        if size + n > limit && !shards.last().is_some_and(Vec::is_empty) {
            shards.push(vec![]);
            size = 0;
        }
        size += n;
        total += n;
        shards.last_mut().expect("one shard at least").push((name, t));
    }
    let count = shards.len();
    let mut weight_map = serde_json::Map::new();
    for (k, shard) in shards.iter().enumerate() {
        let file = format!("model-{:05}-of-{count:05}.safetensors", k + 1);
        for (name, _) in shard {
            weight_map.insert(name.clone(), file.clone().into());
        }
        write_safetensors(&dir.join(&file), shard)?;
    }
    let index = serde_json::json!({"metadata": {"total_size": total}, "weight_map": weight_map});
    let path = dir.join(INDEX);
    std::fs::write(&path, serde_json::to_string_pretty(&index).expect("JSON") + "\n")
        .map_err(|e| LlmError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonicalized() {
        assert_eq!(
            canonical("h.0.ln_1.weight", true).unwrap(),
            "transformer.h.0.ln_1.weight"
        );
        assert_eq!(
            canonical("transformer.wte.weight", true).unwrap(),
            "transformer.wte.weight"
        );
        assert!(canonical("h.3.attn.bias", true).is_none());
        assert!(canonical("transformer.h.3.attn.masked_bias", true).is_none());
        assert!(canonical("lm_head.weight", true).is_none());
        assert_eq!(canonical("lm_head.weight", false).unwrap(), "lm_head.weight");
    }
}
