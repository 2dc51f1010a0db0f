//! TLS handshake messages: ClientHello and ServerHello parsing.
//!
//! Pure parsers over a complete handshake message body (after the 4-byte
//! handshake header). Shared by TLS over TCP, DTLS and QUIC (whose CRYPTO
//! frames carry the same messages). Every length is checked against the
//! remaining input; nothing allocates from an unchecked length.

use std::fmt;

/// Handshake message types (RFC 8446 §4).
pub mod msg {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const END_OF_EARLY_DATA: u8 = 5;
    pub const ENCRYPTED_EXTENSIONS: u8 = 8;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CERTIFICATE_VERIFY: u8 = 15;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    pub const FINISHED: u8 = 20;
    pub const KEY_UPDATE: u8 = 24;
}

/// Extension code points used by parsers and fingerprints.
pub mod ext {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    pub const EC_POINT_FORMATS: u16 = 0x000b;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const USE_SRTP: u16 = 0x000e;
    pub const ALPN: u16 = 0x0010;
    pub const ENCRYPT_THEN_MAC: u16 = 0x0016;
    pub const EXTENDED_MASTER_SECRET: u16 = 0x0017;
    pub const SESSION_TICKET: u16 = 0x0023;
    pub const PRE_SHARED_KEY: u16 = 0x0029;
    pub const EARLY_DATA: u16 = 0x002a;
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
    pub const KEY_SHARE: u16 = 0x0033;
    pub const QUIC_TRANSPORT_PARAMETERS: u16 = 0x0039;
    pub const QUIC_TRANSPORT_PARAMETERS_DRAFT: u16 = 0xffa5;
    pub const ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
    pub const ENCRYPTED_SERVER_NAME: u16 = 0xffce;
}

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// GREASE values (RFC 8701): `0x?a?a` with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Why a message could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub what: &'static str,
    /// Offset in the message body where parsing stopped.
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.what, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// A bounded reader over a byte slice.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn err(&self, what: &'static str) -> ParseError {
        ParseError {
            what,
            offset: self.pos,
        }
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, ParseError> {
        let b = *self.data.get(self.pos).ok_or_else(|| self.err(what))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn u16(&mut self, what: &'static str) -> Result<u16, ParseError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(3, what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        if self.remaining() < n {
            return Err(self.err(what));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A vector with a `len_bytes`-byte length prefix (1, 2 or 3).
    pub fn vec(&mut self, len_bytes: u8, what: &'static str) -> Result<&'a [u8], ParseError> {
        let n = match len_bytes {
            1 => self.u8(what)? as usize,
            2 => self.u16(what)? as usize,
            _ => self.u24(what)? as usize,
        };
        self.take(n, what)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }
}

/// One extension as it appeared on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

/// A parsed ClientHello (TLS, DTLS or QUIC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello<'a> {
    pub legacy_version: u16,
    /// The key-log lookup key.
    pub random: [u8; 32],
    pub session_id: &'a [u8],
    /// DTLS only: the HelloVerifyRequest cookie.
    pub cookie: Option<&'a [u8]>,
    pub cipher_suites: Vec<u16>,
    pub compression: &'a [u8],
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> ClientHello<'a> {
    pub fn extension(&self, kind: u16) -> Option<&'a [u8]> {
        self.extensions
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.data)
    }

    /// The host name from `server_name`, if any and if valid text.
    pub fn sni(&self) -> Option<String> {
        let data = self.extension(ext::SERVER_NAME)?;
        let mut c = Cursor::new(data);
        let mut list = Cursor::new(c.vec(2, "server_name list").ok()?);
        while !list.is_empty() {
            let kind = list.u8("name type").ok()?;
            let name = list.vec(2, "host name").ok()?;
            if kind == 0 {
                let s = std::str::from_utf8(name).ok()?;
                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()) {
                    return Some(s.to_ascii_lowercase());
                }
                return None;
            }
        }
        None
    }

    /// ALPN protocol names offered, in order (invalid UTF-8 shown as hex).
    pub fn alpn(&self) -> Vec<String> {
        self.extension(ext::ALPN)
            .map(parse_alpn_list)
            .unwrap_or_default()
    }

    /// `supported_versions`, GREASE removed.
    pub fn supported_versions(&self) -> Vec<u16> {
        let Some(data) = self.extension(ext::SUPPORTED_VERSIONS) else {
            return Vec::new();
        };
        let mut c = Cursor::new(data);
        let Ok(list) = c.vec(1, "versions") else {
            return Vec::new();
        };
        list.chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .filter(|v| !is_grease(*v))
            .collect()
    }

    /// Named groups offered in `key_share`, GREASE removed.
    pub fn key_share_groups(&self) -> Vec<u16> {
        let Some(data) = self.extension(ext::KEY_SHARE) else {
            return Vec::new();
        };
        let mut c = Cursor::new(data);
        let Ok(list) = c.vec(2, "key shares") else {
            return Vec::new();
        };
        let mut c = Cursor::new(list);
        let mut out = Vec::new();
        while !c.is_empty() {
            let Ok(g) = c.u16("group") else { break };
            if c.vec(2, "key exchange").is_err() {
                break;
            }
            if !is_grease(g) {
                out.push(g);
            }
        }
        out
    }

    /// Whether an ECH extension is present, and if so whether it is the outer form.
    pub fn ech(&self) -> Option<EchKind> {
        let data = self.extension(ext::ENCRYPTED_CLIENT_HELLO)?;
        Some(match data.first() {
            Some(0) => EchKind::Outer,
            Some(1) => EchKind::Inner,
            _ => EchKind::Unknown,
        })
    }
}

/// The form of an `encrypted_client_hello` extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchKind {
    Outer,
    Inner,
    Unknown,
}

/// Parses an ALPN `ProtocolNameList` (with its 2-byte length).
pub fn parse_alpn_list(data: &[u8]) -> Vec<String> {
    let mut c = Cursor::new(data);
    let Ok(list) = c.vec(2, "alpn list") else {
        return Vec::new();
    };
    let mut c = Cursor::new(list);
    let mut out = Vec::new();
    while let Ok(p) = c.vec(1, "alpn") {
        out.push(match std::str::from_utf8(p) {
            Ok(s) if s.bytes().all(|b| b.is_ascii_graphic()) => s.to_string(),
            _ => p.iter().map(|b| format!("{b:02x}")).collect(),
        });
    }
    out
}

fn parse_extensions<'a>(c: &mut Cursor<'a>) -> Result<Vec<Extension<'a>>, ParseError> {
    let mut out = Vec::new();
    if c.is_empty() {
        return Ok(out);
    }
    let block = c.vec(2, "extensions length")?;
    let mut e = Cursor::new(block);
    while !e.is_empty() {
        let kind = e.u16("extension type")?;
        let data = e.vec(2, "extension data")?;
        out.push(Extension { kind, data });
    }
    Ok(out)
}

/// Parses a ClientHello body. `dtls` adds the cookie field after the session id.
pub fn parse_client_hello(body: &[u8], dtls: bool) -> Result<ClientHello<'_>, ParseError> {
    let mut c = Cursor::new(body);
    let legacy_version = c.u16("client version")?;
    let random: [u8; 32] = c
        .take(32, "client random")?
        .try_into()
        .map_err(|_| c.err("client random"))?;
    let session_id = c.vec(1, "session id")?;
    if session_id.len() > 32 {
        return Err(c.err("session id longer than 32 bytes"));
    }
    let cookie = if dtls {
        Some(c.vec(1, "cookie")?)
    } else {
        None
    };
    let suites = c.vec(2, "cipher suites")?;
    if !suites.len().is_multiple_of(2) {
        return Err(c.err("odd cipher suite list length"));
    }
    let cipher_suites = suites
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let compression = c.vec(1, "compression methods")?;
    let extensions = parse_extensions(&mut c)?;
    Ok(ClientHello {
        legacy_version,
        random,
        session_id,
        cookie,
        cipher_suites,
        compression,
        extensions,
    })
}

/// A parsed ServerHello (or HelloRetryRequest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello<'a> {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: &'a [u8],
    pub cipher_suite: u16,
    pub compression: u8,
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> ServerHello<'a> {
    pub fn extension(&self, kind: u16) -> Option<&'a [u8]> {
        self.extensions
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.data)
    }

    /// The negotiated version: `supported_versions` if present, else the legacy field.
    pub fn version(&self) -> u16 {
        match self.extension(ext::SUPPORTED_VERSIONS) {
            Some([a, b]) => u16::from_be_bytes([*a, *b]),
            _ => self.legacy_version,
        }
    }

    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// The ALPN protocol the server selected.
    pub fn alpn(&self) -> Option<String> {
        self.extension(ext::ALPN)
            .map(parse_alpn_list)
            .and_then(|v| v.into_iter().next())
    }

    pub fn encrypt_then_mac(&self) -> bool {
        self.extension(ext::ENCRYPT_THEN_MAC).is_some()
    }
}

/// Parses a ServerHello body (DTLS uses the same layout).
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello<'_>, ParseError> {
    let mut c = Cursor::new(body);
    let legacy_version = c.u16("server version")?;
    let random: [u8; 32] = c
        .take(32, "server random")?
        .try_into()
        .map_err(|_| c.err("server random"))?;
    let session_id = c.vec(1, "session id")?;
    let cipher_suite = c.u16("cipher suite")?;
    let compression = c.u8("compression method")?;
    let extensions = parse_extensions(&mut c)?;
    Ok(ServerHello {
        legacy_version,
        random,
        session_id,
        cipher_suite,
        compression,
        extensions,
    })
}

/// Human name of a protocol version.
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0200 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        _ => "unknown",
    }
}

/// One complete handshake message (header removed).
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub msg_type: u8,
    pub body: Vec<u8>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies may hold key exchange values: show only type and size.
        write!(
            f,
            "Message({}, {} bytes)",
            msg_name(self.msg_type),
            self.body.len()
        )
    }
}

/// Name of a handshake message type.
pub fn msg_name(t: u8) -> &'static str {
    match t {
        0 => "hello_request",
        msg::CLIENT_HELLO => "client_hello",
        msg::SERVER_HELLO => "server_hello",
        3 => "hello_verify_request",
        msg::NEW_SESSION_TICKET => "new_session_ticket",
        msg::END_OF_EARLY_DATA => "end_of_early_data",
        msg::ENCRYPTED_EXTENSIONS => "encrypted_extensions",
        msg::CERTIFICATE => "certificate",
        msg::SERVER_KEY_EXCHANGE => "server_key_exchange",
        msg::CERTIFICATE_REQUEST => "certificate_request",
        msg::SERVER_HELLO_DONE => "server_hello_done",
        msg::CERTIFICATE_VERIFY => "certificate_verify",
        msg::CLIENT_KEY_EXCHANGE => "client_key_exchange",
        msg::FINISHED => "finished",
        msg::KEY_UPDATE => "key_update",
        254 => "message_hash",
        _ => "unknown",
    }
}

/// Reassembles handshake messages of one direction across records (a
/// message may span records and a record may hold several messages).
/// Messages longer than the cap are skipped, not buffered.
#[derive(Debug)]
pub struct Reassembler {
    buf: Vec<u8>,
    /// Bytes of an oversized message still to skip.
    skip: usize,
    cap: usize,
    /// Messages skipped because they exceeded the cap.
    pub oversized: u64,
}

impl Reassembler {
    pub fn new(cap: usize) -> Reassembler {
        Reassembler {
            buf: Vec::new(),
            skip: 0,
            cap,
            oversized: 0,
        }
    }

    /// Drops a partial message (the stream lost sync or the keys changed).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.skip = 0;
    }

    /// True when part of a message is buffered.
    pub fn is_partial(&self) -> bool {
        !self.buf.is_empty() || self.skip > 0
    }

    /// Adds handshake-record content; returns the messages it completed.
    pub fn push(&mut self, mut data: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        self.buf.extend_from_slice(data);
        let mut pos = 0;
        while let Some(h) = self.buf.get(pos..pos + 4) {
            let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            if len > self.cap {
                self.oversized += 1;
                let have = self.buf.len() - pos - 4;
                self.skip = len.saturating_sub(have);
                pos = (pos + 4 + len).min(self.buf.len());
                continue;
            }
            let Some(body) = self.buf.get(pos + 4..pos + 4 + len) else {
                break;
            };
            out.push(Message {
                msg_type: h[0],
                body: body.to_vec(),
            });
            pos += 4 + len;
        }
        self.buf.drain(..pos);
        out
    }
}

/// TLS 1.2 NewSessionTicket (RFC 5077): the ticket a client may present later.
pub fn parse_new_session_ticket12(body: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(body);
    c.take(4, "ticket lifetime").ok()?;
    let t = c.vec(2, "ticket").ok()?;
    (!t.is_empty()).then_some(t)
}

/// The encrypted pre-master secret of an RSA ClientKeyExchange (TLS ≥ 1.0
/// prefixes it with a 2-byte length; SSL 3.0 does not).
pub fn rsa_encrypted_premaster(body: &[u8], ssl3: bool) -> Option<&[u8]> {
    if ssl3 {
        return (body.len() >= 8).then_some(body);
    }
    let mut c = Cursor::new(body);
    let v = c.vec(2, "encrypted pre-master").ok()?;
    (v.len() >= 8 && c.is_empty()).then_some(v)
}

/// The certificates of a TLS ≤ 1.2 Certificate message, leaf first.
pub fn certificate_list12(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut c = Cursor::new(body);
    let Ok(list) = c.vec(3, "certificate list") else {
        return out;
    };
    let mut c = Cursor::new(list);
    while let Ok(cert) = c.vec(3, "certificate") {
        out.push(cert);
    }
    out
}

/// KeyUpdate: whether the sender asked the peer to update too.
pub fn key_update_requested(body: &[u8]) -> Option<bool> {
    match body {
        [0] => Some(false),
        [1] => Some(true),
        _ => None,
    }
}

/// Level and description of an alert.
pub fn alert_text(level: u8, desc: u8) -> String {
    let level = match level {
        1 => "warning",
        2 => "fatal",
        _ => "unknown-level",
    };
    let name = match desc {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => "unknown",
    };
    format!("{level} {name} ({desc})")
}

/// Named SRTP protection profiles (RFC 5764, RFC 7714).
pub fn srtp_profile_name(p: u16) -> String {
    match p {
        0x0001 => "SRTP_AES128_CM_HMAC_SHA1_80".into(),
        0x0002 => "SRTP_AES128_CM_HMAC_SHA1_32".into(),
        0x0005 => "SRTP_NULL_HMAC_SHA1_80".into(),
        0x0006 => "SRTP_NULL_HMAC_SHA1_32".into(),
        0x0007 => "SRTP_AEAD_AES_128_GCM".into(),
        0x0008 => "SRTP_AEAD_AES_256_GCM".into(),
        _ => format!("0x{p:04x}"),
    }
}

/// Profiles listed in a `use_srtp` extension (`len16` list of u16, then MKI).
pub fn parse_use_srtp(data: &[u8]) -> Vec<u16> {
    let mut c = Cursor::new(data);
    let Ok(list) = c.vec(2, "srtp profiles") else {
        return Vec::new();
    };
    list.chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect()
}

/// Extensions of an EncryptedExtensions message (TLS 1.3, decrypted).
pub fn parse_encrypted_extensions(body: &[u8]) -> Result<Vec<Extension<'_>>, ParseError> {
    let mut c = Cursor::new(body);
    parse_extensions(&mut c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_client_hello(exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend_from_slice(&[7u8; 32]);
        b.push(0);
        b.extend_from_slice(&[0x00, 0x04, 0x13, 0x01, 0x0a, 0x0a]);
        b.extend_from_slice(&[0x01, 0x00]);
        let mut e = Vec::new();
        for (k, d) in exts {
            e.extend_from_slice(&k.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    #[test]
    fn extracts_sni_alpn_versions_and_groups() {
        let sni = {
            let name = b"Example.ULFHEIM.net";
            let mut d = Vec::new();
            d.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
            d.push(0);
            d.extend_from_slice(&(name.len() as u16).to_be_bytes());
            d.extend_from_slice(name);
            d
        };
        let alpn = vec![
            0x00, 0x0c, 0x02, b'h', b'2', 0x08, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
        ];
        let versions = vec![0x04, 0x7a, 0x7a, 0x03, 0x04];
        let key_share = vec![
            0x00, 0x0a, 0x00, 0x1d, 0x00, 0x02, 0xaa, 0xbb, 0x2a, 0x2a, 0x00, 0x00,
        ];
        let body = build_client_hello(&[
            (ext::SERVER_NAME, sni),
            (ext::ALPN, alpn),
            (ext::SUPPORTED_VERSIONS, versions),
            (ext::KEY_SHARE, key_share),
            (ext::ENCRYPTED_CLIENT_HELLO, vec![0x00, 0x00, 0x01]),
        ]);
        let ch = parse_client_hello(&body, false).unwrap();
        assert_eq!(ch.random, [7u8; 32]);
        assert_eq!(ch.cipher_suites, vec![0x1301, 0x0a0a]);
        assert_eq!(ch.sni().as_deref(), Some("example.ulfheim.net"));
        assert_eq!(ch.alpn(), vec!["h2", "http/1.1"]);
        assert_eq!(ch.supported_versions(), vec![0x0304]);
        assert_eq!(ch.key_share_groups(), vec![0x001d]);
        assert_eq!(ch.ech(), Some(EchKind::Outer));
    }

    #[test]
    fn truncated_hellos_are_errors_not_panics() {
        let body = build_client_hello(&[(ext::ALPN, vec![0x00, 0x03, 0x02, b'h', b'2'])]);
        for cut in 0..body.len() {
            let _ = parse_client_hello(&body[..cut], false);
            let _ = parse_client_hello(&body[..cut], true);
            let _ = parse_server_hello(&body[..cut]);
        }
        assert!(parse_client_hello(&body[..10], false).is_err());
    }

    #[test]
    fn server_hello_version_and_hrr() {
        let mut b = vec![0x03, 0x03];
        b.extend_from_slice(&HRR_RANDOM);
        b.push(0);
        b.extend_from_slice(&[0x13, 0x02, 0x00]);
        b.extend_from_slice(&[0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
        let sh = parse_server_hello(&b).unwrap();
        assert_eq!(sh.version(), 0x0304);
        assert_eq!(sh.cipher_suite, 0x1302);
        assert!(sh.is_hello_retry_request());
        assert_eq!(version_name(sh.version()), "TLS 1.3");
    }

    #[test]
    fn reassembles_messages_across_records() {
        // Two messages: finished (4 bytes body) and key_update (1 byte), split oddly.
        let stream = [20u8, 0, 0, 4, 9, 9, 9, 9, 24, 0, 0, 1, 1];
        for cut in 0..stream.len() {
            let mut r = Reassembler::new(1024);
            let mut msgs = r.push(&stream[..cut]);
            msgs.extend(r.push(&stream[cut..]));
            assert_eq!(msgs.len(), 2, "cut {cut}");
            assert_eq!(msgs[0].msg_type, msg::FINISHED);
            assert_eq!(msgs[0].body, vec![9; 4]);
            assert_eq!(key_update_requested(&msgs[1].body), Some(true));
            assert!(!r.is_partial());
        }
    }

    #[test]
    fn oversized_messages_are_skipped_not_buffered() {
        let mut r = Reassembler::new(8);
        let mut stream = vec![11u8, 0, 0, 20];
        stream.extend_from_slice(&[0xaa; 20]);
        stream.extend_from_slice(&[14, 0, 0, 0]);
        let mut msgs = r.push(&stream[..10]);
        msgs.extend(r.push(&stream[10..]));
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].msg_type, msg::SERVER_HELLO_DONE);
        assert_eq!(r.oversized, 1);
        assert_eq!(
            format!("{:?}", msgs[0]),
            "Message(server_hello_done, 0 bytes)"
        );
    }

    #[test]
    fn small_message_parsers() {
        assert_eq!(
            parse_new_session_ticket12(&[0, 0, 0, 1, 0, 2, 7, 8]),
            Some(&[7u8, 8][..])
        );
        assert_eq!(parse_new_session_ticket12(&[0, 0, 0, 1, 0, 0]), None);
        let cke = [0u8, 8, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(rsa_encrypted_premaster(&cke, false), Some(&cke[2..]));
        assert_eq!(rsa_encrypted_premaster(&cke[..5], false), None);
        let certs = [0u8, 0, 8, 0, 0, 2, 0xa, 0xb, 0, 0, 0];
        assert_eq!(certificate_list12(&certs), vec![&[0xa, 0xb][..], &[][..]]);
        assert_eq!(alert_text(2, 40), "fatal handshake_failure (40)");
        assert_eq!(parse_use_srtp(&[0, 4, 0, 1, 0, 7, 0]), vec![1, 7]);
        assert_eq!(srtp_profile_name(1), "SRTP_AES128_CM_HMAC_SHA1_80");
    }

    #[test]
    fn grease_detection() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }
}
