//! SDP session descriptions (RFC 8866) as far as media protection goes.
//!
//! SDP travels in SIP, XMPP Jingle, WebSocket or HTTP bodies. What matters:
//! `a=crypto` lines (RFC 4568 SDES) carry the SRTP master key itself, so an
//! SDP readable on the path hands the media keys to every reader; `a=fingerprint`
//! means DTLS-SRTP (keys never cross); `a=zrtp-hash` means ZRTP; `c=` and
//! `a=candidate` lines reveal addresses.

use crate::model::Direction;
use crate::proto::dissector::{Cx, Dissector};
use std::borrow::Cow;

/// One `a=crypto` line, without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: String,
    pub suite: String,
    /// The line carries an `inline:` key (always, for SRTP).
    pub inline_key: bool,
}

/// What a session description says about media protection and addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// `m=` lines as `media port proto` (e.g. `audio 49170 RTP/SAVP`).
    pub media: Vec<String>,
    pub crypto: Vec<Crypto>,
    /// `a=fingerprint:` present (DTLS-SRTP).
    pub dtls_fingerprint: bool,
    /// `a=zrtp-hash:` present.
    pub zrtp_hash: bool,
    /// Addresses from `c=` lines and ICE candidates.
    pub addresses: Vec<String>,
}

impl Session {
    /// How the media keys are agreed, as announced.
    pub fn keying(&self) -> &'static str {
        if !self.crypto.is_empty() {
            "sdes"
        } else if self.dtls_fingerprint {
            "dtls-srtp"
        } else if self.zrtp_hash {
            "zrtp"
        } else if self.media.iter().any(|m| m.contains("RTP/AVP")) {
            "none"
        } else {
            "unknown"
        }
    }
}

/// Whether bytes start like an SDP body (`v=0` then another `x=` line).
pub fn looks_like_sdp(data: &[u8]) -> bool {
    data.starts_with(b"v=0\r\n") || data.starts_with(b"v=0\n")
}

/// Parses an SDP body. Lines that do not parse are skipped; at most 512
/// lines are read.
pub fn parse(body: &[u8]) -> Session {
    let mut s = Session::default();
    let text = String::from_utf8_lossy(body);
    for line in text.lines().take(512) {
        let line = line.trim_end_matches('\r');
        if let Some(m) = line.strip_prefix("m=") {
            let mut f = m.split_whitespace();
            if let (Some(kind), Some(port), Some(proto)) = (f.next(), f.next(), f.next()) {
                push_capped(&mut s.media, format!("{kind} {port} {proto}"));
            }
        } else if let Some(c) = line.strip_prefix("c=") {
            // c=IN IP4 192.0.2.1[/ttl]
            if let Some(addr) = c.split_whitespace().nth(2) {
                let addr = addr.split('/').next().unwrap_or(addr);
                if addr.parse::<std::net::IpAddr>().is_ok() && addr != "0.0.0.0" {
                    push_capped(&mut s.addresses, addr.to_string());
                }
            }
        } else if let Some(a) = line.strip_prefix("a=") {
            let (name, value) = a.split_once(':').unwrap_or((a, ""));
            match name {
                "crypto" => {
                    let mut f = value.split_whitespace();
                    if let (Some(tag), Some(suite)) = (f.next(), f.next())
                        && s.crypto.len() < 16
                    {
                        s.crypto.push(Crypto {
                            tag: tag.to_string(),
                            suite: suite.to_string(),
                            inline_key: f.any(|p| p.starts_with("inline:")),
                        });
                    }
                }
                "fingerprint" => s.dtls_fingerprint = true,
                "zrtp-hash" => s.zrtp_hash = true,
                "candidate" => {
                    // foundation component transport priority address port typ ...
                    let f: Vec<&str> = value.split_whitespace().collect();
                    if let (Some(addr), Some(port)) = (f.get(4), f.get(5))
                        && addr.parse::<std::net::IpAddr>().is_ok()
                    {
                        push_capped(&mut s.addresses, format!("{addr} port {port}"));
                    }
                }
                _ => {}
            }
        }
    }
    s
}

fn push_capped(v: &mut Vec<String>, item: String) {
    if v.len() < 32 && !v.contains(&item) {
        v.push(item);
    }
}

/// Reports what an SDP body reveals. Called by any dissector that carries
/// SDP (SIP, Jingle, HTTP, WebSocket) and by [`SdpDissector`].
pub fn report(cx: &mut Cx<'_>, dir: Direction, body: &[u8]) {
    let s = parse(body);
    if s.media.is_empty() && s.crypto.is_empty() {
        return;
    }
    for m in &s.media {
        cx.meta("sdp.media", m.clone());
    }
    cx.meta("sdp.keying", s.keying());
    for a in s.addresses.iter().take(8) {
        cx.meta("sdp.address", a.clone());
    }
    for c in &s.crypto {
        if c.inline_key {
            // The suite names the key, never the key itself.
            cx.credential(
                dir,
                "sdp.crypto",
                Some(format!("a=crypto:{} {}", c.tag, c.suite)),
            );
        }
    }
}

/// A stream whose bytes are an SDP body (a `Content-Type: application/sdp`
/// body handed on by HTTP, SIP or WebSocket).
#[derive(Default)]
pub struct SdpDissector {
    buf: [Vec<u8>; 2],
}

/// SDP bodies are small; anything beyond this is not a session description.
const MAX_SDP: usize = 64 * 1024;

impl Dissector for SdpDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("sdp")
    }

    fn on_data(&mut self, _cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let b = &mut self.buf[dir.index()];
        let room = MAX_SDP.saturating_sub(b.len());
        b.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let b = std::mem::take(&mut self.buf[dir.index()]);
            if looks_like_sdp(&b) {
                report(cx, dir, &b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4568 §4 offer (SDES).
    const RFC4568: &str = "v=0\r\n\
o=sam 2890844526 2890842807 IN IP4 10.47.16.5\r\n\
s=SRTP Discussion\r\n\
i=A discussion about Secure RTP\r\n\
u=http://www.example.com/seminars/srtp.pdf\r\n\
e=marge@example.com (Marge Simpson)\r\n\
c=IN IP4 168.2.17.12\r\n\
t=2873397496 2873404696\r\n\
m=audio 49170 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4 FEC_ORDER=FEC_SRTP\r\n";

    #[test]
    fn sdes_offer_exposes_a_key() {
        let s = parse(RFC4568.as_bytes());
        assert_eq!(s.media, vec!["audio 49170 RTP/SAVP"]);
        assert_eq!(
            s.crypto,
            vec![Crypto {
                tag: "1".into(),
                suite: "AES_CM_128_HMAC_SHA1_80".into(),
                inline_key: true
            }]
        );
        assert_eq!(s.keying(), "sdes");
        assert_eq!(s.addresses, vec!["168.2.17.12"]);
        assert!(looks_like_sdp(RFC4568.as_bytes()));
    }

    #[test]
    fn webrtc_offer_uses_dtls_and_lists_candidates() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
a=candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 192.168.1.5 rport 61234\r\n\
a=fingerprint:sha-256 AA:BB\r\n";
        let s = parse(sdp.as_bytes());
        assert_eq!(s.keying(), "dtls-srtp");
        assert_eq!(s.addresses, vec!["203.0.113.7 port 61234"]);
        assert!(s.crypto.is_empty());
    }

    #[test]
    fn plain_rtp_offer_has_no_keying() {
        let s = parse(b"v=0\nm=audio 5004 RTP/AVP 0 8\nc=IN IP6 2001:db8::5\n");
        assert_eq!(s.keying(), "none");
        assert_eq!(s.addresses, vec!["2001:db8::5"]);
        assert!(!looks_like_sdp(b"HTTP/1.1 200 OK\r\n"));
    }
}
