//! The page carver on arbitrary database bytes: a valid header (so the
//! structure walk and every carving path run) over fuzzer-chosen pages.
#![no_main]
use libfuzzer_sys::fuzz_target;
use plainsight::store::sqlite::carve::{CarveOptions, carve};
use plainsight::store::sqlite::format::MAGIC;
use plainsight::store::sqlite::image::Image;
use plainsight::store::sqlite::source::Source;

fuzz_target!(|data: &[u8]| {
    if data.len() < 100 || data.len() > 64 * 512 {
        return;
    }
    let mut db = data.to_vec();
    db[..16].copy_from_slice(MAGIC);
    db[16..18].copy_from_slice(&512u16.to_be_bytes());
    db[20] = db[20] % 32; // reserved bytes: keep the usable size legal
    db[21..24].copy_from_slice(&[64, 32, 32]);
    let pages = db.len().div_ceil(512);
    db.resize(pages * 512, 0);
    if let Ok(img) = Image::open(Source::Mem(db), None, None) {
        let _ = carve(&img, None, &CarveOptions::default());
    }
});
