//! Encoding [`Frame`]s: PNG (`png` crate), PNG filmstrips and animated GIFs (`gif` crate).

use std::path::Path;

use super::Frame;
use crate::error::{EnvError, Result};

fn image_error(path: &Path, reason: impl std::fmt::Display) -> EnvError {
    EnvError::ImageWrite {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn check_frame(frame: &Frame, path: &Path) -> Result<()> {
    if frame.width == 0 || frame.height == 0 {
        return Err(image_error(
            path,
            format!("empty frame {}×{}", frame.width, frame.height),
        ));
    }
    let want = frame.width as usize * frame.height as usize * 3;
    if frame.rgb.len() != want {
        return Err(image_error(
            path,
            format!(
                "frame of {}×{} has {} bytes, expected {want}",
                frame.width,
                frame.height,
                frame.rgb.len()
            ),
        ));
    }
    Ok(())
}

pub(super) fn write_png(frame: &Frame, path: &Path) -> Result<()> {
    check_frame(frame, path)?;
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, frame.width, frame.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| image_error(path, e))?;
        writer
            .write_image_data(&frame.rgb)
            .map_err(|e| image_error(path, e))?;
        writer.finish().map_err(|e| image_error(path, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| image_error(path, e))
}

/// Writes [`filmstrip`]`(frames, columns)` as one PNG.
///
/// # Errors
/// As [`filmstrip`], or [`EnvError::ImageWrite`] for a write failure.
pub fn write_filmstrip(frames: &[Frame], columns: usize, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    write_png(&filmstrip_named(frames, columns, path)?, path)
}

/// `frames` side by side, `columns` to a row (rows filled left to right, top to bottom, the rest
/// white): a filmstrip of an episode.
///
/// # Errors
/// [`EnvError::ImageWrite`] for no frames, frames of different sizes or `columns == 0`.
pub fn filmstrip(frames: &[Frame], columns: usize) -> Result<Frame> {
    filmstrip_named(frames, columns, Path::new("filmstrip"))
}

/// [`filmstrip`], its errors naming `path`.
fn filmstrip_named(frames: &[Frame], columns: usize, path: &Path) -> Result<Frame> {
    let first = frames.first().ok_or_else(|| image_error(path, "no frames"))?;
    if columns == 0 {
        return Err(image_error(path, "a filmstrip needs at least one column"));
    }
    let (fw, fh) = (first.width as usize, first.height as usize);
    for f in frames {
        check_frame(f, path)?;
        if (f.width, f.height) != (first.width, first.height) {
            return Err(image_error(
                path,
                format!(
                    "frames differ in size: {}×{} and {}×{}",
                    fw, fh, f.width, f.height
                ),
            ));
        }
    }
    let cols = columns.min(frames.len());
    let rows = frames.len().div_ceil(cols);
    let (w, h) = (cols * fw, rows * fh);
    if w > u32::MAX as usize || h > u32::MAX as usize {
        return Err(image_error(path, "filmstrip too large"));
    }
    let mut strip = Frame::filled(w as u32, h as u32, [255; 3]);
    for (i, f) in frames.iter().enumerate() {
        let (x0, y0) = ((i % cols) * fw, (i / cols) * fh);
        for r in 0..fh {
            let dst = 3 * ((y0 + r) * w + x0);
            strip.rgb[dst..dst + 3 * fw].copy_from_slice(&f.rgb[3 * r * fw..3 * (r + 1) * fw]);
        }
    }
    Ok(strip)
}

/// Writes `frames` as an animated GIF that loops forever, `fps` frames per second (GIF delays are whole
/// centiseconds, so the rate is rounded to `100 / round(100 / fps)`). Colours are quantized per frame to
/// 256 (NeuQuant).
///
/// # Errors
/// [`EnvError::ImageWrite`] for no frames, frames of different sizes or larger than 65535 pixels a side,
/// `fps == 0`, or a write failure.
pub fn write_gif(frames: &[Frame], path: impl AsRef<Path>, fps: u32) -> Result<()> {
    let path = path.as_ref();
    let first = frames.first().ok_or_else(|| image_error(path, "no frames"))?;
    if fps == 0 {
        return Err(image_error(path, "fps must be positive"));
    }
    let (w, h) = (
        u16::try_from(first.width).map_err(|_| image_error(path, "GIF frames are at most 65535 wide"))?,
        u16::try_from(first.height).map_err(|_| image_error(path, "GIF frames are at most 65535 high"))?,
    );
    let delay = (100.0 / f64::from(fps)).round().clamp(1.0, f64::from(u16::MAX)) as u16;
    let mut bytes = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut bytes, w, h, &[]).map_err(|e| image_error(path, e))?;
        enc.set_repeat(gif::Repeat::Infinite)
            .map_err(|e| image_error(path, e))?;
        for f in frames {
            check_frame(f, path)?;
            if (f.width, f.height) != (first.width, first.height) {
                return Err(image_error(path, "frames differ in size"));
            }
            let mut g = gif::Frame::from_rgb_speed(w, h, &f.rgb, 10);
            g.delay = delay;
            enc.write_frame(&g).map_err(|e| image_error(path, e))?;
        }
    }
    std::fs::write(path, bytes).map_err(|e| image_error(path, e))
}
