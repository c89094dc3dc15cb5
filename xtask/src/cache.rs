//! Where things live: the per-user cache directory, the repository root, and search-path lists
//! (`LD_LIBRARY_PATH`). A leaf module: `setup` and `mujoco` both use it.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Name of the folder made inside `$XDG_CACHE_HOME` or `~/.cache`.
const CACHE_FOLDER: &str = "pisa-rs";

/// The cache directory, from the process environment; see [`cache_dir_from`].
///
/// # Errors
/// When none of `PISA_CACHE_DIR`, `XDG_CACHE_HOME` and `HOME` is usable.
pub fn cache_dir() -> Result<PathBuf> {
    cache_dir_from(
        std::env::var_os("PISA_CACHE_DIR"),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

/// Resolves the cache directory: `$PISA_CACHE_DIR` as given, else `$XDG_CACHE_HOME/pisa-rs`,
/// else `$HOME/.cache/pisa-rs`.
///
/// Empty values count as unset, and a relative `XDG_CACHE_HOME` is ignored, as the XDG base
/// directory specification asks.
///
/// # Errors
/// When no variable gives a directory.
pub fn cache_dir_from(
    pisa_cache_dir: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf> {
    let non_empty = |value: Option<OsString>| value.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty(pisa_cache_dir) {
        return Ok(dir);
    }
    if let Some(xdg) = non_empty(xdg_cache_home).filter(|p| p.is_absolute()) {
        return Ok(xdg.join(CACHE_FOLDER));
    }
    if let Some(home) = non_empty(home) {
        return Ok(home.join(".cache").join(CACHE_FOLDER));
    }
    bail!("cannot find a cache directory: set PISA_CACHE_DIR (or HOME) to a writable folder")
}

/// The repository root (the workspace holding `xtask/`).
pub fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent directory")
}

/// `dir` followed by the entries of `existing` (a `:`-separated list), without repeating `dir`.
///
/// # Errors
/// When a path contains the separator.
pub fn prepend_path(dir: &Path, existing: Option<&OsStr>) -> Result<OsString> {
    let rest = existing
        .into_iter()
        .flat_map(std::env::split_paths)
        .filter(|p| !p.as_os_str().is_empty() && p != dir);
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(rest))
        .with_context(|| format!("{} cannot be put in a path list", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_path_puts_dir_first_once() {
        let dir = Path::new("/t/lib");
        assert_eq!(prepend_path(dir, None).unwrap(), "/t/lib");
        assert_eq!(prepend_path(dir, Some(OsStr::new(""))).unwrap(), "/t/lib");
        assert_eq!(
            prepend_path(dir, Some(OsStr::new("/a:/b"))).unwrap(),
            "/t/lib:/a:/b"
        );
        assert_eq!(
            prepend_path(dir, Some(OsStr::new("/a:/t/lib:/b"))).unwrap(),
            "/t/lib:/a:/b"
        );
    }

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn pisa_cache_dir_wins_over_everything() {
        let dir = cache_dir_from(os("/data/pc"), os("/xdg"), os("/users/u")).unwrap();
        assert_eq!(dir, PathBuf::from("/data/pc"));
    }

    #[test]
    fn xdg_cache_home_gets_a_pisa_rs_folder() {
        let dir = cache_dir_from(None, os("/xdg"), os("/users/u")).unwrap();
        assert_eq!(dir, PathBuf::from("/xdg/pisa-rs"));
    }

    #[test]
    fn home_is_the_fallback() {
        let dir = cache_dir_from(None, None, os("/users/u")).unwrap();
        assert_eq!(dir, PathBuf::from("/users/u/.cache/pisa-rs"));
    }

    #[test]
    fn empty_and_relative_values_count_as_unset() {
        let dir = cache_dir_from(os(""), os("relative/xdg"), os("/users/u")).unwrap();
        assert_eq!(dir, PathBuf::from("/users/u/.cache/pisa-rs"));
        let dir = cache_dir_from(os(""), os(""), os("/users/u")).unwrap();
        assert_eq!(dir, PathBuf::from("/users/u/.cache/pisa-rs"));
    }

    #[test]
    fn no_usable_variable_is_an_error() {
        let err = cache_dir_from(None, os("rel"), os("")).unwrap_err();
        assert!(err.to_string().contains("PISA_CACHE_DIR"));
    }

    #[test]
    fn project_root_holds_the_workspace_manifest() {
        assert!(project_root().join("Cargo.toml").is_file());
        assert!(project_root().join("xtask").is_dir());
    }
}
