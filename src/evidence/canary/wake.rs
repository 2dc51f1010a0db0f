//! Where the automaton has to wake up.
//!
//! While the automaton sits in its start state, most positions can neither
//! start a pattern nor an escape; [`Wake::next`] skips them. A position must
//! be looked at when its byte is a *wake byte* (it leaves the start state or
//! may introduce an escape) and the *pair* it starts with the next byte can
//! begin a pattern or a plausible escape (`P` then `S`, `%` then a hex digit).
//!
//! The vector scan tests byte pairs 32 (AVX2) or 16 (SSSE3) positions at a
//! time the way Teddy does: wake bytes are put in eight buckets, and four
//! nibble lookups say for each position whether its first byte falls in a
//! bucket and its second byte in that bucket's follower set. That is a
//! superset, so each surviving position is checked exactly against a
//! 64 Kibit pair table. On random bytes about one position in 200 survives
//! the vector test and one in 350 the exact one, so ciphertext and
//! compressed bodies cost little more than reading them. Without a vector
//! unit, a table scan 8 bytes at a time does the same job more slowly.

/// Scan tables built once per canary set.
#[derive(Clone)]
pub(super) struct Wake {
    byte: [bool; 256],
    /// One bit per byte pair `b0 << 8 | b1` (with `b0` a wake byte) that
    /// must be looked at.
    pair: Box<[u64; 1024]>,
    /// Nibble tables of the pair filter: first byte low/high nibble, second
    /// byte low/high nibble; bit `j` stands for bucket `j`.
    masks: [[u8; 16]; 4],
    simd: Simd,
}

/// The vector unit the scan may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simd {
    None,
    #[cfg(target_arch = "x86_64")]
    Ssse3,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

/// A set of bytes as its nibble closure: high nibbles × low nibbles.
#[derive(Clone, Copy, Default)]
struct Closure {
    lo: u16,
    hi: u16,
}

impl Closure {
    fn add(&mut self, b: u8) {
        self.lo |= 1 << (b & 15);
        self.hi |= 1 << (b >> 4);
    }

    fn union(self, o: Closure) -> Closure {
        Closure {
            lo: self.lo | o.lo,
            hi: self.hi | o.hi,
        }
    }

    fn size(self) -> u32 {
        self.lo.count_ones() * self.hi.count_ones()
    }
}

/// A bucket: first bytes and the bytes that may follow them.
#[derive(Clone, Copy, Default)]
struct Bucket {
    first: Closure,
    next: Closure,
}

impl Bucket {
    /// Random byte pairs that pass this bucket, out of 65,536.
    fn cost(self) -> u32 {
        self.first.size() * self.next.size()
    }

    fn union(self, o: Bucket) -> Bucket {
        Bucket {
            first: self.first.union(o.first),
            next: self.next.union(o.next),
        }
    }
}

impl Wake {
    /// `byte`: the wake bytes; `pair(b0, b1)`: whether a wake byte `b0`
    /// followed by `b1` must be looked at.
    pub(super) fn new(byte: [bool; 256], pair: impl Fn(u8, u8) -> bool) -> Wake {
        let mut bits = Box::new([0u64; 1024]);
        let mut buckets: Vec<Bucket> = Vec::new();
        for b0 in 0..=255u8 {
            if !byte[usize::from(b0)] {
                continue;
            }
            let mut bucket = Bucket::default();
            bucket.first.add(b0);
            for b1 in 0..=255u8 {
                if pair(b0, b1) {
                    let k = usize::from(b0) << 8 | usize::from(b1);
                    bits[k >> 6] |= 1 << (k & 63);
                    bucket.next.add(b1);
                }
            }
            buckets.push(bucket);
        }
        // Eight buckets: merge the pair that adds the fewest passing random
        // pairs until eight are left (a handful of wake bytes usually).
        while buckets.len() > 8 {
            let mut best = (u32::MAX, 0, 1);
            for a in 0..buckets.len() {
                for b in a + 1..buckets.len() {
                    let grow = buckets[a].union(buckets[b]).cost()
                        - buckets[a].cost().max(buckets[b].cost());
                    if grow < best.0 {
                        best = (grow, a, b);
                    }
                }
            }
            let merged = buckets[best.1].union(buckets[best.2]);
            buckets[best.1] = merged;
            buckets.swap_remove(best.2);
        }
        let mut masks = [[0u8; 16]; 4];
        for (j, bucket) in buckets.iter().enumerate() {
            let bit = 1u8 << j;
            for n in 0..16 {
                let sets = [
                    bucket.first.lo,
                    bucket.first.hi,
                    bucket.next.lo,
                    bucket.next.hi,
                ];
                for (m, set) in masks.iter_mut().zip(sets) {
                    if set >> n & 1 != 0 {
                        m[n] |= bit;
                    }
                }
            }
        }
        Wake {
            byte,
            pair: bits,
            masks,
            simd: simd_available(),
        }
    }

    /// The first index at or after `i` where the automaton, in its start
    /// state, must be stepped: a wake byte whose pair passes (or which is the
    /// last byte of `data`), or `data.len()`.
    #[inline]
    pub(super) fn next(&self, data: &[u8], mut i: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `simd` names a feature only when the CPU has it.
            let r = match self.simd {
                Simd::Avx2 => unsafe { x86::next_avx2(data, i, &self.masks, &self.pair) },
                Simd::Ssse3 => unsafe { x86::next_ssse3(data, i, &self.masks, &self.pair) },
                Simd::None => Err(i),
            };
            match r {
                Ok(found) => return found,
                Err(tail) => i = tail,
            }
        }
        loop {
            i = self.scalar(data, i);
            let Some(&b0) = data.get(i) else {
                return data.len();
            };
            match data.get(i + 1) {
                Some(&b1) if !pair_ok(&self.pair, b0, b1) => i += 1,
                _ => return i,
            }
        }
    }

    /// The first wake byte at or after `i`, or `data.len()`.
    fn scalar(&self, data: &[u8], mut i: usize) -> usize {
        let t = &self.byte;
        while let Some(b) = data.get(i..i + 8) {
            if t[usize::from(b[0])]
                | t[usize::from(b[1])]
                | t[usize::from(b[2])]
                | t[usize::from(b[3])]
                | t[usize::from(b[4])]
                | t[usize::from(b[5])]
                | t[usize::from(b[6])]
                | t[usize::from(b[7])]
            {
                break;
            }
            i += 8;
        }
        while let Some(&b) = data.get(i) {
            if t[usize::from(b)] {
                break;
            }
            i += 1;
        }
        i
    }

    /// The same scan with each vector unit this CPU has, and without (for tests).
    #[cfg(test)]
    pub(super) fn every_mode(&self) -> Vec<Wake> {
        let mut modes = vec![Simd::None];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("ssse3") {
                modes.push(Simd::Ssse3);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                modes.push(Simd::Avx2);
            }
        }
        modes
            .into_iter()
            .map(|simd| Wake {
                simd,
                ..self.clone()
            })
            .collect()
    }
}

/// Whether the pair `b0 b1` passes (`b0` must be a wake byte to be set).
#[inline]
fn pair_ok(pair: &[u64; 1024], b0: u8, b1: u8) -> bool {
    let k = usize::from(b0) << 8 | usize::from(b1);
    pair[k >> 6] >> (k & 63) & 1 != 0
}

fn simd_available() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            return Simd::Avx2;
        }
        if std::arch::is_x86_feature_detected!("ssse3") {
            return Simd::Ssse3;
        }
    }
    Simd::None
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::pair_ok;
    use std::arch::x86_64::*;

    /// Checks the candidate positions `i + bit` of `mask` exactly.
    #[inline(always)]
    fn first_pass(data: &[u8], i: usize, mut mask: u32, pair: &[u64; 1024]) -> Option<usize> {
        while mask != 0 {
            let k = i + mask.trailing_zeros() as usize;
            if let (Some(&b0), Some(&b1)) = (data.get(k), data.get(k + 1))
                && pair_ok(pair, b0, b1)
            {
                return Some(k);
            }
            mask &= mask - 1;
        }
        None
    }

    /// Scans 16 positions at a time while their pairs lie inside `data`:
    /// `Ok` with the first position whose pair passes, or `Err` with where
    /// the scalar scan must take over.
    ///
    /// # Safety
    /// The CPU must support SSSE3.
    #[target_feature(enable = "ssse3")]
    pub(super) unsafe fn next_ssse3(
        data: &[u8],
        mut i: usize,
        masks: &[[u8; 16]; 4],
        pair: &[u64; 1024],
    ) -> Result<usize, usize> {
        // SAFETY: the loads read 16 bytes at `i` and at `i + 1` with
        // `i + 17 <= data.len()`; the tables are 16 bytes.
        unsafe {
            let t: [__m128i; 4] =
                std::array::from_fn(|k| _mm_loadu_si128(masks[k].as_ptr().cast()));
            let nib = _mm_set1_epi8(0x0f);
            let zero = _mm_setzero_si128();
            while i + 17 <= data.len() {
                let v0 = _mm_loadu_si128(data.as_ptr().add(i).cast());
                let v1 = _mm_loadu_si128(data.as_ptr().add(i + 1).cast());
                let a = _mm_and_si128(
                    _mm_shuffle_epi8(t[0], _mm_and_si128(v0, nib)),
                    _mm_shuffle_epi8(t[1], _mm_and_si128(_mm_srli_epi16(v0, 4), nib)),
                );
                let b = _mm_and_si128(
                    _mm_shuffle_epi8(t[2], _mm_and_si128(v1, nib)),
                    _mm_shuffle_epi8(t[3], _mm_and_si128(_mm_srli_epi16(v1, 4), nib)),
                );
                let miss = _mm_cmpeq_epi8(_mm_and_si128(a, b), zero);
                let mask = !(_mm_movemask_epi8(miss) as u32) & 0xffff;
                if mask != 0
                    && let Some(k) = first_pass(data, i, mask, pair)
                {
                    return Ok(k);
                }
                i += 16;
            }
        }
        Err(i)
    }

    /// [`next_ssse3`] 32 positions at a time.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn next_avx2(
        data: &[u8],
        mut i: usize,
        masks: &[[u8; 16]; 4],
        pair: &[u64; 1024],
    ) -> Result<usize, usize> {
        // SAFETY: the loads read 32 bytes at `i` and at `i + 1` with
        // `i + 33 <= data.len()`; the tables are 16 bytes, broadcast to
        // both lanes.
        unsafe {
            let t: [__m256i; 4] = std::array::from_fn(|k| {
                _mm256_broadcastsi128_si256(_mm_loadu_si128(masks[k].as_ptr().cast()))
            });
            let nib = _mm256_set1_epi8(0x0f);
            let zero = _mm256_setzero_si256();
            while i + 33 <= data.len() {
                let v0 = _mm256_loadu_si256(data.as_ptr().add(i).cast());
                let v1 = _mm256_loadu_si256(data.as_ptr().add(i + 1).cast());
                let a = _mm256_and_si256(
                    _mm256_shuffle_epi8(t[0], _mm256_and_si256(v0, nib)),
                    _mm256_shuffle_epi8(t[1], _mm256_and_si256(_mm256_srli_epi16(v0, 4), nib)),
                );
                let b = _mm256_and_si256(
                    _mm256_shuffle_epi8(t[2], _mm256_and_si256(v1, nib)),
                    _mm256_shuffle_epi8(t[3], _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib)),
                );
                let miss = _mm256_cmpeq_epi8(_mm256_and_si256(a, b), zero);
                let mask = !(_mm256_movemask_epi8(miss) as u32);
                if mask != 0
                    && let Some(k) = first_pass(data, i, mask, pair)
                {
                    return Ok(k);
                }
                i += 32;
            }
            // SAFETY: AVX2 implies SSSE3.
            next_ssse3(data, i, masks, pair)
        }
    }
}
