//! The schema: `sqlite_master` rows and a small `CREATE TABLE` parser that
//! recovers column names, declared types, affinities and the rowid alias.
//!
//! The carver needs column counts and type expectations to decode and
//! attribute deleted records, including those of tables whose schema row was
//! itself deleted (its text survives in page 1's free space).

/// Column affinity (sqlite.org/datatype3.html §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    pub fn from_decl(decl: &str) -> Affinity {
        let d = decl.to_ascii_uppercase();
        if d.contains("INT") {
            Affinity::Integer
        } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
            Affinity::Text
        } else if d.contains("BLOB") || d.trim().is_empty() {
            Affinity::Blob
        } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }
}

/// One stored column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub decl: String,
    pub affinity: Affinity,
    pub not_null: bool,
}

/// A table as the carver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub root: u32,
    /// Columns stored in the record, in order (virtual generated columns are left out).
    pub columns: Vec<Column>,
    /// Index of the `INTEGER PRIMARY KEY` column, stored as NULL in records.
    pub rowid_alias: Option<usize>,
    pub without_rowid: bool,
    /// `fts4`, `fts5`, ... for `CREATE VIRTUAL TABLE ... USING module(...)`.
    pub module: Option<String>,
    pub module_args: Vec<String>,
}

/// One row of `sqlite_master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRow {
    pub kind: String,
    pub name: String,
    pub tbl_name: String,
    pub rootpage: u32,
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Str(String),
    Punct(char),
}

fn tokenize(sql: &str) -> Vec<Tok> {
    let c: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '-' && c.get(i + 1) == Some(&'-') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            i += 2;
            while i < c.len() && !(c[i] == '*' && c.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if ch == '"' || ch == '`' || ch == '[' || ch == '\'' {
            let close = if ch == '[' { ']' } else { ch };
            let mut s = String::new();
            i += 1;
            while i < c.len() {
                if c[i] == close {
                    if close != ']' && c.get(i + 1) == Some(&close) {
                        s.push(close);
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(c[i]);
                i += 1;
            }
            i += 1;
            out.push(if ch == '\'' {
                Tok::Str(s)
            } else {
                Tok::Quoted(s)
            });
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' || ch as u32 > 127 {
            let mut s = String::new();
            while i < c.len()
                && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$' || c[i] as u32 > 127)
            {
                s.push(c[i]);
                i += 1;
            }
            out.push(Tok::Word(s));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

fn name_of(t: &Tok) -> Option<String> {
    match t {
        Tok::Word(w) | Tok::Quoted(w) | Tok::Str(w) => Some(w.clone()),
        Tok::Punct(_) => None,
    }
}

/// Splits tokens between a `(` at `open` and its matching `)` into top-level
/// comma-separated parts; returns the parts and the index after `)`.
fn split_parens(toks: &[Tok], open: usize) -> Option<(Vec<&[Tok]>, usize)> {
    if toks.get(open)? != &Tok::Punct('(') {
        return None;
    }
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut start = open + 1;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&toks[start..i]);
                    return Some((parts, i + 1));
                }
            }
            Tok::Punct(',') if depth == 1 => {
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    None
}

const CONSTRAINT_START: [&str; 11] = [
    "CONSTRAINT",
    "PRIMARY",
    "NOT",
    "NULL",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "COLLATE",
    "REFERENCES",
    "GENERATED",
    "AS",
];

/// Parses `CREATE [VIRTUAL] TABLE` SQL. `None` for other statements or
/// unparseable text.
pub fn parse_create_table(sql: &str, root: u32) -> Option<Table> {
    let toks = tokenize(sql);
    let mut i = 0;
    if !is_kw(toks.get(i)?, "CREATE") {
        return None;
    }
    i += 1;
    while let Some(t) = toks.get(i) {
        if is_kw(t, "TEMP") || is_kw(t, "TEMPORARY") {
            i += 1;
        } else {
            break;
        }
    }
    let virtual_ = is_kw(toks.get(i)?, "VIRTUAL");
    if virtual_ {
        i += 1;
    }
    if !is_kw(toks.get(i)?, "TABLE") {
        return None;
    }
    i += 1;
    if is_kw(toks.get(i)?, "IF") {
        i += 3; // IF NOT EXISTS
    }
    let mut name = name_of(toks.get(i)?)?;
    i += 1;
    if toks.get(i) == Some(&Tok::Punct('.')) {
        name = name_of(toks.get(i + 1)?)?;
        i += 2;
    }
    if virtual_ {
        if !is_kw(toks.get(i)?, "USING") {
            return None;
        }
        let module = name_of(toks.get(i + 1)?)?.to_ascii_lowercase();
        let mut args = Vec::new();
        if let Some((parts, _)) = split_parens(&toks, i + 2) {
            for p in parts {
                let words: Vec<String> = p.iter().filter_map(name_of).collect();
                let raw: Vec<String> = p
                    .iter()
                    .map(|t| match t {
                        Tok::Punct(c) => c.to_string(),
                        other => name_of(other).unwrap_or_default(),
                    })
                    .collect();
                if !words.is_empty() {
                    args.push(raw.join(" "));
                }
            }
        }
        return Some(Table {
            name,
            root,
            columns: Vec::new(),
            rowid_alias: None,
            without_rowid: false,
            module: Some(module),
            module_args: args,
        });
    }
    if is_kw(toks.get(i)?, "AS") {
        return None; // CREATE TABLE ... AS SELECT: columns unknown here
    }
    let (parts, after) = split_parens(&toks, i)?;
    let mut columns = Vec::new();
    let mut rowid_alias = None;
    let mut pk_cols: Vec<String> = Vec::new();
    for p in parts {
        let Some(first) = p.first() else { continue };
        let is_constraint = matches!(first, Tok::Word(_))
            && ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                .iter()
                .any(|k| is_kw(first, k));
        if is_constraint {
            if let Some(pk) = p.iter().position(|t| is_kw(t, "PRIMARY"))
                && let Some(open) = p.iter().skip(pk).position(|t| *t == Tok::Punct('('))
                && let Some((cols, _)) = split_parens(p, pk + open)
            {
                pk_cols = cols
                    .iter()
                    .filter_map(|c| c.first().and_then(name_of))
                    .collect();
            }
            continue;
        }
        let Some(cname) = name_of(first) else {
            continue;
        };
        let mut j = 1;
        let mut decl = Vec::new();
        while let Some(t) = p.get(j) {
            if CONSTRAINT_START.iter().any(|k| is_kw(t, k)) {
                break;
            }
            match t {
                Tok::Punct(c) => decl.push(c.to_string()),
                other => decl.push(name_of(other).unwrap_or_default()),
            }
            j += 1;
        }
        let decl = decl.join(" ").replace(" ( ", "(").replace(" )", ")");
        let rest = &p[j.min(p.len())..];
        let not_null = rest
            .windows(2)
            .any(|w| is_kw(&w[0], "NOT") && is_kw(&w[1], "NULL"));
        let generated = rest.iter().any(|t| is_kw(t, "AS") || is_kw(t, "GENERATED"));
        let stored = rest.iter().any(|t| is_kw(t, "STORED"));
        if generated && !stored {
            continue;
        }
        let pk_here = rest
            .windows(2)
            .position(|w| is_kw(&w[0], "PRIMARY") && is_kw(&w[1], "KEY"));
        if let Some(k) = pk_here {
            let desc = rest.get(k + 2).is_some_and(|t| is_kw(t, "DESC"));
            if decl.eq_ignore_ascii_case("INTEGER") && !desc {
                rowid_alias = Some(columns.len());
            }
        }
        columns.push(Column {
            affinity: Affinity::from_decl(&decl),
            name: cname,
            decl,
            not_null,
        });
    }
    if rowid_alias.is_none()
        && pk_cols.len() == 1
        && let Some(pos) = columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(&pk_cols[0]))
        && columns[pos].decl.eq_ignore_ascii_case("INTEGER")
    {
        rowid_alias = Some(pos);
    }
    let tail = &toks[after.min(toks.len())..];
    let without_rowid = tail
        .windows(2)
        .any(|w| is_kw(&w[0], "WITHOUT") && is_kw(&w[1], "ROWID"));
    if without_rowid {
        rowid_alias = None;
    }
    if columns.is_empty() {
        return None;
    }
    Some(Table {
        name,
        root,
        columns,
        rowid_alias,
        without_rowid,
        module: None,
        module_args: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nemetz_style_quoted_columns() {
        let t = parse_create_table(
            "CREATE TABLE users (\n\t'id' INT UNSIGNED NOT NULL,\n\t'name' TEXT NOT NULL,\n\t'surname' TEXT NULL,\n\t'codeB' FLOAT NULL\n)",
            2,
        )
        .unwrap();
        assert_eq!(t.name, "users");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "surname", "codeB"]);
        assert_eq!(t.columns[0].affinity, Affinity::Integer);
        assert!(t.columns[0].not_null);
        assert!(!t.columns[2].not_null);
        assert_eq!(t.columns[3].affinity, Affinity::Real);
        assert_eq!(t.rowid_alias, None);
    }

    #[test]
    fn whatsapp_message_table_has_a_rowid_alias() {
        let t = parse_create_table(
            "CREATE TABLE message (_id INTEGER PRIMARY KEY AUTOINCREMENT, chat_row_id INTEGER NOT NULL, from_me INTEGER NOT NULL, key_id TEXT NOT NULL, text_data TEXT, starred INTEGER, CONSTRAINT x UNIQUE (chat_row_id, key_id))",
            5,
        )
        .unwrap();
        assert_eq!(t.columns.len(), 6);
        assert_eq!(t.rowid_alias, Some(0));
        assert_eq!(t.columns[4].name, "text_data");
    }

    #[test]
    fn table_level_primary_key_and_without_rowid() {
        let t =
            parse_create_table("CREATE TABLE a (id INTEGER, b TEXT, PRIMARY KEY(id))", 3).unwrap();
        assert_eq!(t.rowid_alias, Some(0));
        let t = parse_create_table(
            "CREATE TABLE \"x_idx\"(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID",
            4,
        )
        .unwrap();
        assert!(t.without_rowid);
        assert_eq!(t.columns.len(), 3);
        assert_eq!(t.columns[0].affinity, Affinity::Blob);
    }

    #[test]
    fn virtual_generated_columns_are_not_stored() {
        let t = parse_create_table(
            "CREATE TABLE messages (rowid INTEGER PRIMARY KEY ASC, json TEXT, expiresAt INT GENERATED ALWAYS AS (ifnull(x, 0)), body TEXT, y INT AS (1) STORED)",
            9,
        )
        .unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["rowid", "json", "body", "y"]);
    }

    #[test]
    fn virtual_tables_name_their_module() {
        let t = parse_create_table(
            "CREATE VIRTUAL TABLE message_ftsv2 USING FTS4(content, fts_jid, fts_namespace)",
            0,
        )
        .unwrap();
        assert_eq!(t.module.as_deref(), Some("fts4"));
        assert_eq!(t.module_args.len(), 3);
        let t = parse_create_table(
            "CREATE VIRTUAL TABLE message_fts USING fts5(body, thread_id UNINDEXED, content=message, content_rowid=_id)",
            0,
        )
        .unwrap();
        assert_eq!(t.module.as_deref(), Some("fts5"));
        assert!(t.module_args.iter().any(|a| a == "content = message"));
    }

    #[test]
    fn other_statements_are_not_tables() {
        assert!(parse_create_table("CREATE INDEX i ON t(a)", 3).is_none());
        assert!(parse_create_table("CREATE TABLE t AS SELECT 1", 3).is_none());
        assert!(parse_create_table("garbage", 3).is_none());
    }
}
