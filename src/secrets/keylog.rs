//! NSS key log format (RFC 9850): `<LABEL> <client_random hex> <secret hex>`.
//!
//! Accepts LF, CRLF and CR line ends, either hex case, comments and blank
//! lines; unknown labels and malformed lines become warnings with their line
//! number. Warnings never quote the secret.

use std::fmt;

/// Key log labels, including variants some DTLS stacks write (no `_0` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// TLS ≤ 1.2 master secret.
    ClientRandom,
    ClientEarlyTrafficSecret,
    ClientHandshakeTrafficSecret,
    ServerHandshakeTrafficSecret,
    ClientTrafficSecret0,
    ServerTrafficSecret0,
    EarlyExporterSecret,
    ExporterSecret,
    EchSecret,
    EchConfig,
}

impl Label {
    pub fn parse(s: &str) -> Option<Label> {
        Some(match s {
            "CLIENT_RANDOM" => Label::ClientRandom,
            "CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarlyTrafficSecret,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshakeTrafficSecret,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshakeTrafficSecret,
            // wolfSSL's DTLS 1.3 writes the application labels without `_0`.
            "CLIENT_TRAFFIC_SECRET_0" | "CLIENT_TRAFFIC_SECRET" => Label::ClientTrafficSecret0,
            "SERVER_TRAFFIC_SECRET_0" | "SERVER_TRAFFIC_SECRET" => Label::ServerTrafficSecret0,
            "EARLY_EXPORTER_SECRET" | "EARLY_EXPORTER_MASTER_SECRET" => Label::EarlyExporterSecret,
            "EXPORTER_SECRET" => Label::ExporterSecret,
            "ECH_SECRET" => Label::EchSecret,
            "ECH_CONFIG" => Label::EchConfig,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Label::ClientRandom => "CLIENT_RANDOM",
            Label::ClientEarlyTrafficSecret => "CLIENT_EARLY_TRAFFIC_SECRET",
            Label::ClientHandshakeTrafficSecret => "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            Label::ServerHandshakeTrafficSecret => "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            Label::ClientTrafficSecret0 => "CLIENT_TRAFFIC_SECRET_0",
            Label::ServerTrafficSecret0 => "SERVER_TRAFFIC_SECRET_0",
            Label::EarlyExporterSecret => "EARLY_EXPORTER_SECRET",
            Label::ExporterSecret => "EXPORTER_SECRET",
            Label::EchSecret => "ECH_SECRET",
            Label::EchConfig => "ECH_CONFIG",
        }
    }
}

/// One parsed line.
#[derive(Clone, PartialEq, Eq)]
pub enum Entry {
    Session {
        label: Label,
        client_random: [u8; 32],
        secret: Vec<u8>,
    },
    /// Legacy `RSA <first 8 bytes of encrypted PMS> <PMS>`.
    Rsa { prefix: [u8; 8], pms: Vec<u8> },
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Session { label, .. } => write!(f, "Entry::Session({})", label.as_str()),
            Entry::Rsa { .. } => f.write_str("Entry::Rsa"),
        }
    }
}

/// A line that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylogWarning {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// Longest secret accepted (ECH configs can be a few hundred bytes).
const MAX_SECRET_HEX: usize = 4096;

/// Parses key log text, appending a warning per unusable line.
pub fn parse(text: &[u8], warnings: &mut Vec<KeylogWarning>) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, raw) in split_lines(text).enumerate() {
        let line_no = i + 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            warnings.push(KeylogWarning {
                line: line_no,
                message: "not valid UTF-8".into(),
            });
            continue;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            warnings.push(KeylogWarning {
                line: line_no,
                message: "expected `LABEL <client_random hex> <secret hex>`".into(),
            });
            continue;
        };
        if secret.len() > MAX_SECRET_HEX {
            warnings.push(KeylogWarning {
                line: line_no,
                message: format!("secret longer than {} bytes", MAX_SECRET_HEX / 2),
            });
            continue;
        }
        if label == "RSA" {
            match (hex(random), hex(secret)) {
                (Some(p), Some(pms)) if p.len() == 8 => out.push(Entry::Rsa {
                    prefix: p.try_into().unwrap_or([0; 8]),
                    pms,
                }),
                _ => warnings.push(KeylogWarning {
                    line: line_no,
                    message:
                        "RSA line needs 16 hex digits of encrypted pre-master and a hex pre-master"
                            .into(),
                }),
            }
            continue;
        }
        let Some(label) = Label::parse(label) else {
            let shown: String = label.chars().take(40).collect();
            warnings.push(KeylogWarning {
                line: line_no,
                message: format!("unknown label `{shown}`"),
            });
            continue;
        };
        let Some(cr) = hex(random).and_then(|v| <[u8; 32]>::try_from(v).ok()) else {
            warnings.push(KeylogWarning {
                line: line_no,
                message: "client random must be 64 hex digits".into(),
            });
            continue;
        };
        let Some(secret) = hex(secret).filter(|s| !s.is_empty()) else {
            warnings.push(KeylogWarning {
                line: line_no,
                message: format!("{} secret is not hex", label.as_str()),
            });
            continue;
        };
        out.push(Entry::Session {
            label,
            client_random: cr,
            secret,
        });
    }
    out
}

/// Splits on LF, CRLF or lone CR.
fn split_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = &[];
                Some(line)
            }
        }
    })
}

/// Decodes hex of either case; `None` on odd length or a bad digit.
pub fn hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    b.chunks_exact(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "52362C10A2665E323A2ADB4B9DA0C10D4A8823719272F8B4C97AF24F92784812";

    #[test]
    fn accepts_every_line_ending_and_case() {
        let text = format!(
            "CLIENT_RANDOM {CR} AABB\r\nSERVER_TRAFFIC_SECRET {} ccdd\rEXPORTER_SECRET {CR} 01\n",
            CR.to_lowercase()
        );
        let mut w = Vec::new();
        let e = parse(text.as_bytes(), &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(e.len(), 3);
        assert!(
            matches!(&e[1], Entry::Session { label: Label::ServerTrafficSecret0, secret, .. } if secret == &[0xcc, 0xdd])
        );
    }

    #[test]
    fn bad_lines_are_warnings_with_line_numbers() {
        let text = format!(
            "CLIENT_RANDOM {CR} 00\nGARBAGE\nNOT_A_LABEL {CR} 00\nCLIENT_RANDOM abcd 00\r\nCLIENT_RANDOM {CR} zz\n"
        );
        let mut w = Vec::new();
        let e = parse(text.as_bytes(), &mut w);
        assert_eq!(e.len(), 1);
        assert_eq!(
            w.iter().map(|w| w.line).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
        assert!(w.iter().all(|w| !w.message.contains("zz")));
    }

    #[test]
    fn rsa_lines_are_kept() {
        let mut w = Vec::new();
        let e = parse(b"RSA 0011223344556677 aabbcc", &mut w);
        assert!(matches!(&e[0], Entry::Rsa { prefix, .. } if prefix[1] == 0x11));
    }

    #[test]
    fn hex_rejects_odd_and_bad() {
        assert_eq!(hex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex("abc"), None);
        assert_eq!(hex("0g"), None);
    }
}
