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

/// Writing systems told apart by [`is_human_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    Thai,
    Hangul,
    /// Han ideographs and Japanese kana.
    Cjk,
    /// Letters of any other script.
    Other,
}

impl Script {
    const COUNT: usize = 10;

    fn of(c: char) -> Option<Script> {
        let cp = c as u32;
        let s = match cp {
            _ if c.is_ascii_alphabetic() => Script::Latin,
            0xC0..=0x24F | 0x1E00..=0x1EFF if c.is_alphabetic() => Script::Latin,
            0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
            0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
            0x590..=0x5FF | 0xFB1D..=0xFB4F => Script::Hebrew,
            0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
                Script::Arabic
            }
            0x900..=0x97F | 0xA8E0..=0xA8FF => Script::Devanagari,
            0xE00..=0xE7F => Script::Thai,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
            0x3040..=0x30FF
            | 0x31F0..=0x31FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xF900..=0xFAFF
            | 0x20000..=0x2FA1F => Script::Cjk,
            _ if c.is_alphabetic() => Script::Other,
            _ => return None,
        };
        // Letters and the marks that belong to them (Devanagari and Thai
        // vowel signs, Arabic harakat) only.
        if s != Script::Latin && !c.is_alphabetic() && !is_mark(c) {
            return None;
        }
        Some(s)
    }

    /// Scripts written without spaces between words.
    fn unspaced(self) -> bool {
        matches!(self, Script::Cjk | Script::Thai)
    }
}

/// Combining marks that sit on letters (NFD accents, script vowel signs).
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x300..=0x36F | 0x483..=0x489 | 0x591..=0x5C7 | 0x610..=0x61A | 0x64B..=0x65F
        | 0x670 | 0x6D6..=0x6ED | 0x900..=0x903 | 0x93A..=0x94F | 0x951..=0x957
        | 0x962..=0x963 | 0xE31 | 0xE34..=0xE3A | 0xE47..=0xE4E | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0x3099..=0x309A | 0xFE20..=0xFE2F)
}

/// Pictographs, and the joiners and modifiers that build emoji sequences.
fn is_emoji_part(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF
        | 0x200D | 0xFE0F | 0x20E3 | 0xE0020..=0xE007F | 0x2122 | 0x2139 | 0x3030 | 0x303D)
}

fn is_pictograph(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF)
        && !matches!(c as u32, 0x1F3FB..=0x1F3FF)
}

/// Letters of a Latin word that are vowels (accents stripped; `y` counts).
fn is_latin_vowel(c: char) -> bool {
    let mut base = None;
    unicode_normalization::char::decompose_canonical(c, |d| {
        base.get_or_insert(d);
    });
    let base = base.unwrap_or(c).to_lowercase().next().unwrap_or(c);
    matches!(base, 'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'æ' | 'ø' | 'œ')
}

/// Values whose whole point is to be machine-read, even when they are words.
const MACHINE_WORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "undefined",
    "nan",
    "infinity",
    "online",
    "offline",
    "enabled",
    "disabled",
    "active",
    "inactive",
    "success",
    "failed",
    "failure",
    "error",
    "pending",
    "unknown",
    "default",
    "closed",
    "opened",
    "empty",
    "public",
    "private",
    "on",
    "off",
];

/// Short Latin-script replies that are a whole message in a chat field.
const SHORT_REPLIES: &[&str] = &[
    "ok", "okay", "kk", "hi", "hey", "heya", "hiya", "yo", "yes", "yep", "yup", "yeah", "no",
    "nope", "nah", "sure", "cool", "nice", "good", "fine", "great", "bye", "cya", "lol", "haha",
    "hehe", "thx", "thanks", "ty", "np", "test", "omg", "wow", "hmm", "sry", "gn", "gm", "brb",
    "afk", "why", "how", "what", "when", "who", "where", "done", "here", "soon", "now", "late",
    "ja", "nein", "oui", "non", "si", "sí", "hola", "ciao", "merci", "salut", "tak", "nie", "sim",
    "não", "oi", "hej", "moin", "gut", "bien", "vale", "dank", "grazie",
];

/// Bytes of a value examined (long values are judged by their start).
const HUMAN_SAMPLE: usize = 2048;

/// Whether a value reads like human-written text (a message), not tokens,
/// identifiers, encodings, numbers or markup. Script-aware: words of Latin,
/// Cyrillic, Greek, Arabic, Hebrew, Devanagari and Hangul text are
/// separated by spaces; Chinese, Japanese and Thai are not; a message may be
/// emoji alone.
///
/// Conservative by design (precision over recall): random or compressed
/// bytes, base64, hex, UUIDs, JWTs, URLs, paths, JSON, markup, PEM, phone
/// numbers and single machine words are never human text.
pub fn is_human_text(data: &[u8]) -> bool {
    judge(data, Bar::Free)
}

/// Whether a value from a field that carries messages (an IRC PRIVMSG, an
/// XMPP `<body>`, a message column named by an app profile) is a message.
/// The field already says what it holds, so short replies count ("ok",
/// "test", "hey 👍"); binary, encodings, identifiers, numbers, markup and
/// machine words still never do.
pub fn is_message_text(data: &[u8]) -> bool {
    judge(data, Bar::Field)
}

/// How much a value must prove before it is called a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bar {
    /// A value of unknown purpose: several words of real-looking text.
    Free,
    /// A value from a field known to carry messages.
    Field,
}

fn judge(data: &[u8], bar: Bar) -> bool {
    let data = &data[..data.len().min(HUMAN_SAMPLE)];
    let s = match std::str::from_utf8(data) {
        Ok(s) => s,
        // A cut through the last character of a long value is fine.
        Err(e) if data.len() == HUMAN_SAMPLE && e.error_len().is_none() => {
            std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    let s = s.trim();
    let one_pictograph = bar == Bar::Field
        && s.chars().count() == 1
        && s.chars().all(|c| is_pictograph(c) && c >= '\u{1F000}');
    if (s.chars().count() < 2 && !one_pictograph) || structured(s) {
        return false;
    }
    let mut scripts = [0usize; Script::COUNT];
    let mut pictographs = 0usize;
    let mut other = 0usize;
    for c in s.chars() {
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            return false;
        }
        if let Some(sc) = Script::of(c) {
            scripts[sc as usize] += 1;
        } else if is_emoji_part(c) {
            pictographs += usize::from(is_pictograph(c));
        } else if !c.is_whitespace() && !is_mark(c) {
            other += 1;
        }
    }
    let letters: usize = scripts.iter().sum();
    if letters == 0 {
        // A reaction: emoji only, with at most a little punctuation.
        return pictographs > 0 && other <= 2;
    }
    let (dom, dom_n) = scripts
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map(|(i, n)| (i, *n))
        .unwrap_or((0, 0));
    let dom = SCRIPTS[dom];
    if dom == Script::Other {
        return false;
    }
    // Text mixes at most its own script with Latin (names, brands, code words).
    let latin = scripts[Script::Latin as usize];
    let foreign = letters - dom_n - if dom == Script::Latin { 0 } else { latin };
    if foreign * 10 > letters {
        return false;
    }
    if dom.unspaced() {
        // Ideographs or Thai letters make up at least half the visible text.
        let visible = s.chars().filter(|c| !c.is_whitespace()).count();
        return dom_n >= 2 && dom_n * 2 >= visible && latin <= dom_n;
    }
    words_read_as_text(s, dom, bar)
}

const SCRIPTS: [Script; Script::COUNT] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Greek,
    Script::Arabic,
    Script::Hebrew,
    Script::Devanagari,
    Script::Thai,
    Script::Hangul,
    Script::Cjk,
    Script::Other,
];

/// Machine formats recognised by their shape before any word counting.
fn structured(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    let last = s.chars().next_back().unwrap_or(' ');
    if matches!((first, last), ('{', '}') | ('[', ']')) || s.contains("\":") {
        return true;
    }
    if s.contains("-----BEGIN ") || (s.contains("://") && !s.contains(' ')) {
        return true;
    }
    // Markup: a tag opening with a letter, `/`, `!` or `?` and closing later.
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'<'
            && b.get(i + 1)
                .is_some_and(|&n| n.is_ascii_alphabetic() || matches!(n, b'/' | b'!' | b'?'))
            && b[i..].contains(&b'>')
    })
}

/// How a whitespace-separated token reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Letters of one case pattern, maybe with inner `'` or `-`.
    Word,
    /// Numbers, times, prices, emoji, punctuation: neither for nor against.
    Neutral,
    /// Identifiers, encodings, paths, addresses, mixed case, digits in words.
    Machine,
}

fn token(raw: &str) -> Token {
    let t = raw.trim_matches(|c: char| !c.is_alphanumeric());
    if t.is_empty() {
        return Token::Neutral;
    }
    if t.chars()
        .all(|c| c.is_numeric() || matches!(c, '.' | ',' | ':' | '/' | '-' | '+' | '%'))
    {
        return Token::Neutral;
    }
    // What surrounds a word is punctuation and quotes, never path, markup
    // or variable syntax (`/items`, `#tag`, `@user`, `$HOME`, `key=`).
    if raw.chars().filter(|c| !c.is_alphanumeric()).any(|c| {
        matches!(
            c,
            '/' | '\\'
                | '#'
                | '@'
                | '$'
                | '~'
                | '_'
                | '<'
                | '>'
                | '='
                | '&'
                | '{'
                | '}'
                | '['
                | ']'
                | '|'
                | '^'
                | '*'
                | '`'
        )
    }) {
        return Token::Machine;
    }
    let mut prev_sep = true;
    let mut lower = 0;
    let mut inner_upper = false;
    let mut script = None;
    for (i, c) in t.chars().enumerate() {
        // One word, one script: mixtures are garbage or look-alike spoofing.
        if let Some(sc) = Script::of(c).filter(|_| !is_mark(c)) {
            if script.is_some_and(|s| s != sc) {
                return Token::Machine;
            }
            script = Some(sc);
        }
        if matches!(c, '\'' | '’' | '-') {
            if prev_sep {
                return Token::Machine;
            }
            prev_sep = true;
            continue;
        }
        if !(c.is_alphabetic() || is_mark(c)) {
            return Token::Machine;
        }
        if c.is_uppercase() {
            if i > 0 && !prev_sep {
                inner_upper = true;
            }
        } else if c.is_lowercase() {
            lower += 1;
        }
        prev_sep = false;
    }
    // camelCase and random mixed case are not words; ALL CAPS and
    // Capitalised are.
    if inner_upper && lower > 0 && !brand(t) {
        return Token::Machine;
    }
    // Long runs of hex letters ("deadbeef", "cafebabe") are digests.
    if t.len() >= 8 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Token::Machine;
    }
    Token::Word
}

/// Capitalised compounds that name things in running text ("WhatsApp",
/// "WebSocket", "YouTube"): two or three humps, each an upper-case letter
/// followed by at least two lower-case ones. `getUserName`, `AbCdEf` and
/// random mixed case do not qualify.
fn brand(t: &str) -> bool {
    let mut humps = 0;
    let mut run = 0;
    for c in t.chars() {
        if c.is_uppercase() {
            if humps > 0 && run < 2 {
                return false;
            }
            humps += 1;
            run = 0;
        } else if c.is_lowercase() && humps > 0 {
            run += 1;
        } else {
            return false;
        }
    }
    (2..=3).contains(&humps) && run >= 2
}

/// A web link as people paste it into a message.
fn link(t: &str) -> bool {
    t.starts_with("https://") || t.starts_with("http://") || t.starts_with("www.")
}

/// The word test for scripts written with spaces.
fn words_read_as_text(s: &str, dom: Script, bar: Bar) -> bool {
    let tokens: Vec<&str> = s.split_whitespace().collect();
    let mut words = 0usize;
    let mut machine = 0usize;
    let mut links = 0usize;
    let mut word_letters = 0usize;
    for t in &tokens {
        match token(t) {
            Token::Word => {
                words += 1;
                word_letters += t.chars().filter(|c| c.is_alphabetic()).count();
            }
            Token::Machine => {
                machine += 1;
                links += usize::from(link(t));
            }
            Token::Neutral => {}
        }
    }
    if words == 0 || words * 10 < (words + machine - if bar == Bar::Field { links } else { 0 }) * 7
    {
        return false;
    }
    if word_letters > if bar == Bar::Field { 24 } else { 15 } * words {
        return false;
    }
    let latin: Vec<char> = s
        .chars()
        .filter(|&c| Script::of(c) == Some(Script::Latin))
        .collect();
    if dom == Script::Latin && latin.len() >= 8 {
        // Natural Latin-script languages run 30-45% vowels; base64, hex
        // and random consonant soup far less, vowel runs far more.
        let vowels = latin.iter().filter(|&&c| is_latin_vowel(c)).count();
        let share = vowels as f32 / latin.len() as f32;
        if !(0.2..=0.75).contains(&share) {
            return false;
        }
    }
    let t = match (tokens.len(), bar) {
        (1, _) => tokens[0],
        (_, Bar::Free) => return words >= 2 && word_letters >= 6,
        (_, Bar::Field) if words >= 2 => return word_letters >= 6,
        // "ok 👍", "Check https://…": the one word decides, beside emoji
        // and links only.
        (_, Bar::Field) if machine == links => {
            match tokens.iter().find(|t| token(t) == Token::Word) {
                Some(t)
                    if tokens
                        .iter()
                        .all(|o| o == t || o.chars().all(is_emoji_part) || link(o)) =>
                {
                    t
                }
                _ => return false,
            }
        }
        _ => return false,
    };
    // One word alone: only a natural-looking word of some length (a lone
    // "ok" or "Hi!" is not told apart from short binary values), or in a
    // message field one of the short replies people actually send.
    let core = t.trim_matches(|c: char| !c.is_alphanumeric());
    let n = core.chars().count();
    let caps = core.chars().filter(|c| c.is_uppercase()).count();
    let shape = caps == 0 || (caps == 1 && core.starts_with(char::is_uppercase));
    if dom != Script::Latin {
        // Letters of the text's own script, not marks riding on others.
        let own = core
            .chars()
            .filter(|&c| !is_mark(c) && Script::of(c) == Some(dom))
            .count();
        return shape && own == n && n >= if bar == Bar::Field { 2 } else { 3 };
    }
    let lower = core.to_lowercase();
    if MACHINE_WORDS.contains(&lower.as_str()) {
        return false;
    }
    match bar {
        Bar::Free => shape && (5..=24).contains(&n) && pronounceable(core, 4),
        // Short words only from the list: random letters make too many
        // three-letter "words" to judge them by shape.
        // Around a lone word in a field, only sentence punctuation
        // ("ok!", "why?"), so three random bytes rarely spell a reply.
        Bar::Field
            if t.trim_start_matches(|c: char| c.is_alphabetic() || is_mark(c))
                .chars()
                .any(|c| !matches!(c, '!' | '?' | '.' | '…')) =>
        {
            false
        }
        Bar::Field => {
            shape
                && (SHORT_REPLIES.contains(&lower.as_str())
                    || (5..=24).contains(&n) && pronounceable(core, 5))
        }
    }
}

/// A lone Latin word must look like one: vowels at least 1/`min_share`
/// and at most three quarters of its letters, at most four consonants in a
/// row ("Draft" needs `min_share` 5).
fn pronounceable(word: &str, min_share: usize) -> bool {
    let mut vowels = 0;
    let mut run = 0;
    for c in word.chars() {
        if is_latin_vowel(c) {
            vowels += 1;
            run = 0;
        } else {
            run += 1;
            if run > 4 {
                return false;
            }
        }
    }
    let n = word.chars().count();
    vowels * min_share >= n && vowels * 4 <= n * 3
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

    #[test]
    fn message_fields_take_short_replies_but_not_machine_values() {
        for m in [
            "test",
            "ok",
            "hey",
            "Thanks!",
            "ok 👍",
            "Draft",
            "👍",
            "да",
            "baabaablacksheep",
            "Hello, WebSocket!",
            "fish & chips at six?",
            "Check https://example.org/news",
        ] {
            assert!(is_message_text(m.as_bytes()), "{m:?}");
        }
        for v in [
            "ON",
            "off",
            "true",
            "42",
            "23.5",
            "xq",
            "zzkv",
            "userId",
            "a3f9c2e81b7d",
            "dGhpcyBpcyBiYXNlNjQgZGF0YQ==",
            "{\"t\":1}",
            "id=7&x=1",
            "/v1/messages",
        ] {
            assert!(!is_message_text(v.as_bytes()), "{v:?}");
        }
        assert!(!is_message_text(&pseudo_random(40)));
        // Free-standing values keep the stricter bar.
        assert!(!is_human_text(b"test"));
        assert!(is_human_text(b"Hello from WhatsApp, see you soon"));
    }

    #[test]
    fn scripts_are_told_apart() {
        for text in [
            "مرحبا، كيف حالك؟",
            "שלום, מה שלומך?",
            "नमस्ते, आप कैसे हैं?",
            "안녕하세요, 내일 만나요!",
            "สวัสดีครับ พรุ่งนี้เจอกัน",
            "こんにちは、元気ですか？",
            "Καλημέρα, τι κάνεις;",
            "😂😂😂",
        ] {
            assert!(is_human_text(text.as_bytes()), "{text}");
        }
        // Words mixing look-alike letters of two scripts are not words.
        assert!(!is_human_text("Pаypаl lоgin nоw".as_bytes()));
        // NFD text reads like its NFC form.
        assert!(is_human_text("Gru\u{308}ße aus Ko\u{308}ln".as_bytes()));
    }

    #[test]
    fn machine_shapes_are_not_text() {
        for v in [
            "getUserById",
            "user_id session_token",
            "/var/lib/app/store.db",
            "https://example.com/a?b=c",
            "<p>hello there friend</p>",
            "-----BEGIN PUBLIC KEY-----",
            "+1 (555) 123-4567",
            "550e8400-e29b-41d4-a716-446655440000",
            "online",
            "OK",
            "deadbeefcafebabe",
            "GET /index.html HTTP/1.1",
        ] {
            assert!(!is_human_text(v.as_bytes()), "{v}");
        }
    }
}
