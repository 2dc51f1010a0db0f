//! WhatsApp chat framing (wire.md §13; whatsmeow `socket/constants.go`,
//! ntop/nDPI `whatsapp.c`).
//!
//! The client opens with an optional edge-routing pre-intro
//! `ED 00 01 | len u24 | routing info`, then the prologue `W A major minor`,
//! then frames `len u24 | body`. Noise-era clients (major >= 2) put a Noise
//! handshake message in the first frames and AES-GCM ciphertext in the rest.
//! Clients of the 2015 protocol (major 1) use `flags u4 | len u20` headers,
//! where flag `8` marks an encrypted frame.

use crate::proto::signal::pb;

/// The client's stream start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub routing: Option<Vec<u8>>,
    pub major: u8,
    pub minor: u8,
    /// Bytes the routing header and the prologue took.
    pub len: usize,
}

impl Start {
    /// The pre-Noise protocol of 2015 and before.
    pub fn legacy(&self) -> bool {
        self.major < 2
    }
}

/// The bytes cannot be a WhatsApp stream start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotWhatsApp;

/// Parses the client's first bytes. `Ok(None)`: need more.
pub fn parse_start(b: &[u8]) -> Result<Option<Start>, NotWhatsApp> {
    let mut off = 0;
    let mut routing = None;
    if b.first() == Some(&b'E') {
        match b.get(..4) {
            None if b"ED\x00\x01".starts_with(b) => return Ok(None),
            Some(b"ED\x00\x01") => {}
            _ => return Err(NotWhatsApp),
        }
        let Some(l) = b.get(4..7) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([0, l[0], l[1], l[2]]) as usize;
        if len > 1024 {
            return Err(NotWhatsApp);
        }
        let Some(r) = b.get(7..7 + len) else {
            return Ok(None);
        };
        routing = Some(r.to_vec());
        off = 7 + len;
    }
    let rest = &b[off..];
    match rest.get(..4) {
        None if b"WA".starts_with(&rest[..rest.len().min(2)]) => Ok(None),
        Some(&[b'W', b'A', major, minor]) if (1..=9).contains(&major) => Ok(Some(Start {
            routing,
            major,
            minor,
            len: off + 4,
        })),
        _ => Err(NotWhatsApp),
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Legacy header flags (`8` = encrypted); always 0 for Noise frames.
    pub flags: u8,
    pub body: Vec<u8>,
}

/// Cuts one direction into frames.
#[derive(Debug, Clone)]
pub struct Framer {
    legacy: bool,
    max: usize,
    buf: Vec<u8>,
}

impl Framer {
    pub fn new(legacy: bool, max: usize) -> Framer {
        Framer {
            legacy,
            max,
            buf: Vec::new(),
        }
    }

    /// Adds bytes, appends complete frames. A frame longer than the cap is a
    /// framing error (the buffer is dropped).
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Frame>) -> Result<(), usize> {
        self.buf.extend_from_slice(data);
        let mut used = 0;
        while let Some(h) = self.buf.get(used..used + 3) {
            let (flags, len) = if self.legacy {
                (
                    h[0] >> 4,
                    u32::from_be_bytes([0, h[0] & 0x0f, h[1], h[2]]) as usize,
                )
            } else {
                (0, u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize)
            };
            if len > self.max {
                self.buf.clear();
                return Err(len);
            }
            let Some(body) = self.buf.get(used + 3..used + 3 + len) else {
                break;
            };
            out.push(Frame {
                flags,
                body: body.to_vec(),
            });
            used += 3 + len;
        }
        self.buf.drain(..used);
        Ok(())
    }
}

/// A Noise handshake message (`HandshakeMessage` protobuf: clientHello 2,
/// serverHello 3, clientFinish 4; each `{ephemeral 1, static 2, payload 3}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    ClientHello { static_key: bool, payload: bool },
    ServerHello { static_key: bool, payload: bool },
    ClientFinish { payload: bool },
}

impl Handshake {
    /// The message carries an encrypted payload (field 3): the IK client
    /// hello already holds the encrypted login.
    pub fn has_payload(self) -> bool {
        match self {
            Handshake::ClientHello { payload, .. }
            | Handshake::ServerHello { payload, .. }
            | Handshake::ClientFinish { payload } => payload,
        }
    }
}

/// Recognises a handshake frame; ciphertext almost never parses as one.
pub fn handshake(body: &[u8]) -> Option<Handshake> {
    if !pb::is_message(body, 4) {
        return None;
    }
    let mut it = pb::fields(body);
    let (number, value) = it.next()?;
    if it.next().is_some() {
        return None;
    }
    let inner = value.bytes()?;
    if !pb::is_message(inner, 3) {
        return None;
    }
    let ephemeral = pb::get(inner, 1).and_then(pb::Value::bytes);
    let static_key = pb::get(inner, 2).and_then(pb::Value::bytes).is_some();
    let payload = pb::get(inner, 3)
        .and_then(pb::Value::bytes)
        .is_some_and(|p| !p.is_empty());
    let ephemeral_ok = ephemeral.is_some_and(|e| e.len() == 32);
    match number {
        2 if ephemeral_ok => Some(Handshake::ClientHello {
            static_key,
            payload,
        }),
        3 if ephemeral_ok => Some(Handshake::ServerHello {
            static_key,
            payload,
        }),
        4 => Some(Handshake::ClientFinish { payload }),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// nDPI `whatsapp.pcap`, flow from port 44804: `ED 00 01` arrives alone,
    /// then routing info, the prologue `WA 5.2` and the first frame header.
    #[test]
    fn routing_header_and_prologue_across_segments() {
        assert_eq!(parse_start(&hex("4544")), Ok(None));
        assert_eq!(parse_start(&hex("45440001")), Ok(None));
        let b = hex("45440001 000004 08090802 57410502 00010e");
        let s = parse_start(&b).unwrap().unwrap();
        assert_eq!(s.routing, Some(hex("08090802")));
        assert_eq!((s.major, s.minor), (5, 2));
        assert_eq!(s.len, 15);
        assert!(!s.legacy());
    }

    /// nDPI `whatsapp_login_chat.pcap` (2015): prologue `WA 1.5`, no routing.
    #[test]
    fn legacy_prologue() {
        let s = parse_start(&hex("57410105 00001af8")).unwrap().unwrap();
        assert_eq!((s.major, s.minor, s.len), (1, 5, 4));
        assert!(s.legacy());
        assert_eq!(parse_start(b"GET / HTTP/1.1"), Err(NotWhatsApp));
        assert_eq!(parse_start(&hex("45440002")), Err(NotWhatsApp));
        assert_eq!(parse_start(&hex("57410005")), Err(NotWhatsApp));
    }

    #[test]
    fn noise_frames_with_three_byte_lengths() {
        let mut f = Framer::new(false, 1 << 20);
        let mut out = Vec::new();
        f.push(&hex("000003 aabb"), &mut out).unwrap();
        assert!(out.is_empty());
        f.push(&hex("cc 000001 dd 0000"), &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                Frame {
                    flags: 0,
                    body: hex("aabbcc")
                },
                Frame {
                    flags: 0,
                    body: hex("dd")
                }
            ]
        );
        assert_eq!(
            Framer::new(false, 16).push(&hex("000100"), &mut out),
            Err(256)
        );
    }

    /// 2015 frames: `80 00 12` is an encrypted 18-byte frame.
    #[test]
    fn legacy_flags() {
        let mut f = Framer::new(true, 1 << 20);
        let mut out = Vec::new();
        let mut b = hex("800003 010203 000002 f801");
        b.extend(hex("8000"));
        f.push(&b, &mut out).unwrap();
        assert_eq!(out[0].flags, 8);
        assert_eq!(out[0].body, hex("010203"));
        assert_eq!(out[1].flags, 0);
        assert_eq!(out.len(), 2);
    }

    /// nDPI `whatsapp.pcap` (port 44804): the client's first frame is a
    /// clientHello with an ephemeral key (32 bytes) and an already-encrypted
    /// static key (48 bytes): the IK pattern.
    pub(crate) const CLIENT_HELLO_IK: &str = "
        128b020a2038fbfa95e5bc0826562c2952514662f3bbff26266b67a89bf1b6393352b81f421230c35fe02b668952d0f4
        27b81db8edf9db98246c6eb7e032b30654928c104d2ddbf2513fc59e6f775b3bb5e654885200c51ab4018300a2313888
        42b52f79fb59ea289cab482d8f9b25e2878aa17492498a8e224b7cb613b4ed7200cab87c99fd4bd83163357cdf7363bd
        f28c04326b34c4c76185ee8daab11661fa28b8749042d63a5f1087c1464ba880d68bc670973ec6e57d5d55a2d0a7d4f7
        b9d668d85e793b7273ccc95ac613d11ccf18d07debc969c69a620a3c1dc6cefe5f4a2ea1a090ccc841ee7ceb4ab47aef
        33ca0bc1f829eb1a26bd0265e1c701bd0d731a30a2613d5c1106cc2b9b3d";

    #[test]
    fn client_hello_ik_and_xx() {
        let ik = hex(CLIENT_HELLO_IK);
        assert_eq!(ik.len(), 270);
        assert_eq!(
            handshake(&ik),
            Some(Handshake::ClientHello {
                static_key: true,
                payload: true
            })
        );
        // XX: the client hello carries only the ephemeral key.
        let mut xx = vec![0x12, 0x22, 0x0a, 0x20];
        xx.extend([0x55; 32]);
        assert_eq!(
            handshake(&xx),
            Some(Handshake::ClientHello {
                static_key: false,
                payload: false
            })
        );
        // Ciphertext from the capture (frame after the hello) is not one.
        assert_eq!(
            handshake(&hex(
                "cc659249486581455d2ebd54e8a9605ff4f4ce70dc441b8645f346c41b5b8aad0524038bdc"
            )),
            None
        );
    }
}
