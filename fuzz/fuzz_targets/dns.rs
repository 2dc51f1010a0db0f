//! DNS: the message parser, and the dissector over UDP datagrams and TCP framing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::Layer;
use plainsight::evidence::canary::CanarySet;
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;

fuzz_target!(|data: &[u8]| {
    let _ = plainsight::proto::dns::parse::parse(data);
    let env = Env::new(CanarySet::default(), SecretStore::default(), AppIndex::default());
    for (transport, datagram) in [(Transport::Udp, true), (Transport::Tcp, false)] {
        let flow = FlowInfo {
            id: 1,
            transport,
            client: "10.0.0.2:40000".parse().unwrap(),
            server: "10.0.0.1:53".parse().unwrap(),
        };
        let mut out = Collector::default();
        let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
        let mut s = if datagram {
            Stream::datagrams(Layer::plain("udp"), Hint::default())
        } else {
            Stream::new(Layer::plain("tcp"), Hint::default())
        };
        for (i, piece) in data.chunks(97).enumerate() {
            let dir = if i % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
            s.data(&mut cx, dir, piece);
        }
        s.finish(&mut cx);
    }
});
