//! Streaming decompression with caps: gzip (multi-member), zlib and raw
//! deflate, brotli and zstd, fed in pieces as bodies and messages arrive.
//!
//! A [`Decompressor`] counts what it consumed and produced and stops with a
//! typed [`CodecError`] when its output passes the output cap or the
//! output/input ratio passes the ratio cap (decompression bombs). Output is
//! handed out in bounded chunks through a callback, so memory stays bounded by
//! the decoder's own window, never by the size of the decoded data.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Crc, Decompress, FlushDecompress, Status};
use ruzstd::decoding::FrameDecoder;
use std::fmt;
use std::io::Read;

/// Output chunk size handed to the callback.
const CHUNK: usize = 16 * 1024;
/// Longest gzip header accepted (FNAME/FCOMMENT/FEXTRA are otherwise unbounded).
const MAX_GZIP_HEADER: usize = 4096;
/// Largest zstd window accepted: RFC 9659 limits the `zstd` content coding to 8 MiB.
const MAX_ZSTD_WINDOW: u64 = 8 << 20;
/// Largest zstd block (RFC 8878 §3.1.1.2.3).
const MAX_ZSTD_BLOCK: usize = 128 * 1024;
/// Most codings accepted in one header: each layer multiplies work, and real
/// servers never stack more than two.
pub const MAX_CODINGS: usize = 4;

/// A content coding (RFC 9110 §8.4.1) this module can remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    Gzip,
    /// `deflate`: zlib by the specification, often raw deflate in practice.
    Deflate,
    Brotli,
    Zstd,
    Identity,
}

/// A coding list that cannot be removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodingError {
    #[error("unknown content coding {0:?}")]
    Unknown(String),
    #[error("{0} stacked content codings (at most {MAX_CODINGS} are removed)")]
    TooMany(usize),
}

impl Coding {
    /// One coding token, case-insensitive (`x-gzip` is `gzip`).
    pub fn from_token(token: &str) -> Option<Coding> {
        let t = token.trim();
        let is = |s: &str| t.eq_ignore_ascii_case(s);
        if is("gzip") || is("x-gzip") {
            Some(Coding::Gzip)
        } else if is("deflate") {
            Some(Coding::Deflate)
        } else if is("br") {
            Some(Coding::Brotli)
        } else if is("zstd") {
            Some(Coding::Zstd)
        } else if is("identity") {
            Some(Coding::Identity)
        } else {
            None
        }
    }

    /// A `Content-Encoding` list (or the codings of a `Transfer-Encoding`
    /// without `chunked`), in the order they were applied; decode in reverse.
    /// `identity` and empty items are dropped.
    pub fn from_header(value: &str) -> Result<Vec<Coding>, CodingError> {
        let mut out = Vec::new();
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match Coding::from_token(item) {
                Some(Coding::Identity) => {}
                Some(c) => out.push(c),
                None => return Err(CodingError::Unknown(item.chars().take(32).collect())),
            }
        }
        if out.len() > MAX_CODINGS {
            return Err(CodingError::TooMany(out.len()));
        }
        Ok(out)
    }

    /// The token used in headers and as the layer name in evidence chains.
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
            Coding::Identity => "identity",
        }
    }
}

impl fmt::Display for Coding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bomb protection for one decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Most bytes of output.
    pub max_output: u64,
    /// Most output bytes per consumed input byte, enforced once the output
    /// passes `ratio_grace` (small inputs legitimately expand a lot).
    pub max_ratio: u64,
    pub ratio_grace: u64,
}

impl Caps {
    /// An output cap with the default ratio rule: 256:1 beyond the first MiB.
    /// Real text rarely compresses better than 100:1; a run of zeros reaches 1000:1
    /// with deflate and far more with brotli or zstd.
    pub fn new(max_output: u64) -> Caps {
        Caps {
            max_output,
            max_ratio: 256,
            ratio_grace: 1 << 20,
        }
    }
}

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("{coding} output reached the cap of {limit} bytes")]
    OutputCap { coding: &'static str, limit: u64 },
    #[error("{coding} expanded {produced} bytes from {consumed} (more than {limit}:1)")]
    Ratio {
        coding: &'static str,
        limit: u64,
        consumed: u64,
        produced: u64,
    },
    #[error("{coding} data is corrupt: {detail}")]
    Corrupt {
        coding: &'static str,
        detail: String,
    },
    #[error("{coding} data ends before the end of its stream")]
    Truncated { coding: &'static str },
}

impl CodecError {
    /// Whether decoding was stopped by a cap rather than by bad data.
    pub fn is_cap(&self) -> bool {
        matches!(
            self,
            CodecError::OutputCap { .. } | CodecError::Ratio { .. }
        )
    }
}

/// Counts input and output and enforces the caps.
#[derive(Debug)]
struct Meter {
    caps: Caps,
    coding: &'static str,
    consumed: u64,
    produced: u64,
}

impl Meter {
    fn corrupt(&self, detail: impl Into<String>) -> CodecError {
        CodecError::Corrupt {
            coding: self.coding,
            detail: detail.into(),
        }
    }

    /// Hands `chunk` out, cutting it at the output cap.
    fn emit(&mut self, chunk: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), CodecError> {
        let room = self.caps.max_output.saturating_sub(self.produced);
        if chunk.len() as u64 > room {
            let keep = room as usize;
            if keep > 0 {
                out(&chunk[..keep]);
            }
            self.produced += room;
            return Err(CodecError::OutputCap {
                coding: self.coding,
                limit: self.caps.max_output,
            });
        }
        if !chunk.is_empty() {
            out(chunk);
        }
        self.produced += chunk.len() as u64;
        if self.produced > self.caps.ratio_grace
            && self.produced > self.consumed.saturating_mul(self.caps.max_ratio)
        {
            return Err(CodecError::Ratio {
                coding: self.coding,
                limit: self.caps.max_ratio,
                consumed: self.consumed,
                produced: self.produced,
            });
        }
        Ok(())
    }
}

/// A deflate stream (zlib-wrapped or raw) driven by `flate2::Decompress`.
struct Inflate {
    z: Decompress,
    done: bool,
}

impl Inflate {
    fn new(zlib: bool) -> Inflate {
        Inflate {
            z: Decompress::new(zlib),
            done: false,
        }
    }

    /// Decodes from `input` until it is used up or the stream ends; returns
    /// the bytes consumed.
    fn run(
        &mut self,
        input: &[u8],
        meter: &mut Meter,
        mut crc: Option<&mut Crc>,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, CodecError> {
        let mut buf = [0u8; CHUNK];
        let mut pos = 0;
        while !self.done {
            let (in0, out0) = (self.z.total_in(), self.z.total_out());
            let rest = input.get(pos..).unwrap_or_default();
            let status = self
                .z
                .decompress(rest, &mut buf, FlushDecompress::None)
                .map_err(|e| meter.corrupt(e.to_string()))?;
            let used = (self.z.total_in() - in0) as usize;
            let made = (self.z.total_out() - out0) as usize;
            pos += used;
            meter.consumed += used as u64;
            if made > 0 {
                let chunk = buf.get(..made).unwrap_or_default();
                if let Some(c) = crc.as_deref_mut() {
                    c.update(chunk);
                }
                meter.emit(chunk, out)?;
            }
            if status == Status::StreamEnd {
                self.done = true;
            } else if used == 0 && made == 0 {
                break;
            }
        }
        Ok(pos)
    }
}

/// Gzip (RFC 1952), members concatenated one after another.
enum Gzip {
    Header(Vec<u8>),
    Body(Inflate, Crc),
    Trailer(Vec<u8>, Crc),
    /// Bytes after the last member that do not start another one.
    Trailing,
}

/// Length of a complete gzip member header at the start of `b`, `None` while
/// more bytes are needed.
fn gzip_header_len(b: &[u8]) -> Result<Option<usize>, &'static str> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    for (i, want) in [0x1f, 0x8b, 0x08].into_iter().enumerate() {
        match b.get(i) {
            None => return Ok(None),
            Some(&x) if x != want => return Err("bad gzip magic or method"),
            Some(_) => {}
        }
    }
    let Some(&flags) = b.get(3) else {
        return Ok(None);
    };
    if flags & 0xe0 != 0 {
        return Err("reserved gzip flags set");
    }
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let (Some(&lo), Some(&hi)) = (b.get(pos), b.get(pos + 1)) else {
            return Ok(None);
        };
        pos += 2 + usize::from(u16::from_le_bytes([lo, hi]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            match b.get(pos..).and_then(|r| r.iter().position(|&c| c == 0)) {
                Some(n) => pos += n + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    Ok((b.len() >= pos).then_some(pos))
}

impl Gzip {
    fn run(
        &mut self,
        mut input: &[u8],
        meter: &mut Meter,
        members: &mut u32,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        while !input.is_empty() {
            match self {
                Gzip::Header(buf) => {
                    if buf.is_empty() && *members > 0 && input[0] != 0x1f {
                        // Padding or junk after a complete member: ignored, as gzip(1) does.
                        *self = Gzip::Trailing;
                        continue;
                    }
                    let before = buf.len();
                    let take = input.len().min(MAX_GZIP_HEADER + 1 - before);
                    buf.extend_from_slice(&input[..take]);
                    match gzip_header_len(buf).map_err(|e| meter.corrupt(e))? {
                        Some(n) => {
                            let used = n - before;
                            meter.consumed += used as u64;
                            input = &input[used..];
                            *self = Gzip::Body(Inflate::new(false), Crc::new());
                        }
                        None if buf.len() > MAX_GZIP_HEADER => {
                            return Err(meter.corrupt("gzip header too long"));
                        }
                        None => {
                            meter.consumed += take as u64;
                            input = &input[take..];
                        }
                    }
                }
                Gzip::Body(inflate, crc) => {
                    let used = inflate.run(input, meter, Some(crc), out)?;
                    input = &input[used..];
                    if inflate.done {
                        let crc = std::mem::replace(crc, Crc::new());
                        *self = Gzip::Trailer(Vec::with_capacity(8), crc);
                    } else if used == 0 {
                        break;
                    }
                }
                Gzip::Trailer(buf, crc) => {
                    let take = input.len().min(8 - buf.len());
                    buf.extend_from_slice(&input[..take]);
                    meter.consumed += take as u64;
                    input = &input[take..];
                    if buf.len() == 8 {
                        let want_crc = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
                        let want_len = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
                        if want_crc != crc.sum() || want_len != crc.amount() {
                            return Err(meter.corrupt("gzip member CRC or length mismatch"));
                        }
                        *members += 1;
                        *self = Gzip::Header(Vec::new());
                    }
                }
                Gzip::Trailing => break,
            }
        }
        Ok(())
    }

    fn complete(&self, members: u32) -> bool {
        match self {
            Gzip::Header(b) => b.is_empty(),
            Gzip::Trailing => members > 0,
            _ => false,
        }
    }
}

/// `deflate`: zlib when the first two bytes are a valid zlib header, raw
/// deflate otherwise; a zlib attempt that fails before producing anything is
/// retried as raw deflate over the input kept so far.
struct Deflate {
    /// Input kept while nothing has been produced, for the raw retry.
    head: Vec<u8>,
    /// Whether `head` still holds every byte fed so far.
    kept_all: bool,
    inflate: Option<Inflate>,
    zlib: bool,
}

const DEFLATE_RETRY_BYTES: usize = 4096;

fn is_zlib_header(b0: u8, b1: u8) -> bool {
    b0 & 0x0f == 8 && b0 >> 4 <= 7 && (u16::from(b0) * 256 + u16::from(b1)) % 31 == 0
}

impl Deflate {
    fn new() -> Deflate {
        Deflate {
            head: Vec::new(),
            kept_all: true,
            inflate: None,
            zlib: false,
        }
    }

    fn run(
        &mut self,
        input: &[u8],
        meter: &mut Meter,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        if self.inflate.is_none() {
            self.head.extend_from_slice(input);
            let [b0, b1, ..] = self.head[..] else {
                return Ok(());
            };
            self.zlib = is_zlib_header(b0, b1);
            self.inflate = Some(Inflate::new(self.zlib));
            let head = std::mem::take(&mut self.head);
            let r = self.inflate_some(&head, meter, out);
            if self.zlib && meter.produced == 0 && head.len() <= DEFLATE_RETRY_BYTES {
                self.head = head;
            } else {
                self.kept_all = false;
            }
            return self.retry_if_needed(r, meter, out);
        }
        if self.zlib && meter.produced == 0 && self.kept_all {
            if self.head.len() + input.len() <= DEFLATE_RETRY_BYTES {
                self.head.extend_from_slice(input);
            } else {
                self.kept_all = false;
                self.head = Vec::new();
            }
        }
        let r = self.inflate_some(input, meter, out);
        self.retry_if_needed(r, meter, out)
    }

    fn inflate_some(
        &mut self,
        input: &[u8],
        meter: &mut Meter,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        match &mut self.inflate {
            Some(z) if !z.done => z.run(input, meter, None, out).map(|_| ()),
            _ => Ok(()),
        }
    }

    fn retry_if_needed(
        &mut self,
        r: Result<(), CodecError>,
        meter: &mut Meter,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        match r {
            Err(CodecError::Corrupt { .. })
                if self.zlib && meter.produced == 0 && self.kept_all =>
            {
                let head = std::mem::take(&mut self.head);
                self.zlib = false;
                self.kept_all = false;
                meter.consumed = 0;
                self.inflate = Some(Inflate::new(false));
                self.inflate_some(&head, meter, out)
            }
            other => other,
        }
    }

    fn complete(&self) -> bool {
        match &self.inflate {
            None => self.head.is_empty(),
            Some(z) => z.done,
        }
    }
}

type BrotliDec = BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>;

/// Brotli (RFC 7932), standard windows only (at most 16 MiB).
struct Brotli {
    state: BrotliDec,
    done: bool,
    started: bool,
}

impl Brotli {
    fn new() -> Brotli {
        Brotli {
            // `new` would accept "large window" streams (up to 1 GiB of ring buffer).
            state: BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ),
            done: false,
            started: false,
        }
    }

    fn run(
        &mut self,
        input: &[u8],
        meter: &mut Meter,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        if self.done || input.is_empty() {
            return Ok(());
        }
        self.started = true;
        let mut buf = [0u8; CHUNK];
        let mut avail_in = input.len();
        let mut in_off = 0usize;
        let mut total = 0usize;
        loop {
            let before = in_off;
            let mut avail_out = buf.len();
            let mut out_off = 0usize;
            let r = BrotliDecompressStream(
                &mut avail_in,
                &mut in_off,
                input,
                &mut avail_out,
                &mut out_off,
                &mut buf,
                &mut total,
                &mut self.state,
            );
            meter.consumed += in_off.saturating_sub(before) as u64;
            if out_off > 0 {
                meter.emit(buf.get(..out_off).unwrap_or_default(), out)?;
            }
            match r {
                BrotliResult::ResultSuccess => {
                    self.done = true;
                    return Ok(());
                }
                BrotliResult::NeedsMoreInput => return Ok(()),
                BrotliResult::NeedsMoreOutput => {}
                BrotliResult::ResultFailure => {
                    return Err(meter.corrupt(format!("{:?}", self.state.error_code)));
                }
            }
        }
    }
}

/// Zstandard (RFC 8878): frames parsed block by block so that one call never
/// decodes more than one 128 KiB block (a run of RLE blocks is a bomb).
struct Zstd {
    dec: FrameDecoder,
    pending: Vec<u8>,
    state: ZState,
    frames: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZState {
    FrameStart,
    Blocks { checksum: bool },
    Checksum,
    Skip(u64),
    Trailing,
}

const ZSTD_MAGIC: u32 = 0xFD2F_B528;

/// Frame header length (magic included) from the frame header descriptor.
fn zstd_header_len(descriptor: u8) -> Result<usize, &'static str> {
    if descriptor & 0x08 != 0 {
        return Err("reserved bit set in zstd frame descriptor");
    }
    let single = descriptor & 0x20 != 0;
    let dict = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let fcs = match descriptor >> 6 {
        0 => usize::from(single),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    Ok(4 + 1 + usize::from(!single) + dict + fcs)
}

impl Zstd {
    fn new() -> Zstd {
        let mut dec = FrameDecoder::new();
        dec.set_max_window_size(MAX_ZSTD_WINDOW);
        Zstd {
            dec,
            pending: Vec::new(),
            state: ZState::FrameStart,
            frames: 0,
        }
    }

    fn drain_output(
        &mut self,
        meter: &mut Meter,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        let mut buf = [0u8; CHUNK];
        loop {
            let n = self
                .dec
                .read(&mut buf)
                .map_err(|e| meter.corrupt(e.to_string()))?;
            if n == 0 {
                return Ok(());
            }
            meter.emit(buf.get(..n).unwrap_or_default(), out)?;
        }
    }

    fn run(
        &mut self,
        input: &[u8],
        meter: &mut Meter,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        if self.state == ZState::Trailing {
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        let mut pos = 0;
        let r = self.step_all(&mut pos, meter, out);
        meter.consumed += pos as u64;
        self.pending.drain(..pos.min(self.pending.len()));
        r
    }

    fn step_all(
        &mut self,
        pos: &mut usize,
        meter: &mut Meter,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), CodecError> {
        loop {
            let rest = self.pending.get(*pos..).unwrap_or_default();
            match self.state {
                ZState::Trailing => return Ok(()),
                ZState::Skip(n) => {
                    let k = (rest.len() as u64).min(n);
                    *pos += k as usize;
                    if k < n {
                        self.state = ZState::Skip(n - k);
                        return Ok(());
                    }
                    self.state = ZState::FrameStart;
                }
                ZState::FrameStart => {
                    let Some(m) = rest.get(..4) else {
                        return Ok(());
                    };
                    let magic = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
                    if (0x184D_2A50..=0x184D_2A5F).contains(&magic) {
                        let Some(l) = rest.get(4..8) else {
                            return Ok(());
                        };
                        *pos += 8;
                        self.state =
                            ZState::Skip(u64::from(u32::from_le_bytes([l[0], l[1], l[2], l[3]])));
                        continue;
                    }
                    if magic != ZSTD_MAGIC {
                        if self.frames > 0 {
                            self.state = ZState::Trailing;
                            return Ok(());
                        }
                        return Err(meter.corrupt("bad zstd magic"));
                    }
                    let Some(&d) = rest.get(4) else {
                        return Ok(());
                    };
                    let n = zstd_header_len(d).map_err(|e| meter.corrupt(e))?;
                    let Some(header) = rest.get(..n) else {
                        return Ok(());
                    };
                    self.dec
                        .reset(header)
                        .map_err(|e| meter.corrupt(e.to_string()))?;
                    *pos += n;
                    self.state = ZState::Blocks {
                        checksum: d & 0x04 != 0,
                    };
                }
                ZState::Blocks { checksum } => {
                    let Some(h) = rest.get(..3) else {
                        return Ok(());
                    };
                    let h = u32::from_le_bytes([h[0], h[1], h[2], 0]);
                    let last = h & 1 != 0;
                    let size = (h >> 3) as usize;
                    let content = match (h >> 1) & 3 {
                        0 | 2 => size,
                        1 => 1,
                        _ => return Err(meter.corrupt("reserved zstd block type")),
                    };
                    if size > MAX_ZSTD_BLOCK {
                        return Err(meter.corrupt("zstd block larger than 128 KiB"));
                    }
                    let Some(block) = rest.get(..3 + content) else {
                        return Ok(());
                    };
                    let mut sink = [0u8; 0];
                    let (read, _) = self
                        .dec
                        .decode_from_to(block, &mut sink)
                        .map_err(|e| meter.corrupt(e.to_string()))?;
                    if read != block.len() {
                        return Err(meter.corrupt("zstd block not consumed"));
                    }
                    *pos += block.len();
                    self.drain_output(meter, out)?;
                    if last {
                        self.state = if checksum {
                            ZState::Checksum
                        } else {
                            self.frames += 1;
                            ZState::FrameStart
                        };
                    }
                }
                ZState::Checksum => {
                    let Some(c) = rest.get(..4) else {
                        return Ok(());
                    };
                    let want = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    *pos += 4;
                    self.drain_output(meter, out)?;
                    if self.dec.get_calculated_checksum() != Some(want) {
                        return Err(meter.corrupt("zstd content checksum mismatch"));
                    }
                    self.frames += 1;
                    self.state = ZState::FrameStart;
                }
            }
        }
    }

    fn complete(&self) -> bool {
        match self.state {
            ZState::FrameStart => self.pending.is_empty(),
            ZState::Trailing | ZState::Skip(0) => true,
            _ => false,
        }
    }
}

enum Kind {
    Identity,
    Gzip(Gzip, u32),
    Deflate(Deflate),
    Raw(Inflate),
    Brotli(Box<Brotli>),
    Zstd(Box<Zstd>),
}

/// One streaming decoder with caps. Feed it input in any pieces; decoded
/// bytes come out through the callback in chunks of at most 16 KiB.
///
/// After an error the decoder is stopped: further calls return the same error
/// and produce nothing.
pub struct Decompressor {
    kind: Kind,
    coding: Coding,
    meter: Meter,
    failed: Option<CodecError>,
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("coding", &self.coding)
            .field("consumed", &self.meter.consumed)
            .field("produced", &self.meter.produced)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Decompressor {
    /// A decoder for one coded body.
    pub fn new(coding: Coding, caps: Caps) -> Decompressor {
        let kind = match coding {
            Coding::Identity => Kind::Identity,
            Coding::Gzip => Kind::Gzip(Gzip::Header(Vec::new()), 0),
            Coding::Deflate => Kind::Deflate(Deflate::new()),
            Coding::Brotli => Kind::Brotli(Box::new(Brotli::new())),
            Coding::Zstd => Kind::Zstd(Box::new(Zstd::new())),
        };
        Decompressor {
            kind,
            coding,
            meter: Meter {
                caps,
                coding: coding.as_str(),
                consumed: 0,
                produced: 0,
            },
            failed: None,
        }
    }

    /// Raw deflate (RFC 1951) with no framing and no end: WebSocket
    /// permessage-deflate keeps one of these per direction across messages.
    pub fn raw_deflate(caps: Caps) -> Decompressor {
        let mut d = Decompressor::new(Coding::Deflate, caps);
        d.kind = Kind::Raw(Inflate::new(false));
        d
    }

    pub fn coding(&self) -> Coding {
        self.coding
    }

    /// Compressed bytes consumed so far.
    pub fn total_in(&self) -> u64 {
        self.meter.consumed
    }

    /// Decoded bytes handed out so far.
    pub fn total_out(&self) -> u64 {
        self.meter.produced
    }

    /// Starts a new cap budget (one WebSocket message) while keeping the
    /// decoder's dictionary; a stopped decoder stays stopped.
    pub fn restart_budget(&mut self) {
        self.meter.consumed = 0;
        self.meter.produced = 0;
    }

    /// Decodes the next piece of input.
    pub fn feed(&mut self, input: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), CodecError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let m = &mut self.meter;
        let r = match &mut self.kind {
            Kind::Identity => {
                m.consumed += input.len() as u64;
                m.produced += input.len() as u64;
                if !input.is_empty() {
                    out(input);
                }
                Ok(())
            }
            Kind::Gzip(g, members) => g.run(input, m, members, out),
            Kind::Deflate(d) => d.run(input, m, out),
            Kind::Raw(z) => {
                if z.done {
                    Ok(())
                } else {
                    z.run(input, m, None, out).map(|_| ())
                }
            }
            Kind::Brotli(b) => b.run(input, m, out),
            Kind::Zstd(z) => z.run(input, m, out),
        };
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    /// The input ended: flushes what is left and reports a stream cut short.
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8])) -> Result<(), CodecError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let truncated = Err(CodecError::Truncated {
            coding: self.coding.as_str(),
        });
        let r = match &mut self.kind {
            Kind::Identity | Kind::Raw(_) => Ok(()),
            Kind::Gzip(g, members) => {
                if g.complete(*members) {
                    Ok(())
                } else {
                    truncated
                }
            }
            Kind::Deflate(d) => {
                if d.complete() {
                    Ok(())
                } else {
                    truncated
                }
            }
            Kind::Brotli(b) => {
                if b.done || !b.started {
                    Ok(())
                } else {
                    truncated
                }
            }
            Kind::Zstd(z) => {
                if z.complete() {
                    Ok(())
                } else {
                    // Flush what the window still holds: a cut capture still
                    // shows everything that was decoded.
                    let _ = z.drain_output(&mut self.meter, out);
                    truncated
                }
            }
        };
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }
}

/// Decodes a complete input in one call (tests, small payloads).
pub fn decode_all(coding: Coding, caps: Caps, input: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut d = Decompressor::new(coding, caps);
    let mut out = Vec::new();
    d.feed(input, &mut |c| out.extend_from_slice(c))?;
    d.finish(&mut |c| out.extend_from_slice(c))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"The quick brown fox jumps over the lazy dog. \
        Pack my box with five dozen liquor jugs. How vexingly quick daft zebras jump!";

    fn caps() -> Caps {
        Caps::new(8 << 20)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    /// Feeds `input` cut into pieces of `step` bytes.
    fn pieces(coding: Coding, input: &[u8], step: usize) -> Result<Vec<u8>, CodecError> {
        let mut d = Decompressor::new(coding, caps());
        let mut out = Vec::new();
        for c in input.chunks(step.max(1)) {
            d.feed(c, &mut |x| out.extend_from_slice(x))?;
        }
        d.finish(&mut |x| out.extend_from_slice(x))?;
        Ok(out)
    }

    #[test]
    fn header_lists_parse_in_application_order() {
        assert_eq!(
            Coding::from_header("gzip, br").unwrap(),
            vec![Coding::Gzip, Coding::Brotli]
        );
        assert_eq!(
            Coding::from_header(" X-GZIP ,identity").unwrap(),
            vec![Coding::Gzip]
        );
        assert_eq!(Coding::from_header("").unwrap(), vec![]);
        assert_eq!(
            Coding::from_header("gzip, compress"),
            Err(CodingError::Unknown("compress".into()))
        );
        assert_eq!(
            Coding::from_header("gzip,gzip,gzip,gzip,gzip"),
            Err(CodingError::TooMany(5))
        );
    }

    #[test]
    fn every_coding_decodes_at_every_split() {
        let cases = [
            (Coding::Gzip, gzip(TEXT)),
            (Coding::Deflate, zlib(TEXT)),
            (Coding::Deflate, raw(TEXT)),
            (Coding::Brotli, brotli(TEXT)),
            (Coding::Zstd, zstd(TEXT)),
            (Coding::Identity, TEXT.to_vec()),
        ];
        for (coding, data) in cases {
            for step in 1..=data.len() {
                assert_eq!(
                    pieces(coding, &data, step).unwrap(),
                    TEXT,
                    "{coding} split every {step} bytes"
                );
            }
        }
    }

    #[test]
    fn raw_deflate_that_looks_like_zlib_is_retried_raw() {
        // A stored block whose padding bits make `08 1d` pass the zlib header
        // check (0x081d % 31 == 0), then an empty final fixed block.
        let text = b"twenty-nine bytes of content!";
        let mut data = vec![0x08, 0x1d, 0x00, 0xe2, 0xff];
        data.extend(text);
        data.extend([0x03, 0x00]);
        assert_eq!(pieces(Coding::Deflate, &data, 1).unwrap(), text);
        assert_eq!(pieces(Coding::Deflate, &data, 64).unwrap(), text);
    }

    #[test]
    fn gzip_members_are_concatenated() {
        let mut two = gzip(b"first member, ");
        two.extend(gzip(b"second member"));
        assert_eq!(
            pieces(Coding::Gzip, &two, 5).unwrap(),
            b"first member, second member"
        );
        // Zero padding after the last member is ignored.
        two.extend([0u8; 16]);
        assert_eq!(
            pieces(Coding::Gzip, &two, 7).unwrap(),
            b"first member, second member"
        );
    }

    #[test]
    fn gzip_header_with_name_and_extra_fields() {
        // RFC 1952 header with FEXTRA, FNAME and FCOMMENT, then the deflate data
        // and trailer of a member made by flate2.
        let body = gzip(TEXT);
        let mut m = vec![0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3];
        m.extend([3, 0, b'a', b'b', b'c']);
        m.extend(b"name.txt\0a comment\0");
        m.extend(&body[10..]);
        assert_eq!(pieces(Coding::Gzip, &m, 3).unwrap(), TEXT);
    }

    #[test]
    fn corrupt_and_truncated_streams_are_typed_errors() {
        let g = gzip(TEXT);
        assert!(matches!(
            pieces(Coding::Gzip, &g[..g.len() - 3], 10),
            Err(CodecError::Truncated { coding: "gzip" })
        ));
        let mut bad = g.clone();
        let n = bad.len();
        bad[n - 5] ^= 0xff; // CRC
        assert!(matches!(
            pieces(Coding::Gzip, &bad, 10),
            Err(CodecError::Corrupt { .. })
        ));
        assert!(matches!(
            pieces(Coding::Gzip, b"not gzip at all", 4),
            Err(CodecError::Corrupt { .. })
        ));
        let z = zstd(TEXT);
        assert!(matches!(
            pieces(Coding::Zstd, &z[..z.len() - 2], 9),
            Err(CodecError::Truncated { .. })
        ));
        let b = brotli(TEXT);
        assert!(matches!(
            pieces(Coding::Brotli, &b[..b.len() / 2], 9),
            Err(CodecError::Truncated { .. })
        ));
        assert!(pieces(Coding::Brotli, &[0xff; 40], 7).is_err());
    }

    #[test]
    fn truncation_and_garbage_never_panic() {
        let inputs = [gzip(TEXT), zlib(TEXT), raw(TEXT), brotli(TEXT), zstd(TEXT)];
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            for input in &inputs {
                for cut in 0..input.len() {
                    let _ = pieces(coding, &input[..cut], 3);
                    let mut flipped = input.clone();
                    flipped[cut] ^= 0x5a;
                    let _ = pieces(coding, &flipped, 11);
                }
            }
        }
    }

    fn bomb_stops(coding: Coding, data: &[u8]) {
        let cap = 1 << 20;
        let mut d = Decompressor::new(coding, Caps::new(cap));
        let mut produced = 0u64;
        let mut err = None;
        for c in data.chunks(4096) {
            if let Err(e) = d.feed(c, &mut |x| produced += x.len() as u64) {
                err = Some(e);
                break;
            }
        }
        let err = err.unwrap_or_else(|| panic!("{coding} bomb was not stopped"));
        assert!(err.is_cap(), "{coding}: {err}");
        assert!(produced <= cap, "{coding} produced {produced}");
        // Stopped decoders stay stopped.
        assert!(d.feed(b"more", &mut |_| {}).is_err());
    }

    #[test]
    fn ten_megabytes_of_zeros_stop_at_the_cap() {
        let zeros = vec![0u8; 10 << 20];
        bomb_stops(Coding::Gzip, &gzip(&zeros));
        bomb_stops(Coding::Deflate, &zlib(&zeros));
        bomb_stops(Coding::Brotli, &brotli(&zeros));
        bomb_stops(Coding::Zstd, &zstd(&zeros));
    }

    #[test]
    fn ratio_cap_stops_before_the_output_cap() {
        let zeros = vec![0u8; 4 << 20];
        let data = gzip(&zeros);
        let err = decode_all(Coding::Gzip, Caps::new(64 << 20), &data).unwrap_err();
        assert!(matches!(err, CodecError::Ratio { .. }), "{err}");
    }

    #[test]
    fn zstd_window_larger_than_8_mib_is_refused() {
        // Frame header: magic, descriptor 0x00 (window descriptor follows),
        // window descriptor 0xA8 = 2^(10+21) bytes.
        let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x01, 0x00, 0x00];
        assert!(matches!(
            decode_all(Coding::Zstd, caps(), &frame),
            Err(CodecError::Corrupt { .. })
        ));
    }

    #[test]
    fn zstd_skippable_frames_and_concatenated_frames() {
        let mut data = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        data.extend(zstd(b"one "));
        data.extend(zstd(b"two"));
        assert_eq!(pieces(Coding::Zstd, &data, 2).unwrap(), b"one two");
    }

    #[test]
    fn raw_deflate_keeps_its_window_across_messages() {
        // permessage-deflate: one compressor, each message flushed with a sync
        // flush whose 00 00 ff ff tail the sender strips and the receiver re-adds.
        let mut c = flate2::Compress::new(flate2::Compression::default(), false);
        let mut msgs = Vec::new();
        for text in [&b"Hello, hello, hello!"[..], b"Hello, hello, hello again!"] {
            let mut buf = vec![0u8; 256];
            let before = c.total_out();
            c.compress(text, &mut buf, flate2::FlushCompress::Sync)
                .unwrap();
            buf.truncate((c.total_out() - before) as usize);
            assert!(buf.ends_with(&[0, 0, 0xff, 0xff]));
            buf.truncate(buf.len() - 4);
            msgs.push(buf);
        }
        let mut d = Decompressor::raw_deflate(caps());
        let mut got = Vec::new();
        for m in &msgs {
            let mut out = Vec::new();
            d.restart_budget();
            d.feed(m, &mut |x| out.extend_from_slice(x)).unwrap();
            d.feed(&[0, 0, 0xff, 0xff], &mut |x| out.extend_from_slice(x))
                .unwrap();
            got.push(out);
        }
        assert_eq!(got[0], b"Hello, hello, hello!");
        assert_eq!(got[1], b"Hello, hello, hello again!");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn encode(coding: Coding, data: &[u8]) -> Vec<u8> {
        match coding {
            Coding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Coding::Deflate => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Coding::Brotli => {
                let mut out = Vec::new();
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 20);
                    w.write_all(data).unwrap();
                }
                out
            }
            Coding::Zstd => {
                ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
            }
            Coding::Identity => data.to_vec(),
        }
    }

    fn coding() -> impl Strategy<Value = Coding> {
        prop_oneof![
            Just(Coding::Gzip),
            Just(Coding::Deflate),
            Just(Coding::Brotli),
            Just(Coding::Zstd),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip_at_any_split(c in coding(), data in proptest::collection::vec(any::<u8>(), 0..3000), step in 1usize..700) {
            let enc = encode(c, &data);
            let mut d = Decompressor::new(c, Caps::new(1 << 20));
            let mut out = Vec::new();
            for piece in enc.chunks(step) {
                d.feed(piece, &mut |x| out.extend_from_slice(x)).unwrap();
            }
            d.finish(&mut |x| out.extend_from_slice(x)).unwrap();
            prop_assert_eq!(out, data);
        }

        #[test]
        fn arbitrary_bytes_never_panic_or_overflow(c in coding(), data in proptest::collection::vec(any::<u8>(), 0..2000), step in 1usize..300) {
            let cap = 64 * 1024;
            let mut d = Decompressor::new(c, Caps::new(cap));
            let mut n = 0u64;
            for piece in data.chunks(step) {
                if d.feed(piece, &mut |x| n += x.len() as u64).is_err() {
                    break;
                }
            }
            let _ = d.finish(&mut |x| n += x.len() as u64);
            prop_assert!(n <= cap);
        }
    }
}
