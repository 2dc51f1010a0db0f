//! SMTP (RFC 5321) with AUTH (RFC 4954), STARTTLS (RFC 3207), PIPELINING
//! and CHUNKING (RFC 3030).
//!
//! Commands and replies are matched in order (a queue of commands awaiting
//! their reply), which is what PIPELINING requires. Message data (`DATA` up
//! to the lone dot, or `BDAT` chunks) is collected under the message cap and
//! handed to the message parser. After `STARTTLS` + `220` every byte goes to
//! an inner stream probed as TLS.

use super::lines::{Item, LineBuf};
use super::sasl::{self, Sasl};
use super::starttls::StartTls;
use super::{MAX_LINE, Seen, port_hint, report_message, text};
use crate::model::Direction;
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Commands whose reply matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Ehlo,
    StartTls,
    Auth,
    Data,
    Other,
}

/// What the client's next bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Command,
    /// SASL responses after `AUTH`.
    Auth,
    /// `DATA` sent, waiting for `354` before reading message lines.
    WaitData,
    Data,
    /// Raw `BDAT` chunk bytes.
    Bdat {
        remaining: u64,
        last: bool,
    },
    /// `STARTTLS` sent, waiting for the answer.
    WaitTls,
}

/// Most commands remembered while their replies are outstanding.
const MAX_PENDING: usize = 64;
/// Lines of one multi-line reply kept.
const MAX_REPLY_LINES: usize = 64;

pub struct Smtp {
    lines: [LineBuf; 2],
    tls: StartTls,
    seen: Seen,
    pending: VecDeque<Cmd>,
    mode: Mode,
    reply: Vec<Vec<u8>>,
    greeted: bool,
    sasl: Option<Sasl>,
    message: Vec<u8>,
    truncated: bool,
    max_message: usize,
}

pub fn make(_: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(Smtp::new(env.limits.max_message))
}

impl Smtp {
    pub fn new(max_message: usize) -> Smtp {
        Smtp {
            lines: [
                LineBuf::new(MAX_LINE, max_message),
                LineBuf::new(MAX_LINE, max_message),
            ],
            tls: StartTls::new("mail.starttls"),
            seen: Seen::default(),
            pending: VecDeque::new(),
            mode: Mode::Command,
            reply: Vec::new(),
            greeted: false,
            sasl: None,
            message: Vec::new(),
            truncated: false,
            max_message,
        }
    }

    fn push_cmd(&mut self, c: Cmd) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(c);
    }

    fn append(&mut self, data: &[u8]) {
        let room = self.max_message.saturating_sub(self.message.len());
        if data.len() > room {
            self.truncated = true;
        }
        self.message
            .extend_from_slice(&data[..data.len().min(room)]);
    }

    fn end_message(&mut self, cx: &mut Cx<'_>) {
        let raw = std::mem::take(&mut self.message);
        if !raw.is_empty() {
            report_message(
                cx,
                &mut self.tls,
                &mut self.seen,
                Direction::ToServer,
                &raw,
                false,
            );
        }
        if std::mem::take(&mut self.truncated) {
            cx.anomaly("mail-truncated", "message data exceeded the message cap");
        }
    }

    /// Processes client bytes as far as the current mode allows.
    fn client(&mut self, cx: &mut Cx<'_>) {
        loop {
            if self.tls.active() {
                return;
            }
            match self.mode {
                Mode::WaitData | Mode::WaitTls => return,
                Mode::Bdat { remaining, last } => {
                    if self.lines[0].is_empty() {
                        return;
                    }
                    let chunk = self.lines[0].take(remaining.min(usize::MAX as u64) as usize);
                    self.append(&chunk);
                    let remaining = remaining - chunk.len() as u64;
                    if remaining == 0 {
                        if last {
                            self.end_message(cx);
                        }
                        self.mode = Mode::Command;
                    } else {
                        self.mode = Mode::Bdat { remaining, last };
                    }
                }
                Mode::Data => match self.lines[0].next_item() {
                    None => return,
                    Some(Item::Overlong) => self.truncated = true,
                    Some(Item::Line(l)) => {
                        if l == b"." {
                            self.end_message(cx);
                            self.push_cmd(Cmd::Other);
                            self.mode = Mode::Command;
                        } else {
                            // Dot-stuffing (RFC 5321 §4.5.2).
                            let l = l.strip_prefix(b".").unwrap_or(&l);
                            self.append(l);
                            self.append(b"\r\n");
                        }
                    }
                },
                Mode::Auth => match self.lines[0].next_item() {
                    None => return,
                    Some(Item::Overlong) => {}
                    Some(Item::Line(l)) => {
                        if l == b"*" {
                            self.sasl = None;
                        } else if let (Some(s), Some(d)) =
                            (self.sasl.as_mut(), sasl::decode_b64(&l))
                        {
                            s.client(&d);
                            self.sasl_report(cx);
                        }
                    }
                },
                Mode::Command => match self.lines[0].next_item() {
                    None => return,
                    Some(Item::Overlong) => {
                        cx.anomaly("smtp-long-line", "client command line over the line cap");
                        self.push_cmd(Cmd::Other);
                    }
                    Some(Item::Line(l)) => self.command(cx, &l),
                },
            }
        }
    }

    fn sasl_report(&mut self, cx: &mut Cx<'_>) {
        if let Some(r) = self.sasl.as_mut().and_then(Sasl::take) {
            self.tls
                .credential(cx, Direction::ToServer, "smtp.auth", r.user);
        }
    }

    fn command(&mut self, cx: &mut Cx<'_>, line: &[u8]) {
        let (verb, arg) = split_verb(line);
        match verb.as_str() {
            "EHLO" | "HELO" => {
                self.seen.meta(cx, "smtp.helo", &text(arg));
                self.push_cmd(if verb == "EHLO" {
                    Cmd::Ehlo
                } else {
                    Cmd::Other
                });
            }
            "MAIL" => {
                if let Some(a) = path_arg(arg, b"FROM:") {
                    self.seen.meta(cx, "smtp.mail-from", &a);
                }
                self.push_cmd(Cmd::Other);
            }
            "RCPT" => {
                if let Some(a) = path_arg(arg, b"TO:") {
                    self.seen.meta(cx, "smtp.rcpt-to", &a);
                }
                self.push_cmd(Cmd::Other);
            }
            "AUTH" => {
                let mut it = arg.splitn(2, |&b| b == b' ');
                let mech = text(it.next().unwrap_or_default());
                let mut s = Sasl::new(&mech);
                self.seen
                    .meta(cx, "smtp.auth-mechanism", &mech.to_ascii_uppercase());
                if let Some(d) = it.next().and_then(sasl::decode_b64) {
                    s.client(&d);
                }
                self.sasl = Some(s);
                self.sasl_report(cx);
                self.push_cmd(Cmd::Auth);
                self.mode = Mode::Auth;
            }
            "STARTTLS" => {
                self.tls.requested();
                self.push_cmd(Cmd::StartTls);
                self.mode = Mode::WaitTls;
            }
            "DATA" => {
                self.message.clear();
                self.push_cmd(Cmd::Data);
                self.mode = Mode::WaitData;
            }
            "BDAT" => {
                let mut it = arg.split(|&b| b == b' ').filter(|t| !t.is_empty());
                let size = it
                    .next()
                    .and_then(|t| std::str::from_utf8(t).ok())
                    .and_then(|t| t.parse::<u64>().ok());
                let last = it.next().is_some_and(|t| t.eq_ignore_ascii_case(b"LAST"));
                self.push_cmd(Cmd::Other);
                match size {
                    Some(0) if last => self.end_message(cx),
                    Some(0) => {}
                    Some(n) => self.mode = Mode::Bdat { remaining: n, last },
                    None => cx.anomaly("smtp-bad-bdat", "BDAT without a valid size"),
                }
            }
            _ => self.push_cmd(Cmd::Other),
        }
    }

    fn server(&mut self, cx: &mut Cx<'_>) {
        while !self.tls.active() {
            let Some(item) = self.lines[1].next_item() else {
                return;
            };
            let Item::Line(l) = item else {
                continue;
            };
            let Some(code) = reply_code(&l) else {
                continue;
            };
            let more = l.get(3) == Some(&b'-');
            if self.reply.len() < MAX_REPLY_LINES {
                self.reply.push(l);
            }
            if more {
                continue;
            }
            let reply = std::mem::take(&mut self.reply);
            self.reply(cx, code, &reply);
            self.client(cx);
        }
    }

    fn reply(&mut self, cx: &mut Cx<'_>, code: u16, lines: &[Vec<u8>]) {
        let first = lines.first().map(|l| reply_text(l)).unwrap_or_default();
        if code == 334 {
            if let (Some(s), Some(d)) = (self.sasl.as_mut(), sasl::decode_b64(first)) {
                s.server(&d);
            }
            return;
        }
        // The server speaks first, but a stream is replayed client-first
        // after probing: the first 220 is the greeting whatever is queued.
        let greeting = (code == 220 || code == 554) && self.pending.front() != Some(&Cmd::StartTls);
        if !std::mem::replace(&mut self.greeted, true) && greeting {
            self.seen.meta(cx, "smtp.banner", &text(first));
            return;
        }
        match self.pending.pop_front() {
            None => {}
            Some(Cmd::Ehlo) if code / 100 == 2 => {
                let caps: Vec<String> = lines
                    .iter()
                    .skip(1)
                    .map(|l| text(reply_text(l)).to_ascii_uppercase())
                    .collect();
                self.tls
                    .capabilities(caps.iter().any(|c| c.trim() == "STARTTLS"));
                if let Some(a) = caps.iter().find_map(|c| c.strip_prefix("AUTH ")) {
                    self.seen.meta(cx, "smtp.auth-offered", a.trim());
                }
            }
            Some(Cmd::StartTls) => {
                if code == 220 {
                    self.upgrade(cx);
                } else {
                    self.tls.refused(cx);
                    self.mode = Mode::Command;
                }
            }
            Some(Cmd::Auth) => {
                self.mode = Mode::Command;
                self.sasl = None;
                let r = if code / 100 == 2 {
                    "accepted"
                } else {
                    "rejected"
                };
                self.seen.meta(cx, "smtp.auth-result", r);
            }
            Some(Cmd::Data) => {
                self.mode = if code == 354 {
                    Mode::Data
                } else {
                    Mode::Command
                };
            }
            Some(Cmd::Ehlo | Cmd::Other) => {}
        }
    }

    fn upgrade(&mut self, cx: &mut Cx<'_>) {
        self.tls.upgrade(cx);
        let client = self.lines[0].take_all();
        let server = self.lines[1].take_all();
        self.tls.data(cx, Direction::ToServer, &client);
        self.tls.data(cx, Direction::ToClient, &server);
    }
}

impl Dissector for Smtp {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("smtp")
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
            format!("{len} bytes missing; smtp resynchronises at the next line"),
        );
        self.lines[dir.index()].take_all();
        if dir == Direction::ToServer && matches!(self.mode, Mode::Data | Mode::Bdat { .. }) {
            self.truncated = true;
            self.end_message(cx);
            self.mode = Mode::Command;
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if matches!(self.mode, Mode::Data | Mode::Bdat { .. }) && !self.message.is_empty() {
            self.truncated = true;
            self.end_message(cx);
        }
        self.tls.finish(cx);
    }
}

/// The upper-cased verb and the rest of a command line.
pub(crate) fn split_verb(line: &[u8]) -> (String, &[u8]) {
    let sp = memchr::memchr(b' ', line).unwrap_or(line.len());
    let verb = String::from_utf8_lossy(&line[..sp.min(16)]).to_ascii_uppercase();
    let arg = line.get(sp + 1..).unwrap_or_default().trim_ascii();
    (verb, arg)
}

/// The address of `FROM:<a@b>` / `TO:<a@b>` (parameters after it dropped).
fn path_arg(arg: &[u8], prefix: &[u8]) -> Option<String> {
    if arg.len() < prefix.len() || !arg[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_ascii_start();
    let addr = match rest.strip_prefix(b"<") {
        Some(r) => &r[..memchr::memchr(b'>', r).unwrap_or(r.len())],
        None => &rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())],
    };
    Some(text(addr))
}

fn reply_code(l: &[u8]) -> Option<u16> {
    let d = l.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) || !matches!(l.get(3), None | Some(b' ' | b'-')) {
        return None;
    }
    Some(d.iter().fold(0u16, |a, &b| a * 10 + (b - b'0') as u16))
}

fn reply_text(l: &[u8]) -> &[u8] {
    l.get(4..).unwrap_or_default()
}

fn starts_ci(data: &[u8], prefix: &[u8]) -> bool {
    data.len() >= prefix.len() && data[..prefix.len()].eq_ignore_ascii_case(prefix)
}

pub fn probe(p: &ProbeInput<'_>) -> Confidence {
    let c = p.to_server;
    if starts_ci(c, b"EHLO ") || starts_ci(c, b"HELO ") {
        return Confidence::Certain;
    }
    let s = p.to_client;
    let port = port_hint(p, &[25, 587, 2525]);
    if s.len() < 4 {
        return if b"220 ".starts_with(s) && c.is_empty() {
            Confidence::NeedMore
        } else {
            port
        };
    }
    if reply_code(s) != Some(220) {
        return port;
    }
    let Some(nl) = memchr::memchr(b'\n', s) else {
        return Confidence::NeedMore;
    };
    let upper = s[..nl].to_ascii_uppercase();
    if memchr::memmem::find(&upper, b"SMTP").is_some() {
        Confidence::Certain
    } else if c.is_empty() {
        // FTP greets with 220 too: wait for the client's first command.
        Confidence::NeedMore
    } else {
        port
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::mail::testkit::*;

    /// RFC 5321 Appendix D.1 style session with AUTH PLAIN and a message.
    const SESSION: &[(Direction, &[u8])] = &[
        (S, b"220 foo.com Simple Mail Transfer Service Ready\r\n"),
        (C, b"EHLO bar.com\r\n"),
        (S, b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"),
        (C, b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
        (S, b"235 2.7.0 Authentication successful\r\n"),
        (C, b"MAIL FROM:<Smith@bar.com>\r\n"),
        (S, b"250 OK\r\n"),
        (C, b"RCPT TO:<Jones@foo.com>\r\n"),
        (S, b"250 OK\r\n"),
        (C, b"DATA\r\n"),
        (S, b"354 Start mail input; end with <CRLF>.<CRLF>\r\n"),
        (C, b"From: Smith <Smith@bar.com>\r\nTo: Jones@foo.com\r\nSubject: Meeting moved\r\n\r\nThe meeting moved to Thursday afternoon.\r\n..and this line began with a dot\r\n.\r\n"),
        (S, b"250 OK\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 foo.com Service closing transmission channel\r\n"),
    ];

    #[test]
    fn session_reports_message_credentials_and_missing_starttls() {
        let env = env(&[]);
        for chunk in [usize::MAX, 7, 1] {
            let out = run_chunked(&env, 25, SESSION, chunk);
            assert_eq!(protocol(&out).as_deref(), Some("smtp"));
            assert_eq!(
                contents(&out),
                vec![
                    ("mail.subject".into(), "Meeting moved".into()),
                    (
                        "mail.body".into(),
                        "The meeting moved to Thursday afternoon.\r\n.and this line began with a dot".into()
                    ),
                ],
                "chunk {chunk}"
            );
            assert_eq!(
                credentials(&out),
                vec![("smtp.auth".into(), Some("tim".into()))]
            );
            assert_eq!(meta(&out, "smtp.mail-from"), vec!["Smith@bar.com"]);
            assert_eq!(meta(&out, "smtp.rcpt-to"), vec!["Jones@foo.com"]);
            assert_eq!(meta(&out, "mail.starttls"), vec!["not-offered"]);
            assert_eq!(
                meta(&out, "smtp.banner"),
                vec!["foo.com Simple Mail Transfer Service Ready"]
            );
            assert_eq!(verdict(&out), Verdict::Exposed);
            assert_secret_absent(&out, "tanstaaf");
        }
    }

    #[test]
    fn starttls_hands_the_rest_to_tls_and_flags_earlier_credentials() {
        let hello = client_hello();
        let conv: &[(Direction, &[u8])] = &[
            (S, b"220 mx.example ESMTP\r\n"),
            (C, b"EHLO client.example\r\n"),
            (S, b"250-mx.example\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n"),
            (C, b"AUTH LOGIN\r\n"),
            (S, b"334 VXNlcm5hbWU6\r\n"),
            (C, b"YWxpY2U=\r\n"),
            (S, b"334 UGFzc3dvcmQ6\r\n"),
            (C, b"VHIwdWI0ZG9yJjM=\r\n"),
            (S, b"235 ok\r\n"),
            (C, b"STARTTLS\r\n"),
            (C, &hello),
            (S, b"220 2.0.0 Ready to start TLS\r\n"),
        ];
        let out = run(&env(&[]), 25, conv);
        assert_eq!(
            credentials(&out),
            vec![("smtp.auth".into(), Some("alice".into()))]
        );
        assert_eq!(meta(&out, "mail.starttls"), vec!["used"]);
        assert_eq!(anomalies(&out), vec!["content-before-starttls"]);
        assert_eq!(
            layer_names(&out),
            vec!["smtp", "tls"],
            "the rest went to TLS"
        );
        assert_secret_absent(&out, "Tr0ub4dor");
    }

    #[test]
    fn inside_tls_the_starttls_state_is_not_reported() {
        use crate::evidence::provenance::KeySource;
        let env = env(&[]);
        let f = flow(465);
        let mut out = crate::proto::dissector::Collector::default();
        {
            let mut cx = Cx::new(&env, &f, &mut out, Default::default());
            let mut s = crate::proto::dissector::Stream::new(
                crate::evidence::Layer::keyed("tls1.3", KeySource::KeyLog),
                Default::default(),
            );
            for (d, b) in [
                (C, &b"EHLO c\r\n"[..]),
                (S, b"220 mx ESMTP\r\n250-mx\r\n250 AUTH PLAIN\r\n"),
            ] {
                s.data(&mut cx, d, b);
            }
            s.finish(&mut cx);
        }
        assert_eq!(protocol(&out).as_deref(), Some("smtp"));
        assert!(meta(&out, "mail.starttls").is_empty());
    }

    #[test]
    fn refused_starttls_and_offered_but_unused() {
        let conv: &[(Direction, &[u8])] = &[
            (S, b"220 mx ESMTP\r\n"),
            (C, b"EHLO c\r\n"),
            (S, b"250-mx\r\n250 STARTTLS\r\n"),
            (C, b"STARTTLS\r\n"),
            (
                S,
                b"454 4.7.0 TLS not available due to temporary reason\r\n",
            ),
            (C, b"QUIT\r\n"),
            (S, b"221 bye\r\n"),
        ];
        let out = run(&env(&[]), 25, conv);
        assert_eq!(meta(&out, "mail.starttls"), vec!["refused"]);
        let out = run(&env(&[]), 25, &conv[..3]);
        assert_eq!(meta(&out, "mail.starttls"), vec!["offered"]);
    }

    #[test]
    fn pipelined_bdat_and_base64_body() {
        let body = b"Subject: =?utf-8?B?w5xiZXJyYXNjaHVuZw==?=\r\nContent-Transfer-Encoding: base64\r\n\r\nU2VlIHlvdSBhdCB0aGUgc3RhdGlvbg==\r\n";
        let mut c = b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT ".to_vec();
        c.extend_from_slice(format!("{} LAST\r\n", body.len()).as_bytes());
        c.extend_from_slice(body);
        c.extend_from_slice(b"QUIT\r\n");
        let conv: &[(Direction, &[u8])] = &[
            (S, b"220 mx ESMTP\r\n"),
            (C, b"EHLO c\r\n"),
            (S, b"250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n"),
            (C, &c),
            (S, b"250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n"),
        ];
        let out = run(&env(&[]), 25, conv);
        assert_eq!(
            contents(&out),
            vec![
                ("mail.subject".into(), "Überraschung".into()),
                ("mail.body".into(), "See you at the station".into())
            ]
        );
    }

    #[test]
    fn pgp_mail_is_an_e2e_envelope_not_content() {
        let conv: &[(Direction, &[u8])] = &[
            (S, b"220 mx ESMTP\r\n"),
            (C, b"EHLO c\r\n"),
            (S, b"250 mx\r\n"),
            (C, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
            (S, b"250 ok\r\n250 ok\r\n354 go ahead\r\n"),
            (C, b"Subject: ...\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA5/8Z2lH8kYjAQf/\r\n-----END PGP MESSAGE-----\r\n.\r\n"),
            (S, b"250 queued\r\n"),
        ];
        let out = run(&env(&[]), 25, conv);
        assert_eq!(e2e(&out), vec!["openpgp"]);
        assert!(contents(&out).is_empty(), "{:?}", contents(&out));
    }

    #[test]
    fn probe_tells_smtp_from_ftp() {
        let mk = |s: &'static [u8], c: &'static [u8], port| ProbeInput {
            transport: crate::model::Transport::Tcp,
            to_server: c,
            to_client: s,
            datagrams: &[],
            client_port: 50000,
            server_port: port,
            depth: 0,
            hint: None,
        };
        assert_eq!(
            probe(&mk(b"220 mx ESMTP Postfix\r\n", b"", 2500)),
            Confidence::Certain
        );
        assert_eq!(
            probe(&mk(b"220 ProFTPD ready\r\n", b"", 21)),
            Confidence::NeedMore
        );
        assert_eq!(
            probe(&mk(b"220 ProFTPD ready\r\n", b"USER x\r\n", 21)),
            Confidence::No
        );
        assert_eq!(probe(&mk(b"", b"EHLO x\r\n", 9)), Confidence::Certain);
        assert_eq!(probe(&mk(b"", b"", 25)), Confidence::NeedMore);
        assert_eq!(probe(&mk(b"SSH-2.0-x\r\n", b"", 25)), Confidence::Port);
    }

    #[test]
    fn garbage_never_panics() {
        let env = env(&[]);
        let mut x: u32 = 7;
        for _ in 0..200 {
            let mut conv = Vec::new();
            for _ in 0..6 {
                let mut v = Vec::new();
                for _ in 0..(x % 40) {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    let b =
                        [b'2', b'3', b'\n', b' ', b'-', b'.', b'A', 0xff][(x >> 16) as usize % 8];
                    v.push(b);
                }
                conv.push(v);
            }
            let mut c: Vec<(Direction, &[u8])> = vec![
                (S, b"220 x ESMTP\r\n"),
                (C, b"DATA\r\n"),
                (C, b"BDAT 99999999999\r\n"),
            ];
            for (i, v) in conv.iter().enumerate() {
                c.push((if i % 2 == 0 { C } else { S }, v));
            }
            let _ = run(&env, 25, &c);
        }
    }
}
