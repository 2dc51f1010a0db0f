//! Real-time media: STUN/TURN, RTP/RTCP, SRTP/ZRTP classification, SDP.
//!
//! One media 5-tuple multiplexes several protocols, told apart by the first
//! byte (RFC 7983 as updated by RFC 9443): 0-3 STUN, 16-19 ZRTP, 20-63 DTLS,
//! 64-79 TURN ChannelData, 128-191 RTP/RTCP. [`RtcDissector`] owns such a
//! flow and demultiplexes every datagram; DTLS datagrams are handed, as they
//! are, to the DTLS dissector from the registry (this module never parses
//! DTLS records beyond the ClientHello's `use_srtp` extension).
//!
//! What the flow leaks even when the media is encrypted: the addresses STUN
//! reflects (own public address, the peer's, the relay's), `SOFTWARE` and
//! `REALM`, RTCP CNAMEs, RTP payload types and SSRCs. Whether the media itself
//! is readable is decided per stream (see [`rtp::MediaStats::plaintext`]):
//! only codec structure visible in the clear makes a stream `none`.

pub mod discord;
pub mod rtp;
pub mod sdp;
pub mod stun;

use crate::evidence::content::TextStats;
use crate::evidence::{CryptoState, EvidenceKind, PayloadClass};
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{self, FlowHint, ProbeInput};
use std::borrow::Cow;
use std::collections::HashSet;

/// Distinct values kept per metadata key.
const MAX_VALUES: usize = 8;
/// Media streams (SSRCs) tracked per flow.
const MAX_STREAMS: usize = 16;
/// Buffer per direction for RFC 4571 / TURN-over-TCP framing.
const MAX_TCP_BUF: usize = 70 * 1024;

/// A STUN message with the magic cookie, ZRTP, or ChannelData with an exact
/// length: enough to own a UDP flow.
pub fn probe_stun(input: &ProbeInput<'_>) -> Confidence {
    let first = match input.transport {
        Transport::Udp => input.first(),
        // TURN/ICE over TCP (RFC 6544) or RFC 4571 framing.
        Transport::Tcp => {
            let d = input.first();
            if d.len() < 20 {
                return if d.is_empty() || d[0] > 3 {
                    Confidence::No
                } else {
                    Confidence::NeedMore
                };
            }
            return match stun::parse(d) {
                Some(m) if m.rfc5389 => Confidence::Certain,
                _ => Confidence::No,
            };
        }
    };
    match first.first() {
        Some(0..=3) => match stun::parse(first) {
            Some(m) if m.rfc5389 => Confidence::Certain,
            Some(_) if input.port_in(&[3478, 3479, 19302, 19305]) => Confidence::Likely,
            _ => Confidence::No,
        },
        Some(16..=19) if rtp::is_zrtp(first) => Confidence::Certain,
        Some(64..=79) if stun::channel_data(first).is_some() => Confidence::Likely,
        Some(_) => Confidence::No,
        None => Confidence::NeedMore,
    }
}

/// RTP or RTCP: a coherent SSRC/sequence across datagrams, a well-formed
/// RTCP compound, Discord's IP discovery, or RFC 4571-framed RTP on TCP.
pub fn probe_rtp(input: &ProbeInput<'_>) -> Confidence {
    if input.transport == Transport::Tcp {
        return probe_rtp_tcp(input.first());
    }
    let dgs = input.datagrams;
    let Some((_, first)) = dgs.first() else {
        return Confidence::NeedMore;
    };
    if discord::parse(first).is_some() {
        return Confidence::Certain;
    }
    if let Some(r) = rtp::rtcp(first)
        && (r.exact || r.types[0] == rtp::rtcp_type::SR || r.types[0] == rtp::rtcp_type::RR)
    {
        return Confidence::Likely;
    }
    let mut seen: Vec<(Direction, u32, u16)> = Vec::new();
    for (dir, d) in dgs.iter().take(8) {
        let Some(p) = rtp::parse(d) else { continue };
        if let Some(&(_, _, seq)) = seen
            .iter()
            .find(|(dr, ssrc, _)| dr == dir && *ssrc == p.ssrc)
        {
            let step = p.seq.wrapping_sub(seq);
            if step != 0 && step < 16 {
                return Confidence::Likely;
            }
        }
        seen.push((*dir, p.ssrc, p.seq));
    }
    // A leading keep-alive may precede the media: look at the first few.
    let rtp_like = dgs.iter().take(3).any(|(_, d)| rtp::parse(d).is_some());
    if dgs.len() >= 6 || (!rtp_like && dgs.len() >= 3) {
        Confidence::No
    } else {
        Confidence::NeedMore
    }
}

fn probe_rtp_tcp(d: &[u8]) -> Confidence {
    // Two RFC 4571 frames whose RTP headers share the SSRC: the first frame's
    // length must lead exactly to the second header.
    let header = |d: &[u8], at: usize| -> Option<(usize, u32)> {
        let len = usize::from(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]));
        let h = d.get(at + 2..at + 14)?;
        let p = rtp::parse(h)?;
        (len >= 12).then_some((at + 2 + len, p.ssrc))
    };
    match header(d, 0) {
        None if d.len() < 14 => Confidence::NeedMore,
        None => Confidence::No,
        Some((next, ssrc)) => match header(d, next) {
            Some((_, s2)) if s2 == ssrc => Confidence::Likely,
            Some(_) => Confidence::No,
            None if d.len() >= next + 14 || next > 4096 => Confidence::No,
            None => Confidence::NeedMore,
        },
    }
}

pub fn make(hint: &FlowHint, _env: &Env) -> Box<dyn Dissector> {
    Box::new(RtcDissector::new(*hint))
}

pub fn make_sdp(_hint: &FlowHint, _env: &Env) -> Box<dyn Dissector> {
    Box::<sdp::SdpDissector>::default()
}

/// An SDP body handed on by an outer layer.
pub fn probe_sdp(input: &ProbeInput<'_>) -> Confidence {
    let d = input.first();
    if d.len() < 5 {
        return if b"v=0\r\n".starts_with(d) {
            Confidence::NeedMore
        } else {
            Confidence::No
        };
    }
    if sdp::looks_like_sdp(d) {
        Confidence::Certain
    } else {
        Confidence::No
    }
}

/// Owner of a media 5-tuple.
pub struct RtcDissector {
    hint: FlowHint,
    name: &'static str,
    stun_messages: u64,
    values: HashSet<(&'static str, String)>,
    streams: Vec<rtp::MediaStats>,
    rtcp: u64,
    zrtp: u64,
    dtls: u64,
    /// `use_srtp` offered in a DTLS ClientHello on this flow.
    dtls_srtp: bool,
    dtls_child: Option<Box<dyn Dissector>>,
    channel_data: u64,
    other: [TextStats; 2],
    tcp: [Vec<u8>; 2],
    tcp_broken: [bool; 2],
}

impl RtcDissector {
    pub fn new(hint: FlowHint) -> RtcDissector {
        RtcDissector {
            hint,
            name: "rtc",
            stun_messages: 0,
            values: HashSet::new(),
            streams: Vec::new(),
            rtcp: 0,
            zrtp: 0,
            dtls: 0,
            dtls_srtp: false,
            dtls_child: None,
            channel_data: 0,
            other: Default::default(),
            tcp: Default::default(),
            tcp_broken: [false; 2],
        }
    }

    /// Emits metadata once per distinct value, at most [`MAX_VALUES`] per key.
    fn once(&mut self, cx: &mut Cx<'_>, key: &'static str, value: String) {
        if self.values.iter().filter(|(k, _)| *k == key).count() >= MAX_VALUES {
            return;
        }
        if self.values.insert((key, value.clone())) {
            cx.meta(key, value);
        }
    }

    fn signature(&mut self, cx: &mut Cx<'_>, name: &str) {
        if let Some(app) = cx.env.apps.by_signature(name) {
            let app = app.to_string();
            cx.set_app(&app, "signature");
        }
    }

    fn rename(&mut self, cx: &mut Cx<'_>, name: &'static str) {
        // Media outranks signalling in the flow's name.
        let rank = |n: &str| match n {
            "rtp" | "zrtp" => 3,
            "rtc" => 1,
            _ => 2,
        };
        if rank(name) >= rank(self.name) {
            self.name = name;
        }
        cx.set_protocol(self.name);
    }

    /// One demultiplexed packet. `nested` is set for data inside TURN.
    fn packet(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8], nested: bool) {
        match data.first() {
            // 0-3 per RFC 7983; WhatsApp's own message types 0x0800-0x0802
            // start with 8, unassigned in the demultiplexing table.
            Some(0..=3 | 8) => {
                if let Some(m) = stun::parse(data) {
                    self.stun(cx, dir, &m, nested);
                    return;
                }
            }
            Some(16..=19) if rtp::is_zrtp(data) => {
                self.zrtp += 1;
                if let Some(msg) = rtp::zrtp_message(data) {
                    self.once(cx, "zrtp.message", msg.to_string());
                }
                self.rename(cx, "zrtp");
                return;
            }
            Some(20..=63) => {
                self.dtls(cx, dir, data);
                return;
            }
            Some(64..=79) if !nested => {
                if let Some((_, inner)) = stun::channel_data(data) {
                    self.channel_data += 1;
                    self.packet(cx, dir, inner, true);
                    return;
                }
            }
            Some(128..=191) if self.media(cx, dir, data) => return,
            _ => {}
        }
        if data.len() == discord::LEN
            && let Some(d) = discord::parse(data)
        {
            self.signature(cx, "discord-ip-discovery");
            self.rename(cx, "discord-voice");
            if let Some(a) = d.address {
                self.once(cx, "discord.mapped-address", a.to_string());
            }
            return;
        }
        self.other[dir.index()].feed(data);
    }

    fn stun(&mut self, cx: &mut Cx<'_>, dir: Direction, m: &stun::Message<'_>, nested: bool) {
        self.stun_messages += 1;
        if self.stun_messages == 1 && self.name == "rtc" {
            self.rename(cx, "stun");
        }
        for (role, addr) in stun::addresses(m) {
            let key = match role {
                stun::AddressRole::Mapped => "stun.mapped-address",
                stun::AddressRole::Peer => "stun.peer-address",
                stun::AddressRole::Relayed => "stun.relayed-address",
                stun::AddressRole::Alternate => "stun.alternate-server",
            };
            self.once(cx, key, addr.to_string());
        }
        for (kind, key) in [
            (stun::attr::SOFTWARE, "stun.software"),
            (stun::attr::REALM, "stun.realm"),
            (stun::attr::USERNAME, "stun.username"),
        ] {
            if let Some(v) = m.attr(kind).and_then(stun::text) {
                let v = v.to_string();
                if kind == stun::attr::REALM {
                    self.signature(cx, &format!("stun-realm:{}", v.to_ascii_lowercase()));
                }
                self.once(cx, key, v);
            }
        }
        if stun::whatsapp_flavour(m) {
            self.signature(cx, "whatsapp-stun");
        }
        if let Some(v) = stun::ms_ice_version(m) {
            self.signature(cx, &format!("ms-ice-version:{v}"));
        }
        if stun::ms_turn(m) {
            self.signature(cx, "ms-turn");
        }
        // TURN Send/Data indications carry the peer's datagram in DATA.
        if !nested
            && matches!(m.method(), 6 | 7)
            && let Some(inner) = m.attr(stun::attr::DATA)
        {
            let inner = inner.to_vec();
            self.packet(cx, dir, &inner, true);
        }
    }

    fn dtls(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.dtls += 1;
        if !self.dtls_srtp && offers_use_srtp(data) {
            self.dtls_srtp = true;
            self.once(cx, "rtp.keying", "dtls-srtp".to_string());
        }
        if self.dtls_child.is_none() && self.dtls == 1 {
            // Whichever registered dissector claims this datagram (the DTLS
            // one) gets every DTLS datagram of the 5-tuple.
            let dgs = [(dir, data.to_vec())];
            let input = ProbeInput {
                transport: Transport::Udp,
                to_server: &[],
                to_client: &[],
                datagrams: &dgs,
                client_port: self.hint.client_port,
                server_port: self.hint.server_port,
                depth: cx.depth(),
                hint: Some("dtls"),
            };
            if let Some(registry::Choice::Dissector(make)) = registry::choose(&input, true) {
                self.dtls_child = Some(make(&self.hint, cx.env));
            }
        }
        if let Some(child) = &mut self.dtls_child {
            child.on_datagram(cx, dir, data);
            // The child names its own layer; the flow stays a media flow.
            cx.set_protocol(self.name);
        }
    }

    /// RTP or RTCP; false when the bytes are neither.
    fn media(&mut self, cx: &mut Cx<'_>, _dir: Direction, data: &[u8]) -> bool {
        if let Some(r) = rtp::rtcp(data) {
            self.rtcp += 1;
            if r.exact
                && let Some(c) = r.cname
            {
                self.once(cx, "rtcp.cname", c);
            }
            return true;
        }
        let Some(p) = rtp::parse(data) else {
            return false;
        };
        let pos = self
            .streams
            .iter()
            .position(|s| s.ssrc == p.ssrc && s.payload_type == p.payload_type);
        let pos = match pos {
            Some(i) => Some(i),
            None if self.streams.len() < MAX_STREAMS => {
                self.streams
                    .push(rtp::MediaStats::new(p.ssrc, p.payload_type));
                Some(self.streams.len() - 1)
            }
            None => None,
        };
        if let Some(i) = pos {
            self.streams[i].add(&p);
            if self.streams[i].is_stream() {
                self.rename(cx, "rtp");
            }
        }
        true
    }

    /// TURN over TCP (STUN messages and ChannelData back to back, framed by
    /// their own lengths) or RFC 4571 (`len u16` before each packet, as in
    /// ICE-TCP, RFC 6544, and RTP over TCP).
    fn tcp_frames(&mut self, cx: &mut Cx<'_>, dir: Direction) {
        let d = dir.index();
        let mut used = 0;
        let buf = std::mem::take(&mut self.tcp[d]);
        loop {
            let rest = &buf[used..];
            if rest.len() < 4 {
                break;
            }
            let n = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            let (skip, len) = if rest[0] < 4 && rest.get(4..8) == Some(&stun::MAGIC[..]) {
                (0, 20 + n)
            } else if (64..=79).contains(&rest[0]) && self.stun_messages > 0 {
                (0, (4 + n + 3) & !3)
            } else {
                (2, usize::from(u16::from_be_bytes([rest[0], rest[1]])))
            };
            if rest.len() < skip + len {
                break;
            }
            let frame = rest[skip..skip + len].to_vec();
            used += skip + len;
            self.packet(cx, dir, &frame, false);
        }
        self.tcp[d] = buf[used..].to_vec();
        if self.tcp[d].len() >= MAX_TCP_BUF {
            self.tcp_broken[d] = true;
            self.tcp[d].clear();
            cx.anomaly(
                "rtc-tcp-framing",
                "frame longer than the buffer cap; framing lost",
            );
        }
    }

    fn protection(&self) -> rtp::Protection {
        if self.zrtp > 0 {
            rtp::Protection::Zrtp
        } else if self.dtls_srtp || self.dtls > 0 {
            rtp::Protection::Srtp
        } else {
            rtp::Protection::Unknown
        }
    }
}

/// Whether a DTLS datagram starts with a ClientHello offering `use_srtp`
/// (RFC 5764). Reads only the record and handshake headers; the hello itself
/// goes through the shared TLS parser.
fn offers_use_srtp(data: &[u8]) -> bool {
    // Record: type 22, version, epoch, seq(6), length; handshake: type 1,
    // length u24, message_seq, fragment_offset u24, fragment_length u24.
    let (Some(rec), Some(hs)) = (data.get(..13), data.get(13..25)) else {
        return false;
    };
    if rec[0] != 22 || hs[0] != 1 {
        return false;
    }
    let len = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
    let frag_off = u32::from_be_bytes([0, hs[6], hs[7], hs[8]]);
    let frag_len = u32::from_be_bytes([0, hs[9], hs[10], hs[11]]) as usize;
    if frag_off != 0 || frag_len != len {
        return false;
    }
    let Some(body) = data.get(25..25 + len) else {
        return false;
    };
    crate::proto::tls::handshake::parse_client_hello(body, true).is_ok_and(|ch| {
        ch.extension(crate::proto::tls::handshake::ext::USE_SRTP)
            .is_some()
    })
}

impl Dissector for RtcDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed(self.name)
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if self.tcp_broken[d] {
            self.other[d].feed(data);
            return;
        }
        let room = MAX_TCP_BUF.saturating_sub(self.tcp[d].len());
        self.tcp[d].extend_from_slice(&data[..data.len().min(room)]);
        self.tcp_frames(cx, dir);
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, _len: u64) {
        // Framing is lost on a byte stream; datagrams are unaffected.
        if self.hint.transport == Transport::Tcp {
            self.tcp_broken[dir.index()] = true;
            self.tcp[dir.index()].clear();
            cx.anomaly("stream-gap", "bytes missing; media framing lost");
        }
    }

    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.packet(cx, dir, data, false);
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some(child) = &mut self.dtls_child {
            child.finish(cx);
        }
        cx.set_protocol(self.name);
        let protection = self.protection();
        let mut weakest: Option<rtp::Protection> = None;
        let mut opaque_packets = 0u64;
        let streams = std::mem::take(&mut self.streams);
        for s in streams.iter().filter(|s| s.is_stream()) {
            let p = if s.plaintext() {
                rtp::Protection::None
            } else {
                protection
            };
            let codec = rtp::static_codec(s.payload_type).unwrap_or("dynamic");
            self.once(
                cx,
                "rtp.stream",
                format!(
                    "ssrc=0x{:08x} pt={} ({codec}) packets={} protection={}",
                    s.ssrc,
                    s.payload_type,
                    s.packets,
                    p.as_str()
                ),
            );
            if p == rtp::Protection::None {
                let cap = cx.env.limits.sample_bytes.min(s.head().len());
                cx.emit(
                    EvidenceKind::Content {
                        field: Cow::Borrowed("rtp.media"),
                        class: PayloadClass::Binary,
                        len: s.bytes,
                        sample: s.head()[..cap].to_vec(),
                    },
                    None,
                    None,
                );
            } else {
                opaque_packets += s.packets;
            }
            weakest = Some(match weakest {
                Some(rtp::Protection::None) => rtp::Protection::None,
                Some(rtp::Protection::Unknown) if p != rtp::Protection::None => {
                    rtp::Protection::Unknown
                }
                _ => p,
            });
        }
        if let Some(w) = weakest {
            cx.meta("rtp.protection", w.as_str());
        }
        if opaque_packets > 0 {
            let reason = match protection {
                rtp::Protection::Srtp => {
                    "SRTP keys are exported from the DTLS handshake (DTLS-SRTP); plainsight does not derive SRTP keys, so the media is not opened even when the DTLS secrets are logged"
                }
                rtp::Protection::Zrtp => {
                    "SRTP keys come from a ZRTP Diffie-Hellman between the endpoints"
                }
                _ => {
                    "media payload is SRTP keyed out of band or a compressed codec; no keying was seen on this flow and the two look alike"
                }
            };
            cx.crypto(
                "srtp",
                CryptoState::NotOpened {
                    reason: reason.to_string(),
                },
                opaque_packets,
                0,
            );
        }
        self.streams = streams;
        for dir in [Direction::ToServer, Direction::ToClient] {
            if let Some(s) = self.other[dir.index()].summary() {
                cx.emit(
                    EvidenceKind::Payload {
                        class: s.class,
                        bytes: self.other[dir.index()].total(),
                        entropy: s.entropy,
                        printable: s.printable,
                    },
                    Some(dir),
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use crate::evidence::EvidenceKind;
    use crate::model::{Transport, Verdict};

    /// nDPI `stun_signal.pcapng` frames 14, 16 and 20: Signal's TURN relay
    /// answers an Allocate with the caller's public address and the relay's.
    #[test]
    fn signal_turn_allocation_leaks_addresses_and_names_the_app() {
        let env = env();
        let f = flow(
            Transport::Udp,
            "192.168.12.169:39518",
            "35.158.183.167:3478",
        );
        let c = run(
            &env,
            &f,
            &[
                up(hex("000300082112a442374359424e654c68457372650019000411000000")),
                down(hex(
                    "011300482112a442374359424e654c68457372650009001000000401556e617574686f72697a6564
                     00150010633866373363393736623032623963380014000a7369676e616c2e6f72670000
                     802200044e6f6e658028000479938cf7",
                )),
                down(hex(
                    "010300482112a4425344483967722b2b5578766d001600080001d5fa028c13e5
                     0020000800010f627c3d4551000d000400000258802200044e6f6e65
                     000800146a67c4dabcb6aa237bef1128d0f595790a88ef3b80280004bfe35713",
                )),
            ],
        );
        assert_eq!(protocol(&c), Some("stun"));
        assert_eq!(app(&c), Some(("signal", "signature")));
        assert_eq!(meta(&c, "stun.realm"), vec!["signal.org"]);
        assert_eq!(meta(&c, "stun.mapped-address"), vec!["93.47.225.19:11888"]);
        assert_eq!(
            meta(&c, "stun.relayed-address"),
            vec!["35.158.183.167:62696"]
        );
        assert_eq!(meta(&c, "stun.software"), vec!["None"]);
        assert_eq!(verdict(&c).verdict, Verdict::NoContent);
    }

    /// nDPI `stun_wa_call.pcapng`: WhatsApp's relay (STUN with attribute
    /// 0x4002, the 0x0801/0x0802 keep-alives) then SRTP with PT 120. The
    /// media cannot be told from a compressed codec: opaque, never sealed.
    #[test]
    fn whatsapp_call_media_is_opaque_and_attributed() {
        let env = env();
        let f = flow(Transport::Udp, "192.168.12.156:46652", "93.57.123.227:3478");
        let mut items = vec![
            down(hex(
                "010300302112a44270758b44c723a74ed1934a25002000080001d1247c310f41
                 400200080000018660b8c82700080014aa7209cd6fe3d57f1cfd68312450d84c88c21b4e",
            )),
            up(hex("080100002112a44270758b44c723a74ed1934a3b")),
            down(hex("080200002112a44270758b44c723a74ed1934a3b")),
            up(hex(
                "81ca00071b9f01ee9a6222e4a662744b711c37183dcdecd09ca34b0d76c7e465800000017ec7d6798ed0d458c0a3",
            )),
        ];
        // Three SRTP packets from the capture, then more of the same stream.
        let srtp = hex(
            "9078000100019c801b9f01eedebe0002d300004380000000c1dae7730a38f0dde9dac7b6
             2304bd6fed471dd17827bd0cc4840e4c19bf",
        );
        for seq in 1u16..=12 {
            let mut p = srtp.clone();
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            items.push(up(p));
        }
        let c = run(&env, &f, &items);
        assert_eq!(protocol(&c), Some("rtp"));
        assert_eq!(app(&c), Some(("whatsapp", "signature")));
        assert_eq!(meta(&c, "stun.mapped-address"), vec!["93.35.171.3:61494"]);
        assert_eq!(meta(&c, "rtp.protection"), vec!["unknown"]);
        // WhatsApp's 0x0801/0x0802 messages are STUN, not unknown payload.
        assert!(
            !c.evidence
                .iter()
                .any(|e| matches!(e.kind, EvidenceKind::Payload { .. }))
        );
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::Opaque, "{}", d.reason);
        assert!(d.reason.contains("srtp not opened"), "{}", d.reason);
    }

    /// Zeek `webrtc-stun.pcap` frame 9: a DTLS ClientHello offering use_srtp
    /// on the media 5-tuple marks the RTP that follows as SRTP.
    #[test]
    fn dtls_use_srtp_marks_media_as_srtp() {
        let env = env();
        let f = flow(Transport::Udp, "10.0.0.1:51462", "10.0.0.2:43044");
        let hello = hex(
            "16feff0000000000000000011c010001100000000000000110feffb509517d8e76fa20bf84d05bdd51e8cedb
             21df8fa66b57c37a43b4a07a096f7e00000092c014c00a00390038003700360088008700860085c019003a00
             89c00fc00500350084c013c0090033003200310030009a0099009800970045004400430042c0180034009b00
             46c00ec004002f009600410007c012c008001600130010000dc017001bc00dc003000a00150012000f000c00
             1a000900140011000e000b001900080006c010c006c015c00bc0010002000100ff01000054000b0004030001
             02000a003a0038000e000d0019001c000b000c001b00180009000a001a00160017000800060007001400150004
             000500120013000100020003000f00100011000f000101000e00050002000100",
        );
        assert!(super::offers_use_srtp(&hello));
        let mut items = vec![
            up(hex("000100002112a442746b454b326b73584673326f")),
            up(hello),
        ];
        for seq in 0u16..8 {
            let mut p = vec![0x80, 111, 0, 0, 0, 0, 0, 0, 0x6d, 0x1c, 0x3c, 0xfa];
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            p.extend((0..80u8).map(|i| i.wrapping_mul(97).wrapping_add(seq as u8)));
            items.push(up(p));
        }
        let c = run(&env, &f, &items);
        assert_eq!(meta(&c, "rtp.keying"), vec!["dtls-srtp"]);
        assert_eq!(meta(&c, "rtp.protection"), vec!["srtp"]);
        assert_eq!(verdict(&c).verdict, Verdict::Opaque);
    }

    /// nDPI `rtp.pcapng`, TCP 40252 -> 5000: PCMA audio in RFC 4571 frames,
    /// in the clear. The header and sample bytes are the capture's.
    #[test]
    fn plaintext_pcma_over_tcp_is_exposed() {
        let env = env();
        let f = flow(Transport::Tcp, "172.16.168.24:40252", "172.16.168.64:5000");
        let samples = hex(
            "57565655d7d5d6d7d7d0d6d6d5d4d4d5d557545757575154d4555755d5d4d4d5d5d4d7d5d5d4d7d5
             5b5ed5dfd8d4d0c6d256d4515956d6d4d7515e56505ed5dedbd9d15c445cd7d3d456d4dedc5255da",
        );
        let mut stream = Vec::new();
        for i in 0u16..8 {
            let mut rtp = hex("8008c6246448f15900000000");
            rtp[2..4].copy_from_slice(&(0xc624 + i).to_be_bytes());
            for _ in 0..6 {
                rtp.extend_from_slice(&samples);
            }
            stream.extend_from_slice(&(rtp.len() as u16).to_be_bytes());
            stream.extend_from_slice(&rtp);
        }
        // Delivered in odd-sized segments, as TCP would.
        let items: Vec<_> = stream.chunks(700).map(|c| up(c.to_vec())).collect();
        let c = run(&env, &f, &items);
        assert_eq!(protocol(&c), Some("rtp"));
        assert_eq!(meta(&c, "rtp.protection"), vec!["none"]);
        assert!(c.evidence.iter().any(|e| matches!(
            &e.kind,
            EvidenceKind::Content { field, .. } if field == "rtp.media"
        )));
        assert_eq!(verdict(&c).verdict, Verdict::Exposed);
    }

    /// nDPI `rtp.pcapng`, UDP 54234 <-> 50003: Discord's IP discovery
    /// answer carries the caller's public address; the flow is Discord's.
    #[test]
    fn discord_ip_discovery() {
        let env = env();
        let f = flow(
            Transport::Udp,
            "150.219.118.19:54234",
            "192.113.193.227:50003",
        );
        let mut req = hex("00010046001a7e73");
        req.resize(72, 0);
        req.extend_from_slice(&[0x8b, 0x19]);
        let mut resp = hex("00020046001a7e73");
        resp.extend_from_slice(b"85.154.2.145");
        resp.resize(72, 0);
        resp.extend_from_slice(&[0xd3, 0xda]);
        let c = run(&env, &f, &[up(req), down(resp)]);
        assert_eq!(app(&c), Some(("discord", "signature")));
        assert_eq!(
            meta(&c, "discord.mapped-address"),
            vec!["85.154.2.145:54234"]
        );
    }

    #[test]
    fn sdp_body_with_sdes_key_is_a_credential() {
        let env = env();
        let f = flow(Transport::Tcp, "10.0.0.1:5060", "10.0.0.2:5060");
        let body = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=audio 4000 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
        let c = run(&env, &f, &[up(body.to_vec())]);
        assert_eq!(protocol(&c), Some("sdp"));
        assert_eq!(meta(&c, "sdp.keying"), vec!["sdes"]);
        let cred = c.evidence.iter().find_map(|e| match &e.kind {
            EvidenceKind::Credential { key, user } => Some((key.clone(), user.clone())),
            _ => None,
        });
        let (key, user) = cred.expect("a=crypto is reported");
        assert_eq!(key, "sdp.crypto");
        let user = user.unwrap();
        assert!(user.contains("AES_CM_128_HMAC_SHA1_80"));
        assert!(
            !user.contains("WVNf"),
            "the key itself never leaves the parser"
        );
    }
}
