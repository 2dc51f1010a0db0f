//! QUIC on the public corpus: SNI, ALPN and version of every QUIC capture
//! agree with its `.truth.txt` (tshark/ndpiReader), Google QUIC is labelled,
//! and captures with key material decrypt fully (1-RTT `ping`/`pong` of the
//! illustrated connection, HTTP/3 of the Chrome capture with its DSB).

#[path = "support/udp_capture.rs"]
mod udp_capture;

use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::KeySource;
use plainsight::evidence::{CryptoState, Evidence, EvidenceKind, Layer, PayloadClass};
use plainsight::model::{Direction, Transport, Verdict};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct FlowResult {
    server_port: u16,
    out: Collector,
}

fn corpus_file(rel: &str) -> Option<PathBuf> {
    let Some(root) = udp_capture::corpus() else {
        eprintln!("skipping: ../shared/corpus not found (set PLAINSIGHT_CORPUS)");
        return None;
    };
    let p = root.join("public").join(rel);
    if !p.exists() {
        eprintln!("skipping: {} not in the corpus", p.display());
        return None;
    }
    Some(p)
}

fn run(path: &Path, keylog: Option<&Path>, dsb: bool, canaries: &[&str]) -> Vec<FlowResult> {
    let cap = udp_capture::read(path);
    let mut secrets = SecretStore::default();
    if let Some(k) = keylog {
        let w = secrets.add_keylog(&std::fs::read(k).unwrap(), KeySource::KeyLog);
        assert!(w.is_empty(), "{w:?}");
    }
    if dsb {
        for (_, text) in &cap.secrets {
            secrets.add_keylog(text, KeySource::Capture);
        }
    }
    let canaries = CanarySet::new(
        canaries
            .iter()
            .map(|t| Canary {
                text: t.to_string(),
                label: None,
                created: None,
            })
            .collect(),
    )
    .unwrap();
    let env = Env::new(canaries, secrets, AppIndex::new(&[]));
    let mut results = Vec::new();
    for (i, f) in cap.flows.iter().enumerate() {
        let info = FlowInfo {
            id: i as u64,
            transport: Transport::Udp,
            client: f.client,
            server: f.server,
        };
        let mut out = Collector::default();
        let mut s = Stream::datagrams(Layer::plain("udp"), Hint::default());
        for d in &f.datagrams {
            let pkt = PacketRef {
                index: d.index,
                ..PacketRef::default()
            };
            let mut cx = Cx::new(&env, &info, &mut out, pkt);
            let dir = if d.to_server {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            s.data(&mut cx, dir, &d.payload);
        }
        let mut cx = Cx::new(&env, &info, &mut out, PacketRef::default());
        s.finish(&mut cx);
        results.push(FlowResult {
            server_port: f.server.port(),
            out,
        });
    }
    results
}

fn metas<'a>(ev: &'a [Evidence], key: &str) -> Vec<&'a str> {
    ev.iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key: k, value } if k == key => Some(value.as_str()),
            _ => None,
        })
        .collect()
}

fn meta_evidence<'a>(ev: &'a [Evidence], key: &str) -> Option<&'a Evidence> {
    ev.iter()
        .find(|e| matches!(&e.kind, EvidenceKind::Metadata { key: k, .. } if k == key))
}

fn crypto(ev: &[Evidence]) -> Vec<(CryptoState, u64, u64)> {
    ev.iter()
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

/// Ids of the built-in checks that fire on a flow.
fn fired(c: &Collector) -> BTreeSet<String> {
    let rules = plainsight::rules::load::builtin();
    let d = plainsight::verdict::flow(&c.evidence, &|i| i.to_string());
    let proto = protocol(c).unwrap_or_else(|| "unknown".into());
    let subject = plainsight::rules::eval::Subject {
        kind: plainsight::rules::model::SubjectKind::Flow,
        label: "flow 0".into(),
        identity: "flow".into(),
        protocol: &proto,
        app: None,
        verdict: d.verdict,
        reason: &d.reason,
        client: None,
        server: Some("server".into()),
        evidence: &c.evidence,
    };
    plainsight::rules::eval::evaluate(&rules, &subject, &CanarySet::default())
        .iter()
        .map(|f| f.check.id.clone())
        .collect()
}

fn protocol(c: &Collector) -> Option<String> {
    c.protocol.as_ref().map(|(_, p)| p.to_string())
}

/// QUIC ClientHellos of the truth file as (SNI, ALPN list).
fn truth_quic_hellos(capture: &Path) -> BTreeSet<(String, String)> {
    let truth = std::fs::read_to_string(capture.with_extension("truth.txt")).unwrap();
    udp_capture::truth_section(&truth, "## TLS/QUIC ClientHello")
        .into_iter()
        .filter(|f| f.get(3).is_some_and(|p| !p.is_empty()))
        .map(|f| (f[0].clone(), f[1].clone()))
        .collect()
}

fn ours(results: &[FlowResult]) -> BTreeSet<(String, String)> {
    results
        .iter()
        .filter(|r| {
            protocol(&r.out).as_deref() == Some("quic")
                || protocol(&r.out).as_deref() == Some("http3")
        })
        .map(|r| {
            let sni = metas(&r.out.evidence, "quic.sni")
                .first()
                .copied()
                .unwrap_or("")
                .to_string();
            let alpn = metas(&r.out.evidence, "quic.alpn")
                .first()
                .copied()
                .unwrap_or("")
                .to_string();
            (sni, alpn)
        })
        .collect()
}

fn check_initial_only(rel: &str, version: &str) {
    let Some(path) = corpus_file(rel) else { return };
    let results = run(&path, None, false, &[]);
    let want = truth_quic_hellos(&path);
    assert!(!want.is_empty(), "truth file has QUIC ClientHellos");
    assert_eq!(ours(&results), want, "{rel}");
    for r in results.iter().filter(|r| r.server_port == 443) {
        let ev = &r.out.evidence;
        assert_eq!(metas(ev, "quic.version"), vec![version], "{rel}");
        let sni = meta_evidence(ev, "quic.sni").unwrap();
        assert_eq!(sni.chain(), "udp › quic-initial[no key needed]");
        assert!(!sni.keyed());
        let c = crypto(ev);
        assert_eq!(c.len(), 1, "{rel}: one crypto item per connection");
        assert_eq!(
            c[0].0,
            CryptoState::NotOpened {
                reason: "Initial only: 1-RTT packets need a key log".into()
            },
            "{rel}"
        );
        assert!(c[0].1 > 0 && c[0].2 == 0);
        let d = plainsight::verdict::flow(ev, &|i| i.to_string());
        assert_eq!(d.verdict, Verdict::Opaque, "{rel}: {}", d.reason);
        let f = fired(&r.out);
        assert!(
            f.contains("quic-sni-in-clear") && f.contains("transport-not-opened"),
            "{f:?}"
        );
        assert!(!f.contains("gquic-legacy"));
    }
}

#[test]
fn zeek_curl_http3_google_initial() {
    check_initial_only("zeek/quic/curl-8.1.2-dev-http3-www-google-de.pcap", "v1");
}

#[test]
fn suricata_quic_ietf_initial() {
    check_initial_only("suricata-verify/quic-ietf/input.pcap", "v1");
}

#[test]
fn zeek_quic_go_handshake_over_ppp() {
    let rel = "zeek/quic/interop/quic-go_quic-go/handshake.pcap";
    let Some(path) = corpus_file(rel) else { return };
    let results = run(&path, None, false, &[]);
    assert_eq!(ours(&results), truth_quic_hellos(&path));
    let r = results
        .iter()
        .find(|r| protocol(&r.out).as_deref() == Some("quic"))
        .unwrap();
    assert_eq!(metas(&r.out.evidence, "quic.version"), vec!["v1"]);
}

#[test]
fn ndpi_gquic_versions_and_sni() {
    let rel = "ndpi/quic.pcap";
    let Some(path) = corpus_file(rel) else { return };
    let truth = std::fs::read_to_string(path.with_extension("truth.txt")).unwrap();
    let rows = udp_capture::truth_section(&truth, "## Google QUIC");
    let want_sni: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.get(1))
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    let want_ver: BTreeSet<String> = rows
        .iter()
        .map(|r| r[0].clone())
        .filter(|s| !s.is_empty())
        .collect();
    let results = run(&path, None, false, &[]);
    let mut sni = BTreeSet::new();
    let mut ver = BTreeSet::new();
    for r in &results {
        assert_eq!(
            protocol(&r.out).as_deref(),
            Some("gquic"),
            "every flow is gQUIC"
        );
        sni.extend(
            metas(&r.out.evidence, "quic.sni")
                .iter()
                .map(|s| s.to_string()),
        );
        ver.extend(
            metas(&r.out.evidence, "quic.version")
                .iter()
                .map(|s| s.to_string()),
        );
        let c = crypto(&r.out.evidence);
        assert!(matches!(c[0].0, CryptoState::NotOpened { .. }));
    }
    assert_eq!(sni, want_sni);
    assert_eq!(ver, want_ver);
    let ua: BTreeSet<String> = results
        .iter()
        .flat_map(|r| metas(&r.out.evidence, "quic.user_agent"))
        .map(|s| s.to_string())
        .collect();
    assert!(
        ua.iter().any(|u| u.starts_with("Chrome/49.0.2623.87")),
        "{ua:?}"
    );
    let f = fired(&results[0].out);
    for id in [
        "gquic-legacy",
        "gquic-user-agent-in-clear",
        "quic-sni-in-clear",
    ] {
        assert!(f.contains(id), "{id} in {f:?}");
    }
}

#[test]
fn illustrated_quic_decrypts_ping_pong() {
    let Some(path) = corpus_file("illustrated-quic/capture.pcap") else {
        return;
    };
    let keylog = path.with_file_name("keylog.txt");
    let results = run(&path, Some(&keylog), false, &[]);
    assert_eq!(ours(&results), truth_quic_hellos(&path));
    let r = &results[0];
    let ev = &r.out.evidence;
    assert_eq!(metas(ev, "quic.sni"), vec!["example.ulfheim.net"]);
    assert_eq!(metas(ev, "quic.alpn"), vec!["ping/1.0"]);
    let c = crypto(ev);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, CryptoState::Opened, "{c:?}");
    assert_eq!(c[0].1, c[0].2);
    // Stream 0 carries "ping" one way and "pong" the other, under the keyed layer.
    let payload: Vec<(Option<Direction>, u64, String)> = ev
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Payload { bytes, .. } => Some((e.dir, *bytes, e.chain())),
            _ => None,
        })
        .collect();
    assert!(
        payload.contains(&(Some(Direction::ToServer), 4, "udp › quic[key log]".into())),
        "{payload:?}"
    );
    assert!(
        payload.contains(&(Some(Direction::ToClient), 4, "udp › quic[key log]".into())),
        "{payload:?}"
    );
}

#[test]
fn illustrated_quic_without_keys_is_opaque() {
    let Some(path) = corpus_file("illustrated-quic/capture.pcap") else {
        return;
    };
    let results = run(&path, None, false, &[]);
    let c = crypto(&results[0].out.evidence);
    assert_eq!(
        c[0].0,
        CryptoState::NotOpened {
            reason: "Initial only: 1-RTT packets need a key log".into()
        }
    );
}

#[test]
fn chrome_cloudflare_http3_with_dsb() {
    let Some(path) = corpus_file("ja4/chrome-cloudflare-quic-with-secrets.pcapng") else {
        return;
    };
    let results = run(&path, None, true, &["GREASE is the word"]);
    assert_eq!(ours(&results), truth_quic_hellos(&path));
    let r = results
        .iter()
        .find(|r| metas(&r.out.evidence, "quic.sni").contains(&"cloudflare-quic.com"))
        .unwrap();
    let ev = &r.out.evidence;
    assert_eq!(protocol(&r.out).as_deref(), Some("http3"));
    let c = crypto(ev);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, CryptoState::Opened, "{c:?}");
    assert_eq!(c[0].1, c[0].2);
    assert!(c[0].1 >= 20, "{c:?}");
    let host = meta_evidence(ev, "http.host").unwrap();
    assert_eq!(host.chain(), "udp › quic[capture secrets] › http3");
    assert_eq!(metas(ev, "http.method"), vec!["GET"]);
    assert_eq!(metas(ev, "http.path"), vec!["/"]);
    assert!(metas(ev, "http.status").contains(&"200"));
    assert!(!fired(&r.out).contains("quic-partly-decrypted"));
    // JA4 of a QUIC ClientHello: `q`, TLS 1.3, SNI, Chrome's three TLS 1.3 suites, ALPN h3.
    // The value FoxIO's implementations give for this connection.
    assert_eq!(
        metas(ev, "tls.ja4"),
        vec!["q13d0310h3_55b375c5d22e_cd85d2d88918"]
    );
    let grease = ev
        .iter()
        .filter(|e| matches!(e.kind, EvidenceKind::Canary { .. }))
        .count();
    assert!(
        grease >= 2,
        "GREASE frame on stream 0 and GREASE stream 15 both read: {grease}"
    );
    // The brotli-coded HTML page, decoded through the shared HTTP body decoder.
    let page = ev
        .iter()
        .find(|e| matches!(e.kind, EvidenceKind::Payload { .. }))
        .unwrap();
    assert_eq!(
        page.chain(),
        "udp › quic[capture secrets] › http3 › br › http-body"
    );
    assert!(
        matches!(page.kind, EvidenceKind::Payload { class: PayloadClass::Text, bytes, .. } if bytes > 100_000)
    );
    // Without canaries the page alone makes the flow server-readable.
    let results = run(&path, None, true, &[]);
    let r = results
        .iter()
        .find(|r| metas(&r.out.evidence, "quic.sni").contains(&"cloudflare-quic.com"))
        .unwrap();
    let d = plainsight::verdict::flow(&r.out.evidence, &|i| i.to_string());
    assert_eq!(d.verdict, Verdict::ServerReadable, "{}", d.reason);
    // Without the DSB nothing past the Initial opens.
    let results = run(&path, None, false, &[]);
    let r = results
        .iter()
        .find(|r| metas(&r.out.evidence, "quic.sni").contains(&"cloudflare-quic.com"))
        .unwrap();
    assert!(matches!(
        crypto(&r.out.evidence)[0].0,
        CryptoState::NotOpened { .. }
    ));
}
