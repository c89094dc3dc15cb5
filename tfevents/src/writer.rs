//! Event files: [`EventFileWriter`] (framing, file naming, flushing) and [`SummaryWriter`] (the
//! `add_*` API of `torch.utils.tensorboard.SummaryWriter`).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::error::{io_err, Error, Result};
use crate::proto::{event::What, Event, Summary};
use crate::record::write_record;
use crate::summaries::{self, HParamValue, HistogramBins};

/// The `file_version` of the first event of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// When buffered records reach the file, and how files are named.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Flush when a write comes at least this long after the last flush. Default 2 s.
    ///
    /// Checked at each write (there is no background thread), so a writer that goes quiet keeps
    /// at most the records of its last `flush_interval` unflushed, until its next write,
    /// [`flush`](EventFileWriter::flush) or drop.
    pub flush_interval: Duration,
    /// Flush once this many records are buffered. Default 100; 1 flushes every record.
    pub max_pending_records: usize,
    /// Appended to the file name (e.g. `".v2"`). Default empty.
    pub filename_suffix: String,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_secs(2),
            max_pending_records: 100,
            filename_suffix: String::new(),
        }
    }
}

/// Distinguishes files created by this process in the same second.
static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

fn hostname() -> String {
    let raw = gethostname::gethostname().to_string_lossy().into_owned();
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "localhost".to_owned()
    } else {
        clean
    }
}

/// Writes [`Event`]s, framed, to a new file
/// `events.out.tfevents.<unix seconds>.<hostname>.<pid>.<counter><suffix>` in a log directory.
///
/// The first record is the `file_version` event. Records go through a buffer that is flushed
/// as [`WriterOptions`] says, on [`flush`](Self::flush), and on drop.
pub struct EventFileWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pending: usize,
    last_flush: Instant,
    options: WriterOptions,
}

impl EventFileWriter {
    /// Creates `logdir` (and its parents) if needed and a new event file in it.
    ///
    /// # Errors
    /// [`Error::Io`] with the directory's or file's path.
    pub fn create(logdir: impl AsRef<Path>, options: WriterOptions) -> Result<Self> {
        let logdir = logdir.as_ref();
        fs::create_dir_all(logdir).map_err(io_err("create log directory", logdir))?;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (host, pid) = (hostname(), std::process::id());
        let (path, file) = loop {
            let counter = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(
                "events.out.tfevents.{secs:010}.{host}.{pid}.{counter}{}",
                options.filename_suffix
            );
            let path = logdir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err("create event file", path)(e)),
            }
        };
        let mut writer = Self {
            path,
            out: BufWriter::new(file),
            pending: 0,
            last_flush: Instant::now(),
            options,
        };
        let first = Event {
            wall_time: now_secs(),
            step: 0,
            what: Some(What::FileVersion(FILE_VERSION.into())),
        };
        writer.write_event(&first)?;
        writer.flush()?;
        Ok(writer)
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event, flushing if the [`WriterOptions`] policy says so.
    ///
    /// # Errors
    /// [`Error::Io`] with the file's path.
    pub fn write_event(&mut self, event: &Event) -> Result<()> {
        write_record(&mut self.out, &event.encode_to_vec()).map_err(io_err("write", &self.path))?;
        self.pending += 1;
        if self.pending >= self.options.max_pending_records
            || self.last_flush.elapsed() >= self.options.flush_interval
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes all buffered records to the file.
    ///
    /// # Errors
    /// [`Error::Io`] with the file's path.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(io_err("flush", &self.path))?;
        self.pending = 0;
        self.last_flush = Instant::now();
        Ok(())
    }
}

impl Drop for EventFileWriter {
    fn drop(&mut self) {
        // Errors can't be returned from drop; call `flush` first to see them.
        let _ = self.out.flush();
    }
}

impl std::fmt::Debug for EventFileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFileWriter")
            .field("path", &self.path)
            .field("pending", &self.pending)
            .finish()
    }
}

/// Writes TensorBoard summaries to one event file in a log directory (one TensorBoard "run").
///
/// Each `add_*` call writes one event with the current wall time and the given step. Buffered
/// records are flushed periodically (see [`WriterOptions`]), on [`flush`](Self::flush) and on
/// drop.
#[derive(Debug)]
pub struct SummaryWriter {
    logdir: PathBuf,
    events: EventFileWriter,
}

impl SummaryWriter {
    /// A writer with default [`WriterOptions`] into a new event file in `logdir` (created if
    /// needed).
    ///
    /// # Errors
    /// [`Error::Io`] if the directory or file can't be created.
    pub fn new(logdir: impl AsRef<Path>) -> Result<Self> {
        Self::with_options(logdir, WriterOptions::default())
    }

    /// A writer with the given options.
    ///
    /// # Errors
    /// [`Error::Io`] if the directory or file can't be created.
    pub fn with_options(logdir: impl AsRef<Path>, options: WriterOptions) -> Result<Self> {
        let logdir = logdir.as_ref().to_path_buf();
        let events = EventFileWriter::create(&logdir, options)?;
        Ok(Self { logdir, events })
    }

    /// The log directory.
    pub fn logdir(&self) -> &Path {
        &self.logdir
    }

    /// The event file being written.
    pub fn file_path(&self) -> &Path {
        self.events.path()
    }

    /// Appends a prebuilt event as it is (step and wall time included): for carrying events
    /// over from another event file, e.g. when a resumed run rewrites its log.
    ///
    /// # Errors
    /// [`Error::Io`] with the file's path.
    pub fn write_event(&mut self, event: &Event) -> Result<()> {
        self.events.write_event(event)
    }

    /// Writes a prebuilt summary (see [`summaries`]) as one event.
    ///
    /// # Errors
    /// [`Error::Io`] with the file's path.
    pub fn add_summary(&mut self, summary: Summary, step: i64) -> Result<()> {
        let event = Event {
            wall_time: now_secs(),
            step,
            what: Some(What::Summary(summary)),
        };
        self.events.write_event(&event)
    }

    /// Logs a scalar. The format stores it as f32 (`simple_value`), so an f64 is rounded.
    ///
    /// # Errors
    /// [`Error::Io`] with the file's path.
    pub fn add_scalar(&mut self, tag: &str, value: impl Into<f64>, step: i64) -> Result<()> {
        self.add_summary(summaries::scalar(tag, value.into() as f32), step)
    }

    /// Logs an image given as 8-bit pixels in row-major HWC order (row 0 at the top; 1, 2, 3
    /// or 4 channels: gray, gray + alpha, RGB, RGBA), encoded as PNG.
    ///
    /// # Errors
    /// [`Error::InvalidImage`] if `data` doesn't match the shape; [`Error::Png`];
    /// [`Error::Io`].
    pub fn add_image(
        &mut self,
        tag: &str,
        data: &[u8],
        height: usize,
        width: usize,
        channels: usize,
        step: i64,
    ) -> Result<()> {
        self.add_summary(summaries::image(tag, data, height, width, channels)?, step)
    }

    /// Logs a histogram of `values` with TensorFlow's default exponential buckets
    /// ([`HistogramBins::TensorFlow`]).
    ///
    /// # Errors
    /// [`Error::InvalidHistogram`] for no values or a NaN/infinite one; [`Error::Io`].
    pub fn add_histogram<T: Copy + Into<f64>>(&mut self, tag: &str, values: &[T], step: i64) -> Result<()> {
        self.add_histogram_with_bins(tag, values, HistogramBins::TensorFlow, step)
    }

    /// Logs a histogram of `values` with the given bucket scheme.
    ///
    /// # Errors
    /// As [`add_histogram`](Self::add_histogram), and for `EqualWidth(0)`.
    pub fn add_histogram_with_bins<T: Copy + Into<f64>>(
        &mut self,
        tag: &str,
        values: &[T],
        bins: HistogramBins,
        step: i64,
    ) -> Result<()> {
        self.add_summary(summaries::histogram(tag, values, bins)?, step)
    }

    /// Logs Markdown text (TensorBoard's text dashboard renders it).
    ///
    /// # Errors
    /// [`Error::Io`] with the file's path.
    pub fn add_text(&mut self, tag: &str, markdown: &str, step: i64) -> Result<()> {
        self.add_summary(summaries::text(tag, markdown), step)
    }

    /// Records a run's hyperparameters and final metrics for TensorBoard's HPARAMS dashboard,
    /// as `torch.utils.tensorboard.SummaryWriter.add_hparams` does: in a new writer on the
    /// subdirectory run `<logdir>/<run_name>`, the experiment, session-start and session-end
    /// records, then each metric as a scalar with its tag, all at step 0. The dashboard shows
    /// the session with those metric values.
    ///
    /// Values convert with `.into()` from numbers, `bool`, `&str` and `String`.
    /// `run_name` defaults to the current Unix time with microseconds (torch uses
    /// `str(time.time())`). Returns the subdirectory's path.
    ///
    /// # Errors
    /// [`Error::InvalidRunName`] if `run_name` is empty, absolute or contains `..`;
    /// [`Error::Io`].
    pub fn add_hparams<K, M>(
        &mut self,
        hparams: impl IntoIterator<Item = (K, HParamValue)>,
        metrics: impl IntoIterator<Item = (M, f64)>,
        run_name: Option<&str>,
    ) -> Result<PathBuf>
    where
        K: Into<String>,
        M: Into<String>,
    {
        let time = now_secs();
        let run_name = run_name.map_or_else(|| format!("{time:.6}"), str::to_owned);
        let plain = !run_name.is_empty()
            && Path::new(&run_name)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(Error::InvalidRunName(run_name));
        }
        let hparams: Vec<(String, HParamValue)> = hparams.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let metrics: Vec<(String, f64)> = metrics.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let tags: Vec<String> = metrics.iter().map(|(k, _)| k.clone()).collect();

        let dir = self.logdir.join(&run_name);
        let mut sub = SummaryWriter::with_options(&dir, self.events.options.clone())?;
        for summary in summaries::hparams(&hparams, &tags, time) {
            sub.add_summary(summary, 0)?;
        }
        for (tag, value) in &metrics {
            sub.add_scalar(tag, *value, 0)?;
        }
        sub.flush()?;
        Ok(dir)
    }

    /// Writes all buffered records to the file.
    ///
    /// # Errors
    /// [`Error::Io`] with the file's path.
    pub fn flush(&mut self) -> Result<()> {
        self.events.flush()
    }
}
