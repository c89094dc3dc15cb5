//! `cargo xtask data text`: text files → GPT-2 token shards with a train/validation split.
//!
//! Input: `--input FILE...`, else the public-domain corpora of `cargo xtask data corpora`
//! (fetched when missing). The `llm` crate's binary tokenizes them with GPT-2's BPE
//! (`r50k_base`) into `<DATA_DIR>/text/text_{train,val}_NNNNNN.bin`, the nanoGPT /
//! modded-nanogpt shard format (header of 256 int32: magic 20240520, version 1, token count;
//! then uint16 tokens), 10 % of each file's tokens held out. A `inputs.txt` beside the shards
//! lists the files and sizes they were made from; a second run with the same inputs does nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::corpora::ensure_raw_texts;
use crate::cargo::{release_program, run_checked, Target};
use crate::setup;

/// The shard folder under the data directory.
pub const TEXT_DIR: &str = "text";
/// The record of what the shards were made from.
const STAMP: &str = "inputs.txt";

/// Arguments of `cargo xtask data text`.
#[derive(clap::Args, Debug, PartialEq, Eq)]
pub struct TextArgs {
    /// The data directory [default: $PISA_DATA_DIR, else data/ at the repository root].
    #[arg(long, value_name = "DATA_DIR")]
    pub dir: Option<PathBuf>,
    /// Text files to tokenize [default: the corpora of `cargo xtask data corpora`].
    #[arg(long, num_args = 1..)]
    pub input: Vec<PathBuf>,
}

/// Runs `cargo xtask data text`.
///
/// # Errors
/// As [`ensure_text_shards`].
pub fn run(args: &TextArgs) -> Result<()> {
    let data_dir = args.dir.clone().unwrap_or_else(super::default_data_dir);
    let out = ensure_text_shards(&data_dir, Some(&args.input))?;
    println!("token shards: {}", out.display());
    Ok(())
}

/// One line per input: size and path, so that a changed input set re-tokenizes.
fn stamp(inputs: &[PathBuf]) -> String {
    inputs
        .iter()
        .map(|p| format!("{} {}\n", fs::metadata(p).map_or(0, |m| m.len()), p.display()))
        .collect()
}

/// Makes sure `<data_dir>/text/` holds the shards of `inputs` (default: the corpora) and
/// returns that folder.
///
/// # Errors
/// When the corpora cannot be fetched, the `llm` binary cannot be built, or tokenizing fails.
pub fn ensure_text_shards(data_dir: &Path, inputs: Option<&[PathBuf]>) -> Result<PathBuf> {
    let inputs = match inputs {
        Some(files) if !files.is_empty() => files.to_vec(),
        _ => ensure_raw_texts(data_dir)?,
    };
    let out = data_dir.join(TEXT_DIR);
    let expected = stamp(&inputs);
    if fs::read_to_string(out.join(STAMP)).is_ok_and(|s| s == expected) {
        eprintln!("xtask: token shards in {} are up to date", out.display());
        return Ok(out);
    }
    if out.exists() {
        fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    let toolchain = setup::ensure_toolchain()?;
    let mut cmd = release_program(&toolchain, "llm", Target::Bin("llm"))?;
    cmd.args(["tokenize", "--out"])
        .arg(&out)
        .arg("--input")
        .args(&inputs);
    run_checked(&mut cmd)?;
    fs::write(out.join(STAMP), expected).with_context(|| format!("writing {}", out.join(STAMP).display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_lists_sizes_and_paths() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        fs::write(&f, "abc").unwrap();
        assert_eq!(stamp(std::slice::from_ref(&f)), format!("3 {}\n", f.display()));
    }
}
