//! Building the report: verdicts, findings, canary summary and redaction.
//!
//! The engine and the store scanner hand finished subjects (flows, stores)
//! to a [`ReportBuilder`] as they are decided, so memory holds compact
//! summaries, never packets; every renderer then works from the same
//! redacted [`Report`].

use crate::evidence::canary::{self, CanarySet};
use crate::evidence::{CryptoState, Encoding, Evidence, EvidenceKind, Protection, SubjectId};
use crate::model::{CanaryVerdict, Transport, Verdict, endpoint, format_ts};
use crate::report::model::*;
use crate::rules::RuleSet;
use crate::rules::eval::{self, Subject};
use crate::rules::model::SubjectKind;
use crate::verdict::{self, Decision};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;

/// Rendering choices that affect the document itself.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Reveal content instead of masking it.
    pub show_content: bool,
    /// Hits listed per canary (the rest are counted).
    pub max_hits_per_canary: usize,
    /// Subjects listed under a canary's `searched.not_opened`.
    pub max_not_opened: usize,
    /// Evidence items attached to each finding.
    pub max_finding_evidence: usize,
    /// Keep flows, stores and findings in the report. Off for streaming
    /// outputs, which see each one through `on_decided` and then drop it.
    pub retain: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            show_content: false,
            max_hits_per_canary: 100,
            max_not_opened: 50,
            max_finding_evidence: 5,
            retain: true,
        }
    }
}

/// A finished flow as the engine hands it over.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    pub id: u64,
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub protocol: String,
    pub layers: Vec<String>,
    pub app: Option<String>,
    /// Index 0 client→server, 1 server→client.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub payload: [u64; 2],
    pub first_ts: i64,
    pub last_ts: i64,
    pub end: &'static str,
    pub evidence: Vec<Evidence>,
    pub omitted: u64,
    pub scanned: u64,
}

/// A finished store as the scanner hands it over.
#[derive(Debug, Clone)]
pub struct StoreRecord {
    pub id: u32,
    pub path: String,
    pub kind: String,
    pub app: Option<String>,
    pub evidence: Vec<Evidence>,
    pub omitted: u64,
    pub facts: Map<String, Value>,
    pub scanned: u64,
}

/// Something decided, for streaming outputs (JSON Lines).
pub enum Decided<'a> {
    Flow(&'a FlowReport),
    Store(&'a StoreReport),
    Finding(&'a Finding),
}

/// Receives each subject and finding as soon as it is decided.
type DecidedSink<'a> = Box<dyn FnMut(Decided<'_>) + 'a>;

struct CanaryAcc {
    verdict: CanaryVerdict,
    hits: Vec<CanaryHit>,
    omitted: u64,
}

/// Accumulates decided subjects into a report.
pub struct ReportBuilder<'a> {
    canaries: &'a CanarySet,
    rules: &'a RuleSet,
    opts: BuildOptions,
    report: Report,
    acc: Vec<CanaryAcc>,
    searched: Searched,
    on_decided: Option<DecidedSink<'a>>,
    /// The scorecard, folded in as flows and stores are decided (parked
    /// evidence is no longer in memory at the end).
    scorecard: crate::report::apps::Scorecard,
    /// Where flow evidence goes once the report holds [`PARK_AFTER`] flows;
    /// `None` until then, or if no temporary file could be made.
    spill: Option<std::sync::Arc<crate::report::spill::SpillFile>>,
    spill_failed: bool,
}

/// Flows (and findings) kept wholly in memory before their evidence is
/// parked on disk: small reports never touch the disk.
const PARK_AFTER: usize = 256;

impl<'a> ReportBuilder<'a> {
    pub fn new(
        command: &str,
        canaries: &'a CanarySet,
        rules: &'a RuleSet,
        opts: BuildOptions,
    ) -> Self {
        // A generated canary with a wrong check character is a typo: the
        // marker actually sent will not be found under this spelling.
        let warnings = canaries
            .canaries()
            .iter()
            .filter(|c| {
                c.text.starts_with(crate::evidence::canary::PREFIX)
                    && !crate::evidence::canary::is_well_formed(&c.text)
            })
            .map(|c| Warning {
                input: "canaries".into(),
                offset: None,
                message: format!(
                    "canary {} looks generated but fails its check character (a typo?); searched as given",
                    c.text
                ),
            })
            .collect();
        ReportBuilder {
            canaries,
            rules,
            opts,
            report: Report {
                schema_version: SCHEMA_VERSION,
                tool: Tool::default(),
                command: command.to_string(),
                inputs: Vec::new(),
                apps: Vec::new(),
                flows: Vec::new(),
                stores: Vec::new(),
                canaries: Vec::new(),
                findings: Vec::new(),
                warnings,
                stats: Stats::default(),
            },
            acc: canaries
                .canaries()
                .iter()
                .map(|_| CanaryAcc {
                    verdict: CanaryVerdict::NotFound,
                    hits: Vec::new(),
                    omitted: 0,
                })
                .collect(),
            searched: Searched::default(),
            on_decided: None,
            scorecard: Default::default(),
            spill: None,
            spill_failed: false,
        }
    }

    /// Calls `f` with every flow, store and finding as soon as it is decided.
    pub fn on_decided(&mut self, f: impl FnMut(Decided<'_>) + 'a) {
        self.on_decided = Some(Box::new(f));
    }

    pub fn add_input(&mut self, input: Input) {
        self.report.inputs.push(input);
    }

    pub fn inputs_mut(&mut self) -> &mut Vec<Input> {
        &mut self.report.inputs
    }

    pub fn warning(&mut self, input: &str, offset: Option<u64>, message: impl Into<String>) {
        self.report.warnings.push(Warning {
            input: input.to_string(),
            offset,
            message: message.into(),
        });
    }

    pub fn warnings(&self) -> &[Warning] {
        &self.report.warnings
    }

    fn canary_name(&self) -> impl Fn(u32) -> String + '_ {
        move |i| {
            self.canaries
                .get(i)
                .map_or_else(|| format!("#{i}"), |c| c.text.clone())
        }
    }

    /// Decides a finished flow and records it with its findings.
    pub fn add_flow(&mut self, f: FlowRecord) {
        let decision = verdict::flow(&f.evidence, &self.canary_name());
        let client = endpoint(f.client.ip(), f.client.port());
        let server = endpoint(f.server.ip(), f.server.port());
        let label = format!("flow {}", f.id);
        let identity = format!(
            "{} {} {} {}",
            f.transport,
            server,
            f.protocol,
            f.app.as_deref().unwrap_or("-")
        );
        self.searched.flows += 1;
        self.searched.bytes += f.scanned;
        self.note_not_opened(&label, &decision, &f.evidence);
        let subject = Subject {
            kind: SubjectKind::Flow,
            label: label.clone(),
            identity,
            protocol: &f.protocol,
            app: f.app.as_deref(),
            verdict: decision.verdict,
            reason: &decision.reason,
            client: Some(client.clone()),
            server: Some(server.clone()),
            evidence: &f.evidence,
        };
        let findings = self.findings_for(&subject);
        self.collect_canary_hits(&f.evidence, &label);
        let evidence: Vec<EvidenceReport> = f.evidence.iter().map(|e| self.render(e)).collect();
        let flow = FlowReport {
            id: f.id,
            transport: f.transport,
            client,
            server,
            protocol: f.protocol,
            app: f.app,
            packets: f.packets[0] + f.packets[1],
            bytes: f.bytes[0] + f.bytes[1],
            packets_to_server: f.packets[0],
            packets_to_client: f.packets[1],
            bytes_to_server: f.bytes[0],
            bytes_to_client: f.bytes[1],
            payload_to_server: f.payload[0],
            payload_to_client: f.payload[1],
            first_seen: format_ts(f.first_ts),
            last_seen: format_ts(f.last_ts),
            end: f.end,
            verdict: decision.verdict,
            reason: decision.reason,
            layers: f.layers,
            evidence: evidence.into(),
            evidence_omitted: f.omitted,
        };
        if let Some(cb) = &mut self.on_decided {
            cb(Decided::Flow(&flow));
        }
        if self.opts.retain {
            self.scorecard.add_flow(&flow);
            let mut flow = flow;
            if self.report.flows.len() >= PARK_AFTER
                && let Some(parked) = self.spill().and_then(|s| s.park(&flow.evidence))
            {
                flow.evidence = parked;
            }
            self.report.flows.push(flow);
        }
        self.push_findings(findings);
    }

    /// Decides a finished store and records it with its findings.
    pub fn add_store(&mut self, s: StoreRecord) {
        let decision = verdict::store(&s.evidence, &self.canary_name());
        let label = format!("store {}", s.id);
        self.searched.stores += 1;
        self.searched.bytes += s.scanned;
        self.note_not_opened(&label, &decision, &s.evidence);
        let subject = Subject {
            kind: SubjectKind::Store,
            label: label.clone(),
            identity: format!("{} {}", s.kind, s.path),
            protocol: &s.kind,
            app: s.app.as_deref(),
            verdict: decision.verdict,
            reason: &decision.reason,
            client: None,
            server: None,
            evidence: &s.evidence,
        };
        let findings = self.findings_for(&subject);
        self.collect_canary_hits(&s.evidence, &label);
        let evidence = s.evidence.iter().map(|e| self.render(e)).collect();
        let store = StoreReport {
            id: s.id,
            path: s.path,
            kind: s.kind,
            app: s.app,
            verdict: decision.verdict,
            reason: decision.reason,
            evidence,
            evidence_omitted: s.omitted,
            facts: s.facts,
        };
        if let Some(cb) = &mut self.on_decided {
            cb(Decided::Store(&store));
        }
        if self.opts.retain {
            self.scorecard.add_store(&store);
            self.report.stores.push(store);
        }
        self.push_findings(findings);
    }

    /// Subjects a canary search could not cover: encrypted and not opened
    /// (`opaque`), or only partly searched (bytes missing, a body that
    /// could not be decompressed).
    fn note_not_opened(&mut self, label: &str, d: &Decision, evidence: &[Evidence]) {
        let reason = if d.verdict == Verdict::Opaque {
            Some(d.reason.clone())
        } else {
            evidence.iter().find_map(|e| match &e.kind {
                EvidenceKind::Anomaly { code, detail }
                    if PARTIAL_SEARCH.contains(&code.as_ref()) =>
                {
                    Some(format!("only partly searched: {code}: {detail}"))
                }
                _ => None,
            })
        };
        let Some(reason) = reason else {
            return;
        };
        if self.searched.not_opened.len() < self.opts.max_not_opened {
            self.searched.not_opened.push(NotOpened {
                subject: label.to_string(),
                reason,
            });
        } else {
            self.searched.not_opened_omitted += 1;
        }
    }

    fn findings_for(&self, subject: &Subject<'_>) -> Vec<Finding> {
        eval::evaluate(self.rules, subject, self.canaries)
            .into_iter()
            .map(|fired| Finding {
                rule: fired.check.id.clone(),
                severity: fired.check.severity,
                verdict: fired.check.verdict,
                subject: subject.label.clone(),
                message: fired.message,
                app: subject.app.map(str::to_string),
                fingerprint: fired.fingerprint,
                evidence: fired
                    .matched
                    .iter()
                    .take(self.opts.max_finding_evidence)
                    .map(|&i| self.render(&subject.evidence[i]))
                    .collect::<Vec<_>>()
                    .into(),
            })
            .collect()
    }

    /// The spill file, made on first use; `None` if no temporary file can be
    /// made (then everything stays in memory, as for small reports).
    fn spill(&mut self) -> Option<std::sync::Arc<crate::report::spill::SpillFile>> {
        if self.spill.is_none() && !self.spill_failed {
            self.spill = crate::report::spill::SpillFile::new().ok();
            self.spill_failed = self.spill.is_none();
        }
        self.spill.clone()
    }

    fn push_findings(&mut self, findings: Vec<Finding>) {
        for f in findings {
            if let Some(cb) = &mut self.on_decided {
                cb(Decided::Finding(&f));
            }
            if self.opts.retain {
                let mut f = f;
                if self.report.findings.len() >= PARK_AFTER
                    && let Some(parked) = self.spill().and_then(|s| s.park(&f.evidence))
                {
                    f.evidence = parked;
                }
                self.report.findings.push(f);
            }
        }
    }

    /// Adds a subject's canary hits to the canary summary, with hits of the
    /// same bytes at several layers folded into one (see [`fold_hits`]).
    fn collect_canary_hits(&mut self, evidence: &[Evidence], label: &str) {
        let folded = fold_hits(evidence);
        for (e, (gone, wire)) in evidence.iter().zip(folded) {
            let EvidenceKind::Canary {
                canary,
                context,
                encoding: own,
            } = &e.kind
            else {
                continue;
            };
            let encoding = wire.unwrap_or(*own);
            let Some(acc) = self.acc.get_mut(*canary as usize) else {
                continue;
            };
            let v = verdict::canary_hit(e);
            acc.verdict = acc.verdict.max(v);
            if gone {
                continue;
            }
            if acc.hits.len() >= self.opts.max_hits_per_canary {
                acc.omitted += 1;
                continue;
            }
            let text = self
                .canaries
                .get(*canary)
                .map(|c| c.text.as_bytes())
                .unwrap_or_default();
            acc.hits.push(CanaryHit {
                subject: label.to_string(),
                layers: e.layers.iter().map(|l| l.to_string()).collect(),
                encoding: encoding.as_str(),
                direction: e.dir.map(|d| d.as_str()),
                offset: e.offset,
                packet: e.origin.packet,
                verdict: v,
                snippet: snippet(context, Some(text), *own, self.opts.show_content),
            });
        }
    }

    /// One evidence item as shown in reports (content masked unless `show_content`).
    pub fn render(&self, e: &Evidence) -> EvidenceReport {
        render_evidence(e, self.canaries, self.opts.show_content)
    }

    /// Sets run statistics (the engine owns the counters).
    pub fn stats_mut(&mut self) -> &mut Stats {
        &mut self.report.stats
    }

    /// Finishes the document: canary summary and stable ordering.
    pub fn finish(mut self) -> Report {
        self.report.canaries = self
            .canaries
            .canaries()
            .iter()
            .zip(std::mem::take(&mut self.acc))
            .map(|(c, acc)| CanaryReport {
                canary: c.text.clone(),
                label: c.label.clone(),
                verdict: acc.verdict,
                hits: acc.hits,
                hits_omitted: acc.omitted,
                searched: self.searched.clone(),
            })
            .collect();
        self.report.flows.sort_by_key(|f| f.id);
        self.report.stores.sort_by_key(|s| s.id);
        self.report.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| subject_order(&a.subject).cmp(&subject_order(&b.subject)))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        if self.opts.retain {
            self.report.stats.flows = self.report.flows.len() as u64;
            self.report.stats.stores = self.report.stores.len() as u64;
            self.report.apps = std::mem::take(&mut self.scorecard).finish(self.rules);
        } else {
            self.report.stats.flows = self.searched.flows;
            self.report.stats.stores = self.searched.stores;
        }
        self.report.stats.bytes_scanned = self.searched.bytes;
        self.report
    }
}

/// Anomalies after which part of a subject's content was never searched.
const PARTIAL_SEARCH: [&str; 4] = [
    "stream-gap",
    "decompression-cap",
    "http-bad-coding",
    "http-body-truncated",
];

/// Folds canary hits that are the same bytes seen at several layers.
///
/// An inner layer that only removed framing (an HTTP body without a
/// content coding, a protobuf field, a JSON value) sees the bytes its outer
/// layer already scanned, so one canary in one place is found at `tcp` and
/// at `tcp › http-body`, and again as a decoded JSON value. A hit is folded
/// into a hit of the same canary and direction whose layer chain extends
/// its own by plain (unkeyed) layers, or which has the same chain but is a
/// decoded value (no stream offset); each hit absorbs at most one, so two
/// occurrences stay two hits. The innermost hit is kept (its chain is the
/// most precise) with the encoding the bytes had outermost, when that was
/// not plain UTF-8 (the form on the wire).
///
/// Returns, per evidence item, whether it was folded away and the encoding
/// to report.
fn fold_hits(evidence: &[Evidence]) -> Vec<(bool, Option<Encoding>)> {
    let mut out: Vec<(bool, Option<Encoding>)> = evidence
        .iter()
        .map(|e| match &e.kind {
            EvidenceKind::Canary { encoding, .. } => (false, Some(*encoding)),
            _ => (false, None),
        })
        .collect();
    let key = |e: &Evidence| (e.layers.len(), e.offset.is_none());
    let mut hits: Vec<usize> = (0..evidence.len())
        .filter(|&i| out[i].1.is_some())
        .collect();
    // Innermost first.
    hits.sort_by_key(|&i| std::cmp::Reverse(key(&evidence[i])));
    let canary_of = |e: &Evidence| match e.kind {
        EvidenceKind::Canary { canary, .. } => Some(canary),
        _ => None,
    };
    let mut absorbed_by: Vec<Option<usize>> = vec![None; evidence.len()];
    for (n, &i) in hits.iter().enumerate() {
        let inner = &evidence[i];
        let candidates = || {
            hits[n + 1..].iter().copied().filter(|&j| {
                let o = &evidence[j];
                absorbed_by[j].is_none()
                    && key(o) < key(inner)
                    && canary_of(o) == canary_of(inner)
                    && o.dir == inner.dir
                    && o.layers.len() <= inner.layers.len()
                    && inner.layers[..o.layers.len()] == o.layers[..]
                    && inner.layers[o.layers.len()..]
                        .iter()
                        .all(|l| l.protection == Protection::None)
            })
        };
        // The nearest layer, and there the same encoding first: that is
        // most surely the same bytes.
        let nearest = candidates().map(|j| key(&evidence[j])).max();
        let at_nearest = || candidates().filter(|&j| Some(key(&evidence[j])) == nearest);
        let outer = at_nearest()
            .find(|&j| out[j].1 == out[i].1)
            .or_else(|| at_nearest().next());
        if let Some(j) = outer {
            absorbed_by[j] = Some(i);
            out[j].0 = true;
        }
    }
    // Outermost first, hand the wire encoding inwards.
    for &j in hits.iter().rev() {
        if let (Some(i), Some(enc)) = (absorbed_by[j], out[j].1)
            && out[i].1 == Some(Encoding::Utf8)
            && enc != Encoding::Utf8
        {
            out[i].1 = Some(enc);
        }
    }
    out
}

/// Orders `flow 2` before `flow 10`.
fn subject_order(s: &str) -> (String, u64) {
    match s.rsplit_once(' ') {
        Some((k, n)) => (k.to_string(), n.parse().unwrap_or(u64::MAX)),
        None => (s.to_string(), 0),
    }
}

/// The masked (or, with `show`, lossy-decoded) context of a hit.
fn snippet(
    context: &[u8],
    keep: Option<&[u8]>,
    enc: crate::evidence::Encoding,
    show: bool,
) -> String {
    if show {
        return String::from_utf8_lossy(context).into_owned();
    }
    // The canary is only findable verbatim in its UTF-8 form; other encodings
    // show the encoded canary as it appeared, which reveals nothing new.
    let keep = if enc == crate::evidence::Encoding::Utf8 {
        keep
    } else {
        None
    };
    canary::mask(context, keep)
}

fn mask_user(user: &str, show: bool) -> String {
    if show {
        return user.to_string();
    }
    let mut it = user.chars();
    match it.next() {
        Some(c) => format!("{c}***"),
        None => String::new(),
    }
}

/// Renders one evidence item: kind-specific fields plus a one-line summary.
pub fn render_evidence(e: &Evidence, canaries: &CanarySet, show: bool) -> EvidenceReport {
    let mut detail = Detail::new();
    let summary = match &e.kind {
        EvidenceKind::Canary {
            canary,
            encoding,
            context,
        } => {
            let text = canaries
                .get(*canary)
                .map(|c| c.text.clone())
                .unwrap_or_default();
            detail.insert("canary", json!(text));
            detail.insert("encoding", json!(encoding.as_str()));
            detail.insert(
                "snippet",
                json!(snippet(context, Some(text.as_bytes()), *encoding, show)),
            );
            format!("canary {text} ({})", encoding.as_str())
        }
        EvidenceKind::Content {
            field,
            class,
            len,
            sample,
        } => {
            detail.insert("field", json!(field));
            detail.insert("class", json!(class.as_str()));
            detail.insert("length", json!(len));
            let shown = if show {
                String::from_utf8_lossy(sample).into_owned()
            } else {
                canary::mask(sample, None)
            };
            detail.insert("sample", json!(shown));
            format!("message-like text in {field} ({len} bytes): {shown}")
        }
        EvidenceKind::Payload {
            class,
            bytes,
            entropy,
            printable,
        } => {
            detail.insert("class", json!(class.as_str()));
            detail.insert("bytes", json!(bytes));
            detail.insert("entropy", json!(round2(*entropy)));
            detail.insert("printable", json!(round2(*printable)));
            format!(
                "{} payload, {bytes} bytes, entropy {:.2} bits/byte",
                class.as_str(),
                entropy
            )
        }
        EvidenceKind::Metadata { key, value } => {
            detail.insert("key", json!(key));
            detail.insert("value", json!(value));
            format!("{key} = {value}")
        }
        EvidenceKind::Credential { key, user } => {
            detail.insert("key", json!(key));
            let u = user.as_deref().map(|u| mask_user(u, show));
            detail.insert("user", json!(u));
            match u {
                Some(u) => format!("credential {key} for user {u} in the clear"),
                None => format!("credential {key} in the clear"),
            }
        }
        EvidenceKind::Crypto {
            protocol,
            state,
            records,
            decrypted,
        } => {
            detail.insert("protocol", json!(protocol));
            detail.insert("state", json!(eval::state_name(state)));
            detail.insert("records", json!(records));
            detail.insert("decrypted", json!(decrypted));
            match state {
                CryptoState::Opened => {
                    format!("{protocol} opened: {decrypted}/{records} records decrypted")
                }
                CryptoState::Partial { reason } | CryptoState::NotOpened { reason } => {
                    detail.insert("reason", json!(reason));
                    format!(
                        "{protocol} {}: {reason} ({decrypted}/{records} records decrypted)",
                        eval::state_name(state)
                    )
                }
            }
        }
        EvidenceKind::E2eEnvelope { scheme } => {
            detail.insert("scheme", json!(scheme));
            format!("{scheme} end-to-end envelope")
        }
        EvidenceKind::Anomaly { code, detail: d } => {
            detail.insert("code", json!(code));
            detail.insert("detail", json!(d));
            format!("{code}: {d}")
        }
        EvidenceKind::Retention { place, detail: d } => {
            detail.insert("place", json!(place));
            detail.insert("detail", json!(d));
            format!("retained in {place}: {d}")
        }
    };
    EvidenceReport {
        kind: e.kind.tag().into(),
        subject: match e.subject {
            SubjectId::Flow(id) => format!("flow {id}"),
            SubjectId::Store(id) => format!("store {id}"),
        },
        layers: e.layers.iter().map(|l| l.to_string()).collect(),
        direction: e.dir.map(|d| d.as_str().into()),
        offset: e.offset,
        input: e.origin.input,
        packet: e.origin.packet,
        file_offset: e.origin.file_offset,
        detail: detail.shrink(),
        summary,
    }
}

fn round2(v: f32) -> f64 {
    (f64::from(v) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::canary::Canary;
    use crate::evidence::{Encoding, Layer, Origin};
    use crate::model::Direction;

    fn canaries() -> CanarySet {
        CanarySet::new(vec![Canary {
            text: "PS-7H2KQ9ZXW4M5".into(),
            label: Some("dm to bob".into()),
            created: None,
        }])
        .unwrap()
    }

    fn flow(evidence: Vec<Evidence>) -> FlowRecord {
        FlowRecord {
            id: 1,
            transport: Transport::Tcp,
            client: "10.0.0.1:40000".parse().unwrap(),
            server: "[2001:db8::2]:6667".parse().unwrap(),
            protocol: "unknown".into(),
            layers: vec!["tcp".into()],
            app: None,
            packets: [3, 2],
            bytes: [300, 200],
            payload: [100, 50],
            first_ts: 0,
            last_ts: 1_000_000_000,
            end: "fin",
            evidence,
            omitted: 0,
            scanned: 150,
        }
    }

    fn canary_ev() -> Evidence {
        Evidence {
            kind: EvidenceKind::Canary {
                canary: 0,
                encoding: Encoding::Utf8,
                context: b"PRIVMSG #x :secret PS-7H2KQ9ZXW4M5 meet".to_vec(),
            },
            subject: SubjectId::Flow(1),
            layers: vec![Layer::plain("tcp")],
            dir: Some(Direction::ToServer),
            offset: Some(12),
            origin: Origin {
                input: Some(0),
                packet: Some(4),
                file_offset: Some(1234),
            },
        }
    }

    #[test]
    fn canary_flow_is_exposed_with_finding_and_masked_snippet() {
        let c = canaries();
        let rules = crate::rules::builtin();
        let mut b = ReportBuilder::new("replay", &c, &rules, BuildOptions::default());
        b.add_flow(flow(vec![canary_ev()]));
        let r = b.finish();
        assert_eq!(r.flows[0].verdict, Verdict::Exposed);
        assert_eq!(r.flows[0].server, "[2001:db8::2]:6667");
        assert_eq!(r.canaries[0].verdict, CanaryVerdict::Exposed);
        let snip = &r.canaries[0].hits[0].snippet;
        assert!(snip.contains("PS-7H2KQ9ZXW4M5"));
        assert!(!snip.contains("secret"), "{snip}");
        assert!(!snip.contains("PRIVMSG"), "{snip}");
        assert!(
            r.findings
                .iter()
                .any(|f| f.rule == "canary-exposed-on-wire")
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("secret"), "content leaked into JSON");
    }

    #[test]
    fn a_report_past_the_parking_threshold_reads_exactly_like_one_in_memory() {
        let c = canaries();
        let rules = crate::rules::builtin();
        let build = |ids: &[u64]| {
            let mut b = ReportBuilder::new("replay", &c, &rules, BuildOptions::default());
            for &id in ids {
                let mut ev = canary_ev();
                ev.subject = SubjectId::Flow(id);
                let mut f = flow(vec![ev]);
                f.id = id;
                b.add_flow(f);
            }
            b.finish()
        };
        let n = PARK_AFTER as u64 + 40;
        let ids: Vec<u64> = (1..=n).collect();
        let big = build(&ids);
        let last = &big.flows[big.flows.len() - 1];
        assert!(last.evidence.is_parked());
        assert!(!big.flows[0].evidence.is_parked());
        // The same flow alone stays in memory; both read the same.
        let alone = build(&[n]);
        assert!(!alone.flows[0].evidence.is_parked());
        assert_eq!(
            serde_json::to_string_pretty(last).unwrap(),
            serde_json::to_string_pretty(&alone.flows[0]).unwrap()
        );
        let parked = big
            .findings
            .iter()
            .find(|f| f.subject == format!("flow {n}"))
            .unwrap();
        assert!(parked.evidence.is_parked());
        let kept = alone
            .findings
            .iter()
            .find(|f| f.rule == parked.rule)
            .unwrap();
        assert_eq!(
            serde_json::to_string(&parked.evidence).unwrap(),
            serde_json::to_string(&kept.evidence).unwrap()
        );
        // Formats that show finding evidence load it back.
        assert_eq!(&*parked.evidence.load(), &*kept.evidence.load());
        assert_eq!(big.apps[0].flows.len(), ids.len());
    }

    #[test]
    fn show_content_reveals() {
        let c = canaries();
        let rules = crate::rules::builtin();
        let opts = BuildOptions {
            show_content: true,
            ..BuildOptions::default()
        };
        let mut b = ReportBuilder::new("replay", &c, &rules, opts);
        b.add_flow(flow(vec![canary_ev()]));
        let r = b.finish();
        assert!(r.canaries[0].hits[0].snippet.contains("secret"));
    }

    fn hit_at(layers: &[&'static str], encoding: Encoding, offset: Option<u64>) -> Evidence {
        let mut e = canary_ev();
        e.layers = layers.iter().map(|l| Layer::plain(l)).collect();
        e.offset = offset;
        if let EvidenceKind::Canary { encoding: enc, .. } = &mut e.kind {
            *enc = encoding;
        }
        e
    }

    #[test]
    fn the_same_bytes_at_several_layers_are_one_hit() {
        let c = canaries();
        let rules = crate::rules::builtin();
        let mut b = ReportBuilder::new("replay", &c, &rules, BuildOptions::default());
        b.add_flow(flow(vec![
            // A second occurrence in a header: only at the TCP layer.
            hit_at(&["tcp"], Encoding::Utf8, Some(40)),
            // A JSON-escaped canary in an HTTP body: found in the TCP stream,
            // in the body stream, and as the decoded JSON value.
            hit_at(&["tcp"], Encoding::JsonEscape, Some(300)),
            hit_at(&["tcp", "http-body"], Encoding::JsonEscape, Some(120)),
            hit_at(&["tcp", "http-body"], Encoding::Utf8, None),
        ]));
        let r = b.finish();
        let hits: Vec<(Vec<String>, &str)> = r.canaries[0]
            .hits
            .iter()
            .map(|h| (h.layers.clone(), h.encoding))
            .collect();
        assert_eq!(
            hits,
            vec![
                (vec!["tcp".into()], "utf-8"),
                (vec!["tcp".into(), "http-body".into()], "json-escape"),
            ]
        );
        // The flow's own evidence keeps every observation.
        assert_eq!(r.flows[0].evidence.len(), 4);
    }

    #[test]
    fn partly_searched_subjects_are_listed_for_not_found_canaries() {
        let c = canaries();
        let rules = crate::rules::builtin();
        let mut b = ReportBuilder::new("replay", &c, &rules, BuildOptions::default());
        let mut f = flow(vec![Evidence {
            kind: EvidenceKind::Anomaly {
                code: "decompression-cap".into(),
                detail: "gzip output reached the cap of 8388608 bytes".into(),
            },
            ..canary_ev()
        }]);
        f.id = 3;
        b.add_flow(f);
        let r = b.finish();
        let cr = &r.canaries[0];
        assert_eq!(cr.verdict, CanaryVerdict::NotFound);
        assert_eq!(cr.searched.not_opened[0].subject, "flow 3");
        assert!(
            cr.searched.not_opened[0]
                .reason
                .starts_with("only partly searched: decompression-cap")
        );
    }

    #[test]
    fn not_found_canary_says_what_was_searched() {
        let c = canaries();
        let rules = crate::rules::builtin();
        let mut b = ReportBuilder::new("replay", &c, &rules, BuildOptions::default());
        let mut f = flow(vec![Evidence {
            kind: EvidenceKind::Crypto {
                protocol: "tls1.3".into(),
                state: CryptoState::NotOpened {
                    reason: "no secrets for client random 1a2b3c4d".into(),
                },
                records: 10,
                decrypted: 0,
            },
            ..canary_ev()
        }]);
        f.id = 7;
        b.add_flow(f);
        let r = b.finish();
        let cr = &r.canaries[0];
        assert_eq!(cr.verdict, CanaryVerdict::NotFound);
        assert_eq!(cr.searched.flows, 1);
        assert_eq!(cr.searched.not_opened[0].subject, "flow 7");
        assert!(cr.searched.not_opened[0].reason.contains("no secrets"));
    }
}
