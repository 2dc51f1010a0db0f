//! Reading rule files: TOML with spans, then validation.
//!
//! Parsing keeps byte spans on every value that can be semantically wrong
//! (an unknown severity, a bad regex, a duplicate id), so each error points at
//! `file:line:column` and says what was expected, like cargo-deny does.

use crate::model::{Severity, Verdict};
use crate::rules::model::{
    AppProfile, Check, ContentColumn, CopyLink, EvidenceMatch, ExpiryColumn, Glob, RuleSet,
    StoreProfile, StoreRef, SubjectKind,
};
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// A rule file problem with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The offending source line, for display.
    pub excerpt: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.excerpt.is_empty() {
            write!(f, "\n  {:>4} | {}", self.line, self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleError {}

/// Rule files compiled into the binary, as (relative path, text).
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"))
}

/// The built-in rules. They are tested to load without error.
pub fn builtin() -> RuleSet {
    let mut set = RuleSet::default();
    let mut errors = Vec::new();
    for (path, text) in builtin_files() {
        load_text(&mut set, &format!("builtin:{path}"), text, &mut errors);
    }
    check_duplicates(&mut set, &mut errors);
    attach_stores(&mut set, &mut errors);
    debug_assert!(errors.is_empty(), "built-in rules are invalid: {errors:?}");
    set
}

/// Loads the built-in rules plus every `*.toml` under each of `dirs`.
pub fn load(dirs: &[impl AsRef<Path>]) -> Result<RuleSet, Vec<RuleError>> {
    let mut set = builtin();
    let mut errors = Vec::new();
    for d in dirs {
        load_dir_into(&mut set, d.as_ref(), &mut errors);
    }
    check_duplicates(&mut set, &mut errors);
    attach_stores(&mut set, &mut errors);
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

/// Loads only the files under `dir` (for `rules check DIR`).
pub fn check_dir(dir: &Path) -> (RuleSet, Vec<RuleError>) {
    let mut set = RuleSet::default();
    let mut errors = Vec::new();
    load_dir_into(&mut set, dir, &mut errors);
    check_duplicates(&mut set, &mut errors);
    attach_stores(&mut set, &mut errors);
    (set, errors)
}

fn load_dir_into(set: &mut RuleSet, dir: &Path, errors: &mut Vec<RuleError>) {
    let mut files = Vec::new();
    if dir.is_file() {
        files.push(dir.to_path_buf());
    } else {
        collect_toml(dir, &mut files, 0, errors);
    }
    files.sort();
    for f in files {
        match std::fs::read_to_string(&f) {
            Ok(text) => load_text(set, &f.display().to_string(), &text, errors),
            Err(e) => errors.push(RuleError {
                file: f.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
                excerpt: String::new(),
            }),
        }
    }
}

fn collect_toml(
    dir: &Path,
    out: &mut Vec<std::path::PathBuf>,
    depth: usize,
    errors: &mut Vec<RuleError>,
) {
    if depth > 8 {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(RuleError {
                file: dir.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read rules directory: {e}"),
                excerpt: String::new(),
            });
            return;
        }
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            collect_toml(&p, out, depth + 1, errors);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    check: Vec<RawCheck>,
    app: Option<RawApp>,
    /// Store sections kept apart from the app's network part; each names its app.
    #[serde(default)]
    store: Vec<RawStore>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: Spanned<String>,
    title: String,
    severity: Spanned<String>,
    verdict: Option<Spanned<String>>,
    subject: Option<Spanned<String>>,
    protocol: Option<Spanned<String>>,
    app: Option<Spanned<String>>,
    subject_verdict: Option<Spanned<String>>,
    #[serde(rename = "match")]
    evidence: Option<RawMatch>,
    #[serde(default)]
    absent: bool,
    min_count: Option<u64>,
    message: String,
    explanation: String,
    remediation: Option<String>,
    help_uri: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    evidence: Option<Spanned<String>>,
    keyed: Option<bool>,
    residue: Option<bool>,
    layer: Option<Spanned<String>>,
    field: Option<Spanned<String>>,
    value: Option<Spanned<String>>,
    class: Option<Spanned<String>>,
    state: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    id: Spanned<String>,
    name: String,
    vendor: Option<String>,
    claim: Option<String>,
    #[serde(default)]
    sni: Vec<Spanned<String>>,
    #[serde(default)]
    dns: Vec<Spanned<String>>,
    #[serde(default)]
    ip_ranges: Vec<Spanned<String>>,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(default)]
    signatures: Vec<String>,
    #[serde(default)]
    store: Vec<RawStore>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    /// Only in top-level `[[store]]`: the app the store belongs to.
    app: Option<Spanned<String>>,
    name: Option<String>,
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    schema: Vec<String>,
    #[serde(default)]
    content: Vec<RawContent>,
    #[serde(default)]
    expiry: Vec<RawExpiry>,
    #[serde(default)]
    encrypted: bool,
    #[serde(default)]
    key_files: Vec<String>,
    #[serde(default)]
    copy: Vec<RawCopy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContent {
    table: String,
    column: String,
    role: Option<Spanned<String>>,
    decode: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpiry {
    table: String,
    column: String,
    unit: Spanned<String>,
    start: Option<String>,
    row: Option<String>,
    references: Option<Spanned<String>>,
    unless: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCopy {
    table: String,
    column: String,
    key: String,
    parent: Spanned<String>,
    place: Spanned<String>,
}

const ROLES: [&str; 7] = [
    "message",
    "quoted",
    "fts",
    "transcription",
    "preview",
    "notification",
    "json",
];
const UNITS: [&str; 3] = ["s", "ms", "apple-s"];
const DECODERS: [&str; 3] = ["telegram-tl", "typedstream", "json"];
const COPY_PLACES: [&str; 3] = ["fts-content-orphan", "quoted-copy", "notification-copy"];
const CLASSES: [&str; 4] = ["text", "high-entropy", "binary", "short"];
const STATES: [&str; 3] = ["opened", "partial", "not-opened"];

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    errors: &'a mut Vec<RuleError>,
}

impl Ctx<'_> {
    fn err(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let (line, column, excerpt) = position(self.text, span.start);
        self.errors.push(RuleError {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
            excerpt,
        });
    }

    fn glob(&mut self, s: &Spanned<String>) -> Option<Glob> {
        match Glob::new(s.get_ref()) {
            Ok(g) => Some(g),
            Err(e) => {
                self.err(s.span(), format!("invalid pattern: {e}"));
                None
            }
        }
    }

    fn one_of(&mut self, s: &Spanned<String>, allowed: &[&str], what: &str) -> Option<String> {
        if allowed.contains(&s.get_ref().as_str()) {
            Some(s.get_ref().clone())
        } else {
            self.err(
                s.span(),
                format!(
                    "unknown {what} `{}`, expected one of {}",
                    s.get_ref(),
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            None
        }
    }

    fn verdict(&mut self, s: &Spanned<String>) -> Option<Verdict> {
        let names: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
        self.one_of(s, &names, "verdict")
            .and_then(|v| Verdict::parse(&v))
    }
}

/// 1-based line and column (in characters) of a byte offset, and the line's text.
pub fn position(text: &str, offset: usize) -> (usize, usize, String) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    (
        line,
        column,
        text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string(),
    )
}

/// Parses one file's text into `set`, appending errors.
pub fn load_text(set: &mut RuleSet, file: &str, text: &str, errors: &mut Vec<RuleError>) {
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let (line, column, excerpt) = position(text, e.span().map_or(0, |s| s.start));
            errors.push(RuleError {
                file: file.to_string(),
                line,
                column,
                message: e.message().trim().to_string(),
                excerpt,
            });
            return;
        }
    };
    let mut cx = Ctx { file, text, errors };
    for rc in raw.check {
        if let Some(c) = validate_check(&mut cx, rc) {
            set.checks.push(c);
        }
    }
    if let Some(ra) = raw.app
        && let Some(a) = validate_app(&mut cx, ra)
    {
        set.apps.push(a);
    }
    for rs in raw.store {
        let before = cx.errors.len();
        let Some(app) = rs.app.clone() else {
            cx.err(
                rs.paths.first().map_or(0..0, |p| p.span()),
                "a top-level [[store]] needs `app = \"<app id>\"` naming the app it belongs to",
            );
            continue;
        };
        let store = validate_store(&mut cx, rs);
        if cx.errors.len() > before {
            continue;
        }
        let (line, column, excerpt) = position(text, app.span().start);
        set.store_refs.push(StoreRef {
            app: app.get_ref().clone(),
            store,
            file: file.to_string(),
            line,
            column,
            excerpt,
        });
    }
}

/// Attaches top-level `[[store]]` sections to their apps, once every file is
/// loaded (an app's network part and its stores may live in different files).
fn attach_stores(set: &mut RuleSet, errors: &mut Vec<RuleError>) {
    for r in std::mem::take(&mut set.store_refs) {
        match set.apps.iter_mut().find(|a| a.id == r.app) {
            Some(a) => a.stores.push(r.store),
            None => errors.push(RuleError {
                file: r.file,
                line: r.line,
                column: r.column,
                message: format!(
                    "unknown app `{}`: no [app] with this id is defined in any rule file",
                    r.app
                ),
                excerpt: r.excerpt,
            }),
        }
    }
}

fn validate_store(cx: &mut Ctx<'_>, s: RawStore) -> StoreProfile {
    let paths = s.paths.iter().filter_map(|g| cx.glob(g)).collect();
    let content = s
        .content
        .into_iter()
        .map(|c| {
            let role = match &c.role {
                Some(r) => cx.one_of(r, &ROLES, "content role").unwrap_or_default(),
                None => "message".to_string(),
            };
            let decode = c
                .decode
                .as_ref()
                .and_then(|d| cx.one_of(d, &DECODERS, "decoder"));
            ContentColumn {
                table: c.table,
                column: c.column,
                role,
                decode,
            }
        })
        .collect();
    let expiry = s
        .expiry
        .into_iter()
        .map(|e| {
            if let Some(r) = &e.references
                && !r.get_ref().contains('.')
            {
                cx.err(r.span(), "`references` must be `table.column`");
            }
            ExpiryColumn {
                unit: cx.one_of(&e.unit, &UNITS, "time unit").unwrap_or_default(),
                table: e.table,
                column: e.column,
                start: e.start,
                row: e.row,
                references: e.references.map(|r| r.into_inner()),
                unless: e.unless,
            }
        })
        .collect();
    let copies = s
        .copy
        .into_iter()
        .map(|c| {
            if !c.parent.get_ref().contains('.') {
                cx.err(c.parent.span(), "`parent` must be `table.column`");
            }
            CopyLink {
                place: cx
                    .one_of(&c.place, &COPY_PLACES, "copy place")
                    .unwrap_or_default(),
                table: c.table,
                column: c.column,
                key: c.key,
                parent: c.parent.into_inner(),
            }
        })
        .collect();
    StoreProfile {
        paths,
        schema: s.schema,
        content,
        expiry,
        encrypted: s.encrypted,
        key_files: s.key_files,
        name: s.name,
        copies,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

fn validate_check(cx: &mut Ctx<'_>, rc: RawCheck) -> Option<Check> {
    let before = cx.errors.len();
    let id = rc.id.get_ref().clone();
    if !valid_id(&id) {
        cx.err(
            rc.id.span(),
            format!("check id `{id}` must be kebab-case: lowercase letters, digits and `-`"),
        );
    }
    let severity = {
        let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        cx.one_of(&rc.severity, &names, "severity")
            .and_then(|s| Severity::parse(&s))
    };
    let verdict = rc.verdict.as_ref().and_then(|v| cx.verdict(v));
    let subject = match &rc.subject {
        None => Some(SubjectKind::Any),
        Some(s) => cx
            .one_of(s, &["flow", "store", "any"], "subject")
            .map(|s| match s.as_str() {
                "flow" => SubjectKind::Flow,
                "store" => SubjectKind::Store,
                _ => SubjectKind::Any,
            }),
    };
    let protocol = rc.protocol.as_ref().and_then(|p| cx.glob(p));
    let app = rc.app.as_ref().and_then(|p| cx.glob(p));
    let subject_verdict = rc.subject_verdict.as_ref().and_then(|v| cx.verdict(v));
    let evidence = rc.evidence.map(|m| validate_match(cx, m));
    if rc.absent && evidence.is_none() {
        cx.err(
            rc.id.span(),
            "`absent = true` needs a [check.match] table saying what must be absent",
        );
    }
    check_placeholders(cx, &rc.message, rc.id.span());
    if cx.errors.len() > before {
        return None;
    }
    let (line, _, _) = position(cx.text, rc.id.span().start);
    Some(Check {
        id,
        title: rc.title,
        severity: severity?,
        verdict,
        subject: subject?,
        protocol,
        app,
        subject_verdict,
        evidence,
        absent: rc.absent,
        min_count: rc.min_count.unwrap_or(1).max(1),
        message: rc.message,
        explanation: rc.explanation.trim().to_string(),
        remediation: rc.remediation.map(|r| r.trim().to_string()),
        help_uri: rc.help_uri,
        tags: rc.tags,
        source: cx.file.to_string(),
        line,
    })
}

/// Placeholders a check message may use.
pub const PLACEHOLDERS: [&str; 14] = [
    "subject", "protocol", "app", "count", "layers", "canary", "encoding", "field", "key", "value",
    "verdict", "reason", "client", "server",
];

fn check_placeholders(cx: &mut Ctx<'_>, msg: &str, span: std::ops::Range<usize>) {
    let mut rest = msg;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        let name = &rest[i + 1..i + j];
        if !PLACEHOLDERS.contains(&name) {
            cx.err(
                span.clone(),
                format!(
                    "message uses unknown placeholder `{{{name}}}`, expected one of {}",
                    PLACEHOLDERS.join(", ")
                ),
            );
        }
        rest = &rest[i + j + 1..];
    }
}

fn validate_match(cx: &mut Ctx<'_>, m: RawMatch) -> EvidenceMatch {
    let kind = m
        .evidence
        .as_ref()
        .and_then(|k| cx.one_of(k, &crate::evidence::EvidenceKind::TAGS, "evidence kind"));
    let value = m
        .value
        .as_ref()
        .and_then(|v| match regex::Regex::new(v.get_ref()) {
            Ok(r) => Some(r),
            Err(e) => {
                let msg = e.to_string();
                let first = msg
                    .lines()
                    .last()
                    .unwrap_or("invalid regex")
                    .trim()
                    .to_string();
                cx.err(v.span(), format!("invalid regular expression: {first}"));
                None
            }
        });
    EvidenceMatch {
        kind,
        keyed: m.keyed,
        residue: m.residue,
        layer: m.layer.as_ref().and_then(|l| cx.glob(l)),
        field: m.field.as_ref().and_then(|l| cx.glob(l)),
        value,
        class: m
            .class
            .as_ref()
            .and_then(|c| cx.one_of(c, &CLASSES, "payload class")),
        state: m
            .state
            .as_ref()
            .and_then(|c| cx.one_of(c, &STATES, "crypto state")),
    }
}

fn parse_net(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (a, p) = s.split_once('/')?;
    let addr: std::net::IpAddr = a.parse().ok()?;
    let p: u8 = p.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (p <= max).then_some((addr, p))
}

fn validate_app(cx: &mut Ctx<'_>, ra: RawApp) -> Option<AppProfile> {
    let before = cx.errors.len();
    let id = ra.id.get_ref().clone();
    if !valid_id(&id) {
        cx.err(
            ra.id.span(),
            format!("app id `{id}` must be kebab-case: lowercase letters, digits and `-`"),
        );
    }
    let sni: Vec<Glob> = ra.sni.iter().filter_map(|g| cx.glob(g)).collect();
    let mut dns: Vec<Glob> = ra.dns.iter().filter_map(|g| cx.glob(g)).collect();
    if ra.dns.is_empty() {
        dns = sni.clone();
    }
    let mut ip_ranges = Vec::new();
    for r in &ra.ip_ranges {
        match parse_net(r.get_ref()) {
            Some(n) => ip_ranges.push(n),
            None => cx.err(
                r.span(),
                format!(
                    "invalid network `{}`, expected `address/prefix`",
                    r.get_ref()
                ),
            ),
        }
    }
    let mut stores = Vec::new();
    for s in ra.store {
        if let Some(a) = &s.app {
            cx.err(
                a.span(),
                "`app` belongs in a top-level [[store]]; inside [[app.store]] the app is implied",
            );
        }
        stores.push(validate_store(cx, s));
    }
    if cx.errors.len() > before {
        return None;
    }
    Some(AppProfile {
        id,
        name: ra.name,
        vendor: ra.vendor,
        claim: ra.claim,
        sni,
        dns,
        ip_ranges,
        ports: ra.ports,
        signatures: ra.signatures,
        stores,
        source: cx.file.to_string(),
    })
}

/// Later definitions with the same id replace earlier ones only across
/// sources (a user file overriding a built-in); within one source it is an error.
fn check_duplicates(set: &mut RuleSet, errors: &mut Vec<RuleError>) {
    let mut keep: Vec<Check> = Vec::new();
    for c in std::mem::take(&mut set.checks) {
        if let Some(pos) = keep.iter().position(|k| k.id == c.id) {
            if keep[pos].source == c.source || !keep[pos].source.starts_with("builtin:") {
                errors.push(RuleError {
                    file: c.source.clone(),
                    line: c.line,
                    column: 1,
                    message: format!(
                        "duplicate check id `{}` (first defined in {}:{})",
                        c.id, keep[pos].source, keep[pos].line
                    ),
                    excerpt: String::new(),
                });
                continue;
            }
            keep[pos] = c;
        } else {
            keep.push(c);
        }
    }
    set.checks = keep;
    let mut apps: Vec<AppProfile> = Vec::new();
    for a in std::mem::take(&mut set.apps) {
        if let Some(pos) = apps.iter().position(|k| k.id == a.id) {
            if apps[pos].source.starts_with("builtin:") && !a.source.starts_with("builtin:") {
                apps[pos] = a;
                continue;
            }
            errors.push(RuleError {
                file: a.source.clone(),
                line: 1,
                column: 1,
                message: format!("duplicate app id `{}` (also in {})", a.id, apps[pos].source),
                excerpt: String::new(),
            });
        } else {
            apps.push(a);
        }
    }
    set.apps = apps;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_one(text: &str) -> (RuleSet, Vec<RuleError>) {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        load_text(&mut set, "t.toml", text, &mut errors);
        (set, errors)
    }

    const GOOD: &str = r#"
[[check]]
id = "canary-exposed"
title = "Canary in the clear"
severity = "critical"
verdict = "exposed"
subject = "flow"
message = "canary {canary} in {layers}"
explanation = "Anyone on the path reads it."
[check.match]
evidence = "canary"
keyed = false
"#;

    #[test]
    fn builtin_rules_load_cleanly() {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        for (p, t) in builtin_files() {
            load_text(&mut set, p, t, &mut errors);
        }
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(set.checks.len() >= 3);
    }

    #[test]
    fn good_check_loads() {
        let (set, errors) = load_one(GOOD);
        assert!(errors.is_empty(), "{errors:?}");
        let c = &set.checks[0];
        assert_eq!(c.severity, Severity::Critical);
        assert_eq!(c.line, 3);
        assert_eq!(c.evidence.as_ref().unwrap().keyed, Some(false));
    }

    #[test]
    fn unknown_severity_points_at_the_value() {
        let (_, errors) = load_one(&GOOD.replace("\"critical\"", "\"urgent\""));
        assert_eq!(errors.len(), 1);
        let e = &errors[0];
        assert_eq!((e.line, e.column), (5, 12));
        assert!(
            e.message.contains("unknown severity `urgent`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("`critical`"));
        assert_eq!(e.excerpt, "severity = \"urgent\"");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (_, errors) = load_one("[[check]]\nid = \"x\nseverity = 1\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn unknown_fields_are_rejected_with_position() {
        let (_, errors) = load_one(&GOOD.replace("keyed = false", "keyd = false"));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("unknown field `keyd`"),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[0].line, 12);
    }

    #[test]
    fn bad_regex_and_placeholder_are_reported() {
        let text = GOOD
            .replace("keyed = false", "value = \"(unclosed\"")
            .replace("{layers}", "{nope}");
        let (_, errors) = load_one(&text);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("unknown placeholder `{nope}`"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("invalid regular expression") && e.line == 12)
        );
    }

    #[test]
    fn duplicate_ids_in_one_source_are_errors() {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        load_text(
            &mut set,
            "a.toml",
            &format!(
                "{GOOD}\n{}",
                GOOD.replace("[check.match]\nevidence = \"canary\"\nkeyed = false\n", "")
            ),
            &mut errors,
        );
        check_duplicates(&mut set, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("duplicate check id"));
    }

    #[test]
    fn app_profiles_load_with_networks() {
        let (set, errors) = load_one(
            r#"
[app]
id = "demo-chat"
name = "Demo Chat"
claim = "end-to-end"
sni = ["*.demo.example"]
ip_ranges = ["192.0.2.0/24", "2001:db8::/32"]
[[app.store]]
paths = ["**/demo/chat.db"]
[[app.store.content]]
table = "messages"
column = "body"
"#,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let a = &set.apps[0];
        assert_eq!(a.ip_ranges.len(), 2);
        assert_eq!(a.dns.len(), 1, "dns defaults to the sni globs");
        assert_eq!(a.stores[0].content[0].role, "message");
        let (_, errors) =
            load_one("[app]\nid = \"x\"\nname = \"X\"\nip_ranges = [\"10.0.0.0/99\"]\n");
        assert_eq!(errors[0].line, 4);
    }

    #[test]
    fn builtin_store_sections_attach_to_their_apps() {
        let set = builtin();
        assert!(set.store_refs.is_empty());
        for id in [
            "whatsapp",
            "signal",
            "telegram",
            "imessage",
            "messenger",
            "viber",
        ] {
            let app = set.app(id).unwrap_or_else(|| panic!("app {id}"));
            assert!(!app.stores.is_empty(), "{id} has no store sections");
        }
        assert!(set.check("deleted-rows-in-freeblocks").is_some());
    }

    #[test]
    fn top_level_stores_attach_to_apps_loaded_later() {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        load_text(
            &mut set,
            "stores/demo.toml",
            "[[store]]\napp = \"demo-chat\"\npaths = [\"*/chat.db\"]\n[[store.content]]\ntable = \"m\"\ncolumn = \"body\"\ndecode = \"json\"\n[[store.copy]]\ntable = \"m_fts_content\"\ncolumn = \"c0\"\nkey = \"docid\"\nparent = \"m.id\"\nplace = \"fts-content-orphan\"\n",
            &mut errors,
        );
        load_text(
            &mut set,
            "apps/demo.toml",
            "[app]\nid = \"demo-chat\"\nname = \"Demo\"\n",
            &mut errors,
        );
        check_duplicates(&mut set, &mut errors);
        attach_stores(&mut set, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let s = &set.apps[0].stores[0];
        assert_eq!(s.content[0].decode.as_deref(), Some("json"));
        assert_eq!(s.copies[0].parent, "m.id");
        assert!(set.store_refs.is_empty());
    }

    #[test]
    fn a_store_for_an_unknown_app_is_a_positioned_error() {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        load_text(
            &mut set,
            "stores/x.toml",
            "# comment\n[[store]]\napp = \"nobody\"\npaths = [\"*/x.db\"]\n",
            &mut errors,
        );
        attach_stores(&mut set, &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].column), (3, 7));
        assert!(errors[0].message.contains("unknown app `nobody`"));
        assert_eq!(errors[0].excerpt, "app = \"nobody\"");
        let (_, errors) = load_one("[[store]]\npaths = [\"*/x.db\"]\n");
        assert!(errors[0].message.contains("needs `app"));
    }
}
