use super::*;
use etherparse::{IpFragOffset, Ipv4Header, PacketBuilder};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const A4: [u8; 4] = [192, 0, 2, 1];
const B4: [u8; 4] = [198, 51, 100, 7];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn decoder() -> Decoder {
    Decoder::new(DefragLimits::default())
}

fn eth_tcp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(A4, B4, 64)
        .tcp(40000, 5222, 0x1000_0000, 0xffff)
        .ack(0x2000_0000)
        .psh()
        .write(&mut out, payload)
        .unwrap();
    out
}

fn packet(o: Outcome<'_>) -> Decoded<'_> {
    match o {
        Outcome::Packet(d) => d,
        other => panic!("expected a packet, got {other:?}"),
    }
}

#[test]
fn ethernet_padding_does_not_leak_into_payload() {
    let mut frame = eth_tcp(b"hi");
    // 14 + 20 + 20 + 2 = 56 bytes; pad to the 60-byte minimum plus an FCS.
    frame.extend_from_slice(&[0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
    let mut d = decoder();
    let p = packet(d.decode(LinkType::Ethernet, &frame, 0));
    assert_eq!(p.src, IpAddr::V4(Ipv4Addr::from(A4)));
    assert_eq!(p.dst, IpAddr::V4(Ipv4Addr::from(B4)));
    assert!(!p.reassembled);
    match p.l4 {
        L4::Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            payload,
            wire_len,
        } => {
            assert_eq!((src_port, dst_port), (40000, 5222));
            assert_eq!((seq, ack, window), (0x1000_0000, 0x2000_0000, 0xffff));
            assert!(flags.ack && flags.psh && !flags.syn && !flags.fin && !flags.rst);
            assert_eq!(payload, b"hi");
            assert_eq!(wire_len, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn snaplen_cut_reports_wire_length() {
    let frame = eth_tcp(&[b'x'; 1000]);
    let mut d = decoder();
    let p = packet(d.decode(LinkType::Ethernet, &frame[..14 + 20 + 20 + 100], 0));
    match p.l4 {
        L4::Tcp {
            payload, wire_len, ..
        } => assert_eq!((payload.len(), wire_len), (100, 1000)),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.stats().snaplen_cut, 1);

    let mut udp = Vec::new();
    PacketBuilder::ipv6(A6, B6, 64)
        .udp(5000, 443)
        .write(&mut udp, &[7; 1200])
        .unwrap();
    let p = packet(d.decode(LinkType::Raw, &udp[..40 + 8 + 30], 0));
    match p.l4 {
        L4::Udp {
            payload, wire_len, ..
        } => assert_eq!((payload.len(), wire_len), (30, 1200)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn vlan_and_non_ip() {
    let frame = eth_tcp(b"x");
    let mut tagged = frame[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
    tagged.extend_from_slice(&frame[12..]);
    let mut d = decoder();
    assert_eq!(
        packet(d.decode(LinkType::Ethernet, &tagged, 0)).vlan,
        Some(42)
    );
    let mut arp = frame[..12].to_vec();
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    assert_eq!(
        d.decode(LinkType::Ethernet, &arp, 0),
        Outcome::NotIp { ethertype: 0x0806 }
    );
    assert_eq!(d.stats().not_ip, 1);
}

#[test]
fn ipv6_extension_headers_before_tcp() {
    // IPv6, hop-by-hop (8 bytes), destination options (8 bytes), TCP.
    let mut tcp = Vec::new();
    PacketBuilder::ipv4(A4, B4, 1)
        .tcp(1, 2, 3, 4)
        .write(&mut tcp, b"payload")
        .unwrap();
    let tcp = &tcp[20..];
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&((16 + tcp.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 64]);
    p.extend_from_slice(&A6);
    p.extend_from_slice(&B6);
    p.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    p.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
    p.extend_from_slice(tcp);
    let mut d = decoder();
    let dec = packet(d.decode(LinkType::Ipv6, &p, 0));
    assert_eq!(dec.src, IpAddr::V6(Ipv6Addr::from(A6)));
    assert!(matches!(
        dec.l4,
        L4::Tcp {
            payload: b"payload",
            src_port: 1,
            dst_port: 2,
            ..
        }
    ));
}

/// IPv4 fragments of one UDP datagram, each as an Ethernet frame.
fn v4_fragments(id: u16, datagram: &[u8], size: usize) -> Vec<Vec<u8>> {
    datagram
        .chunks(size)
        .enumerate()
        .map(|(i, chunk)| {
            let mut h = Ipv4Header::new(chunk.len() as u16, 64, IpNumber::UDP, A4, B4).unwrap();
            h.identification = id;
            h.more_fragments = (i + 1) * size < datagram.len();
            h.fragment_offset = IpFragOffset::try_new((i * size / 8) as u16).unwrap();
            let mut f = vec![2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0x08, 0x00];
            h.write(&mut f).unwrap();
            f.extend_from_slice(chunk);
            f
        })
        .collect()
}

/// A UDP header + payload (what the fragments carry).
fn udp_datagram(payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&5060u16.to_be_bytes());
    d.extend_from_slice(&5061u16.to_be_bytes());
    d.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

#[test]
fn ipv4_fragments_reassemble_in_any_order() {
    let text: Vec<u8> = b"INVITE sip:bob@example.com SIP/2.0 "
        .iter()
        .cycle()
        .take(4000)
        .copied()
        .collect();
    let datagram = udp_datagram(&text);
    let frags = v4_fragments(0x1234, &datagram, 1480);
    assert_eq!(frags.len(), 3);
    let mut d = decoder();
    for i in [2, 0] {
        assert_eq!(
            d.decode(LinkType::Ethernet, &frags[i], 0),
            Outcome::FragmentHeld
        );
    }
    let p = packet(d.decode(LinkType::Ethernet, &frags[1], 0));
    assert!(p.reassembled);
    match p.l4 {
        L4::Udp {
            src_port,
            dst_port,
            payload,
            wire_len,
        } => {
            assert_eq!((src_port, dst_port), (5060, 5061));
            assert_eq!(payload, &text[..]);
            assert_eq!(wire_len as usize, text.len());
        }
        other => panic!("{other:?}"),
    }
    let s = d.stats();
    assert_eq!((s.fragments, s.reassembled, s.ip, s.udp), (3, 1, 1, 1));
    assert_eq!(d.buffered(), 0);
}

#[test]
fn overlapping_fragments_first_data_wins() {
    let datagram = udp_datagram(&[b'A'; 24]);
    let frags = v4_fragments(9, &datagram, 16);
    // A forged copy of the second fragment with different bytes.
    let mut forged = frags[1].clone();
    let n = forged.len();
    forged[n - 4..].copy_from_slice(b"EVIL");
    let mut d = decoder();
    assert_eq!(
        d.decode(LinkType::Ethernet, &frags[1], 0),
        Outcome::FragmentHeld
    );
    assert_eq!(
        d.decode(LinkType::Ethernet, &forged, 0),
        Outcome::FragmentHeld
    );
    let p = packet(d.decode(LinkType::Ethernet, &frags[0], 0));
    assert!(matches!(p.l4, L4::Udp { payload, .. } if payload == [b'A'; 24]));
    assert_eq!(d.stats().overlaps, 1);
}

#[test]
fn ipv6_fragments_with_options_after_the_fragment_header() {
    // Fragmentable part: destination options (8 bytes) then UDP.
    let mut fragmentable = vec![17, 0, 1, 4, 0, 0, 0, 0];
    fragmentable.extend_from_slice(&udp_datagram(&[b'z'; 100]));
    let parts = [&fragmentable[..64], &fragmentable[64..]];
    let mut d = decoder();
    let mut outcome = None;
    for (i, part) in parts.iter().enumerate().rev() {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((8 + part.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[44, 64]);
        p.extend_from_slice(&A6);
        p.extend_from_slice(&B6);
        let off = (i * 64) as u16 | u16::from(i == 0);
        p.extend_from_slice(&[60, 0]);
        p.extend_from_slice(&off.to_be_bytes());
        p.extend_from_slice(&0xdead_beefu32.to_be_bytes());
        p.extend_from_slice(part);
        let o = d.decode(LinkType::Raw, &p, 0);
        if i == 1 {
            assert_eq!(o, Outcome::FragmentHeld);
        } else {
            outcome = Some(format!("{o:?}"));
            let dec = packet(o);
            assert!(dec.reassembled);
            assert!(
                matches!(dec.l4, L4::Udp { src_port: 5060, payload, .. } if payload == [b'z'; 100])
            );
        }
    }
    assert!(outcome.is_some());
}

#[test]
fn every_link_type_reaches_tcp() {
    let eth = eth_tcp(b"hello");
    let ip = &eth[14..];
    let frames: Vec<(LinkType, Vec<u8>)> = link_samples(ip);
    let mut d = decoder();
    for (link, f) in &frames {
        let p = packet(d.decode(*link, f, 0));
        assert!(
            matches!(
                p.l4,
                L4::Tcp {
                    payload: b"hello",
                    ..
                }
            ),
            "{link}"
        );
    }
}

/// The same IP packet framed for every supported link type.
fn link_samples(ip: &[u8]) -> Vec<(LinkType, Vec<u8>)> {
    let cat = |a: &[u8]| [a, ip].concat();
    vec![
        (
            LinkType::Ethernet,
            cat(&[[2u8; 12].as_slice(), &[0x08, 0x00]].concat()),
        ),
        (
            LinkType::Ethernet,
            cat(&[
                [2u8; 12].as_slice(),
                &[0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x08, 0x00],
            ]
            .concat()),
        ),
        (
            LinkType::Ethernet,
            cat(&[
                [2u8; 12].as_slice(),
                &[0x88, 0x64, 0x11, 0, 0, 1],
                &((ip.len() + 2) as u16).to_be_bytes(),
                &[0, 0x21],
            ]
            .concat()),
        ),
        (
            LinkType::LinuxSll,
            cat(&[0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]),
        ),
        (
            LinkType::LinuxSll2,
            cat(&[
                0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0,
            ]),
        ),
        (LinkType::Null, cat(&[2, 0, 0, 0])),
        (LinkType::Null, cat(&[0, 0, 0, 2])),
        (LinkType::Loop, cat(&[0, 0, 0, 2])),
        (LinkType::Raw, ip.to_vec()),
        (LinkType::Ipv4, ip.to_vec()),
        (LinkType::Ppp, cat(&[0xff, 0x03, 0x00, 0x21])),
        (LinkType::Ppp, cat(&[0x00, 0x21])),
    ]
}

/// Every prefix of every sample frame, and of fragment frames, decodes to
/// something without panicking.
#[test]
fn every_prefix_of_every_sample_is_safe() {
    let eth = eth_tcp(b"some payload bytes");
    let mut v6 = Vec::new();
    PacketBuilder::ipv6(A6, B6, 9)
        .udp(1, 2)
        .write(&mut v6, b"v6 payload")
        .unwrap();
    let mut samples = link_samples(&eth[14..]);
    samples.extend(link_samples(&v6));
    for f in v4_fragments(5, &udp_datagram(&[1; 40]), 16) {
        samples.push((LinkType::Ethernet, f));
    }
    let mut d = decoder();
    for (link, f) in &samples {
        for cut in 0..=f.len() {
            let _ = d.decode(*link, &f[..cut], cut as i64);
        }
    }
    assert!(d.stats().malformed > 0);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        link in prop::sample::select(vec![
            LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::Null,
            LinkType::Loop, LinkType::Raw, LinkType::Ipv4, LinkType::Ipv6, LinkType::Ppp,
            LinkType::Other(105),
        ]),
        head in prop::sample::select(vec![
            vec![], vec![0x45u8], vec![0x60u8], vec![2u8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0x08, 0x00, 0x45],
            vec![2u8, 0, 0, 0, 0x45], vec![0xff, 0x03, 0x00, 0x57, 0x60],
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..200),
        ts in any::<i64>(),
    ) {
        let mut d = decoder();
        let frame = [head.as_slice(), tail.as_slice()].concat();
        let _ = d.decode(link, &frame, ts);
        let _ = d.decode(link, &frame, ts.wrapping_add(1));
    }
}

#[test]
fn snaplen_cut_fragment_is_not_reassembled() {
    let datagram = udp_datagram(&[b'q'; 40]);
    let frags = v4_fragments(3, &datagram, 24);
    let mut d = decoder();
    assert_eq!(
        d.decode(LinkType::Ethernet, &frags[0], 0),
        Outcome::FragmentHeld
    );
    // The last fragment, cut short: must not complete a wrong datagram.
    let last = &frags[1][..frags[1].len() - 5];
    assert_eq!(d.decode(LinkType::Ethernet, last, 0), Outcome::FragmentHeld);
    assert_eq!(d.stats().reassembled, 0);
    assert_eq!(d.stats().snaplen_cut, 1);
}
