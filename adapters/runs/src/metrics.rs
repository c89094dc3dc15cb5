//! One call logs a step's metrics everywhere: the run's `metrics.csv` and its TensorBoard
//! event file (`tb/`), so a run can be watched live (`tensorboard --logdir runs`) and plotted
//! or compared afterwards.

use crate::run::{MetricsLog, RunDir, RunError};
use tfevents::SummaryWriter;

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
    /// Opens the run's logs for the metric `columns` (see [`MetricsLog::open`] for resuming).
    ///
    /// # Errors
    /// [`MetricsError`] when a file cannot be created.
    pub fn open(run: &RunDir, columns: &[&str], resume_step: Option<u64>) -> Result<Self, MetricsError> {
        Ok(Recorder {
            csv: MetricsLog::open(&run.metrics_path(), columns, resume_step)?,
            tensorboard: SummaryWriter::new(run.tensorboard())?,
        })
    }

    /// Logs `values` at `step` (TensorBoard tags are the metric names, e.g. `train/loss`).
    ///
    /// # Errors
    /// [`MetricsError`] when a write fails.
    pub fn record(&mut self, step: u64, values: &[(&str, f64)]) -> Result<(), MetricsError> {
        self.csv.record(step, values)?;
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
                Some(tfevents::proto::event::What::Summary(s)) => match &s.value[0].value {
                    Some(tfevents::proto::summary::value::Value::SimpleValue(v)) => Some((e.step, *v)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(scalars, [(1, 0.5), (2, 0.25)]);
    }
}
