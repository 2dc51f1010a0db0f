//! False positives of the canary matcher: 1 GiB of random bytes and 1 GiB
//! of deflate output of generated text, streamed in 64 KiB chunks through
//! the matcher with 1,000 canaries and every encoding, give zero hits.
//!
//! Ignored by default (it streams 2 GiB and compresses ~3 GiB of text):
//!
//! ```text
//! cargo test --release --test canary_false_positives -- --ignored --nocapture
//! ```

use plainsight::evidence::canary::{Canary, CanarySet, ScanState, generate};
use std::io::Write;
use std::time::Instant;

const GIB: usize = 1 << 30;
const CHUNK: usize = 64 << 10;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let x = self.next().to_le_bytes();
            c.copy_from_slice(&x[..c.len()]);
        }
    }
}

fn canaries(n: usize) -> CanarySet {
    let mut r = Rng(0xfa15e);
    let list = (0..n)
        .map(|_| {
            let mut random = [0u8; 10];
            r.fill(&mut random);
            Canary {
                text: generate(&random),
                label: None,
                created: None,
            }
        })
        .collect();
    CanarySet::new(list).expect("1000 canaries build")
}

/// Sentences of pronounceable words, numbers, punctuation, now and then a
/// URL or a JSON fragment: text that compresses like chat logs do.
fn text_chunk(r: &mut Rng, out: &mut Vec<u8>, n: usize) {
    const ONSETS: [&str; 16] = [
        "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "st", "th",
    ];
    const VOWELS: [&str; 8] = ["a", "e", "i", "o", "u", "ea", "ou", "y"];
    out.clear();
    while out.len() < n {
        let words = 4 + r.next() % 12;
        for w in 0..words {
            let syllables = 1 + r.next() % 3;
            for s in 0..syllables {
                let onset = ONSETS[(r.next() % 16) as usize];
                if w == 0 && s == 0 {
                    out.extend(onset.to_uppercase().as_bytes());
                } else {
                    out.extend(onset.as_bytes());
                }
                out.extend(VOWELS[(r.next() % 8) as usize].as_bytes());
            }
            match r.next() % 20 {
                0 => out.extend(format!(" {}", r.next() % 10_000).as_bytes()),
                1 => out.extend(b","),
                _ => {}
            }
            out.push(b' ');
        }
        match r.next() % 10 {
            0 => out.extend(format!("https://example.com/m/{:x} ", r.next()).as_bytes()),
            1 => out.extend(format!("{{\"id\":{},\"ok\":true}} ", r.next() % 1000).as_bytes()),
            _ => {}
        }
        out.extend(b".\n");
    }
}

#[test]
#[ignore = "streams 2 GiB; run with --release -- --ignored --nocapture"]
fn two_gib_of_random_and_compressed_data_give_no_hits() {
    let t0 = Instant::now();
    let set = canaries(1000);
    eprintln!(
        "1000 canaries, {} patterns, automaton {:.1} MiB, built in {:?}",
        set.pattern_count(),
        set.memory_usage() as f64 / (1 << 20) as f64,
        t0.elapsed()
    );

    let mut r = Rng(0xdecafbad);
    let mut st = ScanState::default();
    let mut hits = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut scan_time = std::time::Duration::ZERO;
    for _ in 0..GIB / CHUNK {
        r.fill(&mut buf);
        let t = Instant::now();
        set.scan(&mut st, &buf, |h| hits.push(h));
        scan_time += t.elapsed();
    }
    eprintln!(
        "random: 1 GiB scanned in {scan_time:?} ({:.0} MB/s), {} hits",
        GIB as f64 / scan_time.as_secs_f64() / 1e6,
        hits.len()
    );
    assert!(
        hits.is_empty(),
        "hits in random bytes: {:?}",
        &hits[..hits.len().min(5)]
    );

    // Deflate output, scanned as it is produced.
    struct Scan<'a> {
        set: &'a CanarySet,
        st: ScanState,
        hits: usize,
        bytes: usize,
        time: std::time::Duration,
    }
    impl Write for Scan<'_> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let t = Instant::now();
            let hits = &mut self.hits;
            self.set.scan(&mut self.st, b, |_| *hits += 1);
            self.time += t.elapsed();
            self.bytes += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Scan {
        set: &set,
        st: ScanState::default(),
        hits: 0,
        bytes: 0,
        time: std::time::Duration::ZERO,
    };
    let mut z = flate2::write::DeflateEncoder::new(sink, flate2::Compression::fast());
    let mut text = Vec::new();
    let mut plain = 0usize;
    while z.get_ref().bytes < GIB {
        text_chunk(&mut r, &mut text, CHUNK);
        plain += text.len();
        z.write_all(&text).unwrap();
    }
    let sink = z.finish().unwrap();
    eprintln!(
        "deflate: {:.2} GiB of text gave {:.2} GiB compressed, scanned in {:?} ({:.0} MB/s), {} hits; total {:?}",
        plain as f64 / GIB as f64,
        sink.bytes as f64 / GIB as f64,
        sink.time,
        sink.bytes as f64 / sink.time.as_secs_f64() / 1e6,
        sink.hits,
        t0.elapsed()
    );
    assert_eq!(sink.hits, 0);
}
