//! QUIC variable-length integers (RFC 9000 §16) and a bounded reader.
//!
//! The two high bits of the first byte give the length (1, 2, 4 or 8 bytes).
//! HTTP/3 frames and stream types use the same encoding.

/// Decodes a varint at the start of `b`: the value and how many bytes it took.
pub fn decode(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for &x in &bytes[1..] {
        v = (v << 8) | u64::from(x);
    }
    Some((v, len))
}

/// Appends the shortest encoding of `v` (values above 2^62-1 are clamped).
pub fn encode(v: u64, out: &mut Vec<u8>) {
    let v = v.min((1 << 62) - 1);
    if v < 1 << 6 {
        out.push(v as u8);
    } else if v < 1 << 14 {
        out.extend_from_slice(&((v as u16) | 0x4000).to_be_bytes());
    } else if v < 1 << 30 {
        out.extend_from_slice(&((v as u32) | 0x8000_0000).to_be_bytes());
    } else {
        out.extend_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes());
    }
}

/// A bounded reader: every read checks the remaining length and fails with `None`.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
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

    pub fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn varint(&mut self) -> Option<u64> {
        let (v, n) = decode(&self.data[self.pos..])?;
        self.pos += n;
        Some(v)
    }

    /// `n` bytes; `n` may come straight from the wire, it is checked here.
    pub fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        if n > self.remaining() {
            return None;
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Some(s)
    }

    /// A varint length followed by that many bytes.
    pub fn varint_bytes(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        let n = self.varint()?;
        let r = self.take(n);
        if r.is_none() {
            self.pos = save;
        }
        r
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9000_sample_varints() {
        // RFC 9000 §A.1 examples.
        assert_eq!(
            decode(&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]),
            Some((151_288_809_941_952_652, 8))
        );
        assert_eq!(decode(&[0x9d, 0x7f, 0x3e, 0x7d]), Some((494_878_333, 4)));
        assert_eq!(decode(&[0x7b, 0xbd]), Some((15_293, 2)));
        assert_eq!(decode(&[0x25]), Some((37, 1)));
        assert_eq!(decode(&[0x40, 0x25]), Some((37, 2)));
        assert_eq!(decode(&[0x9d, 0x7f]), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn encode_round_trips_at_every_boundary() {
        for v in [
            0,
            63,
            64,
            16_383,
            16_384,
            (1 << 30) - 1,
            1 << 30,
            (1 << 62) - 1,
        ] {
            let mut b = Vec::new();
            encode(v, &mut b);
            assert_eq!(decode(&b), Some((v, b.len())), "{v}");
        }
    }

    #[test]
    fn reader_rejects_lengths_beyond_the_input() {
        let mut r = Reader::new(&[0x05, 1, 2]);
        assert_eq!(r.varint_bytes(), None);
        assert_eq!(r.pos(), 0);
        assert_eq!(r.take(u64::MAX), None);
        assert_eq!(r.u8(), Some(5));
        assert_eq!(r.take(2), Some(&[1u8, 2][..]));
        assert!(r.is_empty());
    }
}
