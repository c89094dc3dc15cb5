//! TensorBoard event files from Rust: a [`SummaryWriter`] for scalars, PNG images, histograms,
//! Markdown text and hyperparameters, and a reader that checks every record's CRCs.
//!
//! The files are the ones TensorFlow and `torch.utils.tensorboard` write: TFRecord framing
//! with masked CRC32C ([`record`]) around `tensorboard.Event` protobuf messages ([`proto`],
//! declared with `prost` derive, field numbers checked against TensorBoard 2.21.0). TensorBoard
//! itself (PyPI `tensorboard`, no TensorFlow needed) reads every kind of record written here;
//! `tests/read_back.rs` checks that with its `EventAccumulator`.
//!
//! Why not the `tensorboard-rs` crate: its images come out transposed for non-square inputs,
//! its text and hparams summaries panic, and it depends on `protobuf` 2, which has a security
//! advisory.
//!
//! # Example
//!
//! ```
//! use tfevents::{read_events, SummaryWriter};
//!
//! # fn main() -> Result<(), tfevents::Error> {
//! let dir = tempfile::tempdir().unwrap();
//! let mut w = SummaryWriter::new(dir.path().join("run-1"))?;
//! for step in 0..3 {
//!     w.add_scalar("train/loss", 1.0 / (step + 1) as f64, step)?;
//! }
//! // A 2-row, 3-column RGB image, rows top first.
//! let pixels = [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 128, 128, 128, 255, 255, 255];
//! w.add_image("samples", &pixels, 2, 3, 3, 2)?;
//! w.add_histogram("weights", &[0.1_f32, -0.2, 0.3], 2)?;
//! w.add_text("notes", "**SISA**, m = 4 nodes", 0)?;
//! w.add_hparams([("lr", 1e-3.into()), ("optimizer", "sisa".into())], [("hparam/accuracy", 0.98)], Some("hp"))?;
//! w.flush()?;
//!
//! // file_version + 3 scalars + image + histogram + text
//! let events = read_events(w.file_path())?;
//! assert_eq!(events.len(), 7);
//! # Ok(())
//! # }
//! ```
//!
//! Then `tensorboard --logdir <dir>` shows the run `run-1` and its hparams run `run-1/hp`.
#![warn(missing_docs)]

mod error;
pub mod proto;
mod reader;
pub mod record;
pub mod summaries;
mod writer;

pub use error::{Error, Result};
pub use reader::{event_files, read_events, EventReader};
pub use record::{masked_crc32c, read_records, write_record, RecordReader};
pub use summaries::{HParamValue, HistogramBins};
pub use writer::{EventFileWriter, SummaryWriter, WriterOptions, FILE_VERSION};
