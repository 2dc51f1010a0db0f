//! Text escapes recognised one byte at a time: percent-encoding, JSON `\`
//! escapes, HTML/XML character references, quoted-printable (including soft
//! line breaks) and the line breaks of base64 bodies.
//!
//! [`parse`] looks at the bytes from an escape introducer on and answers
//! with a complete escape (what it decodes to), "need more bytes", or
//! "literal" (the first byte is not an escape). It never allocates and never
//! looks at more than [`MAX_ESCAPE`] bytes, so a caller can drive it from a
//! small fixed buffer across chunk boundaries. The canary matcher uses it
//! for its decoding lane (see `crate::evidence::canary`).

use crate::codec::entities;

/// Longest escape recognised: `\uD83D\uDE00` and `&#x0010FFFF;` are 12 bytes.
pub const MAX_ESCAPE: usize = 12;

/// Which encoding an escape belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `%XX` (URLs, form bodies).
    Percent,
    /// `\uXXXX`, `\n`, `\/`, ... inside JSON (and JavaScript) strings.
    Json,
    /// `&name;`, `&#NN;`, `&#xHH;`.
    Html,
    /// `=XX` and soft line breaks `=\r\n`.
    QuotedPrintable,
    /// A CR LF or LF between lines of a base64 body.
    LineBreak,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Percent,
        Kind::Json,
        Kind::Html,
        Kind::QuotedPrintable,
        Kind::LineBreak,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A complete escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub kind: Kind,
    /// Input bytes the escape spans.
    pub len: u8,
    buf: [u8; 4],
    n: u8,
}

impl Decoded {
    /// What the escape stands for: one byte (percent, QP), the UTF-8 form of
    /// a character (JSON, HTML), or nothing (soft and base64 line breaks).
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.n)]
    }

    fn byte(kind: Kind, len: usize, b: u8) -> Decoded {
        Decoded {
            kind,
            len: len as u8,
            buf: [b, 0, 0, 0],
            n: 1,
        }
    }

    fn char(kind: Kind, len: usize, c: char) -> Decoded {
        let mut buf = [0u8; 4];
        let n = c.encode_utf8(&mut buf).len() as u8;
        Decoded {
            kind,
            len: len as u8,
            buf,
            n,
        }
    }

    fn drop(kind: Kind, len: usize) -> Decoded {
        Decoded {
            kind,
            len: len as u8,
            buf: [0; 4],
            n: 0,
        }
    }
}

/// The answer of [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The bytes so far are a proper prefix of an escape.
    Need,
    /// The first byte is literal text.
    Literal,
    /// The bytes start with this complete escape.
    Done(Decoded),
}

/// Bytes that can start an escape.
pub fn is_introducer(b: u8) -> bool {
    matches!(b, b'%' | b'\\' | b'&' | b'=' | b'\r' | b'\n')
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// Parses the escape at the start of `buf` (whose first byte should be an
/// introducer). `line_breaks` says whether a bare CR LF or LF here separates
/// lines of a base64 body (the caller knows what the line so far looked like).
pub fn parse(buf: &[u8], line_breaks: bool) -> Step {
    let Some(&first) = buf.first() else {
        return Step::Need;
    };
    match first {
        b'%' => match hex_digits(buf, 1, 2) {
            Ok(v) => Step::Done(Decoded::byte(Kind::Percent, 3, v as u8)),
            Err(step) => step,
        },
        b'=' => match buf.get(1) {
            None => Step::Need,
            Some(b'\n') => Step::Done(Decoded::drop(Kind::QuotedPrintable, 2)),
            Some(b'\r') => match buf.get(2) {
                None => Step::Need,
                Some(b'\n') => Step::Done(Decoded::drop(Kind::QuotedPrintable, 3)),
                Some(_) => Step::Literal,
            },
            Some(_) => match hex_digits(buf, 1, 2) {
                Ok(v) => Step::Done(Decoded::byte(Kind::QuotedPrintable, 3, v as u8)),
                Err(step) => step,
            },
        },
        b'\\' => json(buf),
        b'&' => html(buf),
        b'\r' if line_breaks => match buf.get(1) {
            None => Step::Need,
            Some(b'\n') => Step::Done(Decoded::drop(Kind::LineBreak, 2)),
            Some(_) => Step::Literal,
        },
        b'\n' if line_breaks => Step::Done(Decoded::drop(Kind::LineBreak, 1)),
        _ => Step::Literal,
    }
}

/// `digits` hex digits at `buf[at..]`.
fn hex_digits(buf: &[u8], at: usize, digits: usize) -> Result<u32, Step> {
    let mut v = 0u32;
    for i in at..at + digits {
        match buf.get(i) {
            None => return Err(Step::Need),
            Some(&b) => match hex(b) {
                Some(d) => v = v << 4 | d,
                None => return Err(Step::Literal),
            },
        }
    }
    Ok(v)
}

fn json(buf: &[u8]) -> Step {
    let Some(&c) = buf.get(1) else {
        return Step::Need;
    };
    let simple = match c {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => return json_u(buf),
        _ => return Step::Literal,
    };
    Step::Done(Decoded::char(Kind::Json, 2, simple))
}

/// `\uXXXX`, with surrogate pairs as two escapes.
fn json_u(buf: &[u8]) -> Step {
    let hi = match hex_digits(buf, 2, 4) {
        Ok(v) => v,
        Err(step) => return step,
    };
    match hi {
        0xD800..=0xDBFF => {}
        0xDC00..=0xDFFF => return Step::Literal,
        _ => {
            return match char::from_u32(hi) {
                Some(c) => Step::Done(Decoded::char(Kind::Json, 6, c)),
                None => Step::Literal,
            };
        }
    }
    for (i, want) in [b'\\', b'u'].into_iter().enumerate() {
        match buf.get(6 + i) {
            None => return Step::Need,
            Some(&b) if b != want => return Step::Literal,
            Some(_) => {}
        }
    }
    let lo = match hex_digits(buf, 8, 4) {
        Ok(v) => v,
        Err(step) => return step,
    };
    if !(0xDC00..=0xDFFF).contains(&lo) {
        return Step::Literal;
    }
    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    match char::from_u32(cp) {
        Some(c) => Step::Done(Decoded::char(Kind::Json, 12, c)),
        None => Step::Literal,
    }
}

/// `&name;`, `&#NN;` or `&#xHH;` (the semicolon is required).
fn html(buf: &[u8]) -> Step {
    let Some(&c) = buf.get(1) else {
        return Step::Need;
    };
    if c == b'#' {
        let (at, radix, max) = match buf.get(2) {
            None => return Step::Need,
            Some(b'x' | b'X') => (3, 16, 8),
            Some(_) => (2, 10, 8),
        };
        let mut v: u32 = 0;
        let mut digits = 0;
        for (i, &b) in buf.iter().enumerate().skip(at) {
            if b == b';' {
                if digits == 0 {
                    return Step::Literal;
                }
                return match char::from_u32(v).filter(|&c| c != '\0') {
                    Some(c) => Step::Done(Decoded::char(Kind::Html, i + 1, c)),
                    None => Step::Literal,
                };
            }
            let Some(d) = (b as char).to_digit(radix) else {
                return Step::Literal;
            };
            digits += 1;
            if digits > max {
                return Step::Literal;
            }
            v = v.saturating_mul(radix).saturating_add(d);
        }
        return Step::Need;
    }
    if !c.is_ascii_alphabetic() {
        return Step::Literal;
    }
    for (i, &b) in buf.iter().enumerate().skip(2) {
        if b == b';' {
            return match entities::lookup(&buf[1..i]) {
                Some(ch) => Step::Done(Decoded::char(Kind::Html, i + 1, ch)),
                None => Step::Literal,
            };
        }
        if !b.is_ascii_alphanumeric() || i > entities::MAX_NAME {
            return Step::Literal;
        }
    }
    if buf.len() > entities::MAX_NAME + 1 {
        return Step::Literal;
    }
    Step::Need
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> (Kind, usize, Vec<u8>) {
        match parse(buf, true) {
            Step::Done(d) => (d.kind, usize::from(d.len), d.bytes().to_vec()),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    #[test]
    fn percent_and_quoted_printable() {
        assert_eq!(done(b"%41rest"), (Kind::Percent, 3, b"A".to_vec()));
        assert_eq!(done(b"%c3"), (Kind::Percent, 3, vec![0xc3]));
        assert_eq!(parse(b"%4", false), Step::Need);
        assert_eq!(parse(b"%4G", false), Step::Literal);
        assert_eq!(parse(b"%%41", false), Step::Literal);
        assert_eq!(done(b"=C3=A9"), (Kind::QuotedPrintable, 3, vec![0xc3]));
        assert_eq!(done(b"=\r\nx"), (Kind::QuotedPrintable, 3, vec![]));
        assert_eq!(done(b"=\nx"), (Kind::QuotedPrintable, 2, vec![]));
        assert_eq!(parse(b"=\r", false), Step::Need);
        assert_eq!(parse(b"=\rx", false), Step::Literal);
        assert_eq!(parse(b"=x", false), Step::Literal);
    }

    #[test]
    fn json_escapes_with_surrogate_pairs() {
        assert_eq!(done(b"\\u0050"), (Kind::Json, 6, b"P".to_vec()));
        assert_eq!(done(b"\\u00E9"), (Kind::Json, 6, "é".as_bytes().to_vec()));
        assert_eq!(done(b"\\/"), (Kind::Json, 2, b"/".to_vec()));
        assert_eq!(done(b"\\n"), (Kind::Json, 2, b"\n".to_vec()));
        assert_eq!(
            done(b"\\uD83D\\uDE00"),
            (Kind::Json, 12, "😀".as_bytes().to_vec())
        );
        assert_eq!(parse(b"\\uD83D", false), Step::Need);
        assert_eq!(parse(b"\\uD83D\\u00", false), Step::Need);
        assert_eq!(parse(b"\\uD83Dx", false), Step::Literal);
        assert_eq!(parse(b"\\uDE00", false), Step::Literal);
        assert_eq!(parse(b"\\uD83D\\u0041", false), Step::Literal);
        assert_eq!(parse(b"\\x41", false), Step::Literal);
        assert_eq!(parse(b"\\u00", false), Step::Need);
    }

    #[test]
    fn html_references() {
        assert_eq!(done(b"&#80;"), (Kind::Html, 5, b"P".to_vec()));
        assert_eq!(done(b"&#x50;"), (Kind::Html, 6, b"P".to_vec()));
        assert_eq!(done(b"&#X2d;"), (Kind::Html, 6, b"-".to_vec()));
        assert_eq!(
            done(b"&#x1F600;"),
            (Kind::Html, 9, "😀".as_bytes().to_vec())
        );
        assert_eq!(done(b"&eacute;"), (Kind::Html, 8, "é".as_bytes().to_vec()));
        assert_eq!(done(b"&amp;"), (Kind::Html, 5, b"&".to_vec()));
        assert_eq!(
            done(b"&thetasym;"),
            (Kind::Html, 10, "ϑ".as_bytes().to_vec())
        );
        assert_eq!(parse(b"&ea", false), Step::Need);
        assert_eq!(parse(b"&#", false), Step::Need);
        assert_eq!(parse(b"&#;", false), Step::Literal);
        assert_eq!(parse(b"&#0;", false), Step::Literal);
        assert_eq!(parse(b"&#xD800;", false), Step::Literal);
        assert_eq!(parse(b"&#x110000;", false), Step::Literal);
        assert_eq!(parse(b"&#123456789;", false), Step::Literal);
        assert_eq!(parse(b"&b=2", false), Step::Literal);
        assert_eq!(parse(b"&nosuch;", false), Step::Literal);
        assert_eq!(parse(b"&abcdefghij", false), Step::Literal);
        assert_eq!(parse(b"& x", false), Step::Literal);
    }

    #[test]
    fn line_breaks_only_when_the_caller_says_so() {
        assert_eq!(done(b"\r\nQUJD"), (Kind::LineBreak, 2, vec![]));
        assert_eq!(done(b"\nQUJD"), (Kind::LineBreak, 1, vec![]));
        assert_eq!(parse(b"\r", true), Step::Need);
        assert_eq!(parse(b"\rx", true), Step::Literal);
        assert_eq!(parse(b"\r\n", false), Step::Literal);
        assert_eq!(parse(b"\n", false), Step::Literal);
    }

    #[test]
    fn never_looks_past_max_escape() {
        // Any byte string: the answer is decided within MAX_ESCAPE bytes.
        let mut x: u32 = 1;
        for _ in 0..20_000 {
            let mut buf = [0u8; MAX_ESCAPE + 4];
            for b in &mut buf {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = b"%=\\&#xuD8;0aF\r\n;"[(x % 16) as usize];
            }
            buf[0] = [b'%', b'=', b'\\', b'&', b'\r', b'\n'][(x % 6) as usize];
            let short = parse(&buf[..MAX_ESCAPE], true);
            assert_ne!(short, Step::Need, "{:?}", String::from_utf8_lossy(&buf));
            assert_eq!(short, parse(&buf, true));
            if let Step::Done(d) = short {
                assert!(usize::from(d.len) <= MAX_ESCAPE);
            }
        }
    }
}
