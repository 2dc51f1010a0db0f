//! Discord voice IP discovery (discord.com/developers/docs/topics/voice-connections,
//! "IP Discovery"): before sending media, the client asks the voice server
//! which public address and port it sees, and the answer crosses in clear:
//! `type u16 (1 request, 2 response) | length u16 = 70 | SSRC u32 |
//! address[64] (NUL-terminated text) | port u16`.

use std::net::{IpAddr, SocketAddr};

/// Length of an IP discovery packet.
pub const LEN: usize = 74;

/// A parsed IP discovery packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub response: bool,
    pub ssrc: u32,
    /// The address the server saw (responses only; requests carry zeros).
    pub address: Option<SocketAddr>,
}

pub fn parse(data: &[u8]) -> Option<Discovery> {
    if data.len() != LEN {
        return None;
    }
    let kind = u16::from_be_bytes([data[0], data[1]]);
    let len = u16::from_be_bytes([data[2], data[3]]);
    if len != 70 || !(kind == 1 || kind == 2) {
        return None;
    }
    let ssrc = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    let text = &data[8..72];
    let end = text.iter().position(|&b| b == 0)?;
    if text[end..].iter().any(|&b| b != 0) {
        return None;
    }
    let port = u16::from_be_bytes([data[72], data[73]]);
    let address = if end == 0 {
        None
    } else {
        let ip: IpAddr = std::str::from_utf8(&text[..end]).ok()?.parse().ok()?;
        Some(SocketAddr::new(ip, port))
    };
    if kind == 1 && address.is_some() {
        return None;
    }
    Some(Discovery {
        response: kind == 2,
        ssrc,
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// nDPI `rtp.pcapng`, UDP 54234 <-> 50003: request and response.
    #[test]
    fn discovery_reveals_the_public_address() {
        let req = hex(
            "00010046001a7e7300000000000000000000000000000000000000000000000000000000\
             000000000000000000000000000000000000000000000000000000000000000000000000\
             8b19",
        );
        let d = parse(&req).unwrap();
        assert!(!d.response);
        assert_eq!(d.ssrc, 0x001a_7e73);
        assert_eq!(d.address, None);

        let resp = hex(
            "00020046001a7e7338352e3135342e322e31343500000000000000000000000000000000\
             000000000000000000000000000000000000000000000000000000000000000000000000\
             d3da",
        );
        let d = parse(&resp).unwrap();
        assert!(d.response);
        assert_eq!(d.address, Some("85.154.2.145:54234".parse().unwrap()));
    }

    #[test]
    fn other_packets_are_rejected() {
        assert!(parse(&[0u8; 73]).is_none());
        let mut p = hex("00030046001a7e73");
        p.resize(LEN, 0);
        assert!(parse(&p).is_none());
        let mut p = hex("00020046001a7e73");
        p.extend_from_slice(b"not an address");
        p.resize(LEN, 0);
        assert!(parse(&p).is_none());
    }
}
