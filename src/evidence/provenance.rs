//! Layer chains: the path a piece of evidence was decoded through.
//!
//! The verdict engine tells `exposed` from `server-readable` by looking at the
//! protection of the layers in a chain, so every decoding step that removes
//! encryption must say how it did so.

use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// How a layer was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// Framing or an encoding (TCP, HTTP, base64, gzip): no secret involved.
    None,
    /// "Encryption" anyone can remove with public information (QUIC Initial
    /// salts, MTProto obfuscated2, WebSocket masking): content under it is exposed.
    Keyless,
    /// Removed with session keys from a key log or a capture's secrets block:
    /// whoever terminates this layer reads what is under it.
    Keyed(KeySource),
    /// Not a protection but a recovery: bytes carved from space the application
    /// deleted or expired (freeblocks, freelist, stale WAL frames, ...).
    Residue,
}

impl Protection {
    pub fn is_keyed(self) -> bool {
        matches!(self, Protection::Keyed(_))
    }
}

/// Where the session keys for a keyed layer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// An NSS key log file (`--keylog`, `SSLKEYLOGFILE`).
    KeyLog,
    /// A pcapng Decryption Secrets Block or key lines in capture comments.
    Capture,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::KeyLog => "key log",
            KeySource::Capture => "capture secrets",
        }
    }
}

/// One step of a decoding chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Layer {
    pub name: Cow<'static, str>,
    pub protection: Protection,
}

impl Layer {
    /// A framing or encoding layer.
    pub const fn plain(name: &'static str) -> Layer {
        Layer {
            name: Cow::Borrowed(name),
            protection: Protection::None,
        }
    }

    /// A layer removed without any secret.
    pub const fn keyless(name: &'static str) -> Layer {
        Layer {
            name: Cow::Borrowed(name),
            protection: Protection::Keyless,
        }
    }

    /// Space holding deleted or expired data (carved, not read through SQL).
    pub const fn residue(name: &'static str) -> Layer {
        Layer {
            name: Cow::Borrowed(name),
            protection: Protection::Residue,
        }
    }

    /// A layer removed with session keys.
    pub const fn keyed(name: &'static str, source: KeySource) -> Layer {
        Layer {
            name: Cow::Borrowed(name),
            protection: Protection::Keyed(source),
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protection {
            Protection::None => f.write_str(&self.name),
            Protection::Keyless => write!(f, "{}[no key needed]", self.name),
            Protection::Keyed(src) => write!(f, "{}[{}]", self.name, src.as_str()),
            Protection::Residue => write!(f, "{}[deleted]", self.name),
        }
    }
}

impl Serialize for Layer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Joins a chain for display: `tcp › tls1.3[key log] › http2`.
pub fn chain(layers: &[Layer]) -> String {
    let mut out = String::new();
    for (i, l) in layers.iter().enumerate() {
        if i > 0 {
            out.push_str(" › ");
        }
        out.push_str(&l.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_reads_like_the_design() {
        let c = [
            Layer::plain("tcp"),
            Layer::keyed("tls1.3", KeySource::KeyLog),
            Layer::plain("http2"),
            Layer::plain("gzip"),
        ];
        assert_eq!(chain(&c), "tcp › tls1.3[key log] › http2 › gzip");
        assert_eq!(serde_json::to_string(&c[1]).unwrap(), "\"tls1.3[key log]\"");
    }
}
