//! Offset-based reassembly for CRYPTO and STREAM data that arrives out of
//! order, duplicated or overlapping across packets.
//!
//! In-order bytes are handed out as soon as they are contiguous; only data
//! ahead of a hole is buffered, up to a cap. The first copy of a byte wins.

use std::collections::BTreeMap;

/// Why data was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasmError {
    /// Buffering this data would exceed the cap (too far ahead or too much out of order).
    Overflow,
}

/// One byte stream being reassembled.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// Offset of the next byte to hand out.
    next: u64,
    /// Out-of-order pieces, non-overlapping, keyed by offset.
    pending: BTreeMap<u64, Vec<u8>>,
    buffered: usize,
    /// Highest offset accepted ahead of `next`, and the most bytes buffered.
    cap: usize,
}

impl Reassembler {
    pub fn new(cap: usize) -> Reassembler {
        Reassembler {
            cap,
            ..Reassembler::default()
        }
    }

    /// Offset of the next byte that [`Reassembler::insert`] will hand out.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// Bytes held back waiting for a hole to be filled.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Adds `data` at `offset`; appends every byte that became contiguous to `out`.
    pub fn insert(
        &mut self,
        offset: u64,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ReasmError> {
        let end = offset.saturating_add(data.len() as u64);
        if end <= self.next || data.is_empty() {
            return Ok(());
        }
        let (offset, data) = if offset < self.next {
            let skip = (self.next - offset) as usize;
            (self.next, &data[skip..])
        } else {
            (offset, data)
        };
        if end - self.next > self.cap as u64 {
            return Err(ReasmError::Overflow);
        }
        if offset == self.next && self.pending.is_empty() {
            out.extend_from_slice(data);
            self.next = end;
            return Ok(());
        }
        // Keep only the parts not already buffered.
        let mut cur = offset;
        if let Some((&s, c)) = self.pending.range(..=cur).next_back() {
            cur = cur.max(s + c.len() as u64);
        }
        let mut pieces = Vec::new();
        for (&s, c) in self.pending.range(offset..end) {
            if s > cur {
                pieces.push((cur, s));
            }
            cur = cur.max(s + c.len() as u64);
        }
        if cur < end {
            pieces.push((cur, end));
        }
        let add: usize = pieces.iter().map(|(a, b)| (b - a) as usize).sum();
        if self.buffered + add > self.cap {
            return Err(ReasmError::Overflow);
        }
        for (a, b) in pieces {
            let lo = (a - offset) as usize;
            let hi = (b - offset) as usize;
            self.pending.insert(a, data[lo..hi].to_vec());
        }
        self.buffered += add;
        while let Some(entry) = self.pending.first_entry() {
            let s = *entry.key();
            if s > self.next {
                break;
            }
            let c = entry.remove();
            self.buffered -= c.len();
            let e = s + c.len() as u64;
            if e > self.next {
                out.extend_from_slice(&c[(self.next - s) as usize..]);
                self.next = e;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(r: &mut Reassembler, off: u64, d: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        r.insert(off, d, &mut out).unwrap();
        out
    }

    #[test]
    fn in_order_passes_straight_through() {
        let mut r = Reassembler::new(64);
        assert_eq!(feed(&mut r, 0, b"hello "), b"hello ");
        assert_eq!(feed(&mut r, 6, b"world"), b"world");
        assert_eq!(r.next_offset(), 11);
        // Retransmission of old data yields nothing.
        assert_eq!(feed(&mut r, 0, b"hello"), b"");
    }

    #[test]
    fn out_of_order_and_overlaps_first_copy_wins() {
        let mut r = Reassembler::new(64);
        assert_eq!(feed(&mut r, 6, b"world"), b"");
        assert_eq!(feed(&mut r, 3, b"XXXwoRLD!"), b"");
        assert_eq!(r.buffered(), 9);
        assert_eq!(feed(&mut r, 0, b"hel"), b"helXXXworld!");
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.next_offset(), 12);
    }

    #[test]
    fn caps_are_enforced() {
        let mut r = Reassembler::new(8);
        let mut out = Vec::new();
        assert_eq!(r.insert(100, b"x", &mut out), Err(ReasmError::Overflow));
        assert_eq!(
            r.insert(u64::MAX - 1, b"xyz", &mut out),
            Err(ReasmError::Overflow)
        );
        assert!(r.insert(2, b"abcdef", &mut out).is_ok());
        assert_eq!(r.insert(1, b"zz", &mut out), Ok(()));
        assert_eq!(r.buffered(), 7);
        assert_eq!(r.insert(0, b"q", &mut out), Ok(()));
        assert_eq!(out, b"qzabcdef");
    }
}
