//! The PTB-like corpus: a Penn-Treebank-style corpus built from public-domain texts (the
//! `lstm corpus` command; `cargo xtask data ptb-like` fetches the texts, runs it and checks the
//! outputs against pinned SHA-256 digests).
//!
//! Penn Treebank cannot be downloaded here, so this builds a corpus in its format (Mikolov's
//! `ptb.{train,valid,test}.txt`) from the texts `cargo xtask data corpora` fetches, deterministically:
//!
//! 1. **Sentences.** Brown is already one sentence per line. The Gutenberg texts (Shakespeare
//!    and the 15 books) are cut into paragraphs at blank lines, and a paragraph into sentences
//!    after `.`, `!` or `?` (closing quotes/brackets included) followed by white space, except
//!    after a single letter (initials) or a common title such as `Mr.` (see [`split_sentences`]).
//! 2. **Words** ([`tokenize`]): lower-case; `--` is a dash; punctuation is dropped as in PTB;
//!    clitics are split as PTB does (`don't` → `do n't`, `it's` → `it 's`, also `'re 'll 've 'd
//!    'm`); a token that starts with a digit becomes `N`; hyphenated words stay whole. Sentences
//!    of more than [`MAX_SENTENCE`] words (failed splits) are dropped.
//! 3. **Split and size.** The sentence stream (files in the order given) is cut into blocks of [`BLOCK`] consecutive
//!    sentences; block `i` goes to valid when `i % 13 == 11`, to test when `i % 13 == 12`, else to
//!    train. Within each split, blocks are kept evenly spaced over the whole stream (so every
//!    source contributes; topped up with the first blocks left out when block lengths make
//!    it fall short) until PTB's word count is reached: 887,521 / 70,390 / 78,669 words
//!    (without `<eos>`), i.e. about 929k / 74k / 82k tokens with it.
//! 4. **Vocabulary.** The 9,998 most frequent training words (ties by byte order) plus `<unk>`,
//!    which replaces every other word in all three files: 9,999 word types, 10,000 with the
//!    `<eos>` a reader appends to each line, as PTB.
//!
//! Lines are written as PTB writes them: a leading space, words separated by spaces, a trailing
//! space. xtask pins the three outputs by SHA-256, so a second run that finds them intact does
//! nothing, and a build that differs (another platform's text handling) is an error. Results on
//! this corpus are **not** comparable to PTB numbers; label them "PTB-like".

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::LstmError;

/// Sentences per block in the train/valid/test assignment.
pub const BLOCK: usize = 50;
/// Longer sentences (in words) are dropped as failed splits.
pub const MAX_SENTENCE: usize = 120;
/// Word types kept besides `<unk>`.
pub const KEEP_WORDS: usize = 9_998;

/// One output file: its name and its word target (without `<eos>`).
struct Split {
    name: &'static str,
    words: usize,
}

/// PTB's word counts per split.
const SPLITS: [Split; 3] = [
    Split {
        name: "ptb.train.txt",
        words: 887_521,
    },
    Split {
        name: "ptb.valid.txt",
        words: 70_390,
    },
    Split {
        name: "ptb.test.txt",
        words: 78_669,
    },
];

/// What [`build`] wrote for one split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitReport {
    /// The file written.
    pub path: PathBuf,
    /// Its sentences (lines).
    pub sentences: usize,
    /// Its words, without `<eos>`.
    pub words: usize,
}

/// Builds `ptb.{train,valid,test}.txt` in `target` from the raw text `files`, in that order (a
/// file in a folder named `brown` is one sentence per line, others are running text); returns
/// what each split holds, train first.
///
/// # Errors
/// [`LstmError::Io`] when a file cannot be read or written.
pub fn build(files: &[PathBuf], target: &Path) -> Result<Vec<SplitReport>, LstmError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LstmError::Io { path, source }
    };
    let mut sentences = Vec::new();
    for file in files {
        let bytes = fs::read(file).map_err(io(file))?;
        let text = String::from_utf8_lossy(&bytes);
        let one_per_line = file
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == "brown");
        let raw = if one_per_line {
            text.lines().map(str::to_owned).collect()
        } else {
            split_sentences(&text)
        };
        sentences.extend(
            raw.iter()
                .map(|s| tokenize(s))
                .filter(|w| !w.is_empty() && w.len() <= MAX_SENTENCE),
        );
    }
    let splits = assign_splits(&sentences);
    let vocab = vocabulary(&splits[0], KEEP_WORDS);
    fs::create_dir_all(target).map_err(io(target))?;
    let mut reports = Vec::new();
    for (split, lines) in SPLITS.iter().zip(&splits) {
        let text = render(lines, &vocab);
        let path = target.join(split.name);
        let partial = target.join(format!("{}.partial", split.name));
        fs::write(&partial, &text).map_err(io(&partial))?;
        fs::rename(&partial, &path).map_err(io(&path))?;
        reports.push(SplitReport {
            path,
            sentences: lines.len(),
            words: lines.iter().map(Vec::len).sum(),
        });
    }
    Ok(reports)
}

/// Titles after which a full stop does not end a sentence (lower-case, without the stop).
pub const TITLES: [&str; 12] = [
    "mr", "mrs", "dr", "st", "messrs", "mme", "rev", "capt", "col", "gen", "jr", "prof",
];

/// Cuts running text into sentences: paragraphs at blank lines, then after `.`, `!`, `?` (with
/// any closing `"')]` after it) followed by white space, unless the word before the stop is one
/// letter or one of [`TITLES`].
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>())
    {
        let mut current: Vec<&str> = Vec::new();
        for word in paragraph {
            current.push(word);
            let core = word.trim_end_matches(['"', '\'', ')', ']']);
            let ends = core.ends_with(['.', '!', '?']);
            let stem = core
                .trim_end_matches(['.', '!', '?'])
                .trim_start_matches(['"', '\'', '(', '[']);
            let is_title = core.ends_with('.')
                && (stem.chars().count() == 1 || TITLES.contains(&stem.to_lowercase().as_str()));
            if ends && !is_title {
                out.push(current.join(" "));
                current.clear();
            }
        }
        if !current.is_empty() {
            out.push(current.join(" "));
        }
    }
    out
}

/// Clitics split off the end of a word, PTB style (`n't` before the others).
const CLITICS: [&str; 7] = ["n't", "'s", "'re", "'ll", "'ve", "'d", "'m"];

/// One sentence as PTB-style words: lower-case, punctuation dropped, clitics split, numbers `N`.
pub fn tokenize(sentence: &str) -> Vec<String> {
    let lower = join_digit_groups(&sentence.to_lowercase().replace("--", " "));
    let mut words = Vec::new();
    for raw in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-' || c == '.')) {
        let word = raw.trim_matches(['\'', '-', '.']);
        if word.is_empty() || !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            words.push("N".to_owned());
            continue;
        }
        // Abbreviations of single letters stay whole (`u.s`); other dots split (`end.the`).
        let abbreviation = word.split('.').all(|p| p.chars().count() == 1);
        let parts: Vec<&str> = if abbreviation {
            vec![word]
        } else {
            word.split('.').filter(|p| !p.is_empty()).collect()
        };
        for part in parts {
            let (stem, clitic) = split_clitic(part.trim_matches(['\'', '-']));
            if !stem.is_empty() {
                words.push(stem.to_owned());
            }
            if let Some(clitic) = clitic {
                words.push(clitic.to_owned());
            }
        }
    }
    words
}

/// Drops `,` and `:` between two digits, so that `1,250` and `1:1` stay one number.
fn join_digit_groups(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let between_digits =
            i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if !((c == ',' || c == ':') && between_digits) {
            out.push(c);
        }
    }
    out
}

/// `don't` → (`do`, `n't`); `it's` → (`it`, `'s`); other words unchanged.
fn split_clitic(word: &str) -> (&str, Option<&str>) {
    for clitic in CLITICS {
        if let Some(stem) = word.strip_suffix(clitic) {
            if !stem.is_empty() {
                return (stem.trim_end_matches('\''), Some(clitic));
            }
        }
    }
    (word.trim_matches('\''), None)
}

/// Train, valid and test sentences: blocks of [`BLOCK`] sentences assigned by `i % 13`, then
/// evenly spaced blocks of each split kept (topped up with the first blocks left out) until
/// the split's PTB word count is reached.
fn assign_splits(sentences: &[Vec<String>]) -> [Vec<Vec<String>>; 3] {
    let blocks: Vec<&[Vec<String>]> = sentences.chunks(BLOCK).collect();
    let split_of = |i: usize| match i % 13 {
        11 => 1,
        12 => 2,
        _ => 0,
    };
    let mut out: [Vec<Vec<String>>; 3] = Default::default();
    for (s, split) in SPLITS.iter().enumerate() {
        let mine: Vec<&[Vec<String>]> = blocks
            .iter()
            .enumerate()
            .filter(|(i, _)| split_of(*i) == s)
            .map(|(_, b)| *b)
            .collect();
        let available: usize = mine.iter().flat_map(|b| b.iter()).map(Vec::len).sum();
        let fraction = (split.words as f64 / available.max(1) as f64).min(1.0);
        let block_words = |b: &[Vec<String>]| b.iter().map(Vec::len).sum::<usize>();
        let mut chosen: Vec<bool> = (0..mine.len())
            .map(|j| ((j + 1) as f64 * fraction).floor() > (j as f64 * fraction).floor())
            .collect();
        // Block lengths vary: top up with the first blocks left out until the count is reached.
        let mut total: usize = mine
            .iter()
            .zip(&chosen)
            .filter(|(_, c)| **c)
            .map(|(b, _)| block_words(b))
            .sum();
        for (block, c) in mine.iter().zip(chosen.iter_mut()) {
            if total >= split.words {
                break;
            }
            if !*c {
                *c = true;
                total += block_words(block);
            }
        }
        let mut words = 0;
        for block in mine.iter().zip(&chosen).filter(|(_, c)| **c).map(|(b, _)| *b) {
            for sentence in block {
                if words >= split.words {
                    break;
                }
                words += sentence.len();
                out[s].push(sentence.clone());
            }
        }
    }
    out
}

/// The `keep` most frequent words of `sentences`, ties broken by byte order.
fn vocabulary(sentences: &[Vec<String>], keep: usize) -> HashMap<String, usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for word in sentences.iter().flatten() {
        *counts.entry(word).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(keep)
        .enumerate()
        .map(|(i, (w, _))| (w.to_owned(), i))
        .collect()
}

/// The sentences in PTB's file format, words outside `vocab` as `<unk>`.
fn render(sentences: &[Vec<String>], vocab: &HashMap<String, usize>) -> String {
    let mut text = String::new();
    for sentence in sentences {
        for word in sentence {
            text.push(' ');
            text.push_str(if vocab.contains_key(word) { word } else { "<unk>" });
        }
        text.push_str(" \n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn tokenize_follows_ptb_conventions() {
        assert_eq!(
            tokenize("\"Don't,\" said Mr. Smith--it's 1,250 dollars in 1816; U.S. twenty-one."),
            words("do n't said mr smith it 's N dollars in N u.s twenty-one")
        );
        assert_eq!(
            tokenize("Love's fire; my mistress' thrall. 'Tis 3rd!"),
            words("love 's fire my mistress thrall tis N")
        );
        assert_eq!(tokenize("-- ... !"), Vec::<String>::new());
        assert_eq!(
            tokenize("They'll we've I'm he'd you're"),
            words("they 'll we 've i 'm he 'd you 're")
        );
    }

    #[test]
    fn sentences_split_at_stops_but_not_titles_or_initials() {
        let text = "Emma Woodhouse met Mr. Knightley and J. Smith. \"Is it\nyou?\" she said!\n\nNew paragraph without stop\n\nEnd.";
        assert_eq!(
            split_sentences(text),
            vec![
                "Emma Woodhouse met Mr. Knightley and J. Smith.",
                "\"Is it you?\"",
                "she said!",
                "New paragraph without stop",
                "End."
            ]
        );
    }

    #[test]
    fn vocabulary_ranks_by_count_then_bytes() {
        let s = vec![words("b a c a b d"), words("a")];
        let v = vocabulary(&s, 2);
        assert_eq!(v.len(), 2);
        assert!(v.contains_key("a") && v.contains_key("b"));
        assert_eq!(render(&[words("a x b")], &v), " a <unk> b \n");
    }

    #[test]
    fn splits_are_disjoint_blocks_in_ptb_proportions() {
        // 26 blocks of 50 one-word sentences: blocks 11, 24 valid; 12, 25 test.
        let sentences: Vec<Vec<String>> = (0..26 * BLOCK).map(|i| vec![format!("w{i}")]).collect();
        let [train, valid, test] = assign_splits(&sentences);
        assert_eq!(valid.len(), 2 * BLOCK);
        assert_eq!(test.len(), 2 * BLOCK);
        assert_eq!(train.len(), 22 * BLOCK);
        assert_eq!(valid[0][0], format!("w{}", 11 * BLOCK));
        assert_eq!(test[BLOCK][0], format!("w{}", 25 * BLOCK));
    }
}
