//! MQTT control packets (MQTT 3.1, 3.1.1 and 5.0), parsed from bytes.
//!
//! A packet is a fixed header (type and flags, then the Remaining Length as a
//! 1-4 byte varint) and a body of that length. [`header`] frames; the other
//! functions read one complete body. Nothing here allocates from a length
//! read off the wire, and every read is bounds-checked: bad input is an
//! error value, never a panic.

/// Packet types (high nibble of the first byte).
pub const CONNECT: u8 = 1;
pub const CONNACK: u8 = 2;
pub const PUBLISH: u8 = 3;
pub const SUBSCRIBE: u8 = 8;

/// Largest Remaining Length the varint can express (MQTT 3.1.1 §2.2.3).
pub const MAX_REMAINING: u32 = 268_435_455;

/// A fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: u8,
    pub flags: u8,
    /// Remaining Length: bytes of the body.
    pub len: u32,
    /// Bytes of the fixed header itself (2 to 5).
    pub header_len: usize,
}

impl Header {
    /// Header plus body.
    pub fn total(&self) -> u64 {
        self.header_len as u64 + self.len as u64
    }
}

/// Framing outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// More bytes are needed to read the fixed header.
    NeedMore,
    Bad(&'static str),
    Header(Header),
}

/// Reads a fixed header at the start of `buf`.
pub fn header(buf: &[u8]) -> Frame {
    let Some(&b0) = buf.first() else {
        return Frame::NeedMore;
    };
    let kind = b0 >> 4;
    if kind == 0 {
        return Frame::Bad("reserved packet type 0");
    }
    let mut len: u32 = 0;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Frame::NeedMore;
        };
        len |= ((b & 0x7f) as u32) << (7 * i);
        if b & 0x80 == 0 {
            return Frame::Header(Header {
                kind,
                flags: b0 & 0x0f,
                len,
                header_len: 2 + i,
            });
        }
    }
    Frame::Bad("remaining length longer than 4 bytes")
}

/// A bounds-checked reader over one packet body.
#[derive(Debug, Clone)]
pub struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    pub fn new(b: &'a [u8]) -> Rd<'a> {
        Rd { b, pos: 0 }
    }

    pub fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    pub fn u16(&mut self) -> Option<u16> {
        let s = self.b.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_be_bytes([s[0], s[1]]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        let s = self.b.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    /// A two-byte length then that many bytes (UTF-8 strings and binary data).
    pub fn str16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.bytes(n)
    }

    /// A Variable Byte Integer (MQTT 5 §1.5.5).
    pub fn varint(&mut self) -> Option<u32> {
        let mut v: u32 = 0;
        for i in 0..4 {
            let b = self.u8()?;
            v |= ((b & 0x7f) as u32) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let r = self.b.get(self.pos..).unwrap_or_default();
        self.pos = self.b.len();
        r
    }
}

/// MQTT 5 properties this parser keeps (the others are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props<'a> {
    /// Payload Format Indicator 1: the payload is UTF-8 text.
    pub utf8_payload: bool,
    pub content_type: Option<&'a [u8]>,
    pub topic_alias: Option<u16>,
    pub auth_method: Option<&'a [u8]>,
    pub reason: Option<&'a [u8]>,
}

/// Reads a property block (length varint then properties); unknown
/// identifiers end the walk, the block is skipped whole either way.
pub fn props<'a>(rd: &mut Rd<'a>) -> Option<Props<'a>> {
    let len = rd.varint()? as usize;
    let block = rd.bytes(len)?;
    let mut p = Props::default();
    let mut r = Rd::new(block);
    while let Some(id) = r.u8() {
        let ok = match id {
            0x01 => r.u8().map(|v| p.utf8_payload = v == 1),
            0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => r.u8().map(drop),
            0x13 | 0x21 | 0x22 => r.u16().map(drop),
            0x23 => r.u16().map(|v| p.topic_alias = Some(v)),
            0x02 | 0x11 | 0x18 | 0x27 => r.u32().map(drop),
            0x0b => r.varint().map(drop),
            0x03 => r.str16().map(|v| p.content_type = Some(v)),
            0x15 => r.str16().map(|v| p.auth_method = Some(v)),
            0x1f => r.str16().map(|v| p.reason = Some(v)),
            0x08 | 0x09 | 0x12 | 0x16 | 0x1a | 0x1c => r.str16().map(drop),
            0x26 => r.str16().and_then(|_| r.str16()).map(drop),
            _ => None,
        };
        if ok.is_none() {
            break;
        }
    }
    Some(p)
}

/// A CONNECT body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect<'a> {
    /// `MQTT`, `MQIsdp` or `MQTToT`.
    pub protocol: &'a [u8],
    pub level: u8,
    pub flags: u8,
    pub keepalive: u16,
    pub client_id: Option<&'a [u8]>,
    pub will_topic: Option<&'a [u8]>,
    pub will_payload: Option<&'a [u8]>,
    pub username: Option<&'a [u8]>,
    /// Whether a password was sent. Its value is never kept.
    pub password: bool,
    pub auth_method: Option<&'a [u8]>,
    /// MQTToT: everything after the keep-alive (a zlib-compressed Thrift struct).
    pub mqttot_payload: Option<&'a [u8]>,
}

impl Connect<'_> {
    pub fn is_mqttot(&self) -> bool {
        self.protocol == b"MQTToT"
    }

    /// `3.1`, `3.1.1`, `5.0` (or the level number).
    pub fn version(&self) -> String {
        match (self.protocol, self.level) {
            (b"MQIsdp", 3) => "3.1".into(),
            (b"MQTToT", l) => format!("mqttot-{l}"),
            (_, 4) => "3.1.1".into(),
            (_, 5) => "5.0".into(),
            (_, l) => format!("level-{l}"),
        }
    }
}

pub fn connect(body: &[u8]) -> Result<Connect<'_>, &'static str> {
    let mut rd = Rd::new(body);
    let protocol = rd.str16().ok_or("truncated protocol name")?;
    if !matches!(protocol, b"MQTT" | b"MQIsdp" | b"MQTToT") {
        return Err("unknown protocol name");
    }
    let level = rd.u8().ok_or("truncated level")?;
    let flags = rd.u8().ok_or("truncated flags")?;
    let keepalive = rd.u16().ok_or("truncated keep-alive")?;
    let mut c = Connect {
        protocol,
        level,
        flags,
        keepalive,
        client_id: None,
        will_topic: None,
        will_payload: None,
        username: None,
        password: flags & 0x40 != 0,
        auth_method: None,
        mqttot_payload: None,
    };
    if protocol == b"MQTToT" {
        c.mqttot_payload = Some(rd.rest());
        return Ok(c);
    }
    let v5 = level == 5;
    if v5 {
        c.auth_method = props(&mut rd).ok_or("bad connect properties")?.auth_method;
    }
    c.client_id = Some(rd.str16().ok_or("truncated client id")?);
    if flags & 0x04 != 0 {
        if v5 {
            props(&mut rd).ok_or("bad will properties")?;
        }
        c.will_topic = Some(rd.str16().ok_or("truncated will topic")?);
        c.will_payload = Some(rd.str16().ok_or("truncated will payload")?);
    }
    if flags & 0x80 != 0 {
        c.username = Some(rd.str16().ok_or("truncated user name")?);
    }
    if flags & 0x40 != 0 {
        rd.str16().ok_or("truncated password")?;
    }
    Ok(c)
}

/// A PUBLISH body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish<'a> {
    pub topic: &'a [u8],
    pub qos: u8,
    pub retain: bool,
    pub packet_id: Option<u16>,
    pub props: Props<'a>,
    pub payload: &'a [u8],
}

pub fn publish(flags: u8, body: &[u8], v5: bool) -> Result<Publish<'_>, &'static str> {
    let qos = (flags >> 1) & 3;
    if qos == 3 {
        return Err("QoS 3");
    }
    let mut rd = Rd::new(body);
    let topic = rd.str16().ok_or("truncated topic")?;
    let packet_id = if qos > 0 {
        Some(rd.u16().ok_or("truncated packet id")?)
    } else {
        None
    };
    let props = if v5 {
        props(&mut rd).ok_or("bad publish properties")?
    } else {
        Props::default()
    };
    Ok(Publish {
        topic,
        qos,
        retain: flags & 1 != 0,
        packet_id,
        props,
        payload: rd.rest(),
    })
}

/// Topic filters of a SUBSCRIBE body (at most `max`).
pub fn subscribe(body: &[u8], v5: bool, max: usize) -> Result<Vec<&[u8]>, &'static str> {
    let mut rd = Rd::new(body);
    rd.u16().ok_or("truncated packet id")?;
    if v5 {
        props(&mut rd).ok_or("bad subscribe properties")?;
    }
    let mut topics = Vec::new();
    while topics.len() < max {
        let Some(t) = rd.str16() else { break };
        rd.u8().ok_or("truncated subscription options")?;
        topics.push(t);
    }
    if topics.is_empty() {
        return Err("no topic filter");
    }
    Ok(topics)
}

/// The return (3.x) or reason (5.0) code of a CONNACK, 0 = accepted.
pub fn connack(body: &[u8]) -> Option<u8> {
    let mut rd = Rd::new(body);
    rd.u8()?;
    rd.u8()
}

/// What a non-zero CONNACK code means.
pub fn connack_reason(code: u8) -> &'static str {
    match code {
        0 => "accepted",
        1 | 0x84 => "unacceptable protocol version",
        2 | 0x85 => "identifier rejected",
        3 | 0x88 => "server unavailable",
        4 | 0x86 => "bad user name or password",
        5 | 0x87 => "not authorized",
        _ => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CONNECT from suricata-verify/mqtt311-pub-userpass (frame 4).
    const CONNECT_311: &[u8] =
        b"\x10\x2b\x00\x04MQTT\x04\xc2\x00\x3c\x00\x13myvoiceismypassport\x00\x04user\x00\x04pass";
    /// PUBLISH from the same capture (frame 8).
    const PUBLISH_311: &[u8] = b"\x30\x18\x00\x06topicXbaabaablacksheep";

    #[test]
    fn framing_split_at_every_byte() {
        for cut in 0..CONNECT_311.len() {
            let f = header(&CONNECT_311[..cut]);
            if cut < 2 {
                assert_eq!(f, Frame::NeedMore);
            } else {
                assert_eq!(
                    f,
                    Frame::Header(Header {
                        kind: 1,
                        flags: 0,
                        len: 0x2b,
                        header_len: 2
                    })
                );
            }
        }
        // 321 = 0xc1 0x02 (two-byte remaining length), 4-byte maximum.
        assert_eq!(
            header(b"\x30\xc1\x02"),
            Frame::Header(Header {
                kind: 3,
                flags: 0,
                len: 321,
                header_len: 3
            })
        );
        assert_eq!(
            header(b"\x30\xff\xff\xff\x7f"),
            Frame::Header(Header {
                kind: 3,
                flags: 0,
                len: MAX_REMAINING,
                header_len: 5
            })
        );
        assert_eq!(
            header(b"\x30\xff\xff\xff\xff\x01"),
            Frame::Bad("remaining length longer than 4 bytes")
        );
        assert_eq!(header(b"\x30\xff\xff"), Frame::NeedMore);
        assert_eq!(header(b"\x00\x00"), Frame::Bad("reserved packet type 0"));
    }

    #[test]
    fn connect_311_with_credentials() {
        let c = connect(&CONNECT_311[2..]).unwrap();
        assert_eq!(c.version(), "3.1.1");
        assert_eq!(c.client_id, Some(&b"myvoiceismypassport"[..]));
        assert_eq!(c.username, Some(&b"user"[..]));
        assert!(c.password);
        assert!(
            !format!("{c:?}").contains("pass\""),
            "the password value is not kept"
        );
        for cut in 0..CONNECT_311.len() - 2 {
            assert!(
                connect(&CONNECT_311[2..2 + cut]).is_err(),
                "truncated at {cut}"
            );
        }
    }

    #[test]
    fn connect_31_and_5_and_mqttot() {
        // ndpi/mqtt.pcap frame 2: MQIsdp level 3 with user and password.
        let b = b"\x00\x06MQIsdp\x03\xc2\x00\x14\x00\x16cbaabcbabacbbbbbaaaaab\x00\x0c02D5050223D3\x00\x0c02D5050223D3";
        let c = connect(b).unwrap();
        assert_eq!(c.version(), "3.1");
        assert_eq!(c.username, Some(&b"02D5050223D3"[..]));
        // MQTT 5: properties (session expiry, auth method), a will with properties.
        let b = b"\x00\x04MQTT\x05\x06\x00\x0a\x0d\x11\x00\x00\x00\x3c\x15\x00\x05PLAIN\x00\x03cid\x02\x01\x01\x00\x04will\x00\x03bye";
        let c = connect(b).unwrap();
        assert_eq!(c.version(), "5.0");
        assert_eq!(c.auth_method, Some(&b"PLAIN"[..]));
        assert_eq!(c.will_topic, Some(&b"will"[..]));
        assert_eq!(c.will_payload, Some(&b"bye"[..]));
        let b = b"\x00\x06MQTToT\x03\xc2\x00\x3c\x78\x9c\x01\x02";
        let c = connect(b).unwrap();
        assert!(c.is_mqttot());
        assert_eq!(c.mqttot_payload, Some(&b"\x78\x9c\x01\x02"[..]));
        assert_eq!(
            connect(b"\x00\x04HTTP\x04\x00\x00\x00"),
            Err("unknown protocol name")
        );
    }

    #[test]
    fn publish_v311_v5_and_subscribe() {
        let p = publish(0, &PUBLISH_311[2..], false).unwrap();
        assert_eq!(p.topic, b"topicX");
        assert_eq!(p.payload, b"baabaablacksheep");
        // QoS 1 with packet id, MQTT 5 properties: payload format utf-8, topic alias 7.
        let b = b"\x00\x01t\x00\x05\x05\x01\x01\x23\x00\x07hi";
        let p = publish(0x02, b, true).unwrap();
        assert_eq!(p.packet_id, Some(5));
        assert!(p.props.utf8_payload);
        assert_eq!(p.props.topic_alias, Some(7));
        assert_eq!(p.payload, b"hi");
        assert_eq!(publish(0x06, b, true), Err("QoS 3"));
        assert_eq!(publish(0, b"\x00\x09abc", false), Err("truncated topic"));
        // A property block longer than the packet.
        assert_eq!(
            publish(0, b"\x00\x01t\x7f\x01", true),
            Err("bad publish properties")
        );
        // ndpi/mqtt.pcap frame 3: SUBSCRIBE.
        let b = b"\x00\x01\x00\x19astr/s720/02D5050223D3/99\x00";
        assert_eq!(
            subscribe(b, false, 8).unwrap(),
            vec![&b"astr/s720/02D5050223D3/99"[..]]
        );
        assert!(subscribe(b"\x00\x01", false, 8).is_err());
        assert_eq!(connack(b"\x00\x04"), Some(4));
        assert_eq!(connack_reason(4), "bad user name or password");
    }

    #[test]
    fn arbitrary_bodies_never_panic() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        for n in 0..3000 {
            let len = n % 64;
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 32) as u8 % 8
                })
                .collect();
            let _ = header(&body);
            let _ = connect(&body);
            let _ = publish((n % 16) as u8, &body, n % 2 == 0);
            let _ = subscribe(&body, n % 3 == 0, 4);
            let _ = connack(&body);
        }
    }
}
