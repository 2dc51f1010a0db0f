//! Cutting an XMPP stream into stanzas.
//!
//! An XMPP stream (RFC 6120 §4) is one XML document that is never closed
//! while the session lasts: `<stream:stream>` opens it and every top-level
//! child (`<message>`, `<iq>`, `<auth>`, ...) is a stanza. The cutter reads
//! reassembled bytes with quick-xml one event at a time, tracks the element
//! depth, and yields each complete stanza as a byte slice. It resumes exactly
//! where it stopped when more bytes arrive (incomplete input is "need more",
//! never an error), caps the size of a stanza, and resynchronises at the next
//! `<` after bytes that are not XML.

use quick_xml::Reader;
use quick_xml::errors::{Error, SyntaxError};
use quick_xml::events::{BytesStart, Event};

/// What the cutter found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// The `<stream:stream ...>` start tag (again after each stream restart).
    StreamOpen(&'a [u8]),
    /// `</stream:stream>`.
    StreamClose,
    /// One complete top-level element.
    Stanza(&'a [u8]),
    /// A stanza exceeded the size cap and was skipped.
    TooLarge,
    /// Bytes that are not well-formed XML were skipped.
    Malformed,
}

/// Stanza cutter for one direction.
#[derive(Debug)]
pub struct Cutter {
    buf: Vec<u8>,
    /// Everything before `pos` has been read as complete events.
    pos: usize,
    /// Element depth at `pos`, not counting the stream element.
    depth: u32,
    /// Start of the stanza being read.
    start: Option<usize>,
    /// The stanza being read went over the cap: its bytes are dropped.
    skipping: bool,
    cap: usize,
}

/// One step of the cutter.
enum Step {
    Open(usize, usize),
    Close,
    Stanza(usize, usize),
    TooLarge,
    Malformed,
    Continue,
    NeedMore,
}

impl Cutter {
    /// `cap` bounds one stanza and the bytes held while waiting for its end.
    pub fn new(cap: usize) -> Cutter {
        Cutter {
            buf: Vec::new(),
            pos: 0,
            depth: 0,
            start: None,
            skipping: false,
            cap: cap.max(64),
        }
    }

    /// Appends stream bytes. Reading them right away keeps the buffer within
    /// the stanza cap; a caller that stops reading (waiting for a STARTTLS
    /// answer) bounds what it pushes with [`Cutter::held`].
    pub fn push(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// Bytes held: the stanza being read and what follows it.
    pub fn held(&self) -> usize {
        self.buf.len() - self.start.unwrap_or(self.pos).min(self.buf.len())
    }

    /// The stanza cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Bytes not yet read as XML (after the last piece returned).
    pub fn take_rest(&mut self) -> Vec<u8> {
        let from = self.start.unwrap_or(self.pos).min(self.buf.len());
        let rest = self.buf[from..].to_vec();
        self.buf.clear();
        self.pos = 0;
        self.start = None;
        self.depth = 0;
        self.skipping = false;
        rest
    }

    /// Forgets everything (after a gap in the stream).
    pub fn reset(&mut self) {
        self.take_rest();
    }

    fn compact(&mut self) {
        let keep = self.start.unwrap_or(self.pos);
        if keep > 0 && (keep == self.buf.len() || keep >= 16 * 1024 || keep * 2 >= self.buf.len()) {
            self.buf.drain(..keep);
            self.pos -= keep;
            self.start = self.start.map(|s| s - keep);
        }
    }

    /// The next piece, or `None` when more bytes are needed.
    pub fn next_piece(&mut self) -> Option<Piece<'_>> {
        self.compact();
        loop {
            match self.step() {
                Step::Continue => continue,
                Step::NeedMore => return None,
                Step::Open(a, b) => return Some(Piece::StreamOpen(&self.buf[a..b])),
                Step::Close => return Some(Piece::StreamClose),
                Step::Stanza(a, b) => return Some(Piece::Stanza(&self.buf[a..b])),
                Step::TooLarge => return Some(Piece::TooLarge),
                Step::Malformed => return Some(Piece::Malformed),
            }
        }
    }

    fn step(&mut self) -> Step {
        let base = self.pos;
        let tail = &self.buf[base..];
        if tail.is_empty() {
            return Step::NeedMore;
        }
        let mut r = Reader::from_reader(tail);
        {
            let c = r.config_mut();
            c.check_end_names = false;
            c.allow_unmatched_ends = true;
            c.allow_dangling_amp = true;
            c.check_comments = false;
        }
        let ev = r.read_event();
        let used = (r.buffer_position() as usize).min(tail.len());
        match ev {
            Ok(Event::Eof) => Step::NeedMore,
            Ok(Event::Start(e)) => {
                if is_stream(&e) {
                    self.pos = base + used;
                    return Step::Open(base, base + used);
                }
                if self.depth == 0 && !self.skipping {
                    self.start = Some(base);
                }
                self.depth = self.depth.saturating_add(1);
                self.advance(base + used)
            }
            Ok(Event::End(e)) => {
                self.pos = base + used;
                if self.depth == 0 {
                    let n = e.name();
                    let n = n.as_ref();
                    if n == "stream:stream" || n.ends_with(":stream") || n == "stream" {
                        return Step::Close;
                    }
                    return Step::Continue;
                }
                self.depth -= 1;
                if self.depth > 0 {
                    return self.advance(base + used);
                }
                if std::mem::take(&mut self.skipping) {
                    return Step::Continue;
                }
                match self.start.take() {
                    Some(s) => Step::Stanza(s, base + used),
                    None => Step::Continue,
                }
            }
            Ok(Event::Empty(e)) => {
                self.pos = base + used;
                if self.depth == 0 && !is_stream(&e) {
                    return Step::Stanza(base, base + used);
                }
                self.advance(base + used)
            }
            Ok(_) => {
                // Text, references, comments, declarations, ...: part of the
                // stanza being read, or whitespace keep-alives between stanzas.
                if used == 0 {
                    return Step::NeedMore;
                }
                self.advance(base + used)
            }
            Err(e) => self.error(e, base),
        }
    }

    /// Moves past a complete event inside (or between) stanzas, enforcing the cap.
    fn advance(&mut self, to: usize) -> Step {
        self.pos = to;
        if let Some(s) = self.start
            && self.pos - s > self.cap
        {
            self.start = None;
            self.skipping = true;
            return Step::TooLarge;
        }
        Step::Continue
    }

    fn error(&mut self, e: Error, base: usize) -> Step {
        let tail = &self.buf[base..];
        let incomplete = match &e {
            // `<!` followed by anything but a comment, CDATA or DOCTYPE.
            Error::Syntax(SyntaxError::InvalidBangMarkup) => tail.len() < 9,
            Error::Syntax(_) => true,
            // A UTF-8 sequence cut at the end of the buffer is incomplete;
            // an invalid one anywhere is malformed.
            _ => match std::str::from_utf8(tail) {
                Err(u) => u.error_len().is_none() && !is_markup_error(&e),
                Ok(_) => false,
            },
        };
        let held = self.buf.len() - self.start.unwrap_or(base);
        if incomplete && held <= self.cap {
            return Step::NeedMore;
        }
        if incomplete && self.start.is_some() {
            // A stanza that never ends within the cap.
            self.start = None;
            self.skipping = false;
            self.depth = 0;
        }
        // Resynchronise at the next '<' after this position.
        let skip = memchr::memchr(b'<', &tail[1.min(tail.len())..]).map_or(tail.len(), |p| p + 1);
        self.pos = base + skip;
        if self.start.is_some() {
            // The stanza being read is broken: drop it.
            self.start = None;
            self.skipping = false;
            self.depth = 0;
        }
        if incomplete && held > self.cap {
            Step::TooLarge
        } else {
            Step::Malformed
        }
    }
}

fn is_markup_error(e: &Error) -> bool {
    matches!(e, Error::IllFormed(_))
}

/// `<stream:stream>` (any prefix) opens the stream.
fn is_stream(e: &BytesStart<'_>) -> bool {
    let n = e.name();
    let n = n.as_ref();
    n == "stream:stream" || (n.ends_with(":stream") && n.len() > 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every piece, as owned bytes, for a stream fed in chunks.
    fn cut(chunks: &[&[u8]], cap: usize) -> Vec<Piece<'static>> {
        let mut c = Cutter::new(cap);
        let mut out = Vec::new();
        for ch in chunks {
            c.push(ch);
            while let Some(p) = c.next_piece() {
                out.push(match p {
                    Piece::StreamOpen(b) => {
                        Piece::StreamOpen(Box::leak(b.to_vec().into_boxed_slice()))
                    }
                    Piece::Stanza(b) => Piece::Stanza(Box::leak(b.to_vec().into_boxed_slice())),
                    Piece::StreamClose => Piece::StreamClose,
                    Piece::TooLarge => Piece::TooLarge,
                    Piece::Malformed => Piece::Malformed,
                });
            }
        }
        out
    }

    const STREAM: &[u8] = b"<?xml version='1.0'?><stream:stream to='cs-xmpp.lan' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features> <message type='chat' to='b@x'><body>a &amp; b &lt; c</body></message><presence/></stream:stream>";

    #[test]
    fn stanzas_by_depth_split_at_every_byte() {
        let whole = cut(&[STREAM], 4096);
        assert_eq!(whole.len(), 5, "{whole:?}");
        assert!(matches!(whole[0], Piece::StreamOpen(b) if b.starts_with(b"<stream:stream to=")));
        assert_eq!(whole[1], Piece::Stanza(b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"));
        assert_eq!(
            whole[2],
            Piece::Stanza(b"<message type='chat' to='b@x'><body>a &amp; b &lt; c</body></message>")
        );
        assert_eq!(whole[3], Piece::Stanza(b"<presence/>"));
        assert_eq!(whole[4], Piece::StreamClose);
        for at in 0..STREAM.len() {
            let got = cut(&[&STREAM[..at], &STREAM[at..]], 4096);
            assert_eq!(got, whole, "split at {at}");
        }
        let bytewise: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(cut(&bytewise, 4096), whole);
    }

    #[test]
    fn multibyte_text_split_inside_a_character() {
        let s = "<message><body>Привет 你好</body></message>".as_bytes();
        for at in 0..s.len() {
            let got = cut(&[&s[..at], &s[at..]], 4096);
            assert_eq!(got, vec![Piece::Stanza(s)], "split at {at}");
        }
    }

    #[test]
    fn oversized_stanza_is_skipped_and_cutting_resumes() {
        let mut s = b"<message><body>".to_vec();
        s.extend(std::iter::repeat_n(b'x', 5000));
        s.extend_from_slice(b"</body></message><iq type='get' id='1'/>");
        for chunk in [usize::MAX, 100, 7] {
            let chunks: Vec<&[u8]> = s.chunks(chunk.min(s.len())).collect();
            let got = cut(&chunks, 256);
            assert_eq!(
                got,
                vec![Piece::TooLarge, Piece::Stanza(b"<iq type='get' id='1'/>")],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn garbage_is_skipped_to_the_next_tag() {
        let got = cut(&[b"\xff\xfe\x00<iq/><!x><presence/>"], 4096);
        assert!(got.contains(&Piece::Stanza(b"<iq/>")), "{got:?}");
        assert!(got.contains(&Piece::Stanza(b"<presence/>")), "{got:?}");
        assert!(got.contains(&Piece::Malformed));
        // A tag that never closes is held up to the cap, then dropped.
        let mut open = b"<message to='".to_vec();
        open.extend(std::iter::repeat_n(b'a', 1000));
        let got = cut(&[&open, b"'/><iq/>"], 128);
        assert!(got.contains(&Piece::Stanza(b"<iq/>")), "{got:?}");
    }

    #[test]
    fn rest_after_a_stanza_is_untouched() {
        let mut c = Cutter::new(4096);
        c.push(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01\x00\x05");
        assert!(matches!(c.next_piece(), Some(Piece::Stanza(_))));
        assert_eq!(c.take_rest(), b"\x16\x03\x01\x00\x05");
    }
}
