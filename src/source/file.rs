//! Capture files: classic pcap (both byte orders, µs and ns, the "modified"
//! variant) and pcapng (several sections and interfaces, EPB, SPB, DSB).
//!
//! Framing is ours: we read each record's or block's length, make sure the
//! whole of it is buffered, then hand exactly that slice to pcap-parser. A
//! record longer than what is left is the truncation point; a block whose
//! length fields are implausible is the corruption point. Either way every
//! packet before it has been delivered and the read ends with a warning
//! naming the byte offset. A well-framed pcapng block whose body does not
//! parse is skipped with a warning and reading goes on.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use pcap_parser::{Block, PcapNGOption};
use sha2::{Digest, Sha256};

use super::filter::Filter;
use super::{
    InputSummary, LinkType, Packet, PacketSink, SecretOrigin, SourceError, hex, keylog_comment,
};

/// Initial read buffer; blocks up to [`MAX_BLOCK`] grow it.
const BUFFER: usize = 1 << 20;
/// Largest record or block accepted (TSO/LRO frames and big DSBs fit).
const MAX_BLOCK: usize = 16 << 20;
/// libpcap's MAXIMUM_SNAPLEN: classic records above this (and above the
/// header's snaplen) are corruption, not packets.
const MAX_PCAP_CAPLEN: u32 = 262_144;

const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;
const TLS_KEY_LOG: u32 = 0x544c_534b;
const OPT_COMMENT: u16 = 1;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// Reads a capture file (`-` = standard input) in one streaming pass.
pub fn read_file(
    path: &Path,
    filter: Option<&str>,
    sink: &mut dyn PacketSink,
) -> Result<InputSummary, SourceError> {
    if path == Path::new("-") {
        let (ahead, digest) = ReadAhead::spawn(Box::new(io::stdin()));
        return read_with(
            Box::new(ahead),
            Some(digest),
            "standard input",
            filter,
            sink,
        );
    }
    let name = path.display().to_string();
    // Check the filter before touching the file.
    filter.map(Filter::new).transpose()?;
    let file = File::open(path).map_err(|source| SourceError::Io {
        path: name.clone(),
        source,
    })?;
    let (ahead, digest) = ReadAhead::spawn(Box::new(file));
    read_with(Box::new(ahead), Some(digest), &name, filter, sink)
}

/// Reads a capture from any byte stream (a pipe, a decompressor); `name`
/// is what messages call it.
pub fn read_stream(
    src: Box<dyn Read + '_>,
    name: &str,
    filter: Option<&str>,
    sink: &mut dyn PacketSink,
) -> Result<InputSummary, SourceError> {
    read_with(src, None, name, filter, sink)
}

/// Reads with inline hashing, or with the hash computed by a read-ahead thread.
fn read_with(
    src: Box<dyn Read + '_>,
    digest: Option<Digester>,
    name: &str,
    filter: Option<&str>,
    sink: &mut dyn PacketSink,
) -> Result<InputSummary, SourceError> {
    let filter = filter.map(Filter::new).transpose()?;
    let io_err = |source: io::Error| SourceError::Io {
        path: name.to_string(),
        source,
    };
    let threaded = digest.is_some();
    let mut reader = Reader {
        input: Input::new(src, !threaded),
        name: name.to_string(),
        filter,
        sink,
        summary: InputSummary {
            kind: "pcap",
            size: 0,
            sha256: String::new(),
            packets: 0,
            filtered_out: 0,
            skipped: 0,
            truncated_at: None,
            link_types: Vec::new(),
        },
        stopped: false,
    };
    reader.run().map_err(|e| match e {
        Failure::Io(source) => io_err(source),
        Failure::Source(e) => e,
    })?;
    let Reader {
        mut input,
        mut summary,
        stopped,
        ..
    } = reader;
    if !stopped {
        // Hash what follows the damage too, so `sha256` is the file's.
        input.drain().map_err(io_err)?;
    }
    match (input.hasher.take(), digest) {
        (Some(h), _) => {
            summary.size = input.total;
            summary.sha256 = hex(&h.finalize());
        }
        (None, Some(d)) => {
            // Close the read side first so a stopped read ends the thread too.
            drop(input);
            let (size, sha) = d.finish().map_err(io_err)?;
            summary.size = size;
            summary.sha256 = hex(&sha);
        }
        (None, None) => {}
    }
    Ok(summary)
}

/// Chunk size of the read-ahead thread.
const AHEAD_CHUNK: usize = 1 << 20;
/// Chunks in flight between the read-ahead thread and the parser.
const AHEAD_DEPTH: usize = 4;

/// Reads ahead on a thread that also hashes, so file I/O and SHA-256 overlap
/// with dissection on another core (hashing is a quarter of a replay's work).
struct ReadAhead {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
}

/// The hashing side of a [`ReadAhead`]: yields (bytes read, SHA-256).
struct Digester(std::thread::JoinHandle<io::Result<(u64, [u8; 32])>>);

impl Digester {
    fn finish(self) -> io::Result<(u64, [u8; 32])> {
        self.0
            .join()
            .map_err(|_| io::Error::other("read-ahead thread panicked"))?
    }
}

impl ReadAhead {
    fn spawn(mut src: Box<dyn Read + Send>) -> (ReadAhead, Digester) {
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(AHEAD_DEPTH);
        let handle = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            let mut total = 0u64;
            loop {
                let mut buf = vec![0u8; AHEAD_CHUNK];
                let mut n = 0;
                let mut eof = false;
                while n < buf.len() {
                    match src.read(&mut buf[n..]) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(k) => n += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let kind = e.kind();
                            let msg = e.to_string();
                            let _ = tx.send(Err(e));
                            return Err(io::Error::new(kind, msg));
                        }
                    }
                }
                buf.truncate(n);
                hasher.update(&buf);
                total += n as u64;
                if n > 0 && tx.send(Ok(buf)).is_err() {
                    // The parser stopped early: hash what was read.
                    break;
                }
                if eof {
                    break;
                }
            }
            Ok((total, hasher.finalize().into()))
        });
        (
            ReadAhead {
                rx,
                cur: Vec::new(),
                pos: 0,
            },
            Digester(handle),
        )
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.cur = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

enum Failure {
    Io(io::Error),
    Source(SourceError),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        Failure::Source(e)
    }
}

/// A growable window over the input that hashes every byte it reads.
struct Input<'r> {
    src: Box<dyn Read + 'r>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// File offset of `buf[start]`.
    pos: u64,
    /// Bytes read so far.
    total: u64,
    /// Inline hashing; `None` when a read-ahead thread hashes.
    hasher: Option<Sha256>,
}

impl<'r> Input<'r> {
    fn new(src: Box<dyn Read + 'r>, hash: bool) -> Input<'r> {
        Input {
            src,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            eof: false,
            pos: 0,
            total: 0,
            hasher: hash.then(Sha256::new),
        }
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Buffers at least `n` bytes (`n <= MAX_BLOCK`); `false` when the input
    /// ends first.
    fn ensure(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if n > self.buf.len() {
            let grown = n.checked_next_power_of_two().unwrap_or(n).min(MAX_BLOCK);
            self.buf.resize(grown.max(n), 0);
        }
        while self.end < n {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(k) => {
                    if let Some(h) = &mut self.hasher {
                        h.update(&self.buf[self.end..self.end + k]);
                    }
                    self.end += k;
                    self.total += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
    }

    /// Reads (and hashes) the rest of the input without keeping it.
    fn drain(&mut self) -> io::Result<()> {
        while !self.eof {
            self.start = 0;
            self.end = 0;
            let _ = self.ensure(self.buf.len())?;
        }
        Ok(())
    }
}

/// Per-interface state of a pcapng section.
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second.
    units: u64,
    /// `if_tsoffset`, seconds.
    offset: i64,
    /// Whether packets on it can be delivered (its link type is supported).
    usable: bool,
}

struct Reader<'s, 'r> {
    input: Input<'r>,
    name: String,
    filter: Option<Filter>,
    sink: &'s mut dyn PacketSink,
    summary: InputSummary,
    stopped: bool,
}

impl Reader<'_, '_> {
    fn run(&mut self) -> Result<(), Failure> {
        self.input.ensure(24)?;
        let head = self.input.data();
        let magic = head.get(..4).map(|m| [m[0], m[1], m[2], m[3]]);
        match magic {
            Some([0xd4, 0xc3, 0xb2, 0xa1])
            | Some([0x4d, 0x3c, 0xb2, 0xa1])
            | Some([0xa1, 0xb2, 0xc3, 0xd4])
            | Some([0xa1, 0xb2, 0x3c, 0x4d])
            | Some([0x34, 0xcd, 0xb2, 0xa1]) => {
                self.sink.format("pcap");
                self.pcap()
            }
            Some([0x0a, 0x0d, 0x0d, 0x0a]) => {
                self.summary.kind = "pcapng";
                self.sink.format("pcapng");
                self.pcapng()
            }
            _ => Err(SourceError::NotCapture {
                path: self.name.clone(),
                looks_like: describe(head),
            }
            .into()),
        }
    }

    fn stop_at(&mut self, offset: u64, message: String) {
        self.summary.truncated_at = Some(offset);
        self.sink.warning(Some(offset), message);
    }

    fn truncated(&mut self, what: &str, offset: u64, needs: usize) {
        let left = self.input.data().len();
        self.stop_at(
            offset,
            format!("capture truncated at byte {offset}: {what} needs {needs} bytes, {left} left"),
        );
    }

    fn pcap(&mut self) -> Result<(), Failure> {
        let head = self.input.data();
        if head.len() < 24 {
            self.truncated("pcap file header", 0, 24);
            return Ok(());
        }
        let header = match pcap_parser::parse_pcap_header(&head[..24]) {
            Ok((_, h)) => h,
            Err(_) => {
                return Err(SourceError::NotCapture {
                    path: self.name.clone(),
                    looks_like: describe(head),
                }
                .into());
            }
        };
        let link = LinkType::from_linktype(header.network.0 as u32);
        if !link.supported() {
            return Err(SourceError::UnsupportedLinkType {
                path: self.name.clone(),
                link,
            }
            .into());
        }
        if let Some(f) = &mut self.filter {
            f.prepare(link)?;
        }
        self.summary.link_types.push(link);
        let big = header.is_bigendian();
        let modified = header.is_modified_format();
        let nanos = header.is_nanosecond_precision();
        let rec_len = if modified { 24 } else { 16 };
        let max_caplen = header.snaplen.max(MAX_PCAP_CAPLEN);
        self.input.consume(24);
        loop {
            let offset = self.input.pos;
            if !self.input.ensure(rec_len)? {
                if !self.input.data().is_empty() {
                    self.truncated("record header", offset, rec_len);
                }
                return Ok(());
            }
            let d = self.input.data();
            let word = |i: usize| {
                let b = [d[i], d[i + 1], d[i + 2], d[i + 3]];
                if big {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            let caplen = word(8);
            if caplen > max_caplen || caplen as usize > MAX_BLOCK {
                self.stop_at(
                    offset,
                    format!(
                        "capture corrupt at byte {offset}: record claims {caplen} captured bytes, more than the snapshot length {}",
                        max_caplen.min(MAX_BLOCK as u32)
                    ),
                );
                return Ok(());
            }
            let total = rec_len + caplen as usize;
            if !self.input.ensure(total)? {
                self.truncated("record", offset, total);
                return Ok(());
            }
            let slice = &self.input.data()[..total];
            let parsed = if modified {
                pcap_parser::parse_pcap_frame_modified(slice)
            } else if big {
                pcap_parser::parse_pcap_frame_be(slice)
            } else {
                pcap_parser::parse_pcap_frame(slice)
            };
            let Ok((_, rec)) = parsed else {
                self.stop_at(
                    offset,
                    format!("capture corrupt at byte {offset}: unreadable record"),
                );
                return Ok(());
            };
            let frac = if nanos {
                rec.ts_usec as i64
            } else {
                rec.ts_usec as i64 * 1000
            };
            self.summary.packets += 1;
            let p = Packet {
                ts: (rec.ts_sec as i64) * 1_000_000_000 + frac,
                link,
                data: rec.data,
                orig_len: rec.origlen,
                index: self.summary.packets,
                file_offset: Some(offset),
                interface: 0,
            };
            let keep_going = deliver_to(
                &self.filter,
                &mut *self.sink,
                &mut self.summary,
                &mut self.stopped,
                p,
            );
            self.input.consume(total);
            if !keep_going {
                return Ok(());
            }
        }
    }

    fn pcapng(&mut self) -> Result<(), Failure> {
        let mut big = false;
        let mut interfaces: Vec<Interface> = Vec::new();
        // Warn about packets on undeclared interfaces once per section.
        let mut undeclared_warned = false;
        let mut any_usable = false;
        let mut first_unsupported: Option<LinkType> = None;
        loop {
            let offset = self.input.pos;
            if !self.input.ensure(12)? {
                let left = self.input.data().len();
                if left > 0 {
                    self.truncated("block header", offset, 12);
                }
                break;
            }
            let d = self.input.data();
            let le_type = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
            if le_type == PCAPNG_SHB {
                let bom = u32::from_le_bytes([d[8], d[9], d[10], d[11]]);
                if bom == PCAPNG_BOM {
                    big = false;
                } else if bom.swap_bytes() == PCAPNG_BOM {
                    big = true;
                } else {
                    self.stop_at(
                        offset,
                        format!("capture corrupt at byte {offset}: section header with bad byte-order magic {bom:08x}"),
                    );
                    break;
                }
            }
            let rd = |i: usize| {
                let b = [d[i], d[i + 1], d[i + 2], d[i + 3]];
                if big {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            let btype = rd(0);
            let len = rd(4) as usize;
            if len < 12 || !len.is_multiple_of(4) || len > MAX_BLOCK {
                self.stop_at(
                    offset,
                    format!(
                        "capture corrupt at byte {offset}: block of type 0x{btype:08x} claims {len} bytes"
                    ),
                );
                break;
            }
            if !self.input.ensure(len)? {
                self.truncated("block", offset, len);
                break;
            }
            let block_bytes = &self.input.data()[..len];
            let tail = &block_bytes[len - 4..];
            let tail = u32::from_ne_bytes([tail[0], tail[1], tail[2], tail[3]]);
            let tail = if big {
                u32::from_be(tail)
            } else {
                u32::from_le(tail)
            };
            if tail as usize != len {
                self.stop_at(
                    offset,
                    format!(
                        "capture corrupt at byte {offset}: block of type 0x{btype:08x} has length {len} but trailer says {tail}"
                    ),
                );
                break;
            }
            let parsed = if big {
                pcap_parser::parse_block_be(block_bytes)
            } else {
                pcap_parser::parse_block_le(block_bytes)
            };
            let block = match parsed {
                Ok((_, b)) => b,
                Err(_) => {
                    self.sink.warning(
                        Some(offset),
                        format!(
                            "skipped malformed block of type 0x{btype:08x} ({len} bytes) at byte {offset}"
                        ),
                    );
                    self.input.consume(len);
                    continue;
                }
            };
            let mut keep_going = true;
            match block {
                Block::SectionHeader(shb) => {
                    interfaces.clear();
                    undeclared_warned = false;
                    comment_secrets(self.sink, &shb.options, offset);
                }
                Block::InterfaceDescription(idb) => {
                    let link = LinkType::from_linktype(idb.linktype.0 as u32);
                    let id = interfaces.len();
                    let (units, ts_offset) = ts_params(&idb.options, big);
                    let units = match units {
                        Ok(u) => u,
                        Err(raw) => {
                            self.sink.warning(
                                Some(offset),
                                format!("interface {id}: invalid if_tsresol 0x{raw:02x}; assuming microseconds"),
                            );
                            1_000_000
                        }
                    };
                    let mut usable = link.supported();
                    if usable {
                        if let Some(f) = &mut self.filter {
                            f.prepare(link)?;
                        }
                        any_usable = true;
                        if !self.summary.link_types.contains(&link) {
                            self.summary.link_types.push(link);
                        }
                    } else {
                        first_unsupported.get_or_insert(link);
                        self.sink.warning(
                            Some(offset),
                            format!("interface {id} has unsupported link type {link}; its packets are skipped"),
                        );
                        usable = false;
                    }
                    interfaces.push(Interface {
                        link,
                        snaplen: idb.snaplen,
                        units,
                        offset: ts_offset,
                        usable,
                    });
                    comment_secrets(self.sink, &idb.options, offset);
                }
                Block::EnhancedPacket(epb) => {
                    self.summary.packets += 1;
                    let index = self.summary.packets;
                    comment_secrets(self.sink, &epb.options, offset);
                    match usable_interface(
                        &interfaces,
                        epb.if_id,
                        &mut undeclared_warned,
                        &mut *self.sink,
                        offset,
                    ) {
                        None => self.summary.skipped += 1,
                        Some(ifc) => {
                            let caplen = (epb.caplen as usize).min(epb.data.len());
                            let ts = ts_ns(
                                ((epb.ts_high as u64) << 32) | epb.ts_low as u64,
                                ifc.units,
                                ifc.offset,
                            );
                            let p = Packet {
                                ts,
                                link: ifc.link,
                                data: &epb.data[..caplen],
                                orig_len: epb.origlen,
                                index,
                                file_offset: Some(offset),
                                interface: epb.if_id,
                            };
                            keep_going = deliver_to(
                                &self.filter,
                                &mut *self.sink,
                                &mut self.summary,
                                &mut self.stopped,
                                p,
                            );
                        }
                    }
                }
                Block::SimplePacket(spb) => {
                    self.summary.packets += 1;
                    let index = self.summary.packets;
                    match usable_interface(
                        &interfaces,
                        0,
                        &mut undeclared_warned,
                        &mut *self.sink,
                        offset,
                    ) {
                        None => self.summary.skipped += 1,
                        Some(ifc) => {
                            let mut caplen = (spb.origlen as usize).min(spb.data.len());
                            if ifc.snaplen != 0 {
                                caplen = caplen.min(ifc.snaplen as usize);
                            }
                            let p = Packet {
                                ts: 0,
                                link: ifc.link,
                                data: &spb.data[..caplen],
                                orig_len: spb.origlen,
                                index,
                                file_offset: Some(offset),
                                interface: 0,
                            };
                            keep_going = deliver_to(
                                &self.filter,
                                &mut *self.sink,
                                &mut self.summary,
                                &mut self.stopped,
                                p,
                            );
                        }
                    }
                }
                Block::DecryptionSecrets(dsb) => {
                    let n = (dsb.secrets_len as usize).min(dsb.data.len());
                    if dsb.secrets_type.0 == TLS_KEY_LOG {
                        self.sink
                            .secrets(&dsb.data[..n], SecretOrigin::SecretsBlock, offset);
                    } else {
                        self.sink.warning(
                            Some(offset),
                            format!(
                                "ignored decryption secrets block of type {} ({n} bytes)",
                                secrets_type_name(dsb.secrets_type.0)
                            ),
                        );
                    }
                }
                // Name resolution, statistics, journal, process info, custom
                // and unknown blocks carry nothing we use.
                _ => {}
            }
            self.input.consume(len);
            if !keep_going {
                return Ok(());
            }
        }
        if !any_usable
            && self.summary.packets > 0
            && let Some(link) = first_unsupported
        {
            return Err(SourceError::UnsupportedLinkType {
                path: self.name.clone(),
                link,
            }
            .into());
        }
        Ok(())
    }
}

/// The interface a packet block refers to, if its packets can be delivered.
/// Unsupported interfaces were reported at their IDB; an undeclared one is
/// reported here, once per section.
fn usable_interface<'i>(
    interfaces: &'i [Interface],
    id: u32,
    warned: &mut bool,
    sink: &mut dyn PacketSink,
    offset: u64,
) -> Option<&'i Interface> {
    match interfaces.get(id as usize) {
        None => {
            if !*warned {
                *warned = true;
                sink.warning(
                    Some(offset),
                    format!("packet at byte {offset} refers to undeclared interface {id}; such packets are skipped"),
                );
            }
            None
        }
        Some(ifc) => ifc.usable.then_some(ifc),
    }
}

fn deliver_to(
    filter: &Option<Filter>,
    sink: &mut dyn PacketSink,
    summary: &mut InputSummary,
    stopped: &mut bool,
    p: Packet<'_>,
) -> bool {
    if let Some(f) = filter
        && !f.matches(p.link, p.data)
    {
        summary.filtered_out += 1;
        return true;
    }
    sink.packet(&p);
    if sink.should_stop() {
        *stopped = true;
        return false;
    }
    true
}

/// Delivers key-log lines found in a block's `opt_comment` options.
fn comment_secrets(sink: &mut dyn PacketSink, options: &[PcapNGOption<'_>], offset: u64) {
    for opt in options {
        if opt.code.0 == OPT_COMMENT
            && let Ok(text) = opt.as_bytes()
            && let Some(lines) = keylog_comment::extract(text)
        {
            sink.secrets(&lines, SecretOrigin::Comment, offset);
        }
    }
}

/// `if_tsresol` (units per second, or the invalid raw byte) and
/// `if_tsoffset` (seconds) from IDB options. pcap-parser's own helpers
/// reject the power-of-two form and read the offset little-endian only.
fn ts_params(options: &[PcapNGOption<'_>], big: bool) -> (Result<u64, u8>, i64) {
    let mut units = Ok(1_000_000);
    let mut offset = 0i64;
    for opt in options {
        let Ok(v) = opt.as_bytes() else { continue };
        match opt.code.0 {
            IF_TSRESOL if !v.is_empty() => units = tsresol_units(v[0]),
            IF_TSOFFSET if v.len() >= 8 => {
                let b = [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]];
                offset = if big {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                };
            }
            _ => {}
        }
    }
    (units, offset)
}

/// Units per second for an `if_tsresol` byte: 10^n, or 2^n with the top bit.
fn tsresol_units(raw: u8) -> Result<u64, u8> {
    let exp = u32::from(raw & 0x7f);
    if raw & 0x80 == 0 {
        10u64.checked_pow(exp).ok_or(raw)
    } else {
        1u64.checked_shl(exp).filter(|_| exp < 64).ok_or(raw)
    }
}

/// Nanoseconds since the epoch for a pcapng timestamp, saturating.
fn ts_ns(ticks: u64, units: u64, offset_s: i64) -> i64 {
    let units = units.max(1) as i128;
    let ns = (ticks as i128) * 1_000_000_000 / units + (offset_s as i128) * 1_000_000_000;
    ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn secrets_type_name(t: u32) -> String {
    let name = match t {
        0x5353_484b => "SSH",
        0x5747_4b4c => "WireGuard",
        0x5a4e_574b => "ZigBee NWK",
        0x5a41_5053 => "ZigBee APS",
        0x5541_4b4c => "OPC UA",
        _ => "unknown",
    };
    format!("{name} (0x{t:08x})")
}

/// A one-line guess at what a non-capture file is, from its first bytes.
fn describe(head: &[u8]) -> String {
    if head.is_empty() {
        return "the file is empty".into();
    }
    let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let bytes = shown.join(" ");
    let guess = if head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip data; decompress it first")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd data; decompress it first")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz data; decompress it first")
    } else if head.starts_with(b"BZh") {
        Some("bzip2 data; decompress it first")
    } else if head.starts_with(b"PK\x03\x04") {
        Some("a zip archive")
    } else if head.starts_with(b"SQLite format 3\0") {
        Some("an SQLite database")
    } else if head.starts_with(b"snoop\0\0\0") {
        Some("a snoop capture; convert it with editcap -F pcapng")
    } else if head.starts_with(&[0x34, 0xcd, 0xb2, 0xa1])
        || head.starts_with(&[0xa1, 0xb2, 0xcd, 0x34])
    {
        Some(
            "a big-endian modified pcap, which is not supported; convert it with editcap -F pcapng",
        )
    } else if head
        .iter()
        .take(64)
        .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
    {
        Some("text")
    } else {
        None
    };
    match guess {
        Some(g) => format!("starts with {bytes} ({g})"),
        None => format!("starts with {bytes}"),
    }
}

#[cfg(test)]
mod tests;
