//! A bounded line buffer for the text protocols (SMTP, IMAP, POP3, IRC).
//!
//! Bytes of one direction go in; complete lines (CRLF or bare LF, the
//! terminator stripped) come out. A line longer than the cap is reported once
//! as [`Item::Overlong`] and skipped up to its end, so memory stays bounded
//! whatever the peer sends. Raw bytes can also be taken from the front, for
//! literals, message data and the switch to TLS after STARTTLS.

/// One unit taken from a [`LineBuf`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A complete line without its terminator.
    Line(Vec<u8>),
    /// A line exceeded the cap and was skipped.
    Overlong,
}

/// Buffered bytes of one direction.
#[derive(Debug)]
pub struct LineBuf {
    buf: Vec<u8>,
    start: usize,
    max_line: usize,
    max_buffer: usize,
    discarding: bool,
    dropped: u64,
}

impl LineBuf {
    /// `max_line` caps one line, `max_buffer` the bytes held while nobody
    /// drains the buffer (e.g. client bytes waiting for a STARTTLS answer).
    pub fn new(max_line: usize, max_buffer: usize) -> LineBuf {
        LineBuf {
            buf: Vec::new(),
            start: 0,
            max_line,
            max_buffer: max_buffer.max(max_line),
            discarding: false,
            dropped: 0,
        }
    }

    /// Appends bytes; beyond `max_buffer` held bytes the excess is dropped and
    /// counted (see [`LineBuf::dropped`]).
    pub fn push(&mut self, data: &[u8]) {
        self.compact();
        let room = self.max_buffer.saturating_sub(self.len());
        let take = data.len().min(room);
        self.buf.extend_from_slice(&data[..take]);
        self.dropped += (data.len() - take) as u64;
    }

    /// Bytes dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The held bytes, not consumed.
    pub fn peek(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The next complete line, if any.
    pub fn next_item(&mut self) -> Option<Item> {
        loop {
            let rest = &self.buf[self.start..];
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    let mut line = &rest[..i];
                    if line.last() == Some(&b'\r') {
                        line = &line[..line.len() - 1];
                    }
                    let item = if line.len() > self.max_line {
                        Item::Overlong
                    } else {
                        Item::Line(line.to_vec())
                    };
                    self.start += i + 1;
                    if std::mem::replace(&mut self.discarding, false) {
                        // The tail of a line already reported as overlong.
                        continue;
                    }
                    return Some(item);
                }
                None if rest.len() > self.max_line || (self.discarding && !rest.is_empty()) => {
                    // Keep nothing of an endless line; report it once.
                    let first = !self.discarding;
                    self.discarding = true;
                    self.start = self.buf.len();
                    return first.then_some(Item::Overlong);
                }
                None => return None,
            }
        }
    }

    /// Takes up to `n` raw bytes from the front.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.len());
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        out
    }

    /// Takes everything held.
    pub fn take_all(&mut self) -> Vec<u8> {
        let out = self.buf[self.start..].to_vec();
        self.buf.clear();
        self.start = 0;
        self.discarding = false;
        out
    }

    fn compact(&mut self) {
        if self.start > 0 && (self.start == self.buf.len() || self.start >= 4096) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(b: &mut LineBuf) -> Vec<Item> {
        std::iter::from_fn(|| b.next_item()).collect()
    }

    #[test]
    fn crlf_and_lf_lines_split_at_every_byte() {
        let wire = b"EHLO a\r\nMAIL FROM:<x@y>\nQUIT\r\n";
        for cut in 0..wire.len() {
            let mut b = LineBuf::new(64, 1024);
            b.push(&wire[..cut]);
            let mut got = lines(&mut b);
            b.push(&wire[cut..]);
            got.extend(lines(&mut b));
            assert_eq!(
                got,
                vec![
                    Item::Line(b"EHLO a".to_vec()),
                    Item::Line(b"MAIL FROM:<x@y>".to_vec()),
                    Item::Line(b"QUIT".to_vec()),
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn overlong_line_is_skipped_once_and_parsing_resumes() {
        let mut b = LineBuf::new(8, 64);
        b.push(b"0123456789abcdef");
        assert_eq!(lines(&mut b), vec![Item::Overlong]);
        b.push(b"still the same line\r\nNOOP\r\n");
        assert_eq!(lines(&mut b), vec![Item::Line(b"NOOP".to_vec())]);
    }

    #[test]
    fn held_bytes_are_capped_and_taken_raw() {
        let mut b = LineBuf::new(8, 16);
        b.push(b"STLS\r\n");
        assert_eq!(lines(&mut b), vec![Item::Line(b"STLS".to_vec())]);
        b.push(&[0x16, 3, 1, 0, 0xff]);
        b.push(&[0xaa; 20]);
        assert_eq!(b.len(), 16);
        assert_eq!(b.dropped(), 9);
        assert_eq!(b.take(2), vec![0x16, 3]);
        assert_eq!(b.take_all().len(), 14);
        assert!(b.is_empty());
    }
}
