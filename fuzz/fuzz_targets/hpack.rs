//! HPACK and QPACK decoders and the Huffman decoder on arbitrary bytes. The
//! first byte chooses block sizes; blocks are decoded in order through one
//! decoder so dynamic-table state carries over as on a real connection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::proto::http2::{hpack, huffman};
use plainsight::proto::http3::qpack;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let size = usize::from(ctl % 64) + 1;
    let mut h = hpack::Decoder::default();
    for block in rest.chunks(size) {
        let _ = h.decode(block);
    }
    let mut q = qpack::Decoder::default();
    q.set_max_capacity(u64::from(ctl) * 64);
    for (i, block) in rest.chunks(size).enumerate() {
        if i % 2 == 0 {
            let _ = q.encoder_stream(block);
        } else {
            let _ = q.decode(block);
        }
    }
    let mut out = Vec::new();
    let _ = huffman::decode(rest, 4096, &mut out);
});
