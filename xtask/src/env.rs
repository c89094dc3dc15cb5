//! `cargo xtask env`: print the toolchain's environment as shell `export` lines, so that
//! `eval "$(cargo xtask env)"` makes plain `cargo build` / `cargo test` work.
//!
//! Only those lines go to stdout; every message goes to stderr.

use std::ffi::OsStr;
use std::io::Write;

use anyhow::{Context, Result};

use crate::mujoco::{self, MujocoInstall};
use crate::setup::{self, Toolchain};

/// Runs the `env` subcommand.
pub fn run() -> Result<()> {
    let toolchain = setup::ensure_toolchain()?;
    let mut script = export_script(&toolchain);
    // MuJoCo only when `cargo xtask setup --mujoco` has provisioned it; nothing is fetched here.
    if let Some(install) = crate::cache::cache_dir().ok().and_then(|c| mujoco::installed(&c)) {
        script += &mujoco_export_script(&install);
    }
    std::io::stdout()
        .write_all(script.as_bytes())
        .context("cannot write to stdout")
}

/// The shell lines for a provisioned MuJoCo: `MUJOCO_DYNAMIC_LINK_DIR` (read by `mujoco-rs`'s build),
/// its `lib/` added to `LD_LIBRARY_PATH`, and `PISA_MUJOCO_ASSETS` (the task XML folder).
pub fn mujoco_export_script(install: &MujocoInstall) -> String {
    let lib = shell_quote(install.lib_dir().as_os_str());
    format!(
        "export {}={lib}\n\
         export LD_LIBRARY_PATH={lib}\"${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n\
         export {}={}\n",
        mujoco::LINK_DIR_VAR,
        mujoco::ASSETS_VAR,
        shell_quote(install.assets_dir().as_os_str())
    )
}

/// The shell lines for `toolchain`.
///
/// `LD_LIBRARY_PATH` is extended in the user's shell (`${LD_LIBRARY_PATH:+:...}`) rather than
/// from xtask's own environment, which `cargo run` has already extended with its target dirs.
pub fn export_script(toolchain: &Toolchain) -> String {
    let mut script = format!(
        "export LIBTORCH={}\n",
        shell_quote(toolchain.libtorch.as_os_str())
    );
    script += &format!(
        "export LD_LIBRARY_PATH={}\"${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n",
        shell_quote(toolchain.library_dir().as_os_str())
    );
    if let Some(python) = &toolchain.python {
        script += &format!("export PISA_PYTHON={}\n", shell_quote(python.as_os_str()));
    }
    // tch rebuilds torch-sys when this changes, and xtask never sets it.
    script + "unset LIBTORCH_USE_PYTORCH\n"
}

/// `value` as one POSIX shell word: bare when it holds only safe characters, else single-quoted.
pub fn shell_quote(value: &OsStr) -> String {
    let text = value.to_string_lossy();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:,=@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn plain_paths_stay_bare() {
        assert_eq!(
            shell_quote(OsStr::new("/a/b-c/lib:/usr/lib")),
            "/a/b-c/lib:/usr/lib"
        );
    }

    #[test]
    fn spaces_quotes_and_empty_values_are_quoted() {
        assert_eq!(shell_quote(OsStr::new("/my dir/lib")), "'/my dir/lib'");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("$HOME")), "'$HOME'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
    }

    #[test]
    fn script_exports_the_toolchain() {
        let toolchain = Toolchain {
            libtorch: PathBuf::from("/c/torch"),
            python: Some(PathBuf::from("/c/venv/bin/python")),
        };
        assert_eq!(
            export_script(&toolchain),
            "export LIBTORCH=/c/torch\n\
             export LD_LIBRARY_PATH=/c/torch/lib\"${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\"\n\
             export PISA_PYTHON=/c/venv/bin/python\n\
             unset LIBTORCH_USE_PYTORCH\n"
        );
        let without_venv = Toolchain {
            python: None,
            ..toolchain
        };
        assert!(!export_script(&without_venv).contains("PISA_PYTHON"));
    }

    #[test]
    fn mujoco_script_exports_link_dir_library_path_and_assets() {
        let install = MujocoInstall {
            root: PathBuf::from("/c/mujoco-3.17.0"),
            mujoco_version: mujoco::MUJOCO_VERSION.into(),
            gymnasium_version: mujoco::GYMNASIUM_VERSION.into(),
        };
        assert_eq!(
            mujoco_export_script(&install),
            "export MUJOCO_DYNAMIC_LINK_DIR=/c/mujoco-3.17.0/lib\n\
             export LD_LIBRARY_PATH=/c/mujoco-3.17.0/lib\"${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\"\n\
             export PISA_MUJOCO_ASSETS=/c/mujoco-3.17.0/assets\n"
        );
    }
}
