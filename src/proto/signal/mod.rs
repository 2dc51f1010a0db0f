//! Signal: attribution comes from server names (the app profile); this
//! module reads the chat service's WebSocket messages when the TLS layer has
//! been opened (an instrumented client, a test fixture).
//!
//! Every message the server pushes is an `Envelope`; when its content is a
//! libsignal ciphertext (`0x33`/`0x44` SignalMessage or PreKeySignalMessage,
//! `0x11`/`0x22`/`0x23` sealed sender) the flow carries a known end-to-end
//! envelope, which is what lets the verdict say `sealed` once the transport
//! itself was opened with keys. Content that is not such a ciphertext is
//! reported as message content.

pub mod messages;
pub mod pb;

use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use messages::WsMessage;
use std::borrow::Cow;

/// Paths only Signal's chat service uses.
fn signal_path(path: &str) -> bool {
    path == "/api/v1/message"
        || path == "/api/v1/queue/empty"
        || path.starts_with("/v1/messages")
        || path.starts_with("/v1/keepalive")
        || path.starts_with("/v1/websocket")
        || path.starts_with("/v2/keys")
}

/// Length of the first WebSocketMessage at the front of a byte stream
/// (`type` then `request`/`response`, in field order). `Ok(None)`: need more.
fn split(b: &[u8]) -> Result<Option<usize>, ()> {
    match b {
        [] | [0x08] => return Ok(None),
        [0x08, 1 | 2, ..] => {}
        _ => return Err(()),
    }
    let Some(&tag) = b.get(2) else {
        return Ok(None);
    };
    if tag != 0x12 && tag != 0x1a {
        return Err(());
    }
    match pb::varint(&b[3..]) {
        Some((len, n)) => {
            let total = 3usize
                .checked_add(n)
                .and_then(|x| x.checked_add(usize::try_from(len).ok()?))
                .ok_or(())?;
            Ok((b.len() >= total).then_some(total))
        }
        None if b.len() >= 13 => Err(()),
        None => Ok(None),
    }
}

/// Signal WebSocket messages inside an opened layer (never on a raw flow).
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.depth == 0 {
        return Confidence::No;
    }
    let b = input.first();
    match split(b) {
        Err(()) => Confidence::No,
        Ok(None) if b.len() < 4096 => Confidence::NeedMore,
        Ok(None) => Confidence::No,
        Ok(Some(n)) => match messages::parse_ws(&b[..n]) {
            Some(WsMessage::Request { path, .. }) if signal_path(path) => Confidence::Certain,
            Some(_) => Confidence::Likely,
            None => Confidence::No,
        },
    }
}

pub fn make(_hint: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(SignalDissector::new(env.limits.max_message))
}

/// The chat service's WebSocket messages, one direction at a time.
pub struct SignalDissector {
    max: usize,
    buf: [Vec<u8>; 2],
    broken: [bool; 2],
    attributed: bool,
    seen: Vec<(&'static str, String)>,
}

impl SignalDissector {
    pub fn new(max: usize) -> SignalDissector {
        SignalDissector {
            max,
            buf: Default::default(),
            broken: [false; 2],
            attributed: false,
            seen: Vec::new(),
        }
    }

    fn once(&mut self, cx: &mut Cx<'_>, key: &'static str, value: String) {
        if self.seen.len() < 32 && !self.seen.iter().any(|(k, v)| *k == key && *v == value) {
            self.seen.push((key, value.clone()));
            cx.meta(key, value);
        }
    }

    fn message(&mut self, cx: &mut Cx<'_>, dir: Direction, m: &[u8]) {
        let Some(ws) = messages::parse_ws(m) else {
            cx.anomaly("signal-websocket", "message is not a WebSocketMessage");
            return;
        };
        let WsMessage::Request { verb, path, body } = ws else {
            return;
        };
        if signal_path(path) && !self.attributed {
            self.attributed = true;
            if let Some(app) = cx.env.apps.by_signature("signal-websocket") {
                let app = app.to_string();
                cx.set_app(&app, "signature");
            }
        }
        // Paths of /v1/messages/{service id} name the recipient: keep the route only.
        let route = if path.starts_with("/v1/messages/") {
            "/v1/messages/{id}"
        } else {
            path.split('?').next().unwrap_or(path)
        };
        self.once(cx, "signal.request", format!("{verb} {route}"));
        let Some(body) = body else { return };
        if path == "/api/v1/message" {
            match messages::parse_envelope(body) {
                Some(e) => self.envelope(cx, dir, e.kind, e.content, e.is_e2e(), e.source_visible),
                None => cx.content(dir, "signal.envelope", body),
            }
        } else if path.starts_with("/v1/messages") {
            for (kind, content) in messages::outgoing(body) {
                let e = messages::Envelope {
                    kind,
                    content: Some(&content),
                    source_visible: false,
                };
                let e2e = e.is_e2e();
                self.envelope(cx, dir, kind, Some(&content), e2e, false);
            }
        }
    }

    fn envelope(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        kind: u64,
        content: Option<&[u8]>,
        e2e: bool,
        source_visible: bool,
    ) {
        self.once(
            cx,
            "signal.envelope-type",
            messages::envelope_type_name(kind).to_string(),
        );
        if source_visible {
            self.once(cx, "signal.sealed-sender", "no".to_string());
        } else if kind == 6 {
            self.once(cx, "signal.sealed-sender", "yes".to_string());
        }
        match content {
            Some(_) if e2e => cx.e2e(dir, "signal"),
            Some(c) => cx.content(dir, "signal.envelope.content", c),
            None => {}
        }
    }
}

impl Dissector for SignalDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("signal-websocket")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if self.broken[d] {
            return;
        }
        self.buf[d].extend_from_slice(data);
        loop {
            match split(&self.buf[d]) {
                Ok(Some(n)) => {
                    let m: Vec<u8> = self.buf[d].drain(..n).collect();
                    self.message(cx, dir, &m);
                }
                Ok(None) if self.buf[d].len() <= self.max => break,
                _ => {
                    self.broken[d] = true;
                    self.buf[d].clear();
                    cx.anomaly(
                        "signal-websocket",
                        format!(
                            "{}: stream is not a sequence of WebSocketMessages",
                            dir.as_str()
                        ),
                    );
                    break;
                }
            }
        }
    }

    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.message(cx, dir, data);
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let d = dir.index();
        self.broken[d] = true;
        self.buf[d].clear();
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; Signal message framing lost"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::messages::build;
    use super::*;
    use crate::evidence::canary::{Canary, CanarySet};
    use crate::evidence::provenance::KeySource;
    use crate::evidence::{CryptoState, Layer};
    use crate::model::{Transport, Verdict};
    use crate::proto::dissector::{Collector, Hint, PacketRef, Stream};
    use crate::proto::rtc::testkit::*;

    /// Runs WebSocket payloads as if TLS had been opened with a key log and
    /// the WebSocket layer had handed on its binary messages as a byte stream.
    fn opened(env: &Env, items: &[(Direction, Vec<u8>)]) -> Collector {
        let f = flow(Transport::Tcp, "10.0.0.2:50000", "13.248.212.111:443");
        let mut out = Collector::default();
        {
            let mut cx = Cx::new(env, &f, &mut out, PacketRef::default());
            cx.with_layer(Layer::plain("tcp"), |cx| {
                cx.crypto("tls1.3", CryptoState::Opened, 12, 12);
                cx.with_layer(Layer::keyed("tls1.3", KeySource::KeyLog), |cx| {
                    let mut s = Stream::new(Layer::plain("websocket"), Hint::default());
                    for (dir, b) in items {
                        s.data(cx, *dir, b);
                    }
                    s.finish(cx);
                });
            });
        }
        out
    }

    fn signal_message() -> Vec<u8> {
        build::signal_message(&[0xa7; 64])
    }

    fn sealed_v2() -> Vec<u8> {
        let mut v2 = vec![0x22];
        v2.extend((0u8..120).map(|i| i.wrapping_mul(151).wrapping_add(17)));
        v2
    }

    #[test]
    fn e2e_envelopes_under_an_opened_transport_are_sealed() {
        let env = env();
        let push = build::request(
            "PUT",
            "/api/v1/message",
            &build::envelope(1, &signal_message()),
            1,
        );
        let sealed = build::request(
            "PUT",
            "/api/v1/message",
            &build::envelope(6, &sealed_v2()),
            2,
        );
        let mut stream = push.clone();
        stream.extend(&sealed);
        // Split mid-message, as TLS records would.
        let c = opened(
            &env,
            &[down(stream[..50].to_vec()), down(stream[50..].to_vec())],
        );
        assert_eq!(app(&c), Some(("signal", "signature")));
        assert_eq!(meta(&c, "signal.request"), vec!["PUT /api/v1/message"]);
        assert_eq!(
            meta(&c, "signal.envelope-type"),
            vec!["ciphertext", "unidentified-sender"]
        );
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::Sealed, "{}", d.reason);
        assert!(
            d.reason.contains("signal end-to-end envelope"),
            "{}",
            d.reason
        );
    }

    /// The same path carrying a canary in clear inside the envelope: the
    /// flow is server-readable, never sealed.
    #[test]
    fn plaintext_in_an_envelope_is_server_readable() {
        let canaries = CanarySet::new(vec![Canary {
            text: "PS-SIGNALXY2K".into(),
            label: None,
            created: None,
        }])
        .unwrap();
        let env = env_with(canaries);
        let push = build::request(
            "PUT",
            "/api/v1/message",
            &build::envelope(1, b"see you at the station PS-SIGNALXY2K"),
            1,
        );
        let c = opened(&env, &[down(push)]);
        assert_eq!(verdict(&c).verdict, Verdict::ServerReadable);
        // No canary, but text that starts with SignalMessage's version byte
        // ('3' = 0x33): still message text, never an E2E envelope.
        let push = build::request(
            "PUT",
            "/api/v1/message",
            &build::envelope(1, b"3pm at the station, bring the documents"),
            2,
        );
        let c = opened(&env, &[down(push)]);
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::ServerReadable, "{}", d.reason);
        assert!(d.reason.contains("signal.envelope.content"), "{}", d.reason);
    }

    #[test]
    fn outgoing_json_is_checked() {
        let env = env();
        use base64::Engine;
        let content = base64::engine::general_purpose::STANDARD.encode(signal_message());
        let json = format!(
            r#"{{"messages":[{{"type":1,"destinationDeviceId":1,"content":"{content}"}}]}}"#
        );
        let put = build::request(
            "PUT",
            "/v1/messages/9d0a7c5e-0f00-4c6b-9e3a-5d4f3b2a1c0d",
            json.as_bytes(),
            3,
        );
        let c = opened(&env, &[up(put)]);
        assert_eq!(meta(&c, "signal.request"), vec!["PUT /v1/messages/{id}"]);
        assert_eq!(verdict(&c).verdict, Verdict::Sealed);
    }

    #[test]
    fn probe_stays_off_raw_flows() {
        let push = build::request("PUT", "/api/v1/message", &build::envelope(1, &[0x33]), 1);
        let input = |depth| ProbeInput {
            transport: Transport::Tcp,
            to_server: &[],
            to_client: &push,
            datagrams: &[],
            client_port: 50000,
            server_port: 443,
            depth,
            hint: None,
        };
        assert_eq!(probe(&input(0)), Confidence::No);
        assert_eq!(probe(&input(2)), Confidence::Certain);
    }
}
