//! The HTTP message body decoder, shared by HTTP/1.x, HTTP/2 and HTTP/3.
//!
//! One [`Body`] per message body. Feed it the body bytes after transfer
//! framing is removed (chunked de-framed, DATA frames joined) with
//! [`Body::data`], then call [`Body::finish`] once at the end of the message.
//!
//! It removes the content codings in reverse order of application, each as a
//! nested layer named for the coding (`gzip`, `br`, `zstd`, `deflate`), with
//! output and ratio caps, and hands the decoded bytes to an inner
//! [`Stream`] at layer `http-body` (hinted by the content type), so canaries
//! are searched in the decoded body and other dissectors can claim it. On top:
//!
//! - `application/dns-message` bodies are DNS messages (DoH): parsed by the
//!   DNS dissector at layer `doh`;
//! - JSON bodies (up to 1 MiB) report string values under message-carrying
//!   keys ([`MESSAGE_KEYS`]) as `http.json.<key>` content;
//! - form bodies report the same keys as `http.form.<key>`, and a password
//!   field as an `http.form-password` credential;
//! - short `text/plain` bodies (under 4 KiB) are reported as `http.body`;
//! - bodies that start with the signature of an image, audio, video, font or
//!   archive format are classified as binary rather than probed, so a JPEG
//!   never counts as "high-entropy ciphertext".
//!
//! Content evidence is only emitted for values that read as human text:
//! precision over recall.
//!
//! HTTP/2 and HTTP/3 use it the same way: one `Body` per stream direction,
//! made from the decoded `content-encoding` and `content-type` fields, fed
//! each DATA frame's payload, finished at END_STREAM. A DoH `GET` carries its
//! query in the path instead ([`doh_query_param`], then [`doh_message`]).
//!
//! ```
//! use plainsight::evidence::canary::CanarySet;
//! use plainsight::model::{Direction, Transport};
//! use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, PacketRef};
//! use plainsight::proto::http::body::Body;
//! use plainsight::rules::apps::AppIndex;
//! use plainsight::secrets::SecretStore;
//!
//! let env = Env::new(CanarySet::default(), SecretStore::default(), AppIndex::default());
//! let flow = FlowInfo {
//!     id: 1,
//!     transport: Transport::Tcp,
//!     client: "10.0.0.2:50000".parse().unwrap(),
//!     server: "10.0.0.1:443".parse().unwrap(),
//! };
//! let mut out = Collector::default();
//! let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
//! let mut body = Body::new(None, Some("application/json"), &env.limits);
//! body.data(&mut cx, Direction::ToClient, br#"{"text": "see you at "#);
//! body.data(&mut cx, Direction::ToClient, br#"eight tonight"}"#);
//! body.finish(&mut cx);
//! assert!(out.evidence.iter().any(|e| e.kind.tag() == "content"));
//! ```

use crate::codec::compress::{Caps, CodecError, Coding, Decompressor};
use crate::evidence::canary::ScanState;
use crate::evidence::content::TextStats;
use crate::evidence::{CryptoState, Evidence, EvidenceKind, Layer, PayloadClass};
use crate::model::Direction;
use crate::proto::dissector::{Cx, Hint, Limits, Stream};
use base64::Engine;
use serde_json::Value;

/// Keys whose string values carry message text in JSON and form bodies.
pub const MESSAGE_KEYS: [&str; 6] = ["text", "body", "message", "content", "msg", "caption"];
/// Evidence field names for [`MESSAGE_KEYS`] in JSON bodies, index for index.
const JSON_FIELDS: [&str; 6] = [
    "http.json.text",
    "http.json.body",
    "http.json.message",
    "http.json.content",
    "http.json.msg",
    "http.json.caption",
];
/// Evidence field names for [`MESSAGE_KEYS`] in form bodies.
const FORM_FIELDS: [&str; 6] = [
    "http.form.text",
    "http.form.body",
    "http.form.message",
    "http.form.content",
    "http.form.msg",
    "http.form.caption",
];
/// Form keys holding a password, and keys naming the account it belongs to.
const PASSWORD_KEYS: [&str; 4] = ["password", "passwd", "pwd", "pass"];
const USER_KEYS: [&str; 5] = ["username", "user", "login", "email", "account"];

/// Largest JSON or form document analysed.
pub const MAX_DOCUMENT: usize = 1 << 20;
/// Largest `text/plain` body reported as content.
pub const MAX_TEXT: usize = 4096;
/// Largest DoH message (a DNS message has a 16-bit length).
const MAX_DOH: usize = 65535;
/// Most content items reported from one document.
const MAX_ITEMS: usize = 32;
/// Deepest JSON nesting walked.
const MAX_DEPTH: usize = 64;
/// Bytes looked at to recognise a media signature.
const SNIFF: usize = 16;

/// What the content type says the body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/dns-message`: a DoH query or answer.
    Doh,
    Json,
    Form,
    Text,
    Other,
}

impl BodyKind {
    /// Classifies a `Content-Type` value (parameters ignored).
    pub fn from_content_type(ct: Option<&str>) -> (BodyKind, Option<&'static str>) {
        let Some(ct) = ct else {
            return (BodyKind::Other, None);
        };
        let mime = ct.split(';').next().unwrap_or("").trim();
        let is = |s: &str| mime.eq_ignore_ascii_case(s);
        let ends = |s: &str| {
            mime.len() >= s.len()
                && mime
                    .get(mime.len() - s.len()..)
                    .is_some_and(|t| t.eq_ignore_ascii_case(s))
        };
        if is("application/dns-message") || is("application/dns-udpwireformat") {
            (BodyKind::Doh, Some("dns"))
        } else if is("application/json")
            || is("text/json")
            || ends("+json")
            || is("application/x-ndjson")
        {
            (BodyKind::Json, None)
        } else if is("application/x-www-form-urlencoded") {
            (BodyKind::Form, None)
        } else if is("text/plain") {
            (BodyKind::Text, None)
        } else if is("application/grpc") || ends("+proto") || is("application/grpc-web") {
            (BodyKind::Other, Some("grpc"))
        } else if is("application/x-protobuf")
            || is("application/protobuf")
            || is("application/vnd.google.protobuf")
        {
            (BodyKind::Other, Some("protobuf"))
        } else {
            (BodyKind::Other, None)
        }
    }
}

/// Recognises formats that are neither text nor ciphertext by their magic.
pub fn media_signature(b: &[u8]) -> Option<&'static str> {
    const SIGS: &[(&[u8], usize, &str)] = &[
        (b"\xff\xd8\xff", 0, "jpeg"),
        (b"\x89PNG\r\n\x1a\n", 0, "png"),
        (b"GIF8", 0, "gif"),
        (b"WEBP", 8, "webp"),
        (b"ftyp", 4, "mp4"),
        (b"OggS", 0, "ogg"),
        (b"ID3", 0, "mp3"),
        (b"\x1a\x45\xdf\xa3", 0, "webm"),
        (b"wOFF", 0, "woff"),
        (b"wOF2", 0, "woff2"),
        (b"%PDF-", 0, "pdf"),
        (b"PK\x03\x04", 0, "zip"),
        (b"\x00asm", 0, "wasm"),
    ];
    SIGS.iter()
        .find(|(m, at, _)| b.get(*at..*at + m.len()) == Some(*m))
        .map(|(_, _, name)| *name)
}

/// One content-coding stage.
struct Stage {
    dec: Decompressor,
    layer: Layer,
    /// Decoding failed before producing anything: the bytes are passed on
    /// as they are (a server that labels an uncoded body).
    passthrough: bool,
    stopped: bool,
}

/// Where decoded bytes go.
enum Sink {
    /// The first bytes, until a media signature can be ruled in or out.
    Sniff(Vec<u8>),
    Stream(Box<Stream>),
    Media {
        scan: ScanState,
        stats: TextStats,
    },
    Doh(Vec<u8>),
    /// Bytes in a coding that cannot be removed: only scanned.
    Opaque(ScanState),
}

/// A decoder for one HTTP message body. See the module documentation.
pub struct Body {
    stages: Vec<Stage>,
    kind: BodyKind,
    hint: Option<&'static str>,
    sink: Sink,
    /// The decoded document, for JSON, form and text bodies.
    doc: Vec<u8>,
    doc_cap: usize,
    doc_overflow: bool,
    /// Why the body cannot be decoded (an unsupported content coding).
    opaque: Option<String>,
    dir: Option<Direction>,
    decoded: u64,
    finished: bool,
}

impl Body {
    /// A body with the given `Content-Encoding` (applied codings, in order)
    /// and `Content-Type`. Decompression is capped by `limits.max_decompressed`.
    pub fn new(
        content_encoding: Option<&str>,
        content_type: Option<&str>,
        limits: &Limits,
    ) -> Body {
        let (kind, hint) = BodyKind::from_content_type(content_type);
        let caps = Caps::new(limits.max_decompressed as u64);
        let (codings, opaque) = match content_encoding.map(Coding::from_header) {
            None => (Vec::new(), None),
            Some(Ok(c)) => (c, None),
            Some(Err(e)) => (Vec::new(), Some(e.to_string())),
        };
        let stages = codings
            .into_iter()
            .map(|c| Stage {
                dec: Decompressor::new(c, caps),
                layer: Layer::plain(c.as_str()),
                passthrough: false,
                stopped: false,
            })
            .collect();
        let doc_cap = match kind {
            BodyKind::Json | BodyKind::Form => MAX_DOCUMENT.min(limits.max_message),
            BodyKind::Text => MAX_TEXT,
            BodyKind::Doh | BodyKind::Other => 0,
        };
        Body {
            stages,
            kind,
            hint,
            sink: if opaque.is_some() {
                Sink::Opaque(ScanState::default())
            } else if kind == BodyKind::Doh {
                Sink::Doh(Vec::new())
            } else {
                Sink::Sniff(Vec::new())
            },
            doc: Vec::new(),
            doc_cap: if opaque.is_some() { 0 } else { doc_cap },
            doc_overflow: false,
            opaque,
            dir: None,
            decoded: 0,
            finished: false,
        }
    }

    pub fn kind(&self) -> BodyKind {
        self.kind
    }

    /// Decoded bytes so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// The next bytes of the body, transfer framing removed.
    pub fn data(&mut self, cx: &mut Cx<'_>, dir: Direction, bytes: &[u8]) {
        if bytes.is_empty() || self.finished {
            return;
        }
        if self.dir.is_none() {
            self.dir = Some(dir);
            if let Some(reason) = &self.opaque {
                // The bytes cannot be looked into: say so, so that a body in an
                // unknown coding is never mistaken for ciphertext or for nothing.
                let reported = cx.out.evidence.iter().any(|e| {
                    matches!(&e.kind, EvidenceKind::Crypto { protocol, .. } if protocol == "http-content-coding")
                });
                if !reported {
                    cx.crypto(
                        "http-content-coding",
                        CryptoState::NotOpened {
                            reason: reason.clone(),
                        },
                        1,
                        0,
                    );
                }
            }
        }
        let mut errors = Vec::new();
        let mut out = Out {
            sink: &mut self.sink,
            doc: &mut self.doc,
            doc_cap: self.doc_cap,
            doc_overflow: &mut self.doc_overflow,
            decoded: &mut self.decoded,
            hint: self.hint,
        };
        push(&mut self.stages, &mut out, cx, dir, bytes, &mut errors);
        self.report_errors(cx, errors);
    }

    fn report_errors(&mut self, cx: &mut Cx<'_>, errors: Vec<(usize, CodecError)>) {
        // A stopped decoder repeats its error for every later chunk: once is enough.
        let mut done: Vec<usize> = Vec::new();
        for (i, e) in errors {
            if done.contains(&i) {
                continue;
            }
            done.push(i);
            let Some(stage) = self.stages.get_mut(i) else {
                continue;
            };
            if stage.stopped {
                continue;
            }
            if stage.passthrough {
                let detail = format!("{e}; body treated as not {}-coded", stage.dec.coding());
                anomaly_once(cx, "http-bad-coding", detail);
                continue;
            }
            stage.stopped = true;
            let code = if e.is_cap() {
                "decompression-cap"
            } else if matches!(e, CodecError::Truncated { .. }) {
                "http-body-truncated"
            } else {
                "http-bad-coding"
            };
            anomaly_once(cx, code, e.to_string());
        }
    }

    /// The body ended: flushes the decoders and the inner stream, and reports
    /// message content found in JSON, form and text documents.
    pub fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let Some(dir) = self.dir else {
            return;
        };
        // Flush the stages from the outermost coding inwards.
        let mut errors = Vec::new();
        for i in (0..self.stages.len()).rev() {
            let layers = self.stages_layers(i);
            let (inner, rest) = self.stages.split_at_mut(i);
            let Some(stage) = rest.first_mut() else {
                continue;
            };
            if stage.stopped || stage.passthrough {
                continue;
            }
            let mut out = Out {
                sink: &mut self.sink,
                doc: &mut self.doc,
                doc_cap: self.doc_cap,
                doc_overflow: &mut self.doc_overflow,
                decoded: &mut self.decoded,
                hint: self.hint,
            };
            let mut inner_errors = Vec::new();
            let mut result = Ok(());
            nest(cx, &layers, &mut |cx| {
                result = stage
                    .dec
                    .finish(&mut |chunk| push(inner, &mut out, cx, dir, chunk, &mut inner_errors));
            });
            errors.extend(inner_errors);
            if let Err(e) = result {
                errors.push((i, e));
            }
        }
        self.report_errors(cx, errors);
        let layers = self.stages_layers(0);
        self.finish_sink(cx, dir, &layers);
        self.report_document(cx, dir, &layers);
    }

    /// The coding layers from the outermost down to stage `i` (inclusive),
    /// i.e. the chain above the decoded bytes of stage `i`.
    fn stages_layers(&self, i: usize) -> Vec<Layer> {
        self.stages
            .iter()
            .skip(i)
            .rev()
            .filter(|s| !s.passthrough)
            .map(|s| s.layer.clone())
            .collect()
    }

    fn finish_sink(&mut self, cx: &mut Cx<'_>, dir: Direction, layers: &[Layer]) {
        if let Sink::Sniff(buf) = &mut self.sink
            && !buf.is_empty()
        {
            let buf = std::mem::take(buf);
            let hint = self.hint;
            let mut out = Out {
                sink: &mut self.sink,
                doc: &mut Vec::new(),
                doc_cap: 0,
                doc_overflow: &mut false,
                decoded: &mut 0,
                hint,
            };
            nest(cx, layers, &mut |cx| out.decide(cx, dir, &buf));
        }
        let sink = &mut self.sink;
        nest(cx, layers, &mut |cx| match sink {
            Sink::Stream(s) => {
                let from = cx.out.evidence.len();
                s.finish(cx);
                fold_payloads(&mut cx.out.evidence, from);
            }
            Sink::Media { scan, stats } => {
                let total = stats.total();
                if let Some(s) = stats.summary() {
                    let from = cx.out.evidence.len();
                    cx.with_layer(Layer::plain("http-body"), |cx| {
                        cx.emit(
                            EvidenceKind::Payload {
                                class: PayloadClass::Binary,
                                bytes: total,
                                entropy: s.entropy,
                                printable: s.printable,
                            },
                            Some(dir),
                            None,
                        )
                    });
                    fold_payloads(&mut cx.out.evidence, from);
                }
                scan.reset();
            }
            Sink::Doh(msg) => {
                if !msg.is_empty() {
                    doh_message(cx, dir, msg);
                }
            }
            Sink::Opaque(scan) => scan.reset(),
            Sink::Sniff(_) => {}
        });
    }

    fn report_document(&mut self, cx: &mut Cx<'_>, dir: Direction, layers: &[Layer]) {
        if self.doc.is_empty() || self.doc_overflow {
            return;
        }
        let doc = std::mem::take(&mut self.doc);
        let kind = self.kind;
        nest(cx, layers, &mut |cx| {
            cx.with_layer(Layer::plain("http-body"), |cx| match kind {
                BodyKind::Json => {
                    for (k, v) in json_messages(&doc) {
                        if looks_like_message(&v) {
                            cx.content(dir, JSON_FIELDS[k], v.as_bytes());
                        }
                    }
                }
                BodyKind::Form => report_form(cx, dir, &doc),
                BodyKind::Text => {
                    if std::str::from_utf8(&doc).is_ok_and(looks_like_message)
                        && !looks_like_protocol(&doc)
                    {
                        cx.content(dir, "http.body", &doc);
                    }
                }
                BodyKind::Doh | BodyKind::Other => {}
            })
        });
    }
}

/// The decoded-bytes end of the pipeline.
struct Out<'a> {
    sink: &'a mut Sink,
    doc: &'a mut Vec<u8>,
    doc_cap: usize,
    doc_overflow: &'a mut bool,
    decoded: &'a mut u64,
    hint: Option<&'static str>,
}

impl Out<'_> {
    fn data(&mut self, cx: &mut Cx<'_>, dir: Direction, bytes: &[u8]) {
        *self.decoded += bytes.len() as u64;
        if self.doc_cap > 0 && !*self.doc_overflow {
            if self.doc.len() + bytes.len() > self.doc_cap {
                *self.doc_overflow = true;
                *self.doc = Vec::new();
            } else {
                self.doc.extend_from_slice(bytes);
            }
        }
        match self.sink {
            Sink::Sniff(buf) => {
                buf.extend_from_slice(bytes);
                if buf.len() >= SNIFF {
                    let buf = std::mem::take(buf);
                    self.decide(cx, dir, &buf);
                }
            }
            _ => self.deliver(cx, dir, bytes),
        }
    }

    /// Chooses the sink from the first bytes, then delivers them.
    fn decide(&mut self, cx: &mut Cx<'_>, dir: Direction, first: &[u8]) {
        *self.sink = if media_signature(first).is_some() {
            Sink::Media {
                scan: ScanState::default(),
                stats: TextStats::default(),
            }
        } else {
            Sink::Stream(Box::new(Stream::new(
                Layer::plain("http-body"),
                Hint {
                    protocol: self.hint,
                },
            )))
        };
        self.deliver(cx, dir, first);
    }

    fn deliver(&mut self, cx: &mut Cx<'_>, dir: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        match self.sink {
            Sink::Stream(s) => s.data(cx, dir, bytes),
            Sink::Media { scan, stats } => {
                stats.feed(bytes);
                cx.with_layer(Layer::plain("http-body"), |cx| cx.scan(scan, dir, bytes));
            }
            Sink::Doh(buf) => {
                let room = MAX_DOH.saturating_sub(buf.len());
                buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            Sink::Opaque(scan) => {
                cx.with_layer(Layer::plain("http-body"), |cx| cx.scan(scan, dir, bytes));
            }
            Sink::Sniff(_) => {}
        }
    }
}

/// Folds payload classifications added from index `from` on into an earlier
/// one with the same layers, direction and class: a connection with thousands
/// of bodies keeps one classification per kind instead of crowding message
/// content out of the per-flow evidence cap.
fn fold_payloads(evidence: &mut Vec<Evidence>, from: usize) {
    let mut i = from;
    while i < evidence.len() {
        let (head, tail) = evidence.split_at_mut(i);
        let new = &tail[0];
        let target = match new.kind {
            EvidenceKind::Payload { class, bytes, .. } => head[..from]
                .iter_mut()
                .find(|e| {
                    e.dir == new.dir
                        && e.layers == new.layers
                        && matches!(e.kind, EvidenceKind::Payload { class: c, .. } if c == class)
                })
                .map(|e| (e, bytes)),
            _ => None,
        };
        match target {
            Some((e, add)) => {
                if let EvidenceKind::Payload { bytes, .. } = &mut e.kind {
                    *bytes += add;
                }
                evidence.remove(i);
            }
            None => i += 1,
        }
    }
}

/// Runs `input` through the coding stages (outermost last in `stages`),
/// each under its own layer, into `out`.
fn push(
    stages: &mut [Stage],
    out: &mut Out<'_>,
    cx: &mut Cx<'_>,
    dir: Direction,
    input: &[u8],
    errors: &mut Vec<(usize, CodecError)>,
) {
    let idx = stages.len().wrapping_sub(1);
    let Some((last, rest)) = stages.split_last_mut() else {
        out.data(cx, dir, input);
        return;
    };
    if last.stopped {
        return;
    }
    if last.passthrough {
        push(rest, out, cx, dir, input, errors);
        return;
    }
    let layer = last.layer.clone();
    let mut inner_errors = Vec::new();
    let r = cx.with_layer(layer, |cx| {
        last.dec.feed(input, &mut |chunk| {
            push(rest, out, cx, dir, chunk, &mut inner_errors)
        })
    });
    errors.extend(inner_errors);
    if let Err(e) = r {
        let nothing_out = last.dec.total_out() == 0;
        errors.push((idx, e.clone()));
        if nothing_out && matches!(e, CodecError::Corrupt { .. }) {
            // Not coded after all: pass this piece on as it is.
            last.passthrough = true;
            push(rest, out, cx, dir, input, errors);
        }
    }
}

/// An anomaly, unless the flow already has one with this code: a connection
/// with many bad bodies says so once.
fn anomaly_once(cx: &mut Cx<'_>, code: &'static str, detail: String) {
    let seen = cx
        .out
        .evidence
        .iter()
        .any(|e| matches!(&e.kind, EvidenceKind::Anomaly { code: c, .. } if c == code));
    if !seen {
        cx.anomaly(code, detail);
    }
}

/// Runs `f` under `layers`, outermost first.
fn nest(cx: &mut Cx<'_>, layers: &[Layer], f: &mut dyn FnMut(&mut Cx<'_>)) {
    match layers.split_first() {
        None => f(cx),
        Some((l, rest)) => cx.with_layer(l.clone(), |cx| nest(cx, rest, f)),
    }
}

/// One DoH message: parsed by the DNS dissector at layer `doh`.
pub fn doh_message(cx: &mut Cx<'_>, dir: Direction, msg: &[u8]) {
    let already = cx.out.evidence.iter().any(|e| {
        matches!(&e.kind, EvidenceKind::Metadata { key, value } if key == "dns.transport" && value == "doh")
    });
    if !already {
        cx.meta("dns.transport", "doh");
    }
    let mut s = Stream::datagrams(
        Layer::plain("doh"),
        Hint {
            protocol: Some("dns"),
        },
    );
    s.data(cx, dir, msg);
    s.finish(cx);
}

/// The DNS message of a DoH GET (`?dns=` base64url, RFC 8484 §4.1), if the
/// request target carries one.
pub fn doh_query_param(target: &str) -> Option<Vec<u8>> {
    let query = target.split_once('?')?.1;
    let value = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("dns="))?
        .trim_end_matches('=');
    let msg = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    (msg.len() >= 12 && crate::proto::dns::parse::parse(&msg).is_ok()).then_some(msg)
}

/// Whether a value is worth judging as a message: several words, or letters
/// of a script written without spaces. Single tokens are identifiers far more
/// often than messages.
pub fn looks_like_message(s: &str) -> bool {
    let t = s.trim();
    t.split_whitespace().nth(1).is_some() || t.chars().any(|c| !c.is_ascii() && c.is_alphabetic())
}

/// Whether text is protocol or configuration rather than prose: an HTTP-style
/// start line or `Name: value` header lines (robots.txt, SIP, STOMP, mail heads).
pub fn looks_like_protocol(text: &[u8]) -> bool {
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    if first.windows(6).any(|w| w == b" HTTP/" || w == b"HTTP/1") {
        return true;
    }
    let header = |l: &[u8]| {
        l.iter().position(|&b| b == b':').is_some_and(|i| {
            i > 0
                && l[..i]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
    };
    text.split(|&b| b == b'\n')
        .take(4)
        .filter(|l| header(l))
        .count()
        >= 2
}

/// String values under [`MESSAGE_KEYS`] in a JSON document (or in each line of
/// a newline-delimited one), as (key index, value); bounded in count and depth.
pub fn json_messages(doc: &[u8]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    match serde_json::from_slice::<Value>(doc) {
        Ok(v) => walk(&v, 0, &mut found),
        Err(_) => {
            for line in doc.split(|&b| b == b'\n') {
                if found.len() >= MAX_ITEMS {
                    break;
                }
                if let Ok(v) = serde_json::from_slice::<Value>(line) {
                    walk(&v, 0, &mut found);
                }
            }
        }
    }
    found
}

fn walk(v: &Value, depth: usize, found: &mut Vec<(usize, String)>) {
    if depth > MAX_DEPTH || found.len() >= MAX_ITEMS {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                if let (Some(i), Value::String(s)) = (MESSAGE_KEYS.iter().position(|m| m == k), val)
                    && found.len() < MAX_ITEMS
                {
                    found.push((i, s.clone()));
                }
                walk(val, depth + 1, found);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, depth + 1, found);
            }
        }
        _ => {}
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs.
pub fn form_pairs(doc: &[u8]) -> Vec<(String, String)> {
    doc.split(|&b| b == b'&')
        .filter(|kv| !kv.is_empty())
        .take(256)
        .map(|kv| {
            let mut it = kv.splitn(2, |&b| b == b'=');
            let k = percent_decode(it.next().unwrap_or_default());
            let v = percent_decode(it.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

/// Percent-decoding with `+` as space; invalid escapes are kept as they are.
pub fn percent_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn report_form(cx: &mut Cx<'_>, dir: Direction, doc: &[u8]) {
    let pairs = form_pairs(doc);
    let mut reported = 0;
    for (k, v) in &pairs {
        if let Some(i) = MESSAGE_KEYS.iter().position(|m| m.eq_ignore_ascii_case(k))
            && reported < MAX_ITEMS
            && looks_like_message(v)
        {
            reported += 1;
            cx.content(dir, FORM_FIELDS[i], v.as_bytes());
        }
    }
    let has_password = pairs
        .iter()
        .any(|(k, v)| !v.is_empty() && PASSWORD_KEYS.iter().any(|p| p.eq_ignore_ascii_case(k)));
    if has_password {
        let user = pairs
            .iter()
            .find(|(k, v)| !v.is_empty() && USER_KEYS.iter().any(|u| u.eq_ignore_ascii_case(k)))
            .map(|(_, v)| v.chars().take(64).collect());
        cx.credential(dir, "http.form-password", user);
    }
}
