//! Throughput of the decoders and parsers of this module family, as ignored
//! tests (figures only mean something in a release build):
//! `cargo test --release --lib throughput -- --ignored --nocapture`.

use crate::codec::compress::{Caps, Coding, Decompressor};
use crate::evidence::Layer;
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Collector, Cx, Dissector, Hint, PacketRef, Stream};
use crate::proto::dns::tests::{env_with, flow};
use std::io::Write;
use std::time::Instant;

/// Text that compresses like real web content (about 4:1 with gzip).
fn corpus(n: usize) -> Vec<u8> {
    let words = [
        "message",
        "the",
        "of",
        "delivered",
        "chat",
        "server",
        "encrypted",
        "hello",
        "and",
        "{\"id\":",
        "\"text\":",
        "2026-11-27T17:18:51Z",
        "<div class=\"row\">",
        "</div>",
    ];
    let mut x: u32 = 1;
    let mut out = Vec::with_capacity(n + 32);
    while out.len() < n {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        out.extend(words[(x >> 24) as usize % words.len()].as_bytes());
        out.push(if x & 0x300 == 0 { b'\n' } else { b' ' });
        if x & 0xf000 == 0 {
            out.extend(format!("{:08x}", x).bytes());
        }
    }
    out.truncate(n);
    out
}

fn mbps(bytes: usize, t: Instant) -> f64 {
    bytes as f64 / t.elapsed().as_secs_f64() / 1e6
}

#[test]
#[ignore = "throughput figures; run in release with --nocapture"]
fn throughput() {
    let plain = corpus(32 << 20);
    let encoded: Vec<(Coding, Vec<u8>)> = vec![
        (Coding::Gzip, {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        }),
        (Coding::Deflate, {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&plain).unwrap();
            e.finish().unwrap()
        }),
        (Coding::Brotli, {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(&plain).unwrap();
            }
            out
        }),
        (
            Coding::Zstd,
            ruzstd::encoding::compress_to_vec(
                &plain[..],
                ruzstd::encoding::CompressionLevel::Fastest,
            ),
        ),
    ];
    for (c, data) in &encoded {
        let t = Instant::now();
        let mut d = Decompressor::new(*c, Caps::new(1 << 30));
        let mut n = 0usize;
        for piece in data.chunks(1460) {
            d.feed(piece, &mut |x| n += x.len()).unwrap();
        }
        d.finish(&mut |x| n += x.len()).unwrap();
        assert_eq!(n, plain.len());
        eprintln!(
            "decompress {c:>7}: {:7.1} MB/s of output ({:.1}:1)",
            mbps(n, t),
            n as f64 / data.len() as f64
        );
    }

    // HTTP/1.1: pipelined GETs and chunked JSON responses, through the tcp stream
    // (probe, canary scan with 100 canaries, heads, chunked, JSON walk).
    let canaries: Vec<String> = (0..100).map(|i| format!("PSK-BENCH{i:04}X")).collect();
    let refs: Vec<&str> = canaries.iter().map(String::as_str).collect();
    let env = env_with(&refs);
    let json = br#"{"messages":[{"id":"a1","text":"see you at eight, bring the keys","ts":1}]}"#;
    let mut req = Vec::new();
    let mut resp = Vec::new();
    for i in 0..20_000 {
        req.extend(
            format!(
                "GET /api/v1/messages?since={i} HTTP/1.1\r\nHost: chat.example\r\n\
                 User-Agent: bench/1.0\r\nCookie: s=1\r\n\r\n"
            )
            .bytes(),
        );
        resp.extend(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        resp.extend(format!("{:x}\r\n", json.len()).bytes());
        resp.extend(json);
        resp.extend(b"\r\n0\r\n\r\n");
    }
    let f = flow(Transport::Tcp, 80);
    let mut out = Collector::default();
    let t = Instant::now();
    {
        let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
        let mut s = Stream::new(Layer::plain("tcp"), Hint::default());
        for (a, b) in req.chunks(1460).zip(resp.chunks(1460)) {
            s.data(&mut cx, Direction::ToServer, a);
            s.data(&mut cx, Direction::ToClient, b);
        }
        s.finish(&mut cx);
    }
    let total = req.len() + resp.len();
    eprintln!(
        "http/1.1 pipelined, 100 canaries: {:7.1} MB/s ({:.0} messages/s)",
        mbps(total, t),
        40_000.0 / t.elapsed().as_secs_f64()
    );
    assert_eq!(out.protocol.as_ref().map(|p| p.1.as_ref()), Some("http"));

    // WebSocket: masked 1 KiB text frames.
    let text = &plain[..1024];
    let mut wire = Vec::new();
    for i in 0..20_000u32 {
        let key = i.to_be_bytes();
        wire.extend([0x81, 0xfe, 0x04, 0x00]);
        wire.extend(key);
        wire.extend(text.iter().enumerate().map(|(j, b)| b ^ key[j % 4]));
    }
    let mut out = Collector::default();
    let t = Instant::now();
    {
        let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
        let mut ws = crate::proto::websocket::WebSocket::new(None, None, &env.limits);
        for piece in wire.chunks(1460) {
            ws.on_data(&mut cx, Direction::ToServer, piece);
        }
        assert_eq!(ws.messages(Direction::ToServer), 20_000);
    }
    eprintln!("websocket masked text:  {:7.1} MB/s", mbps(wire.len(), t));

    // DNS: the corpus answer with eight A records, parsed as datagrams.
    let msg = crate::proto::dns::parse::tests::hex(crate::proto::dns::parse::tests::WHATSAPP_A);
    let t = Instant::now();
    let mut records = 0;
    for _ in 0..200_000 {
        records += crate::proto::dns::parse::parse(&msg).unwrap().records.len();
    }
    assert_eq!(records, 8 * 200_000);
    eprintln!(
        "dns parse:              {:7.1} MB/s ({:.0} messages/s)",
        mbps(msg.len() * 200_000, t),
        200_000.0 / t.elapsed().as_secs_f64()
    );
}
