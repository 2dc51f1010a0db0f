//! Test support: reads the UDP datagrams of a pcap/pcapng capture, grouped
//! into flows (the first sender is the client), plus the TLS key log lines
//! of any Decryption Secrets Blocks. Just enough to drive the QUIC dissector
//! on corpus captures without the full pipeline.

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use pcap_parser::{Block, PcapBlockOwned, PcapError, create_reader};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The public corpus, if present: `$PLAINSIGHT_CORPUS`, or `../shared/corpus`
/// from the repository (or from a worktree one level deeper).
pub fn corpus() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PLAINSIGHT_CORPUS") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../shared/corpus"),
        root.join("../../shared/corpus"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

pub struct Datagram {
    /// 1-based packet number in the capture.
    pub index: u64,
    pub to_server: bool,
    pub payload: Vec<u8>,
}

pub struct Flow {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub datagrams: Vec<Datagram>,
}

#[derive(Default)]
pub struct Capture {
    pub flows: Vec<Flow>,
    /// Key log text from Decryption Secrets Blocks, with the number of packets before each.
    pub secrets: Vec<(u64, Vec<u8>)>,
}

fn ip_payload(linktype: i32, data: &[u8]) -> Option<LaxSlicedPacket<'_>> {
    match linktype {
        1 => LaxSlicedPacket::from_ethernet(data).ok(),
        0 | 108 => LaxSlicedPacket::from_ip(data.get(4..)?).ok(),
        9 => {
            let skip = if data.starts_with(&[0xff, 0x03]) {
                4
            } else {
                2
            };
            LaxSlicedPacket::from_ip(data.get(skip..)?).ok()
        }
        101 | 12 | 14 | 228 | 229 => LaxSlicedPacket::from_ip(data).ok(),
        _ => None,
    }
}

pub fn read(path: &Path) -> Capture {
    let file = std::fs::File::open(path).expect("open capture");
    let mut rdr = create_reader(1 << 20, file).expect("capture reader");
    let mut links: Vec<i32> = Vec::new();
    let mut legacy_link = 1;
    let mut index = 0u64;
    let mut cap = Capture::default();
    let mut by_key: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
    let mut last_incomplete = false;
    loop {
        match rdr.next() {
            Ok((consumed, block)) => {
                let mut pkt: Option<(i32, Vec<u8>)> = None;
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network.0,
                    PcapBlockOwned::Legacy(b) => pkt = Some((legacy_link, b.data.to_vec())),
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => links.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        links.push(idb.linktype.0)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let l = links.get(epb.if_id as usize).copied().unwrap_or(1);
                        pkt = Some((l, epb.data[..epb.caplen as usize].to_vec()));
                    }
                    PcapBlockOwned::NG(Block::DecryptionSecrets(dsb)) => {
                        cap.secrets
                            .push((index, dsb.data[..dsb.secrets_len as usize].to_vec()));
                    }
                    _ => {}
                }
                rdr.consume(consumed);
                last_incomplete = false;
                let Some((link, data)) = pkt else { continue };
                index += 1;
                let Some(p) = ip_payload(link, &data) else {
                    continue;
                };
                let (src, dst): (IpAddr, IpAddr) = match &p.net {
                    Some(LaxNetSlice::Ipv4(v4)) => (
                        v4.header().source_addr().into(),
                        v4.header().destination_addr().into(),
                    ),
                    Some(LaxNetSlice::Ipv6(v6)) => (
                        v6.header().source_addr().into(),
                        v6.header().destination_addr().into(),
                    ),
                    _ => continue,
                };
                let Some(TransportSlice::Udp(udp)) = &p.transport else {
                    continue;
                };
                let a = SocketAddr::new(src, udp.source_port());
                let b = SocketAddr::new(dst, udp.destination_port());
                let (fi, to_server) = if let Some(&i) = by_key.get(&(a, b)) {
                    (i, true)
                } else if let Some(&i) = by_key.get(&(b, a)) {
                    (i, false)
                } else {
                    cap.flows.push(Flow {
                        client: a,
                        server: b,
                        datagrams: Vec::new(),
                    });
                    by_key.insert((a, b), cap.flows.len() - 1);
                    (cap.flows.len() - 1, true)
                };
                cap.flows[fi].datagrams.push(Datagram {
                    index,
                    to_server,
                    payload: udp.payload().to_vec(),
                });
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) if !last_incomplete => {
                rdr.refill().expect("refill");
                last_incomplete = true;
            }
            Err(_) => break,
        }
    }
    cap
}

/// Lines of one `## ...` section of a `.truth.txt` file, split on tabs after the count.
pub fn truth_section(truth: &str, heading_prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in truth.lines() {
        if line.starts_with("## ") {
            inside = line.starts_with(heading_prefix);
            continue;
        }
        if !inside || line.trim().is_empty() {
            continue;
        }
        // "   count  field<TAB>field..."
        let t = line.trim_start();
        let Some((count, rest)) = t.split_once(char::is_whitespace) else {
            continue;
        };
        if count.parse::<u64>().is_err() {
            continue;
        }
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        out.push(rest.split('\t').map(|s| s.trim().to_string()).collect());
    }
    out
}
