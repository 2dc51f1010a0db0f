//! HTTP/2 (RFC 9113) over TLS (ALPN `h2`) or in the clear (h2c with prior
//! knowledge): frames, HPACK, and per-stream requests and responses.
//!
//! Evidence is reported under a `http2` layer, so a decrypted request reads
//! `tcp › tls1.3[key log] › http2`; bodies go one layer deeper.

pub mod exchange;
pub mod frame;
pub mod hpack;
pub mod huffman;

use crate::evidence::Layer;
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::http::seen::Seen;
use crate::proto::registry::{FlowHint, ProbeInput};
use exchange::Exchange;
use frame::{FrameHeader, PREFACE, flag, kind};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Streams tracked at once; HEADERS of others are still decoded (HPACK state).
const MAX_STREAMS: usize = 1024;

/// Probe: the client preface, or a hint from TLS ALPN `h2`.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Tcp {
        return Confidence::No;
    }
    let b = input.to_server;
    if b.starts_with(PREFACE) {
        return Confidence::Certain;
    }
    if !b.is_empty() && PREFACE.starts_with(b) {
        return Confidence::NeedMore;
    }
    if input.hint == Some("http2") {
        // Announced by ALPN but the preface is not there (capture started mid-connection):
        // the registry lifts this to Likely because of the hint.
        return if b.is_empty() && input.to_client.is_empty() {
            Confidence::NeedMore
        } else {
            Confidence::Port
        };
    }
    Confidence::No
}

pub fn make(_: &FlowHint, _: &Env) -> Box<dyn Dissector> {
    Box::new(Http2Dissector::default())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Preface {
    Expected,
    Seen,
    Missing,
}

/// Header block being collected across CONTINUATION frames.
struct Pending {
    stream: u32,
    /// For PUSH_PROMISE: the promised stream the request headers belong to.
    promised: Option<u32>,
    end_stream: bool,
    block: Vec<u8>,
}

/// Parser state of one direction.
#[derive(Default)]
struct Side {
    buf: Vec<u8>,
    hpack: hpack::Decoder,
    hpack_broken: bool,
    cont: Option<Pending>,
    /// Bytes of an oversized frame still to skip.
    skip: u64,
}

/// HTTP/2 connection state.
pub struct Http2Dissector {
    preface: Preface,
    sides: [Side; 2],
    streams: BTreeMap<u32, Exchange>,
    seen: Seen,
    frames: u64,
    untracked: u64,
    anomalies: Vec<&'static str>,
}

impl Default for Http2Dissector {
    fn default() -> Self {
        Http2Dissector {
            preface: Preface::Expected,
            sides: Default::default(),
            streams: BTreeMap::new(),
            seen: Seen::default(),
            frames: 0,
            untracked: 0,
            anomalies: Vec::new(),
        }
    }
}

impl Http2Dissector {
    fn anomaly_once(&mut self, cx: &mut Cx<'_>, code: &'static str, detail: String) {
        if !self.anomalies.contains(&code) {
            self.anomalies.push(code);
            cx.anomaly(code, detail);
        }
    }

    fn process(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        let mut data = data;
        let skip = self.sides[d].skip.min(data.len() as u64);
        self.sides[d].skip -= skip;
        data = &data[skip as usize..];
        self.sides[d].buf.extend_from_slice(data);
        if dir == Direction::ToServer && self.preface == Preface::Expected {
            let b = &self.sides[d].buf;
            if b.len() < PREFACE.len() && PREFACE.starts_with(b) {
                return;
            }
            if b.starts_with(PREFACE) {
                self.sides[d].buf.drain(..PREFACE.len());
                self.preface = Preface::Seen;
            } else {
                self.preface = Preface::Missing;
                self.anomaly_once(
                    cx,
                    "http2-no-preface",
                    "client bytes do not start with the HTTP/2 preface".into(),
                );
            }
        }
        let max = cx.env.limits.max_message;
        let mut pos = 0;
        loop {
            let side = &mut self.sides[d];
            let Some(h) = frame::header(&side.buf[pos..]) else {
                break;
            };
            let total = frame::HEADER_LEN + h.len as usize;
            if h.len as usize > max {
                if matches!(
                    h.kind,
                    kind::HEADERS | kind::PUSH_PROMISE | kind::CONTINUATION
                ) {
                    side.hpack_broken = true;
                }
                let have = side.buf.len() - pos - frame::HEADER_LEN;
                if have >= h.len as usize {
                    pos += total;
                } else {
                    side.skip = u64::from(h.len) - have as u64;
                    pos = side.buf.len();
                }
                self.anomaly_once(
                    cx,
                    "http2-frame-too-large",
                    format!("{}-byte frame skipped", h.len),
                );
                continue;
            }
            if side.buf.len() - pos < total {
                break;
            }
            let payload = side.buf[pos + frame::HEADER_LEN..pos + total].to_vec();
            pos += total;
            self.frames += 1;
            self.frame(cx, dir, &h, &payload);
        }
        self.sides[d].buf.drain(..pos);
    }

    fn frame(&mut self, cx: &mut Cx<'_>, dir: Direction, h: &FrameHeader, p: &[u8]) {
        let d = dir.index();
        if self.sides[d].cont.is_some() && h.kind != kind::CONTINUATION {
            self.anomaly_once(
                cx,
                "http2-continuation",
                "header block interrupted by another frame".into(),
            );
            self.sides[d].cont = None;
            self.sides[d].hpack_broken = true;
        }
        match h.kind {
            kind::DATA => {
                let Some(body) = frame::unpad(h, p) else {
                    self.anomaly_once(cx, "http2-padding", "padding longer than the frame".into());
                    return;
                };
                // A stream whose HEADERS were not seen (capture started late)
                // still has its body read, without content-coding information.
                if h.stream != 0
                    && (self.streams.contains_key(&h.stream) || self.streams.len() < MAX_STREAMS)
                {
                    self.streams
                        .entry(h.stream)
                        .or_default()
                        .data(cx, dir, body);
                }
                if h.has(flag::END_STREAM) {
                    self.end_stream(cx, dir, h.stream);
                }
            }
            kind::HEADERS => {
                let Some(frag) = frame::headers_fragment(h, p) else {
                    self.anomaly_once(
                        cx,
                        "http2-padding",
                        "HEADERS padding or priority longer than the frame".into(),
                    );
                    self.sides[d].hpack_broken = true;
                    return;
                };
                self.header_fragment(cx, dir, h, h.stream, None, frag);
            }
            kind::PUSH_PROMISE => {
                let Some((promised, frag)) = frame::push_promise(h, p) else {
                    self.sides[d].hpack_broken = true;
                    return;
                };
                self.header_fragment(cx, dir, h, h.stream, Some(promised), frag);
            }
            kind::CONTINUATION => {
                let max = cx.env.limits.max_message;
                let side = &mut self.sides[d];
                let Some(c) = side.cont.as_mut().filter(|c| c.stream == h.stream) else {
                    self.anomaly_once(
                        cx,
                        "http2-continuation",
                        "CONTINUATION without a header block".into(),
                    );
                    return;
                };
                if c.block.len() + p.len() > max {
                    side.cont = None;
                    side.hpack_broken = true;
                    self.anomaly_once(
                        cx,
                        "http2-header-block-too-large",
                        format!("header block over {max} bytes"),
                    );
                    return;
                }
                c.block.extend_from_slice(p);
                if h.has(flag::END_HEADERS) {
                    let c = side.cont.take().expect("checked above");
                    self.header_block(cx, dir, c);
                }
            }
            kind::SETTINGS if !h.has(flag::ACK) => {
                if let Some(s) = frame::settings(p) {
                    for (id, v) in s {
                        if id == frame::setting::HEADER_TABLE_SIZE {
                            // The sender decodes what the other direction encodes.
                            self.sides[dir.reverse().index()]
                                .hpack
                                .set_limit(u64::from(v).max(4096));
                        }
                    }
                }
            }
            kind::RST_STREAM => {
                if let Some(mut x) = self.streams.remove(&h.stream) {
                    x.finish(cx);
                }
            }
            kind::GOAWAY => {
                if let Some((_, code, _)) = frame::goaway(p)
                    && code != 0
                {
                    cx.meta("http2.goaway", format!("error 0x{code:x}"));
                }
            }
            _ => {}
        }
    }

    fn header_fragment(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        h: &FrameHeader,
        stream: u32,
        promised: Option<u32>,
        frag: &[u8],
    ) {
        let pending = Pending {
            stream,
            promised,
            end_stream: h.has(flag::END_STREAM) && promised.is_none(),
            block: frag.to_vec(),
        };
        if h.has(flag::END_HEADERS) {
            self.header_block(cx, dir, pending);
        } else {
            self.sides[dir.index()].cont = Some(pending);
        }
    }

    fn header_block(&mut self, cx: &mut Cx<'_>, dir: Direction, p: Pending) {
        let side = &mut self.sides[dir.index()];
        if side.hpack_broken {
            return;
        }
        let fields = match side.hpack.decode(&p.block) {
            Ok(f) => f,
            Err(e) => {
                side.hpack_broken = true;
                self.anomaly_once(
                    cx,
                    "http2-hpack",
                    format!("{e}: later header blocks of this direction cannot be decoded"),
                );
                return;
            }
        };
        let id = p.promised.unwrap_or(p.stream);
        if !self.streams.contains_key(&id) {
            if self.streams.len() >= MAX_STREAMS {
                self.untracked += 1;
                return;
            }
            self.streams.insert(id, Exchange::new());
        }
        if let Some(x) = self.streams.get_mut(&id) {
            x.headers(cx, dir, &fields, &mut self.seen);
        }
        if p.end_stream {
            self.end_stream(cx, dir, p.stream);
        }
    }

    fn end_stream(&mut self, cx: &mut Cx<'_>, dir: Direction, id: u32) {
        if let Some(x) = self.streams.get_mut(&id)
            && x.end(cx, dir)
            && let Some(mut x) = self.streams.remove(&id)
        {
            x.finish(cx);
        }
    }
}

impl Dissector for Http2Dissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("http2")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        cx.with_layer(Layer::plain("http2"), |cx| self.process(cx, dir, data));
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        cx.with_layer(Layer::plain("http2"), |cx| {
            // Framing and HPACK state cannot be recovered after a hole.
            let side = &mut self.sides[dir.index()];
            side.buf.clear();
            side.cont = None;
            side.hpack_broken = true;
            side.skip = u64::MAX;
            cx.anomaly(
                "stream-gap",
                format!("{len} bytes missing; http2 stopped reading this direction"),
            );
        });
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        cx.with_layer(Layer::plain("http2"), |cx| {
            for (_, mut x) in std::mem::take(&mut self.streams) {
                x.finish(cx);
            }
            if self.untracked > 0 {
                cx.anomaly(
                    "http2-stream-cap",
                    format!("{} header blocks of streams beyond {MAX_STREAMS} concurrent ones not reported", self.untracked),
                );
            }
        });
    }
}

#[cfg(test)]
pub(crate) mod tests;
