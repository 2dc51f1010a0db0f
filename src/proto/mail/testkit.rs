//! Test harness for the chat and mail dissectors: runs bytes through a
//! `tcp` [`Stream`] (so the registry probes are exercised too) and queries
//! the evidence that came out.

use crate::evidence::Layer;
use crate::evidence::canary::{Canary, CanarySet};
use crate::evidence::{Evidence, EvidenceKind};
use crate::model::{Direction, Transport, Verdict};
use crate::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use crate::rules::apps::AppIndex;
use crate::secrets::SecretStore;

pub use Direction::{ToClient as S, ToServer as C};

pub fn env(canaries: &[&str]) -> Env {
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
    .unwrap();
    Env::new(set, SecretStore::default(), AppIndex::new(&[]))
}

pub fn flow(server_port: u16) -> FlowInfo {
    FlowInfo {
        id: 1,
        transport: Transport::Tcp,
        client: "192.0.2.1:50000".parse().unwrap(),
        server: std::net::SocketAddr::new("198.51.100.7".parse().unwrap(), server_port),
    }
}

/// Runs a conversation (direction, bytes) through a fresh `tcp` stream.
pub fn run(env: &Env, port: u16, conv: &[(Direction, &[u8])]) -> Collector {
    run_chunked(env, port, conv, usize::MAX)
}

/// Same, cutting every message into chunks of at most `chunk` bytes.
pub fn run_chunked(env: &Env, port: u16, conv: &[(Direction, &[u8])], chunk: usize) -> Collector {
    let f = flow(port);
    let mut out = Collector::default();
    {
        let mut cx = Cx::new(env, &f, &mut out, PacketRef::default());
        let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
        for (dir, bytes) in conv {
            for c in bytes.chunks(chunk.max(1)) {
                s.data(&mut cx, *dir, c);
            }
        }
        s.finish(&mut cx);
    }
    out
}

pub fn protocol(out: &Collector) -> Option<String> {
    out.protocol.as_ref().map(|(_, p)| p.to_string())
}

pub fn verdict(out: &Collector) -> Verdict {
    crate::verdict::flow(&out.evidence, &|_| "canary".into()).verdict
}

/// Content evidence as (field, sample text).
pub fn contents(out: &Collector) -> Vec<(String, String)> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Content { field, sample, .. } => Some((
                field.to_string(),
                String::from_utf8_lossy(sample).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// Metadata values for one key.
pub fn meta(out: &Collector, key: &str) -> Vec<String> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key: k, value } if k == key => Some(value.clone()),
            _ => None,
        })
        .collect()
}

/// Credentials as (key, user).
pub fn credentials(out: &Collector) -> Vec<(String, Option<String>)> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Credential { key, user } => Some((key.to_string(), user.clone())),
            _ => None,
        })
        .collect()
}

pub fn anomalies(out: &Collector) -> Vec<String> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Anomaly { code, .. } => Some(code.to_string()),
            _ => None,
        })
        .collect()
}

pub fn e2e(out: &Collector) -> Vec<String> {
    out.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::E2eEnvelope { scheme } => Some(scheme.to_string()),
            _ => None,
        })
        .collect()
}

/// Evidence whose layer chain contains a layer named `name`.
pub fn under<'a>(out: &'a Collector, name: &str) -> Vec<&'a Evidence> {
    out.evidence
        .iter()
        .filter(|e| e.layers.iter().any(|l| l.name == name))
        .collect()
}

/// Nothing in the evidence (debug output included) contains `secret`.
pub fn assert_secret_absent(out: &Collector, secret: &str) {
    let dump = format!("{:?}", out.evidence);
    assert!(
        !dump.contains(secret),
        "secret {secret:?} leaked into evidence"
    );
}

/// Ids of the built-in checks that fire on a flow's evidence.
pub fn fired(out: &Collector) -> Vec<String> {
    use crate::rules::eval::{Subject, evaluate};
    use crate::rules::model::SubjectKind;
    let rules = crate::rules::load::builtin();
    let protocol = protocol(out).unwrap_or_else(|| "unknown".into());
    let d = crate::verdict::flow(&out.evidence, &|_| "canary".into());
    let s = Subject {
        kind: SubjectKind::Flow,
        label: "flow 1".into(),
        identity: "tcp 198.51.100.7".into(),
        protocol: &protocol,
        app: None,
        verdict: d.verdict,
        reason: &d.reason,
        client: Some("192.0.2.1:50000".into()),
        server: Some("198.51.100.7".into()),
        evidence: &out.evidence,
    };
    let mut ids: Vec<String> = evaluate(&rules, &s, &CanarySet::default())
        .into_iter()
        .map(|f| f.check.id.clone())
        .collect();
    ids.sort();
    ids
}

/// A minimal well-formed TLS 1.2 ClientHello record (one suite, no
/// extensions): what a client sends right after a STARTTLS upgrade.
pub fn client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&[0x00, 0x02, 0xc0, 0x2f]); // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    body.extend_from_slice(&[0x00, 0x00]); // no extensions
    let mut hs = vec![0x01, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01, 0, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

/// Layer protocol names by depth (`["smtp", "tls"]` after an upgrade).
pub fn layer_names(out: &Collector) -> Vec<String> {
    out.layer_names.clone()
}
