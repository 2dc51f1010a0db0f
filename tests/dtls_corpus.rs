//! DTLS against the public corpus (skipped when it is absent): the DTLS 1.3
//! capture of "The Illustrated DTLS Connection" decrypts to its documented
//! `ping`/`pong` (tshark 4.0 cannot), and WebRTC's DTLS 1.0 handshake opens.

mod support;

use plainsight::evidence::canary::CanarySet;
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::evidence::{CryptoState, EvidenceKind};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Dissector, Env, FlowInfo, PacketRef};
use plainsight::proto::dtls::DtlsDissector;
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use support::capture::{self, Flow};

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = [
        std::env::var_os("PLAINSIGHT_CORPUS").map(PathBuf::from),
        Some(root.join("../shared/corpus")),
        Some(root.join("../../shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .map(|p| p.join("public"))
    .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("skipping: ../shared/corpus not found (set PLAINSIGHT_CORPUS)");
    }
    found
}

struct Outcome {
    evidence: Vec<plainsight::evidence::Evidence>,
    records: Vec<(Direction, Vec<u8>)>,
    crypto: Vec<(String, CryptoState, u64, u64)>,
    meta: Vec<(String, String)>,
}

fn run(keylog: &[u8], flow: &Flow) -> Outcome {
    let mut secrets = SecretStore::default();
    secrets.add_keylog(keylog, KeySource::KeyLog);
    let env = Env::new(
        CanarySet::new(Vec::new()).unwrap(),
        secrets,
        AppIndex::new(&[]),
    );
    let fi = FlowInfo {
        id: 1,
        transport: Transport::Udp,
        client: flow.client,
        server: flow.server,
    };
    let mut out = Collector::default();
    let records = Arc::new(Mutex::new(Vec::new()));
    let r2 = records.clone();
    let mut dis = DtlsDissector::new(1 << 20);
    dis.set_tap(Box::new(move |d, b| {
        r2.lock().unwrap().push((d, b.to_vec()))
    }));
    let mut cx = Cx::new(&env, &fi, &mut out, PacketRef::default());
    cx.with_layer(Layer::plain("udp"), |cx| {
        for (d, b) in &flow.events {
            // DTLS shares its 5-tuple with STUN/SRTP in WebRTC: only DTLS datagrams (RFC 7983).
            if (20..=63).contains(&b[0]) {
                dis.on_datagram(cx, *d, b);
            }
        }
        dis.finish(cx);
    });
    let crypto = out
        .evidence
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
        .collect();
    let meta = out
        .evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key, value } => Some((key.to_string(), value.clone())),
            _ => None,
        })
        .collect();
    let records = records.lock().unwrap().clone();
    Outcome {
        evidence: out.evidence,
        records,
        crypto,
        meta,
    }
}

#[test]
fn illustrated_dtls13_decrypts_to_ping_pong() {
    let Some(root) = corpus() else { return };
    let c = capture::read(&root.join("illustrated-dtls/capture.pcap"));
    let keylog = std::fs::read(root.join("illustrated-dtls/keylog.txt")).unwrap();
    let flow = &c.flows[0];
    let o = run(&keylog, flow);
    eprintln!("{:?}\n{:?}", o.crypto, o.meta);
    assert_eq!(
        o.records,
        vec![
            (Direction::ToServer, b"ping".to_vec()),
            (Direction::ToClient, b"pong".to_vec())
        ]
    );
    assert_eq!(o.crypto.len(), 1);
    assert_eq!(o.crypto[0].0, "dtls1.3");
    assert_eq!(o.crypto[0].1, CryptoState::Opened);
    assert_eq!(o.crypto[0].2, o.crypto[0].3);
}

#[test]
fn webrtc_dtls10_handshake_opens_and_reports_srtp() {
    let Some(root) = corpus() else { return };
    let c = capture::read(&root.join("wireshark-notes/captures/voip/webrtc-freeswitch.pcapng"));
    let keylog =
        std::fs::read(root.join("wireshark-notes/captures/voip/webrtc-freeswitch.keylog.txt"))
            .unwrap();
    let flow = c
        .flows
        .iter()
        .find(|f| {
            f.transport == Transport::Udp
                && f.events
                    .iter()
                    .any(|(_, b)| b.len() > 13 && b[0] == 22 && b[1] == 0xfe)
        })
        .expect("a DTLS flow");
    let o = run(&keylog, flow);
    eprintln!("{:?}\n{:?}\n{}", o.crypto, o.meta, o.records.len());
    let m = |k: &str| {
        o.meta
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(m("tls.version"), vec!["DTLS 1.0"]);
    assert_eq!(m("dtls.use_srtp"), vec!["SRTP_AES128_CM_HMAC_SHA1_80"]);
    assert!(m("tls.ja4")[0].starts_with("dd1i"), "{:?}", m("tls.ja4"));
    assert_eq!(o.crypto[0].0, "dtls1.0");
    assert_eq!(o.crypto[0].1, CryptoState::Opened, "{:?}", o.crypto);
    assert!(o.crypto[0].2 >= 2);
    // DTLS 1.0 is obsolete: the built-in check fires on the version metadata.
    let rules = plainsight::rules::load::builtin();
    let check = rules
        .checks
        .iter()
        .find(|c| c.id == "obsolete-tls-version")
        .unwrap();
    let m = check.evidence.as_ref().unwrap();
    assert!(
        o.evidence
            .iter()
            .any(|e| plainsight::rules::eval::matches(m, e))
    );
}
