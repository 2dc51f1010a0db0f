//! Random-access byte sources: an evidence file read with `pread`, or bytes in
//! memory (decrypted pages, tests). The carver never maps whole files.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes that can be read at any offset.
pub enum Source {
    File { file: File, len: u64 },
    Mem(Vec<u8>),
}

impl Source {
    pub fn open(path: &std::path::Path) -> io::Result<Source> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Source::File { file, len })
    }

    pub fn len(&self) -> u64 {
        match self {
            Source::File { len, .. } => *len,
            Source::Mem(v) => v.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from `off`; false when the range is not entirely inside the source.
    pub fn read_at(&self, off: u64, buf: &mut [u8]) -> bool {
        let Some(end) = off.checked_add(buf.len() as u64) else {
            return false;
        };
        if end > self.len() {
            return false;
        }
        match self {
            Source::File { file, .. } => file.read_exact_at(buf, off).is_ok(),
            Source::Mem(v) => {
                buf.copy_from_slice(&v[off as usize..end as usize]);
                true
            }
        }
    }

    /// Reads up to `n` bytes from `off` (short at the end of the source).
    pub fn read_vec(&self, off: u64, n: usize) -> Vec<u8> {
        let avail = self.len().saturating_sub(off).min(n as u64) as usize;
        let mut v = vec![0u8; avail];
        if !self.read_at(off, &mut v) {
            v.clear();
        }
        v
    }
}
