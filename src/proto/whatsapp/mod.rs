//! WhatsApp chat transport: the routing header and `WA` prologue, the
//! Noise handshake, encrypted frames; and the 2015 protocol whose stream
//! start and login crossed in clear.
//!
//! The Noise transport keys are ephemeral and never logged, so the chat
//! content stays `opaque`; what the wire shows is the protocol version, the
//! edge-routing blob, the Noise pattern and frame sizes — and, for legacy
//! clients, the platform/version string and the phone number.

pub mod frame;
pub mod legacy;

use crate::evidence::CryptoState;
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use frame::{Framer, Handshake, Start};
use std::borrow::Cow;

/// `ED 00 01` or `WA` + a version from the client.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Tcp {
        return Confidence::No;
    }
    if input.to_server.is_empty() {
        return if input.to_client.is_empty() {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    }
    match frame::parse_start(input.to_server) {
        Ok(Some(_)) => Confidence::Certain,
        Ok(None) => Confidence::NeedMore,
        Err(_) => Confidence::No,
    }
}

pub fn make(_hint: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(WhatsAppDissector::new(env.limits.max_message))
}

/// One WhatsApp chat connection.
pub struct WhatsAppDissector {
    max: usize,
    start: Option<Start>,
    pending: Vec<u8>,
    server_pending: Vec<u8>,
    framers: Option<[Framer; 2]>,
    broken: [bool; 2],
    client_hello: Option<bool>,
    pattern_reported: bool,
    /// Encrypted frames (Noise transport or legacy encrypted).
    encrypted: u64,
    versions: Vec<String>,
}

impl WhatsAppDissector {
    pub fn new(max: usize) -> WhatsAppDissector {
        WhatsAppDissector {
            max,
            start: None,
            pending: Vec::new(),
            server_pending: Vec::new(),
            framers: None,
            broken: [false; 2],
            client_hello: None,
            pattern_reported: false,
            encrypted: 0,
            versions: Vec::new(),
        }
    }

    fn legacy(&self) -> bool {
        self.start.as_ref().is_some_and(Start::legacy)
    }

    fn begin(&mut self, cx: &mut Cx<'_>) {
        let Ok(Some(start)) = frame::parse_start(&self.pending) else {
            return;
        };
        let rest = self.pending.split_off(start.len);
        self.pending.clear();
        cx.meta(
            "whatsapp.version",
            format!("{}.{}", start.major, start.minor),
        );
        if let Some(r) = &start.routing {
            let hex: String = r.iter().take(32).map(|b| format!("{b:02x}")).collect();
            cx.meta("whatsapp.edge-routing", hex);
        }
        let signature = if start.legacy() {
            "whatsapp-legacy"
        } else {
            "whatsapp-noise"
        };
        if let Some(app) = cx.env.apps.by_signature(signature) {
            let app = app.to_string();
            cx.set_app(&app, "signature");
        }
        let legacy = start.legacy();
        self.framers = Some([Framer::new(legacy, self.max), Framer::new(legacy, self.max)]);
        self.start = Some(start);
        self.frames(cx, Direction::ToServer, &rest);
        let server = std::mem::take(&mut self.server_pending);
        self.frames(cx, Direction::ToClient, &server);
    }

    fn frames(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if data.is_empty() || self.broken[d] {
            return;
        }
        let Some(framers) = &mut self.framers else {
            return;
        };
        let mut out = Vec::new();
        let r = framers[d].push(data, &mut out);
        for f in out {
            self.frame(cx, dir, f);
        }
        if let Err(len) = r {
            self.broken[d] = true;
            cx.anomaly(
                "whatsapp-framing",
                format!(
                    "{}: frame of {len} bytes exceeds the cap; framing lost",
                    dir.as_str()
                ),
            );
        }
    }

    fn frame(&mut self, cx: &mut Cx<'_>, dir: Direction, f: frame::Frame) {
        if self.legacy() {
            if f.flags & 0x8 != 0 {
                self.encrypted += 1;
                return;
            }
            for s in legacy::strings(&f.body) {
                if let Some(v) = legacy::client_version(s) {
                    if self.versions.len() < 4 && !self.versions.iter().any(|x| x == v) {
                        self.versions.push(v.to_string());
                        cx.meta("whatsapp.client-version", v.to_string());
                    }
                } else if dir == Direction::ToServer
                    && let Some(n) = legacy::phone_number(s)
                {
                    cx.meta("whatsapp.phone", legacy::mask_phone(n));
                }
            }
            return;
        }
        let hs = frame::handshake(&f.body);
        match hs {
            Some(Handshake::ClientHello { static_key, .. }) if dir == Direction::ToServer => {
                self.client_hello = Some(static_key);
                if static_key {
                    // IK unless the server answers with its static key (XXfallback).
                    self.pattern(cx, "IK", false);
                }
            }
            Some(Handshake::ServerHello { static_key, .. }) if dir == Direction::ToClient => {
                let p = match (self.client_hello, static_key) {
                    (Some(true), true) => "XXfallback",
                    (Some(true), false) => "IK",
                    _ => "XX",
                };
                self.pattern(cx, p, true);
            }
            Some(Handshake::ClientFinish { .. }) if dir == Direction::ToServer => {}
            _ => {
                self.encrypted += 1;
                return;
            }
        }
        // Handshake messages with a payload carry it encrypted (the IK
        // client hello holds the whole login).
        if hs.is_some_and(Handshake::has_payload) {
            self.encrypted += 1;
        }
    }

    /// Reports the Noise pattern once; a server answer may correct a guess.
    fn pattern(&mut self, cx: &mut Cx<'_>, p: &'static str, final_: bool) {
        if self.pattern_reported && !(final_ && p != "IK") {
            return;
        }
        self.pattern_reported = true;
        cx.meta("whatsapp.noise-pattern", p);
    }
}

impl Dissector for WhatsAppDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("whatsapp")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if self.start.is_some() {
            self.frames(cx, dir, data);
            return;
        }
        let b = match dir {
            Direction::ToServer => &mut self.pending,
            Direction::ToClient => &mut self.server_pending,
        };
        let room = 4096usize.saturating_sub(b.len());
        b.extend_from_slice(&data[..data.len().min(room)]);
        if dir == Direction::ToServer {
            self.begin(cx);
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let d = dir.index();
        if !self.broken[d] {
            self.broken[d] = true;
            cx.anomaly(
                "stream-gap",
                format!(
                    "{len} bytes missing; WhatsApp framing lost ({})",
                    dir.as_str()
                ),
            );
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.encrypted == 0 {
            return;
        }
        let (protocol, reason) = if self.legacy() {
            (
                "whatsapp-wauth",
                "legacy WAUTH stream cipher keyed from the account password and a server nonce; no key",
            )
        } else {
            (
                "whatsapp-noise",
                "Noise transport keys are ephemeral and never logged",
            )
        };
        cx.crypto(
            protocol,
            CryptoState::NotOpened {
                reason: reason.into(),
            },
            self.encrypted,
            0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::frame::tests::CLIENT_HELLO_IK;
    use crate::model::{Transport, Verdict};
    use crate::proto::rtc::testkit::*;

    /// nDPI `whatsapp.pcap`, client port 44804 (the capture holds only the
    /// client side): `ED 00 01` alone in the first segment, routing info,
    /// `WA 5.2`, an IK clientHello, then ciphertext frames.
    #[test]
    fn noise_connection_is_attributed_and_opaque() {
        let env = env();
        let f = flow(Transport::Tcp, "192.168.2.100:44804", "179.60.195.49:5222");
        let mut second = hex("000004 08090802 57410502 00010e");
        second.extend(hex(CLIENT_HELLO_IK));
        let c = run(
            &env,
            &f,
            &[
                up(hex("45440001")),
                up(second),
                up(hex("000025")),
                up(hex(
                    "cc659249486581455d2ebd54e8a9605ff4f4ce70dc441b8645f346c41b5b8aad0524038bdc",
                )),
            ],
        );
        assert_eq!(protocol(&c), Some("whatsapp"));
        assert_eq!(app(&c), Some(("whatsapp", "signature")));
        assert_eq!(meta(&c, "whatsapp.version"), vec!["5.2"]);
        assert_eq!(meta(&c, "whatsapp.edge-routing"), vec!["08090802"]);
        assert_eq!(meta(&c, "whatsapp.noise-pattern"), vec!["IK"]);
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::Opaque);
        assert!(
            d.reason.contains("whatsapp-noise not opened"),
            "{}",
            d.reason
        );
    }

    /// nDPI `whatsapp_login_chat.pcap` frames 8-10: the 2015 client announces
    /// its platform and version and logs in with its phone number in clear.
    #[test]
    fn legacy_login_leaks_version_and_number() {
        let env = env();
        let f = flow(Transport::Tcp, "192.168.2.4:49206", "158.85.58.15:5222");
        let c = run(
            &env,
            &f,
            &[
                up(hex(
                    "5741010500001af80501a59189fc126950686f6e652d322e31322e322d35323232
                     000019f8029cf804f801fc0770726976616379f80180f80140f80178
                     000018f8060c56bfb5fc0c333933343733343631373638fc02abcd",
                )),
                down(hex("000005f803013a91")),
                down(hex("8000128aaab6271a7893ddd2950407271e35b294b8")),
                up(hex("800010aa7d3267a1294bdbdbb2425715884b72")),
            ],
        );
        assert_eq!(app(&c), Some(("whatsapp", "signature")));
        assert_eq!(meta(&c, "whatsapp.version"), vec!["1.5"]);
        assert_eq!(
            meta(&c, "whatsapp.client-version"),
            vec!["iPhone-2.12.2-5222"]
        );
        assert_eq!(meta(&c, "whatsapp.phone"), vec!["393*******68"]);
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::Opaque, "{}", d.reason);
        assert!(d.reason.contains("whatsapp-wauth"), "{}", d.reason);
    }

    #[test]
    fn probe_needs_the_prologue() {
        use crate::proto::dissector::Confidence;
        use crate::proto::registry::ProbeInput;
        let p = |b: &[u8]| {
            super::probe(&ProbeInput {
                transport: Transport::Tcp,
                to_server: b,
                to_client: &[],
                datagrams: &[],
                client_port: 40000,
                server_port: 5222,
                depth: 0,
                hint: None,
            })
        };
        assert_eq!(p(&hex("45440001")), Confidence::NeedMore);
        assert_eq!(
            p(&hex("4544000100000408090802574105")),
            Confidence::NeedMore
        );
        assert_eq!(
            p(&hex("45440001000004080908025741050200")),
            Confidence::Certain
        );
        assert_eq!(p(b"<stream:stream to='x'>"), Confidence::No);
    }
}
