//! DTLS record framing inside one datagram (RFC 6347 §4.1, RFC 9147 §4) and
//! handshake fragment reassembly (RFC 6347 §4.2.3).

use crate::proto::tls::handshake::Message;

/// `type | version | epoch | seq48 | length`.
pub const PLAIN_HEADER: usize = 13;
/// DTLS 1.3 record-number sample size (the mask comes from the first 16 ciphertext bytes).
pub const SN_SAMPLE: usize = 16;

/// One record of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// DTLSPlaintext / DTLSCiphertext of DTLS ≤ 1.2 (and 1.3's cleartext epoch 0).
    Plain {
        content_type: u8,
        version: u16,
        epoch: u16,
        seq: u64,
        fragment: &'a [u8],
    },
    /// DTLS 1.3 unified header `001CSLEE`.
    Unified {
        /// The header as sent (sequence number still encrypted).
        header: &'a [u8],
        /// Offset of the sequence number in `header` and its length (1 or 2).
        seq_at: usize,
        seq_len: usize,
        /// Low two bits of the epoch.
        epoch_bits: u8,
        ciphertext: &'a [u8],
    },
}

/// True for a DTLS version field.
pub fn is_dtls_version(v: u16) -> bool {
    matches!(v, 0xfeff | 0xfefd | 0xfefc)
}

/// Splits a datagram into records. `cid_len` is the negotiated connection-id
/// length (0 when none). Returns the records and whether trailing bytes
/// could not be framed.
pub fn split(d: &[u8], cid_len: usize) -> (Vec<Record<'_>>, bool) {
    let mut out = Vec::new();
    let mut rest = d;
    while !rest.is_empty() {
        let b0 = rest[0];
        if b0 & 0xe0 == 0x20 {
            let cid = if b0 & 0x10 != 0 { cid_len } else { 0 };
            if b0 & 0x10 != 0 && cid_len == 0 {
                return (out, true);
            }
            let seq_len = if b0 & 0x08 != 0 { 2 } else { 1 };
            let has_len = b0 & 0x04 != 0;
            let hlen = 1 + cid + seq_len + if has_len { 2 } else { 0 };
            let Some(header) = rest.get(..hlen) else {
                return (out, true);
            };
            let body_len = if has_len {
                u16::from_be_bytes([header[hlen - 2], header[hlen - 1]]) as usize
            } else {
                rest.len() - hlen
            };
            let Some(ciphertext) = rest.get(hlen..hlen + body_len) else {
                return (out, true);
            };
            out.push(Record::Unified {
                header,
                seq_at: 1 + cid,
                seq_len,
                epoch_bits: b0 & 0x03,
                ciphertext,
            });
            rest = &rest[hlen + body_len..];
            continue;
        }
        let Some(h) = rest.get(..PLAIN_HEADER) else {
            return (out, true);
        };
        let version = u16::from_be_bytes([h[1], h[2]]);
        if !(20..=26).contains(&h[0]) || !is_dtls_version(version) {
            return (out, true);
        }
        let epoch = u16::from_be_bytes([h[3], h[4]]);
        let mut seq = 0u64;
        for &b in &h[5..11] {
            seq = (seq << 8) | b as u64;
        }
        let len = u16::from_be_bytes([h[11], h[12]]) as usize;
        let Some(fragment) = rest.get(PLAIN_HEADER..PLAIN_HEADER + len) else {
            return (out, true);
        };
        out.push(Record::Plain {
            content_type: h[0],
            version,
            epoch,
            seq,
            fragment,
        });
        rest = &rest[PLAIN_HEADER + len..];
    }
    (out, false)
}

/// The 8-byte `epoch || seq48` of a DTLS ≤ 1.2 record (its MAC / AEAD sequence).
pub fn epoch_seq(epoch: u16, seq: u64) -> [u8; 8] {
    ((epoch as u64) << 48 | (seq & 0xffff_ffff_ffff)).to_be_bytes()
}

/// Picks the full value closest to `expected` whose low `bits` bits equal `low`
/// (RFC 9147 §4.2.2 record-number and epoch reconstruction).
pub fn reconstruct(expected: u64, low: u64, bits: u32) -> u64 {
    let win = 1u64 << bits;
    let cand = (expected & !(win - 1)) | (low & (win - 1));
    let mut best = cand;
    for c in [cand.checked_sub(win), cand.checked_add(win)]
        .into_iter()
        .flatten()
    {
        if c.abs_diff(expected) < best.abs_diff(expected) {
            best = c;
        }
    }
    best
}

struct Partial {
    msg_seq: u16,
    msg_type: u8,
    body: Vec<u8>,
    /// Filled byte ranges, merged.
    have: Vec<(usize, usize)>,
}

/// Reassembles fragmented DTLS handshake messages of one direction;
/// retransmissions of completed messages are ignored. Bounded.
pub struct Reassembler {
    next: u16,
    partial: Vec<Partial>,
    cap: usize,
}

/// DTLS handshake header: `type | length u24 | message_seq u16 | fragment_offset u24 | fragment_length u24`.
pub const HS_HEADER: usize = 12;

impl Reassembler {
    pub fn new(cap: usize) -> Reassembler {
        Reassembler {
            next: 0,
            partial: Vec::new(),
            cap,
        }
    }

    /// Adds handshake-record content; returns completed messages in order.
    pub fn push(&mut self, mut data: &[u8]) -> Vec<Message> {
        let mut done = Vec::new();
        while let Some(h) = data.get(..HS_HEADER) {
            let u24 = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize;
            let msg_type = h[0];
            let len = u24(&h[1..4]);
            let msg_seq = u16::from_be_bytes([h[4], h[5]]);
            let off = u24(&h[6..9]);
            let flen = u24(&h[9..12]);
            let Some(frag) = data.get(HS_HEADER..HS_HEADER + flen) else {
                break;
            };
            data = &data[HS_HEADER + flen..];
            if msg_seq < self.next || len > self.cap || off + flen > len {
                continue;
            }
            let pos = match self.partial.iter().position(|p| p.msg_seq == msg_seq) {
                Some(p) => p,
                None => {
                    if self.partial.len() >= 16 {
                        continue;
                    }
                    self.partial.push(Partial {
                        msg_seq,
                        msg_type,
                        body: vec![0; len],
                        have: Vec::new(),
                    });
                    self.partial.len() - 1
                }
            };
            let p = &mut self.partial[pos];
            if p.body.len() != len {
                continue;
            }
            p.body[off..off + flen].copy_from_slice(frag);
            p.have.push((off, off + flen));
            p.have.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::new();
            for &(a, b) in &p.have {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            p.have = merged;
            // Deliver every complete message in sequence order.
            while let Some(i) = self.partial.iter().position(|p| {
                p.msg_seq == self.next
                    && (p.body.is_empty() || p.have.first() == Some(&(0, p.body.len())))
            }) {
                let p = self.partial.swap_remove(i);
                done.push(Message {
                    msg_type: p.msg_type,
                    body: p.body,
                });
                self.next = self.next.wrapping_add(1);
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_and_unified_records() {
        let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0xaa, 0xbb];
        // Unified header 0x2e: S=1 (16-bit seq), L=1, epoch bits 2.
        d.extend_from_slice(&[0x2e, 0x12, 0x34, 0x00, 0x03, 1, 2, 3]);
        // Unified header 0x22: 8-bit seq, no length: runs to the end.
        d.extend_from_slice(&[0x22, 0x09, 9, 9]);
        let (recs, trailing) = split(&d, 0);
        assert!(!trailing);
        assert_eq!(recs.len(), 3);
        assert!(matches!(
            recs[0],
            Record::Plain {
                content_type: 22,
                epoch: 0,
                seq: 7,
                fragment: &[0xaa, 0xbb],
                ..
            }
        ));
        assert!(matches!(
            recs[1],
            Record::Unified {
                seq_at: 1,
                seq_len: 2,
                epoch_bits: 2,
                ciphertext: &[1, 2, 3],
                ..
            }
        ));
        assert!(matches!(
            recs[2],
            Record::Unified {
                seq_len: 1,
                ciphertext: &[9, 9],
                ..
            }
        ));
        for cut in 0..d.len() {
            let _ = split(&d[..cut], 0);
        }
        assert!(split(&[0x30, 1, 2], 0).1, "CID without a negotiated length");
    }

    #[test]
    fn reconstructs_sequence_numbers_near_the_expected_one() {
        assert_eq!(reconstruct(0, 0, 8), 0);
        assert_eq!(reconstruct(5, 7, 8), 7);
        assert_eq!(reconstruct(0x1fe, 0x01, 8), 0x201);
        assert_eq!(reconstruct(0x201, 0xff, 8), 0x1ff);
        assert_eq!(reconstruct(0x10000, 0xfffe, 16), 0xfffe);
        assert_eq!(reconstruct(3, 2, 2), 2);
        assert_eq!(epoch_seq(1, 5), [0, 1, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn reassembles_fragments_and_ignores_retransmissions() {
        let frag = |seq: u16, off: u32, part: &[u8], total: u32| {
            let mut v = vec![11u8];
            v.extend_from_slice(&total.to_be_bytes()[1..]);
            v.extend_from_slice(&seq.to_be_bytes());
            v.extend_from_slice(&off.to_be_bytes()[1..]);
            v.extend_from_slice(&(part.len() as u32).to_be_bytes()[1..]);
            v.extend_from_slice(part);
            v
        };
        let mut r = Reassembler::new(1 << 16);
        assert!(r.push(&frag(0, 3, b"def", 6)).is_empty());
        let m = r.push(&frag(0, 0, b"abc", 6));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].body, b"abcdef");
        // A retransmission of message 0 is ignored; message 1 arrives whole.
        let mut both = frag(0, 0, b"abcdef", 6);
        both.extend(frag(1, 0, b"xy", 2));
        let m = r.push(&both);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].body, b"xy");
        // Oversized messages are not buffered.
        let mut small = Reassembler::new(4);
        assert!(small.push(&frag(0, 0, b"abcdef", 6)).is_empty());
    }
}
