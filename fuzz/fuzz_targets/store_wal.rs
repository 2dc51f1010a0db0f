//! The WAL and rollback-journal readers, and the FTS index decoders, on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use plainsight::store::sqlite::source::Source;
use plainsight::store::sqlite::{fts, journal, wal};

fuzz_target!(|data: &[u8]| {
    let mut w = data.to_vec();
    if w.len() >= 32 {
        w[..4].copy_from_slice(&wal::MAGIC_LE.to_be_bytes());
        w[8..12].copy_from_slice(&512u32.to_be_bytes());
    }
    let _ = wal::scan(&Source::Mem(w));
    let _ = journal::scan(&Source::Mem(data.to_vec()), Some(512));
    let _ = fts::fts3_leaf(data, |_, _| {});
    let _ = fts::fts5_leaf(data, &mut None, |_, _| {});
});
