//! The chat and mail dissectors (MQTT, XMPP, IRC, SMTP, IMAP, POP3) behind a
//! probed TCP stream. The input is a conversation: each record is a header
//! byte (direction in bit 7, length in the low bits) then that many bytes;
//! the first byte picks the server port so port hints are exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::Layer;
use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;

const PORTS: [u16; 8] = [25, 110, 143, 1883, 5222, 6667, 443, 9999];

static ENV: std::sync::OnceLock<Env> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let env = ENV.get_or_init(|| {
        let canaries = CanarySet::new(vec![Canary {
            text: "PS-FUZZ-CANARY".into(),
            label: None,
            created: None,
        }])
        .unwrap();
        Env::new(canaries, SecretStore::default(), AppIndex::new(&[]))
    });
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Tcp,
        client: "192.0.2.1:50000".parse().unwrap(),
        server: std::net::SocketAddr::new("198.51.100.7".parse().unwrap(), PORTS[sel as usize % 8]),
    };
    let mut out = Collector::default();
    let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
    let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
    while let Some((&h, r)) = rest.split_first() {
        let n = ((h & 0x7f) as usize).min(r.len());
        let dir = if h & 0x80 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        s.data(&mut cx, dir, &r[..n]);
        rest = &r[n..];
    }
    s.finish(&mut cx);
});
