//! WebSocket (RFC 6455) with permessage-deflate (RFC 7692).
//!
//! Started by the HTTP dissector after an `Upgrade: websocket` request and its
//! `101` response, with the negotiated extensions and subprotocol, and driven
//! under a `websocket` layer. Frames are parsed per direction; client frames
//! are unmasked under a `ws-mask` layer (masking is keyless: anything under it
//! is as exposed as plaintext); fragmented messages are reassembled (capped);
//! compressed messages are inflated under a `deflate` layer with one inflater
//! per direction that keeps its window across messages unless
//! `*_no_context_takeover` was negotiated.
//!
//! Binary messages go to an inner [`Stream`] at layer `ws-message` (hinted by
//! the subprotocol), so MQTT or protobuf over WebSocket are probed by their
//! own dissectors and canaries are searched in the unmasked bytes; text
//! messages join them when the subprotocol names a dissector (`xmpp`, `sip`,
//! `mqtt`), and are otherwise scanned and classified at the same layer here.
//! Text messages are also judged here: SIP (RFC 7118) `MESSAGE` bodies as
//! `sip.message`, JSON message keys as `websocket.json.<key>`, and other
//! prose as `websocket.text` (text that looks like protocol headers is left
//! out).

pub mod frame;
pub mod sip;

use crate::codec::compress::{Caps, Decompressor};
use crate::evidence::canary::ScanState;
use crate::evidence::content::TextStats;
use crate::evidence::{EvidenceKind, Layer};
use crate::model::Direction;
use crate::proto::dissector::{Cx, Dissector, Hint, Limits, Stream};
use crate::proto::http::body::{
    MESSAGE_KEYS, json_messages, looks_like_message, looks_like_protocol,
};
use crate::proto::http::seen::Seen;
use frame::{FrameHeader, MAX_HEADER, op};
use std::borrow::Cow;

/// Evidence fields for JSON message keys in text messages, index for index
/// with [`MESSAGE_KEYS`].
const JSON_FIELDS: [&str; 6] = [
    "websocket.json.text",
    "websocket.json.body",
    "websocket.json.message",
    "websocket.json.content",
    "websocket.json.msg",
    "websocket.json.caption",
];
const _: () = assert!(JSON_FIELDS.len() == MESSAGE_KEYS.len());

/// The tail a permessage-deflate sender strips from each message (RFC 7692 §7.2.2).
const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Most distinct values per metadata key and flow.
const MAX_PER_KEY: u16 = 8;

/// Subprotocols (`Sec-WebSocket-Protocol`) that name a dissector.
fn subprotocol_hint(p: &str) -> Option<&'static str> {
    let p = p.trim().to_ascii_lowercase();
    match p.as_str() {
        "mqtt" | "mqttv3.1" | "mqttv3.1.1" | "mqttv5" => Some("mqtt"),
        "sip" => Some("sip"),
        "xmpp" => Some("xmpp"),
        _ => None,
    }
}

/// One frame whose payload is arriving.
#[derive(Debug)]
struct Frame {
    h: FrameHeader,
    got: u64,
}

/// A data message being reassembled.
#[derive(Debug)]
struct Msg {
    opcode: u8,
    compressed: bool,
    masked: bool,
    data: Vec<u8>,
    overflow: bool,
    /// Decompression failed: the message is not delivered.
    broken: bool,
}

#[derive(Default)]
struct Side {
    hdr: Vec<u8>,
    frame: Option<Frame>,
    msg: Option<Msg>,
    control: Vec<u8>,
    inflater: Option<Decompressor>,
    /// The inflate window was lost (an error with context takeover):
    /// later compressed messages cannot be decoded.
    inflate_lost: bool,
    dead: bool,
    messages: u64,
}

/// Canary scan and classification of one direction's text messages.
#[derive(Default)]
struct TextSide {
    scan: ScanState,
    stats: TextStats,
}

/// The WebSocket dissector for one upgraded connection.
pub struct WebSocket {
    sides: [Side; 2],
    /// permessage-deflate negotiated, and per direction whether the window
    /// is reset after each message.
    deflate: bool,
    no_context: [bool; 2],
    /// Binary messages (and text ones when the subprotocol names a dissector).
    inner: Stream,
    /// The subprotocol's dissector, if any.
    hint: Option<&'static str>,
    /// Text messages no dissector was announced for: scanned and classified here.
    text: [TextSide; 2],
    seen: Seen,
    max_message: usize,
    caps: Caps,
    warned_rsv: bool,
}

impl WebSocket {
    /// A connection with the `Sec-WebSocket-Extensions` and
    /// `Sec-WebSocket-Protocol` values of the 101 response.
    pub fn new(extensions: Option<&str>, subprotocol: Option<&str>, limits: &Limits) -> WebSocket {
        let mut deflate = false;
        let mut no_context = [false; 2];
        for ext in extensions.unwrap_or_default().split(',') {
            let mut params = ext.split(';').map(str::trim);
            if !params
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case("permessage-deflate"))
            {
                continue;
            }
            deflate = true;
            for p in params {
                let key = p.split('=').next().unwrap_or_default().trim();
                if key.eq_ignore_ascii_case("client_no_context_takeover") {
                    no_context[Direction::ToServer.index()] = true;
                } else if key.eq_ignore_ascii_case("server_no_context_takeover") {
                    no_context[Direction::ToClient.index()] = true;
                }
            }
        }
        let hint = subprotocol.and_then(|s| s.split(',').find_map(subprotocol_hint));
        WebSocket {
            sides: Default::default(),
            deflate,
            no_context,
            inner: Stream::new(Layer::plain("ws-message"), Hint { protocol: hint }),
            hint,
            text: Default::default(),
            seen: Seen::default(),
            max_message: limits.max_message,
            caps: Caps::new(limits.max_decompressed as u64),
            warned_rsv: false,
        }
    }

    /// Complete data messages seen in a direction.
    pub fn messages(&self, dir: Direction) -> u64 {
        self.sides[dir.index()].messages
    }

    /// An anomaly, reported once per code and flow.
    fn anomaly(&mut self, cx: &mut Cx<'_>, code: &'static str, detail: impl Into<String>) {
        if self.seen.first("anomaly", code, 32) {
            cx.anomaly(code, detail.into());
        }
    }

    fn fail(&mut self, cx: &mut Cx<'_>, dir: Direction, why: impl Into<String>) {
        let side = &mut self.sides[dir.index()];
        side.dead = true;
        side.frame = None;
        side.msg = None;
        self.anomaly(cx, "websocket-framing", why.into());
    }

    fn start_frame(&mut self, cx: &mut Cx<'_>, dir: Direction, h: FrameHeader) {
        let d = dir.index();
        if h.rsv & 0x3 != 0 && !self.warned_rsv {
            self.warned_rsv = true;
            self.anomaly(
                cx,
                "websocket-rsv",
                "RSV2/RSV3 set: an unknown extension is in use",
            );
        }
        if h.is_control() {
            self.sides[d].control.clear();
        } else if h.opcode == op::CONTINUATION {
            if self.sides[d].msg.is_none() {
                self.anomaly(
                    cx,
                    "websocket-framing",
                    "continuation frame without a message",
                );
            }
        } else {
            if self.sides[d].msg.take().is_some() {
                self.anomaly(
                    cx,
                    "websocket-framing",
                    "new message before the previous one ended",
                );
            }
            let compressed = h.rsv1();
            if compressed && !self.deflate && !self.warned_rsv {
                self.warned_rsv = true;
                self.anomaly(
                    cx,
                    "websocket-rsv",
                    "RSV1 set without negotiated permessage-deflate; inflating anyway",
                );
            }
            let side = &mut self.sides[d];
            if compressed {
                if side.inflater.is_none() || self.no_context[d] {
                    side.inflater = Some(Decompressor::raw_deflate(self.caps));
                }
                if let Some(inf) = &mut side.inflater {
                    inf.restart_budget();
                }
            }
            side.msg = Some(Msg {
                opcode: h.opcode,
                compressed,
                masked: h.mask.is_some(),
                data: Vec::new(),
                overflow: false,
                broken: compressed && side.inflate_lost && !self.no_context[d],
            });
        }
        self.sides[d].frame = Some(Frame { h, got: 0 });
    }

    /// Unmasked payload bytes of the current frame.
    fn frame_data(&mut self, cx: &mut Cx<'_>, dir: Direction, is_control: bool, payload: &[u8]) {
        let d = dir.index();
        let max = self.max_message;
        let side = &mut self.sides[d];
        if is_control {
            let room = 125usize.saturating_sub(side.control.len());
            side.control
                .extend_from_slice(&payload[..payload.len().min(room)]);
            return;
        }
        let Some(msg) = &mut side.msg else {
            return;
        };
        if msg.broken {
            return;
        }
        let mut overflowed = false;
        let mut append = |data: &mut Vec<u8>, overflow: &mut bool, chunk: &[u8]| {
            let room = max.saturating_sub(data.len());
            if chunk.len() > room {
                if !*overflow {
                    overflowed = true;
                }
                *overflow = true;
            }
            data.extend_from_slice(&chunk[..chunk.len().min(room)]);
        };
        if msg.compressed {
            let Some(inf) = &mut side.inflater else {
                return;
            };
            let (data, overflow) = (&mut msg.data, &mut msg.overflow);
            if let Err(e) = inf.feed(payload, &mut |c| append(data, overflow, c)) {
                msg.broken = true;
                side.inflate_lost = true;
                side.inflater = None;
                self.anomaly(cx, "websocket-inflate", e.to_string());
            }
        } else {
            append(&mut msg.data, &mut msg.overflow, payload);
        }
        if overflowed {
            self.anomaly(
                cx,
                "websocket-message-too-large",
                format!("message longer than {max} bytes; the rest is not inspected"),
            );
        }
    }

    fn end_frame(&mut self, cx: &mut Cx<'_>, dir: Direction, h: FrameHeader) {
        let d = dir.index();
        if h.is_control() {
            if h.opcode == op::CLOSE {
                let c = &self.sides[d].control;
                if let Some(&[hi, lo]) = c.get(..2) {
                    let code = u16::from_be_bytes([hi, lo]).to_string();
                    if self.seen.first("websocket.close", &code, MAX_PER_KEY) {
                        cx.meta("websocket.close", code);
                    }
                }
            }
            return;
        }
        if h.fin
            && let Some(mut msg) = self.sides[d].msg.take()
        {
            if msg.compressed && !msg.broken {
                let side = &mut self.sides[d];
                if let Some(inf) = &mut side.inflater {
                    let max = self.max_message;
                    let data = &mut msg.data;
                    if let Err(e) = inf.feed(&DEFLATE_TAIL, &mut |c| {
                        let room = max.saturating_sub(data.len());
                        data.extend_from_slice(&c[..c.len().min(room)]);
                    }) {
                        msg.broken = true;
                        side.inflate_lost = true;
                        side.inflater = None;
                        self.anomaly(cx, "websocket-inflate", e.to_string());
                    }
                }
                if self.no_context[d] {
                    self.sides[d].inflater = None;
                }
            }
            self.deliver(cx, dir, msg);
        }
    }

    /// A complete message: into the inner stream, then text handling.
    fn deliver(&mut self, cx: &mut Cx<'_>, dir: Direction, msg: Msg) {
        if msg.broken {
            return;
        }
        self.sides[dir.index()].messages += 1;
        let mut layers = Vec::with_capacity(2);
        if msg.masked {
            layers.push(Layer::keyless("ws-mask"));
        }
        if msg.compressed {
            layers.push(Layer::plain("deflate"));
        }
        // Text goes to the inner stream only when the subprotocol announced a
        // dissector (XMPP, SIP, MQTT): otherwise probing would mistake text
        // such as Kaazing's embedded HTTP handshake for the flow's protocol.
        let probe = msg.opcode != op::TEXT || self.hint.is_some();
        let inner = &mut self.inner;
        let text = &mut self.text[dir.index()];
        let seen = &mut self.seen;
        nest(cx, &layers, &mut |cx| {
            if probe {
                inner.data(cx, dir, &msg.data);
            } else {
                text.stats.feed(&msg.data);
                cx.with_layer(Layer::plain("ws-message"), |cx| {
                    cx.scan(&mut text.scan, dir, &msg.data)
                });
            }
            if msg.opcode == op::TEXT {
                report_text(cx, seen, dir, &msg.data);
            }
        });
    }
}

/// Runs `f` under `layers`, outermost first.
fn nest(cx: &mut Cx<'_>, layers: &[Layer], f: &mut dyn FnMut(&mut Cx<'_>)) {
    match layers.split_first() {
        None => f(cx),
        Some((l, rest)) => cx.with_layer(l.clone(), |cx| nest(cx, rest, f)),
    }
}

/// A text message: SIP, JSON with message keys, or prose.
fn report_text(cx: &mut Cx<'_>, seen: &mut Seen, dir: Direction, msg: &[u8]) {
    if let Some(s) = sip::parse(msg) {
        for (key, v) in [
            ("sip.from", &s.from),
            ("sip.to", &s.to),
            ("sip.user-agent", &s.user_agent),
        ] {
            if let Some(v) = v
                && seen.first(key, v, MAX_PER_KEY)
            {
                cx.meta(key, v.clone());
            }
        }
        if let Some(u) = &s.digest_user
            && seen.first("sip.digest", u, MAX_PER_KEY)
        {
            cx.credential(dir, "sip.digest", Some(u.clone()));
        }
        if let Some(text) = s.message_text() {
            cx.content(dir, "sip.message", text);
        }
        return;
    }
    let trimmed = msg.trim_ascii_start();
    if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
        for (k, v) in json_messages(msg) {
            if looks_like_message(&v) {
                cx.content(dir, JSON_FIELDS[k], v.as_bytes());
            }
        }
        return;
    }
    if let Ok(s) = std::str::from_utf8(msg)
        && looks_like_message(s)
        && !looks_like_protocol(msg)
    {
        cx.content(dir, "websocket.text", msg);
    }
}

impl Dissector for WebSocket {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("websocket")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        let mut pos = 0;
        while pos < data.len() && !self.sides[d].dead {
            let rest = &data[pos..];
            let Some(fr) = &self.sides[d].frame else {
                // A frame header, possibly split across calls.
                let side = &mut self.sides[d];
                let before = side.hdr.len();
                let take = rest.len().min(MAX_HEADER - before);
                side.hdr.extend_from_slice(&rest[..take]);
                match frame::parse_header(&side.hdr) {
                    Err(e) => self.fail(cx, dir, e.0),
                    Ok(None) => pos += take,
                    Ok(Some(h)) => {
                        pos += h.header_len - before;
                        side.hdr.clear();
                        self.start_frame(cx, dir, h);
                        if h.len == 0 {
                            self.sides[d].frame = None;
                            self.end_frame(cx, dir, h);
                        }
                    }
                }
                continue;
            };
            let (h, got) = (fr.h, fr.got);
            let n = usize::try_from(h.len - got)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let chunk = &rest[..n];
            pos += n;
            match h.mask {
                Some(key) => {
                    let mut payload = chunk.to_vec();
                    frame::unmask(&mut payload, key, got);
                    self.frame_data(cx, dir, h.is_control(), &payload);
                }
                None => self.frame_data(cx, dir, h.is_control(), chunk),
            }
            let done = got + n as u64 == h.len;
            if done {
                self.sides[d].frame = None;
                self.end_frame(cx, dir, h);
            } else if let Some(fr) = &mut self.sides[d].frame {
                fr.got += n as u64;
            }
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        self.fail(cx, dir, format!("{len} bytes missing; frames lost"));
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let d = dir.index();
            if let Some(msg) = self.sides[d].msg.take()
                && !msg.data.is_empty()
            {
                self.anomaly(cx, "websocket-truncated", "the last message was cut short");
                self.deliver(cx, dir, msg);
            }
        }
        self.inner.finish(cx);
        for dir in [Direction::ToServer, Direction::ToClient] {
            let t = &self.text[dir.index()];
            if let Some(s) = t.stats.summary() {
                let bytes = t.stats.total();
                cx.with_layer(Layer::plain("ws-message"), |cx| {
                    cx.emit(
                        EvidenceKind::Payload {
                            class: s.class,
                            bytes,
                            entropy: s.entropy,
                            printable: s.printable,
                        },
                        Some(dir),
                        None,
                    )
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
