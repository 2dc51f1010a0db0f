//! Real rustls sessions through the TLS dissector: every suite decrypts, the
//! canary makes the flow `server-readable`, random application data makes it
//! `sealed`, and without keys (or with wrong keys) it is never `sealed`.

#[path = "../fixtures/gen/tls.rs"]
mod tls_gen;

use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::evidence::{CryptoState, EvidenceKind};
use plainsight::model::{Direction, Transport, Verdict};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::sync::OnceLock;
use tls_gen::TlsSession;

const CANARY: &str = "PS-CANARY-7Q4M-TANGERINE";

fn sessions() -> &'static [TlsSession] {
    static S: OnceLock<Vec<TlsSession>> = OnceLock::new();
    S.get_or_init(|| tls_gen::sessions(CANARY))
}

fn env(keylog: Option<&str>, source: KeySource) -> Env {
    let canaries = CanarySet::new(vec![Canary {
        text: CANARY.into(),
        label: None,
        created: None,
    }])
    .unwrap();
    let mut secrets = SecretStore::default();
    if let Some(k) = keylog {
        assert!(secrets.add_keylog(k.as_bytes(), source).is_empty());
    }
    Env::new(canaries, secrets, AppIndex::new(&[]))
}

fn flow() -> FlowInfo {
    FlowInfo {
        id: 7,
        transport: Transport::Tcp,
        client: "192.0.2.1:40000".parse().unwrap(),
        server: "192.0.2.2:443".parse().unwrap(),
    }
}

fn feed(env: &Env, out: &mut Collector, s: &mut Stream, ex: &[(Direction, Vec<u8>)], chunk: usize) {
    let fl = flow();
    let mut cx = Cx::new(env, &fl, out, PacketRef::default());
    for (d, b) in ex {
        for c in b.chunks(chunk.max(1)) {
            s.data(&mut cx, *d, c);
        }
    }
}

fn finish(env: &Env, out: &mut Collector, s: &mut Stream) {
    let fl = flow();
    let mut cx = Cx::new(env, &fl, out, PacketRef::default());
    s.finish(&mut cx);
}

fn run(env: &Env, ex: &[(Direction, Vec<u8>)], chunk: usize) -> Collector {
    let mut out = Collector::default();
    let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
    feed(env, &mut out, &mut s, ex, chunk);
    finish(env, &mut out, &mut s);
    out
}

fn verdict(out: &Collector) -> (Verdict, String) {
    let d = plainsight::verdict::flow(&out.evidence, &|_| CANARY.to_string());
    (d.verdict, d.reason)
}

fn crypto(out: &Collector) -> Vec<(String, CryptoState, u64, u64)> {
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

fn canary_chains(out: &Collector) -> Vec<String> {
    out.evidence
        .iter()
        .filter(|e| matches!(e.kind, EvidenceKind::Canary { .. }))
        .map(|e| e.chain())
        .collect()
}

fn meta(out: &Collector, key: &str) -> Vec<String> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key: k, value } if k == key => Some(value.clone()),
            _ => None,
        })
        .collect()
}

fn label(s: &TlsSession) -> &'static str {
    if s.version == "TLS 1.3" {
        "tls1.3"
    } else {
        "tls1.2"
    }
}

#[test]
fn every_suite_decrypts_and_the_canary_is_server_readable() {
    for s in sessions() {
        let e = env(Some(&s.keylog), KeySource::KeyLog);
        for chunk in [1, 3, 1460, usize::MAX] {
            let out = run(&e, &s.exchanges, chunk);
            let c = crypto(&out);
            assert_eq!(c.len(), 1, "{}: {c:?}", s.name);
            assert_eq!(c[0].0, label(s), "{}", s.name);
            assert_eq!(c[0].1, CryptoState::Opened, "{}: {c:?}", s.name);
            assert_eq!(c[0].2, c[0].3, "{}", s.name);
            assert_eq!(meta(&out, "tls.version"), vec![s.version], "{}", s.name);
            assert_eq!(meta(&out, "tls.cipher"), vec![s.suite], "{}", s.name);
            assert_eq!(meta(&out, "tls.sni"), vec!["localhost"], "{}", s.name);
            let (v, why) = verdict(&out);
            if s.name.contains("random") {
                assert!(canary_chains(&out).is_empty());
                assert_eq!(v, Verdict::Sealed, "{}: {why}", s.name);
            } else {
                let want = format!("tcp › {}[key log]", label(s));
                // Found under the keyed layer first; inner layers (HTTP body) may find it too.
                let chains = canary_chains(&out);
                assert_eq!(chains.first(), Some(&want), "{} chunk {chunk}", s.name);
                assert!(chains.iter().all(|c| c.starts_with(&want)), "{chains:?}");
                assert_eq!(v, Verdict::ServerReadable, "{}: {why}", s.name);
            }
        }
    }
}

#[test]
fn without_keys_every_session_is_opaque_never_sealed() {
    for s in sessions() {
        let out = run(&env(None, KeySource::KeyLog), &s.exchanges, 1000);
        let (v, why) = verdict(&out);
        assert_eq!(v, Verdict::Opaque, "{}: {why}", s.name);
        assert!(why.contains("no secrets for client random"), "{why}");
        assert!(canary_chains(&out).is_empty());
    }
}

#[test]
fn wrong_keys_are_never_sealed() {
    for s in sessions() {
        // Flip one hex digit in every secret.
        let bad: String = s
            .keylog
            .lines()
            .map(|l| {
                let mut l = l.to_string();
                let last = l.pop().map(|c| if c == '0' { '1' } else { '0' });
                l.extend(last);
                l + "\n"
            })
            .collect();
        let out = run(&env(Some(&bad), KeySource::KeyLog), &s.exchanges, 700);
        let c = crypto(&out);
        assert!(
            matches!(c[0].1, CryptoState::NotOpened { .. }),
            "{}: {c:?}",
            s.name
        );
        let (v, why) = verdict(&out);
        assert_eq!(v, Verdict::Opaque, "{}: {why}", s.name);
        assert!(why.contains("decryption failed at record"), "{why}");
    }
}

#[test]
fn secrets_from_a_late_secrets_block_open_the_flow() {
    let s = &sessions()[0];
    let mut e = env(None, KeySource::KeyLog);
    let mut out = Collector::default();
    let mut st = Stream::new(Layer::plain("tcp"), Hint::default());
    feed(&e, &mut out, &mut st, &s.exchanges, 500);
    e.secrets
        .add_keylog(s.keylog.as_bytes(), KeySource::Capture);
    finish(&e, &mut out, &mut st);
    assert_eq!(crypto(&out)[0].1, CryptoState::Opened);
    assert_eq!(
        canary_chains(&out).first(),
        Some(&"tcp › tls1.3[capture secrets]".to_string())
    );
    assert_eq!(verdict(&out).0, Verdict::ServerReadable);
}

#[test]
fn key_updates_in_both_directions_are_followed() {
    let s = tls_gen::key_update_session(CANARY);
    let out = run(&env(Some(&s.keylog), KeySource::KeyLog), &s.exchanges, 999);
    let c = crypto(&out);
    assert_eq!(c[0].1, CryptoState::Opened, "{c:?}");
    // Each side asks for an update and the peer answers with its own: four in all.
    assert_eq!(meta(&out, "tls.key-updates"), vec!["4"]);
    assert_eq!(verdict(&out).0, Verdict::ServerReadable);
}

/// A minimal SMTP-like dissector: after `STARTTLS` and the server's `220`
/// it hands the rest of the stream to a `starttls` stream hinted as TLS,
/// exactly as the cleartext protocol dissectors do.
struct MiniSmtp {
    asked: bool,
    tls: Option<Stream>,
}

impl plainsight::proto::dissector::Dissector for MiniSmtp {
    fn protocol(&self) -> std::borrow::Cow<'static, str> {
        "smtp".into()
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if let Some(tls) = &mut self.tls {
            tls.data(cx, dir, data);
            return;
        }
        if dir == Direction::ToServer && data.starts_with(b"STARTTLS") {
            self.asked = true;
        } else if dir == Direction::ToClient && self.asked && data.starts_with(b"220") {
            self.tls = Some(Stream::new(
                Layer::plain("starttls"),
                Hint {
                    protocol: Some("tls"),
                },
            ));
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some(tls) = &mut self.tls {
            tls.finish(cx);
        }
    }
}

#[test]
fn starttls_hands_the_rest_of_the_stream_to_tls() {
    use plainsight::proto::dissector::Dissector;
    let s = &sessions()[3];
    let e = env(Some(&s.keylog), KeySource::KeyLog);
    let fl = flow();
    let mut out = Collector::default();
    let mut cx = Cx::new(&e, &fl, &mut out, PacketRef::default());
    let mut ex: Vec<(Direction, Vec<u8>)> = vec![
        (Direction::ToClient, b"220 mail.example ESMTP\r\n".to_vec()),
        (Direction::ToServer, b"EHLO client.example\r\n".to_vec()),
        (
            Direction::ToClient,
            b"250-mail.example\r\n250 STARTTLS\r\n".to_vec(),
        ),
        (Direction::ToServer, b"STARTTLS\r\n".to_vec()),
        (
            Direction::ToClient,
            b"220 2.0.0 Ready to start TLS\r\n".to_vec(),
        ),
    ];
    ex.extend(s.exchanges.iter().cloned());
    let mut smtp = MiniSmtp {
        asked: false,
        tls: None,
    };
    cx.with_layer(Layer::plain("tcp"), |cx| {
        for (d, b) in &ex {
            smtp.on_data(cx, *d, b);
        }
        smtp.finish(cx);
    });
    let tls = smtp.tls.as_ref().expect("upgraded");
    assert_eq!(tls.protocol().as_deref(), Some("tls"));
    assert_eq!(crypto(&out)[0].1, CryptoState::Opened);
    assert_eq!(
        canary_chains(&out).first(),
        Some(&"tcp › starttls › tls1.2[key log]".to_string())
    );
    assert_eq!(verdict(&out).0, Verdict::ServerReadable);
}

/// True when `cut` bytes into the exchanges fall inside a TLS record.
fn inside_record(ex: &[(Direction, Vec<u8>)], cut: usize) -> bool {
    let mut pending = [0usize; 2];
    let mut head: [Vec<u8>; 2] = Default::default();
    let mut left = cut;
    for (d, b) in ex {
        let i = d.index();
        for &byte in b {
            if left == 0 {
                return pending[i] > 0
                    || !head[i].is_empty()
                    || pending[1 - i] > 0
                    || !head[1 - i].is_empty();
            }
            left -= 1;
            if pending[i] > 0 {
                pending[i] -= 1;
            } else {
                head[i].push(byte);
                if head[i].len() == 5 {
                    pending[i] = u16::from_be_bytes([head[i][3], head[i][4]]) as usize;
                    head[i].clear();
                }
            }
        }
    }
    false
}

#[test]
fn truncated_sessions_never_panic_and_are_never_sealed() {
    let s = &sessions()[6];
    let e = env(Some(&s.keylog), KeySource::KeyLog);
    let total: usize = s.exchanges.iter().map(|(_, b)| b.len()).sum();
    let mut inside = 0;
    for cut in (1..total).step_by(97) {
        let mut left = cut;
        let mut ex = Vec::new();
        for (d, b) in &s.exchanges {
            if left == 0 {
                break;
            }
            let n = b.len().min(left);
            ex.push((*d, b[..n].to_vec()));
            left -= n;
        }
        let out = run(&e, &ex, 333);
        if inside_record(&s.exchanges, cut) {
            inside += 1;
            let (v, why) = verdict(&out);
            assert_ne!(v, Verdict::Sealed, "cut {cut}: {why}");
        }
    }
    assert!(inside > 20);
}

/// The built-in TLS checks that fire on a flow's evidence.
fn fired(out: &Collector) -> Vec<String> {
    use plainsight::rules::eval::{Subject, evaluate};
    use plainsight::rules::model::SubjectKind;
    let rules = plainsight::rules::load::builtin();
    let (v, reason) = verdict(out);
    let s = Subject {
        kind: SubjectKind::Flow,
        label: "flow 7".into(),
        identity: "flow".into(),
        protocol: "tls",
        app: None,
        verdict: v,
        reason: &reason,
        client: Some("192.0.2.1:40000".into()),
        server: Some("192.0.2.2:443".into()),
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
fn modern_sessions_only_reveal_the_server_name() {
    for s in sessions() {
        let out = run(&env(None, KeySource::KeyLog), &s.exchanges, 4096);
        assert_eq!(fired(&out), vec!["sni-in-clear"], "{}", s.name);
    }
}

/// Decrypted HTTP (ALPN `http/1.1`) is never taken for end-to-end ciphertext,
/// even with no canary and whatever its bytes look like.
#[test]
fn alpn_named_cleartext_protocols_are_never_sealed() {
    for s in sessions().iter().filter(|s| !s.name.contains("random")) {
        let mut e = env(Some(&s.keylog), KeySource::KeyLog);
        e.canaries = CanarySet::new(Vec::new()).unwrap();
        let out = run(&e, &s.exchanges, 1500);
        let (v, why) = verdict(&out);
        assert_eq!(v, Verdict::ServerReadable, "{}: {why}", s.name);
        // Layer names start at the transport's payload: [tls, http, ...].
        let parsed = out.layer_names.len() >= 2;
        let flagged = out.evidence.iter().any(|e| {
            matches!(&e.kind, EvidenceKind::Anomaly { code, .. } if code == "tls-inner-unparsed")
        });
        assert!(parsed || flagged, "{}: {:?}", s.name, out.layer_names);
    }
}
