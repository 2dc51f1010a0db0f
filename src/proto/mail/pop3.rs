//! POP3 (RFC 1939) with CAPA/STLS (RFC 2449, RFC 2595) and AUTH (RFC 5034).
//!
//! Commands are queued in order so each `+OK`/`-ERR` finds its command, and a
//! multi-line answer (`CAPA`, `RETR`, `TOP`, `LIST`, `UIDL`, bare `AUTH`) is
//! read up to the lone dot with dot-unstuffing. Retrieved messages go to the
//! message parser; `USER`/`PASS`, `APOP` and SASL logins are credentials.

use super::lines::{Item, LineBuf};
use super::sasl::{self, Sasl};
use super::smtp::split_verb;
use super::starttls::StartTls;
use super::{MAX_LINE, Seen, port_hint, report_message, text};
use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use std::borrow::Cow;
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Capa,
    /// RETR or TOP: the answer is a message.
    Retrieve,
    /// Other commands with a multi-line answer (LIST, UIDL, bare AUTH).
    List,
    Auth,
    Stls,
    Login,
    Other,
}

const MAX_PENDING: usize = 64;

pub struct Pop3 {
    lines: [LineBuf; 2],
    tls: StartTls,
    seen: Seen,
    pending: VecDeque<Cmd>,
    user: Option<String>,
    sasl: Option<Sasl>,
    in_auth: bool,
    hold: bool,
    greeted: bool,
    /// A multi-line answer being read: its command, bytes, and whether it was cut.
    multi: Option<(Cmd, Vec<u8>, bool)>,
    max_message: usize,
}

pub fn make(_: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(Pop3::new(env.limits.max_message))
}

impl Pop3 {
    pub fn new(max_message: usize) -> Pop3 {
        Pop3 {
            lines: [
                LineBuf::new(MAX_LINE, max_message),
                LineBuf::new(MAX_LINE, max_message),
            ],
            tls: StartTls::new("mail.starttls"),
            seen: Seen::default(),
            pending: VecDeque::new(),
            user: None,
            sasl: None,
            in_auth: false,
            hold: false,
            greeted: false,
            multi: None,
            max_message,
        }
    }

    fn push_cmd(&mut self, c: Cmd) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(c);
    }

    fn client(&mut self, cx: &mut Cx<'_>) {
        while !self.hold && !self.tls.active() {
            let Some(item) = self.lines[0].next_item() else {
                return;
            };
            let Item::Line(l) = item else {
                self.push_cmd(Cmd::Other);
                continue;
            };
            if self.in_auth {
                if l == b"*" {
                    self.sasl = None;
                } else if let (Some(s), Some(d)) = (self.sasl.as_mut(), sasl::decode_b64(&l)) {
                    s.client(&d);
                    self.sasl_report(cx);
                }
                continue;
            }
            self.command(cx, &l);
        }
    }

    fn sasl_report(&mut self, cx: &mut Cx<'_>) {
        if let Some(r) = self.sasl.as_mut().and_then(Sasl::take) {
            self.tls
                .credential(cx, Direction::ToServer, "pop3.auth", r.user);
        }
    }

    fn command(&mut self, cx: &mut Cx<'_>, line: &[u8]) {
        let (verb, arg) = split_verb(line);
        let cmd = match verb.as_str() {
            "USER" => {
                self.user = Some(text(arg)).filter(|u| !u.is_empty());
                Cmd::Login
            }
            "PASS" => {
                if !arg.is_empty() {
                    let user = self.user.clone();
                    self.tls
                        .credential(cx, Direction::ToServer, "pop3.pass", user);
                }
                Cmd::Login
            }
            "APOP" => {
                let name = arg.split(|&b| b == b' ').next().unwrap_or_default();
                self.tls
                    .credential(cx, Direction::ToServer, "pop3.apop", Some(text(name)));
                Cmd::Login
            }
            "AUTH" if arg.is_empty() => Cmd::List,
            "AUTH" => {
                let mut it = arg.splitn(2, |&b| b == b' ');
                let mech = text(it.next().unwrap_or_default());
                self.seen
                    .meta(cx, "pop3.auth-mechanism", &mech.to_ascii_uppercase());
                let mut s = Sasl::new(&mech);
                if let Some(d) = it.next().and_then(sasl::decode_b64) {
                    s.client(&d);
                }
                self.sasl = Some(s);
                self.sasl_report(cx);
                self.in_auth = true;
                Cmd::Auth
            }
            "STLS" => {
                self.tls.requested();
                self.hold = true;
                Cmd::Stls
            }
            "CAPA" => Cmd::Capa,
            "RETR" | "TOP" => Cmd::Retrieve,
            "LIST" | "UIDL" if arg.is_empty() => Cmd::List,
            _ => Cmd::Other,
        };
        self.push_cmd(cmd);
    }

    fn server(&mut self, cx: &mut Cx<'_>) {
        while !self.tls.active() {
            let Some(item) = self.lines[1].next_item() else {
                return;
            };
            if let Some((cmd, buf, cut)) = &mut self.multi {
                match item {
                    Item::Overlong => *cut = true,
                    Item::Line(l) if l == b"." => {
                        let (cmd, buf, cut) = (*cmd, std::mem::take(buf), *cut);
                        self.multi = None;
                        self.end_multi(cx, cmd, &buf, cut);
                        self.client(cx);
                    }
                    Item::Line(l) => {
                        let l = l.strip_prefix(b".").unwrap_or(&l);
                        if buf.len() + l.len() + 2 <= self.max_message {
                            buf.extend_from_slice(l);
                            buf.extend_from_slice(b"\r\n");
                        } else {
                            *cut = true;
                        }
                    }
                }
                continue;
            }
            let Item::Line(l) = item else { continue };
            self.status(cx, &l);
            self.client(cx);
        }
    }

    fn status(&mut self, cx: &mut Cx<'_>, l: &[u8]) {
        if l.starts_with(b"+ ") || l == b"+" {
            if self.in_auth {
                let chal = l.get(2..).unwrap_or_default();
                if let (Some(s), Some(d)) = (self.sasl.as_mut(), sasl::decode_b64(chal)) {
                    s.server(&d);
                }
            }
            return;
        }
        let ok = l.starts_with(b"+OK");
        if !ok && !l.starts_with(b"-ERR") {
            return;
        }
        if !self.greeted {
            self.greeted = true;
            if ok && self.pending.is_empty() {
                self.seen
                    .meta(cx, "pop3.banner", &text(l.get(4..).unwrap_or_default()));
                return;
            }
        }
        let Some(cmd) = self.pending.pop_front() else {
            return;
        };
        match cmd {
            Cmd::Stls if ok => {
                self.tls.upgrade(cx);
                let client = self.lines[0].take_all();
                let server = self.lines[1].take_all();
                self.tls.data(cx, Direction::ToServer, &client);
                self.tls.data(cx, Direction::ToClient, &server);
            }
            Cmd::Stls => {
                self.tls.refused(cx);
                self.hold = false;
            }
            Cmd::Auth | Cmd::Login => {
                self.in_auth = false;
                self.sasl = None;
                let r = if ok { "accepted" } else { "rejected" };
                self.seen.meta(cx, "pop3.auth-result", r);
            }
            Cmd::Capa | Cmd::Retrieve | Cmd::List if ok => {
                self.multi = Some((cmd, Vec::new(), false));
            }
            _ => {}
        }
    }

    fn end_multi(&mut self, cx: &mut Cx<'_>, cmd: Cmd, buf: &[u8], cut: bool) {
        match cmd {
            Cmd::Capa => {
                let mut stls = false;
                for l in buf.split(|&b| b == b'\n') {
                    let l = text(l.trim_ascii());
                    let up = l.to_ascii_uppercase();
                    stls |= up == "STLS";
                    if let Some(m) = up.strip_prefix("SASL ") {
                        self.seen.meta(cx, "pop3.auth-offered", m);
                    } else if up.starts_with("IMPLEMENTATION ") {
                        self.seen.meta(cx, "pop3.implementation", &l[15..]);
                    }
                }
                self.tls.capabilities(stls);
            }
            Cmd::Retrieve => {
                report_message(
                    cx,
                    &mut self.tls,
                    &mut self.seen,
                    Direction::ToClient,
                    buf,
                    false,
                );
                if cut {
                    cx.anomaly("mail-truncated", "RETR answer exceeded the message cap");
                }
            }
            _ => {}
        }
    }
}

impl Dissector for Pop3 {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("pop3")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if self.tls.active() {
            self.tls.data(cx, dir, data);
            return;
        }
        self.lines[dir.index()].push(data);
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
            format!("{len} bytes missing; pop3 resynchronises at the next line"),
        );
        self.lines[dir.index()].take_all();
        if dir == Direction::ToClient {
            self.multi = None;
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some((cmd, buf, _)) = self.multi.take()
            && !buf.is_empty()
        {
            self.end_multi(cx, cmd, &buf, true);
        }
        self.tls.finish(cx);
    }
}

fn starts_ci(data: &[u8], prefix: &[u8]) -> bool {
    data.len() >= prefix.len() && data[..prefix.len()].eq_ignore_ascii_case(prefix)
}

pub fn probe(p: &ProbeInput<'_>) -> Confidence {
    let port = port_hint(p, &[110]);
    let (s, c) = (p.to_client, p.to_server);
    let client_cmd = ["USER ", "CAPA", "STLS", "APOP ", "AUTH"]
        .iter()
        .any(|v| starts_ci(c, v.as_bytes()));
    if s.starts_with(b"+OK") {
        let line = &s[..memchr::memchr(b'\n', s).unwrap_or(s.len())];
        let up = line.to_ascii_uppercase();
        let apop = memchr::memchr(b'<', line).is_some() && memchr::memchr(b'@', line).is_some();
        if memchr::memmem::find(&up, b"POP").is_some() || apop || client_cmd {
            return Confidence::Certain;
        }
        // Redis answers "+OK" too, but only after the client spoke RESP.
        return if c.starts_with(b"*") || c.starts_with(b"$") {
            port
        } else {
            Confidence::Likely
        };
    }
    if !s.is_empty() {
        return if s.len() < 3 && b"+OK".starts_with(s) {
            Confidence::NeedMore
        } else {
            port
        };
    }
    // Client first: after STLS, or the greeting was not captured.
    if starts_ci(c, b"CAPA\r\n") || starts_ci(c, b"APOP ") || starts_ci(c, b"STLS\r\n") {
        return Confidence::Likely;
    }
    if starts_ci(c, b"USER ") && (p.depth > 0 || port == Confidence::Port) {
        return Confidence::Likely;
    }
    if c.is_empty() || c.len() < 6 {
        return if port == Confidence::Port || c.is_empty() {
            Confidence::NeedMore
        } else {
            port
        };
    }
    port
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::mail::testkit::*;

    #[test]
    fn user_pass_retr_and_capa() {
        // RFC 1939 §10 example session, with a CAPA and a message body.
        let conv: &[(Direction, &[u8])] = &[
            (S, b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
            (C, b"CAPA\r\n"),
            (S, b"+OK Capability list follows\r\nUSER\r\nSASL PLAIN\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n"),
            (C, b"USER mrose\r\n"),
            (S, b"+OK mrose is a real hoopy frood\r\n"),
            (C, b"PASS tanstaaf\r\n"),
            (S, b"+OK mrose's maildrop has 2 messages (320 octets)\r\n"),
            (C, b"RETR 1\r\n"),
            (S, b"+OK 120 octets\r\nSubject: Weekend\r\nFrom: ann@example.com\r\n\r\nAre you coming hiking on Saturday?\r\n..\r\n.\r\n"),
            (C, b"QUIT\r\n"),
            (S, b"+OK dewey POP3 server signing off\r\n"),
        ];
        for chunk in [usize::MAX, 3, 1] {
            let out = run_chunked(&env(&[]), 110, conv, chunk);
            assert_eq!(protocol(&out).as_deref(), Some("pop3"));
            assert_eq!(
                credentials(&out),
                vec![("pop3.pass".into(), Some("mrose".into()))]
            );
            assert_eq!(
                contents(&out),
                vec![
                    ("mail.subject".into(), "Weekend".into()),
                    (
                        "mail.body".into(),
                        "Are you coming hiking on Saturday?\r\n.".into()
                    )
                ],
                "chunk {chunk}"
            );
            assert_eq!(meta(&out, "mail.starttls"), vec!["not-offered"]);
            assert_eq!(
                meta(&out, "pop3.implementation"),
                vec!["Shlemazle-Plotz-v302"]
            );
            assert_eq!(verdict(&out), Verdict::Exposed);
            assert_secret_absent(&out, "tanstaaf");
        }
    }

    #[test]
    fn apop_and_stls() {
        let hello = client_hello();
        let conv: &[(Direction, &[u8])] = &[
            (
                S,
                b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
            ),
            (C, b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
            (S, b"+OK maildrop has 1 message (369 octets)\r\n"),
            (C, b"STLS\r\n"),
            (C, &hello),
            (S, b"+OK Begin TLS negotiation\r\n"),
        ];
        let out = run(&env(&[]), 110, conv);
        assert_eq!(
            credentials(&out),
            vec![("pop3.apop".into(), Some("mrose".into()))]
        );
        assert_eq!(meta(&out, "mail.starttls"), vec!["used"]);
        assert_eq!(anomalies(&out), vec!["content-before-starttls"]);
        assert_eq!(
            layer_names(&out),
            vec!["pop3", "tls"],
            "the held ClientHello went to TLS"
        );
    }

    #[test]
    fn auth_plain_with_challenge() {
        let conv: &[(Direction, &[u8])] = &[
            (S, b"+OK ready\r\n"),
            (C, b"AUTH PLAIN\r\n"),
            (S, b"+ \r\n"),
            (C, b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
            (S, b"+OK Maildrop locked and ready\r\n"),
            (C, b"STLS\r\n"),
            (S, b"-ERR not supported\r\n"),
        ];
        let out = run(&env(&[]), 110, conv);
        assert_eq!(
            credentials(&out),
            vec![("pop3.auth".into(), Some("tim".into()))]
        );
        assert_eq!(meta(&out, "mail.starttls"), vec!["refused"]);
    }
}
