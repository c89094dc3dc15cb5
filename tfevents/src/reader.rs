//! Reading event files back: [`EventReader`] and [`read_events`].

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use prost::Message;

use crate::error::{io_err, Error, Result};
use crate::proto::Event;
use crate::record::RecordReader;

/// Decodes [`Event`]s from framed records, checking both CRCs of each.
///
/// A partial last record is reported as [`Error::Truncated`] (see [`RecordReader`]); iteration
/// stops after the first error.
pub struct EventReader<R> {
    records: RecordReader<R>,
    path: PathBuf,
}

impl EventReader<BufReader<std::fs::File>> {
    /// Opens the event file at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] if it can't be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(io_err("open", path))?;
        Ok(Self::new(BufReader::new(file), path))
    }
}

impl<R: Read> EventReader<R> {
    /// Reads events from `inner`; `path` names the source in error messages.
    pub fn new(inner: R, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Self {
            records: RecordReader::new(inner, path.clone()),
            path,
        }
    }

    /// The next event, `Ok(None)` at a clean end of file.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadCrc`], [`Error::Decode`] or [`Error::Io`].
    pub fn read_event(&mut self) -> Result<Option<Event>> {
        let offset = self.records.offset();
        let Some(data) = self.records.read_record()? else {
            return Ok(None);
        };
        Event::decode(&data[..])
            .map(Some)
            .map_err(|source| Error::Decode {
                path: self.path.clone(),
                offset,
                source,
            })
    }
}

impl<R: Read> Iterator for EventReader<R> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_event().transpose()
    }
}

/// Reads every event of the event file at `path`, the `file_version` event first.
///
/// Strict: a file that ends inside a record is an error ([`Error::Truncated`]), as is a bad CRC
/// ([`Error::BadCrc`]) or an undecodable record ([`Error::Decode`]). (TensorBoard's loader
/// instead stops quietly at a partial last record, expecting the writer to finish it; a finished
/// file written by [`SummaryWriter`](crate::SummaryWriter) never ends so.)
///
/// # Errors
/// As above, and [`Error::Io`] if the file can't be read.
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<Event>> {
    EventReader::open(path)?.collect()
}

/// The event files directly in `dir` (names containing `tfevents`, as TensorBoard selects
/// them), sorted by name, which orders them by creation time.
///
/// # Errors
/// [`Error::Io`] if the directory can't be listed.
pub fn event_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let is_file = entry.file_type().map_err(io_err("stat", entry.path()))?.is_file();
        if is_file && entry.file_name().to_string_lossy().contains("tfevents") {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}
