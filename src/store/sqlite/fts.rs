//! Full-text index decoders: FTS3/FTS4 segment b-tree leaves (`_segments`
//! blocks and `_segdir.root`) and FTS5 leaf pages (`_data`). Terms are
//! prefix-compressed, so grepping the blobs misses most of them; decoding
//! recovers every (term, docid, column, position) and so the token sequence
//! of documents whose row is gone (storage.md §2.11, §2.12).

use super::format::varint;
use rustc_hash::FxHashMap;

/// One document entry of a term's doclist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub docid: i64,
    /// An empty FTS3 position list or an FTS5 delete flag: the document was
    /// deleted (or replaced) after the segment holding its terms was written.
    pub delete_marker: bool,
    /// `(column, position)` pairs.
    pub positions: Vec<(u32, u32)>,
}

fn vi(b: &[u8], at: &mut usize) -> Option<u64> {
    let (v, n) = varint(b.get(*at..)?)?;
    *at += n;
    Some(v)
}

/// `n` bytes at `*at` (lengths come from the data: checked), advancing `at`.
fn take<'a>(b: &'a [u8], at: &mut usize, n: u64) -> Option<&'a [u8]> {
    let end = at.checked_add(usize::try_from(n).ok()?)?;
    let s = b.get(*at..end)?;
    *at = end;
    Some(s)
}

/// Parses an FTS3/FTS4 doclist.
pub fn fts3_doclist(b: &[u8], out: &mut Vec<Posting>) -> Option<()> {
    let mut at = 0;
    let mut docid: i64 = 0;
    let mut first = true;
    while at < b.len() {
        let d = vi(b, &mut at)? as i64;
        docid = if first { d } else { docid.wrapping_add(d) };
        first = false;
        let mut positions = Vec::new();
        let mut col = 0u32;
        let mut pos = 0u32;
        loop {
            let v = vi(b, &mut at)?;
            match v {
                0 => break,
                1 => {
                    col = u32::try_from(vi(b, &mut at)?).ok()?;
                    pos = 0;
                }
                v => {
                    pos = pos.checked_add(u32::try_from(v - 2).ok()?)?;
                    if positions.len() < 4096 {
                        positions.push((col, pos));
                    }
                }
            }
        }
        out.push(Posting {
            docid,
            delete_marker: positions.is_empty(),
            positions,
        });
        if out.len() > 1 << 20 {
            return None;
        }
    }
    Some(())
}

/// Decodes an FTS3/FTS4 leaf node; interior nodes (height > 0) yield nothing.
/// Calls `on` with each full term and its doclist. Returns false if corrupt.
pub fn fts3_leaf(node: &[u8], mut on: impl FnMut(&[u8], Vec<Posting>)) -> bool {
    let mut at = 0;
    let Some(height) = vi(node, &mut at) else {
        return false;
    };
    if height != 0 {
        return true;
    }
    let mut term: Vec<u8> = Vec::new();
    let mut first = true;
    while at < node.len() {
        let (prefix, suffix) = if first {
            (0, vi(node, &mut at))
        } else {
            let Some(p) = vi(node, &mut at) else {
                return false;
            };
            (p as usize, vi(node, &mut at))
        };
        first = false;
        let Some(suffix) = suffix else { return false };
        let Some(sfx) = take(node, &mut at, suffix) else {
            return false;
        };
        if prefix > term.len() {
            return false;
        }
        term.truncate(prefix);
        term.extend_from_slice(sfx);
        let Some(n) = vi(node, &mut at) else {
            return false;
        };
        let Some(dl) = take(node, &mut at, n) else {
            return false;
        };
        let mut postings = Vec::new();
        if fts3_doclist(dl, &mut postings).is_none() {
            return false;
        }
        on(&term, postings);
    }
    true
}

/// Splits an FTS5 `_data` rowid into `(segid, dlidx, height, pgno)`.
pub fn fts5_rowid(id: i64) -> (i64, bool, u32, u32) {
    (
        id >> 37,
        (id >> 36) & 1 == 1,
        ((id >> 31) & 0x1f) as u32,
        (id & 0x7fff_ffff) as u32,
    )
}

/// Parses FTS5 doclist entries from `b` (rowid deltas after an absolute first).
fn fts5_doclist(b: &[u8], rowid: &mut i64, absolute: bool, out: &mut Vec<Posting>) -> Option<()> {
    let mut at = 0;
    let mut first = absolute;
    while at < b.len() {
        let d = vi(b, &mut at)? as i64;
        *rowid = if first { d } else { rowid.wrapping_add(d) };
        first = false;
        let sz = vi(b, &mut at)?;
        let delete = sz & 1 == 1;
        let pl = take(b, &mut at, sz >> 1)?;
        let mut positions = Vec::new();
        let mut i = 0;
        let mut col = 0u32;
        let mut prev = 0u32;
        while i < pl.len() {
            let v = vi(pl, &mut i)?;
            match v {
                0 => break,
                1 => {
                    col = u32::try_from(vi(pl, &mut i)?).ok()?;
                    prev = 0;
                }
                v => {
                    prev = prev.checked_add(u32::try_from(v - 2).ok()?)?;
                    if positions.len() < 4096 {
                        positions.push((col, prev));
                    }
                }
            }
        }
        out.push(Posting {
            docid: *rowid,
            delete_marker: delete,
            positions,
        });
        if out.len() > 1 << 20 {
            return None;
        }
    }
    Some(())
}

/// Decodes one FTS5 leaf page. `carry` is the last term of the previous
/// page of the same segment (its doclist may continue here); it is updated
/// to this page's last term. Only main-index terms (`'0'` prefix byte) are
/// reported, without that byte.
pub fn fts5_leaf(
    page: &[u8],
    carry: &mut Option<Vec<u8>>,
    mut on: impl FnMut(&[u8], Vec<Posting>),
) -> bool {
    let (Some(first_rowid), Some(foot)) =
        (super::format::be16(page, 0), super::format::be16(page, 2))
    else {
        return false;
    };
    let (first_rowid, foot) = (first_rowid as usize, foot as usize);
    if foot > page.len() || foot < 4 {
        return false;
    }
    // Term offsets from the footer.
    let mut offs = Vec::new();
    let mut at = foot;
    let mut acc = 0usize;
    while at < page.len() {
        let Some(d) = vi(page, &mut at) else {
            return false;
        };
        acc = acc.saturating_add(usize::try_from(d).unwrap_or(usize::MAX));
        if acc >= foot {
            return false;
        }
        offs.push(acc);
    }
    let mut rowid = 0i64;
    // A doclist continued from the previous page.
    if first_rowid >= 4 {
        let end = offs.first().copied().unwrap_or(foot);
        if first_rowid < end
            && let Some(t) = carry.as_ref()
        {
            let mut ps = Vec::new();
            if fts5_doclist(&page[first_rowid..end], &mut rowid, true, &mut ps).is_some()
                && let Some((&b'0', rest)) = t.split_first()
            {
                on(rest, ps);
            }
        }
    }
    let mut term: Vec<u8> = carry.take().unwrap_or_default();
    for (k, &off) in offs.iter().enumerate() {
        let mut at = off;
        if k == 0 {
            let Some(n) = vi(page, &mut at) else {
                return false;
            };
            let Some(t) = take(page, &mut at, n) else {
                return false;
            };
            term = t.to_vec();
        } else {
            let (Some(p), Some(n)) = (vi(page, &mut at), vi(page, &mut at)) else {
                return false;
            };
            let Some(sfx) = take(page, &mut at, n) else {
                return false;
            };
            if p > term.len() as u64 {
                return false;
            }
            term.truncate(p as usize);
            term.extend_from_slice(sfx);
        }
        let end = offs.get(k + 1).copied().unwrap_or(foot);
        if at > end {
            return false;
        }
        let mut ps = Vec::new();
        if fts5_doclist(&page[at..end], &mut rowid, true, &mut ps).is_none() {
            return false;
        }
        if let Some((&b'0', rest)) = term.split_first() {
            on(rest, ps);
        }
    }
    *carry = Some(term);
    true
}

/// Collects, for chosen documents, their tokens in position order.
#[derive(Debug, Default)]
pub struct Tokens {
    /// docid → (column, position, term)
    pub docs: FxHashMap<i64, Vec<(u32, u32, String)>>,
    /// docid → seen with a delete marker
    pub markers: FxHashMap<i64, bool>,
    /// Every docid that has positions in some segment.
    pub indexed: rustc_hash::FxHashSet<i64>,
}

impl Tokens {
    /// Records postings; `keep(docid)` decides whose tokens are stored.
    pub fn add(&mut self, term: &[u8], postings: Vec<Posting>, keep: &dyn Fn(i64) -> bool) {
        let t = String::from_utf8_lossy(term);
        for p in postings {
            if p.delete_marker {
                self.markers.insert(p.docid, true);
                continue;
            }
            if self.indexed.len() < 1 << 22 {
                self.indexed.insert(p.docid);
            }
            if !keep(p.docid) {
                continue;
            }
            let v = self.docs.entry(p.docid).or_default();
            for (c, pos) in p.positions {
                if v.len() < 4096 {
                    v.push((c, pos, t.clone().into_owned()));
                }
            }
        }
    }

    /// The document's text per column as tokens in position order.
    pub fn text(&self, docid: i64) -> Vec<(u32, String)> {
        let Some(v) = self.docs.get(&docid) else {
            return Vec::new();
        };
        let mut v = v.clone();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut out: Vec<(u32, String)> = Vec::new();
        for (c, _, t) in v {
            match out.last_mut() {
                Some((lc, s)) if *lc == c => {
                    s.push(' ');
                    s.push_str(&t);
                }
                _ => out.push((c, t)),
            }
        }
        out
    }
}

/// Splits text the way FTS's default tokenizers do (ASCII letters and digits
/// folded to lower case, other bytes separate tokens, non-ASCII kept).
pub fn tokenize(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric()))
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .collect()
}

/// Whether `needle` tokens occur consecutively in `hay`.
pub fn contains_tokens(hay: &str, needle: &[String]) -> bool {
    if needle.is_empty() {
        return false;
    }
    let h: Vec<&str> = hay.split(' ').collect();
    h.windows(needle.len())
        .any(|w| w.iter().zip(needle).all(|(a, b)| *a == b.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn fts4_terms_of_a_deleted_row_survive_in_segments() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "PRAGMA secure_delete=ON;
             CREATE VIRTUAL TABLE m USING fts4(body);
             INSERT INTO m(docid, body) VALUES (1, 'see you at the station');
             INSERT INTO m(docid, body) VALUES (2, 'secret plans PS-7H2KQ9ZXW4M5 tonight');
             DELETE FROM m WHERE docid = 2;",
        )
        .unwrap();
        let mut toks = Tokens::default();
        let mut st = c.prepare("SELECT root FROM m_segdir").unwrap();
        let roots: Vec<Vec<u8>> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut st = c.prepare("SELECT block FROM m_segments").unwrap();
        let blocks: Vec<Vec<u8>> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for b in roots.iter().chain(&blocks) {
            assert!(fts3_leaf(b, |t, p| toks.add(t, p, &|d| d == 2)));
        }
        assert_eq!(toks.markers.get(&2), Some(&true));
        let text = toks.text(2);
        assert_eq!(text[0].1, "secret plans ps 7h2kq9zxw4m5 tonight");
        assert!(contains_tokens(&text[0].1, &tokenize("PS-7H2KQ9ZXW4M5")));
        assert!(toks.text(1).is_empty());
    }

    #[test]
    fn fts5_leaves_decode_to_positions() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE VIRTUAL TABLE f USING fts5(a, b);
             INSERT INTO f(rowid, a, b) VALUES (7, 'alpha beta', 'gamma');
             INSERT INTO f(rowid, a, b) VALUES (9, 'beta delta', 'epsilon zeta');
             DELETE FROM f WHERE rowid = 9;",
        )
        .unwrap();
        let mut st = c
            .prepare("SELECT id, block FROM f_data ORDER BY id")
            .unwrap();
        let rows: Vec<(i64, Vec<u8>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut toks = Tokens::default();
        let mut leaves = 0;
        let mut carry = None;
        for (id, block) in rows {
            let (segid, dl, h, pg) = fts5_rowid(id);
            if segid == 0 || dl || h != 0 || pg == 0 {
                continue;
            }
            leaves += 1;
            assert!(fts5_leaf(&block, &mut carry, |t, p| toks.add(
                t,
                p,
                &|_| true
            )));
        }
        assert!(leaves >= 1);
        assert_eq!(
            toks.text(9),
            [(0, "beta delta".into()), (1, "epsilon zeta".into())]
        );
        assert_eq!(
            toks.text(7),
            [(0, "alpha beta".into()), (1, "gamma".into())]
        );
    }

    #[test]
    fn corrupt_nodes_are_refused_not_panicked_on() {
        assert!(!fts3_leaf(&[0, 0x7f, b'a'], |_, _| {}));
        assert!(!fts5_leaf(&[0, 0, 0, 2], &mut None, |_, _| {}));
        assert!(!fts5_leaf(&[0], &mut None, |_, _| {}));
    }

    proptest::proptest! {
        #[test]
        fn random_index_nodes_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = fts3_leaf(&b, |_, _| {});
            let mut carry = Some(b"0abc".to_vec());
            let _ = fts5_leaf(&b, &mut carry, |_, _| {});
        }
    }
}
