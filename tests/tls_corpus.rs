//! TLS decryption against the public corpus (skipped when it is absent):
//! every keyed capture opens fully, and the decrypted records match the
//! tshark ground truth in its `.truth.txt`.

mod support;

use plainsight::evidence::canary::CanarySet;
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::evidence::{CryptoState, EvidenceKind};
use plainsight::model::Direction;
use plainsight::proto::dissector::{Collector, Cx, Dissector, Env, FlowInfo, PacketRef};
use plainsight::proto::tls::TlsDissector;
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use support::capture::{self, Flow};

/// `$PLAINSIGHT_CORPUS/public`, or `../shared/corpus/public` from the
/// repository (or from a worktree one level deeper).
fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("PLAINSIGHT_CORPUS").map(PathBuf::from),
        Some(root.join("../shared/corpus")),
        Some(root.join("../../shared/corpus")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|p| p.join("public"))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("skipping: ../shared/corpus not found (set PLAINSIGHT_CORPUS)");
    }
    found
}

/// What one TLS connection produced.
#[derive(Debug)]
struct Outcome {
    crypto: Vec<(String, CryptoState, u64, u64)>,
    /// Decrypted application-data records in order.
    records: Vec<(Direction, Vec<u8>)>,
    meta: Vec<(String, String)>,
}

fn env(keylog: &[u8], source: KeySource) -> Env {
    let mut secrets = SecretStore::default();
    secrets.add_keylog(keylog, source);
    Env::new(
        CanarySet::new(Vec::new()).unwrap(),
        secrets,
        AppIndex::new(&[]),
    )
}

/// Skips the cleartext part of a STARTTLS flow: TLS starts with the
/// client's first `16 03` chunk.
fn tls_part(flow: &Flow) -> Vec<(Direction, Vec<u8>)> {
    let start = flow
        .events
        .iter()
        .position(|(d, b)| *d == Direction::ToServer && b.starts_with(&[0x16, 0x03]))
        .unwrap_or(0);
    flow.events[start..].to_vec()
}

fn run(env: &Env, flow: &Flow) -> Outcome {
    let fi = FlowInfo {
        id: 1,
        transport: flow.transport,
        client: flow.client,
        server: flow.server,
    };
    let mut out = Collector::default();
    let records = Arc::new(Mutex::new(Vec::new()));
    let mut dis = TlsDissector::new(1 << 20);
    let r2 = records.clone();
    dis.set_tap(Box::new(move |d, b| {
        r2.lock().unwrap().push((d, b.to_vec()))
    }));
    let mut cx = Cx::new(env, &fi, &mut out, PacketRef::default());
    cx.with_layer(Layer::plain("tcp"), |cx| {
        for (d, b) in tls_part(flow) {
            dis.on_data(cx, d, &b);
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
        crypto,
        records,
        meta,
    }
}

fn is_tls(flow: &Flow) -> bool {
    flow.events
        .iter()
        .any(|(d, b)| *d == Direction::ToServer && b.starts_with(&[0x16, 0x03]))
}

/// Where a capture's secrets come from.
#[derive(Clone, Copy)]
enum Keys {
    /// A key log file beside the capture.
    File(&'static str),
    /// The capture's own Decryption Secrets Block.
    Dsb,
    /// Key log lines in the capture's comments.
    Comments,
}

/// (capture, keys, client port, records, bytes, digest): tshark 4.0
/// (`-z follow,tls,raw`) decrypts exactly these application-data records;
/// the digest is SHA-256 over `dir u8 | len u32 | bytes` per record, first 8 bytes.
const PARITY: &[(&str, Keys, u16, usize, usize, &str)] = &[
    (
        "illustrated-tls12/capture.pcap",
        Keys::File("illustrated-tls12/keylog.txt"),
        50159,
        2,
        8,
        "d103d5c7000333bc",
    ),
    (
        "illustrated-tls13/capture.pcap",
        Keys::File("illustrated-tls13/keylog.txt"),
        59219,
        2,
        8,
        "d103d5c7000333bc",
    ),
    (
        "wireshark-notes/tls/http-chunked-ssl.pcapng",
        Keys::Comments,
        50177,
        4,
        32979,
        "4d901ecf5f2ee478",
    ),
    (
        "wireshark-notes/tls/http2-16-ssl.pcapng",
        Keys::Comments,
        60883,
        6,
        350,
        "53a0bc7116305076",
    ),
    (
        "wireshark-notes/tls/imap-ssl.pcapng",
        Keys::Comments,
        53477,
        4,
        348,
        "f99df1b5fb011c11",
    ),
    (
        "wireshark-notes/tls/smtp-ssl.pcapng",
        Keys::Comments,
        58778,
        5,
        190,
        "032406fa67eaf2d7",
    ),
    (
        "wireshark-notes/tls/tls-null.pcapng",
        Keys::Comments,
        51442,
        2,
        1713,
        "6d8a5de19491d394",
    ),
    (
        "wireshark-notes/tls/xmpp-ssl.pcapng",
        Keys::Comments,
        46553,
        15,
        1820,
        "3db814d3a64f87cc",
    ),
    (
        "wireshark-notes/tls/works/dump.pcapng",
        Keys::File("wireshark-notes/tls/works/premaster.txt"),
        40347,
        2,
        420,
        "9387472958937cc5",
    ),
    (
        "wireshark-notes/tls/works/dump.pcapng",
        Keys::File("wireshark-notes/tls/works/premaster.txt"),
        46377,
        2,
        408,
        "1b82b4334deba2b7",
    ),
    (
        "wireshark-notes/tls/works/dump.pcapng",
        Keys::File("wireshark-notes/tls/works/premaster.txt"),
        52730,
        2,
        409,
        "1d767bcf0f791888",
    ),
    (
        "wireshark-notes/tls/works/dump.pcapng",
        Keys::File("wireshark-notes/tls/works/premaster.txt"),
        34339,
        2,
        422,
        "1411b5e21e60bc64",
    ),
    (
        "wireshark-notes/tls/works/dump.pcapng",
        Keys::File("wireshark-notes/tls/works/premaster.txt"),
        42963,
        2,
        422,
        "991abe2708db90d0",
    ),
    (
        "wireshark-notes/tls/works/dump.pcapng",
        Keys::File("wireshark-notes/tls/works/premaster.txt"),
        57651,
        2,
        419,
        "9fc5268996070131",
    ),
    (
        "zeek/tls/tls12-decryption.pcap",
        Keys::File("zeek/tls/tls12-decryption.keylog.txt"),
        48216,
        2,
        925,
        "58b17b0363bb567f",
    ),
    (
        "zeek/tls/tls-1.2-stream-keylog.pcap",
        Keys::File("zeek/tls/tls-1.2-stream-keylog.keylog.txt"),
        60679,
        42,
        156985,
        "3eff46b6f1ee2052",
    ),
    (
        "ja4/http2-with-cookies.pcapng",
        Keys::Dsb,
        58847,
        938,
        1830597,
        "aca233f8d36bf3b6",
    ),
    (
        "ja4/chrome-cloudflare-quic-with-secrets.pcapng",
        Keys::Dsb,
        57098,
        14,
        10867,
        "2422a317c2418c63",
    ),
    (
        "wireshark-notes/captures/voip/webrtc-freeswitch.pcapng",
        Keys::Comments,
        41164,
        25,
        7950,
        "20903508e0d4ad18",
    ),
];

fn keylog_of(root: &Path, cap: &capture::Capture, keys: Keys) -> (Vec<u8>, KeySource) {
    match keys {
        Keys::File(p) => (std::fs::read(root.join(p)).unwrap(), KeySource::KeyLog),
        Keys::Dsb => (cap.dsb_keylog.clone(), KeySource::Capture),
        Keys::Comments => {
            let mut text = String::new();
            for c in &cap.comments {
                for line in c.lines().filter(|l| l.starts_with("CLIENT_RANDOM ")) {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            (text.into_bytes(), KeySource::Capture)
        }
    }
}

fn digest(records: &[(Direction, Vec<u8>)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (d, b) in records {
        h.update([d.index() as u8]);
        h.update((b.len() as u32).to_be_bytes());
        h.update(b);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn keyed_captures_decrypt_exactly_like_tshark() {
    let Some(root) = corpus() else { return };
    for &(cap, keys, port, n, bytes, want) in PARITY {
        let c = capture::read(&root.join(cap));
        let (log, source) = keylog_of(&root, &c, keys);
        assert!(!log.is_empty(), "{cap}: no secrets found");
        let e = env(&log, source);
        let flow = c
            .flows
            .iter()
            .find(|f| f.client.port() == port)
            .unwrap_or_else(|| panic!("{cap}: no flow from port {port}"));
        let o = run(&e, flow);
        let total: usize = o.records.iter().map(|(_, b)| b.len()).sum();
        assert_eq!((o.records.len(), total), (n, bytes), "{cap} :{port}");
        assert_eq!(digest(&o.records), want, "{cap} :{port}");
        if cap.ends_with("tls-null.pcapng") {
            // NULL cipher: nothing is encrypted, no crypto layer is claimed.
            assert!(o.crypto.is_empty(), "{cap}: {:?}", o.crypto);
            continue;
        }
        assert_eq!(o.crypto.len(), 1, "{cap}: {:?}", o.crypto);
        let (_, state, records, decrypted) = &o.crypto[0];
        assert_eq!(*state, CryptoState::Opened, "{cap}");
        assert_eq!(records, decrypted, "{cap}");
    }
}

#[test]
fn chrome_hellos_match_the_foxio_ja4() {
    let Some(root) = corpus() else { return };
    for (cap, sni) in [
        ("ja4/http2-with-cookies.pcapng", "youtube.com"),
        (
            "ja4/chrome-cloudflare-quic-with-secrets.pcapng",
            "cloudflare-quic.com",
        ),
    ] {
        let c = capture::read(&root.join(cap));
        let e = env(&c.dsb_keylog, KeySource::Capture);
        let flow = c.flows.iter().find(|f| is_tls(f)).unwrap();
        let o = run(&e, flow);
        let m = |k: &str| {
            o.meta
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            m("tls.ja4"),
            vec!["t13d1516h2_8daaf6152771_e5627efa2ab1"],
            "{cap}"
        );
        assert_eq!(m("tls.sni"), vec![sni], "{cap}");
        assert_eq!(m("tls.alpn"), vec!["h2,http/1.1"], "{cap}");
        assert_eq!(m("tls.version"), vec!["TLS 1.3"], "{cap}");
        assert_eq!(m("tls.ech"), vec!["absent"], "{cap}");
    }
}

#[test]
fn tls12_certificates_and_weak_suites_are_reported() {
    let Some(root) = corpus() else { return };
    let c = capture::read(&root.join("illustrated-tls12/capture.pcap"));
    let e = env(b"", KeySource::KeyLog);
    let o = run(&e, &c.flows[0]);
    let m = |k: &str| {
        o.meta
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(m("tls.cert.subject"), vec!["C=US, CN=example.ulfheim.net"]);
    assert_eq!(m("tls.cert.issuer"), vec!["C=US, O=Example CA"]);
    // No key log: not opened, and the reason names the session.
    match &o.crypto[0].1 {
        CryptoState::NotOpened { reason } => {
            assert!(
                reason.starts_with("no secrets for client random "),
                "{reason}"
            )
        }
        s => panic!("{s:?}"),
    }
    assert!(o.records.is_empty());
}

/// Built-in TLS check ids that fire on one connection's evidence.
fn fired_checks(keylog: &[u8], flow: &Flow) -> Vec<String> {
    use plainsight::rules::eval::{Subject, evaluate};
    use plainsight::rules::model::SubjectKind;
    let e = env(keylog, KeySource::KeyLog);
    let fi = FlowInfo {
        id: 1,
        transport: flow.transport,
        client: flow.client,
        server: flow.server,
    };
    let mut out = Collector::default();
    let mut dis = TlsDissector::new(1 << 20);
    let mut cx = Cx::new(&e, &fi, &mut out, PacketRef::default());
    cx.with_layer(Layer::plain("tcp"), |cx| {
        for (d, b) in tls_part(flow) {
            dis.on_data(cx, d, &b);
        }
        dis.finish(cx);
    });
    let d = plainsight::verdict::flow(&out.evidence, &|_| String::new());
    let rules = plainsight::rules::load::builtin();
    let s = Subject {
        kind: SubjectKind::Flow,
        label: "flow 1".into(),
        identity: "flow".into(),
        protocol: "tls",
        app: None,
        verdict: d.verdict,
        reason: &d.reason,
        client: Some(flow.client.to_string()),
        server: Some(flow.server.to_string()),
        evidence: &out.evidence,
    };
    let canaries = CanarySet::new(Vec::new()).unwrap();
    let mut ids: Vec<String> = evaluate(&rules, &s, &canaries)
        .into_iter()
        .map(|f| f.check.id.clone())
        .filter(|id| {
            [
                "obsolete-tls-version",
                "weak-tls-cipher",
                "no-forward-secrecy",
                "sni-in-clear",
                "ech-present",
            ]
            .contains(&id.as_str())
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn weak_and_static_suites_fire_their_checks() {
    let Some(root) = corpus() else { return };
    let dump = capture::read(&root.join("wireshark-notes/tls/works/dump.pcapng"));
    // RC4 export with static RSA, no SNI.
    let rc4 = dump
        .flows
        .iter()
        .find(|f| f.client.port() == 40347)
        .unwrap();
    assert_eq!(
        fired_checks(b"", rc4),
        vec!["no-forward-secrecy", "weak-tls-cipher"]
    );
    // ECDHE with RC4: weak, but forward secret.
    let ecdhe = dump
        .flows
        .iter()
        .find(|f| f.client.port() == 57651)
        .unwrap();
    assert_eq!(fired_checks(b"", ecdhe), vec!["weak-tls-cipher"]);
    // NULL-SHA256 over static RSA.
    let null = capture::read(&root.join("wireshark-notes/tls/tls-null.pcapng"));
    let f = null.flows.iter().find(|f| is_tls(f)).unwrap();
    assert_eq!(
        fired_checks(b"", f),
        vec!["no-forward-secrecy", "weak-tls-cipher"]
    );
    // A modern TLS 1.3 connection only reveals its server name.
    let yt = capture::read(&root.join("ja4/http2-with-cookies.pcapng"));
    let f = yt.flows.iter().find(|f| is_tls(f)).unwrap();
    assert_eq!(fired_checks(b"", f), vec!["sni-in-clear"]);
}

#[test]
fn null_cipher_content_is_exposed_even_without_keys() {
    let Some(root) = corpus() else { return };
    let c = capture::read(&root.join("wireshark-notes/tls/tls-null.pcapng"));
    let f = c.flows.iter().find(|f| is_tls(f)).unwrap();
    let o = run(&env(b"", KeySource::KeyLog), f);
    // The records are readable without any key: the MAC is just not checked.
    assert_eq!(o.records.len(), 2);
    assert!(o.records[0].1.starts_with(b"GET / HTTP/1.1\r\n"));
    // No encrypted layer is claimed, so the content is judged as cleartext.
    assert!(o.crypto.is_empty(), "{:?}", o.crypto);
    assert!(o.meta.iter().any(|(k, _)| k == "tls.null-cipher"));
}

/// Every capture of the corpus through the registry (TLS and DTLS probes):
/// nothing panics, each TLS/DTLS connection reports exactly one crypto
/// evidence, and without keys nothing is ever `sealed`.
#[test]
fn whole_corpus_without_keys_is_never_sealed() {
    use plainsight::model::{Transport, Verdict};
    use plainsight::proto::dissector::{Hint, Stream};
    let Some(root) = corpus() else { return };
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                files.push(p);
            }
        }
    }
    files.sort();
    let e = env(b"", KeySource::KeyLog);
    let (mut tls, mut dtls) = (0, 0);
    for f in &files {
        let c = capture::read(f);
        for (i, flow) in c.flows.iter().enumerate() {
            let fi = FlowInfo {
                id: i as u64,
                transport: flow.transport,
                client: flow.client,
                server: flow.server,
            };
            let mut out = Collector::default();
            let mut s = match flow.transport {
                Transport::Tcp => Stream::new(Layer::plain("tcp"), Hint::default()),
                Transport::Udp => Stream::datagrams(Layer::plain("udp"), Hint::default()),
            };
            let mut cx = Cx::new(&e, &fi, &mut out, PacketRef::default());
            for (d, b) in &flow.events {
                s.data(&mut cx, *d, b);
            }
            s.finish(&mut cx);
            let crypto = out
                .evidence
                .iter()
                .filter(|e| matches!(e.kind, EvidenceKind::Crypto { .. }))
                .count();
            let null = out.evidence.iter().any(|e| {
                matches!(&e.kind, EvidenceKind::Metadata { key, .. } if key == "tls.null-cipher")
            });
            match s.protocol().as_deref() {
                Some("tls") => {
                    tls += 1;
                    // NULL-cipher connections encrypt nothing and report no crypto layer.
                    assert_eq!(crypto, usize::from(!null), "{}: flow {i}", f.display());
                }
                Some("dtls") => {
                    dtls += 1;
                    assert_eq!(crypto, 1, "{}: flow {i}", f.display());
                }
                _ => {}
            }
            let d = plainsight::verdict::flow(&out.evidence, &|_| String::new());
            assert_ne!(
                d.verdict,
                Verdict::Sealed,
                "{}: flow {i}: {}",
                f.display(),
                d.reason
            );
        }
    }
    eprintln!(
        "{} captures: {tls} TLS and {dtls} DTLS connections",
        files.len()
    );
    assert!(tls > 50 && dtls > 0, "{tls} TLS, {dtls} DTLS");
}
