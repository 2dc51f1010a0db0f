//! Allocation and throughput checks of TCP reassembly and the flow table.
//!
//! The allocation test counts heap allocations made by the current thread, so it holds
//! whatever other tests run in parallel. The benchmark is `#[ignore]`d; run it with
//! `cargo test --release --test flow_tcp -- --ignored --nocapture` (it prints figures and
//! asserts only correctness, never timing).

use plainsight::flow::{
    Delivery, Flags, FlowLimits, FlowTable, MemBudget, OrientationHint, TcpHalf, TcpLimits,
};
use plainsight::model::Transport;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::time::Instant;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

const MSS: usize = 1448;

/// A deterministic pseudo-random byte stream (xorshift), so nothing compresses away.
fn stream(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn in_order_segments_and_known_flow_lookups_do_not_allocate() {
    let before = allocs();
    std::hint::black_box(Vec::<u8>::with_capacity(16));
    assert!(allocs() > before, "the counting allocator counts");
    let data = stream(200 * MSS, 7);
    let mut half = TcpHalf::new(&TcpLimits::default());
    let mut budget = MemBudget::default();
    let mut seen = 0u64;
    let isn = u32::MAX - 5000; // wraps inside the measured part
    half.segment(
        isn,
        Flags::SYN,
        b"",
        0,
        &mut budget,
        &mut |_| {},
        &mut |_| {},
    );
    // The first delivery allocates the recent window once.
    half.segment(
        isn.wrapping_add(1),
        Flags::NONE,
        &data[..MSS],
        MSS as u32,
        &mut budget,
        &mut |_| {},
        &mut |_| {},
    );
    let before = allocs();
    for (i, seg) in data.chunks(MSS).enumerate().skip(1) {
        let seq = isn.wrapping_add(1).wrapping_add((i * MSS) as u32);
        half.segment(
            seq,
            Flags::NONE,
            seg,
            seg.len() as u32,
            &mut budget,
            &mut |d| seen += d.len(),
            &mut |_| {},
        );
        half.acked(
            seq.wrapping_add(seg.len() as u32),
            &mut budget,
            &mut |_| {},
            &mut |_| {},
        );
    }
    assert_eq!(allocs() - before, 0, "allocations on the in-order path");
    assert_eq!(seen + MSS as u64, data.len() as u64);

    let mut table: FlowTable<u32> = FlowTable::new(FlowLimits::default());
    let c: SocketAddr = "192.168.1.10:51000".parse().unwrap();
    let s: SocketAddr = "93.184.216.34:443".parse().unwrap();
    table.lookup(
        Transport::Tcp,
        c,
        s,
        OrientationHint::tcp(true, false),
        0,
        |_, _| 0,
        &mut |_, _, _, _| {},
    );
    let before = allocs();
    for i in 0..1000 {
        let (src, dst) = if i % 2 == 0 { (c, s) } else { (s, c) };
        let (_, _, new, n) = table.lookup(
            Transport::Tcp,
            src,
            dst,
            OrientationHint::NONE,
            i,
            |_, _| 0,
            &mut |_, _, _, _| {},
        );
        assert!(!new);
        *n += 1;
        table.expire(i, &mut |_, _, _, _| {});
    }
    assert_eq!(allocs() - before, 0, "allocations looking up a known flow");
}

/// Feeds `order` (indices into the segments of `data`) to a fresh half, returning the
/// seconds taken and checking that the stream came out intact.
fn run(data: &[u8], order: &[usize]) -> f64 {
    let segs: Vec<&[u8]> = data.chunks(MSS).collect();
    let mut half = TcpHalf::new(&TcpLimits::default());
    let mut budget = MemBudget::default();
    let isn = 0x1234_5678u32;
    let mut next = 0u64;
    let mut ok = true;
    let mut check = |d: Delivery<'_>| match d {
        Delivery::Data { offset, bytes } => {
            ok &= offset == next && bytes == &data[offset as usize..offset as usize + bytes.len()];
            next += bytes.len() as u64;
        }
        Delivery::Gap { .. } => ok = false,
    };
    let t = Instant::now();
    half.segment(
        isn,
        Flags::SYN,
        b"",
        0,
        &mut budget,
        &mut check,
        &mut |_| {},
    );
    for &i in order {
        let seq = isn.wrapping_add(1).wrapping_add((i * MSS) as u32);
        half.segment(
            seq,
            Flags::NONE,
            segs[i],
            segs[i].len() as u32,
            &mut budget,
            &mut check,
            &mut |_| {},
        );
    }
    half.flush(&mut budget, &mut check, &mut |_| {});
    let secs = t.elapsed().as_secs_f64();
    assert!(ok && next == data.len() as u64, "stream intact");
    secs
}

#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn bench_reassembly_and_lookup() {
    let data = stream(256 << 20, 42);
    let n = data.len().div_ceil(MSS);
    let mb = data.len() as f64 / 1e6;
    let report = |name: &str, segs: usize, secs: f64| {
        println!(
            "{name:<34} {:>8.2} M segments/s {:>9.0} MB/s",
            segs as f64 / secs / 1e6,
            mb / secs
        );
    };

    let in_order: Vec<usize> = (0..n).collect();
    report("tcp in order", n, run(&data, &in_order));

    // Reordering inside windows of 32 segments (46 KiB), like a lossy path's arrivals.
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut shuffled = in_order.clone();
    for block in shuffled.chunks_mut(32) {
        for i in (1..block.len()).rev() {
            block.swap(i, (rand() % (i as u64 + 1)) as usize);
        }
    }
    report(
        "tcp shuffled in 32-segment windows",
        n,
        run(&data, &shuffled),
    );

    // Every segment sent twice, the copy 8 segments later.
    let mut dup = Vec::with_capacity(2 * n);
    for i in 0..n {
        dup.push(i);
        if i >= 8 {
            dup.push(i - 8);
        }
    }
    report("tcp with retransmissions", dup.len(), run(&data, &dup));

    // Lookups: 10 000 live flows, packets round-robin across them, both directions.
    let flows = 10_000u32;
    let packets = 20_000_000u64;
    let mut table: FlowTable<u64> = FlowTable::new(FlowLimits::default());
    let server: SocketAddr = "10.1.0.1:443".parse().unwrap();
    let clients: Vec<SocketAddr> = (0..flows)
        .map(|i| SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 40000 + (i % 1000) as u16)))
        .collect();
    let t = Instant::now();
    let mut sum = 0u64;
    for p in 0..packets {
        let c = clients[(p % u64::from(flows)) as usize];
        let (src, dst) = if p & 1 == 0 { (c, server) } else { (server, c) };
        let (id, _, _, n) = table.lookup(
            Transport::Tcp,
            src,
            dst,
            OrientationHint::NONE,
            p as i64,
            |_, _| 0,
            &mut |_, _, _, _| {},
        );
        *n += 1;
        sum += id;
        table.expire(p as i64, &mut |_, _, _, _| {});
    }
    let secs = t.elapsed().as_secs_f64();
    assert!(sum > 0 && table.len() == flows as usize);
    println!(
        "{:<34} {:>8.2} M lookups/s",
        "flow table, 10k flows",
        packets as f64 / secs / 1e6
    );
}
