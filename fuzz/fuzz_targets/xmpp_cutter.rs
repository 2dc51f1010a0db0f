//! The XMPP stanza cutter and stanza reader on arbitrary bytes, fed in
//! chunks whose sizes come from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::proto::xmpp::cutter::{Cutter, Piece};
use plainsight::proto::xmpp::stanza;

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let step = step as usize % 64 + 1;
    let mut c = Cutter::new(4096);
    for chunk in rest.chunks(step) {
        c.push(chunk);
        while let Some(p) = c.next_piece() {
            match p {
                Piece::Stanza(s) => {
                    let _ = stanza::read(s);
                }
                Piece::StreamOpen(t) => {
                    let _ = stanza::stream_attrs(t);
                }
                _ => {}
            }
        }
        // Reading right after each push keeps the buffer near the cap.
        assert!(c.held() <= 2 * 4096 + 64, "cutter holds {} bytes", c.held());
    }
    let _ = c.take_rest();
});
