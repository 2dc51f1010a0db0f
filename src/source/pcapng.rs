//! A small pcapng writer: section header, interfaces with nanosecond
//! timestamps, enhanced packets, decryption secrets and comments. Used by
//! `capture -w` (libpcap's savefile writes classic pcap only, which cannot
//! hold secrets) and by the fixture generators.

use std::io::{self, Write};

use super::LinkType;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const EPB: u32 = 6;
const DSB: u32 = 0x0a;
const BOM: u32 = 0x1a2b_3c4d;
const TLS_KEY_LOG: u32 = 0x544c_534b;

const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Writes one pcapng section to `W`.
pub struct PcapngWriter<W: Write> {
    w: W,
    big_endian: bool,
    position: u64,
    interfaces: u32,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a little-endian section (writes the SHB).
    pub fn new(w: W) -> io::Result<Self> {
        Self::with_options(w, false, None)
    }

    /// Starts a section in the chosen byte order, with an optional section
    /// comment (which is where some tools keep key-log lines).
    pub fn with_options(w: W, big_endian: bool, comment: Option<&str>) -> io::Result<Self> {
        let mut me = PcapngWriter {
            w,
            big_endian,
            position: 0,
            interfaces: 0,
        };
        me.section(comment)?;
        Ok(me)
    }

    /// Starts a new section in the same file: interface ids restart at 0.
    pub fn section(&mut self, comment: Option<&str>) -> io::Result<()> {
        let mut body = Vec::with_capacity(64);
        self.u32(&mut body, BOM);
        self.u16(&mut body, 1);
        self.u16(&mut body, 0);
        // Section length: not specified.
        body.extend_from_slice(&[0xff; 8]);
        let mut opts = Vec::new();
        if let Some(c) = comment {
            self.option(&mut opts, OPT_COMMENT, c.as_bytes());
        }
        let appl = concat!("plainsight ", env!("CARGO_PKG_VERSION"));
        self.option(&mut opts, SHB_USERAPPL, appl.as_bytes());
        self.end_options(&mut opts);
        body.extend_from_slice(&opts);
        self.interfaces = 0;
        self.block(SHB, &body).map(|_| ())
    }

    /// Declares an interface (IDB, `if_tsresol` = 9: nanoseconds) and
    /// returns its id.
    pub fn add_interface(
        &mut self,
        link: LinkType,
        snaplen: u32,
        name: Option<&str>,
    ) -> io::Result<u32> {
        let mut body = Vec::with_capacity(32);
        self.u16(&mut body, link.linktype() as u16);
        self.u16(&mut body, 0);
        self.u32(&mut body, snaplen);
        let mut opts = Vec::new();
        if let Some(n) = name {
            self.option(&mut opts, IF_NAME, n.as_bytes());
        }
        self.option(&mut opts, IF_TSRESOL, &[9]);
        self.end_options(&mut opts);
        body.extend_from_slice(&opts);
        self.block(IDB, &body)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes an enhanced packet block; returns its byte offset.
    pub fn write_packet(
        &mut self,
        if_id: u32,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<u64> {
        self.write_packet_with_comment(if_id, ts_ns, data, orig_len, None)
    }

    /// [`write_packet`](Self::write_packet) with an `opt_comment`.
    pub fn write_packet_with_comment(
        &mut self,
        if_id: u32,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
        comment: Option<&str>,
    ) -> io::Result<u64> {
        let caplen = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "packet too large"))?;
        let ticks = ts_ns.max(0) as u64;
        let mut body = Vec::with_capacity(20 + data.len() + 4);
        self.u32(&mut body, if_id);
        self.u32(&mut body, (ticks >> 32) as u32);
        self.u32(&mut body, ticks as u32);
        self.u32(&mut body, caplen);
        self.u32(&mut body, orig_len.max(caplen));
        body.extend_from_slice(data);
        pad(&mut body);
        if let Some(c) = comment {
            let mut opts = Vec::new();
            self.option(&mut opts, OPT_COMMENT, c.as_bytes());
            self.end_options(&mut opts);
            body.extend_from_slice(&opts);
        }
        self.block(EPB, &body)
    }

    /// Writes a Decryption Secrets Block holding NSS key-log text; returns
    /// its byte offset.
    pub fn write_secrets(&mut self, tls_keylog_text: &[u8]) -> io::Result<u64> {
        let len = u32::try_from(tls_keylog_text.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "secrets too large"))?;
        let mut body = Vec::with_capacity(8 + tls_keylog_text.len() + 4);
        self.u32(&mut body, TLS_KEY_LOG);
        self.u32(&mut body, len);
        body.extend_from_slice(tls_keylog_text);
        pad(&mut body);
        self.block(DSB, &body)
    }

    /// Writes any block from its body (padded here); for fixtures that need
    /// custom, unknown or hand-made blocks. Returns its byte offset.
    pub fn write_raw_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<u64> {
        let mut b = body.to_vec();
        pad(&mut b);
        self.block(block_type, &b)
    }

    /// Bytes written so far (the offset of the next block).
    pub fn position(&self) -> u64 {
        self.position
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn into_inner(self) -> W {
        self.w
    }

    fn block(&mut self, block_type: u32, body: &[u8]) -> io::Result<u64> {
        let total = u32::try_from(body.len() + 12)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "block too large"))?;
        let mut head = Vec::with_capacity(8);
        self.u32(&mut head, block_type);
        self.u32(&mut head, total);
        let mut tail = Vec::with_capacity(4);
        self.u32(&mut tail, total);
        self.w.write_all(&head)?;
        self.w.write_all(body)?;
        self.w.write_all(&tail)?;
        let at = self.position;
        self.position += u64::from(total);
        Ok(at)
    }

    fn option(&self, out: &mut Vec<u8>, code: u16, value: &[u8]) {
        // Option values are at most 65535 bytes; longer comments are cut.
        let value = &value[..value.len().min(0xfff8)];
        self.u16(out, code);
        self.u16(out, value.len() as u16);
        out.extend_from_slice(value);
        pad(out);
    }

    fn end_options(&self, out: &mut Vec<u8>) {
        self.u16(out, OPT_END);
        self.u16(out, 0);
    }

    fn u16(&self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn u32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
}

fn pad(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// Classic pcap writer, for fixtures and tests: either byte order, µs or ns.
pub struct PcapWriter<W: Write> {
    w: W,
    big_endian: bool,
    nanos: bool,
    position: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the 24-byte file header.
    pub fn new(
        mut w: W,
        link: LinkType,
        snaplen: u32,
        nanos: bool,
        big_endian: bool,
    ) -> io::Result<Self> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = Vec::with_capacity(24);
        let put = |h: &mut Vec<u8>, v: u32| {
            h.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        put(&mut h, magic);
        let version: u32 = if big_endian {
            (2 << 16) | 4
        } else {
            (4 << 16) | 2
        };
        put(&mut h, version);
        put(&mut h, 0);
        put(&mut h, 0);
        put(&mut h, snaplen);
        put(&mut h, link.linktype());
        w.write_all(&h)?;
        Ok(PcapWriter {
            w,
            big_endian,
            nanos,
            position: 24,
        })
    }

    /// Writes one record; returns its byte offset.
    pub fn write_packet(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<u64> {
        let ts = ts_ns.max(0);
        let sec = (ts / 1_000_000_000) as u32;
        let frac = if self.nanos {
            (ts % 1_000_000_000) as u32
        } else {
            (ts % 1_000_000_000 / 1000) as u32
        };
        let caplen = data.len() as u32;
        let mut h = Vec::with_capacity(16);
        for v in [sec, frac, caplen, orig_len.max(caplen)] {
            h.extend_from_slice(&if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            });
        }
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        let at = self.position;
        self.position += 16 + data.len() as u64;
        Ok(at)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{Block, PcapBlockOwned, PcapError, PcapNGReader};

    /// Every block pcap-parser's own reader finds in `bytes`.
    fn blocks(bytes: &[u8], mut f: impl FnMut(&Block<'_>)) {
        let mut r = PcapNGReader::new(1 << 16, bytes).unwrap();
        loop {
            match r.next() {
                Ok((n, PcapBlockOwned::NG(b))) => {
                    f(&b);
                    r.consume(n);
                }
                Ok((n, _)) => r.consume(n),
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    #[test]
    fn reads_back_with_pcap_parser() {
        for big in [false, true] {
            let mut w = PcapngWriter::with_options(Vec::new(), big, Some("section note")).unwrap();
            let eth = w
                .add_interface(LinkType::Ethernet, 65535, Some("eth0"))
                .unwrap();
            let raw = w.add_interface(LinkType::Raw, 262144, None).unwrap();
            assert_eq!((eth, raw), (0, 1));
            let ts = 1_700_000_000_123_456_789i64;
            let off = w.write_packet(1, ts, &[0x45, 0, 0, 20, 1], 1500).unwrap();
            w.write_secrets(b"CLIENT_RANDOM 00 11\n").unwrap();
            w.write_packet_with_comment(0, ts + 1, &[1, 2, 3, 4], 4, Some("hi"))
                .unwrap();
            w.flush().unwrap();
            let bytes = w.into_inner();
            assert_eq!(
                &bytes[off as usize..off as usize + 1],
                if big { &[0u8] } else { &[6u8] }
            );

            let mut seen = Vec::new();
            blocks(&bytes, |b| match b {
                Block::SectionHeader(s) => {
                    assert_eq!(s.big_endian(), big);
                    let c = s.options.iter().find(|o| o.code.0 == 1).unwrap();
                    assert_eq!(c.as_str().unwrap(), "section note");
                    seen.push("shb");
                }
                Block::InterfaceDescription(i) => {
                    assert_eq!(i.if_tsresol, 9);
                    seen.push("idb");
                }
                Block::EnhancedPacket(e) => {
                    let t = ((e.ts_high as u64) << 32) | e.ts_low as u64;
                    assert!(t == ts as u64 || t == ts as u64 + 1);
                    if e.if_id == 1 {
                        assert_eq!(&e.data[..e.caplen as usize], &[0x45, 0, 0, 20, 1]);
                        assert_eq!(e.origlen, 1500);
                    } else {
                        assert_eq!(e.options[0].as_str().unwrap(), "hi");
                    }
                    seen.push("epb");
                }
                Block::DecryptionSecrets(d) => {
                    assert_eq!(d.secrets_type.0, 0x544c_534b);
                    assert_eq!(&d.data[..d.secrets_len as usize], b"CLIENT_RANDOM 00 11\n");
                    seen.push("dsb");
                }
                other => panic!("unexpected {other:?}"),
            });
            assert_eq!(seen, ["shb", "idb", "idb", "epb", "dsb", "epb"]);
        }
    }

    #[test]
    fn classic_writer_both_orders_and_precisions() {
        for (big, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut w = PcapWriter::new(Vec::new(), LinkType::Null, 65535, nanos, big).unwrap();
            w.write_packet(1_500_000_000_987_654_321, &[2, 0, 0, 0], 4)
                .unwrap();
            let bytes = w.into_inner();
            let (rest, h) = pcap_parser::parse_pcap_header(&bytes).unwrap();
            assert_eq!(h.is_bigendian(), big);
            assert_eq!(h.is_nanosecond_precision(), nanos);
            let (_, rec) = if big {
                pcap_parser::parse_pcap_frame_be(rest).unwrap()
            } else {
                pcap_parser::parse_pcap_frame(rest).unwrap()
            };
            assert_eq!(rec.ts_sec, 1_500_000_000);
            assert_eq!(rec.ts_usec, if nanos { 987_654_321 } else { 987_654 });
            assert_eq!(rec.data, &[2, 0, 0, 0]);
        }
    }
}
