//! The plan of an experiment, shared by every domain: `--compare a,b,c` (optimizers), `--seeds
//! N` or `--seeds a..b`, and `--sweep key=v1,v2,...` (one optimizer setting) expand into runs
//! named `<optimizer>[-<key><value>]-seed<k>` ([`plan`]), and a run folder's `summary.json`
//! says whether a run is finished, stopped on a divergence or to be (re)started ([`ended`]).
//!
//! Why a crate of its own (no torch): `cargo xtask` runs each planned run as a process of a domain binary
//! (`xtask/src/experiment.rs`), the `rl` binary runs them in one process; both name, sweep and
//! skip runs by these rules, so a comparison reads the same folders whichever ran them.
//!
//! ```
//! use run_plan::{plan, Request};
//! use std::path::Path;
//!
//! let compare = ["adam".to_string(), "sisa".to_string()];
//! let request = Request { compare: &compare, seeds: Some("2"), ..Request::default() };
//! let runs = plan(&request, Path::new("runs/mnist")).unwrap();
//! let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
//! assert_eq!(names, ["adam-seed0", "adam-seed1", "sisa-seed0", "sisa-seed1"]);
//! ```

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One run of an experiment: what the experiment runner passes to the domain binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    /// The run folder's name: `<optimizer>[-<key><value>]-seed<k>`.
    pub name: String,
    /// The optimizer (`--optimizer`).
    pub optimizer: String,
    /// The seed (`--seed`).
    pub seed: u64,
    /// The swept setting `(key, value)`, if any: what the `config` file sets.
    pub setting: Option<(String, String)>,
    /// The `--config` file: the sweep's override file
    /// `<domain dir>/sweep-<key>-<value>.toml` (written before the run starts, [`override_toml`]), else the base config.
    pub config: Option<PathBuf>,
}

impl PlannedRun {
    /// The comparison group of the run: its name without `-seed<k>`.
    pub fn group(&self) -> &str {
        self.name
            .rsplit_once("-seed")
            .map_or(self.name.as_str(), |(group, _)| group)
    }
}

/// What the user asked for: the domain command's `--optimizer`, `--compare`, `--seeds` and
/// `--sweep`, and the `--config` file given after `--` (the base the sweep overrides).
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
    /// A `--config` TOML file the runs start from.
    pub config: Option<&'a Path>,
}

impl Request<'_> {
    /// Whether this is an experiment (several runs compared) rather than one plain run.
    pub fn is_experiment(&self) -> bool {
        !self.compare.is_empty() || self.seeds.is_some() || self.sweep.is_some()
    }
}

/// The runs of `request` in the domain folder `domain_dir`, optimizer-major, then setting (in
/// the order given), then seed.
///
/// # Errors
/// A malformed `--seeds` or `--sweep`, an empty or repeated optimizer, or two swept values
/// that name the same run.
pub fn plan(request: &Request<'_>, domain_dir: &Path) -> Result<Vec<PlannedRun>> {
    let optimizers: Vec<String> = match request.compare {
        [] => vec![request.optimizer.to_string()],
        list => list.iter().map(|o| o.trim().to_string()).collect(),
    };
    if optimizers.iter().any(String::is_empty) {
        bail!("--compare: empty optimizer name (expected e.g. --compare adam,sisa)");
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
    let mut runs: Vec<PlannedRun> = Vec::new();
    for optimizer in &optimizers {
        for setting in &settings {
            let (group, config) = match setting {
                Some((key, value)) => (
                    format!("{optimizer}-{key}{}", file_part(value)),
                    Some(domain_dir.join(sweep_file_name(key, value))),
                ),
                None => (optimizer.clone(), request.config.map(Path::to_path_buf)),
            };
            for &seed in &seeds {
                let name = format!("{group}-seed{seed}");
                if runs.iter().any(|r| r.name == name) {
                    bail!("two runs would be named {name}: repeated --compare optimizer or --sweep value");
                }
                runs.push(PlannedRun {
                    name,
                    optimizer: optimizer.clone(),
                    seed,
                    setting: setting.clone(),
                    config: config.clone(),
                });
            }
        }
    }
    Ok(runs)
}

/// `N` → 0..N, `a..b` → a..b (b exclusive); never empty.
///
/// # Errors
/// Anything else, or an empty range (`3..3`, `0`).
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
        bail!("--seeds {spec}: empty range (a..b runs seeds a to b - 1)");
    }
    Ok((a..b).collect())
}

/// `key=v1,v2,...` → (key, values); the key is an optimizer setting (any key of its TOML
/// configuration), each value a TOML value.
///
/// # Errors
/// A missing key or value, a key that is not a bare TOML key, or a value that is not TOML.
pub fn parse_sweep(spec: &str) -> Result<(String, Vec<String>)> {
    let bad = || format!("--sweep {spec}: expected key=v1,v2,..., e.g. sigma=0.01,0.1,1");
    let Some((key, values)) = spec.split_once('=') else {
        bail!(bad());
    };
    let key = key.trim();
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if key.is_empty() || values.iter().any(String::is_empty) {
        bail!(bad());
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!("--sweep {spec}: `{key}` is not a setting name (letters, digits, _ and -)");
    }
    for v in &values {
        toml_value(key, v)?;
    }
    Ok((key.to_string(), values))
}

/// `value` as a TOML value: parsed as TOML, else (a bare word) as a string.
pub fn toml_value(key: &str, value: &str) -> Result<toml::Value> {
    if let Ok(mut table) = format!("v = {value}").parse::<toml::Table>() {
        if let Some(v) = table.remove("v") {
            return Ok(v);
        }
    }
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Ok(toml::Value::String(value.to_string()));
    }
    bail!("--sweep {key}={value}: not a TOML value (quote strings: {key}='\"text\"')")
}

/// The override file of a swept value: `base` (a `--config` file's table, or empty) with
/// `key = value`.
pub fn override_toml(base: &toml::Table, key: &str, value: &str) -> Result<String> {
    let mut table = base.clone();
    table.insert(key.to_string(), toml_value(key, value)?);
    Ok(toml::to_string(&table)?)
}

/// `value` as part of a file or run name: letters, digits, `.`, `+`, `-` and `_` kept, quotes
/// dropped, anything else `_`.
pub fn file_part(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '"' | '\''))
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".+-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `sweep-<key>-<value>.toml`.
pub fn sweep_file_name(key: &str, value: &str) -> String {
    format!("sweep-{key}-{}.toml", file_part(value))
}

/// How a run folder's `summary.json` says the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `"status": "finished"`: skipped.
    Finished,
    /// `"status": "stopped: non-finite loss"` or `"stopped: diverged"`: an outcome of the
    /// comparison, skipped too.
    Diverged,
    /// No summary, a run paused on a step budget, or one interrupted by Ctrl-C: (re)started.
    No,
}

/// How the run in `run` ended, from its `summary.json`.
pub fn ended(run: &Path) -> Ended {
    #[derive(serde::Deserialize)]
    struct Status {
        status: String,
    }
    let status = std::fs::read_to_string(run.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Status>(&t).ok())
        .map(|s| s.status);
    match status.as_deref() {
        Some("finished") => Ended::Finished,
        Some("stopped: non-finite loss" | "stopped: diverged") => Ended::Diverged,
        _ => Ended::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(runs: &[PlannedRun]) -> Vec<&str> {
        runs.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn requests_expand_to_named_runs() {
        let dir = Path::new("/r/runs/mnist");
        let compare = vec!["adam".to_string(), "sisa".to_string()];
        let r = Request {
            optimizer: "sisa",
            compare: &compare,
            seeds: Some("2"),
            ..Request::default()
        };
        let runs = plan(&r, dir).unwrap();
        assert_eq!(
            names(&runs),
            ["adam-seed0", "adam-seed1", "sisa-seed0", "sisa-seed1"]
        );
        assert_eq!(
            (runs[3].optimizer.as_str(), runs[3].seed, &runs[3].config),
            ("sisa", 1, &None)
        );
        assert_eq!(runs[0].group(), "adam");

        let r = Request {
            optimizer: "sisa",
            seeds: Some("3..5"),
            sweep: Some("sigma=0.01,0.1"),
            ..Request::default()
        };
        let runs = plan(&r, dir).unwrap();
        assert_eq!(
            names(&runs),
            [
                "sisa-sigma0.01-seed3",
                "sisa-sigma0.01-seed4",
                "sisa-sigma0.1-seed3",
                "sisa-sigma0.1-seed4"
            ]
        );
        assert_eq!(runs[2].setting, Some(("sigma".into(), "0.1".into())));
        assert_eq!(runs[2].config, Some(dir.join("sweep-sigma-0.1.toml")));
        assert_eq!(runs[2].group(), "sisa-sigma0.1");

        // Optimizer-major, then setting, then seed; a base config goes to unswept runs.
        let compare = vec!["adam".to_string(), "nsisa".to_string()];
        let r = Request {
            optimizer: "sisa",
            compare: &compare,
            seeds: Some("1"),
            sweep: Some("lr=1e-3,1e-2"),
            config: None,
        };
        assert_eq!(
            names(&plan(&r, dir).unwrap()),
            [
                "adam-lr1e-3-seed0",
                "adam-lr1e-2-seed0",
                "nsisa-lr1e-3-seed0",
                "nsisa-lr1e-2-seed0"
            ]
        );
        let base = Path::new("/r/my.toml");
        let single = Request {
            optimizer: "adam",
            config: Some(base),
            ..Request::default()
        };
        assert!(!single.is_experiment());
        let runs = plan(&single, dir).unwrap();
        assert_eq!(names(&runs), ["adam-seed0"]);
        assert_eq!(runs[0].config.as_deref(), Some(base));
    }

    #[test]
    fn bad_specs_are_clear_errors() {
        for spec in ["3..3", "5..2", "0", "x", "1..y", "-1", ""] {
            let e = parse_seeds(spec).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--seeds {spec}:")), "{e}");
        }
        for spec in ["sigma=", "sigma", "=1,2", "sigma=1,,2", "a b=1", "sigma=[1"] {
            let e = parse_sweep(spec).unwrap_err().to_string();
            assert!(e.contains("--sweep"), "{e}");
        }
        let dir = Path::new("runs/x");
        let repeated = vec!["adam".to_string(), "adam".to_string()];
        let r = Request {
            compare: &repeated,
            ..Request::default()
        };
        assert!(plan(&r, dir).unwrap_err().to_string().contains("adam-seed0"));
        let empty = vec!["adam".to_string(), " ".to_string()];
        let r = Request {
            compare: &empty,
            ..Request::default()
        };
        assert!(plan(&r, dir).unwrap_err().to_string().contains("--compare"));
        let r = Request {
            optimizer: "sisa",
            sweep: Some("sigma=0.1,0.1"),
            ..Request::default()
        };
        assert!(plan(&r, dir).is_err());
    }

    #[test]
    fn sweep_files_are_toml_on_top_of_the_base_config() {
        let none = toml::Table::new();
        assert_eq!(override_toml(&none, "sigma", "0.1").unwrap(), "sigma = 0.1\n");
        assert_eq!(
            override_toml(&none, "scheme", "adam").unwrap(),
            "scheme = \"adam\"\n"
        );
        assert_eq!(
            override_toml(&none, "nesterov", "true").unwrap(),
            "nesterov = true\n"
        );
        let base: toml::Table = "sigma = 1.0\nrho = 200.0\n".parse().unwrap();
        let merged: toml::Table = override_toml(&base, "sigma", "0.5").unwrap().parse().unwrap();
        assert_eq!(merged["sigma"].as_float(), Some(0.5));
        assert_eq!(merged["rho"].as_float(), Some(200.0));
        assert_eq!(sweep_file_name("scheme", "\"a b\""), "sweep-scheme-a_b.toml");
    }

    #[test]
    fn summaries_decide_what_runs_again() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        assert_eq!(ended(run), Ended::No);
        for (status, expected) in [
            ("finished", Ended::Finished),
            ("stopped: non-finite loss", Ended::Diverged),
            ("stopped: diverged", Ended::Diverged),
            ("interrupted", Ended::No),
            ("stopped", Ended::No),
        ] {
            let json = format!(r#"{{"status": "{status}", "steps": 3}}"#);
            std::fs::write(run.join("summary.json"), json).unwrap();
            assert_eq!(ended(run), expected, "{status}");
        }
    }
}
