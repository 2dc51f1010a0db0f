//! The QUIC dissector on arbitrary datagrams and on arbitrary plaintext
//! inside correctly protected packets. Each run starts with a valid handshake
//! (so Initial, Handshake and 1-RTT keys exist), then reads records
//! `[ctl][len/4][bytes]`: `ctl & 1` is the direction, `(ctl >> 1) & 7` says
//! whether the bytes are a raw datagram or the frames of an Initial,
//! Handshake or 1-RTT packet sealed with the session's keys. That reaches
//! frame parsing, CRYPTO and STREAM reassembly, the ClientHello parser,
//! HTTP/3 and QPACK with inputs the AEAD would otherwise reject.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::proto::quic::build::Conn;
use plainsight::proto::quic::version::{LongType, Version};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::sync::OnceLock;

fn env() -> &'static Env {
    static E: OnceLock<Env> = OnceLock::new();
    E.get_or_init(|| {
        let mut s = SecretStore::default();
        s.add_keylog(Conn::new(Version::V1).keylog().as_bytes(), KeySource::KeyLog);
        let canaries = CanarySet::new(vec![Canary {
            text: "PS-FUZZ-CANARY".into(),
            label: None,
            created: None,
        }])
        .unwrap();
        Env::new(canaries, s, AppIndex::new(&[]))
    })
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Udp,
        client: "192.0.2.1:5000".parse().unwrap(),
        server: "198.51.100.1:443".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut s = Stream::datagrams(Layer::plain("udp"), Hint::default());
    let mut c = Conn::new(Version::V1);
    let alpn = if data.first().is_some_and(|b| b & 0x80 != 0) { "h3" } else { "hq-interop" };
    let mut packets = c.handshake(alpn);
    let mut rest = data;
    while let [ctl, len, tail @ ..] = rest {
        let n = (usize::from(*len) * 4).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        let dir = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        let mut frames = bytes.to_vec();
        frames.resize(frames.len().max(4), 0);
        let p = match (ctl >> 1) & 7 {
            0 | 5 | 6 => bytes.to_vec(),
            1 if dir == Direction::ToServer => c.client_initial(&frames, None),
            1 => c.long(dir, LongType::Initial, &frames, None),
            2 => c.long(dir, LongType::Handshake, &frames, None),
            _ => c.app(dir, &frames),
        };
        packets.push((dir, p));
    }
    for (i, (dir, p)) in packets.iter().enumerate() {
        let pkt = PacketRef { index: i as u64 + 1, ..PacketRef::default() };
        let mut cx = Cx::new(env, &flow, &mut out, pkt);
        s.data(&mut cx, *dir, p);
    }
    let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
    s.finish(&mut cx);
});
