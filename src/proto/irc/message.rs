//! IRC message lines (RFC 1459 §2.3.1, RFC 2812, IRCv3 message tags).
//!
//! `[@tags ][:prefix ]COMMAND[ params][ :trailing]` over one line without its
//! terminator. Parsing borrows from the line and never fails on bytes: a line
//! without a command is `None`.

/// Most parameters kept (RFC 2812 allows 15).
const MAX_PARAMS: usize = 15;

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub tags: Option<&'a [u8]>,
    pub prefix: Option<&'a [u8]>,
    pub command: &'a [u8],
    pub params: Vec<&'a [u8]>,
}

pub fn parse(line: &[u8]) -> Option<Message<'_>> {
    let mut rest = line.trim_ascii_start();
    let mut tags = None;
    if let Some(r) = rest.strip_prefix(b"@") {
        let sp = memchr::memchr(b' ', r)?;
        tags = Some(&r[..sp]);
        rest = r[sp..].trim_ascii_start();
    }
    let mut prefix = None;
    if let Some(r) = rest.strip_prefix(b":") {
        let sp = memchr::memchr(b' ', r)?;
        prefix = Some(&r[..sp]);
        rest = r[sp..].trim_ascii_start();
    }
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let command = &rest[..end];
    if command.is_empty() || !command.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    rest = &rest[end..];
    let mut params = Vec::new();
    loop {
        rest = trim_spaces(rest);
        if rest.is_empty() {
            break;
        }
        if let Some(t) = rest.strip_prefix(b":") {
            params.push(t);
            break;
        }
        if params.len() + 1 == MAX_PARAMS {
            params.push(rest);
            break;
        }
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        params.push(&rest[..end]);
        rest = &rest[end..];
    }
    Some(Message {
        tags,
        prefix,
        command,
        params,
    })
}

fn trim_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ').count();
    &b[n..]
}

impl<'a> Message<'a> {
    /// The command, upper-cased (commands are case-insensitive).
    pub fn verb(&self) -> String {
        String::from_utf8_lossy(&self.command[..self.command.len().min(32)]).to_ascii_uppercase()
    }

    /// The three-digit numeric reply, if the command is one.
    pub fn numeric(&self) -> Option<u16> {
        if self.command.len() == 3 && self.command.iter().all(u8::is_ascii_digit) {
            Some(
                self.command
                    .iter()
                    .fold(0u16, |a, &d| a * 10 + (d - b'0') as u16),
            )
        } else {
            None
        }
    }

    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        self.params.get(i).copied()
    }

    /// The nick of a `nick!user@host` prefix (none for a server prefix).
    pub fn nick(&self) -> Option<&'a [u8]> {
        let p = self.prefix?;
        let bang = memchr::memchr(b'!', p)?;
        Some(&p[..bang])
    }

    /// The host of a `nick!user@host` prefix.
    pub fn host(&self) -> Option<&'a [u8]> {
        let p = self.prefix?;
        memchr::memchr(b'!', p)?;
        let at = memchr::memrchr(b'@', p)?;
        Some(&p[at + 1..])
    }
}

/// A CTCP payload (`\x01VERSION xchat 2.8\x01`): command and argument.
pub fn ctcp(text: &[u8]) -> Option<(String, &[u8])> {
    let inner = text.strip_prefix(b"\x01")?;
    let inner = inner.strip_suffix(b"\x01").unwrap_or(inner);
    let sp = memchr::memchr(b' ', inner).unwrap_or(inner.len());
    let cmd = String::from_utf8_lossy(&inner[..sp.min(32)]).to_ascii_uppercase();
    Some((cmd, inner.get(sp + 1..).unwrap_or_default()))
}

/// Message text without mIRC formatting codes (bold, colours, reset, ...),
/// decoded as UTF-8 or, failing that, Latin-1 (older clients).
pub fn plain_text(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            0x02 | 0x0f | 0x11 | 0x16 | 0x1d | 0x1e | 0x1f => i += 1,
            0x03 => {
                // \x03[fg[,bg]] with one or two digits each.
                i += 1;
                i += digits(&text[i..]);
                if text.get(i) == Some(&b',') && text.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                    i += digits(&text[i..]);
                }
            }
            0x04 => {
                // \x04RRGGBB hex colour.
                i += 1;
                i += text[i..]
                    .iter()
                    .take(6)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    crate::proto::mail::text(&out)
}

fn digits(b: &[u8]) -> usize {
    b.iter().take(2).take_while(|d| d.is_ascii_digit()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_and_ircv3_lines() {
        let m = parse(b":leguin.freenode.net 001 brotest :Welcome to the freenode Internet Relay Chat Network brotest").unwrap();
        assert_eq!(m.prefix, Some(&b"leguin.freenode.net"[..]));
        assert_eq!(m.numeric(), Some(1));
        assert_eq!(
            m.params[1],
            b"Welcome to the freenode Internet Relay Chat Network brotest"
        );
        assert_eq!(m.nick(), None);

        let m = parse(
            b"@time=2024-01-01T00:00:00Z;msgid=x :alice!~a@host.example PRIVMSG #chan :hi there",
        )
        .unwrap();
        assert_eq!(m.tags, Some(&b"time=2024-01-01T00:00:00Z;msgid=x"[..]));
        assert_eq!(m.nick(), Some(&b"alice"[..]));
        assert_eq!(m.host(), Some(&b"host.example"[..]));
        assert_eq!(m.verb(), "PRIVMSG");
        assert_eq!(m.params, vec![&b"#chan"[..], b"hi there"]);

        // zeek/irc-basic.pcap: a one-word message without the trailing colon.
        let m = parse(b"PRIVMSG #brotest test").unwrap();
        assert_eq!(m.params, vec![&b"#brotest"[..], b"test"]);

        let m = parse(b"USER brotest * * :brotest").unwrap();
        assert_eq!(m.params.len(), 4);
    }

    #[test]
    fn malformed_lines() {
        for l in [
            &b""[..],
            b":",
            b"@",
            b":pfx",
            b"@tags",
            b"   ",
            b":a :b",
            b"PRIV\xffMSG x",
        ] {
            assert_eq!(parse(l), None, "{l:?}");
        }
        let many = b"CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17";
        let m = parse(many).unwrap();
        assert_eq!(m.params.len(), 15);
        assert_eq!(m.params[14], b"15 16 17");
    }

    #[test]
    fn ctcp_and_formatting() {
        assert_eq!(
            ctcp(b"\x01VERSION xchat 2.8.8 Ubuntu\x01"),
            Some(("VERSION".into(), &b"xchat 2.8.8 Ubuntu"[..]))
        );
        assert_eq!(
            ctcp(b"\x01ACTION waves\x01"),
            Some(("ACTION".into(), &b"waves"[..]))
        );
        assert_eq!(ctcp(b"hello"), None);
        assert_eq!(
            plain_text(b"\x02bold\x02 \x0304,12red\x03 plain\x0f"),
            "bold red plain"
        );
        assert_eq!(plain_text(b"caf\xe9"), "café");
    }
}
