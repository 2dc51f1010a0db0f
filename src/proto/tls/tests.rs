//! Dissector-level tests: the RFC 8448 §3 trace end to end, secrets that
//! arrive late, wrong keys, splits at every byte, truncation.

use super::*;
use crate::evidence::canary::{Canary, CanarySet};
use crate::evidence::{EvidenceKind, PayloadClass};
use crate::model::Verdict;
use crate::proto::dissector::{Collector, FlowInfo};
use crate::rules::apps::AppIndex;
use crate::secrets::SecretStore;

/// Test environment with an optional key log and canaries.
pub(crate) fn env_with(keylog: Option<&str>, source: KeySource, canaries: &[&str]) -> Env {
    let set = CanarySet::new(
        canaries
            .iter()
            .map(|t| Canary {
                text: t.to_string(),
                label: None,
                created: None,
            })
            .collect(),
    )
    .expect("canaries");
    let mut secrets = SecretStore::default();
    if let Some(k) = keylog {
        let w = secrets.add_keylog(k.as_bytes(), source);
        assert!(w.is_empty(), "{w:?}");
    }
    Env::new(set, secrets, AppIndex::new(&[]))
}

pub(crate) fn flow(transport: Transport) -> FlowInfo {
    FlowInfo {
        id: 1,
        transport,
        client: "10.0.0.1:50000".parse().unwrap(),
        server: "10.0.0.2:8400".parse().unwrap(),
    }
}

/// Feeds `exchanges` through a stream in `chunk`-byte pieces (0 = whole).
pub(crate) fn feed(
    env: &Env,
    fl: &FlowInfo,
    out: &mut Collector,
    stream: &mut Stream,
    exchanges: &[(Direction, Vec<u8>)],
    chunk: usize,
) {
    let mut cx = Cx::new(env, fl, out, PacketRef::default());
    for (i, (dir, bytes)) in exchanges.iter().enumerate() {
        cx.pkt.index = i as u64 + 1;
        if chunk == 0 {
            stream.data(&mut cx, *dir, bytes);
        } else {
            for c in bytes.chunks(chunk) {
                stream.data(&mut cx, *dir, c);
            }
        }
    }
}

pub(crate) fn finish(env: &Env, fl: &FlowInfo, out: &mut Collector, stream: &mut Stream) {
    let mut cx = Cx::new(env, fl, out, PacketRef::default());
    stream.finish(&mut cx);
}

/// Runs a whole TCP connection and returns what it produced.
pub(crate) fn run(env: &Env, exchanges: &[(Direction, Vec<u8>)], chunk: usize) -> Collector {
    let fl = flow(Transport::Tcp);
    let mut out = Collector::default();
    let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
    feed(env, &fl, &mut out, &mut s, exchanges, chunk);
    finish(env, &fl, &mut out, &mut s);
    out
}

pub(crate) fn crypto(out: &Collector) -> Vec<(String, CryptoState, u64, u64)> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Crypto {
                protocol,
                state,
                records,
                decrypted,
            } => Some((protocol.to_string(), state.clone(), *records, *decrypted)),
            _ => None,
        })
        .collect()
}

pub(crate) fn meta(out: &Collector, key: &str) -> Vec<String> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key: k, value } if k == key => Some(value.clone()),
            _ => None,
        })
        .collect()
}

pub(crate) fn verdict(out: &Collector) -> Verdict {
    crate::verdict::flow(&out.evidence, &|i| format!("#{i}")).verdict
}

fn hex(s: &str) -> Vec<u8> {
    let digits: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    crate::secrets::keylog::hex(&digits).expect("hex")
}

/// RFC 8448 §3 "Simple 1-RTT Handshake": wire records and secrets.
pub(crate) mod rfc8448 {
    pub const CLIENT_RANDOM: &str =
        "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
    pub const C_HS: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
    pub const S_HS: &str = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
    pub const C_AP: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
    pub const S_AP: &str = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
    /// ClientHello message (196 octets); the record header is added by the test.
    pub const CH: &str = "01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2
        1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01
        00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00
        0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00
        23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e
        43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00
        03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06
        04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c
        00 02 40 01";
    pub const SH_REC: &str =
        "16 03 03 00 5a 02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c
        d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00
        2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72
        e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04";
    pub const FLIGHT_REC: &str =
        "17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f
        45 e4 89 e7 f3 3a f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca
        07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba 91 91 cd
        05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b
        d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e
        f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c
        7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8
        bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92
        8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70
        a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8
        94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea
        52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f
        44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89
        f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3
        6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1
        00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e
        1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84
        c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c
        f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f
        c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be
        5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6
        fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb
        56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10
        dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38
        eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f
        60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78
        40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3
        79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e
        75 0e dc 53 37 0d 2b";
    pub const CFIN_REC: &str =
        "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0
        51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c
        ae ac ab 68 67 d7 26 c4 05 46";
    pub const NST_REC: &str =
        "17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24
        0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a
        01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57 53 ad 8e f1
        70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0
        9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15
        13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77
        f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3
        47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74
        bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b
        3b 6c 67 79 b3 7b f1 59 85 68 4f";
    pub const C_APP_REC: &str =
        "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea
        42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b
        62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
    pub const S_APP_REC: &str =
        "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc
        32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8
        fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";
    pub const C_ALERT_REC: &str =
        "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
    pub const S_ALERT_REC: &str =
        "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

    pub fn keylog() -> String {
        keylog_with(C_HS, S_HS, C_AP, S_AP)
    }

    pub fn keylog_with(c_hs: &str, s_hs: &str, c_ap: &str, s_ap: &str) -> String {
        format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {CLIENT_RANDOM} {c_hs}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {CLIENT_RANDOM} {s_hs}\n\
             CLIENT_TRAFFIC_SECRET_0 {CLIENT_RANDOM} {c_ap}\n\
             SERVER_TRAFFIC_SECRET_0 {CLIENT_RANDOM} {s_ap}\n"
        )
    }
}

/// The RFC 8448 trace as the bytes each side wrote, in order.
pub(crate) fn rfc8448_exchanges() -> Vec<(Direction, Vec<u8>)> {
    use rfc8448::*;
    let ch = hex(CH);
    let mut ch_rec = vec![0x16, 0x03, 0x01];
    ch_rec.extend_from_slice(&(ch.len() as u16).to_be_bytes());
    ch_rec.extend(ch);
    let mut server = hex(SH_REC);
    server.extend(hex(FLIGHT_REC));
    let mut server2 = hex(NST_REC);
    server2.extend(hex(S_APP_REC));
    vec![
        (Direction::ToServer, ch_rec),
        (Direction::ToClient, server),
        (Direction::ToServer, hex(CFIN_REC)),
        (Direction::ToClient, server2),
        (Direction::ToServer, hex(C_APP_REC)),
        (Direction::ToServer, hex(C_ALERT_REC)),
        (Direction::ToClient, hex(S_ALERT_REC)),
    ]
}

fn inner_payload(out: &Collector) -> Vec<(Direction, PayloadClass, u64, String)> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Payload { class, bytes, .. } => Some((e.dir?, *class, *bytes, e.chain())),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc8448_trace_opens_every_record() {
    let env = env_with(Some(&rfc8448::keylog()), KeySource::KeyLog, &[]);
    for chunk in [0, 1, 7, 100] {
        let out = run(&env, &rfc8448_exchanges(), chunk);
        assert_eq!(
            crypto(&out),
            vec![("tls1.3".into(), CryptoState::Opened, 7, 7)],
            "chunk {chunk}"
        );
        assert_eq!(meta(&out, "tls.sni"), vec!["server"]);
        assert_eq!(meta(&out, "tls.version"), vec!["TLS 1.3"]);
        assert_eq!(meta(&out, "tls.cipher"), vec!["TLS_AES_128_GCM_SHA256"]);
        assert_eq!(meta(&out, "tls.ech"), vec!["absent"]);
        assert_eq!(meta(&out, "tls.resumed"), vec!["no"]);
        assert_eq!(
            meta(&out, "tls.alert"),
            vec![
                "client-to-server warning close_notify (0)",
                "server-to-client warning close_notify (0)"
            ]
        );
        assert!(
            meta(&out, "tls.ja4")[0].starts_with("t13d030900_"),
            "{:?}",
            meta(&out, "tls.ja4")
        );
        // Both 50-byte payloads (00 01 … 31) reached the inner stream under the keyed layer.
        let p = inner_payload(&out);
        assert_eq!(p.len(), 2, "{p:?}");
        for (_, _, bytes, chain) in &p {
            assert_eq!(*bytes, 50);
            assert_eq!(chain, "tcp › tls1.3[key log]");
        }
    }
}

#[test]
fn rfc8448_without_secrets_is_opaque_with_the_reason() {
    let env = env_with(None, KeySource::KeyLog, &[]);
    let out = run(&env, &rfc8448_exchanges(), 0);
    let c = crypto(&out);
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].2, c[0].3), (7, 0));
    match &c[0].1 {
        CryptoState::NotOpened { reason } => {
            assert_eq!(reason, "no secrets for client random cb34ecb1…")
        }
        s => panic!("{s:?}"),
    }
    assert_eq!(verdict(&out), Verdict::Opaque);
    assert!(inner_payload(&out).is_empty());
}

#[test]
fn secrets_arriving_after_the_packets_still_open_the_flow() {
    let mut env = env_with(None, KeySource::KeyLog, &[]);
    let fl = flow(Transport::Tcp);
    let mut out = Collector::default();
    let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
    feed(&env, &fl, &mut out, &mut s, &rfc8448_exchanges(), 13);
    env.secrets
        .add_keylog(rfc8448::keylog().as_bytes(), KeySource::Capture);
    finish(&env, &fl, &mut out, &mut s);
    assert_eq!(
        crypto(&out),
        vec![("tls1.3".into(), CryptoState::Opened, 7, 7)]
    );
    // The layer names the capture's own secrets as the key source.
    assert!(
        inner_payload(&out)
            .iter()
            .all(|p| p.3 == "tcp › tls1.3[capture secrets]")
    );
}

#[test]
fn wrong_keys_are_not_opened_or_partial_never_opened() {
    let bad = "00".repeat(32);
    // Every secret wrong: nothing opens.
    let env = env_with(
        Some(&rfc8448::keylog_with(&bad, &bad, &bad, &bad)),
        KeySource::KeyLog,
        &[],
    );
    let out = run(&env, &rfc8448_exchanges(), 0);
    let c = crypto(&out);
    match &c[0].1 {
        CryptoState::NotOpened { reason } => assert!(
            reason.contains("decryption failed at record 2 (server-to-client)"),
            "{reason}"
        ),
        s => panic!("{s:?}"),
    }
    assert_eq!(verdict(&out), Verdict::Opaque);
    // Only the client's application secret wrong: the rest opens.
    let env = env_with(
        Some(&rfc8448::keylog_with(
            rfc8448::C_HS,
            rfc8448::S_HS,
            &bad,
            rfc8448::S_AP,
        )),
        KeySource::KeyLog,
        &[],
    );
    let out = run(&env, &rfc8448_exchanges(), 0);
    let c = crypto(&out);
    assert_eq!((c[0].2, c[0].3), (7, 5));
    match &c[0].1 {
        CryptoState::Partial { reason } => {
            assert_eq!(reason, "decryption failed at record 3 (client-to-server)")
        }
        s => panic!("{s:?}"),
    }
    assert_ne!(verdict(&out), Verdict::Sealed);
}

#[test]
fn missing_application_secret_is_named() {
    let log = format!(
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n",
        rfc8448::C_HS,
        rfc8448::S_HS,
        cr = rfc8448::CLIENT_RANDOM
    );
    let env = env_with(Some(&log), KeySource::KeyLog, &[]);
    let out = run(&env, &rfc8448_exchanges(), 0);
    let c = crypto(&out);
    assert_eq!((c[0].2, c[0].3), (7, 2));
    match &c[0].1 {
        CryptoState::Partial { reason } => {
            assert!(
                reason.contains("no SERVER_TRAFFIC_SECRET_0 for client random cb34ecb1…"),
                "{reason}"
            );
            assert!(reason.contains("no CLIENT_TRAFFIC_SECRET_0"), "{reason}");
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn mid_connection_pickup_names_the_missing_handshake() {
    let env = env_with(Some(&rfc8448::keylog()), KeySource::KeyLog, &[]);
    let ex: Vec<_> = rfc8448_exchanges().into_iter().skip(3).collect();
    let out = run(&env, &ex, 0);
    let c = crypto(&out);
    match &c[0].1 {
        CryptoState::NotOpened { reason } => assert_eq!(
            reason,
            "handshake missing from capture (stream picked up mid-connection)"
        ),
        s => panic!("{s:?}"),
    }
    assert_eq!(c[0].2, 5);
}

#[test]
fn truncated_traces_never_panic_and_never_claim_opened() {
    let env = env_with(Some(&rfc8448::keylog()), KeySource::KeyLog, &[]);
    let all = rfc8448_exchanges();
    let total: usize = all.iter().map(|(_, b)| b.len()).sum();
    for cut in (0..total).step_by(37) {
        let mut left = cut;
        let mut ex = Vec::new();
        for (d, b) in &all {
            if left == 0 {
                break;
            }
            let n = b.len().min(left);
            ex.push((*d, b[..n].to_vec()));
            left -= n;
        }
        let out = run(&env, &ex, 5);
        for (_, state, records, decrypted) in crypto(&out) {
            if state == CryptoState::Opened {
                assert_eq!(records, decrypted);
            }
        }
    }
    // Cut inside the client's application-data record: never "opened".
    let cut: Vec<_> = all[..5]
        .iter()
        .enumerate()
        .map(|(i, (d, b))| (*d, if i == 4 { b[..40].to_vec() } else { b.clone() }))
        .collect();
    let out = run(&env, &cut, 0);
    match &crypto(&out)[0].1 {
        CryptoState::Partial { reason } => assert_eq!(
            reason,
            "capture ends inside a record (40 bytes, client-to-server)"
        ),
        s => panic!("{s:?}"),
    }
    assert_ne!(verdict(&out), Verdict::Sealed);
}

#[test]
fn gap_forces_partial_and_resynchronises() {
    let env = env_with(Some(&rfc8448::keylog()), KeySource::KeyLog, &[]);
    let fl = flow(Transport::Tcp);
    let mut out = Collector::default();
    let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
    let ex = rfc8448_exchanges();
    feed(&env, &fl, &mut out, &mut s, &ex[..4], 0);
    {
        let mut cx = Cx::new(&env, &fl, &mut out, PacketRef::default());
        s.gap(&mut cx, Direction::ToServer, 30);
    }
    feed(&env, &fl, &mut out, &mut s, &ex[4..], 0);
    finish(&env, &fl, &mut out, &mut s);
    let c = crypto(&out);
    match &c[0].1 {
        CryptoState::Partial { reason } => {
            assert!(
                reason.contains("30 bytes missing from the capture (client-to-server)"),
                "{reason}"
            )
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn probe_recognises_hellos_mid_stream_and_ports() {
    let ex = rfc8448_exchanges();
    fn input<'a>(
        ts: &'a [u8],
        tc: &'a [u8],
        port: u16,
        hint: Option<&'static str>,
    ) -> ProbeInput<'a> {
        ProbeInput {
            transport: Transport::Tcp,
            to_server: ts,
            to_client: tc,
            datagrams: &[],
            client_port: 50000,
            server_port: port,
            depth: 0,
            hint,
        }
    }
    assert_eq!(probe(&input(&ex[0].1, &[], 1, None)), Confidence::Certain);
    assert_eq!(
        probe(&input(&ex[0].1[..3], &[], 1, None)),
        Confidence::NeedMore
    );
    assert_eq!(probe(&input(&ex[4].1, &[], 1, None)), Confidence::Likely);
    assert_eq!(probe(&input(b"EHLO x\r\n", &[], 25, None)), Confidence::No);
    assert_eq!(
        probe(&input(b"GET / HTTP/1.1\r\n", &[], 443, None)),
        Confidence::Port
    );
    assert_eq!(
        probe(&input(&[], b"220 mail ESMTP\r\n", 465, None)),
        Confidence::Port
    );
}

#[test]
fn waiting_records_are_capped_and_counted_then_released() {
    let env = env_with(None, KeySource::KeyLog, &[]);
    let mut ex = rfc8448_exchanges()[..2].to_vec();
    let mut fake = Vec::new();
    for i in 0..100u8 {
        fake.extend_from_slice(&[0x17, 0x03, 0x03, 0x40, 0x00]);
        fake.extend(std::iter::repeat_n(i, 0x4000));
    }
    ex.push((Direction::ToClient, fake));
    let out = run(&env, &ex, 1400);
    let c = crypto(&out);
    assert_eq!((c[0].2, c[0].3), (101, 0));
    match &c[0].1 {
        CryptoState::NotOpened { reason } => {
            assert!(
                reason.contains("no secrets for client random cb34ecb1…"),
                "{reason}"
            );
            assert!(
                reason.contains("record(s) not kept while waiting for keys"),
                "{reason}"
            );
        }
        s => panic!("{s:?}"),
    }
    assert!(out.evidence.iter().any(
        |e| matches!(&e.kind, EvidenceKind::Anomaly { code, .. } if code == "tls-queue-full")
    ));
    assert_eq!(
        env.tls.waiting(),
        0,
        "the run-wide budget is returned at the end of the flow"
    );
}

#[test]
fn shared_budget_refuses_beyond_its_limit() {
    let s = session::Shared::default();
    assert!(s.reserve(session::WAITING_BUDGET - 10));
    assert!(!s.reserve(11));
    assert!(s.reserve(10));
    s.release(session::WAITING_BUDGET);
    assert_eq!(s.waiting(), 0);
}

/// Builds TLS 1.3 flows record by record with our own key schedule, for
/// paths no capture at hand exercises (HRR, 0-RTT, CCM).
mod synth13 {
    use super::*;
    use crate::proto::tls::decrypt::TrafficKey;
    use crate::proto::tls::keys::TLS13;

    pub const CR: [u8; 32] = [0x61; 32];

    pub fn secret(n: u8, hash: keys::HashAlg) -> Vec<u8> {
        vec![n; hash.output_len()]
    }

    pub fn keylog(hash: keys::HashAlg, early: bool) -> String {
        let cr: String = CR.iter().map(|b| format!("{b:02x}")).collect();
        let hex = |n: u8| {
            secret(n, hash)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let mut s = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {}\nCLIENT_TRAFFIC_SECRET_0 {cr} {}\nSERVER_TRAFFIC_SECRET_0 {cr} {}\n",
            hex(1),
            hex(2),
            hex(3),
            hex(4)
        );
        if early {
            s.push_str(&format!("CLIENT_EARLY_TRAFFIC_SECRET {cr} {}\n", hex(5)));
        }
        s
    }

    pub fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![msg_type];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    pub fn plain(ct: u8, content: &[u8]) -> Vec<u8> {
        let mut r = vec![ct, 3, 3];
        r.extend_from_slice(&(content.len() as u16).to_be_bytes());
        r.extend_from_slice(content);
        r
    }

    pub fn client_hello(suite: u16, early: bool) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&CR);
        b.push(0);
        b.extend_from_slice(&[0, 2]);
        b.extend_from_slice(&suite.to_be_bytes());
        b.extend_from_slice(&[1, 0]);
        let mut e = vec![0x00, 0x2b, 0, 3, 2, 3, 4];
        if early {
            e.extend_from_slice(&[0x00, 0x2a, 0, 0]);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend(e);
        plain(22, &handshake(1, &b))
    }

    pub fn server_hello(suite: u16, random: [u8; 32]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&suite.to_be_bytes());
        b.push(0);
        b.extend_from_slice(&[0, 6, 0x00, 0x2b, 0, 2, 3, 4]);
        plain(22, &handshake(2, &b))
    }

    pub fn seal(suite: u16, n: u8, seq: u64, ct: u8, content: &[u8]) -> Vec<u8> {
        let (alg, hash) = decrypt::tls13_algs(suite).unwrap();
        let k = TrafficKey::derive(alg, hash, &secret(n, hash), TLS13).unwrap();
        let mut inner = content.to_vec();
        inner.push(ct);
        let len = (inner.len() + alg.tag_len()) as u16;
        let header = [0x17, 3, 3, (len >> 8) as u8, len as u8];
        assert!(k.seal(seq, &header, &mut inner));
        let mut r = header.to_vec();
        r.extend(inner);
        r
    }

    pub fn finished(hash: keys::HashAlg) -> Vec<u8> {
        handshake(20, &vec![0xf1; hash.output_len()])
    }
}

fn taps(env: &Env, ex: &[(Direction, Vec<u8>)]) -> (Collector, Vec<(Direction, Vec<u8>)>) {
    let fl = flow(Transport::Tcp);
    let mut out = Collector::default();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g2 = got.clone();
    let mut d = TlsDissector::new(1 << 20);
    d.set_tap(Box::new(move |dir, b| {
        g2.lock().unwrap().push((dir, b.to_vec()))
    }));
    let mut cx = Cx::new(env, &fl, &mut out, PacketRef::default());
    cx.with_layer(Layer::plain("tcp"), |cx| {
        for (dir, b) in ex {
            d.on_data(cx, *dir, b);
        }
        d.finish(cx);
    });
    let got = got.lock().unwrap().clone();
    (out, got)
}

/// CH1 offering 0-RTT + one early record, HelloRetryRequest, CCS + CH2,
/// ServerHello + encrypted flight, client Finished + data, server data.
fn hrr_with_early_data(suite: u16) -> Vec<(Direction, Vec<u8>)> {
    use synth13::*;
    let (_, hash) = decrypt::tls13_algs(suite).unwrap();
    let mut c1 = client_hello(suite, true);
    c1.extend(seal(suite, 5, 0, 23, b"early data"));
    let mut c2 = plain(20, &[1]);
    c2.extend(client_hello(suite, false));
    let mut s2 = server_hello(suite, [0x77; 32]);
    let mut flight = handshake(8, &[0, 0]);
    flight.extend(finished(hash));
    s2.extend(seal(suite, 2, 0, 22, &flight));
    let mut c3 = seal(suite, 1, 0, 22, &finished(hash));
    c3.extend(seal(suite, 3, 0, 23, b"hello"));
    vec![
        (Direction::ToServer, c1),
        (
            Direction::ToClient,
            server_hello(suite, handshake::HRR_RANDOM),
        ),
        (Direction::ToServer, c2),
        (Direction::ToClient, s2),
        (Direction::ToServer, c3),
        (Direction::ToClient, seal(suite, 4, 0, 23, b"world")),
    ]
}

#[test]
fn hello_retry_and_early_data_open_with_the_early_secret() {
    let env = env_with(
        Some(&synth13::keylog(keys::HashAlg::Sha256, true)),
        KeySource::KeyLog,
        &[],
    );
    let (out, got) = taps(&env, &hrr_with_early_data(0x1301));
    assert_eq!(
        got,
        vec![
            (Direction::ToServer, b"early data".to_vec()),
            (Direction::ToServer, b"hello".to_vec()),
            (Direction::ToClient, b"world".to_vec()),
        ]
    );
    assert_eq!(
        crypto(&out),
        vec![("tls1.3".into(), CryptoState::Opened, 5, 5)]
    );
    assert_eq!(meta(&out, "tls.hrr"), vec!["yes"]);
    assert_eq!(meta(&out, "tls.version"), vec!["TLS 1.3"]);
}

#[test]
fn early_data_without_the_early_secret_is_skipped_not_fatal() {
    let env = env_with(
        Some(&synth13::keylog(keys::HashAlg::Sha256, false)),
        KeySource::KeyLog,
        &[],
    );
    let (out, got) = taps(&env, &hrr_with_early_data(0x1301));
    // The handshake and application records still open: the failed 0-RTT
    // record did not consume a handshake sequence number.
    assert_eq!(got.len(), 2);
    let c = crypto(&out);
    assert_eq!((c[0].2, c[0].3), (5, 4));
    match &c[0].1 {
        CryptoState::Partial { reason } => assert_eq!(
            reason,
            "no CLIENT_EARLY_TRAFFIC_SECRET for client random 61616161…"
        ),
        s => panic!("{s:?}"),
    }
}

#[test]
fn accepted_early_data_ends_with_end_of_early_data() {
    use synth13::*;
    let suite = 0x1301;
    let hash = keys::HashAlg::Sha256;
    let mut c1 = client_hello(suite, true);
    c1.extend(seal(suite, 5, 0, 23, b"0-rtt one"));
    c1.extend(seal(suite, 5, 1, 23, b"0-rtt two"));
    let mut s1 = server_hello(suite, [0x77; 32]);
    let mut flight = handshake(8, &[0, 4, 0x00, 0x2a, 0, 0]);
    flight.extend(finished(hash));
    s1.extend(seal(suite, 2, 0, 22, &flight));
    let mut c2 = seal(suite, 5, 2, 22, &handshake(5, &[]));
    c2.extend(seal(suite, 1, 0, 22, &finished(hash)));
    c2.extend(seal(suite, 3, 0, 23, b"1-rtt"));
    let ex = vec![
        (Direction::ToServer, c1),
        (Direction::ToClient, s1),
        (Direction::ToServer, c2),
    ];
    let env = env_with(Some(&keylog(hash, true)), KeySource::KeyLog, &[]);
    let (out, got) = taps(&env, &ex);
    let data: Vec<&[u8]> = got.iter().map(|(_, b)| b.as_slice()).collect();
    assert_eq!(data, vec![&b"0-rtt one"[..], b"0-rtt two", b"1-rtt"]);
    assert_eq!(crypto(&out)[0].1, CryptoState::Opened);
}

#[test]
fn ccm_and_ccm8_suites_open() {
    for suite in [0x1304u16, 0x1305, 0x1302, 0x1303] {
        let (_, hash) = decrypt::tls13_algs(suite).unwrap();
        let env = env_with(Some(&synth13::keylog(hash, true)), KeySource::KeyLog, &[]);
        let (out, got) = taps(&env, &hrr_with_early_data(suite));
        assert_eq!(got.len(), 3, "0x{suite:04x}");
        assert_eq!(crypto(&out)[0].1, CryptoState::Opened, "0x{suite:04x}");
    }
}

/// TLS ≤ 1.2 flows sealed by a small test-only record writer: CBC with
/// Encrypt-then-MAC, TLS 1.0 IV chaining, RSA pre-master secrets with and
/// without the extended master secret, and session resumption.
mod synth12 {
    use super::*;
    use crate::proto::tls::prf::{self, PrfAlg};
    use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
    use hmac::{Hmac, Mac};

    pub struct Dir {
        key: Vec<u8>,
        mac: Vec<u8>,
        iv: Option<[u8; 16]>,
        seq: u64,
    }

    pub struct Writer {
        pub version: u16,
        pub etm: bool,
        pub dirs: [Dir; 2],
    }

    impl Writer {
        /// Keys for an AES-128-CBC suite with HMAC-SHA1 (`mac_len` 20) or SHA-256 (32).
        pub fn new(
            version: u16,
            prf: PrfAlg,
            master: &[u8],
            cr: &[u8],
            sr: &[u8],
            mac_len: usize,
            etm: bool,
        ) -> Writer {
            let kb = prf::key_block(prf, master, cr, sr, 2 * (mac_len + 16 + 16));
            let (cm, r) = kb.split_at(mac_len);
            let (sm, r) = r.split_at(mac_len);
            let (ck, r) = r.split_at(16);
            let (sk, r) = r.split_at(16);
            let (civ, siv) = r.split_at(16);
            let chained = version == 0x0301;
            let dir = |k: &[u8], m: &[u8], iv: &[u8]| Dir {
                key: k.to_vec(),
                mac: m.to_vec(),
                iv: chained.then(|| iv.try_into().unwrap()),
                seq: 0,
            };
            Writer {
                version,
                etm,
                dirs: [dir(ck, cm, civ), dir(sk, sm, siv)],
            }
        }

        fn hmac(&self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            if key.len() == 20 {
                let mut m = <Hmac<sha1::Sha1> as hmac::KeyInit>::new_from_slice(key).unwrap();
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            } else {
                let mut m = <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap();
                parts.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            }
        }

        /// One protected record of `dir`.
        pub fn seal(&mut self, dir: Direction, ct: u8, content: &[u8]) -> Vec<u8> {
            let version = self.version;
            let etm = self.etm;
            let d = &self.dirs[dir.index()];
            let (key, mackey, chained, seq) = (d.key.clone(), d.mac.clone(), d.iv, d.seq);
            let head = |len: usize| decrypt::pseudo_header(seq.to_be_bytes(), ct, version, len);
            let mut body = content.to_vec();
            if !etm {
                let mac = self.hmac(&mackey, &[&head(content.len()), content]);
                body.extend(mac);
            }
            let pad = 15 - body.len() % 16;
            body.extend(std::iter::repeat_n(pad as u8, pad + 1));
            let iv = chained.unwrap_or([seq as u8 ^ 0x5c; 16]);
            let aes = aes::Aes128::new_from_slice(&key).unwrap();
            let mut prev = iv;
            for chunk in body.chunks_exact_mut(16) {
                for (b, p) in chunk.iter_mut().zip(prev.iter()) {
                    *b ^= p;
                }
                let mut block = Array::try_from(&*chunk).unwrap();
                aes.encrypt_block(&mut block);
                chunk.copy_from_slice(&block);
                prev.copy_from_slice(chunk);
            }
            let mut frag = if chained.is_some() {
                Vec::new()
            } else {
                iv.to_vec()
            };
            frag.extend(body);
            if etm {
                let mac = self.hmac(&mackey, &[&head(frag.len()), &frag]);
                frag.extend(mac);
            }
            let d = &mut self.dirs[dir.index()];
            if d.iv.is_some() {
                d.iv = Some(prev);
            }
            d.seq += 1;
            let mut r = vec![ct];
            r.extend_from_slice(&version.to_be_bytes());
            r.extend_from_slice(&(frag.len() as u16).to_be_bytes());
            r.extend(frag);
            r
        }
    }

    pub fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
        synth13::handshake(msg_type, body)
    }

    pub fn record(ct: u8, version: u16, content: &[u8]) -> Vec<u8> {
        let mut r = vec![ct];
        r.extend_from_slice(&version.to_be_bytes());
        r.extend_from_slice(&(content.len() as u16).to_be_bytes());
        r.extend_from_slice(content);
        r
    }

    fn exts(list: &[(u16, &[u8])]) -> Vec<u8> {
        let mut e = Vec::new();
        for (k, d) in list {
            e.extend_from_slice(&k.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        let mut out = (e.len() as u16).to_be_bytes().to_vec();
        out.extend(e);
        out
    }

    pub fn client_hello(
        version: u16,
        cr: &[u8; 32],
        sid: &[u8],
        suite: u16,
        ext: &[(u16, &[u8])],
    ) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(cr);
        b.push(sid.len() as u8);
        b.extend_from_slice(sid);
        b.extend_from_slice(&[0, 2]);
        b.extend_from_slice(&suite.to_be_bytes());
        b.extend_from_slice(&[1, 0]);
        b.extend(exts(ext));
        handshake(1, &b)
    }

    pub fn server_hello(
        version: u16,
        sr: &[u8; 32],
        sid: &[u8],
        suite: u16,
        ext: &[(u16, &[u8])],
    ) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(sr);
        b.push(sid.len() as u8);
        b.extend_from_slice(sid);
        b.extend_from_slice(&suite.to_be_bytes());
        b.push(0);
        b.extend(exts(ext));
        handshake(2, &b)
    }

    pub fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

/// A full TLS ≤ 1.2 handshake (RSA key exchange when `pms` is given) and one
/// record of application data each way.
#[allow(clippy::too_many_arguments)]
fn full12(
    version: u16,
    suite: u16,
    mac_len: usize,
    cr: [u8; 32],
    sid: &[u8],
    etm: bool,
    ems: bool,
    pms: Option<&[u8]>,
    master: &[u8],
    ticket: Option<&[u8]>,
) -> Vec<(Direction, Vec<u8>)> {
    use synth12::*;
    let sr = [0x53; 32];
    let prf = if version == 0x0303 {
        prf::PrfAlg::Sha256
    } else {
        prf::PrfAlg::Md5Sha1
    };
    let mut ext: Vec<(u16, &[u8])> = Vec::new();
    if etm {
        ext.push((0x0016, &[]));
    }
    if ems {
        ext.push((0x0017, &[]));
    }
    ext.push((0x0023, &[]));
    let ch = client_hello(version, &cr, &[], suite, &ext);
    let sh = server_hello(version, &sr, sid, suite, &ext);
    let cke = {
        let mut v = vec![0, 64];
        v.extend_from_slice(&[0xe7; 64]);
        handshake(16, &v)
    };
    let cv = handshake(15, &[4, 1, 0, 2, 9, 9]);
    // The master secret: the key log's, or derived from the pre-master as the server would.
    let mut transcript = Vec::new();
    for m in [&ch, &sh, &handshake(14, &[]), &cke] {
        transcript.extend_from_slice(m);
    }
    let master = match pms {
        Some(pms) if ems => {
            prf::extended_master_secret(prf, pms, &prf::session_hash(prf, &transcript))
        }
        Some(pms) => prf::master_secret(prf, pms, &cr, &sr),
        None => master.to_vec(),
    };
    let mut w = Writer::new(version, prf, &master, &cr, &sr, mac_len, etm);
    let mut server1 = record(22, version, &sh);
    server1.extend(record(22, version, &handshake(14, &[])));
    let mut client2 = record(22, version, &cke);
    client2.extend(record(22, version, &cv));
    client2.extend(record(20, version, &[1]));
    client2.extend(w.seal(Direction::ToServer, 22, &handshake(20, &[0xcf; 12])));
    let mut server2 = Vec::new();
    if let Some(t) = ticket {
        let mut nst = vec![0, 0, 1, 0];
        nst.extend_from_slice(&(t.len() as u16).to_be_bytes());
        nst.extend_from_slice(t);
        server2.extend(record(22, version, &handshake(4, &nst)));
    }
    server2.extend(record(20, version, &[1]));
    server2.extend(w.seal(Direction::ToClient, 22, &handshake(20, &[0x5f; 12])));
    vec![
        (Direction::ToServer, record(22, version, &ch)),
        (Direction::ToClient, server1),
        (Direction::ToServer, client2),
        (Direction::ToClient, server2),
        (
            Direction::ToServer,
            w.seal(Direction::ToServer, 23, b"GET /first HTTP/1.1\r\n\r\n"),
        ),
        (
            Direction::ToClient,
            w.seal(Direction::ToClient, 23, b"HTTP/1.1 200 OK\r\n\r\n"),
        ),
        (
            Direction::ToServer,
            w.seal(Direction::ToServer, 23, b"GET /second HTTP/1.1\r\n\r\n"),
        ),
    ]
}

#[test]
fn tls12_cbc_with_encrypt_then_mac_opens() {
    let cr = [0x21; 32];
    let master = [0x4d; 48];
    let log = format!(
        "CLIENT_RANDOM {} {}\n",
        synth12::hex(&cr),
        synth12::hex(&master)
    );
    let env = env_with(Some(&log), KeySource::KeyLog, &[]);
    for etm in [true, false] {
        let ex = full12(0x0303, 0xc027, 32, cr, &[], etm, false, None, &master, None);
        let (out, got) = taps(&env, &ex);
        assert_eq!(got.len(), 3, "etm {etm}: {:?}", crypto(&out));
        assert_eq!(got[2].1, b"GET /second HTTP/1.1\r\n\r\n");
        assert_eq!(
            crypto(&out),
            vec![("tls1.2".into(), CryptoState::Opened, 5, 5)]
        );
    }
    // A wrong master secret opens nothing.
    let ex = full12(
        0x0303,
        0xc027,
        32,
        cr,
        &[],
        true,
        false,
        None,
        &master,
        None,
    );
    let bad = log.replace("4d4d", "4e4e");
    let (out, got) = taps(&env_with(Some(&bad), KeySource::KeyLog, &[]), &ex);
    assert!(got.is_empty());
    assert!(matches!(crypto(&out)[0].1, CryptoState::NotOpened { .. }));
}

#[test]
fn tls10_chains_cbc_ivs_and_rsa_premaster_opens() {
    let cr = [0x10; 32];
    let pms = [0x03; 48];
    // RSA line: the first 8 bytes of the encrypted pre-master, then the pre-master.
    let log = format!("RSA {} {}\n", synth12::hex(&[0xe7; 8]), synth12::hex(&pms));
    let env = env_with(Some(&log), KeySource::KeyLog, &[]);
    let ex = full12(
        0x0301,
        0x002f,
        20,
        cr,
        &[],
        false,
        false,
        Some(&pms),
        &[],
        None,
    );
    let (out, got) = taps(&env, &ex);
    assert_eq!(got.len(), 3, "{:?}", crypto(&out));
    assert_eq!(
        crypto(&out),
        vec![("tls1.0".into(), CryptoState::Opened, 5, 5)]
    );
    assert_eq!(meta(&out, "tls.version"), vec!["TLS 1.0"]);
    // With the extended master secret the session hash covers the handshake
    // through the ClientKeyExchange only (not the CertificateVerify after it).
    let ex = full12(
        0x0303,
        0x003c,
        32,
        cr,
        &[],
        false,
        true,
        Some(&pms),
        &[],
        None,
    );
    let (out, got) = taps(&env, &ex);
    assert_eq!(got.len(), 3, "{:?}", crypto(&out));
    assert_eq!(crypto(&out)[0].1, CryptoState::Opened);
}

#[test]
fn resumed_sessions_reuse_the_earlier_master_secret() {
    use synth12::*;
    let cr1 = [0x31; 32];
    let master = [0x6d; 48];
    let sid = [0x51; 32];
    let ticket = [0x7a; 40];
    let log = format!("CLIENT_RANDOM {} {}\n", hex(&cr1), hex(&master));
    let env = env_with(Some(&log), KeySource::KeyLog, &[]);
    // The full handshake teaches the run its session id and ticket.
    let ex = full12(
        0x0303,
        0xc027,
        32,
        cr1,
        &sid,
        false,
        false,
        None,
        &master,
        Some(&ticket),
    );
    let (out, _) = taps(&env, &ex);
    assert_eq!(crypto(&out)[0].1, CryptoState::Opened);
    // Abbreviated handshakes: by session id, then by ticket (the server echoes
    // the client's random session id). No key log line for their own randoms.
    for (i, by_ticket) in [false, true].into_iter().enumerate() {
        let cr = [0x40 + i as u8; 32];
        let sr = [0x90 + i as u8; 32];
        let csid: Vec<u8> = if by_ticket {
            vec![0x99; 32]
        } else {
            sid.to_vec()
        };
        let ext: Vec<(u16, &[u8])> = if by_ticket {
            vec![(0x0023, &ticket[..])]
        } else {
            vec![]
        };
        let ch = client_hello(0x0303, &cr, &csid, 0xc027, &ext);
        let sh = server_hello(0x0303, &sr, &csid, 0xc027, &[]);
        let mut w = Writer::new(0x0303, prf::PrfAlg::Sha256, &master, &cr, &sr, 32, false);
        let mut s = record(22, 0x0303, &sh);
        s.extend(record(20, 0x0303, &[1]));
        s.extend(w.seal(Direction::ToClient, 22, &handshake(20, &[1; 12])));
        let mut c = record(20, 0x0303, &[1]);
        c.extend(w.seal(Direction::ToServer, 22, &handshake(20, &[2; 12])));
        c.extend(w.seal(Direction::ToServer, 23, b"resumed request"));
        let ex = vec![
            (Direction::ToServer, record(22, 0x0303, &ch)),
            (Direction::ToClient, s),
            (Direction::ToServer, c),
        ];
        let (out, got) = taps(&env, &ex);
        assert_eq!(
            got,
            vec![(Direction::ToServer, b"resumed request".to_vec())],
            "ticket {by_ticket}"
        );
        assert_eq!(crypto(&out)[0].1, CryptoState::Opened);
        assert_eq!(
            meta(&out, "tls.resumed"),
            vec![if by_ticket {
                "session ticket"
            } else {
                "session id"
            }]
        );
    }
}
