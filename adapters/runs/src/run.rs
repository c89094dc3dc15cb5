//! Run directories: `runs/<domain>/<name>/` with the resolved `config.toml`, `metrics.csv`,
//! `summary.json`, `checkpoints/`, `plots/` and TensorBoard event files under `tb/`.
//!
//! `metrics.csv` has the header `step,wall_time,<metric>,...` and one row per logged step; an
//! empty cell is a metric not measured at that step (the format the `report` crate reads).
//! `wall_time` is seconds since the run started, continued across resumes.

use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Errors of the run machinery.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The run directory already holds a run.
    #[error("{0} already holds a run: pass --resume to continue it, or choose another --name")]
    Exists(PathBuf),
    /// Another process holds the run folder's lock: it is training or resuming this run now.
    #[error("{path} is in use by another process ({holder}); wait for it to end or choose another --name")]
    Locked {
        /// The run folder.
        path: PathBuf,
        /// What the lock file says about its holder (process id and host).
        holder: String,
    },
    /// A resumed run's metrics file has other columns than this run logs.
    #[error(
        "{path}: columns {found:?} differ from this run's {expected:?}; resume with the same configuration"
    )]
    Columns {
        /// The metrics file.
        path: PathBuf,
        /// Its header.
        found: Vec<String>,
        /// This run's columns.
        expected: Vec<String>,
    },
    /// A value could not be serialized.
    #[error("serializing {what}: {message}")]
    Serialize {
        /// What was being written.
        what: &'static str,
        /// The serializer's message.
        message: String,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see a
/// half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

/// The exclusive lock on a run folder: an OS file lock on `<run>/lock` held for as long as the
/// value lives (the OS releases it when the process dies, so a crashed run never blocks its
/// resume). The file names the holder's process id for the message another process gets.
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

impl RunLock {
    /// Takes the lock of the run folder `root`, or names who holds it.
    ///
    /// # Errors
    /// [`RunError::Locked`] when another process holds it, or an I/O error.
    pub fn acquire(root: &Path) -> Result<Self, RunError> {
        let path = root.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        let mut previous = String::new();
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let _ = std::io::Read::read_to_string(&mut file, &mut previous);
                return Err(RunError::Locked {
                    path: root.to_path_buf(),
                    holder: previous.trim().to_string(),
                });
            }
            Err(fs::TryLockError::Error(source)) => return Err(RunError::Io { path, source }),
        }
        std::io::Read::read_to_string(&mut file, &mut previous).map_err(io(&path))?;
        if !previous.trim().is_empty() {
            eprintln!(
                "{}: taking over the lock of {} (that process is gone)",
                root.display(),
                previous.trim()
            );
        }
        let holder = format!("process {} on {}", std::process::id(), hostname());
        file.set_len(0).map_err(io(&path))?;
        std::io::Seek::rewind(&mut file).map_err(io(&path))?;
        file.write_all(holder.as_bytes()).map_err(io(&path))?;
        file.flush().map_err(io(&path))?;
        Ok(RunLock { file })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // An empty file marks a clean release; the OS drops the lock with the handle.
        let _ = self.file.set_len(0);
    }
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this host".into())
}

/// A run's directory, locked for this process while any clone of it lives.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    /// `None` for a run folder another process (rank 0) owns.
    _lock: Option<Arc<RunLock>>,
}

impl RunDir {
    /// Creates `base/<domain>/<name>/` with its sub-folders and takes its [`RunLock`]. An
    /// existing run is refused unless `resume` is set; a run another process holds is refused
    /// always.
    ///
    /// # Errors
    /// [`RunError::Exists`], [`RunError::Locked`] or an I/O error.
    pub fn create(base: &Path, domain: &str, name: &str, resume: bool) -> Result<Self, RunError> {
        let root = base.join(domain).join(name);
        let existed = root.join("metrics.csv").exists();
        if existed && !resume {
            return Err(RunError::Exists(root));
        }
        fs::create_dir_all(&root).map_err(io(&root))?;
        let lock = RunLock::acquire(&root)?;
        let dir = RunDir {
            root,
            _lock: Some(Arc::new(lock)),
        };
        if !existed && dir.metrics_path().exists() && !resume {
            // Another process created the run between the check and the lock.
            return Err(RunError::Exists(dir.root.clone()));
        }
        for sub in [dir.checkpoints(), dir.plots(), dir.tensorboard()] {
            fs::create_dir_all(&sub).map_err(io(&sub))?;
        }
        Ok(dir)
    }

    /// The run folder `base/<domain>/<name>/` that another process owns and has created (rank
    /// 0 of a run spread over processes): nothing is created or locked.
    pub fn of(base: &Path, domain: &str, name: &str) -> Self {
        RunDir {
            root: base.join(domain).join(name),
            _lock: None,
        }
    }

    /// The run's folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `metrics.csv`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }

    /// `summary.json`.
    pub fn summary_path(&self) -> PathBuf {
        self.root.join("summary.json")
    }

    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `plots/`.
    pub fn plots(&self) -> PathBuf {
        self.root.join("plots")
    }

    /// `tb/`, the TensorBoard log directory.
    pub fn tensorboard(&self) -> PathBuf {
        self.root.join("tb")
    }

    /// Writes the resolved configuration as `config.toml`.
    ///
    /// # Errors
    /// [`RunError::Serialize`] when the value has no TOML form, or an I/O error.
    pub fn write_config<T: Serialize>(&self, config: &T) -> Result<(), RunError> {
        let text = toml::to_string_pretty(config).map_err(|e| RunError::Serialize {
            what: "config.toml",
            message: e.to_string(),
        })?;
        write_atomic(&self.root.join("config.toml"), text.as_bytes())
    }
}

impl RunDir {
    /// Writes any serializable summary as `summary.json` (atomically, pretty-printed) and
    /// returns it as one compact JSON line.
    ///
    /// # Errors
    /// [`RunError::Serialize`] or an I/O error.
    pub fn write_summary<T: Serialize>(&self, summary: &T) -> Result<String, RunError> {
        let serialize = |e: serde_json::Error| RunError::Serialize {
            what: "summary.json",
            message: e.to_string(),
        };
        let pretty = serde_json::to_string_pretty(summary).map_err(serialize)?;
        write_atomic(&self.summary_path(), pretty.as_bytes())?;
        serde_json::to_string(summary).map_err(serialize)
    }
}

/// Appends rows to `metrics.csv`.
pub struct MetricsLog {
    out: BufWriter<File>,
    path: PathBuf,
    columns: Vec<String>,
    start: Instant,
    wall_offset: f64,
}

impl MetricsLog {
    /// Opens the log with the metric `columns`. A fresh run writes the header; a resumed run
    /// (`resume_step = Some(k)`) keeps the rows with step ≤ k, drops the later ones (they will be
    /// logged again) and continues the wall-clock from the last kept row.
    ///
    /// # Errors
    /// [`RunError::Columns`] when a resumed file has other columns, or an I/O error.
    pub fn open(path: &Path, columns: &[&str], resume_step: Option<u64>) -> Result<Self, RunError> {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let header = format!("step,wall_time,{}", columns.join(","));
        let mut kept = vec![header.clone()];
        let mut wall_offset = 0.0;
        if let (Some(k), true) = (resume_step, path.exists()) {
            let file = File::open(path).map_err(io(path))?;
            let mut lines = BufReader::new(file).lines();
            let found = lines.next().transpose().map_err(io(path))?.unwrap_or_default();
            if found != header {
                return Err(RunError::Columns {
                    path: path.to_path_buf(),
                    found: found.split(',').skip(2).map(str::to_string).collect(),
                    expected: columns,
                });
            }
            for line in lines {
                let line = line.map_err(io(path))?;
                let mut cells = line.split(',');
                let step: Option<u64> = cells.next().and_then(|s| s.parse().ok());
                if step.is_some_and(|s| s <= k) {
                    wall_offset = cells.next().and_then(|s| s.parse().ok()).unwrap_or(wall_offset);
                    kept.push(line);
                }
            }
        }
        let mut text = kept.join("\n");
        text.push('\n');
        write_atomic(path, text.as_bytes())?;
        let file = OpenOptions::new().append(true).open(path).map_err(io(path))?;
        Ok(MetricsLog {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
            columns,
            start: Instant::now(),
            wall_offset,
        })
    }

    /// Seconds since the run started (continued across resumes).
    pub fn wall_time(&self) -> f64 {
        self.wall_offset + self.start.elapsed().as_secs_f64()
    }

    /// Logs `values` (metric name, value) at `step`; metrics not named stay empty. Unknown names
    /// are ignored with a warning on stderr, once per row.
    ///
    /// # Errors
    /// An I/O error.
    pub fn record(&mut self, step: u64, values: &[(&str, f64)]) -> Result<(), RunError> {
        if let Some((unknown, _)) = values.iter().find(|(n, _)| !self.columns.iter().any(|c| c == n)) {
            eprintln!(
                "metrics: `{unknown}` is not a column of {} and is not logged",
                self.path.display()
            );
        }
        let cells: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                values
                    .iter()
                    .find(|(n, _)| n == c)
                    .map_or(String::new(), |(_, v)| v.to_string())
            })
            .collect();
        writeln!(self.out, "{step},{:.6},{}", self.wall_time(), cells.join(",")).map_err(io(&self.path))
    }

    /// Flushes buffered rows to disk.
    ///
    /// # Errors
    /// An I/O error.
    pub fn flush(&mut self) -> Result<(), RunError> {
        self.out.flush().map_err(io(&self.path))
    }
}

impl Drop for MetricsLog {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dirs_refuse_to_overwrite_and_metrics_resume_cleanly() {
        let base = tempfile::tempdir().unwrap();
        let dir = RunDir::create(base.path(), "mnist", "sisa", false).unwrap();
        assert!(dir.checkpoints().is_dir() && dir.plots().is_dir() && dir.tensorboard().is_dir());
        let mut log = MetricsLog::open(&dir.metrics_path(), &["loss", "acc"], None).unwrap();
        for step in 1..=4 {
            log.record(step, &[("loss", 1.0 / step as f64)]).unwrap();
        }
        log.record(4, &[("acc", 0.5)]).unwrap();
        drop(log);
        assert!(matches!(
            RunDir::create(base.path(), "mnist", "sisa", false),
            Err(RunError::Exists(_))
        ));
        // While `dir` lives its folder is locked: a resume is refused and told who holds it.
        let err = RunDir::create(base.path(), "mnist", "sisa", true).unwrap_err();
        assert!(matches!(err, RunError::Locked { .. }), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        drop(dir);
        let dir = RunDir::create(base.path(), "mnist", "sisa", true).unwrap();

        // Resume from step 2: rows 3 and 4 go, the header stays, new rows append.
        let mut log = MetricsLog::open(&dir.metrics_path(), &["loss", "acc"], Some(2)).unwrap();
        assert!(log.wall_time() >= 0.0);
        log.record(3, &[("loss", 0.3), ("acc", 0.7)]).unwrap();
        drop(log);
        let text = fs::read_to_string(dir.metrics_path()).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(rows[0], ["step", "wall_time", "loss", "acc"]);
        assert_eq!(
            rows.iter().skip(1).map(|r| r[0]).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
        assert_eq!(
            (rows[1][2], rows[1][3]),
            ("1", ""),
            "an unmeasured metric is an empty cell"
        );
        assert_eq!((rows[3][2], rows[3][3]), ("0.3", "0.7"));

        let err = MetricsLog::open(&dir.metrics_path(), &["loss"], Some(2))
            .err()
            .unwrap();
        assert!(matches!(err, RunError::Columns { .. }), "{err}");
    }
}
