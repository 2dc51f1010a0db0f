//! The escape recogniser on arbitrary bytes: never panics, never looks past
//! MAX_ESCAPE bytes, and a decision on a prefix holds for the whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::codec::escape::{MAX_ESCAPE, Step, parse};

fuzz_target!(|data: &[u8]| {
    let [flag, rest @ ..] = data else {
        return;
    };
    let lines = flag & 1 == 1;
    let whole = parse(rest, lines);
    if let Step::Done(d) = whole {
        assert!(usize::from(d.len) <= rest.len().min(MAX_ESCAPE));
        assert!(d.bytes().len() <= 4);
    }
    if rest.len() >= MAX_ESCAPE {
        assert_ne!(parse(&rest[..MAX_ESCAPE], lines), Step::Need);
    }
    for k in 0..=rest.len().min(MAX_ESCAPE) {
        match parse(&rest[..k], lines) {
            Step::Need => {}
            decided => assert_eq!(decided, whole, "prefix of {k} bytes decided differently"),
        }
    }
});
