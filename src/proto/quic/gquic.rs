//! Google QUIC before IETF QUIC: the legacy public header (Q024–Q043) and the
//! QUIC-crypto handshake message (`CHLO`) that carries SNI and user agent in
//! the clear. Q046 uses an IETF-like long header with an unencrypted
//! payload; Q050 and T05x encrypt their Initial with a public salt (handled
//! with IETF Initials).

use super::version::{self, Version};

/// The legacy public header of a client packet (Q024–Q043).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicHeader {
    pub version: Option<u32>,
    pub cid: Option<[u8; 8]>,
    /// Bytes before the (NullEncryption-hashed) payload.
    pub len: usize,
}

/// Parses a legacy gQUIC public header (flags byte with the high bit clear)
/// as a client sends it. Before Q033 bits `0x0c` were the CID length (`11`:
/// 8 bytes); later `0x08` means an 8-byte CID and `0x04` a diversification
/// nonce that only servers send, so the nonce is not skipped here.
pub fn public_header(b: &[u8]) -> Option<PublicHeader> {
    let flags = *b.first()?;
    if flags & 0x80 != 0 {
        return None;
    }
    let mut pos = 1;
    let cid = if flags & 0x08 != 0 {
        let c: [u8; 8] = b.get(pos..pos + 8)?.try_into().ok()?;
        pos += 8;
        Some(c)
    } else {
        None
    };
    let version = if flags & 0x01 != 0 {
        let v = u32::from_be_bytes(b.get(pos..pos + 4)?.try_into().ok()?);
        pos += 4;
        Some(v)
    } else {
        None
    };
    pos += match (flags >> 4) & 3 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 6,
    };
    (pos <= b.len()).then_some(PublicHeader {
        version,
        cid,
        len: pos,
    })
}

/// True when `b` starts like a client's first legacy gQUIC packet: version
/// flag and 8-byte connection ID set, and a `Q0NN` version.
pub fn is_legacy_client_hello(b: &[u8]) -> bool {
    match public_header(b) {
        Some(PublicHeader {
            version: Some(v),
            cid: Some(_),
            ..
        }) => matches!(version::classify(v), Version::GQuicQ(_)),
        _ => false,
    }
}

/// True for a legacy gQUIC packet without a version (a connection whose
/// CHLO was not captured): the fixed bit of IETF QUIC is clear and an 8-byte
/// connection ID is announced.
pub fn is_legacy_packet(b: &[u8]) -> bool {
    b.first().is_some_and(|f| f & 0xc0 == 0 && f & 0x08 != 0)
        && public_header(b).is_some_and(|h| h.cid.is_some() && b.len() >= h.len + 12)
}

/// Tags of interest from a `CHLO` handshake message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chlo {
    pub sni: Option<String>,
    /// `UAID`: the client's user agent string.
    pub user_agent: Option<String>,
    /// `VER\0`: the version the client wants.
    pub version: Option<String>,
    /// `AEAD` and `KEXS`: offered algorithms, as tag names.
    pub aead: Vec<String>,
    pub kexs: Vec<String>,
}

fn text(v: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(v).ok()?;
    (!s.is_empty() && s.bytes().all(|b| (0x20..0x7f).contains(&b))).then(|| s.to_string())
}

fn tag_list(v: &[u8]) -> Vec<String> {
    v.chunks_exact(4)
        .filter_map(|t| text(t.split(|&b| b == 0).next().unwrap_or(t)))
        .collect()
}

/// Most entries a real CHLO carries is a few dozen.
const MAX_TAGS: usize = 128;

/// Finds and parses a `CHLO` message anywhere in `b` (a decrypted or
/// NullEncrypted packet payload). Entries whose values are cut off are skipped.
pub fn find_chlo(b: &[u8]) -> Option<Chlo> {
    let at = memchr::memmem::find(b, b"CHLO")?;
    parse_chlo(&b[at..])
}

/// Parses a handshake message starting with its 4-byte tag.
pub fn parse_chlo(m: &[u8]) -> Option<Chlo> {
    if m.get(..4)? != b"CHLO" {
        return None;
    }
    let n = usize::from(u16::from_le_bytes(m.get(4..6)?.try_into().ok()?));
    if n == 0 || n > MAX_TAGS {
        return None;
    }
    let index = m.get(8..8 + n * 8)?;
    let values = &m[8 + n * 8..];
    let mut out = Chlo::default();
    let mut prev = 0usize;
    for e in index.chunks_exact(8) {
        let tag = &e[..4];
        let end = u32::from_le_bytes([e[4], e[5], e[6], e[7]]) as usize;
        if end < prev {
            return None;
        }
        let Some(v) = values.get(prev..end) else {
            break;
        };
        prev = end;
        match tag {
            b"SNI\0" => out.sni = text(v).map(|s| s.to_ascii_lowercase()),
            b"UAID" => out.user_agent = text(v),
            b"VER\0" => out.version = text(v),
            b"AEAD" => out.aead = tag_list(v),
            b"KEXS" => out.kexs = tag_list(v),
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chlo(entries: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut m = b"CHLO".to_vec();
        m.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        m.extend_from_slice(&[0, 0]);
        let mut end = 0u32;
        for (t, v) in entries {
            end += v.len() as u32;
            m.extend_from_slice(*t);
            m.extend_from_slice(&end.to_le_bytes());
        }
        for (_, v) in entries {
            m.extend_from_slice(v);
        }
        m
    }

    #[test]
    fn legacy_public_header_and_chlo() {
        // flags 0x0d: version, 8-byte CID, 1-byte packet number.
        let mut p = vec![0x0d];
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p.extend_from_slice(b"Q025");
        p.push(1);
        p.extend_from_slice(&[0xaa; 12]);
        p.extend_from_slice(&[0xa0, 0x01, 0x00, 0x04]);
        p.extend_from_slice(&chlo(&[
            (b"PAD\0", &[b'-'; 5]),
            (b"SNI\0", b"WWW.YouTube.com"),
            (b"VER\0", b"Q025"),
            (b"UAID", b"Chrome/49.0.2623.87 Linux x86_64"),
            (b"AEAD", b"AESGCC20"),
        ]));
        let h = public_header(&p).unwrap();
        assert_eq!(h.version, Some(u32::from_be_bytes(*b"Q025")));
        assert_eq!(h.len, 14);
        assert!(is_legacy_client_hello(&p));
        let c = find_chlo(&p[h.len..]).unwrap();
        assert_eq!(c.sni.as_deref(), Some("www.youtube.com"));
        assert_eq!(
            c.user_agent.as_deref(),
            Some("Chrome/49.0.2623.87 Linux x86_64")
        );
        assert_eq!(c.version.as_deref(), Some("Q025"));
        assert_eq!(c.aead, vec!["AESG", "CC20"]);
        for cut in 0..p.len() {
            let _ = public_header(&p[..cut]);
            let _ = find_chlo(&p[..cut]);
        }
        // Cut inside the UAID value: the entries before it survive.
        let cut = find_chlo(&p[..p.len() - 20]).unwrap();
        assert_eq!(cut.sni.as_deref(), Some("www.youtube.com"));
        assert_eq!(cut.user_agent, None);
    }

    #[test]
    fn rejects_non_gquic() {
        assert!(!is_legacy_client_hello(&[0xc3, 0, 0, 0, 1]));
        assert!(!is_legacy_client_hello(b"\x0d12345678T050\x01"));
        // No version, 8-byte CID, fixed bit clear: a gQUIC data packet.
        let data = [&[0x0c][..], &[7; 8], &[1], &[0xee; 20]].concat();
        assert!(is_legacy_packet(&data) && !is_legacy_client_hello(&data));
        assert!(!is_legacy_packet(&[0x4c; 40]));
        assert!(parse_chlo(b"CHLO\xff\xff\0\0").is_none());
    }
}
