//! IMAP4 (RFC 3501, RFC 9051): logins, SASL, STARTTLS, and the messages that
//! cross in `FETCH` responses and `APPEND` commands.
//!
//! IMAP lines may carry literals (`{n}` then exactly n raw bytes, then the
//! line continues), so each direction is read as *logical lines*: text parts
//! and the literals between them, the literals capped at the message cap.
//! A small tokenizer then reads tags, commands, strings and `BODY[...]` items.

use super::lines::{Item, LineBuf};
use super::sasl::{self, Sasl};
use super::starttls::StartTls;
use super::{MAX_LINE, Seen, port_hint, report_message, text};
use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use std::borrow::Cow;
use std::collections::VecDeque;

/// One piece of a logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(Vec<u8>),
    Literal { data: Vec<u8>, truncated: bool },
}

/// Literals followed in one logical line; more is an anomaly and ends it.
const MAX_PARTS: usize = 64;

/// Reads logical lines (text and literals) from one direction.
#[derive(Debug)]
pub struct Reader {
    lines: LineBuf,
    cur: Vec<Part>,
    /// Bytes of the literal still to come, and what was kept of it.
    lit: Option<(u64, Vec<u8>, bool)>,
    max_literal: usize,
}

impl Reader {
    pub fn new(max_literal: usize) -> Reader {
        Reader {
            lines: LineBuf::new(MAX_LINE, max_literal.max(MAX_LINE)),
            cur: Vec::new(),
            lit: None,
            max_literal,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.lines.push(data);
    }

    /// The next complete logical line. `Err(())` marks an overlong line.
    pub fn next_line(&mut self) -> Option<Result<Vec<Part>, ()>> {
        loop {
            if let Some((remaining, data, truncated)) = &mut self.lit {
                if self.lines.is_empty() {
                    return None;
                }
                let chunk = self.lines.take((*remaining).min(1 << 30) as usize);
                *remaining -= chunk.len() as u64;
                // One cap for all the literals of a logical line.
                let kept: usize = self
                    .cur
                    .iter()
                    .map(|p| match p {
                        Part::Literal { data, .. } => data.len(),
                        Part::Text(_) => 0,
                    })
                    .sum();
                let room = self.max_literal.saturating_sub(kept + data.len());
                if chunk.len() > room {
                    *truncated = true;
                }
                data.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if *remaining == 0 {
                    let (_, data, truncated) = self.lit.take().unwrap_or_default();
                    self.cur.push(Part::Literal { data, truncated });
                }
                continue;
            }
            match self.lines.next_item()? {
                Item::Overlong => {
                    self.cur.clear();
                    return Some(Err(()));
                }
                Item::Line(l) => {
                    let lit = literal_size(&l);
                    self.cur.push(Part::Text(l));
                    match lit {
                        Some(n) if self.cur.len() < MAX_PARTS => {
                            self.lit = Some((n, Vec::new(), false));
                        }
                        _ => return Some(Ok(std::mem::take(&mut self.cur))),
                    }
                }
            }
        }
    }

    /// Everything still held (for the switch to TLS).
    pub fn take_all(&mut self) -> Vec<u8> {
        self.lines.take_all()
    }

    pub fn clear(&mut self) {
        self.lines.take_all();
        self.cur.clear();
        self.lit = None;
    }
}

/// `{123}`, `{123+}` (LITERAL+) or `~{123}` (BINARY) at the end of a line.
fn literal_size(line: &[u8]) -> Option<u64> {
    let inner = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', inner)?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A token of a logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Atom(Vec<u8>),
    Str(Vec<u8>),
    /// Index of a [`Part::Literal`] in the line.
    Lit(usize),
    Open,
    Close,
}

/// Most tokens read from one logical line.
const MAX_TOKENS: usize = 4096;

/// Tokenizes a logical line. `BODY[HEADER.FIELDS (A B)]<0>` stays one atom.
pub fn tokens(parts: &[Part]) -> Vec<Tok> {
    let mut out = Vec::new();
    for (pi, part) in parts.iter().enumerate() {
        let t = match part {
            Part::Literal { .. } => {
                out.push(Tok::Lit(pi));
                continue;
            }
            Part::Text(t) => t,
        };
        let mut i = 0;
        while i < t.len() && out.len() < MAX_TOKENS {
            match t[i] {
                b' ' => i += 1,
                b'(' => {
                    out.push(Tok::Open);
                    i += 1;
                }
                b')' => {
                    out.push(Tok::Close);
                    i += 1;
                }
                b'"' => {
                    let mut s = Vec::new();
                    i += 1;
                    while i < t.len() && t[i] != b'"' {
                        if t[i] == b'\\' && i + 1 < t.len() {
                            i += 1;
                        }
                        s.push(t[i]);
                        i += 1;
                    }
                    i += 1;
                    out.push(Tok::Str(s));
                }
                b'{' | b'~' if literal_size(&t[i..]).is_some() => break,
                _ => {
                    let start = i;
                    let mut depth = 0u32;
                    while i < t.len() {
                        match t[i] {
                            b'[' => depth += 1,
                            b']' => depth = depth.saturating_sub(1),
                            b' ' | b'(' | b')' | b'"' if depth == 0 => break,
                            _ => {}
                        }
                        i += 1;
                    }
                    out.push(Tok::Atom(t[start..i].to_vec()));
                }
            }
        }
    }
    out
}

/// A string-like token's bytes (atom, quoted string or literal), `NIL` as none.
fn string<'a>(t: Option<&'a Tok>, parts: &'a [Part]) -> Option<&'a [u8]> {
    match t? {
        Tok::Atom(a) if a.eq_ignore_ascii_case(b"NIL") => None,
        Tok::Atom(a) | Tok::Str(a) => Some(a),
        Tok::Lit(i) => match parts.get(*i)? {
            Part::Literal { data, .. } => Some(data),
            Part::Text(_) => None,
        },
        _ => None,
    }
}

fn upper(t: Option<&Tok>) -> String {
    match t {
        Some(Tok::Atom(a)) => String::from_utf8_lossy(&a[..a.len().min(64)]).to_ascii_uppercase(),
        _ => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    StartTls,
    Authenticate,
    Login,
    Other,
}

const MAX_PENDING: usize = 64;

pub struct Imap {
    readers: [Reader; 2],
    tls: StartTls,
    seen: Seen,
    pending: VecDeque<(Vec<u8>, Cmd)>,
    sasl: Option<Sasl>,
    /// Client lines are SASL responses.
    in_auth: bool,
    /// `STARTTLS` sent: client bytes are held until the answer.
    hold: bool,
    greeted: bool,
}

pub fn make(_: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(Imap::new(env.limits.max_message))
}

impl Imap {
    pub fn new(max_message: usize) -> Imap {
        Imap {
            readers: [Reader::new(max_message), Reader::new(max_message)],
            tls: StartTls::new("mail.starttls"),
            seen: Seen::default(),
            pending: VecDeque::new(),
            sasl: None,
            in_auth: false,
            hold: false,
            greeted: false,
        }
    }

    fn client(&mut self, cx: &mut Cx<'_>) {
        while !self.hold && !self.tls.active() {
            let Some(line) = self.readers[0].next_line() else {
                return;
            };
            let Ok(parts) = line else {
                cx.anomaly("imap-long-line", "client line over the line cap");
                continue;
            };
            if self.in_auth {
                if let Some(Part::Text(t)) = parts.first() {
                    if t == b"*" {
                        self.sasl = None;
                    } else if let (Some(s), Some(d)) = (self.sasl.as_mut(), sasl::decode_b64(t)) {
                        s.client(&d);
                        self.sasl_report(cx);
                    }
                }
                continue;
            }
            self.command(cx, &parts);
        }
    }

    fn sasl_report(&mut self, cx: &mut Cx<'_>) {
        if let Some(r) = self.sasl.as_mut().and_then(Sasl::take) {
            self.tls
                .credential(cx, Direction::ToServer, "imap.authenticate", r.user);
        }
    }

    fn command(&mut self, cx: &mut Cx<'_>, parts: &[Part]) {
        let toks = tokens(parts);
        let Some(Tok::Atom(tag)) = toks.first() else {
            return;
        };
        let mut at = 1;
        let mut cmd = upper(toks.get(at));
        if cmd == "UID" {
            at += 1;
            cmd = upper(toks.get(at));
        }
        let arg = |k: usize| toks.get(at + k);
        let kind = match cmd.as_str() {
            "LOGIN" => {
                let user = string(arg(1), parts).map(text);
                if string(arg(2), parts).is_some() {
                    self.tls
                        .credential(cx, Direction::ToServer, "imap.login", user);
                }
                Cmd::Login
            }
            "AUTHENTICATE" => {
                let mech = string(arg(1), parts).map(text).unwrap_or_default();
                self.seen
                    .meta(cx, "imap.auth-mechanism", &mech.to_ascii_uppercase());
                let mut s = Sasl::new(&mech);
                if let Some(d) = string(arg(2), parts).and_then(sasl::decode_b64) {
                    s.client(&d);
                }
                self.sasl = Some(s);
                self.sasl_report(cx);
                self.in_auth = true;
                Cmd::Authenticate
            }
            "STARTTLS" => {
                self.tls.requested();
                self.hold = true;
                Cmd::StartTls
            }
            "APPEND" => {
                if let Some(Tok::Lit(i)) = toks.iter().rev().find(|t| matches!(t, Tok::Lit(_)))
                    && let Some(Part::Literal { data, truncated }) = parts.get(*i)
                {
                    report_message(
                        cx,
                        &mut self.tls,
                        &mut self.seen,
                        Direction::ToServer,
                        data,
                        false,
                    );
                    if *truncated {
                        cx.anomaly("mail-truncated", "APPEND literal exceeded the message cap");
                    }
                }
                Cmd::Other
            }
            "ID" => {
                let fields: Vec<String> = toks[at + 1..]
                    .iter()
                    .filter_map(|t| match t {
                        Tok::Str(s) => Some(text(s)),
                        _ => None,
                    })
                    .collect();
                let id: Vec<String> = fields
                    .chunks(2)
                    .filter(|kv| kv.len() == 2)
                    .map(|kv| format!("{}={}", kv[0], kv[1]))
                    .collect();
                self.seen.meta(cx, "imap.client-id", &id.join(" "));
                Cmd::Other
            }
            _ => Cmd::Other,
        };
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((tag.clone(), kind));
    }

    fn server(&mut self, cx: &mut Cx<'_>) {
        while !self.tls.active() {
            let Some(line) = self.readers[1].next_line() else {
                return;
            };
            let Ok(parts) = line else {
                continue;
            };
            self.response(cx, &parts);
            self.client(cx);
        }
    }

    fn response(&mut self, cx: &mut Cx<'_>, parts: &[Part]) {
        let first = match parts.first() {
            Some(Part::Text(t)) => t.as_slice(),
            _ => return,
        };
        if first.starts_with(b"+") {
            if self.in_auth {
                let chal = first.get(2..).unwrap_or_default();
                if let (Some(s), Some(d)) = (self.sasl.as_mut(), sasl::decode_b64(chal)) {
                    s.server(&d);
                }
            }
            return;
        }
        let toks = tokens(parts);
        let Some(Tok::Atom(tag)) = toks.first() else {
            return;
        };
        let status = upper(toks.get(1));
        if tag == b"*" {
            self.capabilities(first);
            if !self.greeted && matches!(status.as_str(), "OK" | "PREAUTH" | "BYE") {
                self.greeted = true;
                let banner = match memchr::memchr(b']', first) {
                    Some(p) => &first[p + 1..],
                    None => first.get(4 + status.len()..).unwrap_or_default(),
                };
                self.seen.meta(cx, "imap.banner", &text(banner));
            }
            if upper(toks.get(2)) == "FETCH" {
                self.fetch(cx, &toks[3..], parts);
            }
            return;
        }
        let Some(pos) = self.pending.iter().position(|(t, _)| t == tag) else {
            return;
        };
        let Some((_, cmd)) = self.pending.remove(pos) else {
            return;
        };
        let ok = status == "OK";
        match cmd {
            Cmd::StartTls if ok => {
                self.tls.upgrade(cx);
                let client = self.readers[0].take_all();
                let server = self.readers[1].take_all();
                self.tls.data(cx, Direction::ToServer, &client);
                self.tls.data(cx, Direction::ToClient, &server);
            }
            Cmd::StartTls => {
                self.tls.refused(cx);
                self.hold = false;
            }
            Cmd::Authenticate | Cmd::Login => {
                self.in_auth = false;
                self.sasl = None;
                let r = if ok { "accepted" } else { "rejected" };
                self.seen.meta(cx, "imap.auth-result", r);
            }
            Cmd::Other => {}
        }
    }

    fn capabilities(&mut self, line: &[u8]) {
        let up = line.to_ascii_uppercase();
        let Some(p) = memchr::memmem::find(&up, b"CAPABILITY") else {
            return;
        };
        let caps = &up[p + 10..];
        let caps = &caps[..memchr::memchr(b']', caps).unwrap_or(caps.len())];
        let offered = caps.split(|&b| b == b' ').any(|c| c == b"STARTTLS");
        self.tls.capabilities(offered);
    }

    /// `* n FETCH (...)`: message literals, header sections and ENVELOPE subjects.
    fn fetch(&mut self, cx: &mut Cx<'_>, toks: &[Tok], parts: &[Part]) {
        let dir = Direction::ToClient;
        for (i, t) in toks.iter().enumerate() {
            let Tok::Atom(a) = t else { continue };
            let name = a.to_ascii_uppercase();
            if name == b"ENVELOPE" {
                // ENVELOPE (date subject from sender reply-to to ...)
                if toks.get(i + 1) == Some(&Tok::Open)
                    && let Some(subj) = string(toks.get(i + 3), parts)
                {
                    let s = super::message::decode_words(subj);
                    self.tls.content(cx, dir, "mail.subject", s.as_bytes());
                }
                continue;
            }
            let section = if name.starts_with(b"BODY[")
                || name.starts_with(b"BODY.PEEK[")
                || name.starts_with(b"BINARY[")
            {
                let open = memchr::memchr(b'[', &name).unwrap_or(0);
                let close = memchr::memrchr(b']', &name).unwrap_or(name.len());
                name.get(open + 1..close).unwrap_or_default().to_vec()
            } else if name == b"RFC822" {
                Vec::new()
            } else if name == b"RFC822.HEADER" {
                b"HEADER".to_vec()
            } else if name == b"RFC822.TEXT" {
                b"TEXT".to_vec()
            } else {
                continue;
            };
            let Some(data) = string(toks.get(i + 1), parts) else {
                continue;
            };
            if section.is_empty() {
                report_message(cx, &mut self.tls, &mut self.seen, dir, data, false);
            } else if section.starts_with(b"HEADER") || section.ends_with(b"HEADER") {
                report_message(cx, &mut self.tls, &mut self.seen, dir, data, true);
            } else if section.ends_with(b"MIME") {
                // Part headers only: nothing a reader wants.
            } else {
                self.body_section(cx, data);
            }
        }
    }

    /// `BODY[TEXT]` or `BODY[1.2]`: a body without the message headers. A
    /// multipart body announces its boundary on its first line.
    fn body_section(&mut self, cx: &mut Cx<'_>, data: &[u8]) {
        let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
        let first = first.strip_suffix(b"\r").unwrap_or(first);
        let mut raw = Vec::with_capacity(data.len() + 80);
        if let Some(b) = first
            .strip_prefix(b"--")
            .filter(|b| !b.is_empty() && b.len() < 200)
        {
            raw.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"");
            raw.extend_from_slice(b);
            raw.extend_from_slice(b"\"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(data);
        report_message(
            cx,
            &mut self.tls,
            &mut self.seen,
            Direction::ToClient,
            &raw,
            false,
        );
    }
}

impl Dissector for Imap {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("imap")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if self.tls.active() {
            self.tls.data(cx, dir, data);
            return;
        }
        self.readers[dir.index()].push(data);
        match dir {
            Direction::ToServer => self.client(cx),
            Direction::ToClient => self.server(cx),
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        if self.tls.active() {
            self.tls.gap(cx, dir, len);
            return;
        }
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; imap resynchronises at the next line"),
        );
        self.readers[dir.index()].clear();
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        self.tls.finish(cx);
    }
}

fn starts_ci(data: &[u8], prefix: &[u8]) -> bool {
    data.len() >= prefix.len() && data[..prefix.len()].eq_ignore_ascii_case(prefix)
}

pub fn probe(p: &ProbeInput<'_>) -> Confidence {
    let port = port_hint(p, &[143]);
    let s = p.to_client;
    if starts_ci(s, b"* OK") || starts_ci(s, b"* PREAUTH") {
        let line = &s[..memchr::memchr(b'\n', s).unwrap_or(s.len())];
        let up = line.to_ascii_uppercase();
        return if memchr::memmem::find(&up, b"IMAP").is_some()
            || memchr::memmem::find(&up, b"[CAPABILITY").is_some()
        {
            Confidence::Certain
        } else {
            Confidence::Likely
        };
    }
    if !s.is_empty() {
        return if s.len() < 4 && b"* OK".starts_with(&s.to_ascii_uppercase()) {
            Confidence::NeedMore
        } else {
            port
        };
    }
    // Client first (after STARTTLS, or a capture that missed the greeting).
    let c = p.to_server;
    let Some(nl) = memchr::memchr(b'\n', c) else {
        return if c.len() < 64 {
            Confidence::NeedMore
        } else {
            port
        };
    };
    let line = c[..nl].trim_ascii_end();
    let mut it = line.split(|&b| b == b' ');
    let tag = it.next().unwrap_or_default();
    let cmd = it.next().unwrap_or_default().to_ascii_uppercase();
    let tag_ok = !tag.is_empty()
        && tag.len() <= 16
        && tag.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.');
    let cmds: [&[u8]; 6] = [
        b"CAPABILITY",
        b"LOGIN",
        b"AUTHENTICATE",
        b"STARTTLS",
        b"ID",
        b"NOOP",
    ];
    if tag_ok && cmds.contains(&cmd.as_slice()) {
        Confidence::Likely
    } else {
        port
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::mail::testkit::*;

    #[test]
    fn literals_split_at_every_byte() {
        let wire = b"a1 LOGIN {5}\r\nalice {6}\r\nsecret\r\na2 NOOP\r\n";
        for cut in 0..wire.len() {
            let mut r = Reader::new(1024);
            let mut got = Vec::new();
            r.push(&wire[..cut]);
            while let Some(l) = r.next_line() {
                got.push(l.unwrap());
            }
            r.push(&wire[cut..]);
            while let Some(l) = r.next_line() {
                got.push(l.unwrap());
            }
            assert_eq!(got.len(), 2, "cut {cut}");
            let toks = tokens(&got[0]);
            assert_eq!(string(toks.get(2), &got[0]), Some(&b"alice"[..]));
            assert_eq!(string(toks.get(3), &got[0]), Some(&b"secret"[..]));
        }
    }

    #[test]
    fn literals_of_one_line_share_the_cap() {
        let mut r = Reader::new(8);
        r.push(b"a APPEND x {6}\r\n123456 {6}\r\nabcdef\r\n");
        let parts = r.next_line().unwrap().unwrap();
        assert_eq!(
            parts[1],
            Part::Literal {
                data: b"123456".to_vec(),
                truncated: false
            }
        );
        assert_eq!(
            parts[3],
            Part::Literal {
                data: b"ab".to_vec(),
                truncated: true
            }
        );
    }

    #[test]
    fn literal_cap_and_tokenizer_sections() {
        let mut r = Reader::new(4);
        r.push(b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {10}\r\n0123456789)\r\n");
        let parts = r.next_line().unwrap().unwrap();
        assert_eq!(
            parts[1],
            Part::Literal {
                data: b"0123".to_vec(),
                truncated: true
            }
        );
        let toks = tokens(&parts);
        assert_eq!(
            toks[4],
            Tok::Atom(b"BODY[HEADER.FIELDS (SUBJECT FROM)]".to_vec())
        );
        assert_eq!(toks[5], Tok::Lit(1));
        assert_eq!(literal_size(b"x {99999999999999999999}"), None);
        assert_eq!(literal_size(b"x {12+}"), Some(12));
    }

    #[test]
    fn login_fetch_and_envelope() {
        let msg = b"Subject: Dinner plans\r\nFrom: bob@example.org\r\n\r\nLet us have dinner on Friday evening.\r\n";
        let mut fetch = format!("* 1 FETCH (UID 7 ENVELOPE (\"Mon, 1 Jan 2024 10:00:00 +0000\" \"Dinner plans\" NIL NIL NIL NIL NIL NIL NIL NIL) BODY[] {{{}}}\r\n", msg.len()).into_bytes();
        fetch.extend_from_slice(msg);
        fetch.extend_from_slice(b")\r\na2 OK FETCH completed\r\n");
        let conv: &[(Direction, &[u8])] = &[
            (
                S,
                b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] Dovecot ready.\r\n",
            ),
            (C, b"a1 LOGIN \"alice\" \"pa ss\"\r\n"),
            (S, b"a1 OK Logged in\r\n"),
            (C, b"a2 UID FETCH 7 (ENVELOPE BODY.PEEK[])\r\n"),
            (S, &fetch),
        ];
        for chunk in [usize::MAX, 5, 1] {
            let out = run_chunked(&env(&[]), 143, conv, chunk);
            assert_eq!(protocol(&out).as_deref(), Some("imap"));
            assert_eq!(
                credentials(&out),
                vec![("imap.login".into(), Some("alice".into()))]
            );
            assert_eq!(
                contents(&out),
                vec![
                    ("mail.subject".into(), "Dinner plans".into()),
                    ("mail.subject".into(), "Dinner plans".into()),
                    (
                        "mail.body".into(),
                        "Let us have dinner on Friday evening.".into()
                    ),
                ],
                "chunk {chunk}"
            );
            assert_eq!(meta(&out, "imap.banner"), vec!["Dovecot ready."]);
            assert_eq!(meta(&out, "mail.starttls"), vec!["offered"]);
            assert_eq!(verdict(&out), Verdict::Exposed);
            assert_secret_absent(&out, "pa ss");
        }
    }

    #[test]
    fn authenticate_plain_append_and_starttls() {
        let hello = client_hello();
        let msg = b"Subject: Draft\r\n\r\nRemember to buy milk and bread.\r\n";
        let mut append = format!("a3 APPEND Drafts (\\Draft) {{{}+}}\r\n", msg.len()).into_bytes();
        append.extend_from_slice(msg);
        append.extend_from_slice(b"\r\n");
        let conv: &[(Direction, &[u8])] = &[
            (S, b"* OK IMAP4rev1 ready\r\n"),
            (C, b"a1 AUTHENTICATE PLAIN\r\n"),
            (S, b"+ \r\n"),
            (C, b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
            (S, b"a1 OK done\r\n"),
            (C, &append),
            (S, b"a3 OK APPEND completed\r\n"),
            (C, b"a4 STARTTLS\r\n"),
            (C, &hello),
            (S, b"* BYE not now\r\na4 OK Begin TLS negotiation now\r\n"),
        ];
        let out = run(&env(&[]), 143, conv);
        assert_eq!(
            credentials(&out),
            vec![("imap.authenticate".into(), Some("tim".into()))]
        );
        assert_eq!(
            contents(&out),
            vec![
                ("mail.subject".into(), "Draft".into()),
                ("mail.body".into(), "Remember to buy milk and bread.".into())
            ]
        );
        assert_eq!(meta(&out, "mail.starttls"), vec!["used"]);
        assert_eq!(anomalies(&out), vec!["content-before-starttls"]);
        assert_eq!(
            layer_names(&out),
            vec!["imap", "tls"],
            "the rest went to TLS"
        );
        assert_secret_absent(&out, "tanstaaf");
    }

    #[test]
    fn body_text_section_with_multipart() {
        let body = b"--b1\r\nContent-Type: text/plain\r\n\r\nSee the attached report please.\r\n--b1\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b1--\r\n";
        let mut fetch = format!("* 3 FETCH (BODY[TEXT] {{{}}}\r\n", body.len()).into_bytes();
        fetch.extend_from_slice(body);
        fetch.extend_from_slice(b")\r\n");
        let conv: &[(Direction, &[u8])] = &[
            (S, b"* OK IMAP4 ready\r\n"),
            (C, b"b FETCH 3 BODY[TEXT]\r\n"),
            (S, &fetch),
        ];
        let out = run(&env(&[]), 143, conv);
        assert_eq!(
            contents(&out),
            vec![("mail.body".into(), "See the attached report please.".into())]
        );
        assert_eq!(meta(&out, "mail.attachment"), vec!["application/pdf"]);
    }
}
