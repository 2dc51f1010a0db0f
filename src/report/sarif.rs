//! SARIF 2.1.0 output for code-scanning dashboards (GitHub, GitLab, Azure).
//!
//! A hand-written serde model of the part of SARIF we emit (as cargo-deny
//! does): checks become `tool.driver.rules` with their explanation and
//! remediation as help; findings become results with a level, a message,
//! our stable fingerprint as `partialFingerprints` (so dashboards match
//! results across runs the way `--baseline` does), physical locations (the
//! input file and the byte offset of the packet block or database page
//! that holds the evidence) and logical locations (the flow or store, and
//! the table or field). Inputs are listed as artifacts with their SHA-256.
//!
//! Byte offsets, not line numbers: captures and databases are binary, so
//! regions carry `byteOffset` only (SARIF §3.30.2).

use crate::model::Severity;
use crate::report::model::{EvidenceReport, Finding, Report};
use crate::rules::{Check, RuleSet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const VERSION: &str = "2.1.0";
/// Name of our entry in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "plainsight/v1";

#[derive(Debug, Serialize)]
pub struct SarifLog {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: Vec<Run>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub automation_details: AutomationDetails,
    pub artifacts: Vec<Artifact>,
    pub results: Vec<SarifResult>,
}

#[derive(Debug, Serialize)]
pub struct AutomationDetails {
    /// `plainsight/<command>/`: a category for dashboards that keep one
    /// analysis per category.
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: &'static str,
    pub version: &'static str,
    pub semantic_version: &'static str,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub short_description: Text,
    pub full_description: Text,
    pub help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    pub default_configuration: Configuration,
    pub properties: RuleProperties,
}

#[derive(Debug, Serialize)]
pub struct Text {
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Help {
    pub text: String,
    pub markdown: String,
}

#[derive(Debug, Serialize)]
pub struct Configuration {
    pub level: &'static str,
}

#[derive(Debug, Serialize)]
pub struct RuleProperties {
    pub tags: Vec<String>,
    pub precision: &'static str,
    /// GitHub code scanning ranks alerts by this CVSS-like score.
    #[serde(rename = "security-severity")]
    pub security_severity: &'static str,
    #[serde(rename = "problem.severity")]
    pub problem_severity: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub location: ArtifactLocation,
    pub length: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<&'static str, String>,
    pub roles: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<&'static str>,
}

#[derive(Debug, Serialize, Clone)]
pub struct ArtifactLocation {
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Text,
    pub locations: Vec<Location>,
    pub partial_fingerprints: BTreeMap<&'static str, String>,
    pub properties: ResultProperties,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_location: Option<PhysicalLocation>,
    pub logical_locations: Vec<LogicalLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Text>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub byte_offset: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub name: String,
    pub fully_qualified_name: String,
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ResultProperties {
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::model::Verdict>,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

/// SARIF `level` of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// A relative or absolute path as a URI reference (RFC 3986): relative
/// paths stay relative (dashboards resolve them against the checkout),
/// absolute ones become `file://` URIs; reserved bytes are percent-encoded.
pub fn path_uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rule(c: &Check) -> Rule {
    let mut help = c.explanation.trim().to_string();
    let mut md = help.clone();
    if let Some(r) = &c.remediation {
        help.push_str("\n\nRemediation: ");
        help.push_str(r.trim());
        md.push_str("\n\n**Remediation:** ");
        md.push_str(r.trim());
    }
    let mut tags = c.tags.clone();
    tags.push("privacy".into());
    tags.sort();
    tags.dedup();
    Rule {
        id: c.id.clone(),
        name: pascal(&c.id),
        short_description: Text {
            text: c.title.clone(),
        },
        full_description: Text {
            text: c.explanation.trim().to_string(),
        },
        help: Help {
            text: help,
            markdown: md,
        },
        help_uri: c.help_uri.clone(),
        default_configuration: Configuration {
            level: level(c.severity),
        },
        properties: RuleProperties {
            tags,
            precision: "high",
            security_severity: security_severity(c.severity),
            problem_severity: match level(c.severity) {
                "error" => "error",
                "warning" => "warning",
                _ => "recommendation",
            },
        },
    }
}

/// `canary-exposed-on-wire` → `CanaryExposedOnWire`.
fn pascal(id: &str) -> String {
    id.split(['-', '_', '.'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn mime(kind: &str) -> Option<&'static str> {
    match kind {
        "pcap" => Some("application/vnd.tcpdump.pcap"),
        "pcapng" => Some("application/x-pcapng"),
        "sqlite" | "sqlite-wal" | "sqlite-journal" => Some("application/vnd.sqlite3"),
        "text" | "keylog" => Some("text/plain"),
        "json" => Some("application/json"),
        "xml" => Some("application/xml"),
        _ => None,
    }
}

/// Builds the SARIF log of a report.
pub fn build(r: &Report, rules: &RuleSet) -> SarifLog {
    // Every check of the run is described, so dashboards can show rules
    // that did not fire; results refer to them by index.
    let mut ids: BTreeSet<&str> = rules.checks.iter().map(|c| c.id.as_str()).collect();
    for f in &r.findings {
        ids.insert(f.rule.as_str());
    }
    let sarif_rules: Vec<Rule> = ids
        .iter()
        .map(|id| match rules.check(id) {
            Some(c) => rule(c),
            None => Rule {
                id: id.to_string(),
                name: pascal(id),
                short_description: Text {
                    text: id.to_string(),
                },
                full_description: Text {
                    text: id.to_string(),
                },
                help: Help {
                    text: id.to_string(),
                    markdown: id.to_string(),
                },
                help_uri: None,
                default_configuration: Configuration { level: "warning" },
                properties: RuleProperties {
                    tags: vec!["privacy".into()],
                    precision: "high",
                    security_severity: "5.5",
                    problem_severity: "warning",
                },
            },
        })
        .collect();
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let artifacts: Vec<Artifact> = r
        .inputs
        .iter()
        .map(|i| Artifact {
            location: ArtifactLocation {
                uri: path_uri(&i.path),
                index: None,
            },
            length: i.size,
            hashes: i.sha256.iter().map(|h| ("sha-256", h.clone())).collect(),
            roles: vec!["analysisTarget"],
            mime_type: mime(&i.kind),
        })
        .collect();
    let subjects = subject_names(r);
    let results = r
        .findings
        .iter()
        .map(|f| result(f, index[f.rule.as_str()], r, &artifacts, &subjects))
        .collect();
    SarifLog {
        schema: SCHEMA_URI,
        version: VERSION,
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: r.tool.name,
                    version: r.tool.version,
                    semantic_version: r.tool.version,
                    rules: sarif_rules,
                },
            },
            automation_details: AutomationDetails {
                id: format!("plainsight/{}/", r.command),
            },
            artifacts,
            results,
        }],
    }
}

/// `flow 3` → `flow 3 tcp 10.0.0.1:40000 -> 10.0.0.2:6667`, `store 1` → its path.
fn subject_names(r: &Report) -> BTreeMap<String, (String, Option<usize>)> {
    let mut m = BTreeMap::new();
    for f in &r.flows {
        let input = f.evidence.first_input().map(|i| i as usize);
        m.insert(
            format!("flow {}", f.id),
            (
                format!(
                    "flow {} {} {} -> {} ({})",
                    f.id, f.transport, f.client, f.server, f.protocol
                ),
                input,
            ),
        );
    }
    for s in &r.stores {
        let input = r.inputs.iter().position(|i| i.path == s.path);
        m.insert(format!("store {}", s.id), (s.path.clone(), input));
    }
    m
}

fn result(
    f: &Finding,
    rule_index: usize,
    r: &Report,
    artifacts: &[Artifact],
    subjects: &BTreeMap<String, (String, Option<usize>)>,
) -> SarifResult {
    let (fqn, subject_input) = subjects
        .get(&f.subject)
        .cloned()
        .unwrap_or_else(|| (f.subject.clone(), None));
    let logical = |e: Option<&EvidenceReport>| {
        let mut v = vec![LogicalLocation {
            name: f.subject.clone(),
            fully_qualified_name: fqn.clone(),
            kind: "resource",
        }];
        if let Some(field) = e
            .and_then(|e| e.detail.get("field"))
            .and_then(|x| x.as_str())
        {
            v.push(LogicalLocation {
                name: field.to_string(),
                fully_qualified_name: format!("{fqn}::{field}"),
                kind: "member",
            });
        }
        v
    };
    let physical = |input: Option<usize>, offset: Option<u64>| {
        let i = input.filter(|i| *i < r.inputs.len())?;
        Some(PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: artifacts[i].location.uri.clone(),
                index: Some(i),
            },
            region: offset.map(|o| Region { byte_offset: o }),
        })
    };
    let mut locations: Vec<Location> = f
        .evidence
        .load()
        .iter()
        .map(|e| Location {
            physical_location: physical(
                e.input.map(|i| i as usize).or(subject_input),
                e.file_offset,
            ),
            logical_locations: logical(Some(e)),
            message: Some(Text {
                text: e.summary.clone(),
            }),
        })
        .collect();
    if locations.is_empty() {
        locations.push(Location {
            physical_location: physical(subject_input, None),
            logical_locations: logical(None),
            message: None,
        });
    }
    SarifResult {
        rule_id: f.rule.clone(),
        rule_index,
        level: level(f.severity),
        message: Text {
            text: f.message.clone(),
        },
        locations,
        partial_fingerprints: [(FINGERPRINT_KEY, f.fingerprint.clone())].into(),
        properties: ResultProperties {
            severity: f.severity,
            verdict: f.verdict,
            subject: f.subject.clone(),
            app: f.app.clone(),
        },
    }
}

/// Writes the SARIF log of a report.
pub fn write(r: &Report, rules: &RuleSet, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &build(r, rules))?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_and_relative_paths_stay_relative() {
        assert_eq!(
            path_uri("fixtures/demo/a b.pcap"),
            "fixtures/demo/a%20b.pcap"
        );
        assert_eq!(path_uri("/tmp/x#1.db"), "file:///tmp/x%231.db");
        assert_eq!(path_uri("dir\\f.pcap"), "dir/f.pcap");
    }

    #[test]
    fn levels_and_names() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Info), "note");
        assert_eq!(pascal("canary-exposed-on-wire"), "CanaryExposedOnWire");
    }
}
