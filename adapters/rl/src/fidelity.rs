//! How far the pure-Rust rapier backend is from MuJoCo, measured the way a user meets it: the
//! same agent (PPO with Adam, the task's settings) trained on each backend, and the rapier
//! return as a fraction of the MuJoCo one (`rl fidelity`, `cargo xtask rl fidelity`).
//!
//! A fraction of 1 means the rapier task is as learnable as MuJoCo's within the budget; the
//! goal is [`GOAL`] on each of [`TASKS`]. Each task's runs live in two domain folders,
//! `fidelity-<algo>-<task>-mujoco/` and `...-rapier/`, holding `adam-seed<k>/` as every
//! comparison reads them ([`report::compare::collect`]); the table is written to
//! `fidelity.md` beside them. The fraction is of the mean best test return over seeds (the
//! published figure), with the final one beside it; where MuJoCo's mean is not positive the
//! fraction is undefined and shown as `—`.
//!
//! ```
//! use rl::fidelity::{fraction, GOAL};
//! assert_eq!(fraction(1500.0, 3000.0), Some(0.5));
//! assert!(fraction(1500.0, 3000.0).unwrap() >= GOAL);
//! assert_eq!(fraction(200.0, -10.0), None, "no fraction of a return that is not positive");
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use report::compare::{collect, mean_std, CompareError};
use report::plot::Goal;

/// The tasks of the measurement: the locomotion tasks whose contacts decide what is learnable.
pub const TASKS: [&str; 4] = ["Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Ant-v5"];

/// The fraction of MuJoCo's return rapier should reach on each task.
pub const GOAL: f64 = 0.5;

/// The backends compared, MuJoCo (the reference) first.
pub const BACKENDS: [&str; 2] = ["mujoco", "rapier"];

/// The comparison group of every fidelity run: the one optimizer measured.
pub const GROUP: &str = "adam";

/// `rapier / mujoco`, defined when MuJoCo's return is positive (a fraction of a negative or zero
/// return says nothing).
pub fn fraction(rapier: f64, mujoco: f64) -> Option<f64> {
    (mujoco > 0.0 && rapier.is_finite()).then(|| rapier / mujoco)
}

/// The domain folder of `task`'s runs on `backend`: `fidelity-<domain>-<backend>`, where
/// `domain` is the RL domain (`ppo-hopper`).
pub fn domain_folder(domain: &str, backend: &str) -> String {
    format!("fidelity-{domain}-{backend}")
}

/// One task's test returns on both backends: per seed, the best and the final evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskReturns {
    /// The task id (`Hopper-v5`).
    pub task: String,
    /// MuJoCo's best and final returns, one per seed.
    pub mujoco: (Vec<f64>, Vec<f64>),
    /// rapier's best and final returns, one per seed.
    pub rapier: (Vec<f64>, Vec<f64>),
}

impl TaskReturns {
    /// Reads the `adam-seed<k>` runs of `seeds` from the two domain folders under `runs`.
    ///
    /// # Errors
    /// A run without `metrics.csv` or without `eval/return` ([`collect`]).
    pub fn read(runs: &Path, task: &str, domain: &str, seeds: &[u64]) -> Result<Self, CompareError> {
        let returns = |backend: &str| -> Result<(Vec<f64>, Vec<f64>), CompareError> {
            let dir = runs.join(domain_folder(domain, backend));
            let groups = collect(
                &dir,
                &[(GROUP.to_string(), seeds.to_vec())],
                "step",
                "eval/return",
            )?;
            Ok((groups[0].bests(Goal::Maximize), groups[0].finals()))
        };
        Ok(TaskReturns {
            task: task.to_string(),
            mujoco: returns(BACKENDS[0])?,
            rapier: returns(BACKENDS[1])?,
        })
    }

    /// rapier's mean best return as a fraction of MuJoCo's ([`fraction`]).
    pub fn best_fraction(&self) -> Option<f64> {
        fraction(mean_std(&self.rapier.0).0, mean_std(&self.mujoco.0).0)
    }

    /// The same of the final returns.
    pub fn final_fraction(&self) -> Option<f64> {
        fraction(mean_std(&self.rapier.1).0, mean_std(&self.mujoco.1).0)
    }
}

/// `μ ± σ (n)` of `values`.
fn cell(values: &[f64]) -> String {
    let (m, s) = mean_std(values);
    format!("{m:.1} ± {s:.1} ({})", values.len())
}

/// A fraction to two decimals, `—` when undefined.
fn shown(f: Option<f64>) -> String {
    f.map_or_else(|| "—".to_string(), |f| format!("{f:.2}"))
}

/// The Markdown table: per task MuJoCo's and rapier's best and final test returns (mean ± std
/// over seeds), the two fractions and whether the best one reaches [`GOAL`].
pub fn table(tasks: &[TaskReturns]) -> String {
    let mut s = String::from(
        "| task | MuJoCo best | rapier best | rapier / MuJoCo (best) | MuJoCo final | rapier final | rapier / MuJoCo (final) | ≥ 0.5 |\n|---|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for t in tasks {
        let best = t.best_fraction();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            t.task,
            cell(&t.mujoco.0),
            cell(&t.rapier.0),
            shown(best),
            cell(&t.mujoco.1),
            cell(&t.rapier.1),
            shown(t.final_fraction()),
            match best {
                Some(f) if f >= GOAL => "yes",
                Some(_) => "no",
                None => "—",
            }
        );
    }
    s
}

/// Writes `fidelity.md` under `runs`: what was run (`setting`), the legend and [`table`];
/// returns its path.
///
/// # Errors
/// When the file cannot be written.
pub fn write(runs: &Path, setting: &str, tasks: &[TaskReturns]) -> std::io::Result<PathBuf> {
    let path = runs.join("fidelity.md");
    let text = format!(
        "# rapier fidelity: the same agent on rapier and on MuJoCo\n\n{setting}\n\n\
         Test return: the mean of the deterministic test episodes of each evaluation; best = the \
         highest over training (the published figure), final = the last; mean ± sample std over \
         seeds (n). The fraction is rapier's mean over MuJoCo's (— where MuJoCo's is not \
         positive); the goal is ≥ {GOAL} on each task.\n\n{}",
        table(tasks)
    );
    std::fs::create_dir_all(runs)?;
    std::fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run folder `adam-seed<seed>` whose evaluations are `returns` at steps 1, 2, ...
    fn run(dir: &Path, seed: u64, returns: &[f64]) {
        let run = dir.join(format!("adam-seed{seed}"));
        std::fs::create_dir_all(&run).unwrap();
        let mut csv = String::from("step,wall_time,eval/return\n");
        for (i, r) in returns.iter().enumerate() {
            csv += &format!("{},{},{r}\n", i + 1, i as f64);
        }
        std::fs::write(run.join("metrics.csv"), csv).unwrap();
    }

    #[test]
    fn fractions_of_best_and_final_returns_from_the_run_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let (mujoco, rapier) = (
            tmp.path().join("fidelity-ppo-hopper-mujoco"),
            tmp.path().join("fidelity-ppo-hopper-rapier"),
        );
        // MuJoCo best 3000 and 2000 (mean 2500), final 2800 and 1800 (2300); rapier best 1000
        // and 1500 (1250), final 500 and 1500 (1000).
        run(&mujoco, 0, &[100.0, 3000.0, 2800.0]);
        run(&mujoco, 1, &[2000.0, 1800.0]);
        run(&rapier, 0, &[1000.0, 500.0]);
        run(&rapier, 1, &[200.0, 1500.0]);
        let t = TaskReturns::read(tmp.path(), "Hopper-v5", "ppo-hopper", &[0, 1]).unwrap();
        assert_eq!(t.mujoco, (vec![3000.0, 2000.0], vec![2800.0, 1800.0]));
        assert_eq!(t.best_fraction(), Some(0.5));
        assert_eq!(t.final_fraction(), Some(1000.0 / 2300.0));
        let md = table(std::slice::from_ref(&t));
        let row = md.lines().nth(2).unwrap();
        assert_eq!(
            row,
            "| Hopper-v5 | 2500.0 ± 707.1 (2) | 1250.0 ± 353.6 (2) | 0.50 | 2300.0 ± 707.1 (2) | 1000.0 ± 707.1 (2) | 0.43 | yes |"
        );

        // A seed missing on one backend is an error naming the run, not a silent mean.
        assert!(TaskReturns::read(tmp.path(), "Hopper-v5", "ppo-hopper", &[0, 1, 2]).is_err());
        let path = write(tmp.path(), "setting", &[t]).unwrap();
        assert!(std::fs::read_to_string(path).unwrap().contains("| Hopper-v5 |"));
    }

    #[test]
    fn no_fraction_of_a_return_that_is_not_positive() {
        assert_eq!(fraction(-5.0, 0.0), None);
        assert_eq!(fraction(5.0, -1.0), None);
        assert_eq!(fraction(f64::NAN, 10.0), None);
        assert_eq!(fraction(-5.0, 10.0), Some(-0.5));
        let t = TaskReturns {
            task: "HalfCheetah-v5".into(),
            mujoco: (vec![-1.0], vec![-2.0]),
            rapier: (vec![3.0], vec![4.0]),
        };
        assert!(table(&[t]).ends_with("| — | -2.0 ± 0.0 (1) | 4.0 ± 0.0 (1) | — | — |\n"));
    }
}
