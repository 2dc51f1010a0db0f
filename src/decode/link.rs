//! Link layers: from a captured frame to the start of its IP packet.

use crate::source::LinkType;

/// Where a frame's network layer is.
#[derive(Debug, PartialEq, Eq)]
pub enum L3<'a> {
    /// An IP packet (version by nibble), with the outer VLAN id if tagged.
    Ip(&'a [u8], Option<u16>),
    /// Not IP: the EtherType, or the link's own protocol number (PPP
    /// protocol, BSD address family) where there is no EtherType.
    NotIp(u16),
    Malformed(String),
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const ETH_PPPOE_SESSION: u16 = 0x8864;
/// VLAN tags followed at most (QinQ plus one).
const MAX_TAGS: usize = 3;

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn short(what: &str, len: usize) -> L3<'static> {
    L3::Malformed(format!("{what} truncated ({len} bytes)"))
}

pub fn strip(link: LinkType, data: &[u8]) -> L3<'_> {
    match link {
        LinkType::Ethernet => match (be16(data, 12), data.get(14..)) {
            (Some(et), Some(rest)) => ethertype(et, rest, None),
            _ => short("Ethernet header", data.len()),
        },
        LinkType::LinuxSll => match (be16(data, 14), data.get(16..)) {
            (Some(proto), Some(rest)) => ethertype(proto, rest, None),
            _ => short("Linux cooked (SLL) header", data.len()),
        },
        LinkType::LinuxSll2 => match (be16(data, 0), data.get(20..)) {
            (Some(proto), Some(rest)) => ethertype(proto, rest, None),
            _ => short("Linux cooked (SLL2) header", data.len()),
        },
        LinkType::Null | LinkType::Loop => {
            let Some(af) = data.get(..4) else {
                return short("loopback header", data.len());
            };
            let af = [af[0], af[1], af[2], af[3]];
            let be = u32::from_be_bytes(af);
            // NULL stores the family in the writer's byte order: try both.
            let le = u32::from_le_bytes(af);
            let is_ip = |v: u32| matches!(v, 2 | 10 | 24 | 28 | 30);
            if is_ip(be) || (link == LinkType::Null && is_ip(le)) {
                L3::Ip(&data[4..], None)
            } else {
                let v = if link == LinkType::Null && le < be {
                    le
                } else {
                    be
                };
                L3::NotIp(v.min(0xffff) as u16)
            }
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => L3::Ip(data, None),
        LinkType::Ppp => ppp(data, None),
        LinkType::Other(_) => L3::Malformed(format!("unsupported link type {link}")),
    }
}

/// Follows VLAN tags and PPPoE from an EtherType to IP.
fn ethertype(mut et: u16, mut rest: &[u8], mut vlan: Option<u16>) -> L3<'_> {
    let mut tags = 0;
    while ETH_VLAN.contains(&et) {
        if tags == MAX_TAGS {
            return L3::NotIp(et);
        }
        let (Some(tci), Some(inner), Some(after)) = (be16(rest, 0), be16(rest, 2), rest.get(4..))
        else {
            return short("VLAN tag", rest.len());
        };
        vlan.get_or_insert(tci & 0x0fff);
        et = inner;
        rest = after;
        tags += 1;
    }
    match et {
        ETH_IPV4 | ETH_IPV6 => L3::Ip(rest, vlan),
        ETH_PPPOE_SESSION => {
            // ver/type 0x11, code 0, session id, length, then PPP.
            let (Some(&0x11), Some(&0), Some(len)) = (rest.first(), rest.get(1), be16(rest, 4))
            else {
                return if rest.len() < 6 {
                    short("PPPoE header", rest.len())
                } else {
                    L3::Malformed("PPPoE session header with wrong version or code".into())
                };
            };
            let body = &rest[6..];
            ppp(&body[..body.len().min(len as usize)], vlan)
        }
        other => L3::NotIp(other),
    }
}

/// PPP (RFC 1661), with or without HDLC address/control `ff 03`, and with
/// a compressed one-byte protocol field.
fn ppp(data: &[u8], vlan: Option<u16>) -> L3<'_> {
    let data = data.strip_prefix(&[0xff, 0x03]).unwrap_or(data);
    let (proto, rest) = match data.first() {
        None => return short("PPP header", 0),
        Some(b) if b & 1 == 1 => (u16::from(*b), &data[1..]),
        Some(_) => match (be16(data, 0), data.get(2..)) {
            (Some(p), Some(rest)) => (p, rest),
            _ => return short("PPP header", data.len()),
        },
    };
    match proto {
        0x0021 | 0x0057 => L3::Ip(rest, vlan),
        other => L3::NotIp(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &[u8] = &[0x45, 0, 0, 20];

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn ethernet_with_vlan_and_qinq() {
        let macs = [0u8; 12];
        let plain = cat(&[&macs, &[0x08, 0x00], IP]);
        assert_eq!(strip(LinkType::Ethernet, &plain), L3::Ip(IP, None));
        let tagged = cat(&[&macs, &[0x81, 0x00, 0x20, 0x64, 0x08, 0x00], IP]);
        assert_eq!(strip(LinkType::Ethernet, &tagged), L3::Ip(IP, Some(100)));
        // 802.1ad outer tag 200, inner 802.1Q tag 100.
        let qinq = cat(&[
            &macs,
            &[0x88, 0xa8, 0x00, 0xc8, 0x81, 0x00, 0x00, 0x64, 0x86, 0xdd],
            IP,
        ]);
        assert_eq!(strip(LinkType::Ethernet, &qinq), L3::Ip(IP, Some(200)));
        let arp = cat(&[&macs, &[0x08, 0x06], &[0; 28]]);
        assert_eq!(strip(LinkType::Ethernet, &arp), L3::NotIp(0x0806));
        let four_tags = cat(&[&macs, &[0x81, 0, 0, 1].repeat(4), &[0x08, 0x00], IP]);
        assert_eq!(strip(LinkType::Ethernet, &four_tags), L3::NotIp(0x8100));
    }

    #[test]
    fn pppoe_session_over_ethernet() {
        let macs = [0u8; 12];
        // PPPoE length 6 = 2 (PPP protocol) + 4 (IP); then 2 bytes of padding.
        let f = cat(&[
            &macs,
            &[0x88, 0x64, 0x11, 0x00, 0x12, 0x34, 0x00, 0x06, 0x00, 0x21],
            IP,
            &[0, 0],
        ]);
        assert_eq!(strip(LinkType::Ethernet, &f), L3::Ip(IP, None));
        let lcp = cat(&[&macs, &[0x88, 0x64, 0x11, 0, 0, 1, 0, 2, 0xc0, 0x21]]);
        assert_eq!(strip(LinkType::Ethernet, &lcp), L3::NotIp(0xc021));
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let sll = cat(&[&[0, 0, 0, 1, 0, 6], &[0; 8], &[0x08, 0x00], IP]);
        assert_eq!(strip(LinkType::LinuxSll, &sll), L3::Ip(IP, None));
        let sll2 = cat(&[&[0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6], &[0; 8], IP]);
        assert_eq!(strip(LinkType::LinuxSll2, &sll2), L3::Ip(IP, None));
        assert!(matches!(
            strip(LinkType::LinuxSll2, &sll2[..19]),
            L3::Malformed(_)
        ));
    }

    #[test]
    fn bsd_loopback_in_both_byte_orders() {
        for af in [
            [2, 0, 0, 0],
            [0, 0, 0, 2],
            [30, 0, 0, 0],
            [0, 0, 0, 24],
            [10, 0, 0, 0],
        ] {
            let f = cat(&[&af, IP]);
            assert_eq!(strip(LinkType::Null, &f), L3::Ip(IP, None), "{af:?}");
        }
        // LOOP is network order only.
        assert_eq!(
            strip(LinkType::Loop, &cat(&[&[0, 0, 0, 2], IP])),
            L3::Ip(IP, None)
        );
        assert_eq!(
            strip(LinkType::Loop, &cat(&[&[2, 0, 0, 0], IP])),
            L3::NotIp(0xffff)
        );
        assert_eq!(
            strip(LinkType::Null, &cat(&[&[7, 0, 0, 0], IP])),
            L3::NotIp(7)
        );
    }

    #[test]
    fn ppp_forms() {
        assert_eq!(
            strip(LinkType::Ppp, &cat(&[&[0xff, 0x03, 0x00, 0x21], IP])),
            L3::Ip(IP, None)
        );
        assert_eq!(
            strip(LinkType::Ppp, &cat(&[&[0x00, 0x57], IP])),
            L3::Ip(IP, None)
        );
        assert_eq!(strip(LinkType::Ppp, &cat(&[&[0x21], IP])), L3::Ip(IP, None));
        assert_eq!(strip(LinkType::Ppp, &[0xc0, 0x21, 1, 1]), L3::NotIp(0xc021));
    }

    #[test]
    fn raw_links_pass_through() {
        for l in [LinkType::Raw, LinkType::Ipv4, LinkType::Ipv6] {
            assert_eq!(strip(l, IP), L3::Ip(IP, None));
        }
        assert!(
            matches!(strip(LinkType::Other(105), IP), L3::Malformed(m) if m.contains("IEEE802_11"))
        );
    }
}
