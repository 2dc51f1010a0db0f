//! Finding inputs: files and folder trees, bounded depth, no symlink
//! escapes, unreadable entries reported as warnings; and hashing them.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A `(path, offset, message)` warning, as in the scan result.
pub type Warning = (String, Option<u64>, String);

pub struct WalkOptions {
    pub max_depth: usize,
    pub follow_symlinks: bool,
}

/// Every regular file under `paths`, sorted and without duplicates.
pub fn walk(paths: &[PathBuf], opts: &WalkOptions, warnings: &mut Vec<Warning>) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    let mut seen_dirs = BTreeSet::new();
    for root in paths {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                warnings.push((
                    root.display().to_string(),
                    None,
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        if meta.is_file() {
            out.insert(root.clone());
        } else if meta.is_dir() {
            let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
            descend(root, &canon, 0, opts, &mut out, &mut seen_dirs, warnings);
        }
    }
    out.into_iter().collect()
}

fn descend(
    dir: &Path,
    root: &Path,
    depth: usize,
    opts: &WalkOptions,
    out: &mut BTreeSet<PathBuf>,
    seen: &mut BTreeSet<PathBuf>,
    warnings: &mut Vec<Warning>,
) {
    if let Ok(c) = std::fs::canonicalize(dir)
        && !seen.insert(c)
    {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            warnings.push((dir.display().to_string(), None, format!("cannot list: {e}")));
            return;
        }
    };
    let mut list: Vec<_> = entries.flatten().collect();
    list.sort_by_key(|e| e.file_name());
    for e in list {
        let p = e.path();
        let Ok(ft) = e.file_type() else {
            warnings.push((p.display().to_string(), None, "cannot stat".into()));
            continue;
        };
        let (is_dir, is_file) = if ft.is_symlink() {
            if !opts.follow_symlinks {
                // Inside a tree a symlink may lead anywhere; only the roots
                // the user named are read.
                match std::fs::canonicalize(&p) {
                    Ok(t) if t.starts_with(root) => {}
                    _ => {
                        warnings.push((
                            p.display().to_string(),
                            None,
                            "symbolic link leaving the scanned folder: skipped".into(),
                        ));
                        continue;
                    }
                }
            }
            match std::fs::metadata(&p) {
                Ok(m) => (m.is_dir(), m.is_file()),
                Err(e) => {
                    warnings.push((p.display().to_string(), None, format!("broken link: {e}")));
                    continue;
                }
            }
        } else {
            (ft.is_dir(), ft.is_file())
        };
        if is_dir {
            if depth + 1 > opts.max_depth {
                warnings.push((
                    p.display().to_string(),
                    None,
                    format!("deeper than --max-depth {}: not scanned", opts.max_depth),
                ));
                continue;
            }
            descend(&p, root, depth + 1, opts, out, seen, warnings);
        } else if is_file {
            out.insert(p);
        }
    }
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_bounded_and_refuses_escaping_links() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"x").unwrap();
        std::fs::create_dir_all(d.path().join("a/b/c")).unwrap();
        std::fs::write(d.path().join("top.db"), b"1").unwrap();
        std::fs::write(d.path().join("a/b/c/deep.db"), b"2").unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(d.path().join("top.db"), d.path().join("inside")).unwrap();
        let mut w = Vec::new();
        let files = walk(
            &[d.path().to_path_buf()],
            &WalkOptions {
                max_depth: 2,
                follow_symlinks: false,
            },
            &mut w,
        );
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into())
            .collect();
        assert_eq!(names, ["inside", "top.db"]);
        assert!(w.iter().any(|x| x.2.contains("leaving the scanned folder")));
        assert!(w.iter().any(|x| x.2.contains("--max-depth 2")));
        assert!(!names.contains(&"secret.txt".to_string()));
    }

    #[test]
    fn hashes_match_a_known_vector() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
