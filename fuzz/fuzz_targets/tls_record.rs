//! TLS record layer, handshake parsers and the dissector on arbitrary bytes:
//! the first byte of the input chooses segment sizes and gaps, the rest is
//! split between the two directions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::proto::tls::{certificate, handshake, record};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::sync::OnceLock;

fn env() -> &'static Env {
    static E: OnceLock<Env> = OnceLock::new();
    E.get_or_init(|| {
        let mut s = SecretStore::default();
        let cr = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
        let text = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {0}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {0}\nCLIENT_TRAFFIC_SECRET_0 {cr} {0}\nSERVER_TRAFFIC_SECRET_0 {cr} {0}\nCLIENT_RANDOM {cr} {1}\n",
            "11".repeat(32),
            "22".repeat(48)
        );
        s.add_keylog(text.as_bytes(), KeySource::KeyLog);
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
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    // Pure parsers.
    let _ = handshake::parse_client_hello(rest, ctl & 1 == 1);
    let _ = handshake::parse_server_hello(rest);
    let _ = certificate::names(rest);
    let mut r = handshake::Reassembler::new(4096);
    let _ = r.push(rest);
    let mut reader = record::Reader::default();
    reader.feed(rest, &mut |_| {});
    // Headers-only framing, switched on after a few records, in odd chunks:
    // the same records (count and bytes) as full framing, never a panic.
    let mut full = record::Reader::default();
    let mut skim = record::Reader::default();
    let switch = std::cell::Cell::new(false);
    let (mut n_full, mut n_skim) = (0u32, 0u32);
    let step = usize::from(ctl >> 1).max(1);
    for chunk in rest.chunks(step) {
        full.feed(chunk, &mut |e| n_full += u32::from(matches!(e, record::Event::Record { .. })));
        skim.feed_checked(chunk, &switch, &mut |e| {
            if let record::Event::Record { fragment, .. } = e {
                n_skim += 1;
                switch.set(n_skim >= 2);
                let _ = fragment.len();
            }
        });
    }
    if !full.is_lost() && !skim.is_lost() {
        assert_eq!(n_full, n_skim, "record count differs with headers-only framing");
        assert_eq!(full.bytes, skim.bytes);
    }

    // The dissector behind a stream, both directions, odd segment sizes.
    let env = env();
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Tcp,
        client: "10.0.0.1:1".parse().unwrap(),
        server: "10.0.0.2:443".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
    let mut s = Stream::new(
        Layer::plain("tcp"),
        Hint {
            protocol: Some("tls"),
        },
    );
    let seg = 1 + (ctl as usize % 61);
    for (i, chunk) in rest.chunks(seg).enumerate() {
        let dir = if (ctl >> (i % 8)) & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        if ctl & 0x80 != 0 && i == 3 {
            s.gap(&mut cx, dir, chunk.len() as u64);
        } else {
            s.data(&mut cx, dir, chunk);
        }
    }
    s.finish(&mut cx);
});
