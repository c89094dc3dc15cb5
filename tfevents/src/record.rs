//! TFRecord framing, the container format of event files.
//!
//! Each record is
//!
//! | bytes      | content                                   |
//! |------------|-------------------------------------------|
//! | 8          | `len`, the data length, u64 little-endian |
//! | 4          | masked CRC32C of those 8 bytes, u32 LE    |
//! | `len`      | the data (a serialized `Event`)           |
//! | 4          | masked CRC32C of the data, u32 LE         |
//!
//! with `mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8` (wrapping), as in TensorFlow's
//! `tensorflow/core/lib/hash/crc32c.h`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const MASK_DELTA: u32 = 0xa282_ead8;

/// The masked CRC32C (Castagnoli) of `data`, as stored in record headers and trailers.
///
/// ```
/// // The CRC32C check value of "123456789" is 0xe3069283 (RFC 3720, B.4).
/// let crc: u32 = 0xe306_9283;
/// let masked = ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8);
/// assert_eq!(tfevents::masked_crc32c(b"123456789"), masked);
/// ```
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Writes one framed record holding `data`.
///
/// # Errors
/// Whatever `out` returns.
pub fn write_record<W: Write>(out: &mut W, data: &[u8]) -> io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    out.write_all(&len)?;
    out.write_all(&masked_crc32c(&len).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc32c(data).to_le_bytes())
}

/// Reads framed records one by one, checking both CRCs of each.
///
/// A file that ends exactly between records ends the iteration cleanly; one that ends inside a
/// record yields [`Error::Truncated`] (TensorBoard's own loader instead waits for the writer to
/// finish that record; a caller tailing a live file can do the same on that error).
pub struct RecordReader<R> {
    inner: R,
    path: PathBuf,
    offset: u64,
    done: bool,
}

impl<R: Read> RecordReader<R> {
    /// Reads records from `inner`; `path` names the source in error messages.
    pub fn new(inner: R, path: impl Into<PathBuf>) -> Self {
        Self {
            inner,
            path: path.into(),
            offset: 0,
            done: false,
        }
    }

    /// Byte offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record's data, `Ok(None)` at a clean end of file.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadCrc`], or [`Error::Io`]. After an error the reader
    /// returns `Ok(None)`: a stream is not resynchronized past corruption.
    pub fn read_record(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_record_inner();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_record_inner(&mut self) -> Result<Option<Vec<u8>>> {
        let start = self.offset;
        let mut header = [0u8; 12];
        let got = self.read_full(&mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < header.len() {
            return Err(self.truncated(start, format!("header has {got} of 12 bytes")));
        }
        let (len_bytes, crc_bytes) = header.split_at(8);
        self.check_crc(start, "length", len_bytes, crc_bytes)?;
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));

        // `take` + `read_to_end` rather than a `len`-sized buffer: the length is trusted only
        // as far as the file really goes.
        let mut data = Vec::new();
        (&mut self.inner)
            .take(len)
            .read_to_end(&mut data)
            .map_err(|source| Error::Io {
                op: "read",
                path: self.path.clone(),
                source,
            })?;
        self.offset += data.len() as u64;
        if (data.len() as u64) < len {
            return Err(self.truncated(start, format!("data has {} of {len} bytes", data.len())));
        }
        let mut trailer = [0u8; 4];
        let got = self.read_full(&mut trailer)?;
        if got < trailer.len() {
            return Err(self.truncated(start, format!("data CRC has {got} of 4 bytes")));
        }
        self.check_crc(start, "data", &data, &trailer)?;
        Ok(Some(data))
    }

    /// Reads until `buf` is full or end of file; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        op: "read",
                        path: self.path.clone(),
                        source,
                    })
                }
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    fn check_crc(&self, offset: u64, part: &'static str, bytes: &[u8], stored: &[u8]) -> Result<()> {
        let stored = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
        let computed = masked_crc32c(bytes);
        if stored == computed {
            Ok(())
        } else {
            Err(Error::BadCrc {
                path: self.path.clone(),
                offset,
                part,
                stored,
                computed,
            })
        }
    }

    fn truncated(&self, offset: u64, reason: String) -> Error {
        Error::Truncated {
            path: self.path.clone(),
            offset,
            reason,
        }
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_record().transpose()
    }
}

/// Reads every record of the file at `path`, checking the framing and both CRCs.
///
/// # Errors
/// [`Error::Io`] if the file can't be read; [`Error::Truncated`] or [`Error::BadCrc`] if it is
/// not a complete, intact record file.
pub fn read_records(path: impl AsRef<Path>) -> Result<Vec<Vec<u8>>> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(crate::error::io_err("open", path))?;
    RecordReader::new(io::BufReader::new(file), path).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::manual_rotate)] // the mask written as TensorFlow's crc32c.h spells it
    fn crc32c_check_value_and_mask() {
        // CRC32C("123456789") = 0xe3069283 (RFC 3720 B.4); masking by hand.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        let c: u32 = 0xe306_9283;
        assert_eq!(
            masked_crc32c(b"123456789"),
            ((c >> 15) | (c << 17)).wrapping_add(0xa282_ead8)
        );
    }

    #[test]
    fn empty_record_bytes_match_tensorflow() {
        // An empty record: length 0, masked CRC of eight zero bytes, no data, masked CRC of "".
        // CRC32C of "" is 0, so its masked value is the mask delta itself.
        let mut out = Vec::new();
        write_record(&mut out, b"").unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(&out[..8], &[0; 8]);
        assert_eq!(&out[12..], &0xa282_ead8u32.to_le_bytes());
    }

    #[test]
    fn round_trip_and_clean_eof() {
        let mut out = Vec::new();
        for rec in [&b"a"[..], b"", b"hello world"] {
            write_record(&mut out, rec).unwrap();
        }
        let recs: Vec<_> = RecordReader::new(&out[..], "mem").collect::<Result<_>>().unwrap();
        assert_eq!(recs, vec![b"a".to_vec(), vec![], b"hello world".to_vec()]);
    }

    #[test]
    fn every_truncation_point_is_reported() {
        let mut out = Vec::new();
        write_record(&mut out, b"first").unwrap();
        let first_len = out.len();
        write_record(&mut out, b"second record").unwrap();
        for cut in first_len + 1..out.len() {
            let mut r = RecordReader::new(&out[..cut], "mem");
            assert_eq!(r.next().unwrap().unwrap(), b"first");
            match r.next() {
                Some(Err(Error::Truncated { offset, .. })) => assert_eq!(offset, first_len as u64),
                other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
            }
            assert!(r.next().is_none(), "reader stops after an error");
        }
    }

    #[test]
    fn every_flipped_byte_is_a_crc_error() {
        let mut out = Vec::new();
        write_record(&mut out, b"payload").unwrap();
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x01;
            let err = RecordReader::new(&bad[..], "mem").next().unwrap().unwrap_err();
            let want = if i < 12 { "length" } else { "data" };
            match err {
                Error::BadCrc { part, offset: 0, .. } => assert_eq!(part, want, "byte {i}"),
                other => panic!("byte {i}: expected BadCrc, got {other:?}"),
            }
        }
    }
}
