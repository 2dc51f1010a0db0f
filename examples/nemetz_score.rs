//! Scores the page carver against the Nemetz SQLite forensic corpus.
//!
//! ```text
//! cargo run --release --example nemetz_score [CORPUS_DIR] [--verbose]
//! ```
//! CORPUS_DIR defaults to `../shared/corpus/storage/nemetz`. For every
//! database of categories 07 and 0A–0E (deleted content) and 17–18
//! (wiped deletions, where nothing may be recovered) the carver runs on the
//! raw file; each recovered record is matched one-to-one against the answer
//! key (`.xml`, full value tuple in schema order; the table name when the
//! carver names one), following `ANSWER_KEYS.md`:
//! TP = a deleted row; "live" = equals a live row (a false *retained* claim);
//! FP = matches nothing. `D_rec` = deleted rows whose bytes survive
//! (`DELETED_ROWS.tsv` substrate `record`, `body` or `overflow_all_chunks`).
//! Schema rows (`sqlite_master`) are reported by the carver as dropped
//! schema, not as data rows, and are left out here.
//! Categories 11–19 are run for robustness: no panic, damage named.

use plainsight::store::sqlite::carve::{CarveOptions, carve};
use plainsight::store::sqlite::format::Value;
use plainsight::store::sqlite::image::Image;
use plainsight::store::sqlite::source::Source;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
struct KeyRow {
    table: String,
    values: Vec<String>,
    deleted: bool,
    index: usize,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let a = s.find(open)? + open.len();
    let b = s[a..].find(close)? + a;
    Some(&s[a..b])
}

/// Reads the answer key leniently (two keys are not well-formed XML).
fn read_key(path: &Path) -> Vec<KeyRow> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("<element>") {
        let el_end = rest[i..].find("</element>").map_or(rest.len(), |j| i + j);
        let el = &rest[i..el_end];
        rest = &rest[el_end.min(rest.len())..];
        let meta = between(el, "<meta>", "</meta>").unwrap_or("");
        if between(meta, "<type>", "</type>") != Some("table") {
            continue;
        }
        let table = unescape(between(meta, "<name>", "</name>").unwrap_or(""));
        let dropped = between(meta, "<deleted>", "</deleted>") == Some("True");
        let Some(entries) = between(el, "<entries>", "</entries>") else {
            continue;
        };
        let mut r = entries;
        let mut index = 0;
        while let Some(j) = r.find("<row") {
            let end = r[j..].find("</row>").map_or(r.len(), |k| j + k);
            let row = &r[j..end];
            r = &r[end.min(r.len())..];
            index += 1;
            let flagged = row[..row.find('>').unwrap_or(0)].contains("deleted=\"1\"");
            let mut values = Vec::new();
            let mut c = row;
            while let Some(k) = c.find("<column>") {
                let cend = c[k..].find("</column>").map_or(c.len(), |m| k + m);
                let col = &c[k..cend];
                let v = if col.contains("<content />") || col.contains("<content/>") {
                    String::new()
                } else {
                    unescape(between(col, "<content>", "</content>").unwrap_or(""))
                };
                values.push(v);
                c = &c[cend.min(c.len())..];
            }
            out.push(KeyRow {
                table: table.clone(),
                values,
                deleted: flagged || dropped,
                index,
            });
        }
    }
    out
}

/// Every row SQLite returns, read-only and immutable (the corpus has no WAL).
fn live_rows(db: &Path) -> Vec<Vec<String>> {
    use rusqlite::{Connection, OpenFlags, types::ValueRef};
    let uri = format!("file:{}?immutable=1", db.display());
    let Ok(conn) = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Vec::new();
    };
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type='table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for t in tables {
        let Ok(mut st) = conn.prepare(&format!("SELECT * FROM \"{}\"", t.replace('"', "\"\"")))
        else {
            continue;
        };
        let n = st.column_count();
        let Ok(mut rows) = st.query([]) else { continue };
        while let Ok(Some(r)) = rows.next() {
            out.push(
                (0..n)
                    .map(|i| match r.get_ref(i) {
                        Ok(ValueRef::Integer(v)) => v.to_string(),
                        Ok(ValueRef::Real(v)) => format!("{v:.5}"),
                        Ok(ValueRef::Text(b)) => String::from_utf8_lossy(b).into_owned(),
                        _ => String::new(),
                    })
                    .collect(),
            );
        }
    }
    out
}

fn norm(v: &Value) -> (String, Option<String>) {
    match v {
        Value::Null => (String::new(), None),
        Value::Int(i) => (i.to_string(), Some(format!("{:.5}", *i as f64))),
        Value::Real(r) => (format!("{r:.5}"), None),
        Value::Text(s) => (s.clone(), None),
        Value::Blob(b) => (b.iter().map(|x| format!("{x:02x}")).collect(), None),
    }
}

fn equal(rec: &[(String, Option<String>)], key: &[String]) -> bool {
    rec.len() == key.len()
        && rec
            .iter()
            .zip(key)
            .all(|((a, b), k)| a == k || b.as_deref() == Some(k.as_str()))
}

#[derive(Default, Clone)]
struct Score {
    dbs: u32,
    d: u32,
    d_rec: u32,
    tp: u32,
    tp_rec: u32,
    fp: u32,
    live: u32,
    dup: u32,
    /// Recovered records equal to a row SQLite itself returns as live.
    sql_live: u32,
    panics: u32,
    warnings: u32,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose");
    let root = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            ["../shared", "../../shared"]
                .iter()
                .map(|b| {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join(b)
                        .join("corpus/storage/nemetz")
                })
                .find(|p| p.is_dir())
                .unwrap_or_else(|| PathBuf::from("../shared/corpus/storage/nemetz"))
        });
    let corpus = root.join("sqlite_forensic_corpus_v2.0");
    if !corpus.is_dir() {
        eprintln!("corpus not found at {}", corpus.display());
        std::process::exit(2);
    }
    // Substrate per (db, table, row index).
    let mut substrate: HashMap<(String, String, usize), String> = HashMap::new();
    if let Ok(tsv) = std::fs::read_to_string(root.join("DELETED_ROWS.tsv")) {
        for line in tsv.lines().skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() >= 7 {
                let db = f[1].rsplit('/').next().unwrap_or("").to_string();
                substrate.insert(
                    (db, f[2].to_string(), f[5].parse().unwrap_or(0)),
                    f[6].to_string(),
                );
            }
        }
    }
    let recall_cats = ["07", "0A", "0B", "0C", "0D", "0E"];
    let mut per_cat: BTreeMap<String, Score> = BTreeMap::new();
    let mut cats: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    cats.sort();
    let opts = CarveOptions::default();
    let start = std::time::Instant::now();
    let mut bytes = 0u64;
    for cat_dir in cats {
        let cat = cat_dir.file_name().unwrap().to_string_lossy().to_string();
        let mut dbs: Vec<PathBuf> = std::fs::read_dir(&cat_dir)
            .map(|r| {
                r.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "db"))
                    .collect()
            })
            .unwrap_or_default();
        dbs.sort();
        for db in dbs {
            let name = db.file_name().unwrap().to_string_lossy().to_string();
            let stem = name.trim_end_matches(".db").trim_end_matches("_antifor");
            let key = read_key(&cat_dir.join(format!("{stem}.xml")));
            bytes += std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
            let sc = per_cat.entry(cat.clone()).or_default();
            sc.dbs += 1;
            let result = std::panic::catch_unwind(|| {
                let src = Source::open(&db).ok()?;
                let img = Image::open(src, None, None).ok()?;
                let warns: Vec<String> = img.warnings.iter().map(|w| w.2.clone()).collect();
                let rep = carve(&img, None, &opts);
                Some((rep, warns))
            });
            let (rep, img_warns) = match result {
                Ok(Some(r)) => r,
                Ok(None) => {
                    if verbose {
                        println!("{cat} {name}: not opened");
                    }
                    continue;
                }
                Err(_) => {
                    sc.panics += 1;
                    println!("{cat} {name}: PANIC");
                    continue;
                }
            };
            sc.warnings += (rep.warnings.len() + img_warns.len()) as u32;
            if verbose {
                for w in &img_warns {
                    println!("{cat} {name}: warning {w}");
                }
            }
            if verbose {
                for t in &rep.dropped {
                    println!(
                        "{cat} {name}: dropped table {} root {} ({} columns)",
                        t.name,
                        t.root,
                        t.columns.len()
                    );
                }
            }
            let sql_live = live_rows(&db);
            for rec in rep
                .records
                .iter()
                .filter(|r| r.place.is_residue() && r.table.as_deref() != Some("sqlite_master"))
            {
                let vals: Vec<(String, Option<String>)> = rec.values.iter().map(norm).collect();
                if sql_live.iter().any(|l| equal(&vals, l)) {
                    sc.sql_live += 1;
                }
            }
            let deleted: Vec<&KeyRow> = key.iter().filter(|r| r.deleted).collect();
            let live: Vec<&KeyRow> = key.iter().filter(|r| !r.deleted).collect();
            let mut used = vec![false; deleted.len()];
            let is_rec = |r: &KeyRow| {
                matches!(
                    substrate
                        .get(&(name.clone(), r.table.clone(), r.index))
                        .map(String::as_str),
                    Some("record" | "body" | "overflow_all_chunks")
                )
            };
            sc.d += deleted.len() as u32;
            sc.d_rec += deleted.iter().filter(|r| is_rec(r)).count() as u32;
            for rec in &rep.records {
                if rec.table.as_deref() == Some("sqlite_master") || !rec.place.is_residue() {
                    continue;
                }
                let vals: Vec<(String, Option<String>)> = rec.values.iter().map(norm).collect();
                let table_ok = |t: &str| rec.table.as_deref().is_none_or(|x| x == t);
                if let Some(i) = deleted
                    .iter()
                    .enumerate()
                    .position(|(i, r)| !used[i] && table_ok(&r.table) && equal(&vals, &r.values))
                {
                    used[i] = true;
                    sc.tp += 1;
                    if is_rec(deleted[i]) {
                        sc.tp_rec += 1;
                    } else if verbose {
                        println!("{cat} {name}: TP outside D_rec: {:?}", deleted[i].values);
                    }
                } else if deleted
                    .iter()
                    .any(|r| table_ok(&r.table) && equal(&vals, &r.values))
                {
                    sc.dup += 1;
                } else if live
                    .iter()
                    .any(|r| table_ok(&r.table) && equal(&vals, &r.values))
                {
                    sc.live += 1;
                    if verbose {
                        println!(
                            "{cat} {name}: LIVE re-read {} {:?} {:?}",
                            rec.place.as_str(),
                            rec.table,
                            vals.iter().map(|v| &v.0).collect::<Vec<_>>()
                        );
                    }
                } else {
                    sc.fp += 1;
                    if verbose {
                        println!(
                            "{cat} {name}: FP {} {:?} {:?}",
                            rec.place.as_str(),
                            rec.table,
                            vals.iter()
                                .map(|v| v.0.chars().take(24).collect::<String>())
                                .collect::<Vec<_>>()
                        );
                    }
                }
            }
            if verbose {
                for (i, r) in deleted.iter().enumerate() {
                    if !used[i] && is_rec(r) {
                        println!(
                            "{cat} {name}: MISSED {} #{} {:?}",
                            r.table,
                            r.index,
                            r.values
                                .iter()
                                .map(|v| v.chars().take(24).collect::<String>())
                                .collect::<Vec<_>>()
                        );
                    }
                }
                for w in &rep.warnings {
                    println!("{cat} {name}: warning {}", w.2);
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "\n{:<5} {:>4} {:>5} {:>6} {:>5} {:>4} {:>5} {:>4} {:>9} {:>9} {:>9} {:>9} {:>7} {:>5} {:>5}",
        "cat",
        "dbs",
        "|D|",
        "|Drec|",
        "TP",
        "FP",
        "live",
        "dup",
        "rec(sub)",
        "rec(e2e)",
        "prec",
        "prec-nl",
        "sqlLive",
        "warn",
        "panic"
    );
    let mut total = Score::default();
    let ratio = |a: u32, b: u32| {
        if b == 0 {
            f64::NAN
        } else {
            f64::from(a) / f64::from(b)
        }
    };
    for (cat, s) in &per_cat {
        let row = |c: &str, s: &Score| {
            println!(
                "{:<5} {:>4} {:>5} {:>6} {:>5} {:>4} {:>5} {:>4} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7} {:>5} {:>5}",
                c,
                s.dbs,
                s.d,
                s.d_rec,
                s.tp,
                s.fp,
                s.live,
                s.dup,
                ratio(s.tp_rec, s.d_rec),
                ratio(s.tp, s.d),
                ratio(s.tp, s.tp + s.fp + s.live),
                ratio(s.tp, s.tp + s.fp),
                s.sql_live,
                s.warnings,
                s.panics
            )
        };
        if recall_cats.contains(&cat.as_str()) {
            row(cat, s);
            total.dbs += s.dbs;
            total.d += s.d;
            total.d_rec += s.d_rec;
            total.tp += s.tp;
            total.tp_rec += s.tp_rec;
            total.fp += s.fp;
            total.live += s.live;
            total.dup += s.dup;
            total.warnings += s.warnings;
            total.sql_live += s.sql_live;
            total.panics += s.panics;
        } else if s.d > 0 || s.tp + s.fp + s.live > 0 || s.panics > 0 || cat.starts_with('1') {
            row(cat, s);
        }
    }
    println!(
        "{:<5} {:>4} {:>5} {:>6} {:>5} {:>4} {:>5} {:>4} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7} {:>5} {:>5}",
        "all",
        total.dbs,
        total.d,
        total.d_rec,
        total.tp,
        total.fp,
        total.live,
        total.dup,
        ratio(total.tp_rec, total.d_rec),
        ratio(total.tp, total.d),
        ratio(total.tp, total.tp + total.fp + total.live),
        ratio(total.tp, total.tp + total.fp),
        total.sql_live,
        total.warnings,
        total.panics
    );
    println!(
        "(\"all\" = 07 and 0A–0E; rec(sub) = TP∩D_rec/|D_rec|; prec counts live re-reads as false;\n sqlLive = recovered rows equal to a row SQLite returns live (must be 0; 09's key flags no\n deletions, so its \"live\" column is not meaningful); warn = damage named (11-19);\n {:.1} MB in {:.2} s)",
        bytes as f64 / 1e6,
        secs
    );
}
