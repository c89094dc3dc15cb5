//! The paper's experiments as a plan: for each table or figure, the cells (a model, dataset or
//! task), the groups compared (the optimizers the paper compares), the `cargo xtask` commands
//! that make their run folders at a chosen scale, the metric read from `summary.json`, the
//! paper's numbers (typed from `../shared/pisa-algorithm.md` §7; ours are always read from the
//! runs) and the claims judged. Nothing here runs anything: [`plan`] is a pure function of the
//! scale, the seed count, the visible GPU count and the report folder, so the plan is testable
//! and printable.

use std::path::{Path, PathBuf};

use super::verdict::{Claim, Goal};

/// How much of each experiment to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// Minutes: every experiment end to end on tiny data; claims are not judged (but the
    /// least-squares study, which is exact at every scale).
    Smoke,
    /// What a 2-core CPU can say something with in hours: the README's CPU protocols.
    Cpu,
    /// The paper's protocols on CUDA (`--device cuda`).
    Gpu,
}

impl Scale {
    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Smoke => "smoke",
            Scale::Cpu => "cpu",
            Scale::Gpu => "gpu",
        }
    }

    /// The default number of seeds per group.
    pub fn default_seeds(self) -> u64 {
        match self {
            Scale::Smoke => 1,
            Scale::Cpu => 2,
            Scale::Gpu => 5,
        }
    }
}

/// The metric a table shows: a numeric field of `summary.json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The `summary.json` field.
    pub field: &'static str,
    /// The column title.
    pub title: &'static str,
    /// Which way it improves.
    pub goal: Goal,
    /// Display multiplier (100 for a fraction shown in %).
    pub scale: f64,
    /// Decimals shown.
    pub digits: usize,
}

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `cargo xtask <args>`, run in this process.
    Xtask(Vec<String>),
    /// The least-squares study (pisa-core's example, every `configs/least_squares/*.toml`) into
    /// this folder.
    LeastSquares(PathBuf),
}

impl Action {
    /// The command a user would type.
    pub fn command(&self) -> String {
        match self {
            Action::Xtask(args) => format!("cargo xtask {}", args.join(" ")),
            Action::LeastSquares(dir) => format!(
                "cargo run -p pisa-core --example least_squares -- --problem pisa-core/examples/data/t1.json --config configs/least_squares/<each>.toml --iters 500   # into {}",
                dir.display()
            ),
        }
    }
}

/// One command of the plan and the run folders it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// What to run.
    pub action: Action,
    /// The run folders it writes: the job is skipped when every one has ended. Empty for a
    /// step that writes no run folder (a comparison of finished runs): it runs every time.
    pub runs: Vec<PathBuf>,
    /// Whether `--resume` must be added when its run folder exists unfinished (commands that
    /// run one run and do not resume by themselves: `rl`).
    pub resume_flag: bool,
}

/// A compared group: its run-name prefix and the paper's figure for it, when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The run-name prefix (`sisa` for `sisa-seed0`; a config name for least squares).
    pub name: String,
    /// The paper's (or the authors' logs') number, as printed there.
    pub paper: Option<String>,
}

/// One table of an experiment: a model, dataset or task.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Its label (`MNIST #C=1`, `VGG-11`, `A2C InvertedDoublePendulum`).
    pub label: String,
    /// Its run folders' parent, under the report folder.
    pub dir: PathBuf,
    /// The groups compared.
    pub groups: Vec<Group>,
    /// The seeds: runs are `<group>-seed<k>`; empty for runs named by the group alone.
    pub seeds: Vec<u64>,
    /// The commands.
    pub jobs: Vec<Job>,
    /// The claims judged on this cell.
    pub claims: Vec<Claim>,
    /// The `--dry-run` probe (`None`: seconds, or nothing of its own to run).
    pub probe: Option<Probe>,
}

impl Cell {
    /// The run folder names of the cell, group-major.
    pub fn run_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for g in &self.groups {
            match self.seeds.is_empty() {
                true => names.push(g.name.clone()),
                false => names.extend(self.seeds.iter().map(|k| format!("{}-seed{k}", g.name))),
            }
        }
        names
    }
}

/// A cell's `--dry-run` probe: the cell's own command (one group, one seed) at two short
/// lengths, timed by their `summary.json` `wall_time_s`, fits `t(L) = a + b·L` (a: start-up and
/// the evaluations every run does once, b: the cost per unit of length, evaluations at the
/// run's cadence included) and extrapolates to a full run: `repeats × (a + b × full)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The two short runs (written under the probe folder), shortest first.
    pub jobs: [Job; 2],
    /// Their lengths, in the unit of `full` (rounds, steps, windows or training images).
    pub lengths: [f64; 2],
    /// A full run's length in that unit.
    pub full: f64,
    /// How many times a full run repeats that length (epochs; 1 when the length is the run's).
    pub repeats: f64,
}

impl Probe {
    /// The estimated seconds of one full run from the probes' `seconds`, or `None` when they
    /// make no sense (not finite, negative).
    pub fn estimate(&self, seconds: [f64; 2]) -> Option<f64> {
        let [s0, s1] = seconds;
        let [l0, l1] = self.lengths;
        if !(s0.is_finite() && s1.is_finite() && s0 >= 0.0 && s1 >= 0.0 && l1 > l0) {
            return None;
        }
        if s1 < s0 {
            // The first probe paid a one-time cost (a cache filled, a build, a loaded machine):
            // the longer probe alone, all of it proportional to the length (an upper bound).
            return Some(self.repeats * s1 * self.full / l1);
        }
        let per_unit = (s1 - s0) / (l1 - l0);
        let fixed = (s0 - per_unit * l0).max(0.0);
        Some(self.repeats * (fixed + per_unit * self.full))
    }
}

/// One paper table or figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// The `--only` key.
    pub key: &'static str,
    /// The title (`Table 2: heterogeneous clients`).
    pub title: &'static str,
    /// What the paper ran.
    pub paper_setting: &'static str,
    /// What this scale runs, in words.
    pub our_setting: String,
    /// The metric of the verdicts (the paper's).
    pub metric: Metric,
    /// A second, honest metric shown beside it (e.g. selected on validation).
    pub honest: Option<Metric>,
    /// The tables.
    pub cells: Vec<Cell>,
    /// `Some(reason)` when the claims are not judged at this scale.
    pub unjudged: Option<String>,
    /// `Some(reason)` when the experiment cannot run in this build or on these machines.
    pub unavailable: Option<String>,
}

/// The keys of every experiment, in report order.
pub const KEYS: [&str; 9] = [
    "least-squares",
    "heterogeneity",
    "vision",
    "gan",
    "llm-finetune",
    "llm-pretrain",
    "memory",
    "rl",
    "lstm",
];

/// What every builder needs: the scale, the seeds, where runs and probes go.
struct Ctx {
    scale: Scale,
    gpus: usize,
    seeds: Vec<u64>,
    runs: PathBuf,
    probe_runs: PathBuf,
}

impl Ctx {
    /// `--device cuda` on the gpu preset, else nothing.
    fn device(&self) -> Vec<String> {
        match self.scale {
            Scale::Gpu => strings(&["--device", "cuda"]),
            _ => Vec::new(),
        }
    }

    /// `--nproc R` spreading `nodes` nodes over the GPUs on the gpu preset: R the largest
    /// divisor of `nodes` not above the GPU count (one GPU per rank, NCCL between them);
    /// nothing on one GPU or at the other scales.
    fn ranks(&self, nodes: usize) -> Vec<String> {
        let ranks = (1..=self.gpus.min(nodes))
            .rev()
            .find(|r| nodes.is_multiple_of(*r))
            .unwrap_or(1);
        match (self.scale, ranks) {
            (Scale::Gpu, r) if r > 1 => strings(&["--nproc", &r.to_string()]),
            _ => Vec::new(),
        }
    }

    /// The claims' fate at this scale: judged from `cpu` up.
    fn unjudged(&self) -> Option<String> {
        (self.scale == Scale::Smoke).then(|| {
            "smoke preset: an end-to-end check on tiny data, too small to say anything about the claim"
                .to_string()
        })
    }

    /// Runs named `<group>-seed<k>` for these groups.
    fn seeded_runs(&self, dir: &Path, groups: &[&str]) -> Vec<PathBuf> {
        groups
            .iter()
            .flat_map(|g| self.seeds.iter().map(move |k| dir.join(format!("{g}-seed{k}"))))
            .collect()
    }
}

/// `&[&str]` → `Vec<String>`.
fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Groups without paper numbers.
fn groups(names: &[&str]) -> Vec<Group> {
    names
        .iter()
        .map(|n| Group {
            name: n.to_string(),
            paper: None,
        })
        .collect()
}

/// Sets the paper's figure of `group`.
fn with_paper(mut groups: Vec<Group>, group: &str, paper: &str) -> Vec<Group> {
    if let Some(g) = groups.iter_mut().find(|g| g.name == group) {
        g.paper = Some(paper.to_string());
    }
    groups
}

/// `<head> --compare <groups> --seeds <seeds> <runs_flag> <runs> [-- <flags>]`: a domain's
/// experiment command, writing `<runs>/<domain>/<group>-seed<k>`.
fn compare_command(
    head: &[&str],
    groups: &[&str],
    seeds: usize,
    runs_flag: &str,
    runs: &Path,
    flags: &[String],
) -> Vec<String> {
    let mut args = strings(head);
    args.extend(["--compare".to_string(), groups.join(",")]);
    args.extend(strings(&["--seeds", &seeds.to_string(), runs_flag]));
    args.push(runs.display().to_string());
    if !flags.is_empty() {
        args.push("--".into());
        args.extend(flags.iter().cloned());
    }
    args
}

impl Ctx {
    /// A cell's command: [`compare_command`] over the seeds into the report's runs, with
    /// `--device cuda` on the gpu preset; its runs are `<domain>/<group>-seed<k>`.
    fn compare_job(
        &self,
        head: &[&str],
        groups: &[&str],
        runs_flag: &str,
        domain: &str,
        flags: &[String],
    ) -> Job {
        let flags = [flags, &self.device()].concat();
        Job {
            action: Action::Xtask(compare_command(
                head,
                groups,
                self.seeds.len(),
                runs_flag,
                &self.runs,
                &flags,
            )),
            runs: self.seeded_runs(&self.runs.join(domain), groups),
            resume_flag: false,
        }
    }

    /// A cell's probe: `command(length, runs)` (one run, `<runs>/<domain>/<run>`) at the two
    /// `lengths`, under `probe/len<L>/`, for a full run of `full` × `repeats`.
    fn probe(
        &self,
        lengths: [u64; 2],
        full: f64,
        repeats: f64,
        domain: &str,
        run: &str,
        command: impl Fn(u64, &Path) -> Vec<String>,
    ) -> Probe {
        let job = |length: u64| {
            let runs = self.probe_runs.join(format!("len{length}"));
            Job {
                action: Action::Xtask(command(length, &runs)),
                runs: vec![runs.join(domain).join(run)],
                resume_flag: false,
            }
        };
        Probe {
            jobs: [job(lengths[0]), job(lengths[1])],
            lengths: lengths.map(|l| l as f64),
            full,
            repeats,
        }
    }

    /// [`Ctx::probe`] of a compare command: one seed of `group`, on the CPU (what this machine
    /// can time), `flags(length)` after `--`.
    fn compare_probe(
        &self,
        (lengths, full, repeats): ([u64; 2], f64, f64),
        head: &[&str],
        group: &str,
        runs_flag: &str,
        domain: &str,
        flags: impl Fn(u64) -> Vec<String>,
    ) -> Probe {
        self.probe(
            lengths,
            full,
            repeats,
            domain,
            &format!("{group}-seed0"),
            |length, runs| compare_command(head, &[group], 1, runs_flag, runs, &flags(length)),
        )
    }
}

/// The plan at `scale` with `seeds` seeds per group (`None`: the preset's) on a machine with
/// `gpus` visible GPUs, writing under `out` (`out/runs` for the runs, `out/probe` for the dry
/// run's probes).
pub fn plan(scale: Scale, seeds: Option<u64>, gpus: usize, out: &Path) -> Vec<Experiment> {
    let ctx = Ctx {
        scale,
        gpus,
        seeds: (0..seeds.unwrap_or(scale.default_seeds()).max(1)).collect(),
        runs: out.join("runs"),
        probe_runs: out.join("probe"),
    };
    vec![
        least_squares(&ctx),
        heterogeneity(&ctx),
        vision(&ctx),
        gan(&ctx),
        llm_finetune(),
        llm_pretrain(&ctx),
        memory(&ctx),
        rl(&ctx),
        lstm(&ctx),
    ]
}

/// The least-squares configs compared (the files of `configs/least_squares/`).
const LEAST_SQUARES: [&str; 7] = [
    "adam",
    "pisa-hessian",
    "pisa-identity",
    "sisa",
    "sisa-gamma",
    "sisa-large-sigma",
    "sisa-small-sigma",
];

/// App. A.2: the same at every scale (exact, seconds).
fn least_squares(ctx: &Ctx) -> Experiment {
    let dir = ctx.runs.join("least-squares");
    Experiment {
        key: "least-squares",
        title: "Appendix A.2: least squares over heterogeneous nodes (σ, γ, k0, preconditioners)",
        paper_setting: "m = 4 nodes with feature- and label-skewed least-squares data; PISA with \
            identity and Hessian preconditioners, SISA with small, large and growing σ (γ, k0), \
            against Adam; the paper shows F(w^k) − F* per iteration.",
        our_setting: "The spec's T1 problem (m = 4, n = 6, 16 rows per node, float64), 500 \
            iterations of every configs/least_squares/*.toml; identical at every preset."
            .into(),
        metric: Metric {
            field: "final_gap",
            title: "F(w^K) − F*",
            goal: Goal::Min,
            scale: 1.0,
            digits: 3,
        },
        honest: None,
        cells: vec![Cell {
            label: "T1 problem, K = 500".into(),
            dir: dir.clone(),
            groups: groups(&LEAST_SQUARES),
            seeds: Vec::new(),
            jobs: vec![Job {
                action: Action::LeastSquares(dir.clone()),
                runs: LEAST_SQUARES.iter().map(|c| dir.join(c)).collect(),
                resume_flag: false,
            }],
            claims: vec![
                Claim::reaches("pisa-identity", 1e-8),
                Claim::reaches("pisa-hessian", 1e-8),
                Claim::reaches("sisa", 1e-8),
                Claim::beats("sisa-gamma", "sisa-small-sigma"),
                Claim::beats("sisa-large-sigma", "sisa-small-sigma"),
            ],
            probe: None,
        }],
        unjudged: None,
        unavailable: None,
    }
}

/// The FedAvg family and SISA, as Table 2 compares them.
const FED: [&str; 5] = ["sisa", "fedavg", "fedprox", "scaffold", "fednova"];

/// Table 2: label-skewed clients.
fn heterogeneity(ctx: &Ctx) -> Experiment {
    let (datasets, rounds, setting): (&[&str], u64, &str) = match ctx.scale {
        Scale::Smoke => (&["mnist"], 2, "MNIST #C=1, 10 clients, 2 rounds"),
        Scale::Cpu => (
            &["mnist"],
            20,
            "MNIST #C=1, 10 clients, 20 rounds (the paper: 500), one torch thread per run",
        ),
        Scale::Gpu => (
            &["mnist", "fmnist", "cifar10"],
            500,
            "MNIST, FMNIST and CIFAR-10 #C=1, 10 clients, 500 rounds on CUDA",
        ),
    };
    let flags = |rounds: u64| strings(&["--rounds", &rounds.to_string(), "--threads", "1"]);
    let mut cells = Vec::new();
    for dataset in datasets {
        let domain = format!("fed-{dataset}-label1");
        let head = ["fed", "--datasets", dataset, "--partitions", "label:1"];
        // The 10 clients over the GPUs (gpu preset): each run one MPI job.
        let ranks = ctx.ranks(10);
        let ranked: Vec<&str> = head
            .iter()
            .copied()
            .chain(ranks.iter().map(String::as_str))
            .collect();
        let mut g = groups(&FED);
        if *dataset == "mnist" {
            g = with_paper(g, "sisa", "94.97");
            for baseline in &FED[1..] {
                g = with_paper(g, baseline, "≤ 54.33");
            }
        }
        cells.push(Cell {
            label: format!("{} #C=1", dataset.to_uppercase()),
            dir: ctx.runs.join(&domain),
            groups: g,
            seeds: ctx.seeds.clone(),
            jobs: vec![ctx.compare_job(&ranked, &FED, "--runs-dir", &domain, &flags(rounds))],
            claims: vec![Claim::best("sisa", &FED)],
            // FedAvg's round (a local epoch of SGD) costs about SISA's (a full local gradient).
            probe: Some(ctx.compare_probe(
                ([1, 3], rounds as f64, 1.0),
                &head,
                "fedavg",
                "--runs-dir",
                &domain,
                flags,
            )),
        });
    }
    Experiment {
        key: "heterogeneity",
        title: "Table 2: heterogeneous (label-skewed) clients",
        paper_setting: "NIID-Bench label skew #C=1 (each client holds one label), 10 clients all \
            taking part, SimpleCNN, 500 rounds; SISA one step per round from the full local \
            gradients against FedAvg, FedProx, SCAFFOLD and FedNova with one local SGD epoch; \
            best global test accuracy over rounds. Headline: MNIST SISA 94.97 % vs at most 54.33 %.",
        our_setting: format!(
            "{setting}; SISA preset [fed.sisa], baselines lr 0.01, momentum 0.9, wd 1e-5, batch \
             64, 1 local epoch, FedProx μ 0.01; {} seed(s).",
            ctx.seeds.len()
        ),
        metric: Metric {
            field: "best_test_accuracy",
            title: "best test accuracy %",
            goal: Goal::Max,
            scale: 100.0,
            digits: 2,
        },
        honest: Some(Metric {
            field: "test_accuracy",
            title: "final test accuracy %",
            goal: Goal::Max,
            scale: 100.0,
            digits: 2,
        }),
        cells,
        unjudged: ctx.unjudged(),
        unavailable: None,
    }
}

/// Table 3's optimizers run here (the paper has nine baselines; these are the strongest).
const VISION: [&str; 4] = ["sgd", "adam", "adabelief", "sisa"];

/// Table 3: CIFAR-10 classifiers.
fn vision(ctx: &Ctx) -> Experiment {
    // (models, epochs, training images (None: all 45,000), the evaluation flags, in words)
    let (models, epochs, examples, eval, setting): (&[&str], u64, Option<u64>, &[&str], &str) = match ctx.scale {
        Scale::Smoke => (
            &["vgg11"],
            1,
            Some(256),
            &["--valid", "64", "--test-examples", "256"],
            "VGG-11, 256 training images, 1 epoch, 256 test images",
        ),
        Scale::Cpu => (
            &["vgg11"],
            4,
            Some(1000),
            &["--valid", "500", "--test-examples", "1000"],
            "VGG-11 on a fixed 1,000-image CIFAR-10 subset (500 validation, 1,000 test images), 4 epochs, the paper's schedules compressed to 4 epochs",
        ),
        Scale::Gpu => (
            &["vgg11", "resnet34", "densenet121"],
            200,
            None,
            &["--valid", "5000"],
            "VGG-11, ResNet-34 and DenseNet-121 on CIFAR-10 (45,000 train, 5,000 validation), 200 epochs on CUDA",
        ),
    };
    let flags = |epochs: u64, examples: Option<u64>| {
        let mut f = strings(&["--epochs", &epochs.to_string()]);
        if let Some(n) = examples {
            f.extend(strings(&["--examples", &n.to_string()]));
        }
        f.extend(strings(eval));
        if ctx.scale != Scale::Gpu {
            f.extend(strings(&["--threads", "1"]));
        }
        f
    };
    let mut cells = Vec::new();
    for model in models {
        let domain = format!("vision-{model}");
        let head = ["vision", "--models", model];
        let (label, g, claims) = match *model {
            "vgg11" => (
                "VGG-11",
                with_paper(groups(&VISION), "sisa", "90.83 (repo logs 90.79, 90.86)"),
                // The paper: SISA slightly below SGD-M on VGG-11, above the adaptive methods.
                vec![Claim::best("sisa", &["adam", "adabelief", "sisa"])],
            ),
            "resnet34" => (
                "ResNet-34",
                with_paper(groups(&VISION), "sisa", "95.04 (repo logs 95.09, 94.81, 95.23)"),
                vec![Claim::best("sisa", &VISION)],
            ),
            _ => (
                "DenseNet-121",
                groups(&VISION),
                vec![Claim::best("sisa", &VISION)],
            ),
        };
        // One epoch over 256 and 768 images (the evaluation as in the full run) gives the
        // per-image cost and the per-epoch evaluation; a full run is `epochs` such epochs.
        let per_epoch = examples.unwrap_or(45_000) as f64;
        cells.push(Cell {
            label: label.into(),
            dir: ctx.runs.join(&domain),
            groups: g,
            seeds: ctx.seeds.clone(),
            jobs: vec![ctx.compare_job(&head, &VISION, "--runs-dir", &domain, &flags(epochs, examples))],
            claims,
            probe: Some(ctx.compare_probe(
                ([256, 768], per_epoch, epochs as f64),
                &head,
                "sisa",
                "--runs-dir",
                &domain,
                |n| flags(1, Some(n)),
            )),
        });
    }
    Experiment {
        key: "vision",
        title: "Table 3: image classification on CIFAR-10",
        paper_setting: "VGG-11, ResNet-34, DenseNet-121 on CIFAR-10, 200 epochs, batch 128 \
            (DenseNet 256), SISA with m = 4 against SGD-M, Adam, AdamW, AdaBelief, AdaBound, \
            Yogi, MSVAG, RAdam, Fromage with AdaBelief-repo settings; best test accuracy over \
            epochs. Paper: SISA best on ResNet-34 and DenseNet-121, slightly below SGD-M on VGG-11.",
        our_setting: format!(
            "{setting}; SGD-M, Adam, AdaBelief and SISA (Table A.1 presets); {} seed(s).",
            ctx.seeds.len()
        ),
        metric: Metric {
            field: "best_test_accuracy",
            title: "best test accuracy % (paper's metric)",
            goal: Goal::Max,
            scale: 100.0,
            digits: 2,
        },
        honest: Some(Metric {
            field: "test_accuracy_at_best_valid",
            title: "test accuracy % at the best validation epoch (honest)",
            goal: Goal::Max,
            scale: 100.0,
            digits: 2,
        }),
        cells,
        unjudged: ctx.unjudged(),
        unavailable: None,
    }
}

/// Table 4's optimizers.
const GAN: [&str; 4] = ["adam", "rmsprop", "adabelief", "sisa"];

/// Table 4 / Fig. 3: WGAN-GP FID.
fn gan(ctx: &Ctx) -> Experiment {
    // (dataset, epochs, training images per epoch (None: all), the other flags, in words)
    let (dataset, epochs, images, rest, setting): (&str, u64, Option<u64>, &[&str], &str) = match ctx.scale {
        Scale::Smoke => (
            "mnist",
            1,
            Some(640),
            &["--base", "16", "--fid-every", "1", "--fid-samples", "100", "--final-fid-samples", "100", "--fid-real-samples", "100", "--threads", "1"],
            "WGAN-GP on MNIST (1-channel 32×32, base 16), 640 images × 1 epoch, FID on 100 fakes against 100 real images",
        ),
        Scale::Cpu => (
            "mnist",
            2,
            Some(6400),
            // FID's Inception costs ~0.36 s per image on one CPU thread: small FID samples.
            &["--base", "32", "--fid-every", "1", "--fid-samples", "100", "--final-fid-samples", "300", "--fid-real-samples", "300", "--threads", "1"],
            "WGAN-GP on MNIST (base 32), 6,400 images × 2 epochs (40 generator iterations), final FID on 300 fakes against 300 training images",
        ),
        Scale::Gpu => (
            "cifar10",
            100,
            None,
            &[],
            "WGAN-GP, DCGAN 64×64 on CIFAR-10, 100 epochs on CUDA, FID with 64,000 fakes at the end",
        ),
    };
    let flags = |epochs: u64, images: Option<u64>| {
        let mut f = strings(&["--epochs", &epochs.to_string()]);
        if let Some(n) = images {
            f.extend(strings(&["--train-images", &n.to_string()]));
        }
        f.extend(strings(rest));
        f
    };
    let domain = format!("gan-wgan-gp-{dataset}");
    let head = ["gan", "--model", "wgan-gp", "--dataset", dataset];
    let g = groups(&GAN)
        .into_iter()
        .map(|mut g| {
            g.paper = Some("lost (Table 4's numbers are not in the paper's sources)".into());
            g
        })
        .collect();
    // One epoch over 640 and 1,920 images, FID as in the full run; the fixed part (the
    // Inception network, the final FID) is paid once, so the length is all images seen.
    let seen = (epochs * images.unwrap_or(50_000)) as f64;
    let probe = ctx.compare_probe(
        ([640, 1920], seen, 1.0),
        &head,
        "sisa",
        "--runs-dir",
        &domain,
        |n| flags(1, Some(n)),
    );
    Experiment {
        key: "gan",
        title: "Table 4 / Fig. 3: WGAN-GP, FID",
        paper_setting: "DCGAN-style generator and critic at 64×64 on CIFAR-10, batch 64, 100 \
            epochs; SISA (WGAN-GP m = 2, σ 5e-5, ρ 200) against Adam, RMSProp and AdaBelief; FID \
            every 10 epochs on 6,400 fakes and a test FID on 64,000; 5 runs. Paper: SISA converges \
            fastest with the lowest FID (the numbers are lost).",
        our_setting: format!("{setting}; {} seed(s).", ctx.seeds.len()),
        metric: Metric {
            field: "fid",
            title: "final FID",
            goal: Goal::Min,
            scale: 1.0,
            digits: 1,
        },
        honest: None,
        cells: vec![Cell {
            label: format!("WGAN-GP {}", dataset.to_uppercase()),
            dir: ctx.runs.join(&domain),
            groups: g,
            seeds: ctx.seeds.clone(),
            jobs: vec![ctx.compare_job(&head, &GAN, "--runs-dir", &domain, &flags(epochs, images))],
            claims: vec![Claim::best("sisa", &GAN)],
            probe: Some(probe),
        }],
        unjudged: ctx.unjudged(),
        unavailable: None,
    }
}

/// Table 6: not runnable here (no GPT-2 weights).
fn llm_finetune() -> Experiment {
    Experiment {
        key: "llm-finetune",
        title: "Table 6: fine-tuning GPT-2 124M / 335M on recipes",
        paper_setting: "GPT-2 124M and 335M fine-tuned on 1,000 recipes (900/100), length 180, \
            batch 16, m = 4; test loss and BERTScore at epochs 2 / 5 / 15. Paper, 124M: AdamW \
            5.20 / 3.45 / 2.30, SISA 3.69 / 2.73 / 2.17; 335M: AdamW 3.62 / 2.73 / 1.95, SISA \
            2.31 / 2.04 / 1.93 (test loss).",
        our_setting: "Not run.".into(),
        metric: Metric {
            field: "test_loss",
            title: "test loss",
            goal: Goal::Min,
            scale: 1.0,
            digits: 2,
        },
        honest: None,
        cells: Vec::new(),
        unjudged: None,
        unavailable: Some(
            "not available in this build's data: the pretrained GPT-2 weights and the recipe set \
             are not obtainable from the registries these machines reach (../shared/DATA.md); \
             `cargo xtask llm finetune -- --from <hf dir>` fine-tunes any local Hugging Face \
             GPT-2 checkpoint"
                .into(),
        ),
    }
}

/// Fig. 2's optimizers available here (Shampoo, SOAP and Adam-mini are not implemented).
const LLM: [&str; 3] = ["adamw", "muon", "nsisa"];

/// The GPT-2 preset and steps of a scale.
fn llm_scale(scale: Scale) -> (&'static str, u64, &'static str) {
    match scale {
        Scale::Smoke => (
            "test",
            20,
            "the `test` preset (1.6M parameters, 2 layers, width 32), 20 steps of 8 × 64 tokens",
        ),
        Scale::Cpu => (
            "tiny",
            150,
            "the `tiny` preset (7.2M parameters), 150 steps of 8 × 64 tokens",
        ),
        Scale::Gpu => (
            "nano",
            5100,
            "the `nano` preset (modded-nanogpt's 12 × 768), 5,100 steps of 8 × 64 tokens on CUDA (2.6M of the corpus's 5.4M training tokens; the paper: 65,536 tokens per step of FineWeb)",
        ),
    }
}

/// Fig. 2: NSISA pre-training.
fn llm_pretrain(ctx: &Ctx) -> Experiment {
    let (preset, steps, setting) = llm_scale(ctx.scale);
    let domain = format!("llm-{preset}");
    let g = with_paper(groups(&LLM), "nsisa", "3.638 @ 5100 (Nano, FineWeb; repo log)");
    let full_steps = steps.to_string();
    let job = ctx.compare_job(
        &["llm", "train", "--preset", preset, "--steps", &full_steps],
        &LLM,
        "--runs",
        &domain,
        &[],
    );
    // 10 and 60 steps: validation (every 50 steps and at the end) at the full run's cadence.
    let probe = ctx.probe(
        [10, 60],
        steps as f64,
        1.0,
        &domain,
        "nsisa-seed0",
        |length, runs| {
            let length = length.to_string();
            compare_command(
                &["llm", "train", "--preset", preset, "--steps", &length],
                &["nsisa"],
                1,
                "--runs",
                runs,
                &[],
            )
        },
    );
    Experiment {
        key: "llm-pretrain",
        title: "Fig. 2: pre-training GPT-2 with NSISA",
        paper_setting: "GPT-2 Nano (modded-nanogpt), Medium and XL on FineWeb10B, 5,100 steps × \
            65,536 tokens on 4 × H100; NSISA against AdamW/Adam, Muon, Shampoo, SOAP, Adam-mini; \
            validation loss. Authors' log: Nano NSISA 3.638 at step 5100.",
        our_setting: format!(
            "{setting}, on the public-domain corpora's GPT-2 tokens (`cargo xtask data text`; \
             FineWeb is not obtainable here), so losses are not comparable with FineWeb's; \
             AdamW, Muon and NSISA (Shampoo, SOAP and Adam-mini are not implemented); {} seed(s).",
            ctx.seeds.len()
        ),
        metric: Metric {
            field: "val_loss",
            title: "final validation loss",
            goal: Goal::Min,
            scale: 1.0,
            digits: 3,
        },
        honest: None,
        cells: vec![Cell {
            label: format!("GPT-2 `{preset}`"),
            dir: ctx.runs.join(&domain),
            groups: g,
            seeds: ctx.seeds.clone(),
            jobs: vec![job],
            claims: vec![Claim::best("nsisa", &LLM)],
            probe: Some(probe),
        }],
        unjudged: ctx.unjudged(),
        unavailable: None,
    }
}

/// Table 7: optimizer memory, read from the pre-training runs (no runs of its own).
fn memory(ctx: &Ctx) -> Experiment {
    let (preset, _, _) = llm_scale(ctx.scale);
    let g = with_paper(
        with_paper(
            with_paper(groups(&LLM), "nsisa", "24,784 MiB"),
            "adamw",
            "22,996 MiB (Adam)",
        ),
        "muon",
        "22,998 MiB",
    );
    Experiment {
        key: "memory",
        title: "Table 7: optimizer memory",
        paper_setting: "Peak GPU memory of the Nano / Medium / XL pre-training runs. Nano: NSISA \
            24,784 MiB, Adam 22,996, Muon 22,998, Shampoo 24,336, SOAP 26,432, Adam-mini 22,996.",
        our_setting: format!(
            "The optimizer state of the `{preset}` pre-training runs (the `llm-pretrain` \
             experiment's folders), in parameter-sized buffers (`optimizer_state_buffers`) and MiB \
             (`optimizer_state_bytes`), as `Optimizer::footprint` counts them; the embeddings' \
             AdamW state included."
        ),
        metric: Metric {
            field: "optimizer_state_buffers",
            title: "optimizer state (× parameters)",
            goal: Goal::Min,
            scale: 1.0,
            digits: 2,
        },
        honest: Some(Metric {
            field: "optimizer_state_bytes",
            title: "optimizer state (MiB)",
            goal: Goal::Min,
            scale: 1.0 / (1024.0 * 1024.0),
            digits: 2,
        }),
        cells: vec![Cell {
            label: format!("GPT-2 `{preset}`"),
            dir: ctx.runs.join(format!("llm-{preset}")),
            groups: g,
            seeds: ctx.seeds.clone(),
            jobs: Vec::new(),
            claims: Vec::new(),
            probe: None,
        }],
        unjudged: Some(
            "the paper's figure is peak GPU memory of a whole run (activations included) on \
             4 × H100; the state size is exact here but is not the same quantity"
                .into(),
        ),
        unavailable: None,
    }
}

/// One task of Fig. 7.
#[derive(Debug, Clone, Copy)]
struct RlTask {
    /// `ppo` or `a2c`.
    algo: &'static str,
    /// The `--env` id.
    env: &'static str,
    /// The domain folder's short name.
    short: &'static str,
    /// The cell label.
    label: &'static str,
    /// Tianshou's published Adam figure at 1M steps.
    published: &'static str,
}

impl RlTask {
    /// `rl` with the paper's protocol: one run `<runs>/<domain>/<optimizer>-seed<seed>` of
    /// `steps` steps, one torch thread.
    fn command(
        &self,
        optimizer: &str,
        seed: u64,
        steps: u64,
        eval_every: u64,
        runs: &Path,
        domain: &str,
    ) -> Vec<String> {
        let mut args = strings(&[
            "rl",
            "--algo",
            self.algo,
            "--env",
            self.env,
            "--protocol",
            "paper",
            "--optimizer",
            optimizer,
            "--seed",
            &seed.to_string(),
            "--name",
            &format!("{optimizer}-seed{seed}"),
            "--steps",
            &steps.to_string(),
            "--eval-every",
            &eval_every.to_string(),
            "--threads",
            "1",
            "--runs",
        ]);
        args.push(runs.display().to_string());
        args.extend(strings(&["--domain", domain]));
        args
    }
}

/// Fig. 7's four tasks, the cheap A2C ones first (minutes per run) so that an interrupted
/// suite has them.
const RL_TASKS: [RlTask; 4] = [
    RlTask {
        algo: "a2c",
        env: "inverteddoublependulum",
        short: "idp",
        label: "A2C InvertedDoublePendulum-v5",
        published: "9258 (Tianshou A2C, Adam, 1M)",
    },
    RlTask {
        algo: "a2c",
        env: "halfcheetah",
        short: "halfcheetah",
        label: "A2C HalfCheetah-v5",
        published: "1830 (Tianshou A2C, Adam, 1M)",
    },
    RlTask {
        algo: "ppo",
        env: "ant",
        short: "ant",
        label: "PPO Ant-v5",
        published: "3258 (Tianshou PPO, Adam, 1M)",
    },
    RlTask {
        algo: "ppo",
        env: "humanoid",
        short: "humanoid",
        label: "PPO Humanoid-v5",
        published: "787 (Tianshou PPO, Adam, 1M)",
    },
];

/// Fig. 7's optimizers.
const RL: [&str; 2] = ["adam", "sisa"];

/// Fig. 7: PPO / A2C on MuJoCo.
fn rl(ctx: &Ctx) -> Experiment {
    let (tasks, steps, eval_every, setting): (&[RlTask], u64, u64, &str) = match ctx.scale {
        Scale::Smoke => (&RL_TASKS[..1], 4000, 2000, "A2C InvertedDoublePendulum only, 4,000 steps, evaluated every 2,000"),
        // PPO Ant and Humanoid take 16 and 23 min per 1M-step run here (measured by the dry
        // run): the cpu preset keeps the two A2C tasks (~5 min per run).
        Scale::Cpu => (&RL_TASKS[..2], 1_000_000, 30_000, "A2C InvertedDoublePendulum and HalfCheetah (the PPO tasks are in the gpu preset), 1M steps, 10 test episodes every 30,000 steps"),
        Scale::Gpu => (&RL_TASKS, 1_000_000, 30_000, "the four tasks, 1M steps, 10 test episodes every 30,000 steps (RL runs on CPU threads at every preset)"),
    };
    let mut cells = Vec::new();
    for task in tasks {
        let domain = format!("rl-{}-{}", task.algo, task.short);
        let dir = ctx.runs.join(&domain);
        let mut jobs = Vec::new();
        for optimizer in RL {
            for seed in &ctx.seeds {
                let name = format!("{optimizer}-seed{seed}");
                jobs.push(Job {
                    action: Action::Xtask(
                        task.command(optimizer, *seed, steps, eval_every, &ctx.runs, &domain),
                    ),
                    runs: vec![dir.join(&name)],
                    resume_flag: true,
                });
            }
        }
        // Then the comparison plots (mean ± std over seeds of the test return).
        let mut compare = strings(&["report"]);
        compare.push(dir.display().to_string());
        compare.extend(strings(&[
            "--compare",
            &RL.join(","),
            "--metric",
            "eval/return",
            "--goal",
            "max",
        ]));
        jobs.push(Job {
            action: Action::Xtask(compare),
            runs: Vec::new(),
            resume_flag: false,
        });
        // 10k and 40k steps, evaluated every `eval_every` (and at the end) as the full run.
        let probe = ctx.probe(
            [10_000, 40_000],
            steps as f64,
            1.0,
            &domain,
            "sisa-seed0",
            |length, runs| task.command("sisa", 0, length, eval_every, runs, &domain),
        );
        cells.push(Cell {
            label: task.label.to_string(),
            dir,
            groups: with_paper(groups(&RL), "adam", task.published),
            seeds: ctx.seeds.clone(),
            jobs,
            claims: vec![Claim::beats("sisa", "adam")],
            probe: Some(probe),
        });
    }
    Experiment {
        key: "rl",
        title: "Fig. 7: reinforcement learning (MuJoCo)",
        paper_setting: "Tianshou's MuJoCo examples with Adam replaced by SISA: PPO on Ant and \
            Humanoid, A2C on HalfCheetah and InvertedDoublePendulum, 1M steps, test return over \
            10 episodes every 30k steps, SISA state re-initialized at every update. Paper: SISA \
            above Adam on all four (curves only).",
        our_setting: format!(
            "{setting}; MuJoCo 3.17 with Gymnasium's v5 XML, `--protocol paper` (Tianshou's \
             settings, the paper's per-task σ/lr, SISA state rebuilt at every update); {} seed(s). \
             The paper column holds Tianshou's published Adam figure (the maximum over training of \
             the mean test return).",
            ctx.seeds.len()
        ),
        metric: Metric {
            field: "best_eval_return",
            title: "best test return (Tianshou's metric)",
            goal: Goal::Max,
            scale: 1.0,
            digits: 0,
        },
        honest: Some(Metric {
            field: "final_eval_return",
            title: "final test return",
            goal: Goal::Max,
            scale: 1.0,
            digits: 0,
        }),
        cells,
        unjudged: ctx.unjudged(),
        unavailable: None,
    }
}

/// Table 8's optimizers.
const LSTM: [&str; 3] = ["adam", "adabelief", "sisa"];

/// Table 8: AWD-LSTM perplexity.
fn lstm(ctx: &Ctx) -> Experiment {
    // (layers, epochs, windows per epoch (None: all), the other flags, in words)
    let (layers, epochs, windows, rest, setting): (&[usize], u64, Option<u64>, &[&str], &str) = match ctx.scale {
        Scale::Smoke => (
            &[1],
            1,
            Some(4),
            &["--emb", "32", "--hidden", "64", "--eval-tokens", "2000", "--test-batch", "10", "--threads", "1"],
            "1 layer, emb 32, hidden 64, 4 windows, perplexity on 2,000 tokens",
        ),
        // The 3-layer model takes ~10 s per window here: the cpu preset stops at 2 layers.
        Scale::Cpu => (
            &[1, 2],
            2,
            Some(20),
            &["--emb", "200", "--eval-tokens", "5000", "--test-batch", "10", "--threads", "1"],
            "1 and 2 layers (3 in the gpu preset), emb 200 (tied), hidden 1150, 2 epochs of 20 windows (~6 % of one epoch), perplexity on the first 5,000 validation/test tokens",
        ),
        Scale::Gpu => (
            &[1, 2, 3],
            200,
            None,
            &[],
            "1, 2 and 3 layers, the full AWD-LSTM (emb 400, hidden 1150), 200 epochs on CUDA",
        ),
    };
    let flags = |epochs: u64, windows: Option<u64>| {
        let mut f = strings(&["--epochs", &epochs.to_string()]);
        if let Some(n) = windows {
            f.extend(strings(&["--max-windows", &n.to_string()]));
        }
        f.extend(strings(rest));
        f
    };
    let paper = [(1, "84.27"), (2, "66.23"), (3, "61.04")];
    let adabelief = [
        (1, "84.21 (published)"),
        (2, "66.29 (published)"),
        (3, "61.24 (published)"),
    ];
    let mut cells = Vec::new();
    for l in layers {
        let domain = format!("lstm-{l}");
        let layers_arg = l.to_string();
        let head = ["lstm", "--layers", &layers_arg];
        let lookup =
            |table: &[(usize, &'static str)]| table.iter().find(|(k, _)| k == l).map_or("", |(_, v)| *v);
        let g = with_paper(
            with_paper(groups(&LSTM), "sisa", lookup(&paper)),
            "adabelief",
            lookup(&adabelief),
        );
        // PTB's training split is ~664 windows of 20 × 70 tokens.
        let per_epoch = windows.unwrap_or(664) as f64;
        cells.push(Cell {
            label: format!("{l}-layer"),
            dir: ctx.runs.join(&domain),
            groups: g,
            seeds: ctx.seeds.clone(),
            jobs: vec![ctx.compare_job(&head, &LSTM, "--runs", &domain, &flags(epochs, windows))],
            claims: vec![Claim::best("sisa", &LSTM)],
            // One epoch of 2 and 6 windows, evaluated as the full run.
            probe: Some(ctx.compare_probe(
                ([2, 6], per_epoch, epochs as f64),
                &head,
                "sisa",
                "--runs",
                &domain,
                |n| flags(1, Some(n)),
            )),
        });
    }
    Experiment {
        key: "lstm",
        title: "Table 8: AWD-LSTM language models, test perplexity",
        paper_setting: "AWD-LSTM (emb 400, hidden 1150) with 1, 2 and 3 layers on Penn Treebank, \
            200 epochs, batch 20, BPTT 70, SISA m = 4 against Adam and AdaBelief (AdaBelief-repo \
            settings); test perplexity. Repo logs (SISA): 84.27 / 66.23 / 61.04.",
        our_setting: format!(
            "{setting}; the PTB-like corpus built from public-domain texts (`cargo xtask data \
             ptb-like`; Penn Treebank is not obtainable here), so perplexities are not comparable \
             with PTB's; {} seed(s).",
            ctx.seeds.len()
        ),
        metric: Metric {
            field: "best_test_ppl",
            title: "best test perplexity over epochs (paper's protocol)",
            goal: Goal::Min,
            scale: 1.0,
            digits: 2,
        },
        honest: Some(Metric {
            field: "test_ppl_at_best_valid",
            title: "test perplexity at the best validation epoch (honest)",
            goal: Goal::Min,
            scale: 1.0,
            digits: 2,
        }),
        cells,
        unjudged: ctx.unjudged(),
        unavailable: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_planned_once_in_order() {
        for scale in [Scale::Smoke, Scale::Cpu, Scale::Gpu] {
            let plan = plan(scale, None, 1, Path::new("/r"));
            let keys: Vec<&str> = plan.iter().map(|e| e.key).collect();
            assert_eq!(keys, KEYS, "{scale:?}");
            for e in &plan {
                for cell in &e.cells {
                    assert!(cell.dir.starts_with("/r/runs"), "{}", cell.dir.display());
                    for job in &cell.jobs {
                        let comparison = matches!(&job.action, Action::Xtask(a) if a[0] == "report");
                        assert_eq!(job.runs.is_empty(), comparison, "{}", e.key);
                        for run in &job.runs {
                            assert!(run.starts_with(&cell.dir), "{}", run.display());
                            let name = run.file_name().unwrap().to_string_lossy().into_owned();
                            assert!(cell.run_names().contains(&name), "{name} of {}", e.key);
                        }
                    }
                    // Every claim names planned groups.
                    for claim in &cell.claims {
                        let named = match claim {
                            Claim::Best { group, among } => [vec![group.clone()], among.clone()].concat(),
                            Claim::Beats { winner, loser } => vec![winner.clone(), loser.clone()],
                            Claim::Reaches { group, .. } => vec![group.clone()],
                        };
                        for g in named {
                            assert!(cell.groups.iter().any(|x| x.name == g), "{g} in {}", e.key);
                        }
                    }
                    if let Some(p) = &cell.probe {
                        for job in &p.jobs {
                            assert!(job.runs[0].starts_with("/r/probe"), "{}", job.runs[0].display());
                        }
                        assert!(p.lengths[0] < p.lengths[1] && p.full > 0.0 && p.repeats >= 1.0);
                    }
                }
            }
        }
    }

    #[test]
    fn the_estimate_fits_a_fixed_and_a_per_unit_cost() {
        let probe = |full, repeats| Probe {
            jobs: [0, 1].map(|_| Job {
                action: Action::Xtask(Vec::new()),
                runs: Vec::new(),
                resume_flag: false,
            }),
            lengths: [10.0, 40.0],
            full,
            repeats,
        };
        // 5 s of start-up, 0.5 s per unit: 10 units 10 s, 40 units 25 s; 1000 units 505 s.
        assert_eq!(probe(1000.0, 1.0).estimate([10.0, 25.0]), Some(505.0));
        assert_eq!(probe(1000.0, 3.0).estimate([10.0, 25.0]), Some(1515.0));
        // A longer probe that ran faster: the first paid a one-time cost; the longer alone,
        // proportional (9 s for 40 units: 225 s for 1000).
        assert_eq!(probe(1000.0, 1.0).estimate([10.0, 9.0]), Some(225.0));
        assert_eq!(probe(1000.0, 1.0).estimate([f64::NAN, 9.0]), None);
    }

    #[test]
    fn seeds_and_scales_shape_the_runs() {
        let smoke = plan(Scale::Smoke, None, 1, Path::new("/r"));
        let het = &smoke[1];
        assert_eq!(het.cells[0].run_names().len(), FED.len());
        assert!(het.unjudged.is_some());
        assert!(
            smoke[0].unjudged.is_none(),
            "least squares is judged at every scale"
        );
        let cpu = plan(Scale::Cpu, Some(2), 1, Path::new("/r"));
        let Action::Xtask(args) = &cpu[1].cells[0].jobs[0].action else {
            panic!("fed runs through xtask")
        };
        let seeds = args.iter().position(|a| a == "--seeds").unwrap();
        assert_eq!(args[seeds + 1], "2");
        assert!(!args.contains(&"cuda".to_string()));
        let gpu = plan(Scale::Gpu, None, 1, Path::new("/r"));
        let Action::Xtask(args) = &gpu[2].cells[1].jobs[0].action else {
            panic!("vision runs through xtask")
        };
        assert!(args.ends_with(&strings(&["--device", "cuda"])), "{args:?}");
        // RL: one job per run, resumed by flag.
        let rl = &cpu[7];
        // The cpu preset keeps the two A2C tasks; the gpu preset has all four.
        assert_eq!((rl.cells.len(), gpu[7].cells.len()), (2, 4));
        let (runs, compare) = rl.cells[0].jobs.split_at(RL.len() * 2);
        assert!(runs.iter().all(|j| j.resume_flag && j.runs.len() == 1));
        // The comparison comes last, after every run of the cell.
        assert!(matches!(compare, [Job { action: Action::Xtask(a), .. }] if a[0] == "report"));
        assert!(cpu[4].unavailable.is_some());
        // Several GPUs: the federated runs spread their 10 clients over up to that many ranks
        // (a divisor of 10), nothing at the CPU scale.
        for (gpus, nproc) in [
            (1, None),
            (2, Some("2")),
            (4, Some("2")),
            (8, Some("5")),
            (16, Some("10")),
        ] {
            let Action::Xtask(args) =
                &plan(Scale::Gpu, None, gpus, Path::new("/r"))[1].cells[0].jobs[0].action
            else {
                panic!("fed runs through xtask")
            };
            let at = args.iter().position(|a| a == "--nproc");
            assert_eq!(at.map(|k| args[k + 1].as_str()), nproc, "{gpus} GPUs");
        }
        let Action::Xtask(args) = &plan(Scale::Cpu, None, 8, Path::new("/r"))[1].cells[0].jobs[0].action
        else {
            panic!("fed runs through xtask")
        };
        assert!(!args.contains(&"--nproc".to_string()));
    }
}
