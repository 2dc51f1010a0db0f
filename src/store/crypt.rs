//! Encrypted at rest: recognising SQLCipher (incl. the plaintext-header
//! variant) and WhatsApp crypt12/14/15 backups without a key, reading what
//! their headers leak, finding keys stored beside the data, and opening the
//! containers when such a key is found (storage.md §4).

use super::sqlite::format::{DbHeader, MAGIC, PageHeader};
use super::sqlite::source::Source;
use aes_gcm::{AeadInOut, KeyInit};
use hmac::{Hmac, Mac};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Shannon entropy in bits per byte.
pub fn entropy(b: &[u8]) -> f64 {
    if b.is_empty() {
        return 0.0;
    }
    let mut h = [0u32; 256];
    for &x in b {
        h[x as usize] += 1;
    }
    let n = b.len() as f64;
    h.iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// What the key-less classifier concluded about a page-encrypted database.
#[derive(Debug, Clone, PartialEq)]
pub struct CipherGuess {
    /// A page size the file length is a multiple of (4096 preferred: a guess).
    pub page_size: Option<u32>,
    /// Bytes 0..32 are a valid SQLite header, the rest of page 1 is random.
    pub plaintext_header: bool,
    /// Reserved bytes per page from a plaintext header.
    pub reserve: Option<u8>,
    pub entropy: f64,
}

/// SQLCipher-like: no magic, page-multiple length, random-looking pages; or
/// a valid header with reserved bytes but no b-tree header at offset 100.
pub fn sqlcipher_guess(head: &[u8], len: u64) -> Option<CipherGuess> {
    if head.len() < 512 {
        return None;
    }
    if head.starts_with(MAGIC) {
        let h = DbHeader::parse(head)?;
        if h.reserved == 0 {
            return None;
        }
        let usable = h.usable();
        if PageHeader::parse(head, 100, usable).is_some()
            && entropy(&head[100..head.len().min(usable)]) < 7.0
        {
            return None;
        }
        let e = entropy(&head[32..]);
        if e < 7.0 {
            return None;
        }
        return Some(CipherGuess {
            page_size: Some(h.page_size),
            plaintext_header: true,
            reserve: Some(h.reserved),
            entropy: e,
        });
    }
    if !len.is_multiple_of(512) || len < 1024 {
        return None;
    }
    let e = entropy(head);
    // 4096 random bytes show ~7.95 bits/byte; text or SQLite pages far less.
    let need = if head.len() >= 4096 { 7.8 } else { 7.5 };
    if e < need {
        return None;
    }
    // A guess: SQLCipher 4 defaults to 4096-byte pages, 1.x-3.x to 1024.
    let page_size = [4096u32, 1024, 2048, 8192, 16384, 32768, 65536]
        .into_iter()
        .find(|p| len.is_multiple_of(u64::from(*p)));
    Some(CipherGuess {
        page_size,
        plaintext_header: false,
        reserve: None,
        entropy: e,
    })
}

// ------------------------------------------------------------ WhatsApp

/// A WhatsApp Android backup header (crypt12/14/15).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WaBackup {
    /// `whatsapp-crypt12`, `whatsapp-crypt14` or `whatsapp-crypt15`.
    pub format: &'static str,
    /// Offset of the ciphertext.
    pub data_at: usize,
    pub iv: Vec<u8>,
    pub key_version: Option<u8>,
    pub server_salt: Vec<u8>,
    /// App version that wrote it (`2.22.5.13`).
    pub app_version: Option<String>,
    /// Last digits of the owner's phone number.
    pub jid_suffix: Option<String>,
    pub backup_version: Option<u64>,
    /// 1 = end-to-end backup (crypt15), 0 = key held by WhatsApp.
    pub key_type: Option<u64>,
    /// Newer builds: 2 password, 3 64-digit key, 4 passkey.
    pub key_type_new: Option<u64>,
    /// Feature flags set in the header (message FTS, call log, ...).
    pub features: u32,
}

fn pb_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let x = *b.get(*at)?;
        *at += 1;
        v |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// One protobuf field: number, wire type, varint value, bytes.
type PbField<'a> = (u64, u64, u64, &'a [u8]);

/// The fields of a protobuf message.
fn pb_fields(b: &[u8]) -> Option<Vec<PbField<'_>>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let tag = pb_varint(b, &mut at)?;
        let (field, wt) = (tag >> 3, tag & 7);
        match wt {
            0 => out.push((field, wt, pb_varint(b, &mut at)?, &b[0..0])),
            2 => {
                let n = pb_varint(b, &mut at)? as usize;
                let v = b.get(at..at.checked_add(n)?)?;
                at += n;
                out.push((field, wt, 0, v));
            }
            5 => {
                at += 4;
                out.push((field, wt, 0, &b[0..0]));
            }
            1 => {
                at += 8;
                out.push((field, wt, 0, &b[0..0]));
            }
            _ => return None,
        }
        if out.len() > 256 {
            return None;
        }
    }
    Some(out)
}

/// Parses a crypt12/14/15 header from the file's first bytes and its length.
pub fn wa_backup(head: &[u8], tail: &[u8]) -> Option<WaBackup> {
    // crypt14 / crypt15: protobuf BackupPrefix behind a varint length.
    let mut at = 0;
    if let Some(len) = pb_varint(head, &mut at)
        && (32..1024).contains(&len)
        && let Some(msg) = head.get(at..at + len as usize)
        && (msg.starts_with(&[0x08, 0x00, 0x12]) || msg.starts_with(&[0x08, 0x01, 0x1a]))
        && let Some(fields) = pb_fields(msg)
    {
        let mut w = WaBackup {
            data_at: at + len as usize,
            ..Default::default()
        };
        let mut c14 = false;
        let mut c15 = false;
        for (f, _, v, bytes) in fields {
            match f {
                1 => w.key_type = Some(v),
                2 => {
                    c14 = true;
                    for (g, _, _, b) in pb_fields(bytes).unwrap_or_default() {
                        match g {
                            2 => w.key_version = b.first().map(|x| x.wrapping_sub(b'0')),
                            3 => w.server_salt = b.to_vec(),
                            5 => w.iv = b.to_vec(),
                            _ => {}
                        }
                    }
                }
                3 => {
                    c15 = true;
                    for (g, _, _, b) in pb_fields(bytes).unwrap_or_default() {
                        if g == 1 {
                            w.iv = b.to_vec();
                        }
                    }
                }
                4 => {
                    for (g, wt, v, b) in pb_fields(bytes).unwrap_or_default() {
                        match (g, wt) {
                            (1, 2) => {
                                w.app_version = std::str::from_utf8(b).ok().map(str::to_string)
                            }
                            (3, 2) => {
                                w.jid_suffix = std::str::from_utf8(b).ok().map(str::to_string)
                            }
                            (4, 0) => w.backup_version = Some(v),
                            (5..=64, 0) if v != 0 => w.features += 1,
                            _ => {}
                        }
                    }
                }
                6 => w.key_type_new = Some(v),
                _ => {}
            }
        }
        if w.iv.len() == 16 && (c14 || c15) {
            w.format = if c15 && !c14 {
                "whatsapp-crypt15"
            } else {
                "whatsapp-crypt14"
            };
            return Some(w);
        }
    }
    // crypt12: raw header, ASCII jid suffix in the last 4 bytes.
    if head.len() >= 67
        && head[0] == 0
        && head[1] == 1
        && (1..=3).contains(&head[2])
        && tail.len() >= 4
    {
        let suffix = &tail[tail.len() - 4..];
        let ok = suffix.iter().all(|&c| c.is_ascii_digit() || c == b'-');
        if ok {
            return Some(WaBackup {
                format: "whatsapp-crypt12",
                data_at: 67,
                iv: head[51..67].to_vec(),
                key_version: Some(head[2]),
                server_salt: head[3..35].to_vec(),
                jid_suffix: Some(
                    String::from_utf8_lossy(suffix)
                        .trim_start_matches('-')
                        .to_string(),
                ),
                ..Default::default()
            });
        }
    }
    None
}

/// A key found beside encrypted data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBeside {
    pub file: PathBuf,
    /// How the key was read, for the report (`config.json holds \`key\``).
    pub how: String,
    pub key: Vec<u8>,
}

/// WhatsApp backup key files next to a backup (or among the inputs):
/// `key` (158-byte Java-serialised array, AES key at 126..158) for
/// crypt12/14, `encrypted_backup.key` for crypt15.
pub fn wa_key_beside(backup: &Path, w: &WaBackup, inputs: &[PathBuf]) -> Option<KeyBeside> {
    let dir = backup.parent()?;
    let mut cands: Vec<PathBuf> = vec![dir.join("key"), dir.join("encrypted_backup.key")];
    cands.extend(
        inputs
            .iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n == "key" || n == "encrypted_backup.key")
            })
            .cloned(),
    );
    for c in cands {
        let Ok(b) = std::fs::read(&c) else { continue };
        if w.format != "whatsapp-crypt15"
            && b.len() == 158
            && b.starts_with(&[0xac, 0xed, 0x00, 0x05])
        {
            // The key file's server salt must match the backup's.
            if !w.server_salt.is_empty() && b.get(30..62) != Some(&w.server_salt[..]) {
                continue;
            }
            return Some(KeyBeside {
                how: format!("{} holds the backup key", file_name(&c)),
                file: c,
                key: b[126..158].to_vec(),
            });
        }
        if w.format == "whatsapp-crypt15" {
            // Java-serialised 32-byte root key, or raw 32 bytes, or 64 hex digits.
            let root = if b.len() == 59
                && b.starts_with(&[0xac, 0xed, 0x00, 0x05])
                && b[23..27] == [0, 0, 0, 0x20]
            {
                b[27..].to_vec()
            } else if b.len() == 32 {
                b.clone()
            } else if let Ok(s) = std::str::from_utf8(&b)
                && let Some(k) = unhex(s.trim())
                && k.len() == 32
            {
                k
            } else {
                continue;
            };
            return Some(KeyBeside {
                how: format!("{} holds the end-to-end backup key", file_name(&c)),
                file: c,
                key: crypt15_key(&root),
            });
        }
    }
    None
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// HKDF-SHA256 with a zero salt, info "backup encryption": the crypt15 key.
pub fn crypt15_key(root: &[u8]) -> Vec<u8> {
    let mut okm = [0u8; 32];
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(&[0u8; 32]), root);
    if hk.expand(b"backup encryption", &mut okm).is_err() {
        return Vec::new();
    }
    okm.to_vec()
}

/// Decrypts a WhatsApp backup with a key found beside it: AES-256-GCM with
/// the 16-byte IV, then zlib. `limit` caps the decompressed size.
pub fn wa_decrypt(file: &[u8], w: &WaBackup, key: &[u8], limit: usize) -> Option<Vec<u8>> {
    type Gcm16 = aes_gcm::AesGcm<aes_gcm::aes::Aes256, aes_gcm::aead::consts::U16>;
    let cipher = Gcm16::new_from_slice(key).ok()?;
    let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U16>::try_from(&w.iv[..]).ok()?;
    // Bytes after the ciphertext: crypt12 tag(16) md5(16) jid(4);
    // crypt14/15 tag(16) md5(16), or the tag alone in multi-file backups.
    let trailers: &[usize] = if w.format == "whatsapp-crypt12" {
        &[36]
    } else {
        &[32, 16]
    };
    for &trail in trailers {
        let end = file.len().checked_sub(trail)?;
        if end < w.data_at {
            continue;
        }
        let mut ct = file[w.data_at..end].to_vec();
        let tag = &file[end..end + 16];
        let Ok(t) = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(tag) else {
            continue;
        };
        if cipher
            .decrypt_inout_detached(&nonce, &[], ct.as_mut_slice().into(), &t)
            .is_ok()
        {
            let mut out = Vec::new();
            let z = flate2::read::ZlibDecoder::new(&ct[..]);
            z.take(limit as u64).read_to_end(&mut out).ok()?;
            return Some(out);
        }
    }
    None
}

// ------------------------------------------------------------ SQLCipher

/// Signal Desktop keeps its database key in `config.json` beside `sql/`:
/// legacy `"key"` (plaintext hex) or `"encryptedKey"` (OS keystore).
pub fn signal_desktop_key(db: &Path) -> Option<Result<KeyBeside, String>> {
    let dir = db.parent()?;
    for cfg in [dir.join("config.json"), dir.parent()?.join("config.json")] {
        let Ok(text) = std::fs::read_to_string(&cfg) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if let Some(k) = v.get("key").and_then(|k| k.as_str())
            && let Some(key) = unhex(k)
        {
            return Some(Ok(KeyBeside {
                how: "config.json holds `key` in plaintext".into(),
                file: cfg,
                key,
            }));
        }
        if v.get("encryptedKey").is_some() {
            let basic = v
                .get("safeStorageBackend")
                .and_then(|b| b.as_str())
                .is_some_and(|b| b == "basic_text");
            return Some(Err(if basic {
                "config.json holds `encryptedKey` wrapped by the basic_text backend, whose password is hard-coded".into()
            } else {
                "config.json holds only `encryptedKey`, wrapped by the OS keystore (safeStorage)"
                    .into()
            }));
        }
    }
    None
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One SQLCipher page layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipherProfile {
    pub name: &'static str,
    pub page_size: usize,
    pub reserve: usize,
    sha512: bool,
}

pub const PROFILES: [CipherProfile; 2] = [
    CipherProfile {
        name: "SQLCipher 4 (HMAC-SHA512)",
        page_size: 4096,
        reserve: 80,
        sha512: true,
    },
    CipherProfile {
        name: "SQLCipher 2/3 (HMAC-SHA1)",
        page_size: 1024,
        reserve: 48,
        sha512: false,
    },
];

fn hmac_parts(key: &[u8], parts: &[&[u8]], sha512: bool) -> Vec<u8> {
    if sha512 {
        let Ok(mut m) = <Hmac<sha2::Sha512> as KeyInit>::new_from_slice(key) else {
            return Vec::new();
        };
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    } else {
        let Ok(mut m) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key) else {
            return Vec::new();
        };
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }
}

/// PBKDF2 producing 32 bytes (two blocks with SHA-1, one with SHA-512).
fn pbkdf2_32(pass: &[u8], salt: &[u8], iters: u32, sha512: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut block = 1u32;
    while out.len() < 32 {
        let mut u = hmac_parts(pass, &[salt, &block.to_be_bytes()], sha512);
        let mut t = u.clone();
        for _ in 1..iters {
            u = hmac_parts(pass, &[&u], sha512);
            for (a, b) in t.iter_mut().zip(&u) {
                *a ^= b;
            }
        }
        out.extend_from_slice(&t);
        block += 1;
    }
    out.truncate(32);
    out
}

/// Opens a SQLCipher database with a raw 32-byte key (`PRAGMA key =
/// "x'…'"`, no KDF), checking page 1's HMAC to pick the profile, and writes
/// the plaintext pages to `out`. Returns the profile used.
pub fn sqlcipher_decrypt(src: &Source, key: &[u8], out: &Path) -> Option<CipherProfile> {
    use std::io::Write;
    let salt = src.read_vec(0, 16);
    if salt.len() != 16 || key.len() != 32 {
        return None;
    }
    let hmac_salt: Vec<u8> = salt.iter().map(|b| b ^ 0x3a).collect();
    for prof in PROFILES {
        if !src.len().is_multiple_of(prof.page_size as u64) {
            continue;
        }
        let hkey = pbkdf2_32(key, &hmac_salt, 2, prof.sha512);
        let page1 = src.read_vec(0, prof.page_size);
        if page1.len() != prof.page_size || !page_hmac_ok(&page1, 1, &hkey, prof) {
            continue;
        }
        let mut f = std::fs::File::create(out).ok()?;
        let mut buf = vec![0u8; prof.page_size];
        let pages = src.len() / prof.page_size as u64;
        for pg in 1..=pages {
            if !src.read_at((pg - 1) * prof.page_size as u64, &mut buf) {
                return None;
            }
            let plain = decrypt_page(&buf, pg as u32, key, prof)?;
            f.write_all(&plain).ok()?;
        }
        return Some(prof);
    }
    None
}

fn page_hmac_ok(page: &[u8], pgno: u32, hkey: &[u8], p: CipherProfile) -> bool {
    let start = if pgno == 1 { 16 } else { 0 };
    let end = p.page_size - p.reserve;
    let mac_len = if p.sha512 { 64 } else { 20 };
    let Some(stored) = page.get(end + 16..end + 16 + mac_len) else {
        return false;
    };
    let calc = hmac_parts(
        hkey,
        &[&page[start..end + 16], &pgno.to_le_bytes()],
        p.sha512,
    );
    calc == stored
}

fn decrypt_page(page: &[u8], pgno: u32, key: &[u8], p: CipherProfile) -> Option<Vec<u8>> {
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::NoPadding};
    let start = if pgno == 1 { 16 } else { 0 };
    let end = p.page_size - p.reserve;
    let iv = page.get(end..end + 16)?;
    let mut ct = page[start..end].to_vec();
    let dec = cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv).ok()?;
    let pt = dec.decrypt_padded::<NoPadding>(&mut ct).ok()?;
    let mut out = Vec::with_capacity(p.page_size);
    if pgno == 1 {
        out.extend_from_slice(MAGIC);
    }
    out.extend_from_slice(pt);
    out.extend_from_slice(&page[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_rfc6070() {
        // RFC 6070: "password", "salt", 2 iterations, HMAC-SHA1.
        let dk = pbkdf2_32(b"password", b"salt", 2, false);
        assert_eq!(
            dk[..20],
            unhex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957").unwrap()[..]
        );
    }

    #[test]
    fn entropy_bounds() {
        assert_eq!(entropy(&[0u8; 100]), 0.0);
        let all: Vec<u8> = (0..=255u8).collect();
        assert!((entropy(&all) - 8.0).abs() < 1e-9);
    }

    #[test]
    fn crypt15_header_from_the_storage_reference() {
        // `81 01 | 08 01 | 1a 12 0a 10 <IV> | 22 69 ...` (storage.md §4.4).
        let mut msg = vec![0x08, 0x01, 0x1a, 0x12, 0x0a, 0x10];
        msg.extend_from_slice(&[7u8; 16]);
        let mut info = vec![0x0a, 0x09];
        info.extend_from_slice(b"2.22.5.13");
        info.extend_from_slice(&[0x1a, 0x02, b'6', b'7', 0x20, 0x01, 0x28, 0x01, 0x30, 0x01]);
        msg.push(0x22);
        msg.push(info.len() as u8);
        msg.extend_from_slice(&info);
        while msg.len() < 129 {
            msg.extend_from_slice(&[0x38, 0x00]);
        }
        msg.truncate(129);
        let mut file = vec![0x81, 0x01];
        file.extend_from_slice(&msg);
        let w = wa_backup(&file, &[0; 16]).unwrap();
        assert_eq!(w.format, "whatsapp-crypt15");
        assert_eq!(w.data_at, 131);
        assert_eq!(w.app_version.as_deref(), Some("2.22.5.13"));
        assert_eq!(w.jid_suffix.as_deref(), Some("67"));
        assert_eq!(w.key_type, Some(1));
        assert_eq!(w.features, 2);
    }

    #[test]
    fn random_pages_look_like_sqlcipher_and_text_does_not() {
        let mut x: u64 = 0x243F_6A88_85A3_08D3;
        let page: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        assert!(sqlcipher_guess(&page, 8192).is_some());
        assert!(sqlcipher_guess(&page, 8193).is_none());
        let text = b"hello world, this is text ".repeat(200);
        assert!(sqlcipher_guess(&text[..4096], 8192).is_none());
    }
}
