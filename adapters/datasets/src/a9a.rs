//! a9a (the UCI Adult data set as prepared for LIBSVM by Platt): census records with 123
//! binary features and the label "income above $50k" (+1) or not (−1).
//!
//! The official files are LIBSVM text, `a9a` (32,561 training rows) and `a9a.t` (16,281 test
//! rows), one example per line: `-1 3:1 11:1 14:1 ...`, the label ±1 followed by
//! `index:value` pairs with 1-based, increasing feature indices. Features not mentioned are 0;
//! the width is fixed at [`A9A_FEATURES`] because `a9a.t` never mentions feature 123.

use std::fs;
use std::path::Path;

use tch::Tensor;

use crate::error::{DatasetError, Result};
use crate::Labeled;

/// The number of features of a9a (LIBSVM's description: 123 binary features).
pub const A9A_FEATURES: usize = 123;
/// The training file's name in the official download.
pub const TRAIN_FILE: &str = "a9a";
/// The test file's name in the official download.
pub const TEST_FILE: &str = "a9a.t";

/// What to do when a file is missing.
fn hint(dir: &Path) -> String {
    format!(
        "run `cargo xtask data a9a` (it fills data/a9a/, or $PISA_DATA_DIR/a9a), or put the LIBSVM \
         files {TRAIN_FILE} and {TEST_FILE} (https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/binary.html#a9a) in {}",
        dir.display()
    )
}

/// Training and test split from `dir/a9a` and `dir/a9a.t`.
pub(crate) fn load(dir: &Path) -> Result<(Labeled, Labeled)> {
    let read = |name: &str| {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(DatasetError::MissingFile {
                path,
                hint: hint(dir),
            });
        }
        let text = fs::read_to_string(&path).map_err(|source| DatasetError::Io {
            path: path.clone(),
            source,
        })?;
        parse(&text, A9A_FEATURES).map_err(|message| DatasetError::CorruptFile { path, message })
    };
    Ok((read(TRAIN_FILE)?, read(TEST_FILE)?))
}

/// Parses LIBSVM text with labels ±1 (→ 1 / 0) into dense `f32 [N, features]` and `i64 [N]`.
/// Blank lines are skipped.
///
/// # Errors
/// A message naming the line (1-based) for a label other than ±1, a token that is not
/// `index:value`, an index of 0 or above `features`, indices that do not increase, a value that
/// is not a finite number, or a file without examples.
pub(crate) fn parse(text: &str, features: usize) -> Result<Labeled, String> {
    let (mut x, mut y): (Vec<f32>, Vec<i64>) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut tokens = line.split_whitespace();
        let Some(label) = tokens.next() else {
            continue;
        };
        y.push(match label.parse::<f64>() {
            Ok(1.0) => 1,
            Ok(-1.0) => 0,
            _ => return Err(format!("line {line_no}: label `{label}` is not +1 or -1")),
        });
        let row = x.len();
        x.resize(row + features, 0.0);
        let mut previous = 0;
        for token in tokens {
            let bad = || format!("line {line_no}: `{token}` is not a feature `index:value`");
            let (index, value) = token.split_once(':').ok_or_else(bad)?;
            let index: usize = index.parse().map_err(|_| bad())?;
            let value: f32 = value.parse().map_err(|_| bad())?;
            if index == 0 || index > features {
                return Err(format!(
                    "line {line_no}: feature index {index} is outside 1..={features}"
                ));
            }
            if index <= previous {
                return Err(format!(
                    "line {line_no}: feature index {index} after {previous}; indices must increase"
                ));
            }
            if !value.is_finite() {
                return Err(format!("line {line_no}: feature {index} has value {value}"));
            }
            previous = index;
            x[row + index - 1] = value;
        }
    }
    if y.is_empty() {
        return Err("no examples".into());
    }
    let n = y.len() as i64;
    Ok(Labeled {
        x: Tensor::from_slice(&x).view([n, features as i64]),
        y: Tensor::from_slice(&y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn parses_labels_and_sparse_features_to_dense_rows() {
        // A trailing space (as in the official files), a blank line, a `+1` label.
        let set = parse("-1 1:1 3:1 \n\n+1 2:1 5:0.5\n1 4:1\n", 5).unwrap();
        assert_eq!(set.x.size(), [3, 5]);
        assert_eq!(set.x.kind(), Kind::Float);
        assert_eq!(Vec::<i64>::try_from(&set.y).unwrap(), [0, 1, 1]);
        let x = Vec::<f32>::try_from(set.x.flatten(0, -1)).unwrap();
        assert_eq!(
            x,
            [
                1.0, 0.0, 1.0, 0.0, 0.0, //
                0.0, 1.0, 0.0, 0.0, 0.5, //
                0.0, 0.0, 0.0, 1.0, 0.0
            ]
        );
        // A row without features is all zeros; the width stays fixed.
        let set = parse("-1\n", 123).unwrap();
        assert_eq!(set.x.size(), [1, 123]);
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            ("-1 1:1\n0 2:1\n", "line 2: label `0`"),
            ("-1 1:1\n2 2:1\n", "line 2: label `2`"),
            ("x 1:1\n", "line 1: label `x`"),
            ("-1 1:1\n+1 6:1\n", "line 2: feature index 6 is outside 1..=5"),
            ("-1 0:1\n", "line 1: feature index 0"),
            ("+1 1:1 1\n", "line 1: `1` is not a feature"),
            ("+1 a:1\n", "line 1: `a:1` is not a feature"),
            ("+1 2:x\n", "line 1: `2:x` is not a feature"),
            ("+1 3:1 2:1\n", "line 1: feature index 2 after 3"),
            ("+1 3:1 3:1\n", "line 1: feature index 3 after 3"),
            ("+1 3:inf\n", "line 1: feature 3 has value inf"),
            ("\n \n", "no examples"),
        ];
        for (text, expected) in cases {
            let err = parse(text, 5).unwrap_err();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn files_missing_or_corrupt_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("a9a: not found") && err.contains("cargo xtask data a9a"),
            "{err}"
        );
        fs::write(dir.path().join(TRAIN_FILE), "-1 3:1\n+1 123:1\n").unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a9a.t: not found"), "{err}");
        // Test rows need not mention feature 123: the width is fixed.
        fs::write(dir.path().join(TEST_FILE), "+1 1:1\n").unwrap();
        let (train, test) = load(dir.path()).unwrap();
        assert_eq!(train.x.size(), [2, 123]);
        assert_eq!(test.x.size(), [1, 123]);
        assert_eq!(train.x.double_value(&[1, 122]), 1.0);
        fs::write(dir.path().join(TEST_FILE), "+1 1:1\n-1 124:1\n").unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, DatasetError::CorruptFile { .. }), "{err:?}");
        let err = err.to_string();
        assert!(err.contains("a9a.t: corrupt: line 2: feature index 124"), "{err}");
    }

    /// The real files (in `../shared/data` beside the repository), when they are there.
    #[test]
    fn the_official_files_have_their_sizes_and_class_balance() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        if !dir.join(TRAIN_FILE).is_file() {
            println!("skipped: no a9a in {}", dir.display());
            return;
        }
        let (train, test) = load(&dir).unwrap();
        assert_eq!(train.x.size(), [32_561, 123]);
        assert_eq!(test.x.size(), [16_281, 123]);
        // 7,841 of 32,561 training rows are positive (24.1 %); 3,846 of 16,281 test rows (23.6 %),
        // counted with `cut -d' ' -f1 a9a | sort | uniq -c`.
        assert_eq!(train.y.sum(Kind::Int64).int64_value(&[]), 7_841);
        assert_eq!(test.y.sum(Kind::Int64).int64_value(&[]), 3_846);
        let positive = train.y.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        assert!((positive - 0.24).abs() < 0.01, "{positive}");
        // Binary features; 14 ones a row (one per attribute), fewer where attributes are
        // missing (30,162 rows have 14; `awk '{print NF-1}' a9a | sort -n | uniq -c`).
        let binary = train.x.eq(0.0).logical_or(&train.x.eq(1.0));
        assert_eq!(binary.all().int64_value(&[]), 1);
        let ones = train.x.sum_dim_intlist(1, false, Kind::Double);
        assert_eq!(ones.eq(14.0).sum(Kind::Int64).int64_value(&[]), 30_162);
        assert_eq!(ones.max().double_value(&[]), 14.0);
    }
}
