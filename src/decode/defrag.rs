//! IPv4 and IPv6 fragment reassembly with hard caps.
//!
//! Policy: the first copy of any byte wins (a later fragment that disagrees
//! with bytes already held is counted as a conflicting overlap, which is
//! how overlap evasion shows up); a datagram that would exceed a cap is
//! dropped and counted, and later fragments of it are ignored until it
//! times out, so memory never grows past the caps. Time is packet time.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

/// Caps on the reassembly state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once (including dropped ones waiting
    /// for their timeout).
    pub max_datagrams: usize,
    /// Largest reassembled IP payload.
    pub max_datagram_bytes: usize,
    /// Bytes buffered over all datagrams.
    pub max_total_bytes: usize,
    /// Fragments accepted per datagram.
    pub max_fragments: usize,
    /// A datagram not complete this long after its first fragment is
    /// discarded (nanoseconds of packet time; Linux uses 30 s).
    pub timeout_ns: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_datagrams: 1024,
            max_datagram_bytes: 65_535,
            max_total_bytes: 8 << 20,
            max_fragments: 256,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Identifies the datagram a fragment belongs to (RFC 791 §3.2: source,
/// destination, protocol and identification; RFC 8200 §4.5: source,
/// destination and identification, with `proto` left 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// One fragment's place in its datagram.
#[derive(Debug, Clone, Copy)]
pub struct Fragment {
    /// Byte offset of the data in the reassembled payload.
    pub offset: u32,
    pub more: bool,
    /// The upper-layer protocol as this fragment states it (for IPv6 only
    /// the first fragment's value is authoritative).
    pub proto: u8,
}

/// What happened to a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Held until the rest arrives.
    Held,
    /// The datagram is complete: its payload is [`Defrag::datagram`] and
    /// this is its upper-layer protocol.
    Complete(u8),
    /// Dropped because of a cap (now or earlier for this datagram).
    Dropped,
}

/// Counters, part of the decoder's statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    /// Datagrams dropped because they exceeded a cap.
    pub dropped_by_cap: u64,
    /// Fragments whose bytes disagreed with bytes already held, or that
    /// contradicted the datagram's known end.
    pub overlaps: u64,
    /// Incomplete datagrams discarded after the timeout.
    pub timeouts: u64,
}

struct Pending {
    buf: Vec<u8>,
    /// Sorted, disjoint, non-adjacent covered byte ranges.
    ranges: Vec<(u32, u32)>,
    /// Payload length, known once the last fragment arrived.
    total: Option<u32>,
    first_ts: i64,
    /// Protocol from the fragment at offset 0.
    proto: Option<u8>,
    fragments: usize,
    /// Dropped by a cap; kept (empty) so later fragments are ignored.
    dropped: bool,
}

/// The reassembly engine.
pub struct Defrag {
    limits: DefragLimits,
    pending: FxHashMap<FragKey, Pending>,
    /// Buffer capacity held by pending datagrams.
    buffered: usize,
    out: Vec<u8>,
    next_sweep: i64,
    pub stats: DefragStats,
}

impl Defrag {
    pub fn new(limits: DefragLimits) -> Defrag {
        Defrag {
            limits,
            pending: FxHashMap::default(),
            buffered: 0,
            out: Vec::new(),
            next_sweep: i64::MIN,
            stats: DefragStats::default(),
        }
    }

    /// The payload of the datagram completed by the last [`Insert::Complete`].
    pub fn datagram(&self) -> &[u8] {
        &self.out
    }

    /// Bytes currently buffered (for tests and memory reports).
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Datagrams currently tracked.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn insert(&mut self, key: FragKey, frag: Fragment, data: &[u8], ts: i64) -> Insert {
        self.stats.fragments += 1;
        if ts >= self.next_sweep {
            self.sweep(ts);
        }
        let limits = self.limits;
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= limits.max_datagrams {
                self.stats.dropped_by_cap += 1;
                return Insert::Dropped;
            }
            self.pending.insert(
                key,
                Pending {
                    buf: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    first_ts: ts,
                    proto: None,
                    fragments: 0,
                    dropped: false,
                },
            );
        }
        let Some(p) = self.pending.get_mut(&key) else {
            return Insert::Dropped;
        };
        if p.dropped {
            return Insert::Dropped;
        }
        p.fragments += 1;
        let start = frag.offset as usize;
        let mut end = start + data.len();
        let mut conflict = false;
        if let Some(total) = p.total
            && end > total as usize
        {
            // Data past the end a last fragment announced.
            conflict = true;
            end = (total as usize).max(start);
        }
        if !frag.more {
            match p.total {
                Some(t) if t as usize != end => conflict = true,
                Some(_) => {}
                None if p.ranges.last().is_some_and(|r| r.1 as usize > end) => {
                    // Bytes already held beyond this "last" fragment.
                    conflict = true;
                }
                None => p.total = Some(end as u32),
            }
        }
        let over_cap = p.fragments > limits.max_fragments
            || end > limits.max_datagram_bytes
            || (end > p.buf.len() && self.buffered + (end - p.buf.len()) > limits.max_total_bytes);
        if over_cap {
            self.buffered -= p.buf.capacity();
            *p = Pending {
                buf: Vec::new(),
                ranges: Vec::new(),
                dropped: true,
                ..*p
            };
            self.stats.dropped_by_cap += 1;
            if conflict {
                self.stats.overlaps += 1;
            }
            return Insert::Dropped;
        }
        if frag.offset == 0 && p.proto.is_none() {
            p.proto = Some(frag.proto);
        }
        if end > p.buf.len() {
            let before = p.buf.capacity();
            p.buf.reserve_exact(end - p.buf.len());
            p.buf.resize(end, 0);
            self.buffered += p.buf.capacity() - before;
        }
        let data = &data[..end - start];
        // Copy the uncovered parts; compare the covered ones.
        let mut at = start;
        for &(a, b) in &p.ranges {
            let (a, b) = (a as usize, b as usize);
            if b <= at {
                continue;
            }
            if a >= end {
                break;
            }
            if a > at {
                p.buf[at..a].copy_from_slice(&data[at - start..a - start]);
            }
            let (ov_a, ov_b) = (a.max(at), b.min(end));
            if p.buf[ov_a..ov_b] != data[ov_a - start..ov_b - start] {
                conflict = true;
            }
            at = ov_b;
        }
        if at < end {
            p.buf[at..end].copy_from_slice(&data[at - start..]);
        }
        if conflict {
            self.stats.overlaps += 1;
        }
        if end > start {
            add_range(&mut p.ranges, start as u32, end as u32);
        }
        let complete = match p.total {
            Some(t) => p.ranges.len() == 1 && p.ranges[0] == (0, t),
            None => false,
        } || p.total == Some(0);
        if !complete {
            return Insert::Held;
        }
        let Some(mut done) = self.pending.remove(&key) else {
            return Insert::Held;
        };
        self.buffered -= done.buf.capacity();
        done.buf.truncate(done.total.unwrap_or(0) as usize);
        self.out = done.buf;
        self.stats.reassembled += 1;
        Insert::Complete(done.proto.unwrap_or(frag.proto))
    }

    /// Discards datagrams older than the timeout.
    fn sweep(&mut self, ts: i64) {
        let timeout = self.limits.timeout_ns;
        let mut freed = 0;
        let mut timeouts = 0;
        self.pending.retain(|_, p| {
            // Time running backwards (merged captures) keeps everything.
            let keep = ts.saturating_sub(p.first_ts) <= timeout;
            if !keep {
                freed += p.buf.capacity();
                if !p.dropped {
                    timeouts += 1;
                }
            }
            keep
        });
        self.buffered -= freed;
        self.stats.timeouts += timeouts;
        self.next_sweep = ts.saturating_add(1_000_000_000);
    }
}

/// Adds `[a, b)` to sorted disjoint ranges, merging overlaps and neighbours.
fn add_range(ranges: &mut Vec<(u32, u32)>, a: u32, b: u32) {
    let mut new = (a, b);
    let first = ranges.partition_point(|r| r.1 < a);
    let mut last = first;
    while last < ranges.len() && ranges[last].0 <= b {
        new.0 = new.0.min(ranges[last].0);
        new.1 = new.1.max(ranges[last].1);
        last += 1;
    }
    ranges.splice(first..last, [new]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            id,
            proto: 17,
        }
    }

    fn frag(offset: u32, more: bool) -> Fragment {
        Fragment {
            offset,
            more,
            proto: 17,
        }
    }

    #[test]
    fn ranges_merge() {
        let mut r = Vec::new();
        add_range(&mut r, 16, 24);
        add_range(&mut r, 0, 8);
        assert_eq!(r, [(0, 8), (16, 24)]);
        add_range(&mut r, 8, 16);
        assert_eq!(r, [(0, 24)]);
        add_range(&mut r, 30, 40);
        add_range(&mut r, 20, 35);
        assert_eq!(r, [(0, 40)]);
    }

    #[test]
    fn any_order_reassembles() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let parts = [(0usize, 1480usize), (1480, 2960), (2960, 3000)];
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let mut d = Defrag::new(DefragLimits::default());
            let mut result = None;
            for (n, &i) in order.iter().enumerate() {
                let (a, b) = parts[i];
                let r = d.insert(key(7), frag(a as u32, i != 2), &payload[a..b], n as i64);
                if n < 2 {
                    assert_eq!(r, Insert::Held);
                } else {
                    result = Some(r);
                }
            }
            assert_eq!(result, Some(Insert::Complete(17)));
            assert_eq!(d.datagram(), &payload[..]);
            assert_eq!(d.pending(), 0);
            assert_eq!(d.buffered(), 0);
            assert_eq!(d.stats.overlaps, 0);
        }
    }

    #[test]
    fn first_data_wins_and_conflicts_are_counted() {
        let mut d = Defrag::new(DefragLimits::default());
        assert_eq!(
            d.insert(key(1), frag(0, true), b"AAAAAAAA", 0),
            Insert::Held
        );
        // Same bytes again: a plain retransmission, not a conflict.
        assert_eq!(
            d.insert(key(1), frag(0, true), b"AAAAAAAA", 0),
            Insert::Held
        );
        assert_eq!(d.stats.overlaps, 0);
        // Overlaps the first 8 bytes with different data.
        assert_eq!(
            d.insert(key(1), frag(0, false), b"XXXXXXXXBBBBBBBB", 0),
            Insert::Complete(17)
        );
        assert_eq!(d.datagram(), b"AAAAAAAABBBBBBBB");
        assert_eq!(d.stats.overlaps, 1);
    }

    #[test]
    fn contradicting_last_fragment_is_an_anomaly() {
        let mut d = Defrag::new(DefragLimits::default());
        d.insert(key(1), frag(8, false), b"BBBBBBBB", 0);
        // A second "last" fragment ending elsewhere.
        d.insert(key(1), frag(8, false), b"BBBBBBBBCCCCCCCC", 0);
        assert_eq!(d.stats.overlaps, 1);
        assert_eq!(
            d.insert(key(1), frag(0, true), b"AAAAAAAA", 0),
            Insert::Complete(17)
        );
        assert_eq!(d.datagram(), b"AAAAAAAABBBBBBBB");
    }

    #[test]
    fn oversized_datagram_is_dropped_and_stays_dropped() {
        let mut d = Defrag::new(DefragLimits::default());
        let chunk = vec![0u8; 1480];
        assert_eq!(d.insert(key(1), frag(0, true), &chunk, 0), Insert::Held);
        // Ends past 65535 bytes of payload.
        assert_eq!(
            d.insert(key(1), frag(65_000, true), &chunk, 0),
            Insert::Dropped
        );
        assert_eq!(d.stats.dropped_by_cap, 1);
        assert_eq!(d.buffered(), 0);
        // Later fragments of it are ignored, counted once.
        assert_eq!(
            d.insert(key(1), frag(1480, false), &chunk, 0),
            Insert::Dropped
        );
        assert_eq!(d.stats.dropped_by_cap, 1);
    }

    #[test]
    fn total_memory_cap_holds() {
        let limits = DefragLimits {
            max_total_bytes: 10_000,
            ..DefragLimits::default()
        };
        let mut d = Defrag::new(limits);
        let chunk = vec![1u8; 1480];
        let mut dropped = 0;
        for id in 0..100 {
            if d.insert(key(id), frag(0, true), &chunk, 0) == Insert::Dropped {
                dropped += 1;
            }
            assert!(d.buffered() <= 10_000);
        }
        assert_eq!(dropped, 100 - 10_000 / 1480);
        assert_eq!(d.stats.dropped_by_cap, dropped);
    }

    #[test]
    fn datagram_count_cap_and_timeout() {
        let limits = DefragLimits {
            max_datagrams: 4,
            timeout_ns: 1_000,
            ..DefragLimits::default()
        };
        let mut d = Defrag::new(limits);
        for id in 0..4 {
            assert_eq!(
                d.insert(key(id), frag(0, true), b"12345678", 0),
                Insert::Held
            );
        }
        assert_eq!(
            d.insert(key(9), frag(0, true), b"12345678", 0),
            Insert::Dropped
        );
        // Two seconds later the old ones time out and make room.
        assert_eq!(
            d.insert(key(9), frag(0, true), b"12345678", 2_000_000_000),
            Insert::Held
        );
        assert_eq!(d.stats.timeouts, 4);
        assert_eq!(d.pending(), 1);
        assert_eq!(d.buffered(), 8);
    }

    #[test]
    fn fragment_count_cap() {
        let limits = DefragLimits {
            max_fragments: 3,
            ..DefragLimits::default()
        };
        let mut d = Defrag::new(limits);
        for i in 0..3 {
            assert_eq!(
                d.insert(key(1), frag(i * 16, true), b"12345678", 0),
                Insert::Held
            );
        }
        assert_eq!(
            d.insert(key(1), frag(64, true), b"12345678", 0),
            Insert::Dropped
        );
        assert_eq!(d.buffered(), 0);
    }
}
