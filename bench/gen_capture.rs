//! Generates a large mixed capture for the replay benchmark.
//!
//! ```text
//! cargo run --release --example gen_bench_capture -- OUT.pcap SIZE_MIB [CANARY]
//! ```
//!
//! Mix (by bytes, roughly): 85% TLS 1.3-like flows of many sizes (a real
//! ClientHello with SNI, ServerHello, then application-data records of random
//! bytes), 10% plaintext HTTP/1.1, 4% MQTT, 1% DNS; up to 256 connections
//! interleaved, MSS 1448, an ACK every two segments. When CANARY is given it
//! is planted once in an HTTP body. Deterministic for a given size.

#[path = "../fixtures/gen/net.rs"]
mod net;

use net::{Link, Tcp, tcp_packet, udp_packet};
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// One scripted connection: the byte streams each side sends, emitted as segments.
struct Conn {
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    /// (from client?, bytes) in order.
    script: Vec<(bool, Vec<u8>)>,
    step: usize,
    off: usize,
    seq: [u32; 2],
    state: u8,
    unacked: u32,
}

const MSS: usize = 1448;

fn client_hello(sni: &str, rng: &mut Rng) -> Vec<u8> {
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    let mut ext = Vec::new();
    let name = sni.as_bytes();
    ext.extend_from_slice(&0u16.to_be_bytes());
    ext.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(name);
    ext.extend_from_slice(&[0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'2']);
    ext.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
    let mut ks = [0u8; 32];
    rng.fill(&mut ks);
    ext.extend_from_slice(&[0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20]);
    ext.extend_from_slice(&ks);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random);
    body.push(0);
    body.extend_from_slice(&[0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0x01, 0x00]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    record(22, &handshake(1, &body))
}

fn server_hello(rng: &mut Rng) -> Vec<u8> {
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random);
    body.push(0);
    body.extend_from_slice(&[0x13, 0x01, 0x00]);
    let mut ks = [0u8; 32];
    rng.fill(&mut ks);
    let mut ext = vec![
        0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
    ];
    ext.extend_from_slice(&ks);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut out = record(22, &handshake(2, &body));
    out.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    out
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![kind];
    h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    h
}

fn record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 0x03, 0x03];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// Application data as TLS 1.3 records of up to 16 KiB of random bytes.
fn app_data(total: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(total + total / 16_000 * 5 + 5);
    let mut left = total;
    while left > 0 {
        let n = left.min(16_401);
        let mut body = vec![0u8; n];
        rng.fill(&mut body);
        out.extend_from_slice(&record(23, &body));
        left -= n;
    }
    out
}

const WORDS: &[&str] = &[
    "the", "meeting", "is", "moved", "to", "thursday", "please", "bring", "report", "and",
    "coffee", "tickets", "for", "saturday", "concert", "are", "sold", "out", "call", "me", "later",
    "about", "project", "budget", "lunch",
];

fn text(len: usize, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        s.push(' ');
    }
    s
}

fn tls_conn(i: u32, rng: &mut Rng) -> Conn {
    let sizes = [2_000usize, 8_000, 30_000, 120_000, 600_000, 3_000_000];
    let weights = [30u64, 30, 20, 12, 6, 2];
    let mut pick = rng.below(100);
    let mut size = sizes[0];
    for (s, w) in sizes.iter().zip(weights) {
        if pick < w {
            size = *s;
            break;
        }
        pick -= w;
    }
    let domains = [
        "www.example.com",
        "api.example.net",
        "cdn.example.org",
        "g.whatsapp.net",
        "chat.signal.org",
        "web.telegram.org",
    ];
    let sni = domains[rng.below(domains.len() as u64) as usize];
    let up = (size / 10).max(300);
    let mut script = vec![(true, client_hello(sni, rng)), (false, server_hello(rng))];
    script.push((false, app_data(3000, rng)));
    script.push((true, app_data(80, rng)));
    script.push((true, app_data(up, rng)));
    script.push((false, app_data(size, rng)));
    conn(i, 443, script)
}

fn http_conn(i: u32, rng: &mut Rng, canary: Option<&str>) -> Conn {
    let body = match canary {
        Some(c) => format!("{{\"text\":\"{} {c}\"}}", text(60, rng)),
        None => format!(
            "<html><body><p>{}</p></body></html>",
            text(20_000 + rng.below(40_000) as usize, rng)
        ),
    };
    let req = format!(
        "GET /page/{i} HTTP/1.1\r\nHost: intranet.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
    );
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn(
        i,
        80,
        vec![(true, req.into_bytes()), (false, resp.into_bytes())],
    )
}

fn mqtt_conn(i: u32, rng: &mut Rng) -> Conn {
    let mut c2s = Vec::new();
    let cid = format!("sensor-{i}");
    let mut connect = vec![0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c];
    connect.extend_from_slice(&(cid.len() as u16).to_be_bytes());
    connect.extend_from_slice(cid.as_bytes());
    c2s.push(0x10);
    c2s.push(connect.len() as u8);
    c2s.extend_from_slice(&connect);
    for _ in 0..20 {
        let topic = b"chat/room1";
        let payload = text(40 + rng.below(80) as usize, rng);
        let rl = 2 + topic.len() + payload.len();
        c2s.push(0x30);
        c2s.push(rl as u8);
        c2s.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        c2s.extend_from_slice(topic);
        c2s.extend_from_slice(payload.as_bytes());
    }
    conn(
        i,
        1883,
        vec![(true, c2s), (false, vec![0x20, 0x02, 0x00, 0x00])],
    )
}

fn conn(i: u32, port: u16, script: Vec<(bool, Vec<u8>)>) -> Conn {
    let a = 10u8;
    let client = IpAddr::V4(Ipv4Addr::new(a, 1, (i >> 8) as u8, i as u8));
    let server = IpAddr::V4(Ipv4Addr::new(192, 0, 2, (i % 200) as u8 + 1));
    Conn {
        client: (client, 20_000 + (i % 40_000) as u16),
        server: (server, port),
        script,
        step: 0,
        off: 0,
        seq: [i.wrapping_mul(7919), i.wrapping_mul(104_729)],
        state: 0,
        unacked: 0,
    }
}

fn dns_pair(i: u32) -> (Vec<u8>, Vec<u8>) {
    let name = format!("host{}.example.com", i % 500);
    let mut q = Vec::new();
    q.extend_from_slice(&(i as u16).to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0x00, 0x01, 0x00, 0x01]);
    let mut r = q.clone();
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 1;
    r.extend_from_slice(&[
        0xc0,
        0x0c,
        0x00,
        0x01,
        0x00,
        0x01,
        0,
        0,
        0x0e,
        0x10,
        0x00,
        0x04,
        192,
        0,
        2,
        (i % 200) as u8 + 1,
    ]);
    (q, r)
}

struct Out<W: Write> {
    w: W,
    ts: i64,
    bytes: u64,
    packets: u64,
}

impl<W: Write> Out<W> {
    fn frame(&mut self, ip: &[u8]) -> std::io::Result<()> {
        let data = Link::Ethernet.wrap(ip);
        self.ts += 2_000;
        self.w
            .write_all(&((self.ts / 1_000_000_000) as u32).to_le_bytes())?;
        self.w
            .write_all(&(((self.ts % 1_000_000_000) / 1000) as u32).to_le_bytes())?;
        self.w.write_all(&(data.len() as u32).to_le_bytes())?;
        self.w.write_all(&(data.len() as u32).to_le_bytes())?;
        self.w.write_all(&data)?;
        self.bytes += 16 + data.len() as u64;
        self.packets += 1;
        Ok(())
    }
}

/// Emits the next packet(s) of a connection; false when it is finished.
fn step<W: Write>(c: &mut Conn, out: &mut Out<W>) -> std::io::Result<bool> {
    let (cl, sv) = (c.client, c.server);
    let seg = |o: &mut Out<W>, from_client: bool, seq: u32, f: Tcp, p: &[u8]| {
        let (s, d) = if from_client { (cl, sv) } else { (sv, cl) };
        o.frame(&tcp_packet(s.0, d.0, s.1, d.1, seq, f, p))
    };
    match c.state {
        0 => {
            seg(
                out,
                true,
                c.seq[0],
                Tcp {
                    syn: true,
                    ..Tcp::default()
                },
                &[],
            )?;
            c.seq[0] = c.seq[0].wrapping_add(1);
            seg(
                out,
                false,
                c.seq[1],
                Tcp {
                    syn: true,
                    ack: Some(c.seq[0]),
                    ..Tcp::default()
                },
                &[],
            )?;
            c.seq[1] = c.seq[1].wrapping_add(1);
            seg(
                out,
                true,
                c.seq[0],
                Tcp {
                    ack: Some(c.seq[1]),
                    ..Tcp::default()
                },
                &[],
            )?;
            c.state = 1;
            Ok(true)
        }
        1 => {
            let Some((from_client, data)) = c.script.get(c.step) else {
                c.state = 2;
                return Ok(true);
            };
            let from_client = *from_client;
            let i = usize::from(!from_client);
            // Up to four segments per turn keeps connections interleaved.
            for _ in 0..4 {
                if c.off >= data.len() {
                    break;
                }
                let n = (data.len() - c.off).min(MSS);
                let ack = c.seq[1 - i];
                seg(
                    out,
                    from_client,
                    c.seq[i],
                    Tcp {
                        psh: true,
                        ack: Some(ack),
                        ..Tcp::default()
                    },
                    &data[c.off..c.off + n],
                )?;
                c.seq[i] = c.seq[i].wrapping_add(n as u32);
                c.off += n;
                c.unacked += 1;
                if c.unacked >= 2 {
                    let ack = c.seq[i];
                    seg(
                        out,
                        !from_client,
                        c.seq[1 - i],
                        Tcp {
                            ack: Some(ack),
                            ..Tcp::default()
                        },
                        &[],
                    )?;
                    c.unacked = 0;
                }
            }
            if c.off >= data.len() {
                c.step += 1;
                c.off = 0;
            }
            Ok(true)
        }
        _ => {
            seg(
                out,
                true,
                c.seq[0],
                Tcp {
                    fin: true,
                    ack: Some(c.seq[1]),
                    ..Tcp::default()
                },
                &[],
            )?;
            c.seq[0] = c.seq[0].wrapping_add(1);
            seg(
                out,
                false,
                c.seq[1],
                Tcp {
                    fin: true,
                    ack: Some(c.seq[0]),
                    ..Tcp::default()
                },
                &[],
            )?;
            c.seq[1] = c.seq[1].wrapping_add(1);
            seg(
                out,
                true,
                c.seq[0],
                Tcp {
                    ack: Some(c.seq[1]),
                    ..Tcp::default()
                },
                &[],
            )?;
            Ok(false)
        }
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gen_bench_capture OUT.pcap SIZE_MIB [CANARY]");
        std::process::exit(2);
    }
    let target: u64 = args[2].parse::<u64>().unwrap_or(200) << 20;
    let canary = args.get(3).cloned();
    let f = std::fs::File::create(&args[1])?;
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 20, f),
        ts: 1_767_225_600_000_000_000,
        bytes: 24,
        packets: 0,
    };
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
        out.w.write_all(&v.to_le_bytes())?;
    }
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut active: Vec<Conn> = Vec::new();
    let mut next_id = 1u32;
    let mut planted = false;
    while out.bytes < target {
        while active.len() < 256 {
            let kind = rng.below(100);
            let c = if kind < 80 {
                tls_conn(next_id, &mut rng)
            } else if kind < 95 {
                let plant = !planted && canary.is_some() && out.bytes > target / 2;
                planted |= plant;
                http_conn(
                    next_id,
                    &mut rng,
                    if plant { canary.as_deref() } else { None },
                )
            } else {
                mqtt_conn(next_id, &mut rng)
            };
            active.push(c);
            next_id += 1;
            if next_id.is_multiple_of(8) {
                let (q, r) = dns_pair(next_id);
                let cl = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));
                let dns = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53));
                out.frame(&udp_packet(
                    cl,
                    dns,
                    30_000 + (next_id % 20_000) as u16,
                    53,
                    &q,
                ))?;
                out.frame(&udp_packet(
                    dns,
                    cl,
                    53,
                    30_000 + (next_id % 20_000) as u16,
                    &r,
                ))?;
            }
        }
        let k = rng.below(active.len() as u64) as usize;
        if !step(&mut active[k], &mut out)? {
            active.swap_remove(k);
        }
    }
    for mut c in active {
        c.state = 2;
        step(&mut c, &mut out)?;
    }
    out.w.flush()?;
    eprintln!(
        "wrote {} ({} MiB, {} packets, {} connections)",
        args[1],
        out.bytes >> 20,
        out.packets,
        next_id - 1
    );
    Ok(())
}
