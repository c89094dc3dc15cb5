//! The tiny a9a-format dataset the end-to-end tests train on.

use std::path::Path;

use runs::rng::SplitMix64;

/// Writes `a9a` and `a9a.t` (LIBSVM, 123 binary features) with `train` and `test` rows into
/// `dir`: label +1 when more than 3 of the first 10 features are set.
pub fn write_a9a(dir: &Path, train: usize, test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = SplitMix64::new(42, 0);
    for (file, rows) in [("a9a", train), ("a9a.t", test)] {
        let mut text = String::new();
        for _ in 0..rows {
            let on: Vec<usize> = (1..=123).filter(|_| rng.uniform() > 0.7).collect();
            let label = if on.iter().filter(|&&f| f <= 10).count() > 3 {
                "+1"
            } else {
                "-1"
            };
            text.push_str(label);
            for f in on {
                text.push_str(&format!(" {f}:1"));
            }
            text.push('\n');
        }
        std::fs::write(dir.join(file), text).unwrap();
    }
}
