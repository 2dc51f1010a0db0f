//! DNS over UDP and TCP (and mDNS, LLMNR, DoT once TLS is opened, DoH bodies).
//!
//! DNS carries no message content, but every name an app resolves is visible
//! to the network: queries become `dns.query` metadata, addresses become
//! `dns.answer` metadata and are handed to the engine (through
//! [`Collector::dns_answers`]) so later flows to those addresses are
//! attributed to the app whose name was resolved. HTTPS/SVCB records that
//! advertise an ECH configuration are reported as `dns.https-ech`.
//!
//! [`Collector::dns_answers`]: crate::proto::dissector::Collector::dns_answers

pub mod parse;

use crate::model::{Direction, Transport};
use crate::proto::dissector::{Confidence, Cx, Dissector, Env};
use crate::proto::http::seen::Seen;
use crate::proto::registry::{FlowHint, ProbeInput};
use parse::{Header, Message, RData, SvcParam, rtype, type_name};
use std::borrow::Cow;
use std::net::IpAddr;

/// Ports where DNS is spoken in the clear: DNS, mDNS, LLMNR.
const PORTS: [u16; 3] = [53, 5353, 5355];
/// DNS over TLS: the DNS framing appears once TLS is opened.
const DOT_PORT: u16 = 853;
/// Most resolved addresses handed to the engine per flow.
const MAX_ANSWERS: usize = 256;
/// Most distinct values reported per metadata key and flow.
const MAX_PER_KEY: u16 = 16;
/// Largest TCP-framed message (the length prefix is 16 bits).
const MAX_TCP_MESSAGE: usize = 65535;

/// Which flavour of DNS a flow speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Dns,
    Mdns,
    Llmnr,
}

pub struct Dns {
    flavour: Flavour,
    /// TCP framing: bytes of an incomplete `len u16 | message` per direction.
    tcp: [Vec<u8>; 2],
    /// A direction lost sync after a gap.
    lost: [bool; 2],
    dot: bool,
    reported_dot: bool,
    malformed: bool,
    seen: Seen,
    messages: u64,
}

impl Dns {
    pub fn new(hint: &FlowHint) -> Dns {
        let port = |p| hint.server_port == p || hint.client_port == p;
        let flavour = if port(5353) {
            Flavour::Mdns
        } else if port(5355) {
            Flavour::Llmnr
        } else {
            Flavour::Dns
        };
        Dns {
            flavour,
            tcp: Default::default(),
            lost: [false; 2],
            dot: hint.transport == Transport::Tcp && hint.depth > 0 && port(DOT_PORT),
            reported_dot: false,
            malformed: false,
            seen: Seen::default(),
            messages: 0,
        }
    }

    /// Messages parsed so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// One complete DNS message (a datagram, a TCP frame, a DoH body).
    pub fn message(&mut self, cx: &mut Cx<'_>, msg: &[u8]) {
        if self.dot && !self.reported_dot {
            self.reported_dot = true;
            cx.meta("dns.transport", "dot");
        }
        match parse::parse(msg) {
            Ok(m) => {
                self.messages += 1;
                self.report(cx, &m);
            }
            Err(e) => {
                if !self.malformed {
                    self.malformed = true;
                    cx.anomaly("dns-malformed", e.to_string());
                }
            }
        }
    }

    fn attribute(cx: &mut Cx<'_>, name: &str) {
        if let Some(app) = cx.env.apps.by_dns(name) {
            let app = app.to_string();
            cx.set_app(&app, "dns");
        }
    }

    fn answer(&mut self, cx: &mut Cx<'_>, name: &str, ip: IpAddr) {
        if cx.out.dns_answers.len() < MAX_ANSWERS
            && !cx
                .out
                .dns_answers
                .iter()
                .any(|(a, n)| *a == ip && n == name)
        {
            cx.out.dns_answers.push((ip, name.to_string()));
        }
        let v = format!("{name} → {ip}");
        if self.seen.first("dns.answer", &v, MAX_PER_KEY) {
            cx.meta("dns.answer", v);
        }
    }

    fn report(&mut self, cx: &mut Cx<'_>, m: &Message) {
        for q in &m.questions {
            let v = format!("{} {}", q.name, type_name(q.qtype));
            if self.seen.first("dns.query", &v, MAX_PER_KEY) {
                cx.meta("dns.query", v);
            }
            Self::attribute(cx, &q.name);
        }
        if !m.header.is_response() {
            return;
        }
        // Addresses are attributed to the name the client asked for: a CNAME
        // chain (e7.whatsapp.net → a CDN name → address) ends elsewhere.
        let asked = match m.questions.as_slice() {
            [q] => Some(q.name.as_str()),
            _ => None,
        };
        for r in m.answers() {
            let name = asked.unwrap_or(&r.name);
            match &r.data {
                RData::A(a) => self.answer(cx, name, IpAddr::V4(*a)),
                RData::Aaaa(a) => self.answer(cx, name, IpAddr::V6(*a)),
                RData::Name(target) if r.rtype == rtype::CNAME => Self::attribute(cx, target),
                RData::Svcb { params, .. } => {
                    for p in params {
                        match p {
                            SvcParam::Ech(_)
                                if self.seen.first("dns.https-ech", &r.name, MAX_PER_KEY) =>
                            {
                                cx.meta("dns.https-ech", r.name.clone());
                            }
                            SvcParam::Ipv4Hint(v) => {
                                for a in v {
                                    self.answer(cx, name, IpAddr::V4(*a));
                                }
                            }
                            SvcParam::Ipv6Hint(v) => {
                                for a in v {
                                    self.answer(cx, name, IpAddr::V6(*a));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

impl Dissector for Dns {
    fn protocol(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self.flavour {
            Flavour::Dns => "dns",
            Flavour::Mdns => "mdns",
            Flavour::Llmnr => "llmnr",
        })
    }

    /// TCP: messages framed by a 2-byte length (RFC 1035 §4.2.2, RFC 7858).
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        if self.lost[d] {
            return;
        }
        let mut buf = std::mem::take(&mut self.tcp[d]);
        buf.extend_from_slice(data);
        let mut pos = 0;
        while let Some(&[hi, lo]) = buf.get(pos..pos + 2) {
            let n = usize::from(u16::from_be_bytes([hi, lo]));
            let Some(msg) = buf.get(pos + 2..pos + 2 + n) else {
                break;
            };
            self.message(cx, msg);
            pos += 2 + n;
        }
        buf.drain(..pos);
        debug_assert!(buf.len() < 2 + MAX_TCP_MESSAGE);
        self.tcp[d] = buf;
    }

    fn on_datagram(&mut self, cx: &mut Cx<'_>, _dir: Direction, data: &[u8]) {
        self.message(cx, data);
    }

    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let d = dir.index();
        self.tcp[d].clear();
        self.lost[d] = true;
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; dns framing lost"),
        );
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.tcp.iter().any(|b| !b.is_empty()) {
            cx.anomaly("dns-truncated", "a TCP-framed DNS message was cut short");
        }
    }
}

/// Registry probe: a well-formed DNS message on a DNS port (or announced by
/// the outer layer); the port alone only as a hint.
pub fn probe(input: &ProbeInput<'_>) -> Confidence {
    let port = input.port_in(&PORTS) || (input.depth > 0 && input.port_in(&[DOT_PORT]));
    let hinted = input.hint == Some("dns");
    if !(port || hinted) {
        return Confidence::No;
    }
    if input.transport == Transport::Udp || !input.datagrams.is_empty() {
        let Some((_, d)) = input.datagrams.first() else {
            return Confidence::NeedMore;
        };
        return match parse::parse(d) {
            Ok(m) if m.header.plausible(d.len()) => Confidence::Certain,
            _ => Confidence::Port,
        };
    }
    let b = if input.to_server.is_empty() {
        input.to_client
    } else {
        input.to_server
    };
    let Some(&[hi, lo]) = b.get(..2) else {
        return Confidence::NeedMore;
    };
    let n = usize::from(u16::from_be_bytes([hi, lo]));
    let Some(h) = b.get(2..).and_then(Header::parse) else {
        return Confidence::NeedMore;
    };
    if !h.plausible(n) {
        return Confidence::No;
    }
    match b.get(2..2 + n) {
        Some(msg) if parse::parse(msg).is_ok() => Confidence::Certain,
        Some(_) => Confidence::No,
        None => Confidence::Likely,
    }
}

pub fn make(hint: &FlowHint, _env: &Env) -> Box<dyn Dissector> {
    Box::new(Dns::new(hint))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::parse::tests::{WHATSAPP_A, hex};
    use super::*;
    use crate::evidence::canary::CanarySet;
    use crate::evidence::{EvidenceKind, Layer};
    use crate::proto::dissector::{Collector, FlowInfo, Hint, PacketRef, Stream};
    use crate::rules::apps::AppIndex;
    use crate::secrets::SecretStore;

    /// An environment with one app profile (`*.whatsapp.net`) and `canaries`.
    pub fn env_with(canaries: &[&str]) -> Env {
        let mut rules = crate::rules::RuleSet::default();
        let mut errors = Vec::new();
        crate::rules::load::load_text(
            &mut rules,
            "test.toml",
            "[app]\nid = \"whatsapp\"\nname = \"WhatsApp\"\nsni = [\"*.whatsapp.net\"]\n",
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let canaries = canaries
            .iter()
            .map(|t| crate::evidence::canary::Canary {
                text: t.to_string(),
                label: None,
                created: None,
            })
            .collect();
        Env::new(
            CanarySet::new(canaries).unwrap(),
            SecretStore::default(),
            AppIndex::new(&rules.apps),
        )
    }

    pub fn env() -> Env {
        env_with(&[])
    }

    pub fn flow(transport: Transport, server_port: u16) -> FlowInfo {
        FlowInfo {
            id: 1,
            transport,
            client: "10.0.0.2:40000".parse().unwrap(),
            server: format!("10.0.0.1:{server_port}").parse().unwrap(),
        }
    }

    pub fn meta(c: &Collector, key: &str) -> Vec<String> {
        c.evidence
            .iter()
            .filter_map(|e| match &e.kind {
                EvidenceKind::Metadata { key: k, value } if k == key => Some(value.clone()),
                _ => None,
            })
            .collect()
    }

    /// The query of frame 4 of ndpi/dns.pcap.
    const QUERY: &str = "78430100000100000000000002653708776861747361707003\
        6e65740000010001";

    #[test]
    fn udp_query_and_answer_become_metadata_and_resolved_addresses() {
        let env = env();
        let f = flow(Transport::Udp, 53);
        let mut out = Collector::default();
        let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
        let mut s = Stream::datagrams(Layer::plain("udp"), Hint::default());
        s.data(&mut cx, Direction::ToServer, &hex(QUERY));
        s.data(&mut cx, Direction::ToClient, &hex(WHATSAPP_A));
        s.finish(&mut cx);
        assert_eq!(s.protocol().as_deref(), Some("dns"));
        assert_eq!(meta(&out, "dns.query"), vec!["e7.whatsapp.net A"]);
        let answers = meta(&out, "dns.answer");
        assert_eq!(answers.len(), 8);
        assert_eq!(answers[0], "e7.whatsapp.net → 169.45.219.235");
        assert_eq!(out.dns_answers.len(), 8);
        assert_eq!(out.app, Some(("whatsapp".to_string(), "dns")));
        assert_eq!(
            out.dns_answers[0],
            ("169.45.219.235".parse().unwrap(), "e7.whatsapp.net".into())
        );
        // No message content and no payload classification for DNS.
        assert!(
            out.evidence
                .iter()
                .all(|e| matches!(e.kind, EvidenceKind::Metadata { .. }))
        );
        let v = crate::verdict::flow(&out.evidence, &|i| i.to_string());
        assert_eq!(v.verdict, crate::model::Verdict::NoContent);
        let ids = crate::proto::http::tests::fired(&out, "dns");
        assert_eq!(ids, vec!["dns-reveals-service"]);
    }

    #[test]
    fn tcp_framing_split_at_every_byte() {
        let env = env();
        let msg = hex(WHATSAPP_A);
        let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
        framed.extend(&msg);
        framed.extend((msg.len() as u16).to_be_bytes());
        framed.extend(&msg);
        for cut in 0..framed.len() {
            let f = flow(Transport::Tcp, 53);
            let mut out = Collector::default();
            let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
            let mut d = Dns::new(&FlowHint {
                transport: Transport::Tcp,
                client_port: 40000,
                server_port: 53,
                depth: 0,
            });
            d.on_data(&mut cx, Direction::ToClient, &framed[..cut]);
            d.on_data(&mut cx, Direction::ToClient, &framed[cut..]);
            d.finish(&mut cx);
            assert_eq!(d.messages(), 2, "cut {cut}");
            assert_eq!(meta(&out, "dns.answer").len(), 8);
        }
    }

    #[test]
    fn probe_needs_a_dns_port_and_a_valid_message() {
        let q = hex(QUERY);
        let dg = vec![(Direction::ToServer, q.clone())];
        let input = |port: u16, datagrams| ProbeInput {
            transport: Transport::Udp,
            to_server: &[],
            to_client: &[],
            datagrams,
            client_port: 40000,
            server_port: port,
            depth: 0,
            hint: None,
        };
        assert_eq!(probe(&input(53, &dg)), Confidence::Certain);
        assert_eq!(probe(&input(5353, &dg)), Confidence::Certain);
        assert_eq!(probe(&input(4444, &dg)), Confidence::No);
        let junk = vec![(Direction::ToServer, b"hello world, not dns".to_vec())];
        assert_eq!(probe(&input(53, &junk)), Confidence::Port);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend(&q);
        let tcp = |b: &[u8], depth, port| {
            probe(&ProbeInput {
                transport: Transport::Tcp,
                to_server: b,
                to_client: &[],
                datagrams: &[],
                client_port: 40000,
                server_port: port,
                depth,
                hint: None,
            })
        };
        assert_eq!(tcp(&framed, 0, 53), Confidence::Certain);
        assert_eq!(tcp(&framed[..20], 0, 53), Confidence::Likely);
        assert_eq!(tcp(&framed[..1], 0, 53), Confidence::NeedMore);
        assert_eq!(tcp(&framed, 0, 853), Confidence::No);
        assert_eq!(tcp(&framed, 1, 853), Confidence::Certain);
        assert_eq!(tcp(b"GET / HTTP/1.1\r\n\r\n", 0, 53), Confidence::No);
    }

    #[test]
    fn dot_inside_tls_is_reported_as_such() {
        let env = env();
        let f = flow(Transport::Tcp, 853);
        let mut out = Collector::default();
        let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
        let mut d = Dns::new(&FlowHint {
            transport: Transport::Tcp,
            client_port: 40000,
            server_port: 853,
            depth: 1,
        });
        let q = hex(QUERY);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend(&q);
        d.on_data(&mut cx, Direction::ToServer, &framed);
        assert_eq!(meta(&out, "dns.transport"), vec!["dot"]);
        assert_eq!(meta(&out, "dns.query"), vec!["e7.whatsapp.net A"]);
    }

    #[test]
    fn malformed_messages_are_one_anomaly() {
        let env = env();
        let f = flow(Transport::Udp, 53);
        let mut out = Collector::default();
        let mut cx = Cx::new(&env, &f, &mut out, PacketRef::default());
        let mut d = Dns::new(&FlowHint {
            transport: Transport::Udp,
            client_port: 40000,
            server_port: 53,
            depth: 0,
        });
        let mut m = hex(WHATSAPP_A);
        m.truncate(40);
        d.on_datagram(&mut cx, Direction::ToClient, &m);
        d.on_datagram(&mut cx, Direction::ToClient, &m);
        let anomalies = out
            .evidence
            .iter()
            .filter(|e| matches!(e.kind, EvidenceKind::Anomaly { .. }))
            .count();
        assert_eq!(anomalies, 1);
    }
}
