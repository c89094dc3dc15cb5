//! Federated learning with PISA's nodes as clients: the paper's data-heterogeneity experiments
//! (§5.1, Table 2; spec §6 and §7.1).
//!
//! - [`partition`]: NIID-Bench's partitions (IID, label skew `#C=k`, Dirichlet and quantity
//!   skew), seeded, with per-client label counts;
//! - [`model`]: NIID-Bench's simple CNN and the a9a MLP;
//! - [`client`]: a client's full local gradient (SISA) and local SGD (the baselines);
//! - [`round`]: one communication round over the clients ([`round::Federation`]);
//! - [`server`]: the baselines' averaging server, a pisa-core optimizer over the clients;
//! - [`train`]: one run on the run skeleton: SISA or any registry optimizer with one step per
//!   round, or FedAvg, FedProx, SCAFFOLD and FedNova.
//!
//! ```text
//! cargo xtask data mnist
//! cargo run --release -p fed -- train --dataset mnist --partition label:1 --clients 10 --rounds 50 --optimizer sisa
//! cargo run --release -p fed -- train --optimizer fedavg --lr 0.01 --local-epochs 1
//! cargo run --release -p fed -- partition --dataset mnist --partition label:2 --clients 10 --out p.json
//! ```

pub mod client;
pub mod model;
pub mod partition;
pub mod round;
pub mod server;
pub mod train;
