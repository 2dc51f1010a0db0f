//! HTTP/2 connections built frame by frame, read through a stream as the
//! engine (or the TLS dissector, with the `h2` ALPN hint) would feed them.

use super::*;
use crate::evidence::canary::{Canary, CanarySet};
use crate::evidence::provenance::KeySource;
use crate::evidence::{Evidence, EvidenceKind};
use crate::model::Verdict;
use crate::proto::dissector::{Collector, FlowInfo, Hint, PacketRef, Stream};
use crate::rules::apps::AppIndex;
use crate::secrets::SecretStore;
use frame::build;

const CANARY: &str = "PLAINSIGHT-CANARY-h2h2";

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
        id: 1,
        transport: Transport::Tcp,
        client: "192.0.2.1:40000".parse().unwrap(),
        server: "198.51.100.2:443".parse().unwrap(),
    }
}

/// Literal field without indexing, new name (RFC 7541 §6.2.2).
fn lit(name: &str, value: &str) -> Vec<u8> {
    let mut b = vec![0x00, name.len() as u8];
    b.extend_from_slice(name.as_bytes());
    b.push(value.len() as u8);
    b.extend_from_slice(value.as_bytes());
    b
}

/// Literal with incremental indexing, indexed name, Huffman-coded value.
fn indexed_name_huffman(index: u8, value: &str) -> Vec<u8> {
    let coded = huffman::encode(value.as_bytes());
    let mut b = vec![0x40 | index, 0x80 | coded.len() as u8];
    b.extend_from_slice(&coded);
    b
}

fn client_bytes() -> Vec<u8> {
    let mut c = PREFACE.to_vec();
    c.extend(build(kind::SETTINGS, 0, 0, &[]));
    // Request 1: POST with credentials, header block split over CONTINUATION.
    let mut block = vec![0x83, 0x87]; // :method POST, :scheme https
    block.extend(indexed_name_huffman(1, "chat.example.org:443")); // :authority, now dynamic 62
    block.extend(indexed_name_huffman(4, "/api/send"));
    block.extend(lit("user-agent", "TestMessenger/1.0"));
    block.extend(lit("authorization", "Basic YWxpY2U6czNjcmV0"));
    block.extend(lit("cookie", "sid=abcdef123456"));
    let (a, b) = block.split_at(10);
    c.extend(build(kind::HEADERS, 0, 1, a));
    c.extend(build(kind::CONTINUATION, flag::END_HEADERS, 1, b));
    let body = format!("{{\"to\":\"bob\",\"text\":\"{CANARY}\"}}");
    let mut padded = vec![3];
    padded.extend_from_slice(body.as_bytes());
    padded.extend_from_slice(&[0, 0, 0]);
    c.extend(build(
        kind::DATA,
        flag::PADDED | flag::END_STREAM,
        1,
        &padded,
    ));
    // Request 2 reuses :authority from the dynamic table (index 63 after the path entry).
    let mut block = vec![0x82, 0x87, 0xbf];
    block.extend(lit(":path", "/api/poll"));
    c.extend(build(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        3,
        &block,
    ));
    c
}

fn server_bytes() -> Vec<u8> {
    let mut s = build(kind::SETTINGS, 0, 0, &[0, 1, 0, 0, 0x20, 0]);
    let mut block = vec![0x88]; // :status 200
    block.extend(lit("content-type", "application/json"));
    s.extend(build(kind::HEADERS, flag::END_HEADERS, 1, &block));
    s.extend(build(kind::DATA, flag::END_STREAM, 1, b"{\"ok\":true}"));
    s.extend(build(
        kind::HEADERS,
        flag::END_HEADERS | flag::END_STREAM,
        3,
        &[0x89],
    ));
    s.extend(build(kind::GOAWAY, 0, 0, &[0, 0, 0, 3, 0, 0, 0, 0]));
    s
}

fn run(layers: &[Layer], hint: Hint, client: &[u8], server: &[u8], chunk: usize) -> Collector {
    let env = env();
    let flow = flow();
    let mut out = Collector::default();
    let (outer, inner) = layers.split_at(layers.len() - 1);
    let mut s = Stream::new(inner[0].clone(), hint);
    let mut feed = |out: &mut Collector, dir, bytes: &[u8]| {
        for piece in bytes.chunks(chunk) {
            let mut cx = Cx::new(&env, &flow, out, PacketRef::default());
            nest(&mut cx, outer, &mut |cx| s.data(cx, dir, piece));
        }
    };
    feed(&mut out, Direction::ToServer, client);
    feed(&mut out, Direction::ToClient, server);
    let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
    nest(&mut cx, outer, &mut |cx| s.finish(cx));
    out
}

fn nest(cx: &mut Cx<'_>, layers: &[Layer], f: &mut dyn FnMut(&mut Cx<'_>)) {
    match layers.split_first() {
        None => f(cx),
        Some((l, rest)) => cx.with_layer(l.clone(), |cx| nest(cx, rest, f)),
    }
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

/// Evidence as sorted (chain, kind) pairs; a canary's context depends on how
/// the bytes were chunked, so it is left out.
pub(crate) fn summary(out: &Collector) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = out
        .evidence
        .iter()
        .map(|e| {
            let k = match &e.kind {
                EvidenceKind::Canary { canary, .. } => format!("canary {canary}"),
                k => format!("{k:?}"),
            };
            (e.chain(), k)
        })
        .collect();
    v.sort();
    v
}

fn find(out: &Collector, f: impl Fn(&EvidenceKind) -> bool) -> Option<&Evidence> {
    out.evidence.iter().find(|e| f(&e.kind))
}

#[test]
fn cleartext_h2c_requests_credentials_and_body_canary() {
    let out = run(
        &[Layer::plain("tcp")],
        Hint::default(),
        &client_bytes(),
        &server_bytes(),
        usize::MAX,
    );
    assert_eq!(out.protocol.as_ref().map(|p| p.1.as_ref()), Some("http2"));
    assert_eq!(metas(&out, "http.host"), vec!["chat.example.org"]);
    assert_eq!(metas(&out, "http.method"), vec!["POST", "GET"]);
    assert_eq!(metas(&out, "http.path"), vec!["/api/send", "/api/poll"]);
    assert_eq!(metas(&out, "http.status"), vec!["200", "204"]);
    assert_eq!(metas(&out, "http.user-agent"), vec!["TestMessenger/1.0"]);
    let auth = find(
        &out,
        |k| matches!(k, EvidenceKind::Credential { key, .. } if key == "http.basic"),
    )
    .unwrap();
    assert_eq!(
        auth.kind,
        EvidenceKind::Credential {
            key: "http.basic".into(),
            user: Some("alice".into())
        }
    );
    assert_eq!(auth.dir, Some(Direction::ToServer));
    assert_eq!(auth.chain(), "tcp › http2");
    assert!(
        find(
            &out,
            |k| matches!(k, EvidenceKind::Credential { key, .. } if key == "http.cookie")
        )
        .is_some()
    );
    let dump = format!("{:?}", out.evidence);
    assert!(
        !dump.contains("s3cret") && !dump.contains("abcdef123456"),
        "secret values never kept"
    );
    // Found in the raw TCP bytes (h2c is cleartext) and in the decoded body.
    let chains: Vec<String> = canaries(&out).iter().map(|e| e.chain()).collect();
    assert_eq!(chains, vec!["tcp", "tcp › http2 › http-body"]);
    let d = crate::verdict::flow(&out.evidence, &|i| i.to_string());
    assert_eq!(d.verdict, Verdict::Exposed);
}

#[test]
fn byte_by_byte_delivery_gives_the_same_evidence() {
    let whole = run(
        &[Layer::plain("tcp")],
        Hint::default(),
        &client_bytes(),
        &server_bytes(),
        usize::MAX,
    );
    let bytewise = run(
        &[Layer::plain("tcp")],
        Hint::default(),
        &client_bytes(),
        &server_bytes(),
        1,
    );
    assert_eq!(summary(&whole), summary(&bytewise));
}

#[test]
fn decrypted_tls_with_alpn_hint_reads_tcp_tls_http2() {
    let layers = [
        Layer::plain("tcp"),
        Layer::keyed("tls1.3", KeySource::KeyLog),
    ];
    let out = run(
        &layers,
        Hint {
            protocol: Some("http2"),
        },
        &client_bytes(),
        &server_bytes(),
        1000,
    );
    let path = find(
        &out,
        |k| matches!(k, EvidenceKind::Metadata { key, .. } if key == "http.path"),
    )
    .unwrap();
    assert_eq!(path.chain(), "tcp › tls1.3[key log] › http2");
    let chains: Vec<String> = canaries(&out).iter().map(|e| e.chain()).collect();
    assert_eq!(
        chains,
        vec![
            "tcp › tls1.3[key log]",
            "tcp › tls1.3[key log] › http2 › http-body"
        ]
    );
    let d = crate::verdict::flow(&out.evidence, &|i| i.to_string());
    assert_eq!(d.verdict, Verdict::ServerReadable);
}

#[test]
fn alpn_hint_without_preface_still_parses_frames() {
    // Capture started after the preface: the server's frames come first.
    let layers = [
        Layer::plain("tcp"),
        Layer::keyed("tls1.3", KeySource::Capture),
    ];
    let client = &client_bytes()[PREFACE.len()..];
    let out = run(
        &layers,
        Hint {
            protocol: Some("http2"),
        },
        client,
        &server_bytes(),
        usize::MAX,
    );
    assert_eq!(metas(&out, "http.path"), vec!["/api/send", "/api/poll"]);
    assert!(
        find(
            &out,
            |k| matches!(k, EvidenceKind::Anomaly { code, .. } if code == "http2-no-preface")
        )
        .is_some()
    );
    // Without the hint, bytes that are not the preface are not HTTP/2.
    let out = run(
        &[Layer::plain("tcp")],
        Hint::default(),
        client,
        &server_bytes(),
        usize::MAX,
    );
    assert_ne!(out.protocol.as_ref().map(|p| p.1.as_ref()), Some("http2"));
}

#[test]
fn hpack_errors_and_truncation_are_anomalies_not_panics() {
    let mut c = PREFACE.to_vec();
    c.extend(build(
        kind::HEADERS,
        flag::END_HEADERS,
        1,
        &[0xff, 0xff, 0xff, 0xff, 0x0f],
    ));
    c.extend(build(kind::HEADERS, flag::END_HEADERS, 3, &[0x82]));
    let out = run(&[Layer::plain("tcp")], Hint::default(), &c, &[], usize::MAX);
    assert!(
        find(
            &out,
            |k| matches!(k, EvidenceKind::Anomaly { code, .. } if code == "http2-hpack")
        )
        .is_some()
    );
    assert!(
        metas(&out, "http.method").is_empty(),
        "later blocks of a broken direction are not guessed"
    );
    let all = client_bytes();
    for cut in (0..all.len()).step_by(3) {
        run(
            &[Layer::plain("tcp")],
            Hint::default(),
            &all[..cut],
            &server_bytes()[..cut.min(40)],
            7,
        );
    }
}

#[test]
fn probe_wants_the_preface() {
    let input = |b: &'static [u8], hint| ProbeInput {
        transport: Transport::Tcp,
        to_server: b,
        to_client: &[],
        datagrams: &[],
        client_port: 40000,
        server_port: 80,
        depth: 0,
        hint,
    };
    assert_eq!(probe(&input(PREFACE, None)), Confidence::Certain);
    assert_eq!(probe(&input(b"PRI * HTTP/2", None)), Confidence::NeedMore);
    assert_eq!(probe(&input(b"GET / HTTP/1.1\r\n", None)), Confidence::No);
    assert_eq!(
        probe(&input(b"\x00\x00\x12\x04", Some("http2"))),
        Confidence::Port
    );
}
