//! The IDX file format of MNIST and Fashion-MNIST (LeCun et al., <http://yann.lecun.com/exdb/mnist/>).
//!
//! An IDX file is a 4-byte magic number `[0, 0, type, n]` (`type` 0x08: unsigned bytes; `n`:
//! the number of dimensions), then `n` big-endian `u32` sizes, then the items in row-major
//! order. Only unsigned bytes are supported: every MNIST-family file uses them. Files may be
//! gzip'd, as the official downloads are; [`read_file`] recognises gzip by its first two bytes
//! (1f 8b) rather than by the name, so a `.gz` file that a browser already unpacked (and the
//! reverse) still loads.

use std::io::Read as _;
use std::path::Path;

use super::{Corruption, DataError};

/// The IDX type code of unsigned bytes.
pub const UBYTE: u8 = 0x08;

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The magic number of an unsigned-byte IDX file with `ndims` dimensions (`0x0803` for images,
/// `0x0801` for labels).
pub const fn magic(ndims: u8) -> u32 {
    ((UBYTE as u32) << 8) | ndims as u32
}

/// A parsed IDX file: its dimensions and its items, borrowed from the file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx<'a> {
    /// The sizes from the header, outermost first (`[N, 28, 28]` for MNIST images).
    pub dims: Vec<usize>,
    /// The `dims.iter().product()` items, row-major.
    pub data: &'a [u8],
}

/// Parses an (uncompressed) unsigned-byte IDX file with `ndims` dimensions.
///
/// # Errors
/// [`Corruption::Header`] when `bytes` is shorter than the header, [`Corruption::Magic`] for
/// another magic number, [`Corruption::Length`] when the data is shorter or longer than the
/// dimensions say.
pub fn parse(bytes: &[u8], ndims: u8) -> Result<Idx<'_>, Corruption> {
    let header = 4 + 4 * usize::from(ndims);
    if bytes.len() < 4 {
        return Err(Corruption::Header {
            len: bytes.len(),
            needed: header,
        });
    }
    let found = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if found != magic(ndims) {
        return Err(Corruption::Magic {
            found,
            expected: magic(ndims),
        });
    }
    if bytes.len() < header {
        return Err(Corruption::Header {
            len: bytes.len(),
            needed: header,
        });
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let data = &bytes[header..];
    // A product that overflows needs more bytes than any file has.
    let needed = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .unwrap_or(usize::MAX);
    if data.len() != needed {
        return Err(Corruption::Length {
            dims,
            needed,
            found: data.len(),
        });
    }
    Ok(Idx { dims, data })
}

/// `bytes` gunzipped when they start like gzip, else unchanged.
///
/// # Errors
/// [`Corruption::Gzip`] when the gzip stream is damaged or cut short.
pub fn decompress(bytes: Vec<u8>) -> Result<Vec<u8>, Corruption> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    // The gzip trailer's last four bytes are the unpacked size modulo 2^32: a capacity hint.
    let hint = bytes
        .last_chunk::<4>()
        .map_or(0, |b| u32::from_le_bytes(*b) as usize)
        .min(1 << 30);
    let mut out = Vec::with_capacity(hint);
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| Corruption::Gzip(e.to_string()))?;
    Ok(out)
}

/// Reads `path` and gunzips it when it is gzip'd (see [`decompress`]). `hint` goes into the
/// errors: how to get the file.
///
/// # Errors
/// [`DataError::Read`] when the file cannot be read, [`DataError::Corrupt`] for bad gzip data.
pub fn read_file(path: &Path, hint: &str) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|error| DataError::Read {
        path: path.to_path_buf(),
        error,
        hint: hint.to_owned(),
    })?;
    decompress(bytes).map_err(|problem| DataError::Corrupt {
        path: path.to_path_buf(),
        problem,
        hint: hint.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// A 2×3 IDX file holding 0..6.
    const TWO_BY_THREE: [u8; 18] = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5];

    #[test]
    fn parses_header_and_data() {
        let idx = parse(&TWO_BY_THREE, 2).unwrap();
        assert_eq!(idx.dims, [2, 3]);
        assert_eq!(idx.data, [0, 1, 2, 3, 4, 5]);
        assert_eq!(magic(3), 0x0803);
        assert_eq!(magic(1), 0x0801);
    }

    #[test]
    fn bad_magic_header_and_length_are_told_apart() {
        assert_eq!(
            parse(&TWO_BY_THREE, 3),
            Err(Corruption::Magic {
                found: 0x0802,
                expected: 0x0803
            })
        );
        assert_eq!(
            parse(&TWO_BY_THREE[..6], 2),
            Err(Corruption::Header { len: 6, needed: 12 })
        );
        assert_eq!(parse(&[0, 0], 1), Err(Corruption::Header { len: 2, needed: 8 }));
        assert_eq!(
            parse(&TWO_BY_THREE[..17], 2),
            Err(Corruption::Length {
                dims: vec![2, 3],
                needed: 6,
                found: 5
            })
        );
        let mut longer = TWO_BY_THREE.to_vec();
        longer.push(9);
        assert!(matches!(
            parse(&longer, 2),
            Err(Corruption::Length { found: 7, .. })
        ));
        // Dimensions whose product overflows usize.
        let huge = [
            0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        assert!(matches!(
            parse(&huge, 3),
            Err(Corruption::Length { found: 0, .. })
        ));
    }

    #[test]
    fn gzip_is_recognised_by_content() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&TWO_BY_THREE).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decompress(gz.clone()).unwrap(), TWO_BY_THREE);
        assert_eq!(decompress(TWO_BY_THREE.to_vec()).unwrap(), TWO_BY_THREE);
        let cut = gz[..gz.len() - 10].to_vec();
        assert!(matches!(decompress(cut), Err(Corruption::Gzip(_))));
    }
}
