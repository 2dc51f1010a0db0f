//! DTLS dissector tests with records sealed by our own key schedule.

use super::*;
use crate::model::Verdict;
use crate::proto::dissector::Collector;
use crate::proto::tls::keys::{AeadAlg, HashAlg};
use crate::proto::tls::tests::{crypto, env_with, flow, meta, verdict};

#[test]
fn probe_accepts_dtls_headers_only() {
    let ch = [22u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    assert_eq!(classify(&ch), Confidence::Certain);
    assert_eq!(classify(&[22, 0x03, 0x03, 0, 0]), Confidence::No);
    assert_eq!(classify(&[0x00, 0x01, 0x00, 0x00]), Confidence::No);
    let mut unified = vec![0x2e, 0x12, 0x34, 0x00, 0x20];
    unified.extend_from_slice(&[0u8; 32]);
    assert_eq!(classify(&unified), Confidence::Likely);
    unified.push(0);
    assert_eq!(classify(&unified), Confidence::No);
}

const CR: [u8; 32] = [0x42; 32];
const SECRETS: [(&str, u8); 4] = [
    ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 1),
    ("SERVER_HANDSHAKE_TRAFFIC_SECRET", 2),
    ("CLIENT_TRAFFIC_SECRET", 3),
    ("SERVER_TRAFFIC_SECRET", 4),
];

fn keylog() -> String {
    let cr: String = CR.iter().map(|b| format!("{b:02x}")).collect();
    SECRETS
        .iter()
        .map(|(l, v)| format!("{l} {cr} {}\n", format!("{v:02x}").repeat(32)))
        .collect()
}

fn key(label_index: usize) -> TrafficKey {
    let secret = [SECRETS[label_index].1; 32];
    TrafficKey::derive(AeadAlg::Aes128Gcm, HashAlg::Sha256, &secret, DTLS13).unwrap()
}

/// A DTLSPlaintext handshake record holding one unfragmented message.
fn plain_handshake(msg_type: u8, msg_seq: u16, body: &[u8], rec_seq: u8) -> Vec<u8> {
    let mut hs = vec![msg_type];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&msg_seq.to_be_bytes());
    hs.extend_from_slice(&[0, 0, 0]);
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut r = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, rec_seq];
    r.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    r.extend(hs);
    r
}

fn hellos() -> (Vec<u8>, Vec<u8>) {
    let mut ch = vec![0xfe, 0xfd];
    ch.extend_from_slice(&CR);
    ch.extend_from_slice(&[0, 0]); // session id, cookie
    ch.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    ch.extend_from_slice(&[0, 7, 0x00, 0x2b, 0, 3, 2, 0xfe, 0xfc]);
    let mut sh = vec![0xfe, 0xfd];
    sh.extend_from_slice(&[0x24; 32]);
    sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
    sh.extend_from_slice(&[0, 6, 0x00, 0x2b, 0, 2, 0xfe, 0xfc]);
    (plain_handshake(1, 0, &ch, 0), plain_handshake(2, 0, &sh, 0))
}

/// A DTLS 1.3 record with a unified header and a masked record number.
fn seal13(k: &TrafficKey, epoch: u64, seq: u64, short: bool, ctype: u8, content: &[u8]) -> Vec<u8> {
    let seq_len = if short { 1 } else { 2 };
    let b0 = 0x20 | if short { 0 } else { 0x08 } | 0x04 | (epoch & 3) as u8;
    let mut inner = content.to_vec();
    inner.push(ctype);
    let mut header = vec![b0];
    header.extend_from_slice(&seq.to_be_bytes()[8 - seq_len..]);
    header.extend_from_slice(&((inner.len() + 16) as u16).to_be_bytes());
    assert!(k.seal(seq, &header, &mut inner));
    let mask = decrypt::dtls13_sn_mask(AeadAlg::Aes128Gcm, &k.sn_key().unwrap(), &inner).unwrap();
    for i in 0..seq_len {
        header[1 + i] ^= mask[i];
    }
    header.extend(inner);
    header
}

fn run(env: &Env, datagrams: &[(Direction, Vec<u8>)]) -> (Collector, Vec<(Direction, Vec<u8>)>) {
    let fl = flow(Transport::Udp);
    let mut out = Collector::default();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g2 = got.clone();
    let mut d = DtlsDissector::new(1 << 20);
    d.set_tap(Box::new(move |dir, b| {
        g2.lock().unwrap().push((dir, b.to_vec()))
    }));
    let mut cx = Cx::new(env, &fl, &mut out, PacketRef::default());
    cx.with_layer(Layer::plain("udp"), |cx| {
        for (dir, b) in datagrams {
            d.on_datagram(cx, *dir, b);
        }
        d.finish(cx);
    });
    let got = got.lock().unwrap().clone();
    (out, got)
}

fn session() -> Vec<(Direction, Vec<u8>)> {
    let (ch, sh) = hellos();
    let mut v = vec![(Direction::ToServer, ch), (Direction::ToClient, sh)];
    // Server Finished under the handshake key (epoch 2), then application data.
    v.push((
        Direction::ToClient,
        seal13(
            &key(1),
            2,
            0,
            false,
            22,
            &[20, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        ),
    ));
    // 300 client records with 8-bit record numbers: reconstruction must cross 255.
    for i in 0..300u64 {
        let payload = format!("message {i}");
        v.push((
            Direction::ToServer,
            seal13(&key(2), 3, i, true, 23, payload.as_bytes()),
        ));
    }
    // Server answers after a KeyUpdate: epoch 4 is the next generation of its key.
    let next = key(3).next().unwrap();
    v.push((Direction::ToClient, seal13(&next, 4, 0, false, 23, b"pong")));
    v
}

#[test]
fn dtls13_records_open_across_record_number_wrap_and_key_update() {
    let env = env_with(Some(&keylog()), KeySource::KeyLog, &[]);
    let (out, got) = run(&env, &session());
    assert_eq!(got.len(), 301, "{:?}", crypto(&out));
    assert_eq!(got[299], (Direction::ToServer, b"message 299".to_vec()));
    assert_eq!(got[300], (Direction::ToClient, b"pong".to_vec()));
    assert_eq!(
        crypto(&out),
        vec![("dtls1.3".into(), CryptoState::Opened, 302, 302)]
    );
    assert_eq!(meta(&out, "tls.version"), vec!["DTLS 1.3"]);
    assert!(meta(&out, "tls.ja4")[0].starts_with("dd3i0101"));
    // The "dtls13" label prefix matters: TLS 1.3 labels must not open these records.
    let tls_key = TrafficKey::derive(
        AeadAlg::Aes128Gcm,
        HashAlg::Sha256,
        &[3; 32],
        crate::proto::tls::keys::TLS13,
    )
    .unwrap();
    let rec = seal13(&tls_key, 3, 0, true, 23, b"x");
    let (hs_ch, hs_sh) = hellos();
    let (out, got) = run(
        &env,
        &[
            (Direction::ToServer, hs_ch),
            (Direction::ToClient, hs_sh),
            (Direction::ToServer, rec),
        ],
    );
    assert!(got.is_empty());
    assert!(matches!(crypto(&out)[0].1, CryptoState::NotOpened { .. }));
}

#[test]
fn dtls13_without_keys_is_opaque_and_late_keys_open_it() {
    let env = env_with(None, KeySource::KeyLog, &[]);
    let (out, got) = run(&env, &session());
    assert!(got.is_empty());
    match &crypto(&out)[0].1 {
        CryptoState::NotOpened { reason } => {
            assert_eq!(reason, "no secrets for client random 42424242…")
        }
        s => panic!("{s:?}"),
    }
    assert_eq!(verdict(&out), Verdict::Opaque);
    // Secrets that arrive after the datagrams.
    let mut env = env_with(None, KeySource::KeyLog, &[]);
    let fl = flow(Transport::Udp);
    let mut out = Collector::default();
    let mut d = DtlsDissector::new(1 << 20);
    {
        let mut cx = Cx::new(&env, &fl, &mut out, PacketRef::default());
        for (dir, b) in session() {
            d.on_datagram(&mut cx, dir, &b);
        }
    }
    env.secrets
        .add_keylog(keylog().as_bytes(), KeySource::Capture);
    let mut cx = Cx::new(&env, &fl, &mut out, PacketRef::default());
    d.finish(&mut cx);
    assert_eq!(
        crypto(&out),
        vec![("dtls1.3".into(), CryptoState::Opened, 302, 302)]
    );
}

#[test]
fn truncated_and_garbage_datagrams_never_panic() {
    let env = env_with(Some(&keylog()), KeySource::KeyLog, &[]);
    let s = session();
    let mut cut = Vec::new();
    for (i, (d, b)) in s.iter().enumerate().take(20) {
        cut.push((*d, b[..b.len() * i / 20].to_vec()));
    }
    cut.push((Direction::ToServer, vec![0x2f; 40]));
    cut.push((Direction::ToClient, vec![0x30, 1, 2]));
    let (out, _) = run(&env, &cut);
    assert_ne!(verdict(&out), Verdict::Sealed);
}
