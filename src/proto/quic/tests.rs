//! Whole-connection tests: real packets built with the same key schedule a
//! QUIC stack uses (Initial salts, TLS secrets in a key log), fed through a
//! `udp` stream as the engine does.

use super::*;
use crate::evidence::canary::{Canary, CanarySet};
use crate::evidence::provenance::KeySource;
use crate::evidence::{CryptoState, Evidence, EvidenceKind, Layer};
use crate::model::{Direction, Verdict};
use crate::proto::dissector::{Collector, Cx, FlowInfo, Hint, PacketRef, Stream};
use crate::rules::apps::AppIndex;
use crate::secrets::SecretStore;
use build::*;
use protect::DirKeys;
use varint::encode as venc;

const CANARY: &str = "PLAINSIGHT-CANARY-7f3a";

fn env(keylog: Option<&str>) -> Env {
    let mut secrets = SecretStore::default();
    if let Some(k) = keylog {
        assert!(
            secrets
                .add_keylog(k.as_bytes(), KeySource::KeyLog)
                .is_empty()
        );
    }
    let canaries = CanarySet::new(vec![Canary {
        text: CANARY.into(),
        label: None,
        created: None,
    }])
    .unwrap();
    Env::new(canaries, secrets, AppIndex::new(&[]))
}

fn flow() -> FlowInfo {
    FlowInfo {
        id: 7,
        transport: Transport::Udp,
        client: "192.0.2.1:50000".parse().unwrap(),
        server: "198.51.100.7:443".parse().unwrap(),
    }
}

fn h3_request(path: &str, body: &[u8]) -> Vec<u8> {
    // QPACK: required insert count 0, base 0; :method GET, :scheme https,
    // :authority and :path with static name references, a cookie.
    let mut fs = vec![0x00, 0x00, 0xd1, 0xd7];
    for (idx, v) in [(0u8, "chat.example.org"), (1, path), (5, "session=s3cr3t")] {
        fs.push(0x50 | idx);
        fs.push(v.len() as u8);
        fs.extend_from_slice(v.as_bytes());
    }
    let mut s = vec![0x01];
    venc(fs.len() as u64, &mut s);
    s.extend_from_slice(&fs);
    s.push(0x00);
    venc(body.len() as u64, &mut s);
    s.extend_from_slice(body);
    s
}

fn h3_response(body: &[u8]) -> Vec<u8> {
    let mut s = vec![0x01, 0x03, 0x00, 0x00, 0xd9, 0x00];
    venc(body.len() as u64, &mut s);
    s.extend_from_slice(body);
    s
}

fn run(env: &Env, packets: &[(Direction, Vec<u8>)]) -> Collector {
    let flow = flow();
    let mut out = Collector::default();
    let mut s = Stream::datagrams(Layer::plain("udp"), Hint::default());
    for (i, (dir, p)) in packets.iter().enumerate() {
        let pkt = PacketRef {
            index: i as u64 + 1,
            ..PacketRef::default()
        };
        let mut cx = Cx::new(env, &flow, &mut out, pkt);
        s.data(&mut cx, *dir, p);
    }
    let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
    s.finish(&mut cx);
    out
}

fn metas<'a>(out: &'a Collector, key: &str) -> Vec<&'a str> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key: k, value } if k == key => Some(value.as_str()),
            _ => None,
        })
        .collect()
}

fn crypto(out: &Collector) -> Vec<(CryptoState, u64, u64)> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Crypto {
                state,
                records,
                decrypted,
                ..
            } => Some((state.clone(), *records, *decrypted)),
            _ => None,
        })
        .collect()
}

fn canaries(out: &Collector) -> Vec<&Evidence> {
    out.evidence
        .iter()
        .filter(|e| matches!(e.kind, EvidenceKind::Canary { .. }))
        .collect()
}

/// Ids of the built-in checks that fire on the flow.
fn fired(out: &Collector) -> Vec<String> {
    let rules = crate::rules::load::builtin();
    let d = crate::verdict::flow(&out.evidence, &|i| i.to_string());
    let subject = crate::rules::eval::Subject {
        kind: crate::rules::model::SubjectKind::Flow,
        label: "flow 7".into(),
        identity: "flow".into(),
        protocol: "quic",
        app: None,
        verdict: d.verdict,
        reason: &d.reason,
        client: None,
        server: None,
        evidence: &out.evidence,
    };
    crate::rules::eval::evaluate(&rules, &subject, &CanarySet::default())
        .iter()
        .map(|f| f.check.id.clone())
        .collect()
}

fn verdict(out: &Collector) -> Verdict {
    crate::verdict::flow(&out.evidence, &|i| i.to_string()).verdict
}

/// A complete HTTP/3 exchange: handshake, control streams, request, response.
fn h3_connection(c: &mut Conn) -> Vec<(Direction, Vec<u8>)> {
    let mut pkts = c.handshake("h3");
    let settings = [0x00, 0x04, 0x02, 0x01, 0x00];
    let body = format!("{{\"text\":\"{CANARY}\"}}");
    let req = h3_request("/v1/messages", body.as_bytes());
    let mut p = stream_frame(2, 0, &settings, false);
    p.extend(stream_frame(0, 0, &req, true));
    pkts.push((Direction::ToServer, c.app(Direction::ToServer, &p)));
    let resp = h3_response(b"{\"ok\":true,\"id\":\"3f1c2a\"}");
    let mut p = stream_frame(3, 0, &settings, false);
    p.extend(stream_frame(0, 0, &resp, true));
    pkts.push((Direction::ToClient, c.app(Direction::ToClient, &p)));
    pkts
}

#[test]
fn http3_over_1rtt_with_a_key_log_is_server_readable() {
    let mut c = Conn::new(Version::V1);
    let pkts = h3_connection(&mut c);
    let out = run(&env(Some(&c.keylog())), &pkts);
    assert_eq!(metas(&out, "quic.sni"), vec!["chat.example.org"]);
    assert_eq!(metas(&out, "quic.alpn"), vec!["h3"]);
    assert_eq!(metas(&out, "quic.version"), vec!["v1"]);
    assert_eq!(metas(&out, "quic.dcid"), vec!["8394c8f03e515708"]);
    assert_eq!(metas(&out, "http.path"), vec!["/v1/messages"]);
    assert_eq!(metas(&out, "http.host"), vec!["chat.example.org"]);
    assert_eq!(metas(&out, "http.status"), vec!["200"]);
    assert_eq!(out.protocol.as_ref().map(|p| p.1.as_ref()), Some("http3"));
    let sni = out
        .evidence
        .iter()
        .find(|e| matches!(&e.kind, EvidenceKind::Metadata { key, .. } if key == "quic.sni"))
        .unwrap();
    assert_eq!(sni.chain(), "udp › quic-initial[no key needed]");
    let cookie = out
        .evidence
        .iter()
        .find(|e| matches!(&e.kind, EvidenceKind::Credential { key, .. } if key == "http.cookie"))
        .unwrap();
    assert_eq!(cookie.chain(), "udp › quic[key log] › http3");
    assert!(
        !format!("{:?}", out.evidence).contains("s3cr3t"),
        "cookie values are never kept"
    );
    let hits = canaries(&out);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].chain(), "udp › quic[key log] › http3 › http-body");
    assert_eq!(hits[0].origin.packet, Some(4));
    // 2 Handshake packets from the server side count once each, 1 client Handshake, 2 short.
    assert_eq!(crypto(&out), vec![(CryptoState::Opened, 4, 4)]);
    assert_eq!(verdict(&out), Verdict::ServerReadable);
}

#[test]
fn without_a_key_log_only_the_initial_is_read() {
    let mut c = Conn::new(Version::V1);
    let pkts = h3_connection(&mut c);
    let out = run(&env(None), &pkts);
    assert_eq!(metas(&out, "quic.sni"), vec!["chat.example.org"]);
    assert!(canaries(&out).is_empty());
    assert!(metas(&out, "http.path").is_empty());
    assert_eq!(
        crypto(&out),
        vec![(
            CryptoState::NotOpened {
                reason: "Initial only: 1-RTT packets need a key log".into()
            },
            4,
            0
        )]
    );
    assert_eq!(verdict(&out), Verdict::Opaque);
    // A key log for another session names the client random it lacks.
    let other = env(Some(&format!(
        "CLIENT_TRAFFIC_SECRET_0 {} {}\n",
        "ab".repeat(32),
        "cd".repeat(32)
    )));
    let out = run(&other, &pkts);
    assert_eq!(
        crypto(&out)[0].0,
        CryptoState::NotOpened {
            reason: format!("no secrets for client random {}", hex(&RANDOM))
        }
    );
}

#[test]
fn secrets_arriving_later_in_the_capture_open_buffered_packets() {
    let mut c = Conn::new(Version::V1);
    let pkts = h3_connection(&mut c);
    let without = env(None);
    let with = env(Some(&c.keylog()));
    let flow = flow();
    let mut out = Collector::default();
    let mut s = Stream::datagrams(Layer::plain("udp"), Hint::default());
    for (i, (dir, p)) in pkts.iter().enumerate() {
        let pkt = PacketRef {
            index: i as u64 + 1,
            ..PacketRef::default()
        };
        let mut cx = Cx::new(&without, &flow, &mut out, pkt);
        s.data(&mut cx, *dir, p);
    }
    // The key log shows up (a DSB after the packets): finish sees it.
    let mut cx = Cx::new(
        &with,
        &flow,
        &mut out,
        PacketRef {
            index: 99,
            ..PacketRef::default()
        },
    );
    s.finish(&mut cx);
    assert_eq!(crypto(&out), vec![(CryptoState::Opened, 4, 4)]);
    let hits = canaries(&out);
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].origin.packet,
        Some(4),
        "evidence points at the packet that carried it"
    );
}

#[test]
fn client_hello_split_across_packets_and_out_of_order() {
    let mut c = Conn::new(Version::V1);
    let ch = client_hello("big.example.net", &["h3"], 1800);
    assert!(ch.len() > 1800);
    // Packet 1 carries the tail; packet 2 carries the head as two frames in reverse order.
    let tail = crypto_frame(1000, &ch[1000..]);
    let mut head = crypto_frame(500, &ch[500..1000]);
    head.extend(crypto_frame(0, &ch[..500]));
    let p1 = c.client_initial(&tail, None);
    let p2 = c.client_initial(&head, None);
    let out = run(
        &env(None),
        &[(Direction::ToServer, p1), (Direction::ToServer, p2)],
    );
    assert_eq!(metas(&out, "quic.sni"), vec!["big.example.net"]);
    assert_eq!(metas(&out, "quic.alpn"), vec!["h3"]);
}

#[test]
fn coalesced_packets_and_a_learned_short_header_cid_length() {
    let mut c = Conn::new(Version::V1);
    let mut pkts = c.handshake("hq-interop");
    // The server's 1-RTT packet rides in the same datagram as its Handshake packet.
    let sh = c.long(
        Direction::ToClient,
        LongType::Handshake,
        &[0x01, 0, 0, 0],
        None,
    );
    let one_rtt = c.app(
        Direction::ToClient,
        &stream_frame(1, 0, CANARY.as_bytes(), true),
    );
    pkts.push((Direction::ToClient, [sh, one_rtt].concat()));
    let out = run(&env(Some(&c.keylog())), &pkts);
    assert_eq!(crypto(&out), vec![(CryptoState::Opened, 4, 4)]);
    let hits = canaries(&out);
    assert_eq!(hits.len(), 1);
    // Not HTTP/3: the stream is an inner stream directly under the keyed layer.
    assert_eq!(hits[0].chain(), "udp › quic[key log]");
}

#[test]
fn key_update_follows_the_key_phase_bit() {
    let mut c = Conn::new(Version::V1);
    let mut pkts = c.handshake("hq-interop");
    let labels = c.version.labels();
    let next = protect::next_secret(c.suite, &c.secrets[CATS], &labels).unwrap();
    // New packet keys; the header-protection key never changes.
    let k1 = DirKeys {
        hp: c.keys(CATS).hp,
        pkt: protect::PacketKey::derive(c.suite, &next, &labels).unwrap(),
    };
    let k0 = c.keys(CATS);
    let p1 = c.short(
        Direction::ToServer,
        &stream_frame(0, 0, b"before ", false),
        &k0,
        false,
    );
    let p2 = c.short(
        Direction::ToServer,
        &stream_frame(0, 7, CANARY.as_bytes(), false),
        &k1,
        true,
    );
    let p3 = c.short(
        Direction::ToServer,
        &stream_frame(0, 7 + CANARY.len() as u64, b" after", true),
        &k1,
        true,
    );
    pkts.extend([
        (Direction::ToServer, p1),
        (Direction::ToServer, p3),
        (Direction::ToServer, p2),
    ]);
    let out = run(&env(Some(&c.keylog())), &pkts);
    assert_eq!(crypto(&out), vec![(CryptoState::Opened, 5, 5)]);
    assert_eq!(canaries(&out).len(), 1);
}

#[test]
fn retry_rekeys_the_initial_with_the_retry_scid() {
    let mut c = Conn::new(Version::V1);
    let ch = client_hello("retry.example", &["h3"], 0);
    let first = c.client_initial(&crypto_frame(0, &ch), None);
    let retry_scid = [0x77u8; 8];
    let mut retry = vec![0xf0];
    retry.extend_from_slice(&1u32.to_be_bytes());
    retry.push(c.client_cid.len() as u8);
    retry.extend_from_slice(&c.client_cid);
    retry.push(8);
    retry.extend_from_slice(&retry_scid);
    retry.extend_from_slice(b"token");
    retry.extend_from_slice(&[0xaa; 16]);
    // After the Retry the client's Initial keys come from the Retry SCID.
    let salt = c.version.initial_salts()[0];
    c.initial = protect::initial_keys(salt, &retry_scid, &c.version.labels()).unwrap();
    c.pn = [0, 0];
    let second = c.client_initial(
        &crypto_frame(0, &client_hello("after-retry.example", &["h3"], 0)),
        Some(&retry_scid),
    );
    let out = run(
        &env(None),
        &[
            (Direction::ToServer, first),
            (Direction::ToClient, retry),
            (Direction::ToServer, second),
        ],
    );
    assert_eq!(
        metas(&out, "quic.sni"),
        vec!["retry.example", "after-retry.example"]
    );
    assert_eq!(metas(&out, "quic.retry"), vec!["yes"]);
}

#[test]
fn quic_v2_and_draft_29_initials() {
    for (v, name) in [(Version::V2, "v2"), (Version::Draft(29), "draft-29")] {
        let mut c = Conn::new(v);
        let ci = c.client_initial(
            &crypto_frame(0, &client_hello("v.example", &["h3"], 0)),
            None,
        );
        assert_eq!(classify_datagram(&ci, false), Confidence::Certain);
        let out = run(&env(None), &[(Direction::ToServer, ci)]);
        assert_eq!(metas(&out, "quic.version"), vec![name]);
        assert_eq!(metas(&out, "quic.sni"), vec!["v.example"], "{name}");
        assert_eq!(
            fired(&out).contains(&"quic-draft-version".to_string()),
            name == "draft-29"
        );
    }
}

#[test]
fn wrong_or_missing_secrets_give_a_precise_reason() {
    let mut c = Conn::new(Version::V1);
    let pkts = h3_connection(&mut c);
    let r = hex(&RANDOM);
    // Right handshake secrets, wrong 1-RTT secrets: handshake opens, 1-RTT fails.
    let mut bad = c.keylog();
    bad = bad.replace(&hex(&[0x33; 32]), &hex(&[0x99; 32]));
    let out = run(&env(Some(&bad)), &pkts);
    assert_eq!(
        crypto(&out),
        vec![(
            CryptoState::Partial {
                reason: "decryption failed at packet 4".into()
            },
            4,
            3
        )]
    );
    assert_eq!(verdict(&out), Verdict::Opaque);
    assert!(fired(&out).contains(&"quic-partly-decrypted".to_string()));
    // Handshake secrets only.
    let hs_only: String = c
        .keylog()
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    let out = run(&env(Some(&hs_only)), &pkts);
    assert_eq!(
        crypto(&out)[0].0,
        CryptoState::Partial {
            reason: format!("key log has no CLIENT_TRAFFIC_SECRET_0 for client random {r}")
        }
    );
}

#[test]
fn truncated_datagrams_never_panic() {
    let mut c = Conn::new(Version::V1);
    let pkts = h3_connection(&mut c);
    let e = env(Some(&c.keylog()));
    for (dir, p) in &pkts {
        for cut in 0..p.len() {
            let mut d = QuicDissector::new();
            let flow = flow();
            let mut out = Collector::default();
            let mut cx = Cx::new(&e, &flow, &mut out, PacketRef::default());
            d.on_datagram(&mut cx, *dir, &p[..cut]);
            d.finish(&mut cx);
        }
    }
}

#[test]
fn probe_tells_quic_from_other_udp() {
    let mut c = Conn::new(Version::V1);
    let ci = c.client_initial(
        &crypto_frame(0, &client_hello("p.example", &["h3"], 0)),
        None,
    );
    assert_eq!(classify_datagram(&ci, false), Confidence::Certain);
    let hs = c.long(
        Direction::ToClient,
        LongType::Handshake,
        &[1, 0, 0, 0],
        None,
    );
    assert_eq!(classify_datagram(&hs, false), Confidence::Likely);
    // RTP (version 2, fixed bit clear) and DTLS and STUN are not QUIC.
    assert_eq!(
        classify_datagram(&[0x80, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0], true),
        Confidence::No
    );
    assert_eq!(
        classify_datagram(&[0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], true),
        Confidence::No
    );
    assert_eq!(
        classify_datagram(&[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42], true),
        Confidence::No
    );
    // A short header is only a port hint, and only on a QUIC port.
    let short = c.app(Direction::ToServer, &[0x01]);
    assert_eq!(classify_datagram(&short, true), Confidence::Port);
    assert_eq!(classify_datagram(&short, false), Confidence::No);
    // Version Negotiation listing real versions.
    let vn = [
        &[0x80u8, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4][..],
        &1u32.to_be_bytes(),
        &0x6b33_43cfu32.to_be_bytes(),
    ]
    .concat();
    assert_eq!(classify_datagram(&vn, false), Confidence::Likely);
}

#[test]
fn version_negotiation_and_grease_versions_are_reported() {
    let mut c = Conn::new(Version::V1);
    let ci = c.client_initial(
        &crypto_frame(0, &client_hello("g.example", &["h3"], 0)),
        None,
    );
    let mut grease = ci.clone();
    grease[1..5].copy_from_slice(&0x1a2a_3a4au32.to_be_bytes());
    let vn = [
        &[0x80u8, 0, 0, 0, 0, 4][..],
        &c.client_cid,
        &[8],
        &c.dcid,
        &1u32.to_be_bytes(),
    ]
    .concat();
    let out = run(
        &env(None),
        &[
            (Direction::ToServer, grease),
            (Direction::ToClient, vn),
            (Direction::ToServer, ci),
        ],
    );
    assert_eq!(metas(&out, "quic.version"), vec!["grease-1a2a3a4a", "v1"]);
    assert_eq!(metas(&out, "quic.version_negotiation"), vec!["v1"]);
    assert_eq!(metas(&out, "quic.sni"), vec!["g.example"]);
}

#[test]
fn gquic_q046_long_header_chlo_is_read_in_the_clear() {
    // Q046: long header, packed CID lengths (DCID 8), 4-byte packet number,
    // 12-byte message hash, then a STREAM frame holding the CHLO.
    let mut p = vec![0xc3];
    p.extend_from_slice(b"Q046");
    p.push(0x50);
    p.extend_from_slice(&[9; 8]);
    p.extend_from_slice(&[0, 0, 0, 1]);
    p.extend_from_slice(&[0xab; 12]);
    p.extend_from_slice(&[0xa0, 0x01, 0x00, 0x04]);
    p.extend_from_slice(b"CHLO\x02\x00\x00\x00SNI\x00\x0e\x00\x00\x00UAID\x26\x00\x00\x00");
    p.extend_from_slice(b"www.google.comChrome/79.0 Linux x86_64");
    p.resize(1350, 0);
    assert_eq!(classify_datagram(&p, false), Confidence::Certain);
    let out = run(&env(None), &[(Direction::ToServer, p)]);
    assert_eq!(out.protocol.as_ref().map(|p| p.1.as_ref()), Some("gquic"));
    assert_eq!(metas(&out, "quic.version"), vec!["Q046"]);
    assert_eq!(metas(&out, "quic.sni"), vec!["www.google.com"]);
    assert_eq!(
        metas(&out, "quic.user_agent"),
        vec!["Chrome/79.0 Linux x86_64"]
    );
    assert!(fired(&out).contains(&"gquic-legacy".to_string()));
}

#[test]
fn every_quic_suite_opens_with_its_hash_and_key_sizes() {
    for suite in [0x1301, 0x1302, 0x1303, 0x1304] {
        let mut c = Conn::with_suite(Version::V1, suite);
        let pkts = h3_connection(&mut c);
        let out = run(&env(Some(&c.keylog())), &pkts);
        assert_eq!(
            crypto(&out),
            vec![(CryptoState::Opened, 4, 4)],
            "suite {suite:04x}"
        );
        assert_eq!(canaries(&out).len(), 1, "suite {suite:04x}");
        assert_eq!(
            metas(&out, "quic.cipher"),
            vec![format!("0x{suite:04x}").as_str()]
        );
    }
}

#[test]
fn suite_is_inferred_when_the_server_hello_is_missing() {
    // The server's Initial (with the ServerHello) was not captured: the AEAD
    // tag tells ChaCha20-Poly1305 from AES-128-GCM for 32-byte secrets.
    let mut c = Conn::with_suite(Version::V1, 0x1303);
    let mut pkts = h3_connection(&mut c);
    pkts[1].1 = c.long(
        Direction::ToClient,
        LongType::Handshake,
        &crypto_frame(0, &encrypted_extensions("h3")),
        None,
    );
    let out = run(&env(Some(&c.keylog())), &pkts);
    assert_eq!(crypto(&out), vec![(CryptoState::Opened, 4, 4)]);
    assert_eq!(canaries(&out).len(), 1);
}

#[test]
fn zero_rtt_opens_with_the_early_traffic_secret() {
    let mut c = Conn::new(Version::V1);
    let ch = client_hello("chat.example.org", &["hq-interop"], 0);
    let ci = c.client_initial(&crypto_frame(0, &ch), None);
    let early = c.long(
        Direction::ToServer,
        LongType::ZeroRtt,
        &stream_frame(0, 0, CANARY.as_bytes(), true),
        None,
    );
    let mut pkts = vec![(Direction::ToServer, [ci, early].concat())];
    pkts.extend(c.handshake("hq-interop").into_iter().skip(1));
    let out = run(&env(Some(&c.keylog())), &pkts);
    assert_eq!(crypto(&out), vec![(CryptoState::Opened, 3, 3)]);
    let hits = canaries(&out);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].origin.packet, Some(1));
    // Without the early secret the 0-RTT packet stays closed, and the reason says which secret is missing.
    let no_early: String = c
        .keylog()
        .lines()
        .filter(|l| !l.starts_with("CLIENT_EARLY"))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = run(&env(Some(&no_early)), &pkts);
    assert_eq!(
        crypto(&out)[0].0,
        CryptoState::Partial {
            reason: format!(
                "key log has no CLIENT_EARLY_TRAFFIC_SECRET for client random {}",
                hex(&RANDOM)
            )
        }
    );
}

#[test]
fn streams_that_end_release_their_state() {
    // More streams than can be read at once, one after the other: all are read.
    let mut c = Conn::new(Version::V1);
    let mut pkts = c.handshake("hq-interop");
    for i in 0..1100u64 {
        let data: &[u8] = if i == 1099 {
            CANARY.as_bytes()
        } else {
            b"tick"
        };
        let p = c.app(Direction::ToServer, &stream_frame(i * 4, 0, data, true));
        pkts.push((Direction::ToServer, p));
        let p = c.app(Direction::ToClient, &stream_frame(i * 4, 0, b"tock", true));
        pkts.push((Direction::ToClient, p));
    }
    let out = run(&env(Some(&c.keylog())), &pkts);
    assert_eq!(canaries(&out).len(), 1);
    assert!(!out.evidence.iter().any(
        |e| matches!(&e.kind, EvidenceKind::Anomaly { code, .. } if code == "quic-stream-cap")
    ));
}
