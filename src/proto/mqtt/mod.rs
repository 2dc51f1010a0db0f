//! MQTT 3.1/3.1.1/5.0 and MQTToT (Messenger, Instagram).
//!
//! Packets are framed per direction (see [`packet`]); CONNECT gives the client
//! id, user name and whether a password crossed; PUBLISH gives the topic and
//! the payload. Payloads are message content: human text goes to
//! `cx.content`, JSON message fields too, recognised media (a JPEG, a PNG) is
//! content of class binary, zlib/gzip payloads are inflated first (MQTToT
//! compresses), and every payload also flows through an inner `mqtt-payload`
//! stream so the canary scan, other decoders and the payload classifier see
//! it: ciphertext there reads as high entropy, which is what an app-level
//! end-to-end encrypted payload looks like.

pub mod mqttot;
pub mod packet;
pub mod thrift;

use crate::evidence::{EvidenceKind, Layer, PayloadClass};
use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx, Dissector, Env, Hint, Stream};
use crate::proto::mail::{Seen, port_hint};
use crate::proto::registry::{FlowHint, ProbeInput};
use packet::{Frame, Header};
use std::borrow::Cow;
use std::io::Read;

/// Content reports per flow; later payloads still reach the payload stream.
const MAX_CONTENT: usize = 16;
/// Malformed packets tolerated before giving up on the flow.
const MAX_BAD: u32 = 4;
/// Topic aliases remembered per direction (MQTT 5), and the topic bytes kept for each.
const MAX_ALIASES: usize = 64;
const MAX_ALIAS_TOPIC: usize = 1024;

pub struct Mqtt {
    bufs: [Vec<u8>; 2],
    /// Bytes of an over-cap packet still to pass through, per direction.
    skip: [u64; 2],
    level: u8,
    mqttot: bool,
    seen: Seen,
    payloads: Option<Stream>,
    aliases: [Vec<(u16, Vec<u8>)>; 2],
    contents: usize,
    bad: u32,
    abandoned: bool,
    max_packet: usize,
    max_inflate: usize,
}

pub fn make(_: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(Mqtt::new(
        env.limits.max_message,
        env.limits.max_decompressed,
    ))
}

impl Mqtt {
    pub fn new(max_packet: usize, max_inflate: usize) -> Mqtt {
        Mqtt {
            bufs: [Vec::new(), Vec::new()],
            skip: [0; 2],
            level: 4,
            mqttot: false,
            seen: Seen::default(),
            payloads: None,
            aliases: [Vec::new(), Vec::new()],
            contents: 0,
            bad: 0,
            abandoned: false,
            max_packet,
            max_inflate,
        }
    }

    /// Frames and handles every complete packet in `data` (after what is buffered).
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Direction, mut data: &[u8]) {
        let d = dir.index();
        if self.skip[d] > 0 {
            let n = (self.skip[d].min(data.len() as u64)) as usize;
            self.payload_stream(cx, dir, &data[..n]);
            self.skip[d] -= n as u64;
            data = &data[n..];
        }
        if data.is_empty() {
            return;
        }
        // Fast path: nothing buffered, parse straight from the input.
        let mut buf = std::mem::take(&mut self.bufs[d]);
        if buf.is_empty() {
            let used = self.frames(cx, dir, data);
            buf.extend_from_slice(&data[used..]);
        } else {
            buf.extend_from_slice(data);
            let used = self.frames(cx, dir, &buf);
            buf.drain(..used);
        }
        if self.abandoned {
            buf.clear();
        }
        self.bufs[d] = buf;
    }

    /// Handles complete packets at the start of `buf`; returns the bytes used.
    fn frames(&mut self, cx: &mut Cx<'_>, dir: Direction, buf: &[u8]) -> usize {
        let d = dir.index();
        let mut off = 0;
        while off < buf.len() && !self.abandoned {
            let rest = &buf[off..];
            let h = match packet::header(rest) {
                Frame::NeedMore => break,
                Frame::Bad(why) => {
                    self.malformed(cx, why);
                    return buf.len();
                }
                Frame::Header(h) => h,
            };
            if h.len as usize > self.max_packet {
                cx.anomaly(
                    "mqtt-oversize-packet",
                    format!(
                        "a {}-byte packet exceeds the packet cap; its bytes are only scanned",
                        h.len
                    ),
                );
                let have = rest.len() as u64;
                let body = &rest[h.header_len.min(rest.len())..];
                self.payload_stream(cx, dir, body);
                if have >= h.total() {
                    off += h.total() as usize;
                    continue;
                }
                self.skip[d] = h.total() - have;
                return buf.len();
            }
            let total = h.total() as usize;
            if rest.len() < total {
                break;
            }
            self.packet(cx, dir, h, &rest[h.header_len..total]);
            off += total;
        }
        off
    }

    fn malformed(&mut self, cx: &mut Cx<'_>, why: &str) {
        self.bad += 1;
        cx.anomaly("mqtt-malformed", why.to_string());
        if self.bad >= MAX_BAD {
            self.abandoned = true;
        }
    }

    fn packet(&mut self, cx: &mut Cx<'_>, dir: Direction, h: Header, body: &[u8]) {
        let r = match h.kind {
            packet::CONNECT => self.connect(cx, dir, body),
            packet::CONNACK => {
                if let Some(code) = packet::connack(body).filter(|&c| c != 0) {
                    self.seen
                        .meta(cx, "mqtt.connack", packet::connack_reason(code));
                }
                Ok(())
            }
            packet::PUBLISH => self.publish(cx, dir, h.flags, body),
            packet::SUBSCRIBE => packet::subscribe(body, self.level == 5, 16).map(|topics| {
                for t in topics {
                    self.seen
                        .meta(cx, "mqtt.subscribe", &String::from_utf8_lossy(t));
                }
            }),
            _ => Ok(()),
        };
        if let Err(why) = r {
            self.malformed(cx, why);
        }
    }

    fn connect(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        body: &[u8],
    ) -> Result<(), &'static str> {
        let c = packet::connect(body)?;
        self.level = c.level;
        self.seen.meta(cx, "mqtt.version", &c.version());
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        if c.is_mqttot() {
            self.mqttot = true;
            cx.set_protocol("mqttot");
            if cx.out.app.is_none()
                && let Some(app) = cx.env.apps.by_signature("mqttot")
            {
                let app = app.to_string();
                cx.set_app(&app, "signature");
            }
            let info = c
                .mqttot_payload
                .and_then(|p| mqttot::decode_connect(p, self.max_inflate.min(1 << 20)));
            let Some(info) = info else {
                cx.anomaly(
                    "mqttot-connect-undecoded",
                    "the MQTToT connect payload could not be decoded",
                );
                return Ok(());
            };
            if let Some(v) = &info.client_id {
                self.seen.meta(cx, "mqtt.client_id", v);
            }
            for (key, v) in [
                ("mqttot.user_id", info.user_id.map(|i| i.to_string())),
                ("mqttot.user_agent", info.user_agent.clone()),
                ("mqttot.device_id", info.device_id.clone()),
                ("mqttot.client_type", info.client_type.clone()),
                ("mqttot.app_id", info.app_id.map(|i| i.to_string())),
            ] {
                if let Some(v) = v {
                    self.seen.meta(cx, key, &v);
                }
            }
            for (k, v) in &info.app_info {
                self.seen.meta(cx, "mqttot.app_info", &format!("{k}={v}"));
            }
            if info.secret {
                cx.credential(dir, "mqttot.password", info.user_id.map(|i| i.to_string()));
            }
            return Ok(());
        }
        if let Some(id) = c.client_id.filter(|i| !i.is_empty()) {
            self.seen.meta(cx, "mqtt.client_id", &lossy(id));
        }
        if let Some(m) = c.auth_method {
            self.seen.meta(cx, "mqtt.auth_method", &lossy(m));
        }
        let user = c.username.map(lossy);
        if c.password {
            cx.credential(dir, "mqtt.password", user);
        } else if user.is_some() {
            cx.credential(dir, "mqtt.username", user);
        }
        if let Some(t) = c.will_topic {
            self.seen.meta(cx, "mqtt.will_topic", &lossy(t));
        }
        if let Some(p) = c.will_payload {
            self.payload(cx, dir, "mqtt.will.payload", p);
        }
        Ok(())
    }

    fn publish(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        flags: u8,
        body: &[u8],
    ) -> Result<(), &'static str> {
        let p = packet::publish(flags, body, self.level == 5)?;
        let aliases = &mut self.aliases[dir.index()];
        let topic: Cow<'_, [u8]> = match (p.topic.is_empty(), p.props.topic_alias) {
            (true, Some(a)) => Cow::Owned(
                aliases
                    .iter()
                    .find(|(k, _)| *k == a)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_default(),
            ),
            (false, Some(a)) => {
                aliases.retain(|(k, _)| *k != a);
                if aliases.len() < MAX_ALIASES {
                    aliases.push((a, p.topic[..p.topic.len().min(MAX_ALIAS_TOPIC)].to_vec()));
                }
                Cow::Borrowed(p.topic)
            }
            _ => Cow::Borrowed(p.topic),
        };
        if !topic.is_empty() {
            self.seen
                .meta(cx, "mqtt.topic", &String::from_utf8_lossy(&topic));
        }
        if let Some(ct) = p.props.content_type {
            self.seen
                .meta(cx, "mqtt.content_type", &String::from_utf8_lossy(ct));
        }
        self.payload(cx, dir, "mqtt.publish.payload", p.payload);
        Ok(())
    }

    /// A message payload: undo compression, then report it.
    fn payload(&mut self, cx: &mut Cx<'_>, dir: Direction, field: &'static str, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let cap = self.max_inflate;
        if let Some(inflated) = mqttot::inflate_zlib(data, cap) {
            cx.with_layer(Layer::plain("zlib"), |cx| {
                self.plain_payload(cx, dir, field, &inflated)
            });
            return;
        }
        if data.starts_with(&[0x1f, 0x8b, 8]) {
            let mut out = Vec::new();
            let limit = cap.min(data.len().saturating_mul(1024).saturating_add(4096));
            let r = flate2::read::MultiGzDecoder::new(data)
                .take(limit as u64)
                .read_to_end(&mut out);
            if r.is_ok() || !out.is_empty() {
                cx.with_layer(Layer::plain("gzip"), |cx| {
                    self.plain_payload(cx, dir, field, &out)
                });
                return;
            }
        }
        if mqttot::looks_like_zlib(data) && self.mqttot {
            // Compressed but undecodable: unreadable here, yet not ciphertext.
            cx.anomaly(
                "mqtt-payload-undecoded",
                "a compressed payload could not be inflated",
            );
            cx.emit(
                EvidenceKind::Payload {
                    class: PayloadClass::Binary,
                    bytes: data.len() as u64,
                    entropy: 0.0,
                    printable: 0.0,
                },
                Some(dir),
                None,
            );
        }
        self.plain_payload(cx, dir, field, data);
    }

    fn plain_payload(&mut self, cx: &mut Cx<'_>, dir: Direction, field: &'static str, data: &[u8]) {
        if let Some(kind) = media_type(data) {
            // A picture or recording is message content, just not text.
            self.seen.meta(cx, "mqtt.payload_type", kind);
            if self.contents < MAX_CONTENT {
                self.contents += 1;
                cx.emit(
                    EvidenceKind::Content {
                        field: Cow::Borrowed(field),
                        class: PayloadClass::Binary,
                        len: data.len() as u64,
                        sample: Vec::new(),
                    },
                    Some(dir),
                    None,
                );
            }
        } else if self.contents < MAX_CONTENT {
            self.contents += 1;
            // JSON is structure, not prose: only its message fields are text.
            match json_message_fields(data) {
                Some(texts) => {
                    for t in texts {
                        cx.content(dir, field, t.as_bytes());
                    }
                }
                None => cx.content(dir, field, data),
            }
        }
        self.payload_stream(cx, dir, data);
    }

    fn payload_stream(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.payloads
            .get_or_insert_with(|| Stream::new(Layer::plain("mqtt-payload"), Hint::default()))
            .data(cx, dir, data);
    }
}

impl Dissector for Mqtt {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed(if self.mqttot { "mqttot" } else { "mqtt" })
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if !self.abandoned {
            self.feed(cx, dir, data);
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let d = dir.index();
        if self.skip[d] >= len {
            // The gap falls inside a packet being skipped anyway.
            self.skip[d] -= len;
            return;
        }
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; mqtt lost packet sync in this direction"),
        );
        self.bufs[d].clear();
        self.skip[d] = 0;
        // Packet boundaries are unknowable after a gap.
        self.abandoned = true;
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some(s) = &mut self.payloads {
            s.finish(cx);
        }
    }

    fn claims_payload(&self) -> bool {
        !self.abandoned
    }
}

/// Common media and document formats by their magic bytes.
pub fn media_type(d: &[u8]) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| d.get(i..i + m.len()) == Some(m);
    Some(match () {
        _ if at(0, b"\xff\xd8\xff") => "jpeg",
        _ if at(0, b"\x89PNG\r\n\x1a\n") => "png",
        _ if at(0, b"GIF87a") || at(0, b"GIF89a") => "gif",
        _ if at(0, b"RIFF") && at(8, b"WEBP") => "webp",
        _ if at(0, b"RIFF") && at(8, b"WAVE") => "wav",
        _ if at(4, b"ftyp") => "mp4",
        _ if at(0, b"%PDF-") => "pdf",
        _ if at(0, b"OggS") => "ogg",
        _ if at(0, b"#!AMR") => "amr",
        _ if at(0, b"ID3") => "mp3",
        _ if at(0, b"PK\x03\x04") => "zip",
        _ => return None,
    })
}

/// Keys that hold message text in JSON payloads.
const MESSAGE_KEYS: [&str; 7] = [
    "text", "body", "message", "msg", "content", "caption", "snippet",
];

/// String values of message-carrying keys (at most 8), or `None` when the
/// payload is not a JSON object or array.
pub fn json_message_fields(data: &[u8]) -> Option<Vec<String>> {
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'{' | b'[')) || data.len() > 256 * 1024 {
        return None;
    }
    let v = serde_json::from_slice::<serde_json::Value>(data).ok()?;
    let mut out = Vec::new();
    collect(&v, 0, &mut out);
    Some(out)
}

fn collect(v: &serde_json::Value, depth: usize, out: &mut Vec<String>) {
    if depth > 16 || out.len() >= 8 {
        return;
    }
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match v {
                    serde_json::Value::String(s)
                        if MESSAGE_KEYS.contains(&k.to_ascii_lowercase().as_str())
                            && out.len() < 8 =>
                    {
                        out.push(s.clone());
                    }
                    _ => collect(v, depth + 1, out),
                }
            }
        }
        serde_json::Value::Array(a) => {
            for v in a.iter().take(256) {
                collect(v, depth + 1, out);
            }
        }
        _ => {}
    }
}

pub fn probe(p: &ProbeInput<'_>) -> Confidence {
    let port = port_hint(p, &[1883]);
    let c = p.to_server;
    if c.is_empty() {
        return if p.to_client.is_empty() {
            Confidence::NeedMore
        } else {
            port
        };
    }
    if c[0] != 0x10 {
        return port;
    }
    let Frame::Header(h) = packet::header(c) else {
        return if c.len() < 5 {
            Confidence::NeedMore
        } else {
            port
        };
    };
    let body = &c[h.header_len.min(c.len())..];
    for name in [&b"\x00\x04MQTT"[..], b"\x00\x06MQIsdp", b"\x00\x06MQTToT"] {
        if body.starts_with(name) {
            return Confidence::Certain;
        }
        if body.len() < name.len() && name.starts_with(body) {
            return Confidence::NeedMore;
        }
    }
    port
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::mail::testkit::*;

    const CONNECT: &[u8] =
        b"\x10\x2b\x00\x04MQTT\x04\xc2\x00\x3c\x00\x13myvoiceismypassport\x00\x04user\x00\x04pass";
    const CONNACK: &[u8] = b"\x20\x02\x00\x00";
    const PUBLISH: &[u8] = b"\x30\x18\x00\x06topicXbaabaablacksheep";

    #[test]
    fn suricata_userpass_session_split_at_every_byte() {
        let mut client = CONNECT.to_vec();
        client.extend_from_slice(PUBLISH);
        client.extend_from_slice(b"\xe0\x00");
        for chunk in [usize::MAX, 5, 1] {
            let out = run_chunked(&env(&[]), 1883, &[(C, &client), (S, CONNACK)], chunk);
            assert_eq!(protocol(&out).as_deref(), Some("mqtt"));
            assert_eq!(
                credentials(&out),
                vec![("mqtt.password".into(), Some("user".into()))]
            );
            assert_eq!(meta(&out, "mqtt.client_id"), vec!["myvoiceismypassport"]);
            assert_eq!(meta(&out, "mqtt.topic"), vec!["topicX"]);
            assert_eq!(meta(&out, "mqtt.version"), vec!["3.1.1"]);
            assert_eq!(
                contents(&out),
                vec![("mqtt.publish.payload".into(), "baabaablacksheep".into())],
                "chunk {chunk}"
            );
            assert_eq!(verdict(&out), Verdict::Exposed);
            assert_secret_absent(&out, "\"pass\"");
        }
    }

    #[test]
    fn jpeg_payload_is_binary_content_never_text() {
        let mut jpeg =
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00".to_vec();
        let mut x: u32 = 1;
        jpeg.extend((0..3000).map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        }));
        let mut publish = vec![0x30];
        let rl = 2 + 6 + 1 + jpeg.len();
        publish.extend_from_slice(&[(rl as u8 & 0x7f) | 0x80, (rl >> 7) as u8]);
        publish.extend_from_slice(b"\x00\x06topicX\x00");
        publish.extend_from_slice(&jpeg);
        let mut connect = b"\x10\x13\x00\x04MQTT\x05\x82\x00\x3c\x00\x00\x00\x00\x04user".to_vec();
        connect.extend_from_slice(&publish);
        let out = run(&env(&[]), 1883, &[(C, &connect)]);
        let content: Vec<_> = out
            .evidence
            .iter()
            .filter_map(|e| match &e.kind {
                EvidenceKind::Content { class, field, .. } => Some((field.to_string(), *class)),
                _ => None,
            })
            .collect();
        assert_eq!(
            content,
            vec![("mqtt.publish.payload".to_string(), PayloadClass::Binary)]
        );
        assert_eq!(meta(&out, "mqtt.payload_type"), vec!["jpeg"]);
        let scanned: Vec<u64> = under(&out, "mqtt-payload")
            .iter()
            .filter_map(|e| match e.kind {
                EvidenceKind::Payload { bytes, .. } => Some(bytes),
                _ => None,
            })
            .collect();
        assert_eq!(
            scanned,
            vec![jpeg.len() as u64],
            "each payload byte counted once"
        );
        assert_eq!(
            credentials(&out),
            vec![("mqtt.username".into(), Some("user".into()))]
        );
        assert_eq!(meta(&out, "mqtt.version"), vec!["5.0"]);
    }

    #[test]
    fn json_and_high_entropy_payloads() {
        let json = br#"{"s":204,"x":"","success_msg":"Update not pushed for area.","message":"see you at the gate at nine"}"#;
        let mut p = vec![0x30, (2 + 4 + json.len()) as u8, 0, 4];
        p.extend_from_slice(b"a/b/");
        p.extend_from_slice(json);
        let out = run(
            &env(&[]),
            1883,
            &[
                (C, b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"),
                (S, &p),
            ],
        );
        assert_eq!(
            contents(&out),
            vec![(
                "mqtt.publish.payload".into(),
                "see you at the gate at nine".into()
            )]
        );
        // Random bytes: no content; the payload stream reads them as high entropy.
        let mut x: u64 = 7;
        let random: Vec<u8> = (0..700)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let mut p = vec![0x30, 0xe0, 0x04, 0, 1, b't'];
        p.extend_from_slice(&random[..0x260 - 3]);
        let out = run(
            &env(&[]),
            1883,
            &[
                (C, b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"),
                (C, &p),
            ],
        );
        assert!(contents(&out).is_empty());
        let classes: Vec<_> = under(&out, "mqtt-payload")
            .iter()
            .filter_map(|e| match e.kind {
                EvidenceKind::Payload { class, .. } => Some(class),
                _ => None,
            })
            .collect();
        assert_eq!(classes, vec![PayloadClass::HighEntropy]);
    }

    #[test]
    fn mqttot_connect_and_compressed_publish() {
        use std::io::Write;
        let z = |d: &[u8]| {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(d).unwrap();
            e.finish().unwrap()
        };
        let info = z(b"\x18\x03cid\x3c\x16\x54\x18\x0cOrca-Android\x00\x18\x05token\x00");
        let mut connect = vec![0x10, (12 + info.len()) as u8];
        connect.extend_from_slice(b"\x00\x06MQTToT\x03\xc2\x00\x3c");
        connect.extend_from_slice(&info);
        let msg = z(br#"{"body":"hello from messenger"}"#);
        let mut publish = vec![0x30, (2 + 5 + msg.len()) as u8, 0, 5];
        publish.extend_from_slice(b"/t_ms");
        publish.extend_from_slice(&msg);
        let out = run(
            &env(&[]),
            443,
            &[(C, &connect), (S, b"\x20\x02\x00\x00"), (S, &publish)],
        );
        assert_eq!(protocol(&out).as_deref(), Some("mqttot"));
        assert_eq!(meta(&out, "mqtt.client_id"), vec!["cid"]);
        assert_eq!(meta(&out, "mqttot.user_id"), vec!["42"]);
        assert_eq!(meta(&out, "mqttot.user_agent"), vec!["Orca-Android"]);
        assert_eq!(
            credentials(&out),
            vec![("mqttot.password".into(), Some("42".into()))]
        );
        let c: Vec<_> = out
            .evidence
            .iter()
            .filter(|e| matches!(e.kind, EvidenceKind::Content { .. }))
            .collect();
        assert_eq!(c.len(), 1);
        assert!(c[0].layers.iter().any(|l| l.name == "zlib"));
        assert_eq!(contents(&out)[0].1, "hello from messenger");
        assert_secret_absent(&out, "token");
    }

    #[test]
    fn mqtt5_topic_alias_names_later_publishes() {
        // CONNECT level 5; PUBLISH "room/1" with alias 3; PUBLISH "" with alias 3.
        let connect = b"\x10\x0d\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x00";
        let first = b"\x30\x26\x00\x06room/1\x03\x23\x00\x03hello there, this is alice";
        let second = b"\x30\x20\x00\x00\x03\x23\x00\x03and this is the second one";
        let out = run(&env(&[]), 1883, &[(C, connect), (C, first), (C, second)]);
        assert_eq!(meta(&out, "mqtt.topic"), vec!["room/1"]);
        assert_eq!(contents(&out).len(), 2, "{:?}", anomalies(&out));
    }

    #[test]
    fn oversize_and_malformed_stay_bounded() {
        let env = env(&["PS-CANARY-ZZ9"]);
        // A 2 MiB PUBLISH (over the 1 MiB cap) carrying a canary: scanned, not buffered.
        let mut big = vec![0x30, 0x80, 0x80, 0x80, 0x01];
        big.extend_from_slice(b"\x00\x01t");
        big.extend(std::iter::repeat_n(b'a', 1000));
        big.extend_from_slice(b"PS-CANARY-ZZ9");
        big.resize(5 + (2 << 20), b'b');
        let conv: &[(Direction, &[u8])] = &[
            (C, b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"),
            (C, &big),
            (C, PUBLISH),
        ];
        let out = run_chunked(&env, 1883, conv, 65536);
        assert!(anomalies(&out).contains(&"mqtt-oversize-packet".to_string()));
        assert!(
            out.evidence
                .iter()
                .any(|e| matches!(e.kind, EvidenceKind::Canary { .. }))
        );
        assert_eq!(
            meta(&out, "mqtt.topic"),
            vec!["topicX"],
            "sync kept after the big packet"
        );
        // Garbage after a valid CONNECT: anomalies, then the flow is given up.
        let out = run(
            &env,
            1883,
            &[
                (C, b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"),
                (C, &[0x0f; 64]),
            ],
        );
        assert!(anomalies(&out).contains(&"mqtt-malformed".to_string()));
    }

    /// Parser throughput: `cargo test --release --lib mqtt::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "throughput measurement, run in release"]
    fn throughput() {
        let mut wire = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00".to_vec();
        let n = 200_000;
        for i in 0..n {
            let topic = format!("home/sensor{}/state", i % 16);
            let payload = format!(
                "{{\"t\":{},\"rh\":{},\"seq\":{i},\"note\":\"{}\"}}",
                20 + i % 7,
                40 + i % 13,
                "x".repeat(i % 200)
            );
            let rl = 2 + topic.len() + payload.len();
            wire.push(0x30);
            if rl < 128 {
                wire.push(rl as u8);
            } else {
                wire.extend_from_slice(&[(rl as u8 & 0x7f) | 0x80, (rl >> 7) as u8]);
            }
            wire.extend_from_slice(&(topic.len() as u16).to_be_bytes());
            wire.extend_from_slice(topic.as_bytes());
            wire.extend_from_slice(payload.as_bytes());
        }
        let env = env(&["PS-CANARY-BENCH1"]);
        let start = std::time::Instant::now();
        let out = run_chunked(&env, 1883, &[(C, &wire)], 64 * 1024);
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(meta(&out, "mqtt.topic").len(), 8);
        println!(
            "mqtt: {} packets, {:.1} MB in {:.3} s: {:.0} MB/s, {:.2} M packets/s",
            n,
            wire.len() as f64 / 1e6,
            secs,
            wire.len() as f64 / 1e6 / secs,
            n as f64 / 1e6 / secs
        );
    }

    #[test]
    fn probe_signatures() {
        let mk = |c: &'static [u8], port| ProbeInput {
            transport: crate::model::Transport::Tcp,
            to_server: c,
            to_client: b"",
            datagrams: &[],
            client_port: 50000,
            server_port: port,
            depth: 0,
            hint: None,
        };
        assert_eq!(probe(&mk(CONNECT, 9)), Confidence::Certain);
        assert_eq!(probe(&mk(&CONNECT[..5], 9)), Confidence::NeedMore);
        assert_eq!(
            probe(&mk(b"\x10\x0c\x00\x06MQTToT", 443)),
            Confidence::Certain
        );
        assert_eq!(probe(&mk(b"\x16\x03\x01\x02\x00", 1883)), Confidence::Port);
        assert_eq!(probe(&mk(b"\x10\x0c\x00\x04HTTP", 80)), Confidence::No);
    }
}
