//! Key-log lines hidden in pcapng comments.
//!
//! Wireshark's "inject secrets" predecessor was a capture comment holding
//! the key log (`capinfos -k`); wireshark-notes captures carry
//! `CLIENT_RANDOM` lines in their section comment. Comments may join lines
//! with newlines or spaces, so we tokenise on whitespace and keep every
//! `LABEL <hex> <hex>` triple.

use crate::secrets::keylog::Label;

/// The key-log lines in `comment`, one per line, or `None` when it has none.
pub fn extract(comment: &[u8]) -> Option<Vec<u8>> {
    // Cheap pre-check: PCAPdroid puts a short comment on every packet.
    if !comment
        .windows(4)
        .any(|w| w == b"_SEC" || w == b"RAND" || w == b"RSA ")
    {
        return None;
    }
    let text = String::from_utf8_lossy(comment);
    let tokens: Vec<&str> = text.split_ascii_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let label = tokens[i];
        let is_label = label == "RSA" || Label::parse(label).is_some();
        match (is_label, tokens.get(i + 1), tokens.get(i + 2)) {
            (true, Some(a), Some(b)) if is_hex(a) && is_hex(b) => {
                for part in [label, " ", a, " ", b, "\n"] {
                    out.extend_from_slice(part.as_bytes());
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    (!out.is_empty()).then_some(out)
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "CAF63AEAC3D75B0298DB493F05612431C573E14D085F125F07FD6B3E4FADFDAD";

    #[test]
    fn newline_and_space_separated_lines() {
        let comment = format!(
            "CLIENT_RANDOM {CR} 00AA\nCLIENT_RANDOM {CR} 11BB SERVER_TRAFFIC_SECRET_0 {CR} 22"
        );
        let out = extract(comment.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "CLIENT_RANDOM {CR} 00AA\nCLIENT_RANDOM {CR} 11BB\nSERVER_TRAFFIC_SECRET_0 {CR} 22\n"
            )
        );
    }

    #[test]
    fn ordinary_comments_have_no_secrets() {
        assert_eq!(extract(b"u-10123"), None);
        assert_eq!(
            extract(b"Captured on RANDOM host; CLIENT_RANDOM missing"),
            None
        );
        assert_eq!(
            extract(format!("CLIENT_RANDOM {CR} not-hex").as_bytes()),
            None
        );
        assert_eq!(extract(b""), None);
    }
}
