//! Serde configuration of every optimizer, and building optimizers from it.
//!
//! The format (TOML shown; any serde format works) names the optimizer with `name` and lists
//! its settings beside it. Optional `[[groups]]` give named parameter groups: each lists glob
//! patterns (`*` any run of characters, `?` one character) over variable names, and settings
//! that override the top level for the matched variables (a group may even name another
//! optimizer). Variables matched by no group use the top-level settings.
//!
//! ```
//! use pisa_core::config::OptimizerConfig;
//! let cfg: OptimizerConfig = serde_json::from_str(r#"{
//!     "name": "sisa", "nodes": 4, "sigma": 0.1, "lr": 1e-3,
//!     "groups": [{ "name": "bias", "params": ["*.bias"], "weight_decay": 0.0 }]
//! }"#).unwrap();
//! assert_eq!(cfg.base.name(), "sisa");
//! assert_eq!(cfg.groups[0].params, ["*.bias"]);
//! ```

use crate::baselines::adam::AdamSettings;
use crate::baselines::driver::Baseline;
use crate::composite::Grouped;
use crate::error::{Error, Result};
use crate::nsisa::{Nsisa, NsisaConfig};
use crate::optimizer::{NodeWeights, Optimizer};
use crate::params::{trainable_named, ParamSet};
use crate::pisa::{Pisa, PisaConfig};
use crate::schedule::{LrSchedule, PenaltySchedule};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

/// Settings shared by every baseline: the node split (averaged) and the learning-rate schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineConfig<S> {
    /// Number of nodes m whose gradients are averaged each iteration (default 1).
    pub nodes: usize,
    /// Node weights α_i (default 1/m each).
    pub alpha: Option<Vec<f64>>,
    /// Learning-rate multiplier over iterations (default constant).
    pub schedule: LrSchedule,
    /// The optimizer's own settings.
    #[serde(flatten)]
    pub settings: S,
}

impl<S: Default> Default for BaselineConfig<S> {
    fn default() -> Self {
        BaselineConfig {
            nodes: 1,
            alpha: None,
            schedule: LrSchedule::Constant,
            settings: S::default(),
        }
    }
}

// Hand-written so that unknown keys are refused: serde's `flatten` would silently drop them.
impl<'de, S: serde::de::DeserializeOwned> Deserialize<'de> for BaselineConfig<S> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::<String, Value>::deserialize(d)?;
        let mut take = |key: &str| map.remove(key).filter(|v| !v.is_null());
        let nodes = match take("nodes") {
            Some(v) => serde_json::from_value(v).map_err(|e| D::Error::custom(format!("nodes: {e}")))?,
            None => 1,
        };
        let alpha = match take("alpha") {
            Some(v) => Some(serde_json::from_value(v).map_err(|e| D::Error::custom(format!("alpha: {e}")))?),
            None => None,
        };
        let schedule = match take("schedule") {
            Some(v) => serde_json::from_value(v).map_err(|e| D::Error::custom(format!("schedule: {e}")))?,
            None => LrSchedule::Constant,
        };
        let settings = serde_json::from_value(Value::Object(map)).map_err(D::Error::custom)?;
        Ok(BaselineConfig {
            nodes,
            alpha,
            schedule,
            settings,
        })
    }
}

/// One optimizer and its settings, tagged by `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum OptimizerKind {
    /// PISA with an explicit preconditioner (spec §2–§3).
    Pisa(PisaConfig),
    /// SISA: PISA with the second-moment preconditioner (spec §3.3).
    Sisa(PisaConfig),
    /// NSISA: PISA with Newton–Schulz orthogonalized momentum (spec §3.4).
    Nsisa(NsisaConfig),
    /// Adam (`torch.optim.Adam`).
    Adam(BaselineConfig<AdamSettings>),
    /// AdamW (`torch.optim.AdamW`).
    Adamw(BaselineConfig<AdamSettings>),
    // -- baselines: further variants below --
    /// SGD with momentum (`torch.optim.SGD`).
    Sgd(BaselineConfig<crate::baselines::sgd::SgdSettings>),
    /// RMSprop (`torch.optim.RMSprop`).
    Rmsprop(BaselineConfig<crate::baselines::rmsprop::RmspropSettings>),
    /// AdaBelief (the authors' `adabelief-pytorch` 0.2.1).
    Adabelief(BaselineConfig<crate::baselines::adabelief::AdaBeliefSettings>),
    /// LAMB (You et al. 2019, Algorithm 2).
    Lamb(BaselineConfig<crate::baselines::lamb::LambSettings>),
    /// Muon (`torch.optim.Muon`) on matrices, AdamW on the other parameters.
    Muon(BaselineConfig<crate::baselines::muon::MuonSettings>),
    /// RAdam (`torch.optim.RAdam`).
    Radam(BaselineConfig<crate::baselines::radam::RadamSettings>),
    /// AdaBound (the authors' `adabound` 0.0.5).
    Adabound(BaselineConfig<crate::baselines::adabound::AdaBoundSettings>),
    /// Yogi (`torch-optimizer` 0.3.0).
    Yogi(BaselineConfig<crate::baselines::yogi::YogiSettings>),
    /// Adan (the authors' code, as `timm.optim.Adan` 1.0.31).
    Adan(BaselineConfig<crate::baselines::adan::AdanSettings>),
    /// M-SVAG (the AdaBelief repository's `MSVAG`).
    Msvag(BaselineConfig<crate::baselines::msvag::MsvagSettings>),
    /// Fromage (the authors' code, as the AdaBelief repository ships it).
    Fromage(BaselineConfig<crate::baselines::fromage::FromageSettings>),
}

/// When [`OptimizerKind::set_lr_schedule`] replaces the schedule an optimizer already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleOverride {
    /// Only a constant one: a schedule the user configured is kept (RL's linear decay).
    IfConstant,
    /// Always (a run whose recipe fixes the schedule: GPT-2's trapezoid).
    Always,
}

impl OptimizerKind {
    /// Attaches the learning-rate multiplier r_t: baselines get η_t = η_0 r_t; the PISA family
    /// gets σ_t = σ_0 / r_t^p and ρ_t = ρ_0 / r_t (`PenaltySchedule::LrLinked`, spec §4.2), with
    /// the exponent p of an `LrLinked` schedule it already had, else 1. The one way every domain
    /// attaches a schedule to any optimizer.
    pub fn set_lr_schedule(&mut self, lr: &LrSchedule, when: ScheduleOverride) {
        let penalty = |s: &mut PenaltySchedule| {
            let sigma_power = match s {
                PenaltySchedule::Constant => 1.0,
                _ if when == ScheduleOverride::IfConstant => return,
                PenaltySchedule::LrLinked { sigma_power, .. } => *sigma_power,
                PenaltySchedule::Gamma { .. } => 1.0,
            };
            *s = PenaltySchedule::LrLinked {
                lr: lr.clone(),
                sigma_power,
            };
        };
        let baseline = |s: &mut LrSchedule| {
            if when == ScheduleOverride::Always || *s == LrSchedule::Constant {
                *s = lr.clone();
            }
        };
        match self {
            OptimizerKind::Pisa(c) | OptimizerKind::Sisa(c) => penalty(&mut c.schedule),
            OptimizerKind::Nsisa(c) => penalty(&mut c.schedule),
            OptimizerKind::Adam(c) | OptimizerKind::Adamw(c) => baseline(&mut c.schedule),
            OptimizerKind::Sgd(c) => baseline(&mut c.schedule),
            OptimizerKind::Rmsprop(c) => baseline(&mut c.schedule),
            OptimizerKind::Adabelief(c) => baseline(&mut c.schedule),
            OptimizerKind::Lamb(c) => baseline(&mut c.schedule),
            OptimizerKind::Muon(c) => baseline(&mut c.schedule),
            OptimizerKind::Radam(c) => baseline(&mut c.schedule),
            OptimizerKind::Adabound(c) => baseline(&mut c.schedule),
            OptimizerKind::Yogi(c) => baseline(&mut c.schedule),
            OptimizerKind::Adan(c) => baseline(&mut c.schedule),
            OptimizerKind::Msvag(c) => baseline(&mut c.schedule),
            OptimizerKind::Fromage(c) => baseline(&mut c.schedule),
        }
    }

    /// The `name` tag.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Pisa(_) => "pisa",
            OptimizerKind::Sisa(_) => "sisa",
            OptimizerKind::Nsisa(_) => "nsisa",
            OptimizerKind::Adam(_) => "adam",
            OptimizerKind::Adamw(_) => "adamw",
            OptimizerKind::Sgd(_) => "sgd",
            OptimizerKind::Rmsprop(_) => "rmsprop",
            OptimizerKind::Adabelief(_) => "adabelief",
            OptimizerKind::Lamb(_) => "lamb",
            OptimizerKind::Muon(_) => "muon",
            OptimizerKind::Radam(_) => "radam",
            OptimizerKind::Adabound(_) => "adabound",
            OptimizerKind::Yogi(_) => "yogi",
            OptimizerKind::Adan(_) => "adan",
            OptimizerKind::Msvag(_) => "msvag",
            OptimizerKind::Fromage(_) => "fromage",
        }
    }

    /// Builds the optimizer over already-flattened parameters.
    ///
    /// # Errors
    /// Any invalid setting, as a typed [`Error`].
    pub fn build(&self, params: ParamSet) -> Result<Box<dyn Optimizer>> {
        Ok(match self {
            OptimizerKind::Pisa(c) => Box::new(Pisa::new(params, c.clone(), false)?),
            OptimizerKind::Sisa(c) => Box::new(Pisa::new(params, c.clone(), true)?),
            OptimizerKind::Nsisa(c) => Box::new(Nsisa::new(params, c.clone())?),
            OptimizerKind::Adam(c) => baseline(params, c, |p, s| {
                crate::baselines::adam::AdamRule::new(p, s.clone(), false)
            })?,
            OptimizerKind::Adamw(c) => baseline(params, c, |p, s| {
                crate::baselines::adam::AdamRule::new(p, s.clone(), true)
            })?,
            OptimizerKind::Sgd(c) => baseline(params, c, |p, s| {
                crate::baselines::sgd::SgdRule::new(p, s.clone())
            })?,
            OptimizerKind::Rmsprop(c) => baseline(params, c, |p, s| {
                crate::baselines::rmsprop::RmspropRule::new(p, s.clone())
            })?,
            OptimizerKind::Adabelief(c) => baseline(params, c, |p, s| {
                crate::baselines::adabelief::AdaBeliefRule::new(p, s.clone())
            })?,
            OptimizerKind::Lamb(c) => baseline(params, c, |p, s| {
                crate::baselines::lamb::LambRule::new(p, s.clone())
            })?,
            OptimizerKind::Muon(c) => baseline(params, c, |p, s| {
                crate::baselines::muon::MuonRule::new(p, s.clone())
            })?,
            OptimizerKind::Radam(c) => baseline(params, c, |p, s| {
                crate::baselines::radam::RadamRule::new(p, s.clone())
            })?,
            OptimizerKind::Adabound(c) => baseline(params, c, |p, s| {
                crate::baselines::adabound::AdaBoundRule::new(p, s.clone())
            })?,
            OptimizerKind::Yogi(c) => baseline(params, c, |p, s| {
                crate::baselines::yogi::YogiRule::new(p, s.clone())
            })?,
            OptimizerKind::Adan(c) => baseline(params, c, |p, s| {
                crate::baselines::adan::AdanRule::new(p, s.clone())
            })?,
            OptimizerKind::Msvag(c) => baseline(params, c, |p, s| {
                crate::baselines::msvag::MsvagRule::new(p, s.clone())
            })?,
            OptimizerKind::Fromage(c) => baseline(params, c, |p, s| {
                crate::baselines::fromage::FromageRule::new(p, s.clone())
            })?,
        })
    }

    /// Sets the nodes and their weights α_i (m = `alpha.len()`): for domains whose nodes come
    /// from the data (federated clients with α_i = n_i / n), whatever the presets said.
    pub fn set_nodes(&mut self, alpha: &NodeWeights) {
        let (nodes, weights) = (alpha.len(), Some(alpha.as_slice().to_vec()));
        match self {
            OptimizerKind::Pisa(c) | OptimizerKind::Sisa(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Nsisa(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Adam(c) | OptimizerKind::Adamw(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Sgd(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Rmsprop(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Adabelief(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Lamb(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Muon(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Radam(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Adabound(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Yogi(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Adan(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Msvag(c) => (c.nodes, c.alpha) = (nodes, weights),
            OptimizerKind::Fromage(c) => (c.nodes, c.alpha) = (nodes, weights),
        }
    }

    /// Number of nodes m this configuration asks for.
    pub fn nodes(&self) -> usize {
        match self {
            OptimizerKind::Pisa(c) | OptimizerKind::Sisa(c) => c.nodes,
            OptimizerKind::Nsisa(c) => c.nodes,
            OptimizerKind::Adam(c) | OptimizerKind::Adamw(c) => c.nodes,
            OptimizerKind::Sgd(c) => c.nodes,
            OptimizerKind::Rmsprop(c) => c.nodes,
            OptimizerKind::Adabelief(c) => c.nodes,
            OptimizerKind::Lamb(c) => c.nodes,
            OptimizerKind::Muon(c) => c.nodes,
            OptimizerKind::Radam(c) => c.nodes,
            OptimizerKind::Adabound(c) => c.nodes,
            OptimizerKind::Yogi(c) => c.nodes,
            OptimizerKind::Adan(c) => c.nodes,
            OptimizerKind::Msvag(c) => c.nodes,
            OptimizerKind::Fromage(c) => c.nodes,
        }
    }
}

fn baseline<S, R: crate::baselines::driver::UpdateRule + 'static>(
    params: ParamSet,
    cfg: &BaselineConfig<S>,
    rule: impl FnOnce(&ParamSet, &S) -> Result<R>,
) -> Result<Box<dyn Optimizer>> {
    let alpha = NodeWeights::from_config(cfg.nodes, &cfg.alpha)?;
    let rule = rule(&params, &cfg.settings)?;
    Ok(Box::new(Baseline::new(
        params,
        alpha,
        cfg.schedule.clone(),
        rule,
    )?))
}

/// A named parameter group: the variables its patterns match get its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    /// The group's name (state keys and messages).
    pub name: String,
    /// Glob patterns over variable names.
    pub params: Vec<String>,
    /// The group's optimizer: the top-level settings overridden by the group's own keys.
    pub optimizer: OptimizerKind,
}

/// A complete optimizer configuration: top-level optimizer plus optional parameter groups.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerConfig {
    /// Settings for variables no group matches.
    pub base: OptimizerKind,
    /// Named parameter groups, matched in order (first match wins).
    pub groups: Vec<GroupConfig>,
}

impl OptimizerConfig {
    /// This configuration with the learning-rate multiplier `lr` attached to the top-level
    /// optimizer and every group (see [`OptimizerKind::set_lr_schedule`]).
    pub fn with_lr_schedule(&self, lr: &LrSchedule, when: ScheduleOverride) -> Self {
        let mut out = self.clone();
        out.base.set_lr_schedule(lr, when);
        for g in &mut out.groups {
            g.optimizer.set_lr_schedule(lr, when);
        }
        out
    }

    /// A configuration without groups.
    pub fn new(base: OptimizerKind) -> Self {
        OptimizerConfig { base, groups: vec![] }
    }

    /// Parses a configuration from a generic value (JSON, or TOML converted to JSON).
    ///
    /// # Errors
    /// [`Error::Config`] naming what is wrong.
    pub fn from_value(mut value: Value) -> Result<Self> {
        let obj = value
            .as_object_mut()
            .ok_or_else(|| Error::Config("expected a table of settings".into()))?;
        let groups_raw = obj.remove("groups").unwrap_or(Value::Array(vec![]));
        let top = Value::Object(obj.clone());
        let base: OptimizerKind =
            serde_json::from_value(top.clone()).map_err(|e| Error::Config(e.to_string()))?;
        let Value::Array(groups_raw) = groups_raw else {
            return Err(Error::Config("`groups` must be a list of tables".into()));
        };
        let mut groups = Vec::new();
        for (k, g) in groups_raw.into_iter().enumerate() {
            let Value::Object(mut g) = g else {
                return Err(Error::Config(format!("groups[{k}] must be a table")));
            };
            let name = match g.remove("name") {
                Some(Value::String(s)) => s,
                _ => return Err(Error::Config(format!("groups[{k}] needs a string `name`"))),
            };
            // Group names key the saved state: they must be unique and not collide with the
            // catch-all part or the state's own keys.
            if ["default", "optimizer"].contains(&name.as_str()) || name.contains('/') {
                return Err(Error::Config(format!(
                    "group name `{name}` is reserved or contains '/'; choose another"
                )));
            }
            if groups.iter().any(|other: &GroupConfig| other.name == name) {
                return Err(Error::Config(format!("two groups are named `{name}`")));
            }
            let params: Vec<String> = match g.remove("params") {
                Some(p) => serde_json::from_value(p)
                    .map_err(|e| Error::Config(format!("groups[{k}] ({name}).params: {e}")))?,
                None => {
                    return Err(Error::Config(format!(
                        "group `{name}` needs `params` (a list of patterns)"
                    )))
                }
            };
            // A group naming another optimizer starts from that optimizer's defaults.
            let mut merged = match g.get("optimizer") {
                Some(_) => serde_json::Map::new(),
                None => top.as_object().cloned().unwrap_or_default(),
            };
            if let Some(other) = g.remove("optimizer") {
                merged.insert("name".into(), other);
            }
            merged.extend(g);
            let optimizer: OptimizerKind = serde_json::from_value(Value::Object(merged))
                .map_err(|e| Error::Config(format!("group `{name}`: {e}")))?;
            groups.push(GroupConfig {
                name,
                params,
                optimizer,
            });
        }
        Ok(OptimizerConfig { base, groups })
    }

    /// Builds the optimizer over all trainable variables of `vs`.
    ///
    /// # Errors
    /// Invalid settings, a group matching nothing, or mixed dtypes in a group.
    pub fn build(&self, vs: &tch::nn::VarStore) -> Result<Box<dyn Optimizer>> {
        self.build_named(trainable_named(vs))
    }

    /// Builds the optimizer over the given named variables.
    ///
    /// # Errors
    /// As [`Self::build`].
    pub fn build_named(&self, vars: Vec<(String, Tensor)>) -> Result<Box<dyn Optimizer>> {
        if vars.is_empty() {
            return Err(Error::NoParameters);
        }
        if self.groups.is_empty() {
            return self.base.build(ParamSet::new(vars)?);
        }
        let known: Vec<String> = vars.iter().take(8).map(|(n, _)| n.clone()).collect();
        let mut buckets: Vec<Vec<(String, Tensor)>> = (0..=self.groups.len()).map(|_| Vec::new()).collect();
        for (name, var) in vars {
            let slot = self
                .groups
                .iter()
                .position(|g| g.params.iter().any(|p| glob_match(p, &name)))
                .unwrap_or(self.groups.len());
            buckets[slot].push((name, var));
        }
        let mut parts = Vec::new();
        for (group, vars) in self.groups.iter().zip(buckets.iter_mut()) {
            if vars.is_empty() {
                return Err(Error::EmptyGroup {
                    group: group.name.clone(),
                    patterns: group.params.clone(),
                    known,
                });
            }
            parts.push((
                group.name.clone(),
                group.optimizer.build(ParamSet::new(std::mem::take(vars))?)?,
            ));
        }
        let rest = buckets.pop().unwrap_or_default();
        if !rest.is_empty() {
            parts.push(("default".to_string(), self.base.build(ParamSet::new(rest)?)?));
        }
        Ok(Box::new(Grouped::new(parts)?))
    }
}

impl<'de> Deserialize<'de> for OptimizerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        OptimizerConfig::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl Serialize for OptimizerConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut top = serde_json::to_value(&self.base).map_err(serde::ser::Error::custom)?;
        if !self.groups.is_empty() {
            let groups: Vec<Value> = self
                .groups
                .iter()
                .map(|g| {
                    let mut v = serde_json::to_value(&g.optimizer).unwrap_or(Value::Null);
                    if let Value::Object(m) = &mut v {
                        let opt = m.remove("name");
                        m.insert("optimizer".into(), opt.unwrap_or(Value::Null));
                        m.insert("name".into(), Value::String(g.name.clone()));
                        m.insert("params".into(), serde_json::json!(g.params));
                    }
                    v
                })
                .collect();
            if let Value::Object(m) = &mut top {
                m.insert("groups".into(), Value::Array(groups));
            }
        }
        strip_nulls(&mut top);
        top.serialize(s)
    }
}

/// Removes `null` entries (unset options) so that formats without a null, like TOML, can hold
/// the configuration; reading it back gives the same defaults.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Glob matching with `*` (any run, possibly empty) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_attaches_to_baselines_and_links_sigma_rho_of_the_pisa_family() {
        let parse = |v: Value| OptimizerConfig::from_value(v).unwrap();
        let lr = LrSchedule::Linear { total: 10 };
        // Baselines: η_t = η_0 r_t; a configured schedule survives IfConstant, not Always.
        let adam = parse(serde_json::json!({"name": "adam"}));
        let OptimizerKind::Adam(c) = adam.with_lr_schedule(&lr, ScheduleOverride::IfConstant).base else {
            panic!()
        };
        assert_eq!(c.schedule, lr);
        let step = LrSchedule::Step {
            step_size: 3,
            gamma: 0.5,
        };
        let mut kind = parse(
            serde_json::json!({"name": "sgd", "schedule": {"kind": "step", "step_size": 3, "gamma": 0.5}}),
        )
        .base;
        kind.set_lr_schedule(&lr, ScheduleOverride::IfConstant);
        let OptimizerKind::Sgd(c) = &kind else { panic!() };
        assert_eq!(c.schedule, step, "the user's schedule is kept");
        kind.set_lr_schedule(&lr, ScheduleOverride::Always);
        let OptimizerKind::Sgd(c) = &kind else { panic!() };
        assert_eq!(c.schedule, lr);
        // PISA family: σ_t = σ_0 / r_t^p, ρ_t = ρ_0 / r_t, keeping a configured p.
        let mut nsisa = parse(serde_json::json!({"name": "nsisa", "schedule": {"kind": "lr_linked", "sigma_power": 2.0, "lr": {"kind": "constant"}}})).base;
        nsisa.set_lr_schedule(&lr, ScheduleOverride::Always);
        let OptimizerKind::Nsisa(c) = &nsisa else { panic!() };
        assert_eq!(
            c.schedule,
            PenaltySchedule::LrLinked {
                lr: lr.clone(),
                sigma_power: 2.0
            }
        );
        let sisa =
            parse(serde_json::json!({"name": "sisa"})).with_lr_schedule(&lr, ScheduleOverride::IfConstant);
        let OptimizerKind::Sisa(c) = &sisa.base else {
            panic!()
        };
        // r_5 = 1/2: σ and ρ double.
        assert_eq!(c.schedule.at(5, 1.0, 3.0).unwrap(), (2.0, 6.0));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.bias", "layer1.bias"));
        assert!(!glob_match("*.bias", "layer1.weight"));
        assert!(glob_match("h.?.attn*", "h.3.attn.c_proj.weight"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a", ""));
    }

    #[test]
    fn groups_override_the_top_level_and_may_switch_optimizer() {
        let cfg = OptimizerConfig::from_value(serde_json::json!({
            "name": "sisa", "nodes": 2, "sigma": 0.5, "lr": 0.01,
            "groups": [
                { "name": "slow", "params": ["a*"], "sigma": 2.0 },
                { "name": "head", "params": ["head"], "optimizer": "adamw", "nodes": 2, "lr": 3.6e-3 }
            ]
        }))
        .unwrap();
        let OptimizerKind::Sisa(slow) = &cfg.groups[0].optimizer else {
            panic!("not sisa")
        };
        assert_eq!((slow.sigma, slow.nodes), (2.0, 2));
        assert_eq!(cfg.groups[1].optimizer.name(), "adamw");
        // Round trip through serde, JSON and TOML (which has no null for unset options).
        let back: OptimizerConfig = serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        let text = toml::to_string(&cfg).unwrap();
        let back: OptimizerConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn unknown_keys_and_empty_groups_are_errors() {
        let err = OptimizerConfig::from_value(serde_json::json!({"name": "adam", "lrr": 1.0})).unwrap_err();
        assert!(err.to_string().contains("lrr"), "{err}");
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let _ = vs.root().var("w", &[3], tch::nn::Init::Const(0.0));
        let cfg = OptimizerConfig::from_value(serde_json::json!({
            "name": "adam", "groups": [{ "name": "none", "params": ["nothing*"] }]
        }))
        .unwrap();
        assert!(matches!(cfg.build(&vs), Err(Error::EmptyGroup { .. })));
    }
}
