//! Text-likeness: is a byte payload human text, random-looking, or binary?
//!
//! Two entry points: [`TextStats`] accumulates over a stream (bounded sample,
//! constant memory), and [`classify`] / [`is_human_text`] judge one value.
//! Precision matters more than recall: random binary must never be called text.

use crate::evidence::PayloadClass;

/// Bytes of a stream sampled for classification.
pub const SAMPLE: usize = 4096;

/// Streaming statistics over the first [`SAMPLE`] bytes of a stream.
#[derive(Debug, Default, Clone)]
pub struct TextStats {
    total: u64,
    sampled: u32,
    printable: u32,
    /// Byte values, and differences of consecutive bytes (index 256..512).
    hist: Option<Box<[u16; 512]>>,
    prev: Option<u8>,
    /// The first bytes of the stream, for compression magic numbers.
    head: [u8; 4],
    done: Option<Summary>,
}

/// The outcome of a classification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub class: PayloadClass,
    /// Shannon entropy in bits per byte.
    pub entropy: f32,
    /// Share of printable characters (0..=1).
    pub printable: f32,
    /// Bytes the summary is based on.
    pub sampled: u32,
}

impl TextStats {
    /// Adds stream bytes; only the first [`SAMPLE`] are examined.
    pub fn feed(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        if self.done.is_some() {
            return;
        }
        let room = SAMPLE - self.sampled as usize;
        let take = &data[..data.len().min(room)];
        for (i, &b) in take.iter().enumerate() {
            let at = self.sampled as usize + i;
            if at < 4 {
                self.head[at] = b;
            }
        }
        let hist = self.hist.get_or_insert_with(|| Box::new([0u16; 512]));
        let mut prev = self.prev;
        for &b in take {
            hist[b as usize] += 1;
            if let Some(p) = prev {
                hist[256 + b.wrapping_sub(p) as usize] += 1;
            }
            prev = Some(b);
        }
        self.prev = prev;
        self.printable += count_printable(take) as u32;
        self.sampled += take.len() as u32;
        if self.sampled as usize >= SAMPLE {
            self.done = Some(self.compute());
            self.hist = None;
        }
    }

    /// Total bytes fed, sampled or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The classification so far (final once the sample is full).
    pub fn summary(&self) -> Option<Summary> {
        if self.total == 0 {
            return None;
        }
        Some(self.done.unwrap_or_else(|| self.compute()))
    }

    fn compute(&self) -> Summary {
        let n = self.sampled as usize;
        let (entropy, delta) = match &self.hist {
            Some(h) => (
                entropy_of(h[..256].iter().map(|&c| u32::from(c)), n),
                entropy_of(h[256..].iter().map(|&c| u32::from(c)), n.saturating_sub(1)),
            ),
            None => (0.0, 0.0),
        };
        let printable = if n == 0 {
            0.0
        } else {
            self.printable as f32 / n as f32
        };
        Summary {
            class: decide(n, entropy, delta, printable, &self.head),
            entropy,
            printable,
            sampled: self.sampled,
        }
    }
}

/// Classifies one value.
pub fn classify(data: &[u8]) -> Summary {
    let sample = &data[..data.len().min(SAMPLE)];
    let mut hist = [0u32; 256];
    let mut deltas = [0u32; 256];
    for &b in sample {
        hist[b as usize] += 1;
    }
    for w in sample.windows(2) {
        deltas[w[1].wrapping_sub(w[0]) as usize] += 1;
    }
    let n = sample.len();
    let entropy = entropy_of(hist.iter().copied(), n);
    let delta = entropy_of(deltas.iter().copied(), n.saturating_sub(1));
    let printable = if n == 0 {
        0.0
    } else {
        count_printable(sample) as f32 / n as f32
    };
    Summary {
        class: decide(n, entropy, delta, printable, sample),
        entropy,
        printable,
        sampled: n as u32,
    }
}

/// Magic numbers of compressed formats: compressed data looks random but is
/// not ciphertext, so it must never count as high-entropy (that would allow
/// a false `sealed`).
fn compressed_magic(head: &[u8]) -> bool {
    match head {
        [0x1f, 0x8b, ..] => true,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => true,
        [0x78, b, ..] => matches!(b, 0x01 | 0x5e | 0x9c | 0xda),
        _ => false,
    }
}

/// Decides the class of a sample of `n` bytes.
///
/// High entropy needs two independent signs of randomness: a flat byte
/// histogram *and* a flat histogram of differences between consecutive
/// bytes (a counter `00 01 02 …` has the first but not the second), over at
/// least 64 bytes, and no compression header.
fn decide(n: usize, entropy: f32, delta: f32, printable: f32, head: &[u8]) -> PayloadClass {
    if n < 16 {
        return PayloadClass::Short;
    }
    // The highest entropy n bytes can show is log2(min(n, 256)).
    let max = (n.min(256) as f32).log2();
    let max_delta = ((n - 1).min(256) as f32).log2();
    if printable >= 0.95 && entropy < 0.9 * max.min(6.6) {
        PayloadClass::Text
    } else if n >= 64
        && entropy >= 0.87 * max
        && delta >= 0.87 * max_delta
        && !compressed_magic(head)
    {
        PayloadClass::HighEntropy
    } else {
        PayloadClass::Binary
    }
}

fn entropy_of(counts: impl Iterator<Item = u32>, n: usize) -> f32 {
    if n == 0 {
        return 0.0;
    }
    let n = n as f32;
    let mut h = 0.0f32;
    for c in counts {
        if c > 0 {
            let p = c as f32 / n;
            h -= p * p.log2();
        }
    }
    h
}

/// Counts bytes that belong to printable text: ASCII graphic and whitespace,
/// plus every byte of well-formed multi-byte UTF-8 sequences. Hot: it runs on
/// the first bytes of every stream, so it decodes UTF-8 by hand.
fn count_printable(data: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b < 0x80 {
            n += usize::from(PRINTABLE_ASCII[b as usize]);
            i += 1;
            continue;
        }
        let len = match b {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => {
                i += 1;
                continue;
            }
        };
        if valid_sequence(data.get(i..i + len)) {
            n += len;
            i += len;
        } else {
            i += 1;
        }
    }
    n
}

/// ASCII bytes that count as text: graphic characters, space, tab, CR, LF.
const PRINTABLE_ASCII: [bool; 128] = {
    let mut t = [false; 128];
    let mut c = 0x20;
    while c < 0x7f {
        t[c] = true;
        c += 1;
    }
    t[b'\t' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// Whether `seq` (lead byte first) is one well-formed UTF-8 sequence
/// (no overlongs, no surrogates, nothing above U+10FFFF).
fn valid_sequence(seq: Option<&[u8]>) -> bool {
    let Some(seq) = seq else { return false };
    let cont = |b: u8| (0x80..=0xBF).contains(&b);
    match *seq {
        [a, b] => (0xC2..=0xDF).contains(&a) && cont(b),
        [a, b, c] => {
            let second = match a {
                0xE0 => (0xA0..=0xBF).contains(&b),
                0xED => (0x80..=0x9F).contains(&b),
                0xE1..=0xEF => cont(b),
                _ => false,
            };
            second && cont(c)
        }
        [a, b, c, d] => {
            let second = match a {
                0xF0 => (0x90..=0xBF).contains(&b),
                0xF4 => (0x80..=0x8F).contains(&b),
                0xF1..=0xF3 => cont(b),
                _ => false,
            };
            second && cont(c) && cont(d)
        }
        _ => false,
    }
}

/// Whether a value reads like human-written text (a message), not tokens,
/// identifiers, base64 or markup. Conservative by design.
pub fn is_human_text(data: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(data) else {
        return false;
    };
    let s = s.trim();
    let chars = s.chars().count();
    if chars < 2 {
        return false;
    }
    let mut letters = 0usize;
    let mut spaces = 0usize;
    let mut controls = 0usize;
    let mut wide = 0usize;
    for c in s.chars() {
        if c.is_alphabetic() {
            letters += 1;
            if (c as u32) >= 0x2E80 {
                wide += 1;
            }
        } else if c.is_whitespace() {
            spaces += 1;
        } else if c.is_control() {
            controls += 1;
        }
    }
    if controls > 0 {
        return false;
    }
    // CJK scripts do not separate words by spaces.
    if wide * 2 >= letters && letters >= 2 {
        return true;
    }
    let non_space = chars - spaces;
    let letter_ratio = letters as f32 / non_space.max(1) as f32;
    if letter_ratio < 0.6 {
        return false;
    }
    if spaces == 0 {
        // One word: accept only short, natural-looking words (no base64/hex runs).
        return chars <= 20 && !looks_like_token(s);
    }
    // Average word length of natural language stays well under 15.
    let words = s.split_whitespace().count();
    (non_space as f32 / words as f32) < 15.0
}

fn looks_like_token(s: &str) -> bool {
    let upper = s.chars().filter(|c| c.is_ascii_uppercase()).count();
    let lower = s.chars().filter(|c| c.is_ascii_lowercase()).count();
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    // Mixed-case runs with digits are identifiers or encodings, not words.
    (upper > 1 && lower > 1 && upper * 3 > lower) || digits > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize) -> Vec<u8> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
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
    fn random_bytes_are_high_entropy() {
        assert_eq!(
            classify(&pseudo_random(4096)).class,
            PayloadClass::HighEntropy
        );
        assert_eq!(
            classify(&pseudo_random(64)).class,
            PayloadClass::HighEntropy
        );
    }

    #[test]
    fn chat_lines_are_text() {
        let s = b"PRIVMSG #chan :hello there, are we still meeting at noon?\r\n";
        assert_eq!(classify(s).class, PayloadClass::Text);
    }

    #[test]
    fn structured_binary_is_binary() {
        let mut v = Vec::new();
        for i in 0..200u16 {
            v.extend_from_slice(&[0, 0, 0, 1, (i % 7) as u8, 0]);
        }
        assert_eq!(classify(&v).class, PayloadClass::Binary);
    }

    #[test]
    fn counters_and_compressed_streams_are_not_high_entropy() {
        // A byte counter has a flat histogram but constant differences.
        let counter: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        assert_eq!(classify(&counter).class, PayloadClass::Binary);
        let rfc8448: Vec<u8> = (0..50u8).collect();
        assert_ne!(classify(&rfc8448).class, PayloadClass::HighEntropy);
        // Random bytes behind a gzip header are compressed data, not ciphertext.
        let mut gz = vec![0x1f, 0x8b, 0x08, 0x00];
        gz.extend(pseudo_random(2000));
        assert_eq!(classify(&gz).class, PayloadClass::Binary);
        let mut st = TextStats::default();
        for c in gz.chunks(3) {
            st.feed(c);
        }
        assert_eq!(st.summary().unwrap().class, PayloadClass::Binary);
    }

    #[test]
    fn short_payloads_are_undecided() {
        assert_eq!(classify(b"hi").class, PayloadClass::Short);
    }

    #[test]
    fn streaming_matches_one_shot() {
        let data = pseudo_random(10_000);
        let mut st = TextStats::default();
        for c in data.chunks(333) {
            st.feed(c);
        }
        let s = st.summary().unwrap();
        assert_eq!(s.class, classify(&data).class);
        assert_eq!(s.sampled as usize, SAMPLE);
        assert_eq!(st.total(), 10_000);
    }

    #[test]
    fn printable_counting_agrees_with_std_utf8() {
        let samples: [&[u8]; 6] = [
            "héllo wörld ✓ 你好 🎉".as_bytes(),
            b"\xed\xa0\x80 surrogate",
            b"\xc0\xaf overlong",
            b"\xf4\x90\x80\x80 too high",
            b"\xe2\x82 cut",
            b"tab\tcr\rlf\n\x00\x7f",
        ];
        for s in samples {
            let expected: usize = String::from_utf8_lossy(s)
                .chars()
                .filter(|&c| c != char::REPLACEMENT_CHARACTER)
                .filter(|&c| !c.is_ascii() || PRINTABLE_ASCII[c as usize])
                .map(char::len_utf8)
                .sum();
            assert_eq!(count_printable(s), expected, "{s:?}");
        }
    }

    #[test]
    fn human_text_heuristic() {
        assert!(is_human_text(b"see you tomorrow at the station"));
        assert!(is_human_text("Привет, как дела?".as_bytes()));
        assert!(is_human_text("你好，明天见".as_bytes()));
        assert!(is_human_text(b"hello"));
        assert!(!is_human_text(b"dGhpcyBpcyBiYXNlNjQgZGF0YQ=="));
        assert!(!is_human_text(b"a3f9c2e81b7d"));
        assert!(!is_human_text(b"{\"id\":12,\"ts\":1700000000}"));
        assert!(!is_human_text(&pseudo_random(40)));
    }
}
