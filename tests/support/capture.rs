//! Test-only capture reader: TCP streams (in order, retransmissions dropped)
//! and UDP datagrams per flow, plus pcapng secrets blocks and comments.
//! Kept out of `src/`: the product has its own packet pipeline.

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use pcap_parser::data::{PacketData, get_packetdata};
use pcap_parser::{Block, Linktype, PcapBlockOwned, PcapError, create_reader};
use plainsight::model::{Direction, Transport};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// One flow: bytes (TCP, in-order chunks) or datagrams (UDP) in capture order.
#[derive(Debug)]
pub struct Flow {
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub events: Vec<(Direction, Vec<u8>)>,
}

/// What a capture holds.
#[derive(Debug, Default)]
pub struct Capture {
    pub flows: Vec<Flow>,
    /// Concatenated TLS key log text from Decryption Secrets Blocks.
    pub dsb_keylog: Vec<u8>,
    /// Section/packet comments (some captures carry key log lines there).
    pub comments: Vec<String>,
}

#[derive(Default)]
struct TcpDir {
    next: Option<u32>,
    pending: BTreeMap<u32, Vec<u8>>,
}

impl TcpDir {
    /// Returns newly in-order bytes.
    fn segment(&mut self, seq: u32, syn: bool, data: &[u8]) -> Vec<u8> {
        if syn {
            self.next = Some(seq.wrapping_add(1));
            return Vec::new();
        }
        if data.is_empty() {
            return Vec::new();
        }
        let next = *self.next.get_or_insert(seq);
        let mut out = Vec::new();
        let rel = seq.wrapping_sub(next) as i32;
        if rel > 0 {
            self.pending.insert(seq, data.to_vec());
            return out;
        }
        let skip = (-rel) as usize;
        if skip < data.len() {
            out.extend_from_slice(&data[skip..]);
        }
        let mut next = next.wrapping_add(out.len() as u32);
        while let Some((&s, _)) = self
            .pending
            .iter()
            .find(|(s, _)| (s.wrapping_sub(next) as i32) <= 0)
        {
            let d = self.pending.remove(&s).unwrap_or_default();
            let skip = next.wrapping_sub(s) as usize;
            if skip < d.len() {
                out.extend_from_slice(&d[skip..]);
                next = next.wrapping_add((d.len() - skip) as u32);
            }
        }
        self.next = Some(next);
        out
    }
}

struct Building {
    flow: Flow,
    tcp: [TcpDir; 2],
}

pub fn read(path: &Path) -> Capture {
    let file = std::fs::File::open(path).expect("open capture");
    let mut rdr = create_reader(1 << 20, file).expect("capture reader");
    let mut cap = Capture::default();
    let mut legacy_link = Linktype::ETHERNET;
    let mut links: Vec<Linktype> = Vec::new();
    let mut flows: Vec<Building> = Vec::new();
    let mut index: HashMap<(u8, SocketAddr, SocketAddr), usize> = HashMap::new();
    let mut last_incomplete = false;
    loop {
        match rdr.next() {
            Ok((consumed, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_link = h.network,
                    PcapBlockOwned::Legacy(b) => packet(
                        &mut flows,
                        &mut index,
                        legacy_link,
                        &b.data[..(b.caplen as usize).min(b.data.len())],
                    ),
                    PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                        links.clear();
                        for o in &shb.options {
                            if o.code.0 == 1
                                && let Ok(s) = o.as_str()
                            {
                                cap.comments.push(s.to_string());
                            }
                        }
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        links.push(idb.linktype)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        for o in &epb.options {
                            if o.code.0 == 1
                                && let Ok(s) = o.as_str()
                            {
                                cap.comments.push(s.to_string());
                            }
                        }
                        let link = links
                            .get(epb.if_id as usize)
                            .copied()
                            .unwrap_or(Linktype::ETHERNET);
                        let n = (epb.caplen as usize).min(epb.data.len());
                        packet(&mut flows, &mut index, link, &epb.data[..n]);
                    }
                    PcapBlockOwned::NG(Block::DecryptionSecrets(dsb))
                        if dsb.secrets_type.0 == 0x544c_534b =>
                    {
                        let n = (dsb.secrets_len as usize).min(dsb.data.len());
                        cap.dsb_keylog.extend_from_slice(&dsb.data[..n]);
                        cap.dsb_keylog.push(b'\n');
                    }
                    _ => {}
                }
                rdr.consume(consumed);
                last_incomplete = false;
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) if !last_incomplete => {
                rdr.refill().expect("refill");
                last_incomplete = true;
            }
            Err(_) => break,
        }
    }
    cap.flows = flows.into_iter().map(|b| b.flow).collect();
    cap
}

fn packet(
    flows: &mut Vec<Building>,
    index: &mut HashMap<(u8, SocketAddr, SocketAddr), usize>,
    link: Linktype,
    data: &[u8],
) {
    let Some(pd) = get_packetdata(data, link, data.len()) else {
        return;
    };
    let lax = match pd {
        PacketData::L2(eth) => match LaxSlicedPacket::from_ethernet(eth) {
            Ok(l) => l,
            Err(_) => return,
        },
        PacketData::L3(et, l3) => LaxSlicedPacket::from_ether_type(EtherType(et), l3),
        _ => return,
    };
    let (src, dst): (IpAddr, IpAddr) = match &lax.net {
        Some(LaxNetSlice::Ipv4(v4)) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        Some(LaxNetSlice::Ipv6(v6)) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        _ => return,
    };
    let (proto, sport, dport, seq, syn, ack, payload) = match &lax.transport {
        Some(TransportSlice::Tcp(t)) => (
            6u8,
            t.source_port(),
            t.destination_port(),
            t.sequence_number(),
            t.syn(),
            t.ack(),
            t.payload(),
        ),
        Some(TransportSlice::Udp(u)) => (
            17u8,
            u.source_port(),
            u.destination_port(),
            0,
            false,
            false,
            u.payload(),
        ),
        _ => return,
    };
    let a = SocketAddr::new(src, sport);
    let b = SocketAddr::new(dst, dport);
    let (dir, i) = if let Some(&i) = index.get(&(proto, a, b)) {
        (Direction::ToServer, i)
    } else if let Some(&i) = index.get(&(proto, b, a)) {
        (Direction::ToClient, i)
    } else {
        // The SYN-ACK sender is the server; otherwise the first sender is the client.
        let (client, server, dir) = if syn && ack {
            (b, a, Direction::ToClient)
        } else {
            (a, b, Direction::ToServer)
        };
        let i = flows.len();
        index.insert((proto, client, server), i);
        flows.push(Building {
            flow: Flow {
                transport: if proto == 6 {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                client,
                server,
                events: Vec::new(),
            },
            tcp: Default::default(),
        });
        (dir, i)
    };
    let f = &mut flows[i];
    if proto == 6 {
        let bytes = f.tcp[dir.index()].segment(seq, syn, payload);
        if !bytes.is_empty() {
            f.flow.events.push((dir, bytes));
        }
    } else if !payload.is_empty() {
        f.flow.events.push((dir, payload.to_vec()));
    }
}
