//! Telegram: MTProto over its TCP transports, the keyless obfuscated2 layer,
//! and the VoIP reflector protocol.
//!
//! What an observer gets without any key: the transport, the data centre,
//! the names of key-exchange messages, and the auth_key_id of every
//! encrypted packet — a per-device identifier that is the same on every
//! connection. The MTProto payload itself is encrypted with the auth key the
//! device shares with Telegram's servers (cloud chats are readable by
//! Telegram; secret chats add an end-to-end layer inside), so it stays
//! `opaque` here.

pub mod faketls;
pub mod mtproto;
pub mod obfuscated2;
pub mod transport;
pub mod voip;

use crate::evidence::canary::ScanState;
use crate::evidence::content::TextStats;
use crate::evidence::{CryptoState, EvidenceKind, Layer};
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use std::borrow::Cow;
use transport::{Framer, Kind, Unit};

/// Distinct auth_key_ids and method names reported per flow.
const MAX_IDS: usize = 4;

/// The keyless layer obfuscated2 adds.
pub const OBFUSCATED2: Layer = Layer::keyless("mtproto-obfuscated2");

/// How a connection starts, from the client's first bytes.
enum Start {
    Plain(Kind, usize),
    Obfuscated(Box<obfuscated2::Keys>),
    Full,
}

/// Decides from the client's first bytes. `None` = need more bytes.
fn detect(b: &[u8], max: usize) -> Option<Result<Start, ()>> {
    match b.first()? {
        0xef => return Some(Ok(Start::Plain(Kind::Abridged, 1))),
        0xee | 0xdd if b.len() < 4 => return None,
        _ => {}
    }
    if b[..b.len().min(4)] == [0xee; 4] {
        return Some(Ok(Start::Plain(Kind::Intermediate, 4)));
    }
    if b[..b.len().min(4)] == [0xdd; 4] {
        return Some(Ok(Start::Plain(Kind::PaddedIntermediate, 4)));
    }
    if let Some(init) = b.get(..64) {
        let init: &[u8; 64] = init.try_into().expect("64 bytes");
        if let Ok(k) = obfuscated2::derive(init, None) {
            return Some(Ok(Start::Obfuscated(Box::new(k))));
        }
    }
    // Full transport: whole-packet length, sequence number 0, CRC checked
    // by the framer.
    if let Some(h) = b.get(..8) {
        let total = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let seq = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if seq == 0 && (24..=max).contains(&total) {
            return match b.get(..total) {
                Some(p) => {
                    let crc = u32::from_le_bytes(p[total - 4..].try_into().expect("4 bytes"));
                    Some(if crc32fast::hash(&p[..total - 4]) == crc {
                        Ok(Start::Full)
                    } else {
                        Err(())
                    })
                }
                None if b.len() >= 2048 => Some(Err(())),
                None => None,
            };
        }
    }
    if b.len() >= 64 { Some(Err(())) } else { None }
}

/// Whether the first packet of a plain transport parses as MTProto.
fn plain_packet_ok(kind: Kind, after_tag: &[u8]) -> Option<bool> {
    let mut f = Framer::new(kind, false, 1 << 20);
    let mut out = Vec::new();
    if f.push(after_tag, &mut out).is_err() {
        return Some(false);
    }
    match out.first() {
        Some(Unit::Packet(p)) => Some(mtproto::parse(p).is_some()),
        Some(Unit::QuickAck(_)) => Some(false),
        None if after_tag.len() >= 2048 => Some(false),
        None => None,
    }
}

/// MTProto on TCP: a plain transport tag followed by a well-formed packet,
/// an obfuscated2 init whose tag decrypts, or a full-transport packet with a
/// valid CRC.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Tcp {
        return Confidence::No;
    }
    let b = input.to_server;
    if b.is_empty() {
        return if input.to_client.is_empty() {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    }
    match detect(b, 1 << 20) {
        None => Confidence::NeedMore,
        Some(Err(())) => Confidence::No,
        Some(Ok(Start::Obfuscated(_) | Start::Full)) => Confidence::Certain,
        Some(Ok(Start::Plain(kind, tag))) => match plain_packet_ok(kind, &b[tag..]) {
            Some(true) => Confidence::Certain,
            Some(false) => Confidence::No,
            None => Confidence::NeedMore,
        },
    }
}

pub fn make(hint: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    let _ = hint;
    Box::new(MtprotoDissector::new(env.limits.max_message))
}

enum Mode {
    Detecting,
    Plain,
    Obfuscated(Box<obfuscated2::Keys>),
    /// Not MTProto after all (the probe was forced): bytes are only counted.
    Other,
}

/// One MTProto connection.
pub struct MtprotoDissector {
    mode: Mode,
    max: usize,
    framers: Option<[Framer; 2]>,
    pending: [Vec<u8>; 2],
    scan: [ScanState; 2],
    broken: [bool; 2],
    packets: [u64; 2],
    encrypted: u64,
    key_ids: Vec<u64>,
    methods: Vec<&'static str>,
    errors: Vec<i32>,
    other: [TextStats; 2],
}

impl MtprotoDissector {
    pub fn new(max: usize) -> MtprotoDissector {
        MtprotoDissector {
            mode: Mode::Detecting,
            max,
            framers: None,
            pending: Default::default(),
            scan: Default::default(),
            broken: [false; 2],
            packets: [0; 2],
            encrypted: 0,
            key_ids: Vec::new(),
            methods: Vec::new(),
            errors: Vec::new(),
            other: Default::default(),
        }
    }

    fn obfuscated(&self) -> bool {
        matches!(self.mode, Mode::Obfuscated(_))
    }

    /// Runs `f` in the layer the MTProto packets live in.
    fn in_layer<R>(&self, cx: &mut Cx<'_>, f: impl FnOnce(&mut Cx<'_>) -> R) -> R {
        if self.obfuscated() {
            cx.with_layer(OBFUSCATED2, f)
        } else {
            f(cx)
        }
    }

    fn start(&mut self, cx: &mut Cx<'_>) {
        let Some(res) = detect(&self.pending[0], self.max) else {
            return;
        };
        let client = std::mem::take(&mut self.pending[0]);
        let server = std::mem::take(&mut self.pending[1]);
        let (kind, consumed, signature) = match res {
            Err(()) => {
                self.mode = Mode::Other;
                self.other[0].feed(&client);
                self.other[1].feed(&server);
                return;
            }
            Ok(Start::Plain(kind, n)) => {
                self.mode = Mode::Plain;
                (kind, n, "mtproto")
            }
            Ok(Start::Full) => {
                self.mode = Mode::Plain;
                (Kind::Full, 0, "mtproto")
            }
            Ok(Start::Obfuscated(keys)) => {
                let kind = match keys.tag {
                    obfuscated2::Tag::Abridged => Kind::Abridged,
                    obfuscated2::Tag::Intermediate => Kind::Intermediate,
                    obfuscated2::Tag::PaddedIntermediate => Kind::PaddedIntermediate,
                };
                let dc = keys.dc;
                self.mode = Mode::Obfuscated(keys);
                cx.meta("mtproto.obfuscation", "obfuscated2");
                // Clients that do not target a DC put random bytes here.
                if dc != 0
                    && (dc.unsigned_abs() <= 5 || (10_001..=10_005).contains(&dc.unsigned_abs()))
                {
                    cx.with_layer(OBFUSCATED2, |cx| cx.meta("mtproto.dc", dc.to_string()));
                }
                (kind, 64, "mtproto-obfuscated2")
            }
        };
        cx.set_protocol("mtproto");
        if let Some(app) = cx.env.apps.by_signature(signature) {
            let app = app.to_string();
            cx.set_app(&app, "signature");
        }
        self.in_layer(cx, |cx| cx.meta("mtproto.transport", kind.as_str()));
        self.framers = Some([
            Framer::new(kind, false, self.max),
            Framer::new(kind, true, self.max),
        ]);
        self.feed(cx, Direction::ToServer, &client[consumed..]);
        if !server.is_empty() {
            self.feed(cx, Direction::ToClient, &server);
        }
    }

    /// Transport bytes after detection: de-obfuscate, scan, frame.
    fn feed(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let d = dir.index();
        let mut plain = data.to_vec();
        if let Mode::Obfuscated(k) = &mut self.mode {
            match dir {
                Direction::ToServer => k.to_server.apply(&mut plain),
                Direction::ToClient => k.to_client.apply(&mut plain),
            }
            let scan = &mut self.scan[d];
            cx.with_layer(OBFUSCATED2, |cx| cx.scan(scan, dir, &plain));
        }
        if self.broken[d] {
            return;
        }
        let Some(framers) = &mut self.framers else {
            return;
        };
        let mut units = Vec::new();
        let r = framers[d].push(&plain, &mut units);
        for u in units {
            if let Unit::Packet(p) = u {
                self.packet(cx, dir, &p);
            }
        }
        if let Err(e) = r {
            self.broken[d] = true;
            let detail = format!("{} framing lost: {e:?}", dir.as_str());
            self.in_layer(cx, |cx| cx.anomaly("mtproto-framing", detail));
        }
    }

    fn packet(&mut self, cx: &mut Cx<'_>, dir: Direction, p: &[u8]) {
        self.packets[dir.index()] += 1;
        match mtproto::parse(p) {
            Some(mtproto::Packet::Encrypted { auth_key_id, .. }) => {
                self.encrypted += 1;
                if self.key_ids.len() < MAX_IDS && !self.key_ids.contains(&auth_key_id) {
                    self.key_ids.push(auth_key_id);
                    let text = mtproto::key_id_text(auth_key_id);
                    self.in_layer(cx, |cx| cx.meta("telegram.auth_key_id", text));
                }
            }
            Some(mtproto::Packet::Unencrypted { constructor, .. }) => {
                let name = mtproto::method_name(constructor).unwrap_or("unknown");
                if self.methods.len() < MAX_IDS && !self.methods.contains(&name) {
                    self.methods.push(name);
                    self.in_layer(cx, |cx| cx.meta("mtproto.method", name));
                }
            }
            Some(mtproto::Packet::TransportError(code)) => {
                if self.errors.len() < MAX_IDS && !self.errors.contains(&code) {
                    self.errors.push(code);
                    self.in_layer(cx, |cx| {
                        cx.meta("mtproto.transport-error", code.to_string())
                    });
                }
            }
            None => self.other[dir.index()].feed(p),
        }
    }
}

impl Dissector for MtprotoDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("mtproto")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        match self.mode {
            Mode::Detecting => {
                let b = &mut self.pending[dir.index()];
                let room = 4096usize.saturating_sub(b.len());
                b.extend_from_slice(&data[..data.len().min(room)]);
                self.start(cx);
            }
            Mode::Other => self.other[dir.index()].feed(data),
            _ => self.feed(cx, dir, data),
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let d = dir.index();
        // The keystream is seekable: keep it aligned for canary scanning.
        if let Mode::Obfuscated(k) = &mut self.mode {
            match dir {
                Direction::ToServer => k.to_server.skip(len),
                Direction::ToClient => k.to_client.skip(len),
            }
        }
        self.scan[d].gap(len);
        if !self.broken[d] {
            self.broken[d] = true;
            let detail = format!("{len} bytes missing; {} framing lost", dir.as_str());
            self.in_layer(cx, |cx| cx.anomaly("stream-gap", detail));
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if matches!(self.mode, Mode::Detecting) {
            let client = std::mem::take(&mut self.pending[0]);
            let server = std::mem::take(&mut self.pending[1]);
            self.other[0].feed(&client);
            self.other[1].feed(&server);
            self.mode = Mode::Other;
        }
        if self.encrypted > 0 {
            let records = self.encrypted;
            self.in_layer(cx, |cx| {
                cx.crypto(
                    "mtproto",
                    CryptoState::NotOpened {
                        reason: "MTProto 2.0 payload encrypted with the server auth key (server-readable for cloud chats; secret chats add E2E) — no key".into(),
                    },
                    records,
                    0,
                )
            });
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            if let Some(s) = self.other[dir.index()].summary() {
                let ev = EvidenceKind::Payload {
                    class: s.class,
                    bytes: self.other[dir.index()].total(),
                    entropy: s.entropy,
                    printable: s.printable,
                };
                self.in_layer(cx, |cx| cx.emit(ev, Some(dir), None));
            }
        }
    }
}

/// Telegram VoIP on UDP: a reflector service packet (tag + twelve `ff`), or
/// several datagrams sharing one 16-byte peer tag.
pub fn probe_voip(input: &ProbeInput<'_>) -> Confidence {
    let dgs = input.datagrams;
    if dgs.iter().any(|(_, d)| voip::is_service(d)) {
        return Confidence::Certain;
    }
    let Some(tag) = dgs.first().and_then(|(_, d)| voip::peer_tag(d)) else {
        return if dgs.is_empty() {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    };
    let same = dgs
        .iter()
        .filter(|(_, d)| voip::peer_tag(d) == Some(tag))
        .count();
    if same >= 3 && dgs.iter().any(|(dir, _)| *dir == Direction::ToClient) {
        Confidence::Likely
    } else if dgs.len() >= 6 || same < dgs.len() {
        Confidence::No
    } else {
        Confidence::NeedMore
    }
}

pub fn make_voip(_hint: &FlowHint, _env: &Env) -> Box<dyn Dissector> {
    Box::<VoipDissector>::default()
}

/// A call through a Telegram reflector.
#[derive(Default)]
pub struct VoipDissector {
    data: u64,
    attributed: bool,
    seen: Vec<(&'static str, String)>,
    other: [TextStats; 2],
}

impl VoipDissector {
    fn once(&mut self, cx: &mut Cx<'_>, key: &'static str, value: String) {
        if self.seen.len() < 16 && !self.seen.iter().any(|(k, v)| *k == key && *v == value) {
            self.seen.push((key, value.clone()));
            cx.meta(key, value);
        }
    }
}

impl Dissector for VoipDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("tgvoip")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        match voip::parse(data) {
            Some(voip::Datagram::Service { own, peer, .. }) => {
                if !self.attributed {
                    self.attributed = true;
                    if let Some(app) = cx.env.apps.by_signature("tgvoip-reflector") {
                        let app = app.to_string();
                        cx.set_app(&app, "signature");
                    }
                }
                if let Some(a) = own {
                    self.once(cx, "tgvoip.mapped-address", a.to_string());
                }
                if let Some(a) = peer {
                    self.once(cx, "tgvoip.peer-address", a.to_string());
                }
            }
            Some(voip::Datagram::Data { .. }) => self.data += 1,
            None => self.other[dir.index()].feed(data),
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.data > 0 {
            cx.crypto(
                "tgvoip",
                CryptoState::NotOpened {
                    reason: "call packets are encrypted end to end with the key the two devices agreed in the call's Diffie-Hellman exchange".into(),
                },
                self.data,
                0,
            );
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            if let Some(s) = self.other[dir.index()].summary() {
                cx.emit(
                    EvidenceKind::Payload {
                        class: s.class,
                        bytes: self.other[dir.index()].total(),
                        entropy: s.entropy,
                        printable: s.printable,
                    },
                    Some(dir),
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::canary::{Canary, CanarySet};
    use crate::model::Verdict;
    use crate::proto::rtc::testkit::*;
    use crate::rules::eval::{Subject, evaluate};
    use crate::rules::model::SubjectKind;

    /// nDPI `telegram_videocall.pcapng` frames 12 and 19: the client's first
    /// segment to 149.154.167.91:443 (obfuscated2 init + one abridged packet)
    /// and the server's answer.
    const CLIENT: &str = "
        f8b9357d01ff6ae4f2e43a80667449b134255576f7b465c944bab1bca416e9cac7d620cf78dffc06dc39da584c9b422b
        dd5a6a121cd2a4d68d3e5af7a35c2eccc89a0be35ebce5507fdf673f0f81a6d00f1b8e07ac7663911197a546dfffd3ce
        b68b861878b2c81a6a1051225203eebd0723f36e18fd082e5103f141e9bb5aa6c2b5cf96089fd2dc397f06bf70d843c2
        ec7de14f3fbfd18bbc6aff5a53a934fee370d8c6abf4e3729d16e89d40f084e0308fdd585724634d005e694944f8580e
        877ebb31d46e5f0f47a2be5a3b1d8a61fbdd9d3e6b7a84fe79937d3b1aa08fb2ea24aa0fcf8d1425606f55ef8f0d9023
        c492ab8b8f3e771da470a5d98f772ff0ff473e37675ee5c6a0df129d95c6a00a867c514ec902f0583e";
    const SERVER: &str = "
        98008f068ce9113aabca410240d2648e1545382b7c234b444eeb6e312be48023e220f902434712b7822d255bbc858155
        9e1538a6f0a116d5e78d7ff733407d9b79688547f4369612e827a8f1a76d380aab06a4e134f10954287977743ac00d0e
        3d5b01816509da5060";

    #[test]
    fn obfuscated_connection_yields_the_auth_key_id_and_stays_opaque() {
        let env = env();
        let f = flow(Transport::Tcp, "192.168.12.169:37950", "149.154.167.91:443");
        let client = hex(CLIENT);
        // Split the init across segments, as reassembly may deliver it.
        let c = run(
            &env,
            &f,
            &[
                up(client[..40].to_vec()),
                up(client[40..].to_vec()),
                down(hex(SERVER)),
            ],
        );
        assert_eq!(protocol(&c), Some("mtproto"));
        assert_eq!(app(&c), Some(("telegram", "signature")));
        assert_eq!(meta(&c, "mtproto.obfuscation"), vec!["obfuscated2"]);
        assert_eq!(meta(&c, "mtproto.transport"), vec!["abridged"]);
        assert_eq!(meta(&c, "telegram.auth_key_id"), vec!["1f754869dd3d5eff"]);
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::Opaque);
        assert!(d.reason.contains("mtproto not opened"), "{}", d.reason);
        // The auth_key_id is reported under the keyless layer.
        let id = c
            .evidence
            .iter()
            .find(|e| matches!(&e.kind, EvidenceKind::Metadata { key, .. } if key == "telegram.auth_key_id"))
            .unwrap();
        assert_eq!(id.chain(), "tcp › mtproto-obfuscated2[no key needed]");

        // The messenger checks fire on this flow.
        let rules = crate::rules::builtin();
        let s = Subject {
            kind: SubjectKind::Flow,
            label: "flow 1".into(),
            identity: "tcp 149.154.167.91:443".into(),
            protocol: "mtproto",
            app: Some("telegram"),
            verdict: d.verdict,
            reason: &d.reason,
            client: None,
            server: Some("149.154.167.91:443".into()),
            evidence: &c.evidence,
        };
        let fired: Vec<&str> = evaluate(&rules, &s, &CanarySet::default())
            .iter()
            .map(|f| f.check.id.as_str())
            .collect();
        assert!(fired.contains(&"stable-device-identifier"), "{fired:?}");
        assert!(fired.contains(&"mtproto-obfuscation-only"), "{fired:?}");
    }

    /// core.telegram.org/mtproto/samples-auth_key req_pq over the plain
    /// abridged transport: the method is named, nothing is encrypted.
    #[test]
    fn plain_abridged_key_exchange() {
        let env = env();
        let f = flow(Transport::Tcp, "10.0.0.1:40000", "149.154.167.50:443");
        let mut b = vec![0xef, 10];
        b.extend(hex(
            "0000000000000000 4a967027c47ae551 14000000 78974660 3e0549828cca27e966b301a48fece2fc",
        ));
        let c = run(&env, &f, &[up(b)]);
        assert_eq!(protocol(&c), Some("mtproto"));
        assert_eq!(meta(&c, "mtproto.method"), vec!["req_pq"]);
        assert_eq!(meta(&c, "mtproto.transport"), vec!["abridged"]);
        assert_eq!(verdict(&c).verdict, Verdict::NoContent);
    }

    /// Whatever is readable under obfuscated2 is readable by anyone: a canary
    /// inside a de-obfuscated stream makes the flow `exposed`.
    #[test]
    fn canary_under_obfuscation_is_exposed() {
        let canaries = CanarySet::new(vec![Canary {
            text: "PS-TGCANARY7Q".into(),
            label: None,
            created: None,
        }])
        .unwrap();
        let env = env_with(canaries);
        let mut init = [0u8; 64];
        for (i, b) in init.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(73).wrapping_add(11);
        }
        init[56..60].copy_from_slice(&[0xee; 4]);
        let key: [u8; 32] = init[8..40].try_into().unwrap();
        let iv: [u8; 16] = init[40..56].try_into().unwrap();
        let mut ctr = obfuscated2::Ctr::new(&key, &iv);
        let mut enc = init.to_vec();
        ctr.apply(&mut enc);
        let mut wire = init[..56].to_vec();
        wire.extend_from_slice(&enc[56..]);
        let mut body = b"hello PS-TGCANARY7Q in a plaintext MTProto message".to_vec();
        body.resize(64, b' ');
        let mut pkt = Vec::new();
        pkt.extend(0u64.to_le_bytes());
        pkt.extend(1u64.to_le_bytes());
        pkt.extend((body.len() as u32).to_le_bytes());
        pkt.extend(&body);
        let mut frame = (pkt.len() as u32).to_le_bytes().to_vec();
        frame.extend(pkt);
        ctr.apply(&mut frame);
        wire.extend(frame);
        let f = flow(Transport::Tcp, "10.0.0.1:40000", "149.154.167.50:443");
        let c = run(&env, &f, &[up(wire)]);
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::Exposed, "{}", d.reason);
        assert!(
            d.reason.contains("mtproto-obfuscated2[no key needed]"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn other_protocols_are_not_mtproto() {
        let f = |b: &[u8]| {
            probe(&ProbeInput {
                transport: Transport::Tcp,
                to_server: b,
                to_client: &[],
                datagrams: &[],
                client_port: 40000,
                server_port: 443,
                depth: 0,
                hint: None,
            })
        };
        assert_eq!(
            f(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            Confidence::NeedMore
        );
        let mut tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec();
        tls.resize(100, 0x41);
        assert_eq!(f(&tls), Confidence::No);
        let mut get = b"GET / HTTP/1.1\r\nHost: example.com\r\n".to_vec();
        get.resize(100, b'a');
        assert_eq!(f(&get), Confidence::No);
        assert_eq!(f(&hex(CLIENT)), Confidence::Certain);
    }

    /// nDPI `telegram.pcap`: reflector 91.108.8.7:521 answers a ping with the
    /// caller's public address, then peer info with both parties'.
    #[test]
    fn voip_reflector_reveals_addresses() {
        let env = env();
        let f = flow(Transport::Udp, "192.168.1.77:23174", "91.108.8.7:521");
        let c = run(
            &env,
            &f,
            &[
                up(hex(
                    "dc4c00291565b7acbc236da9eda0d597fffffffffffffffffffffffffeffffff28f946112601a2f0",
                )),
                down(hex(
                    "dc4c00291565b7acbc236da9eda0d597ffffffffffffffffffffffffc77215c060dab25e
                     28f946112601a2f000000000000000000000ffff570bcdc35ddc0000",
                )),
                down(hex(
                    "dc4c00291565b7acbc236da9eda0d597ffffffffffffffffffffffff1c37d927
                     570bcdc35ddc0000570bcdc333ed0000",
                )),
                up(hex(
                    "dc4c00291565b7acbc236da9eda0d597592e46c3eb5bd2847e7cd8cd020b8522556709b8",
                )),
            ],
        );
        assert_eq!(protocol(&c), Some("tgvoip"));
        assert_eq!(app(&c), Some(("telegram", "signature")));
        assert_eq!(
            meta(&c, "tgvoip.mapped-address"),
            vec!["87.11.205.195:56413"]
        );
        assert_eq!(meta(&c, "tgvoip.peer-address"), vec!["87.11.205.195:60723"]);
        assert_eq!(verdict(&c).verdict, Verdict::Opaque);
    }
}
