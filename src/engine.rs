//! The traffic pipeline: packets → decode → flows and reassembly → dissectors
//! → evidence → (on flow end) verdict, findings → report builder.
//!
//! One pass, pushing: the packet source calls [`Engine`] as a [`PacketSink`];
//! finished flows leave the flow table at once and only their compact
//! summaries stay in memory.

use crate::decode::{Decoder, DefragLimits, L4, Outcome};
use crate::evidence::provenance::KeySource;
use crate::evidence::{EvidenceKind, Layer};
use crate::flow::table::{EndReason, Endpoints, FlowLimits, FlowTable, OrientationHint};
use crate::flow::tcp::{Delivery, Flags, MemBudget, TcpAnomaly, TcpHalf, TcpLimits};
use crate::model::{Direction, Transport};
use crate::proto::dissector::{Collector, Cx, Env, FlowInfo, Hint, PacketRef, Stream};
use crate::report::build::{FlowRecord, ReportBuilder};
use crate::report::model::Stats;
use crate::rules::apps::AppIndex;
use crate::source::{Packet, PacketSink, SecretOrigin};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// Tunables of the traffic pipeline.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub flows: FlowLimits,
    pub tcp: TcpLimits,
    /// Out-of-order bytes buffered across all flows.
    pub memory_cap: usize,
    pub defrag: DefragLimits,
    /// Resolved names remembered for attributing later flows.
    pub max_dns_names: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            flows: FlowLimits::default(),
            tcp: TcpLimits::default(),
            memory_cap: 32 << 20,
            defrag: DefragLimits::default(),
            max_dns_names: 65_536,
        }
    }
}

/// Everything the pipeline knows about one flow while it is alive.
struct FlowState {
    info: FlowInfo,
    out: Collector,
    root: Stream,
    tcp: Option<Box<[TcpHalf; 2]>>,
    packets: [u64; 2],
    bytes: [u64; 2],
    payload: [u64; 2],
    first_ts: i64,
    last_ts: i64,
    /// The name the server address was resolved from earlier in the capture.
    server_name: Option<String>,
    /// Index of the input the flow came from.
    input: u32,
}

/// The traffic half of plainsight, driven packet by packet.
pub struct Engine<'r, 'b> {
    pub env: Env,
    cfg: EngineConfig,
    table: FlowTable<FlowState>,
    decoder: Decoder,
    budget: MemBudget,
    builder: &'b mut ReportBuilder<'r>,
    dns: FxHashMap<IpAddr, String>,
    stats: Stats,
    input: u32,
    input_name: String,
}

impl<'r, 'b> Engine<'r, 'b> {
    pub fn new(env: Env, cfg: EngineConfig, builder: &'b mut ReportBuilder<'r>) -> Self {
        Engine {
            env,
            table: FlowTable::new(cfg.flows.clone()),
            decoder: Decoder::new(cfg.defrag),
            budget: MemBudget::new(cfg.memory_cap),
            cfg,
            builder,
            dns: FxHashMap::default(),
            stats: Stats::default(),
            input: 0,
            input_name: String::new(),
        }
    }

    /// Starts a new input (file or interface); flows never span inputs.
    pub fn begin_input(&mut self, index: u32, name: &str) {
        self.input = index;
        self.input_name = name.to_string();
    }

    /// Ends the current input: every remaining flow is finalised.
    pub fn end_input(&mut self) {
        let Engine {
            table,
            env,
            budget,
            builder,
            stats,
            dns,
            ..
        } = self;
        table.drain(&mut |_, _, st, reason| {
            finalize(env, budget, builder, stats, dns, st, reason);
        });
    }

    /// Records a finished input in the report.
    pub fn add_input(&mut self, input: crate::report::model::Input, filtered_out: u64) {
        self.stats.filtered_out += filtered_out;
        self.builder.add_input(input);
    }

    /// A warning about an input that is not the current one.
    pub fn warning_for(&mut self, input: &str, message: String) {
        self.builder.warning(input, None, message);
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        let d = self.decoder.stats();
        s.fragments = d.fragments;
        s.fragments_reassembled = d.reassembled;
        s.flows_evicted = self.stats.flows_evicted;
        s
    }

    fn process(&mut self, p: &Packet<'_>) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(p.orig_len);
        if (p.data.len() as u64) < u64::from(p.orig_len) {
            self.stats.truncated_packets += 1;
        }
        let pkt = PacketRef {
            input: self.input,
            index: p.index,
            file_offset: p.file_offset,
            ts: p.ts,
        };
        let Engine {
            env,
            table,
            decoder,
            budget,
            builder,
            stats,
            dns,
            cfg,
            ..
        } = self;
        let d = match decoder.decode(p.link, p.data, p.ts) {
            Outcome::Packet(d) => d,
            Outcome::FragmentHeld => return,
            Outcome::NotIp { .. } => {
                stats.non_ip_or_other += 1;
                return;
            }
            Outcome::Malformed(_) => {
                stats.decode_errors += 1;
                return;
            }
        };
        let (transport, sport, dport, hint) = match &d.l4 {
            L4::Tcp {
                src_port,
                dst_port,
                flags,
                ..
            } => (
                Transport::Tcp,
                *src_port,
                *dst_port,
                OrientationHint {
                    syn: flags.syn && !flags.ack,
                    syn_ack: flags.syn && flags.ack,
                },
            ),
            L4::Udp {
                src_port, dst_port, ..
            } => (Transport::Udp, *src_port, *dst_port, OrientationHint::NONE),
            L4::Other { .. } => {
                stats.non_ip_or_other += 1;
                return;
            }
        };
        let src = SocketAddr::new(d.src, sport);
        let dst = SocketAddr::new(d.dst, dport);
        let tcp_limits = &cfg.tcp;
        let apps = &env.apps;
        let dns_ro: &FxHashMap<IpAddr, String> = dns;
        let mut finished = Vec::new();
        let (_, dir, _, st) = table.lookup(
            transport,
            src,
            dst,
            hint,
            p.ts,
            |id, ends: &Endpoints| {
                let mut st = new_flow(id, transport, ends, tcp_limits, p.ts, pkt.input);
                attribute(&mut st, apps, dns_ro);
                st
            },
            &mut |_, _, st, reason| finished.push((st, reason)),
        );
        let di = dir.index();
        st.packets[di] += 1;
        st.bytes[di] += u64::from(p.orig_len);
        st.last_ts = p.ts;
        let mut close: Option<EndReason> = None;
        match d.l4 {
            L4::Tcp {
                seq,
                ack,
                flags,
                payload,
                wire_len,
                ..
            } => {
                let FlowState {
                    info,
                    out,
                    root,
                    tcp,
                    payload: pl,
                    ..
                } = st;
                if let Some(halves) = tcp {
                    let mut cx = Cx::new(env, info, out, pkt);
                    let mut deliver = |dir: Direction, dl: Delivery<'_>, cx: &mut Cx<'_>| match dl {
                        Delivery::Data { bytes, .. } => {
                            pl[dir.index()] += bytes.len() as u64;
                            root.data(cx, dir, bytes);
                        }
                        Delivery::Gap { len, .. } => {
                            stats.tcp_gaps += 1;
                            stats.tcp_gap_bytes += len;
                            root.gap(cx, dir, len);
                        }
                    };
                    let mut anomalies: Vec<TcpAnomaly> = Vec::new();
                    if flags.ack {
                        let other = dir.reverse();
                        halves[other.index()].acked(
                            ack,
                            budget,
                            &mut |dl| deliver(other, dl, &mut cx),
                            &mut |a| anomalies.push(a),
                        );
                    }
                    halves[di].segment(
                        seq,
                        Flags {
                            syn: flags.syn,
                            fin: flags.fin,
                            rst: flags.rst,
                        },
                        payload,
                        wire_len,
                        budget,
                        &mut |dl| deliver(dir, dl, &mut cx),
                        &mut |a| anomalies.push(a),
                    );
                    for a in anomalies {
                        record_anomaly(&mut cx, stats, dir, a);
                    }
                    if flags.rst {
                        close = Some(EndReason::Rst);
                    } else if halves[0].fin_seen() && halves[1].fin_seen() {
                        close = Some(EndReason::Fin);
                    }
                }
            }
            L4::Udp { payload, .. } => {
                let FlowState {
                    info,
                    out,
                    root,
                    payload: pl,
                    ..
                } = st;
                pl[di] += payload.len() as u64;
                let mut cx = Cx::new(env, info, out, pkt);
                root.data(&mut cx, dir, payload);
            }
            L4::Other { .. } => {}
        }
        let id = st.info.id;
        harvest_dns(&mut st.out, dns, cfg.max_dns_names);
        if let Some(reason) = close {
            table.close(id, reason, &mut |_, _, st, reason| {
                finished.push((st, reason))
            });
        }
        for (st, reason) in finished {
            finalize(env, budget, builder, stats, dns, st, reason);
        }
        table.expire(p.ts, &mut |_, _, st, reason| {
            finalize(env, budget, builder, stats, dns, st, reason);
        });
    }
}

fn new_flow(
    id: u64,
    transport: Transport,
    ends: &Endpoints,
    tcp: &TcpLimits,
    ts: i64,
    input: u32,
) -> FlowState {
    let out = Collector::default();
    let root = match transport {
        Transport::Tcp => Stream::new(Layer::plain("tcp"), Hint::default()),
        Transport::Udp => Stream::datagrams(Layer::plain("udp"), Hint::default()),
    };
    FlowState {
        info: FlowInfo {
            id,
            transport,
            client: ends.client,
            server: ends.server,
        },
        out,
        root,
        tcp: (transport == Transport::Tcp)
            .then(|| Box::new([TcpHalf::new(tcp), TcpHalf::new(tcp)])),
        packets: [0; 2],
        bytes: [0; 2],
        payload: [0; 2],
        first_ts: ts,
        last_ts: ts,
        server_name: None,
        input,
    }
}

/// Attributes a new flow by the name its server address was resolved from
/// earlier in the capture, else by the apps' address ranges.
fn attribute(st: &mut FlowState, apps: &AppIndex, dns: &FxHashMap<IpAddr, String>) {
    let server = st.info.server.ip();
    st.server_name = dns.get(&server).cloned();
    if let Some(app) = st.server_name.as_deref().and_then(|n| apps.by_dns(n)) {
        st.out.app = Some((app.to_string(), "dns"));
    } else if let Some(app) = apps.by_ip(server) {
        st.out.app = Some((app.to_string(), "ip"));
    }
}

fn record_anomaly(cx: &mut Cx<'_>, stats: &mut Stats, dir: Direction, a: TcpAnomaly) {
    match a {
        TcpAnomaly::ConflictingOverlap { offset, len } => {
            stats.tcp_overlaps_conflicting += 1;
            cx.anomaly(
                "tcp-overlap-conflict",
                format!(
                    "{len} bytes at stream offset {offset} ({}) retransmitted with different content; the first data was kept",
                    dir.as_str()
                ),
            );
        }
        TcpAnomaly::BufferCapHit { dropped } => {
            stats.reassembly_cap_hits += 1;
            cx.anomaly(
                "tcp-reassembly-cap",
                format!(
                    "out-of-order buffer cap reached ({}); {dropped} bytes skipped as a gap",
                    dir.as_str()
                ),
            );
        }
        _ => {}
    }
}

/// Moves DNS answers seen by a dissector into the run's name cache.
fn harvest_dns(out: &mut Collector, dns: &mut FxHashMap<IpAddr, String>, cap: usize) {
    for (ip, name) in out.dns_answers.drain(..) {
        if dns.len() >= cap && !dns.contains_key(&ip) {
            dns.clear();
        }
        dns.insert(ip, name);
    }
}

fn finalize(
    env: &Env,
    budget: &mut MemBudget,
    builder: &mut ReportBuilder<'_>,
    stats: &mut Stats,
    dns: &mut FxHashMap<IpAddr, String>,
    mut st: FlowState,
    reason: EndReason,
) {
    let pkt = PacketRef {
        input: st.input,
        index: 0,
        file_offset: None,
        ts: st.last_ts,
    };
    {
        let FlowState {
            info,
            out,
            root,
            tcp,
            payload: pl,
            ..
        } = &mut st;
        let mut cx = Cx::new(env, info, out, pkt);
        if let Some(halves) = tcp {
            for dir in [Direction::ToServer, Direction::ToClient] {
                halves[dir.index()].flush(
                    budget,
                    &mut |dl| match dl {
                        Delivery::Data { bytes, .. } => {
                            pl[dir.index()] += bytes.len() as u64;
                            root.data(&mut cx, dir, bytes);
                        }
                        Delivery::Gap { len, .. } => {
                            stats.tcp_gaps += 1;
                            stats.tcp_gap_bytes += len;
                            root.gap(&mut cx, dir, len);
                        }
                    },
                    &mut |_| {},
                );
            }
        }
        root.finish(&mut cx);
    }
    harvest_dns(&mut st.out, dns, usize::MAX);
    if matches!(reason, EndReason::Evicted) {
        stats.flows_evicted += 1;
    }
    if let Some(name) = &st.server_name
        && !st
            .out
            .evidence
            .iter()
            .any(|e| matches!(&e.kind, EvidenceKind::Metadata { value, .. } if value == name))
    {
        let mut cx = Cx::new(env, &st.info, &mut st.out, pkt);
        cx.meta("server.dns-name", name.clone());
    }
    let protocol = st
        .out
        .protocol
        .as_ref()
        .map_or(Cow::Borrowed("unknown"), |(_, p)| p.clone())
        .into_owned();
    let mut layers = vec![st.info.transport.as_str().to_string()];
    layers.extend(st.out.layer_names.iter().filter(|n| !n.is_empty()).cloned());
    builder.add_flow(FlowRecord {
        id: st.info.id,
        transport: st.info.transport,
        client: st.info.client,
        server: st.info.server,
        protocol,
        layers,
        app: st.out.app.map(|(a, _)| a),
        packets: st.packets,
        bytes: st.bytes,
        payload: st.payload,
        first_ts: st.first_ts,
        last_ts: st.last_ts,
        end: match reason {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Idle => "idle",
            EndReason::Evicted => "evicted",
            EndReason::EndOfInput => "end-of-input",
        },
        evidence: st.out.evidence,
        omitted: st.out.omitted,
        scanned: st.out.scanned,
    });
}

impl PacketSink for Engine<'_, '_> {
    fn packet(&mut self, p: &Packet<'_>) {
        self.process(p);
    }

    fn format(&mut self, kind: &'static str) {
        self.env.secrets_may_arrive = kind == "pcapng";
    }

    fn secrets(&mut self, text: &[u8], _origin: SecretOrigin, offset: u64) {
        let warnings = self.env.secrets.add_keylog(text, KeySource::Capture);
        for w in warnings {
            self.builder.warning(
                &self.input_name,
                Some(offset),
                format!("secrets in capture, line {}: {}", w.line, w.message),
            );
        }
    }

    fn warning(&mut self, offset: Option<u64>, message: String) {
        self.builder.warning(&self.input_name, offset, message);
    }
}
