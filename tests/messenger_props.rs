//! Property tests for the media and messenger parsers: round trips where a
//! wire format can be built, and "never panics, stays bounded" on arbitrary
//! bytes and arbitrary segmentation for every dissector.

use plainsight::evidence::Layer;
use plainsight::evidence::canary::CanarySet;
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::proto::rtc::stun;
use plainsight::proto::telegram::{mtproto, obfuscated2, transport};
use plainsight::proto::whatsapp::frame as wa;
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use proptest::prelude::*;
use std::net::{IpAddr, SocketAddr};

fn env() -> &'static Env {
    static ENV: std::sync::OnceLock<Env> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let rules = plainsight::rules::builtin();
        Env::new(
            CanarySet::default(),
            SecretStore::default(),
            AppIndex::new(&rules.apps),
        )
    })
}

/// Runs chunks through a stream the way the engine would.
fn run(env: &Env, transport: Transport, port: u16, chunks: &[(bool, Vec<u8>)]) -> Collector {
    let flow = FlowInfo {
        id: 1,
        transport,
        client: "10.0.0.1:40000".parse().unwrap(),
        server: SocketAddr::new("10.0.0.2".parse().unwrap(), port),
    };
    let mut out = Collector::default();
    {
        let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
        let mut s = match transport {
            Transport::Udp => Stream::datagrams(Layer::plain("udp"), Hint::default()),
            Transport::Tcp => Stream::new(Layer::plain("tcp"), Hint::default()),
        };
        for (up, b) in chunks {
            let dir = if *up {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            s.data(&mut cx, dir, b);
        }
        s.finish(&mut cx);
    }
    out
}

/// Splits `data` at the given cut points.
fn segment(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| data[w[0]..w[1]].to_vec())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stun_xor_addresses_round_trip(v4 in any::<[u8; 4]>(), v6 in any::<[u8; 16]>(),
                                     port in any::<u16>(), id in any::<[u8; 12]>(), six in any::<bool>()) {
        let mut cid = [0u8; 16];
        cid[..4].copy_from_slice(&stun::MAGIC);
        cid[4..].copy_from_slice(&id);
        let ip: IpAddr = if six { v6.into() } else { v4.into() };
        let mut value = vec![0, if six { 2 } else { 1 }];
        value.extend((port ^ 0x2112).to_be_bytes());
        match ip {
            IpAddr::V4(a) => value.extend(a.octets().iter().zip(&cid).map(|(x, k)| x ^ k)),
            IpAddr::V6(a) => value.extend(a.octets().iter().zip(&cid).map(|(x, k)| x ^ k)),
        }
        prop_assert_eq!(stun::xor_address(&value, &cid), Some(SocketAddr::new(ip, port)));
    }

    #[test]
    fn stun_parser_is_total(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Some(m) = stun::parse(&data) {
            prop_assert!(m.attributes().count() <= data.len() / 4);
            let _ = stun::addresses(&m);
            let _ = stun::fingerprint_ok(&data, &m);
        }
        let _ = stun::channel_data(&data);
    }

    #[test]
    fn obfuscated2_round_trips(seed in any::<[u8; 64]>(), tag in 0usize..3,
                               up in proptest::collection::vec(any::<u8>(), 0..300),
                               down in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut init = seed;
        let tags = [[0xef; 4], [0xee; 4], [0xdd; 4]];
        init[56..60].copy_from_slice(&tags[tag]);
        prop_assume!(!obfuscated2::reserved(&init));
        let key: [u8; 32] = init[8..40].try_into().unwrap();
        let iv: [u8; 16] = init[40..56].try_into().unwrap();
        let mut client = obfuscated2::Ctr::new(&key, &iv);
        let mut enc = init;
        client.apply(&mut enc);
        let mut sent = init;
        sent[56..].copy_from_slice(&enc[56..]);
        let mut k = obfuscated2::derive(&sent, None).unwrap();
        prop_assert_eq!(obfuscated2::Tag::from_bytes(tags[tag]), Some(k.tag));
        let mut c = up.clone();
        client.apply(&mut c);
        k.to_server.apply(&mut c);
        prop_assert_eq!(&c, &up);
        let mut rev = [0u8; 48];
        rev.copy_from_slice(&init[8..56]);
        rev.reverse();
        let mut server = obfuscated2::Ctr::new(&rev[..32].try_into().unwrap(), &rev[32..].try_into().unwrap());
        let mut s = down.clone();
        server.apply(&mut s);
        k.to_client.apply(&mut s);
        prop_assert_eq!(&s, &down);
    }

    #[test]
    fn mtproto_transports_round_trip(packets in proptest::collection::vec(
                                         proptest::collection::vec(any::<u8>(), 1..200), 1..6),
                                     kind in 0usize..4, cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let kinds = [transport::Kind::Abridged, transport::Kind::Intermediate,
                     transport::Kind::PaddedIntermediate, transport::Kind::Full];
        let kind = kinds[kind];
        // Packets are multiples of 4 bytes, as MTProto's are.
        let packets: Vec<Vec<u8>> = packets.into_iter().map(|mut p| { p.resize(p.len().div_ceil(4) * 4, 0); p }).collect();
        let mut wire = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            match kind {
                transport::Kind::Abridged => {
                    let words = p.len() / 4;
                    if words < 0x7f { wire.push(words as u8); } else {
                        wire.push(0x7f);
                        wire.extend(&(words as u32).to_le_bytes()[..3]);
                    }
                    wire.extend(p);
                }
                transport::Kind::Intermediate => {
                    wire.extend((p.len() as u32).to_le_bytes());
                    wire.extend(p);
                }
                transport::Kind::PaddedIntermediate => {
                    let pad = i % 4;
                    wire.extend(((p.len() + pad) as u32).to_le_bytes());
                    wire.extend(p);
                    wire.extend(std::iter::repeat_n(0xaa, pad));
                }
                transport::Kind::Full => wire.extend(transport::full_packet(i as u32, p)),
            }
        }
        let mut f = transport::Framer::new(kind, false, 1 << 20);
        let mut out = Vec::new();
        for seg in segment(&wire, &cuts) {
            f.push(&seg, &mut out).unwrap();
        }
        let got: Vec<Vec<u8>> = out.into_iter().map(|u| match u {
            transport::Unit::Packet(p) => p,
            transport::Unit::QuickAck(_) => Vec::new(),
        }).collect();
        prop_assert_eq!(got, packets);
    }

    #[test]
    fn mtproto_framer_and_envelope_are_total(data in proptest::collection::vec(any::<u8>(), 0..600),
                                              kind in 0usize..4, server in any::<bool>()) {
        let kinds = [transport::Kind::Abridged, transport::Kind::Intermediate,
                     transport::Kind::PaddedIntermediate, transport::Kind::Full];
        let mut f = transport::Framer::new(kinds[kind], server, 4096);
        let mut out = Vec::new();
        let _ = f.push(&data, &mut out);
        for u in out {
            if let transport::Unit::Packet(p) = u {
                prop_assert!(p.len() <= 4096);
                let _ = mtproto::parse(&p);
            }
        }
    }

    #[test]
    fn whatsapp_frames_round_trip(frames in proptest::collection::vec(
                                      proptest::collection::vec(any::<u8>(), 0..300), 1..6),
                                  cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let mut wire = b"ED\x00\x01\x00\x00\x04\x08\x09\x08\x02WA\x05\x02".to_vec();
        let start = wa::parse_start(&wire).unwrap().unwrap();
        prop_assert_eq!(start.len, wire.len());
        for f in &frames {
            wire.extend(&(f.len() as u32).to_be_bytes()[1..]);
            wire.extend(f);
        }
        let mut framer = wa::Framer::new(false, 1 << 20);
        let mut out = Vec::new();
        for seg in segment(&wire[start.len..], &cuts) {
            framer.push(&seg, &mut out).unwrap();
        }
        let got: Vec<Vec<u8>> = out.into_iter().map(|f| f.body).collect();
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn whatsapp_parsers_are_total(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = wa::parse_start(&data);
        let _ = wa::handshake(&data);
        let mut out = Vec::new();
        let _ = wa::Framer::new(true, 1024).push(&data, &mut out);
        let _ = plainsight::proto::whatsapp::legacy::strings(&data);
    }

    /// Every dissector of this family, on arbitrary bytes, split arbitrarily,
    /// on the ports its protocol uses: no panic, evidence stays capped.
    #[test]
    fn dissectors_survive_arbitrary_streams(prefix in 0usize..8, body in proptest::collection::vec(any::<u8>(), 0..700),
                                            cuts in proptest::collection::vec(any::<usize>(), 0..6),
                                            udp in any::<bool>(), port in prop::sample::select(vec![443u16, 3478, 5222, 7985, 8080, 521])) {
        // Start with a real protocol prefix half of the time, so the
        // dissectors (not only the probes) see the bytes.
        let prefixes: [&[u8]; 8] = [
            b"", b"ED\x00\x01\x00\x00\x02\x08\x01WA\x05\x02", b"WA\x01\x05", b"\xef",
            b"\xee\xee\xee\xee", b"\x00\x01\x00\x08\x21\x12\xa4\x42", b"\x80\x00\x00\x01",
            b"\x00\x01\x00\x00\x05\x00\x00\x00\x02\x00\x00\x00",
        ];
        let mut data = prefixes[prefix].to_vec();
        data.extend(&body);
        let env = env();
        let chunks: Vec<(bool, Vec<u8>)> = segment(&data, &cuts)
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i % 3 != 2, c))
            .collect();
        let t = if udp { Transport::Udp } else { Transport::Tcp };
        let c = run(env, t, port, &chunks);
        prop_assert!(c.evidence.len() <= env.limits.max_evidence_per_subject * 4);
    }
}
