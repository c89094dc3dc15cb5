//! GPT-2's byte-pair encoding (`r50k_base`, 50,257 tokens) from `tiktoken-rs`, built in.

use tiktoken_rs::CoreBPE;

/// GPT-2's end-of-text token id, which separates documents in the token shards.
pub const EOT: u32 = 50256;

/// GPT-2's tokenizer.
pub struct Tokenizer {
    bpe: CoreBPE,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokenizer(r50k_base)")
    }
}

impl Tokenizer {
    /// GPT-2's BPE (`r50k_base`).
    pub fn gpt2() -> Self {
        Tokenizer {
            bpe: tiktoken_rs::r50k_base().expect("the built-in r50k_base vocabulary loads"),
        }
    }

    /// Token ids of `text`; special tokens in the text are encoded as ordinary text.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.bpe.encode_ordinary(text)
    }

    /// The text of `ids`; invalid UTF-8 (a multi-byte character split between tokens) and ids
    /// outside the vocabulary become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            match self.bpe.decode_bytes(&[id]) {
                Ok(b) => bytes.extend(b),
                Err(_) => bytes.extend("\u{FFFD}".as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_world_is_gpt2s() {
        let t = Tokenizer::gpt2();
        assert_eq!(t.encode("hello world"), [31373, 995]);
        assert_eq!(t.decode(&[31373, 995]), "hello world");
        let special = t.encode("<|endoftext|>");
        assert!(
            special.len() > 1 && !special.contains(&EOT),
            "special tokens are plain text here"
        );
        let s = "Ünïcödé — and 12345 spaces   .";
        assert_eq!(t.decode(&t.encode(s)), s);
    }
}
