//! One SQLite database family: logical rows through the reader, residue
//! through the carver and the FTS decoders, app knowledge through the
//! profile, all turned into evidence and facts.

use super::apps::{self, Matched};
use super::sink::{Sink, named};
use super::sqlite::carve::{self, CarveOptions, Place};
use super::sqlite::format::Value;
use super::sqlite::fts::{self, Tokens};
use super::sqlite::image::{FileRole, Image};
use super::sqlite::reader::{Family, Reader, ident};
use super::sqlite::source::Source;
use super::sqlite::wal::FrameClass;
use crate::evidence::{Layer, Origin};
use crate::rules::model::RuleSet;
use rusqlite::types::ValueRef;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value as J, json};

/// Input indices of the family's files in the scan result.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs {
    pub main: Option<u32>,
    pub wal: Option<u32>,
    pub journal: Option<u32>,
}

impl Inputs {
    fn of(&self, f: FileRole) -> Option<u32> {
        match f {
            FileRole::Main => self.main,
            FileRole::Wal => self.wal,
            FileRole::Journal => self.journal,
        }
    }
}

pub struct DbCx<'a> {
    pub rules: &'a RuleSet,
    /// Acquisition time, Unix seconds.
    pub acquired: i64,
    pub warnings: &'a mut Vec<(String, Option<u64>, String)>,
}

/// What a family scan found out.
pub struct DbOutcome {
    pub app: Option<String>,
    pub facts: Map<String, J>,
}

fn origin(input: Option<u32>, off: Option<u64>) -> Origin {
    Origin {
        input,
        packet: None,
        file_offset: off,
    }
}

fn chain(prefix: &[Layer], rest: &[Layer]) -> Vec<Layer> {
    prefix.iter().chain(rest).cloned().collect()
}

/// Scans a family. `prefix` are layers removed before SQLite (a container
/// opened with a key found beside it); `label` names the database in messages.
pub fn scan_family(
    fam: &Family,
    label: &str,
    prefix: &[Layer],
    inputs: Inputs,
    sink: &mut Sink<'_>,
    cx: &mut DbCx<'_>,
) -> DbOutcome {
    let mut facts = Map::new();
    let warn = |cx: &mut DbCx<'_>, off: Option<u64>, msg: String| {
        if cx.warnings.len() < 10_000 {
            cx.warnings.push((label.to_string(), off, msg));
        }
    };
    // Raw pages first: the carver never goes through SQLite.
    let main = match Source::open(&fam.main) {
        Ok(s) => s,
        Err(e) => {
            warn(cx, None, format!("cannot read: {e}"));
            return DbOutcome { app: None, facts };
        }
    };
    let wal = fam.wal.as_ref().and_then(|p| Source::open(p).ok());
    let journal = fam.journal.as_ref().and_then(|p| Source::open(p).ok());
    let img = match Image::open(main, wal, journal) {
        Ok(i) => Some(i),
        Err(e) => {
            warn(cx, Some(0), e);
            None
        }
    };
    let report = img
        .as_ref()
        .map(|img| carve::carve(img, Some(sink.canaries), &CarveOptions::default()));
    // Logical rows from a copy.
    let reader = match Reader::open(fam, true) {
        Ok(r) => Some(r),
        Err(e) => match Reader::open(fam, false) {
            Ok(r) => {
                warn(cx, None, format!("{e}; opened without the journal"));
                Some(r)
            }
            Err(e2) => {
                warn(cx, None, e2);
                None
            }
        },
    };
    let tables = reader.as_ref().map(|r| r.tables()).unwrap_or_default();
    let names: Vec<String> = if !tables.is_empty() {
        tables.iter().map(|t| t.name.clone()).collect()
    } else {
        report
            .as_ref()
            .map(|r| r.tables.iter().map(|t| t.name.clone()).collect())
            .unwrap_or_default()
    };
    let path_text = fam.main.to_string_lossy().replace('\\', "/");
    let matched = apps::match_store(cx.rules, &path_text, Some(&names));
    let app = matched.map(|m| m.app.id.clone());
    if let Some(m) = matched {
        facts.insert(
            "profile".into(),
            json!({"app": m.app.id, "store": m.store.name, "matched_by": m.by}),
        );
    }
    let sqlite = Layer::plain("sqlite");
    let o_main = origin(inputs.main, None);

    // ------------------------------------------------------ hygiene facts
    if let Some(img) = &img {
        let h = &img.header;
        facts.insert("page_size".into(), json!(h.page_size));
        facts.insert("encoding".into(), json!(h.encoding.as_str()));
        facts.insert("user_version".into(), json!(h.user_version));
        facts.insert("application_id".into(), json!(h.application_id));
        facts.insert("writer_sqlite_version".into(), json!(h.sqlite_version));
        facts.insert("reserved_bytes".into(), json!(h.reserved));
        facts.insert("auto_vacuum".into(), json!(h.auto_vacuum()));
        facts.insert("freelist_count".into(), json!(h.freelist_count));
        facts.insert("page_count".into(), json!(img.page_count));
        let jm = if h.wal_mode() {
            "wal".to_string()
        } else if let Some((_, j)) = &img.journal {
            if j.magic {
                "rollback (hot journal present)".into()
            } else {
                "rollback (journal with zeroed header: PERSIST)".into()
            }
        } else {
            "rollback".into()
        };
        facts.insert("journal_mode".into(), json!(jm));
        sink.meta(
            "sqlite.journal_mode",
            jm.clone(),
            chain(prefix, std::slice::from_ref(&sqlite)),
            o_main.clone(),
        );
        sink.meta(
            "sqlite.auto_vacuum",
            h.auto_vacuum().to_string(),
            chain(prefix, std::slice::from_ref(&sqlite)),
            o_main.clone(),
        );
        if let Some((_, w)) = &img.wal {
            facts.insert(
                "wal".into(),
                json!({
                    "frames": w.frames.len(),
                    "valid": w.valid,
                    "current": w.count(FrameClass::Current),
                    "historic": w.count(FrameClass::Historic),
                    "uncommitted": w.count(FrameClass::Uncommitted),
                    "stale": w.count(FrameClass::Stale),
                    "invalid": w.count(FrameClass::Invalid),
                    "checkpoint_seq": w.header.checkpoint_seq,
                    "stops_at_frame": w.stop.map(|s| s.0),
                }),
            );
        }
        if let Some((_, j)) = &img.journal {
            facts.insert(
                "journal".into(),
                json!({"pages": j.pages.len(), "header": j.magic, "sector_size": j.sector_size}),
            );
        }
        for (f, off, msg) in &img.warnings {
            let who = match f {
                FileRole::Main => label.to_string(),
                FileRole::Wal => format!("{label}-wal"),
                FileRole::Journal => format!("{label}-journal"),
            };
            cx.warnings.push((who, *off, msg.clone()));
        }
    }

    // ------------------------------------------------------ live content
    let content_cols: FxHashMap<(String, String), (String, Option<String>)> = matched
        .map(|m| {
            m.store
                .content
                .iter()
                .map(|c| {
                    (
                        (c.table.to_ascii_lowercase(), c.column.to_ascii_lowercase()),
                        (c.role.clone(), c.decode.clone()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let is_content = |t: &str, c: &str| -> Option<(String, Option<String>)> {
        if let Some(x) = content_cols.get(&(t.to_ascii_lowercase(), c.to_ascii_lowercase())) {
            return Some(x.clone());
        }
        // Profiled stores still get the generic heuristic for other tables.
        apps::message_like_column(t, c).then(|| ("message".to_string(), None))
    };
    let mut content_rows: FxHashMap<String, u64> = FxHashMap::default();
    let mut canary_hits = 0usize;
    if let Some(r) = &reader {
        // Rows that are live in SQL but retained in meaning: messages past
        // their expiry, and copies whose message is gone. Their text is
        // reported under a residue layer rather than as live content.
        let mut specials: Vec<Special> = Vec::new();
        if let Some(m) = matched {
            specials.extend(expired_rows(
                r,
                m,
                prefix,
                sink,
                cx,
                &mut facts,
                o_main.clone(),
            ));
            specials.extend(orphan_copies(
                r,
                m,
                prefix,
                sink,
                &mut facts,
                o_main.clone(),
            ));
            // A copy of an expired message (its search row, its quote) is
            // expired content too.
            let mut inherited = Vec::new();
            for c in &m.store.copies {
                let Some((pt, pc)) = c.parent.split_once('.') else {
                    continue;
                };
                for s in specials.iter().filter(|s| s.place == "expired-row") {
                    if s.table.eq_ignore_ascii_case(pt) && s.key.eq_ignore_ascii_case(pc) {
                        inherited.push(Special {
                            table: c.table.clone(),
                            key: c.key.clone(),
                            keys: s.keys.clone(),
                            place: "expired-row",
                        });
                    }
                }
            }
            specials.extend(inherited);
        }
        for t in &tables {
            if t.virtual_module.is_some() || t.columns.is_empty() {
                continue;
            }
            let cols: Vec<&str> = t.columns.iter().map(String::as_str).collect();
            let kinds: Vec<Option<(String, Option<String>)>> =
                cols.iter().map(|c| is_content(&t.name, c)).collect();
            let layers_of: Vec<Vec<Layer>> = cols
                .iter()
                .map(|c| {
                    chain(
                        prefix,
                        &[sqlite.clone(), named(format!("{}.{}", t.name, c))],
                    )
                })
                .collect();
            let mine: Vec<(&Special, Option<usize>)> = specials
                .iter()
                .filter(|s| s.table.eq_ignore_ascii_case(&t.name))
                .map(|s| (s, cols.iter().position(|c| c.eq_ignore_ascii_case(&s.key))))
                .collect();
            let res = r.each_row(&t.name, &cols, !t.without_rowid, |rowid, vals| {
                let special = mine.iter().find_map(|(s, idx)| {
                    let key = match idx {
                        Some(i) => key_text(&vals[*i]),
                        None if s.key.eq_ignore_ascii_case("rowid") => rowid.map(|x| x.to_string()),
                        None => None,
                    }?;
                    s.keys.contains(&key).then_some(s.place)
                });
                for (i, v) in vals.iter().enumerate() {
                    let bytes = match v {
                        ValueRef::Text(b) | ValueRef::Blob(b) => *b,
                        _ => continue,
                    };
                    let layers: Vec<Layer> = match special {
                        Some(place) => {
                            let mut l = layers_of[i].clone();
                            l.insert(l.len() - 1, Layer::residue(place));
                            l
                        }
                        None => layers_of[i].clone(),
                    };
                    let Some((_role, decode)) = &kinds[i] else {
                        canary_hits += sink.canaries(bytes, &layers, &o_main);
                        continue;
                    };
                    let field = format!("{}.{}", t.name, cols[i]);
                    let texts = decoded(bytes, decode.as_deref());
                    if decode.is_none() || texts.is_empty() {
                        canary_hits += sink.canaries(bytes, &layers, &o_main);
                    }
                    for text in texts {
                        if decode.is_some() {
                            canary_hits += sink.canaries(text.as_bytes(), &layers, &o_main);
                        }
                        if sink.content(&field, text.as_bytes(), true, &layers, &o_main, 3) {
                            *content_rows.entry(field.clone()).or_default() += 1;
                        }
                    }
                }
                true
            });
            if let Err(e) = res {
                warn(cx, None, format!("table {}: {e}", t.name));
            }
        }
        fts_residue(r, &tables, prefix, sink, &mut facts, o_main.clone());
    }
    facts.insert("content_rows".into(), json!(content_rows));
    let mut names_sorted = names.clone();
    names_sorted.truncate(300);
    facts.insert("tables".into(), json!(names_sorted));

    // ------------------------------------------------------ carved residue
    if let Some(rep) = &report {
        let mut by_place: FxHashMap<&'static str, u64> = FxHashMap::default();
        let mut residue_rows = 0usize;
        for rec in &rep.records {
            let place = rec.place.as_str();
            let o = origin(inputs.of(rec.loc.file), Some(rec.loc.offset));
            if rec.table.as_deref() == Some("sqlite_master") {
                if let Some(Value::Text(kind)) = rec.values.first()
                    && let Some(Value::Text(name)) = rec.values.get(1)
                    && !names.iter().any(|n| n == name)
                {
                    sink.retention(
                        Place::as_str(rec.place),
                        format!(
                            "schema row of a dropped {kind} `{name}` on page {}",
                            rec.pgno
                        ),
                        chain(prefix, &[sqlite.clone(), residue_layer(rec.place)]),
                        Some(rec.loc.offset),
                        o,
                    );
                }
                continue;
            }
            // SQLite's own bookkeeping (sequence counters, statistics) is
            // rewritten in place all the time; its old versions are not content.
            let internal =
                |t: &Option<String>| t.as_deref().is_some_and(|t| t.starts_with("sqlite_"));
            if internal(&rec.table) || (rec.table.is_none() && internal(&rec.page_table)) {
                continue;
            }
            *by_place.entry(place).or_default() += 1;
            // Only in-page residue of the main file says how the last
            // deleting connection was configured.
            if matches!(
                rec.place,
                Place::Freeblock | Place::Unallocated | Place::Freelist
            ) {
                residue_rows += 1;
            }
            let table = rec
                .table
                .clone()
                .or_else(|| rec.page_table.clone().map(|t| format!("{t}?")));
            let where_ = match rec.frame {
                Some(f) => format!("WAL frame {f} (page {})", rec.pgno),
                None => format!("{} page {}", rec.loc.file.as_str(), rec.pgno),
            };
            let detail = format!(
                "{} row{}{} at {where_}, offset {}{}",
                if rec.place.is_residue() {
                    "deleted"
                } else {
                    "unreachable"
                },
                table
                    .as_ref()
                    .map(|t| format!(" of {t}"))
                    .unwrap_or_default(),
                rec.rowid
                    .map(|r| format!(" (rowid {r})"))
                    .unwrap_or_default(),
                rec.loc.offset,
                if rec.reconstructed {
                    "; header rebuilt from the schema"
                } else {
                    ""
                },
            );
            let base = chain(prefix, &[sqlite.clone(), residue_layer(rec.place)]);
            if rec.place.is_residue() {
                sink.retention(
                    Place::as_str(rec.place),
                    detail,
                    base.clone(),
                    Some(rec.loc.offset),
                    o.clone(),
                );
            } else {
                sink.anomaly("unreachable-page", detail, o.clone());
            }
            for (i, v) in rec.values.iter().enumerate() {
                let (bytes, is_text): (&[u8], bool) = match v {
                    Value::Text(s) => (s.as_bytes(), true),
                    Value::Blob(b) => (b, false),
                    _ => continue,
                };
                let col = rec
                    .columns
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("#{i}"));
                let field = match &table {
                    Some(t) => format!("{t}.{col}"),
                    None => format!("?.{col}"),
                };
                let layers = {
                    let mut l = base.clone();
                    l.push(named(field.clone()));
                    l
                };
                sink.canaries(bytes, &layers, &o);
                if !is_text {
                    continue;
                }
                let known = rec.table.as_deref().and_then(|t| is_content(t, &col));
                let message_like = match known {
                    Some(_) => true,
                    None => rec.table.is_none() && bytes.contains(&b' '),
                };
                if message_like {
                    sink.content(&field, bytes, known.is_some(), &layers, &o, 4);
                }
            }
        }
        for h in &rep.raw_hits {
            let layers = chain(prefix, &[sqlite.clone(), residue_layer(h.place)]);
            let o = origin(inputs.of(h.loc.file), Some(h.loc.offset));
            sink.push(
                crate::evidence::EvidenceKind::Canary {
                    canary: h.hit.canary,
                    encoding: h.hit.encoding,
                    context: h.hit.context.clone(),
                },
                layers,
                Some(h.loc.offset),
                o,
                format!("rawcanary:{}:{}", h.hit.canary, h.place.as_str()),
                4,
            );
        }
        let inference = carve::secure_delete_inference(&rep.stats, residue_rows);
        let sd = match inference {
            "off" => "off (inferred)".to_string(),
            "on" => "on (inferred)".to_string(),
            _ => "unknown (no freed space to judge)".to_string(),
        };
        facts.insert("secure_delete".into(), json!(sd));
        sink.meta(
            "sqlite.secure_delete",
            sd,
            chain(prefix, std::slice::from_ref(&sqlite)),
            o_main.clone(),
        );
        facts.insert("carved".into(), json!(by_place));
        facts.insert(
            "carver".into(),
            json!({
                "pages": rep.stats.pages,
                "candidates": rep.stats.candidates,
                "freeblocks": rep.stats.freeblocks,
                "freeblocks_zeroed": rep.stats.freeblocks_zeroed,
                "freelist_leaves": rep.stats.freelist_leaves,
                "freelist_zeroed": rep.stats.freelist_zeroed,
                "other_page_images": rep.stats.other_pages,
                "live_copies_dropped": rep.stats.live_copies_dropped,
                "duplicates": rep.stats.duplicates,
                "corrupt_pages": rep.stats.corrupt_pages,
            }),
        );
        let cap = CarveOptions::default().max_candidates as u64;
        if rep.stats.candidates > cap {
            cx.warnings.push((
                label.to_string(),
                None,
                format!(
                    "{} deleted-record candidates found; only the first {cap} are kept and reported",
                    rep.stats.candidates
                ),
            ));
        }
        if !rep.dropped.is_empty() {
            facts.insert(
                "dropped_tables".into(),
                json!(
                    rep.dropped
                        .iter()
                        .map(|t| t.name.clone())
                        .collect::<Vec<_>>()
                ),
            );
        }
        for (f, off, msg) in &rep.warnings {
            let who = match f {
                FileRole::Main => label.to_string(),
                FileRole::Wal => format!("{label}-wal"),
                FileRole::Journal => format!("{label}-journal"),
            };
            cx.warnings.push((who, *off, msg.clone()));
        }
    }
    facts.insert("canary_hits_live".into(), json!(canary_hits));
    DbOutcome { app, facts }
}

fn residue_layer(p: Place) -> Layer {
    if p.is_residue() {
        Layer::residue(Place::as_str(p))
    } else {
        Layer::plain(Place::as_str(p))
    }
}

/// Text carried by a stored value, decoded as the profile says.
fn decoded(bytes: &[u8], decode: Option<&str>) -> Vec<String> {
    match decode {
        Some("telegram-tl") => apps::telegram_tl_text(bytes),
        Some("typedstream") => apps::typedstream_text(bytes).into_iter().collect(),
        Some("json") => apps::json_bodies(bytes),
        _ => std::str::from_utf8(bytes)
            .ok()
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
    }
}

fn num(v: &ValueRef<'_>) -> Option<f64> {
    match v {
        ValueRef::Integer(i) => Some(*i as f64),
        ValueRef::Real(r) => Some(*r),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// Rows of `table` whose `key` column (or `rowid`) is in `keys` are
/// retained content (`place`) although SQL still returns them.
struct Special {
    table: String,
    key: String,
    keys: FxHashSet<String>,
    place: &'static str,
}

fn key_text(v: &ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

/// Disappearing messages: rows whose expiry is before the acquisition time
/// but that are still present.
fn expired_rows(
    r: &Reader,
    m: Matched<'_>,
    prefix: &[Layer],
    sink: &mut Sink<'_>,
    cx: &mut DbCx<'_>,
    facts: &mut Map<String, J>,
    o: Origin,
) -> Vec<Special> {
    let mut out = Vec::new();
    let mut expired = 0u64;
    let acquired = cx.acquired as f64;
    for e in &m.store.expiry {
        // One profile covers several schema versions: skip what this one lacks.
        let have = r.columns(&e.table);
        let has = |c: &str| have.iter().any(|h| h.eq_ignore_ascii_case(c));
        if !has(&e.column)
            || e.start.as_deref().is_some_and(|s| !has(s))
            || e.row.as_deref().is_some_and(|s| !has(s))
        {
            continue;
        }
        let unless = e.unless.as_deref().filter(|u| has(u));
        let mut cols: Vec<&str> = vec![e.column.as_str()];
        if let Some(s) = &e.start {
            cols.push(s);
        }
        if let Some(u) = unless {
            cols.push(u);
        }
        if let Some(row) = &e.row {
            cols.push(row);
        }
        let mut hits: Vec<(i64, f64)> = Vec::new();
        let res = r.each_row(&e.table, &cols, true, |rowid, v| {
            let mut i = 1;
            let Some(val) = num(&v[0]) else { return true };
            let at = if e.start.is_some() {
                let start = num(&v[i]).unwrap_or(0.0);
                i += 1;
                if start <= 0.0 || val <= 0.0 {
                    return true;
                }
                apps::to_unix(start + val, &e.unit)
            } else {
                if val <= 0.0 {
                    return true;
                }
                apps::to_unix(val, &e.unit)
            };
            if unless.is_some() {
                if num(&v[i]).unwrap_or(0.0) != 0.0 {
                    return true;
                }
                i += 1;
            }
            let target = if e.row.is_some() {
                match v[i] {
                    ValueRef::Integer(x) => Some(x),
                    _ => None,
                }
            } else {
                rowid
            };
            if at < acquired
                && let Some(t) = target
                && hits.len() < 100_000
            {
                hits.push((t, at));
            }
            true
        });
        if let Err(err) = res {
            cx.warnings.push((
                String::new(),
                None,
                format!("expiry column {}.{}: {err}", e.table, e.column),
            ));
            continue;
        }
        let (msg_table, key) = match &e.references {
            Some(rf) => {
                let (t, c) = rf.split_once('.').unwrap_or((rf.as_str(), "rowid"));
                (t.to_string(), c.to_string())
            }
            None => (e.table.clone(), "rowid".to_string()),
        };
        let mut keys = FxHashSet::default();
        for (target, at) in hits {
            // The message row must still exist.
            let sql = format!(
                "SELECT 1 FROM {} WHERE {} = ?1",
                ident(&msg_table),
                ident(&key)
            );
            let present = r.conn.query_row(&sql, [target], |_| Ok(())).is_ok();
            if !present {
                continue;
            }
            expired += 1;
            keys.insert(target.to_string());
            let ago = (acquired - at) / 86400.0;
            sink.retention(
                "expired-row",
                format!(
                    "{msg_table} row {target} expired {ago:.1} days before acquisition ({}.{}) and is still present",
                    e.table, e.column
                ),
                chain(prefix, &[Layer::plain("sqlite"), Layer::residue("expired-row")]),
                None,
                o.clone(),
            );
        }
        if !keys.is_empty() {
            out.push(Special {
                table: msg_table,
                key,
                keys,
                place: "expired-row",
            });
        }
    }
    facts.insert("expired_rows_present".into(), json!(expired));
    out
}

/// Secondary copies (FTS content, quotes) whose parent row is gone.
fn orphan_copies(
    r: &Reader,
    m: Matched<'_>,
    prefix: &[Layer],
    sink: &mut Sink<'_>,
    facts: &mut Map<String, J>,
    o: Origin,
) -> Vec<Special> {
    let mut out = Vec::new();
    let mut found: FxHashMap<String, u64> = FxHashMap::default();
    for c in &m.store.copies {
        let Some((pt, pc)) = c.parent.split_once('.') else {
            continue;
        };
        let sql = format!(
            "SELECT c.{key} FROM {t} AS c WHERE c.{key} IS NOT NULL AND length(c.{col}) > 0 AND NOT EXISTS (SELECT 1 FROM {pt} AS p WHERE p.{pc} = c.{key})",
            key = ident(&c.key),
            col = ident(&c.column),
            t = ident(&c.table),
            pt = ident(pt),
            pc = ident(pc),
        );
        let Ok(mut st) = r.conn.prepare(&sql) else {
            continue;
        };
        let Ok(mut rows) = st.query([]) else { continue };
        let place: &'static str = match c.place.as_str() {
            "fts-content-orphan" => "fts-content-orphan",
            "notification-copy" => "notification-copy",
            _ => "quoted-copy",
        };
        let mut keys = FxHashSet::default();
        while let Ok(Some(row)) = rows.next() {
            let Some(key) = row.get_ref(0).ok().as_ref().and_then(key_text) else {
                continue;
            };
            *found.entry(c.table.clone()).or_default() += 1;
            sink.retention(
                place,
                format!(
                    "{}.{} = {key} keeps a copy of text whose row in {} is gone",
                    c.table, c.key, c.parent
                ),
                chain(prefix, &[Layer::plain("sqlite"), Layer::residue(place)]),
                None,
                o.clone(),
            );
            if keys.len() < 1 << 20 {
                keys.insert(key);
            }
        }
        if !keys.is_empty() {
            out.push(Special {
                table: c.table.clone(),
                key: c.key.clone(),
                keys,
                place,
            });
        }
    }
    facts.insert("orphan_copies".into(), json!(found));
    out
}

/// FTS indexes: terms of documents whose row is gone, and FTS5 secure-delete.
fn fts_residue(
    r: &Reader,
    tables: &[super::sqlite::reader::TableInfo],
    prefix: &[Layer],
    sink: &mut Sink<'_>,
    facts: &mut Map<String, J>,
    o: Origin,
) {
    let names: FxHashSet<String> = tables.iter().map(|t| t.name.to_ascii_lowercase()).collect();
    let has = |n: &str| names.contains(&n.to_ascii_lowercase());
    let canary_tokens: Vec<(u32, Vec<String>)> = sink
        .canaries
        .canaries()
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u32, fts::tokenize(&c.text)))
        .collect();
    let mut summary = Map::new();
    for t in tables {
        let Some(module) = t.virtual_module.as_deref() else {
            continue;
        };
        if !matches!(module, "fts3" | "fts4" | "fts5") {
            continue;
        }
        let ids = |sql: String| -> Option<FxHashSet<i64>> {
            let mut st = r.conn.prepare(&sql).ok()?;
            let v = st
                .query_map([], |x| x.get::<_, i64>(0))
                .ok()?
                .flatten()
                .collect();
            Some(v)
        };
        let mut toks = Tokens::default();
        let (live, fts5_config) = if module == "fts5" {
            let live = if has(&format!("{}_docsize", t.name)) {
                ids(format!(
                    "SELECT id FROM {}",
                    ident(&format!("{}_docsize", t.name))
                ))
            } else if has(&format!("{}_content", t.name)) {
                ids(format!(
                    "SELECT id FROM {}",
                    ident(&format!("{}_content", t.name))
                ))
            } else {
                None
            };
            let mut cfg = Map::new();
            if let Ok(mut st) = r.conn.prepare(&format!(
                "SELECT k, v FROM {}",
                ident(&format!("{}_config", t.name))
            )) && let Ok(rows) = st.query_map([], |x| {
                Ok((x.get::<_, String>(0)?, x.get_ref(1)?.as_i64().unwrap_or(0)))
            }) {
                for (k, v) in rows.flatten() {
                    cfg.insert(k, json!(v));
                }
            }
            (live, Some(cfg))
        } else {
            let live = if has(&format!("{}_docsize", t.name)) {
                ids(format!(
                    "SELECT docid FROM {}",
                    ident(&format!("{}_docsize", t.name))
                ))
            } else if has(&format!("{}_content", t.name)) {
                ids(format!(
                    "SELECT docid FROM {}",
                    ident(&format!("{}_content", t.name))
                ))
            } else {
                None
            };
            (live, None)
        };
        let keep = |d: i64| live.as_ref().is_none_or(|l| !l.contains(&d));
        let mut corrupt = 0u32;
        if module == "fts5" {
            let sql = format!(
                "SELECT id, block FROM {} ORDER BY id",
                ident(&format!("{}_data", t.name))
            );
            if let Ok(mut st) = r.conn.prepare(&sql)
                && let Ok(rows) =
                    st.query_map([], |x| Ok((x.get::<_, i64>(0)?, x.get::<_, Vec<u8>>(1)?)))
            {
                let mut carry = None;
                let mut last_seg = -1i64;
                for (id, block) in rows.flatten() {
                    let (seg, dl, h, pg) = fts::fts5_rowid(id);
                    if seg <= 0 || seg > 0xffff || dl || h != 0 || pg == 0 {
                        continue;
                    }
                    if seg != last_seg {
                        carry = None;
                        last_seg = seg;
                    }
                    if !fts::fts5_leaf(&block, &mut carry, |term, p| toks.add(term, p, &keep)) {
                        corrupt += 1;
                    }
                }
            }
        } else {
            for sql in [
                format!("SELECT root FROM {}", ident(&format!("{}_segdir", t.name))),
                format!(
                    "SELECT block FROM {}",
                    ident(&format!("{}_segments", t.name))
                ),
            ] {
                if let Ok(mut st) = r.conn.prepare(&sql)
                    && let Ok(rows) = st.query_map([], |x| x.get::<_, Vec<u8>>(0))
                {
                    for b in rows.flatten() {
                        if !fts::fts3_leaf(&b, |term, p| toks.add(term, p, &keep)) {
                            corrupt += 1;
                        }
                    }
                }
            }
        }
        // Documents whose terms survive without a live row, or marked deleted.
        let mut deleted: Vec<i64> = toks
            .docs
            .keys()
            .copied()
            .filter(|d| match &live {
                Some(l) => !l.contains(d),
                None => toks.markers.contains_key(d),
            })
            .collect();
        deleted.sort_unstable();
        let fts_layer = named(t.name.clone());
        for d in &deleted {
            let cols = toks.text(*d);
            let terms: usize = cols.iter().map(|(_, s)| s.split(' ').count()).sum();
            let layers = chain(
                prefix,
                &[
                    Layer::plain("sqlite"),
                    Layer::residue("fts-index"),
                    fts_layer.clone(),
                ],
            );
            sink.retention(
                "fts-index",
                format!(
                    "{} keeps {terms} index terms of docid {d}, whose row is gone",
                    t.name
                ),
                layers.clone(),
                None,
                o.clone(),
            );
            for (_, text) in &cols {
                for (ci, ct) in &canary_tokens {
                    if fts::contains_tokens(text, ct) {
                        let cat = format!("ftscanary:{ci}:{}", t.name);
                        sink.push(
                            crate::evidence::EvidenceKind::Canary {
                                canary: *ci,
                                encoding: crate::evidence::Encoding::Utf8,
                                context: text.as_bytes()[..text.len().min(160)].to_vec(),
                            },
                            layers.clone(),
                            None,
                            o.clone(),
                            cat,
                            4,
                        );
                    }
                }
                sink.content(
                    &format!("{} (index terms)", t.name),
                    text.as_bytes(),
                    false,
                    &layers,
                    &o,
                    4,
                );
            }
        }
        let mut entry = json!({
            "module": module,
            "indexed_docs": toks.indexed.len(),
            "deleted_docs_with_terms": deleted.len(),
            "delete_markers": toks.markers.len(),
            "corrupt_nodes": corrupt,
        });
        if let Some(cfg) = fts5_config {
            let sd = cfg.get("secure-delete").and_then(J::as_i64).unwrap_or(0);
            let version = cfg.get("version").and_then(J::as_i64);
            sink.meta(
                "fts5.secure-delete",
                if sd != 0 { "on".into() } else { "off".into() },
                chain(prefix, &[Layer::plain("sqlite"), fts_layer.clone()]),
                o.clone(),
            );
            entry["secure_delete"] = json!(sd != 0);
            entry["version"] = json!(version);
        }
        summary.insert(t.name.clone(), entry);
    }
    if !summary.is_empty() {
        facts.insert("fts".into(), J::Object(summary));
    }
}
