//! Evaluating checks against a decided subject.

use crate::evidence::canary::CanarySet;
use crate::evidence::{CryptoState, Evidence, EvidenceKind, PayloadClass};
use crate::model::Verdict;
use crate::rules::model::{Check, EvidenceMatch, RuleSet, SubjectKind};
use sha2::{Digest, Sha256};

/// What a check sees of a subject.
pub struct Subject<'a> {
    pub kind: SubjectKind,
    /// Display label: `flow 3`, `store 1`.
    pub label: String,
    /// Stable identity across runs (no ports or ids that change), for fingerprints.
    pub identity: String,
    pub protocol: &'a str,
    pub app: Option<&'a str>,
    pub verdict: Verdict,
    pub reason: &'a str,
    pub client: Option<String>,
    pub server: Option<String>,
    pub evidence: &'a [Evidence],
}

/// A check that fired on a subject.
pub struct Fired<'a> {
    pub check: &'a Check,
    /// Indices into the subject's evidence (empty for `absent` checks).
    pub matched: Vec<usize>,
    pub message: String,
    pub fingerprint: String,
}

/// Runs every check of `rules` against one subject.
pub fn evaluate<'r>(rules: &'r RuleSet, s: &Subject<'_>, canaries: &CanarySet) -> Vec<Fired<'r>> {
    let mut out = Vec::new();
    for c in &rules.checks {
        if c.subject != SubjectKind::Any && c.subject != s.kind {
            continue;
        }
        if let Some(g) = &c.protocol
            && !g.matches(s.protocol)
        {
            continue;
        }
        if let Some(g) = &c.app
            && !s.app.is_some_and(|a| g.matches(a))
        {
            continue;
        }
        if c.subject_verdict.is_some_and(|v| v != s.verdict) {
            continue;
        }
        let matched: Vec<usize> = match &c.evidence {
            None => Vec::new(),
            Some(m) => s
                .evidence
                .iter()
                .enumerate()
                .filter(|(_, e)| matches(m, e))
                .map(|(i, _)| i)
                .collect(),
        };
        let fires = match (&c.evidence, c.absent) {
            (None, _) => true,
            (Some(_), true) => matched.is_empty(),
            (Some(_), false) => matched.len() as u64 >= c.min_count,
        };
        if !fires {
            continue;
        }
        let first = matched.first().map(|&i| &s.evidence[i]);
        let message = render(&c.message, s, first, matched.len(), canaries);
        let fingerprint = fingerprint(&c.id, &s.identity, first, canaries);
        out.push(Fired {
            check: c,
            matched,
            message,
            fingerprint,
        });
    }
    out
}

/// Whether one evidence item satisfies a match.
pub fn matches(m: &EvidenceMatch, e: &Evidence) -> bool {
    if let Some(k) = &m.kind
        && e.kind.tag() != k
    {
        return false;
    }
    if let Some(residue) = m.residue
        && e.residue() != residue
    {
        return false;
    }
    if let Some(keyed) = m.keyed
        && e.keyed() != keyed
    {
        return false;
    }
    if let Some(g) = &m.layer
        && !e.layers.iter().any(|l| g.matches(&l.name))
    {
        return false;
    }
    if let Some(g) = &m.field {
        match field_of(&e.kind) {
            Some(f) if g.matches(f) => {}
            _ => return false,
        }
    }
    if let Some(r) = &m.value {
        match value_of(&e.kind) {
            Some(v) if r.is_match(&v) => {}
            _ => return false,
        }
    }
    if let Some(c) = &m.class {
        let class = match &e.kind {
            EvidenceKind::Payload { class, .. } | EvidenceKind::Content { class, .. } => *class,
            _ => return false,
        };
        if class_name(class) != c {
            return false;
        }
    }
    if let Some(st) = &m.state {
        let EvidenceKind::Crypto { state, .. } = &e.kind else {
            return false;
        };
        if state_name(state) != st {
            return false;
        }
    }
    true
}

fn class_name(c: PayloadClass) -> &'static str {
    c.as_str()
}

pub fn state_name(s: &CryptoState) -> &'static str {
    match s {
        CryptoState::Opened => "opened",
        CryptoState::Partial { .. } => "partial",
        CryptoState::NotOpened { .. } => "not-opened",
    }
}

/// The name a `field` glob is matched against, per evidence kind.
pub fn field_of(k: &EvidenceKind) -> Option<&str> {
    match k {
        EvidenceKind::Content { field, .. } => Some(field),
        EvidenceKind::Metadata { key, .. } => Some(key),
        EvidenceKind::Credential { key, .. } => Some(key),
        EvidenceKind::Anomaly { code, .. } => Some(code),
        EvidenceKind::Crypto { protocol, .. } => Some(protocol),
        EvidenceKind::Retention { place, .. } => Some(place),
        EvidenceKind::E2eEnvelope { scheme } => Some(scheme),
        EvidenceKind::Canary { .. } | EvidenceKind::Payload { .. } => None,
    }
}

/// The value a `value` regex is matched against. Never message content.
pub fn value_of(k: &EvidenceKind) -> Option<String> {
    match k {
        EvidenceKind::Metadata { value, .. } => Some(value.clone()),
        EvidenceKind::Credential { user, .. } => user.clone(),
        EvidenceKind::Anomaly { detail, .. } => Some(detail.clone()),
        EvidenceKind::Retention { detail, .. } => Some(detail.clone()),
        EvidenceKind::Crypto { state, .. } => Some(match state {
            CryptoState::Opened => "opened".to_string(),
            CryptoState::Partial { reason } | CryptoState::NotOpened { reason } => reason.clone(),
        }),
        _ => None,
    }
}

fn render(
    template: &str,
    s: &Subject<'_>,
    e: Option<&Evidence>,
    count: usize,
    canaries: &CanarySet,
) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = &rest[i + 1..i + j];
        out.push_str(&placeholder(name, s, e, count, canaries));
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

fn placeholder(
    name: &str,
    s: &Subject<'_>,
    e: Option<&Evidence>,
    count: usize,
    canaries: &CanarySet,
) -> String {
    let na = || "-".to_string();
    match name {
        "subject" => s.label.clone(),
        "protocol" => s.protocol.to_string(),
        "app" => s.app.map_or_else(na, str::to_string),
        "count" => count.to_string(),
        "verdict" => s.verdict.to_string(),
        "reason" => s.reason.to_string(),
        "client" => s.client.clone().unwrap_or_else(na),
        "server" => s.server.clone().unwrap_or_else(na),
        "layers" => e.map_or_else(na, |e| e.chain()),
        "canary" => match e.map(|e| &e.kind) {
            Some(EvidenceKind::Canary { canary, .. }) => {
                canaries.get(*canary).map_or_else(na, |c| c.text.clone())
            }
            _ => na(),
        },
        "encoding" => match e.map(|e| &e.kind) {
            Some(EvidenceKind::Canary { encoding, .. }) => encoding.as_str().to_string(),
            _ => na(),
        },
        "field" | "key" => e
            .and_then(|e| field_of(&e.kind).map(str::to_string))
            .unwrap_or_else(na),
        "value" => e.and_then(|e| value_of(&e.kind)).unwrap_or_else(na),
        _ => format!("{{{name}}}"),
    }
}

/// A stable fingerprint: the same problem on the same endpoint or file has the
/// same fingerprint in every run, so baselines can suppress it.
pub fn fingerprint(
    rule: &str,
    identity: &str,
    e: Option<&Evidence>,
    canaries: &CanarySet,
) -> String {
    let mut h = Sha256::new();
    h.update(rule.as_bytes());
    h.update([0]);
    h.update(identity.as_bytes());
    if let Some(e) = e {
        h.update([0]);
        match &e.kind {
            EvidenceKind::Canary { canary, .. } => {
                if let Some(c) = canaries.get(*canary) {
                    h.update(c.text.as_bytes());
                }
            }
            other => {
                if let Some(f) = field_of(other) {
                    h.update(f.as_bytes());
                }
            }
        }
    }
    let d = h.finalize();
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Encoding, Layer, Origin, SubjectId};
    use crate::rules::load::load_text;
    use std::borrow::Cow;

    fn rules(text: &str) -> RuleSet {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        load_text(&mut set, "t.toml", text, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        set
    }

    fn ev(kind: EvidenceKind) -> Evidence {
        Evidence {
            kind,
            subject: SubjectId::Flow(1),
            layers: vec![Layer::plain("tcp")],
            dir: None,
            offset: None,
            origin: Origin::default(),
        }
    }

    fn subject<'a>(evidence: &'a [Evidence]) -> Subject<'a> {
        Subject {
            kind: SubjectKind::Flow,
            label: "flow 1".into(),
            identity: "tcp 10.0.0.2:80".into(),
            protocol: "http",
            app: None,
            verdict: Verdict::Exposed,
            reason: "r",
            client: Some("10.0.0.1:5555".into()),
            server: Some("10.0.0.2:80".into()),
            evidence,
        }
    }

    #[test]
    fn canary_check_fires_with_rendered_message() {
        let set = rules(
            r#"
[[check]]
id = "c"
title = "t"
severity = "high"
message = "{canary} via {layers} ({encoding}) x{count} on {server}"
explanation = "e"
[check.match]
evidence = "canary"
keyed = false
"#,
        );
        let canaries = CanarySet::new(vec![crate::evidence::canary::Canary {
            text: "PS-ABCDEFGH".into(),
            label: None,
            created: None,
        }])
        .unwrap();
        let evs = [ev(EvidenceKind::Canary {
            canary: 0,
            encoding: Encoding::Utf8,
            context: vec![],
        })];
        let fired = evaluate(&set, &subject(&evs), &canaries);
        assert_eq!(fired.len(), 1);
        assert_eq!(
            fired[0].message,
            "PS-ABCDEFGH via tcp (utf-8) x1 on 10.0.0.2:80"
        );
        assert_eq!(fired[0].fingerprint.len(), 32);
    }

    #[test]
    fn field_value_and_absent_conditions() {
        let set = rules(
            r#"
[[check]]
id = "sni"
title = "t"
severity = "low"
message = "{key}={value}"
explanation = "e"
[check.match]
evidence = "metadata"
field = "tls.sni"
value = "whatsapp"

[[check]]
id = "no-ech"
title = "t"
severity = "info"
protocol = "http"
absent = true
message = "no ech"
explanation = "e"
[check.match]
evidence = "metadata"
field = "tls.ech"
"#,
        );
        let evs = [ev(EvidenceKind::Metadata {
            key: Cow::Borrowed("tls.sni"),
            value: "g.whatsapp.net".into(),
        })];
        let fired = evaluate(&set, &subject(&evs), &CanarySet::default());
        let ids: Vec<&str> = fired.iter().map(|f| f.check.id.as_str()).collect();
        assert_eq!(ids, vec!["sni", "no-ech"]);
        assert_eq!(fired[0].message, "tls.sni=g.whatsapp.net");
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let c = CanarySet::default();
        assert_eq!(
            fingerprint("a", "x", None, &c),
            fingerprint("a", "x", None, &c)
        );
        assert_ne!(
            fingerprint("a", "x", None, &c),
            fingerprint("a", "y", None, &c)
        );
    }
}
