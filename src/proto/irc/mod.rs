//! IRC (RFC 1459, RFC 2812, IRCv3): what a cleartext IRC connection gives
//! away.
//!
//! `PRIVMSG`/`NOTICE` between users are message content; notices from the
//! server or its services are not (precision over recall) and are kept as
//! metadata. `PASS`, `OPER`, channel keys, NickServ `IDENTIFY` and IRCv3 SASL
//! are credentials. `NICK`/`USER`, the server, the client's host as the server
//! echoes it and CTCP `VERSION` replies are metadata. `STARTTLS` + `670`
//! hands the rest of the connection to an inner TLS stream.

pub mod message;

use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::mail::lines::{Item, LineBuf};
use crate::proto::mail::sasl::{self, Sasl};
use crate::proto::mail::starttls::StartTls;
use crate::proto::mail::{MAX_LINE, Seen, port_hint, text};
use crate::proto::registry::{FlowHint, ProbeInput};
use message::{Message, ctcp, plain_text};
use std::borrow::Cow;

/// Service bots whose notices are server messages, not user messages.
const SERVICES: [&str; 9] = [
    "nickserv", "chanserv", "memoserv", "operserv", "hostserv", "botserv", "saslserv", "global",
    "*status",
];

pub struct Irc {
    lines: [LineBuf; 2],
    tls: StartTls,
    seen: Seen,
    nick: Option<String>,
    /// `PASS` seen before the nick was known.
    pass_pending: bool,
    server: Option<Vec<u8>>,
    sasl: Option<Sasl>,
    /// `STARTTLS` sent: client bytes are held until `670`/`691`.
    hold: bool,
}

pub fn make(_: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(Irc::new(env.limits.max_message))
}

impl Irc {
    pub fn new(max_buffer: usize) -> Irc {
        Irc {
            lines: [
                LineBuf::new(MAX_LINE, max_buffer),
                LineBuf::new(MAX_LINE, max_buffer),
            ],
            tls: StartTls::new("irc.starttls"),
            seen: Seen::default(),
            nick: None,
            pass_pending: false,
            server: None,
            sasl: None,
            hold: false,
        }
    }

    fn client(&mut self, cx: &mut Cx<'_>) {
        while !self.hold && !self.tls.active() {
            let Some(item) = self.lines[0].next_item() else {
                return;
            };
            if let Item::Line(l) = item
                && let Some(m) = message::parse(&l)
            {
                self.client_message(cx, &m);
            }
        }
    }

    fn client_message(&mut self, cx: &mut Cx<'_>, m: &Message<'_>) {
        let dir = Direction::ToServer;
        match m.verb().as_str() {
            "PASS" if m.param(0).is_some_and(|p| !p.is_empty()) => {
                if self.nick.is_some() {
                    let nick = self.nick.clone();
                    self.tls.credential(cx, dir, "irc.pass", nick);
                } else {
                    self.pass_pending = true;
                }
            }
            "NICK" => {
                if let Some(n) = m.param(0) {
                    let n = text(n);
                    self.seen.meta(cx, "irc.nick", &n);
                    self.nick = Some(n);
                    if std::mem::take(&mut self.pass_pending) {
                        let nick = self.nick.clone();
                        self.tls.credential(cx, dir, "irc.pass", nick);
                    }
                }
            }
            "USER" => {
                if let Some(u) = m.param(0) {
                    self.seen.meta(cx, "irc.user", &text(u));
                }
                if let Some(r) = m.param(3) {
                    self.seen.meta(cx, "irc.realname", &text(r));
                }
            }
            "OPER" => {
                let name = m.param(0).map(text);
                self.tls.credential(cx, dir, "irc.oper", name);
            }
            "JOIN" => {
                let chans = m.param(0).unwrap_or_default();
                for c in chans.split(|&b| b == b',').take(8) {
                    self.seen.meta(cx, "irc.channel", &text(c));
                }
                if let Some(keys) = m.param(1) {
                    let first = chans.split(|&b| b == b',').next().map(text);
                    // Some clients send a placeholder when a channel has no key.
                    let real = |k: &[u8]| !matches!(k, b"" | b"x" | b"-" | b"*");
                    if keys.split(|&b| b == b',').any(real) {
                        self.tls.credential(cx, dir, "irc.channel-key", first);
                    }
                }
            }
            "PRIVMSG" | "NOTICE" => self.user_message(cx, dir, m),
            "NICKSERV" | "NS" => {
                let cmd = m.params.first().copied().unwrap_or_default();
                self.nickserv(cx, cmd, &m.params[m.params.len().min(1)..]);
            }
            "AUTHENTICATE" => {
                let arg = m.param(0).unwrap_or_default();
                match &mut self.sasl {
                    None => self.sasl = Some(Sasl::new(&text(arg))),
                    Some(s) => {
                        if arg != b"*" {
                            let d = if arg == b"+" {
                                Some(Vec::new())
                            } else {
                                sasl::decode_b64(arg)
                            };
                            if let Some(d) = d {
                                s.client(&d);
                            }
                        }
                        if let Some(r) = s.take() {
                            self.tls.credential(cx, dir, "irc.sasl", r.user);
                        }
                    }
                }
            }
            "STARTTLS" => {
                self.tls.requested();
                self.hold = true;
            }
            _ => {}
        }
    }

    /// `IDENTIFY [account] password`, `REGISTER password email`, `GHOST nick password`.
    fn nickserv(&mut self, cx: &mut Cx<'_>, first: &[u8], rest: &[&[u8]]) {
        let words: Vec<&[u8]> = if rest.is_empty() {
            first
                .split(|&b| b == b' ')
                .filter(|w| !w.is_empty())
                .collect()
        } else {
            std::iter::once(first).chain(rest.iter().copied()).collect()
        };
        let cmd = words
            .first()
            .map(|w| text(w).to_ascii_uppercase())
            .unwrap_or_default();
        let user = match (cmd.as_str(), words.len()) {
            ("IDENTIFY", 3..) | ("GHOST", 3..) | ("RECOVER", 3..) => Some(text(words[1])),
            ("IDENTIFY", 2) | ("REGISTER", 2..) => self.nick.clone(),
            _ => return,
        };
        self.tls
            .credential(cx, Direction::ToServer, "irc.nickserv", user);
    }

    /// A PRIVMSG or NOTICE sent by the client, or relayed to it from a user.
    fn user_message(&mut self, cx: &mut Cx<'_>, dir: Direction, m: &Message<'_>) {
        let notice = m.verb() == "NOTICE";
        let (Some(target), Some(body)) = (m.param(0), m.params.last().copied()) else {
            return;
        };
        if m.params.len() < 2 {
            return;
        }
        let target_s = text(target).to_ascii_lowercase();
        if dir == Direction::ToServer && !notice && target_s == "nickserv" {
            self.nickserv(cx, body, &[]);
            return;
        }
        if let Some((cmd, arg)) = ctcp(body) {
            match cmd.as_str() {
                "ACTION" => {
                    let t = plain_text(arg);
                    self.tls.content(cx, dir, "irc.privmsg", t.as_bytes());
                }
                // A VERSION *reply* travels in a NOTICE.
                "VERSION" if notice && !arg.is_empty() => {
                    self.seen.meta(cx, "irc.client-version", &plain_text(arg));
                }
                "DCC" => self.seen.meta(cx, "irc.dcc", &plain_text(arg)),
                _ => {}
            }
            return;
        }
        if target.starts_with(b"#") || target.starts_with(b"&") {
            self.seen.meta(cx, "irc.channel", &text(target));
        }
        let t = plain_text(body);
        let field = if notice { "irc.notice" } else { "irc.privmsg" };
        self.tls.content(cx, dir, field, t.as_bytes());
    }

    fn server_lines(&mut self, cx: &mut Cx<'_>) {
        while !self.tls.active() {
            let Some(item) = self.lines[1].next_item() else {
                return;
            };
            if let Item::Line(l) = item
                && let Some(m) = message::parse(&l)
            {
                self.server_message(cx, &m);
                self.client(cx);
            }
        }
    }

    /// Whether a message comes from the server or a service, not a person.
    fn is_service(&self, m: &Message<'_>) -> bool {
        let Some(nick) = m.nick() else {
            // No prefix, or a server name as prefix.
            return true;
        };
        let n = text(nick).to_ascii_lowercase();
        SERVICES.contains(&n.as_str()) || self.server.as_deref() == m.prefix
    }

    fn server_message(&mut self, cx: &mut Cx<'_>, m: &Message<'_>) {
        let dir = Direction::ToClient;
        if let Some(n) = m.numeric() {
            match n {
                1 => {
                    if let Some(p) = m.prefix {
                        self.server = Some(p.to_vec());
                        self.seen.meta(cx, "irc.server", &text(p));
                    }
                    if let Some(me) = m.param(0) {
                        self.seen.meta(cx, "irc.nick", &text(me));
                        self.nick = Some(text(me));
                    }
                }
                4 => {
                    if let Some(v) = m.param(2) {
                        self.seen.meta(cx, "irc.server-version", &text(v));
                    }
                }
                670 => {
                    self.tls.upgrade(cx);
                    let client = self.lines[0].take_all();
                    let server = self.lines[1].take_all();
                    self.tls.data(cx, Direction::ToServer, &client);
                    self.tls.data(cx, Direction::ToClient, &server);
                }
                691 => {
                    self.tls.refused(cx);
                    self.hold = false;
                }
                903..=906 => {
                    let r = if n == 903 { "accepted" } else { "rejected" };
                    self.seen.meta(cx, "irc.sasl-result", r);
                    self.sasl = None;
                }
                _ => {}
            }
            return;
        }
        // The server echoes our own prefix (JOIN, MODE): our host as it sees it.
        if let (Some(nick), Some(host)) = (m.nick(), m.host())
            && self.nick.as_deref().is_some_and(|me| me.as_bytes() == nick)
        {
            self.seen.meta(cx, "irc.client-host", &text(host));
        }
        match m.verb().as_str() {
            "PRIVMSG" | "NOTICE" => {
                if self.is_service(m) {
                    if let Some(t) = m.params.last().filter(|_| m.params.len() >= 2) {
                        self.seen.meta(cx, "irc.server-notice", &plain_text(t));
                    }
                } else {
                    self.user_message(cx, dir, m);
                }
            }
            // CAP * LS :multi-prefix sasl tls sts=port=6697
            "CAP" if m.param(1).is_some_and(|s| s.eq_ignore_ascii_case(b"LS")) => {
                let caps = m.params.last().copied().unwrap_or_default();
                let tls = caps
                    .split(|&b| b == b' ')
                    .any(|c| c == b"tls" || c.starts_with(b"sts"));
                if tls {
                    self.tls.capabilities(true);
                }
            }
            "AUTHENTICATE" => {
                if let (Some(s), Some(a)) = (self.sasl.as_mut(), m.param(0))
                    && a != b"+"
                    && let Some(d) = sasl::decode_b64(a)
                {
                    s.server(&d);
                }
            }
            _ => {}
        }
    }
}

impl Dissector for Irc {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("irc")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if self.tls.active() {
            self.tls.data(cx, dir, data);
            return;
        }
        self.lines[dir.index()].push(data);
        match dir {
            Direction::ToServer => self.client(cx),
            Direction::ToClient => self.server_lines(cx),
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        if self.tls.active() {
            self.tls.gap(cx, dir, len);
            return;
        }
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; irc resynchronises at the next line"),
        );
        self.lines[dir.index()].take_all();
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if std::mem::take(&mut self.pass_pending) {
            self.tls
                .credential(cx, Direction::ToServer, "irc.pass", None);
        }
        self.tls.finish(cx);
    }
}

/// First line of `b`, if complete.
fn first_line(b: &[u8]) -> Option<&[u8]> {
    let nl = memchr::memchr(b'\n', b)?;
    Some(b[..nl].strip_suffix(b"\r").unwrap_or(&b[..nl]))
}

pub fn probe(p: &ProbeInput<'_>) -> Confidence {
    let ports: Vec<u16> = (6660..=6669).collect();
    if let Some(m) = first_line(p.to_server).and_then(message::parse) {
        let ok = match m.verb().as_str() {
            "NICK" | "PASS" => m.params.len() == 1,
            "USER" => m.params.len() == 4,
            "CAP" => m.param(0).is_some_and(|s| s == b"LS" || s == b"REQ"),
            _ => false,
        };
        if ok && m.prefix.is_none() {
            return Confidence::Certain;
        }
    }
    if let Some(m) = first_line(p.to_client).and_then(message::parse) {
        let v = m.verb();
        let registration = m.prefix.is_some()
            && m.params.len() >= 2
            && (v == "NOTICE"
                || m.numeric()
                    .is_some_and(|n| n < 100 || (400..600).contains(&n)));
        let anonymous_notice =
            v == "NOTICE" && m.param(0).is_some_and(|t| t == b"AUTH" || t == b"*");
        if registration || anonymous_notice {
            return Confidence::Certain;
        }
        if v == "PING" && m.params.len() == 1 {
            return Confidence::Likely;
        }
    }
    // Wait for a first complete line from whichever side spoke.
    let partial = |b: &[u8]| !b.is_empty() && b.len() < 512 && first_line(b).is_none();
    let silent = p.to_server.is_empty() && p.to_client.is_empty();
    if silent || partial(p.to_server) || partial(p.to_client) {
        return Confidence::NeedMore;
    }
    port_hint(p, &ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::mail::testkit::*;

    #[test]
    fn registration_messages_and_server_notices() {
        let conv: &[(Direction, &[u8])] = &[
            (S, b":leguin.freenode.net NOTICE * :*** Looking up your hostname...\r\n"),
            (C, b"PASS hunter2\r\nUSER brotest * * :Bro Test\r\n"),
            (C, b"NICK brotest\r\n"),
            (S, b":leguin.freenode.net 001 brotest :Welcome to the freenode Internet Relay Chat Network brotest\r\n:leguin.freenode.net 004 brotest leguin.freenode.net ircd-seven-1.1.3 DOQRSZaghilopswz\r\n"),
            (S, b":leguin.freenode.net 005 brotest CNOTICE CPRIVMSG :are supported by this server\r\n"),
            (C, b"JOIN #brotest\r\n"),
            (S, b":brotest!~brotest@new-wifi-nat.ICSI.Berkeley.EDU JOIN #brotest\r\n"),
            (C, b"PRIVMSG #brotest test\r\n"),
            (S, b":alice!~a@h.example PRIVMSG #brotest :\x02hello\x02 everyone, lunch at one?\r\n"),
            (S, b":NickServ!NickServ@services. NOTICE brotest :This nickname is registered.\r\n"),
            (C, b"PRIVMSG NickServ :IDENTIFY brotest s3cretpw\r\n"),
            (S, b":alice!~a@h.example PRIVMSG brotest :\x01VERSION\x01\r\n"),
            (C, b"NOTICE alice :\x01VERSION HexChat 2.14.3 / Linux\x01\r\n"),
        ];
        for chunk in [usize::MAX, 9, 1] {
            let out = run_chunked(&env(&[]), 6667, conv, chunk);
            assert_eq!(protocol(&out).as_deref(), Some("irc"));
            assert_eq!(
                contents(&out),
                vec![
                    ("irc.privmsg".into(), "test".into()),
                    ("irc.privmsg".into(), "hello everyone, lunch at one?".into()),
                ],
                "chunk {chunk}"
            );
            assert_eq!(
                credentials(&out),
                vec![
                    ("irc.pass".into(), Some("brotest".into())),
                    ("irc.nickserv".into(), Some("brotest".into())),
                ]
            );
            assert_eq!(
                meta(&out, "irc.server-notice"),
                vec![
                    "*** Looking up your hostname...",
                    "This nickname is registered."
                ]
            );
            assert_eq!(
                meta(&out, "irc.client-version"),
                vec!["HexChat 2.14.3 / Linux"]
            );
            assert_eq!(
                meta(&out, "irc.client-host"),
                vec!["new-wifi-nat.ICSI.Berkeley.EDU"]
            );
            assert_eq!(meta(&out, "irc.server-version"), vec!["ircd-seven-1.1.3"]);
            assert_eq!(meta(&out, "irc.realname"), vec!["Bro Test"]);
            assert_eq!(verdict(&out), Verdict::Exposed);
            assert_secret_absent(&out, "hunter2");
            assert_secret_absent(&out, "s3cretpw");
            let ids = fired(&out);
            for id in ["plaintext-chat-protocol", "irc-client-version-leak"] {
                assert!(ids.contains(&id.to_string()), "{id} in {ids:?}");
            }
        }
    }

    #[test]
    fn a_long_session_keeps_room_for_the_end_of_flow_state() {
        let mut server = Vec::new();
        for i in 0..500 {
            server.extend_from_slice(
                format!(
                    ":u{i}!~u@host{i}.example PRIVMSG #big :message number {i} about lunch\r\n"
                )
                .as_bytes(),
            );
            server.extend_from_slice(format!(":srv NOTICE * :*** notice {i}\r\n").as_bytes());
        }
        server.extend_from_slice(b":u9!~u@h PRIVMSG #big :the word is PS-CANARY-LATE1 ok\r\n");
        let conv: &[(Direction, &[u8])] = &[
            (C, b"CAP LS\r\n"),
            (S, b":srv CAP * LS :tls sasl\r\n"),
            (C, b"NICK me\r\nUSER me 0 * :Me\r\nJOIN #big\r\n"),
            (S, &server),
        ];
        let out = run(&env(&["PS-CANARY-LATE1"]), 6667, conv);
        assert!(out.evidence.len() <= 64, "{}", out.evidence.len());
        assert_eq!(contents(&out).len(), 16);
        assert_eq!(
            meta(&out, "irc.starttls"),
            vec!["offered"],
            "the end-of-flow state still fits"
        );
        assert!(
            out.evidence
                .iter()
                .any(|e| matches!(e.kind, crate::evidence::EvidenceKind::Canary { .. }))
        );
    }

    #[test]
    fn starttls_upgrade() {
        let hello = client_hello();
        let conv: &[(Direction, &[u8])] = &[
            (C, b"CAP LS\r\n"),
            (S, b":irc.example CAP * LS :multi-prefix tls\r\n"),
            (C, b"STARTTLS\r\n"),
            (C, &hello),
            (
                S,
                b":irc.example 670 * :STARTTLS successful, go ahead with TLS handshake\r\n",
            ),
        ];
        let out = run(&env(&[]), 6667, conv);
        assert_eq!(meta(&out, "irc.starttls"), vec!["used"]);
        assert!(anomalies(&out).is_empty());
        assert_eq!(
            layer_names(&out),
            vec!["irc", "tls"],
            "the rest went to TLS"
        );
        assert_eq!(verdict(&out), Verdict::Opaque, "TLS without keys");
    }

    #[test]
    fn sasl_plain_and_channel_key() {
        let conv: &[(Direction, &[u8])] = &[
            (C, b"CAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n"),
            (S, b"AUTHENTICATE +\r\n"),
            (C, b"AUTHENTICATE AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
            (
                S,
                b":irc.example 903 tim :SASL authentication successful\r\n",
            ),
            (
                C,
                b"JOIN #secret s3kr1tkey\r\nJOIN #secret s3kr1tkey\r\nJOIN #open -\r\n",
            ),
        ];
        let out = run(&env(&[]), 6667, conv);
        assert_eq!(
            credentials(&out),
            vec![
                ("irc.sasl".into(), Some("tim".into())),
                ("irc.channel-key".into(), Some("#secret".into()))
            ]
        );
        assert_secret_absent(&out, "s3kr1tkey");
    }

    #[test]
    fn probe_signatures() {
        let mk = |c: &'static [u8], s: &'static [u8]| ProbeInput {
            transport: crate::model::Transport::Tcp,
            to_server: c,
            to_client: s,
            datagrams: &[],
            client_port: 50000,
            server_port: 7000,
            depth: 0,
            hint: None,
        };
        assert_eq!(probe(&mk(b"NICK brotest\r\n", b"")), Confidence::Certain);
        assert_eq!(
            probe(&mk(
                b"",
                b":irc.example NOTICE * :*** Looking up your hostname\r\n"
            )),
            Confidence::Certain
        );
        assert_eq!(
            probe(&mk(
                b"",
                b"NOTICE AUTH :*** Looking up your hostname...\r\n"
            )),
            Confidence::Certain
        );
        assert_eq!(probe(&mk(b"GET / HTTP/1.1\r\n", b"")), Confidence::No);
        assert_eq!(probe(&mk(b"NICK", b"")), Confidence::NeedMore);
    }
}
