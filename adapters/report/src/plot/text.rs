//! Text drawn straight into the RGB image with `ab_glyph` and the embedded DejaVu Sans.
//!
//! plotters 0.3.7's `ab_glyph` text backend drops each glyph's left side bearing, which makes
//! letter spacing visibly uneven at label sizes ("ad am w"), so the charts lay out and
//! anti-alias their text here instead: kerning, bearings and sub-pixel positions as the font
//! specifies.

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};

use super::PlotError;

/// An RGB8 image being drawn on.
pub(crate) struct Canvas<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Canvas<'_> {
    /// Blends `color` at coverage `alpha` (0..=1) over the pixel `(x, y)`; outside is ignored.
    fn blend(&mut self, x: i32, y: i32, color: [u8; 3], alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 || alpha <= 0.0 {
            return;
        }
        let a = alpha.min(1.0);
        let i = (y as usize * self.width as usize + x as usize) * 3;
        for (c, &src) in self.buf[i..i + 3].iter_mut().zip(&color) {
            *c = (f32::from(*c) * (1.0 - a) + f32::from(src) * a).round() as u8;
        }
    }
}

/// Where the anchor point is along one direction of a text's box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// The anchor is at the left (horizontally) or the top (vertically) of the box.
    Start,
    /// The anchor is in the middle (vertically: the middle of a digit or capital).
    Center,
    /// The anchor is at the right or the bottom.
    End,
}

/// A font at hand for laying out and drawing strings.
pub(crate) struct TextPainter {
    font: FontRef<'static>,
}

/// A string rasterized into a coverage map whose top row is the font's ascent line.
struct Raster {
    width: usize,
    height: usize,
    coverage: Vec<f32>,
    /// Distance from the top row to the baseline, in pixels.
    ascent: f32,
}

impl TextPainter {
    /// DejaVu Sans, from the `dejavu` crate.
    pub(crate) fn new() -> Result<TextPainter, PlotError> {
        let font = FontRef::try_from_slice(dejavu::sans::regular()).map_err(|_| PlotError::Font)?;
        Ok(TextPainter { font })
    }

    /// The advance width of `text` at `px` pixels per em.
    pub(crate) fn width(&self, text: &str, px: f32) -> f32 {
        let font = self.font.as_scaled(PxScale::from(px));
        let mut caret = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                caret += font.kern(p, id);
            }
            caret += font.h_advance(id);
            prev = Some(id);
        }
        caret
    }

    /// The height of a line of text (ascent + descent) at `px` pixels per em.
    pub(crate) fn height(&self, px: f32) -> f32 {
        let font = self.font.as_scaled(PxScale::from(px));
        font.ascent() - font.descent()
    }

    fn rasterize(&self, text: &str, px: f32) -> Raster {
        let font = self.font.as_scaled(PxScale::from(px));
        let ascent = font.ascent();
        let width = self.width(text, px).ceil() as usize + 1;
        let height = self.height(px).ceil() as usize + 1;
        let mut coverage = vec![0f32; width * height];
        let mut caret = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                caret += font.kern(p, id);
            }
            let glyph = id.with_scale_and_position(PxScale::from(px), point(caret, ascent));
            caret += font.h_advance(id);
            prev = Some(id);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, c| {
                let x = b.min.x as i32 + gx as i32;
                let y = b.min.y as i32 + gy as i32;
                if x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height {
                    let cell = &mut coverage[y as usize * width + x as usize];
                    *cell = (*cell + c).min(1.0);
                }
            });
        }
        Raster {
            width,
            height,
            coverage,
            ascent,
        }
    }

    /// Draws `text` at `px` pixels per em with its box anchored at `(x, y)` as `h` and `v` say.
    /// Vertical [`Align::Center`] centers digits and capitals on `y`.
    pub(crate) fn draw(
        &self,
        canvas: &mut Canvas<'_>,
        text: &str,
        px: f32,
        (x, y): (f32, f32),
        (h, v): (Align, Align),
        color: [u8; 3],
    ) {
        let r = self.rasterize(text, px);
        let left = match h {
            Align::Start => x,
            Align::Center => x - (r.width - 1) as f32 / 2.0,
            Align::End => x - (r.width - 1) as f32,
        };
        let top = match v {
            Align::Start => y,
            // Digits and capitals are about 0.73 em tall: put their middle on `y`.
            Align::Center => y - (r.ascent - 0.365 * px),
            Align::End => y - r.height as f32,
        };
        let (left, top) = (left.round() as i32, top.round() as i32);
        for ty in 0..r.height {
            for tx in 0..r.width {
                let a = r.coverage[ty * r.width + tx];
                canvas.blend(left + tx as i32, top + ty as i32, color, a);
            }
        }
    }

    /// Draws `text` turned 90° counter-clockwise (reading upwards), centered on `(x, y)`.
    pub(crate) fn draw_upwards(
        &self,
        canvas: &mut Canvas<'_>,
        text: &str,
        px: f32,
        (x, y): (f32, f32),
        color: [u8; 3],
    ) {
        let r = self.rasterize(text, px);
        // After turning, the box is r.height wide and r.width tall.
        let left = (x - r.height as f32 / 2.0).round() as i32;
        let top = (y - r.width as f32 / 2.0).round() as i32;
        for ty in 0..r.height {
            for tx in 0..r.width {
                let a = r.coverage[ty * r.width + tx];
                canvas.blend(left + ty as i32, top + (r.width - 1 - tx) as i32, color, a);
            }
        }
    }
}
