//! Generates the TLS decryption benchmark capture: real TLS sessions
//! (rustls client and server, ring provider) each downloading a large
//! high-entropy body, re-packetized into Ethernet frames of MSS 1448, plus
//! the NSS key log both peers wrote.
//!
//! ```text
//! cargo run --release --example gen_tls_capture -- OUT.pcap OUT.keys SIZE_MIB
//! ```
//!
//! Four sessions share the size: TLS 1.3 with AES-128-GCM, AES-256-GCM and
//! ChaCha20-Poly1305, and TLS 1.2 ECDHE-ECDSA AES-128-GCM.

#[path = "../fixtures/gen/net.rs"]
mod net;
#[allow(dead_code)] // the fixture sessions are not used here
#[path = "../fixtures/gen/tls.rs"]
mod tls;

use net::{Link, PcapFlavor, Side, TcpConversation, write_pcap};
use plainsight::model::Direction;
use rustls::crypto::ring::cipher_suite as cs;
use rustls::version::{TLS12, TLS13};
use std::net::{IpAddr, Ipv4Addr};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(keys), Some(mib)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: gen_tls_capture OUT.pcap OUT.keys SIZE_MIB");
        std::process::exit(2);
    };
    let each = (mib << 20) / 4;
    let sessions = [
        (
            "bench-tls13-aes128gcm",
            &TLS13,
            cs::TLS13_AES_128_GCM_SHA256,
        ),
        (
            "bench-tls13-aes256gcm",
            &TLS13,
            cs::TLS13_AES_256_GCM_SHA384,
        ),
        (
            "bench-tls13-chacha20",
            &TLS13,
            cs::TLS13_CHACHA20_POLY1305_SHA256,
        ),
        (
            "bench-tls12-aes128gcm",
            &TLS12,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
    ];
    let mut frames = Vec::new();
    let mut keylog = String::new();
    for (i, (name, version, suite)) in sessions.into_iter().enumerate() {
        let s = tls::download_session(name, version, suite, each);
        let mut conv = TcpConversation::open(
            (IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1)), 50000 + i as u16),
            (IpAddr::V4(Ipv4Addr::new(10, 9, 0, 2)), 443),
            1_700_000_000_000_000_000 + i as i64 * 1_000_000_000_000,
            [1000 + i as u32, 7_000_000 + i as u32],
        );
        for (dir, bytes) in &s.exchanges {
            let side = match dir {
                Direction::ToServer => Side::Client,
                Direction::ToClient => Side::Server,
            };
            conv.send(side, bytes, &[1448]);
        }
        conv.close();
        frames.extend(conv.frames(Link::Ethernet));
        keylog.push_str(&s.keylog);
    }
    let flavor = PcapFlavor {
        big_endian: false,
        nanos: false,
    };
    let pcap = write_pcap(flavor, Link::Ethernet.linktype(), &frames);
    std::fs::write(out, &pcap).expect("write capture");
    std::fs::write(keys, keylog).expect("write key log");
    eprintln!(
        "wrote {out} ({} MiB, {} packets) and {keys}",
        pcap.len() >> 20,
        frames.len()
    );
}
