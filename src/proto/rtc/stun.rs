//! STUN and TURN messages (RFC 8489, RFC 8656; classic RFC 3489 framing).
//!
//! Pure parsers over one datagram. The attributes that matter to a privacy
//! audit are the addresses (a caller's public address, the other party's
//! address in a P2P or relayed call, the relay), `SOFTWARE`, `REALM` and
//! `USERNAME`: they travel in the clear even when the media is encrypted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The RFC 5389 magic cookie at bytes 4..8.
pub const MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// Header length.
pub const HEADER: usize = 20;

/// Attribute types (IANA "STUN Attributes").
pub mod attr {
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const CHANNEL_NUMBER: u16 = 0x000c;
    pub const LIFETIME: u16 = 0x000d;
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    pub const DATA: u16 = 0x0013;
    pub const REALM: u16 = 0x0014;
    pub const NONCE: u16 = 0x0015;
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// Pre-RFC 5389 drafts used 0x8020 for XOR-MAPPED-ADDRESS; some stacks still do.
    pub const XOR_MAPPED_ADDRESS_OLD: u16 = 0x8020;
    pub const SOFTWARE: u16 = 0x8022;
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    pub const FINGERPRINT: u16 = 0x8028;
    /// Microsoft vendor attributes ([MS-TURN], [MS-ICE2]).
    pub const MS_MAGIC_COOKIE: u16 = 0x000f;
    pub const MS_VERSION: u16 = 0x8008;
    pub const MS_SERVICE_QUALITY: u16 = 0x8055;
    pub const MS_IMPLEMENTATION_VERSION: u16 = 0x8070;
}

/// Message class (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Request,
    Indication,
    Success,
    Error,
}

/// A parsed STUN message header with its attribute bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    pub msg_type: u16,
    /// The magic cookie was present (RFC 5389+); classic RFC 3489 otherwise.
    pub rfc5389: bool,
    /// Magic cookie and transaction id (16 bytes), the IPv6 XOR pad.
    pub cookie_and_id: [u8; 16],
    pub attrs: &'a [u8],
}

impl<'a> Message<'a> {
    pub fn class(&self) -> Class {
        match self.msg_type & 0x0110 {
            0x0000 => Class::Request,
            0x0010 => Class::Indication,
            0x0100 => Class::Success,
            _ => Class::Error,
        }
    }

    /// The method with the class bits removed (Binding 1, Allocate 3, ...).
    pub fn method(&self) -> u16 {
        let t = self.msg_type;
        (t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2)
    }

    /// Attributes in order; iteration stops at the first malformed one.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes { rest: self.attrs }
    }

    /// The first attribute of a type.
    pub fn attr(&self, kind: u16) -> Option<&'a [u8]> {
        self.attributes().find(|a| a.kind == kind).map(|a| a.value)
    }
}

/// One attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub value: &'a [u8],
}

/// Iterator over attributes (type, length, value padded to 4 bytes).
pub struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        let h = self.rest.get(..4)?;
        let kind = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let value = self.rest.get(4..4 + len)?;
        let padded = (4 + len + 3) & !3;
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        Some(Attr { kind, value })
    }
}

/// Parses one STUN message at the start of `data`. Returns `None` when the
/// bytes are not STUN: top two bits set, length not a multiple of 4, or the
/// declared length running past the datagram. Classic (RFC 3489) messages
/// are accepted only when their length is exact and the type is a known
/// Binding/Shared-Secret type, because without the cookie little else
/// distinguishes them from noise.
pub fn parse(data: &[u8]) -> Option<Message<'_>> {
    let h = data.get(..HEADER)?;
    let msg_type = u16::from_be_bytes([h[0], h[1]]);
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if msg_type & 0xc000 != 0 {
        return None;
    }
    let attrs = data.get(HEADER..HEADER + len)?;
    let rfc5389 = h[4..8] == MAGIC;
    // RFC 8489 lengths are multiples of 4, but WhatsApp's 2015 stack sent
    // unpadded attributes: with the cookie, an exact length is accepted too.
    let exact = rfc5389 && data.len() == HEADER + len;
    if !(len.is_multiple_of(4) || exact) {
        return None;
    }
    if !rfc5389 {
        let known = matches!(
            msg_type,
            0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112
        );
        if !known || data.len() != HEADER + len {
            return None;
        }
    }
    let mut cookie_and_id = [0u8; 16];
    cookie_and_id.copy_from_slice(&h[4..20]);
    Some(Message {
        msg_type,
        rfc5389,
        cookie_and_id,
        attrs,
    })
}

/// A plain address attribute (MAPPED-ADDRESS, ALTERNATE-SERVER).
pub fn address(value: &[u8]) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    let ip = match family {
        0x01 => {
            let b: [u8; 4] = value.get(4..8)?.try_into().ok()?;
            IpAddr::V4(Ipv4Addr::from(b))
        }
        0x02 => {
            let b: [u8; 16] = value.get(4..20)?.try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// An XOR address attribute: port XOR the cookie's top 16 bits, IPv4 XOR the
/// cookie, IPv6 XOR cookie || transaction id.
pub fn xor_address(value: &[u8], cookie_and_id: &[u8; 16]) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?])
        ^ u16::from_be_bytes([cookie_and_id[0], cookie_and_id[1]]);
    let ip = match family {
        0x01 => {
            let x = value.get(4..8)?;
            let mut b = [0u8; 4];
            for i in 0..4 {
                b[i] = x[i] ^ cookie_and_id[i];
            }
            IpAddr::V4(Ipv4Addr::from(b))
        }
        0x02 => {
            let x = value.get(4..20)?;
            let mut b = [0u8; 16];
            for i in 0..16 {
                b[i] = x[i] ^ cookie_and_id[i];
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// A text attribute (SOFTWARE, REALM, USERNAME) if it is printable UTF-8.
pub fn text(value: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(value).ok()?;
    let s = s.trim_end_matches('\0');
    (!s.is_empty() && !s.chars().any(char::is_control)).then_some(s)
}

/// Whether the FINGERPRINT attribute, if present, matches the message
/// (CRC-32 of everything before it, XOR `0x5354554e`). `None` without one.
pub fn fingerprint_ok(data: &[u8], msg: &Message<'_>) -> Option<bool> {
    let mut off = HEADER;
    for a in msg.attributes() {
        if a.kind == attr::FINGERPRINT {
            let want: [u8; 4] = a.value.try_into().ok()?;
            let crc = crc32fast::hash(data.get(..off)?) ^ 0x5354_554e;
            return Some(crc == u32::from_be_bytes(want));
        }
        off += (4 + a.value.len() + 3) & !3;
    }
    None
}

/// The address-bearing attributes, decoded, with what each one reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressRole {
    /// The sender's public address as seen by the server (own address).
    Mapped,
    /// The other party of a relayed or P2P call.
    Peer,
    /// The address a TURN server allocated.
    Relayed,
    /// A server suggested instead of this one.
    Alternate,
}

/// Every address a message carries, with its role.
pub fn addresses(msg: &Message<'_>) -> Vec<(AddressRole, SocketAddr)> {
    let mut out = Vec::new();
    for a in msg.attributes().take(64) {
        let decoded = match a.kind {
            attr::XOR_MAPPED_ADDRESS | attr::XOR_MAPPED_ADDRESS_OLD => {
                xor_address(a.value, &msg.cookie_and_id).map(|s| (AddressRole::Mapped, s))
            }
            attr::MAPPED_ADDRESS => address(a.value).map(|s| (AddressRole::Mapped, s)),
            attr::XOR_PEER_ADDRESS => {
                xor_address(a.value, &msg.cookie_and_id).map(|s| (AddressRole::Peer, s))
            }
            attr::XOR_RELAYED_ADDRESS => {
                xor_address(a.value, &msg.cookie_and_id).map(|s| (AddressRole::Relayed, s))
            }
            attr::ALTERNATE_SERVER => address(a.value).map(|s| (AddressRole::Alternate, s)),
            _ => None,
        };
        out.extend(decoded);
    }
    out
}

/// WhatsApp's calling stack uses non-standard message types `0x0800`-`0x0802`
/// and attributes `0x4000`-`0x4007` (ntop/nDPI `stun.c`).
pub fn whatsapp_flavour(msg: &Message<'_>) -> bool {
    (0x0800..=0x0802).contains(&msg.msg_type)
        || msg
            .attributes()
            .take(64)
            .any(|a| (0x4000..=0x4007).contains(&a.kind))
}

/// Microsoft's ICE extensions ([MS-ICE2]): the IMPLEMENTATION-VERSION
/// attribute of connectivity checks. Its value tells Microsoft's stacks
/// apart: 3 in the 2017 consumer Skype client, 7 in Teams (nDPI's
/// `skype-conference-call.pcap` and `teams.pcap`).
pub fn ms_ice_version(msg: &Message<'_>) -> Option<u32> {
    let v = msg.attr(attr::MS_IMPLEMENTATION_VERSION)?;
    Some(u32::from_be_bytes(v.try_into().ok()?))
}

/// Microsoft's TURN dialect ([MS-TURN]): the MAGIC-COOKIE attribute,
/// MS-VERSION or MS-SERVICE-QUALITY on allocations (Teams and Skype relays).
pub fn ms_turn(msg: &Message<'_>) -> bool {
    msg.attributes().take(64).any(|a| {
        matches!(
            a.kind,
            attr::MS_MAGIC_COOKIE | attr::MS_VERSION | attr::MS_SERVICE_QUALITY
        )
    })
}

/// TURN ChannelData (RFC 8656 §12): channel 0x4000-0x4fff, length, data.
/// Returns the channel and the application data.
pub fn channel_data(data: &[u8]) -> Option<(u16, &[u8])> {
    let h = data.get(..4)?;
    let channel = u16::from_be_bytes([h[0], h[1]]);
    if !(0x4000..=0x4fff).contains(&channel) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let body = data.get(4..4 + len)?;
    // Over UDP the padding is optional; anything beyond 3 bytes is not ChannelData.
    (data.len() - 4 - len < 4).then_some((channel, body))
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

    /// RFC 5769 §2.2: sample IPv4 response.
    const RFC5769_V4: &str = "0101003c2112a442b7e7a701bc34d686fa87dfae\
        8022000b7465737420766563746f7220\
        002000080001a147e112a643\
        000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7\
        80280004c07d4c96";

    /// RFC 5769 §2.3: sample IPv6 response.
    const RFC5769_V6: &str = "010100482112a442b7e7a701bc34d686fa87dfae\
        8022000b7465737420766563746f7220\
        002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9\
        00080014a382954e4be67bf11784c97c8292c275bfe3ed41\
        80280004c8fb0b4c";

    #[test]
    fn rfc5769_ipv4_response_decodes_mapped_address_and_software() {
        let d = hex(RFC5769_V4);
        let m = parse(&d).unwrap();
        assert!(m.rfc5389);
        assert_eq!(m.class(), Class::Success);
        assert_eq!(m.method(), 1);
        assert_eq!(text(m.attr(attr::SOFTWARE).unwrap()), Some("test vector"));
        assert_eq!(
            addresses(&m),
            vec![(AddressRole::Mapped, "192.0.2.1:32853".parse().unwrap())]
        );
        assert_eq!(fingerprint_ok(&d, &m), Some(true));
    }

    #[test]
    fn rfc5769_ipv6_response_uses_the_transaction_id_as_pad() {
        let d = hex(RFC5769_V6);
        let m = parse(&d).unwrap();
        assert_eq!(
            addresses(&m),
            vec![(
                AddressRole::Mapped,
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            )]
        );
        assert_eq!(fingerprint_ok(&d, &m), Some(true));
        let mut bad = d.clone();
        bad[30] ^= 1;
        assert_eq!(fingerprint_ok(&bad, &parse(&bad).unwrap()), Some(false));
    }

    /// nDPI `stun_signal.pcapng` frame 20: a TURN Allocate success response
    /// from Signal's relay with XOR-RELAYED-ADDRESS and XOR-MAPPED-ADDRESS.
    #[test]
    fn signal_allocate_response_reveals_relay_and_own_address() {
        let d = hex(
            "010300482112a4425344483967722b2b5578766d001600080001d5fa028c13e5\
             0020000800010f627c3d4551000d000400000258802200044e6f6e65\
             000800146a67c4dabcb6aa237bef1128d0f595790a88ef3b80280004bfe35713",
        );
        let m = parse(&d).unwrap();
        assert_eq!(m.class(), Class::Success);
        assert_eq!(m.method(), 3);
        assert_eq!(
            addresses(&m),
            vec![
                (
                    AddressRole::Relayed,
                    "35.158.183.167:62696".parse().unwrap()
                ),
                (AddressRole::Mapped, "93.47.225.19:11888".parse().unwrap()),
            ]
        );
        assert_eq!(text(m.attr(attr::SOFTWARE).unwrap()), Some("None"));
        assert_eq!(fingerprint_ok(&d, &m), Some(true));
    }

    /// nDPI `stun_signal.pcapng` frame 14: a 401 carrying REALM `signal.org`.
    #[test]
    fn signal_realm_is_readable() {
        let d = hex(
            "011300482112a442374359424e654c68457372650009001000000401556e617574686f72697a6564\
             00150010633866373363393736623032623963380014000a7369676e616c2e6f72670000\
             802200044e6f6e658028000479938cf7",
        );
        let m = parse(&d).unwrap();
        assert_eq!(m.class(), Class::Error);
        assert_eq!(text(m.attr(attr::REALM).unwrap()), Some("signal.org"));
        assert!(addresses(&m).is_empty());
    }

    /// nDPI `whatsapp_voice_and_message.pcap` frame 27 answers an Allocate
    /// whose WhatsApp attribute 0x4000 is 102 bytes long, unpadded: the
    /// message length (106) is not a multiple of 4.
    #[test]
    fn whatsapp_2015_unpadded_attribute() {
        let mut req = hex("0003006a2112a4420000d160e0ec785eac996a6c40000066");
        req.resize(20 + 106, 0x5a);
        let m = parse(&req).unwrap();
        assert!(whatsapp_flavour(&m));
        req.push(0);
        assert!(parse(&req).is_none(), "inexact lengths stay rejected");
        let resp = hex(
            "010300182112a4420000d160e0ec785eac996a6c002000080001f3939eb0cf1e400200080000014d9ac2cebb",
        );
        let m = parse(&resp).unwrap();
        assert_eq!(
            addresses(&m),
            vec![(AddressRole::Mapped, "191.162.107.92:53889".parse().unwrap())]
        );
    }

    /// nDPI `stun_wa_call.pcapng` frame 11: WhatsApp's relay answers with
    /// XOR-MAPPED-ADDRESS and its own attribute 0x4002.
    #[test]
    fn whatsapp_allocate_response_is_recognised() {
        let d = hex(
            "010300302112a44270758b44c723a74ed1934a25002000080001d1247c310f41\
             400200080000018660b8c82700080014aa7209cd6fe3d57f1cfd68312450d84c88c21b4e",
        );
        let m = parse(&d).unwrap();
        assert!(whatsapp_flavour(&m));
        assert!(ms_ice_version(&m).is_none() && !ms_turn(&m));
        assert_eq!(
            addresses(&m),
            vec![(AddressRole::Mapped, "93.35.171.3:61494".parse().unwrap())]
        );
    }

    /// nDPI `skype-conference-call.pcap` frame 3 (ICE check response with
    /// [MS-ICE2] IMPLEMENTATION-VERSION) and `teams.pcap` (an [MS-TURN]
    /// Allocate with MAGIC-COOKIE, MS-VERSION and MS-SERVICE-QUALITY).
    #[test]
    fn microsoft_dialects_are_told_apart() {
        let skype = hex(
            "010100342112a4423cc85da6a06278cef536c2e1002000080001cdf0493c8c73\
             807000040000000300080014a0b1a70892020e7f328441bb9eae47854cb8f6d3\
             802800048affbd01",
        );
        let m = parse(&skype).unwrap();
        assert_eq!(ms_ice_version(&m), Some(3));
        assert!(!ms_turn(&m));
        assert_eq!(fingerprint_ok(&skype, &m), Some(true));
        let teams = hex(
            "000300302112a442b2343f6e67f41d58acba639f000f000472c64bc680370004\
             00000002800800040000000680060004000000010010000400002ee080550004\
             00020002",
        );
        let m = parse(&teams).unwrap();
        assert!(ms_turn(&m));
        assert_eq!(ms_ice_version(&m), None);
        // A Teams ICE check (teams.pcap, UDP 50016 <-> 16332): version 7.
        let check = hex(
            "010100442112a4426941fae438498937822a50088070000400000007002000080001\
             1ede7c55ca8f8037000400000002803600040000000100080014954f91388e0c70c6\
             4152e65253cfe05b21ab771e80280004f8e72a57",
        );
        let m = parse(&check).unwrap();
        assert_eq!(ms_ice_version(&m), Some(7));
        assert_eq!(fingerprint_ok(&check, &m), Some(true));
    }

    #[test]
    fn xor_peer_address_ipv4() {
        // XOR-PEER-ADDRESS 198.51.100.7:5000 under the standard cookie.
        let cid = {
            let mut c = [0u8; 16];
            c[..4].copy_from_slice(&MAGIC);
            c
        };
        let v = [
            0x00,
            0x01,
            0x13 ^ 0x21,
            0x88 ^ 0x12,
            198 ^ 0x21,
            51 ^ 0x12,
            100 ^ 0xa4,
            7 ^ 0x42,
        ];
        assert_eq!(
            xor_address(&v, &cid),
            Some("198.51.100.7:5000".parse().unwrap())
        );
        assert_eq!(xor_address(&v[..6], &cid), None);
        assert_eq!(xor_address(&[0, 3, 0, 0, 1, 2, 3, 4], &cid), None);
    }

    #[test]
    fn non_stun_is_rejected() {
        // RTP, DTLS and a STUN header whose length runs past the datagram.
        assert!(parse(&hex("80e1000100000001deadbeefcafebabe0000000000000000")).is_none());
        assert!(parse(&hex("16fefd0000000000000000002f0100002300000000000000")).is_none());
        assert!(parse(&hex("000100082112a442000000000000000000000000")).is_none());
        // Classic STUN: exact length and a Binding type only.
        assert!(parse(&hex("0001000000112233445566778899aabbccddeeff")).is_some());
        assert!(parse(&hex("0005000000112233445566778899aabbccddeeff")).is_none());
    }

    #[test]
    fn attributes_stop_at_truncation() {
        let d = hex("000100082112a442000000000000000000000001802200100000");
        assert!(parse(&d).is_none());
        let m = Message {
            msg_type: 1,
            rfc5389: true,
            cookie_and_id: [0; 16],
            attrs: &d[20..],
        };
        assert_eq!(m.attributes().count(), 0);
    }

    #[test]
    fn channel_data_framing() {
        assert_eq!(
            channel_data(&hex("4001000480c80001")),
            Some((0x4001, &hex("80c80001")[..]))
        );
        assert_eq!(channel_data(&hex("4001000580c80001000000000000")), None);
        assert_eq!(channel_data(&hex("3fff000480c80001")), None);
        assert_eq!(channel_data(&hex("4001000880c80001")), None);
    }
}
