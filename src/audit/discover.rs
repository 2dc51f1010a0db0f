//! Finding what an audit bundle holds, by content.
//!
//! An audit bundle is any mix of files and folders. Each file is recognised
//! by its bytes, never by its name: pcap/pcapng magic → a capture to
//! replay; NSS key-log lines → session keys; TOML with `[[canary]]` →
//! canaries; TOML with `[app]`, `[[check]]` or `[[store]]` → rules; TOML
//! with `[expect…]` → expectations (used by `check`, skipped by `audit`); anything
//! else (SQLite, SQLCipher, WAL and journal files, backups, preference and
//! log files) → app data for the storage scan, which identifies it further.

use crate::store::walk::{self, WalkOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a file is to an audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Capture,
    KeyLog,
    Canaries,
    Rules,
    Expectations,
    Data,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Capture => "capture",
            Role::KeyLog => "key log",
            Role::Canaries => "canaries",
            Role::Rules => "rules",
            Role::Expectations => "expectations",
            Role::Data => "app data",
        }
    }
}

/// The files of a bundle, by role, each list sorted.
#[derive(Debug, Default, Clone)]
pub struct Bundle {
    pub captures: Vec<PathBuf>,
    pub keylogs: Vec<PathBuf>,
    pub canaries: Vec<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub expectations: Vec<PathBuf>,
    pub data: Vec<PathBuf>,
    /// Problems met while walking (`path, message`).
    pub warnings: Vec<(String, String)>,
}

impl Bundle {
    pub fn push(&mut self, role: Role, path: PathBuf) {
        match role {
            Role::Capture => self.captures.push(path),
            Role::KeyLog => self.keylogs.push(path),
            Role::Canaries => self.canaries.push(path),
            Role::Rules => self.rules.push(path),
            Role::Expectations => self.expectations.push(path),
            Role::Data => self.data.push(path),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.captures.is_empty()
            && self.keylogs.is_empty()
            && self.canaries.is_empty()
            && self.rules.is_empty()
            && self.expectations.is_empty()
            && self.data.is_empty()
    }
}

/// Bytes read to recognise a file.
const HEAD: usize = 64 * 1024;
/// TOML files larger than this are not parsed to be recognised.
const MAX_TOML: u64 = 1 << 20;

/// Walks `paths` (files and folders) and sorts every file into its role.
pub fn discover(paths: &[PathBuf], max_depth: usize, follow_symlinks: bool) -> Bundle {
    let mut b = Bundle::default();
    let mut warnings = Vec::new();
    let files = walk::walk(
        paths,
        &WalkOptions {
            max_depth,
            follow_symlinks,
        },
        &mut warnings,
    );
    for (path, _, msg) in warnings {
        b.warnings.push((path, msg));
    }
    for f in files {
        match classify(&f) {
            Ok(role) => b.push(role, f),
            Err(e) => b
                .warnings
                .push((f.display().to_string(), format!("cannot read: {e}"))),
        }
    }
    b
}

/// Recognises one file by its content.
pub fn classify(path: &Path) -> std::io::Result<Role> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = Vec::with_capacity(HEAD.min(len as usize));
    (&mut f).take(HEAD as u64).read_to_end(&mut head)?;
    if is_capture(&head) {
        return Ok(Role::Capture);
    }
    let Ok(text) = std::str::from_utf8(&head).or_else(|e| {
        // The head may end inside a multi-byte character.
        if (head.len() as u64) < len && e.error_len().is_none() {
            std::str::from_utf8(&head[..e.valid_up_to()])
        } else {
            Err(e)
        }
    }) else {
        return Ok(Role::Data);
    };
    if is_keylog(text, (head.len() as u64) < len) {
        return Ok(Role::KeyLog);
    }
    if len <= MAX_TOML && (head.len() as u64) == len {
        match toml_role(text) {
            Some(r) => return Ok(r),
            None => return Ok(Role::Data),
        }
    }
    Ok(Role::Data)
}

/// pcap (either byte order, µs or ns) or pcapng (Section Header Block).
pub fn is_capture(head: &[u8]) -> bool {
    let Some(m) = head.get(..4) else {
        return false;
    };
    matches!(
        m,
        [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x0a, 0x0d, 0x0d, 0x0a]
    )
}

/// Every line is a key-log entry, a comment or blank, and at least one is
/// an entry. `partial`: the text is a prefix of the file (its last line may
/// be cut).
pub fn is_keylog(text: &str, partial: bool) -> bool {
    let mut lines: Vec<&str> = text.lines().collect();
    if partial && !text.ends_with('\n') {
        lines.pop();
    }
    let mut entries = 0;
    for l in lines {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut parts = l.split_ascii_whitespace();
        let ok = parts
            .next()
            .and_then(crate::secrets::keylog::Label::parse)
            .is_some()
            && parts
                .next()
                .is_some_and(|r| r.len() == 64 && r.bytes().all(|b| b.is_ascii_hexdigit()))
            && parts
                .next()
                .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
            && parts.next().is_none();
        if !ok {
            return false;
        }
        entries += 1;
    }
    entries > 0
}

/// `[[canary]]` → canaries; `[app]`, `[[check]]`, `[[store]]` → rules;
/// `[expect.*]` → expectations.
fn toml_role(text: &str) -> Option<Role> {
    let t: toml::Table = toml::from_str(text).ok()?;
    if t.get("canary").is_some_and(|c| c.is_array()) {
        return Some(Role::Canaries);
    }
    if t.get("app").is_some_and(|a| a.is_table())
        || t.get("check").is_some_and(|c| c.is_array())
        || t.get("store").is_some_and(|s| s.is_array())
    {
        return Some(Role::Rules);
    }
    if t.get("expect").is_some_and(|e| e.is_table()) {
        return Some(Role::Expectations);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_of(name: &str, bytes: &[u8]) -> Role {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        classify(&p).unwrap()
    }

    const RANDOM: &str = "52362c10a2665e323a2adb4b9da0c10d4a8823719272f8b4c97af24f92784812";

    #[test]
    fn files_are_recognised_by_content_not_name() {
        assert_eq!(
            role_of("x.db", &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]),
            Role::Capture
        );
        assert_eq!(
            role_of("notes.txt", &[0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0]),
            Role::Capture
        );
        let kl = format!(
            "# from rustls\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {RANDOM}\r\nSERVER_TRAFFIC_SECRET_0 {RANDOM} {RANDOM}\n"
        );
        assert_eq!(role_of("capture.pcap", kl.as_bytes()), Role::KeyLog);
        assert_eq!(
            role_of("keys.log", b"[[canary]]\ntext = \"PS-OBWGC2LOONUWO2DU4\"\n"),
            Role::Canaries
        );
        assert_eq!(
            role_of("a.toml", b"[app]\nid = \"x\"\nname = \"X\"\n"),
            Role::Rules
        );
        assert_eq!(
            role_of("ci.toml", b"[expect.parley]\nwire = \"sealed\"\n"),
            Role::Expectations
        );
        assert_eq!(role_of("app.log", b"just a log line\n"), Role::Data);
        assert_eq!(role_of("c.toml", b"[other]\nx = 1\n"), Role::Data);
        assert_eq!(role_of("sqlite", b"SQLite format 3\0rest"), Role::Data);
    }

    #[test]
    fn a_log_with_one_stray_line_is_not_a_keylog() {
        let t = format!("CLIENT_RANDOM {RANDOM} {RANDOM}\nhello\n");
        assert!(!is_keylog(&t, false));
        assert!(!is_keylog("", false));
        // A cut last line in a prefix is ignored.
        let t = format!("CLIENT_RANDOM {RANDOM} {RANDOM}\nCLIENT_RAN");
        assert!(is_keylog(&t, true));
        assert!(!is_keylog(&t, false));
    }

    #[test]
    fn folders_are_walked_and_sorted_into_roles() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("data/db")).unwrap();
        std::fs::write(d.path().join("a.bin"), [0xa1, 0xb2, 0xc3, 0xd4]).unwrap();
        std::fs::write(
            d.path().join("keys"),
            format!("CLIENT_RANDOM {RANDOM} {RANDOM}\n"),
        )
        .unwrap();
        std::fs::write(d.path().join("data/db/x"), b"SQLite format 3\0").unwrap();
        let b = discover(&[d.path().to_path_buf()], 8, false);
        assert_eq!(b.captures, [d.path().join("a.bin")]);
        assert_eq!(b.keylogs, [d.path().join("keys")]);
        assert_eq!(b.data, [d.path().join("data/db/x")]);
        assert!(b.canaries.is_empty() && b.rules.is_empty());
    }
}
