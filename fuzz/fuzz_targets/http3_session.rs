//! An HTTP/3 session on arbitrary stream data: records `[stream][ctl][len]
//! [bytes]` pick a QUIC stream id (so control, QPACK, push, GREASE and request
//! streams all occur), a direction and the FIN flag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, PacketRef};
use plainsight::proto::http3::Session;
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
    let env = env();
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Udp,
        client: "192.0.2.1:5000".parse().unwrap(),
        server: "198.51.100.1:443".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut session = Session::default();
    let layer = Layer::keyed("quic", KeySource::KeyLog);
    let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
    let mut rest = data;
    while let [id, ctl, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        let dir = if ctl & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
        let fin = ctl & 2 != 0;
        cx.with_layer(layer.clone(), |cx| {
            if ctl & 4 != 0 && bytes.is_empty() {
                session.on_reset(cx, u64::from(*id), dir);
            } else {
                session.on_stream(cx, u64::from(*id), dir, bytes, fin);
            }
        });
    }
    cx.with_layer(layer, |cx| session.finish(cx));
});
