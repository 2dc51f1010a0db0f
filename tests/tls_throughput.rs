//! Throughput of the TLS 1.3 record path (framing, AES-256-GCM decryption,
//! inner stream) on a large synthetic stream, next to raw AES-256-GCM on the
//! same bytes. Ignored by default; run with
//! `cargo test --release --test tls_throughput -- --ignored --nocapture`.

use plainsight::evidence::canary::{Canary, CanarySet};
use plainsight::evidence::provenance::{KeySource, Layer};
use plainsight::evidence::{CryptoState, EvidenceKind};
use plainsight::model::{Direction, Transport};
use plainsight::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use plainsight::proto::tls::decrypt::TrafficKey;
use plainsight::proto::tls::keys::{self, Aead, AeadAlg, HashAlg, TLS13};
use plainsight::rules::apps::AppIndex;
use plainsight::secrets::SecretStore;
use std::time::Instant;

const CR: [u8; 32] = [0x5a; 32];
const S_AP: [u8; 48] = [0x77; 48];
const RECORD: usize = 16384;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn handshake_record(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![msg_type];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    let mut r = vec![0x16, 0x03, 0x03];
    r.extend_from_slice(&(m.len() as u16).to_be_bytes());
    r.extend(m);
    r
}

/// ClientHello and ServerHello for TLS_AES_256_GCM_SHA384, then `n` server
/// application-data records of 16 KiB under SERVER_TRAFFIC_SECRET_0.
fn stream(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut ch = vec![3, 3];
    ch.extend_from_slice(&CR);
    ch.extend_from_slice(&[0, 0, 2, 0x13, 0x02, 1, 0, 0, 7, 0, 0x2b, 0, 3, 2, 3, 4]);
    let mut sh = vec![3, 3];
    sh.extend_from_slice(&[0x33; 32]);
    sh.extend_from_slice(&[0, 0x13, 0x02, 0, 0, 6, 0, 0x2b, 0, 2, 3, 4]);
    let client = handshake_record(1, &ch);
    let mut server = handshake_record(2, &sh);
    let key = TrafficKey::derive(AeadAlg::Aes256Gcm, HashAlg::Sha384, &S_AP, TLS13).unwrap();
    let mut plain = vec![0u8; RECORD];
    let mut x = 0x1234_5678u32;
    for b in plain.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    for seq in 0..n as u64 {
        let mut buf = plain.clone();
        buf.push(23);
        let len = (buf.len() + 16) as u16;
        let header = [0x17, 0x03, 0x03, (len >> 8) as u8, len as u8];
        assert!(key.seal(seq, &header, &mut buf));
        server.extend_from_slice(&header);
        server.extend(buf);
    }
    (client, server)
}

#[test]
#[ignore]
fn tls13_aes256gcm_record_path_throughput() {
    let n = 4096; // 64 MiB of application data
    let (client, server) = stream(n);
    let mut secrets = SecretStore::default();
    secrets.add_keylog(
        format!("SERVER_TRAFFIC_SECRET_0 {} {}\n", hex(&CR), hex(&S_AP)).as_bytes(),
        KeySource::KeyLog,
    );
    let canaries = CanarySet::new(vec![Canary {
        text: "PS-CANARY-BENCH".into(),
        label: None,
        created: None,
    }])
    .unwrap();
    let env = Env::new(canaries, secrets, AppIndex::new(&[]));
    let flow = FlowInfo {
        id: 1,
        transport: Transport::Tcp,
        client: "10.0.0.1:1".parse().unwrap(),
        server: "10.0.0.2:443".parse().unwrap(),
    };
    let mut out = Collector::default();
    let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
    let t = Instant::now();
    {
        let mut cx = Cx::new(&env, &flow, &mut out, PacketRef::default());
        s.data(&mut cx, Direction::ToServer, &client);
        // Ethernet-size segments, as TCP reassembly delivers them.
        for seg in server.chunks(1448) {
            s.data(&mut cx, Direction::ToClient, seg);
        }
        s.finish(&mut cx);
    }
    let dt = t.elapsed().as_secs_f64();
    let crypto: Vec<_> = out
        .evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Crypto {
                state,
                records,
                decrypted,
                ..
            } => Some((state.clone(), *records, *decrypted)),
            _ => None,
        })
        .collect();
    assert_eq!(crypto, vec![(CryptoState::Opened, n as u64, n as u64)]);
    let mb = server.len() as f64 / 1e6;

    // Raw AES-256-GCM over the same records, one key, in place.
    let k = keys::expand_label(HashAlg::Sha384, &S_AP, TLS13, b"key", b"", 32).unwrap();
    let iv: [u8; 12] = keys::expand_label(HashAlg::Sha384, &S_AP, TLS13, b"iv", b"", 12)
        .unwrap()
        .try_into()
        .unwrap();
    let aead = Aead::new(AeadAlg::Aes256Gcm, &k).unwrap();
    let mut buf = Vec::with_capacity(RECORD + 64);
    let records: Vec<&[u8]> = {
        let mut v = Vec::new();
        let mut rest = &server[server.len() - n * (RECORD + 22)..];
        while rest.len() >= 5 {
            let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
            v.push(&rest[..5 + len]);
            rest = &rest[5 + len..];
        }
        v
    };
    let t = Instant::now();
    for (seq, r) in records.iter().enumerate() {
        buf.clear();
        buf.extend_from_slice(&r[5..]);
        assert!(
            aead.open_in(&keys::xor_nonce(&iv, seq as u64), &r[..5], &mut buf)
                .is_some()
        );
    }
    let raw = t.elapsed().as_secs_f64();
    eprintln!(
        "TLS 1.3 AES-256-GCM record path: {mb:.1} MB in {dt:.3} s = {:.0} MB/s; raw AES-256-GCM: {:.0} MB/s ({:.0}% of raw)",
        mb / dt,
        mb / raw,
        100.0 * raw / dt
    );
}
