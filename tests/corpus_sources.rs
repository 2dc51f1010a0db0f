//! Reads every public corpus capture through `source::read_file` and
//! `decode::Decoder`: packet counts must match MANIFEST.tsv, TCP/UDP counts
//! must match tshark's protocol hierarchy in the `.truth.txt` files, and
//! embedded secrets (pcapng DSBs, key-log comments) must come out exactly
//! as the derived key-log files hold them. Skips when the corpus is absent.
//!
//! `cargo test --release --test corpus_sources -- --ignored --nocapture
//! throughput` measures raw read + decode speed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use plainsight::decode::{DecodeStats, Decoder, DefragLimits, Outcome};
use plainsight::source::{Packet, PacketSink, SecretOrigin, read_file};

/// `shared/corpus/public` next to the repository or one of its ancestors
/// (worktrees live deeper than `main`), or `$PLAINSIGHT_CORPUS`.
fn corpus() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PLAINSIGHT_CORPUS") {
        return Some(PathBuf::from(p).join("public"));
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/corpus/public"))
        .find(|p| p.join("MANIFEST.tsv").is_file())
}

struct Entry {
    path: String,
    packets: u64,
    has_keys: String,
}

fn manifest(root: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (c_path, c_packets, c_keys) = (col("path"), col("packets"), col("has_keys"));
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let packets = f.get(c_packets)?.parse().ok()?;
            Some(Entry {
                path: f[c_path].to_string(),
                packets,
                has_keys: f[c_keys].to_string(),
            })
        })
        .collect()
}

#[derive(Default)]
struct Sink {
    decoder: Option<Decoder>,
    packets: u64,
    tcp: u64,
    udp: u64,
    secrets: Vec<(Vec<u8>, SecretOrigin)>,
    warnings: Vec<String>,
}

impl PacketSink for Sink {
    fn packet(&mut self, p: &Packet<'_>) {
        self.packets += 1;
        let d = self
            .decoder
            .get_or_insert_with(|| Decoder::new(DefragLimits::default()));
        if let Outcome::Packet(dec) = d.decode(p.link, p.data, p.ts) {
            match dec.l4 {
                plainsight::decode::L4::Tcp { .. } => self.tcp += 1,
                plainsight::decode::L4::Udp { .. } => self.udp += 1,
                _ => {}
            }
        }
    }
    fn secrets(&mut self, text: &[u8], origin: SecretOrigin, _offset: u64) {
        self.secrets.push((text.to_vec(), origin));
    }
    fn warning(&mut self, offset: Option<u64>, message: String) {
        self.warnings.push(format!("{offset:?}: {message}"));
    }
}

/// tshark's frame counts for `tcp` and `udp` directly under a top-level
/// `ip`/`ipv6` (or under a VLAN/PPPoE/PPP wrapper) in the `io,phs` table.
fn truth_counts(truth: &str) -> Option<(u64, u64)> {
    let start = truth.find("## Protocol hierarchy, no keys")?;
    let table = &truth[start..];
    let mut tcp = 0;
    let mut udp = 0;
    // (indent, name) of the enclosing rows.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut rows = false;
    for line in table.lines().skip(1) {
        if line.starts_with("====") {
            if rows {
                break;
            }
            continue;
        }
        let Some(frames) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("frames:"))
            .and_then(|f| f.parse::<u64>().ok())
        else {
            continue;
        };
        rows = true;
        let indent = line.len() - line.trim_start().len();
        let name = line.split_whitespace().next()?;
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let ip_parents = stack
            .iter()
            .filter(|(_, n)| n == "ip" || n == "ipv6")
            .count();
        let parent_is_ip = stack.last().is_some_and(|(_, n)| n == "ip" || n == "ipv6");
        if parent_is_ip && ip_parents == 1 {
            match name {
                "tcp" => tcp += frames,
                "udp" => udp += frames,
                _ => {}
            }
        }
        stack.push((indent, name.to_string()));
    }
    Some((tcp, udp))
}

/// Key-log lines as a set (order and line ends do not matter).
fn lines(text: &[u8]) -> BTreeSet<String> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn every_public_capture_reads_decodes_and_yields_its_secrets() {
    let Some(root) = corpus() else {
        eprintln!("SKIPPED: shared/corpus/public not found (set PLAINSIGHT_CORPUS)");
        return;
    };
    let entries = manifest(&root);
    assert!(entries.len() > 50, "manifest too short");
    let mut checked_secrets = 0;
    let mut checked_counts = 0;
    for e in &entries {
        let path = root.join(&e.path);
        let mut sink = Sink::default();
        let s = read_file(&path, None, &mut sink).unwrap_or_else(|err| panic!("{}: {err}", e.path));
        assert_eq!(s.packets, e.packets, "{}: packet count", e.path);
        assert_eq!(sink.packets, e.packets, "{}: delivered", e.path);
        assert_eq!(s.truncated_at, None, "{}: {:?}", e.path, sink.warnings);
        assert_eq!(s.size, std::fs::metadata(&path).unwrap().len());
        let stats: DecodeStats = sink
            .decoder
            .as_ref()
            .map(|d| *d.stats())
            .unwrap_or_default();
        assert_eq!(stats.frames, e.packets);

        let truth_path = path.with_extension("truth.txt");
        if let Ok(truth) = std::fs::read_to_string(&truth_path)
            && let Some((tcp, udp)) = truth_counts(&truth)
        {
            assert_eq!(
                (sink.tcp, sink.udp),
                (tcp, udp),
                "{}: TCP/UDP frames vs tshark",
                e.path
            );
            checked_counts += 1;
        }

        let keys = &e.has_keys;
        if keys.contains("Decryption Secrets Block") {
            let derived = path.with_extension("dsb.keylog.txt");
            let want = std::fs::read(&derived).unwrap();
            let got: Vec<u8> = sink
                .secrets
                .iter()
                .filter(|(_, o)| *o == SecretOrigin::SecretsBlock)
                .flat_map(|(t, _)| t.clone())
                .collect();
            assert_eq!(got, want, "{}: DSB bytes", e.path);
            checked_secrets += 1;
        } else if keys.contains("pcapng comment") {
            let derived = path.with_extension("keylog.txt");
            let want = lines(&std::fs::read(&derived).unwrap());
            let got: BTreeSet<String> = sink
                .secrets
                .iter()
                .filter(|(_, o)| *o == SecretOrigin::Comment)
                .flat_map(|(t, _)| lines(t))
                .collect();
            assert_eq!(got, want, "{}: comment key-log lines", e.path);
            checked_secrets += 1;
        } else {
            assert!(sink.secrets.is_empty(), "{}: unexpected secrets", e.path);
        }
    }
    eprintln!(
        "{} captures read; secrets checked in {checked_secrets}, TCP/UDP counts in {checked_counts}",
        entries.len()
    );
    assert!(checked_secrets >= 9);
}

/// Nanoseconds this thread has spent on a CPU (Linux schedstat).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Raw read + decode throughput on the largest corpus capture, repeated.
#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn throughput() {
    let Some(root) = corpus() else {
        eprintln!("SKIPPED: shared/corpus/public not found");
        return;
    };
    let largest = manifest(&root)
        .into_iter()
        .map(|e| root.join(e.path))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .unwrap();
    let rounds: u32 = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    struct Count(u64);
    impl PacketSink for Count {
        fn packet(&mut self, p: &Packet<'_>) {
            self.0 += p.data.len() as u64;
        }
        fn secrets(&mut self, _: &[u8], _: SecretOrigin, _: u64) {}
        fn warning(&mut self, _: Option<u64>, _: String) {}
    }
    // Warm the page cache.
    read_file(&largest, None, &mut Count(0)).unwrap();
    let report = |label: &str, decode: bool| {
        let started = Instant::now();
        let cpu_start = thread_cpu_ns();
        let (mut bytes, mut packets) = (0u64, 0u64);
        for _ in 0..rounds {
            let s = if decode {
                read_file(&largest, None, &mut Sink::default())
            } else {
                read_file(&largest, None, &mut Count(0))
            }
            .unwrap();
            bytes += s.size;
            packets += s.packets;
        }
        let wall = started.elapsed().as_secs_f64();
        // On a shared machine on-CPU time says more than wall time.
        let secs = match (cpu_start, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
            _ => wall,
        };
        eprintln!(
            "{label}: {rounds} x {}: {:.1} MB, {packets} packets, {secs:.2} s on CPU ({wall:.2} s wall) = {:.0} MB/s, {:.0} packets/s",
            largest.display(),
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs,
            packets as f64 / secs,
        );
    };
    report("read+hash", false);
    report("read+hash+decode", true);
}
