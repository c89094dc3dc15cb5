//! One call logs a step's metrics everywhere: the run's `metrics.csv` and its TensorBoard
//! event file (`tb/`), so a run can be watched live (`tensorboard --logdir runs`) and plotted
//! or compared afterwards.
//!
//! Both are written through to disk at every [`Recorder::record`]: whatever was logged before a
//! crash or `kill -9` is on disk. A resumed run keeps the records up to its checkpoint's step
//! in both logs and drops the later ones (they will be logged again), so each step appears once:
//! the CSV is rewritten in place, and the TensorBoard events of the earlier files are copied
//! into the new event file before those files are removed.

use std::path::Path;
use std::time::Duration;

use crate::run::{MetricsLog, RunDir, RunError};
use tfevents::proto::event::What;
use tfevents::{EventReader, SummaryWriter, WriterOptions};

/// Errors while logging.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Writing `metrics.csv` failed.
    #[error(transparent)]
    Csv(#[from] RunError),
    /// Writing the TensorBoard event file failed.
    #[error("TensorBoard log: {0}")]
    TensorBoard(#[from] tfevents::Error),
}

/// Logs metrics of one run to CSV and TensorBoard.
pub struct Recorder {
    csv: MetricsLog,
    tensorboard: SummaryWriter,
}

impl Recorder {
    /// Opens the run's logs for the metric `columns`. With `resume_step = Some(k)` the records
    /// after step `k` are dropped from both logs (see [`MetricsLog::open`]); `None` or `Some(0)`
    /// starts them over.
    ///
    /// # Errors
    /// [`MetricsError`] when a file cannot be read or created.
    pub fn open(run: &RunDir, columns: &[&str], resume_step: Option<u64>) -> Result<Self, MetricsError> {
        let earlier = tfevents::event_files(run.tensorboard())?;
        let options = WriterOptions {
            flush_interval: Duration::ZERO,
            max_pending_records: 1,
            ..WriterOptions::default()
        };
        let mut tensorboard = SummaryWriter::with_options(run.tensorboard(), options)?;
        for file in &earlier {
            if let Some(k) = resume_step {
                carry_events(file, k, &mut tensorboard)?;
            }
        }
        tensorboard.flush()?;
        for file in &earlier {
            std::fs::remove_file(file).map_err(crate::run::io(file))?;
        }
        Ok(Recorder {
            csv: MetricsLog::open(&run.metrics_path(), columns, resume_step)?,
            tensorboard,
        })
    }

    /// Logs `values` at `step` (TensorBoard tags are the metric names, e.g. `train/loss`) and
    /// writes both logs through to disk.
    ///
    /// # Errors
    /// [`MetricsError`] when a write fails.
    pub fn record(&mut self, step: u64, values: &[(&str, f64)]) -> Result<(), MetricsError> {
        self.csv.record(step, values)?;
        self.csv.flush()?;
        for (name, value) in values {
            self.tensorboard.add_scalar(name, *value, step as i64)?;
        }
        Ok(())
    }

    /// The TensorBoard writer, for images, histograms, text and hyperparameters.
    pub fn tensorboard(&mut self) -> &mut SummaryWriter {
        &mut self.tensorboard
    }

    /// Seconds since the run started (continued across resumes).
    pub fn wall_time(&self) -> f64 {
        self.csv.wall_time()
    }

    /// Flushes both logs.
    ///
    /// # Errors
    /// [`MetricsError`] when a write fails.
    pub fn flush(&mut self) -> Result<(), MetricsError> {
        self.csv.flush()?;
        self.tensorboard.flush()?;
        Ok(())
    }
}

/// Copies the events of the event file `file` at steps ≤ `last_step` (all but its file-version
/// header) into `into`. A file cut short by a crash is read up to its last whole record.
fn carry_events(file: &Path, last_step: u64, into: &mut SummaryWriter) -> Result<(), MetricsError> {
    for event in EventReader::open(file)? {
        let Ok(event) = event else {
            eprintln!(
                "{}: stopped at a partial record (a crash mid-write)",
                file.display()
            );
            break;
        };
        let header = matches!(event.what, Some(What::FileVersion(_)));
        if !header && event.step >= 0 && event.step as u64 <= last_step {
            into.write_event(&event)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_lands_in_the_csv_and_the_event_file() {
        let base = tempfile::tempdir().unwrap();
        let run = RunDir::create(base.path(), "demo", "r", false).unwrap();
        let mut rec = Recorder::open(&run, &["train/loss"], None).unwrap();
        rec.record(1, &[("train/loss", 0.5)]).unwrap();
        rec.record(2, &[("train/loss", 0.25)]).unwrap();
        rec.flush().unwrap();
        let csv = std::fs::read_to_string(run.metrics_path()).unwrap();
        assert_eq!(csv.lines().count(), 3);
        let files = tfevents::event_files(run.tensorboard()).unwrap();
        let events = tfevents::read_events(&files[0]).unwrap();
        let scalars: Vec<(i64, f32)> = events
            .iter()
            .filter_map(|e| match &e.what {
                Some(What::Summary(s)) => match &s.value[0].value {
                    Some(tfevents::proto::summary::value::Value::SimpleValue(v)) => Some((e.step, *v)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(scalars, [(1, 0.5), (2, 0.25)]);

        // Without a flush or a drop, both records are on disk (a `kill -9` loses nothing).
        rec.record(3, &[("train/loss", 0.125)]).unwrap();
        assert_eq!(
            std::fs::read_to_string(run.metrics_path())
                .unwrap()
                .lines()
                .count(),
            4
        );
        assert_eq!(steps_logged(&run), [1, 2, 3]);
        std::mem::forget(rec);

        // Resumed from step 2: one event file, each step once.
        let mut rec = Recorder::open(&run, &["train/loss"], Some(2)).unwrap();
        rec.record(3, &[("train/loss", 0.2)]).unwrap();
        assert_eq!(tfevents::event_files(run.tensorboard()).unwrap().len(), 1);
        assert_eq!(steps_logged(&run), [1, 2, 3]);
    }

    /// The steps of the scalar events in the run's event files, in file order.
    fn steps_logged(run: &RunDir) -> Vec<i64> {
        let mut steps = Vec::new();
        for file in tfevents::event_files(run.tensorboard()).unwrap() {
            for e in tfevents::read_events(&file).unwrap() {
                if matches!(e.what, Some(What::Summary(_))) {
                    steps.push(e.step);
                }
            }
        }
        steps
    }
}
