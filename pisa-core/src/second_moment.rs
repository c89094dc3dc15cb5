//! [`Scheme`]: SISA's second-moment recursion. A leaf module, so that both the PISA optimizer
//! ([`crate::pisa`], which re-exports it) and the fused CPU kernels can name it without the
//! kernels importing the optimizer that calls them.

use serde::{Deserialize, Serialize};

/// The second-moment recursion of SISA (spec §3.3, (4.4)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Scheme I (AdaGrad-like): v ← v + e², v̂ = v.
    #[serde(alias = "I", alias = "i")]
    Adagrad,
    /// Scheme II (RMSProp-like): v ← βv + (1 − β)e², v̂ = v.
    #[serde(alias = "II", alias = "ii")]
    Rmsprop,
    /// Scheme III (Adam-like): as II, then v̂ = v / (1 − β^k) with the global iteration counter.
    #[serde(alias = "III", alias = "iii")]
    Adam,
    /// As III with the bias correction frozen at its first value, v̂ = v / (1 − β) at every
    /// step: the federated script's counter never advances (spec §3.3, §9 Q3).
    Frozen,
}
