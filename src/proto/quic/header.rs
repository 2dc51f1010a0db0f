//! QUIC packet headers (RFC 9000 §17, RFC 8999 invariants): long headers
//! with their Length field, so coalesced packets can be walked, Retry and
//! Version Negotiation, and short headers (whose DCID length is not on the
//! wire and must be remembered from the handshake).

use super::varint::Reader;
use super::version::{self, LongType, Version};

/// Longest connection ID of QUIC v1 (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;

/// A long-header packet that carries protected payload (Initial, 0-RTT, Handshake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongHeader<'a> {
    pub first: u8,
    pub version: u32,
    pub kind: LongType,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Initial packets only.
    pub token: &'a [u8],
    /// Offset of the (protected) packet number within the packet.
    pub pn_offset: usize,
    /// Length of this packet within the datagram (header, packet number, payload, tag).
    pub len: usize,
}

/// One packet at the start of a datagram (or of the rest of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    Long(LongHeader<'a>),
    /// A Retry fills the rest of its datagram.
    Retry {
        version: u32,
        dcid: &'a [u8],
        scid: &'a [u8],
    },
    /// Version Negotiation: the server's supported versions, 4 bytes each.
    VersionNegotiation {
        dcid: &'a [u8],
        scid: &'a [u8],
        versions: Vec<u32>,
    },
    /// A short-header (1-RTT) packet: it fills the rest of its datagram.
    Short,
}

/// Why a header could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The datagram ends inside the header or before the Length says.
    Truncated,
    /// A connection ID longer than the version allows.
    BadCid,
    /// The fixed bit is clear where the version requires it (padding or not QUIC).
    NotQuic,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderError::Truncated => "truncated packet",
            HeaderError::BadCid => "connection ID too long",
            HeaderError::NotQuic => "fixed bit clear",
        })
    }
}

/// Parses the packet at the start of `b`.
pub fn parse(b: &[u8]) -> Result<Packet<'_>, HeaderError> {
    let first = *b.first().ok_or(HeaderError::Truncated)?;
    if first & 0x80 == 0 {
        return Ok(Packet::Short);
    }
    let mut r = Reader::new(b);
    r.u8();
    let version_raw = r.u32().ok_or(HeaderError::Truncated)?;
    let v = version::classify(version_raw);
    if v == Version::Negotiation {
        // Invariant layout: CIDs up to 255 bytes.
        let dcid = cid(&mut r)?;
        let scid = cid(&mut r)?;
        let rest = r.rest();
        let versions = rest
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        return Ok(Packet::VersionNegotiation {
            dcid,
            scid,
            versions,
        });
    }
    let (dcid, scid) = if v.packed_cid_lengths() {
        let l = r.u8().ok_or(HeaderError::Truncated)?;
        let len = |x: u8| if x == 0 { 0 } else { u64::from(x) + 3 };
        let d = r.take(len(l >> 4)).ok_or(HeaderError::Truncated)?;
        let s = r.take(len(l & 0x0f)).ok_or(HeaderError::Truncated)?;
        (d, s)
    } else {
        let d = cid(&mut r)?;
        let s = cid(&mut r)?;
        (d, s)
    };
    if v.is_known() && (dcid.len() > MAX_CID_LEN || scid.len() > MAX_CID_LEN) {
        return Err(HeaderError::BadCid);
    }
    let kind = v.long_type(first >> 4);
    if kind == LongType::Retry {
        return Ok(Packet::Retry {
            version: version_raw,
            dcid,
            scid,
        });
    }
    if first & 0x40 == 0 && v.is_known() && !v.is_gquic() {
        return Err(HeaderError::NotQuic);
    }
    let token = if kind == LongType::Initial {
        r.varint_bytes().ok_or(HeaderError::Truncated)?
    } else {
        &[]
    };
    let length = r.varint().ok_or(HeaderError::Truncated)?;
    let pn_offset = r.pos();
    let len = usize::try_from(length)
        .ok()
        .and_then(|l| l.checked_add(pn_offset))
        .filter(|&l| l <= b.len())
        .ok_or(HeaderError::Truncated)?;
    Ok(Packet::Long(LongHeader {
        first,
        version: version_raw,
        kind,
        dcid,
        scid,
        token,
        pn_offset,
        len,
    }))
}

/// A one-byte length followed by that many bytes (connection IDs).
fn cid<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], HeaderError> {
    let n = r.u8().ok_or(HeaderError::Truncated)?;
    r.take(u64::from(n)).ok_or(HeaderError::Truncated)
}

/// Hex of a connection ID for reports.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex as unhex;

    #[test]
    fn rfc9001_client_initial_header() {
        // RFC 9001 A.2, protected header followed by enough payload bytes.
        let mut p = unhex("c000000001088394c8f03e5157080000449e7b9aec34").unwrap();
        p.resize(p.len() - 4 + 0x449e, 0);
        let Packet::Long(h) = parse(&p).unwrap() else {
            panic!("not a long header")
        };
        assert_eq!(h.kind, LongType::Initial);
        assert_eq!(h.dcid, unhex("8394c8f03e515708").unwrap());
        assert!(h.scid.is_empty());
        assert!(h.token.is_empty());
        assert_eq!(h.pn_offset, 18);
        assert_eq!(h.len, 1200);
        // One byte short of the Length: truncated.
        assert_eq!(parse(&p[..1199]), Err(HeaderError::Truncated));
    }

    #[test]
    fn version_negotiation_lists_versions() {
        let p = unhex("80000000000400112233040a0b0c0d000000016b3343cf").unwrap();
        let Packet::VersionNegotiation { versions, dcid, .. } = parse(&p).unwrap() else {
            panic!("not VN")
        };
        assert_eq!(dcid, unhex("00112233").unwrap());
        assert_eq!(versions, vec![1, 0x6b33_43cf]);
    }

    #[test]
    fn v2_retry_and_short_headers() {
        // v2 Retry type bits are 00.
        let p = unhex("cf6b3343cf0008f067a5502a4262b5746f6b656e").unwrap();
        assert!(matches!(parse(&p).unwrap(), Packet::Retry { scid, .. } if scid.len() == 8));
        assert_eq!(parse(&[0x41, 1, 2, 3]).unwrap(), Packet::Short);
    }

    #[test]
    fn truncation_never_panics() {
        let p = unhex("c000000001088394c8f03e5157080000449e7b9aec34").unwrap();
        for cut in 0..p.len() {
            let _ = parse(&p[..cut]);
        }
        assert_eq!(parse(&p[..7]), Err(HeaderError::Truncated));
        let long_cid = unhex("c0000000011500").unwrap();
        assert_eq!(parse(&long_cid), Err(HeaderError::Truncated));
    }
}
