//! Canaries: known marker strings, and the streaming matcher that finds them.
//!
//! All canaries and all their encoded forms go into one Aho-Corasick automaton
//! built once per run. A [`ScanState`] per byte stream (one layer, one
//! direction) carries the last `max_len - 1` bytes across chunks, so a canary
//! split across TCP segments or TLS records is still found, with a single pass
//! over the data whatever the number of encodings.

use crate::evidence::Encoding;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};
use serde::{Deserialize, Serialize};
use std::path::Path;
use unicode_normalization::UnicodeNormalization;

/// A marker message the auditor sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// The `canaries.toml` file format.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryFile {
    #[serde(default)]
    pub canary: Vec<Canary>,
}

#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    #[error("cannot read canary file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("canary file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("canary {0:?} is too short: a canary needs at least 6 bytes to avoid chance matches")]
    TooShort(String),
    #[error("too many canary patterns: {0}")]
    Automaton(String),
}

/// Reads a `canaries.toml` file.
pub fn load_file(path: &Path) -> Result<Vec<Canary>, CanaryError> {
    let text = std::fs::read_to_string(path).map_err(|source| CanaryError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let file: CanaryFile = toml::from_str(&text).map_err(|e| CanaryError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(file.canary)
}

/// One literal pattern in the automaton.
#[derive(Debug, Clone)]
struct Pattern {
    canary: u32,
    encoding: Encoding,
}

/// A canary hit in a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub canary: u32,
    pub encoding: Encoding,
    /// Stream offset of the first byte of the encoded canary.
    pub offset: u64,
    pub len: usize,
    /// Up to [`CONTEXT`] bytes before, the match, and up to [`CONTEXT`] bytes after,
    /// as far as they were available in the current chunk and carried tail.
    pub context: Vec<u8>,
}

/// Bytes of context kept on each side of a hit.
pub const CONTEXT: usize = 24;

/// The run's canaries compiled into one automaton.
#[derive(Debug, Clone)]
pub struct CanarySet {
    canaries: Vec<Canary>,
    ac: Option<AhoCorasick>,
    patterns: Vec<Pattern>,
    max_len: usize,
}

impl Default for CanarySet {
    fn default() -> Self {
        CanarySet::new(Vec::new()).expect("empty canary set always builds")
    }
}

impl CanarySet {
    /// Builds the automaton. Canary text is NFC-normalised; duplicates are merged.
    pub fn new(canaries: Vec<Canary>) -> Result<CanarySet, CanaryError> {
        let mut uniq: Vec<Canary> = Vec::new();
        for mut c in canaries {
            c.text = c.text.nfc().collect();
            if c.text.len() < 6 {
                return Err(CanaryError::TooShort(c.text));
            }
            if !uniq.iter().any(|u| u.text == c.text) {
                uniq.push(c);
            }
        }
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut patterns = Vec::new();
        for (i, c) in uniq.iter().enumerate() {
            for (encoding, bytes) in variants(&c.text) {
                literals.push(bytes);
                patterns.push(Pattern {
                    canary: i as u32,
                    encoding,
                });
            }
        }
        let max_len = literals.iter().map(Vec::len).max().unwrap_or(0);
        let ac = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&literals)
                    .map_err(|e| CanaryError::Automaton(e.to_string()))?,
            )
        };
        Ok(CanarySet {
            canaries: uniq,
            ac,
            patterns,
            max_len,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.canaries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.canaries.len()
    }

    pub fn canaries(&self) -> &[Canary] {
        &self.canaries
    }

    pub fn get(&self, idx: u32) -> Option<&Canary> {
        self.canaries.get(idx as usize)
    }

    /// Number of literal patterns (canaries × encodings) in the automaton.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Scans the next chunk of a stream, reporting hits that end in this chunk.
    pub fn scan(&self, st: &mut ScanState, data: &[u8], mut on_hit: impl FnMut(Hit)) {
        let Some(ac) = &self.ac else {
            st.pos += data.len() as u64;
            return;
        };
        if data.is_empty() {
            return;
        }
        // Carry enough to complete a split match, plus context for its snippet.
        let overlap = self.max_len.saturating_sub(1);
        let keep = overlap + CONTEXT;
        let chunk_start = st.pos;
        // Matches straddling the carried tail and this chunk.
        if !st.tail.is_empty() {
            let head = &data[..data.len().min(overlap + CONTEXT)];
            let tlen = st.tail.len();
            st.joint.clear();
            st.joint.extend_from_slice(&st.tail);
            st.joint.extend_from_slice(head);
            // Only the last `overlap` bytes of the tail can start a split match.
            let mut at = tlen.saturating_sub(overlap);
            while at < tlen {
                let input = Input::new(&st.joint[..]).span(at..st.joint.len());
                let Some(m) = ac.find(input) else { break };
                if m.start() >= tlen {
                    break;
                }
                if m.end() <= tlen {
                    // Already reported with the previous chunk; look for an
                    // overlapping match that starts after it.
                    at = m.start() + 1;
                    continue;
                }
                let p = &self.patterns[m.pattern().as_usize()];
                let from = m.start().saturating_sub(CONTEXT);
                let to = (m.end() + CONTEXT).min(st.joint.len());
                on_hit(Hit {
                    canary: p.canary,
                    encoding: p.encoding,
                    offset: chunk_start - (tlen - m.start()) as u64,
                    len: m.len(),
                    context: st.joint[from..to].to_vec(),
                });
                at = m.end();
            }
        }
        for m in ac.find_iter(data) {
            let p = &self.patterns[m.pattern().as_usize()];
            let from = m.start().saturating_sub(CONTEXT);
            let to = (m.end() + CONTEXT).min(data.len());
            on_hit(Hit {
                canary: p.canary,
                encoding: p.encoding,
                offset: chunk_start + m.start() as u64,
                len: m.len(),
                context: data[from..to].to_vec(),
            });
        }
        st.pos += data.len() as u64;
        // Carry the last `keep` bytes of tail+data.
        if data.len() >= keep {
            st.tail.clear();
            st.tail.extend_from_slice(&data[data.len() - keep..]);
        } else {
            st.tail.extend_from_slice(data);
            if st.tail.len() > keep {
                let cut = st.tail.len() - keep;
                st.tail.drain(..cut);
            }
        }
    }

    /// Scans a self-contained value (a database cell, a datagram) with fresh state.
    pub fn scan_once(&self, data: &[u8], on_hit: impl FnMut(Hit)) {
        let mut st = ScanState::default();
        self.scan(&mut st, data, on_hit);
    }
}

/// Matcher state of one byte stream.
#[derive(Debug, Default, Clone)]
pub struct ScanState {
    tail: Vec<u8>,
    joint: Vec<u8>,
    /// Stream offset of the next byte.
    pos: u64,
}

impl ScanState {
    /// A hole in the stream: nothing can match across it.
    pub fn gap(&mut self, len: u64) {
        self.tail.clear();
        self.pos += len;
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Releases buffers of a stream that has ended.
    pub fn reset(&mut self) {
        self.tail = Vec::new();
        self.joint = Vec::new();
    }
}

/// The encoded forms of a canary searched as literals.
///
/// Forms that depend on alignment or escaping choices (base64, percent,
/// JSON escapes) are generated here so that one automaton finds all of them.
pub fn variants(text: &str) -> Vec<(Encoding, Vec<u8>)> {
    vec![(Encoding::Utf8, text.as_bytes().to_vec())]
}

/// The fixed prefix of generated canaries.
pub const PREFIX: &str = "PS-";
/// RFC 4648 base32 alphabet used for canary bodies.
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Random characters in a generated canary (16 × 5 = 80 bits).
pub const BODY_LEN: usize = 16;

/// The check character of a canary body: a sum of its base32 values with odd
/// position weights (odd weights are invertible mod 32), so any single changed
/// character changes it and most swapped pairs do.
pub fn check_char(body: &str) -> Option<char> {
    let mut sum: u32 = 0;
    for (i, c) in body.bytes().enumerate() {
        let v = B32.iter().position(|&b| b == c)? as u32;
        sum = (sum + v * (2 * (i as u32 % 16) + 1)) % 32;
    }
    Some(B32[sum as usize] as char)
}

/// Whether `s` is a well-formed generated canary (prefix, body, check character).
pub fn is_well_formed(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(PREFIX) else {
        return false;
    };
    if rest.len() != BODY_LEN + 1 || !rest.is_ascii() {
        return false;
    }
    let (body, check) = rest.split_at(BODY_LEN);
    check_char(body).is_some_and(|c| check.starts_with(c))
}

/// Makes a new canary from 10 random bytes (80 bits).
pub fn generate(random: &[u8; 10]) -> String {
    let mut bits: u128 = 0;
    for b in random {
        bits = bits << 8 | u128::from(*b);
    }
    let mut body = String::with_capacity(BODY_LEN);
    for i in (0..BODY_LEN).rev() {
        body.push(B32[((bits >> (i * 5)) & 31) as usize] as char);
    }
    let check = check_char(&body).unwrap_or('A');
    format!("{PREFIX}{body}{check}")
}

/// Masks a snippet for reports: the canary stays readable, everything else
/// keeps only its shape (letters become `x`, digits `0`, other bytes `·`).
pub fn mask(context: &[u8], keep: Option<&[u8]>) -> String {
    let mut out = String::new();
    let (before, matched, after) = match keep.and_then(|k| find(context, k).map(|i| (i, k.len()))) {
        Some((i, n)) => (&context[..i], &context[i..i + n], &context[i + n..]),
        None => (context, &[][..], &[][..]),
    };
    mask_into(&mut out, before);
    out.push_str(&String::from_utf8_lossy(matched));
    mask_into(&mut out, after);
    out
}

fn mask_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(match b {
            b'a'..=b'z' | b'A'..=b'Z' => 'x',
            b'0'..=b'9' => '0',
            b' ' => ' ',
            _ => '·',
        });
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(texts: &[&str]) -> CanarySet {
        CanarySet::new(
            texts
                .iter()
                .map(|t| Canary {
                    text: t.to_string(),
                    label: None,
                    created: None,
                })
                .collect(),
        )
        .unwrap()
    }

    fn scan_chunks(s: &CanarySet, chunks: &[&[u8]]) -> Vec<Hit> {
        let mut st = ScanState::default();
        let mut hits = Vec::new();
        for c in chunks {
            s.scan(&mut st, c, |h| hits.push(h));
        }
        hits
    }

    #[test]
    fn finds_canary_split_at_every_position() {
        let s = set(&["PS-7H2KQ9ZX"]);
        let msg = b"hello PS-7H2KQ9ZX world";
        for cut in 0..=msg.len() {
            let hits = scan_chunks(&s, &[&msg[..cut], &msg[cut..]]);
            assert_eq!(hits.len(), 1, "cut at {cut}");
            assert_eq!(hits[0].offset, 6);
            assert_eq!(hits[0].len, 11);
        }
    }

    #[test]
    fn finds_canary_split_over_many_tiny_chunks() {
        let s = set(&["PS-7H2KQ9ZX"]);
        let msg = b"xxPS-7H2KQ9ZXyyPS-7H2KQ9ZX";
        let chunks: Vec<&[u8]> = msg.chunks(1).collect();
        let hits = scan_chunks(&s, &chunks);
        assert_eq!(
            hits.iter().map(|h| h.offset).collect::<Vec<_>>(),
            vec![2, 15]
        );
    }

    #[test]
    fn near_miss_is_not_a_hit_and_gap_breaks_matches() {
        let s = set(&["PS-7H2KQ9ZX"]);
        assert!(scan_chunks(&s, &[b"PS-7H2KQ9Z_"]).is_empty());
        let mut st = ScanState::default();
        let mut hits = Vec::new();
        s.scan(&mut st, b"PS-7H2", |h| hits.push(h));
        st.gap(10);
        s.scan(&mut st, b"KQ9ZX", |h| hits.push(h));
        assert!(hits.is_empty());
        assert_eq!(st.position(), 21);
    }

    #[test]
    fn distinguishes_several_canaries() {
        let s = set(&["PS-AAAAAAAA", "PS-BBBBBBBB"]);
        let hits = scan_chunks(&s, &[b"PS-BBBB", b"BBBB and PS-AAAAAAAA"]);
        assert_eq!(
            hits.iter().map(|h| h.canary).collect::<Vec<_>>(),
            vec![1, 0]
        );
    }

    #[test]
    fn canaries_are_nfc_normalised() {
        // "é" as e + combining acute is stored as the precomposed form.
        let s = set(&["caf\u{65}\u{301}-marker"]);
        assert_eq!(s.canaries()[0].text, "caf\u{e9}-marker");
        assert_eq!(scan_chunks(&s, &["x café-marker".as_bytes()]).len(), 1);
    }

    #[test]
    fn short_canaries_are_refused() {
        assert!(
            CanarySet::new(vec![Canary {
                text: "abc".into(),
                label: None,
                created: None
            }])
            .is_err()
        );
    }

    #[test]
    fn generated_canaries_are_well_formed_and_near_misses_are_not() {
        let c = generate(&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22]);
        assert!(c.starts_with("PS-") && c.len() == 3 + BODY_LEN + 1, "{c}");
        assert!(is_well_formed(&c));
        // Any single-character change of the body breaks the check character.
        let bytes = c.as_bytes();
        for i in 3..3 + BODY_LEN {
            for &sub in B32.iter() {
                if sub == bytes[i] {
                    continue;
                }
                let mut m = bytes.to_vec();
                m[i] = sub;
                assert!(!is_well_formed(std::str::from_utf8(&m).unwrap()));
            }
        }
        assert!(!is_well_formed("PS-SHORT"));
        assert_eq!(generate(&[0; 10]), "PS-AAAAAAAAAAAAAAAAA");
    }

    #[test]
    fn masking_keeps_only_the_canary() {
        assert_eq!(
            mask(b"Hi Bob, PS-7H2K ok?", Some(b"PS-7H2K")),
            "xx xxx· PS-7H2K xx·"
        );
    }
}
