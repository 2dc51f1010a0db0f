//! The report document: the JSON contract every output format renders.
//!
//! Later work extends this document but never renames or removes a field.
//! Content is redacted when the document is built (see [`crate::report::redact`]),
//! so every renderer sees the same, already-safe values.

use crate::model::{CanaryVerdict, Severity, Transport, Verdict};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Bumped when fields are added (minor) or, never, changed (major).
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: &'static str,
    pub tool: Tool,
    /// The subcommand that produced the report (`replay`, `capture`, `scan`, `audit`).
    pub command: String,
    pub inputs: Vec<Input>,
    /// Per-app scorecard (filled when apps are attributed).
    pub apps: Vec<AppReport>,
    pub flows: Vec<FlowReport>,
    pub stores: Vec<StoreReport>,
    pub canaries: Vec<CanaryReport>,
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "plainsight",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// One input file (or interface) with its integrity hash.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    pub path: String,
    /// `pcap`, `pcapng`, `interface`, `keylog`, `sqlite`, `sqlite-wal`, `directory`, ...
    pub kind: String,
    pub size: u64,
    /// SHA-256 of the bytes read, hex; `null` for live interfaces.
    pub sha256: Option<String>,
    /// For stores: whether the file was byte-identical after the scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchanged: Option<bool>,
}

/// Kind-specific fields of an evidence item. A short vector with static
/// keys, not a map: a report on a large capture holds hundreds of thousands
/// of these, and a `serde_json::Map` costs a B-tree node per item.
/// Serialised as a map with its keys in sorted order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail(Vec<(Cow<'static, str>, serde_json::Value)>);

impl Detail {
    pub fn new() -> Self {
        Detail(Vec::new())
    }

    /// Sets `key` (replacing an earlier value).
    pub fn insert(&mut self, key: &'static str, value: serde_json::Value) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((Cow::Borrowed(key), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Drops spare capacity once the item is complete.
    pub fn shrink(mut self) -> Self {
        self.0.shrink_to_fit();
        self
    }
}

impl Serialize for Detail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut sorted: Vec<&(Cow<'static, str>, serde_json::Value)> = self.0.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut m = s.serialize_map(Some(sorted.len()))?;
        for (k, v) in sorted {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Read back from a parked report (see [`crate::report::spill`]).
impl<'de> Deserialize<'de> for Detail {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m: std::collections::BTreeMap<String, serde_json::Value> = Deserialize::deserialize(d)?;
        Ok(Detail(
            m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
        ))
    }
}

/// One evidence item as rendered (content already redacted unless `--show-content`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvidenceReport {
    pub kind: Cow<'static, str>,
    /// Subject this evidence belongs to: `flow 3`, `store 1`.
    pub subject: String,
    /// Decoding chain, outermost first, e.g. `["tcp", "tls1.3[key log]", "http2"]`.
    pub layers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_offset: Option<u64>,
    /// Kind-specific fields (canary, encoding, field, class, key, value, state, ...).
    #[serde(flatten)]
    pub detail: Detail,
    /// One-line human summary.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    pub id: u64,
    pub transport: Transport,
    /// `ip:port` of the side that opened the flow (IPv6 as `[addr]:port`).
    pub client: String,
    pub server: String,
    /// Innermost identified protocol, `unknown` when none.
    pub protocol: String,
    /// Attributed app, `null` when unknown.
    pub app: Option<String>,
    pub packets: u64,
    pub bytes: u64,
    pub packets_to_server: u64,
    pub packets_to_client: u64,
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    /// Application payload bytes per direction after reassembly.
    pub payload_to_server: u64,
    pub payload_to_client: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// How the flow's end was observed: `fin`, `rst`, `idle`, `evicted`, `end-of-input`.
    pub end: &'static str,
    pub verdict: Verdict,
    /// Why this verdict (always set; for `opaque` it says why nothing could be opened).
    pub reason: String,
    /// Layers identified on this flow, outermost first.
    pub layers: Vec<String>,
    pub evidence: crate::report::spill::Evidence,
    /// Evidence items not listed because of the per-flow cap.
    #[serde(skip_serializing_if = "is_zero")]
    pub evidence_omitted: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreReport {
    pub id: u32,
    pub path: String,
    /// `sqlite`, `sqlcipher`, `whatsapp-crypt15`, `text`, `leveldb`, `encrypted`, ...
    pub kind: String,
    pub app: Option<String>,
    pub verdict: Verdict,
    pub reason: String,
    pub evidence: Vec<EvidenceReport>,
    #[serde(skip_serializing_if = "is_zero")]
    pub evidence_omitted: u64,
    /// Kind-specific facts (page size, journal mode, secure_delete, freelist count, ...).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub facts: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CanaryHit {
    /// `flow 3` or `store 1`.
    pub subject: String,
    pub layers: Vec<String>,
    pub encoding: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<u64>,
    /// The verdict this hit alone implies.
    pub verdict: CanaryVerdict,
    /// Masked context around the hit (the canary stays readable).
    pub snippet: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CanaryReport {
    pub canary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub verdict: CanaryVerdict,
    pub hits: Vec<CanaryHit>,
    #[serde(skip_serializing_if = "is_zero")]
    pub hits_omitted: u64,
    /// What was searched, and what could not be opened: "not found" is never "safe".
    pub searched: Searched,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Searched {
    pub flows: u64,
    pub stores: u64,
    /// Bytes scanned across all layers.
    pub bytes: u64,
    /// Subjects whose content could not be searched, with the reason.
    pub not_opened: Vec<NotOpened>,
    #[serde(skip_serializing_if = "is_zero")]
    pub not_opened_omitted: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotOpened {
    pub subject: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable rule id (kebab-case).
    pub rule: String,
    pub severity: Severity,
    pub verdict: Option<Verdict>,
    /// `flow 3`, `store 1`, `app whatsapp`, `canary PS-…`.
    pub subject: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Stable fingerprint for baselines: rule + subject identity, not run-specific ids.
    pub fingerprint: String,
    pub evidence: crate::report::spill::Evidence,
}

#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// Input path (or `-` for stdin, or the interface name).
    pub input: String,
    /// Byte offset in that input where the problem was found.
    pub offset: Option<u64>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    /// Profile id, or the server name (SNI, Host, resolved DNS name) of flows
    /// no profile knows, or `unattributed`.
    pub app: String,
    /// `profile`, `server-name` or `none` (the `unattributed` row).
    pub attribution: &'static str,
    /// The vendor's claim from the app profile, e.g. "end-to-end for 1:1 chats".
    pub claim: Option<String>,
    pub wire: Option<Verdict>,
    pub storage: Option<Verdict>,
    pub retained: bool,
    pub overall: Verdict,
    /// Metadata leaks by kind (sni, dns-name, stun-address, ...).
    pub leaks: std::collections::BTreeMap<String, u64>,
    pub flows: Vec<u64>,
    pub stores: Vec<u32>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    pub flows: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub stores: u64,
    /// Packets that were not IPv4/IPv6 TCP/UDP (ARP, ICMP, ...).
    pub non_ip_or_other: u64,
    pub decode_errors: u64,
    pub truncated_packets: u64,
    pub fragments: u64,
    pub fragments_reassembled: u64,
    pub filtered_out: u64,
    pub tcp_gaps: u64,
    pub tcp_gap_bytes: u64,
    pub tcp_overlaps_conflicting: u64,
    pub flows_evicted: u64,
    pub reassembly_cap_hits: u64,
    pub bytes_scanned: u64,
    /// Live capture only: counters reported by the kernel/libpcap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureStats>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CaptureStats {
    pub received: u64,
    pub dropped_by_kernel: u64,
    pub dropped_by_interface: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
