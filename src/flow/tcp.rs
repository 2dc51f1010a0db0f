//! Reassembly of one direction of a TCP connection.
//!
//! A [`TcpHalf`] turns the segments one side sent into an ordered byte stream of
//! [`Delivery`] events: `Data` for bytes and `Gap` for bytes that existed on the wire
//! but never reached the capture. Deliveries are contiguous: each one starts where the
//! previous one ended, so a consumer can keep its own offset.
//!
//! Stream offsets are 64-bit: offset 0 is the first byte after the SYN, or, when the
//! capture started mid-connection, the first byte of the first segment carrying data or
//! a FIN (pure ACKs do not anchor: a keep-alive sits one below the next byte). A sequence
//! number is placed relative to the next expected byte with signed 32-bit arithmetic,
//! so wraparound past `u32::MAX` needs no special case; a segment more than 2 GiB away
//! from the next expected byte is misplaced (real windows are at most 1 GiB). In a
//! mid-stream pickup, bytes that arrive later but precede the first segment seen cannot
//! be placed and are dropped with [`TcpAnomaly::BeforeStart`].
//!
//! Overlaps: the first data seen for an offset wins. A later segment carrying different
//! bytes for the same offset is reported as [`TcpAnomaly::ConflictingOverlap`]. Against
//! out-of-order data the comparison is exact; against data already delivered it uses a
//! ring of the last [`TcpLimits::recent_window`] delivered bytes (512 by default,
//! allocated on the first delivery and charged to the [`MemBudget`], whose window share
//! is a quarter of its cap). Older bytes, bytes behind a gap, and halves that got no
//! window cannot be compared: overlaps there are reported as plain retransmissions.
//!
//! Memory: out-of-order data is copied into a buffer bounded per direction
//! ([`TcpLimits`]) and globally ([`MemBudget`]). When either cap would be exceeded, the
//! earliest hole is given up: a `Gap` is delivered for it, then whatever became
//! contiguous, and [`TcpAnomaly::BufferCapHit`] is reported. In-order data is delivered
//! straight from the caller's payload without copying or allocating.
//!
//! A half never frees its budget share on drop: call [`TcpHalf::flush`] when the flow
//! ends (it is the caller's job to end every flow, including evicted ones).

use std::collections::BTreeMap;
use std::fmt;

/// Bytes charged to the budget for each buffered chunk on top of its data (map node
/// and allocation headers), so many tiny segments cannot hide behind a byte cap.
pub const CHUNK_OVERHEAD: usize = 64;

/// Per-direction caps of the reassembly buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpLimits {
    /// Out-of-order bytes held per direction.
    pub max_buffer_per_dir: usize,
    /// Out-of-order segments (chunks) held per direction.
    pub max_segments_per_dir: usize,
    /// Bytes of recently delivered data kept to check retransmissions for conflicting
    /// content; 0 disables the check.
    pub recent_window: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_buffer_per_dir: 1 << 20,
            max_segments_per_dir: 4096,
            recent_window: 512,
        }
    }
}

/// The TCP flags reassembly cares about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
}

impl Flags {
    pub const NONE: Flags = Flags {
        syn: false,
        fin: false,
        rst: false,
    };
    pub const SYN: Flags = Flags {
        syn: true,
        fin: false,
        rst: false,
    };
    pub const FIN: Flags = Flags {
        syn: false,
        fin: true,
        rst: false,
    };
    pub const RST: Flags = Flags {
        syn: false,
        fin: false,
        rst: true,
    };

    /// From the flags byte of the TCP header (byte 13: CWR ECE URG ACK PSH RST SYN FIN).
    pub fn from_byte(b: u8) -> Flags {
        Flags {
            fin: b & 0x01 != 0,
            syn: b & 0x02 != 0,
            rst: b & 0x04 != 0,
        }
    }
}

/// One step of the reassembled stream.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// Bytes starting at stream `offset`.
    Data { offset: u64, bytes: &'a [u8] },
    /// `len` bytes at `offset` that were sent but not captured.
    Gap { offset: u64, len: u64 },
}

impl Delivery<'_> {
    pub fn offset(&self) -> u64 {
        match *self {
            Delivery::Data { offset, .. } | Delivery::Gap { offset, .. } => offset,
        }
    }

    pub fn len(&self) -> u64 {
        match *self {
            Delivery::Data { bytes, .. } => bytes.len() as u64,
            Delivery::Gap { len, .. } => len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Shows offsets and lengths only: payload bytes are content and stay out of logs.
impl fmt::Debug for Delivery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Delivery::Data { offset, bytes } => f
                .debug_struct("Data")
                .field("offset", &offset)
                .field("len", &bytes.len())
                .finish(),
            Delivery::Gap { offset, len } => f
                .debug_struct("Gap")
                .field("offset", &offset)
                .field("len", &len)
                .finish(),
        }
    }
}

/// Something unusual about a direction's segments. Offsets are stream offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpAnomaly {
    /// A segment carried different bytes for offsets already seen; the first data was
    /// kept. The range spans the first to the last differing byte.
    ConflictingOverlap { offset: u64, len: u64 },
    /// A segment repeated bytes already seen (identical, or too old to compare).
    Retransmission { offset: u64, len: u64 },
    /// A cap was hit and a hole of `dropped` bytes was given up (delivered as a gap).
    BufferCapHit { dropped: u64 },
    /// Bytes beyond the FIN were dropped.
    DataAfterFin,
    /// Bytes after this direction's RST were dropped.
    DataAfterRst,
    /// Bytes before stream offset 0 (before the SYN, or before the first segment seen
    /// in a mid-stream pickup) were dropped.
    BeforeStart { len: u64 },
}

impl TcpAnomaly {
    /// Stable name for reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            TcpAnomaly::ConflictingOverlap { .. } => "tcp-conflicting-overlap",
            TcpAnomaly::Retransmission { .. } => "tcp-retransmission",
            TcpAnomaly::BufferCapHit { .. } => "tcp-buffer-cap-hit",
            TcpAnomaly::DataAfterFin => "tcp-data-after-fin",
            TcpAnomaly::DataAfterRst => "tcp-data-after-rst",
            TcpAnomaly::BeforeStart { .. } => "tcp-data-before-start",
        }
    }
}

/// Reassembly memory shared by every flow of a run.
#[derive(Debug, Clone)]
pub struct MemBudget {
    cap: usize,
    used: usize,
    window_used: usize,
    peak: usize,
}

impl MemBudget {
    pub const DEFAULT_CAP: usize = 64 << 20;

    pub fn new(cap: usize) -> Self {
        MemBudget {
            cap,
            used: 0,
            window_used: 0,
            peak: 0,
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Bytes charged now (buffered data, per-chunk overhead and recent windows).
    pub fn used(&self) -> usize {
        self.used
    }

    /// Highest `used` seen.
    pub fn peak(&self) -> usize {
        self.peak
    }

    fn fits(&self, n: usize) -> bool {
        n <= self.cap.saturating_sub(self.used)
    }

    fn take(&mut self, n: usize) {
        self.used += n;
        self.peak = self.peak.max(self.used);
    }

    fn release(&mut self, n: usize) {
        self.used = self.used.saturating_sub(n);
    }

    /// Recent windows may use a quarter of the cap, so they never starve out-of-order
    /// buffering.
    fn take_window(&mut self, n: usize) -> bool {
        if self.window_used + n <= self.cap / 4 && self.fits(n) {
            self.window_used += n;
            self.take(n);
            true
        } else {
            false
        }
    }

    fn release_window(&mut self, n: usize) {
        self.window_used = self.window_used.saturating_sub(n);
        self.release(n);
    }
}

impl Default for MemBudget {
    fn default() -> Self {
        MemBudget::new(Self::DEFAULT_CAP)
    }
}

/// A buffered piece of the stream.
enum Chunk {
    Data(Box<[u8]>),
    /// Bytes the capture cut off (snaplen): delivered as a gap when reached.
    Lost(u64),
}

impl Chunk {
    fn len(&self) -> u64 {
        match self {
            Chunk::Data(d) => d.len() as u64,
            Chunk::Lost(n) => *n,
        }
    }

    fn charge(&self) -> usize {
        match self {
            Chunk::Data(d) => d.len() + CHUNK_OVERHEAD,
            Chunk::Lost(_) => CHUNK_OVERHEAD,
        }
    }
}

/// Where a half reports to, bundled to keep signatures short.
struct Io<'a, 'o> {
    budget: &'a mut MemBudget,
    out: &'a mut (dyn FnMut(Delivery<'_>) + 'o),
    anomaly: &'a mut (dyn FnMut(TcpAnomaly) + 'o),
}

/// How a segment relates to the out-of-order buffer.
struct Scan {
    /// Ranges of the segment no buffered chunk covers.
    holes: Vec<(u64, u64)>,
    /// First and last differing offsets against buffered data.
    conflict: Option<(u64, u64)>,
    /// First overlapping offset and total overlapping bytes.
    overlap: Option<(u64, u64)>,
}

/// State of one direction of a TCP connection.
pub struct TcpHalf {
    max_buffer: usize,
    max_segments: usize,
    window_size: usize,
    started: bool,
    /// Sequence number of the byte at `next_off`.
    next_seq: u32,
    /// Stream offset of the next byte to deliver.
    next_off: u64,
    buf: BTreeMap<u64, Chunk>,
    buf_bytes: usize,
    charged: usize,
    /// Ring of the last delivered bytes, indexed by offset modulo its size.
    window: Option<Box<[u8]>>,
    /// Lowest offset whose byte the window holds (raised by gaps).
    window_lo: u64,
    fin_off: Option<u64>,
    rst: bool,
    delivered: u64,
    gap_count: u64,
    gap_bytes: u64,
}

/// Offsets and counters only: window bytes are content.
impl fmt::Debug for TcpHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpHalf")
            .field("started", &self.started)
            .field("next_seq", &self.next_seq)
            .field("next_off", &self.next_off)
            .field("buffered", &self.buf_bytes)
            .field("chunks", &self.buf.len())
            .field("fin_off", &self.fin_off)
            .field("rst", &self.rst)
            .field("delivered", &self.delivered)
            .field("gaps", &(self.gap_count, self.gap_bytes))
            .finish()
    }
}

impl TcpHalf {
    pub fn new(limits: &TcpLimits) -> Self {
        TcpHalf {
            max_buffer: limits.max_buffer_per_dir,
            max_segments: limits.max_segments_per_dir,
            window_size: limits.recent_window,
            started: false,
            next_seq: 0,
            next_off: 0,
            buf: BTreeMap::new(),
            buf_bytes: 0,
            charged: 0,
            window: None,
            window_lo: 0,
            fin_off: None,
            rst: false,
            delivered: 0,
            gap_count: 0,
            gap_bytes: 0,
        }
    }

    /// A segment sent in this direction.
    ///
    /// In-order data is delivered at once, borrowing `payload`; out-of-order data is
    /// buffered (copied) within the caps; whatever becomes contiguous is delivered in
    /// order. `wire_len` is the TCP payload length on the wire (from the IP header);
    /// when it exceeds `payload.len()` the capture cut the segment, and the missing tail
    /// is delivered as a gap. A 1-byte (or empty) segment just below the next expected
    /// byte is a keep-alive probe and is ignored.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        seq: u32,
        flags: Flags,
        payload: &[u8],
        wire_len: u32,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(Delivery<'_>),
        anomaly: &mut dyn FnMut(TcpAnomaly),
    ) {
        let mut io = Io {
            budget,
            out,
            anomaly,
        };
        if self.rst {
            if !payload.is_empty() {
                (io.anomaly)(TcpAnomaly::DataAfterRst);
            }
            return;
        }
        if flags.rst {
            // RST payload is diagnostic text (RFC 1122 4.2.2.12), not stream data.
            self.rst = true;
            return;
        }
        let data_seq = if flags.syn { seq.wrapping_add(1) } else { seq };
        let captured = payload.len() as u64;
        let on_wire = captured.max(u64::from(wire_len));
        if !self.started {
            if !flags.syn && !flags.fin && on_wire == 0 {
                // A pure ACK does not anchor the stream: a keep-alive's sequence
                // number is one below the next byte.
                return;
            }
            self.started = true;
            self.next_seq = data_seq;
        }
        let start = self.offset_of(data_seq);
        if flags.fin && self.fin_off.is_none() {
            let fin = start + on_wire as i64;
            if fin >= 0 {
                self.fin_off = Some(fin as u64);
            }
        }
        if on_wire == 0 {
            return;
        }
        if on_wire == 1 && !flags.syn && !flags.fin && start == self.next_off as i64 - 1 {
            return;
        }
        let mut bytes = payload;
        let mut lost = on_wire - captured;
        if let Some(fin) = self.fin_off
            && start + on_wire as i64 > fin as i64
        {
            (io.anomaly)(TcpAnomaly::DataAfterFin);
            let keep = (fin as i64 - start).max(0) as u64;
            if keep == 0 {
                return;
            }
            if keep <= captured {
                bytes = &bytes[..keep as usize];
                lost = 0;
            } else {
                lost = keep - captured;
            }
        }
        self.place(&mut io, start, bytes, lost);
    }

    /// The other side acknowledged up to `ack`: bytes below it that were never seen
    /// were lost from the capture, so buffered data and gaps are delivered up to there.
    /// An ACK of the FIN does not count as a missing byte. Ignored until this half has
    /// seen a SYN, a FIN or data. Call it with the acknowledgment number of every segment of the
    /// other direction that has the ACK flag. A capture that records an ACK before the
    /// data it acknowledges turns that data into a gap (the late copy is then reported
    /// as a retransmission): acknowledged bytes are never waited for.
    pub fn acked(
        &mut self,
        ack: u32,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(Delivery<'_>),
        anomaly: &mut dyn FnMut(TcpAnomaly),
    ) {
        if !self.started || self.rst {
            return;
        }
        let rel = ack.wrapping_sub(self.next_seq) as i32;
        if rel <= 0 {
            return;
        }
        let mut target = self.next_off + rel as u64;
        if let Some(fin) = self.fin_off {
            target = target.min(fin.max(self.next_off));
        }
        let mut io = Io {
            budget,
            out,
            anomaly,
        };
        self.advance_to(&mut io, target);
    }

    /// End of the flow: delivers everything buffered, with gaps for holes (and up to the
    /// FIN when it was seen), and frees this half's memory.
    pub fn flush(
        &mut self,
        budget: &mut MemBudget,
        out: &mut dyn FnMut(Delivery<'_>),
        anomaly: &mut dyn FnMut(TcpAnomaly),
    ) {
        let mut io = Io {
            budget,
            out,
            anomaly,
        };
        let buffered_end = self.buf.last_key_value().map_or(0, |(k, c)| k + c.len());
        let end = buffered_end
            .max(self.fin_off.unwrap_or(0))
            .max(self.next_off);
        self.advance_to(&mut io, end);
        if self.window.take().is_some() {
            io.budget.release_window(self.window_size);
        }
        debug_assert!(self.buf.is_empty() && self.charged == 0);
    }

    /// Out-of-order bytes held.
    pub fn buffered(&self) -> usize {
        self.buf_bytes
    }

    /// Data bytes delivered (gaps excluded).
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Stream offset of the next byte to deliver (data plus gap bytes so far).
    pub fn next_offset(&self) -> u64 {
        self.next_off
    }

    pub fn fin_seen(&self) -> bool {
        self.fin_off.is_some()
    }

    /// FIN seen and everything before it delivered: this direction is complete.
    pub fn finished(&self) -> bool {
        self.fin_off.is_some_and(|f| self.next_off >= f)
    }

    pub fn rst_seen(&self) -> bool {
        self.rst
    }

    /// Gap events delivered and the bytes they covered.
    pub fn gaps(&self) -> (u64, u64) {
        (self.gap_count, self.gap_bytes)
    }

    fn offset_of(&self, seq: u32) -> i64 {
        self.next_off as i64 + i64::from(seq.wrapping_sub(self.next_seq) as i32)
    }

    /// Places `bytes` then `lost` missing bytes at stream offset `start`.
    fn place(&mut self, io: &mut Io<'_, '_>, start: i64, bytes: &[u8], lost: u64) {
        let (mut bytes, mut lost) = (bytes, lost);
        if start < 0 {
            let cut = start.unsigned_abs();
            let total = bytes.len() as u64 + lost;
            (io.anomaly)(TcpAnomaly::BeforeStart {
                len: cut.min(total),
            });
            if cut >= total {
                return;
            }
            (bytes, lost) = trim_front(bytes, lost, cut);
        }
        let mut s = start.max(0) as u64;
        loop {
            if s < self.next_off {
                let total = bytes.len() as u64 + lost;
                let dup = (self.next_off - s).min(total);
                let dup_data = (dup as usize).min(bytes.len());
                self.report_delivered_overlap(io, s, &bytes[..dup_data], dup);
                if dup == total {
                    return;
                }
                (bytes, lost) = trim_front(bytes, lost, dup);
                s = self.next_off;
            }
            if s == self.next_off {
                self.deliver_from(io, s, bytes, lost);
                self.drain_contiguous(io);
                return;
            }
            let scan = self.scan(s, bytes, lost);
            let data_end = s + bytes.len() as u64;
            let (need_bytes, need_chunks) = scan.holes.iter().fold((0, 0), |(b, c), &(a, e)| {
                let (d, l) = split_hole(a, e, data_end);
                let db = d.map_or(0, |(a, e)| (e - a) as usize);
                (
                    b + db,
                    c + usize::from(d.is_some()) + usize::from(l.is_some()),
                )
            });
            let fits = need_chunks == 0
                || (self.buf_bytes + need_bytes <= self.max_buffer
                    && self.buf.len() + need_chunks <= self.max_segments
                    && io.budget.fits(need_bytes + need_chunks * CHUNK_OVERHEAD));
            if fits {
                self.report_scan(io, &scan);
                for &(a, e) in &scan.holes {
                    let (d, l) = split_hole(a, e, data_end);
                    if let Some((a, e)) = d {
                        let slice = &bytes[(a - s) as usize..(e - s) as usize];
                        self.insert(io, a, Chunk::Data(slice.into()));
                    }
                    if let Some((a, e)) = l {
                        self.insert(io, a, Chunk::Lost(e - a));
                    }
                }
                return;
            }
            // A cap would be exceeded: give up the earliest hole and retry.
            let target = self.buf.first_key_value().map_or(s, |(k, _)| (*k).min(s));
            (io.anomaly)(TcpAnomaly::BufferCapHit {
                dropped: target - self.next_off,
            });
            self.emit_gap(io, target - self.next_off);
            self.drain_contiguous(io);
        }
    }

    fn insert(&mut self, io: &mut Io<'_, '_>, at: u64, chunk: Chunk) {
        let charge = chunk.charge();
        io.budget.take(charge);
        self.charged += charge;
        if let Chunk::Data(d) = &chunk {
            self.buf_bytes += d.len();
        }
        self.buf.insert(at, chunk);
    }

    /// Compares an out-of-order segment with the buffer and finds what it adds.
    fn scan(&self, s: u64, bytes: &[u8], lost: u64) -> Scan {
        let data_end = s + bytes.len() as u64;
        let e = data_end + lost;
        let before = self
            .buf
            .range(..s)
            .next_back()
            .filter(|(k, c)| **k + c.len() > s);
        let mut scan = Scan {
            holes: Vec::new(),
            conflict: None,
            overlap: None,
        };
        let mut cursor = s;
        for (&k, chunk) in before.into_iter().chain(self.buf.range(s..e)) {
            let k_end = k + chunk.len();
            if k > cursor {
                scan.holes.push((cursor, k));
            }
            let (a, b) = (k.max(s), k_end.min(e));
            scan.overlap = Some(match scan.overlap {
                Some((first, total)) => (first, total + (b - a)),
                None => (a, b - a),
            });
            if let Chunk::Data(d) = chunk {
                let b = b.min(data_end);
                if a < b {
                    let ours = &bytes[(a - s) as usize..(b - s) as usize];
                    let theirs = &d[(a - k) as usize..(b - k) as usize];
                    scan.conflict = merge(scan.conflict, diff_range(a, ours, theirs));
                }
            }
            cursor = cursor.max(k_end);
        }
        if cursor < e {
            scan.holes.push((cursor, e));
        }
        scan
    }

    fn report_scan(&self, io: &mut Io<'_, '_>, scan: &Scan) {
        if let Some((a, b)) = scan.conflict {
            (io.anomaly)(TcpAnomaly::ConflictingOverlap {
                offset: a,
                len: b - a + 1,
            });
        } else if let Some((offset, len)) = scan.overlap {
            (io.anomaly)(TcpAnomaly::Retransmission { offset, len });
        }
    }

    /// A segment repeats offsets below `next_off`: compare with the recent window.
    fn report_delivered_overlap(&self, io: &mut Io<'_, '_>, s: u64, data: &[u8], total: u64) {
        let conflict = self.window.as_deref().and_then(|w| {
            let size = w.len() as u64;
            let lo = self
                .window_lo
                .max(self.next_off.saturating_sub(size))
                .max(s);
            let end = s + data.len() as u64;
            let mut found = None;
            for o in lo..end {
                if w[(o % size) as usize] != data[(o - s) as usize] {
                    found = merge(found, Some((o, o)));
                }
            }
            found
        });
        match conflict {
            Some((a, b)) => (io.anomaly)(TcpAnomaly::ConflictingOverlap {
                offset: a,
                len: b - a + 1,
            }),
            None => (io.anomaly)(TcpAnomaly::Retransmission {
                offset: s,
                len: total,
            }),
        }
    }

    /// Delivers a segment starting exactly at `next_off`; buffered chunks inside its
    /// range were seen first and win.
    fn deliver_from(&mut self, io: &mut Io<'_, '_>, s: u64, bytes: &[u8], lost: u64) {
        let data_end = s + bytes.len() as u64;
        let e = data_end + lost;
        let mut conflict = None;
        let mut overlap: Option<(u64, u64)> = None;
        while self.next_off < e {
            let pos = self.next_off;
            let next = self.buf.first_key_value().map(|(k, _)| *k);
            if next == Some(pos) {
                let Some((k, chunk)) = self.buf.pop_first() else {
                    break;
                };
                let b = (k + chunk.len()).min(e);
                overlap = Some(match overlap {
                    Some((first, total)) => (first, total + (b - k)),
                    None => (k, b - k),
                });
                if let Chunk::Data(d) = &chunk {
                    let b = b.min(data_end);
                    if k < b {
                        let ours = &bytes[(k - s) as usize..(b - s) as usize];
                        conflict = merge(conflict, diff_range(k, ours, &d[..(b - k) as usize]));
                    }
                }
                self.emit_chunk(io, chunk);
                continue;
            }
            let piece_end = next.map_or(e, |k| k.min(e));
            if pos < data_end {
                let d_end = piece_end.min(data_end);
                self.emit_data(io, &bytes[(pos - s) as usize..(d_end - s) as usize]);
            }
            if self.next_off < piece_end {
                self.emit_gap(io, piece_end - self.next_off);
            }
        }
        self.report_scan(
            io,
            &Scan {
                holes: Vec::new(),
                conflict,
                overlap,
            },
        );
    }

    fn drain_contiguous(&mut self, io: &mut Io<'_, '_>) {
        while self.buf.first_key_value().map(|(k, _)| *k) == Some(self.next_off) {
            if let Some((_, chunk)) = self.buf.pop_first() {
                self.emit_chunk(io, chunk);
            }
        }
    }

    /// Delivers everything below `target`, with gaps for holes, then what is contiguous.
    fn advance_to(&mut self, io: &mut Io<'_, '_>, target: u64) {
        while self.next_off < target {
            match self.buf.first_key_value().map(|(k, _)| *k) {
                Some(k) if k == self.next_off => {
                    if let Some((_, chunk)) = self.buf.pop_first() {
                        self.emit_chunk(io, chunk);
                    }
                }
                Some(k) if k < target => self.emit_gap(io, k - self.next_off),
                _ => self.emit_gap(io, target - self.next_off),
            }
        }
        self.drain_contiguous(io);
    }

    fn emit_chunk(&mut self, io: &mut Io<'_, '_>, chunk: Chunk) {
        let charge = chunk.charge();
        io.budget.release(charge);
        self.charged -= charge;
        match chunk {
            Chunk::Data(d) => {
                self.buf_bytes -= d.len();
                self.emit_data(io, &d);
            }
            Chunk::Lost(n) => self.emit_gap(io, n),
        }
    }

    fn emit_data(&mut self, io: &mut Io<'_, '_>, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let offset = self.next_off;
        (io.out)(Delivery::Data { offset, bytes });
        self.remember(io.budget, offset, bytes);
        let n = bytes.len() as u64;
        self.delivered += n;
        self.advance(n);
    }

    fn emit_gap(&mut self, io: &mut Io<'_, '_>, len: u64) {
        if len == 0 {
            return;
        }
        (io.out)(Delivery::Gap {
            offset: self.next_off,
            len,
        });
        self.gap_count += 1;
        self.gap_bytes += len;
        self.advance(len);
        self.window_lo = self.next_off;
    }

    fn advance(&mut self, n: u64) {
        self.next_off += n;
        // Truncation is the modulo-2^32 arithmetic sequence numbers use.
        self.next_seq = self.next_seq.wrapping_add(n as u32);
    }

    /// Copies the tail of delivered bytes into the recent window.
    fn remember(&mut self, budget: &mut MemBudget, offset: u64, bytes: &[u8]) {
        if self.window_size == 0 {
            return;
        }
        if self.window.is_none() {
            if !budget.take_window(self.window_size) {
                return;
            }
            self.window = Some(vec![0; self.window_size].into_boxed_slice());
            self.window_lo = offset;
        }
        let Some(w) = self.window.as_deref_mut() else {
            return;
        };
        let size = w.len();
        let n = bytes.len().min(size);
        let tail = &bytes[bytes.len() - n..];
        let pos = ((offset + (bytes.len() - n) as u64) % size as u64) as usize;
        let first = (size - pos).min(n);
        w[pos..pos + first].copy_from_slice(&tail[..first]);
        w[..n - first].copy_from_slice(&tail[first..]);
    }
}

/// Drops the first `n` bytes of a run of captured then lost bytes.
fn trim_front(bytes: &[u8], lost: u64, n: u64) -> (&[u8], u64) {
    if n <= bytes.len() as u64 {
        (&bytes[n as usize..], lost)
    } else {
        (&[], lost - (n - bytes.len() as u64))
    }
}

/// A half-open range of stream offsets.
type Range = (u64, u64);

/// Splits a hole into its captured part (below `data_end`) and its lost part.
fn split_hole(a: u64, e: u64, data_end: u64) -> (Option<Range>, Option<Range>) {
    let mid = data_end.clamp(a, e);
    let d = (a < mid).then_some((a, mid));
    let l = (mid < e).then_some((mid, e));
    (d, l)
}

/// First and last offsets where two equally long slices at `at` differ.
fn diff_range(at: u64, a: &[u8], b: &[u8]) -> Option<(u64, u64)> {
    let first = a.iter().zip(b).position(|(x, y)| x != y)?;
    let last = a.iter().zip(b).rposition(|(x, y)| x != y)?;
    Some((at + first as u64, at + last as u64))
}

fn merge(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> Option<(u64, u64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (x, None) | (None, x) => x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An owned copy of a delivery, for assertions.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Data(u64, Vec<u8>),
        Gap(u64, u64),
    }

    /// One direction under test with its budget and everything it reported.
    struct Rig {
        half: TcpHalf,
        budget: MemBudget,
        events: Vec<Ev>,
        anomalies: Vec<TcpAnomaly>,
    }

    impl Rig {
        fn new() -> Rig {
            Rig::with(TcpLimits::default(), MemBudget::default())
        }

        fn with(limits: TcpLimits, budget: MemBudget) -> Rig {
            Rig {
                half: TcpHalf::new(&limits),
                budget,
                events: Vec::new(),
                anomalies: Vec::new(),
            }
        }

        fn seg_full(&mut self, seq: u32, flags: Flags, payload: &[u8], wire_len: u32) {
            let (events, anomalies) = (&mut self.events, &mut self.anomalies);
            self.half.segment(
                seq,
                flags,
                payload,
                wire_len,
                &mut self.budget,
                &mut |d| events.push(own(d)),
                &mut |a| anomalies.push(a),
            );
        }

        fn seg(&mut self, seq: u32, payload: &[u8]) {
            self.seg_full(seq, Flags::NONE, payload, payload.len() as u32);
        }

        fn flags(&mut self, seq: u32, flags: Flags) {
            self.seg_full(seq, flags, b"", 0);
        }

        fn ack(&mut self, ack: u32) {
            let (events, anomalies) = (&mut self.events, &mut self.anomalies);
            self.half.acked(
                ack,
                &mut self.budget,
                &mut |d| events.push(own(d)),
                &mut |a| anomalies.push(a),
            );
        }

        fn flush(&mut self) {
            let (events, anomalies) = (&mut self.events, &mut self.anomalies);
            self.half
                .flush(&mut self.budget, &mut |d| events.push(own(d)), &mut |a| {
                    anomalies.push(a)
                });
        }

        /// Delivered data concatenated, with `?` for every gap byte.
        fn stream(&self) -> Vec<u8> {
            let mut s = Vec::new();
            for e in &self.events {
                match e {
                    Ev::Data(_, b) => s.extend_from_slice(b),
                    Ev::Gap(_, n) => s.extend(std::iter::repeat_n(b'?', *n as usize)),
                }
            }
            s
        }

        fn take(&mut self) -> Vec<Ev> {
            std::mem::take(&mut self.events)
        }
    }

    fn own(d: Delivery<'_>) -> Ev {
        match d {
            Delivery::Data { offset, bytes } => Ev::Data(offset, bytes.to_vec()),
            Delivery::Gap { offset, len } => Ev::Gap(offset, len),
        }
    }

    fn data(offset: u64, bytes: &[u8]) -> Ev {
        Ev::Data(offset, bytes.to_vec())
    }

    const REQ: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n";

    #[test]
    fn in_order_segments_are_delivered_at_once_from_offset_zero() {
        let mut r = Rig::new();
        r.flags(1000, Flags::SYN);
        r.seg(1001, &REQ[..16]);
        assert_eq!(r.take(), vec![data(0, b"GET /index.html ")]);
        r.seg(1017, &REQ[16..]);
        assert_eq!(r.take(), vec![data(16, &REQ[16..])]);
        assert_eq!(r.half.delivered(), REQ.len() as u64);
        assert_eq!(r.half.buffered(), 0);
        assert!(r.anomalies.is_empty());
    }

    #[test]
    fn out_of_order_segments_wait_for_the_hole_then_flow_in_order() {
        let mut r = Rig::new();
        r.flags(1000, Flags::SYN);
        r.seg(1027, &REQ[26..]);
        r.seg(1017, &REQ[16..26]);
        assert!(r.events.is_empty());
        assert_eq!(r.half.buffered(), REQ.len() - 16);
        assert!(r.budget.used() >= REQ.len() - 16);
        r.seg(1001, &REQ[..16]);
        assert_eq!(
            r.take(),
            vec![
                data(0, &REQ[..16]),
                data(16, &REQ[16..26]),
                data(26, &REQ[26..])
            ]
        );
        assert_eq!(r.half.buffered(), 0);
        // Only the recent window stays charged.
        assert_eq!(r.budget.used(), 512);
        assert!(r.anomalies.is_empty());
    }

    #[test]
    fn retransmissions_are_not_delivered_twice() {
        let mut r = Rig::new();
        r.flags(1000, Flags::SYN);
        r.seg(1001, &REQ[..16]);
        r.seg(1001, &REQ[..16]);
        r.seg(1027, &REQ[26..]);
        r.seg(1027, &REQ[26..]);
        r.seg(1017, &REQ[16..26]);
        assert_eq!(r.stream(), REQ);
        assert_eq!(
            r.anomalies,
            vec![
                TcpAnomaly::Retransmission { offset: 0, len: 16 },
                TcpAnomaly::Retransmission {
                    offset: 26,
                    len: (REQ.len() - 26) as u64
                },
            ]
        );
    }

    #[test]
    fn conflicting_overlap_with_buffered_data_keeps_the_first_bytes() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(7, b"world");
        r.seg(7, b"WORLD");
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::ConflictingOverlap { offset: 6, len: 5 }]
        );
        r.seg(1, b"hello ");
        assert_eq!(r.stream(), b"hello world");
    }

    #[test]
    fn conflicting_overlap_with_delivered_data_is_found_in_the_recent_window() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(1, b"hello world");
        r.seg(7, b"wOrld");
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::ConflictingOverlap { offset: 7, len: 1 }]
        );
        assert_eq!(r.stream(), b"hello world");
    }

    #[test]
    fn a_server_resending_different_bytes_at_the_same_sequence_is_a_conflict() {
        // ndpi/whatsapp_voice_and_message.pcap, 173.192.222.189:5222, frames 147 and 150:
        // an 18-byte frame, then a 169-byte frame at the same sequence number (first 40
        // bytes here). The client had acknowledged the first; it stays.
        let first = b"\x80\x00\x0f\x0b\xd5\x9d\x9b\x9e\x41\x13\x1e\x55\xf3\xae\xa3\x37\xa7\x56";
        let second = b"\x80\x00\xa6\x48\x61\xc1\x5f\x0f\xf3\x84\x7a\x82\x3c\xd7\x88\xdc\xcf\xa5\x65\x08\xe0\x13\xc9\x34\xb5\xbd\xbb\xa0\x8a\xeb\x20\x98\xe4\xf5\x03\x6e\xc0\x41\x53\xf6";
        let mut r = Rig::new();
        r.seg(3_478_325_730, first);
        r.seg(3_478_325_730, second);
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::ConflictingOverlap { offset: 2, len: 16 }]
        );
        assert_eq!(r.take(), vec![data(0, first), data(18, &second[18..])]);
    }

    #[test]
    fn an_in_order_segment_over_buffered_data_delivers_the_buffered_bytes() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(5, b"XYZ");
        r.seg(1, b"0123abcd");
        assert_eq!(
            r.take(),
            vec![data(0, b"0123"), data(4, b"XYZ"), data(7, b"d")]
        );
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::ConflictingOverlap { offset: 4, len: 3 }]
        );
    }

    #[test]
    fn a_segment_overlapping_the_delivered_tail_adds_only_new_bytes() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(1, b"abcdef");
        r.seg(4, b"defghi");
        assert_eq!(r.take(), vec![data(0, b"abcdef"), data(6, b"ghi")]);
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::Retransmission { offset: 3, len: 3 }]
        );
    }

    #[test]
    fn overlap_spanning_two_buffered_chunks_fills_only_the_hole_between() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(3, b"cd");
        r.seg(7, b"gh");
        r.seg(2, b"bcdefghi");
        assert_eq!(r.half.buffered(), 8);
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::Retransmission { offset: 2, len: 4 }]
        );
        r.seg(1, b"a");
        assert_eq!(r.stream(), b"abcdefghi");
    }

    #[test]
    fn a_limit_of_the_recent_window_older_overlaps_are_not_compared() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        let body = [b'x'; 600];
        r.seg(1, &body);
        // Offsets 0..88 fell out of the 512-byte window: a change there goes unseen.
        r.seg(1, b"y");
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::Retransmission { offset: 0, len: 1 }]
        );
        r.anomalies.clear();
        r.seg(1 + 100, b"y");
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::ConflictingOverlap {
                offset: 100,
                len: 1
            }]
        );
    }

    #[test]
    fn sequence_numbers_wrap_around_u32_max() {
        let mut r = Rig::new();
        let isn = u32::MAX - 2;
        r.flags(isn, Flags::SYN);
        r.seg(isn.wrapping_add(1), b"abcd");
        // Next byte is at sequence 2 after wrapping; send it out of order.
        r.seg(6, b"ijkl");
        r.seg(2, b"efgh");
        assert_eq!(
            r.take(),
            vec![data(0, b"abcd"), data(4, b"efgh"), data(8, b"ijkl")]
        );
        r.flags(10, Flags::FIN);
        r.ack(11);
        assert!(r.half.finished());
        assert_eq!(r.half.gaps(), (0, 0));
        assert!(r.anomalies.is_empty());
    }

    #[test]
    fn mid_stream_pickup_starts_at_the_first_segment_seen() {
        let mut r = Rig::new();
        r.seg(5000, b"HTTP/1.1 200 OK\r\n");
        assert_eq!(r.take(), vec![data(0, b"HTTP/1.1 200 OK\r\n")]);
        // Bytes sent before the capture started cannot be placed.
        r.seg(4990, b"0123456789HTTP/1.1");
        assert_eq!(
            r.anomalies,
            vec![
                TcpAnomaly::BeforeStart { len: 10 },
                TcpAnomaly::Retransmission { offset: 0, len: 8 }
            ]
        );
        assert!(r.events.is_empty());
    }

    #[test]
    fn a_keepalive_seen_first_does_not_anchor_a_mid_stream_pickup() {
        // ndpi/wechat.pcap, 192.168.1.103:58143: an empty ACK one below the next byte,
        // then the data (with FIN) 91 seconds later.
        let mut r = Rig::new();
        r.seg(1_090_190_623, b"");
        r.ack(9);
        r.seg_full(1_090_190_624, Flags::FIN, b"\x17\x03\x01\x00\x20", 5);
        r.flush();
        assert_eq!(r.take(), vec![data(0, b"\x17\x03\x01\x00\x20")]);
        assert_eq!(r.half.gaps(), (0, 0));
        assert!(r.half.finished());
    }

    #[test]
    fn syn_and_fin_each_consume_one_sequence_number() {
        let mut r = Rig::new();
        r.flags(100, Flags::SYN);
        r.seg_full(101, Flags::FIN, b"bye", 3);
        assert_eq!(r.take(), vec![data(0, b"bye")]);
        assert!(r.half.fin_seen() && r.half.finished());
        // The ACK of the FIN (sequence 105) is not a lost byte.
        r.ack(105);
        r.flush();
        assert!(r.events.is_empty());
        assert_eq!(r.half.gaps(), (0, 0));
    }

    #[test]
    fn syn_with_data_delivers_it_at_offset_zero() {
        let mut r = Rig::new();
        r.seg_full(7, Flags::SYN, b"fast open", 9);
        assert_eq!(r.take(), vec![data(0, b"fast open")]);
    }

    #[test]
    fn data_after_fin_is_flagged_and_dropped() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg_full(1, Flags::FIN, b"QUIT\r\n", 6);
        r.seg(7, b"more");
        assert_eq!(r.anomalies, vec![TcpAnomaly::DataAfterFin]);
        // A segment straddling the FIN keeps the part before it.
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.flags(5, Flags::FIN);
        r.seg(1, b"abcdXY");
        assert_eq!(r.stream(), b"abcd");
        assert_eq!(r.anomalies, vec![TcpAnomaly::DataAfterFin]);
    }

    #[test]
    fn an_ack_past_a_hole_delivers_a_gap_then_the_buffered_data() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(1, b"abc");
        r.seg(7, b"ghi");
        r.ack(5);
        assert_eq!(r.take(), vec![data(0, b"abc"), Ev::Gap(3, 1)]);
        r.ack(10);
        assert_eq!(r.take(), vec![Ev::Gap(4, 2), data(6, b"ghi")]);
        assert_eq!(r.half.gaps(), (2, 3));
        // A retransmission of the lost bytes arrives too late to be compared.
        r.seg(4, b"def");
        assert_eq!(
            r.anomalies,
            vec![TcpAnomaly::Retransmission { offset: 3, len: 3 }]
        );
        assert!(r.events.is_empty());
    }

    #[test]
    fn old_acks_and_acks_before_the_first_segment_do_nothing() {
        let mut r = Rig::new();
        r.ack(12345);
        r.seg(500, b"abc");
        r.ack(500);
        r.ack(400);
        assert_eq!(r.take(), vec![data(0, b"abc")]);
    }

    #[test]
    fn flush_delivers_holes_as_gaps_and_frees_memory() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(1, b"ab");
        r.seg(5, b"ef");
        r.seg(9, b"ij");
        r.flags(12, Flags::FIN);
        r.take();
        r.flush();
        assert_eq!(
            r.take(),
            vec![
                Ev::Gap(2, 2),
                data(4, b"ef"),
                Ev::Gap(6, 2),
                data(8, b"ij"),
                Ev::Gap(10, 1)
            ]
        );
        assert_eq!(r.half.buffered(), 0);
        assert_eq!(r.budget.used(), 0);
    }

    #[test]
    fn per_direction_cap_skips_the_earliest_hole() {
        let limits = TcpLimits {
            max_buffer_per_dir: 8,
            ..TcpLimits::default()
        };
        let mut r = Rig::with(limits, MemBudget::default());
        r.flags(0, Flags::SYN);
        r.seg(11, b"aaaa");
        r.seg(21, b"bbbb");
        assert!(r.events.is_empty());
        r.seg(31, b"cccc");
        assert_eq!(r.take(), vec![Ev::Gap(0, 10), data(10, b"aaaa")]);
        assert_eq!(r.anomalies, vec![TcpAnomaly::BufferCapHit { dropped: 10 }]);
        assert_eq!(r.half.buffered(), 8);
        r.seg(15, b"ccccccbbbb");
        assert_eq!(r.take(), vec![data(14, b"cccccc"), data(20, b"bbbb")]);
        assert_eq!(r.half.buffered(), 4);
    }

    #[test]
    fn segment_count_cap_skips_the_earliest_hole() {
        let limits = TcpLimits {
            max_segments_per_dir: 2,
            ..TcpLimits::default()
        };
        let mut r = Rig::with(limits, MemBudget::default());
        r.flags(0, Flags::SYN);
        r.seg(3, b"c");
        r.seg(5, b"e");
        r.seg(7, b"g");
        assert_eq!(r.take(), vec![Ev::Gap(0, 2), data(2, b"c")]);
        assert_eq!(r.anomalies, vec![TcpAnomaly::BufferCapHit { dropped: 2 }]);
    }

    #[test]
    fn a_segment_larger_than_the_cap_is_delivered_after_a_gap() {
        let limits = TcpLimits {
            max_buffer_per_dir: 4,
            ..TcpLimits::default()
        };
        let mut r = Rig::with(limits, MemBudget::default());
        r.flags(0, Flags::SYN);
        r.seg(3, b"0123456789");
        assert_eq!(r.take(), vec![Ev::Gap(0, 2), data(2, b"0123456789")]);
        assert_eq!(r.half.buffered(), 0);
    }

    #[test]
    fn the_global_budget_is_shared_between_halves() {
        // Room for one 100-byte chunk plus overhead, and no recent windows.
        let cap = 100 + CHUNK_OVERHEAD + 20;
        let limits = TcpLimits {
            recent_window: 0,
            ..TcpLimits::default()
        };
        let mut budget = MemBudget::new(cap);
        let mut a = TcpHalf::new(&limits);
        let mut b = TcpHalf::new(&limits);
        let mut got_a = Vec::new();
        let mut got_b = Vec::new();
        let mut anomalies = Vec::new();
        a.segment(0, Flags::SYN, b"", 0, &mut budget, &mut |_| {}, &mut |_| {});
        b.segment(0, Flags::SYN, b"", 0, &mut budget, &mut |_| {}, &mut |_| {});
        a.segment(
            11,
            Flags::NONE,
            &[b'a'; 100],
            100,
            &mut budget,
            &mut |d| got_a.push(own(d)),
            &mut |x| anomalies.push(x),
        );
        assert_eq!(a.buffered(), 100);
        b.segment(
            11,
            Flags::NONE,
            &[b'b'; 100],
            100,
            &mut budget,
            &mut |d| got_b.push(own(d)),
            &mut |x| anomalies.push(x),
        );
        assert_eq!(b.buffered(), 0, "the budget is full: b may not buffer");
        assert_eq!(got_b, vec![Ev::Gap(0, 10), Ev::Data(10, vec![b'b'; 100])]);
        assert_eq!(anomalies, vec![TcpAnomaly::BufferCapHit { dropped: 10 }]);
        assert!(budget.used() <= cap && budget.peak() <= cap);
        a.flush(&mut budget, &mut |d| got_a.push(own(d)), &mut |_| {});
        b.flush(&mut budget, &mut |_| {}, &mut |_| {});
        assert_eq!(budget.used(), 0);
        assert_eq!(got_a, vec![Ev::Gap(0, 10), Ev::Data(10, vec![b'a'; 100])]);
    }

    #[test]
    fn recent_windows_take_at_most_a_quarter_of_the_budget() {
        let mut budget = MemBudget::new(4 * 512);
        let limits = TcpLimits::default();
        let mut halves: Vec<TcpHalf> = (0..3).map(|_| TcpHalf::new(&limits)).collect();
        for h in &mut halves {
            h.segment(
                0,
                Flags::NONE,
                b"x",
                1,
                &mut budget,
                &mut |_| {},
                &mut |_| {},
            );
        }
        assert_eq!(budget.used(), 512);
        for h in &mut halves {
            h.flush(&mut budget, &mut |_| {}, &mut |_| {});
        }
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn snaplen_cut_segment_delivers_what_was_captured_then_a_gap() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg_full(1, Flags::NONE, b"\x16\x03\x01\x02\x00", 1448);
        r.seg(1449, b"next");
        assert_eq!(
            r.take(),
            vec![
                data(0, b"\x16\x03\x01\x02\x00"),
                Ev::Gap(5, 1443),
                data(1448, b"next")
            ]
        );
    }

    #[test]
    fn snaplen_cut_segment_out_of_order_keeps_its_lost_tail_as_a_gap() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg_full(5, Flags::NONE, b"ef", 6);
        assert_eq!(r.half.buffered(), 2);
        r.seg(11, b"kl");
        r.seg(1, b"abcd");
        assert_eq!(
            r.take(),
            vec![
                data(0, b"abcd"),
                data(4, b"ef"),
                Ev::Gap(6, 4),
                data(10, b"kl")
            ]
        );
    }

    #[test]
    fn rst_ends_the_direction() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(1, b"abc");
        r.seg_full(4, Flags::RST, b"connection reset", 16);
        assert!(r.half.rst_seen());
        r.seg(4, b"def");
        r.ack(100);
        assert_eq!(r.stream(), b"abc");
        assert_eq!(r.anomalies, vec![TcpAnomaly::DataAfterRst]);
    }

    #[test]
    fn keepalive_probes_are_not_reported_as_conflicts() {
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(1, b"abc");
        r.seg(3, b"\0");
        assert!(r.anomalies.is_empty());
        // Before any data, the probe sits on the SYN's sequence number.
        let mut r = Rig::new();
        r.flags(0, Flags::SYN);
        r.seg(0, b"\0");
        assert!(r.anomalies.is_empty() && r.events.is_empty());
    }

    #[test]
    fn flags_come_from_the_tcp_header_byte() {
        assert_eq!(Flags::from_byte(0x12), Flags::SYN); // SYN+ACK
        assert_eq!(
            Flags::from_byte(0x11),
            Flags {
                fin: true,
                ..Flags::NONE
            }
        );
        assert_eq!(Flags::from_byte(0x14), Flags::RST);
    }

    #[test]
    fn debug_output_never_shows_payload_bytes() {
        let d = Delivery::Data {
            offset: 3,
            bytes: b"secret message",
        };
        let s = format!("{d:?}");
        assert!(!s.contains("secret") && s.contains("len: 14"), "{s}");
        let mut r = Rig::new();
        r.seg(1, b"secret message");
        let s = format!("{:?}", r.half);
        assert!(!s.contains("115"), "{s}");
    }

    /// A stream cut into segments, possibly dropping some.
    fn segments(len: usize) -> impl Strategy<Value = (Vec<u8>, Vec<(usize, usize)>)> {
        (
            proptest::collection::vec(any::<u8>(), 1..len),
            proptest::collection::vec(1usize..64, 1..64),
        )
            .prop_map(|(data, cuts)| {
                let mut segs = Vec::new();
                let mut at = 0;
                let mut i = 0;
                while at < data.len() {
                    let n = cuts[i % cuts.len()].min(data.len() - at);
                    segs.push((at, at + n));
                    at += n;
                    i += 1;
                }
                (data, segs)
            })
    }

    proptest! {
        #[test]
        fn any_split_reorder_and_duplication_yields_the_original_stream(
            (stream, segs) in segments(1500),
            order in proptest::collection::vec(any::<u32>(), 0..200),
            extra in proptest::collection::vec((any::<u16>(), 1usize..80), 0..20),
            isn in prop_oneof![Just(u32::MAX - 40), Just(u32::MAX), any::<u32>()],
        ) {
            // Every segment once, plus duplicates and arbitrary overlapping re-sends.
            let mut sends: Vec<(usize, usize)> = segs.clone();
            for (i, r) in order.iter().enumerate().take(segs.len()) {
                if r % 3 == 0 { sends.push(segs[i]); }
            }
            for (start, n) in extra {
                let a = start as usize % stream.len();
                sends.push((a, (a + n).min(stream.len())));
            }
            let mut keyed: Vec<(u32, (usize, usize))> = sends
                .into_iter()
                .enumerate()
                .map(|(i, s)| (order.get(i).copied().unwrap_or(i as u32), s))
                .collect();
            keyed.sort_by_key(|k| k.0);
            let mut r = Rig::new();
            r.flags(isn, Flags::SYN);
            for (_, (a, b)) in keyed {
                r.seg(isn.wrapping_add(1).wrapping_add(a as u32), &stream[a..b]);
            }
            r.flags(isn.wrapping_add(1).wrapping_add(stream.len() as u32), Flags::FIN);
            r.flush();
            prop_assert_eq!(r.stream(), stream);
            prop_assert_eq!(r.half.gaps(), (0, 0));
            prop_assert!(r.half.finished());
            prop_assert_eq!(r.budget.used(), 0);
            let conflicts = r.anomalies.iter()
                .filter(|a| matches!(a, TcpAnomaly::ConflictingOverlap { .. }))
                .count();
            prop_assert_eq!(conflicts, 0);
        }

        #[test]
        fn under_tight_caps_and_drops_every_delivered_byte_is_at_its_offset(
            (stream, segs) in segments(600),
            order in proptest::collection::vec(any::<u32>(), 0..100),
            drop in proptest::collection::vec(any::<bool>(), 0..100),
            max_buffer in 1usize..64,
            max_segments in 1usize..6,
            budget_cap in 0usize..400,
            isn in any::<u32>(),
        ) {
            let limits = TcpLimits { max_buffer_per_dir: max_buffer, max_segments_per_dir: max_segments, recent_window: 16 };
            let mut r = Rig::with(limits, MemBudget::new(budget_cap));
            r.flags(isn, Flags::SYN);
            let mut keyed: Vec<(u32, (usize, usize))> = segs
                .iter()
                .enumerate()
                .filter(|(i, _)| !drop.get(*i).copied().unwrap_or(false))
                .map(|(i, s)| (order.get(i).copied().unwrap_or(i as u32), *s))
                .collect();
            keyed.sort_by_key(|k| k.0);
            for (_, (a, b)) in keyed {
                r.seg(isn.wrapping_add(1).wrapping_add(a as u32), &stream[a..b]);
                prop_assert!(r.half.buffered() <= max_buffer);
                prop_assert!(r.budget.used() <= budget_cap);
            }
            r.flags(isn.wrapping_add(1).wrapping_add(stream.len() as u32), Flags::FIN);
            r.flush();
            let mut at = 0u64;
            for e in &r.events {
                match e {
                    Ev::Data(off, bytes) => {
                        prop_assert_eq!(*off, at);
                        prop_assert_eq!(&bytes[..], &stream[at as usize..at as usize + bytes.len()]);
                        at += bytes.len() as u64;
                    }
                    Ev::Gap(off, n) => {
                        prop_assert_eq!(*off, at);
                        at += n;
                    }
                }
            }
            prop_assert_eq!(at, stream.len() as u64);
            prop_assert_eq!(r.half.delivered() + r.half.gaps().1, stream.len() as u64);
            prop_assert_eq!(r.budget.used(), 0);
        }

        #[test]
        fn arbitrary_segments_never_panic_and_stay_within_the_caps(
            ops in proptest::collection::vec(
                (any::<bool>(), -3000i64..3000, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200), 0u32..400),
                1..80,
            ),
            base in any::<u32>(),
            max_buffer in 0usize..600,
            budget_cap in 0usize..2000,
        ) {
            let limits = TcpLimits { max_buffer_per_dir: max_buffer, max_segments_per_dir: 8, recent_window: 64 };
            let mut r = Rig::with(limits, MemBudget::new(budget_cap));
            for (is_ack, delta, flags, payload, extra) in ops {
                let seq = base.wrapping_add(delta as u32);
                if is_ack {
                    r.ack(seq);
                } else {
                    r.seg_full(seq, Flags::from_byte(flags), &payload, payload.len() as u32 + extra);
                }
                prop_assert!(r.half.buffered() <= max_buffer);
                prop_assert!(r.budget.used() <= budget_cap);
            }
            r.flush();
            let mut at = 0;
            for e in &r.events {
                let (off, len) = match e {
                    Ev::Data(off, b) => (*off, b.len() as u64),
                    Ev::Gap(off, n) => (*off, *n),
                };
                prop_assert_eq!(off, at);
                prop_assert!(len > 0);
                at += len;
            }
            prop_assert_eq!(at, r.half.next_offset());
            prop_assert_eq!(r.budget.used(), 0);
            prop_assert_eq!(r.half.buffered(), 0);
        }
    }
}
