//! Markdown for a pull-request comment: the scorecard, canaries and
//! findings grouped by app and severity, each with its evidence chain.
//!
//! GitHub-flavoured tables. Every value from the inputs (server names,
//! messages, snippets) is escaped: `|` cannot break a table, and Markdown
//! or HTML in a capture cannot format or inject into the comment. The
//! findings list is capped so the comment stays under GitHub's size limit.

use crate::report::apps::{UNATTRIBUTED, subject_index};
use crate::report::model::{Finding, Report};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Findings listed before the rest are counted.
pub const MAX_FINDINGS: usize = 100;
/// Evidence items shown per finding.
const MAX_EVIDENCE: usize = 3;

/// Escapes text for a table cell or a list item.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

fn verdict_cell(v: Option<crate::model::Verdict>) -> String {
    match v {
        Some(v) => format!("**{v}**"),
        None => "–".to_string(),
    }
}

/// Renders the report as Markdown.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## plainsight {}: {} input(s)\n",
        esc(&r.command),
        r.inputs.len()
    );
    let mut counts: Vec<String> = Vec::new();
    for v in crate::model::Verdict::ALL {
        let n = r.flows.iter().filter(|f| f.verdict == v).count()
            + r.stores.iter().filter(|s| s.verdict == v).count();
        if n > 0 {
            counts.push(format!("{n} {v}"));
        }
    }
    let _ = writeln!(
        out,
        "{} packets, {} flows, {} stores, {} findings{}\n",
        r.stats.packets,
        r.flows.len(),
        r.stores.len(),
        r.findings.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" · verdicts: {}", counts.join(", "))
        }
    );

    if !r.apps.is_empty() {
        out.push_str("### Scorecard\n\n");
        out.push_str("| app | claim | wire | storage | retained | overall | metadata leaks |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for a in &r.apps {
            let leaks: Vec<String> = a.leaks.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                esc(&a.app),
                a.claim.as_deref().map_or("–".to_string(), esc),
                verdict_cell(a.wire),
                verdict_cell(a.storage),
                if a.retained { "**yes**" } else { "no" },
                verdict_cell(Some(a.overall)),
                if leaks.is_empty() {
                    "–".to_string()
                } else {
                    esc(&leaks.join(", "))
                }
            );
        }
        out.push('\n');
    }

    if !r.canaries.is_empty() {
        out.push_str("### Canaries\n\n| canary | verdict | hits | where |\n|---|---|---|---|\n");
        for c in &r.canaries {
            let wher: Vec<String> = c
                .hits
                .iter()
                .take(3)
                .map(|h| {
                    format!(
                        "{} `{}` ({})",
                        esc(&h.subject),
                        h.layers.join(" › ").replace('`', "'"),
                        h.encoding
                    )
                })
                .collect();
            let wher = if c.hits.is_empty() {
                format!(
                    "searched {} flow(s), {} store(s); {} not opened",
                    c.searched.flows,
                    c.searched.stores,
                    c.searched.not_opened.len() as u64 + c.searched.not_opened_omitted
                )
            } else {
                wher.join("<br>")
            };
            let _ = writeln!(
                out,
                "| `{}` | **{}** | {} | {} |",
                c.canary.replace('`', "'"),
                c.verdict,
                c.hits.len() as u64 + c.hits_omitted,
                wher
            );
        }
        out.push('\n');
    }

    if r.findings.is_empty() {
        out.push_str("### Findings\n\nNo findings.\n");
    } else {
        let _ = writeln!(out, "### Findings ({})\n", r.findings.len());
        findings(&mut out, r);
    }

    if !r.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} warning(s)</summary>\n",
            r.warnings.len()
        );
        for w in r.warnings.iter().take(50) {
            let at = w.offset.map_or(String::new(), |o| format!(" @ byte {o}"));
            let _ = writeln!(out, "- {}{at}: {}", esc(&w.input), esc(&w.message));
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// Findings grouped by scorecard row (in scorecard order), most severe first.
fn findings(out: &mut String, r: &Report) {
    let index = subject_index(&r.apps);
    let mut groups: BTreeMap<usize, (String, Vec<&Finding>)> = BTreeMap::new();
    let order: BTreeMap<&str, usize> = r
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.app.as_str(), i))
        .collect();
    for f in &r.findings {
        let app = index
            .get(f.subject.as_str())
            .copied()
            .or(f.app.as_deref())
            .unwrap_or(UNATTRIBUTED);
        let pos = order.get(app).copied().unwrap_or(usize::MAX);
        groups
            .entry(pos)
            .or_insert_with(|| (app.to_string(), Vec::new()))
            .1
            .push(f);
    }
    let mut shown = 0;
    for (_, (app, mut list)) in groups {
        if shown >= MAX_FINDINGS {
            break;
        }
        list.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let _ = writeln!(out, "#### {}\n", esc(&app));
        out.push_str("| severity | rule | subject | message | evidence |\n|---|---|---|---|---|\n");
        for f in list {
            if shown >= MAX_FINDINGS {
                break;
            }
            shown += 1;
            let ev: Vec<String> = f
                .evidence
                .load()
                .iter()
                .take(MAX_EVIDENCE)
                .map(|e| {
                    let mut at = Vec::new();
                    if let Some(p) = e.packet {
                        at.push(format!("packet {p}"));
                    }
                    if let Some(o) = e.file_offset {
                        at.push(format!("byte {o}"));
                    }
                    format!(
                        "`{}`: {}{}",
                        e.layers.join(" › ").replace('`', "'"),
                        esc(&e.summary),
                        if at.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", at.join(", "))
                        }
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "| **{}** | `{}` | {} | {} | {} |",
                f.severity,
                f.rule,
                esc(&f.subject),
                esc(&f.message),
                if ev.is_empty() {
                    "–".to_string()
                } else {
                    ev.join("<br>")
                }
            );
        }
        out.push('\n');
    }
    if r.findings.len() > shown {
        let _ = writeln!(
            out,
            "… and {} more findings (see the JSON or SARIF report).",
            r.findings.len() - shown
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_tables_or_inject_html() {
        assert_eq!(esc("a|b"), "a\\|b");
        assert_eq!(esc("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(esc("line\nbreak"), "line break");
        assert_eq!(esc("*bold* `code`"), "\\*bold\\* \\`code\\`");
    }
}
