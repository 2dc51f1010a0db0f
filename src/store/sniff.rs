//! Identifying inputs by content, not by name.

use super::crypt;
use super::sqlite::format::{DbHeader, MAGIC};
use super::sqlite::journal;
use super::sqlite::wal::{MAGIC_BE, MAGIC_LE};
use std::io::Read;
use std::path::Path;

/// Bytes read from the start of every file to identify it.
pub const HEAD: usize = 8192;

/// Reads the first and last bytes of a file.
pub fn head_tail(path: &Path) -> std::io::Result<(Vec<u8>, Vec<u8>, u64)> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = Vec::new();
    (&f).take(HEAD as u64).read_to_end(&mut head)?;
    let tail_len = len.min(64) as usize;
    let mut tail = vec![0u8; tail_len];
    f.read_exact_at(&mut tail, len - tail_len as u64)?;
    Ok((head, tail, len))
}

/// The kind of an input, as reported in `ScannedInput.kind`.
pub fn kind(path: &Path, head: &[u8], tail: &[u8], len: u64) -> &'static str {
    if len == 0 {
        return "empty";
    }
    if head.starts_with(MAGIC) {
        if crypt::sqlcipher_guess(head, len).is_some() {
            return "sqlcipher";
        }
        if DbHeader::parse(head).is_some() {
            return "sqlite";
        }
    }
    if let Some(m) = head
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        && (m == MAGIC_LE || m == MAGIC_BE)
    {
        return "sqlite-wal";
    }
    if head.starts_with(&journal::MAGIC) {
        return "sqlite-journal";
    }
    if head.len() >= 4 && u32::from_le_bytes([head[0], head[1], head[2], head[3]]) == 3_007_000 {
        return "sqlite-shm";
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A journal whose header was zeroed (PERSIST mode, or copied mid-transaction).
    if name.ends_with("-journal") && head.iter().take(28).all(|&b| b == 0) {
        return "sqlite-journal";
    }
    if let Some(w) = crypt::wa_backup(head, tail) {
        return w.format;
    }
    if head.starts_with(&[0xac, 0xed, 0x00, 0x05]) {
        return "keyfile";
    }
    if crypt::sqlcipher_guess(head, len).is_some() {
        return "sqlcipher";
    }
    // LevelDB table files end with a fixed magic; log files live beside CURRENT.
    if tail.len() >= 8 && tail[tail.len() - 8..] == [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]
    {
        return "leveldb";
    }
    if name.ends_with(".log") && path.parent().is_some_and(|d| d.join("CURRENT").is_file()) {
        return "leveldb";
    }
    let sample = &head[..head.len().min(4096)];
    let text_like = std::str::from_utf8(sample).is_ok()
        || std::str::from_utf8(&sample[..sample.len().saturating_sub(3)]).is_ok();
    if text_like && !sample.contains(&0) {
        let t = String::from_utf8_lossy(sample);
        let t = t.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with("<?xml") || (t.starts_with('<') && t.contains("</")) {
            return "xml";
        }
        if (t.starts_with('{') || t.starts_with('['))
            && (len > HEAD as u64 || serde_json::from_slice::<serde_json::Value>(head).is_ok())
        {
            return "json";
        }
        return "text";
    }
    if crypt::entropy(sample) > 7.8 && sample.len() >= 1024 {
        return "encrypted";
    }
    "binary"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_content() {
        let p = Path::new("x");
        let mut db = MAGIC.to_vec();
        db.extend_from_slice(&[0x10, 0x00, 1, 1, 0, 64, 32, 32]);
        db.resize(100, 0);
        db.extend_from_slice(&[0x0d, 0, 0, 0, 0, 0x10, 0, 0]);
        db.resize(4096, 0);
        assert_eq!(kind(p, &db, &[], 4096), "sqlite");
        assert_eq!(
            kind(p, &[0x37, 0x7f, 0x06, 0x82, 0, 0x2d, 0xe2, 0x18], &[], 32),
            "sqlite-wal"
        );
        assert_eq!(kind(p, &journal::MAGIC, &[], 512), "sqlite-journal");
        assert_eq!(kind(p, b"<?xml version='1.0'?><map/>", &[], 27), "xml");
        assert_eq!(kind(p, b"{\"key\": \"00\"}", &[], 13), "json");
        assert_eq!(kind(p, b"just some log line\n", &[], 19), "text");
        assert_eq!(kind(p, &[0, 1, 2, 3, 0, 0], &[], 6), "binary");
    }
}
