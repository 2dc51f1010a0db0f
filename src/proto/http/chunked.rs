//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally.
//!
//! `hex-size [; ext] CRLF data CRLF ... 0 CRLF [trailer fields] CRLF`. Bare LF
//! line ends and whitespace before the extension are tolerated (servers send
//! them); anything else is an error. Lines are capped, so a missing CRLF
//! cannot make the decoder buffer without bound.

/// Longest chunk-size line (with extensions) and longest trailer section.
const MAX_LINE: usize = 4096;
const MAX_TRAILER: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    /// After the data: CR then LF (or just LF).
    DataEnd {
        cr: bool,
    },
    Trailer,
    Done,
}

/// Why a chunked body could not be de-framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError(pub &'static str);

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[derive(Debug)]
pub struct Chunked {
    state: State,
    line: Vec<u8>,
    trailer: usize,
    /// Trailer field lines seen (not their values).
    pub trailer_fields: usize,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked::new()
    }
}

impl Chunked {
    pub fn new() -> Chunked {
        Chunked {
            state: State::Size,
            line: Vec::new(),
            trailer: 0,
            trailer_fields: 0,
        }
    }

    /// Whether the last chunk and the trailer section were seen.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes bytes of the chunked body, handing chunk data to `data`.
    /// Returns the bytes consumed: fewer than `input.len()` only when the body
    /// ended (the rest belongs to the next message).
    pub fn feed<'a>(
        &mut self,
        input: &'a [u8],
        mut data: impl FnMut(&'a [u8]),
    ) -> Result<usize, ChunkError> {
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            match self.state {
                State::Done => return Ok(pos),
                State::Size | State::Trailer => {
                    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(rest);
                        if self.line.len() > MAX_LINE {
                            return Err(ChunkError("chunk line too long"));
                        }
                        return Ok(input.len());
                    };
                    self.line.extend_from_slice(&rest[..nl]);
                    pos += nl + 1;
                    if self.line.len() > MAX_LINE {
                        return Err(ChunkError("chunk line too long"));
                    }
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    if self.state == State::Size {
                        let size = parse_size(line)?;
                        self.state = if size == 0 {
                            State::Trailer
                        } else {
                            State::Data(size)
                        };
                    } else if line.is_empty() {
                        self.state = State::Done;
                    } else {
                        self.trailer += line.len();
                        self.trailer_fields += 1;
                        if self.trailer > MAX_TRAILER {
                            return Err(ChunkError("chunked trailer too long"));
                        }
                    }
                }
                State::Data(left) => {
                    let n = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    data(&rest[..n]);
                    pos += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd { cr: false }
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd { cr } => {
                    match (cr, rest[0]) {
                        (false, b'\r') => self.state = State::DataEnd { cr: true },
                        (_, b'\n') => self.state = State::Size,
                        _ => return Err(ChunkError("chunk data not followed by CRLF")),
                    }
                    pos += 1;
                }
            }
        }
        Ok(pos)
    }
}

/// `1*HEXDIG [BWS ";" ext]`.
fn parse_size(line: &[u8]) -> Result<u64, ChunkError> {
    let end = line
        .iter()
        .position(|&b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let digits = &line[..end];
    if digits.is_empty() {
        return Err(ChunkError("chunk size is not hexadecimal"));
    }
    if digits.len() > 15 {
        return Err(ChunkError("chunk size too large"));
    }
    let tail = &line[end..];
    let tail_ok = tail
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .is_none_or(|i| tail[i] == b';');
    if !tail_ok {
        return Err(ChunkError("junk after chunk size"));
    }
    let s = std::str::from_utf8(digits).map_err(|_| ChunkError("chunk size is not hexadecimal"))?;
    u64::from_str_radix(s, 16).map_err(|_| ChunkError("chunk size is not hexadecimal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9112-style body: two chunks with an extension, a trailer, then the
    /// start of a pipelined response.
    const BODY: &[u8] = b"7\r\nMozilla\r\n11;name=value\r\nDeveloper Network\r\n\
        0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\nHTTP/1.1 200 OK\r\n";

    fn decode(parts: &[&[u8]]) -> (Vec<u8>, usize, Chunked) {
        let mut c = Chunked::new();
        let mut out = Vec::new();
        let mut used = 0;
        for p in parts {
            used += c.feed(p, |d| out.extend_from_slice(d)).unwrap();
        }
        (out, used, c)
    }

    #[test]
    fn split_at_every_byte_gives_the_same_body_and_stops_at_the_end() {
        let end = BODY.len() - b"HTTP/1.1 200 OK\r\n".len();
        for cut in 0..=BODY.len() {
            let (out, used, c) = decode(&[&BODY[..cut], &BODY[cut..]]);
            assert_eq!(out, b"MozillaDeveloper Network", "cut {cut}");
            assert!(c.done());
            assert_eq!(c.trailer_fields, 1);
            // Everything after the trailer's empty line is left for the next message.
            assert_eq!(used, end, "cut {cut}");
        }
    }

    #[test]
    fn bare_lf_and_whitespace_before_extensions_are_tolerated() {
        let (out, _, c) = decode(&[b"3 ;x\nabc\n0\n\n"]);
        assert_eq!(out, b"abc");
        assert!(c.done());
    }

    #[test]
    fn malformed_framing_is_an_error() {
        let mut c = Chunked::new();
        assert!(c.feed(b"zz\r\n", |_| {}).is_err());
        let mut c = Chunked::new();
        assert!(c.feed(b"3\r\nabcX", |_| {}).is_err());
        let mut c = Chunked::new();
        assert!(c.feed(b"1234567890abcdef0\r\n", |_| {}).is_err());
        let mut c = Chunked::new();
        assert!(c.feed(&[b'1'; 5000], |_| {}).is_err());
        let mut c = Chunked::new();
        assert!(c.feed(b"5 junk\r\n", |_| {}).is_err());
    }

    #[test]
    fn huge_declared_chunk_streams_without_buffering() {
        let mut c = Chunked::new();
        let mut n = 0;
        c.feed(b"fffffffffff\r\n", |_| {}).unwrap();
        for _ in 0..100 {
            c.feed(&[b'x'; 1000], |d| n += d.len()).unwrap();
        }
        assert_eq!(n, 100_000);
        assert!(!c.done());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_chunking_and_any_split_decode_the_same(
            body in proptest::collection::vec(any::<u8>(), 0..2000),
            size in 1usize..300,
            splits in proptest::collection::vec(1usize..200, 1..20),
        ) {
            let mut wire = Vec::new();
            for c in body.chunks(size) {
                wire.extend(format!("{:X};e=1\r\n", c.len()).bytes());
                wire.extend(c);
                wire.extend(b"\r\n");
            }
            wire.extend(b"0\r\nX-T: 1\r\n\r\nNEXT");
            let mut dec = Chunked::new();
            let mut out = Vec::new();
            let mut pos = 0;
            let mut used = 0;
            for s in splits.iter().cycle() {
                if pos >= wire.len() {
                    break;
                }
                let end = (pos + s).min(wire.len());
                used += dec.feed(&wire[pos..end], |d| out.extend_from_slice(d)).unwrap();
                pos = end;
            }
            prop_assert_eq!(out, body);
            prop_assert!(dec.done());
            prop_assert_eq!(used, wire.len() - 4);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..500)) {
            let mut dec = Chunked::new();
            let _ = dec.feed(&data, |_| {});
        }
    }
}
