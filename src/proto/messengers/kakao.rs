//! KakaoTalk's LOCO chat protocol, secure layer (as documented by the
//! open-source LOCO clients, e.g. storycraft/node-kakao `secure-layer`):
//! the client opens with `key size u32 LE | key-encryption type u32 LE |
//! cipher type u32 LE | the session key encrypted with Kakao's RSA key`, then
//! both sides send `len u32 LE | IV[16] | AES ciphertext` frames. Only the
//! server holds the RSA private key: the content is readable by Kakao, not by
//! an observer.

use super::{attribute, finish};
use crate::evidence::content::TextStats;
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use std::borrow::Cow;

/// The client's handshake header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    pub key_size: usize,
    pub key_encryption: u32,
    pub cipher: u32,
}

impl Handshake {
    /// Bytes the handshake takes on the wire (header and key blob).
    pub fn wire_len(&self) -> usize {
        12 + self.key_size
    }
}

/// Parses the handshake header: an RSA-sized key blob and small type codes.
pub fn handshake(b: &[u8]) -> Option<Handshake> {
    let h = b.get(..12)?;
    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let key_size = word(0) as usize;
    let (key_encryption, cipher) = (word(4), word(8));
    let ok = matches!(key_size, 128 | 256 | 512)
        && (1..=32).contains(&key_encryption)
        && (1..=16).contains(&cipher);
    ok.then_some(Handshake {
        key_size,
        key_encryption,
        cipher,
    })
}

/// Cuts `len u32 LE | IV | ciphertext` frames; `None` when a length is not
/// plausible.
pub fn frames(b: &[u8], max: usize) -> Option<(usize, usize)> {
    let (mut n, mut i) = (0, 0);
    while let Some(h) = b.get(i..i + 4) {
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if !(17..=max).contains(&len) {
            return None;
        }
        if b.len() < i + 4 + len {
            break;
        }
        n += 1;
        i += 4 + len;
    }
    Some((n, i))
}

pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Tcp {
        return Confidence::No;
    }
    let b = input.to_server;
    if b.len() < 12 {
        // The client speaks first and sends the whole handshake at once.
        return if input.to_client.is_empty() {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    }
    match handshake(b) {
        Some(h) if b.len() >= h.wire_len() => match frames(&b[h.wire_len()..], 1 << 24) {
            Some(_) => Confidence::Certain,
            None => Confidence::No,
        },
        Some(_) => Confidence::NeedMore,
        None => Confidence::No,
    }
}

pub fn make(_hint: &FlowHint, env: &Env) -> Box<dyn Dissector> {
    Box::new(LocoDissector {
        max: env.limits.max_message,
        ..LocoDissector::default()
    })
}

#[derive(Default)]
pub struct LocoDissector {
    max: usize,
    handshake: Option<Handshake>,
    skip: usize,
    buf: [Vec<u8>; 2],
    broken: [bool; 2],
    frames: u64,
    other: [TextStats; 2],
}

impl Dissector for LocoDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("loco")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if self.broken[d] {
            self.other[d].feed(data);
            return;
        }
        self.buf[d].extend_from_slice(data);
        if dir == Direction::ToServer && self.handshake.is_none() {
            let Some(h) = handshake(&self.buf[0]) else {
                if self.buf[0].len() >= 12 {
                    self.broken[0] = true;
                }
                return;
            };
            self.handshake = Some(h);
            self.skip = h.wire_len();
            attribute(cx, "kakao-loco");
            cx.meta(
                "kakao.loco-handshake",
                format!(
                    "{}-bit RSA-wrapped session key, key encryption {}, cipher {}",
                    h.key_size * 8,
                    h.key_encryption,
                    h.cipher
                ),
            );
        }
        if d == 0 {
            if self.buf[0].len() < self.skip {
                return;
            }
            self.buf[0].drain(..self.skip);
            self.skip = 0;
        }
        match frames(&self.buf[d], self.max) {
            Some((n, used)) => {
                self.frames += n as u64;
                self.buf[d].drain(..used);
            }
            None => {
                self.broken[d] = true;
                let rest = std::mem::take(&mut self.buf[d]);
                self.other[d].feed(&rest);
                cx.anomaly(
                    "loco-framing",
                    format!("{}: bytes do not frame", dir.as_str()),
                );
            }
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        self.broken[dir.index()] = true;
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; LOCO framing lost"),
        );
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.handshake.is_none() {
            cx.set_protocol("unknown");
        }
        finish(
            cx,
            "kakao-loco",
            "AES session key wrapped with Kakao's RSA public key in the handshake; only Kakao's servers can unwrap it",
            self.frames,
            &self.other,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::rtc::testkit::*;

    /// nDPI `KakaoTalk_chat.pcap`, 10.24.82.188:51021 -> 103.246.57.251:8080:
    /// the client's first segment (handshake + one frame), the server's first
    /// frame and the client's second.
    const CLIENT_FIRST: &str = "
        00010000050000000200000085bb8e1de9e2915bcc44701fd49c1032db8c5efa5eab6a952f8b552e816850afc255cb37
        fdda15293ce0c2b3a5ae2faf16e158dc8bc5ede27f5af8e15d91bbd9c95dcb64aa0e95bc2fc15970cb02f60ca30ac008
        65e130887c597c9a747ae2287967576ae6a14e3c32bb50c12ec2a6344d796b74afff0fea0605316520ac8e902fc2093e
        958db6aa27cf5f052ecf49854e93c1bd6888c71b92047f8d95f33d31fec5c670ca7786dbccffb444e445ee9ab73438eb
        acd4e68c0dd254b838ac12d1b0cbd8efec355366cb2846f4df0e3b0c6540e937bbec92bc31cc5284a359bc8c16d846ce
        f6f517f33112f979baf50609e59c56b4ff5f2bb1e2a1733fae657e413d010000a05902ff880ff2d08d7e9b828cf434de
        45f9f63ca1c3ae130d1532effa4eb63ddebcc2b4b68604cc520ee0a9bb505cb3e3be8ba3e890be0c95d02164c1b1f773
        fda69da6e4f13484d466d4812f0830a3ec589166e169fab4cbf195037b7b407b64b68b1b5c164c4b19eafe8901283aea
        b13bbcf0917f0851a4275d40c1e09c0a64dd1e7754b4396545310a7a4ffd287952a4f6e4b5707d7baddf1641b0cc3c8b
        04d0c90a33f87d5b44246caf8ae2eab343b8b4627631fc1b3ef67ea0d1225a3da6648719436670098e8b5fa663be4ef5
        9f3b024ceac151960114360d7706359b24c1ee60c2fef6085848e511e78ae0b12b5f6d68577fad656a45b2057c24f220
        af3c96a270ca1a50cf7d80d5e30695cf21193f1602d54b14f597c67b36d19f4c68a9727e6eca15303c1c0e07183c98dc
        954a3d25730f33dcb89df31ab1";
    const SERVER_FIRST: &str = "
        ca000000a05902ff880ff2d08d7e9b828cf434de45f9653da1c33d120d1534ede25f941c2d14f57924a738ab066df499
        8b7799c389362e033ea1103e76991d69fb3829a442d65b34a08c480eaf47681682054764d80713e6e71746502211a0a0
        87a4ab14dd55a16fe9d8b03c793dff0b090e4ea3c95107a1a0f7ece6872e2b8afefa4e5a8252e82d2b8e68976b0c4f76
        b54c20637ee03b1bf9f88e9046f08e168687ec5d20ad98490a0db947cbfdb519b19ecbf607df09fc7917b06fe6112a81
        cd53ffa8796151302ac2208ae5cd";
    const CLIENT_SECOND: &str = "1b000000a35902ff880feed68470d5cec5a760ded121abcb4f4c0723c5e01a";

    #[test]
    fn handshake_and_frames_from_the_capture() {
        let c = hex(CLIENT_FIRST);
        let h = handshake(&c).unwrap();
        assert_eq!((h.key_size, h.key_encryption, h.cipher), (256, 5, 2));
        assert_eq!(frames(&c[h.wire_len()..], 1 << 20), Some((1, 321)));
        assert_eq!(frames(&hex(SERVER_FIRST), 1 << 20), Some((1, 206)));
        assert_eq!(handshake(b"GET / HTTP/1.1\r\n"), None);
    }

    /// nDPI 4.2 calls this flow HTTP_Proxy because of port 8080; the LOCO
    /// handshake and framing make it KakaoTalk.
    #[test]
    fn loco_flow_is_kakaotalk_not_an_http_proxy() {
        let env = env();
        let f = flow(Transport::Tcp, "10.24.82.188:51021", "103.246.57.251:8080");
        let c = run(
            &env,
            &f,
            &[
                up(hex(CLIENT_FIRST)),
                down(hex(SERVER_FIRST)),
                up(hex(CLIENT_SECOND)),
            ],
        );
        assert_eq!(protocol(&c), Some("loco"));
        assert_eq!(app(&c), Some(("kakaotalk", "signature")));
        assert_eq!(
            meta(&c, "kakao.loco-handshake"),
            vec!["2048-bit RSA-wrapped session key, key encryption 5, cipher 2"]
        );
        assert_eq!(verdict(&c).verdict, Verdict::Opaque);
    }
}
