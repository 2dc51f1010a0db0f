//! The logical reader: what SQLite itself returns, read from a copy.
//!
//! The database and its `-wal`/`-journal` are copied into a private
//! temporary folder under their own base name, and the copy is opened with
//! `SQLITE_OPEN_READ_ONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NO_MUTEX` and
//! `mode=ro`, so committed WAL frames are replayed in memory and nothing is
//! ever written next to the evidence (crates.md §5). The `-shm` is not
//! copied: it is a rebuildable cache and a stale one could mislead SQLite.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// A database and the companion files found beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Family {
    pub main: PathBuf,
    pub wal: Option<PathBuf>,
    pub shm: Option<PathBuf>,
    pub journal: Option<PathBuf>,
}

/// A table (or view-free schema object) as the reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<String>,
    pub virtual_module: Option<String>,
    pub without_rowid: bool,
}

pub struct Reader {
    pub conn: Connection,
    _dir: tempfile::TempDir,
}

fn percent_escape(p: &str) -> String {
    let mut s = String::with_capacity(p.len());
    for c in p.chars() {
        match c {
            '%' => s.push_str("%25"),
            '?' => s.push_str("%3f"),
            '#' => s.push_str("%23"),
            ' ' => s.push_str("%20"),
            c => s.push(c),
        }
    }
    s
}

/// Quotes an identifier for SQL.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn stub_collation(c: &Connection, name: &str) -> rusqlite::Result<()> {
    c.create_collation(name, |a, b| a.cmp(b))
}

impl Reader {
    /// Copies the family aside and opens the copy read-only.
    pub fn open(f: &Family, with_journal: bool) -> Result<Reader, String> {
        let dir = tempfile::Builder::new()
            .prefix("plainsight-db-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        let base = f
            .main
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "db".into());
        let copy = dir.path().join(&base);
        std::fs::copy(&f.main, &copy)
            .map_err(|e| format!("cannot copy the database aside: {e}"))?;
        if let Some(w) = &f.wal {
            std::fs::copy(w, dir.path().join(format!("{base}-wal")))
                .map_err(|e| format!("cannot copy the WAL aside: {e}"))?;
        }
        if with_journal && let Some(j) = &f.journal {
            std::fs::copy(j, dir.path().join(format!("{base}-journal")))
                .map_err(|e| format!("cannot copy the journal aside: {e}"))?;
        }
        Reader::open_copy(&copy, dir)
    }

    fn open_copy(copy: &Path, dir: tempfile::TempDir) -> Result<Reader, String> {
        let uri = format!("file:{}?mode=ro", percent_escape(&copy.to_string_lossy()));
        let conn = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("SQLite cannot open the copy: {e}"))?;
        conn.collation_needed(stub_collation)
            .map_err(|e| format!("cannot register collations: {e}"))?;
        // collation_needed does nothing for UTF-16 databases: register the
        // names Android and iOS databases declare.
        for n in [
            "LOCALIZED",
            "UNICODE",
            "PHONEBOOK",
            "NOCASE_UTF8",
            "RTRIM_NOCASE",
        ] {
            let _ = conn.create_collation(n, |a, b| a.cmp(b));
        }
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| format!("SQLite cannot read the schema: {e}"))?;
        Ok(Reader { conn, _dir: dir })
    }

    /// Tables with their columns (virtual tables listed without columns).
    pub fn tables(&self) -> Vec<TableInfo> {
        let mut out = Vec::new();
        let Ok(mut st) = self
            .conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
        else {
            return out;
        };
        let rows: Vec<(String, String)> = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            })
            .map(|it| it.flatten().collect())
            .unwrap_or_default();
        for (name, sql) in rows {
            let parsed = super::schema::parse_create_table(&sql, 0);
            let virtual_module = parsed.as_ref().and_then(|t| t.module.clone());
            let without_rowid = parsed.as_ref().is_some_and(|t| t.without_rowid);
            let columns = if virtual_module.is_some() {
                Vec::new()
            } else {
                self.columns(&name)
            };
            out.push(TableInfo {
                name,
                columns,
                virtual_module,
                without_rowid,
            });
        }
        out
    }

    /// Column names of a table, as SQLite reports them, generated columns
    /// included (`table_xinfo`; hidden virtual-table columns left out).
    pub fn columns(&self, table: &str) -> Vec<String> {
        let Ok(mut st) = self
            .conn
            .prepare(&format!("PRAGMA table_xinfo({})", ident(table)))
        else {
            return Vec::new();
        };
        st.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(6)?)))
            .map(|it| {
                it.flatten()
                    .filter(|(_, hidden)| *hidden != 1)
                    .map(|(n, _)| n)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Calls `f(rowid, values)` for every row, selecting `cols` (and the
    /// rowid unless the table has none). Stops when `f` returns false.
    pub fn each_row(
        &self,
        table: &str,
        cols: &[&str],
        with_rowid: bool,
        mut f: impl FnMut(Option<i64>, &[ValueRef<'_>]) -> bool,
    ) -> Result<u64, String> {
        let mut sel: Vec<String> = Vec::new();
        if with_rowid {
            sel.push("rowid".into());
        }
        sel.extend(cols.iter().map(|c| ident(c)));
        if sel.is_empty() {
            return Ok(0);
        }
        let sql = format!("SELECT {} FROM {}", sel.join(", "), ident(table));
        let mut st = self.conn.prepare(&sql).map_err(|e| e.to_string())?;
        let mut rows = st.query([]).map_err(|e| e.to_string())?;
        let off = usize::from(with_rowid);
        let mut n = 0u64;
        while let Some(r) = rows.next().map_err(|e| e.to_string())? {
            let rowid = if with_rowid {
                r.get::<_, i64>(0).ok()
            } else {
                None
            };
            let mut vals: Vec<ValueRef<'_>> = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                vals.push(r.get_ref(i + off).map_err(|e| e.to_string())?);
            }
            n += 1;
            if !f(rowid, &vals) {
                break;
            }
        }
        Ok(n)
    }

    /// A single value from a query, if any.
    pub fn scalar(&self, sql: &str) -> Option<String> {
        self.conn
            .query_row(sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    ValueRef::Integer(i) => i.to_string(),
                    ValueRef::Real(f) => f.to_string(),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => String::new(),
                })
            })
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uncheckpointed_wal_rows_without_touching_the_original() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("chat db.sqlite");
        let keep;
        {
            let c = Connection::open(&db).unwrap();
            c.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
                 CREATE TABLE m(id INTEGER PRIMARY KEY, body TEXT COLLATE LOCALIZED);
                 INSERT INTO m(body) VALUES ('in the wal only');",
            )
            .ok();
            // The custom collation is unknown here: create the table without it.
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS n(id INTEGER PRIMARY KEY, body TEXT);
                 INSERT INTO n(body) VALUES ('in the wal only');",
            )
            .unwrap();
            // Keep the writer open so the WAL is not checkpointed on close.
            keep = c;
            let wal = d.path().join("chat db.sqlite-wal");
            let fam = Family {
                main: db.clone(),
                wal: Some(wal.clone()),
                shm: None,
                journal: None,
            };
            let before = (std::fs::read(&db).unwrap(), std::fs::read(&wal).unwrap());
            let r = Reader::open(&fam, true).unwrap();
            let mut got = Vec::new();
            r.each_row("n", &["body"], true, |_, v| {
                if let ValueRef::Text(t) = v[0] {
                    got.push(String::from_utf8_lossy(t).into_owned());
                }
                true
            })
            .unwrap();
            assert_eq!(got, ["in the wal only"]);
            assert!(
                r.tables()
                    .iter()
                    .any(|t| t.name == "n" && t.columns == ["id", "body"])
            );
            drop(r);
            assert_eq!(
                before,
                (std::fs::read(&db).unwrap(), std::fs::read(&wal).unwrap())
            );
        }
        drop(keep);
    }
}
