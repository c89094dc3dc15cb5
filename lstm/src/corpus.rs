//! Penn-Treebank-format corpora: `ptb.{train,valid,test}.txt`, one sentence per line.
//!
//! The conventions of the PyTorch word-language-model example and AWD-LSTM: each line is split
//! at white space and ends with `<eos>`; words get ids in order of first appearance, train file
//! first; [`batchify`] lays a token stream out as `[steps, batch]` columns.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::error::LstmError;

/// The end-of-sentence token appended to every line.
pub const EOS: &str = "<eos>";

/// The names of the three files of a corpus folder.
pub const FILES: [&str; 3] = ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"];

/// Words ↔ ids, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocab {
    words: Vec<String>,
    ids: HashMap<String, i64>,
}

impl Vocab {
    /// The id of `word`, adding it when new.
    pub fn add(&mut self, word: &str) -> i64 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as i64;
        self.words.push(word.to_owned());
        self.ids.insert(word.to_owned(), id);
        id
    }

    /// The id of `word`, if known.
    pub fn id(&self, word: &str) -> Option<i64> {
        self.ids.get(word).copied()
    }

    /// The word of `id`.
    pub fn word(&self, id: i64) -> Option<&str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.words.get(i))
            .map(String::as_str)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether no word is known.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// All words in id order (one per line in `vocab.txt`).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// A vocabulary from words in id order.
    pub fn from_words<S: AsRef<str>>(words: &[S]) -> Self {
        let mut vocab = Vocab::default();
        for w in words {
            vocab.add(w.as_ref());
        }
        vocab
    }
}

/// Token ids of `text`: every line's words, then `<eos>`. New words are added to `vocab` when
/// `grow`; otherwise an unknown word is an error naming `source` and the line.
///
/// # Errors
/// [`LstmError::UnknownWord`] for a word outside a fixed vocabulary.
pub fn tokenize(text: &str, vocab: &mut Vocab, grow: bool, source: &str) -> Result<Vec<i64>, LstmError> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        for word in line.split_whitespace().chain(std::iter::once(EOS)) {
            let id = match vocab.id(word) {
                Some(id) => id,
                None if grow => vocab.add(word),
                None => {
                    return Err(LstmError::UnknownWord {
                        word: word.to_owned(),
                        file: source.to_owned(),
                        line: n + 1,
                    })
                }
            };
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A corpus: vocabulary and the three token streams.
#[derive(Debug)]
pub struct Corpus {
    /// Words of all three files (train words first).
    pub vocab: Vocab,
    /// Training tokens.
    pub train: Vec<i64>,
    /// Validation tokens.
    pub valid: Vec<i64>,
    /// Test tokens.
    pub test: Vec<i64>,
}

impl Corpus {
    /// Reads `dir/ptb.{train,valid,test}.txt`. Words of valid/test unseen in train extend the
    /// vocabulary (as the PyTorch example does; in PTB and the PTB-like corpus there are none).
    ///
    /// # Errors
    /// [`LstmError::Io`] naming a missing or unreadable file; [`LstmError::EmptyCorpus`] when a
    /// file holds no sentence.
    pub fn load(dir: &Path) -> Result<Self, LstmError> {
        let mut vocab = Vocab::default();
        let mut streams = Vec::new();
        for name in FILES {
            let path = dir.join(name);
            let text = fs::read_to_string(&path).map_err(|source| LstmError::Io {
                path: path.clone(),
                source,
            })?;
            let ids = tokenize(&text, &mut vocab, true, &path.display().to_string())?;
            if ids.is_empty() {
                return Err(LstmError::EmptyCorpus { path });
            }
            streams.push(ids);
        }
        let test = streams.pop().unwrap_or_default();
        let valid = streams.pop().unwrap_or_default();
        let train = streams.pop().unwrap_or_default();
        Ok(Corpus {
            vocab,
            train,
            valid,
            test,
        })
    }
}

/// Lays `ids` out as `[len / batch, batch]`: column j holds the j-th contiguous stretch of the
/// stream (the remainder is dropped), as `batchify` of the PyTorch example.
///
/// # Errors
/// [`LstmError::TooShort`] when there are fewer tokens than columns.
pub fn batchify(ids: &[i64], batch: usize, device: Device) -> Result<Tensor, LstmError> {
    let steps = ids.len() / batch.max(1);
    if batch == 0 || steps == 0 {
        return Err(LstmError::TooShort {
            tokens: ids.len(),
            batch,
        });
    }
    let used = &ids[..steps * batch];
    Ok(Tensor::from_slice(used)
        .view([batch as i64, steps as i64])
        .transpose(0, 1)
        .contiguous()
        .to_kind(Kind::Int64)
        .to_device(device))
}

/// Inputs and targets of the window starting at row `start`: rows `start..start+len` and the
/// rows one later (the window is cut at the end of `data`).
pub fn window(data: &Tensor, start: i64, len: i64) -> (Tensor, Tensor) {
    let len = len.min(data.size()[0] - 1 - start);
    (data.narrow(0, start, len), data.narrow(0, start + 1, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_with_eos_and_ids_follow_first_appearance() {
        let mut vocab = Vocab::default();
        let ids = tokenize(" a b \n\n c a \n", &mut vocab, true, "x").unwrap();
        assert_eq!(ids, [0, 1, 2, 3, 0, 2]);
        assert_eq!(vocab.words(), ["a", "b", EOS, "c"]);
        let err = tokenize("a z\n", &mut vocab, false, "valid").unwrap_err();
        assert!(err.to_string().contains("`z`") && err.to_string().contains("valid:1"));
    }

    #[test]
    fn batchify_fills_columns_and_drops_the_remainder() {
        let ids: Vec<i64> = (0..11).collect();
        let data = batchify(&ids, 2, Device::Cpu).unwrap();
        assert_eq!(data.size(), [5, 2]);
        // Column 0 = 0..5, column 1 = 5..10; 10 is dropped.
        let col0: Vec<i64> = Vec::try_from(data.select(1, 0)).unwrap();
        let col1: Vec<i64> = Vec::try_from(data.select(1, 1)).unwrap();
        assert_eq!(col0, [0, 1, 2, 3, 4]);
        assert_eq!(col1, [5, 6, 7, 8, 9]);
        assert!(batchify(&ids, 12, Device::Cpu).is_err());
        let (x, y) = window(&data, 3, 70);
        assert_eq!(x.size(), [1, 2]);
        assert_eq!(Vec::<i64>::try_from(y.reshape([-1])).unwrap(), [4, 9]);
    }

    #[test]
    fn corpus_load_reads_three_files_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILES[0]), " the cat \n the dog \n").unwrap();
        fs::write(dir.path().join(FILES[1]), " the cat \n").unwrap();
        let err = Corpus::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("ptb.test.txt"), "{err}");
        fs::write(dir.path().join(FILES[2]), " dog \n").unwrap();
        let corpus = Corpus::load(dir.path()).unwrap();
        assert_eq!(corpus.vocab.len(), 4);
        assert_eq!(corpus.train.len(), 6);
        assert_eq!(corpus.valid, [0, 1, 2]);
        assert_eq!(corpus.test, [3, 2]);
    }
}
