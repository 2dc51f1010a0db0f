//! Threema's chat protocol (Threema Cryptography Whitepaper, "Chat
//! Protocol"): the client sends its ephemeral public key and a cookie
//! (48 bytes), the server its cookie and a box with its ephemeral key
//! (80 bytes), the client a login box (191 bytes in current clients), the
//! server a login acknowledgement box (32 bytes); then each side sends
//! frames `len u16 LE | NaCl box`. Everything after the hellos is encrypted
//! with keys derived from the client's long-term key and ephemeral keys.

use super::{attribute, finish};
use crate::evidence::content::TextStats;
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::registry::{FlowHint, ProbeInput};
use std::borrow::Cow;

const CLIENT_HELLO: usize = 48;
const SERVER_HELLO: usize = 80;
/// Bytes before framing starts, per direction (hello + login / login ack).
const PREAMBLE: [usize; 2] = [CLIENT_HELLO + 191, SERVER_HELLO + 32];
/// A box holds at least its 16-byte MAC.
const MIN_FRAME: usize = 16;

/// The two hellos, exactly: 48 bytes up, 80 bytes down (the client waits
/// for the server's hello before sending its login).
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    if input.transport != Transport::Tcp {
        return Confidence::No;
    }
    match (input.to_server.len(), input.to_client.len()) {
        (CLIENT_HELLO, 0) => Confidence::NeedMore,
        (CLIENT_HELLO, SERVER_HELLO) => Confidence::Likely,
        (n, SERVER_HELLO) if n == PREAMBLE[0] => Confidence::Likely,
        _ => Confidence::No,
    }
}

pub fn make(_hint: &FlowHint, _env: &Env) -> Box<dyn Dissector> {
    Box::<ThreemaDissector>::default()
}

/// Cuts `len u16 LE | box` frames; `None` when the bytes do not frame.
pub fn frames(b: &[u8]) -> Option<(Vec<usize>, usize)> {
    let mut lens = Vec::new();
    let mut i = 0;
    while let Some(h) = b.get(i..i + 2) {
        let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
        if len < MIN_FRAME {
            return None;
        }
        if b.len() < i + 2 + len {
            break;
        }
        lens.push(len);
        i += 2 + len;
    }
    Some((lens, i))
}

#[derive(Default)]
pub struct ThreemaDissector {
    /// Bytes seen per direction (the preamble is skipped by count).
    seen: [usize; 2],
    buf: [Vec<u8>; 2],
    broken: [bool; 2],
    frames: [u64; 2],
    attributed: bool,
    other: [TextStats; 2],
}

impl Dissector for ThreemaDissector {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed("threema")
    }

    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        let skip = PREAMBLE[d].saturating_sub(self.seen[d]).min(data.len());
        self.seen[d] += data.len();
        let data = &data[skip..];
        if data.is_empty() {
            return;
        }
        if self.broken[d] {
            self.other[d].feed(data);
            return;
        }
        self.buf[d].extend_from_slice(data);
        match frames(&self.buf[d]) {
            Some((lens, used)) => {
                self.frames[d] += lens.len() as u64;
                self.buf[d].drain(..used);
                if !self.attributed && self.frames[0] > 0 && self.frames[1] > 0 {
                    // Both directions framed exactly after the fixed preamble.
                    self.attributed = true;
                    attribute(cx, "threema-chat");
                }
            }
            None => {
                self.broken[d] = true;
                let rest = std::mem::take(&mut self.buf[d]);
                self.other[d].feed(&rest);
                cx.anomaly(
                    "threema-framing",
                    format!("{}: bytes do not frame", dir.as_str()),
                );
            }
        }
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        self.broken[dir.index()] = true;
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; Threema framing lost"),
        );
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.frames == [0, 0] && self.seen.iter().any(|&n| n > 0) {
            // The hello sizes matched but nothing after them framed: not
            // (or not provably) Threema.
            cx.set_protocol("unknown");
            for d in 0..2 {
                let rest = std::mem::take(&mut self.buf[d]);
                self.other[d].feed(&rest);
            }
        }
        finish(
            cx,
            "threema-chat",
            "NaCl boxes keyed by the client's long-term key and per-connection ephemeral keys; no key log exists",
            self.frames[0] + self.frames[1],
            &self.other,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Verdict;
    use crate::proto::rtc::testkit::*;

    /// nDPI `threema.pcap`, TCP stream 2 (192.168.2.100:50500 <->
    /// 185.88.236.110:5222), every payload in order.
    const HELLO: &str = "11424598e4b244d763d4e5f2def8fea4abf5c36fc7371ebcc0e8408112e0da4e44cf920ebbcb074c108f24ac62b8b50c";
    const SERVER_HELLO_HEX: &str = "
        a524fa7090e1babd482eae942045ad967b90164714dbfc5f59a744b855bbf2ab18839c0c8c59d4bda5ac7e72ba169ddd
        a51c6cebfec3d56c633365fcfc6bb5c0c715b4d7009e4840f465b580c9430bef";
    const LOGIN: &str = "
        6095e3a9175d234e90c09402329fba28efcc7729cd4e3514455c1d7989fa2a44214596df4fd5f803842cb772b0fd597a
        3ae172cdd7414e764fe1ed25ca29e846f4fdbeffe7325097ce37e56e598b1c95ba7e446f5283b67ffe8754826fd53289
        57c7a7ede695b99837120acc45aa852ea3325c3aeaf105d32ffd105854631d444e2cf7a765b052c62a05b9a2df497ce1
        7d5a3d46dcda562b7d71e3989ecf436c6b11b35d0d71b688d64436925600ef6cc119c3ce93321e1eb2c7f5a7c2bfb1";
    const SERVER_AFTER_LOGIN: &str = "
        b7424dfafd2edfb24bb2d2dd7e07fb04e102195a49ff9e08abdd17ff8ebc7ee00c0123426c1c6a0c6627731f44104d6d
        fbf13ecf02bfc87092d87c5b6921cf8cfc797f632277ec6f18a436d87e7584ea3f84f218e619215e61adff5187666e6a
        c1cc5848f20d95a703ea795583bb971f1ae25abcd552358fa374f03447901b25bfe33e29639448efed72d76d0c9faf0d
        e280e6f08361f3268f495148779d7d1584ea99eb39160c4dcc4bfb1151c714f7cc9719394571a613ae870049d56b6cf6
        44c765d8854a55586d1b4ef47afe377dbec27c6a53b514363cc069ec9ef8a8ed5474eefe235265ca69f72e814f40e1cb
        ee36a78b14324eb908c0363f5ae23695800e9a6ed9239f53833bb08d23cf97d0b119e6839c5003bfd7a014f9f72ec150
        08cc47e788d04a4f031587bd287a1400c980d4734e151a55eb8e70a8ae1c30eadfec612c";
    const CLIENT_FRAME: &str =
        "2400944fdee59849cb50ac9fb1418fd1a745f595f37e352c5c55ad618677dbd1f7c9d4f5bdf9";

    #[test]
    fn capture_frames_exactly_after_the_preamble() {
        let server = hex(SERVER_AFTER_LOGIN);
        assert_eq!(server.len(), 324);
        let (lens, used) = frames(&server[32..]).unwrap();
        assert_eq!((lens, used), (vec![268, 20], 292));
        assert_eq!(frames(&hex(CLIENT_FRAME)), Some((vec![36], 38)));
        // A frame shorter than a box MAC is not Threema.
        assert_eq!(frames(b"\x04\x00abcd"), None);
    }

    /// nDPI 4.2 reports this flow as Unknown; the handshake sizes and the
    /// exact framing that follows identify Threema without its addresses.
    #[test]
    fn threema_is_attributed_by_its_framing() {
        let env = env();
        // An address outside Threema's range: attribution must come from the wire.
        let f = flow(Transport::Tcp, "192.168.2.100:50500", "192.0.2.10:5222");
        let c = run(
            &env,
            &f,
            &[
                up(hex(HELLO)),
                down(hex(SERVER_HELLO_HEX)),
                up(hex(LOGIN)),
                down(hex(SERVER_AFTER_LOGIN)),
                up(hex(CLIENT_FRAME)),
            ],
        );
        assert_eq!(protocol(&c), Some("threema"));
        assert_eq!(app(&c), Some(("threema", "signature")));
        let d = verdict(&c);
        assert_eq!(d.verdict, Verdict::Opaque);
        assert!(d.reason.contains("threema-chat not opened"), "{}", d.reason);
    }

    /// Two messages of Threema's sizes followed by text: not Threema.
    #[test]
    fn lookalike_sizes_without_framing_stay_unknown() {
        let env = env();
        let f = flow(Transport::Tcp, "10.0.0.1:40000", "10.0.0.2:7000");
        let c = run(
            &env,
            &f,
            &[
                up(vec![0x41; 48]),
                down(vec![0x42; 80]),
                up(b"hello there, this is just a line of ordinary text that goes on and on and on for a while".repeat(3)),
            ],
        );
        assert_eq!(protocol(&c), Some("unknown"));
        assert_eq!(app(&c), None);
    }

    #[test]
    fn probe_wants_both_hellos() {
        let p = |up: usize, down: usize| {
            let a = vec![0x5a; up];
            let b = vec![0xa5; down];
            probe(&crate::proto::registry::ProbeInput {
                transport: Transport::Tcp,
                to_server: &a,
                to_client: &b,
                datagrams: &[],
                client_port: 50500,
                server_port: 5222,
                depth: 0,
                hint: None,
            })
        };
        assert_eq!(p(48, 0), Confidence::NeedMore);
        assert_eq!(p(48, 80), Confidence::Likely);
        assert_eq!(p(49, 80), Confidence::No);
        assert_eq!(p(48, 81), Confidence::No);
    }
}
