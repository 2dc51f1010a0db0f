//! HTTP/1.x through a TCP stream: the first two bytes choose where the input
//! splits into client and server bytes and the piece size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::Layer;
use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else {
        return;
    };
    let split = rest.len() * usize::from(*a) / 256;
    let step = usize::from(*b % 64) + 1;
    let (client, server) = rest.split_at(split);
    let canaries = CanarySet::new(vec![Canary {
        text: "PSK-FUZZCANARY".into(),
        label: None,
        created: None,
    }])
    .unwrap();
    let env = Env::new(canaries, SecretStore::default(), AppIndex::default());
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Tcp,
        client: "10.0.0.2:40000".parse().unwrap(),
        server: "10.0.0.1:80".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
    let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
    let (mut c, mut v) = (client.chunks(step), server.chunks(step));
    loop {
        match (c.next(), v.next()) {
            (None, None) => break,
            (x, y) => {
                if let Some(x) = x {
                    s.data(&mut cx, Direction::ToServer, x);
                }
                if let Some(y) = y {
                    s.data(&mut cx, Direction::ToClient, y);
                }
            }
        }
    }
    s.finish(&mut cx);
});
