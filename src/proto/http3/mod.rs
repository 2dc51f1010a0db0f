//! HTTP/3 (RFC 9114) over decrypted QUIC streams: frames on request, push
//! and control streams, QPACK field sections (with the dynamic table fed by
//! the encoder streams), and the same request/response evidence as HTTP/2.
//!
//! The QUIC dissector owns a [`Session`] and hands it in-order stream bytes;
//! evidence is reported under a `http3` layer beneath the keyed `quic` layer.

pub mod qpack;

use crate::evidence::Layer;
use crate::evidence::canary::ScanState;
use crate::model::Direction;
use crate::proto::dissector::{Cx, Hint, Stream};
use crate::proto::http::seen::Seen;
use crate::proto::http2::exchange::Exchange;
use crate::proto::http2::hpack::HpackError;
use crate::proto::quic::varint;
use std::collections::BTreeMap;

/// Frame types (RFC 9114 §7.2).
pub mod frame_type {
    pub const DATA: u64 = 0x00;
    pub const HEADERS: u64 = 0x01;
    pub const CANCEL_PUSH: u64 = 0x03;
    pub const SETTINGS: u64 = 0x04;
    pub const PUSH_PROMISE: u64 = 0x05;
    pub const GOAWAY: u64 = 0x07;
    pub const MAX_PUSH_ID: u64 = 0x0d;
}

/// Unidirectional stream types (RFC 9114 §6.2, RFC 9204 §4.2).
pub mod stream_type {
    pub const CONTROL: u64 = 0x00;
    pub const PUSH: u64 = 0x01;
    pub const QPACK_ENCODER: u64 = 0x02;
    pub const QPACK_DECODER: u64 = 0x03;
}

const SETTINGS_QPACK_MAX_TABLE_CAPACITY: u64 = 0x01;

/// Field sections waiting for encoder-stream insertions.
const MAX_BLOCKED: usize = 64;
const MAX_BLOCKED_BYTES: usize = 512 * 1024;
/// Frames other than DATA are buffered whole up to this size.
const MAX_FRAME: u64 = 1 << 20;

/// Reserved frame and stream types used for GREASE: `0x1f * N + 0x21`.
pub fn is_grease(t: u64) -> bool {
    t >= 0x21 && (t - 0x21).is_multiple_of(0x1f)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Control,
    Push,
    Encoder,
    /// QPACK decoder stream and GREASE streams: only scanned for canaries.
    Ignored,
    /// Unknown stream types (extensions such as WebTransport): an inner
    /// stream probed and classified like any other.
    Extension,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the unidirectional stream type (and a push stream's push id).
    Type,
    PushId,
    FrameHeader,
    /// Inside a frame buffered whole.
    Frame {
        kind: u64,
        len: u64,
    },
    /// Inside a DATA frame (streamed to the body).
    Data(u64),
    /// Inside a frame that is skipped.
    Skip(u64),
}

/// One direction of one QUIC stream.
struct Half {
    kind: Kind,
    state: State,
    buf: Vec<u8>,
    /// Canary scan of bytes that are skipped (unknown frames, ignored streams).
    scan: ScanState,
    inner: Option<Stream>,
}

struct Blocked {
    id: u64,
    dir: Direction,
    required: u64,
    block: Vec<u8>,
}

/// HTTP/3 state of one QUIC connection.
#[derive(Default)]
pub struct Session {
    halves: BTreeMap<(u64, usize), Half>,
    exchanges: BTreeMap<u64, Exchange>,
    /// Decoders by the direction the field sections travel.
    qpack: [qpack::Decoder; 2],
    qpack_broken: [bool; 2],
    blocked: Vec<Blocked>,
    blocked_bytes: usize,
    seen: Seen,
    anomalies: Vec<&'static str>,
    protocol_set: bool,
}

impl Session {
    fn anomaly_once(&mut self, cx: &mut Cx<'_>, code: &'static str, detail: String) {
        if !self.anomalies.contains(&code) {
            self.anomalies.push(code);
            cx.anomaly(code, detail);
        }
    }

    /// In-order bytes of one QUIC stream direction; `fin` once it ended.
    pub fn on_stream(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction, data: &[u8], fin: bool) {
        if !self.protocol_set {
            self.protocol_set = true;
            cx.set_protocol("http3");
        }
        cx.with_layer(Layer::plain("http3"), |cx| {
            self.feed(cx, id, dir, data);
            if fin {
                self.end(cx, id, dir);
                self.close_half(cx, id, dir);
            }
        });
    }

    /// A stream direction ended: its parser state goes (an extension stream is flushed).
    fn close_half(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction) {
        if let Some(mut h) = self.halves.remove(&(id, dir.index()))
            && let Some(s) = &mut h.inner
        {
            s.finish(cx);
        }
    }

    /// The stream was reset: its exchange is over.
    pub fn on_reset(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction) {
        cx.with_layer(Layer::plain("http3"), |cx| {
            self.end(cx, id, dir);
            self.close_half(cx, id, dir);
        });
    }

    pub fn finish(&mut self, cx: &mut Cx<'_>) {
        cx.with_layer(Layer::plain("http3"), |cx| {
            for (_, mut x) in std::mem::take(&mut self.exchanges) {
                x.finish(cx);
            }
            for h in self.halves.values_mut() {
                if let Some(s) = &mut h.inner {
                    s.finish(cx);
                }
            }
            if !self.blocked.is_empty() {
                let n = self.blocked.len();
                cx.anomaly(
                    "qpack-blocked",
                    format!("{n} field sections reference QPACK dynamic-table entries that never arrived"),
                );
            }
        });
    }

    fn end(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction) {
        if let Some(x) = self.exchanges.get_mut(&id)
            && x.end(cx, dir)
            && !self.blocked.iter().any(|b| b.id == id)
            && let Some(mut x) = self.exchanges.remove(&id)
        {
            x.finish(cx);
        }
    }

    fn feed(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction, mut data: &[u8]) {
        let key = (id, dir.index());
        let mut half = self.halves.remove(&key).unwrap_or_else(|| {
            let uni = id & 2 != 0;
            Half {
                kind: if uni { Kind::Ignored } else { Kind::Request },
                state: if uni { State::Type } else { State::FrameHeader },
                buf: Vec::new(),
                scan: ScanState::default(),
                inner: None,
            }
        });
        while !data.is_empty() {
            match half.state {
                State::Type | State::PushId => {
                    let Some((v, _)) = take_varint(&mut half.buf, &mut data) else {
                        break;
                    };
                    if half.state == State::PushId {
                        half.state = State::FrameHeader;
                        continue;
                    }
                    let (kind, next) = match v {
                        stream_type::CONTROL => (Kind::Control, State::FrameHeader),
                        stream_type::PUSH => (Kind::Push, State::PushId),
                        stream_type::QPACK_ENCODER => (Kind::Encoder, State::FrameHeader),
                        stream_type::QPACK_DECODER => (Kind::Ignored, State::Skip(u64::MAX)),
                        t if is_grease(t) => (Kind::Ignored, State::Skip(u64::MAX)),
                        _ => (Kind::Extension, State::Skip(u64::MAX)),
                    };
                    half.kind = kind;
                    half.state = next;
                }
                _ if half.kind == Kind::Encoder => {
                    if !self.qpack_broken[dir.index()] {
                        if let Err(e) = self.qpack[dir.index()].encoder_stream(data) {
                            self.qpack_broken[dir.index()] = true;
                            self.anomaly_once(
                                cx,
                                "qpack-encoder-stream",
                                format!("{e}: later field sections may not decode"),
                            );
                        }
                        self.unblock(cx, dir);
                    }
                    data = &[];
                }
                State::FrameHeader => {
                    let Some((t, _)) = peek_varint(&half.buf, data, 0) else {
                        half.buf.extend_from_slice(data);
                        data = &[];
                        continue;
                    };
                    let Some((len, _)) = peek_varint(&half.buf, data, varint_len(&half.buf, data))
                    else {
                        half.buf.extend_from_slice(data);
                        data = &[];
                        continue;
                    };
                    // Both varints are available: consume them.
                    take_varint(&mut half.buf, &mut data);
                    take_varint(&mut half.buf, &mut data);
                    half.state = self.frame_start(cx, half.kind, t, len);
                }
                State::Data(left) => {
                    let n = (left.min(data.len() as u64)) as usize;
                    self.exchanges
                        .entry(id)
                        .or_default()
                        .data(cx, dir, &data[..n]);
                    data = &data[n..];
                    half.state = if left == n as u64 {
                        State::FrameHeader
                    } else {
                        State::Data(left - n as u64)
                    };
                }
                State::Skip(left) => {
                    let n = (left.min(data.len() as u64)) as usize;
                    if half.kind == Kind::Extension {
                        half.inner
                            .get_or_insert_with(|| {
                                Stream::new(Layer::plain("http3-stream"), Hint::default())
                            })
                            .data(cx, dir, &data[..n]);
                    } else {
                        cx.scan(&mut half.scan, dir, &data[..n]);
                    }
                    data = &data[n..];
                    half.state = if left == n as u64 {
                        State::FrameHeader
                    } else {
                        State::Skip(left - n as u64)
                    };
                }
                State::Frame { kind, len } => {
                    let need = len as usize - half.buf.len();
                    let n = need.min(data.len());
                    half.buf.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if half.buf.len() == len as usize {
                        let payload = std::mem::take(&mut half.buf);
                        half.state = State::FrameHeader;
                        self.frame(cx, id, dir, half.kind, kind, &payload);
                    }
                }
            }
        }
        if half.state == State::Data(0) || half.state == State::Skip(0) {
            half.state = State::FrameHeader;
        }
        // A zero-length buffered frame completes without data.
        if let State::Frame { kind, len: 0 } = half.state {
            half.state = State::FrameHeader;
            self.frame(cx, id, dir, half.kind, kind, &[]);
        }
        self.halves.insert(key, half);
    }

    /// Decides how a frame's payload is read.
    fn frame_start(&mut self, cx: &mut Cx<'_>, stream: Kind, t: u64, len: u64) -> State {
        let buffered = match (stream, t) {
            (Kind::Request | Kind::Push, frame_type::DATA) => return State::Data(len),
            (Kind::Request | Kind::Push, frame_type::HEADERS | frame_type::PUSH_PROMISE) => true,
            (Kind::Control, frame_type::SETTINGS | frame_type::GOAWAY) => true,
            _ => false,
        };
        if !buffered {
            return State::Skip(len);
        }
        if len > MAX_FRAME {
            self.anomaly_once(
                cx,
                "http3-frame-too-large",
                format!("{len}-byte frame type 0x{t:x} skipped"),
            );
            return State::Skip(len);
        }
        State::Frame { kind: t, len }
    }

    fn frame(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction, stream: Kind, t: u64, p: &[u8]) {
        match (stream, t) {
            (Kind::Control, frame_type::SETTINGS) => {
                let mut r = varint::Reader::new(p);
                while let (Some(k), Some(v)) = (r.varint(), r.varint()) {
                    if k == SETTINGS_QPACK_MAX_TABLE_CAPACITY {
                        // The sender decodes field sections travelling toward it.
                        self.qpack[dir.reverse().index()].set_max_capacity(v);
                    }
                }
            }
            (Kind::Request | Kind::Push, frame_type::HEADERS) => {
                self.field_section(cx, id, dir, p.to_vec());
            }
            (Kind::Request, frame_type::PUSH_PROMISE) => {
                let mut r = varint::Reader::new(p);
                if r.varint().is_some() {
                    let block = r.rest().to_vec();
                    self.field_section(cx, id, dir, block);
                }
            }
            _ => {}
        }
    }

    fn field_section(&mut self, cx: &mut Cx<'_>, id: u64, dir: Direction, block: Vec<u8>) {
        if self.qpack_broken[dir.index()] {
            return;
        }
        match self.qpack[dir.index()].decode(&block) {
            Ok(qpack::Section::Fields(fields)) => {
                let x = self.exchanges.entry(id).or_default();
                x.headers(cx, dir, &fields, &mut self.seen);
            }
            Ok(qpack::Section::Blocked(required)) => {
                self.exchanges.entry(id).or_default();
                if self.blocked.len() >= MAX_BLOCKED
                    || self.blocked_bytes + block.len() > MAX_BLOCKED_BYTES
                {
                    self.anomaly_once(
                        cx,
                        "qpack-blocked-overflow",
                        "too many blocked field sections; some were dropped".into(),
                    );
                    return;
                }
                self.blocked_bytes += block.len();
                self.blocked.push(Blocked {
                    id,
                    dir,
                    required,
                    block,
                });
            }
            Err(e) => self.qpack_error(cx, e),
        }
    }

    fn qpack_error(&mut self, cx: &mut Cx<'_>, e: HpackError) {
        self.anomaly_once(
            cx,
            "qpack",
            format!("field section could not be decoded: {e}"),
        );
    }

    /// Retries field sections of `dir` that the encoder stream may have unblocked.
    fn unblock(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let inserted = self.qpack[dir.index()].inserted();
        let (ready, rest): (Vec<Blocked>, Vec<Blocked>) = std::mem::take(&mut self.blocked)
            .into_iter()
            .partition(|b| b.dir == dir && b.required <= inserted);
        self.blocked = rest;
        for b in ready {
            self.blocked_bytes -= b.block.len();
            self.field_section(cx, b.id, b.dir, b.block);
        }
    }
}

/// Length of the varint at the start of `buf ++ data`, from its first byte.
fn varint_len(buf: &[u8], data: &[u8]) -> usize {
    let first = buf.first().or(data.first()).copied().unwrap_or(0);
    1 << (first >> 6)
}

/// Decodes the varint starting `at` bytes into `buf ++ data`, without consuming.
fn peek_varint(buf: &[u8], data: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut tmp = [0u8; 8];
    let mut n = 0;
    for (i, b) in buf.iter().chain(data.iter()).skip(at).take(8).enumerate() {
        tmp[i] = *b;
        n = i + 1;
    }
    varint::decode(&tmp[..n])
}

/// Consumes one varint from `buf ++ data` (buf first); `None` (with the bytes
/// moved into `buf`) when it is not complete yet.
fn take_varint(buf: &mut Vec<u8>, data: &mut &[u8]) -> Option<(u64, usize)> {
    let (v, len) = match peek_varint(buf, data, 0) {
        Some(x) => x,
        None => {
            buf.extend_from_slice(data);
            *data = &[];
            return None;
        }
    };
    let from_buf = len.min(buf.len());
    buf.drain(..from_buf);
    *data = &data[len - from_buf..];
    Some((v, len))
}

#[cfg(test)]
mod tests;
