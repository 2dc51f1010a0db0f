use super::*;
use crate::evidence::{EvidenceKind, Protection};
use crate::model::Transport;
use crate::proto::dissector::{Collector, PacketRef};
use crate::proto::dns::parse::tests::hex;
use crate::proto::dns::tests::{env_with, flow};

/// Frame 11 of wireshark-notes websocket-sip.pcapng: a masked text frame
/// with a 16-bit length carrying the SIP MESSAGE "Hi there, wanna talk?".
const SIP_FRAME: &str = "81fe01bedb98dfeb96dd8cb89adf9acba8f1afd1e2fee7ddbafdebd89becad92b2ecf181a8ebb69bf5f6ba9ffbcb96bb\
    f4aaf1dbd6928982baa2ffb892c8f0d9f5a8f0bc88b8b687e2aeafd9ecadb987b2fdf182b5eebe87b2fce489a9f9b188\
    b3a5a5d2b3dfeb8990aeeddaefaee9d8d692928aa3b59984a9efbe99bfebe5cbeda1d2e18ff7e5cbe7ebb69be1a1b9d3\
    edf9badfe8d8ab99a2f1abc5b1ebac82abb6b18eafa6d2e19deab086e1b8fda7bef3ba85a8ecba92b5baffd7a8f1afd1\
    effcb9dce3fee6d39becad92b2ecf181a8ebb69bf5f6ba9fe5a3ab8abca5b084eff2ec9eb0eda985d6929c8ab7f4f2a2\
    9fa2ff8caba8abd8b1f4bc9fecfab981b4f5e69aebf6ece6d1db8c8eaaa2ffdfefade9cb96dd8cb89adf9ae6d1dbb085\
    affdb19ff6cca69bbea2ff9fbee0abc4abf4be82b595d5aab7f4b09ce1b896a58dd18baef7d99ca0f7db9ea598dd93c7\
    99c19ac78ec89baa8fddf3a69ecb8caa9cddf3a48bcc96a495cbd2e188edaf9bb4eaab8ebfa2ff84aeecbd84aef6bbe6\
    d1cdac8ea9b59e8cbef6abd1fbd2acb892c8ffdbf5aef1dae395d5a8b4f6ab8eb5ecf2a7bef6b89fb3a2ffd9ea95d5e6\
    d1d0b6cbaff0ba99beb4ff9cbaf6b18afbecbe87b0a7";

fn frame(fin: bool, opcode: u8, rsv1: bool, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::from(fin) << 7 | u8::from(rsv1) << 6 | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n <= 0xffff => {
            f.push(m | 126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    let mut p = payload.to_vec();
    if let Some(k) = mask {
        f.extend(k);
        frame::unmask(&mut p, k, 0);
    }
    f.extend(p);
    f
}

struct Run {
    out: Collector,
}

impl Run {
    fn content(&self, field: &str) -> Vec<(Vec<u8>, String)> {
        self.out
            .evidence
            .iter()
            .filter_map(|e| match &e.kind {
                EvidenceKind::Content {
                    field: f, sample, ..
                } if f == field => Some((sample.clone(), e.chain())),
                _ => None,
            })
            .collect()
    }

    fn canaries(&self) -> Vec<String> {
        self.out
            .evidence
            .iter()
            .filter(|e| matches!(e.kind, EvidenceKind::Canary { .. }))
            .map(|e| e.chain())
            .collect()
    }

    fn anomalies(&self) -> Vec<String> {
        self.out
            .evidence
            .iter()
            .filter_map(|e| match &e.kind {
                EvidenceKind::Anomaly { code, .. } => Some(code.to_string()),
                _ => None,
            })
            .collect()
    }
}

/// Runs a WebSocket connection under `tcp › websocket`, each direction's
/// bytes delivered in the pieces given.
fn run(ext: Option<&str>, canaries: &[&str], pieces: &[(Direction, &[u8])]) -> (Run, [u64; 2]) {
    let env = env_with(canaries);
    let f = flow(Transport::Tcp, 80);
    let mut out = Collector::default();
    let counts;
    {
        let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
        let mut ws = WebSocket::new(ext, None, &env.limits);
        cx.with_layer(Layer::plain("tcp"), |cx| {
            cx.with_layer(Layer::plain("websocket"), |cx| {
                for (dir, p) in pieces {
                    ws.on_data(cx, *dir, p);
                }
                ws.finish(cx);
            })
        });
        counts = [
            ws.messages(Direction::ToServer),
            ws.messages(Direction::ToClient),
        ];
    }
    (Run { out }, counts)
}

#[test]
fn corpus_sip_message_is_content_under_the_keyless_mask() {
    let f = hex(SIP_FRAME);
    let h = frame::parse_header(&f).unwrap().unwrap();
    let mut payload = f[h.header_len..].to_vec();
    frame::unmask(&mut payload, h.mask.unwrap(), 0);
    assert_eq!(payload, sip::tests::MESSAGE);
    for cut in 0..f.len() {
        let (r, n) = run(
            None,
            &[],
            &[
                (Direction::ToServer, &f[..cut]),
                (Direction::ToServer, &f[cut..]),
            ],
        );
        assert_eq!(n[0], 1, "cut {cut}");
        let c = r.content("sip.message");
        assert_eq!(c.len(), 1, "cut {cut}: {:?}", r.out.evidence);
        assert_eq!(c[0].0, b"Hi there, wanna talk?");
        assert_eq!(c[0].1, "tcp › websocket › ws-mask[no key needed]");
    }
    let (r, _) = run(None, &[], &[(Direction::ToServer, &f)]);
    let v = crate::verdict::flow(&r.out.evidence, &|i| i.to_string());
    assert_eq!(v.verdict, crate::model::Verdict::Exposed);
    let ev = r
        .out
        .evidence
        .iter()
        .find(|e| matches!(e.kind, EvidenceKind::Content { .. }))
        .unwrap();
    assert!(
        ev.layers
            .iter()
            .any(|l| l.protection == Protection::Keyless)
    );
}

#[test]
fn canary_in_a_masked_fragmented_message_with_a_ping_in_between() {
    let canary = "PSK-7QX2M4R9";
    let text = format!("see you at {canary} tonight");
    let (a, b) = text.as_bytes().split_at(14);
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut bytes = frame(false, op::TEXT, false, Some(key), a);
    bytes.extend(frame(true, op::PING, false, Some(key), b"ping"));
    bytes.extend(frame(true, op::CONTINUATION, false, Some([9, 8, 7, 6]), b));
    // The canary is split across fragments and masked: raw bytes never show it.
    assert!(!bytes.windows(canary.len()).any(|w| w == canary.as_bytes()));
    let (r, n) = run(None, &[canary], &[(Direction::ToServer, &bytes)]);
    assert_eq!(n[0], 1);
    let hits = r.canaries();
    assert!(!hits.is_empty(), "{:?}", r.out.evidence);
    assert!(
        hits.iter()
            .all(|c| c.starts_with("tcp › websocket › ws-mask[no key needed]"))
    );
    assert_eq!(r.content("websocket.text").len(), 1);
}

#[test]
fn sixty_four_bit_lengths_and_binary_messages_reach_the_inner_stream() {
    let canary = "PSK-BIN64LEN";
    let mut payload = vec![0u8; 70_000];
    payload[65_000..65_000 + canary.len()].copy_from_slice(canary.as_bytes());
    let f = frame(true, op::BINARY, false, None, &payload);
    assert_eq!(f[1], 127);
    let pieces: Vec<(Direction, &[u8])> =
        f.chunks(1460).map(|c| (Direction::ToClient, c)).collect();
    let (r, n) = run(None, &[canary], &pieces);
    assert_eq!(n[1], 1);
    assert!(
        r.canaries()
            .iter()
            .any(|c| c == "tcp › websocket › ws-message"),
        "{:?}",
        r.canaries()
    );
}

#[test]
fn permessage_deflate_rfc7692_examples_with_context_takeover() {
    // RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello" compressed, then "Hello" again
    // compressed against the same window (a back-reference only).
    let first = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
    let env = env_with(&[]);
    let f = flow(Transport::Tcp, 80);
    let mut out = Collector::default();
    let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
    let mut ws = WebSocket::new(Some("permessage-deflate"), None, &env.limits);
    // A lost window would make the second message fail ("distance too far back").
    ws.on_data(&mut cx, Direction::ToClient, &first);
    ws.on_data(&mut cx, Direction::ToClient, &second);
    assert_eq!(ws.messages(Direction::ToClient), 2);
    assert!(
        !out.evidence
            .iter()
            .any(|e| matches!(e.kind, EvidenceKind::Anomaly { .. })),
        "{:?}",
        out.evidence
    );
}

/// Two server messages compressed with one compressor (context takeover):
/// the second refers back to the first.
fn two_takeover_messages(canary: &str) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut wire = Vec::new();
    for text in [format!("{canary} first"), format!("{canary} second")] {
        let mut buf = vec![0u8; 512];
        let before = c.total_out();
        c.compress(text.as_bytes(), &mut buf, flate2::FlushCompress::Sync)
            .unwrap();
        buf.truncate((c.total_out() - before) as usize);
        buf.truncate(buf.len() - 4);
        wire.extend(frame(true, op::BINARY, true, None, &buf));
    }
    wire
}

#[test]
fn the_inflate_window_is_kept_unless_no_context_takeover() {
    let canary = "PSK-CTXTAKE01";
    let wire = two_takeover_messages(canary);
    let (r, n) = run(
        Some("permessage-deflate"),
        &[canary],
        &[(Direction::ToClient, &wire)],
    );
    assert_eq!(n[1], 2);
    assert_eq!(r.canaries().len(), 2, "{:?}", r.out.evidence);
    // Negotiated without takeover, the window is reset after each message:
    // the back-reference in the second message then cannot show the canary.
    let (r, _) = run(
        Some("permessage-deflate; server_no_context_takeover"),
        &[canary],
        &[(Direction::ToClient, &wire)],
    );
    assert_eq!(r.canaries().len(), 1, "{:?}", r.out.evidence);
}

#[test]
fn compressed_text_is_reported_under_a_deflate_layer() {
    let canary = "PSK-DEFLATE01";
    let text = format!("the canary {canary} went through permessage-deflate");
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut buf = vec![0u8; 512];
    c.compress(text.as_bytes(), &mut buf, flate2::FlushCompress::Sync)
        .unwrap();
    buf.truncate(c.total_out() as usize);
    assert!(buf.ends_with(&DEFLATE_TAIL));
    buf.truncate(buf.len() - 4);
    let f = frame(true, op::TEXT, true, Some([1, 2, 3, 4]), &buf);
    let (r, n) = run(
        Some("permessage-deflate; client_max_window_bits"),
        &[canary],
        &[(Direction::ToServer, &f)],
    );
    assert_eq!(n[0], 1);
    let c = r.content("websocket.text");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].1, "tcp › websocket › ws-mask[no key needed] › deflate");
    assert!(
        r.canaries()
            .iter()
            .any(|c| c.ends_with("deflate › ws-message"))
    );
}

#[test]
fn json_text_reports_message_keys_only() {
    let msg = br#"{"type":"msg","data":{"text":"lunch at the usual place?","id":"a8f3kd92"}}"#;
    let f = frame(true, op::TEXT, false, None, msg);
    let (r, _) = run(None, &[], &[(Direction::ToClient, &f)]);
    let c = r.content("websocket.json.text");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, b"lunch at the usual place?");
    assert!(r.content("websocket.text").is_empty());
}

#[test]
fn random_binary_is_never_content() {
    let mut x: u64 = 0x1234_5678_9abc_def0;
    let noise: Vec<u8> = (0..4000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut bytes = frame(true, op::BINARY, false, Some([5, 6, 7, 8]), &noise);
    bytes.extend(frame(true, op::TEXT, false, None, b"a8f3kd92ZZ"));
    let (r, _) = run(None, &[], &[(Direction::ToServer, &bytes)]);
    assert!(
        !r.out
            .evidence
            .iter()
            .any(|e| matches!(e.kind, EvidenceKind::Content { .. })),
        "{:?}",
        r.out.evidence
    );
}

#[test]
fn close_code_and_protocol_errors() {
    let mut bytes = frame(
        true,
        op::CLOSE,
        false,
        None,
        &[0x03, 0xe8, b'b', b'y', b'e'],
    );
    bytes.extend([0x83, 0x00]);
    bytes.extend(frame(
        true,
        op::TEXT,
        false,
        None,
        b"never parsed after the error",
    ));
    let (r, _) = run(None, &[], &[(Direction::ToClient, &bytes)]);
    let close: Vec<_> = r
        .out
        .evidence
        .iter()
        .filter_map(|e| match &e.kind {
            EvidenceKind::Metadata { key, value } if key == "websocket.close" => {
                Some(value.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(close, vec!["1000"]);
    assert_eq!(r.anomalies(), vec!["websocket-framing"]);
    assert!(r.content("websocket.text").is_empty());
}

#[test]
fn truncated_and_corrupt_input_never_panics() {
    let f = hex(SIP_FRAME);
    let compressed = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    for input in [&f[..], &compressed[..]] {
        for cut in 0..input.len() {
            let _ = run(
                Some("permessage-deflate"),
                &[],
                &[(Direction::ToServer, &input[..cut])],
            );
            let mut flipped = input.to_vec();
            flipped[cut] ^= 0xa5;
            let _ = run(
                Some("permessage-deflate"),
                &[],
                &[(Direction::ToClient, &flipped)],
            );
        }
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn arbitrary_frames_in_any_pieces_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            step in 1usize..50,
            to_server in any::<bool>(),
        ) {
            let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
            let pieces: Vec<(Direction, &[u8])> = data.chunks(step).map(|c| (dir, c)).collect();
            let _ = run(Some("permessage-deflate"), &[], &pieces);
        }

        #[test]
        fn messages_survive_any_split(
            text in "[a-z ]{1,300}",
            key in any::<[u8; 4]>(),
            step in 1usize..40,
        ) {
            let canary = "PSK-SPLITWS01";
            let msg = format!("{text} {canary} {text}");
            let f = frame(true, op::TEXT, false, Some(key), msg.as_bytes());
            let pieces: Vec<(Direction, &[u8])> =
                f.chunks(step).map(|c| (Direction::ToServer, c)).collect();
            let (r, n) = run(None, &[canary], &pieces);
            prop_assert_eq!(n[0], 1);
            prop_assert!(!r.canaries().is_empty());
        }
    }
}
