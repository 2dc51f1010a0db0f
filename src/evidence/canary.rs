//! Canaries: known marker strings, and the streaming matcher that finds them.
//!
//! **One automaton, one pass.** Every searched form of every canary goes
//! into one Aho-Corasick automaton built once per run: UTF-8 (NFC and NFD),
//! UTF-16LE/BE, hex (lower and upper), `+`-for-space form encoding, and
//! base64/base64url at the three alignments. A [`ScanState`] per byte
//! stream (one layer, one direction) carries the automaton's state across
//! chunks, so a canary split across TCP segments, TLS records or body chunks
//! is found without re-reading anything.
//!
//! **Base64 anchoring.** At each alignment only the middle characters are
//! fixed by the canary alone. The pattern is that middle plus every
//! possible last partial character (4 or 16 alternatives sharing the
//! middle's trie path), and a match is accepted only if the character
//! before it carries the canary's leading bits. So every bit of the canary
//! is checked at every alignment and a near-miss (say, a wrong check
//! character) is not a hit; a base64 hit is evidence as strong as a UTF-8 one.
//!
//! **Escapes through a decoding lane.** Forms with escapes that may cover any
//! subset of characters (percent-encoding, JSON `\u`, HTML references,
//! quoted-printable with soft line breaks, base64 split into MIME lines)
//! cannot be enumerated as literals. Instead, when the scanner meets a
//! valid escape whose decoded bytes could belong to a canary, it forks a
//! *lane*: a second cursor in the *same* automaton, started from the state
//! the raw cursor had just before the escape, that is fed the decoded bytes
//! (see [`crate::codec::escape`]). The lane runs until the longest pattern's
//! length of bytes has passed without an escape (then it is back in the raw
//! cursor's state and stops). A lane hit counts only if an escape lies
//! inside it (otherwise the raw cursor found it). Bytes away from escapes are
//! stepped once; cost grows only inside escaped text, never per encoding.
//! MIME line breaks are dropped only after a run of at least 16 base64
//! characters, so ordinary text lines never engage the lane.
//!
//! **Speed.** While the automaton sits in its start state, a vector scan
//! skips every position whose byte pair can begin neither a pattern nor an
//! escape (see `wake`); elsewhere the automaton steps one transition per
//! byte. The automaton is a contiguous NFA: 100 canaries take 0.3 MiB and a
//! few milliseconds to build, 10,000 take 27 MiB and under a second.
//!
//! Matching is case-sensitive (hex has both cases as separate forms;
//! escape digits are case-insensitive).

mod wake;

use crate::codec::escape::{self, Kind, MAX_ESCAPE, Step};
use crate::evidence::Encoding;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, MatchKind};
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
    #[error("a canary of {0} bytes is too long: at most {MAX_CANARY_LEN} bytes are supported")]
    TooLong(usize),
    #[error("cannot write canary file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("no random numbers from the operating system: {0}")]
    Random(String),
}

/// Shortest canary accepted (bytes of UTF-8).
pub const MIN_CANARY_LEN: usize = 6;
/// Longest canary accepted; bounds every per-stream buffer of the matcher.
pub const MAX_CANARY_LEN: usize = 256;

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

/// Makes `count` new canaries from the operating system's random numbers,
/// labelled `label` (numbered `label #1`, `label #2`, ... when more than
/// one) and stamped with `created` (RFC 3339).
pub fn new_canaries(
    count: usize,
    label: Option<&str>,
    created: &str,
) -> Result<Vec<Canary>, CanaryError> {
    (1..=count)
        .map(|i| {
            let mut random = [0u8; 10];
            getrandom::fill(&mut random).map_err(|e| CanaryError::Random(e.to_string()))?;
            Ok(Canary {
                text: generate(&random),
                label: label.map(|l| {
                    if count > 1 {
                        format!("{l} #{i}")
                    } else {
                        l.to_string()
                    }
                }),
                created: Some(created.to_string()),
            })
        })
        .collect()
}

/// Appends canaries to a `canaries.toml` file, creating it if needed. An
/// existing file is checked first and kept byte for byte (comments too).
pub fn append_file(path: &Path, new: &[Canary]) -> Result<(), CanaryError> {
    let write_err = |source| CanaryError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut text = match std::fs::read_to_string(path) {
        Ok(t) => {
            load_file(path)?;
            t
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(CanaryError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    let block = toml::to_string(&CanaryFile {
        canary: new.to_vec(),
    })
    .map_err(|e| CanaryError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    text.push_str(&block);
    // Write beside the file and rename, so a failure never truncates it.
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &text).map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)
}

/// A canary hit in a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub canary: u32,
    pub encoding: Encoding,
    /// Stream offset of the first byte of the encoded canary.
    pub offset: u64,
    /// Bytes the encoded canary spans in the stream.
    pub len: usize,
    /// Up to [`CONTEXT`] bytes before, the match, and up to [`CONTEXT`] bytes after,
    /// as far as they were available in the current chunk and carried tail.
    pub context: Vec<u8>,
}

/// Bytes of context kept on each side of a hit.
pub const CONTEXT: usize = 24;

/// Base64 alphabets (RFC 4648 §4 and §5).
const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Fewest stable base64 characters a form may have (a 6-byte canary has 7).
const MIN_B64_MIDDLE: usize = 6;
/// Base64 characters a line must hold before its line break is dropped.
pub const MIME_RUN: u32 = 16;

/// The 6-bit value of a base64 character in either alphabet.
fn b64_value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

fn is_b64(c: u8) -> bool {
    b64_value(c).is_some()
}

/// The canary's leading bits at a base64 alignment: the low `bits` of the
/// character before the pattern must equal `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lead {
    bits: u8,
    value: u8,
}

impl Lead {
    fn accepts(self, before: Option<u8>) -> bool {
        before
            .and_then(b64_value)
            .is_some_and(|v| v & ((1 << self.bits) - 1) == self.value)
    }
}

/// One literal pattern in the automaton.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    canary: u32,
    encoding: Encoding,
    len: u32,
    lead: Option<Lead>,
    /// A UTF-16 form of Latin-1 text: its other byte order is the same
    /// bytes one position over, so the two may match as twins.
    twin: bool,
}

/// A searched form of a canary.
struct Form {
    encoding: Encoding,
    bytes: Vec<u8>,
    lead: Option<Lead>,
    twin: bool,
}

/// Every literal form of a canary (`text` already NFC).
fn forms(text: &str) -> Vec<Form> {
    let plain = |encoding, bytes: Vec<u8>| Form {
        encoding,
        bytes,
        lead: None,
        twin: false,
    };
    let nfd: String = text.nfd().collect();
    let mut out = vec![plain(Encoding::Utf8, text.as_bytes().to_vec())];
    if nfd != text {
        out.push(plain(Encoding::Utf8, nfd.as_bytes().to_vec()));
    }
    if text.contains(' ') {
        out.push(plain(
            Encoding::Percent,
            text.replace(' ', "+").into_bytes(),
        ));
    }
    for t in [text, nfd.as_str()] {
        let units: Vec<u16> = t.encode_utf16().collect();
        let twin = units.iter().all(|&u| u < 0x100);
        out.push(Form {
            twin,
            ..plain(
                Encoding::Utf16le,
                units.iter().flat_map(|u| u.to_le_bytes()).collect(),
            )
        });
        out.push(Form {
            twin,
            ..plain(
                Encoding::Utf16be,
                units.iter().flat_map(|u| u.to_be_bytes()).collect(),
            )
        });
    }
    const HEX_L: &[u8; 16] = b"0123456789abcdef";
    const HEX_U: &[u8; 16] = b"0123456789ABCDEF";
    for (enc, digits) in [(Encoding::HexLower, HEX_L), (Encoding::HexUpper, HEX_U)] {
        let hex = text
            .bytes()
            .flat_map(|b| [digits[usize::from(b >> 4)], digits[usize::from(b & 15)]])
            .collect();
        out.push(plain(enc, hex));
    }
    for (enc, alphabet) in [(Encoding::Base64, B64_STD), (Encoding::Base64url, B64_URL)] {
        for (bytes, lead) in base64_forms(text.as_bytes(), alphabet) {
            out.push(Form {
                encoding: enc,
                bytes,
                lead,
                twin: false,
            });
        }
    }
    // The same bytes under two names (std and url base64 agree unless `+/`
    // appear; hex of digits-only text) are searched once, under the first.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(f.bytes.clone()));
    out
}

/// The base64 forms of `u` at alignments 0, 1 and 2: the stable middle plus
/// each possible trailing partial character, with the leading bits to check.
fn base64_forms(u: &[u8], alphabet: &[u8; 64]) -> Vec<(Vec<u8>, Option<Lead>)> {
    let mut out = Vec::new();
    for a in 0..3usize {
        let mut buf = vec![0u8; a];
        buf.extend_from_slice(u);
        buf.extend_from_slice(&[0, 0]);
        let sextet = |k: usize| -> u8 {
            let bit = 6 * k;
            let w = u16::from(buf[bit / 8]) << 8 | u16::from(buf[bit / 8 + 1]);
            ((w >> (10 - bit % 8)) & 63) as u8
        };
        let lo = 8 * a;
        let hi = 8 * (a + u.len());
        let kmin = lo.div_ceil(6);
        let kend = hi / 6;
        if kend < kmin + MIN_B64_MIDDLE {
            continue;
        }
        let middle: Vec<u8> = (kmin..kend)
            .map(|k| alphabet[usize::from(sextet(k))])
            .collect();
        let lead = (lo % 6 != 0).then(|| {
            let bits = (6 * kmin - lo) as u8;
            Lead {
                bits,
                value: sextet(kmin - 1) & ((1 << bits) - 1),
            }
        });
        if hi.is_multiple_of(6) {
            out.push((middle, lead));
            continue;
        }
        let known = hi - 6 * kend;
        let high = sextet(kend) >> (6 - known);
        for x in 0..(1u8 << (6 - known)) {
            let v = high << (6 - known) | x;
            let mut m = middle.clone();
            m.push(alphabet[usize::from(v)]);
            out.push((m, lead));
        }
    }
    out
}

/// The literal forms of a canary as searched (NFC-normalised first), for
/// display and tests. Base64 forms include each trailing alternative.
pub fn variants(text: &str) -> Vec<(Encoding, Vec<u8>)> {
    let text: String = text.nfc().collect();
    forms(&text)
        .into_iter()
        .map(|f| (f.encoding, f.bytes))
        .collect()
}

/// Byte classes for the scanner.
const WAKE: u8 = 1;
const TRIGGER: u8 = 2;

/// The run's canaries compiled into one automaton.
#[derive(Clone)]
pub struct CanarySet {
    canaries: Vec<Canary>,
    patterns: Vec<Pattern>,
    /// A contiguous NFA: compact and quick to build, and stepped only where
    /// the wake scan stops, so a DFA's speed would not show.
    auto: Option<contiguous::NFA>,
    start: StateID,
    max_len: usize,
    /// Per byte: `WAKE` when it leaves the start state or may start an
    /// escape, `TRIGGER` when it may start an escape.
    class: Box<[u8; 256]>,
    /// Bytes occurring in a decodable form: an escape that decodes to
    /// anything else cannot be part of a canary, so it forks no lane.
    useful: Box<[bool; 256]>,
    /// Whether skipping over non-`WAKE` bytes pays off (few wake bytes).
    skip: bool,
    wake: wake::Wake,
    /// Whether any base64 form exists (else line breaks never fork a lane).
    base64: bool,
    tail_len: usize,
    ring_len: usize,
}

impl std::fmt::Debug for CanarySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CanarySet")
            .field("canaries", &self.canaries.len())
            .field("patterns", &self.patterns.len())
            .field("max_len", &self.max_len)
            .field("automaton", &self.memory_usage())
            .finish()
    }
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
        let mut texts = std::collections::HashSet::new();
        for mut c in canaries {
            c.text = c.text.nfc().collect();
            if c.text.len() < MIN_CANARY_LEN {
                return Err(CanaryError::TooShort(c.text));
            }
            if c.text.len() > MAX_CANARY_LEN {
                return Err(CanaryError::TooLong(c.text.len()));
            }
            if texts.insert(c.text.clone()) {
                uniq.push(c);
            }
        }
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut patterns = Vec::new();
        let mut useful = Box::new([false; 256]);
        for (i, c) in uniq.iter().enumerate() {
            for f in forms(&c.text) {
                if matches!(
                    f.encoding,
                    Encoding::Utf8 | Encoding::Percent | Encoding::Base64 | Encoding::Base64url
                ) {
                    for &b in &f.bytes {
                        useful[usize::from(b)] = true;
                    }
                }
                patterns.push(Pattern {
                    canary: i as u32,
                    encoding: f.encoding,
                    len: f.bytes.len() as u32,
                    lead: f.lead,
                    twin: f.twin,
                });
                literals.push(f.bytes);
            }
        }
        let max_len = literals.iter().map(Vec::len).max().unwrap_or(0);
        let auto = if literals.is_empty() {
            None
        } else {
            Some(
                contiguous::Builder::new()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .byte_classes(true)
                    .build(&literals)
                    .map_err(|e| CanaryError::Automaton(e.to_string()))?,
            )
        };
        let mut class = Box::new([0u8; 256]);
        let mut start = StateID::ZERO;
        if let Some(a) = &auto {
            start = leave_table(a, &mut class)?;
            // Line breaks matter only inside a match (a base64 form broken
            // across lines): in the start state there is nothing to continue,
            // and a leading partial character before a break is found by
            // looking back over it (see `Run::lead_before`).
            for b in 0..=255u8 {
                if escape::is_introducer(b) {
                    class[usize::from(b)] |= TRIGGER;
                    if !matches!(b, b'\r' | b'\n') {
                        class[usize::from(b)] |= WAKE;
                    }
                }
            }
        }
        let wakes = class.iter().filter(|&&c| c & WAKE != 0).count();
        let base64 = patterns
            .iter()
            .any(|p| matches!(p.encoding, Encoding::Base64 | Encoding::Base64url));
        let mut starts = vec![false; 1 << 16];
        let mut first = [false; 256];
        for l in &literals {
            if let [a, b, ..] = l[..] {
                starts[usize::from(a) << 8 | usize::from(b)] = true;
                first[usize::from(a)] = true;
            }
        }
        let byte: [bool; 256] = std::array::from_fn(|b| class[b] & WAKE != 0);
        // A pattern's first byte before an escape may be the start of a
        // match the decoding lane completes (`P%53...`): keep it.
        let wake = wake::Wake::new(byte, |b0, b1| {
            starts[usize::from(b0) << 8 | usize::from(b1)]
                || (first[usize::from(b0)] && escape::is_introducer(b1))
                || escape_pair(b0, b1, base64)
        });
        Ok(CanarySet {
            canaries: uniq,
            patterns,
            auto,
            start,
            max_len,
            class,
            useful,
            skip: wakes <= 128,
            wake,
            base64,
            tail_len: max_len + 1 + CONTEXT,
            ring_len: (max_len + 2).next_power_of_two(),
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

    /// Number of literal patterns (canaries × forms) in the automaton.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Length of the longest literal form: how far back a match can start.
    pub fn max_pattern_len(&self) -> usize {
        self.max_len
    }

    /// Heap bytes held by the automaton.
    pub fn memory_usage(&self) -> usize {
        self.auto.as_ref().map_or(0, |a| a.memory_usage())
    }

    /// Scans the next chunk of a stream, reporting hits that end in this
    /// chunk, in stream order.
    pub fn scan(&self, st: &mut ScanState, data: &[u8], on_hit: impl FnMut(Hit)) {
        self.scan_chunk(st, data, true, on_hit);
    }

    /// Scans a self-contained value (a database cell, a datagram, a header
    /// value) with fresh state.
    pub fn scan_once(&self, data: &[u8], on_hit: impl FnMut(Hit)) {
        let mut st = ScanState::default();
        self.scan_chunk(&mut st, data, false, on_hit);
    }

    /// The stream ended: reports a hit still waiting for a byte that will
    /// not come (a UTF-16BE canary that ends the stream), then releases the
    /// stream's buffers.
    pub fn finish(&self, st: &mut ScanState, mut on_hit: impl FnMut(Hit)) {
        if st.held != NONE
            && let Some(p) = self.patterns.get(st.held as usize)
            && let Some(start) = st.pos.checked_sub(u64::from(p.len))
        {
            let back = (st.pos - start) as usize + CONTEXT;
            let context = st.tail[st.tail.len().saturating_sub(back)..].to_vec();
            on_hit(Hit {
                canary: p.canary,
                encoding: p.encoding,
                offset: start,
                len: p.len as usize,
                context,
            });
        }
        st.reset();
    }

    fn scan_chunk(
        &self,
        st: &mut ScanState,
        data: &[u8],
        keep_tail: bool,
        mut on_hit: impl FnMut(Hit),
    ) {
        let Some(auto) = &self.auto else {
            st.pos += data.len() as u64;
            return;
        };
        if data.is_empty() {
            return;
        }
        let mut hits = Vec::new();
        scan_with(self, auto, st, data, keep_tail, &mut hits);
        if keep_tail {
            keep_last(&mut st.tail, data, self.tail_len);
        }
        st.pos += data.len() as u64;
        hits.sort_by_key(|h| (h.offset, h.canary, h.encoding));
        for h in hits {
            on_hit(h);
        }
    }
}

/// Whether `b0 b1` can begin an escape that [`Run::forks`] would follow (a
/// necessary condition, so the wake scan may skip everything else).
fn escape_pair(b0: u8, b1: u8, base64: bool) -> bool {
    match b0 {
        b'%' => b1.is_ascii_hexdigit(),
        b'\\' => b"\"\\/bfnrtu".contains(&b1),
        b'&' => b1 == b'#' || b1.is_ascii_alphabetic(),
        b'=' => b1.is_ascii_hexdigit() || b1 == b'\r' || b1 == b'\n',
        b'\r' => base64 && b1 == b'\n',
        b'\n' => base64 && is_b64(b1),
        _ => false,
    }
}

/// Marks the bytes that leave the start state; returns the start state.
fn leave_table<A: Automaton>(a: &A, class: &mut [u8; 256]) -> Result<StateID, CanaryError> {
    let start = a
        .start_state(Anchored::No)
        .map_err(|e| CanaryError::Automaton(e.to_string()))?;
    for b in 0..=255u8 {
        if a.next_state(Anchored::No, start, b) != start {
            class[usize::from(b)] |= WAKE;
        }
    }
    Ok(start)
}

/// Keeps the last `keep` bytes of `tail ++ data` in `tail`.
fn keep_last(tail: &mut Vec<u8>, data: &[u8], keep: usize) {
    if data.len() >= keep {
        tail.clear();
        tail.extend_from_slice(&data[data.len() - keep..]);
    } else {
        let total = tail.len() + data.len();
        if total > keep {
            tail.drain(..total - keep);
        }
        tail.extend_from_slice(data);
    }
}

/// Matcher state of one byte stream: the automaton state, the stream
/// position, the last few bytes (for base64 leading bits, context and lane
/// history) and, once an escape was met, the decoding lane.
#[derive(Clone)]
pub struct ScanState {
    /// `StateID::ZERO` (the dead state) until the first chunk.
    sid: StateID,
    /// Stream offset of the next byte.
    pos: u64,
    tail: Vec<u8>,
    lane: Option<Box<Lane>>,
    /// A UTF-16BE hit (pattern index) that ended with the last chunk and
    /// waits for the next byte to tell whether it is a twin; `NONE` if none.
    held: u32,
}

const NONE: u32 = u32::MAX;

impl Default for ScanState {
    fn default() -> Self {
        ScanState {
            sid: StateID::ZERO,
            pos: 0,
            tail: Vec::new(),
            lane: None,
            held: NONE,
        }
    }
}

impl std::fmt::Debug for ScanState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanState")
            .field("pos", &self.pos)
            .field("tail", &self.tail.len())
            .field("lane", &self.lane.as_ref().is_some_and(|l| l.active))
            .finish()
    }
}

impl ScanState {
    /// A hole in the stream: nothing can match across it.
    pub fn gap(&mut self, len: u64) {
        self.sid = StateID::ZERO;
        self.held = NONE;
        self.tail.clear();
        if let Some(l) = &mut self.lane {
            l.stop();
        }
        self.pos += len;
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Releases buffers of a stream that has ended.
    pub fn reset(&mut self) {
        self.sid = StateID::ZERO;
        self.held = NONE;
        self.tail = Vec::new();
        self.lane = None;
    }
}

/// One chunk being scanned.
struct Run<'a, A> {
    set: &'a CanarySet,
    aut: &'a A,
    data: &'a [u8],
    /// Stream offset of `data[0]`.
    base: u64,
    /// Stream bytes just before `data`.
    tail: &'a [u8],
    hits: &'a mut Vec<Hit>,
    /// More chunks may follow (`scan`, not `scan_once`).
    streaming: bool,
    /// A UTF-16BE hit held at the end of this chunk (see [`Run::utf16_twin`]).
    held: u32,
}

impl<A: Automaton> Run<'_, A> {
    /// The stream byte at `abs`, if still in this chunk or the tail.
    fn byte_at(&self, abs: u64) -> Option<u8> {
        if abs >= self.base {
            self.data
                .get(usize::try_from(abs - self.base).ok()?)
                .copied()
        } else {
            let back = usize::try_from(self.base - abs).ok()?;
            self.tail.len().checked_sub(back).map(|i| self.tail[i])
        }
    }

    /// First stream offset still available.
    fn first(&self) -> u64 {
        self.base.saturating_sub(self.tail.len() as u64)
    }

    /// Stream bytes `[from, to)` as far as available.
    fn context(&self, from: u64, to: u64) -> Vec<u8> {
        let from = from.max(self.first());
        let to = to.min(self.base + self.data.len() as u64);
        (from..to).filter_map(|o| self.byte_at(o)).collect()
    }

    fn hit(&mut self, p: &Pattern, encoding: Encoding, start: u64, end: u64) {
        let context = self.context(start.saturating_sub(CONTEXT as u64), end + CONTEXT as u64);
        self.hits.push(Hit {
            canary: p.canary,
            encoding,
            offset: start,
            len: (end - start) as usize,
            context,
        });
    }

    /// Matches of the raw cursor ending at `data[i]`.
    fn raw_matches(&mut self, sid: StateID, i: usize) {
        let end = self.base + i as u64 + 1;
        for k in 0..self.aut.match_len(sid) {
            let pid = self.aut.match_pattern(sid, k).as_usize();
            let p = self.set.patterns[pid];
            let Some(start) = end.checked_sub(u64::from(p.len)) else {
                continue;
            };
            if let Some(lead) = p.lead
                && !lead.accepts(self.lead_before(start))
            {
                continue;
            }
            if p.twin && self.utf16_twin(pid, &p, start, end) {
                continue;
            }
            self.hit(&p, p.encoding, start, end);
        }
    }

    /// The base64 character before a match starting at `start`, looking back
    /// over a line break between base64 lines (MIME puts them anywhere).
    fn lead_before(&self, start: u64) -> Option<u8> {
        let before = start.checked_sub(1).and_then(|o| self.byte_at(o))?;
        if before != b'\n' {
            return Some(before);
        }
        let mut at = start - 1;
        if at.checked_sub(1).and_then(|o| self.byte_at(o)) == Some(b'\r') {
            at -= 1;
        }
        let line = (1..=u64::from(MIME_RUN)).all(|k| {
            at.checked_sub(k)
                .and_then(|o| self.byte_at(o))
                .is_some_and(is_b64)
        });
        if line {
            at.checked_sub(1).and_then(|o| self.byte_at(o))
        } else {
            Some(before)
        }
    }

    /// Whether a UTF-16 hit is the twin of one in the other byte order.
    ///
    /// Latin-1 text in UTF-16LE, read one byte later, is the same text in
    /// UTF-16BE (`P\0S\0` vs `\0P\0S`), so both forms match one byte apart
    /// and only the surroundings could tell them apart. Of such a pair, the
    /// hit at the even stream offset is kept (text usually starts aligned);
    /// when the byte deciding a BE hit is in the next chunk, the BE hit is
    /// kept and its LE twin dropped.
    fn utf16_twin(&mut self, pid: usize, p: &Pattern, start: u64, end: u64) -> bool {
        match p.encoding {
            Encoding::Utf16le => {
                start % 2 == 1 && start.checked_sub(1).and_then(|o| self.byte_at(o)) == Some(0)
            }
            Encoding::Utf16be if start % 2 == 1 => match self.byte_at(end) {
                Some(b) => b == 0,
                // The deciding byte starts the next chunk: hold the hit until then.
                None if self.streaming => {
                    self.held = pid as u32;
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Reports a hit held at the end of the previous chunk unless this
    /// chunk's first byte shows it to be the twin of a UTF-16LE hit.
    fn release(&mut self, held: u32) {
        let Some(&p) = self.set.patterns.get(held as usize) else {
            return;
        };
        if self.data.first() != Some(&0)
            && let Some(start) = self.base.checked_sub(u64::from(p.len))
        {
            self.hit(&p, p.encoding, start, self.base);
        }
    }

    /// Whether the trigger byte at `data[i]` starts an escape that could be
    /// part of a canary (only then is a lane worth forking).
    fn forks(&self, i: usize) -> bool {
        let data = self.data;
        match data[i] {
            // A CR LF forks at the CR; after a CR the run check fails anyway.
            b'\n' => self.line_break(i, 1),
            b'\r' => match data.get(i + 1) {
                Some(b'\n') | None => self.line_break(i, 2),
                Some(_) => false,
            },
            _ => {
                let end = data.len().min(i + MAX_ESCAPE);
                match escape::parse(&data[i..end], false) {
                    Step::Done(d) => {
                        let out = d.bytes();
                        out.is_empty()
                            || (out.iter().all(|&b| self.set.useful[usize::from(b)])
                                && (d.kind != Kind::QuotedPrintable || qp_escaped(out[0])))
                    }
                    Step::Need => end == data.len(),
                    Step::Literal => false,
                }
            }
        }
    }

    /// A line break of `len` bytes at `data[i]` between base64 lines.
    fn line_break(&self, i: usize, len: usize) -> bool {
        if !self.set.base64 {
            return false;
        }
        let at = self.base + i as u64;
        let run = (1..=u64::from(MIME_RUN)).all(|k| {
            at.checked_sub(k)
                .and_then(|o| self.byte_at(o))
                .is_some_and(is_b64)
        });
        run && self.data.get(i + len).is_none_or(|&c| is_b64(c))
    }
}

/// Bytes a quoted-printable encoder escapes (RFC 2045 §6.7): `=`, controls
/// and everything outside ASCII; a `=XX` of a plain letter is not QP.
fn qp_escaped(b: u8) -> bool {
    b == b'=' || !(0x20..0x7f).contains(&b)
}

fn scan_with<A: Automaton>(
    set: &CanarySet,
    aut: &A,
    st: &mut ScanState,
    data: &[u8],
    streaming: bool,
    hits: &mut Vec<Hit>,
) {
    let ScanState {
        sid: st_sid,
        pos,
        tail,
        lane,
        held,
    } = st;
    let mut run = Run {
        set,
        aut,
        data,
        base: *pos,
        tail: tail.as_slice(),
        hits,
        streaming,
        held: NONE,
    };
    if *held != NONE {
        run.release(*held);
    }
    // A lane still decoding from the previous chunk goes first.
    let mut lane_until = 0usize;
    if let Some(l) = lane.as_deref_mut()
        && l.active
    {
        lane_until = l.run(&mut run, 0);
    }
    let start = set.start;
    let class = &*set.class;
    let mut sid = if *st_sid == StateID::ZERO {
        start
    } else {
        *st_sid
    };
    let n = data.len();
    let mut i = 0;
    while i < n {
        if sid == start && set.skip {
            i = set.wake.next(data, i);
            if i >= n {
                break;
            }
        }
        let b = data[i];
        let prev = sid;
        sid = aut.next_state(Anchored::No, sid, b);
        if aut.is_special(sid) && aut.is_match(sid) {
            run.raw_matches(sid, i);
        }
        if class[usize::from(b)] & TRIGGER != 0 && i >= lane_until && run.forks(i) {
            let l = lane.get_or_insert_with(|| Box::new(Lane::new(set.ring_len)));
            l.fork(&run, prev, i);
            lane_until = l.run(&mut run, i);
        }
        i += 1;
    }
    *st_sid = sid;
    *held = run.held;
}

/// The decoding lane: a second cursor in the automaton fed decoded bytes.
///
/// Positions (`dpos`) count decoded bytes; a ring keeps the last bytes and
/// the stream offset each came from, for base64 leading bits and to report
/// hits at stream offsets.
#[derive(Clone)]
struct Lane {
    active: bool,
    sid: StateID,
    /// Next decoded position; starts at 1 so that 0 can mean "no escape".
    dpos: u64,
    /// First position of the history copied at the last fork.
    hist_from: u64,
    /// Where the latest escape since the fork took effect (the position after
    /// its decoded bytes, or where a dropped line break was); 0: none yet.
    last_esc: u64,
    /// The same per escape kind, to name a hit's encoding.
    kinds: [u64; 5],
    /// Base64 characters decoded in a row.
    b64run: u32,
    pend: [u8; MAX_ESCAPE],
    pend_len: usize,
    /// Stream offset of `pend[0]`.
    pend_raw: u64,
    ring: Box<[u8]>,
    /// Low 32 bits of the stream offset each ring byte came from.
    ring_raw: Box<[u32]>,
}

impl Lane {
    fn new(ring_len: usize) -> Lane {
        Lane {
            active: false,
            sid: StateID::ZERO,
            dpos: 1,
            hist_from: 1,
            last_esc: 0,
            kinds: [0; 5],
            b64run: 0,
            pend: [0; MAX_ESCAPE],
            pend_len: 0,
            pend_raw: 0,
            ring: vec![0; ring_len].into_boxed_slice(),
            ring_raw: vec![0; ring_len].into_boxed_slice(),
        }
    }

    fn stop(&mut self) {
        self.active = false;
        self.pend_len = 0;
    }

    fn mask(&self) -> u64 {
        self.ring.len() as u64 - 1
    }

    /// Starts decoding at `data[i]` from the raw cursor's state `sid` before
    /// that byte, with the stream bytes before it as history.
    fn fork<A: Automaton>(&mut self, run: &Run<'_, A>, sid: StateID, i: usize) {
        self.active = true;
        self.sid = sid;
        self.last_esc = 0;
        self.pend_len = 0;
        self.b64run = 0;
        let at = run.base + i as u64;
        let k = (self.ring.len() as u64).min(at - run.first());
        self.hist_from = self.dpos;
        for o in at - k..at {
            let b = run.byte_at(o).unwrap_or(0);
            self.record(b, o);
        }
    }

    /// Appends a decoded byte to the history.
    fn record(&mut self, b: u8, raw: u64) {
        let slot = (self.dpos & self.mask()) as usize;
        self.ring[slot] = b;
        self.ring_raw[slot] = raw as u32;
        self.dpos += 1;
        self.b64run = if is_b64(b) {
            self.b64run.saturating_add(1)
        } else {
            0
        };
    }

    /// Feeds `data[from..]` until the lane is back in step with the raw
    /// cursor; returns the index where it stopped (or `data.len()`).
    fn run<A: Automaton>(&mut self, run: &mut Run<'_, A>, from: usize) -> usize {
        let data = run.data;
        for (k, &b) in data.iter().enumerate().skip(from) {
            self.push(run, b, run.base + k as u64);
            if self.in_step(run.set.max_len) {
                self.active = false;
                return k + 1;
            }
        }
        run.data.len()
    }

    /// Once the longest pattern's length has passed since the last escape,
    /// the lane's state equals the raw cursor's: nothing more to find.
    fn in_step(&self, max_len: usize) -> bool {
        self.pend_len == 0 && (self.last_esc == 0 || self.dpos - self.last_esc >= max_len as u64)
    }

    fn push<A: Automaton>(&mut self, run: &mut Run<'_, A>, b: u8, raw: u64) {
        if self.pend_len == 0 && !escape::is_introducer(b) {
            self.emit(run, b, raw, raw + 1);
            return;
        }
        if self.pend_len == 0 {
            self.pend_raw = raw;
        }
        if let Some(slot) = self.pend.get_mut(self.pend_len) {
            *slot = b;
            self.pend_len += 1;
        }
        self.drain(run);
    }

    /// Decodes what the pending bytes allow.
    fn drain<A: Automaton>(&mut self, run: &mut Run<'_, A>) {
        while self.pend_len > 0 {
            let first = self.pend[0];
            let step = if escape::is_introducer(first) {
                escape::parse(&self.pend[..self.pend_len], self.b64run >= MIME_RUN)
            } else {
                Step::Literal
            };
            let used = match step {
                Step::Need if self.pend_len < MAX_ESCAPE => return,
                Step::Need | Step::Literal => {
                    self.emit(run, first, self.pend_raw, self.pend_raw + 1);
                    1
                }
                Step::Done(d) => {
                    let len = usize::from(d.len);
                    let out = d.bytes();
                    let effect = self.dpos + out.len() as u64;
                    self.last_esc = effect;
                    self.kinds[d.kind.index()] = effect;
                    let (rs, re) = (self.pend_raw, self.pend_raw + len as u64);
                    for &o in out {
                        self.emit(run, o, rs, re);
                    }
                    len
                }
            };
            self.pend.copy_within(used..self.pend_len, 0);
            self.pend_len -= used;
            self.pend_raw += used as u64;
        }
    }

    /// Steps the automaton with one decoded byte from stream bytes `[rs, re)`.
    fn emit<A: Automaton>(&mut self, run: &mut Run<'_, A>, b: u8, rs: u64, re: u64) {
        self.sid = run.aut.next_state(Anchored::No, self.sid, b);
        self.record(b, rs);
        if !(run.aut.is_special(self.sid) && run.aut.is_match(self.sid)) {
            return;
        }
        for k in 0..run.aut.match_len(self.sid) {
            let p = run.set.patterns[run.aut.match_pattern(self.sid, k).as_usize()];
            let Some(start) = self.dpos.checked_sub(u64::from(p.len)) else {
                continue;
            };
            let span = start - u64::from(p.lead.is_some());
            // Without an escape inside, the raw cursor has it already (also
            // when only a line break separates the leading character).
            let break_before =
                self.last_esc == start && self.kinds[Kind::LineBreak.index()] == start;
            if self.last_esc <= span || span < self.hist_from || break_before {
                continue;
            }
            if let Some(lead) = p.lead {
                let before = self.ring[(span & self.mask()) as usize];
                if !lead.accepts(Some(before)) {
                    continue;
                }
            }
            let lo = self.ring_raw[(start & self.mask()) as usize];
            let raw_start = re - u64::from((re as u32).wrapping_sub(lo));
            let encoding = if p.encoding == Encoding::Utf8 {
                self.escape_encoding(span)
            } else {
                p.encoding
            };
            run.hit(&p, encoding, raw_start, re);
        }
    }

    /// The encoding of the escapes inside a hit starting at `span`: line
    /// breaks alone only wrapped the text.
    fn escape_encoding(&self, span: u64) -> Encoding {
        for kind in Kind::ALL {
            if kind != Kind::LineBreak && self.kinds[kind.index()] > span {
                return match kind {
                    Kind::Percent => Encoding::Percent,
                    Kind::Json => Encoding::JsonEscape,
                    Kind::Html => Encoding::HtmlEntity,
                    Kind::QuotedPrintable => Encoding::QuotedPrintable,
                    Kind::LineBreak => Encoding::Utf8,
                };
            }
        }
        Encoding::Utf8
    }
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
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

    /// The wire fixtures' canary.
    const C: &str = "PS-OBWGC2LOONUWO2DU4";
    /// Non-ASCII with spaces: percent, QP, entities and NFD have work to do.
    const INTL: &str = "Grüße aus Köln 7H2K";
    /// Its base64 holds `/` at every alignment, so base64url differs.
    const SLASHY: &str = "PS-??????-7H2K";

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

    fn all() -> CanarySet {
        set(&[C, INTL, SLASHY])
    }

    fn scan_chunks(s: &CanarySet, chunks: &[&[u8]]) -> Vec<Hit> {
        let mut st = ScanState::default();
        let mut hits = Vec::new();
        for c in chunks {
            s.scan(&mut st, c, |h| hits.push(h));
        }
        hits
    }

    fn show(msg: &[u8]) -> String {
        String::from_utf8_lossy(msg).into_owned()
    }

    /// `msg` holds exactly one hit, of canary `canary` in `enc`: scanned
    /// whole, once, byte by byte, split in two at every position and split in
    /// three at every pair of positions inside the encoded canary.
    fn assert_found(s: &CanarySet, msg: &[u8], canary: &str, enc: Encoding) -> Hit {
        let whole = scan_chunks(s, &[msg]);
        assert_eq!(
            whole
                .iter()
                .map(|h| (s.get(h.canary).unwrap().text.as_str(), h.encoding))
                .collect::<Vec<_>>(),
            vec![(canary, enc)],
            "{}",
            show(msg)
        );
        let want = whole[0].clone();
        let mut once = Vec::new();
        s.scan_once(msg, |h| once.push(h));
        assert_eq!(once, whole);
        let same = |hits: Vec<Hit>, how: &str| {
            assert_eq!(hits.len(), 1, "{how}: {}", show(msg));
            assert_eq!(
                (
                    hits[0].canary,
                    hits[0].encoding,
                    hits[0].offset,
                    hits[0].len
                ),
                (want.canary, want.encoding, want.offset, want.len),
                "{how}: {}",
                show(msg)
            );
        };
        let bytes: Vec<&[u8]> = msg.chunks(1).collect();
        same(scan_chunks(s, &bytes), "byte by byte");
        for cut in 0..=msg.len() {
            same(
                scan_chunks(s, &[&msg[..cut], &msg[cut..]]),
                &format!("cut at {cut}"),
            );
        }
        let (from, to) = (want.offset as usize, want.offset as usize + want.len);
        for a in from..=to {
            for b in a..=to {
                same(
                    scan_chunks(s, &[&msg[..a], &msg[a..b], &msg[b..]]),
                    &format!("cuts at {a} and {b}"),
                );
            }
        }
        want
    }

    fn assert_none(s: &CanarySet, msg: &[u8]) {
        let hits = scan_chunks(s, &[msg]);
        assert!(hits.is_empty(), "{}: {hits:?}", show(msg));
    }

    fn utf16(text: &str, le: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    }

    fn hex(bytes: &[u8], upper: bool) -> String {
        bytes
            .iter()
            .map(|b| {
                if upper {
                    format!("{b:02X}")
                } else {
                    format!("{b:02x}")
                }
            })
            .collect()
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn utf8_nfd_utf16_and_hex() {
        let s = all();
        let hit = assert_found(&s, format!("hello {C} world").as_bytes(), C, Encoding::Utf8);
        assert_eq!((hit.offset, hit.len), (6, C.len()));
        assert_eq!(hit.context, format!("hello {C} world").as_bytes());
        let nfd: String = INTL.nfd().collect();
        assert_ne!(nfd, INTL);
        assert_found(&s, format!("«{nfd}»").as_bytes(), INTL, Encoding::Utf8);
        for (le, enc) in [(true, Encoding::Utf16le), (false, Encoding::Utf16be)] {
            for text in [C, INTL] {
                let msg = utf16(&format!("msg: {text} ok"), le);
                assert_found(&s, &msg, text, enc);
            }
            assert_found(&s, &utf16(&format!("[{nfd}]"), le), INTL, enc);
        }
        let id = format!("id={C};");
        for (upper, enc) in [(false, Encoding::HexLower), (true, Encoding::HexUpper)] {
            let msg = format!("0x{}", hex(id.as_bytes(), upper));
            assert_found(&s, msg.as_bytes(), C, enc);
            let msg = format!("k={}", hex(INTL.as_bytes(), upper));
            assert_found(&s, msg.as_bytes(), INTL, enc);
        }
    }

    #[test]
    fn base64_every_alignment_with_and_without_padding() {
        let s = all();
        for a in 0..3 {
            for tail in ["", "!", "!!", " and more text"] {
                for text in [C, INTL] {
                    let plain = format!("{}{text}{tail}", &"xyz"[..a]);
                    for engine in [&STANDARD, &STANDARD_NO_PAD] {
                        let msg = format!("data:{}\"", engine.encode(&plain));
                        assert_found(&s, msg.as_bytes(), text, Encoding::Base64);
                    }
                }
                let plain = format!("{}{SLASHY}{tail}", &"xyz"[..a]);
                for (engine, enc) in [
                    (&STANDARD, Encoding::Base64),
                    (&URL_SAFE, Encoding::Base64url),
                    (&URL_SAFE_NO_PAD, Encoding::Base64url),
                ] {
                    let msg = engine.encode(&plain);
                    assert_found(&s, msg.as_bytes(), SLASHY, enc);
                }
            }
        }
    }

    #[test]
    fn base64_near_misses_are_not_hits() {
        // Every single-character change of the canary, including the bits of
        // its first and last characters that fall into partial base64
        // characters at some alignment, must not match at any alignment.
        let s = set(&[C]);
        let bytes = C.as_bytes();
        for i in [0, 1, 10, bytes.len() - 2, bytes.len() - 1] {
            for flip in [1u8, 2, 4, 8, 16, 32] {
                let mut near = bytes.to_vec();
                near[i] ^= flip;
                for a in 0..3 {
                    for tail in ["", "!", "!!"] {
                        let mut plain = b"xyz"[..a].to_vec();
                        plain.extend_from_slice(&near);
                        plain.extend_from_slice(tail.as_bytes());
                        assert_none(&s, STANDARD.encode(&plain).as_bytes());
                        assert_none(&s, &plain);
                        assert_none(&s, hex(&plain, false).as_bytes());
                    }
                }
            }
        }
    }

    /// Wraps base64 into lines of `width` with `eol`, as MIME and PEM do.
    fn wrap(b64: &str, width: usize, eol: &str) -> String {
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        lines.join(eol)
    }

    #[test]
    fn base64_split_across_mime_lines_at_every_position() {
        let s = all();
        // Shifting the canary through a line moves the break across every
        // character of its base64 form (and across the partial characters).
        for shift in 0..80 {
            let plain = format!(
                "Hello Bob,\n{}the code: {C}. Regards, Alice.\n",
                "-".repeat(shift)
            );
            let b64 = STANDARD.encode(&plain);
            for eol in ["\r\n", "\n"] {
                let body = format!(
                    "Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                    wrap(&b64, 76, eol)
                );
                let hits = scan_chunks(&s, &[body.as_bytes()]);
                assert_eq!(
                    hits.iter().map(|h| h.encoding).collect::<Vec<_>>(),
                    vec![Encoding::Base64],
                    "shift {shift}: {body}"
                );
            }
        }
        // Splits into two and three chunks around a break inside the canary.
        for shift in [30, 40, 47] {
            let plain = format!("{}{INTL} tschüss", "=".repeat(shift));
            let body = wrap(&STANDARD.encode(&plain), 64, "\r\n");
            assert_found(&s, body.as_bytes(), INTL, Encoding::Base64);
        }
    }

    #[test]
    fn ordinary_text_lines_are_not_joined() {
        // A line break in text is not a base64 line break: the canary broken
        // by a newline after a short word is not reassembled.
        let s = set(&[C]);
        assert_none(&s, b"see PS-OBWGC2\r\nLOONUWO2DU4 there");
        assert_none(&s, b"see PS-OBWGC2\nLOONUWO2DU4 there");
    }

    fn form_encode(text: &str, space: &str, upper: bool) -> String {
        let mut out = String::new();
        for &b in text.as_bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push_str(space),
                _ if upper => out.push_str(&format!("%{b:02X}")),
                _ => out.push_str(&format!("%{b:02x}")),
            }
        }
        out
    }

    #[test]
    fn percent_encoding_partial_full_and_plus() {
        let s = all();
        for upper in [true, false] {
            let msg = format!(
                "POST /send?to=bob&text={}&x=1",
                form_encode(INTL, "+", upper)
            );
            assert_found(&s, msg.as_bytes(), INTL, Encoding::Percent);
            let msg = format!("GET /m/{} HTTP/1.1", form_encode(INTL, "%20", upper));
            assert_found(&s, msg.as_bytes(), INTL, Encoding::Percent);
            let full = hex(C.as_bytes(), upper)
                .as_bytes()
                .chunks(2)
                .map(|h| format!("%{}", std::str::from_utf8(h).unwrap()))
                .collect::<String>();
            assert_found(&s, format!("q={full}").as_bytes(), C, Encoding::Percent);
        }
        // Only some characters escaped.
        assert_found(&s, b"q=PS-OBWGC%32LOO%4EUWO2DU4", C, Encoding::Percent);
        // The plain form with `+` for spaces, no escapes at all.
        let plus = set(&["meet at the old bridge"]);
        assert_found(
            &plus,
            b"text=meet+at+the+old+bridge&ok=1",
            "meet at the old bridge",
            Encoding::Percent,
        );
    }

    fn json_escape(text: &str, all: bool, upper: bool) -> String {
        let mut out = String::new();
        for c in text.chars() {
            if all || !c.is_ascii() {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    if upper {
                        out.push_str(&format!("\\u{u:04X}"));
                    } else {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn json_escapes_partial_full_and_surrogates() {
        let s = all();
        for upper in [false, true] {
            let msg = format!("{{\"text\":\"{}\"}}", json_escape(INTL, false, upper));
            assert_found(&s, msg.as_bytes(), INTL, Encoding::JsonEscape);
            let msg = format!("{{\"t\":\"{}\"}}", json_escape(C, true, upper));
            assert_found(&s, msg.as_bytes(), C, Encoding::JsonEscape);
        }
        let emoji = set(&["PS-7H2K 😀 ok"]);
        let msg = format!("[\"{}\"]", json_escape("PS-7H2K 😀 ok", false, false));
        assert!(msg.contains("\\ud83d\\ude00"));
        assert_found(
            &emoji,
            msg.as_bytes(),
            "PS-7H2K 😀 ok",
            Encoding::JsonEscape,
        );
        let slash = set(&["PS-a/b/c/d"]);
        assert_found(
            &slash,
            br#"{"u":"PS-a\/b\/c\/d"}"#,
            "PS-a/b/c/d",
            Encoding::JsonEscape,
        );
    }

    #[test]
    fn html_entities_named_decimal_hex_and_full() {
        let s = all();
        for msg in [
            "<p>Gr&uuml;&szlig;e aus K&ouml;ln 7H2K</p>",
            "<p>Gr&#252;&#223;e aus K&#246;ln 7H2K</p>",
            "<p>Gr&#xFC;&#xdf;e aus K&#XF6;ln 7H2K</p>",
            "<p>Gr&#252;&szlig;e&#32;aus K&ouml;ln&#x20;7H2K</p>",
        ] {
            assert_found(&s, msg.as_bytes(), INTL, Encoding::HtmlEntity);
        }
        let full: String = C.chars().map(|c| format!("&#{};", c as u32)).collect();
        assert_found(
            &s,
            format!("<b>{full}</b>").as_bytes(),
            C,
            Encoding::HtmlEntity,
        );
        let amp = set(&["Tom & Jerry <3"]);
        assert_found(
            &amp,
            b"<i>Tom &amp; Jerry &lt;3</i>",
            "Tom & Jerry <3",
            Encoding::HtmlEntity,
        );
    }

    #[test]
    fn quoted_printable_with_soft_breaks_at_every_position() {
        let s = all();
        let qp = "Gr=C3=BC=C3=9Fe aus K=C3=B6ln 7H2K";
        assert_found(
            &s,
            format!("Hallo,\r\n{qp}\r\n").as_bytes(),
            INTL,
            Encoding::QuotedPrintable,
        );
        for at in 1..C.len() {
            let msg = format!("code: {}=\r\n{} bye", &C[..at], &C[at..]);
            assert_found(&s, msg.as_bytes(), C, Encoding::QuotedPrintable);
        }
        for at in 1..qp.len() {
            // Soft breaks never split an `=XX` escape.
            if qp.as_bytes()[at - 1] == b'=' || (at >= 2 && qp.as_bytes()[at - 2] == b'=') {
                continue;
            }
            let msg = format!("{}=\n{}", &qp[..at], &qp[at..]);
            let hits = scan_chunks(&s, &[msg.as_bytes()]);
            assert_eq!(hits.len(), 1, "{msg}");
            assert_eq!(hits[0].encoding, Encoding::QuotedPrintable);
        }
    }

    #[test]
    fn escapes_that_cannot_be_part_of_a_canary_fork_no_lane() {
        let s = set(&[C]);
        let mut st = ScanState::default();
        let text = b"GET /a%20b?x=1&y=%3Cz%3E&amp;lt; \\n \"q\" =3D HTTP/1.1\r\n";
        s.scan(&mut st, text, |_| panic!("no hit"));
        assert!(
            st.lane.is_none(),
            "a lane was forked for escapes of unused bytes"
        );
    }

    #[test]
    fn random_and_encoded_random_data_give_no_hits() {
        let s = all();
        for seed in 1..4 {
            let noise = pseudo_random(1 << 16, seed);
            assert_none(&s, &noise);
            assert_none(&s, STANDARD.encode(&noise).as_bytes());
            assert_none(&s, wrap(&STANDARD.encode(&noise), 76, "\r\n").as_bytes());
            assert_none(&s, hex(&noise, false).as_bytes());
        }
    }

    #[test]
    fn utf16_twins_are_reported_once_and_a_held_hit_is_flushed_at_the_end() {
        let s = set(&[C]);
        // Latin-1 text in UTF-16LE also reads as UTF-16BE one byte over.
        let le = utf16(&format!("a {C} b"), true);
        assert_eq!(
            scan_chunks(&s, &[&le])
                .iter()
                .map(|h| h.encoding)
                .collect::<Vec<_>>(),
            vec![Encoding::Utf16le]
        );
        // A UTF-16BE canary at an odd offset that ends the stream waits for
        // a byte that never comes, and is reported when the stream ends.
        let mut msg = b"x".to_vec();
        msg.extend(utf16(C, false));
        let mut st = ScanState::default();
        let mut hits = Vec::new();
        s.scan(&mut st, &msg, |h| hits.push(h));
        assert!(hits.is_empty());
        s.finish(&mut st, |h| hits.push(h));
        assert_eq!(
            hits.iter()
                .map(|h| (h.encoding, h.offset))
                .collect::<Vec<_>>(),
            vec![(Encoding::Utf16be, 1)]
        );
        let mut once = Vec::new();
        s.scan_once(&msg, |h| once.push(h));
        assert_eq!(once, hits);
    }

    #[test]
    fn raw_and_escaped_occurrences_are_both_reported_once() {
        let s = all();
        let msg = format!("{C} then {} then {C}", json_escape(C, true, false));
        let hits = scan_chunks(&s, &[msg.as_bytes()]);
        assert_eq!(
            hits.iter().map(|h| h.encoding).collect::<Vec<_>>(),
            vec![Encoding::Utf8, Encoding::JsonEscape, Encoding::Utf8]
        );
        assert!(hits.windows(2).all(|w| w[0].offset < w[1].offset));
    }

    #[test]
    fn gaps_break_escapes_and_matches() {
        let s = all();
        let mut st = ScanState::default();
        let mut hits = Vec::new();
        s.scan(&mut st, b"q=PS-OBWGC%3", |h| hits.push(h));
        st.gap(5);
        s.scan(&mut st, b"2LOONUWO2DU4", |h| hits.push(h));
        assert!(hits.is_empty());
        // And the stream is usable after the gap.
        s.scan(&mut st, format!(" {C}").as_bytes(), |h| hits.push(h));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].offset, 12 + 5 + 12 + 1);
    }

    #[test]
    fn wake_scan_agrees_in_every_simd_mode_and_rarely_wakes_on_noise() {
        let s = all();
        let modes = s.wake.every_mode();
        let text = "GET /a%20b?x=1&y=PS-no HTTP/1.1\r\n\\u0050 &amp; =3D UFMt \0P".repeat(50);
        let noise = pseudo_random(1 << 16, 5);
        for data in [noise.as_slice(), text.as_bytes()] {
            let (mut i, mut wakes) = (0, 0);
            loop {
                let a = s.wake.next(data, i);
                for m in &modes {
                    assert_eq!(a, m.next(data, i));
                }
                if a >= data.len() {
                    break;
                }
                wakes += 1;
                i = a + 1;
            }
            if data.len() == noise.len() {
                assert!(
                    wakes * 100 < data.len(),
                    "{wakes} wakes in {} bytes",
                    data.len()
                );
            }
        }
    }

    #[test]
    fn scan_state_stays_small() {
        assert!(std::mem::size_of::<ScanState>() <= 48);
        let s = set(&[C]);
        let mut st = ScanState::default();
        for _ in 0..100 {
            s.scan(&mut st, &pseudo_random(1500, 9), |_| {});
        }
        assert!(st.tail.capacity() <= 2 * s.tail_len);
    }

    #[test]
    fn two_thousand_canaries_find_everything() {
        let texts: Vec<String> = (0..2000u32)
            .map(|i| {
                let mut r = [0u8; 10];
                r[..4].copy_from_slice(&i.to_le_bytes());
                generate(&r)
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let s = set(&refs);
        let t = &texts[1234];
        let msg = format!(
            "x {} y {}",
            STANDARD.encode(format!("ab{t}")),
            json_escape(t, true, false)
        );
        let hits = scan_chunks(&s, &[msg.as_bytes()]);
        assert_eq!(
            hits.iter()
                .map(|h| (h.canary, h.encoding))
                .collect::<Vec<_>>(),
            vec![(1234, Encoding::Base64), (1234, Encoding::JsonEscape)]
        );
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
    fn short_and_long_canaries_are_refused() {
        let one = |t: String| {
            CanarySet::new(vec![Canary {
                text: t,
                label: None,
                created: None,
            }])
        };
        assert!(matches!(one("abc".into()), Err(CanaryError::TooShort(_))));
        assert!(matches!(
            one("x".repeat(MAX_CANARY_LEN + 1)),
            Err(CanaryError::TooLong(_))
        ));
        assert!(one("x".repeat(MAX_CANARY_LEN)).is_ok());
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
    fn new_canaries_are_appended_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("canaries.toml");
        std::fs::write(&path, "# mine\n[[canary]]\ntext = \"PS-OLDOLDOLD\"\n").unwrap();
        let new = new_canaries(2, Some("dm to bob"), "2026-01-01T00:00:00Z").unwrap();
        assert_ne!(new[0].text, new[1].text);
        assert!(new.iter().all(|c| is_well_formed(&c.text)));
        append_file(&path, &new).unwrap();
        let back = load_file(&path).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].text, "PS-OLDOLDOLD");
        assert_eq!(back[1..], new[..]);
        assert_eq!(back[2].label.as_deref(), Some("dm to bob #2"));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("# mine\n")
        );
        // A damaged file is refused, not overwritten.
        std::fs::write(&path, "[[canary]\n").unwrap();
        assert!(append_file(&path, &new).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[[canary]\n");
    }

    #[test]
    fn masking_keeps_only_the_canary() {
        assert_eq!(
            mask(b"Hi Bob, PS-7H2K ok?", Some(b"PS-7H2K")),
            "xx xxx· PS-7H2K xx·"
        );
    }
}
