//! The validated rule model: checks and app profiles.
//!
//! Files are first read into the raw, span-carrying structs of
//! [`crate::rules::load`]; only values that passed validation reach these types.

use crate::model::{Severity, Verdict};
use regex::Regex;
use serde::Serialize;

/// What kind of subject a check applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    Flow,
    Store,
    Any,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Flow => "flow",
            SubjectKind::Store => "store",
            SubjectKind::Any => "any",
        }
    }
}

/// A compiled glob (`*` any run of characters, `?` one character,
/// `a|b` either alternative), case-insensitive.
#[derive(Debug, Clone)]
pub struct Glob {
    pub text: String,
    re: Regex,
}

impl Glob {
    pub fn new(text: &str) -> Result<Glob, regex::Error> {
        let mut pat = String::from("(?i)^(?:");
        for c in text.chars() {
            match c {
                '*' => pat.push_str(".*"),
                '?' => pat.push('.'),
                '|' => pat.push('|'),
                c => pat.push_str(&regex::escape(&c.to_string())),
            }
        }
        pat.push_str(")$");
        Ok(Glob {
            text: text.to_string(),
            re: Regex::new(&pat)?,
        })
    }

    pub fn matches(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

/// Conditions on one evidence item. Every set condition must hold.
#[derive(Debug, Clone, Default)]
pub struct EvidenceMatch {
    /// Evidence kind tag (`canary`, `content`, `metadata`, ...).
    pub kind: Option<String>,
    /// Under a layer removed with session keys (true) or not (false).
    pub keyed: Option<bool>,
    /// Recovered from deleted or expired space (true) or read live (false).
    pub residue: Option<bool>,
    /// Some layer of the chain matches this glob (e.g. `tls*`, `websocket`).
    pub layer: Option<Glob>,
    /// Field, metadata key, credential key, anomaly code, crypto protocol or retention place.
    pub field: Option<Glob>,
    /// Regex on the value (metadata value, credential user, anomaly detail, crypto state).
    pub value: Option<Regex>,
    /// Payload class (`text`, `high-entropy`, `binary`, `short`).
    pub class: Option<String>,
    /// Crypto state (`opened`, `partial`, `not-opened`).
    pub state: Option<String>,
}

/// A check: when it fires, one finding per matching subject.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// The verdict this finding implies for its subject, if any.
    pub verdict: Option<Verdict>,
    pub subject: SubjectKind,
    /// Subject conditions.
    pub protocol: Option<Glob>,
    pub app: Option<Glob>,
    pub subject_verdict: Option<Verdict>,
    /// Evidence condition; with `absent`, the check fires when nothing matches.
    pub evidence: Option<EvidenceMatch>,
    pub absent: bool,
    pub min_count: u64,
    /// Message template with `{placeholders}`.
    pub message: String,
    pub explanation: String,
    pub remediation: Option<String>,
    pub help_uri: Option<String>,
    pub tags: Vec<String>,
    /// `builtin:checks/wire.toml` or a user path, for `rules show`.
    pub source: String,
    /// 1-based line of the check's `id` in its file.
    pub line: usize,
}

/// A message-carrying column of an app database.
#[derive(Debug, Clone, Serialize)]
pub struct ContentColumn {
    pub table: String,
    pub column: String,
    /// `message`, `quoted`, `fts`, `transcription`, `preview`, `notification`, `json`.
    pub role: String,
    /// How the stored value encodes its text: `telegram-tl` (TL-serialised
    /// message), `typedstream` (NSAttributedString), `json` (`body` fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decode: Option<String>,
}

/// A secondary copy of message text whose parent row may be gone: a copy
/// row with no parent is retained content (`place` names where).
#[derive(Debug, Clone, Serialize)]
pub struct CopyLink {
    pub table: String,
    /// Column holding the copied text.
    pub column: String,
    /// Column of the copy that names its parent.
    pub key: String,
    /// `table.column` of the parent (`message._id`, `message.key_id`).
    pub parent: String,
    /// Retention place reported for orphans (`fts-content-orphan`, `quoted-copy`).
    pub place: String,
}

/// An expiry column (disappearing messages).
#[derive(Debug, Clone, Serialize)]
pub struct ExpiryColumn {
    pub table: String,
    pub column: String,
    /// `s` or `ms` since the Unix epoch, or `apple-s` since 2001.
    pub unit: String,
    /// For duration-style expiry: the column with the start time.
    pub start: Option<String>,
    /// When the expiry lives in a side table: its column naming the message
    /// row, and the `table.column` it refers to (`message._id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// A column that, when non-zero, exempts the row (`keep_in_chat`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unless: Option<String>,
}

/// A database or file an app keeps.
#[derive(Debug, Clone, Serialize)]
pub struct StoreProfile {
    /// Path globs (`**/com.whatsapp/databases/msgstore.db`).
    #[serde(serialize_with = "globs_as_text")]
    pub paths: Vec<Glob>,
    /// Tables that identify the schema when the path is unknown.
    pub schema: Vec<String>,
    pub content: Vec<ContentColumn>,
    pub expiry: Vec<ExpiryColumn>,
    /// Whether the app encrypts this store at rest.
    pub encrypted: bool,
    /// Files that, when present beside the store, hold its key (`config.json`).
    pub key_files: Vec<String>,
    /// A label for the store (`msgstore.db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Secondary copies whose parent row may have been deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<CopyLink>,
}

/// An app profile: how to recognise an app on the wire and at rest.
#[derive(Debug, Clone, Serialize)]
pub struct AppProfile {
    pub id: String,
    pub name: String,
    pub vendor: Option<String>,
    /// The vendor's claim, quoted in the scorecard.
    pub claim: Option<String>,
    #[serde(serialize_with = "globs_as_text")]
    pub sni: Vec<Glob>,
    #[serde(serialize_with = "globs_as_text")]
    pub dns: Vec<Glob>,
    /// IPv4/IPv6 networks as `(address, prefix length)`.
    #[serde(serialize_with = "nets_as_text")]
    pub ip_ranges: Vec<(std::net::IpAddr, u8)>,
    pub ports: Vec<u16>,
    /// Names of wire signatures implemented by dissectors (`whatsapp-noise`, `mtproto`).
    pub signatures: Vec<String>,
    pub stores: Vec<StoreProfile>,
    pub source: String,
}

fn globs_as_text<S: serde::Serializer>(g: &[Glob], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(g.iter().map(|g| g.text.as_str()))
}

fn nets_as_text<S: serde::Serializer>(
    n: &[(std::net::IpAddr, u8)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(n.iter().map(|(a, p)| format!("{a}/{p}")))
}

/// A top-level `[[store]]` section waiting to be attached to its app.
#[derive(Debug, Clone)]
pub struct StoreRef {
    pub app: String,
    pub store: StoreProfile,
    /// Where `app = "..."` was written, for the unknown-app error.
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub excerpt: String,
}

/// Every check and app profile of a run.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub checks: Vec<Check>,
    pub apps: Vec<AppProfile>,
    /// `[[store]]` sections not yet attached; emptied once all files are loaded.
    pub store_refs: Vec<StoreRef>,
}

impl RuleSet {
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    pub fn app(&self, id: &str) -> Option<&AppProfile> {
        self.apps.iter().find(|a| a.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_case_insensitively() {
        let g = Glob::new("*.whatsapp.net").unwrap();
        assert!(g.matches("g.WhatsApp.net"));
        assert!(g.matches("mmg.cdn.whatsapp.net"));
        assert!(!g.matches("whatsapp.net.evil.com"));
        assert!(Glob::new("tls1.?").unwrap().matches("tls1.3"));
        assert!(!Glob::new("tls").unwrap().matches("tls1.3"));
        let any = Glob::new("xmpp|irc|mqtt*").unwrap();
        assert!(any.matches("irc") && any.matches("mqttot") && !any.matches("smtp"));
        assert!(!any.matches("xmppx"));
    }
}
