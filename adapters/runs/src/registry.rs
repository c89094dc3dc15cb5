//! The optimizer registry: any pisa-core optimizer by name, with per-domain defaults.
//!
//! Every domain switches optimizers with one flag (`--optimizer sisa`) or a TOML file. The
//! settings are resolved in three layers, later ones winning key by key:
//! 1. `[default.<optimizer>]` of the embedded presets (`adapters/runs/presets/optimizers.toml`);
//! 2. `[<domain>.<optimizer>]` of the same file: the paper's Table A.1 and the spec; a domain
//!    named `family/member` (e.g. `vision/vgg11`) takes `[family.<optimizer>]` first, then
//!    `["family/member".<optimizer>]`, so settings shared by a family are written once;
//! 3. the user's overrides (a TOML file and/or flags), which may also name the optimizer.
//!
//! ```
//! use runs::registry::Registry;
//! let registry = Registry::builtin();
//! let cfg = registry.resolve("wgan-gp", "sisa", &toml::Table::new()).unwrap();
//! assert_eq!(cfg.base.nodes(), 2); // Table A.1: WGAN-GP runs SISA on m = 2 nodes
//! ```

use pisa_core::{NodeWeights, OptimizerConfig, OptimizerKind};
use serde_json::{Map, Value};

use crate::cli::UsageError;
use std::path::Path;

/// Every optimizer name the registry knows.
pub const OPTIMIZERS: [&str; 16] = [
    "sisa",
    "nsisa",
    "pisa",
    "adam",
    "adamw",
    "rmsprop",
    "adabelief",
    "sgd",
    "lamb",
    "muon",
    "radam",
    "adabound",
    "yogi",
    "adan",
    "msvag",
    "fromage",
];

const BUILTIN: &str = include_str!("../presets/optimizers.toml");

/// Why a configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The optimizer name is not one of [`OPTIMIZERS`].
    #[error("unknown optimizer `{name}`; known: {}", OPTIMIZERS.join(", "))]
    UnknownOptimizer {
        /// The name given.
        name: String,
    },
    /// A configuration file could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The merged settings are not a valid optimizer configuration (an unknown key, a value out
    /// of range such as `nodes = 0`): bad input, so binaries exit with code 2.
    #[error("optimizer `{name}` for domain `{domain}`")]
    Invalid {
        /// The optimizer.
        name: String,
        /// The domain.
        domain: String,
        /// The key at fault as `optimizer.<key>` (`optimizer` when pisa-core names none) and
        /// pisa-core's message.
        source: UsageError,
    },
}

impl RegistryError {
    /// An [`RegistryError::Invalid`] for pisa-core's `error` about `name` in `domain`.
    fn invalid(name: &str, domain: &str, error: &pisa_core::Error) -> Self {
        let key = match error {
            pisa_core::Error::InvalidSetting { name, .. } => format!("optimizer.{name}"),
            pisa_core::Error::InvalidNodeWeights { .. } => "optimizer.alpha".to_string(),
            _ => "optimizer".to_string(),
        };
        RegistryError::Invalid {
            name: name.into(),
            domain: domain.into(),
            source: UsageError::new(key, error.to_string()),
        }
    }
}

/// Per-domain optimizer defaults.
#[derive(Debug, Clone)]
pub struct Registry {
    presets: Map<String, Value>,
}

impl Registry {
    /// The presets shipped with pisa-rs.
    pub fn builtin() -> Self {
        Self::from_toml(BUILTIN).expect("the embedded presets parse (checked by a test)")
    }

    /// Presets from TOML text in the same layout as the embedded file.
    ///
    /// # Errors
    /// [`RegistryError::File`] for malformed TOML.
    pub fn from_toml(text: &str) -> Result<Self, RegistryError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| RegistryError::File {
            path: "presets".into(),
            message: e.to_string(),
        })?;
        match to_json(toml::Value::Table(table)) {
            Value::Object(presets) => Ok(Registry { presets }),
            _ => unreachable!("a TOML table converts to a JSON object"),
        }
    }

    /// The domains that have presets of their own.
    pub fn domains(&self) -> Vec<&str> {
        self.presets
            .keys()
            .map(String::as_str)
            .filter(|d| *d != "default")
            .collect()
    }

    /// The settings for `optimizer` in `domain` with `overrides` applied, as JSON (with `name`).
    ///
    /// The overrides' own `name`, when present, replaces `optimizer`. A layer that sets `rho`
    /// drops an inherited `lr` and vice versa.
    ///
    /// # Errors
    /// [`RegistryError::UnknownOptimizer`].
    pub fn settings(
        &self,
        domain: &str,
        optimizer: &str,
        overrides: &toml::Table,
    ) -> Result<Value, RegistryError> {
        let name = match overrides.get("name") {
            Some(toml::Value::String(n)) => n.as_str(),
            _ => optimizer,
        };
        if !OPTIMIZERS.contains(&name) {
            return Err(RegistryError::UnknownOptimizer { name: name.into() });
        }
        let mut merged = Map::new();
        merged.insert("name".into(), Value::String(name.into()));
        for layer in std::iter::once("default").chain(layers(domain)) {
            if let Some(Value::Object(table)) = self.presets.get(layer).and_then(|d| d.get(name)) {
                overlay(&mut merged, table.clone());
            }
        }
        if let Value::Object(user) = to_json(toml::Value::Table(overrides.clone())) {
            overlay(&mut merged, user);
        }
        Ok(Value::Object(merged))
    }

    /// The optimizer configuration for `optimizer` in `domain` with `overrides` applied, every
    /// setting validated (of the main optimizer and of each group), so that a domain never
    /// divides by `nodes = 0` or trains with a negative learning rate before building it.
    ///
    /// # Errors
    /// [`RegistryError::UnknownOptimizer`] or [`RegistryError::Invalid`] (unknown keys, invalid
    /// values).
    pub fn resolve(
        &self,
        domain: &str,
        optimizer: &str,
        overrides: &toml::Table,
    ) -> Result<OptimizerConfig, RegistryError> {
        let settings = self.settings(domain, optimizer, overrides)?;
        let name = settings["name"].as_str().unwrap_or(optimizer).to_string();
        let cfg =
            OptimizerConfig::from_value(settings).map_err(|e| RegistryError::invalid(&name, domain, &e))?;
        validate_config(&cfg, domain)?;
        Ok(cfg)
    }

    /// As [`Self::resolve`], with the overrides read from a TOML file.
    ///
    /// # Errors
    /// [`RegistryError::File`] when the file is missing or malformed, else as [`Self::resolve`].
    pub fn resolve_file(
        &self,
        domain: &str,
        optimizer: &str,
        path: &Path,
    ) -> Result<OptimizerConfig, RegistryError> {
        let file_err = |message: String| RegistryError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_err(e.to_string()))?;
        self.resolve(domain, optimizer, &table)
    }
}

/// The preset layers of `domain` after `default`, most general first: `a/b/c` gives `a`, `a/b`,
/// `a/b/c`; a plain name gives itself.
fn layers(domain: &str) -> impl Iterator<Item = &str> {
    domain
        .match_indices('/')
        .map(|(i, _)| &domain[..i])
        .chain(std::iter::once(domain))
}

/// Checks every setting of `cfg` (the main optimizer's and each group's) the way building it
/// would, without parameters: for configurations a domain assembles itself from
/// [`Registry::settings`]; [`Registry::resolve`] calls it.
///
/// # Errors
/// [`RegistryError::Invalid`] naming the key (`optimizer.nodes`, ...), `domain` for the message.
pub fn validate_config(cfg: &OptimizerConfig, domain: &str) -> Result<(), RegistryError> {
    let name = cfg.base.name();
    validate(&cfg.base).map_err(|e| RegistryError::invalid(name, domain, &e))?;
    for group in &cfg.groups {
        validate(&group.optimizer).map_err(|e| RegistryError::invalid(name, domain, &e))?;
    }
    Ok(())
}

/// Checks every setting of `kind` the way building it would, without parameters.
fn validate(kind: &OptimizerKind) -> pisa_core::Result<()> {
    /// A baseline's node count, node weights and schedule.
    fn nodes_and_schedule<S>(c: &pisa_core::config::BaselineConfig<S>) -> pisa_core::Result<()> {
        if c.nodes == 0 {
            return Err(pisa_core::Error::InvalidSetting {
                name: "nodes",
                value: "0".into(),
                reason: "m must be >= 1".into(),
            });
        }
        NodeWeights::from_config(c.nodes, &c.alpha)?;
        c.schedule.validate()
    }
    match kind {
        OptimizerKind::Pisa(c) => c.validate(false),
        OptimizerKind::Sisa(c) => c.validate(true),
        OptimizerKind::Nsisa(c) => c.validate(),
        OptimizerKind::Adam(c) | OptimizerKind::Adamw(c) => {
            nodes_and_schedule(c).and_then(|()| c.settings.validate())
        }
        OptimizerKind::Sgd(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Rmsprop(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Adabelief(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Lamb(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Muon(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Radam(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Adabound(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Yogi(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Adan(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Msvag(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
        OptimizerKind::Fromage(c) => nodes_and_schedule(c).and_then(|()| c.settings.validate()),
    }
}

/// Keys that give the same quantity two ways: a layer that sets one drops the other
/// (ρ = 1/lr − σ for the PISA family).
const EXCLUSIVE: [(&str, &str); 1] = [("rho", "lr")];

/// Puts `layer`'s keys over `base`'s.
fn overlay(base: &mut Map<String, Value>, layer: Map<String, Value>) {
    for (a, b) in EXCLUSIVE {
        if layer.contains_key(a) && !layer.contains_key(b) {
            base.remove(b);
        }
        if layer.contains_key(b) && !layer.contains_key(a) {
            base.remove(a);
        }
    }
    base.extend(layer);
}

/// TOML → JSON, keeping integers as integers and floats as floats.
fn to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pisa_core::pisa::{PisaConfig, Preconditioner, Scheme};
    use pisa_core::OptimizerKind;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn every_preset_of_every_domain_builds() {
        let registry = Registry::builtin();
        let vars = || {
            vec![(
                "w".to_string(),
                Tensor::zeros([4, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true),
            )]
        };
        for domain in registry.domains().into_iter().chain(["default"]) {
            for name in OPTIMIZERS {
                let cfg = registry.resolve(domain, name, &toml::Table::new()).unwrap();
                cfg.build_named(vars())
                    .unwrap_or_else(|e| panic!("{domain}/{name}: {e}"));
            }
        }
    }

    #[test]
    fn a_family_member_inherits_the_family() {
        assert_eq!(layers("wgan-gp").collect::<Vec<_>>(), ["wgan-gp"]);
        assert_eq!(layers("a/b/c").collect::<Vec<_>>(), ["a", "a/b", "a/b/c"]);
        let registry = Registry::from_toml(
            "[default.sgd]\nlr = 0.01\nmomentum = 0.9\n[v.sgd]\nlr = 0.1\nweight_decay = 5e-4\n\
             [\"v/m\".sgd]\nweight_decay = 1e-3\n",
        )
        .unwrap();
        let v = registry.settings("v/m", "sgd", &toml::Table::new()).unwrap();
        assert_eq!(
            (
                v["lr"].as_f64(),
                v["momentum"].as_f64(),
                v["weight_decay"].as_f64()
            ),
            (Some(0.1), Some(0.9), Some(1e-3))
        );
        let other = registry.settings("v/other", "sgd", &toml::Table::new()).unwrap();
        assert_eq!(
            other["weight_decay"].as_f64(),
            Some(5e-4),
            "an unlisted member takes the family's"
        );
    }

    #[test]
    fn layers_override_key_by_key() {
        let registry = Registry::builtin();
        let overrides: toml::Table = "sigma = 0.2\nnodes = 8".parse().unwrap();
        let v = registry.settings("wgan", "sisa", &overrides).unwrap();
        assert_eq!((v["sigma"].as_f64(), v["nodes"].as_i64()), (Some(0.2), Some(8)));
        assert_eq!(
            (v["rho"].as_f64(), v["lambda"].as_f64()),
            (Some(1e3), Some(5e-5)),
            "from the domain"
        );
        assert!(
            v.get("lr").is_none(),
            "the domain's rho replaces the default's lr"
        );
        let lr: toml::Table = "lr = 0.01".parse().unwrap();
        assert!(registry
            .settings("wgan", "sisa", &lr)
            .unwrap()
            .get("rho")
            .is_none());
        let switched: toml::Table = "name = \"adamw\"".parse().unwrap();
        assert_eq!(
            registry.settings("wgan", "sisa", &switched).unwrap()["name"],
            "adamw"
        );
        assert!(matches!(
            registry.resolve("wgan", "sisaa", &toml::Table::new()),
            Err(RegistryError::UnknownOptimizer { .. })
        ));
        let bad: toml::Table = "sigmaa = 1.0".parse().unwrap();
        let err = registry.resolve("wgan", "sisa", &bad).unwrap_err();
        let RegistryError::Invalid { source, .. } = &err else {
            panic!("{err}")
        };
        assert!(source.to_string().contains("sigmaa"), "{source}");
    }

    /// Out-of-range values are refused when the settings are resolved, naming the key, for the
    /// PISA family and the baselines alike, in the main optimizer and in a group.
    #[test]
    fn invalid_values_are_usage_errors_naming_the_key() {
        let registry = Registry::builtin();
        let cases = [
            ("sisa", "nodes = 0", "optimizer.nodes"),
            ("nsisa", "nodes = 0", "optimizer.nodes"),
            ("adam", "nodes = 0", "optimizer.nodes"),
            ("adam", "nodes = 2\nalpha = [1.0]", "optimizer.alpha"),
            ("sisa", "lr = -1.0", "optimizer.lr"),
            ("adamw", "lr = -1.0", "optimizer.lr"),
            ("sgd", "lr = -1.0", "optimizer.lr"),
            ("sisa", "sigma = 0.0", "optimizer.sigma"),
            (
                "adam",
                "[[groups]]\nname = \"g\"\nparams = [\"*\"]\noptimizer = \"adam\"\nlr = -1.0",
                "optimizer.lr",
            ),
        ];
        for (name, text, key) in cases {
            let overrides: toml::Table = text.parse().unwrap();
            let err = registry.resolve("default", name, &overrides).unwrap_err();
            let usage = std::error::Error::source(&err)
                .and_then(|s| s.downcast_ref::<UsageError>())
                .unwrap_or_else(|| panic!("{name} {text}: {err} has no usage error"));
            assert_eq!(usage.flag, key, "{name} {text}: {usage}");
        }
        // Through anyhow, as a binary sees it: exit code 2.
        let err = registry
            .resolve("default", "sisa", &"nodes = 0".parse().unwrap())
            .unwrap_err();
        assert_eq!(crate::cli::exit(Err(err.into())), std::process::ExitCode::from(2));
    }

    /// A resolved configuration behaves exactly like the optimizer built directly.
    #[test]
    fn registry_round_trip_equals_direct_construction() {
        let registry = Registry::builtin();
        let from_registry = registry
            .resolve("gpt2-finetune", "sisa", &toml::Table::new())
            .unwrap();
        let direct = OptimizerConfig::new(OptimizerKind::Sisa(PisaConfig {
            nodes: 4,
            sigma: 0.05,
            lr: Some(2e-5),
            preconditioner: Preconditioner::SecondMoment {
                scheme: Scheme::Rmsprop,
                beta: 0.999,
            },
            ..PisaConfig::default()
        }));
        let run = |cfg: &OptimizerConfig| {
            let w = Tensor::from_slice(&[0.5f32, -1.0, 2.0]).set_requires_grad(true);
            let mut opt = cfg.build_named(vec![("w".into(), w.shallow_clone())]).unwrap();
            for _ in 0..5 {
                opt.step(&mut |i| (&w * (i as f64 + 1.0)).square().sum(Kind::Float))
                    .unwrap();
            }
            Vec::<f32>::try_from(&w).unwrap()
        };
        assert_eq!(run(&from_registry), run(&direct));
    }
}
