//! The HTTP/2 dissector on arbitrary frames after a valid preface. The first
//! byte chooses segment sizes; segments alternate between the directions
//! (with a few gaps), as TCP reassembly would deliver them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::Layer;
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::proto::http2::frame::PREFACE;
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::sync::OnceLock;

fn env() -> &'static Env {
    static E: OnceLock<Env> = OnceLock::new();
    E.get_or_init(|| {
        let canaries = CanarySet::new(vec![Canary {
            text: "PS-FUZZ-CANARY".into(),
            label: None,
            created: None,
        }])
        .unwrap();
        Env::new(canaries, SecretStore::default(), AppIndex::new(&[]))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let env = env();
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Tcp,
        client: "192.0.2.1:5000".parse().unwrap(),
        server: "198.51.100.1:80".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut s = Stream::new(Layer::plain("tcp"), Hint { protocol: Some("http2") });
    let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
    s.data(&mut cx, Direction::ToServer, PREFACE);
    let size = usize::from(ctl % 128) + 1;
    for (i, seg) in rest.chunks(size).enumerate() {
        let dir = if (i + usize::from(ctl >> 7)) % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
        if seg.first() == Some(&0xee) && ctl & 0x40 != 0 {
            s.gap(&mut cx, dir, seg.len() as u64);
        } else {
            s.data(&mut cx, dir, seg);
        }
    }
    s.finish(&mut cx);
});
