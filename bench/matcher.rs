//! Canary matcher throughput with 1, 100 and 10,000 canaries, every
//! encoding on (they always are: one automaton plus the decoding lane).
//!
//! ```text
//! cargo run --release --example bench_matcher -- [CAPTURE] [MIB]
//! ```
//!
//! Inputs, each scanned in 64 KiB chunks through one stream state: the
//! bytes of CAPTURE (default `/work/bench/mixed-200.pcap`, skipped if
//! missing), MIB MiB (default 64) of random bytes, and MIB MiB of chat-like
//! text full of escapes (percent, JSON `\u`, HTML entities, QP soft breaks,
//! base64 MIME lines) so the decoding lane does real work. Reports build
//! time, automaton size and the best of three runs in MB/s of CPU time (this
//! process's scheduler time, so other load on a shared machine counts less).
//! `BENCH_ONLY=random|escaped|capture` and `BENCH_CANARIES=1,100` narrow it.

use plainsight::evidence::canary::{Canary, CanarySet, ScanState, generate};
use std::time::Instant;

/// CPU time of this thread in nanoseconds (Linux), else wall time.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed().as_nanos() as u64
        })
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn random(n: usize) -> Vec<u8> {
    let mut r = Rng(0x5eed);
    let mut v = vec![0u8; n];
    for c in v.chunks_mut(8) {
        let x = r.next().to_le_bytes();
        c.copy_from_slice(&x[..c.len()]);
    }
    v
}

/// Chat-like text with every kind of escape the lane decodes.
fn escaped_text(n: usize) -> Vec<u8> {
    let lines = [
        "GET /search?q=caf%C3%A9+au+lait&lang=fr HTTP/1.1\r\n",
        "{\"text\":\"Gr\\u00fc\\u00dfe aus K\\u00f6ln, bis morgen!\",\"ts\":1767225600}\n",
        "<p>Caf&eacute; &amp; croissants at 9 &#8212; don&#39;t be late</p>\n",
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= see you there, this line is long enou=\r\n",
        "gh to be wrapped by a quoted-printable encoder at seventy-six chars.\r\n",
        "SGVsbG8gQm9iLCB0aGUgbmV3IGRvb3IgY29kZSBpcyAxMjM0LiBTZWUgeW91IGF0IG5vb24uIFJl\r\n",
        "Z2FyZHMsIEFsaWNlLiBQLlMuIGJyaW5nIHRoZSBibHVlIGZvbGRlciBwbGVhc2UsIHRoYW5rcyEg\r\n",
        "PRIVMSG #plainsight :hello there, are we still meeting at noon?\r\n",
    ];
    let mut out = Vec::with_capacity(n + 128);
    let mut i = 0;
    while out.len() < n {
        out.extend_from_slice(lines[i % lines.len()].as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

fn canaries(n: usize) -> CanarySet {
    let mut r = Rng(0xc0ffee);
    let list = (0..n)
        .map(|_| {
            let x = r.next().to_le_bytes();
            let y = r.next().to_le_bytes();
            let random = [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], y[0], y[1]];
            Canary {
                text: generate(&random),
                label: None,
                created: None,
            }
        })
        .collect();
    CanarySet::new(list).expect("canaries build")
}

/// Best-of-three CPU throughput in MB/s, and the hits of one run.
fn measure(set: &CanarySet, data: &[u8]) -> (f64, usize) {
    let mut best = u64::MAX;
    let mut hits = 0;
    for _ in 0..3 {
        let mut st = ScanState::default();
        let mut n = 0;
        let t0 = cpu_ns();
        for chunk in data.chunks(64 << 10) {
            set.scan(&mut st, chunk, |_| n += 1);
        }
        best = best.min(cpu_ns() - t0);
        hits = n;
    }
    (data.len() as f64 / (best.max(1) as f64 / 1e9) / 1e6, hits)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let capture = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "/work/bench/mixed-200.pcap".into());
    let mib: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    match std::fs::read(&capture) {
        Ok(b) => inputs.push((format!("capture {capture}"), b)),
        Err(e) => eprintln!("skipping {capture}: {e}"),
    }
    inputs.push(("random bytes".into(), random(mib << 20)));
    inputs.push(("escaped text".into(), escaped_text(mib << 20)));
    // BENCH_ONLY=random (or capture, escaped) keeps the inputs whose name starts so.
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        inputs.retain(|(name, _)| name.starts_with(&only));
    }
    let counts: Vec<usize> = std::env::var("BENCH_CANARIES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 100, 10_000]);
    println!(
        "{:>7} {:>9} {:>9} {:>10}  input                               MB/s (CPU)   hits",
        "canaries", "patterns", "build ms", "automaton"
    );
    for n in counts {
        let t0 = Instant::now();
        let set = canaries(n);
        let build = t0.elapsed().as_millis();
        for (name, data) in &inputs {
            let (mbps, hits) = measure(&set, data);
            println!(
                "{:>8} {:>9} {:>9} {:>8.1}MiB  {:<35} {:>9.0} {:>6}",
                n,
                set.pattern_count(),
                build,
                set.memory_usage() as f64 / (1 << 20) as f64,
                format!("{name} ({} MiB)", data.len() >> 20),
                mbps,
                hits
            );
        }
    }
}
