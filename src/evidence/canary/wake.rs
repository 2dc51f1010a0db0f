//! Where the automaton has to wake up.
//!
//! While the automaton sits in its start state, most bytes can neither
//! start a pattern nor an escape; [`Wake::next`] skips them. It finds the
//! next *wake byte* (a byte that leaves the start state or may introduce
//! an escape) 16 bytes at a time with SSSE3 where the CPU has it (two nibble
//! lookups, as in Teddy), else 8 at a time through a table, and then checks
//! the byte *pair* it starts: a wake byte followed by a byte that cannot
//! continue any pattern or escape (`P` not followed by `S`, `%` not followed
//! by a hex digit) is skipped too. On random data about one position in 350
//! survives both tests, so ciphertext and compressed bodies cost little more
//! than the vector scan.

/// Scan tables built once per canary set.
#[derive(Clone)]
pub(super) struct Wake {
    byte: [bool; 256],
    /// One bit per byte pair `b0 << 8 | b1` that starts a pattern or a
    /// plausible escape.
    pair: Box<[u64; 1024]>,
    /// Nibble tables for the vector scan: a byte `b` is a candidate when
    /// `lo[b & 15] & hi[b >> 4] != 0` (a superset of the wake bytes).
    lo: [u8; 16],
    hi: [u8; 16],
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

impl Wake {
    /// `byte`: the wake bytes; `pair(b0, b1)`: whether a wake byte `b0`
    /// followed by `b1` must be looked at.
    pub(super) fn new(byte: [bool; 256], pair: impl Fn(u8, u8) -> bool) -> Wake {
        let mut bits = Box::new([0u64; 1024]);
        for b0 in 0..=255u8 {
            if !byte[usize::from(b0)] {
                continue;
            }
            for b1 in 0..=255u8 {
                if pair(b0, b1) {
                    let k = usize::from(b0) << 8 | usize::from(b1);
                    bits[k >> 6] |= 1 << (k & 63);
                }
            }
        }
        // Eight buckets, one per high nibble in use (merged when more than
        // eight are, which only adds candidates).
        let mut highs: Vec<u8> = (0..16u8)
            .filter(|h| (0..16u8).any(|l| byte[usize::from(h << 4 | l)]))
            .collect();
        highs.dedup();
        let bucket = |h: u8| -> u8 {
            let i = highs.iter().position(|&x| x == h).unwrap_or(0);
            1 << (i % 8)
        };
        let mut lo = [0u8; 16];
        let mut hi = [0u8; 16];
        for b in 0..=255u8 {
            if byte[usize::from(b)] {
                lo[usize::from(b & 15)] |= bucket(b >> 4);
                hi[usize::from(b >> 4)] = bucket(b >> 4);
            }
        }
        Wake {
            byte,
            pair: bits,
            lo,
            hi,
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
                Simd::Avx2 => unsafe { x86::next_avx2(data, i, &self.lo, &self.hi, &self.pair) },
                Simd::Ssse3 => unsafe { x86::next(data, i, &self.lo, &self.hi, &self.pair) },
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

    /// Scans whole 16-byte blocks from `i`: `Ok` with the first wake byte
    /// whose pair passes (or that ends `data`), or `Err` with where the last
    /// partial block starts. Candidates come from the nibble tables (a
    /// superset of the wake bytes); the pair bits, set only for wake bytes,
    /// make the answer exact.
    ///
    /// # Safety
    /// The CPU must support SSSE3.
    #[target_feature(enable = "ssse3")]
    pub(super) unsafe fn next(
        data: &[u8],
        mut i: usize,
        lo: &[u8; 16],
        hi: &[u8; 16],
        pair: &[u64; 1024],
    ) -> Result<usize, usize> {
        // SAFETY: every load reads 16 bytes at `i` with `i + 16 <= data.len()`;
        // the tables are 16 bytes.
        unsafe {
            let lo = _mm_loadu_si128(lo.as_ptr().cast());
            let hi = _mm_loadu_si128(hi.as_ptr().cast());
            let nib = _mm_set1_epi8(0x0f);
            let zero = _mm_setzero_si128();
            while i + 16 <= data.len() {
                let v = _mm_loadu_si128(data.as_ptr().add(i).cast());
                let l = _mm_shuffle_epi8(lo, _mm_and_si128(v, nib));
                let h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(v, 4), nib));
                let miss = _mm_cmpeq_epi8(_mm_and_si128(l, h), zero);
                let mut mask = !(_mm_movemask_epi8(miss) as u32) & 0xffff;
                while mask != 0 {
                    let k = i + mask.trailing_zeros() as usize;
                    match (data.get(k), data.get(k + 1)) {
                        (Some(&b0), Some(&b1)) if !pair_ok(pair, b0, b1) => {}
                        _ => return Ok(k),
                    }
                    mask &= mask - 1;
                }
                i += 16;
            }
        }
        Err(i)
    }

    /// [`next`] 32 bytes at a time.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn next_avx2(
        data: &[u8],
        mut i: usize,
        lo: &[u8; 16],
        hi: &[u8; 16],
        pair: &[u64; 1024],
    ) -> Result<usize, usize> {
        // SAFETY: every load reads 32 bytes at `i` with `i + 32 <= data.len()`;
        // the tables are 16 bytes, broadcast to both lanes.
        unsafe {
            let lo = _mm256_broadcastsi128_si256(_mm_loadu_si128(lo.as_ptr().cast()));
            let hi = _mm256_broadcastsi128_si256(_mm_loadu_si128(hi.as_ptr().cast()));
            let nib = _mm256_set1_epi8(0x0f);
            let zero = _mm256_setzero_si256();
            while i + 32 <= data.len() {
                let v = _mm256_loadu_si256(data.as_ptr().add(i).cast());
                let l = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, nib));
                let h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
                let miss = _mm256_cmpeq_epi8(_mm256_and_si256(l, h), zero);
                let mut mask = !(_mm256_movemask_epi8(miss) as u32);
                while mask != 0 {
                    let k = i + mask.trailing_zeros() as usize;
                    match (data.get(k), data.get(k + 1)) {
                        (Some(&b0), Some(&b1)) if !pair_ok(pair, b0, b1) => {}
                        _ => return Ok(k),
                    }
                    mask &= mask - 1;
                }
                i += 32;
            }
        }
        // The rest in 16-byte blocks.
        // SAFETY: AVX2 implies SSSE3.
        unsafe { next(data, i, lo, hi, pair) }
    }
}
