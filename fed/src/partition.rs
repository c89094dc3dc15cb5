//! How a training set is split over federated clients: NIID-Bench's partitions (Li, Diao, Chen
//! and He 2022, `partition_data`), seeded, as fixed index shards.
//!
//! | partition | flag | what client i holds |
//! |---|---|---|
//! | IID | `iid` | an equal share of a random permutation |
//! | label skew `#C=k` | `label:k` | label i mod K plus k − 1 other labels drawn at random; each label's samples are shuffled and split evenly (array_split) among the clients holding it |
//! | Dirichlet label skew | `dir:β` | for each label, a Dir(β) share over the clients (clients already above n/N get none), redrawn until every client has ≥ 10 samples |
//! | quantity skew | `quantity:β` | a Dir(β) share of a random permutation, redrawn until every share is ≥ 10 samples |
//!
//! `#C=k` follows NIID-Bench's loop exactly: for client i, `current = [i mod K]`, then draw
//! labels uniformly, keeping new ones until there are k. A label nobody holds (possible when
//! clients < K) leaves its samples unused; [`Shards::unused`] counts them.
//!
//! The random draws use [`SplitMix64`] (not numpy's generator), so the shards differ from
//! NIID-Bench's for the same seed while following the same definitions.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use runs::rng::SplitMix64;
use serde::{Deserialize, Serialize};

/// NIID-Bench's minimum shard size for the Dirichlet partitions (`min_require_size`).
pub const MIN_DIRICHLET_SHARD: usize = 10;

/// Redraws of a Dirichlet partition before giving up (NIID-Bench loops forever).
const MAX_REDRAWS: usize = 10_000;

/// A partition scheme (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Partition {
    /// Equal random shares.
    Iid,
    /// `#C=k`: k labels per client.
    Labels {
        /// Labels per client, 1 ≤ k ≤ K.
        k: usize,
    },
    /// Dirichlet label skew with concentration β > 0.
    Dirichlet {
        /// Concentration β (small: skewed).
        beta: f64,
    },
    /// Quantity skew: Dirichlet shares of an IID permutation.
    Quantity {
        /// Concentration β (small: skewed).
        beta: f64,
    },
}

impl FromStr for Partition {
    type Err = String;

    /// `iid`, `label:k`, `dir:β`, `quantity:β`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("`{text}`: expected iid, label:k (e.g. label:1), dir:β (e.g. dir:0.5) or quantity:β");
        let positive = |v: &str| match v.parse::<f64>() {
            Ok(b) if b.is_finite() && b > 0.0 => Ok(b),
            _ => Err(format!("`{text}`: β must be a positive number")),
        };
        match text.split_once(':') {
            None if text == "iid" => Ok(Partition::Iid),
            Some(("label", k)) => match k.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Partition::Labels { k }),
                _ => Err(format!("`{text}`: k must be a whole number ≥ 1")),
            },
            Some(("dir", b)) => positive(b).map(|beta| Partition::Dirichlet { beta }),
            Some(("quantity", b)) => positive(b).map(|beta| Partition::Quantity { beta }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Partition::Iid => write!(f, "iid"),
            Partition::Labels { k } => write!(f, "label:{k}"),
            Partition::Dirichlet { beta } => write!(f, "dir:{beta}"),
            Partition::Quantity { beta } => write!(f, "quantity:{beta}"),
        }
    }
}

/// Why a partition cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PartitionError {
    /// No clients.
    #[error("--clients must be at least 1")]
    NoClients,
    /// `#C=k` with k above the number of labels.
    #[error("label:{k} asks for {k} labels per client, but the dataset has {classes}")]
    TooManyLabels {
        /// k.
        k: usize,
        /// K.
        classes: usize,
    },
    /// Some client would get no sample.
    #[error("{what}: {clients} clients cannot each get a sample ({detail})")]
    EmptyClient {
        /// The partition.
        what: String,
        /// Clients asked for.
        clients: usize,
        /// Which label or count is short.
        detail: String,
    },
    /// A Dirichlet draw kept a shard below the minimum.
    #[error("{what}: no draw in {MAX_REDRAWS} gave every one of {clients} clients {MIN_DIRICHLET_SHARD} samples; use fewer clients or a larger β")]
    NoDraw {
        /// The partition.
        what: String,
        /// Clients asked for.
        clients: usize,
    },
}

/// The clients' shards: training-set indices per client, in the order they were assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shards {
    clients: Vec<Vec<usize>>,
    classes: usize,
    total: usize,
}

impl Shards {
    /// The indices of client `i`.
    pub fn client(&self, i: usize) -> &[usize] {
        &self.clients[i]
    }

    /// Every client's indices, in client order.
    pub fn clients(&self) -> &[Vec<usize>] {
        &self.clients
    }

    /// Number of clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Always false: a partition has at least one client.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The samples of the training set no client holds (labels nobody drew under `#C=k`).
    pub fn unused(&self) -> usize {
        self.total - self.clients.iter().map(Vec::len).sum::<usize>()
    }

    /// Client sizes n_i.
    pub fn sizes(&self) -> Vec<usize> {
        self.clients.iter().map(Vec::len).collect()
    }

    /// Per-client label counts, for `partition.json` and anyone checking a partition.
    pub fn summary(&self, labels: &[usize]) -> PartitionSummary {
        let clients = self
            .clients
            .iter()
            .map(|idx| {
                let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
                for &j in idx {
                    *counts.entry(labels[j]).or_default() += 1;
                }
                ClientSummary {
                    labels: counts.into_iter().map(|(l, c)| (l.to_string(), c)).collect(),
                    n: idx.len(),
                }
            })
            .collect();
        PartitionSummary {
            classes: self.classes,
            unused: self.unused(),
            clients,
        }
    }
}

/// The JSON of a partition: `{"clients": [{"labels": {"0": 5923, ...}, "n": ...}, ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSummary {
    /// Labels in the dataset.
    pub classes: usize,
    /// Training samples no client holds.
    pub unused: usize,
    /// One entry per client.
    pub clients: Vec<ClientSummary>,
}

/// One client's label counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSummary {
    /// Samples per label (labels as strings, JSON object keys), labels it lacks omitted.
    pub labels: BTreeMap<String, usize>,
    /// Samples in all.
    pub n: usize,
}

/// `len` items split into `parts` contiguous pieces as numpy's `array_split`: the first
/// `len mod parts` pieces get one more.
fn array_split(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let (base, extra) = (len / parts, len % parts);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let size = base + usize::from(p < extra);
            let range = start..start + size;
            start += size;
            range
        })
        .collect()
}

/// Splits a training set with `labels` (each in 0..`classes`) over `clients` clients.
///
/// # Errors
/// [`PartitionError`]: no clients, k > K, a client that would be empty, or a Dirichlet
/// partition that keeps a shard under [`MIN_DIRICHLET_SHARD`].
///
/// ```
/// use fed::partition::{partition, Partition};
/// let labels: Vec<usize> = (0..100).map(|j| j % 4).collect();
/// let shards = partition(&labels, 4, 4, Partition::Labels { k: 1 }, 0).unwrap();
/// assert!(shards.client(2).iter().all(|&j| labels[j] == 2));
/// ```
pub fn partition(
    labels: &[usize],
    classes: usize,
    clients: usize,
    scheme: Partition,
    seed: u64,
) -> Result<Shards, PartitionError> {
    if clients == 0 {
        return Err(PartitionError::NoClients);
    }
    let mut rng = SplitMix64::new(seed, 0x9A57_1710);
    let n = labels.len();
    let what = scheme.to_string();
    let by_label = |rng: &mut SplitMix64| -> Vec<Vec<usize>> {
        let mut per: Vec<Vec<usize>> = vec![Vec::new(); classes];
        for (j, &l) in labels.iter().enumerate() {
            per[l].push(j);
        }
        for idx in &mut per {
            rng.shuffle(idx);
        }
        per
    };
    let shards = match scheme {
        Partition::Iid => {
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            array_split(n, clients)
                .into_iter()
                .map(|r| order[r].to_vec())
                .collect()
        }
        Partition::Labels { k } => {
            if k > classes {
                return Err(PartitionError::TooManyLabels { k, classes });
            }
            let mut holders: Vec<Vec<usize>> = vec![Vec::new(); classes];
            for i in 0..clients {
                let mut current = vec![i % classes];
                while current.len() < k {
                    let label = rng.below(classes as u64) as usize;
                    if !current.contains(&label) {
                        current.push(label);
                    }
                }
                for label in current {
                    holders[label].push(i);
                }
            }
            let per = by_label(&mut rng);
            let mut shards: Vec<Vec<usize>> = vec![Vec::new(); clients];
            for (label, who) in holders.iter().enumerate() {
                if who.is_empty() {
                    continue;
                }
                if per[label].len() < who.len() {
                    return Err(PartitionError::EmptyClient {
                        what,
                        clients,
                        detail: format!(
                            "label {label} has {} samples for {} clients",
                            per[label].len(),
                            who.len()
                        ),
                    });
                }
                for (client, range) in who.iter().zip(array_split(per[label].len(), who.len())) {
                    shards[*client].extend_from_slice(&per[label][range]);
                }
            }
            shards
        }
        Partition::Dirichlet { beta } => {
            let mut tries = 0;
            loop {
                tries += 1;
                if tries > MAX_REDRAWS {
                    return Err(PartitionError::NoDraw { what, clients });
                }
                let per = by_label(&mut rng);
                let mut shards: Vec<Vec<usize>> = vec![Vec::new(); clients];
                for idx in &per {
                    let mut p = rng.dirichlet(beta, clients);
                    // clients already holding their n/N share get no more of this label
                    for (pi, shard) in p.iter_mut().zip(&shards) {
                        if shard.len() as f64 >= n as f64 / clients as f64 {
                            *pi = 0.0;
                        }
                    }
                    let total: f64 = p.iter().sum();
                    let cuts = cumulative_cuts(&p, total, idx.len());
                    let mut start = 0;
                    for (shard, end) in shards.iter_mut().zip(cuts) {
                        shard.extend_from_slice(&idx[start..end]);
                        start = end;
                    }
                }
                if shards.iter().all(|s| s.len() >= MIN_DIRICHLET_SHARD) {
                    break shards;
                }
            }
        }
        Partition::Quantity { beta } => {
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            let mut tries = 0;
            let p = loop {
                tries += 1;
                if tries > MAX_REDRAWS {
                    return Err(PartitionError::NoDraw { what, clients });
                }
                let p = rng.dirichlet(beta, clients);
                let smallest = p.iter().copied().fold(f64::INFINITY, f64::min);
                if smallest * n as f64 >= MIN_DIRICHLET_SHARD as f64 {
                    break p;
                }
            };
            let cuts = cumulative_cuts(&p, 1.0, n);
            let mut start = 0;
            cuts.into_iter()
                .map(|end| {
                    let shard = order[start..end].to_vec();
                    start = end;
                    shard
                })
                .collect()
        }
    };
    if let Some(i) = shards.iter().position(Vec::is_empty) {
        return Err(PartitionError::EmptyClient {
            what: scheme.to_string(),
            clients,
            detail: format!("client {i} got no sample"),
        });
    }
    Ok(Shards {
        clients: shards,
        classes,
        total: n,
    })
}

/// The end of each client's piece of `len` items under proportions `p` (summing to `total`):
/// numpy's `(cumsum(p) * len).astype(int)`, the last piece ending at `len`.
fn cumulative_cuts(p: &[f64], total: f64, len: usize) -> Vec<usize> {
    let mut acc = 0.0;
    let last = p.len() - 1;
    p.iter()
        .enumerate()
        .map(|(i, pi)| {
            acc += pi / total;
            if i == last {
                len
            } else {
                ((acc * len as f64) as usize).min(len)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// 10 labels with unequal counts (like MNIST's 5421–6742 per digit), shuffled.
    fn labels() -> Vec<usize> {
        let mut l: Vec<usize> = (0..10).flat_map(|c| std::iter::repeat_n(c, 50 + 7 * c)).collect();
        SplitMix64::new(1, 1).shuffle(&mut l);
        l
    }

    fn assert_disjoint_cover(shards: &Shards, n: usize) {
        let all: Vec<usize> = shards.clients().iter().flatten().copied().collect();
        let set: BTreeSet<usize> = all.iter().copied().collect();
        assert_eq!(set.len(), all.len(), "duplicates");
        assert_eq!(all.len() + shards.unused(), n);
        assert!(set.iter().all(|&j| j < n));
    }

    #[test]
    fn label_skew_follows_niid_bench() {
        let l = labels();
        for k in 1..=3 {
            for clients in [10, 20] {
                let shards = partition(&l, 10, clients, Partition::Labels { k }, 5).unwrap();
                assert_disjoint_cover(&shards, l.len());
                assert_eq!(shards.unused(), 0, "every label is held when clients ≥ K");
                let held: Vec<BTreeSet<usize>> = shards
                    .clients()
                    .iter()
                    .map(|idx| idx.iter().map(|&j| l[j]).collect())
                    .collect();
                for (i, labels) in held.iter().enumerate() {
                    assert_eq!(labels.len(), k, "client {i} holds {labels:?}");
                    assert!(labels.contains(&(i % 10)), "client {i} lacks label {}", i % 10);
                }
                // each label's holders get equal shares (±1)
                for label in 0..10 {
                    let shares: Vec<usize> = shards
                        .clients()
                        .iter()
                        .map(|idx| idx.iter().filter(|&&j| l[j] == label).count())
                        .filter(|&c| c > 0)
                        .collect();
                    let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
                    assert!(hi - lo <= 1, "label {label}: shares {shares:?}");
                    assert_eq!(shares.len(), held.iter().filter(|h| h.contains(&label)).count());
                }
            }
        }
        // #C=1 with 10 clients: client i holds exactly label i's samples
        let one = partition(&l, 10, 10, Partition::Labels { k: 1 }, 0).unwrap();
        for i in 0..10 {
            assert_eq!(one.client(i).len(), 50 + 7 * i);
        }
    }

    #[test]
    fn fewer_clients_than_labels_leave_labels_unused() {
        let l = labels();
        let shards = partition(&l, 10, 4, Partition::Labels { k: 1 }, 0).unwrap();
        assert_disjoint_cover(&shards, l.len());
        assert_eq!(shards.unused(), (4..10).map(|c| 50 + 7 * c).sum::<usize>());
    }

    #[test]
    fn iid_and_quantity_skew_cover_the_set() {
        let l = labels();
        let iid = partition(&l, 10, 7, Partition::Iid, 3).unwrap();
        assert_disjoint_cover(&iid, l.len());
        let sizes = iid.sizes();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        let q = partition(&l, 10, 7, Partition::Quantity { beta: 0.5 }, 3).unwrap();
        assert_disjoint_cover(&q, l.len());
        assert_eq!(q.unused(), 0);
        assert!(q.sizes().iter().all(|&s| s >= MIN_DIRICHLET_SHARD));
        let spread = |s: &[usize]| s.iter().max().unwrap() - s.iter().min().unwrap();
        assert!(
            spread(&q.sizes()) > spread(&sizes),
            "β = 0.5 gives unequal sizes: {:?}",
            q.sizes()
        );
    }

    #[test]
    fn dirichlet_skew_covers_the_set_and_skews_labels() {
        let l = labels();
        let d = partition(&l, 10, 5, Partition::Dirichlet { beta: 0.1 }, 2).unwrap();
        assert_disjoint_cover(&d, l.len());
        assert_eq!(d.unused(), 0);
        assert!(d.sizes().iter().all(|&s| s >= MIN_DIRICHLET_SHARD));
        // β = 0.1: a client's largest label dominates its shard far more than under IID
        let dominance = |shards: &Shards| -> f64 {
            let s = shards.summary(&l);
            s.clients
                .iter()
                .map(|c| *c.labels.values().max().unwrap() as f64 / c.n as f64)
                .sum::<f64>()
                / s.clients.len() as f64
        };
        let iid = partition(&l, 10, 5, Partition::Iid, 2).unwrap();
        assert!(
            dominance(&d) > 2.0 * dominance(&iid),
            "{} vs {}",
            dominance(&d),
            dominance(&iid)
        );
    }

    #[test]
    fn partitions_are_a_function_of_the_seed() {
        let l = labels();
        for scheme in ["iid", "label:2", "dir:0.5", "quantity:1"] {
            let scheme: Partition = scheme.parse().unwrap();
            let a = partition(&l, 10, 6, scheme, 11).unwrap();
            assert_eq!(a, partition(&l, 10, 6, scheme, 11).unwrap());
            assert_ne!(a, partition(&l, 10, 6, scheme, 12).unwrap(), "{scheme}");
        }
    }

    #[test]
    fn impossible_partitions_are_clear_errors() {
        let l = labels();
        assert_eq!(
            partition(&l, 10, 10, Partition::Labels { k: 11 }, 0),
            Err(PartitionError::TooManyLabels { k: 11, classes: 10 })
        );
        assert_eq!(
            partition(&l, 10, 0, Partition::Iid, 0),
            Err(PartitionError::NoClients)
        );
        // label 0 has 50 samples: 60 clients holding only it cannot all get one
        let e = partition(&l, 10, 600, Partition::Labels { k: 1 }, 0).unwrap_err();
        assert!(
            e.to_string().contains("label 0 has 50 samples for 60 clients"),
            "{e}"
        );
        assert!(matches!(
            partition(&l, 10, 100, Partition::Dirichlet { beta: 0.5 }, 0),
            Err(PartitionError::NoDraw { .. })
        ));
        for bad in [
            "label:0",
            "label:x",
            "dir:-1",
            "dir:0",
            "quantity:nan",
            "noniid",
            "iid:3",
        ] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
        assert_eq!("label:2".parse(), Ok(Partition::Labels { k: 2 }));
        assert_eq!(Partition::Dirichlet { beta: 0.5 }.to_string(), "dir:0.5");
    }

    #[test]
    fn summary_counts_labels_per_client() {
        let l = vec![0, 1, 1, 2, 2, 2];
        let shards = partition(&l, 3, 3, Partition::Labels { k: 1 }, 0).unwrap();
        let json = serde_json::to_value(shards.summary(&l)).unwrap();
        assert_eq!(json["clients"][2]["labels"]["2"], 3);
        assert_eq!(json["clients"][1]["n"], 2);
        assert_eq!(json["unused"], 0);
    }
}
