//! The embedded font: DejaVu Sans from the `dejavu` crate (Bitstream Vera / DejaVu font licence:
//! free to use, embed and redistribute).

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

use super::PlotError;

/// The font family name under which DejaVu Sans is registered with plotters.
pub const FAMILY: &str = "sans-serif";

/// Registers DejaVu Sans (regular and bold) with plotters as `sans-serif`, once per process.
///
/// Only needed by code that draws text with plotters itself (its `ab_glyph` backend has no
/// system fonts). [`plot_curves`](super::plot_curves) doesn't need it: it draws its text with
/// its own layout, because plotters 0.3.7's `ab_glyph` text drops glyph side bearings, which
/// makes letter spacing uneven at small sizes.
///
/// # Errors
/// [`PlotError::Font`] if the embedded font can't be parsed (a broken build).
pub fn register_fonts() -> Result<(), PlotError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

#[cfg(test)]
mod tests {
    use plotters::style::{FontDesc, FontFamily};

    use super::*;

    #[test]
    fn plotters_measures_text_with_the_registered_font() {
        register_fonts().unwrap();
        register_fonts().unwrap();
        let font = FontDesc::new(FontFamily::Name(FAMILY), 20.0, FontStyle::Normal);
        let (w_short, h) = font.box_size("ab").unwrap();
        let (w_long, _) = font.box_size("abcdef").unwrap();
        assert!(
            h > 0 && w_short > 0 && w_long > 2 * w_short,
            "{w_short} {w_long} {h}"
        );
        // Bold is registered too.
        let bold = FontDesc::new(FontFamily::Name(FAMILY), 20.0, FontStyle::Bold);
        assert!(bold.box_size("ab").unwrap().0 >= w_short);
    }
}
