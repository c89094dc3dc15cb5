//! The image-folder data set the `gan` binary's tests train on.

use std::fs;
use std::path::{Path, PathBuf};

/// `n` RGB 8×8 PNG images in two classes.
pub fn dataset(dir: &Path, n: u32) -> PathBuf {
    let root = dir.join("images");
    for k in 0..n {
        let class = root.join(if k % 2 == 0 { "a" } else { "b" });
        fs::create_dir_all(&class).unwrap();
        let rgb: Vec<u8> = (0..8 * 8 * 3u32)
            .map(|i| ((i * 7 + k * 31) % 256) as u8)
            .collect();
        let file = fs::File::create(class.join(format!("{k:04}.png"))).unwrap();
        let mut enc = png::Encoder::new(file, 8, 8);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&rgb).unwrap();
    }
    root
}
