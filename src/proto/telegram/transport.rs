//! MTProto transports (core.telegram.org/mtproto/mtproto-transports): how
//! MTProto packets are framed on a byte stream.
//!
//! * abridged: `len/4` in one byte (`< 0x7f`), or `0x7f` + `len/4` as u24 LE;
//! * intermediate: `len u32 LE | payload`;
//! * padded intermediate: as intermediate, the payload followed by 0-15 random bytes;
//! * full: `len u32 LE (whole packet) | seqno u32 LE | payload | CRC32`.
//!
//! A length with its top bit set from the client asks for a quick ack; from
//! the server, a bare 4-byte value with the top bit set *is* a quick ack.

/// Which framing a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Abridged,
    Intermediate,
    PaddedIntermediate,
    Full,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Abridged => "abridged",
            Kind::Intermediate => "intermediate",
            Kind::PaddedIntermediate => "padded-intermediate",
            Kind::Full => "full",
        }
    }
}

/// One unit cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// An MTProto packet (the payload; padding and CRC removed where known).
    Packet(Vec<u8>),
    /// A server quick acknowledgement.
    QuickAck(u32),
}

/// Why framing stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A declared length beyond the cap or below the minimum.
    BadLength(usize),
    /// A full-transport packet whose CRC32 does not match.
    BadCrc,
}

/// Cuts one direction of a stream into MTProto packets.
#[derive(Debug, Clone)]
pub struct Framer {
    kind: Kind,
    from_server: bool,
    max: usize,
    buf: Vec<u8>,
}

impl Framer {
    pub fn new(kind: Kind, from_server: bool, max: usize) -> Framer {
        Framer {
            kind,
            from_server,
            max,
            buf: Vec::new(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Adds bytes and returns every complete unit. Stops (and keeps nothing)
    /// on a framing error: the caller treats the rest as lost.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Unit>) -> Result<(), FrameError> {
        self.buf.extend_from_slice(data);
        let mut used = 0;
        let r = loop {
            match self.cut(&self.buf[used..]) {
                Ok(Some((n, unit))) => {
                    used += n;
                    out.push(unit);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        match r {
            Ok(()) => {
                self.buf.drain(..used);
                Ok(())
            }
            Err(e) => {
                self.buf.clear();
                Err(e)
            }
        }
    }

    /// One unit from the front of `b`: `Ok(None)` = need more bytes.
    fn cut(&self, b: &[u8]) -> Result<Option<(usize, Unit)>, FrameError> {
        match self.kind {
            Kind::Abridged => {
                let Some(&first) = b.first() else {
                    return Ok(None);
                };
                if self.from_server && first & 0x80 != 0 {
                    return Ok(b.get(..4).map(|q| {
                        (
                            4,
                            Unit::QuickAck(u32::from_be_bytes([q[0], q[1], q[2], q[3]])),
                        )
                    }));
                }
                let (hdr, words) = match first & 0x7f {
                    0x7f => match b.get(1..4) {
                        Some(l) => (4, u32::from_le_bytes([l[0], l[1], l[2], 0]) as usize),
                        None => return Ok(None),
                    },
                    n => (1, usize::from(n)),
                };
                self.body(b, hdr, words * 4, 0)
            }
            Kind::Intermediate | Kind::PaddedIntermediate => {
                let Some(h) = b.get(..4) else {
                    return Ok(None);
                };
                let raw = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
                if self.from_server && raw & 0x8000_0000 != 0 {
                    return Ok(Some((4, Unit::QuickAck(raw))));
                }
                self.body(b, 4, (raw & 0x7fff_ffff) as usize, 0)
            }
            Kind::Full => {
                let Some(h) = b.get(..8) else {
                    return Ok(None);
                };
                let total = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
                if !(12..=self.max).contains(&total) {
                    return Err(FrameError::BadLength(total));
                }
                let Some(pkt) = b.get(..total) else {
                    return Ok(None);
                };
                let crc = u32::from_le_bytes(pkt[total - 4..].try_into().expect("4 bytes"));
                if crc32fast::hash(&pkt[..total - 4]) != crc {
                    return Err(FrameError::BadCrc);
                }
                Ok(Some((total, Unit::Packet(pkt[8..total - 4].to_vec()))))
            }
        }
    }

    fn body(
        &self,
        b: &[u8],
        hdr: usize,
        len: usize,
        trailer: usize,
    ) -> Result<Option<(usize, Unit)>, FrameError> {
        if len < 4 || len > self.max {
            return Err(FrameError::BadLength(len));
        }
        let Some(payload) = b.get(hdr..hdr + len) else {
            return Ok(None);
        };
        let mut p = payload[..len - trailer].to_vec();
        if self.kind == Kind::PaddedIntermediate {
            // The MTProto packet inside is a multiple of 4 (an unencrypted
            // message) or of 16 plus 24 (an encrypted one); cut the padding
            // back to a multiple of 4.
            p.truncate(p.len() & !3);
        }
        Ok(Some((hdr + len, Unit::Packet(p))))
    }
}

/// Builds a full-transport packet (for tests and fuzzing).
pub fn full_packet(seq: u32, payload: &[u8]) -> Vec<u8> {
    let total = (payload.len() + 12) as u32;
    let mut p = Vec::with_capacity(total as usize);
    p.extend_from_slice(&total.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(payload);
    let crc = crc32fast::hash(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(kind: Kind, server: bool, chunks: &[&[u8]]) -> (Vec<Unit>, Result<(), FrameError>) {
        let mut f = Framer::new(kind, server, 1 << 20);
        let mut out = Vec::new();
        let mut r = Ok(());
        for c in chunks {
            r = f.push(c, &mut out);
            if r.is_err() {
                break;
            }
        }
        (out, r)
    }

    #[test]
    fn abridged_short_and_long_lengths_across_chunks() {
        let mut long = vec![0x7f, 0x40, 0x00, 0x00];
        long.extend(std::iter::repeat_n(0xaa, 256));
        let (units, r) = cut(
            Kind::Abridged,
            false,
            &[
                &[0x02, 1, 2, 3],
                &[4, 5, 6, 7, 8],
                &long[..100],
                &long[100..],
            ],
        );
        assert!(r.is_ok());
        assert_eq!(
            units,
            vec![
                Unit::Packet(vec![1, 2, 3, 4, 5, 6, 7, 8]),
                Unit::Packet(vec![0xaa; 256])
            ]
        );
    }

    #[test]
    fn abridged_quick_acks() {
        // Client: the top bit of the length asks for an ack.
        let (units, _) = cut(Kind::Abridged, false, &[&[0x81, 9, 9, 9, 9]]);
        assert_eq!(units, vec![Unit::Packet(vec![9; 4])]);
        // Server: a bare 4-byte big-endian value with the top bit set.
        let (units, _) = cut(
            Kind::Abridged,
            true,
            &[&[0x81, 0x22, 0x33, 0x44, 0x01, 7, 7, 7, 7]],
        );
        assert_eq!(
            units,
            vec![Unit::QuickAck(0x8122_3344), Unit::Packet(vec![7; 4])]
        );
    }

    #[test]
    fn intermediate_and_padded() {
        let (units, _) = cut(
            Kind::Intermediate,
            false,
            &[&[8, 0, 0, 0, 1, 2, 3, 4], &[5, 6, 7, 8]],
        );
        assert_eq!(units, vec![Unit::Packet(vec![1, 2, 3, 4, 5, 6, 7, 8])]);
        // 8 bytes of packet plus 3 bytes of padding.
        let (units, _) = cut(
            Kind::PaddedIntermediate,
            false,
            &[&[11, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0xee, 0xee, 0xee]],
        );
        assert_eq!(units, vec![Unit::Packet(vec![1, 2, 3, 4, 5, 6, 7, 8])]);
        let (_, r) = cut(Kind::Intermediate, false, &[&[0xff, 0xff, 0xff, 0x7f]]);
        assert_eq!(r, Err(FrameError::BadLength(0x7fff_ffff)));
    }

    #[test]
    fn full_transport_checks_crc() {
        let p = full_packet(0, b"12345678");
        assert_eq!(&p[..4], &[20, 0, 0, 0]);
        let (units, r) = cut(Kind::Full, false, &[&p[..10], &p[10..]]);
        assert!(r.is_ok());
        assert_eq!(units, vec![Unit::Packet(b"12345678".to_vec())]);
        let mut bad = p.clone();
        bad[9] ^= 1;
        assert_eq!(cut(Kind::Full, false, &[&bad]).1, Err(FrameError::BadCrc));
    }
}
