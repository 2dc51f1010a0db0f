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

use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx};
use starttls::StartTls;

/// Longest command or reply line kept (RFC 5321 allows 512, IMAP lines with
/// long lists and IRCv3 tags run longer).
pub const MAX_LINE: usize = 16 * 1024;

/// Metadata reported once per distinct value, with a cap per key, so a
/// mailbox download or a busy channel cannot flood a flow's evidence.
#[derive(Debug, Default)]
pub struct Seen {
    seen: Vec<(&'static str, String)>,
}

impl Seen {
    /// Most distinct values reported per key.
    const PER_KEY: usize = 8;

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
        if n >= Self::PER_KEY {
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

/// Bytes as text for metadata: UTF-8, else Latin-1.
pub fn text(b: &[u8]) -> String {
    message::to_text(b, None)
}
