//! WebSocket frame headers (RFC 6455 §5.2) and unmasking.

/// Opcodes.
pub mod op {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xa;
}

/// Longest frame header: 2 bytes, a 64-bit length and a masking key.
pub const MAX_HEADER: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1..RSV3 as the top three bits of the low nibble: RSV1 = 0x4.
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub len: u64,
    /// Bytes of the header on the wire.
    pub header_len: usize,
}

impl FrameHeader {
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// RSV1: the message is compressed (permessage-deflate).
    pub fn rsv1(&self) -> bool {
        self.rsv & 0x4 != 0
    }
}

/// A frame that violates RFC 6455.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameError(pub &'static str);

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Parses a frame header at the start of `b`; `Ok(None)` while more bytes are needed.
pub fn parse_header(b: &[u8]) -> Result<Option<FrameHeader>, FrameError> {
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x7;
    let opcode = b0 & 0x0f;
    if matches!(opcode, 0x3..=0x7 | 0xb..=0xf) {
        return Err(FrameError("reserved opcode"));
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut pos) = match b1 & 0x7f {
        126 => match b.get(2..4) {
            Some(l) => (u64::from(u16::from_be_bytes([l[0], l[1]])), 4),
            None => return Ok(None),
        },
        127 => match b.get(2..10) {
            Some(l) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(l);
                let n = u64::from_be_bytes(a);
                if n >> 63 != 0 {
                    return Err(FrameError("64-bit length with the top bit set"));
                }
                (n, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode & 0x8 != 0 && (len > 125 || !fin) {
        return Err(FrameError(
            "control frame longer than 125 bytes or fragmented",
        ));
    }
    let mask = if masked {
        let Some(k) = b.get(pos..pos + 4) else {
            return Ok(None);
        };
        pos += 4;
        Some([k[0], k[1], k[2], k[3]])
    } else {
        None
    };
    Ok(Some(FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        len,
        header_len: pos,
    }))
}

/// XORs `data` with the masking key, `offset` bytes into the payload.
pub fn unmask(data: &mut [u8], key: [u8; 4], offset: u64) {
    let start = (offset % 4) as usize;
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[(start + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_examples() {
        // §5.7: a single-frame unmasked text message "Hello".
        let h = parse_header(&[0x81, 0x05, 0x48, 0x65]).unwrap().unwrap();
        assert!(h.fin && h.opcode == op::TEXT && h.mask.is_none());
        assert_eq!((h.len, h.header_len), (5, 2));
        // §5.7: a single-frame masked text message "Hello".
        let mut frame = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let h = parse_header(&frame).unwrap().unwrap();
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let key = h.mask.unwrap();
        unmask(&mut frame[6..], key, 0);
        assert_eq!(&frame[6..], b"Hello");
        // §5.7: 256 bytes binary message in a single unmasked frame.
        let h = parse_header(&[0x82, 0x7e, 0x01, 0x00]).unwrap().unwrap();
        assert_eq!((h.len, h.header_len), (256, 4));
        // §5.7: 64 KiB binary message in a single unmasked frame.
        let h = parse_header(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((h.len, h.header_len), (65536, 10));
    }

    #[test]
    fn unmasking_in_pieces_matches_unmasking_at_once() {
        let key = [1, 2, 3, 4];
        let plain: Vec<u8> = (0..50).collect();
        let mut whole = plain.clone();
        unmask(&mut whole, key, 0);
        for cut in 0..plain.len() {
            let mut a = plain[..cut].to_vec();
            let mut b = plain[cut..].to_vec();
            unmask(&mut a, key, 0);
            unmask(&mut b, key, cut as u64);
            a.extend(b);
            assert_eq!(a, whole);
        }
    }

    #[test]
    fn incomplete_and_invalid_headers() {
        for n in 0..10 {
            let b = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
            assert_eq!(parse_header(&b[..n]), Ok(None), "{n} bytes");
        }
        assert!(parse_header(&[0x83, 0x00]).is_err());
        assert!(parse_header(&[0x89, 0x7e, 0x00, 0x80]).is_err());
        assert!(parse_header(&[0x09, 0x00]).is_err());
        assert!(parse_header(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn headers_round_trip(
            fin in any::<bool>(),
            opcode in prop_oneof![Just(0u8), Just(1), Just(2)],
            len in prop_oneof![0u64..126, 126u64..65536, 65536u64..(1 << 40)],
            mask in proptest::option::of(any::<[u8; 4]>()),
        ) {
            let mut b = vec![u8::from(fin) << 7 | opcode];
            let m = if mask.is_some() { 0x80 } else { 0 };
            if len < 126 {
                b.push(m | len as u8);
            } else if len < 65536 {
                b.push(m | 126);
                b.extend((len as u16).to_be_bytes());
            } else {
                b.push(m | 127);
                b.extend(len.to_be_bytes());
            }
            if let Some(k) = mask {
                b.extend(k);
            }
            for cut in 0..b.len() {
                prop_assert_eq!(parse_header(&b[..cut]), Ok(None));
            }
            let h = parse_header(&b).unwrap().unwrap();
            prop_assert_eq!((h.fin, h.opcode, h.len, h.mask, h.header_len), (fin, opcode, len, mask, b.len()));
        }

        #[test]
        fn arbitrary_headers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = parse_header(&b);
        }
    }
}
