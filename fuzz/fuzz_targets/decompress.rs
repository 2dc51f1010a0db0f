//! Streaming decompression with caps: the first byte picks the coding and the
//! piece size; the output must never pass the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::codec::compress::{Caps, Coding, Decompressor};

fuzz_target!(|data: &[u8]| {
    let [a, rest @ ..] = data else {
        return;
    };
    let cap = 1 << 20;
    let mut d = match a % 5 {
        0 => Decompressor::new(Coding::Gzip, Caps::new(cap)),
        1 => Decompressor::new(Coding::Deflate, Caps::new(cap)),
        2 => Decompressor::new(Coding::Brotli, Caps::new(cap)),
        3 => Decompressor::new(Coding::Zstd, Caps::new(cap)),
        _ => Decompressor::raw_deflate(Caps::new(cap)),
    };
    let step = usize::from(a / 5) + 1;
    let mut n = 0u64;
    for piece in rest.chunks(step) {
        if d.feed(piece, &mut |x| n += x.len() as u64).is_err() {
            break;
        }
    }
    let _ = d.finish(&mut |x| n += x.len() as u64);
    assert!(n <= cap, "output {n} passed the cap");
});
