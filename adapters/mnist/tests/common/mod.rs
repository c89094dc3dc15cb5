//! The synthetic MNIST-format data set the `mnist` binary's tests train on.

use std::path::Path;

/// An IDX file: magic (0, 0, type 0x08, rank), dimensions, data.
pub fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
    out.extend(data);
    out
}

/// A learnable toy set: label = (image index mod 10), with a bright 4×4 square whose position
/// encodes the label.
pub fn write_data(dir: &Path, train: usize, test: usize) {
    let set = |n: usize| {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let mut pixels = vec![0u8; n * 784];
        for (i, &l) in labels.iter().enumerate() {
            let (r0, c0) = (4 + (l as usize / 5) * 12, 2 + (l as usize % 5) * 5);
            for r in r0..r0 + 4 {
                for c in c0..c0 + 4 {
                    pixels[i * 784 + r * 28 + c] = 200 + (i % 50) as u8;
                }
            }
        }
        (idx(&[n as u32, 28, 28], &pixels), idx(&[n as u32], &labels))
    };
    let (images, labels) = set(train);
    std::fs::write(dir.join("train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels).unwrap();
    let (images, labels) = set(test);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels).unwrap();
}
