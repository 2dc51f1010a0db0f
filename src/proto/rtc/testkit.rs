//! Test harness for the media and messenger dissectors: runs bytes through a
//! [`Stream`] (so the registry's probes choose the dissector, as in a replay)
//! with the built-in app profiles, and reads the evidence back.

use crate::evidence::canary::CanarySet;
use crate::evidence::{EvidenceKind, Layer};
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use crate::rules::apps::AppIndex;
use crate::secrets::SecretStore;
use crate::verdict::Decision;

pub fn env() -> Env {
    env_with(CanarySet::default())
}

pub fn env_with(canaries: CanarySet) -> Env {
    let rules = crate::rules::builtin();
    Env::new(canaries, SecretStore::default(), AppIndex::new(&rules.apps))
}

pub fn flow(transport: Transport, client: &str, server: &str) -> FlowInfo {
    FlowInfo {
        id: 1,
        transport,
        client: client.parse().expect("test address"),
        server: server.parse().expect("test address"),
    }
}

/// Feeds datagrams (UDP) or in-order chunks (TCP) through a fresh stream.
pub fn run(env: &Env, flow: &FlowInfo, items: &[(Direction, Vec<u8>)]) -> Collector {
    let mut out = Collector::default();
    {
        let mut cx = Cx::new(env, flow, &mut out, PacketRef::default());
        let mut s = match flow.transport {
            Transport::Udp => Stream::datagrams(Layer::plain("udp"), Hint::default()),
            Transport::Tcp => Stream::new(Layer::plain("tcp"), Hint::default()),
        };
        for (dir, bytes) in items {
            s.data(&mut cx, *dir, bytes);
        }
        s.finish(&mut cx);
    }
    out
}

/// Metadata values of one key, in emission order.
pub fn meta(c: &Collector, key: &str) -> Vec<String> {
    c.evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key: k, value } if k == key => Some(value.clone()),
            _ => None,
        })
        .collect()
}

pub fn verdict(c: &Collector) -> Decision {
    crate::verdict::flow(&c.evidence, &|i| format!("canary {i}"))
}

pub fn app(c: &Collector) -> Option<(&str, &str)> {
    c.app.as_ref().map(|(a, w)| (a.as_str(), *w))
}

pub fn protocol(c: &Collector) -> Option<&str> {
    c.protocol.as_ref().map(|(_, p)| p.as_ref())
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn up(b: Vec<u8>) -> (Direction, Vec<u8>) {
    (Direction::ToServer, b)
}

pub fn down(b: Vec<u8>) -> (Direction, Vec<u8>) {
    (Direction::ToClient, b)
}
