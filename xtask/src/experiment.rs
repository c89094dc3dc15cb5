//! The one experiment path of every domain command: `--compare a,b,c` (optimizers),
//! `--seeds N` or `--seeds a..b`, and `--sweep key=v1,v2,...` (one optimizer setting, e.g.
//! `sigma=0.01,0.1,1`) expand into runs named `<optimizer>[-<key><value>]-seed<k>`; each runs
//! through the domain binary with `--optimizer --seed --name [--config]` (the flags of
//! `runs::session::RunArgs`), a finished run is skipped and an interrupted one resumed, and then
//! `report compare` writes `compare.md` and the plots for the domain's headline metric.
//!
//! ```text
//! cargo xtask gan --dataset mnist --compare adam,sisa --seeds 3 -- --epochs 2
//! cargo xtask lstm --layers 1 --compare sisa --sweep sigma=0.01,0.1 -- --epochs 2
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cargo::run_checked;
use crate::report;
use crate::setup::Toolchain;

/// One run of an experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    /// The run folder's name: `<optimizer>[-<key><value>]-seed<k>`.
    pub name: String,
    /// The optimizer.
    pub optimizer: String,
    /// The seed.
    pub seed: u64,
    /// The swept setting `(key, value)`, if any.
    pub setting: Option<(String, String)>,
}

/// What the user asked for: the domain command's `--optimizer`, `--compare`, `--seeds` and
/// `--sweep`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// The single optimizer (used when `compare` is empty).
    pub optimizer: &'a str,
    /// The optimizers to compare.
    pub compare: &'a [String],
    /// `N` (seeds 0..N) or `a..b`.
    pub seeds: Option<&'a str>,
    /// `key=v1,v2,...`.
    pub sweep: Option<&'a str>,
}

impl Request<'_> {
    /// Whether this is an experiment (several runs compared) rather than one plain run.
    pub fn is_experiment(&self) -> bool {
        !self.compare.is_empty() || self.seeds.is_some() || self.sweep.is_some()
    }
}

/// The runs of `request`, optimizer-major, then setting, then seed.
///
/// # Errors
/// A malformed `--seeds` or `--sweep`, or an empty optimizer name.
pub fn plan(request: &Request<'_>) -> Result<Vec<PlannedRun>> {
    let optimizers: Vec<String> = match request.compare {
        [] => vec![request.optimizer.to_string()],
        list => list.to_vec(),
    };
    if optimizers.iter().any(|o| o.trim().is_empty()) {
        bail!("--compare: empty optimizer name");
    }
    let seeds = match request.seeds {
        Some(spec) => parse_seeds(spec)?,
        None => vec![0],
    };
    let settings: Vec<Option<(String, String)>> = match request.sweep {
        Some(spec) => {
            let (key, values) = parse_sweep(spec)?;
            values.into_iter().map(|v| Some((key.clone(), v))).collect()
        }
        None => vec![None],
    };
    let mut runs = Vec::new();
    for optimizer in &optimizers {
        for setting in &settings {
            for &seed in &seeds {
                let group = match setting {
                    Some((key, value)) => format!("{optimizer}-{key}{value}"),
                    None => optimizer.clone(),
                };
                runs.push(PlannedRun {
                    name: format!("{group}-seed{seed}"),
                    optimizer: optimizer.clone(),
                    seed,
                    setting: setting.clone(),
                });
            }
        }
    }
    Ok(runs)
}

/// `N` → 0..N, `a..b` → a..b (b exclusive); never empty.
///
/// # Errors
/// Anything else, or an empty range.
pub fn parse_seeds(spec: &str) -> Result<Vec<u64>> {
    let bad = || format!("--seeds {spec}: expected N (seeds 0..N) or a..b, e.g. 3 or 0..5");
    let (a, b) = match spec.split_once("..") {
        Some((a, b)) => (
            a.trim().parse::<u64>().with_context(bad)?,
            b.trim().parse::<u64>().with_context(bad)?,
        ),
        None => (0, spec.trim().parse::<u64>().with_context(bad)?),
    };
    if a >= b {
        bail!("--seeds {spec}: empty range");
    }
    Ok((a..b).collect())
}

/// `key=v1,v2,...` → (key, values); the key is an optimizer setting (any key of its TOML
/// configuration), each value a TOML value.
///
/// # Errors
/// A missing key or value, or a value that is not TOML.
pub fn parse_sweep(spec: &str) -> Result<(String, Vec<String>)> {
    let Some((key, values)) = spec.split_once('=') else {
        bail!("--sweep {spec}: expected key=v1,v2,..., e.g. sigma=0.01,0.1,1");
    };
    let key = key.trim();
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if key.is_empty() || values.iter().any(String::is_empty) {
        bail!("--sweep {spec}: expected key=v1,v2,..., e.g. sigma=0.01,0.1,1");
    }
    for v in &values {
        toml_line(key, v)?;
    }
    Ok((key.to_string(), values))
}

/// `key = value` as a TOML line, the value parsed as TOML (a bare word becomes a string).
fn toml_line(key: &str, value: &str) -> Result<String> {
    let line = format!("{key} = {value}");
    if line.parse::<toml::Table>().is_ok() {
        return Ok(line + "\n");
    }
    let quoted = format!("{key} = {value:?}");
    quoted
        .parse::<toml::Table>()
        .with_context(|| format!("--sweep {key}={value}: not a TOML value"))?;
    Ok(quoted + "\n")
}

/// The domain's headline metric, which `report compare` tabulates and plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headline<'a> {
    /// The metric column.
    pub metric: &'a str,
    /// The x column (`step` or a metric such as `epoch`).
    pub x: &'a str,
    /// `min` or `max`.
    pub goal: &'a str,
}

/// Whether the run folder holds a finished run (its `summary.json` says so).
fn finished(run: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Status {
        status: String,
    }
    std::fs::read_to_string(run.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Status>(&t).ok())
        .is_some_and(|s| s.status == "finished")
}

/// Runs `runs` in `domain_dir` (`<runs dir>/<domain>`) one after the other through `launch`
/// (the domain binary with the run's `--optimizer --seed --name`, and `--config` with the swept
/// setting), skipping finished runs and resuming interrupted ones (`--resume`), then writes the
/// comparison of `headline`; returns `compare.md`.
///
/// # Errors
/// When a run fails or the comparison cannot be written.
pub fn run(
    toolchain: &Toolchain,
    domain_dir: &Path,
    runs: &[PlannedRun],
    headline: Headline<'_>,
    launch: &dyn Fn() -> Result<Command>,
) -> Result<PathBuf> {
    std::fs::create_dir_all(domain_dir).with_context(|| format!("cannot create {}", domain_dir.display()))?;
    for planned in runs {
        let folder = domain_dir.join(&planned.name);
        if finished(&folder) {
            eprintln!("xtask: {} is finished; skipped", folder.display());
            continue;
        }
        let mut cmd = launch()?;
        cmd.args(["--optimizer", &planned.optimizer])
            .args(["--seed", &planned.seed.to_string()])
            .args(["--name", &planned.name]);
        if let Some((key, value)) = &planned.setting {
            let file = domain_dir.join(format!("sweep-{key}-{value}.toml"));
            std::fs::write(&file, toml_line(key, value)?)
                .with_context(|| format!("cannot write {}", file.display()))?;
            cmd.arg("--config").arg(&file);
        }
        if folder.join("metrics.csv").exists() {
            cmd.arg("--resume");
        }
        run_checked(&mut cmd).with_context(|| format!("the run {}", planned.name))?;
    }
    let written = report::compare(toolchain, domain_dir, headline)?;
    println!("Comparison: {}", written.display());
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_expand_to_named_runs() {
        let compare = vec!["adam".to_string(), "sisa".to_string()];
        let r = Request {
            optimizer: "sisa",
            compare: &compare,
            seeds: Some("2"),
            sweep: None,
        };
        let names: Vec<String> = plan(&r).unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["adam-seed0", "adam-seed1", "sisa-seed0", "sisa-seed1"]);
        let r = Request {
            optimizer: "sisa",
            compare: &[],
            seeds: Some("3..5"),
            sweep: Some("sigma=0.01,0.1"),
        };
        let runs = plan(&r).unwrap();
        let names: Vec<&str> = runs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sisa-sigma0.01-seed3",
                "sisa-sigma0.01-seed4",
                "sisa-sigma0.1-seed3",
                "sisa-sigma0.1-seed4"
            ]
        );
        assert_eq!(runs[2].setting, Some(("sigma".into(), "0.1".into())));
        let single = Request {
            optimizer: "adam",
            ..Request::default()
        };
        assert!(!single.is_experiment());
        assert_eq!(plan(&single).unwrap()[0].name, "adam-seed0");
    }

    #[test]
    fn bad_specs_are_clear_errors() {
        for spec in ["3..3", "5..2", "x", "1..y"] {
            let e = parse_seeds(spec).unwrap_err().to_string();
            assert!(e.contains("--seeds"), "{e}");
        }
        for spec in ["sigma=", "sigma", "=1,2", "sigma=1,,2"] {
            let e = parse_sweep(spec).unwrap_err().to_string();
            assert!(e.contains("--sweep"), "{e}");
        }
        assert_eq!(toml_line("sigma", "0.1").unwrap(), "sigma = 0.1\n");
        assert_eq!(toml_line("scheme", "adam").unwrap(), "scheme = \"adam\"\n");
    }
}
