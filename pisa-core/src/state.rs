//! Optimizer state: named tensors (saved as safetensors) plus scalars (saved as JSON).
//!
//! f64 scalars survive JSON exactly (shortest round-trip formatting), and tensors are stored
//! bit for bit, so a run resumed from a saved state continues identically on CPU.

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tch::Tensor;

/// The full state of an optimizer.
#[derive(Debug)]
pub struct OptimizerState {
    /// Named state tensors (moments, multipliers, ...), on the device they live on.
    pub tensors: Vec<(String, Tensor)>,
    /// Scalars and settings (iteration counter, σ-schedule state, optimizer name, ...).
    pub scalars: Value,
}

impl OptimizerState {
    /// The tensor named `name`.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] when it is missing.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| Error::StateMismatch(format!("state has no tensor `{name}`")))
    }

    /// Copies the saved tensor `name` into `dst` after checking shape and dtype.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] when it is missing or differs in shape or dtype.
    pub fn restore_into(&self, name: &str, dst: &mut Tensor) -> Result<()> {
        let src = self.tensor(name)?;
        if src.size() != dst.size() || src.kind() != dst.kind() {
            return Err(Error::StateMismatch(format!(
                "tensor `{name}` is {:?} {:?} in the state but {:?} {:?} here",
                src.kind(),
                src.size(),
                dst.kind(),
                dst.size()
            )));
        }
        tch::no_grad(|| dst.f_copy_(src))?;
        Ok(())
    }

    /// The scalar at `key` as f64.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] when missing or not a number.
    pub fn f64(&self, key: &str) -> Result<f64> {
        self.scalars
            .get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| Error::StateMismatch(format!("state has no number `{key}`")))
    }

    /// The scalar at `key` as u64.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] when missing or not an unsigned integer.
    pub fn u64(&self, key: &str) -> Result<u64> {
        self.scalars
            .get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::StateMismatch(format!("state has no integer `{key}`")))
    }

    /// Checks that the state was written by optimizer `name`.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] otherwise.
    pub fn expect_optimizer(&self, name: &str) -> Result<()> {
        match self.scalars.get("optimizer").and_then(Value::as_str) {
            Some(n) if n == name => Ok(()),
            other => Err(Error::StateMismatch(format!(
                "state was written by {other:?}, not `{name}`"
            ))),
        }
    }

    /// Checks that the scalar `key` equals `expected` (a setting the state depends on, such as
    /// the number of nodes).
    ///
    /// # Errors
    /// [`Error::StateMismatch`] otherwise.
    pub fn expect_same(&self, key: &str, expected: Value) -> Result<()> {
        match self.scalars.get(key) {
            Some(v) if *v == expected => Ok(()),
            found => Err(Error::StateMismatch(format!(
                "the state was saved with {key} = {}, this optimizer has {expected}",
                found.map_or("nothing".to_string(), Value::to_string)
            ))),
        }
    }

    /// Writes `<path>.safetensors` and `<path>.json`, each to a temporary file first and then
    /// renamed, so a crash mid-write never leaves a half-written file under the final name.
    ///
    /// # Errors
    /// [`Error::Io`] or a libtorch error.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let (st, js) = Self::paths(path.as_ref());
        let cpu: Vec<(String, Tensor)> = self
            .tensors
            .iter()
            .map(|(n, t)| Ok((n.clone(), t.f_to_device(tch::Device::Cpu)?.f_contiguous()?)))
            .collect::<Result<_>>()?;
        let tmp = with_suffix(&st, ".tmp");
        Tensor::write_safetensors(&cpu, &tmp)?;
        rename(&tmp, &st)?;
        let tmp = with_suffix(&js, ".tmp");
        let text = serde_json::to_string_pretty(&self.scalars).map_err(|e| Error::Config(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(|source| io_err(&tmp, source))?;
        rename(&tmp, &js)
    }

    /// Reads a state written by [`Self::save`]; tensors are placed on `device`.
    ///
    /// # Errors
    /// [`Error::Io`] when a file is missing or unreadable, [`Error::Config`] for bad JSON.
    pub fn load(path: impl AsRef<Path>, device: tch::Device) -> Result<Self> {
        let (st, js) = Self::paths(path.as_ref());
        if !st.exists() {
            return Err(io_err(
                &st,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        let tensors = Tensor::read_safetensors(&st)?
            .into_iter()
            .map(|(n, t)| Ok((n, t.f_to_device(device)?)))
            .collect::<Result<_>>()?;
        let text = std::fs::read_to_string(&js).map_err(|source| io_err(&js, source))?;
        let scalars =
            serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", js.display())))?;
        Ok(OptimizerState { tensors, scalars })
    }

    fn paths(path: &Path) -> (PathBuf, PathBuf) {
        (with_suffix(path, ".safetensors"), with_suffix(path, ".json"))
    }

    /// Prefixes every tensor name with `prefix` and nests the scalars under it (used by
    /// grouped optimizers).
    pub fn prefixed(self, prefix: &str) -> (Vec<(String, Tensor)>, (String, Value)) {
        let tensors = self
            .tensors
            .into_iter()
            .map(|(n, t)| (format!("{prefix}/{n}"), t))
            .collect();
        (tensors, (prefix.to_string(), self.scalars))
    }

    /// The part of a grouped state that [`Self::prefixed`] stored under `prefix`.
    ///
    /// # Errors
    /// [`Error::StateMismatch`] when the group is missing.
    pub fn sub_state(&self, prefix: &str) -> Result<OptimizerState> {
        let scalars = self
            .scalars
            .get(prefix)
            .cloned()
            .ok_or_else(|| Error::StateMismatch(format!("state has no group `{prefix}`")))?;
        let start = format!("{prefix}/");
        let tensors = self
            .tensors
            .iter()
            .filter_map(|(n, t)| {
                n.strip_prefix(&start)
                    .map(|rest| (rest.to_string(), t.shallow_clone()))
            })
            .collect();
        Ok(OptimizerState { tensors, scalars })
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|source| io_err(to, source))
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}
