//! Per-flow de-duplication of repeated observations.
//!
//! A page load repeats the same `Host`, `User-Agent` and cookie on every
//! request, and a resolver answers the same name many times. Reporting each
//! once keeps metadata and credentials from crowding message content out of
//! the per-flow evidence cap.

use rustc_hash::{FxHashSet, FxHasher};
use std::hash::{Hash, Hasher};

/// Most distinct items remembered per flow; beyond it nothing new is reported.
const MAX_ITEMS: usize = 1024;

#[derive(Debug, Default)]
pub struct Seen {
    items: FxHashSet<u64>,
    per_key: Vec<(&'static str, u16)>,
}

impl Seen {
    /// True the first time `(key, value)` is seen, as long as fewer than
    /// `max_per_key` distinct values of `key` were reported before.
    pub fn first(&mut self, key: &'static str, value: &str, max_per_key: u16) -> bool {
        if self.items.len() >= MAX_ITEMS {
            return false;
        }
        let count = match self.per_key.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => n,
            None => {
                self.per_key.push((key, 0));
                &mut self.per_key.last_mut().expect("just pushed").1
            }
        };
        if *count >= max_per_key {
            return false;
        }
        let mut h = FxHasher::default();
        key.hash(&mut h);
        value.hash(&mut h);
        if self.items.insert(h.finish()) {
            *count += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_and_excess_values_are_dropped() {
        let mut s = Seen::default();
        assert!(s.first("http.host", "a.example", 2));
        assert!(!s.first("http.host", "a.example", 2));
        assert!(s.first("http.host", "b.example", 2));
        assert!(!s.first("http.host", "c.example", 2));
        assert!(s.first("http.path", "a.example", 2));
    }
}
