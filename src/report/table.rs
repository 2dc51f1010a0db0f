//! The terminal report: summary line, flows, stores, canaries, findings, warnings.

use crate::model::{CanaryVerdict, Severity, Verdict};
use crate::report::model::Report;
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use std::fmt::Write as _;

/// How to draw tables.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    pub color: bool,
    /// Total width in columns.
    pub width: u16,
    /// Flows listed before the rest are summarised.
    pub max_rows: usize,
}

impl Default for TableStyle {
    fn default() -> Self {
        TableStyle {
            color: false,
            width: 120,
            max_rows: 60,
        }
    }
}

fn verdict_color(v: Verdict) -> Color {
    match v {
        Verdict::Exposed => Color::Red,
        Verdict::ServerReadable => Color::Yellow,
        Verdict::Retained => Color::Magenta,
        Verdict::Opaque => Color::Blue,
        Verdict::Sealed => Color::Green,
        Verdict::NoContent => Color::Grey,
    }
}

fn canary_color(v: CanaryVerdict) -> Color {
    match v {
        CanaryVerdict::Exposed => Color::Red,
        CanaryVerdict::ServerReadable => Color::Yellow,
        CanaryVerdict::Retained => Color::Magenta,
        CanaryVerdict::NotFound => Color::Green,
    }
}

fn severity_color(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Red,
        Severity::High => Color::Red,
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Cyan,
        Severity::Info => Color::Grey,
    }
}

fn cell(text: impl ToString, color: Option<Color>, style: &TableStyle) -> Cell {
    let c = Cell::new(text);
    match (style.color, color) {
        (true, Some(col)) => c.fg(col).add_attribute(Attribute::Bold),
        _ => c,
    }
}

fn new_table(style: &TableStyle, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(style.width);
    if style.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t.set_header(header.to_vec());
    t
}

/// Renders the whole report for a terminal.
pub fn render(r: &Report, style: &TableStyle) -> String {
    let mut out = String::new();
    let s = &r.stats;
    let _ = write!(
        out,
        "plainsight {} — {} of {} input(s)",
        r.tool.version,
        r.command,
        r.inputs.len()
    );
    if s.packets > 0 || !r.flows.is_empty() {
        let _ = write!(out, ": {} packets, {} flows", s.packets, r.flows.len());
    }
    if !r.stores.is_empty() {
        let _ = write!(out, ", {} stores", r.stores.len());
    }
    let _ = writeln!(out, " ({:.2} s)", s.duration_ms as f64 / 1000.0);
    let mut counts: Vec<String> = Vec::new();
    for v in Verdict::ALL {
        let n = r.flows.iter().filter(|f| f.verdict == v).count()
            + r.stores.iter().filter(|f| f.verdict == v).count();
        if n > 0 {
            counts.push(format!("{n} {v}"));
        }
    }
    if !counts.is_empty() {
        let _ = writeln!(out, "verdicts: {}", counts.join(", "));
    }

    if !r.apps.is_empty() {
        let mut t = new_table(
            style,
            &[
                "app", "claim", "wire", "storage", "retained", "overall", "leaks",
            ],
        );
        for a in &r.apps {
            let opt = |v: Option<Verdict>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
            let mut leaks: Vec<String> = a.leaks.iter().map(|(k, n)| format!("{k}×{n}")).collect();
            if leaks.is_empty() {
                leaks.push("-".into());
            }
            t.add_row(vec![
                cell(&a.app, None, style),
                cell(a.claim.as_deref().unwrap_or("-"), None, style),
                cell(opt(a.wire), a.wire.map(verdict_color), style),
                cell(opt(a.storage), a.storage.map(verdict_color), style),
                cell(if a.retained { "yes" } else { "no" }, None, style),
                cell(a.overall, Some(verdict_color(a.overall)), style),
                cell(leaks.join(" "), None, style),
            ]);
        }
        let _ = writeln!(out, "\nApps\n{t}");
    }

    if !r.flows.is_empty() {
        let mut flows: Vec<_> = r.flows.iter().collect();
        flows.sort_by(|a, b| b.verdict.cmp(&a.verdict).then(a.id.cmp(&b.id)));
        let mut t = new_table(
            style,
            &[
                "flow",
                "client → server",
                "protocol",
                "app",
                "pkts",
                "verdict",
                "why",
            ],
        );
        for f in flows.iter().take(style.max_rows) {
            t.add_row(vec![
                cell(format!("{} {}", f.id, f.transport), None, style),
                cell(format!("{} → {}", f.client, f.server), None, style),
                cell(&f.protocol, None, style),
                cell(f.app.as_deref().unwrap_or("-"), None, style),
                cell(f.packets, None, style),
                cell(f.verdict, Some(verdict_color(f.verdict)), style),
                cell(&f.reason, None, style),
            ]);
        }
        let _ = writeln!(out, "\nFlows\n{t}");
        if flows.len() > style.max_rows {
            let _ = writeln!(
                out,
                "… {} more flows (most severe shown first; --format json lists all)",
                flows.len() - style.max_rows
            );
        }
    }

    if !r.stores.is_empty() {
        let mut t = new_table(style, &["store", "path", "kind", "app", "verdict", "why"]);
        for st in &r.stores {
            t.add_row(vec![
                cell(st.id, None, style),
                cell(&st.path, None, style),
                cell(&st.kind, None, style),
                cell(st.app.as_deref().unwrap_or("-"), None, style),
                cell(st.verdict, Some(verdict_color(st.verdict)), style),
                cell(&st.reason, None, style),
            ]);
        }
        let _ = writeln!(out, "\nStores\n{t}");
    }

    if !r.canaries.is_empty() {
        let mut t = new_table(style, &["canary", "verdict", "hits", "where (first hits)"]);
        for c in &r.canaries {
            let name = match &c.label {
                Some(l) => format!("{} ({l})", c.canary),
                None => c.canary.clone(),
            };
            let mut wher: Vec<String> = c
                .hits
                .iter()
                .take(3)
                .map(|h| {
                    format!(
                        "{} {} [{}]: {}",
                        h.subject,
                        h.layers.join(" › "),
                        h.encoding,
                        h.snippet
                    )
                })
                .collect();
            if c.hits.is_empty() {
                let mut s = format!(
                    "searched {} flow(s), {} store(s), {} bytes",
                    c.searched.flows, c.searched.stores, c.searched.bytes
                );
                let n = c.searched.not_opened.len() as u64 + c.searched.not_opened_omitted;
                if n > 0 {
                    let _ = write!(s, "; {n} subject(s) could not be opened (see JSON)");
                }
                wher.push(s);
            }
            t.add_row(vec![
                cell(name, None, style),
                cell(c.verdict, Some(canary_color(c.verdict)), style),
                cell(c.hits.len() as u64 + c.hits_omitted, None, style),
                cell(wher.join("\n"), None, style),
            ]);
        }
        let _ = writeln!(out, "\nCanaries\n{t}");
    }

    if !r.findings.is_empty() {
        // Grouped by scorecard row (worst app first), then by severity; each
        // with the layer chain of its first evidence item.
        let index = crate::report::apps::subject_index(&r.apps);
        let order: std::collections::HashMap<&str, usize> = r
            .apps
            .iter()
            .enumerate()
            .map(|(i, a)| (a.app.as_str(), i))
            .collect();
        let app_of = |f: &crate::report::model::Finding| -> String {
            index
                .get(f.subject.as_str())
                .copied()
                .or(f.app.as_deref())
                .unwrap_or("-")
                .to_string()
        };
        let mut findings: Vec<_> = r.findings.iter().collect();
        findings.sort_by_key(|f| {
            let app = app_of(f);
            (
                order.get(app.as_str()).copied().unwrap_or(usize::MAX),
                std::cmp::Reverse(f.severity),
            )
        });
        let mut t = new_table(style, &["app", "severity", "rule", "subject", "message"]);
        for f in findings.iter().take(style.max_rows * 2) {
            let mut msg = f.message.clone();
            if let Some(e) = f.evidence.load().first() {
                let at = match (e.packet, e.file_offset) {
                    (Some(p), _) => format!(" @ packet {p}"),
                    (None, Some(o)) => format!(" @ byte {o}"),
                    _ => String::new(),
                };
                let _ = write!(msg, "\n↳ {}{at}", e.layers.join(" › "));
            }
            t.add_row(vec![
                cell(app_of(f), None, style),
                cell(f.severity, Some(severity_color(f.severity)), style),
                cell(&f.rule, None, style),
                cell(&f.subject, None, style),
                cell(msg, None, style),
            ]);
        }
        let _ = writeln!(out, "\nFindings\n{t}");
        if r.findings.len() > style.max_rows * 2 {
            let _ = writeln!(
                out,
                "… {} more findings (--format json lists all)",
                r.findings.len() - style.max_rows * 2
            );
        }
    } else {
        let _ = writeln!(out, "\nNo findings.");
    }

    if !r.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings");
        for w in &r.warnings {
            match w.offset {
                Some(o) => {
                    let _ = writeln!(out, "  {} @ byte {o}: {}", w.input, w.message);
                }
                None => {
                    let _ = writeln!(out, "  {}: {}", w.input, w.message);
                }
            }
        }
    }
    out
}
