//! Evidence: what was seen, where, and through which layers.
//!
//! Every observation a dissector or store reader makes becomes an [`Evidence`]
//! item carrying its provenance (the chain of [`Layer`]s it was decoded
//! through, plus the subject, direction, offsets and packet). The verdict
//! engine reads nothing else: a dissector never decides a verdict itself.

pub mod canary;
pub mod content;
pub mod provenance;

use crate::model::Direction;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

pub use provenance::{Layer, Protection};

/// Which subject an evidence item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectId {
    Flow(u64),
    Store(u32),
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectId::Flow(id) => write!(f, "flow {id}"),
            SubjectId::Store(id) => write!(f, "store {id}"),
        }
    }
}

impl Serialize for SubjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where in the input an evidence item was observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Index into the report's `inputs`.
    pub input: Option<u32>,
    /// 1-based packet number within that input (as tshark counts frames).
    pub packet: Option<u64>,
    /// Byte offset of the packet's block (or database page) in the input file.
    pub file_offset: Option<u64>,
}

/// How a canary was encoded where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Utf8,
    Utf16le,
    Utf16be,
    Base64,
    Base64url,
    HexLower,
    HexUpper,
    Percent,
    JsonEscape,
    HtmlEntity,
    QuotedPrintable,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16le => "utf-16le",
            Encoding::Utf16be => "utf-16be",
            Encoding::Base64 => "base64",
            Encoding::Base64url => "base64url",
            Encoding::HexLower => "hex",
            Encoding::HexUpper => "hex-upper",
            Encoding::Percent => "percent",
            Encoding::JsonEscape => "json-escape",
            Encoding::HtmlEntity => "html-entity",
            Encoding::QuotedPrintable => "quoted-printable",
        }
    }
}

/// Coarse class of a byte payload, from the text-likeness classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadClass {
    /// Mostly printable text in some script.
    Text,
    /// Close to uniformly random: ciphertext or compressed.
    HighEntropy,
    /// Structured binary that is neither text nor random-looking.
    Binary,
    /// Too little data to tell.
    Short,
}

impl PayloadClass {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadClass::Text => "text",
            PayloadClass::HighEntropy => "high-entropy",
            PayloadClass::Binary => "binary",
            PayloadClass::Short => "short",
        }
    }
}

/// Whether an encrypted layer could be opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum CryptoState {
    /// Every record or packet of the layer was decrypted.
    Opened,
    /// Some records decrypted, some not; never enough for `sealed`.
    Partial { reason: String },
    /// Not opened at all.
    NotOpened { reason: String },
}

/// The kinds of evidence. New kinds may be added; existing fields never change meaning.
#[derive(Debug, Clone, PartialEq)]
pub enum EvidenceKind {
    /// A canary (index into the run's canary list) found in some encoding.
    Canary {
        canary: u32,
        encoding: Encoding,
        /// The bytes around the hit, kept for `--show-content`; redacted on output.
        context: Vec<u8>,
    },
    /// Message-like content in a field that carries messages, or text-like payload.
    Content {
        /// Field name, e.g. `payload`, `xmpp.body`, `mqtt.publish.payload`.
        field: Cow<'static, str>,
        class: PayloadClass,
        /// Number of content bytes seen in this field.
        len: u64,
        /// The first bytes, kept for `--show-content`; redacted on output.
        sample: Vec<u8>,
    },
    /// Classification of a byte stream that no dissector claimed.
    Payload {
        class: PayloadClass,
        bytes: u64,
        /// Shannon entropy of the sample in bits per byte.
        entropy: f32,
        /// Share of printable characters in the sample (0..=1).
        printable: f32,
    },
    /// Metadata visible to an observer (SNI, DNS name, ALPN, credential, client version, ...).
    Metadata {
        key: Cow<'static, str>,
        value: String,
    },
    /// A credential seen in the clear; the value itself is never kept.
    Credential {
        key: Cow<'static, str>,
        user: Option<String>,
    },
    /// What protected a layer and whether it was opened.
    Crypto {
        protocol: Cow<'static, str>,
        state: CryptoState,
        /// Records/packets seen and decrypted.
        records: u64,
        decrypted: u64,
    },
    /// The innermost payload is a recognised end-to-end envelope (Signal, WhatsApp, OMEMO, ...).
    E2eEnvelope { scheme: Cow<'static, str> },
    /// An anomaly in parsing or reassembly (conflicting overlap, gap, bad length, ...).
    Anomaly {
        code: Cow<'static, str>,
        detail: String,
    },
    /// Deleted or expired content still present at rest.
    Retention {
        /// Where it survived: freeblock, freelist, unallocated, wal-stale, journal, fts, quoted-copy, expired-row.
        place: Cow<'static, str>,
        detail: String,
    },
}

impl EvidenceKind {
    /// The `kind` tag used in reports and in rule matches.
    pub fn tag(&self) -> &'static str {
        match self {
            EvidenceKind::Canary { .. } => "canary",
            EvidenceKind::Content { .. } => "content",
            EvidenceKind::Payload { .. } => "payload",
            EvidenceKind::Metadata { .. } => "metadata",
            EvidenceKind::Credential { .. } => "credential",
            EvidenceKind::Crypto { .. } => "crypto",
            EvidenceKind::E2eEnvelope { .. } => "e2e-envelope",
            EvidenceKind::Anomaly { .. } => "anomaly",
            EvidenceKind::Retention { .. } => "retention",
        }
    }

    pub const TAGS: [&'static str; 9] = [
        "canary",
        "content",
        "payload",
        "metadata",
        "credential",
        "crypto",
        "e2e-envelope",
        "anomaly",
        "retention",
    ];
}

/// One observation with its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub subject: SubjectId,
    /// The decoding chain, outermost first (`tcp`, `tls1.3[key log]`, `http2`, ...).
    pub layers: Vec<Layer>,
    pub dir: Option<Direction>,
    /// Offset within the innermost layer's byte stream (or within a store object).
    pub offset: Option<u64>,
    pub origin: Origin,
}

impl Evidence {
    /// True when any layer of the chain was removed with session keys.
    pub fn keyed(&self) -> bool {
        self.layers.iter().any(|l| l.protection.is_keyed())
    }

    /// True when the bytes were recovered from deleted or expired space.
    pub fn residue(&self) -> bool {
        self.layers
            .iter()
            .any(|l| l.protection == Protection::Residue)
    }

    /// The layer chain joined with ` › ` for display.
    pub fn chain(&self) -> String {
        provenance::chain(&self.layers)
    }
}
