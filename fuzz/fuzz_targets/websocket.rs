//! WebSocket frames with permessage-deflate negotiated; the first byte picks
//! the direction pattern and piece size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::canary::CanarySet;
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Dissector, Env, FlowInfo, PacketRef};
use plainsight::proto::websocket::WebSocket;
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;

fuzz_target!(|data: &[u8]| {
    let [a, rest @ ..] = data else {
        return;
    };
    let step = usize::from(*a % 32) + 1;
    let env = Env::new(CanarySet::default(), SecretStore::default(), AppIndex::default());
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Tcp,
        client: "10.0.0.2:40000".parse().unwrap(),
        server: "10.0.0.1:80".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
    let ext = if a & 0x80 != 0 {
        "permessage-deflate; client_no_context_takeover"
    } else {
        "permessage-deflate"
    };
    let mut ws = WebSocket::new(Some(ext), Some("sip"), &env.limits);
    for (i, piece) in rest.chunks(step).enumerate() {
        let dir = if (a >> (i % 7)) & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        ws.on_data(&mut cx, dir, piece);
    }
    ws.finish(&mut cx);
});
