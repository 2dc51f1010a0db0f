//! RTP and RTCP headers (RFC 3550, RFC 5761 multiplexing) and ZRTP framing
//! (RFC 6189).
//!
//! The header is never encrypted, even under SRTP, so its fields (payload
//! type, SSRC, sequence numbers, header extensions) are always readable;
//! whether the payload is too is decided per stream in [`MediaStats`].

/// A parsed RTP header and its payload (padding removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtp<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Header extension profile (`0xbede` one-byte, `0x100x` two-byte) if present.
    pub extension: Option<u16>,
    pub header_len: usize,
    pub payload: &'a [u8],
}

/// Parses an RTP packet. RTCP packet types (second byte 192..=223, RFC 5761)
/// are rejected: use [`rtcp`] for them.
pub fn parse(data: &[u8]) -> Option<Rtp<'_>> {
    let b0 = *data.first()?;
    let b1 = *data.get(1)?;
    if b0 >> 6 != 2 || (192..=223).contains(&b1) {
        return None;
    }
    let cc = usize::from(b0 & 0x0f);
    let mut off = 12 + 4 * cc;
    let fixed = data.get(..12)?;
    if data.len() < off {
        return None;
    }
    let mut extension = None;
    if b0 & 0x10 != 0 {
        let h = data.get(off..off + 4)?;
        let profile = u16::from_be_bytes([h[0], h[1]]);
        let words = usize::from(u16::from_be_bytes([h[2], h[3]]));
        off += 4 + 4 * words;
        if data.len() < off {
            return None;
        }
        extension = Some(profile);
    }
    let mut end = data.len();
    if b0 & 0x20 != 0 {
        let pad = usize::from(*data.last()?);
        if pad == 0 || off + pad > end {
            return None;
        }
        end -= pad;
    }
    Some(Rtp {
        marker: b1 & 0x80 != 0,
        payload_type: b1 & 0x7f,
        seq: u16::from_be_bytes([fixed[2], fixed[3]]),
        timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        extension,
        header_len: off,
        payload: data.get(off..end)?,
    })
}

/// RTCP packet types (RFC 3550 §12.1, RFC 4585).
pub mod rtcp_type {
    pub const SR: u8 = 200;
    pub const RR: u8 = 201;
    pub const SDES: u8 = 202;
    pub const BYE: u8 = 203;
    pub const APP: u8 = 204;
    pub const RTPFB: u8 = 205;
    pub const PSFB: u8 = 206;
    pub const XR: u8 = 207;
}

/// An RTCP compound packet, walked as far as it parses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rtcp {
    /// Packet types in order.
    pub types: Vec<u8>,
    /// SSRC of the first packet.
    pub ssrc: u32,
    /// The first SDES CNAME, if readable (it is not under SRTCP).
    pub cname: Option<String>,
    /// Whether the declared lengths covered the datagram exactly (plain
    /// RTCP); SRTCP appends an index and an auth tag after the compound.
    pub exact: bool,
}

/// Parses an RTCP (or SRTCP) compound packet: first byte V=2, packet type
/// 200..=207 in the first header and a length that fits.
pub fn rtcp(data: &[u8]) -> Option<Rtcp> {
    let mut out = Rtcp::default();
    let mut off = 0;
    while let Some(h) = data.get(off..off + 4) {
        if h[0] >> 6 != 2 || !(rtcp_type::SR..=rtcp_type::XR).contains(&h[1]) {
            break;
        }
        let len = (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1) * 4;
        let Some(pkt) = data.get(off..off + len) else {
            break;
        };
        if out.types.is_empty() {
            out.ssrc = u32::from_be_bytes(pkt.get(4..8)?.try_into().ok()?);
        }
        if h[1] == rtcp_type::SDES && out.cname.is_none() {
            out.cname = sdes_cname(pkt);
        }
        out.types.push(h[1]);
        off += len;
        if out.types.len() >= 16 {
            break;
        }
    }
    if out.types.is_empty() {
        return None;
    }
    out.exact = off == data.len();
    Some(out)
}

/// The CNAME item of the first chunk of an SDES packet.
fn sdes_cname(pkt: &[u8]) -> Option<String> {
    // Header 4, then chunks: SSRC 4, items (type, len, text) ending with 0.
    let mut off = 8;
    while let Some(&kind) = pkt.get(off) {
        if kind == 0 {
            return None;
        }
        let len = usize::from(*pkt.get(off + 1)?);
        let text = pkt.get(off + 2..off + 2 + len)?;
        if kind == 1 {
            let s = std::str::from_utf8(text).ok()?;
            return (!s.is_empty() && !s.chars().any(char::is_control)).then(|| s.to_string());
        }
        off += 2 + len;
    }
    None
}

/// ZRTP packets: preamble `0x10 0x00`, sequence, the magic cookie `ZRTP`.
pub fn is_zrtp(data: &[u8]) -> bool {
    data.len() >= 12 && data[0] & 0xf0 == 0x10 && &data[4..8] == b"ZRTP"
}

/// The ZRTP message type (`Hello   `, `Commit  `, `DHPart1 `, ...) if present.
pub fn zrtp_message(data: &[u8]) -> Option<&str> {
    if !is_zrtp(data) {
        return None;
    }
    // Message block: preamble 0x505a, length, 8-byte type.
    let m = data.get(12..24)?;
    if m[0..2] != [0x50, 0x5a] {
        return None;
    }
    std::str::from_utf8(&m[4..12]).ok().map(str::trim_end)
}

/// What a static payload type carries (RFC 3551 table 4 and 5).
pub fn static_codec(pt: u8) -> Option<&'static str> {
    Some(match pt {
        0 => "PCMU",
        3 => "GSM",
        4 => "G723",
        5 | 6 | 16 | 17 => "DVI4",
        7 => "LPC",
        8 => "PCMA",
        9 => "G722",
        10 | 11 => "L16",
        12 => "QCELP",
        13 => "CN",
        14 => "MPA",
        15 => "G728",
        18 => "G729",
        25 => "CelB",
        26 => "JPEG",
        28 => "nv",
        31 => "H261",
        32 => "MPV",
        33 => "MP2T",
        34 => "H263",
        _ => return None,
    })
}

/// Waveform codecs whose samples keep the shape of speech: their payload
/// bytes are far from uniform, so encryption is measurable by entropy.
fn is_waveform(pt: u8) -> bool {
    matches!(pt, 0 | 8 | 9 | 10 | 11 | 5 | 6 | 16 | 17)
}

/// How a stream's payload is protected, as far as the wire shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Payload is codec data in the clear.
    None,
    /// SRTP keyed by DTLS-SRTP (or SDES) seen for this flow.
    Srtp,
    /// ZRTP negotiated on this flow.
    Zrtp,
    /// Cannot tell: compressed codecs look as random as ciphertext.
    Unknown,
}

impl Protection {
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::None => "none",
            Protection::Srtp => "srtp",
            Protection::Zrtp => "zrtp",
            Protection::Unknown => "unknown",
        }
    }
}

/// Bytes of payload kept per stream for the entropy measurement.
const SAMPLE: usize = 8192;

/// Per-SSRC statistics.
#[derive(Debug, Clone)]
pub struct MediaStats {
    pub ssrc: u32,
    pub payload_type: u8,
    pub packets: u64,
    pub bytes: u64,
    last_seq: Option<u16>,
    /// Packets whose sequence number followed the previous one closely.
    pub in_order: u64,
    hist: Box<[u32; 256]>,
    sampled: usize,
    /// H.263 (RFC 2190/4629) payloads starting a picture with a PSC in the clear.
    pub picture_starts: u64,
    head: Vec<u8>,
}

impl MediaStats {
    pub fn new(ssrc: u32, payload_type: u8) -> MediaStats {
        MediaStats {
            ssrc,
            payload_type,
            packets: 0,
            bytes: 0,
            last_seq: None,
            in_order: 0,
            hist: Box::new([0; 256]),
            sampled: 0,
            picture_starts: 0,
            head: Vec::new(),
        }
    }

    pub fn add(&mut self, p: &Rtp<'_>) {
        self.packets += 1;
        self.bytes += p.payload.len() as u64;
        if let Some(last) = self.last_seq
            && p.seq.wrapping_sub(last) < 64
            && p.seq != last
        {
            self.in_order += 1;
        }
        self.last_seq = Some(p.seq);
        let room = SAMPLE - self.sampled;
        for &b in &p.payload[..p.payload.len().min(room)] {
            self.hist[usize::from(b)] += 1;
        }
        self.sampled += p.payload.len().min(room);
        if self.head.len() < 256 {
            let take = (256 - self.head.len()).min(p.payload.len());
            self.head.extend_from_slice(&p.payload[..take]);
        }
        if p.payload_type == 34 && h263_picture_start(p.payload) {
            self.picture_starts += 1;
        }
    }

    /// Shannon entropy of the sampled payload bytes, bits per byte.
    pub fn entropy(&self) -> f32 {
        let n = self.sampled as f32;
        if n == 0.0 {
            return 0.0;
        }
        self.hist
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f32 / n;
                -p * p.log2()
            })
            .sum()
    }

    /// A coherent stream: several packets, mostly in sequence.
    pub fn is_stream(&self) -> bool {
        self.packets >= 3 && self.in_order * 2 >= self.packets
    }

    /// Whether the payload is codec data in the clear. Only claimed when the
    /// codec's structure shows through: waveform audio far from uniform
    /// entropy, or H.263 picture start codes. Everything else (Opus, VP8,
    /// dynamic payload types) stays undecided: compressed media is as
    /// random-looking as ciphertext.
    pub fn plaintext(&self) -> bool {
        if !self.is_stream() {
            return false;
        }
        if is_waveform(self.payload_type) && self.sampled >= 1024 {
            // Uniform bytes over >= 1 KiB measure above 7.8 bits; speech in
            // G.711 stays well below (silence is a single repeated byte).
            return self.entropy() < 7.0;
        }
        // One picture start per packet in ciphertext would be a 2^-22 event.
        self.payload_type == 34 && self.picture_starts >= 2
    }

    /// The first payload bytes of the stream (up to 256), for evidence.
    pub fn head(&self) -> &[u8] {
        &self.head
    }
}

/// RFC 2190 mode A header (4 bytes, F=0) followed by a picture start code
/// `0000 0000 0000 0000 1000 00` at a byte boundary (SBIT = 0).
fn h263_picture_start(payload: &[u8]) -> bool {
    let Some(h) = payload.get(..7) else {
        return false;
    };
    // F bit clear (mode A) and SBIT = 0.
    h[0] & 0x80 == 0 && h[0] & 0x38 == 0 && h[4] == 0 && h[5] == 0 && h[6] & 0xfc == 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// nDPI `rtp.pcapng`: an H.263 packet (PT 34) with an RFC 2190 header and
    /// a picture start code.
    #[test]
    fn h263_packet_header_and_picture_start() {
        let d =
            hex("802201100009e88600001646007000000000836a0e033ffc05cc8e21d3df8bc0785f3cf854d61119");
        let p = parse(&d).unwrap();
        assert_eq!(p.payload_type, 34);
        assert_eq!(p.seq, 0x0110);
        assert_eq!(p.ssrc, 0x1646);
        assert!(!p.marker);
        assert_eq!(p.header_len, 12);
        assert!(h263_picture_start(p.payload));
        let cont =
            hex("80a201110009e88600001646007000002d91865a8e430b1073d0625640153c6f31b116a983c2ddd8");
        let p = parse(&cont).unwrap();
        assert!(p.marker);
        assert!(!h263_picture_start(p.payload));
    }

    /// nDPI `rtp.pcapng`: an RTP packet with a one-byte header extension.
    #[test]
    fn header_extension_is_skipped() {
        let d = hex("907848b6d17f3d75001a7e73bede000130a179db6a7f08e159cfa119");
        let p = parse(&d).unwrap();
        assert_eq!(p.payload_type, 120);
        assert_eq!(p.extension, Some(0xbede));
        assert_eq!(p.header_len, 20);
        assert_eq!(p.payload, &d[20..]);
    }

    #[test]
    fn padding_and_truncation() {
        // P bit set, 2 bytes of padding.
        let d = hex("a0000001000000010000000aabcd0002");
        let p = parse(&d).unwrap();
        assert_eq!(p.payload, &[0xab, 0xcd]);
        // Padding longer than the payload, CSRC count past the end.
        assert!(parse(&hex("a0000001000000010000000aff")).is_none());
        assert!(parse(&hex("8f000001000000010000000a")).is_none());
        // Version 1, RTCP types.
        assert!(parse(&hex("40000001000000010000000a")).is_none());
        assert!(parse(&hex("80c8000600000001")).is_none());
    }

    /// An RTCP SR + SDES compound as RFC 3550 lays it out.
    #[test]
    fn rtcp_compound_with_cname() {
        let d = hex(
            "80c80006 0000162e 00000000 00000000 00000000 00000000 00000000\
             81ca0005 0000162e 010a 616c69636540686f7374 00 000000"
                .replace(' ', "")
                .as_str(),
        );
        let r = rtcp(&d).unwrap();
        assert_eq!(r.types, vec![rtcp_type::SR, rtcp_type::SDES]);
        assert_eq!(r.ssrc, 0x162e);
        assert_eq!(r.cname.as_deref(), Some("alice@host"));
        assert!(r.exact);
    }

    /// nDPI `stun_wa_call.pcapng` frame 21: SRTCP (the SDES is encrypted,
    /// an index and tag follow the declared length).
    #[test]
    fn srtcp_is_not_exact() {
        let d = hex(
            "81ca0007e17231aa512b915aca97a8b431125bce0e80ef38d5c67020b5a4271780000001f96a29a21cbacd99321b",
        );
        let r = rtcp(&d).unwrap();
        assert_eq!(r.types, vec![rtcp_type::SDES]);
        assert!(!r.exact);
        assert_eq!(r.cname, None);
    }

    #[test]
    fn zrtp_hello() {
        let mut d = hex("10000001 5a525450 11223344 505a001e 48656c6c6f202020"
            .replace(' ', "")
            .as_str());
        d.extend_from_slice(&[0; 16]);
        assert!(is_zrtp(&d));
        assert_eq!(zrtp_message(&d), Some("Hello"));
        assert!(!is_zrtp(&hex("16fefd000000000000000000")));
    }

    fn stream(pt: u8, payloads: &[Vec<u8>]) -> MediaStats {
        let mut s = MediaStats::new(1, pt);
        for (i, pl) in payloads.iter().enumerate() {
            let mut pkt = vec![0x80, pt, 0, i as u8, 0, 0, 0, 0, 0, 0, 0, 1];
            pkt.extend_from_slice(pl);
            s.add(&parse(&pkt).unwrap());
        }
        s
    }

    /// nDPI `rtp.pcapng` (RTP over TCP): PCMA silence and speech samples.
    #[test]
    fn pcma_speech_is_plaintext_and_random_bytes_are_not() {
        let speech =
            hex("57565655d7d5d6d7d7d0d6d6d5d4d4d5d557545757575154d4555755d5d4d4d5d5d4d7d5d5d4d7d5");
        let pkts: Vec<Vec<u8>> = (0..40).map(|_| speech.clone()).collect();
        let s = stream(8, &pkts);
        assert!(s.entropy() < 4.0);
        assert!(s.plaintext());
        // Pseudo-random payloads under the same payload type: not plaintext.
        let mut x: u32 = 0x1234_5678;
        let noise: Vec<Vec<u8>> = (0..40)
            .map(|_| {
                (0..160)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        (x >> 24) as u8
                    })
                    .collect()
            })
            .collect();
        let s = stream(8, &noise);
        assert!(s.entropy() > 7.8);
        assert!(!s.plaintext());
        // Opus (dynamic PT) is never claimed as plaintext.
        let s = stream(111, &pkts);
        assert!(!s.plaintext());
    }
}
