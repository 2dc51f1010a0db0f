//! Page headers, cells and records from arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use plainsight::store::sqlite::format::{
    Overflow, PageHeader, decode_value, leaf_cell, record_header, serial_size,
};

fuzz_target!(|data: &[u8]| {
    if let Some((types, hlen)) = record_header(data, 256) {
        let mut at = hlen;
        for t in types {
            let n = serial_size(t).unwrap_or(0) as usize;
            let _ = decode_value(t, data.get(at..).unwrap_or(&[]));
            at = at.saturating_add(n);
        }
    }
    if data.len() >= 512 {
        let usable = data.len().min(65536);
        let ov = Overflow::table_leaf(usable);
        if let Some(h) = PageHeader::parse(data, 0, usable) {
            for p in h.cell_ptrs(data, usable) {
                let _ = leaf_cell(data, p, usable, &ov);
            }
            let _ = h.freeblocks(data, usable);
        }
    }
});
