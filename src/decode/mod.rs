//! Decode: from a captured frame to addresses, ports and transport payload.
//!
//! Link layers are ours ([`link`]); IPv4/IPv6 (with extension headers), TCP
//! and UDP are sliced with etherparse's lax slicer, which trusts the IP
//! length fields over the capture length, so Ethernet padding never leaks
//! into payloads and snaplen-cut packets still decode (their `wire_len`
//! says how much was sent). Fragments go through [`defrag`] and come out as
//! ordinary packets marked `reassembled`. Nothing here panics on any input.

pub mod defrag;
mod link;

use std::net::IpAddr;

use etherparse::{IpNumber, Ipv6ExtensionsSlice, LaxIpSlice, TcpSlice, UdpSlice};

use crate::source::LinkType;
use defrag::{Defrag, FragKey, Fragment, Insert};
pub use defrag::{DefragLimits, DefragStats};

/// TCP header flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub urg: bool,
    pub ece: bool,
    pub cwr: bool,
}

/// The transport layer of a decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L4<'a> {
    Tcp {
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        window: u16,
        payload: &'a [u8],
        /// Payload bytes the IP header says were sent; more than
        /// `payload.len()` when the snapshot length cut the packet.
        wire_len: u32,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
        wire_len: u32,
    },
    /// ICMP, ESP, GRE, SCTP, …: counted, not followed.
    Other { protocol: u8 },
}

/// An IP packet with its transport layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4<'a>,
    /// Outer VLAN id, when tagged.
    pub vlan: Option<u16>,
    /// Rebuilt from IP fragments.
    pub reassembled: bool,
}

/// What a frame turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    Packet(Decoded<'a>),
    /// An IP fragment, held for reassembly (or dropped by a cap; see stats).
    FragmentHeld,
    /// Not IP: the EtherType, or the link's own protocol number (PPP
    /// protocol, BSD address family) where there is no EtherType.
    NotIp {
        ethertype: u16,
    },
    /// Could not be decoded; says why (never contains payload bytes).
    Malformed(String),
}

/// Counters for the report's `stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    pub frames: u64,
    /// Frames that yielded an IP packet (reassembled datagrams counted once).
    pub ip: u64,
    pub tcp: u64,
    pub udp: u64,
    pub other_ip: u64,
    pub not_ip: u64,
    pub malformed: u64,
    /// TCP/UDP packets whose payload the snapshot length cut, and cut
    /// fragments (which are never reassembled).
    pub snaplen_cut: u64,
    pub fragments: u64,
    pub reassembled: u64,
    /// Datagrams dropped because they exceeded a reassembly cap.
    pub dropped_by_cap: u64,
    /// Fragments that disagreed with bytes already held (first data wins).
    pub overlaps: u64,
    /// Incomplete datagrams discarded after the timeout.
    pub timeouts: u64,
}

/// Decodes frames; owns the fragment reassembly state.
pub struct Decoder {
    defrag: Defrag,
    stats: DecodeStats,
}

/// Where a fragment's data is and what it says about itself.
struct FragInfo<'a> {
    key: FragKey,
    frag: Fragment,
    data: &'a [u8],
}

impl Decoder {
    pub fn new(limits: DefragLimits) -> Self {
        Decoder {
            defrag: Defrag::new(limits),
            stats: DecodeStats::default(),
        }
    }

    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Bytes held by fragment reassembly right now.
    pub fn buffered(&self) -> usize {
        self.defrag.buffered()
    }

    /// Decodes one frame; `ts` (ns) drives the reassembly timeout.
    pub fn decode<'a>(&'a mut self, link: LinkType, data: &'a [u8], ts: i64) -> Outcome<'a> {
        self.stats.frames += 1;
        let (l3, vlan) = match link::strip(link, data) {
            link::L3::Ip(l3, vlan) => (l3, vlan),
            link::L3::NotIp(ethertype) => {
                self.stats.not_ip += 1;
                return Outcome::NotIp { ethertype };
            }
            link::L3::Malformed(why) => {
                self.stats.malformed += 1;
                return Outcome::Malformed(why);
            }
        };
        let ip = match LaxIpSlice::from_slice(l3) {
            Ok((ip, _)) => ip,
            Err(e) => {
                self.stats.malformed += 1;
                return Outcome::Malformed(format!("IP header: {e}"));
            }
        };
        let src = ip.source_addr();
        let dst = ip.destination_addr();
        let payload = ip.payload();
        if payload.fragmented {
            if payload.incomplete {
                // A fragment cut by the snapshot length would leave a hole
                // (or, if last, a wrong datagram length): never reassembled.
                self.stats.snaplen_cut += 1;
                return Outcome::FragmentHeld;
            }
            let Some(info) = fragment_info(&ip, l3) else {
                self.stats.malformed += 1;
                return Outcome::Malformed("IPv6 fragment header not found".into());
            };
            let result = self.defrag.insert(info.key, info.frag, info.data, ts);
            self.sync_defrag_stats();
            let Insert::Complete(proto) = result else {
                return Outcome::FragmentHeld;
            };
            self.stats.ip += 1;
            let datagram = self.defrag.datagram();
            let (proto, body) = if src.is_ipv6() {
                // Extension headers may follow the fragment header.
                let (_, proto, body, _) =
                    Ipv6ExtensionsSlice::from_slice_lax(IpNumber(proto), datagram);
                (proto, body)
            } else {
                (IpNumber(proto), datagram)
            };
            let l4 = transport(&mut self.stats, proto, body, body.len());
            return finish(&mut self.stats, src, dst, vlan, true, l4);
        }
        self.stats.ip += 1;
        let declared = declared_payload_len(&ip);
        let l4 = transport(
            &mut self.stats,
            payload.ip_number,
            payload.payload,
            declared,
        );
        finish(&mut self.stats, src, dst, vlan, false, l4)
    }

    fn sync_defrag_stats(&mut self) {
        let d = self.defrag.stats;
        self.stats.fragments = d.fragments;
        self.stats.reassembled = d.reassembled;
        self.stats.dropped_by_cap = d.dropped_by_cap;
        self.stats.overlaps = d.overlaps;
        self.stats.timeouts = d.timeouts;
    }
}

fn finish<'a>(
    stats: &mut DecodeStats,
    src: IpAddr,
    dst: IpAddr,
    vlan: Option<u16>,
    reassembled: bool,
    l4: Result<L4<'a>, String>,
) -> Outcome<'a> {
    match l4 {
        Ok(l4) => Outcome::Packet(Decoded {
            src,
            dst,
            l4,
            vlan,
            reassembled,
        }),
        Err(why) => {
            stats.malformed += 1;
            Outcome::Malformed(why)
        }
    }
}

/// The IP payload length the header announces (the capture may hold less).
fn declared_payload_len(ip: &LaxIpSlice<'_>) -> usize {
    let have = ip.payload().payload.len();
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = usize::from(h.total_len());
            // Zero (TSO/LRO) or nonsense: the slice is all we know.
            total
                .checked_sub(h.slice().len())
                .filter(|_| total != 0)
                .unwrap_or(have)
        }
        LaxIpSlice::Ipv6(v6) => {
            let plen = usize::from(v6.header().payload_length());
            if plen == 0 {
                have
            } else {
                plen.saturating_sub(v6.extensions().slice().len())
            }
        }
    }
    .max(have)
}

/// Slices TCP or UDP from an IP payload.
fn transport<'a>(
    stats: &mut DecodeStats,
    proto: IpNumber,
    body: &'a [u8],
    declared: usize,
) -> Result<L4<'a>, String> {
    match proto {
        IpNumber::TCP => {
            let tcp = TcpSlice::from_slice(body).map_err(|e| format!("TCP header: {e}"))?;
            let payload = tcp.payload();
            let header_len = tcp.header_slice().len();
            let wire_len = declared.saturating_sub(header_len).max(payload.len());
            stats.tcp += 1;
            if wire_len > payload.len() {
                stats.snaplen_cut += 1;
            }
            Ok(L4::Tcp {
                src_port: tcp.source_port(),
                dst_port: tcp.destination_port(),
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                flags: TcpFlags {
                    syn: tcp.syn(),
                    ack: tcp.ack(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                    psh: tcp.psh(),
                    urg: tcp.urg(),
                    ece: tcp.ece(),
                    cwr: tcp.cwr(),
                },
                window: tcp.window_size(),
                payload,
                wire_len: u32::try_from(wire_len).unwrap_or(u32::MAX),
            })
        }
        IpNumber::UDP => {
            let udp = UdpSlice::from_slice_lax(body).map_err(|e| format!("UDP header: {e}"))?;
            let payload = udp.payload();
            let by_udp = usize::from(udp.length()).saturating_sub(8);
            let by_ip = declared.saturating_sub(8);
            // The UDP length unless it is zero (jumbograms) or absurd.
            let wire_len = if udp.length() >= 8 && by_udp <= by_ip.max(payload.len()) {
                by_udp
            } else {
                by_ip
            }
            .max(payload.len());
            stats.udp += 1;
            if wire_len > payload.len() {
                stats.snaplen_cut += 1;
            }
            Ok(L4::Udp {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                payload,
                wire_len: u32::try_from(wire_len).unwrap_or(u32::MAX),
            })
        }
        other => {
            stats.other_ip += 1;
            Ok(L4::Other { protocol: other.0 })
        }
    }
}

/// Key, position and data of a fragment. For IPv6 the extension headers
/// are walked here: etherparse keeps parsing past the fragment header of a
/// non-first fragment, where the bytes are payload, not headers.
fn fragment_info<'a>(ip: &LaxIpSlice<'a>, l3: &'a [u8]) -> Option<FragInfo<'a>> {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            Some(FragInfo {
                key: FragKey {
                    src: ip.source_addr(),
                    dst: ip.destination_addr(),
                    id: u32::from(h.identification()),
                    proto: h.protocol().0,
                },
                frag: Fragment {
                    offset: u32::from(h.fragments_offset().value()) * 8,
                    more: h.more_fragments(),
                    proto: h.protocol().0,
                },
                data: v4.payload().payload,
            })
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let plen = usize::from(h.payload_length());
            let end = if plen == 0 {
                l3.len()
            } else {
                (40 + plen).min(l3.len())
            };
            let body = l3.get(40..end)?;
            let mut next = h.next_header().0;
            let mut pos = 0usize;
            loop {
                match next {
                    // Hop-by-hop, routing, destination options, mobility,
                    // HIP, shim6: (len + 1) * 8 bytes.
                    0 | 43 | 60 | 135 | 139 | 140 => {
                        let len = (usize::from(*body.get(pos + 1)?) + 1) * 8;
                        next = *body.get(pos)?;
                        pos += len;
                    }
                    // Authentication header: (len + 2) * 4 bytes.
                    51 => {
                        let len = (usize::from(*body.get(pos + 1)?) + 2) * 4;
                        next = *body.get(pos)?;
                        pos += len;
                    }
                    44 => {
                        let fh = body.get(pos..pos + 8)?;
                        let off = u16::from_be_bytes([fh[2], fh[3]]);
                        return Some(FragInfo {
                            key: FragKey {
                                src: ip.source_addr(),
                                dst: ip.destination_addr(),
                                id: u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]),
                                proto: 0,
                            },
                            frag: Fragment {
                                offset: u32::from(off & 0xfff8),
                                more: off & 1 == 1,
                                proto: fh[0],
                            },
                            data: &body[pos + 8..],
                        });
                    }
                    _ => return None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
