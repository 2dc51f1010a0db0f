//! Viber's own transports, as seen in nDPI's `viber.pcap`:
//! * UDP (ports 7985/7987, call signalling and relay): every datagram of a
//!   session starts with the same two bytes (`ED F6`, `05 B8`, ...) followed
//!   by a small message type (u16 LE); the first request also carries the
//!   client's platform and version in clear (`Android,8.9.0.2`);
//! * TCP (ports 4244/5242, the chat connection): frames
//!   `total length u16 LE | counter u32 LE | ciphertext`, each direction
//!   counting its frames.

use super::{attribute, finish};
use crate::evidence::content::TextStats;
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use std::borrow::Cow;

/// The session tag and message type of a Viber UDP datagram.
pub fn udp_header(d: &[u8]) -> Option<(u16, u16)> {
    match d {
        [a, b, t, 0, _, _, _, _, ..] if *t < 0x40 => {
            Some((u16::from_be_bytes([*a, *b]), u16::from(*t)))
        }
        _ => None,
    }
}

/// Whether datagrams form a Viber UDP session: one non-zero tag, small
/// non-zero types of at least two kinds (or a client version string), and
/// one 8-byte session id that every datagram carries (at offset 4, 6 or 12
/// of the first, depending on its type). `None`: need more datagrams.
pub fn udp_session(dgs: &[(Direction, Vec<u8>)]) -> Option<bool> {
    let (_, first) = dgs.first()?;
    let Some((tag, _)) = udp_header(first).filter(|(t, ty)| *t != 0 && *ty != 0) else {
        return Some(false);
    };
    let mut types = Vec::new();
    for (_, d) in dgs.iter().take(8) {
        match udp_header(d) {
            Some((t, ty)) if t == tag && ty != 0 => {
                if !types.contains(&ty) {
                    types.push(ty);
                }
            }
            _ => return Some(false),
        }
    }
    let version = dgs.iter().any(|(_, d)| client_version(d).is_some());
    if types.len() < 2 && !version {
        return if dgs.len() >= 4 { Some(false) } else { None };
    }
    let shared = [4usize, 6, 12].iter().any(|&off| {
        first.get(off..off + 8).is_some_and(|id| {
            id.iter().any(|&b| b != 0)
                && dgs
                    .iter()
                    .take(8)
                    .all(|(_, d)| d.windows(8).any(|w| w == id))
        })
    });
    Some(shared)
}

/// TCP frames `(length, counter)` cut from the front of `b`, and the bytes
/// used. `None` when a length cannot be a frame.
pub fn tcp_frames(b: &[u8]) -> Option<(Vec<(usize, u32)>, usize)> {
    let (mut out, mut i) = (Vec::new(), 0);
    while let Some(h) = b.get(i..i + 6) {
        let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
        if len < 6 {
            return None;
        }
        if b.len() < i + len {
            break;
        }
        out.push((len, u32::from_le_bytes([h[2], h[3], h[4], h[5]])));
        i += len;
    }
    Some((out, i))
}

/// Two frames of one direction whose counters follow each other.
fn counted(frames: &[(usize, u32)]) -> bool {
    frames
        .iter()
        .any(|(_, a)| *a < 1 << 24 && frames.iter().any(|(_, b)| *b == a + 1))
}

pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    match input.transport {
        Transport::Udp => match udp_session(input.datagrams) {
            Some(true) => Confidence::Likely,
            Some(false) => Confidence::No,
            None => Confidence::NeedMore,
        },
        Transport::Tcp => {
            let mut need = false;
            for b in [input.to_server, input.to_client] {
                match tcp_frames(b) {
                    None => return Confidence::No,
                    Some((f, _)) if counted(&f) => return Confidence::Likely,
                    Some(_) => need = true,
                }
            }
            if need && input.to_server.len() + input.to_client.len() < 4096 {
                Confidence::NeedMore
            } else {
                Confidence::No
            }
        }
    }
}

pub fn make(hint: &FlowHint, _env: &Env) -> Box<dyn Dissector> {
    Box::new(ViberDissector {
        transport: Some(hint.transport),
        ..ViberDissector::default()
    })
}

/// A `Platform,1.2.3` or `Platform-1.2.3` string among the printable runs.
pub fn client_version(d: &[u8]) -> Option<String> {
    d.split(|b| !(0x20..0x7f).contains(b))
        .filter(|run| run.len() >= 7)
        .filter_map(|run| std::str::from_utf8(run).ok())
        .find_map(|s| {
            let (platform, version) = s.split_once([',', '-', '/'])?;
            let ok = platform.len() >= 2
                && platform.bytes().all(|b| b.is_ascii_alphabetic())
                && version.split('.').count() >= 3
                && version
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            ok.then(|| s.to_string())
        })
}

#[derive(Default)]
pub struct ViberDissector {
    transport: Option<Transport>,
    attributed: bool,
    version_seen: bool,
    frames: u64,
    buf: [Vec<u8>; 2],
    broken: [bool; 2],
    counters: [Vec<u32>; 2],
    other: [TextStats; 2],
}

impl ViberDissector {
    fn attribute(&mut self, cx: &mut Cx<'_>, signature: &str) {
        if !self.attributed {
            self.attributed = true;
            attribute(cx, signature);
        }
    }
}

impl Dissector for ViberDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("viber")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if self.broken[d] {
            self.other[d].feed(data);
            return;
        }
        self.buf[d].extend_from_slice(data);
        match tcp_frames(&self.buf[d]) {
            Some((f, used)) => {
                self.frames += f.len() as u64;
                for (_, c) in f {
                    if self.counters[d].len() < 64 {
                        self.counters[d].push(c);
                    }
                }
                self.buf[d].drain(..used);
                if counted(&self.counters[d].iter().map(|c| (0, *c)).collect::<Vec<_>>()) {
                    self.attribute(cx, "viber-tcp");
                }
            }
            None => {
                self.broken[d] = true;
                let rest = std::mem::take(&mut self.buf[d]);
                self.other[d].feed(&rest);
                cx.anomaly(
                    "viber-framing",
                    format!("{}: bytes do not frame", dir.as_str()),
                );
            }
        }
    }

    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if self.transport == Some(Transport::Tcp) {
            return self.on_data(cx, dir, data);
        }
        if udp_header(data).is_none() {
            self.other[dir.index()].feed(data);
            return;
        }
        self.frames += 1;
        self.attribute(cx, "viber-udp");
        if !self.version_seen
            && let Some(v) = client_version(data)
        {
            self.version_seen = true;
            cx.meta("viber.client-version", v);
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        self.broken[dir.index()] = true;
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; Viber framing lost"),
        );
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if !self.attributed {
            // Chosen on a weak match that the rest of the flow did not confirm.
            cx.set_protocol("unknown");
        }
        finish(
            cx,
            "viber",
            "Viber transport encryption with session keys that are never logged",
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

    /// nDPI `viber.pcap`: the first request to 18.201.4.32:7985 and the
    /// answer; the request names the client platform and version.
    const REQUEST: &str = "
        edf601000500ac19358c8f64e44707ae27541100a8c043b832000000430100100100ae399291630100000000000025df
        4d4ee1cd371b5c9abc26d9d30b4b01bb39b3000000000000000003000100660200670001780000000000008000bdc605
        941a21bacb599357bff0ec99892a8ff3a937f561b00e41bb7ffacc9d3dad71f1e2df396c11fbb490a4cfe5b018daac41
        effa1ceae050d169a27b4c8307a7f5130359e01ac804d6485ca078b20cbde8c40befdd04658c3b7d8f6f0b274c085a33
        ac6ca95d03ed715ad5e710abb18a80f33b83967083d65574e2c7e71983000000000000000047050000380000001000416e
        64726f69642c382e392e302e32000000";
    const ANSWER: &str = "
        edf60c000100ac19358c8f64e44732437c5e43b8ae3992916301000000000000000000000000000000000000000000000000
        000000000000000000c800000000000000000000000000000000";

    #[test]
    fn udp_signalling_reveals_the_client_version() {
        let env = env();
        let f = flow(Transport::Udp, "192.168.0.17:47171", "18.201.4.32:7985");
        let c = run(&env, &f, &[up(hex(REQUEST)), down(hex(ANSWER))]);
        assert_eq!(protocol(&c), Some("viber"));
        assert_eq!(app(&c), Some(("viber", "signature")));
        assert_eq!(meta(&c, "viber.client-version"), vec!["Android,8.9.0.2"]);
        assert_eq!(verdict(&c).verdict, Verdict::Opaque);
    }

    /// nDPI `viber.pcap`, 192.168.0.17:33208 -> 52.0.253.101:4244: client
    /// frames with counters 0x0a and 0x0b (ciphertext shortened).
    #[test]
    fn tcp_frames_count_per_direction() {
        let mut a = hex(
            "65000a0000002ed0a1f6d200d4f2f71503a1795e077be9813345bf8bda536f5d2c1c8f8e317b41b356fd2471868332654829152bcd107875893296f353635cc4025a",
        );
        a.resize(0x65, 0x3c);
        let mut b = hex(
            "38000b00000095d6a82e52a39b0a20d4c8f01922253d8afa49da5ff1c8afd3b960017b3798d2cfe08d486aeb979d6baa48cfced75e1199e9",
        );
        b.resize(0x38, 0x3c);
        let mut both = a.clone();
        both.extend(&b);
        let (f, used) = tcp_frames(&both).unwrap();
        assert_eq!(f, vec![(0x65, 0x0a), (0x38, 0x0b)]);
        assert_eq!(used, both.len());
        assert!(counted(&f));
        let env = env();
        let fl = flow(Transport::Tcp, "192.168.0.17:33208", "52.0.253.101:4244");
        let c = run(&env, &fl, &[up(a), up(b)]);
        assert_eq!(app(&c), Some(("viber", "signature")));
        assert_eq!(tcp_frames(b"\x02\x00abcd"), None);
    }

    /// nDPI `viber.pcap`, UDP 38190 <-> 7985/7987 (tag `05 b8`): the session
    /// id `3518f5189864e447` recurs in every datagram. DHCP retransmissions
    /// (one tag, one type, a shared transaction id) are not Viber.
    #[test]
    fn udp_sessions_share_a_tag_and_an_id() {
        let dgs = vec![
            (
                Direction::ToServer,
                hex("05b8010005003518f5189864e44707ae27541100a8c02e9532000000430100100100f0"),
            ),
            (
                Direction::ToServer,
                hex("05b819003518f5189864e44725df4d4ee1cd371b5c9abc26d9d30b4b01bb39b30000"),
            ),
            (
                Direction::ToServer,
                hex("05b80900fb5b9291630100003518f5189864e447"),
            ),
        ];
        assert_eq!(udp_session(&dgs), Some(true));
        assert_eq!(udp_session(&dgs[..1]), None);
        let mut dhcp = hex("010106003a4b5c6d0000000000000000000000000000000000000000");
        dhcp.extend([0x5a; 20]);
        let dhcp = vec![(Direction::ToServer, dhcp.clone()); 4];
        assert_eq!(udp_session(&dhcp), Some(false));
        let mdns = vec![
            (
                Direction::ToServer,
                hex("000000000001000000000000055f73697073")
            );
            3
        ];
        assert_eq!(udp_session(&mdns), Some(false));
    }

    #[test]
    fn versions_need_a_platform_and_a_dotted_version() {
        assert_eq!(
            client_version(b"\x00\x10Android,8.9.0.2\x00"),
            Some("Android,8.9.0.2".into())
        );
        assert_eq!(client_version(b"\x00version 1.2\x00"), None);
        assert_eq!(udp_header(&hex("edf6ff01000000000000")), None);
        // nDPI `viber.pcap`, UDP 38190 -> 7985: another session's tag.
        assert_eq!(
            udp_header(&hex("05b80900fb5b9291630100003518f5189864e447")),
            Some((0x05b8, 9))
        );
    }
}
