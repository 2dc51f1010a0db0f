//! `Authorization` credentials (RFC 9110 §11): which scheme crossed and, where
//! the scheme carries it in the clear, the user name. Passwords and tokens are
//! never returned.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

/// A credential seen in an `Authorization` or `Proxy-Authorization` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Evidence key: `http.basic`, `http.bearer`, `http.digest`, `http.ntlm`,
    /// `http.negotiate` or `http.authorization` (other schemes).
    pub key: &'static str,
    pub user: Option<String>,
}

/// Longest user name kept.
const MAX_USER: usize = 64;

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn clip(s: &str) -> Option<String> {
    let s: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER)
        .collect();
    (!s.is_empty()).then_some(s)
}

/// Parses an `Authorization` value.
pub fn parse(value: &[u8]) -> Credential {
    let v = String::from_utf8_lossy(value);
    let v = v.trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    let rest = rest.trim();
    let is = |s: &str| scheme.eq_ignore_ascii_case(s);
    if is("basic") {
        let user = LENIENT
            .decode(rest)
            .ok()
            .map(|d| String::from_utf8_lossy(&d).into_owned())
            .and_then(|d| clip(d.split(':').next().unwrap_or_default()));
        Credential {
            key: "http.basic",
            user,
        }
    } else if is("bearer") {
        Credential {
            key: "http.bearer",
            user: None,
        }
    } else if is("digest") {
        Credential {
            key: "http.digest",
            user: digest_username(rest),
        }
    } else if is("ntlm") || is("negotiate") {
        let user = general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|d| ntlm_user(&d));
        Credential {
            key: if is("ntlm") {
                "http.ntlm"
            } else {
                "http.negotiate"
            },
            user,
        }
    } else {
        Credential {
            key: "http.authorization",
            user: None,
        }
    }
}

/// The `username` parameter of a Digest credential (quoted or a token).
pub fn digest_username(params: &str) -> Option<String> {
    let mut rest = params;
    while !rest.is_empty() {
        let rest_trim = rest.trim_start_matches([' ', ',', '\t']);
        let (key, after) = rest_trim.split_once('=')?;
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or_default())
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        if key.trim().eq_ignore_ascii_case("username") {
            return clip(value);
        }
        rest = tail;
    }
    None
}

/// `DOMAIN\user` from an NTLM AUTHENTICATE (type 3) message, which carries
/// both in the clear.
fn ntlm_user(m: &[u8]) -> Option<String> {
    if m.get(..8)? != b"NTLMSSP\0" || m.get(8..12)? != [3, 0, 0, 0] {
        return None;
    }
    let field = |at: usize| -> Option<&[u8]> {
        let f = m.get(at..at + 8)?;
        let len = usize::from(u16::from_le_bytes([f[0], f[1]]));
        let off = u32::from_le_bytes([f[4], f[5], f[6], f[7]]) as usize;
        m.get(off..off.checked_add(len)?)
    };
    let flags = m
        .get(60..64)
        .map_or(0, |f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]));
    let text = |b: &[u8]| -> String {
        if flags & 1 != 0 {
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            String::from_utf8_lossy(b).into_owned()
        }
    };
    let domain = text(field(28)?);
    let user = text(field(36)?);
    if user.is_empty() {
        return None;
    }
    clip(&if domain.is_empty() {
        user
    } else {
        format!("{domain}\\{user}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_yields_the_user_never_the_password() {
        // RFC 7617 §2: Aladdin:open sesame.
        let c = parse(b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(
            c,
            Credential {
                key: "http.basic",
                user: Some("Aladdin".into())
            }
        );
        assert!(!format!("{c:?}").contains("sesame"));
        assert_eq!(
            parse(b"basic QWxhZGRpbjpvcGVuIHNlc2FtZQ").user.as_deref(),
            Some("Aladdin")
        );
        assert_eq!(parse(b"Basic !!!").user, None);
    }

    #[test]
    fn bearer_digest_and_other_schemes() {
        assert_eq!(parse(b"Bearer mF_9.B5f-4.1JqM").key, "http.bearer");
        assert_eq!(parse(b"Bearer mF_9.B5f-4.1JqM").user, None);
        // RFC 7616 §3.9.1.
        let d = parse(
            b"Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
              uri=\"/dir/index.html\", algorithm=MD5, nonce=\"7ypf\", response=\"8ca5\"",
        );
        assert_eq!((d.key, d.user.as_deref()), ("http.digest", Some("Mufasa")));
        assert_eq!(
            digest_username("realm=x, username=bob, nonce=\"a,b\"").as_deref(),
            Some("bob")
        );
        assert_eq!(
            parse(b"AWS4-HMAC-SHA256 Credential=x").key,
            "http.authorization"
        );
    }

    #[test]
    fn ntlm_authenticate_names_domain_and_user() {
        let mut m = b"NTLMSSP\0\x03\0\0\0".to_vec();
        m.resize(64, 0);
        let domain: Vec<u8> = "CORP".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let user: Vec<u8> = "alice".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let set = |m: &mut Vec<u8>, at: usize, len: usize, off: usize| {
            m[at..at + 2].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 2..at + 4].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 4..at + 8].copy_from_slice(&(off as u32).to_le_bytes());
        };
        set(&mut m, 28, domain.len(), 64);
        set(&mut m, 36, user.len(), 64 + domain.len());
        m[60] = 1;
        m.extend(&domain);
        m.extend(&user);
        let b64 = general_purpose::STANDARD.encode(&m);
        let c = parse(format!("NTLM {b64}").as_bytes());
        assert_eq!(c.user.as_deref(), Some("CORP\\alice"));
        // Truncated messages yield no user and no panic.
        for cut in 0..m.len() {
            let b64 = general_purpose::STANDARD.encode(&m[..cut]);
            let _ = parse(format!("NTLM {b64}").as_bytes());
        }
    }
}
