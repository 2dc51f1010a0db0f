//! The write-ahead log: header, frames, the checksum chain, and the classes
//! an auditor reports separately (storage.md §2.9): committed, historic
//! (superseded by a later commit), uncommitted tail, stale (older salts) and
//! invalid frames after the point where SQLite stops reading.

use super::format::be32;
use super::source::Source;

/// WAL magic with little-endian checksums.
pub const MAGIC_LE: u32 = 0x377f_0682;
/// WAL magic with big-endian checksums.
pub const MAGIC_BE: u32 = 0x377f_0683;
pub const HEADER: usize = 32;
pub const FRAME_HEADER: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalHeader {
    pub big_endian: bool,
    pub version: u32,
    pub page_size: u32,
    pub checkpoint_seq: u32,
    pub salt: (u32, u32),
    pub checksum: (u32, u32),
    /// The header checksum matches bytes 0..24.
    pub valid: bool,
}

impl WalHeader {
    pub fn parse(b: &[u8]) -> Option<WalHeader> {
        let magic = be32(b, 0)?;
        let big_endian = match magic {
            MAGIC_LE => false,
            MAGIC_BE => true,
            _ => return None,
        };
        let page_size = be32(b, 8)?;
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return None;
        }
        let checksum = (be32(b, 24)?, be32(b, 28)?);
        let valid = wal_checksum(b.get(..24)?, big_endian, (0, 0)) == checksum;
        Some(WalHeader {
            big_endian,
            version: be32(b, 4)?,
            page_size,
            checkpoint_seq: be32(b, 12)?,
            salt: (be32(b, 16)?, be32(b, 20)?),
            checksum,
            valid,
        })
    }
}

/// The WAL checksum over 8-byte units (storage.md §2.9). `data.len()` must be
/// a multiple of 8; a trailing partial unit is ignored.
pub fn wal_checksum(data: &[u8], big_endian: bool, seed: (u32, u32)) -> (u32, u32) {
    let (mut s0, mut s1) = seed;
    for c in data.chunks_exact(8) {
        let (x0, x1) = if big_endian {
            (
                u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            )
        } else {
            (
                u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            )
        };
        s0 = s0.wrapping_add(x0).wrapping_add(s1);
        s1 = s1.wrapping_add(x1).wrapping_add(s0);
    }
    (s0, s1)
}

/// How a frame relates to the database state SQLite would read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameClass {
    /// Part of the current snapshot (latest committed image of its page).
    Current,
    /// Committed, but a later committed frame holds a newer image of the page.
    Historic,
    /// Valid frame after the last commit frame: an unfinished transaction.
    Uncommitted,
    /// Salts of an earlier WAL generation: left behind by a checkpoint and restart.
    Stale,
    /// Current salts but after the first invalid frame, or bad checksum.
    Invalid,
}

impl FrameClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameClass::Current => "current",
            FrameClass::Historic => "historic",
            FrameClass::Uncommitted => "uncommitted",
            FrameClass::Stale => "stale",
            FrameClass::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// 0-based frame index.
    pub index: u32,
    /// Offset of the frame header in the WAL file; the page follows 24 bytes later.
    pub offset: u64,
    pub pgno: u32,
    /// Database size in pages after this commit (0 for non-commit frames).
    pub commit: u32,
    pub salt: (u32, u32),
    pub class: FrameClass,
    /// For frames outside the valid prefix: the checksum chain from the previous
    /// frame of the same generation holds (`None` when it cannot be checked).
    pub chained: Option<bool>,
}

/// The result of reading a WAL file.
#[derive(Debug, Clone)]
pub struct WalScan {
    pub header: WalHeader,
    pub frames: Vec<Frame>,
    /// Frames SQLite would accept (the valid prefix).
    pub valid: u32,
    /// Index of the last commit frame in the valid prefix.
    pub last_commit: Option<u32>,
    /// Database size in pages at the last commit.
    pub db_pages: Option<u32>,
    /// Bytes after the last whole frame.
    pub trailing: u64,
    /// Why the valid prefix ended before the end of the file.
    pub stop: Option<(u32, &'static str)>,
}

impl WalScan {
    pub fn count(&self, class: FrameClass) -> usize {
        self.frames.iter().filter(|f| f.class == class).count()
    }

    /// Frame of the current snapshot for each page number.
    pub fn current_pages(&self) -> impl Iterator<Item = &Frame> {
        self.frames
            .iter()
            .filter(|f| f.class == FrameClass::Current)
    }
}

/// Reads every frame of a WAL. Memory is one page plus the frame list.
pub fn scan(src: &Source) -> Option<WalScan> {
    let mut hdr = [0u8; HEADER];
    if !src.read_at(0, &mut hdr) {
        return None;
    }
    let header = WalHeader::parse(&hdr)?;
    let psz = header.page_size as usize;
    let fsz = (FRAME_HEADER + psz) as u64;
    let nframes = (src.len().saturating_sub(HEADER as u64)) / fsz;
    let trailing = (src.len().saturating_sub(HEADER as u64)) % fsz;
    let mut buf = vec![0u8; FRAME_HEADER + psz];
    let mut frames = Vec::with_capacity(nframes.min(1 << 20) as usize);
    let mut seed = header.checksum;
    let mut in_prefix = header.valid;
    let mut stop = None;
    if !header.valid {
        stop = Some((0, "WAL header checksum mismatch"));
    }
    let mut valid = 0u32;
    let mut last_commit = None;
    let mut db_pages = None;
    let mut prev: Option<((u32, u32), (u32, u32))> = None; // (salt, stored checksum)
    for i in 0..nframes {
        let off = HEADER as u64 + i * fsz;
        if !src.read_at(off, &mut buf) {
            break;
        }
        let pgno = be32(&buf, 0).unwrap_or(0);
        let commit = be32(&buf, 4).unwrap_or(0);
        let salt = (be32(&buf, 8).unwrap_or(0), be32(&buf, 12).unwrap_or(0));
        let stored = (be32(&buf, 16).unwrap_or(0), be32(&buf, 20).unwrap_or(0));
        let compute = |seed: (u32, u32)| {
            let s = wal_checksum(&buf[..8], header.big_endian, seed);
            wal_checksum(&buf[FRAME_HEADER..], header.big_endian, s)
        };
        let mut class = FrameClass::Invalid;
        let mut chained = None;
        if in_prefix {
            if salt != header.salt {
                in_prefix = false;
                stop = Some((i as u32, "salt differs from the WAL header"));
            } else if pgno == 0 || compute(seed) != stored {
                in_prefix = false;
                stop = Some((i as u32, "checksum chain broken"));
            } else {
                seed = stored;
                valid += 1;
                class = FrameClass::Uncommitted;
                if commit != 0 {
                    last_commit = Some(i as u32);
                    db_pages = Some(commit);
                }
            }
        }
        if class == FrameClass::Invalid {
            if let Some((psalt, pck)) = prev
                && psalt == salt
            {
                chained = Some(compute(pck) == stored);
            }
            if salt != header.salt {
                class = FrameClass::Stale;
            }
        }
        prev = Some((salt, stored));
        frames.push(Frame {
            index: i as u32,
            offset: off,
            pgno,
            commit,
            salt,
            class,
            chained,
        });
    }
    if let Some(lc) = last_commit {
        let mut seen = rustc_hash::FxHashSet::default();
        for f in frames[..=lc as usize].iter_mut().rev() {
            f.class = if seen.insert(f.pgno) {
                FrameClass::Current
            } else {
                FrameClass::Historic
            };
        }
    }
    Some(WalScan {
        header,
        frames,
        valid,
        last_commit,
        db_pages,
        trailing,
        stop,
    })
}

/// The WAL-index (`-shm`) header fields used to cross-check the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmHeader {
    pub version: u32,
    pub max_frame: u32,
    pub pages: u32,
    pub salt: (u32, u32),
}

/// Parses the first WAL-index header copy (native byte order, little-endian
/// on every platform that writes these files in practice).
pub fn parse_shm(b: &[u8]) -> Option<ShmHeader> {
    let le = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let version = le(0)?;
    if version != 3_007_000 {
        return None;
    }
    Some(ShmHeader {
        version,
        max_frame: le(16)?,
        pages: le(20)?,
        salt: (
            u32::from_be_bytes(b.get(32..36)?.try_into().ok()?),
            u32::from_be_bytes(b.get(36..40)?.try_into().ok()?),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(pgno, commit size, salt override)` of one frame.
    type FrameSpec = (u32, u32, Option<(u32, u32)>);

    /// Builds a WAL with the given frames.
    pub(crate) fn build(psz: usize, salt: (u32, u32), frames: &[FrameSpec]) -> Vec<u8> {
        let mut w = Vec::new();
        w.extend_from_slice(&MAGIC_LE.to_be_bytes());
        w.extend_from_slice(&3_007_000u32.to_be_bytes());
        w.extend_from_slice(&(psz as u32).to_be_bytes());
        w.extend_from_slice(&0u32.to_be_bytes());
        w.extend_from_slice(&salt.0.to_be_bytes());
        w.extend_from_slice(&salt.1.to_be_bytes());
        let ck = wal_checksum(&w[..24], false, (0, 0));
        w.extend_from_slice(&ck.0.to_be_bytes());
        w.extend_from_slice(&ck.1.to_be_bytes());
        let mut seed = ck;
        for (i, (pgno, commit, s)) in frames.iter().enumerate() {
            let s = s.unwrap_or(salt);
            let mut fh = Vec::new();
            fh.extend_from_slice(&pgno.to_be_bytes());
            fh.extend_from_slice(&commit.to_be_bytes());
            let page = vec![(i as u8).wrapping_add(1); psz];
            let c = wal_checksum(&fh, false, seed);
            let c = wal_checksum(&page, false, c);
            seed = c;
            fh.extend_from_slice(&s.0.to_be_bytes());
            fh.extend_from_slice(&s.1.to_be_bytes());
            fh.extend_from_slice(&c.0.to_be_bytes());
            fh.extend_from_slice(&c.1.to_be_bytes());
            w.extend_from_slice(&fh);
            w.extend_from_slice(&page);
        }
        w
    }

    #[test]
    fn classes_of_a_synthetic_wal() {
        let w = build(
            512,
            (7, 9),
            &[(1, 0, None), (2, 2, None), (2, 2, None), (3, 0, None)],
        );
        let s = scan(&Source::Mem(w)).unwrap();
        assert!(s.header.valid);
        assert_eq!(s.valid, 4);
        assert_eq!(s.last_commit, Some(2));
        let classes: Vec<FrameClass> = s.frames.iter().map(|f| f.class).collect();
        assert_eq!(
            classes,
            [
                FrameClass::Current,
                FrameClass::Historic,
                FrameClass::Current,
                FrameClass::Uncommitted
            ]
        );
    }

    #[test]
    fn a_foreign_salt_ends_the_valid_prefix() {
        let w = build(
            512,
            (7, 9),
            &[(1, 1, None), (2, 2, Some((6, 1))), (3, 3, Some((6, 1)))],
        );
        let s = scan(&Source::Mem(w)).unwrap();
        assert_eq!(s.valid, 1);
        assert_eq!(s.stop.map(|x| x.0), Some(1));
        assert_eq!(s.frames[1].class, FrameClass::Stale);
        assert_eq!(s.frames[2].class, FrameClass::Stale);
    }

    #[test]
    fn flipped_page_byte_breaks_the_chain() {
        let mut w = build(512, (7, 9), &[(1, 1, None), (2, 2, None)]);
        let at = HEADER + (FRAME_HEADER + 512) + FRAME_HEADER + 100;
        w[at] ^= 1;
        let s = scan(&Source::Mem(w)).unwrap();
        assert_eq!(s.valid, 1);
        assert_eq!(s.frames[1].class, FrameClass::Invalid);
    }

    #[test]
    fn not_a_wal() {
        assert!(scan(&Source::Mem(vec![0; 100])).is_none());
    }

    proptest::proptest! {
        #[test]
        fn garbage_after_valid_frames_never_shortens_the_valid_prefix(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let mut w = build(512, (7, 9), &[(1, 0, None), (2, 2, None)]);
            w.extend_from_slice(&tail);
            let s = scan(&Source::Mem(w)).unwrap();
            proptest::prop_assert!(s.valid >= 2);
            proptest::prop_assert_eq!(s.last_commit.map(|c| c >= 1), Some(true));
        }

        #[test]
        fn random_wals_never_panic(mut b in proptest::collection::vec(proptest::prelude::any::<u8>(), 32..3000)) {
            b[..4].copy_from_slice(&MAGIC_LE.to_be_bytes());
            b[8..12].copy_from_slice(&512u32.to_be_bytes());
            let _ = scan(&Source::Mem(b));
        }
    }
}
