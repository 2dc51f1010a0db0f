//! TLS record framing over a reassembled byte stream (RFC 5246 §6.2, RFC 8446 §5).
//!
//! [`parse_frame`] is the pure parser: one record, "need more bytes", an
//! SSLv2-compatible ClientHello, or an invalid header. [`Reader`] is the
//! per-direction framer on top of it: records split across TCP segments and
//! several records per segment, a bounded buffer, and resynchronisation after
//! a stream gap (scan for a plausible header, or give up explicitly).

/// Bytes in a record header: `type u8 | version u16 | length u16`.
pub const HEADER_LEN: usize = 5;
/// Largest plaintext fragment (2^14).
pub const MAX_PLAINTEXT: usize = 1 << 14;
/// Largest protected fragment of TLS ≤ 1.2 (2^14 + 2048); TLS 1.3 allows less.
pub const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 2048;

/// Record content types.
pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
    /// DTLS 1.3 only.
    pub const ACK: u8 = 26;
}

/// Name of a content type for reports.
pub fn content_name(t: u8) -> &'static str {
    match t {
        content::CHANGE_CIPHER_SPEC => "change_cipher_spec",
        content::ALERT => "alert",
        content::HANDSHAKE => "handshake",
        content::APPLICATION_DATA => "application_data",
        content::HEARTBEAT => "heartbeat",
        content::ACK => "ack",
        _ => "unknown",
    }
}

/// A record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub content_type: u8,
    pub version: u16,
    pub len: u16,
}

impl Header {
    /// Reads a header from the first five bytes, if present.
    pub fn parse(b: &[u8]) -> Option<Header> {
        let h = b.get(..HEADER_LEN)?;
        Some(Header {
            content_type: h[0],
            version: u16::from_be_bytes([h[1], h[2]]),
            len: u16::from_be_bytes([h[3], h[4]]),
        })
    }

    /// The five header bytes (the TLS 1.3 AAD).
    pub fn bytes(&self) -> [u8; HEADER_LEN] {
        let v = self.version.to_be_bytes();
        let l = self.len.to_be_bytes();
        [self.content_type, v[0], v[1], l[0], l[1]]
    }

    /// A known content type, an SSL 3.0 – TLS 1.3 version and a length within limits.
    pub fn is_plausible(&self) -> bool {
        (content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&self.content_type)
            && (0x0300..=0x0304).contains(&self.version)
            && self.len as usize <= MAX_CIPHERTEXT
    }
}

/// One framing step over buffered bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete record; it used `HEADER_LEN + fragment.len()` bytes.
    Record { header: Header, fragment: &'a [u8] },
    /// The buffer holds a prefix of a record; `needed` bytes make it complete.
    NeedMore { needed: usize },
    /// An SSLv2-compatible ClientHello (RFC 5246 E.2); it used `len` bytes.
    Sslv2ClientHello { version: u16, len: usize },
    /// Not a TLS record header.
    Invalid { reason: &'static str },
}

/// Detects the 2-byte-header SSLv2 CLIENT-HELLO that old clients send first.
fn sslv2_client_hello(buf: &[u8]) -> Option<Frame<'static>> {
    let b0 = *buf.first()?;
    if b0 & 0x80 == 0 {
        return None;
    }
    let len = (((b0 & 0x7f) as usize) << 8) | *buf.get(1)? as usize;
    let kind = *buf.get(2)?;
    let version = u16::from_be_bytes([*buf.get(3)?, *buf.get(4)?]);
    // msg_type 1 (CLIENT-HELLO), a 2.0 – TLS 1.2 version and room for the fixed fields.
    if kind != 1 || !(version == 0x0002 || (0x0300..=0x0303).contains(&version)) || len < 9 {
        return None;
    }
    if buf.len() < 2 + len {
        return Some(Frame::NeedMore { needed: 2 + len });
    }
    Some(Frame::Sslv2ClientHello {
        version,
        len: 2 + len,
    })
}

/// Parses the next frame. `stream_start` allows the SSLv2 hello, which can
/// only be the very first bytes a client sends.
pub fn parse_frame(buf: &[u8], stream_start: bool) -> Frame<'_> {
    if stream_start
        && buf.len() >= 3
        && let Some(f) = sslv2_client_hello(buf)
    {
        return f;
    }
    let Some(h) = Header::parse(buf) else {
        // A partial header: reject early what can never become valid.
        if let Some(&t) = buf.first()
            && !(content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&t)
            && !(stream_start && t & 0x80 != 0)
        {
            return Frame::Invalid {
                reason: "unknown record content type",
            };
        }
        if buf.len() >= 2 && buf[1] != 3 && !(stream_start && buf[0] & 0x80 != 0) {
            return Frame::Invalid {
                reason: "record version is not 3.x",
            };
        }
        return Frame::NeedMore { needed: HEADER_LEN };
    };
    if !(content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&h.content_type) {
        return Frame::Invalid {
            reason: "unknown record content type",
        };
    }
    if !(0x0300..=0x0304).contains(&h.version) {
        return Frame::Invalid {
            reason: "record version is not SSL 3.0 – TLS 1.3",
        };
    }
    if h.len as usize > MAX_CIPHERTEXT {
        return Frame::Invalid {
            reason: "record longer than 2^14 + 2048 bytes",
        };
    }
    let total = HEADER_LEN + h.len as usize;
    match buf.get(HEADER_LEN..total) {
        Some(fragment) => Frame::Record {
            header: h,
            fragment,
        },
        None => Frame::NeedMore { needed: total },
    }
}

/// Offset of the first position in `buf` that looks like a record boundary:
/// a plausible header whose successor (if within `buf`) is plausible too.
/// Returns `Some(i)` for a candidate that cannot be confirmed yet.
pub fn find_boundary(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + HEADER_LEN <= buf.len() {
        if let Some(h) = Header::parse(&buf[i..])
            && h.is_plausible()
            && h.len > 0
        {
            let next = i + HEADER_LEN + h.len as usize;
            match Header::parse(buf.get(next..).unwrap_or(&[])) {
                Some(n) if n.is_plausible() => return Some(i),
                Some(_) => {}
                // Record ends at or beyond the buffer end: accept it.
                None => return Some(i),
            }
        }
        i += 1;
    }
    None
}

/// What the reader produced from the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Record {
        header: Header,
        fragment: &'a [u8],
    },
    Sslv2ClientHello {
        version: u16,
    },
    /// Bytes that were not TLS records: `skipped` bytes dropped before the
    /// next plausible header (or before giving up).
    Desync {
        skipped: u64,
        reason: &'static str,
    },
    /// No record boundary found within the scan budget: this direction is abandoned.
    GaveUp {
        skipped: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At a record boundary (or inside a buffered record).
    Framed,
    /// Looking for a plausible header after a gap or garbage.
    Resync { skipped: u64, reason: &'static str },
    /// Gave up: bytes are ignored.
    Lost,
}

/// Bytes scanned for a record boundary before giving up on a direction.
pub const RESYNC_BUDGET: u64 = 256 * 1024;

/// Per-direction record framer.
#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    mode: Mode,
    at_start: bool,
    /// Records framed so far.
    pub records: u64,
    /// Bytes consumed as records.
    pub bytes: u64,
    /// Largest record fragment.
    pub max_fragment: u16,
    /// Application-data records are framed from their header alone and
    /// their bodies skipped, not buffered: set (through `feed_checked`)
    /// once the direction can no longer be opened. Such records reach the
    /// consumer with an empty fragment.
    headers_only: bool,
    /// Body bytes of a header-only record still to skip, and its length.
    skip: usize,
    skip_len: usize,
    skipping: Option<Header>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            buf: Vec::new(),
            mode: Mode::Framed,
            at_start: true,
            records: 0,
            bytes: 0,
            max_fragment: 0,
            headers_only: false,
            skip: 0,
            skip_len: 0,
            skipping: None,
        }
    }
}

impl Reader {
    /// Content type and buffered length of a record the stream ended inside.
    pub fn partial(&self) -> Option<(u8, usize)> {
        if self.skip > 0 {
            return Some((content::APPLICATION_DATA, self.skip_len - self.skip));
        }
        match self.mode {
            Mode::Framed => self.buf.first().map(|&t| (t, self.buf.len())),
            _ => None,
        }
    }

    /// True once the reader abandoned this direction.
    pub fn is_lost(&self) -> bool {
        self.mode == Mode::Lost
    }

    /// Bytes of this direction went missing: drop the partial record and resynchronise.
    pub fn gap(&mut self) {
        if self.mode == Mode::Lost {
            return;
        }
        self.buf.clear();
        self.skip = 0;
        self.skipping = None;
        self.at_start = false;
        self.mode = Mode::Resync {
            skipped: 0,
            reason: "bytes missing from the capture",
        };
    }

    /// Feeds in-order bytes; calls `on` for every event. Complete records in
    /// `data` are passed straight through without copying when nothing is
    /// buffered.
    pub fn feed(&mut self, data: &[u8], on: &mut dyn FnMut(Event<'_>)) {
        self.feed_checked(data, &std::cell::Cell::new(false), on);
    }

    /// Like [`feed`](Self::feed), switching to headers-only framing as soon as `unreadable` is set (by the consumer, while it handles a
    /// record), so not even the rest of this chunk is buffered.
    pub fn feed_checked(
        &mut self,
        mut data: &[u8],
        unreadable: &std::cell::Cell<bool>,
        on: &mut dyn FnMut(Event<'_>),
    ) {
        if self.mode == Mode::Lost || data.is_empty() {
            return;
        }
        self.headers_only |= unreadable.get();
        self.skip_body(&mut data, on);
        while !self.buf.is_empty() {
            self.headers_only |= unreadable.get();
            // Append just enough to complete the pending record (all of it while resynchronising).
            let need = match self.mode {
                Mode::Framed => match parse_frame(&self.buf, self.at_start) {
                    Frame::NeedMore { needed } => needed,
                    _ => self.buf.len(),
                },
                Mode::Resync { .. } => self.buf.len() + data.len(),
                Mode::Lost => return,
            };
            let take = need.saturating_sub(self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            let buf = std::mem::take(&mut self.buf);
            let used = self.step(&buf, on);
            self.buf = buf;
            if self.mode == Mode::Lost {
                self.buf = Vec::new();
                return;
            }
            self.buf.drain(..used.min(self.buf.len()));
            if self.headers_only && self.buf.is_empty() {
                // Give back the room a record of this direction once needed.
                self.buf = Vec::new();
            }
            if used == 0 && data.is_empty() {
                return;
            }
        }
        // Fast path: frame directly from `data`.
        while !data.is_empty() && self.mode != Mode::Lost {
            self.headers_only |= unreadable.get();
            if self.skip > 0 {
                self.skip_body(&mut data, on);
                continue;
            }
            let used = self.step(data, on);
            if used == 0 {
                self.buf.extend_from_slice(data);
                return;
            }
            data = &data[used.min(data.len())..];
        }
    }

    /// Skips body bytes of a header-only record; once the record is whole it
    /// is counted and reported (with an empty fragment) like any other.
    fn skip_body(&mut self, data: &mut &[u8], on: &mut dyn FnMut(Event<'_>)) {
        if self.skip == 0 {
            return;
        }
        let n = self.skip.min(data.len());
        self.skip -= n;
        *data = &data[n..];
        if self.skip == 0
            && let Some(header) = self.skipping.take()
        {
            self.records += 1;
            self.bytes += self.skip_len as u64;
            self.max_fragment = self.max_fragment.max(header.len);
            on(Event::Record {
                header,
                fragment: &[],
            });
        }
    }

    /// Processes one step over `buf`; returns the bytes consumed (0 = need more).
    fn step(&mut self, buf: &[u8], on: &mut dyn FnMut(Event<'_>)) -> usize {
        match self.mode {
            Mode::Lost => buf.len(),
            Mode::Resync { skipped, reason } => match find_boundary(buf) {
                Some(i) => {
                    self.mode = Mode::Framed;
                    on(Event::Desync {
                        skipped: skipped + i as u64,
                        reason,
                    });
                    i
                }
                None => {
                    // Keep the last few bytes: a header may straddle the next segment.
                    let keep = buf.len().min(HEADER_LEN - 1);
                    let drop = buf.len() - keep;
                    let skipped = skipped + drop as u64;
                    if skipped > RESYNC_BUDGET {
                        self.mode = Mode::Lost;
                        on(Event::GaveUp { skipped });
                        return buf.len();
                    }
                    self.mode = Mode::Resync { skipped, reason };
                    drop
                }
            },
            Mode::Framed
                if self.headers_only && buf.first() == Some(&content::APPLICATION_DATA) =>
            {
                match parse_frame(buf, self.at_start) {
                    // A complete record costs nothing to pass through.
                    Frame::NeedMore { needed }
                        if needed > HEADER_LEN && buf.len() >= HEADER_LEN =>
                    {
                        let Some(header) = Header::parse(buf) else {
                            return 0;
                        };
                        self.at_start = false;
                        self.skipping = Some(header);
                        self.skip = needed - buf.len();
                        self.skip_len = needed;
                        buf.len()
                    }
                    _ => {
                        self.headers_only = false;
                        let used = self.step(buf, on);
                        self.headers_only = true;
                        used
                    }
                }
            }
            Mode::Framed => match parse_frame(buf, self.at_start) {
                Frame::Record { header, fragment } => {
                    self.at_start = false;
                    self.records += 1;
                    self.bytes += (HEADER_LEN + fragment.len()) as u64;
                    self.max_fragment = self.max_fragment.max(header.len);
                    on(Event::Record { header, fragment });
                    HEADER_LEN + fragment.len()
                }
                Frame::Sslv2ClientHello { version, len } => {
                    self.at_start = false;
                    self.records += 1;
                    self.bytes += len as u64;
                    on(Event::Sslv2ClientHello { version });
                    len
                }
                Frame::NeedMore { .. } => 0,
                Frame::Invalid { reason } => {
                    // Skip the bad byte; the scan continues from the next one.
                    self.at_start = false;
                    self.mode = Mode::Resync { skipped: 1, reason };
                    1
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 3, 3];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn collect(r: &mut Reader, chunks: &[&[u8]]) -> (Vec<(u8, Vec<u8>)>, Vec<String>) {
        let mut recs = Vec::new();
        let mut other = Vec::new();
        for c in chunks {
            r.feed(c, &mut |e| match e {
                Event::Record { header, fragment } => {
                    recs.push((header.content_type, fragment.to_vec()))
                }
                e => other.push(format!("{e:?}")),
            });
        }
        (recs, other)
    }

    #[test]
    fn headers_only_skips_application_data_bodies_without_buffering() {
        let body = vec![0xAB; 3000];
        let mut stream = rec(23, &body);
        stream.extend(rec(21, &[2, 40]));
        stream.extend(rec(23, &body));
        stream.extend(rec(23, &body[..100]));
        let whole = stream.len();
        stream.extend(&rec(23, &body)[..1000]);
        for cut in [1, 7, 1448] {
            let mut r = Reader::default();
            let unreadable = std::cell::Cell::new(true);
            let chunks: Vec<&[u8]> = stream.chunks(cut).collect();
            let mut recs = Vec::new();
            let mut most_buffered = 0;
            for c in chunks {
                r.feed_checked(c, &unreadable, &mut |e| {
                    if let Event::Record { header, fragment } = e {
                        recs.push((header.content_type, header.len, fragment.to_vec()));
                    }
                });
                most_buffered = most_buffered.max(r.buf.capacity());
            }
            let lens: Vec<(u8, u16)> = recs.iter().map(|(t, l, _)| (*t, *l)).collect();
            assert_eq!(
                lens,
                [(23, 3000), (21, 2), (23, 3000), (23, 100)],
                "cut {cut}"
            );
            // Alerts keep their bytes; application data arrives header-only
            // unless a whole record sat in one chunk.
            assert_eq!(recs[1].2, [2, 40]);
            assert!(
                recs.iter()
                    .all(|(t, l, f)| *t != 23 || f.is_empty() || f.len() == usize::from(*l))
            );
            assert_eq!(r.records, 4);
            assert_eq!(r.bytes, whole as u64);
            assert_eq!(r.partial(), Some((23, 1000)));
            assert!(
                most_buffered < 64,
                "cut {cut}: buffered {most_buffered} bytes"
            );
        }
    }

    #[test]
    fn parses_a_record_and_reports_need_more() {
        let r = rec(22, &[1, 2, 3]);
        assert_eq!(
            parse_frame(&r, true),
            Frame::Record {
                header: Header {
                    content_type: 22,
                    version: 0x0303,
                    len: 3
                },
                fragment: &[1, 2, 3]
            }
        );
        assert_eq!(parse_frame(&r[..4], true), Frame::NeedMore { needed: 5 });
        assert_eq!(parse_frame(&r[..6], true), Frame::NeedMore { needed: 8 });
        assert!(matches!(
            parse_frame(&[0x17, 0x03, 0x03, 0xff, 0xff], false),
            Frame::Invalid { .. }
        ));
        assert!(matches!(
            parse_frame(b"GET / HTTP/1.1", false),
            Frame::Invalid { .. }
        ));
    }

    #[test]
    fn records_split_at_every_byte_and_several_per_segment() {
        let mut stream = rec(22, b"hello handshake");
        stream.extend(rec(20, &[1]));
        stream.extend(rec(23, &[0xaa; 300]));
        stream.extend(rec(21, &[2, 40]));
        let expected = vec![
            (22, b"hello handshake".to_vec()),
            (20, vec![1]),
            (23, vec![0xaa; 300]),
            (21, vec![2, 40]),
        ];
        // All at once.
        let (recs, other) = collect(&mut Reader::default(), &[&stream]);
        assert_eq!(recs, expected);
        assert!(other.is_empty());
        // Split in two at every position.
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            let (recs, other) = collect(&mut Reader::default(), &[a, b]);
            assert_eq!(recs, expected, "cut at {cut}");
            assert!(other.is_empty());
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let mut r = Reader::default();
        let (recs, _) = collect(&mut r, &bytes);
        assert_eq!(recs, expected);
        assert_eq!(r.records, 4);
        assert_eq!(r.bytes, stream.len() as u64);
    }

    #[test]
    fn resynchronises_after_a_gap() {
        let a = rec(23, &[1; 50]);
        let b = rec(23, &[2; 40]);
        let c = rec(23, &[3; 30]);
        let mut r = Reader::default();
        let (recs, _) = collect(&mut r, &[&a]);
        assert_eq!(recs.len(), 1);
        r.gap();
        // The stream resumes in the middle of b.
        let mut tail = b[17..].to_vec();
        tail.extend_from_slice(&c);
        let (recs, other) = collect(&mut r, &[&tail[..10], &tail[10..]]);
        assert_eq!(recs, vec![(23, vec![3; 30])]);
        assert_eq!(other.len(), 1, "{other:?}");
        assert!(other[0].contains("Desync"));
    }

    #[test]
    fn gives_up_explicitly_on_garbage() {
        let mut r = Reader::default();
        r.gap();
        let junk = vec![0x41u8; 4096];
        let mut events = Vec::new();
        for _ in 0..80 {
            r.feed(&junk, &mut |e| events.push(format!("{e:?}")));
        }
        assert!(r.is_lost());
        assert!(events.iter().any(|e| e.starts_with("GaveUp")), "{events:?}");
    }

    #[test]
    fn sslv2_client_hello_is_labelled() {
        // SSLv2 CLIENT-HELLO advertising TLS 1.0: len 0x2e, type 1, version 0301,
        // cipher_spec_len 0x0015, session_id_len 0, challenge_len 0x0010.
        let mut h = vec![
            0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
        ];
        h.extend_from_slice(&[0u8; 0x15 + 0x10]);
        assert_eq!(h.len(), 2 + 0x2e);
        let mut r = Reader::default();
        let mut stream = h.clone();
        stream.extend(rec(22, &[2, 0, 0, 0]));
        let (recs, other) = collect(&mut r, &[&stream]);
        assert_eq!(other, vec!["Sslv2ClientHello { version: 769 }".to_string()]);
        assert_eq!(recs.len(), 1);
        // Not at stream start: not an SSLv2 hello.
        assert!(matches!(parse_frame(&h, false), Frame::Invalid { .. }));
    }

    #[test]
    fn truncated_and_random_input_never_panics() {
        let mut seed = 0x1234_5678u32;
        for _ in 0..200 {
            let mut r = Reader::default();
            for _ in 0..8 {
                let n = (seed % 97) as usize;
                let chunk: Vec<u8> = (0..n)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        (seed % 26) as u8 + 20
                    })
                    .collect();
                r.feed(&chunk, &mut |_| {});
                if seed.is_multiple_of(5) {
                    r.gap();
                }
            }
        }
    }
}
