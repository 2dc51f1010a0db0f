use super::*;
use crate::source::pcapng::{PcapWriter, PcapngWriter};
use std::io::Write as _;

/// ts, link, data, orig_len, index, file_offset, interface.
type Seen = (i64, LinkType, Vec<u8>, u32, u64, Option<u64>, u32);

#[derive(Default)]
struct Sink {
    packets: Vec<Seen>,
    secrets: Vec<(Vec<u8>, SecretOrigin, u64)>,
    warnings: Vec<(Option<u64>, String)>,
    stop_after: Option<usize>,
}

impl PacketSink for Sink {
    fn packet(&mut self, p: &Packet<'_>) {
        self.packets.push((
            p.ts,
            p.link,
            p.data.to_vec(),
            p.orig_len,
            p.index,
            p.file_offset,
            p.interface,
        ));
    }
    fn secrets(&mut self, text: &[u8], origin: SecretOrigin, offset: u64) {
        self.secrets.push((text.to_vec(), origin, offset));
    }
    fn warning(&mut self, offset: Option<u64>, message: String) {
        self.warnings.push((offset, message));
    }
    fn should_stop(&self) -> bool {
        self.stop_after.is_some_and(|n| self.packets.len() >= n)
    }
}

fn temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn read(bytes: &[u8], filter: Option<&str>) -> (Result<InputSummary, SourceError>, Sink) {
    let f = temp(bytes);
    let mut sink = Sink::default();
    let r = read_file(f.path(), filter, &mut sink);
    (r, sink)
}

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Ethernet/IPv4/UDP frame with `n` payload bytes.
fn udp_frame(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(5353, 53)
        .write(&mut out, &vec![0x61; n])
        .unwrap();
    out
}

/// Raw IPv4/TCP packet.
fn tcp_raw() -> Vec<u8> {
    let mut out = Vec::new();
    etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 80, 1, 1000)
        .write(&mut out, b"GET / HTTP/1.1\r\n\r\n")
        .unwrap();
    out
}

const T0: i64 = 1_700_000_000_123_456_789;

fn classic(big: bool, nanos: bool, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet, 65535, nanos, big).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(T0 + i as i64 * 1_000_000_000, f, f.len() as u32)
            .unwrap();
    }
    w.into_inner()
}

#[test]
fn classic_pcap_all_byte_orders_and_precisions() {
    let frames = vec![udp_frame(10), udp_frame(100), udp_frame(0)];
    for (big, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
        let bytes = classic(big, nanos, &frames);
        let (r, sink) = read(&bytes, None);
        let s = r.unwrap();
        assert_eq!(s.kind, "pcap");
        assert_eq!(s.packets, 3);
        assert_eq!(s.size, bytes.len() as u64);
        assert_eq!(s.sha256, sha(&bytes));
        assert_eq!(s.truncated_at, None);
        assert_eq!(s.link_types, [LinkType::Ethernet]);
        assert!(sink.warnings.is_empty(), "{:?}", sink.warnings);
        let mut offset = 24;
        for (i, p) in sink.packets.iter().enumerate() {
            let want_ts = T0 + i as i64 * 1_000_000_000;
            let want_ts = if nanos {
                want_ts
            } else {
                want_ts / 1000 * 1000
            };
            assert_eq!(p.0, want_ts);
            assert_eq!(p.2, frames[i]);
            assert_eq!(p.4, i as u64 + 1);
            assert_eq!(p.5, Some(offset));
            offset += 16 + frames[i].len() as u64;
        }
    }
}

/// IDB body with a raw `if_tsresol` byte and an `if_tsoffset`.
fn idb_body(link: u16, tsresol: u8, tsoffset: i64, big: bool) -> Vec<u8> {
    let mut b = Vec::new();
    let u16b = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    b.extend_from_slice(&u16b(link));
    b.extend_from_slice(&u16b(0));
    b.extend_from_slice(&if big {
        0u32.to_be_bytes()
    } else {
        0u32.to_le_bytes()
    });
    b.extend_from_slice(&u16b(9));
    b.extend_from_slice(&u16b(1));
    b.extend_from_slice(&[tsresol, 0, 0, 0]);
    b.extend_from_slice(&u16b(14));
    b.extend_from_slice(&u16b(8));
    b.extend_from_slice(&if big {
        tsoffset.to_be_bytes()
    } else {
        tsoffset.to_le_bytes()
    });
    b.extend_from_slice(&[0, 0, 0, 0]);
    b
}

fn epb_body(if_id: u32, ticks: u64, data: &[u8], big: bool) -> Vec<u8> {
    let mut b = Vec::new();
    let u32b = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    for v in [
        if_id,
        (ticks >> 32) as u32,
        ticks as u32,
        data.len() as u32,
        data.len() as u32,
    ] {
        b.extend_from_slice(&u32b(v));
    }
    b.extend_from_slice(data);
    b
}

const CR: &str = "CAF63AEAC3D75B0298DB493F05612431C573E14D085F125F07FD6B3E4FADFDAD";

/// Two sections (little- then big-endian), three interfaces with different
/// link types and timestamp resolutions, SPB, DSBs before the IDB and
/// between packets, a custom and an unknown block, key-log comments.
fn rich_pcapng() -> (Vec<u8>, Vec<u64>) {
    let mut offsets = Vec::new();
    let keys = format!("CLIENT_RANDOM {CR} 00112233\n");
    let mut w = PcapngWriter::with_options(Vec::new(), false, Some(&keys)).unwrap();
    w.write_secrets(b"SERVER_TRAFFIC_SECRET_0 aa bb\n").unwrap();
    w.add_interface(LinkType::Ethernet, 65535, Some("eth0"))
        .unwrap();
    // Interface 1: raw IP, microseconds (2^-20 s units), offset 100 s.
    w.write_raw_block(1, &idb_body(101, 0x80 | 20, 100, false))
        .unwrap();
    offsets.push(w.write_packet(0, T0, &udp_frame(3), 60).unwrap());
    // 1.5 s in 2^-20 units on interface 1.
    offsets.push(
        w.write_raw_block(6, &epb_body(1, 3 << 19, &tcp_raw(), false))
            .unwrap(),
    );
    w.write_raw_block(0x0000_0bad, &[0, 0, 0xf4, 0x7c, 1, 2, 3])
        .unwrap();
    w.write_raw_block(0x0000_0777, &[9; 10]).unwrap();
    w.write_secrets(b"CLIENT_TRAFFIC_SECRET_0 cc dd\n").unwrap();
    // Simple packet block: interface 0, no timestamp.
    let mut spb = Vec::new();
    let frame = udp_frame(1);
    spb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    spb.extend_from_slice(&frame);
    offsets.push(w.write_raw_block(3, &spb).unwrap());
    let mut bytes = w.into_inner();

    // Section 2, big-endian: interface ids restart at 0 with LINUX_SLL2.
    let start = bytes.len() as u64;
    let mut w2 = PcapngWriter::with_options(Vec::new(), true, None).unwrap();
    w2.write_raw_block(1, &idb_body(276, 3, -5, true)).unwrap();
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    sll2.extend_from_slice(&tcp_raw());
    // 2 500 ms.
    offsets.push(
        start
            + w2.write_raw_block(6, &epb_body(0, 2_500, &sll2, true))
                .unwrap(),
    );
    bytes.extend_from_slice(&w2.into_inner());
    (bytes, offsets)
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_secrets() {
    let (bytes, offsets) = rich_pcapng();
    let (r, sink) = read(&bytes, None);
    let s = r.unwrap();
    assert_eq!(s.kind, "pcapng");
    assert_eq!(s.packets, 4);
    assert_eq!(s.sha256, sha(&bytes));
    assert_eq!(s.truncated_at, None);
    assert!(sink.warnings.is_empty(), "{:?}", sink.warnings);
    assert_eq!(
        s.link_types,
        [LinkType::Ethernet, LinkType::Raw, LinkType::LinuxSll2]
    );
    let p = &sink.packets;
    assert_eq!(p.len(), 4);
    assert_eq!((p[0].0, p[0].3, p[0].6), (T0, 60, 0));
    assert_eq!(p[0].2, udp_frame(3));
    assert_eq!(
        p[1].0, 101_500_000_000,
        "power-of-two resolution plus offset"
    );
    assert_eq!((p[1].1, p[1].6), (LinkType::Raw, 1));
    assert_eq!(p[1].2, tcp_raw(), "EPB padding must be cut");
    assert_eq!((p[2].0, p[2].1), (0, LinkType::Ethernet));
    assert_eq!(p[2].2, udp_frame(1), "SPB padding must be cut");
    assert_eq!(
        p[3].0, -2_500_000_000,
        "milliseconds with a negative offset"
    );
    assert_eq!(p[3].1, LinkType::LinuxSll2);
    for (i, pk) in p.iter().enumerate() {
        assert_eq!(pk.4, i as u64 + 1);
        assert_eq!(pk.5, Some(offsets[i]));
    }
    let secrets: Vec<(String, SecretOrigin)> = sink
        .secrets
        .iter()
        .map(|(t, o, _)| (String::from_utf8(t.clone()).unwrap(), *o))
        .collect();
    assert_eq!(
        secrets,
        [
            (
                format!("CLIENT_RANDOM {CR} 00112233\n"),
                SecretOrigin::Comment
            ),
            (
                "SERVER_TRAFFIC_SECRET_0 aa bb\n".into(),
                SecretOrigin::SecretsBlock
            ),
            (
                "CLIENT_TRAFFIC_SECRET_0 cc dd\n".into(),
                SecretOrigin::SecretsBlock
            ),
        ]
    );
    assert_eq!(sink.secrets[0].2, 0, "the comment is in the SHB at byte 0");
}

/// Cutting a file anywhere delivers exactly the packets before the cut,
/// never errors once the magic is there, and names the cut offset.
#[test]
fn truncation_at_every_byte() {
    let classic_bytes = classic(false, false, &[udp_frame(5), udp_frame(7)]);
    let (ng_bytes, ng_offsets) = rich_pcapng();
    let record_ends = {
        let a = 24 + 16 + udp_frame(5).len();
        vec![a, a + 16 + udp_frame(7).len()]
    };
    for cut in 4..classic_bytes.len() {
        let (r, sink) = read(&classic_bytes[..cut], None);
        let s = r.unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let complete = record_ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(sink.packets.len(), complete, "cut {cut}");
        let at_boundary = cut == 24 || record_ends.contains(&cut);
        assert_eq!(s.truncated_at.is_some(), !at_boundary, "cut {cut}");
        if let Some(at) = s.truncated_at {
            let msg = &sink.warnings.last().unwrap().1;
            assert!(
                msg.starts_with(&format!("capture truncated at byte {at}: ")),
                "{msg}"
            );
            assert!(msg.contains("left"), "{msg}");
        }
        assert_eq!(s.size, cut as u64);
        assert_eq!(s.sha256, sha(&classic_bytes[..cut]));
    }
    let blocks = block_spans(&ng_bytes);
    for cut in 4..ng_bytes.len() {
        let (r, sink) = read(&ng_bytes[..cut], None);
        let s = r.unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let complete_packets = blocks
            .iter()
            .filter(|(start, end)| *end <= cut && ng_offsets.contains(&(*start as u64)))
            .count();
        assert_eq!(sink.packets.len(), complete_packets, "cut {cut}");
        let at_boundary = blocks.iter().any(|(_, end)| *end == cut);
        assert_eq!(s.truncated_at.is_some(), !at_boundary, "cut {cut}");
        if let Some(at) = s.truncated_at {
            assert!(
                blocks.iter().any(|(start, _)| *start as u64 == at),
                "cut {cut}"
            );
        }
    }
}

/// (start, end) of every pcapng block, following byte order per section.
fn block_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut big = false;
    while pos + 12 <= bytes.len() {
        let w = |i: usize| [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
        if u32::from_le_bytes(w(pos)) == 0x0a0d_0d0a {
            big = u32::from_be_bytes(w(pos + 8)) == 0x1a2b_3c4d;
        }
        let len = if big {
            u32::from_be_bytes(w(pos + 4))
        } else {
            u32::from_le_bytes(w(pos + 4))
        } as usize;
        out.push((pos, pos + len));
        pos += len;
    }
    out
}

#[test]
fn truncation_message_names_offset_and_sizes() {
    let bytes = classic(false, false, &[udp_frame(5), udp_frame(100)]);
    let second = 24 + 16 + udp_frame(5).len();
    let cut = second + 16 + 20;
    let (r, sink) = read(&bytes[..cut], None);
    let s = r.unwrap();
    assert_eq!(s.truncated_at, Some(second as u64));
    assert_eq!(sink.packets.len(), 1);
    let need = 16 + udp_frame(100).len();
    assert_eq!(
        sink.warnings,
        [(
            Some(second as u64),
            format!("capture truncated at byte {second}: record needs {need} bytes, 36 left")
        )]
    );
}

#[test]
fn garbage_after_a_valid_prefix() {
    let mut bytes = classic(true, false, &[udp_frame(5)]);
    let good = bytes.len();
    bytes.extend_from_slice(b"this is not a pcap record, just text appended by accident\n");
    let (r, sink) = read(&bytes, None);
    let s = r.unwrap();
    assert_eq!(sink.packets.len(), 1);
    assert_eq!(s.truncated_at, Some(good as u64));
    assert_eq!(s.size, bytes.len() as u64, "the whole file is hashed");
    assert_eq!(s.sha256, sha(&bytes));
    assert!(sink.warnings[0].1.contains(&format!("byte {good}")));

    let (mut ng, _) = rich_pcapng();
    let good = ng.len();
    ng.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4]);
    let (r, sink) = read(&ng, None);
    let s = r.unwrap();
    assert_eq!(sink.packets.len(), 4);
    assert_eq!(s.truncated_at, Some(good as u64));
    assert!(
        sink.warnings[0]
            .1
            .starts_with(&format!("capture corrupt at byte {good}"))
    );
}

#[test]
fn malformed_block_with_sound_framing_is_skipped() {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(LinkType::Ethernet, 0, None).unwrap();
    // EPB whose caplen (500) exceeds its block.
    let mut bad = epb_body(0, 1, &[0; 8], false);
    bad[12..16].copy_from_slice(&500u32.to_le_bytes());
    let bad_at = w.write_raw_block(6, &bad).unwrap();
    w.write_packet(0, T0, &udp_frame(2), 0).unwrap();
    let bytes = w.into_inner();
    let (r, sink) = read(&bytes, None);
    let s = r.unwrap();
    assert_eq!(sink.packets.len(), 1);
    assert_eq!(s.truncated_at, None);
    assert_eq!(sink.warnings.len(), 1);
    assert!(sink.warnings[0].1.contains(&format!("at byte {bad_at}")));
}

#[test]
fn huge_packets_grow_the_buffer_and_absurd_ones_stop() {
    let big = vec![0x55u8; 3 << 20];
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(LinkType::Raw, 0, None).unwrap();
    w.write_packet(0, T0, &big, big.len() as u32).unwrap();
    w.write_packet(0, T0, &tcp_raw(), 0).unwrap();
    let bytes = w.into_inner();
    let (r, sink) = read(&bytes, None);
    r.unwrap();
    assert_eq!(sink.packets.len(), 2);
    assert_eq!(sink.packets[0].2.len(), big.len());

    // Classic record claiming 1 GiB right after the header.
    let mut c = classic(false, false, &[]);
    c.extend_from_slice(&[0; 8]);
    c.extend_from_slice(&(1u32 << 30).to_le_bytes());
    c.extend_from_slice(&(1u32 << 30).to_le_bytes());
    let (r, sink) = read(&c, None);
    assert_eq!(r.unwrap().truncated_at, Some(24));
    assert!(
        sink.warnings[0]
            .1
            .contains("claims 1073741824 captured bytes")
    );
}

#[test]
fn not_a_capture_says_what_it_looks_like() {
    for (bytes, want) in [
        (&b""[..], "the file is empty"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "gzip"),
        (b"hello, this is a text file\n", "text"),
        (b"SQLite format 3\0more", "SQLite"),
    ] {
        let (r, _) = read(bytes, None);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("is not a pcap or pcapng capture"), "{e}");
        assert!(e.contains(want), "{e}");
    }
    let f = tempfile::NamedTempFile::new().unwrap();
    let missing = f.path().with_extension("missing");
    let e = read_file(&missing, None, &mut Sink::default()).unwrap_err();
    assert!(matches!(e, SourceError::Io { .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("cannot read {}", missing.display()))
    );
}

#[test]
fn unsupported_link_types() {
    let w = PcapWriter::new(Vec::new(), LinkType::Other(105), 65535, false, false).unwrap();
    let (r, _) = read(&w.into_inner(), None);
    let e = r.unwrap_err().to_string();
    assert!(
        e.ends_with("unsupported link type LINKTYPE_IEEE802_11 (105)"),
        "{e}"
    );

    // Only an 802.11 interface with packets: an error.
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(LinkType::Other(105), 0, None).unwrap();
    w.write_packet(0, T0, &[0; 24], 24).unwrap();
    let (r, _) = read(&w.into_inner(), None);
    assert!(matches!(r, Err(SourceError::UnsupportedLinkType { .. })));

    // Mixed with Ethernet: its packets are skipped with one warning.
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(LinkType::Other(105), 0, None).unwrap();
    w.add_interface(LinkType::Ethernet, 0, None).unwrap();
    for i in 0..3 {
        w.write_packet(i % 2, T0, &udp_frame(1), 0).unwrap();
    }
    w.write_packet(7, T0, &udp_frame(1), 0).unwrap();
    w.write_packet(7, T0, &udp_frame(1), 0).unwrap();
    let (r, sink) = read(&w.into_inner(), None);
    let s = r.unwrap();
    assert_eq!((s.packets, s.skipped), (5, 4));
    assert_eq!(sink.packets.len(), 1);
    assert_eq!(sink.packets[0].4, 2, "frame numbers count skipped packets");
    assert_eq!(sink.warnings.len(), 2, "{:?}", sink.warnings);
    assert!(
        sink.warnings[0]
            .1
            .contains("interface 0 has unsupported link type")
    );
    assert!(sink.warnings[1].1.contains("undeclared interface 7"));
}

#[test]
fn sink_can_stop_early() {
    let bytes = classic(false, false, &[udp_frame(1), udp_frame(2), udp_frame(3)]);
    let f = temp(&bytes);
    let mut sink = Sink {
        stop_after: Some(2),
        ..Sink::default()
    };
    let s = read_file(f.path(), None, &mut sink).unwrap();
    assert_eq!(sink.packets.len(), 2);
    assert!(s.size <= bytes.len() as u64);
}

#[cfg(feature = "live")]
#[test]
fn bpf_filter_on_file_input() {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(LinkType::Ethernet, 0, None).unwrap();
    w.add_interface(LinkType::Raw, 0, None).unwrap();
    w.write_packet(0, T0, &udp_frame(1), 0).unwrap();
    w.write_packet(1, T0, &tcp_raw(), 0).unwrap();
    w.write_packet(0, T0, &udp_frame(2), 0).unwrap();
    let bytes = w.into_inner();
    let (r, sink) = read(&bytes, Some("tcp port 80"));
    let s = r.unwrap();
    assert_eq!((s.packets, s.filtered_out), (3, 2));
    assert_eq!(sink.packets.len(), 1);
    assert_eq!(sink.packets[0].4, 2);
    let (r, _) = read(&bytes, Some("tcp prot 80"));
    assert!(matches!(r, Err(SourceError::BadFilter { .. })));
}

#[cfg(not(feature = "live"))]
#[test]
fn filter_without_libpcap_is_a_clear_error() {
    let (r, _) = read(&classic(false, false, &[]), Some("tcp"));
    assert!(matches!(r, Err(SourceError::LiveNotCompiled { .. })));
}

/// A pipe-like reader: returns a few bytes per call, sometimes interrupted.
struct Trickle<'a> {
    data: &'a [u8],
    calls: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(5) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let n = (self.calls % 7 + 1).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn short_reads_from_a_pipe_give_the_same_result() {
    let (ng, _) = rich_pcapng();
    let classic_bytes = classic(true, true, &[udp_frame(1), udp_frame(900)]);
    for bytes in [&ng, &classic_bytes] {
        let (whole, want) = read(bytes, None);
        let mut sink = Sink::default();
        let got = read_stream(
            Box::new(Trickle {
                data: bytes,
                calls: 0,
            }),
            "pipe",
            None,
            &mut sink,
        )
        .unwrap();
        assert_eq!(got, whole.unwrap());
        assert_eq!(sink.packets, want.packets);
        assert_eq!(sink.secrets, want.secrets);
    }
}

#[test]
fn record_of_the_largest_accepted_size_is_read() {
    let big = vec![7u8; MAX_BLOCK];
    let mut w = PcapWriter::new(Vec::new(), LinkType::Raw, MAX_BLOCK as u32, false, false).unwrap();
    w.write_packet(T0, &big, big.len() as u32).unwrap();
    let bytes = w.into_inner();
    let mut sink = Sink::default();
    let s = read_stream(Box::new(&bytes[..]), "mem", None, &mut sink).unwrap();
    assert_eq!(s.truncated_at, None);
    assert_eq!(sink.packets.len(), 1);
    assert_eq!(sink.packets[0].2.len(), MAX_BLOCK);
}
