//! Mail protocols: SMTP, IMAP and POP3, and what they share with the chat
//! protocols (bounded lines, SASL, STARTTLS, message parsing, de-duplicated
//! metadata).

pub mod imap;
pub mod lines;
pub mod message;
pub mod pop3;
pub mod sasl;
pub mod smtp;
pub mod starttls;

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests {
    use super::reads_as_words;

    #[test]
    fn words_around_urls_count_but_tokens_do_not() {
        // suricata-verify/irc: a bot's channel message around a long URL.
        assert!(reads_as_words(b"[DOWNLOAD]: Downloading URL: http://webacceptor.findwhatevernow.com:8091/get.file?action=file&afp=13001&class=682&affiliate=jocker to: jocker.exe."));
        assert!(reads_as_words(
            b"see https://example.org/a?b=1 for the slides"
        ));
        for v in [
            &b"dGhpcyBpcyBiYXNlNjQgZGF0YQ=="[..],
            b"a3f9c2e81b7d 99 12",
            b"x=1 y=2 z=3",
            b"?OTR:AAMDJ+MVmSfjFZcAAAAAAQ",
            b"\xff\xfe words here now",
        ] {
            assert!(!reads_as_words(v), "{v:?}");
        }
    }
}

use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx};
use starttls::StartTls;

/// Longest command or reply line kept (RFC 5321 allows 512, IMAP lines with
/// long lists and IRCv3 tags run longer).
pub const MAX_LINE: usize = 16 * 1024;

/// Metadata reported once per distinct value, with caps per key and in all,
/// so a mailbox download or a busy channel cannot flood a flow's evidence.
#[derive(Debug, Default)]
pub struct Seen {
    seen: Vec<(&'static str, String)>,
}

impl Seen {
    /// Most distinct values reported per key, and in all: a flow's evidence
    /// is capped, and metadata must not crowd out what comes later (the
    /// STARTTLS state at the end of the flow, credentials, canaries).
    const PER_KEY: usize = 6;
    const TOTAL: usize = 24;

    /// Reports `key = value` unless already reported or the key's cap is reached.
    pub fn meta(&mut self, cx: &mut Cx<'_>, key: &'static str, value: &str) {
        if self.insert(key, value) {
            let v = self.seen.last().map(|(_, v)| v.clone()).unwrap_or_default();
            cx.meta(key, v);
        }
    }

    /// Records `key = value`; true when it is new and under the key's cap.
    pub fn insert(&mut self, key: &'static str, value: &str) -> bool {
        // Fast path without allocating: a value seen before, or a full key.
        let mut n = 0;
        for (k, v) in &self.seen {
            if *k == key {
                if v == value {
                    return false;
                }
                n += 1;
            }
        }
        if n >= Self::PER_KEY || self.seen.len() >= Self::TOTAL {
            return false;
        }
        let value = clean(value);
        if value.is_empty() || self.seen.iter().any(|(k, v)| *k == key && *v == value) {
            return false;
        }
        if self.seen.iter().filter(|(k, _)| *k == key).count() >= Self::PER_KEY {
            return false;
        }
        self.seen.push((key, value));
        true
    }
}

/// A metadata value: no control characters, at most 256 characters, trimmed.
fn clean(value: &str) -> String {
    let v: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(256)
        .collect();
    v.trim().to_string()
}

/// Reports what one mail message reveals: subject and text parts as content,
/// addresses and client as metadata, attachments, and E2E markers.
pub fn report_message(
    cx: &mut Cx<'_>,
    tls: &mut StartTls,
    seen: &mut Seen,
    dir: Direction,
    raw: &[u8],
    header_only: bool,
) {
    let m = if header_only {
        message::parse_header_only(raw)
    } else {
        message::parse(raw)
    };
    if let Some(s) = &m.subject {
        tls.content(cx, dir, "mail.subject", s.as_bytes());
    }
    for (key, v) in [
        ("mail.from", &m.from),
        ("mail.to", &m.to),
        ("mail.cc", &m.cc),
        ("mail.client", &m.client),
    ] {
        if let Some(v) = v {
            seen.meta(cx, key, v);
        }
    }
    for t in &m.texts {
        tls.content(cx, dir, "mail.body", t.as_bytes());
    }
    for a in &m.attachments {
        seen.meta(cx, "mail.attachment", a);
    }
    if let Some(scheme) = m.e2e {
        cx.e2e(dir, scheme);
    }
    if m.truncated {
        cx.anomaly(
            "mail-truncated",
            "a message exceeded a parsing limit and was cut",
        );
    }
}

/// `Confidence::Port` when the flow uses one of `ports` and the stream is the
/// transport itself: an inner stream (after STARTTLS, inside TLS) shares the
/// flow's ports but not its protocol, so ports say nothing there.
pub fn port_hint(p: &crate::proto::registry::ProbeInput<'_>, ports: &[u16]) -> Confidence {
    if p.depth == 0 && p.port_in(ports) {
        Confidence::Port
    } else {
        Confidence::No
    }
}

/// Whether a value reads as words: at least three alphabetic words (edge
/// punctuation aside) making up at least a third of its tokens. Tokens,
/// base64, hex and ciphertext have no such words.
pub fn reads_as_words(v: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(v) else {
        return false;
    };
    if s.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return false;
    }
    let mut tokens = 0usize;
    let mut words = 0usize;
    for t in s.split_whitespace() {
        tokens += 1;
        let w = t.trim_matches(|c: char| c.is_ascii_punctuation());
        if w.chars().count() >= 2 && w.chars().all(char::is_alphabetic) {
            words += 1;
        }
    }
    words >= 3 && words * 3 >= tokens
}

/// Bytes as text for metadata: UTF-8, else Latin-1.
pub fn text(b: &[u8]) -> String {
    message::to_text(b, None)
}
