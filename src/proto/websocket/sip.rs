//! SIP messages carried in WebSocket text frames (RFC 7118).
//!
//! A SIP `MESSAGE` request (RFC 3428) is an instant message: its body is
//! message content. The From/To URIs name the two parties and `User-Agent`
//! the client: metadata anyone on the path reads. Digest credentials in
//! `Authorization` name the account.

/// What a SIP message exposes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sip<'a> {
    /// Request method, `None` for responses.
    pub method: Option<&'a str>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub user_agent: Option<String>,
    /// `username` of a Digest `Authorization`/`Proxy-Authorization`.
    pub digest_user: Option<String>,
    pub content_type: Option<String>,
    pub body: &'a [u8],
}

/// Methods of RFC 3261 and its extensions.
const METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

/// Parses a complete SIP message; `None` when `msg` is not SIP.
pub fn parse(msg: &[u8]) -> Option<Sip<'_>> {
    let head_end = find(msg, b"\r\n\r\n")?;
    let head = std::str::from_utf8(msg.get(..head_end)?).ok()?;
    let mut lines = head.split("\r\n");
    let first = lines.next()?;
    let method = if first.starts_with("SIP/2.0 ") {
        None
    } else {
        let (m, rest) = first.split_once(' ')?;
        if !METHODS.contains(&m) || !rest.ends_with(" SIP/2.0") {
            return None;
        }
        Some(m)
    };
    let mut sip = Sip {
        method,
        ..Sip::default()
    };
    let mut length: Option<usize> = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let is = |long: &str, short: &str| {
            name.trim().eq_ignore_ascii_case(long) || (!short.is_empty() && name.trim() == short)
        };
        if is("from", "f") {
            sip.from = uri(value);
        } else if is("to", "t") {
            sip.to = uri(value);
        } else if is("user-agent", "") {
            sip.user_agent = Some(value.chars().take(128).collect());
        } else if is("content-type", "c") {
            sip.content_type = Some(value.to_ascii_lowercase());
        } else if is("content-length", "l") {
            length = value.parse().ok();
        } else if (is("authorization", "") || is("proxy-authorization", ""))
            && let Some(p) = value
                .get(..7)
                .filter(|s| s.eq_ignore_ascii_case("digest "))
                .map(|_| &value[7..])
        {
            sip.digest_user = crate::proto::http::auth::digest_username(p);
        }
    }
    let body = msg.get(head_end + 4..).unwrap_or_default();
    sip.body = match length {
        Some(n) => body.get(..n).unwrap_or(body),
        None => body,
    };
    Some(sip)
}

/// The URI inside a From/To value: `"Bob" <sip:bob@example.org>;tag=1` → `sip:bob@example.org`.
fn uri(v: &str) -> Option<String> {
    let inner = match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v.split(';').next().unwrap_or(v),
    };
    let inner = inner.trim();
    (!inner.is_empty()).then(|| inner.chars().take(128).collect())
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

impl Sip<'_> {
    /// The instant-message text of a `MESSAGE` request: a `text/plain` body,
    /// or the text part of a `message/cpim` wrapper (RFC 3862).
    pub fn message_text(&self) -> Option<&[u8]> {
        if self.method != Some("MESSAGE") || self.body.is_empty() {
            return None;
        }
        let ct = self.content_type.as_deref().unwrap_or("text/plain");
        if ct.starts_with("text/plain") {
            return Some(self.body);
        }
        if ct.starts_with("message/cpim") {
            // CPIM: message headers, a blank line, MIME headers, a blank line, content.
            let first = find(self.body, b"\r\n\r\n")? + 4;
            let rest = self.body.get(first..)?;
            let second = find(rest, b"\r\n\r\n")? + 4;
            return rest.get(second..);
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The MESSAGE request of wireshark-notes websocket-sip.pcapng (frame 11,
    /// unmasked).
    pub const MESSAGE: &[u8] = b"MESSAGE sip:9f86ae43@tryit.jssip.net SIP/2.0\r\n\
        Via: SIP/2.0/WS il96p275flie.invalid;branch=z9hG4bK6214663\r\n\
        Max-Forwards: 69\r\n\
        To: <sip:9f86ae43@tryit.jssip.net>\r\n\
        From: \"Lekensteyn\" <sip:4df78f98@tryit.jssip.net>;tag=oo4j3ukuvn\r\n\
        Call-ID: gp0t3jlct7bfjom9q0n3\r\n\
        CSeq: 4456 MESSAGE\r\n\
        Content-Type: text/plain\r\n\
        Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS\r\n\
        Supported: outbound\r\n\
        User-Agent: JsSIP 0.6.18\r\n\
        Content-Length: 21\r\n\r\n\
        Hi there, wanna talk?";

    #[test]
    fn message_body_and_parties() {
        let s = parse(MESSAGE).unwrap();
        assert_eq!(s.method, Some("MESSAGE"));
        assert_eq!(s.message_text(), Some(&b"Hi there, wanna talk?"[..]));
        assert_eq!(s.from.as_deref(), Some("sip:4df78f98@tryit.jssip.net"));
        assert_eq!(s.to.as_deref(), Some("sip:9f86ae43@tryit.jssip.net"));
        assert_eq!(s.user_agent.as_deref(), Some("JsSIP 0.6.18"));
    }

    #[test]
    fn other_requests_responses_and_non_sip() {
        let r = b"SIP/2.0 200 OK\r\nf: <sip:a@b>\r\nl: 0\r\n\r\n";
        let s = parse(r).unwrap();
        assert_eq!(s.method, None);
        assert_eq!(s.from.as_deref(), Some("sip:a@b"));
        assert_eq!(s.message_text(), None);
        assert!(parse(b"GET / HTTP/1.1\r\n\r\n").is_none());
        assert!(parse(b"{\"text\": \"hello\"}").is_none());
        let reg = b"REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"bob\", realm=\"x\"\r\n\r\n";
        assert_eq!(parse(reg).unwrap().digest_user.as_deref(), Some("bob"));
        for cut in 0..MESSAGE.len() {
            let _ = parse(&MESSAGE[..cut]);
        }
    }

    #[test]
    fn cpim_wrapped_text() {
        let m = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Type: message/cpim\r\n\r\n\
            From: <sip:a@b>\r\nTo: <sip:c@d>\r\n\r\nContent-Type: text/plain\r\n\r\nhello over cpim";
        assert_eq!(
            parse(m).unwrap().message_text(),
            Some(&b"hello over cpim"[..])
        );
    }
}
