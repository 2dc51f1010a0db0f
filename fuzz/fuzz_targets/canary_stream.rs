//! The canary matcher (automaton, wake scan, decoding lane, UTF-16 twins)
//! on arbitrary bytes cut into arbitrary chunks: never panics, and every hit
//! lies inside the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plainsight::evidence::canary::{Canary, CanarySet, ScanState};
use std::sync::OnceLock;

fn set() -> &'static CanarySet {
    static SET: OnceLock<CanarySet> = OnceLock::new();
    SET.get_or_init(|| {
        let c = |t: &str| Canary {
            text: t.into(),
            label: None,
            created: None,
        };
        CanarySet::new(vec![
            c("PS-OBWGC2LOONUWO2DU4"),
            c("Grüße aus Köln 7H2K"),
            c("PS-??????-7H2K"),
            c("PS-7H2K 😀 ok"),
        ])
        .expect("canaries build")
    })
}

fuzz_target!(|data: &[u8]| {
    let [a, b, rest @ ..] = data else {
        return;
    };
    let set = set();
    let cuts = [usize::from(*a) * rest.len() / 256, usize::from(*b) * rest.len() / 256];
    let (x, y) = (cuts[0].min(cuts[1]), cuts[0].max(cuts[1]));
    let mut st = ScanState::default();
    let mut hits = Vec::new();
    for chunk in [&rest[..x], &rest[x..y], &rest[y..]] {
        set.scan(&mut st, chunk, |h| hits.push(h));
    }
    set.finish(&mut st, |h| hits.push(h));
    set.scan_once(rest, |h| hits.push(h));
    for h in hits {
        assert!(h.offset as usize + h.len <= rest.len(), "hit past the end");
        assert!((h.canary as usize) < set.len());
    }
});
