//! The per-app scorecard: who can read each app's messages, on the wire and at rest.
//!
//! Built from decided flows and stores only (a fold, so the streaming JSON
//! Lines output can build it without keeping subjects in memory, and
//! `replay`, `scan` and `capture` get it as `audit` does). Grouping:
//!
//! - a subject attributed to an app profile goes under the profile id
//!   (`attribution: "profile"`, with the profile's claim);
//! - a flow no profile knows goes under the server name it was seen with
//!   (TLS/QUIC SNI, HTTP Host, or the DNS name its server address was
//!   resolved from), so an auditor still sees who it talks to
//!   (`attribution: "server-name"`);
//! - everything else (anonymous flows, stores no profile claims) is one
//!   `unattributed` row, listed last: per-address rows would bury the
//!   scorecard on a real capture, and the flows and stores tables list
//!   them one by one.
//!
//! An app's wire verdict is the most severe verdict of its flows, its
//! storage verdict that of its stores, `retained` says whether any store
//! holds deleted or expired content, and `overall` is the most severe of all
//! of these, in the order of [`Verdict`]. Leaks count metadata an observer
//! of the path sees without keys, by kind.

use crate::model::Verdict;
use crate::report::model::{AppReport, EvidenceReport, FlowReport, Report, StoreReport};
use crate::rules::RuleSet;
use std::collections::{BTreeMap, HashMap};

/// The row that collects subjects with neither a profile nor a server name.
pub const UNATTRIBUTED: &str = "unattributed";

/// How a scorecard row was attributed.
pub const BY_PROFILE: &str = "profile";
pub const BY_SERVER_NAME: &str = "server-name";
pub const BY_NOTHING: &str = "none";

#[derive(Debug, Default)]
struct Acc {
    attribution: &'static str,
    wire: Option<Verdict>,
    storage: Option<Verdict>,
    retained: bool,
    leaks: BTreeMap<String, u64>,
    flows: Vec<u64>,
    stores: Vec<u32>,
}

/// Folds decided flows and stores into scorecard rows.
#[derive(Debug, Default)]
pub struct Scorecard {
    rows: HashMap<String, Acc>,
    /// `flow 3` / `store 1` → row name, for grouping findings.
    subjects: HashMap<String, String>,
}

impl Scorecard {
    pub fn add_flow(&mut self, f: &FlowReport) {
        let (name, how) = match &f.app {
            Some(a) => (a.clone(), BY_PROFILE),
            None => match server_name(&f.evidence) {
                Some(n) => (n, BY_SERVER_NAME),
                None => (UNATTRIBUTED.to_string(), BY_NOTHING),
            },
        };
        self.subjects.insert(format!("flow {}", f.id), name.clone());
        let acc = self.rows.entry(name).or_default();
        acc.attribution = how;
        acc.wire = acc.wire.max(Some(f.verdict));
        acc.flows.push(f.id);
        count_leaks(&f.evidence, &mut acc.leaks);
    }

    pub fn add_store(&mut self, s: &StoreReport) {
        let (name, how) = match &s.app {
            Some(a) => (a.clone(), BY_PROFILE),
            None => (UNATTRIBUTED.to_string(), BY_NOTHING),
        };
        self.subjects
            .insert(format!("store {}", s.id), name.clone());
        let acc = self.rows.entry(name).or_default();
        acc.attribution = how;
        acc.storage = acc.storage.max(Some(s.verdict));
        acc.retained |= s.verdict == Verdict::Retained || s.evidence.iter().any(is_retained);
        acc.stores.push(s.id);
        count_leaks(&s.evidence, &mut acc.leaks);
    }

    /// The row a subject (`flow 3`, `store 1`) was counted under.
    pub fn app_of(&self, subject: &str) -> Option<&str> {
        self.subjects.get(subject).map(String::as_str)
    }

    /// The rows, most severe first; `unattributed` last.
    pub fn finish(self, rules: &RuleSet) -> Vec<AppReport> {
        let mut out: Vec<AppReport> = self
            .rows
            .into_iter()
            .map(|(app, mut a)| {
                a.flows.sort_unstable();
                a.stores.sort_unstable();
                let retained = a.retained.then_some(Verdict::Retained);
                let overall = a.wire.max(a.storage).max(retained).unwrap_or_default();
                AppReport {
                    claim: rules.app(&app).and_then(|p| p.claim.clone()),
                    attribution: a.attribution,
                    app,
                    wire: a.wire,
                    storage: a.storage,
                    retained: a.retained,
                    overall,
                    leaks: a.leaks,
                    flows: a.flows,
                    stores: a.stores,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (a.app == UNATTRIBUTED)
                .cmp(&(b.app == UNATTRIBUTED))
                .then(b.overall.cmp(&a.overall))
                .then(rank(a.attribution).cmp(&rank(b.attribution)))
                .then(a.app.cmp(&b.app))
        });
        out
    }
}

fn rank(attribution: &str) -> u8 {
    match attribution {
        BY_PROFILE => 0,
        BY_SERVER_NAME => 1,
        _ => 2,
    }
}

/// The scorecard of a finished report.
pub fn scorecard(r: &Report, rules: &RuleSet) -> Vec<AppReport> {
    fold(r).finish(rules)
}

/// The scorecard accumulator of a finished report (for `app_of`).
pub fn fold(r: &Report) -> Scorecard {
    let mut s = Scorecard::default();
    for f in &r.flows {
        s.add_flow(f);
    }
    for st in &r.stores {
        s.add_store(st);
    }
    s
}

/// Subject label → scorecard row, from a finished report's `apps`.
pub fn subject_index(apps: &[AppReport]) -> HashMap<String, &str> {
    let mut m = HashMap::new();
    for a in apps {
        for f in &a.flows {
            m.insert(format!("flow {f}"), a.app.as_str());
        }
        for s in &a.stores {
            m.insert(format!("store {s}"), a.app.as_str());
        }
    }
    m
}

/// Server-name metadata keys in order of preference.
const NAME_KEYS: [&str; 5] = [
    "tls.sni",
    "quic.sni",
    "http.host",
    "http2.authority",
    "server.dns-name",
];

/// The name a flow's server was reached by, normalised (lowercase, no
/// trailing dot, no port).
pub fn server_name(evidence: &[EvidenceReport]) -> Option<String> {
    NAME_KEYS.iter().find_map(|key| {
        evidence.iter().find_map(|e| {
            if e.kind != "metadata" || e.detail.get("key").and_then(|k| k.as_str()) != Some(key) {
                return None;
            }
            let v = e.detail.get("value")?.as_str()?.trim();
            let host = strip_port(v).trim_end_matches('.').to_ascii_lowercase();
            (!host.is_empty()).then_some(host)
        })
    })
}

fn strip_port(v: &str) -> &str {
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match v.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => v,
    }
}

/// Whether a layer string says it was removed with session keys
/// (`tls1.3[key log]`, `quic[capture secrets]`).
fn layer_keyed(l: &str) -> bool {
    l.ends_with("[key log]") || l.ends_with("[capture secrets]")
}

fn is_retained(e: &EvidenceReport) -> bool {
    e.kind == "retention" || e.layers.iter().any(|l| l.ends_with("[deleted]"))
}

/// The leak kind of a metadata key, if it is one an observer learns
/// something about the user or the app from.
pub fn leak_kind(key: &str) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    let last = k.rsplit('.').next().unwrap_or(&k);
    if last == "sni" {
        return Some("sni");
    }
    if k == "dns.query" {
        return Some("dns-name");
    }
    if k == "http.host" || k == "http2.authority" {
        return Some("host");
    }
    if k.starts_with("stun.") && (last.ends_with("-address") || last == "alternate-server")
        || (k.starts_with("discord.") || k.starts_with("tgvoip.")) && last.ends_with("-address")
    {
        return Some("stun-address");
    }
    if k == "sdp.address" {
        return Some("ip-address");
    }
    if last.ends_with("client-version") || last == "user-agent" || k == "stun.software" {
        return Some("client-version");
    }
    if matches!(
        last,
        "phone" | "cname" | "username" | "user" | "jid" | "nick" | "email" | "auth_key_id"
    ) || last.ends_with("-id")
        || last.ends_with("_id")
    {
        return Some("stable-id");
    }
    None
}

fn count_leaks(evidence: &[EvidenceReport], leaks: &mut BTreeMap<String, u64>) {
    for e in evidence {
        if e.layers.iter().any(|l| layer_keyed(l)) {
            continue;
        }
        let kind = match e.kind.as_ref() {
            "credential" => Some("credential"),
            "metadata" => e
                .detail
                .get("key")
                .and_then(|k| k.as_str())
                .and_then(leak_kind),
            _ => None,
        };
        if let Some(k) = kind {
            *leaks.entry(k.to_string()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Transport;
    use crate::report::model::Detail;
    use serde_json::{Map, json};

    fn meta(key: &str, value: &str, layers: &[&str]) -> EvidenceReport {
        let mut detail = Detail::new();
        detail.insert("key", json!(key));
        detail.insert("value", json!(value));
        EvidenceReport {
            kind: "metadata".into(),
            subject: "flow 1".into(),
            layers: layers.iter().map(|s| s.to_string()).collect(),
            direction: None,
            offset: None,
            input: None,
            packet: None,
            file_offset: None,
            detail,
            summary: String::new(),
        }
    }

    fn flow(id: u64, app: Option<&str>, verdict: Verdict, ev: Vec<EvidenceReport>) -> FlowReport {
        FlowReport {
            id,
            transport: Transport::Tcp,
            client: "10.0.0.1:1".into(),
            server: "10.0.0.2:443".into(),
            protocol: "tls".into(),
            app: app.map(str::to_string),
            packets: 1,
            bytes: 1,
            packets_to_server: 1,
            packets_to_client: 0,
            bytes_to_server: 1,
            bytes_to_client: 0,
            payload_to_server: 0,
            payload_to_client: 0,
            first_seen: String::new(),
            last_seen: String::new(),
            end: "fin",
            verdict,
            reason: String::new(),
            layers: vec![],
            evidence: ev.into(),
            evidence_omitted: 0,
        }
    }

    fn store(id: u32, app: Option<&str>, verdict: Verdict, retained: bool) -> StoreReport {
        let evidence = if retained {
            vec![EvidenceReport {
                kind: "retention".into(),
                layers: vec!["sqlite".into(), "freeblock[deleted]".into()],
                ..meta("x", "y", &[])
            }]
        } else {
            vec![]
        };
        StoreReport {
            id,
            path: "db".into(),
            kind: "sqlite".into(),
            app: app.map(str::to_string),
            verdict,
            reason: String::new(),
            evidence,
            evidence_omitted: 0,
            facts: Map::new(),
        }
    }

    #[test]
    fn rows_take_the_most_severe_verdict_and_group_by_name() {
        let rules = crate::rules::builtin();
        let mut s = Scorecard::default();
        s.add_flow(&flow(1, Some("signal"), Verdict::Sealed, vec![]));
        s.add_flow(&flow(2, Some("signal"), Verdict::Opaque, vec![]));
        s.add_store(&store(1, Some("signal"), Verdict::Sealed, true));
        s.add_flow(&flow(
            3,
            None,
            Verdict::ServerReadable,
            vec![
                meta("tls.sni", "Chat.Example.ORG.", &["tcp", "tls"]),
                meta(
                    "http.host",
                    "chat.example.org:8443",
                    &["tcp", "tls1.3[key log]"],
                ),
            ],
        ));
        s.add_flow(&flow(4, None, Verdict::NoContent, vec![]));
        s.add_store(&store(2, None, Verdict::Exposed, false));
        assert_eq!(s.app_of("flow 3"), Some("chat.example.org"));
        let rows = s.finish(&rules);
        let names: Vec<&str> = rows.iter().map(|r| r.app.as_str()).collect();
        assert_eq!(names, ["chat.example.org", "signal", UNATTRIBUTED]);
        let sig = &rows[1];
        assert_eq!(sig.wire, Some(Verdict::Opaque));
        assert_eq!(sig.storage, Some(Verdict::Sealed));
        assert!(sig.retained);
        // Retained content at rest outranks an opaque wire.
        assert_eq!(sig.overall, Verdict::Retained);
        assert!(sig.claim.is_some(), "claim comes from the built-in profile");
        assert_eq!(sig.flows, [1, 2]);
        let named = &rows[0];
        assert_eq!(named.attribution, BY_SERVER_NAME);
        assert_eq!(named.storage, None);
        // The SNI leaks; the Host header inside keyed TLS does not.
        assert_eq!(named.leaks.get("sni"), Some(&1));
        assert_eq!(named.leaks.get("host"), None);
        let un = &rows[2];
        assert_eq!(un.overall, Verdict::Exposed);
        assert_eq!(
            (un.flows.as_slice(), un.stores.as_slice()),
            (&[4][..], &[2][..])
        );
    }

    #[test]
    fn leak_kinds() {
        assert_eq!(leak_kind("quic.sni"), Some("sni"));
        assert_eq!(leak_kind("dns.query"), Some("dns-name"));
        assert_eq!(leak_kind("stun.mapped-address"), Some("stun-address"));
        assert_eq!(leak_kind("whatsapp.client-version"), Some("client-version"));
        assert_eq!(leak_kind("telegram.auth_key_id"), Some("stable-id"));
        assert_eq!(leak_kind("whatsapp.phone"), Some("stable-id"));
        assert_eq!(leak_kind("tls.cipher"), None);
        assert_eq!(leak_kind("dns.answer"), None);
    }

    #[test]
    fn ports_and_brackets_are_stripped() {
        assert_eq!(strip_port("a.example:443"), "a.example");
        assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
    }
}
