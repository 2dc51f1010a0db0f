//! SASL exchanges seen on the wire (SMTP `AUTH`, IMAP `AUTHENTICATE`, POP3
//! `AUTH`, XMPP `<auth>`, IRCv3 `AUTHENTICATE`).
//!
//! Each mechanism is followed just far enough to learn the user name and
//! whether secret material (a password, a digest, a token) crossed. The
//! secret itself is never kept: only the fact is reported.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;

/// Decodes SASL base64, tolerating whitespace and missing padding. A lone
/// `=` is the empty response (RFC 4954, RFC 6120).
pub fn decode_b64(data: &[u8]) -> Option<Vec<u8>> {
    let clean: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if clean == b"=" {
        return Some(Vec::new());
    }
    if clean.len() > 1 << 16 {
        return None;
    }
    STANDARD_PAD_INDIFFERENT.decode(&clean).ok()
}

/// The mechanisms plainsight follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mech {
    Plain,
    Login,
    CramMd5,
    DigestMd5,
    Scram,
    XOAuth2,
    OAuthBearer,
    /// Mechanisms that carry no reusable secret (EXTERNAL, ANONYMOUS, GSSAPI).
    NoSecret,
    Other,
}

impl Mech {
    pub fn parse(name: &str) -> Mech {
        let n = name.trim().to_ascii_uppercase();
        match n.as_str() {
            "PLAIN" => Mech::Plain,
            "LOGIN" => Mech::Login,
            "CRAM-MD5" => Mech::CramMd5,
            "DIGEST-MD5" => Mech::DigestMd5,
            "XOAUTH2" | "X-OAUTH2" => Mech::XOAuth2,
            "OAUTHBEARER" => Mech::OAuthBearer,
            "EXTERNAL" | "ANONYMOUS" | "GSSAPI" | "GS2-KRB5" => Mech::NoSecret,
            _ if n.starts_with("SCRAM-") => Mech::Scram,
            _ => Mech::Other,
        }
    }
}

/// What an exchange revealed, reported once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Mechanism name as the client spelled it (upper-cased, capped).
    pub mechanism: String,
    pub user: Option<String>,
}

/// One SASL exchange in progress.
#[derive(Debug, Clone)]
pub struct Sasl {
    name: String,
    mech: Mech,
    responses: u32,
    /// LOGIN: the server asked for the password next.
    want_password: bool,
    user: Option<String>,
    secret: bool,
    reported: bool,
}

impl Sasl {
    pub fn new(mechanism: &str) -> Sasl {
        let name: String = mechanism
            .trim()
            .chars()
            .take(32)
            .collect::<String>()
            .to_ascii_uppercase();
        Sasl {
            mech: Mech::parse(&name),
            name,
            responses: 0,
            want_password: false,
            user: None,
            secret: false,
            reported: false,
        }
    }

    pub fn mech(&self) -> Mech {
        self.mech
    }

    /// A decoded server challenge.
    pub fn server(&mut self, challenge: &[u8]) {
        if self.mech == Mech::Login {
            let c = String::from_utf8_lossy(challenge).to_ascii_lowercase();
            if c.contains("pass") {
                self.want_password = true;
            } else if c.contains("user") {
                self.want_password = false;
            }
        }
    }

    /// A decoded client message (initial response or a later response).
    pub fn client(&mut self, msg: &[u8]) {
        self.responses += 1;
        match self.mech {
            Mech::Plain => {
                let mut parts = msg.split(|&b| b == 0);
                let authzid = parts.next().unwrap_or_default();
                let authcid = parts.next().unwrap_or_default();
                let passwd = parts.next().unwrap_or_default();
                let who = if authcid.is_empty() { authzid } else { authcid };
                self.set_user(who);
                self.secret |= !passwd.is_empty();
            }
            Mech::Login => {
                if msg.is_empty() {
                    return;
                }
                if self.want_password || (self.user.is_some() && self.responses >= 2) {
                    self.secret = true;
                } else {
                    self.set_user(msg);
                    self.want_password = true;
                }
            }
            Mech::CramMd5 => {
                // "user <hex digest>": the digest is replayable only against the
                // same challenge, but it is an offline-crackable password hash.
                if let Some(sp) = msg.iter().rposition(|&b| b == b' ') {
                    self.set_user(&msg[..sp]);
                    self.secret = true;
                }
            }
            Mech::DigestMd5 => {
                if let Some(u) = digest_field(msg, b"username") {
                    self.set_user(&u);
                }
                self.secret |= digest_field(msg, b"response").is_some();
            }
            Mech::Scram => {
                // client-first: gs2-header "n,," then "n=user,r=nonce";
                // client-final carries the proof "p=".
                let text = String::from_utf8_lossy(msg);
                for attr in text.split(',') {
                    if let Some(u) = attr.strip_prefix("n=")
                        && self.user.is_none()
                    {
                        let u = u.replace("=2C", ",").replace("=3D", "=");
                        self.set_user(u.as_bytes());
                    } else if attr.starts_with("p=") {
                        self.secret = true;
                    }
                }
            }
            Mech::XOAuth2 => {
                for part in msg.split(|&b| b == 1) {
                    if let Some(u) = part.strip_prefix(b"user=") {
                        self.set_user(u);
                    } else if part.starts_with(b"auth=") {
                        self.secret = true;
                    }
                }
            }
            Mech::OAuthBearer => {
                for part in msg.split(|&b| b == 1) {
                    if part.starts_with(b"auth=") {
                        self.secret = true;
                    } else {
                        for attr in part.split(|&b| b == b',') {
                            if let Some(u) = attr.strip_prefix(b"a=") {
                                self.set_user(u);
                            }
                        }
                    }
                }
            }
            Mech::NoSecret | Mech::Other => {}
        }
    }

    fn set_user(&mut self, raw: &[u8]) {
        let u: String = String::from_utf8_lossy(raw)
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        if !u.is_empty() {
            self.user = Some(u);
        }
    }

    /// The report, once a secret crossed (and only once).
    pub fn take(&mut self) -> Option<Report> {
        if self.reported || !self.secret {
            return None;
        }
        self.reported = true;
        Some(Report {
            mechanism: self.name.clone(),
            user: self.user.clone(),
        })
    }

    /// The user learnt so far, even without a secret.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

/// A `key="value"` or `key=value` field of a DIGEST-MD5 response.
fn digest_field(msg: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let mut rest = msg;
    loop {
        let pos = memchr::memmem::find(rest, key)?;
        let at_start = pos == 0 || matches!(rest[pos - 1], b',' | b' ');
        let after = &rest[pos + key.len()..];
        if at_start && after.first() == Some(&b'=') {
            let v = &after[1..];
            return Some(match v.strip_prefix(b"\"") {
                Some(q) => q[..memchr::memchr(b'"', q).unwrap_or(q.len())].to_vec(),
                None => v[..memchr::memchr(b',', v).unwrap_or(v.len())].to_vec(),
            });
        }
        rest = &rest[pos + key.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_reveals_authcid_not_the_password() {
        // RFC 4616 example: "\0tim\0tanstaaftanstaaf"
        let mut s = Sasl::new("PLAIN");
        s.client(&decode_b64(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm").unwrap());
        let r = s.take().unwrap();
        assert_eq!(r.user.as_deref(), Some("tim"));
        assert_eq!(r.mechanism, "PLAIN");
        assert!(!format!("{r:?}").contains("tanstaaf"));
        assert_eq!(s.take(), None, "reported once");
    }

    #[test]
    fn login_follows_the_prompts() {
        let mut s = Sasl::new("login");
        s.server(&decode_b64(b"VXNlcm5hbWU6").unwrap());
        s.client(&decode_b64(b"d2lyZXNoYXJrLXRlc3Q=").unwrap());
        assert_eq!(s.take(), None, "no secret yet");
        s.server(&decode_b64(b"UGFzc3dvcmQ6").unwrap());
        s.client(b"hunter2");
        assert_eq!(s.take().unwrap().user.as_deref(), Some("wireshark-test"));
    }

    #[test]
    fn digest_md5_from_the_jabber_capture() {
        // ndpi/jabber.pcap, client <response> decoded (username="tom", ...).
        let resp = b"username=\"tom\",realm=\"cs-xmpp.lan\",nonce=\"1530751888152025634\",cnonce=\"eee190fe\",nc=00000001,qop=auth,digest-uri=\"xmpp/cs-xmpp.lan\",response=0123456789abcdef0123456789abcdef,charset=utf-8";
        let mut s = Sasl::new("DIGEST-MD5");
        s.client(resp);
        assert_eq!(s.take().unwrap().user.as_deref(), Some("tom"));
    }

    #[test]
    fn cram_md5_scram_and_oauth() {
        let mut s = Sasl::new("CRAM-MD5");
        s.client(b"wireshark-test 34bd763b77a8f4cc05ba9ae73e3dded4");
        assert_eq!(s.take().unwrap().user.as_deref(), Some("wireshark-test"));

        let mut s = Sasl::new("SCRAM-SHA-1");
        s.client(b"n,,n=us=2Cer,r=fyko+d2lbbFgONRv9qkxdawL");
        assert_eq!(s.take(), None, "client-first has no proof");
        assert_eq!(s.user(), Some("us,er"));
        s.client(b"c=biws,r=fyko,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
        assert_eq!(s.take().unwrap().user.as_deref(), Some("us,er"));

        let mut s = Sasl::new("XOAUTH2");
        s.client(b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01");
        assert_eq!(
            s.take().unwrap().user.as_deref(),
            Some("someuser@example.com")
        );

        let mut s = Sasl::new("OAUTHBEARER");
        s.client(b"n,a=user@example.com,\x01host=server.example.com\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==\x01\x01");
        assert_eq!(s.take().unwrap().user.as_deref(), Some("user@example.com"));
    }

    #[test]
    fn no_secret_mechanisms_and_garbage() {
        let mut s = Sasl::new("EXTERNAL");
        s.client(b"");
        assert_eq!(s.take(), None);
        assert_eq!(decode_b64(b"="), Some(vec![]));
        assert_eq!(decode_b64(b"!!!"), None);
        let mut s = Sasl::new("PLAIN");
        s.client(&[0xff, 0, 0xfe]);
        assert_eq!(s.take(), None, "no password part");
        let mut s = Sasl::new("DIGEST-MD5");
        s.client(b"username");
        assert_eq!(s.take(), None);
    }
}
