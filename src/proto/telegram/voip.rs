//! Telegram VoIP reflectors (libtgvoip `VoIPController.cpp`): every datagram
//! to a reflector starts with the call's 16-byte peer tag. Service packets
//! follow the tag with twelve `ff` bytes and a TL id (u32 LE); everything else
//! is call data encrypted end to end with the key the two devices agreed.
//!
//! Two service answers reveal addresses in clear:
//! * `UDP_REFLECTOR_SELF_INFO` (`0xc01572c7`): `date i32 | query_id i64 |
//!   my_ip[16] (v4-mapped) | my_port i32 LE` — the caller's public address;
//! * `UDP_REFLECTOR_PEER_INFO` (`0x27d9371c`): `my_ip u32 | my_port u32 LE |
//!   peer_ip u32 | peer_port u32 LE` — both parties' public addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const TLID_SELF_INFO: u32 = 0xc015_72c7;
pub const TLID_PEER_INFO: u32 = 0x27d9_371c;

/// A reflector datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datagram {
    /// A service packet (after the tag and the `ff` marker) with its TL id.
    Service {
        tlid: u32,
        own: Option<SocketAddr>,
        peer: Option<SocketAddr>,
    },
    /// Encrypted call data.
    Data { len: usize },
}

/// The 16-byte tag of a reflector datagram.
pub fn peer_tag(d: &[u8]) -> Option<&[u8]> {
    (d.len() >= 32).then(|| &d[..16])
}

/// Whether bytes 16..28 are the service marker.
pub fn is_service(d: &[u8]) -> bool {
    d.len() >= 32 && d[16..28].iter().all(|&b| b == 0xff)
}

pub fn parse(d: &[u8]) -> Option<Datagram> {
    peer_tag(d)?;
    if !is_service(d) {
        return Some(Datagram::Data { len: d.len() - 16 });
    }
    let tlid = u32::from_le_bytes(d[28..32].try_into().ok()?);
    let body = &d[32..];
    let (own, peer) = match tlid {
        TLID_SELF_INFO => {
            // date 4, query_id 8, ip 16, port 4
            let ip: [u8; 16] = body.get(12..28)?.try_into().ok()?;
            let port = port(body.get(28..32))?;
            let ip = match Ipv6Addr::from(ip).to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from(ip)),
            };
            (Some(SocketAddr::new(ip, port)), None)
        }
        TLID_PEER_INFO => {
            let own = v4(body.get(0..4), body.get(4..8));
            let peer = v4(body.get(8..12), body.get(12..16));
            (Some(own?), Some(peer?))
        }
        _ => (None, None),
    };
    Some(Datagram::Service { tlid, own, peer })
}

fn port(b: Option<&[u8]>) -> Option<u16> {
    let v = u32::from_le_bytes(b?.try_into().ok()?);
    u16::try_from(v).ok()
}

fn v4(ip: Option<&[u8]>, p: Option<&[u8]>) -> Option<SocketAddr> {
    let ip: [u8; 4] = ip?.try_into().ok()?;
    Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port(p)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// nDPI `telegram.pcap` frame 176: the reflector 91.108.8.7:521 tells the
    /// caller its public address.
    #[test]
    fn self_info_reveals_the_callers_address() {
        let d = hex(
            "dc4c00291565b7acbc236da9eda0d597ffffffffffffffffffffffffc77215c060dab25e
             28f946112601a2f000000000000000000000ffff570bcdc35ddc0000",
        );
        assert_eq!(
            parse(&d),
            Some(Datagram::Service {
                tlid: TLID_SELF_INFO,
                own: Some("87.11.205.195:56413".parse().unwrap()),
                peer: None
            })
        );
    }

    /// nDPI `telegram.pcap` frame 220: peer info with both parties' addresses.
    #[test]
    fn peer_info_reveals_both_parties() {
        let d = hex(
            "dc4c00291565b7acbc236da9eda0d597ffffffffffffffffffffffff1c37d927
             570bcdc35ddc0000570bcdc333ed0000",
        );
        assert_eq!(
            parse(&d),
            Some(Datagram::Service {
                tlid: TLID_PEER_INFO,
                own: Some("87.11.205.195:56413".parse().unwrap()),
                peer: Some("87.11.205.195:60723".parse().unwrap())
            })
        );
    }

    /// Frames 170 (a ping request) and 184 (call data).
    #[test]
    fn requests_and_data() {
        let ping =
            hex("dc4c00291565b7acbc236da9eda0d597fffffffffffffffffffffffffeffffff28f946112601a2f0");
        assert_eq!(
            parse(&ping),
            Some(Datagram::Service {
                tlid: 0xffff_fffe,
                own: None,
                peer: None
            })
        );
        let data = hex("dc4c00291565b7acbc236da9eda0d597592e46c3eb5bd2847e7cd8cd020b8522556709b8");
        assert_eq!(parse(&data), Some(Datagram::Data { len: 20 }));
        assert_eq!(parse(&data[..31]), None);
    }
}
