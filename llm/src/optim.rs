//! The optimizer configuration of a GPT-2 run: the registry's preset for the domain, the user's
//! overrides, the parameter groups and the schedule.
//!
//! Groups (printed at start-up): for NSISA, SISA, PISA and Muon, the token and position
//! embeddings (and an untied head), all biases and LayerNorm parameters go to AdamW with the
//! `[gpt2-pretrain-embed.adamw]` preset (β = (0.9, 0.95), lr 3.6e-3, no decay: the authors'
//! NSISA code); the hidden matrices `transformer.h.*` keep the chosen optimizer. For AdamW, biases
//! and LayerNorm parameters get no weight decay (nanoGPT). These groups are pre-training's: in
//! fine-tuning (`OptimSetup::groups` false, the `llm finetune` default) one optimizer trains every
//! parameter, as the authors' recipe script does. A `--config` file with its own `groups`
//! replaces these.
//!
//! Schedule: the learning rate (baselines) or σ, ρ (PISA family, `lr_linked`) follow the
//! trapezoid of modded-nanogpt and NSISA (spec §4.3) with the run's own length: `warmup` steps
//! of linear warm-up, flat, then a linear warm-down over the last `warmdown` steps. The PISA
//! family keeps the preset's `sigma_power` (2: σ = σ0/r², ρ = ρ0/r, the Nano setting; 0: σ
//! constant, the recipe fine-tuning).

use pisa_core::config::ScheduleOverride;
use pisa_core::schedule::LrSchedule;
use pisa_core::OptimizerConfig;
use runs::registry::Registry;
use serde_json::{json, Value};

use crate::LlmError;

/// Domain of the pre-training presets.
pub const PRETRAIN_DOMAIN: &str = "gpt2-pretrain";
/// Domain of the AdamW group on embeddings, biases and norms.
pub const EMBED_DOMAIN: &str = "gpt2-pretrain-embed";

/// Patterns of the parameters that never get a matrix optimizer.
pub const NON_MATRIX: [&str; 7] = [
    "transformer.wte.*",
    "transformer.wpe.*",
    "lm_head.*",
    "transformer.ln_f.*",
    "*.ln_1.*",
    "*.ln_2.*",
    "*.bias",
];

/// How to assemble the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimSetup {
    /// Registry domain of the main optimizer (`gpt2-pretrain`, `gpt2-finetune`).
    pub domain: String,
    /// Optimizer name.
    pub optimizer: String,
    /// Overrides (a `--config` file's table).
    pub overrides: toml::Table,
    /// Number of nodes m, applied to every group (`None`: the preset's).
    pub nodes: Option<usize>,
    /// Total steps of the run.
    pub steps: u64,
    /// Warm-up steps.
    pub warmup: u64,
    /// Warm-down steps (0: constant after the warm-up).
    pub warmdown: u64,
    /// Add the default groups (see the module docs).
    pub groups: bool,
}

/// The run's learning-rate multiplier: the trapezoid of modded-nanogpt and NSISA.
fn trapezoid(s: &OptimSetup) -> LrSchedule {
    LrSchedule::Trapezoid {
        warmup: s.warmup,
        total: s.steps,
        warmdown: s.warmdown,
    }
}

/// The resolved configuration as JSON, so it can be printed and written to the run folder:
/// [`build_config`], serialized.
///
/// # Errors
/// As [`build_config`].
pub fn settings(registry: &Registry, s: &OptimSetup) -> Result<Value, LlmError> {
    let cfg = build_config(registry, s)?;
    serde_json::to_value(&cfg).map_err(|e| LlmError::Config(format!("the optimizer settings: {e}")))
}

/// The configuration: the registry's layers and the overrides, m nodes on every group, the
/// default groups, and the trapezoid attached (typed, through
/// [`pisa_core::OptimizerKind::set_lr_schedule`]) to the top-level optimizer and the default
/// group; a user's own groups keep their schedules.
///
/// # Errors
/// An unknown optimizer, malformed overrides or invalid values.
pub fn build_config(registry: &Registry, s: &OptimSetup) -> Result<OptimizerConfig, LlmError> {
    let registry_err = LlmError::Registry;
    let mut top = registry
        .settings(&s.domain, &s.optimizer, &s.overrides)
        .map_err(registry_err)?;
    let name = top["name"].as_str().unwrap_or(&s.optimizer).to_string();
    let Some(obj) = top.as_object_mut() else {
        return Err(LlmError::Config("the optimizer settings are not a table".into()));
    };
    if let Some(m) = s.nodes {
        obj.insert("nodes".into(), json!(m));
    }
    let nodes = obj.get("nodes").cloned().unwrap_or(json!(1));
    let user_groups = obj
        .get("groups")
        .is_some_and(|g| g.as_array().is_some_and(|a| !a.is_empty()));
    let default_group = !user_groups && s.groups;
    if user_groups {
        if let Some(Value::Array(groups)) = obj.get_mut("groups") {
            for g in groups.iter_mut().filter_map(Value::as_object_mut) {
                g.insert("nodes".into(), nodes.clone());
            }
        }
    } else if default_group {
        let group = if name == "adamw" {
            json!({"name": "no_decay", "params": NON_MATRIX[3..], "weight_decay": 0.0})
        } else {
            let mut g = registry
                .settings(EMBED_DOMAIN, "adamw", &toml::Table::new())
                .map_err(registry_err)?;
            if let Some(g_obj) = g.as_object_mut() {
                g_obj.remove("name");
                g_obj.insert("name".into(), json!("embed_norm_bias"));
                g_obj.insert("optimizer".into(), json!("adamw"));
                g_obj.insert("params".into(), json!(NON_MATRIX));
                g_obj.insert("nodes".into(), nodes.clone());
            }
            g
        };
        obj.insert("groups".into(), json!([group]));
    }
    let mut cfg = OptimizerConfig::from_value(top)?;
    runs::registry::validate_config(&cfg, &s.domain)?;
    let lr = trapezoid(s);
    cfg.base.set_lr_schedule(&lr, ScheduleOverride::Always);
    if default_group {
        for g in &mut cfg.groups {
            g.optimizer.set_lr_schedule(&lr, ScheduleOverride::Always);
        }
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn setup(opt: &str) -> OptimSetup {
        OptimSetup {
            domain: PRETRAIN_DOMAIN.into(),
            optimizer: opt.into(),
            overrides: toml::Table::new(),
            nodes: Some(2),
            steps: 100,
            warmup: 10,
            warmdown: 30,
            groups: true,
        }
    }

    fn vars() -> Vec<(String, Tensor)> {
        let t = |s: &[i64]| Tensor::zeros(s, (Kind::Float, Device::Cpu)).set_requires_grad(true);
        vec![
            ("transformer.wte.weight".into(), t(&[10, 4])),
            ("transformer.h.0.attn.c_attn.weight".into(), t(&[4, 12])),
            ("transformer.h.0.attn.c_attn.bias".into(), t(&[12])),
            ("transformer.h.0.ln_1.weight".into(), t(&[4])),
        ]
    }

    #[test]
    fn every_optimizer_gets_its_groups_nodes_and_schedule() {
        let registry = Registry::builtin();
        for opt in ["nsisa", "muon", "adamw", "sisa"] {
            let v = settings(&registry, &setup(opt)).unwrap();
            assert_eq!(v["nodes"], 2, "{opt}");
            let g = &v["groups"][0];
            assert!(g.is_object(), "{opt}: a group");
            let cfg = OptimizerConfig::from_value(v.clone()).unwrap();
            let built = cfg.build_named(vars()).unwrap_or_else(|e| panic!("{opt}: {e}"));
            assert_eq!(built.node_weights().len(), 2, "{opt}");
            if opt == "nsisa" {
                assert_eq!(v["schedule"]["kind"], "lr_linked");
                assert_eq!(
                    v["schedule"]["sigma_power"], 2.0,
                    "the Nano warm-down from the preset"
                );
                assert_eq!(v["schedule"]["lr"]["total"], 100);
                assert_eq!(g["optimizer"], "adamw");
                assert_eq!(g["lr"], 3.6e-3);
                assert_eq!(g["betas"], json!([0.9, 0.95]));
            }
            if opt == "adamw" {
                assert_eq!(v["schedule"]["kind"], "trapezoid");
                assert_eq!(g["weight_decay"], 0.0);
            }
        }
    }
}
