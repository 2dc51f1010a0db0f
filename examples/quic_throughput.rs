//! QUIC throughput on synthetic traffic built with real packet protection:
//!
//! * Initial parsing: client Initials (1200 bytes, a ClientHello in CRYPTO
//!   frames), each the first packet of a new connection, so every packet pays
//!   for Initial key derivation, header protection, AES-128-GCM, CRYPTO
//!   reassembly and ClientHello parsing.
//! * 1-RTT decryption: one connection with a key log, 1200-byte short-header
//!   packets full of STREAM data, through header protection, AEAD, stream
//!   reassembly and the inner stream's canary scan and classification.
//! * For scale: raw AES-128-GCM opening of the same packet sizes.
//!
//! Run with `cargo run --release --example quic_throughput`.

use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{
    Collector, Cx, Dissector, Env, FlowInfo, Hint, PacketRef, Stream,
};
use plainsight::proto::quic::QuicDissector;
use plainsight::proto::quic::build::{self, Conn};
use plainsight::proto::quic::version::Version;
use plainsight::proto::tls::keys::{Aead, AeadAlg, xor_nonce};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::time::Instant;

fn env(keylog: &str) -> Env {
    let mut s = SecretStore::default();
    s.add_keylog(keylog.as_bytes(), KeySource::KeyLog);
    let canaries = CanarySet::new(vec![Canary {
        text: "PLAINSIGHT-BENCH-CANARY".into(),
        label: None,
        created: None,
    }])
    .expect("canary");
    Env::new(canaries, s, AppIndex::new(&[]))
}

fn flow() -> FlowInfo {
    FlowInfo {
        id: 1,
        transport: Transport::Udp,
        client: "192.0.2.1:50000".parse().expect("addr"),
        server: "198.51.100.7:443".parse().expect("addr"),
    }
}

fn initials(env: &Env, n: usize) -> (f64, usize) {
    let mut c = Conn::new(Version::V1);
    let ch = build::client_hello("bench.example.org", &["h3"], 0);
    let pkt = c.client_initial(&build::crypto_frame(0, &ch), None);
    let flow = flow();
    let mut sni = 0;
    let t = Instant::now();
    for _ in 0..n {
        let mut out = Collector::default();
        let mut d = QuicDissector::new();
        let mut cx = Cx::new(env, &flow, &mut out, PacketRef::default());
        d.on_datagram(&mut cx, Direction::ToServer, &pkt);
        sni += out.evidence.len();
    }
    (t.elapsed().as_secs_f64(), sni)
}

fn one_rtt(n: usize) -> (f64, u64, u64) {
    let mut c = Conn::new(Version::V1);
    let env = env(&c.keylog());
    let mut packets = c.handshake("bench/1");
    let chunk: Vec<u8> = (0..1150u32).map(|i| (i * 7 + 13) as u8).collect();
    for i in 0..n as u64 {
        let f = build::stream_frame(0, i * chunk.len() as u64, &chunk, false);
        packets.push((Direction::ToServer, c.app(Direction::ToServer, &f)));
    }
    let bytes: u64 = packets.iter().map(|(_, p)| p.len() as u64).sum();
    let flow = flow();
    let mut out = Collector::default();
    let mut s = Stream::datagrams(Layer::plain("udp"), Hint::default());
    let t = Instant::now();
    for (dir, p) in &packets {
        let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
        s.data(&mut cx, *dir, p);
    }
    let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
    s.finish(&mut cx);
    let secs = t.elapsed().as_secs_f64();
    let decrypted = out
        .evidence
        .iter()
        .find_map(|e| match &e.kind {
            plainsight::evidence::EvidenceKind::Crypto { decrypted, .. } => Some(*decrypted),
            _ => None,
        })
        .unwrap_or(0);
    (secs, bytes, decrypted)
}

fn raw_aead(n: usize) -> f64 {
    let a = Aead::new(AeadAlg::Aes128Gcm, &[7u8; 16]).expect("key");
    let mut sealed = vec![0u8; 1180];
    let nonce = xor_nonce(&[1u8; 12], 9);
    a.seal(&nonce, b"header", &mut sealed);
    let t = Instant::now();
    for _ in 0..n {
        let mut b = sealed.clone();
        assert!(a.open(&nonce, b"header", &mut b));
    }
    t.elapsed().as_secs_f64()
}

fn main() {
    let c = Conn::new(Version::V1);
    let env = env(&c.keylog());
    let n = 50_000;
    let (secs, items) = initials(&env, n);
    assert!(items >= n, "every Initial yields evidence");
    println!(
        "Initial parsing:   {:>9.0} packets/s ({n} new connections, {:.2} s)",
        n as f64 / secs,
        secs
    );
    let n = 100_000;
    let (secs, bytes, decrypted) = one_rtt(n);
    println!(
        "1-RTT decryption:  {:>9.0} packets/s, {:.0} MB/s ({} packets decrypted, {:.1} MB)",
        decrypted as f64 / secs,
        bytes as f64 / secs / 1e6,
        decrypted,
        bytes as f64 / 1e6
    );
    let secs = raw_aead(n);
    println!(
        "AES-128-GCM open:  {:>9.0} packets/s, {:.0} MB/s (1180-byte packets, no parsing)",
        n as f64 / secs,
        n as f64 * 1180.0 / secs / 1e6
    );
}
