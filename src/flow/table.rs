//! Bidirectional flow table, generic over the caller's per-flow state.
//!
//! Both directions of a conversation map to one [`FlowKey`] (transport plus the two
//! endpoints in canonical order). A new flow is oriented once, when its first packet is
//! seen: a SYN without ACK comes from the client, a SYN+ACK goes to the client, anything
//! else falls back to ports (see [`FlowTable::lookup`]).
//!
//! Memory stays bounded whatever the capture size: at most [`FlowLimits::max_flows`]
//! flows are held, the least recently seen is evicted when a new one needs room, and
//! [`FlowTable::expire`] finalises idle and closed flows. Flows sit in three
//! recency lists (open TCP, UDP, closed), each with one timeout, so expiry only looks at
//! list tails and costs O(1) when nothing expires.
//!
//! Packet and byte counts live in the caller's state: embed a [`FlowCounters`] in `T`
//! and call [`FlowCounters::record`] per packet, so the counts travel with the state to
//! whoever finalises the flow.

use crate::model::{Direction, Transport};
use rustc_hash::FxHashMap;
use std::net::SocketAddr;

/// Ports at or above 1024 that are taken as the server side when the other port is not
/// a service port (chat, push, VoIP, databases, proxies, alternative HTTP(S)). Sorted.
pub const SERVICE_PORTS: &[u16] = &[
    1080, 1194, 1433, 1521, 1701, 1723, 1812, 1813, 1883, 1900, 2049, 3128, 3306, 3389, 3478, 3479,
    4244, 4433, 4500, 5060, 5061, 5222, 5223, 5228, 5229, 5230, 5242, 5269, 5349, 5353, 5355, 5432,
    5671, 5672, 5683, 5684, 5938, 6379, 6443, 6665, 6666, 6667, 6668, 6669, 6697, 8000, 8008, 8080,
    8088, 8443, 8883, 8888, 9001, 9443, 11211, 19302, 19303, 19304, 19305, 19306, 19307, 19308,
    19309, 27017,
];

/// A well-known port (1..1024) or a listed service port.
pub fn is_service_port(port: u16) -> bool {
    (1..1024).contains(&port) || SERVICE_PORTS.binary_search(&port).is_ok()
}

/// Identifies a flow regardless of packet direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    transport: Transport,
    lo: SocketAddr,
    hi: SocketAddr,
}

impl FlowKey {
    pub fn new(transport: Transport, a: SocketAddr, b: SocketAddr) -> FlowKey {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey { transport, lo, hi }
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The two endpoints, lower first (not client first: see [`Endpoints`]).
    pub fn addrs(&self) -> (SocketAddr, SocketAddr) {
        (self.lo, self.hi)
    }
}

/// Caps and timeouts of the flow table. Times are nanoseconds of capture time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLimits {
    pub max_flows: usize,
    pub tcp_idle_ns: i64,
    pub udp_idle_ns: i64,
    /// A closed flow is finalised this long after its last packet (FIN/RST or later),
    /// so final ACKs and retransmitted FINs still count in it (TCP's 2·MSL).
    pub closed_linger_ns: i64,
    /// Closed flows kept lingering at most; beyond this the oldest closed flow is
    /// finalised at once, so memory does not grow with the connection rate when
    /// capture time advances slowly.
    pub max_closed: usize,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_flows: 100_000,
            tcp_idle_ns: 300_000_000_000,
            udp_idle_ns: 60_000_000_000,
            closed_linger_ns: 60_000_000_000,
            max_closed: 1024,
        }
    }
}

/// The two ends of a flow, oriented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoints {
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// Why a flow left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    Fin,
    Rst,
    Idle,
    /// Pushed out by the flow cap.
    Evicted,
    EndOfInput,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Idle => "idle",
            EndReason::Evicted => "evicted",
            EndReason::EndOfInput => "end-of-input",
        }
    }
}

/// What the TCP flags of a packet say about orientation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrientationHint {
    /// SYN without ACK: the sender is the client.
    pub syn: bool,
    /// SYN with ACK: the receiver is the client.
    pub syn_ack: bool,
}

impl OrientationHint {
    pub const NONE: OrientationHint = OrientationHint {
        syn: false,
        syn_ack: false,
    };

    /// From the SYN and ACK flags of a TCP packet.
    pub fn tcp(syn: bool, ack: bool) -> OrientationHint {
        OrientationHint {
            syn: syn && !ack,
            syn_ack: syn && ack,
        }
    }
}

/// Per-direction packet and byte counts and first/last timestamps; meant to be
/// embedded in the caller's flow state. Index by [`Direction::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowCounters {
    pub packets: [u64; 2],
    /// Bytes as the caller counts them (e.g. transport payload or IP length).
    pub bytes: [u64; 2],
    /// Earliest and latest packet time (0 until the first packet).
    pub first_ts: i64,
    pub last_ts: i64,
}

impl FlowCounters {
    pub fn record(&mut self, dir: Direction, bytes: u64, ts: i64) {
        if self.packets == [0, 0] {
            self.first_ts = ts;
            self.last_ts = ts;
        } else {
            self.first_ts = self.first_ts.min(ts);
            self.last_ts = self.last_ts.max(ts);
        }
        self.packets[dir.index()] += 1;
        self.bytes[dir.index()] += bytes;
    }

    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }
}

const NIL: u32 = u32::MAX;
const LIST_TCP: usize = 0;
const LIST_UDP: usize = 1;
const LIST_CLOSED: usize = 2;

struct Entry<T> {
    key: FlowKey,
    id: u64,
    ep: Endpoints,
    state: T,
    last_ts: i64,
    /// Arrival order of the last packet, for eviction across lists.
    last_tick: u64,
    list: usize,
    closed: Option<EndReason>,
    prev: u32,
    next: u32,
}

/// Doubly linked recency list over slots; head is the most recently seen.
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

/// The flow table.
pub struct FlowTable<T> {
    limits: FlowLimits,
    map: FxHashMap<FlowKey, u32>,
    ids: FxHashMap<u64, u32>,
    slots: Vec<Option<Entry<T>>>,
    free: Vec<u32>,
    lists: [List; 3],
    next_id: u64,
    tick: u64,
    /// Entries on the closed list.
    closed_count: usize,
}

impl<T> FlowTable<T> {
    pub fn new(limits: FlowLimits) -> Self {
        FlowTable {
            limits,
            map: FxHashMap::default(),
            ids: FxHashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [EMPTY; 3],
            next_id: 1,
            tick: 0,
            closed_count: 0,
        }
    }

    pub fn limits(&self) -> &FlowLimits {
        &self.limits
    }

    /// Finds or creates the flow of a packet from `src` to `dst`.
    ///
    /// Orientation of a new flow: a SYN without ACK comes from the client; a SYN+ACK
    /// goes to the client; otherwise a well-known port (< 1024) or a listed service port
    /// ([`SERVICE_PORTS`]) is the server, else the lower port; with equal ports the
    /// first sender is the client. Returns the flow id (sequential from 1 in order of
    /// first packet), the packet's direction, whether the flow is new, and its state;
    /// `make` builds the state of a new flow.
    ///
    /// Flows leaving the table here go to `evicted`: when the table is full, closed
    /// flows first (with their close reason), then the least recently seen open flow
    /// (with [`EndReason::Evicted`]); and a closed TCP flow whose tuple is reused by a
    /// new SYN (with its close reason) before the new flow is created.
    #[allow(clippy::too_many_arguments)]
    pub fn lookup(
        &mut self,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        hint: OrientationHint,
        ts: i64,
        make: impl FnOnce(u64, &Endpoints) -> T,
        evicted: &mut dyn FnMut(u64, Endpoints, T, EndReason),
    ) -> (u64, Direction, bool, &mut T) {
        let key = FlowKey::new(transport, src, dst);
        self.tick += 1;
        let mut found = self.map.get(&key).copied();
        if let Some(slot) = found {
            let reused = hint.syn && !hint.syn_ack && self.entry(slot).closed.is_some();
            if reused {
                self.finalise(slot, EndReason::Fin, evicted);
                found = None;
            }
        }
        let (slot, new) = match found {
            Some(slot) => {
                let tick = self.tick;
                let e = self.entry_mut(slot);
                e.last_ts = e.last_ts.max(ts);
                e.last_tick = tick;
                let list = e.list;
                self.unlink(slot);
                self.push_front(list, slot);
                (slot, false)
            }
            None => {
                while self.map.len() >= self.limits.max_flows.max(1) {
                    let Some(victim) = self.victim() else { break };
                    self.finalise(victim, EndReason::Evicted, evicted);
                }
                let ep = orient(transport, src, dst, hint);
                let id = self.next_id;
                self.next_id += 1;
                let state = make(id, &ep);
                let list = match transport {
                    Transport::Tcp => LIST_TCP,
                    Transport::Udp => LIST_UDP,
                };
                let entry = Entry {
                    key,
                    id,
                    ep,
                    state,
                    last_ts: ts,
                    last_tick: self.tick,
                    list,
                    closed: None,
                    prev: NIL,
                    next: NIL,
                };
                let slot = match self.free.pop() {
                    Some(s) => {
                        self.slots[s as usize] = Some(entry);
                        s
                    }
                    None => {
                        self.slots.push(Some(entry));
                        (self.slots.len() - 1) as u32
                    }
                };
                self.map.insert(key, slot);
                self.ids.insert(id, slot);
                self.push_front(list, slot);
                (slot, true)
            }
        };
        let e = self.entry_mut(slot);
        let dir = if src == e.ep.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        (e.id, dir, new, &mut e.state)
    }

    /// Marks a flow closed (FIN both ways, or RST) so [`expire`](Self::expire) finalises
    /// it `closed_linger_ns` after its last packet; with no linger (0 or less) it is
    /// finalised at once through `out`. When more than `max_closed` flows are
    /// lingering, the oldest goes to `out` now. The first reason given is kept.
    /// Returns false for an unknown id.
    pub fn close(
        &mut self,
        id: u64,
        reason: EndReason,
        out: &mut dyn FnMut(u64, Endpoints, T, EndReason),
    ) -> bool {
        let Some(&slot) = self.ids.get(&id) else {
            return false;
        };
        let e = self.entry_mut(slot);
        if e.closed.is_none() {
            e.closed = Some(reason);
        }
        if self.limits.closed_linger_ns <= 0 {
            self.finalise(slot, reason, out);
        } else if self.entry(slot).list != LIST_CLOSED {
            self.unlink(slot);
            self.push_front(LIST_CLOSED, slot);
            self.closed_count += 1;
        }
        while self.closed_count > self.limits.max_closed {
            let tail = self.lists[LIST_CLOSED].tail;
            if tail == NIL {
                break;
            }
            self.finalise(tail, reason, out);
        }
        true
    }

    pub fn is_closed(&self, id: u64) -> bool {
        self.ids
            .get(&id)
            .is_some_and(|&slot| self.entry(slot).closed.is_some())
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        let slot = *self.ids.get(&id)?;
        Some(&mut self.entry_mut(slot).state)
    }

    pub fn endpoints(&self, id: u64) -> Option<Endpoints> {
        let slot = *self.ids.get(&id)?;
        Some(self.entry(slot).ep)
    }

    /// Finalises flows idle longer than their timeout at capture time `now`: closed
    /// flows with their close reason, others with [`EndReason::Idle`]. Only list tails
    /// are examined, so calling this per packet is cheap.
    pub fn expire(&mut self, now: i64, out: &mut dyn FnMut(u64, Endpoints, T, EndReason)) {
        let timeouts = [
            self.limits.tcp_idle_ns,
            self.limits.udp_idle_ns,
            self.limits.closed_linger_ns,
        ];
        for (list, timeout) in timeouts.into_iter().enumerate() {
            loop {
                let tail = self.lists[list].tail;
                if tail == NIL || now.saturating_sub(self.entry(tail).last_ts) <= timeout {
                    break;
                }
                self.finalise(tail, EndReason::Idle, out);
            }
        }
    }

    /// End of input: every flow left, in flow-id order, closed ones with their close
    /// reason and the rest with [`EndReason::EndOfInput`].
    pub fn drain(&mut self, out: &mut dyn FnMut(u64, Endpoints, T, EndReason)) {
        let mut entries: Vec<Entry<T>> = self.slots.drain(..).flatten().collect();
        entries.sort_by_key(|e| e.id);
        self.map.clear();
        self.ids.clear();
        self.free.clear();
        self.lists = [EMPTY; 3];
        self.closed_count = 0;
        for e in entries {
            out(
                e.id,
                e.ep,
                e.state,
                e.closed.unwrap_or(EndReason::EndOfInput),
            );
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The flow to evict for room: the oldest closed flow, else the least recently
    /// seen open one.
    fn victim(&self) -> Option<u32> {
        let closed = self.lists[LIST_CLOSED].tail;
        if closed != NIL {
            return Some(closed);
        }
        [LIST_TCP, LIST_UDP]
            .into_iter()
            .map(|l| self.lists[l].tail)
            .filter(|&s| s != NIL)
            .min_by_key(|&s| self.entry(s).last_tick)
    }

    /// Removes a flow and hands it to `out`; a closed flow keeps its close reason.
    fn finalise(
        &mut self,
        slot: u32,
        reason: EndReason,
        out: &mut dyn FnMut(u64, Endpoints, T, EndReason),
    ) {
        self.unlink(slot);
        let Some(e) = self.slots[slot as usize].take() else {
            return;
        };
        if e.list == LIST_CLOSED {
            self.closed_count -= 1;
        }
        self.map.remove(&e.key);
        self.ids.remove(&e.id);
        self.free.push(slot);
        out(e.id, e.ep, e.state, e.closed.unwrap_or(reason));
    }

    fn entry(&self, slot: u32) -> &Entry<T> {
        self.slots[slot as usize]
            .as_ref()
            .expect("flow table slot in a list or map is occupied")
    }

    fn entry_mut(&mut self, slot: u32) -> &mut Entry<T> {
        self.slots[slot as usize]
            .as_mut()
            .expect("flow table slot in a list or map is occupied")
    }

    fn unlink(&mut self, slot: u32) {
        let (list, prev, next) = {
            let e = self.entry(slot);
            (e.list, e.prev, e.next)
        };
        if prev == NIL {
            self.lists[list].head = next;
        } else {
            self.entry_mut(prev).next = next;
        }
        if next == NIL {
            self.lists[list].tail = prev;
        } else {
            self.entry_mut(next).prev = prev;
        }
        let e = self.entry_mut(slot);
        e.prev = NIL;
        e.next = NIL;
    }

    fn push_front(&mut self, list: usize, slot: u32) {
        let head = self.lists[list].head;
        {
            let e = self.entry_mut(slot);
            e.list = list;
            e.prev = NIL;
            e.next = head;
        }
        if head == NIL {
            self.lists[list].tail = slot;
        } else {
            self.entry_mut(head).prev = slot;
        }
        self.lists[list].head = slot;
    }
}

/// Decides client and server of a new flow from its first packet.
fn orient(
    transport: Transport,
    src: SocketAddr,
    dst: SocketAddr,
    hint: OrientationHint,
) -> Endpoints {
    let src_is_client = if transport == Transport::Tcp && hint.syn_ack {
        false
    } else if transport == Transport::Tcp && hint.syn {
        true
    } else {
        let (s, d) = (src.port(), dst.port());
        match (is_service_port(s), is_service_port(d)) {
            (true, false) => false,
            (false, true) => true,
            _ => s >= d,
        }
    };
    if src_is_client {
        Endpoints {
            client: src,
            server: dst,
        }
    } else {
        Endpoints {
            client: dst,
            server: src,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    type Ended = Vec<(u64, Endpoints, &'static str, EndReason)>;

    /// Looks up a packet in a table whose state is a label, collecting ended flows.
    #[allow(clippy::too_many_arguments)]
    fn pkt(
        t: &mut FlowTable<&'static str>,
        ended: &mut Ended,
        tr: Transport,
        src: &str,
        dst: &str,
        hint: OrientationHint,
        ts: i64,
        label: &'static str,
    ) -> (u64, Direction, bool) {
        let (id, dir, new, _) = t.lookup(
            tr,
            a(src),
            a(dst),
            hint,
            ts,
            |_, _| label,
            &mut |i, e, s, r| ended.push((i, e, s, r)),
        );
        (id, dir, new)
    }

    fn ep(client: &str, server: &str) -> Endpoints {
        Endpoints {
            client: a(client),
            server: a(server),
        }
    }

    const SYN: OrientationHint = OrientationHint {
        syn: true,
        syn_ack: false,
    };
    const SYN_ACK: OrientationHint = OrientationHint {
        syn: false,
        syn_ack: true,
    };
    const NONE: OrientationHint = OrientationHint::NONE;
    use Transport::{Tcp, Udp};

    #[test]
    fn both_directions_share_one_flow_oriented_by_the_syn() {
        let mut t = FlowTable::new(FlowLimits::default());
        let mut ended = Vec::new();
        // A client on a high port talking to a server on a higher one: only the SYN knows.
        let c = "192.168.1.10:40000";
        let s = "10.0.0.5:50000";
        assert_eq!(
            pkt(&mut t, &mut ended, Tcp, c, s, SYN, 0, "x"),
            (1, Direction::ToServer, true)
        );
        assert_eq!(
            pkt(&mut t, &mut ended, Tcp, s, c, SYN_ACK, 1, "x"),
            (1, Direction::ToClient, false)
        );
        assert_eq!(
            pkt(&mut t, &mut ended, Tcp, c, s, NONE, 2, "x"),
            (1, Direction::ToServer, false)
        );
        assert_eq!(t.endpoints(1), Some(ep(c, s)));
        assert_eq!(t.len(), 1);
        assert!(ended.is_empty());
    }

    #[test]
    fn a_syn_ack_seen_first_points_at_the_client() {
        let mut t = FlowTable::new(FlowLimits::default());
        let mut ended = Vec::new();
        let (_, dir, _) = pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.5:50000",
            "192.168.1.10:40000",
            SYN_ACK,
            0,
            "x",
        );
        assert_eq!(dir, Direction::ToClient);
        assert_eq!(
            t.endpoints(1),
            Some(ep("192.168.1.10:40000", "10.0.0.5:50000"))
        );
        assert_eq!(OrientationHint::tcp(true, true), SYN_ACK);
        assert_eq!(OrientationHint::tcp(true, false), SYN);
        assert_eq!(OrientationHint::tcp(false, true), NONE);
    }

    #[test]
    fn without_a_syn_service_ports_then_the_lower_port_are_the_server() {
        let mut t = FlowTable::new(FlowLimits::default());
        let mut ended = Vec::new();
        // A server's reply seen first (mid-stream pickup): 443 is still the server.
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "93.184.216.34:443",
            "192.168.1.10:51000",
            NONE,
            0,
            "https",
        );
        assert_eq!(
            t.endpoints(1),
            Some(ep("192.168.1.10:51000", "93.184.216.34:443"))
        );
        // A DNS response seen first.
        pkt(
            &mut t,
            &mut ended,
            Udp,
            "8.8.8.8:53",
            "192.168.1.10:33000",
            NONE,
            0,
            "dns",
        );
        assert_eq!(t.endpoints(2), Some(ep("192.168.1.10:33000", "8.8.8.8:53")));
        // XMPP on a listed port above 1024.
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "157.240.1.1:5222",
            "192.168.1.10:60000",
            NONE,
            0,
            "xmpp",
        );
        assert_eq!(
            t.endpoints(3),
            Some(ep("192.168.1.10:60000", "157.240.1.1:5222"))
        );
        // Two unlisted ports: the lower one serves.
        pkt(
            &mut t,
            &mut ended,
            Udp,
            "10.0.0.1:40000",
            "10.0.0.2:30000",
            NONE,
            0,
            "p2p",
        );
        assert_eq!(t.endpoints(4), Some(ep("10.0.0.1:40000", "10.0.0.2:30000")));
        // Equal ports: the first sender is the client.
        pkt(
            &mut t,
            &mut ended,
            Udp,
            "[fe80::1]:5353",
            "[ff02::fb]:5353",
            NONE,
            0,
            "mdns",
        );
        assert_eq!(
            t.endpoints(5),
            Some(ep("[fe80::1]:5353", "[ff02::fb]:5353"))
        );
    }

    #[test]
    fn ids_count_up_in_order_of_first_packet_and_transports_are_separate() {
        let mut t = FlowTable::new(FlowLimits::default());
        let mut ended = Vec::new();
        let c = "[2001:db8::1]:40000";
        let s = "[2001:db8::2]:443";
        assert_eq!(pkt(&mut t, &mut ended, Tcp, c, s, SYN, 0, "tcp").0, 1);
        assert_eq!(pkt(&mut t, &mut ended, Udp, c, s, NONE, 0, "quic").0, 2);
        assert_eq!(
            pkt(&mut t, &mut ended, Udp, s, c, NONE, 0, "quic"),
            (2, Direction::ToClient, false)
        );
        assert_eq!(t.get_mut(1).map(|s| *s), Some("tcp"));
        assert_eq!(t.get_mut(2).map(|s| *s), Some("quic"));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_seen_flow() {
        let limits = FlowLimits {
            max_flows: 2,
            ..FlowLimits::default()
        };
        let mut t = FlowTable::new(limits);
        let mut ended = Vec::new();
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.1:1111",
            "10.0.0.9:80",
            SYN,
            0,
            "one",
        );
        pkt(
            &mut t,
            &mut ended,
            Udp,
            "10.0.0.2:2222",
            "10.0.0.9:53",
            NONE,
            1,
            "two",
        );
        // Flow 1 is seen again, so flow 2 is now the least recent.
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.9:80",
            "10.0.0.1:1111",
            NONE,
            2,
            "one",
        );
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.3:3333",
            "10.0.0.9:80",
            SYN,
            3,
            "three",
        );
        assert_eq!(
            ended,
            vec![(
                2,
                ep("10.0.0.2:2222", "10.0.0.9:53"),
                "two",
                EndReason::Evicted
            )]
        );
        assert_eq!(t.len(), 2);
        // Closed flows go first, with their own reason, even when seen more recently.
        assert!(t.close(3, EndReason::Rst, &mut |_, _, _, _| unreachable!()));
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.4:4444",
            "10.0.0.9:80",
            SYN,
            4,
            "four",
        );
        assert_eq!(
            ended[1],
            (
                3,
                ep("10.0.0.3:3333", "10.0.0.9:80"),
                "three",
                EndReason::Rst
            )
        );
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn idle_flows_expire_by_transport_and_closed_flows_after_the_linger() {
        let mut t = FlowTable::new(FlowLimits {
            closed_linger_ns: 5 * S,
            ..FlowLimits::default()
        });
        let mut ended = Vec::new();
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.1:1111",
            "10.0.0.9:80",
            SYN,
            0,
            "tcp",
        );
        pkt(
            &mut t,
            &mut ended,
            Udp,
            "10.0.0.2:2222",
            "10.0.0.9:53",
            NONE,
            0,
            "udp",
        );
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.3:3333",
            "10.0.0.9:80",
            SYN,
            0,
            "closed",
        );
        t.close(3, EndReason::Fin, &mut |_, _, _, _| unreachable!());
        // A last ACK after the close restarts the linger.
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.3:3333",
            "10.0.0.9:80",
            NONE,
            S,
            "closed",
        );
        let mut out = |i, e, s, r| ended.push((i, e, s, r));
        t.expire(6 * S, &mut out);
        assert!(ended.is_empty());
        let mut out = |i, e, s, r| ended.push((i, e, s, r));
        t.expire(6 * S + 1, &mut out);
        t.expire(60 * S, &mut out);
        t.expire(60 * S + 1, &mut out);
        t.expire(300 * S + 1, &mut out);
        let got: Vec<_> = ended.iter().map(|e| (e.0, e.3)).collect();
        assert_eq!(
            got,
            vec![
                (3, EndReason::Fin),
                (2, EndReason::Idle),
                (1, EndReason::Idle)
            ]
        );
        assert!(t.is_empty());
    }

    #[test]
    fn without_a_linger_a_closed_flow_ends_at_once() {
        let limits = FlowLimits {
            closed_linger_ns: 0,
            ..FlowLimits::default()
        };
        let mut t = FlowTable::new(limits);
        let mut ended = Vec::new();
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.1:1111",
            "10.0.0.9:80",
            SYN,
            0,
            "a",
        );
        assert!(t.close(1, EndReason::Rst, &mut |i, e, s, r| {
            ended.push((i, e, s, r))
        }));
        assert_eq!(
            ended,
            vec![(1, ep("10.0.0.1:1111", "10.0.0.9:80"), "a", EndReason::Rst)]
        );
        assert!(t.is_empty());
    }

    #[test]
    fn a_new_syn_on_a_closed_flow_starts_a_new_flow() {
        let mut t = FlowTable::new(FlowLimits::default());
        let mut ended = Vec::new();
        let (c, s) = ("10.0.0.1:1111", "10.0.0.9:80");
        pkt(&mut t, &mut ended, Tcp, c, s, SYN, 0, "first");
        t.close(1, EndReason::Fin, &mut |_, _, _, _| unreachable!());
        assert!(t.is_closed(1));
        assert_eq!(
            pkt(&mut t, &mut ended, Tcp, c, s, NONE, 1, "first"),
            (1, Direction::ToServer, false)
        );
        assert_eq!(
            pkt(&mut t, &mut ended, Tcp, c, s, SYN, 2, "second"),
            (2, Direction::ToServer, true)
        );
        assert_eq!(ended, vec![(1, ep(c, s), "first", EndReason::Fin)]);
        assert!(!t.is_closed(2));
    }

    #[test]
    fn drain_hands_out_every_flow_in_id_order() {
        let mut t = FlowTable::new(FlowLimits::default());
        let mut ended = Vec::new();
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.1:1111",
            "10.0.0.9:80",
            SYN,
            0,
            "a",
        );
        pkt(
            &mut t,
            &mut ended,
            Udp,
            "10.0.0.2:2222",
            "10.0.0.9:53",
            NONE,
            0,
            "b",
        );
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.3:3333",
            "10.0.0.9:80",
            SYN,
            0,
            "c",
        );
        t.close(2, EndReason::Rst, &mut |_, _, _, _| unreachable!());
        // Touch flow 1 so recency order differs from id order.
        pkt(
            &mut t,
            &mut ended,
            Tcp,
            "10.0.0.1:1111",
            "10.0.0.9:80",
            NONE,
            1,
            "a",
        );
        t.drain(&mut |i, e, s, r| ended.push((i, e, s, r)));
        let got: Vec<_> = ended.iter().map(|e| (e.0, e.2, e.3)).collect();
        assert_eq!(
            got,
            vec![
                (1, "a", EndReason::EndOfInput),
                (2, "b", EndReason::Rst),
                (3, "c", EndReason::EndOfInput)
            ]
        );
        assert!(t.is_empty());
        assert!(!t.close(1, EndReason::Fin, &mut |_, _, _, _| unreachable!()));
    }

    #[test]
    fn memory_stays_bounded_over_many_short_flows() {
        let limits = FlowLimits {
            max_flows: 64,
            closed_linger_ns: 5 * S,
            max_closed: 16,
            ..FlowLimits::default()
        };
        let mut t: FlowTable<u64> = FlowTable::new(limits);
        let mut evicted = 0u64;
        let mut expired = 0u64;
        for i in 0..10_000u32 {
            let src = SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 40000));
            let dst = SocketAddr::from(([10, 1, 0, 1], 443));
            let ts = i64::from(i) * S / 10;
            let (id, _, new, state) =
                t.lookup(Tcp, src, dst, SYN, ts, |id, _| id, &mut |_, _, _, _| {
                    evicted += 1
                });
            assert!(new);
            assert_eq!(*state, id);
            if i % 2 == 0 {
                t.close(id, EndReason::Fin, &mut |_, _, _, _| expired += 1);
            }
            t.expire(ts, &mut |_, _, _, _| expired += 1);
            assert!(t.len() <= 64);
        }
        assert!(t.slots.len() <= 64 && t.free.len() <= 64);
        assert_eq!(evicted + expired + t.len() as u64, 10_000);
        assert!(expired > 0 && evicted > 0);
    }

    #[test]
    fn lingering_closed_flows_are_capped() {
        let mut t: FlowTable<u64> = FlowTable::new(FlowLimits {
            max_closed: 2,
            ..FlowLimits::default()
        });
        let mut done = Vec::new();
        for i in 0..5u16 {
            let src = SocketAddr::from(([10, 0, 0, 1], 40000 + i));
            let dst = SocketAddr::from(([10, 1, 0, 1], 443));
            let (id, ..) = t.lookup(Tcp, src, dst, SYN, 0, |id, _| id, &mut |_, _, _, _| {});
            t.close(id, EndReason::Fin, &mut |id, _, _, r| done.push((id, r)));
        }
        // The capture clock never advanced, yet only two closed flows linger.
        assert_eq!(
            done,
            vec![
                (1, EndReason::Fin),
                (2, EndReason::Fin),
                (3, EndReason::Fin)
            ]
        );
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn counters_track_both_directions() {
        let mut c = FlowCounters::default();
        c.record(Direction::ToServer, 100, 5 * S);
        c.record(Direction::ToClient, 1400, 6 * S);
        c.record(Direction::ToServer, 40, 4 * S);
        assert_eq!(c.packets, [2, 1]);
        assert_eq!(c.bytes, [140, 1400]);
        assert_eq!((c.first_ts, c.last_ts), (4 * S, 6 * S));
        assert_eq!((c.total_packets(), c.total_bytes()), (3, 1540));
    }

    #[test]
    fn the_service_port_list_is_sorted_for_binary_search() {
        assert!(SERVICE_PORTS.windows(2).all(|w| w[0] < w[1]));
        assert!(SERVICE_PORTS.iter().all(|&p| p >= 1024));
        assert!(is_service_port(443) && is_service_port(8883) && !is_service_port(51000));
        assert!(!is_service_port(0));
    }
}
