//! Carving throughput and peak memory on a large database.
//!
//! ```text
//! cargo run --release --example carve_bench [DB] [--gib N]
//! ```
//! Without DB, builds `$TMPDIR/plainsight-bench/messages.db` (default 1 GiB,
//! outside the repository) once: a message table with ~150-byte rows, 10% of
//! them deleted without secure_delete, so pages carry freeblocks. Prints the
//! raw page-walk rate (read every page, parse its header and freeblock chain),
//! the full carve rate (structure, carving, live-row exclusion) and the peak
//! resident set size (VmHWM, reset before each measurement). The file is in
//! the page cache after the first pass, so figures are CPU-bound rates.

use plainsight::store::sqlite::carve::{CarveOptions, carve};
use plainsight::store::sqlite::format::PageHeader;
use plainsight::store::sqlite::image::Image;
use plainsight::store::sqlite::source::Source;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn build(path: &Path, gib: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "PRAGMA page_size=4096; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA secure_delete=OFF;
         CREATE TABLE message (_id INTEGER PRIMARY KEY, chat_row_id INTEGER, from_me INTEGER, key_id TEXT, timestamp INTEGER, text_data TEXT);",
    )
    .unwrap();
    let target = gib << 30;
    let words = [
        "see", "you", "at", "the", "station", "tomorrow", "noon", "bring", "the", "keys", "please",
        "thanks",
    ];
    let mut i: i64 = 0;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    loop {
        db.execute_batch("BEGIN").unwrap();
        {
            let mut st = db
                .prepare("INSERT INTO message(chat_row_id, from_me, key_id, timestamp, text_data) VALUES (?1, ?2, ?3, ?4, ?5)")
                .unwrap();
            for _ in 0..200_000 {
                i += 1;
                let mut text = String::new();
                for _ in 0..16 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    text.push_str(words[(x % words.len() as u64) as usize]);
                    text.push(' ');
                }
                st.execute(rusqlite::params![
                    i % 500,
                    i % 2,
                    format!("3EB0{i:012X}"),
                    1_700_000_000_000i64 + i,
                    text
                ])
                .unwrap();
            }
        }
        db.execute_batch("COMMIT").unwrap();
        if std::fs::metadata(path).unwrap().len() >= target {
            break;
        }
    }
    db.execute_batch("DELETE FROM message WHERE _id % 10 = 3;")
        .unwrap();
    println!("built {} ({} rows, 10% deleted)", path.display(), i);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gib = args
        .iter()
        .position(|a| a == "--gib")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1u64);
    let path = args
        .iter()
        .find(|a| !a.starts_with("--") && a.parse::<u64>().is_err())
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("plainsight-bench/messages.db"));
    if !path.exists() {
        build(&path, gib);
    }
    let len = std::fs::metadata(&path).unwrap().len();
    let mb = len as f64 / 1e6;
    println!("database: {} ({:.0} MB)", path.display(), mb);

    // Raw page walk: every page read and its b-tree header and freeblock chain parsed.
    reset_hwm();
    let t = Instant::now();
    let c0 = cpu_secs();
    let src = Source::open(&path).unwrap();
    let psz = 4096usize;
    let mut buf = vec![0u8; 1 << 20];
    let (mut pages, mut leaves, mut freeblocks) = (0u64, 0u64, 0u64);
    let mut off = 0u64;
    while off < len {
        let n = ((len - off) as usize).min(buf.len());
        if !src.read_at(off, &mut buf[..n]) {
            break;
        }
        for (k, page) in buf[..n].chunks_exact(psz).enumerate() {
            pages += 1;
            let hdr = if off == 0 && k == 0 { 100 } else { 0 };
            if let Some(h) = PageHeader::parse(page, hdr, psz) {
                if h.kind.is_leaf() {
                    leaves += 1;
                }
                freeblocks += h.count_freeblocks(page, psz).unwrap_or(0) as u64;
            }
        }
        off += n as u64;
    }
    let s = t.elapsed().as_secs_f64();
    let c = cpu_secs() - c0;
    println!(
        "raw page walk: {pages} pages, {leaves} leaves, {freeblocks} freeblocks in {s:.2} s = {:.0} MB/s ({:.0} MB per CPU-second), peak RSS {} MiB",
        mb / s,
        mb / c.max(0.01),
        vm_hwm_kib() / 1024
    );

    // Full carve.
    reset_hwm();
    let t = Instant::now();
    let c0 = cpu_secs();
    let img = Image::open(Source::open(&path).unwrap(), None, None).unwrap();
    let rep = carve(&img, None, &CarveOptions::default());
    let s = t.elapsed().as_secs_f64();
    let c = cpu_secs() - c0;
    println!(
        "full carve: {} records kept ({} candidates, {} live copies dropped) in {s:.2} s = {:.0} MB/s ({:.0} MB per CPU-second), peak RSS {} MiB",
        rep.records.len(),
        rep.stats.candidates,
        rep.stats.live_copies_dropped,
        mb / s,
        mb / c.max(0.01),
        vm_hwm_kib() / 1024
    );
}
