//! STARTTLS bookkeeping shared by SMTP, IMAP, POP3, XMPP and IRC.
//!
//! The text protocol dissectors decide *when* the upgrade happens (their own
//! command and reply); this type does the rest the same way for all of them:
//! it remembers whether the upgrade was offered, asked for, refused or used,
//! whether message content or credentials crossed before it, and owns the
//! inner stream that receives every byte after the switch (probed with a
//! `tls` hint, so the TLS dissector takes it from there).

use crate::evidence::content;
use crate::evidence::{EvidenceKind, Layer, PayloadClass};
use crate::model::Direction;
use crate::proto::dissector::{Cx, Hint, Stream};
use std::borrow::Cow;

/// How far the upgrade got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unknown,
    /// The server's capabilities were seen and did not list STARTTLS.
    NotOffered,
    Offered,
    Requested,
    Refused,
    Used,
}

/// STARTTLS state of one flow.
pub struct StartTls {
    key: &'static str,
    state: State,
    /// What crossed in the clear before the switch (e.g. "credentials (imap.login)").
    before: Vec<String>,
    inner: Option<Stream>,
    /// The value last reported as metadata.
    reported: Option<&'static str>,
    /// Credentials already reported, so a repeated login is one finding.
    creds: Vec<(&'static str, Option<String>)>,
    /// Content reports so far.
    contents: usize,
}

/// Content reports per flow: the flow's verdict needs one, a reader a few,
/// and the flow's evidence is capped.
const MAX_CONTENT: usize = 16;

/// Searches a value for canaries without judging it as content.
fn canaries_only(cx: &mut Cx<'_>, dir: Direction, value: &[u8]) {
    let mut hits = Vec::new();
    cx.env.canaries.scan_once(value, |h| hits.push(h));
    for h in hits {
        cx.emit(
            EvidenceKind::Canary {
                canary: h.canary,
                encoding: h.encoding,
                context: h.context,
            },
            Some(dir),
            None,
        );
    }
}

impl StartTls {
    /// `key` is the metadata key, e.g. `mail.starttls`, `xmpp.starttls`.
    pub fn new(key: &'static str) -> StartTls {
        StartTls {
            key,
            state: State::Unknown,
            before: Vec::new(),
            inner: None,
            reported: None,
            creds: Vec::new(),
            contents: 0,
        }
    }

    /// The server's capability list was seen; `offered` says whether it listed STARTTLS.
    pub fn capabilities(&mut self, offered: bool) {
        match (self.state, offered) {
            (State::Unknown | State::NotOffered, true) => self.state = State::Offered,
            (State::Unknown, false) => self.state = State::NotOffered,
            _ => {}
        }
    }

    /// The client asked to upgrade.
    pub fn requested(&mut self) {
        if self.state != State::Used {
            self.state = State::Requested;
        }
    }

    /// Whether the client asked and the server has not answered yet.
    pub fn pending(&self) -> bool {
        self.state == State::Requested
    }

    /// The server refused (SMTP 454, IMAP NO/BAD, POP3 -ERR, XMPP `<failure/>`, IRC 691).
    pub fn refused(&mut self, cx: &mut Cx<'_>) {
        if self.state == State::Requested {
            self.state = State::Refused;
            self.report(cx);
        }
    }

    /// Whether every later byte belongs to the inner TLS stream.
    pub fn active(&self) -> bool {
        self.inner.is_some()
    }

    /// Notes what crossed in the clear while no upgrade had happened.
    pub fn crossed(&mut self, what: String) {
        if self.inner.is_none() && self.before.len() < 8 && !self.before.contains(&what) {
            self.before.push(what);
        }
    }

    /// Reports the value of a field that is a message by protocol definition
    /// (an IRC PRIVMSG, an XMPP body, a mail body) and notes it if evidence
    /// resulted. `cx.content` judges message text conservatively; a value it
    /// rejects still counts when it reads as words, such as a sentence
    /// around a URL, or when it is a subject line.
    pub fn content(&mut self, cx: &mut Cx<'_>, dir: Direction, field: &'static str, value: &[u8]) {
        let n = cx.out.evidence.len() as u64 + cx.out.omitted;
        if self.contents >= MAX_CONTENT {
            // Enough content reported for this flow; canaries are still looked for.
            canaries_only(cx, dir, value);
            return;
        }
        self.contents += 1;
        cx.content(dir, field, value);
        // A sentence around a URL, or a subject line: a parsed header that
        // people write, so any letters in it are a message ("SMTP", "Re: x").
        let subject = field == "mail.subject"
            && std::str::from_utf8(value).is_ok_and(|s| {
                s.chars().any(char::is_alphabetic)
                    && !s.chars().any(|c| c.is_control() && c != '\t')
            });
        if !content::is_message_text(value) && (subject || super::reads_as_words(value)) {
            let cap = cx.env.limits.sample_bytes.min(value.len());
            cx.emit(
                EvidenceKind::Content {
                    field: Cow::Borrowed(field),
                    class: PayloadClass::Text,
                    len: value.len() as u64,
                    sample: value[..cap].to_vec(),
                },
                Some(dir),
                None,
            );
        }
        if cx.out.evidence.len() as u64 + cx.out.omitted > n {
            self.crossed(format!("message content ({field})"));
        }
    }

    /// Reports a credential (once per key and user) and notes it.
    pub fn credential(
        &mut self,
        cx: &mut Cx<'_>,
        dir: Direction,
        key: &'static str,
        user: Option<String>,
    ) {
        let id = (key, user);
        if self.creds.contains(&id) {
            return;
        }
        if self.creds.len() >= 8 {
            return;
        }
        self.creds.push(id.clone());
        cx.credential(dir, key, id.1);
        self.crossed(format!("credentials ({key})"));
    }

    /// The server accepted: from now on both directions are TLS. Returns the
    /// inner stream, so the caller can hand it the bytes it already holds.
    pub fn upgrade(&mut self, cx: &mut Cx<'_>) -> &mut Stream {
        self.state = State::Used;
        self.report(cx);
        if !self.before.is_empty() {
            let what = self.before.join(" and ");
            cx.anomaly(
                "content-before-starttls",
                format!("{what} crossed in the clear before the STARTTLS upgrade"),
            );
        }
        self.inner.get_or_insert_with(|| {
            Stream::new(
                Layer::plain("starttls"),
                Hint {
                    protocol: Some("tls"),
                },
            )
        })
    }

    /// Bytes after the switch.
    pub fn data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if let Some(s) = &mut self.inner {
            s.data(cx, dir, data);
        }
    }

    pub fn gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        if let Some(s) = &mut self.inner {
            s.gap(cx, dir, len);
        }
    }

    fn report(&mut self, cx: &mut Cx<'_>) {
        // Inside TLS already (implicit TLS, or the session after the upgrade,
        // decrypted): whether STARTTLS is offered there says nothing.
        let under_tls = cx
            .layers()
            .iter()
            .any(|l| l.protection.is_keyed() || l.name.starts_with("tls") || l.name == "starttls");
        if under_tls {
            return;
        }
        let value = match self.state {
            State::Used => "used",
            State::Refused => "refused",
            State::Offered | State::Requested => "offered",
            State::NotOffered => "not-offered",
            State::Unknown => return,
        };
        // Report once, except that a later successful upgrade supersedes an
        // earlier refusal.
        if self.reported.is_none() || (value == "used" && self.reported != Some("used")) {
            self.reported = Some(value);
            cx.meta(self.key, value);
        }
    }

    /// End of the flow: report the final state and flush the inner stream.
    pub fn finish(&mut self, cx: &mut Cx<'_>) {
        self.report(cx);
        if let Some(s) = &mut self.inner {
            s.finish(cx);
        }
    }
}
