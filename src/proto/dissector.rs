//! The dissector framework: how protocol parsers plug into flows.
//!
//! A flow's reassembled bytes enter a [`Stream`], which scans them for
//! canaries at its layer, probes the first bytes against the [`registry`]
//! (signatures first, port hints second), then hands them to the chosen
//! [`Dissector`]. A dissector that removes a layer (TLS decryption, HTTP
//! bodies, WebSocket unmasking) owns an inner [`Stream`] for what it decoded,
//! so nested layers are handled the same way as the outermost one and every
//! evidence item carries its layer chain.
//!
//! Dissectors never decide verdicts: they report evidence through [`Cx`].
//!
//! [`registry`]: crate::proto::registry

use crate::evidence::canary::{CanarySet, Hit, ScanState};
use crate::evidence::content::{self, TextStats};
use crate::evidence::{
    CryptoState, Evidence, EvidenceKind, Layer, Origin, PayloadClass, SubjectId,
};
use crate::model::{Direction, Transport};
use crate::proto::registry::{self, ProbeInput};
use crate::rules::apps::AppIndex;
use crate::secrets::SecretStore;
use std::borrow::Cow;

/// How sure a probe is that bytes belong to its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// Definitely not this protocol.
    No,
    /// Could be; more bytes are needed to tell.
    NeedMore,
    /// Only the port suggests it.
    Port,
    /// A weak signature matched.
    Likely,
    /// A strong signature matched.
    Certain,
}

/// A protocol parser attached to one stream (or datagram flow).
///
/// Implementations are driven with in-order bytes per direction; they keep
/// whatever partial state they need ("need more bytes" is their own buffer,
/// bounded). They must never panic on any input.
pub trait Dissector: Send {
    /// Protocol name for reports, e.g. `tls`, `http`, `mqtt`.
    fn protocol(&self) -> Cow<'static, str>;

    /// The next in-order bytes of one direction.
    fn on_data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]);

    /// Bytes missing from one direction: parsers must resynchronise or give up.
    fn on_gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        let _ = (dir, len);
        cx.anomaly(
            "stream-gap",
            format!("{len} bytes missing; {} lost sync", self.protocol()),
        );
    }

    /// One datagram (UDP flows).
    fn on_datagram(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        self.on_data(cx, dir, data);
    }

    /// The flow ended: flush buffers and report final state (crypto coverage, ...).
    fn finish(&mut self, cx: &mut Cx<'_>) {
        let _ = cx;
    }

    /// Whether the bytes this dissector sees are control/metadata only, so an
    /// unclaimed-payload classification would be wrong (DNS, STUN, handshakes).
    fn claims_payload(&self) -> bool {
        true
    }
}

/// Limits shared by every dissector.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Evidence items kept per subject (the rest are counted).
    pub max_evidence_per_subject: usize,
    /// Bytes buffered per direction while probing for a protocol.
    pub probe_bytes: usize,
    /// Cap on any single parser buffer (a record, a header block, a stanza).
    pub max_message: usize,
    /// Decompression output cap per body. Output is streamed, never buffered
    /// whole, so this bounds CPU spent on bombs, not memory (a real web page's
    /// script bundle can inflate past 8 MiB).
    pub max_decompressed: usize,
    /// Bytes of a content value kept as a sample for `--show-content`.
    pub sample_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_evidence_per_subject: 64,
            probe_bytes: 2048,
            max_message: 1 << 20,
            max_decompressed: 64 << 20,
            sample_bytes: 160,
        }
    }
}

/// Read-only environment of a run, shared by all flows.
pub struct Env {
    pub canaries: CanarySet,
    pub secrets: SecretStore,
    pub apps: AppIndex,
    pub limits: Limits,
    /// State the TLS/DTLS dissectors share across flows: TLS 1.2 session ids and
    /// tickets mapped to master secrets (resumption), and the run-wide budget
    /// for ciphertext kept while waiting for keys.
    pub tls: crate::proto::tls::session::Shared,
    /// Whether secrets may still be added during the run (a pcapng input can
    /// carry Decryption Secrets Blocks anywhere). When not, records that
    /// lack keys are counted, not kept for later.
    pub secrets_may_arrive: bool,
}

impl Env {
    pub fn new(canaries: CanarySet, secrets: SecretStore, apps: AppIndex) -> Env {
        Env {
            canaries,
            secrets,
            apps,
            limits: Limits::default(),
            tls: Default::default(),
            secrets_may_arrive: true,
        }
    }
}

/// Where the current bytes came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketRef {
    pub input: u32,
    /// 1-based packet number within the input.
    pub index: u64,
    pub file_offset: Option<u64>,
    pub ts: i64,
}

/// Per-flow facts every dissector may read.
#[derive(Debug, Clone)]
pub struct FlowInfo {
    pub id: u64,
    pub transport: Transport,
    pub client: std::net::SocketAddr,
    pub server: std::net::SocketAddr,
}

/// What a flow (or store) accumulated: evidence, protocol and app labels.
#[derive(Debug, Default)]
pub struct Collector {
    pub evidence: Vec<Evidence>,
    /// Evidence dropped because of the cap, by kind.
    pub omitted: u64,
    /// Innermost protocol name and the depth it was set at.
    pub protocol: Option<(usize, Cow<'static, str>)>,
    /// Protocol names by layer depth, outermost first.
    pub layer_names: Vec<String>,
    /// App and why it was attributed (signature, sni, dns, port).
    pub app: Option<(String, &'static str)>,
    /// Bytes scanned for canaries across all layers.
    pub scanned: u64,
    /// Addresses resolved by DNS answers seen in this flow, drained by the
    /// engine so later flows to those addresses are attributed by name.
    pub dns_answers: Vec<(std::net::IpAddr, String)>,
}

/// The context a dissector reports into.
pub struct Cx<'a> {
    pub env: &'a Env,
    pub flow: &'a FlowInfo,
    pub out: &'a mut Collector,
    pub pkt: PacketRef,
    layers: Vec<Layer>,
}

impl<'a> Cx<'a> {
    /// A context with an empty layer chain: each [`Stream`] pushes its own layer.
    pub fn new(env: &'a Env, flow: &'a FlowInfo, out: &'a mut Collector, pkt: PacketRef) -> Cx<'a> {
        Cx {
            env,
            flow,
            out,
            pkt,
            layers: Vec::with_capacity(4),
        }
    }

    /// The current layer chain, outermost first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Depth of the current layer (0 = transport).
    pub fn depth(&self) -> usize {
        self.layers.len().saturating_sub(1)
    }

    /// Runs `f` one layer deeper.
    pub fn with_layer<R>(&mut self, layer: Layer, f: impl FnOnce(&mut Cx<'_>) -> R) -> R {
        self.layers.push(layer);
        let r = f(self);
        self.layers.pop();
        r
    }

    fn origin(&self) -> Origin {
        Origin {
            input: Some(self.pkt.input),
            packet: (self.pkt.index > 0).then_some(self.pkt.index),
            file_offset: self.pkt.file_offset,
        }
    }

    /// Records one evidence item at the current layer.
    pub fn emit(&mut self, kind: EvidenceKind, dir: Option<Direction>, offset: Option<u64>) {
        let ev = Evidence {
            kind,
            subject: SubjectId::Flow(self.flow.id),
            layers: self.layers.clone(),
            dir,
            offset,
            origin: self.origin(),
        };
        push_capped(self.out, ev, self.env.limits.max_evidence_per_subject);
    }

    /// Scans stream bytes of the current layer for canaries.
    pub fn scan(&mut self, st: &mut ScanState, dir: Direction, data: &[u8]) {
        self.out.scanned += data.len() as u64;
        if self.env.canaries.is_empty() {
            st.gap(data.len() as u64);
            return;
        }
        let mut hits = Vec::new();
        self.env.canaries.scan(st, data, |h| hits.push(h));
        self.emit_hits(hits, dir, true);
    }

    /// Reports canary hits as evidence, at their stream offsets when the
    /// bytes were a stream (not one complete field value).
    fn emit_hits(&mut self, hits: Vec<Hit>, dir: Direction, at_offset: bool) {
        for h in hits {
            self.emit(
                EvidenceKind::Canary {
                    canary: h.canary,
                    encoding: h.encoding,
                    context: h.context,
                },
                Some(dir),
                at_offset.then_some(h.offset),
            );
        }
    }

    /// A stream of the current layer ended: reports a canary hit the matcher
    /// still held back for one more byte, then frees the matcher state.
    pub fn scan_end(&mut self, st: &mut ScanState, dir: Direction) {
        let mut hits = Vec::new();
        self.env.canaries.finish(st, |h| hits.push(h));
        self.emit_hits(hits, dir, true);
    }

    /// Reports a complete value from a field that carries message text
    /// (`xmpp.body`, `mqtt.publish.payload`, `irc.privmsg`, ...). The value is
    /// searched for canaries and judged for human text.
    pub fn content(&mut self, dir: Direction, field: &'static str, value: &[u8]) {
        self.out.scanned += value.len() as u64;
        let mut hits = Vec::new();
        self.env.canaries.scan_once(value, |h| hits.push(h));
        let nhits = hits.len();
        self.emit_hits(hits, dir, false);
        if nhits > 0 || content::is_message_text(value) {
            let cap = self.env.limits.sample_bytes.min(value.len());
            self.emit(
                EvidenceKind::Content {
                    field: Cow::Borrowed(field),
                    class: PayloadClass::Text,
                    len: value.len() as u64,
                    sample: value[..cap].to_vec(),
                },
                Some(dir),
                None,
            );
        }
    }

    /// Metadata visible to an observer (SNI, DNS name, ALPN, version string, ...).
    pub fn meta(&mut self, key: &'static str, value: impl Into<String>) {
        self.emit(
            EvidenceKind::Metadata {
                key: Cow::Borrowed(key),
                value: value.into(),
            },
            None,
            None,
        );
    }

    /// A credential crossed in the clear (the secret itself is never recorded).
    pub fn credential(&mut self, dir: Direction, key: &'static str, user: Option<String>) {
        self.emit(
            EvidenceKind::Credential {
                key: Cow::Borrowed(key),
                user,
            },
            Some(dir),
            None,
        );
    }

    /// The state of an encrypted layer at the current depth.
    pub fn crypto(
        &mut self,
        protocol: &'static str,
        state: CryptoState,
        records: u64,
        decrypted: u64,
    ) {
        self.emit(
            EvidenceKind::Crypto {
                protocol: Cow::Borrowed(protocol),
                state,
                records,
                decrypted,
            },
            None,
            None,
        );
    }

    /// The innermost payload is a recognised end-to-end envelope.
    pub fn e2e(&mut self, dir: Direction, scheme: &'static str) {
        self.emit(
            EvidenceKind::E2eEnvelope {
                scheme: Cow::Borrowed(scheme),
            },
            Some(dir),
            None,
        );
    }

    /// A parsing or reassembly anomaly.
    pub fn anomaly(&mut self, code: &'static str, detail: impl Into<String>) {
        self.emit(
            EvidenceKind::Anomaly {
                code: Cow::Borrowed(code),
                detail: detail.into(),
            },
            None,
            None,
        );
    }

    /// Names the protocol at the current depth; the innermost one names the flow.
    pub fn set_protocol(&mut self, name: impl Into<Cow<'static, str>>) {
        let name = name.into();
        let depth = self.depth();
        if self.out.layer_names.len() <= depth {
            self.out.layer_names.resize(depth + 1, String::new());
        }
        self.out.layer_names[depth] = name.to_string();
        match &self.out.protocol {
            Some((d, _)) if *d > depth => {}
            _ => self.out.protocol = Some((depth, name)),
        }
    }

    /// Attributes the flow to an app. Stronger reasons replace weaker ones:
    /// signature > sni > dns > port.
    pub fn set_app(&mut self, app: &str, why: &'static str) {
        let rank = |w: &str| match w {
            "signature" => 4,
            "sni" => 3,
            "dns" => 2,
            "ip" => 2,
            _ => 1,
        };
        let replace = match &self.out.app {
            None => true,
            Some((_, old)) => rank(why) > rank(old),
        };
        if replace {
            self.out.app = Some((app.to_string(), why));
        }
    }

    /// Records a server name (SNI, QUIC SNI, HTTP Host) and attributes the app from it.
    pub fn server_name(&mut self, key: &'static str, name: &str) {
        self.meta(key, name.to_string());
        if let Some(app) = self.env.apps.by_name(name) {
            let app = app.to_string();
            self.set_app(&app, "sni");
        }
    }
}

/// Adds evidence under the per-subject cap.
///
/// The verdict must not change because of the cap, so evidence it reads is
/// treated by *kind of fact*: beyond the cap, a canary, content, payload,
/// crypto or E2E item is dropped only when an equivalent item (same kind,
/// same decisive fields, same keyed/residue provenance) is already kept, and
/// it displaces a metadata, credential, anomaly or retention item first.
pub fn push_capped(out: &mut Collector, ev: Evidence, cap: usize) {
    if out.evidence.len() < cap {
        out.evidence.push(ev);
        return;
    }
    let Some(key) = verdict_key(&ev) else {
        out.omitted += 1;
        return;
    };
    if out
        .evidence
        .iter()
        .any(|e| verdict_key(e).as_ref() == Some(&key))
    {
        out.omitted += 1;
        return;
    }
    if let Some(pos) = out.evidence.iter().rposition(|e| verdict_key(e).is_none()) {
        out.evidence[pos] = ev;
    } else {
        out.evidence.push(ev);
    }
    out.omitted += 1;
}

/// What makes an evidence item matter to the verdict engine, or `None` when
/// it does not (metadata, credentials, anomalies, retention notes).
fn verdict_key(e: &Evidence) -> Option<(u8, String, bool, bool)> {
    let k = match &e.kind {
        EvidenceKind::Canary {
            canary, encoding, ..
        } => (0, format!("{canary}/{}", encoding.as_str())),
        EvidenceKind::Content { field, .. } => (1, field.to_string()),
        EvidenceKind::Payload { class, .. } => (2, class.as_str().to_string()),
        EvidenceKind::Crypto {
            protocol, state, ..
        } => (3, format!("{protocol}/{state:?}")),
        EvidenceKind::E2eEnvelope { scheme } => (4, scheme.to_string()),
        _ => return None,
    };
    Some((k.0, k.1, e.keyed(), e.residue()))
}

/// Which dissector a [`Stream`] should try first.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    /// A protocol announced by the outer layer (ALPN `h2`, STARTTLS, WebSocket subprotocol).
    pub protocol: Option<&'static str>,
}

enum State {
    /// Buffering the first bytes of each direction until a probe decides.
    Probing {
        buf: [Vec<u8>; 2],
        datagrams: Vec<(Direction, Vec<u8>)>,
    },
    /// A dissector owns the stream.
    Dissecting(Box<dyn Dissector>),
    /// No protocol recognised: bytes are only scanned and classified.
    Unknown,
}

/// One decoded byte stream (both directions) at one layer.
pub struct Stream {
    layer: Layer,
    hint: Hint,
    scan: [ScanState; 2],
    stats: [TextStats; 2],
    state: State,
    datagram: bool,
}

impl Stream {
    /// A stream of bytes (TCP, decrypted TLS, an HTTP body, ...).
    pub fn new(layer: Layer, hint: Hint) -> Stream {
        Stream {
            layer,
            hint,
            scan: Default::default(),
            stats: Default::default(),
            state: State::Probing {
                buf: Default::default(),
                datagrams: Vec::new(),
            },
            datagram: false,
        }
    }

    /// A datagram flow (UDP, decrypted DTLS, QUIC streams are streams).
    pub fn datagrams(layer: Layer, hint: Hint) -> Stream {
        let mut s = Stream::new(layer, hint);
        s.datagram = true;
        s
    }

    pub fn layer(&self) -> &Layer {
        &self.layer
    }

    /// The protocol of the dissector owning this stream, if any.
    pub fn protocol(&self) -> Option<Cow<'static, str>> {
        match &self.state {
            State::Dissecting(d) => Some(d.protocol()),
            _ => None,
        }
    }

    /// Bytes of one direction, in order.
    pub fn data(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        cx.layers.push(self.layer.clone());
        self.data_in_layer(cx, dir, data);
        cx.layers.pop();
    }

    fn data_in_layer(&mut self, cx: &mut Cx<'_>, dir: Direction, data: &[u8]) {
        let d = dir.index();
        cx.scan(&mut self.scan[d], dir, data);
        match &mut self.state {
            State::Dissecting(dis) => {
                if !dis.claims_payload() {
                    self.stats[d].feed(data);
                }
                if self.datagram {
                    dis.on_datagram(cx, dir, data)
                } else {
                    dis.on_data(cx, dir, data)
                }
            }
            State::Unknown => self.stats[d].feed(data),
            State::Probing { buf, datagrams } => {
                self.stats[d].feed(data);
                if self.datagram {
                    datagrams.push((dir, data.to_vec()));
                } else {
                    let room = cx.env.limits.probe_bytes.saturating_sub(buf[d].len());
                    buf[d].extend_from_slice(&data[..data.len().min(room)]);
                    if data.len() > room {
                        // Probe buffer full: decide now and deliver the rest.
                        self.decide(cx, true);
                        self.replay_rest(cx, dir, &data[room..]);
                        return;
                    }
                }
                self.decide(cx, false);
            }
        }
    }

    fn replay_rest(&mut self, cx: &mut Cx<'_>, dir: Direction, rest: &[u8]) {
        // `rest` was already fed to the stats while probing.
        if let State::Dissecting(dis) = &mut self.state {
            dis.on_data(cx, dir, rest);
        }
    }

    /// Runs the probes; on a decision, replays buffered bytes into the dissector.
    fn decide(&mut self, cx: &mut Cx<'_>, force: bool) {
        let State::Probing { buf, datagrams } = &mut self.state else {
            return;
        };
        let input = ProbeInput {
            transport: if self.datagram {
                Transport::Udp
            } else {
                cx.flow.transport
            },
            to_server: &buf[0],
            to_client: &buf[1],
            datagrams,
            client_port: cx.flow.client.port(),
            server_port: cx.flow.server.port(),
            depth: cx.depth(),
            hint: self.hint.protocol,
        };
        let Some(choice) = registry::choose(&input, force) else {
            return;
        };
        let buf = std::mem::take(buf);
        let datagrams = std::mem::take(datagrams);
        match choice {
            registry::Choice::Dissector(make) => {
                let mut dis = make(&input_owned(cx, self.datagram), cx.env);
                cx.set_protocol(dis.protocol());
                if self.datagram {
                    for (dir, dg) in &datagrams {
                        dis.on_datagram(cx, *dir, dg);
                    }
                } else {
                    // Replay client bytes first: request/response protocols expect it.
                    for dir in [Direction::ToServer, Direction::ToClient] {
                        let b = &buf[dir.index()];
                        if !b.is_empty() {
                            dis.on_data(cx, dir, b);
                        }
                    }
                }
                self.state = State::Dissecting(dis);
            }
            registry::Choice::Unknown => self.state = State::Unknown,
        }
    }

    /// A hole in one direction.
    pub fn gap(&mut self, cx: &mut Cx<'_>, dir: Direction, len: u64) {
        self.scan[dir.index()].gap(len);
        cx.layers.push(self.layer.clone());
        match &mut self.state {
            State::Dissecting(d) => d.on_gap(cx, dir, len),
            State::Probing { .. } => {
                self.decide(cx, true);
                if let State::Dissecting(d) = &mut self.state {
                    d.on_gap(cx, dir, len);
                }
            }
            State::Unknown => {}
        }
        cx.layers.pop();
    }

    /// The stream ended: decide what it was and flush the dissector.
    pub fn finish(&mut self, cx: &mut Cx<'_>) {
        cx.layers.push(self.layer.clone());
        if matches!(self.state, State::Probing { .. }) {
            self.decide(cx, true);
        }
        let classify = match &mut self.state {
            State::Dissecting(d) => {
                d.finish(cx);
                !d.claims_payload()
            }
            _ => true,
        };
        if classify {
            for dir in [Direction::ToServer, Direction::ToClient] {
                if let Some(s) = self.stats[dir.index()].summary() {
                    cx.emit(
                        EvidenceKind::Payload {
                            class: s.class,
                            bytes: self.stats[dir.index()].total(),
                            entropy: s.entropy,
                            printable: s.printable,
                        },
                        Some(dir),
                        None,
                    );
                }
            }
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            cx.scan_end(&mut self.scan[dir.index()], dir);
        }
        cx.layers.pop();
    }
}

fn input_owned(cx: &Cx<'_>, datagram: bool) -> registry::FlowHint {
    registry::FlowHint {
        transport: if datagram {
            Transport::Udp
        } else {
            cx.flow.transport
        },
        client_port: cx.flow.client.port(),
        server_port: cx.flow.server.port(),
        depth: cx.depth(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::provenance::KeySource;
    use crate::evidence::{Layer, Origin, PayloadClass};

    fn ev(kind: EvidenceKind, keyed: bool) -> Evidence {
        let mut layers = vec![Layer::plain("tcp")];
        if keyed {
            layers.push(Layer::keyed("tls1.3", KeySource::KeyLog));
        }
        Evidence {
            kind,
            subject: SubjectId::Flow(1),
            layers,
            dir: None,
            offset: None,
            origin: Origin::default(),
        }
    }

    fn payload(class: PayloadClass) -> EvidenceKind {
        EvidenceKind::Payload {
            class,
            bytes: 100,
            entropy: 1.0,
            printable: 1.0,
        }
    }

    #[test]
    fn the_cap_never_hides_a_fact_the_verdict_needs() {
        let mut out = Collector::default();
        let meta = || EvidenceKind::Metadata {
            key: "http.path".into(),
            value: "/".into(),
        };
        push_capped(
            &mut out,
            ev(
                EvidenceKind::Crypto {
                    protocol: "tls1.3".into(),
                    state: crate::evidence::CryptoState::Opened,
                    records: 9,
                    decrypted: 9,
                },
                false,
            ),
            4,
        );
        for _ in 0..3 {
            push_capped(&mut out, ev(meta(), false), 4);
        }
        for _ in 0..10 {
            push_capped(&mut out, ev(payload(PayloadClass::HighEntropy), true), 4);
        }
        // A later plaintext payload inside the transport must survive: dropping
        // it would turn a server-readable flow into a false `sealed`.
        push_capped(&mut out, ev(payload(PayloadClass::Text), true), 4);
        let classes: Vec<_> = out
            .evidence
            .iter()
            .filter_map(|e| match e.kind {
                EvidenceKind::Payload { class, .. } => Some(class),
                _ => None,
            })
            .collect();
        assert!(classes.contains(&PayloadClass::Text), "{classes:?}");
        assert_eq!(
            crate::verdict::flow(&out.evidence, &|_| String::new()).verdict,
            crate::model::Verdict::ServerReadable
        );
        // Repeats of known facts are counted, not kept.
        assert!(out.evidence.len() <= 6);
        assert!(out.omitted >= 9);
        // Metadata beyond the cap is dropped.
        let before = out.evidence.len();
        push_capped(&mut out, ev(meta(), false), 4);
        assert_eq!(out.evidence.len(), before);
    }
}
