//! `cargo xtask data ptb-like`: a Penn-Treebank-style corpus (Mikolov's `ptb.{train,valid,test}.txt`
//! format and sizes) built deterministically from the public-domain texts of `data corpora`,
//! since Penn Treebank cannot be downloaded here.
//!
//! xtask fetches the texts and checks the result against pinned SHA-256 digests (a second run
//! that finds them intact does nothing; a build that differs is an error); the construction
//! itself (sentences, PTB tokenization, block-wise split to PTB's word counts, the 10k
//! vocabulary) is the `lstm` crate's, module `ptb_like`, run as `lstm corpus`. Results on this
//! corpus are **not** comparable to PTB numbers; label them "PTB-like".

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::corpora::ensure_raw_texts;
use super::sha256_hex;
use crate::cargo::{release_program, Target};
use crate::setup;

/// The three outputs and the SHA-256 they are pinned to.
const PINNED: [(&str, &str); 3] = [
    (
        "ptb.train.txt",
        "e39f415451449cc51be90c19468bb49b456265b30efe9dbb3f0673cf988c04c4",
    ),
    (
        "ptb.valid.txt",
        "a8daf0912dafb70c37d12b74ff84c50557f8f883824f896eab59be65eefa9275",
    ),
    (
        "ptb.test.txt",
        "6a615cc4c11dec92e933720d31d01d89e27652de8e5de1f3262eefbed0a4c8e1",
    ),
];

/// Makes sure `<data_dir>/ptb-like/ptb.{train,valid,test}.txt` exist as pinned; otherwise
/// fetches the raw texts when missing and builds them with `lstm corpus` (the construction lives
/// in the `lstm` crate, module `ptb_like`); returns the folder.
///
/// # Errors
/// When the raw texts cannot be fetched, the `lstm` binary cannot be built or fails, or the
/// output is not the pinned one.
pub fn ensure_ptb_like(data_dir: &Path) -> Result<PathBuf> {
    let target = data_dir.join("ptb-like");
    if PINNED
        .iter()
        .all(|(name, sha)| digest_of(&target.join(name)).as_deref() == Some(*sha))
    {
        println!(
            "The PTB-like corpus is already in {} (pinned SHA-256 verified); nothing to do.",
            target.display()
        );
        return Ok(target);
    }
    let files = ensure_raw_texts(data_dir)?;
    let toolchain = setup::ensure_toolchain()?;
    let mut cmd = release_program(&toolchain, "lstm", Target::Bin("lstm"))?;
    cmd.arg("corpus").arg("--out").arg(&target).args(&files);
    crate::cargo::run_checked(&mut cmd).context("building the PTB-like corpus")?;
    let mut problems = Vec::new();
    for (name, pinned) in PINNED {
        let path = target.join(name);
        let digest = digest_of(&path).with_context(|| format!("cannot read {}", path.display()))?;
        println!("  {name:<14} sha256 {digest}");
        if digest != pinned {
            problems.push(format!("{name}: SHA-256 {digest}, pinned {pinned}"));
        }
    }
    if !problems.is_empty() {
        bail!(
            "the PTB-like corpus differs from the pinned build ({}); the texts or the construction \
             changed",
            problems.join("; ")
        );
    }
    Ok(target)
}

/// The SHA-256 of a file, or `None` when it cannot be read.
fn digest_of(path: &Path) -> Option<String> {
    sha256_hex(&mut fs::File::open(path).ok()?).ok()
}
