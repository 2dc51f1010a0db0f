//! DTLS datagrams (plain and DTLS 1.3 unified headers) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::canary::CanarySet;
use plainsight::evidence::provenance::KeySource;
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Dissector, Env, FlowInfo, PacketRef};
use plainsight::proto::dtls::{DtlsDissector, record};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::sync::OnceLock;

fn env() -> &'static Env {
    static E: OnceLock<Env> = OnceLock::new();
    E.get_or_init(|| {
        let mut s = SecretStore::default();
        let cr = "42".repeat(32);
        let text = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {0}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {0}\nCLIENT_TRAFFIC_SECRET {cr} {0}\nSERVER_TRAFFIC_SECRET {cr} {0}\nCLIENT_RANDOM {cr} {1}\n",
            "11".repeat(32),
            "22".repeat(48)
        );
        s.add_keylog(text.as_bytes(), KeySource::KeyLog);
        Env::new(CanarySet::new(Vec::new()).unwrap(), s, AppIndex::new(&[]))
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = record::split(data, data.first().map_or(0, |b| (*b % 4) as usize));
    let mut r = record::Reassembler::new(4096);
    let _ = r.push(data);
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Udp,
        client: "10.0.0.1:1".parse().unwrap(),
        server: "10.0.0.2:4433".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut cx = Cx::new(env(), &flow, &mut out, PacketRef::default());
    let mut d = DtlsDissector::new(1 << 16);
    // Datagrams separated by 0xff 0xff markers.
    for (i, dg) in data.split(|&b| b == 0xff).enumerate() {
        let dir = if i % 2 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        d.on_datagram(&mut cx, dir, dg);
    }
    d.finish(&mut cx);
});
