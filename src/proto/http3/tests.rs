//! HTTP/3 sessions fed stream by stream, as the QUIC dissector does after
//! decrypting STREAM frames.

use super::*;
use crate::evidence::canary::{Canary, CanarySet};
use crate::evidence::provenance::KeySource;
use crate::evidence::{Evidence, EvidenceKind};
use crate::model::Transport;
use crate::proto::dissector::{Collector, Env, FlowInfo, PacketRef};
use crate::proto::http2::tests::summary;
use crate::rules::apps::AppIndex;
use crate::secrets::SecretStore;
use varint::encode as venc;

const CANARY: &str = "PLAINSIGHT-CANARY-h3h3";

fn env() -> Env {
    let canaries = CanarySet::new(vec![Canary {
        text: CANARY.into(),
        label: None,
        created: None,
    }])
    .unwrap();
    Env::new(canaries, SecretStore::default(), AppIndex::new(&[]))
}

fn flow() -> FlowInfo {
    FlowInfo {
        id: 3,
        transport: Transport::Udp,
        client: "192.0.2.1:40000".parse().unwrap(),
        server: "198.51.100.2:443".parse().unwrap(),
    }
}

fn frame(t: u64, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    venc(t, &mut f);
    venc(payload.len() as u64, &mut f);
    f.extend_from_slice(payload);
    f
}

/// (stream id, direction, bytes, fin) in delivery order.
type Script = Vec<(u64, Direction, Vec<u8>, bool)>;

fn script() -> Script {
    let up = Direction::ToServer;
    let down = Direction::ToClient;
    // Server control stream: SETTINGS with QPACK_MAX_TABLE_CAPACITY 4096 (for the client's encoder).
    let mut ctrl = vec![0x00];
    ctrl.extend(frame(0x04, &[0x01, 0x50, 0x00, 0x06, 0x44, 0x00]));
    // The client's request references a dynamic entry (:authority) inserted on its encoder stream.
    // Required insert count 1 (encoded 2 with 128 max entries), base 1: indexed dynamic relative 0.
    let mut fs = vec![0x02, 0x00, 0xd1, 0xd7, 0x80];
    fs.push(0x51);
    fs.push(10);
    fs.extend_from_slice(b"/api/inbox");
    let mut req = frame(0x01, &fs);
    // A reserved (GREASE) frame type with text inside: skipped, but scanned.
    req.extend(frame(
        0x21 + 0x1f * 3,
        format!("GREASE {CANARY}").as_bytes(),
    ));
    req.extend(frame(0x00, b"{\"since\":0}"));
    let mut enc = vec![0x02];
    enc.extend([0x3f, 0xe1, 0x1f]); // set capacity 4096
    enc.push(0xc0); // insert with static name :authority
    enc.push(16);
    enc.extend_from_slice(b"chat.example.org");
    let mut resp = frame(0x01, &[0x00, 0x00, 0xd9]);
    resp.extend(frame(
        0x00,
        format!("{{\"messages\":[\"{CANARY}\"]}}").as_bytes(),
    ));
    // A WebTransport-style extension stream (type 0x54) and a GREASE stream.
    let mut ext = vec![0x40, 0x54];
    ext.extend_from_slice(b"opaque extension payload bytes");
    let mut grease = Vec::new();
    venc(0x21 + 0x1f * 7, &mut grease);
    grease.extend_from_slice(b"GREASE is the word");
    vec![
        (3, down, ctrl, false),
        (0, up, req, true),
        (6, up, enc, false),
        (0, down, resp, true),
        (10, up, ext, true),
        (7, down, grease, true),
    ]
}

fn run(script: &Script, chunk: usize) -> Collector {
    let env = env();
    let flow = flow();
    let mut out = Collector::default();
    let mut s = Session::default();
    let keyed = Layer::keyed("quic", KeySource::KeyLog);
    for (id, dir, bytes, fin) in script {
        let pieces: Vec<&[u8]> = bytes.chunks(chunk).collect();
        for (i, p) in pieces.iter().enumerate() {
            let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
            let last = i + 1 == pieces.len();
            cx.with_layer(keyed.clone(), |cx| {
                s.on_stream(cx, *id, *dir, p, *fin && last)
            });
        }
    }
    let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
    cx.with_layer(keyed, |cx| s.finish(cx));
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

fn canaries(out: &Collector) -> Vec<&Evidence> {
    out.evidence
        .iter()
        .filter(|e| matches!(e.kind, EvidenceKind::Canary { .. }))
        .collect()
}

#[test]
fn request_blocked_on_the_encoder_stream_is_decoded_when_it_arrives() {
    let out = run(&script(), usize::MAX);
    assert_eq!(metas(&out, "http.host"), vec!["chat.example.org"]);
    assert_eq!(metas(&out, "http.method"), vec!["GET"]);
    assert_eq!(metas(&out, "http.path"), vec!["/api/inbox"]);
    assert_eq!(metas(&out, "http.status"), vec!["200"]);
    let chains: Vec<String> = canaries(&out).iter().map(|e| e.chain()).collect();
    assert_eq!(
        chains,
        vec!["quic[key log] › http3", "quic[key log] › http3 › http-body"],
        "the GREASE frame is scanned; the response body is decoded"
    );
    assert!(
        !out.evidence.iter().any(
            |e| matches!(&e.kind, EvidenceKind::Anomaly { code, .. } if code.starts_with("qpack"))
        ),
        "{:?}",
        out.evidence
    );
    // The extension stream is an inner stream of its own.
    assert!(
        out.evidence
            .iter()
            .any(|e| e.chain() == "quic[key log] › http3 › http3-stream")
    );
}

#[test]
fn frames_split_at_every_byte_give_the_same_evidence() {
    let whole = run(&script(), usize::MAX);
    for chunk in [1, 2, 3, 5] {
        let split = run(&script(), chunk);
        assert_eq!(summary(&whole), summary(&split), "chunk {chunk}");
    }
}

#[test]
fn never_arriving_dynamic_entries_are_reported() {
    let mut s = script();
    s.retain(|(id, ..)| *id != 6);
    let out = run(&s, usize::MAX);
    assert!(metas(&out, "http.path").is_empty());
    assert!(
        out.evidence.iter().any(
            |e| matches!(&e.kind, EvidenceKind::Anomaly { code, .. } if code == "qpack-blocked")
        )
    );
}

#[test]
fn garbage_never_panics() {
    for s in script() {
        for cut in 0..s.2.len() {
            let mut t = script();
            for x in &mut t {
                if x.0 == s.0 {
                    x.2.truncate(cut);
                }
            }
            run(&t, 4);
        }
    }
    assert!(is_grease(0x21) && is_grease(0x21 + 0x1f * 9) && !is_grease(0x54));
}
