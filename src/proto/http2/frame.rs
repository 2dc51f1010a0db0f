//! HTTP/2 framing (RFC 9113 §4, §6): the 9-byte frame header and the
//! payload layouts of the frame types a passive reader needs.

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types.
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags.
pub mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// SETTINGS identifiers.
pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
}

pub const HEADER_LEN: usize = 9;

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

impl FrameHeader {
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// Parses the 9-byte frame header at the start of `b`.
pub fn header(b: &[u8]) -> Option<FrameHeader> {
    let h = b.get(..HEADER_LEN)?;
    Some(FrameHeader {
        len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
        kind: h[3],
        flags: h[4],
        stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
    })
}

/// The payload without its padding (DATA, HEADERS, PUSH_PROMISE with PADDED).
pub fn unpad<'a>(h: &FrameHeader, p: &'a [u8]) -> Option<&'a [u8]> {
    if !h.has(flag::PADDED) {
        return Some(p);
    }
    let pad = usize::from(*p.first()?);
    let rest = &p[1..];
    rest.get(..rest.len().checked_sub(pad)?)
}

/// The header block fragment of a HEADERS frame.
pub fn headers_fragment<'a>(h: &FrameHeader, p: &'a [u8]) -> Option<&'a [u8]> {
    let p = unpad(h, p)?;
    if h.has(flag::PRIORITY) {
        p.get(5..)
    } else {
        Some(p)
    }
}

/// The promised stream and header block fragment of a PUSH_PROMISE frame.
pub fn push_promise<'a>(h: &FrameHeader, p: &'a [u8]) -> Option<(u32, &'a [u8])> {
    let p = unpad(h, p)?;
    let id = u32::from_be_bytes(p.get(..4)?.try_into().ok()?) & 0x7fff_ffff;
    Some((id, &p[4..]))
}

/// SETTINGS parameters (identifier, value).
pub fn settings(p: &[u8]) -> Option<Vec<(u16, u32)>> {
    if !p.len().is_multiple_of(6) {
        return None;
    }
    Some(
        p.chunks_exact(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect(),
    )
}

/// GOAWAY: last stream id, error code, debug data.
pub fn goaway(p: &[u8]) -> Option<(u32, u32, &[u8])> {
    let last = u32::from_be_bytes(p.get(..4)?.try_into().ok()?) & 0x7fff_ffff;
    let code = u32::from_be_bytes(p.get(4..8)?.try_into().ok()?);
    Some((last, code, &p[8..]))
}

/// Builds a frame (tests and fixtures).
pub fn build(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_and_padding() {
        let f = build(
            kind::DATA,
            flag::PADDED | flag::END_STREAM,
            0x8000_0003,
            &[2, b'h', b'i', 0, 0],
        );
        let h = header(&f).unwrap();
        assert_eq!(
            h,
            FrameHeader {
                len: 5,
                kind: 0,
                flags: 0x9,
                stream: 3
            }
        );
        assert_eq!(unpad(&h, &f[9..]), Some(&b"hi"[..]));
        // Padding longer than the payload.
        assert_eq!(unpad(&h, &[9, 1]), None);
        assert_eq!(header(&f[..8]), None);
    }

    #[test]
    fn headers_priority_push_settings_goaway() {
        let h = FrameHeader {
            len: 0,
            kind: kind::HEADERS,
            flags: flag::PRIORITY,
            stream: 1,
        };
        assert_eq!(
            headers_fragment(&h, &[0, 0, 0, 0, 16, 0x82]),
            Some(&[0x82u8][..])
        );
        assert_eq!(headers_fragment(&h, &[0, 0]), None);
        let pp = FrameHeader {
            len: 0,
            kind: kind::PUSH_PROMISE,
            flags: 0,
            stream: 1,
        };
        assert_eq!(
            push_promise(&pp, &[0, 0, 0, 2, 0x82]),
            Some((2, &[0x82u8][..]))
        );
        assert_eq!(settings(&[0, 1, 0, 0, 0x10, 0]), Some(vec![(1, 4096)]));
        assert_eq!(settings(&[0, 1, 0]), None);
        assert_eq!(
            goaway(&[0, 0, 0, 5, 0, 0, 0, 2, b'x']),
            Some((5, 2, &b"x"[..]))
        );
    }
}
