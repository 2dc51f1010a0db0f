//! Expectations as code: `plainsight.toml` and `plainsight check`.
//!
//! ```toml
//! [expect."*"]                 # every app in the report
//! max_severity = "high"
//!
//! [expect.whatsapp]            # an app profile id, or a server name
//! wire = "sealed"              # no worse than sealed, in the severity order
//! storage = "sealed"
//! retained = false
//! max_severity = "medium"      # no finding above medium
//! forbid = ["credential-in-clear"]
//! ```
//!
//! A verdict expectation (`wire`, `storage`, `overall`) means "no worse
//! than", in the order exposed > server-readable > retained > opaque >
//! sealed > no-content. An app's own table overrides `"*"` key by key. An
//! app named in the file that does not appear in the inputs violates its
//! expectations (a gate must not pass because the capture missed the app),
//! and so does a `wire` or `storage` expectation of an app with no flows or
//! no stores. Findings whose fingerprint is in the baseline (a previous
//! report) are ignored by `max_severity` and `forbid`, so only new ones fail.
//!
//! Each violation is one line with a stable wording:
//! `expect.<app>.<key>: <app> <what was found>, expected <what>`.

use crate::model::{Severity, Verdict};
use crate::report::model::{AppReport, Finding, Report};
use crate::rules::RuleSet;
use crate::rules::load::{RuleError, position};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The key that applies to every app.
pub const ALL_APPS: &str = "*";

/// One `[expect.<app>]` table, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    pub wire: Option<Verdict>,
    pub storage: Option<Verdict>,
    pub overall: Option<Verdict>,
    pub retained: Option<bool>,
    pub max_severity: Option<Severity>,
    pub forbid: Vec<String>,
}

/// A loaded `plainsight.toml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `"*"` and app keys, in file order of keys (sorted).
    pub expect: BTreeMap<String, Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    expect: BTreeMap<Spanned<String>, RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    wire: Option<Spanned<String>>,
    storage: Option<Spanned<String>>,
    overall: Option<Spanned<String>>,
    retained: Option<bool>,
    max_severity: Option<Spanned<String>>,
    forbid: Option<Vec<Spanned<String>>>,
}

/// Reads and validates a config file against the loaded rules.
pub fn load(path: &Path, rules: &RuleSet) -> Result<Config, Vec<RuleError>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![RuleError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
            excerpt: String::new(),
        }]
    })?;
    parse(&file, &text, rules)
}

/// Parses and validates config text; errors point at `file:line:column`.
pub fn parse(file: &str, text: &str, rules: &RuleSet) -> Result<Config, Vec<RuleError>> {
    let mut errors = Vec::new();
    let err = |errors: &mut Vec<RuleError>, at: usize, message: String| {
        let (line, column, excerpt) = position(text, at);
        errors.push(RuleError {
            file: file.to_string(),
            line,
            column,
            message,
            excerpt,
        });
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let mut msg = e.message().trim().to_string();
            if msg.contains("RawExpect") {
                msg = "expected a table of expectations, e.g. [expect.whatsapp] or [expect.\"*\"] for every app".into();
            } else if msg.contains("RawConfig") || msg.contains("unknown field") {
                msg = msg.replace("RawConfig", "plainsight.toml");
            }
            err(&mut errors, e.span().map_or(0, |s| s.start), msg);
            return Err(errors);
        }
    };
    let verdict = |errors: &mut Vec<RuleError>, s: &Option<Spanned<String>>| {
        let s = s.as_ref()?;
        let v = Verdict::parse(s.get_ref());
        if v.is_none() {
            err(
                errors,
                s.span().start,
                format!(
                    "unknown verdict `{}`, expected one of {}",
                    s.get_ref(),
                    Verdict::ALL.map(|v| format!("`{v}`")).join(", ")
                ),
            );
        }
        v
    };
    let mut cfg = Config::default();
    for (key, r) in raw.expect {
        let app = key.get_ref().clone();
        if app != ALL_APPS
            && app != crate::report::apps::UNATTRIBUTED
            && !app.contains('.')
            && rules.app(&app).is_none()
        {
            let known: Vec<&str> = rules.apps.iter().map(|a| a.id.as_str()).collect();
            err(
                &mut errors,
                key.span().start,
                format!(
                    "unknown app `{app}`: expected an app profile id ({}), a server name, `unattributed` or \"*\"",
                    known.join(", ")
                ),
            );
        }
        let mut e = Expect {
            wire: verdict(&mut errors, &r.wire),
            storage: verdict(&mut errors, &r.storage),
            overall: verdict(&mut errors, &r.overall),
            retained: r.retained,
            ..Expect::default()
        };
        if let Some(s) = &r.max_severity {
            e.max_severity = Severity::parse(s.get_ref());
            if e.max_severity.is_none() {
                err(
                    &mut errors,
                    s.span().start,
                    format!(
                        "unknown severity `{}`, expected one of `info`, `low`, `medium`, `high`, `critical`",
                        s.get_ref()
                    ),
                );
            }
        }
        for id in r.forbid.unwrap_or_default() {
            if rules.check(id.get_ref()).is_none() {
                err(
                    &mut errors,
                    id.span().start,
                    format!(
                        "unknown rule `{}` in forbid (see `plainsight rules list`)",
                        id.get_ref()
                    ),
                );
            } else {
                e.forbid.push(id.into_inner());
            }
        }
        cfg.expect.insert(app, e);
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

/// One violated expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `expect.<section>.<key>` as written in the file.
    pub expectation: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.expectation, self.message)
    }
}

/// A TOML key, quoted when it is not a bare key.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn ids<T: fmt::Display>(what: &str, v: &[T]) -> String {
    let list: Vec<String> = v.iter().take(10).map(|x| x.to_string()).collect();
    let more = if v.len() > 10 {
        format!(" and {} more", v.len() - 10)
    } else {
        String::new()
    };
    format!("{what} {}{more}", list.join(", "))
}

/// Fingerprints of the findings in a baseline: a JSON report, a JSON Lines
/// report or a SARIF log written by plainsight.
pub fn baseline(path: &Path) -> anyhow::Result<HashSet<String>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    let mut out = HashSet::new();
    let bad = || {
        anyhow::anyhow!(
            "{}: not a plainsight report (expected the JSON, JSON Lines or SARIF output of plainsight)",
            path.display()
        )
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v.get("findings").is_some() => {
            for f in v["findings"].as_array().ok_or_else(bad)? {
                if let Some(fp) = f["fingerprint"].as_str() {
                    out.insert(fp.to_string());
                }
            }
        }
        Ok(v) if v.get("runs").is_some() => {
            for run in v["runs"].as_array().ok_or_else(bad)? {
                for r in run["results"].as_array().into_iter().flatten() {
                    if let Some(fp) =
                        r["partialFingerprints"][crate::report::sarif::FINGERPRINT_KEY].as_str()
                    {
                        out.insert(fp.to_string());
                    }
                }
            }
        }
        Ok(_) => return Err(bad()),
        Err(_) => {
            let mut any = false;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: serde_json::Value = serde_json::from_str(line).map_err(|_| bad())?;
                any = true;
                if v["type"] == "finding"
                    && let Some(fp) = v["fingerprint"].as_str()
                {
                    out.insert(fp.to_string());
                }
            }
            if !any {
                return Err(bad());
            }
        }
    }
    Ok(out)
}

/// Findings not suppressed by the baseline.
pub fn new_findings<'r>(report: &'r Report, baseline: &HashSet<String>) -> Vec<&'r Finding> {
    report
        .findings
        .iter()
        .filter(|f| !baseline.contains(&f.fingerprint))
        .collect()
}

/// Checks every expectation against a report; violations in a stable order
/// (apps missing from the inputs first, then scorecard order, and per app
/// wire, storage, overall, retained, max_severity, forbid).
pub fn evaluate(cfg: &Config, report: &Report, baseline: &HashSet<String>) -> Vec<Violation> {
    let index = crate::report::apps::subject_index(&report.apps);
    let findings = new_findings(report, baseline);
    let mut by_app: HashMap<&str, Vec<&Finding>> = HashMap::new();
    for f in findings {
        let app = index
            .get(f.subject.as_str())
            .copied()
            .or(f.app.as_deref())
            .unwrap_or(crate::report::apps::UNATTRIBUTED);
        by_app.entry(app).or_default().push(f);
    }
    let star = cfg.expect.get(ALL_APPS);
    let mut out = Vec::new();
    // Apps named in the file but absent from the inputs.
    for name in cfg.expect.keys().filter(|k| *k != ALL_APPS) {
        if !report.apps.iter().any(|a| &a.app == name) {
            out.push(Violation {
                expectation: format!("expect.{}", key(name)),
                message: format!(
                    "{name} was not seen in the inputs (no flow or store is attributed to it)"
                ),
            });
        }
    }
    for app in &report.apps {
        let own = cfg.expect.get(&app.app);
        if own.is_none() && star.is_none() {
            continue;
        }
        let section = |set: fn(&Expect) -> bool| -> String {
            let s = match own {
                Some(e) if set(e) => app.app.as_str(),
                _ => ALL_APPS,
            };
            key(s)
        };
        let pick = |get: fn(&Expect) -> Option<Verdict>| own.and_then(get).or(star.and_then(get));
        let fs = by_app
            .get(app.app.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        // Name only the subjects that break the expectation.
        let want_wire = pick(|e| e.wire);
        let bad_flows: Vec<u64> = app
            .flows
            .iter()
            .copied()
            .filter(|id| {
                report
                    .flows
                    .iter()
                    .any(|f| f.id == *id && want_wire.is_some_and(|w| f.verdict > w))
            })
            .collect();
        check_verdict(
            &mut out,
            app,
            "wire",
            want_wire,
            app.wire,
            &bad_flows,
            "flows",
            section(|e| e.wire.is_some()),
        );
        let want_storage = pick(|e| e.storage);
        let bad_stores: Vec<u32> = app
            .stores
            .iter()
            .copied()
            .filter(|id| {
                report
                    .stores
                    .iter()
                    .any(|s| s.id == *id && want_storage.is_some_and(|w| s.verdict > w))
            })
            .collect();
        check_verdict(
            &mut out,
            app,
            "storage",
            want_storage,
            app.storage,
            &bad_stores,
            "stores",
            section(|e| e.storage.is_some()),
        );
        if let Some(want) = pick(|e| e.overall)
            && app.overall > want
        {
            out.push(Violation {
                expectation: format!("expect.{}.overall", section(|e| e.overall.is_some())),
                message: format!(
                    "{} overall is {}, expected {want} or better",
                    app.app, app.overall
                ),
            });
        }
        let retained = own
            .and_then(|e| e.retained)
            .or(star.and_then(|e| e.retained));
        if retained == Some(false) && app.retained {
            out.push(Violation {
                expectation: format!("expect.{}.retained", section(|e| e.retained.is_some())),
                message: format!(
                    "{} keeps deleted or expired content recoverable ({}), expected retained = false",
                    app.app,
                    ids("stores", &app.stores)
                ),
            });
        }
        let max = own
            .and_then(|e| e.max_severity)
            .or(star.and_then(|e| e.max_severity));
        if let Some(max) = max {
            let above: Vec<String> = fs
                .iter()
                .filter(|f| f.severity > max)
                .map(|f| format!("{} ({}, {})", f.rule, f.severity, f.subject))
                .collect();
            if !above.is_empty() {
                out.push(Violation {
                    expectation: format!(
                        "expect.{}.max_severity",
                        section(|e| e.max_severity.is_some())
                    ),
                    message: format!(
                        "{} has {} finding(s) above {max}: {}",
                        app.app,
                        above.len(),
                        ids("", &above).trim_start()
                    ),
                });
            }
        }
        let mut forbid: Vec<(&str, String)> = Vec::new();
        for (sec, e) in [(ALL_APPS, star), (app.app.as_str(), own)] {
            for r in e.map(|e| e.forbid.as_slice()).unwrap_or(&[]) {
                if !forbid.iter().any(|(_, id)| id == r) {
                    forbid.push((sec, r.clone()));
                }
            }
        }
        for (sec, rule) in forbid {
            let hits: Vec<&str> = fs
                .iter()
                .filter(|f| f.rule == rule)
                .map(|f| f.subject.as_str())
                .collect();
            if !hits.is_empty() {
                out.push(Violation {
                    expectation: format!("expect.{}.forbid", key(sec)),
                    message: format!(
                        "{} fired forbidden rule {rule} on {}",
                        app.app,
                        ids("", &hits).trim_start()
                    ),
                });
            }
        }
    }
    out
}

/// `plainsight check`: audit, then hold the report to the expectations.
pub fn run(a: crate::cli::CheckArgs, ui: crate::run::Ui) -> anyhow::Result<crate::run::Outcome> {
    use crate::run::{self as r, Outcome};
    let p = crate::audit::prepare(&a.audit, ui)?;
    let default = Path::new("plainsight.toml");
    let found = &p.bundle.expectations;
    if a.config.is_none() && found.len() > 1 {
        anyhow::bail!(
            "several expectation files in the inputs ({}): choose one with --config",
            found
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let config = match a.config.as_deref().or(found.first().map(PathBuf::as_path)) {
        Some(path) => Some(load(path, &p.rules).map_err(|e| r::rule_errors(&e))?),
        None if default.is_file() => Some(load(default, &p.rules).map_err(|e| r::rule_errors(&e))?),
        None if a.audit.report.fail_on.is_some() || a.baseline.is_some() => None,
        None => anyhow::bail!(
            "no expectations: plainsight.toml not found here (pass --config FILE, or --fail-on SEVERITY to fail on new findings)"
        ),
    };
    let known = match &a.baseline {
        Some(path) => baseline(path)?,
        None => HashSet::new(),
    };
    // The whole report is needed to judge it, so check never streams.
    let done = crate::audit::execute(&a.audit, &p, "check", false, ui)?;
    let report = &done.report;
    let mut violations = match &config {
        Some(c) => evaluate(c, report, &known),
        None => Vec::new(),
    };
    let fresh = new_findings(report, &known);
    // Without a config, the baseline alone gates: any new finding fails
    // unless --fail-on sets the bar.
    let bar = a
        .audit
        .report
        .fail_on
        .or((config.is_none()).then_some(Severity::Info));
    if let Some(level) = bar {
        let over: Vec<String> = fresh
            .iter()
            .filter(|f| f.severity >= level)
            .map(|f| format!("{} ({}, {})", f.rule, f.severity, f.subject))
            .collect();
        if !over.is_empty() {
            violations.push(Violation {
                expectation: "fail-on".into(),
                message: format!(
                    "{} new finding(s) at or above {level}: {}",
                    over.len(),
                    ids("", &over).trim_start()
                ),
            });
        }
    }
    r::emit(report, &a.audit.report, &p.rules, ui)?;
    for v in &violations {
        eprintln!("violated {v}");
    }
    let ignored = report.findings.len() - fresh.len();
    let known_note = if ignored > 0 {
        format!(" ({ignored} known finding(s) ignored by the baseline)")
    } else {
        String::new()
    };
    if violations.is_empty() {
        ui.note(format!("check passed: every expectation holds{known_note}"));
    } else {
        ui.note(format!(
            "check failed: {} expectation(s) violated{known_note}",
            violations.len()
        ));
    }
    if done.failed || (a.audit.report.strict && done.damaged) {
        return Ok(Outcome::Failed);
    }
    Ok(if violations.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

#[allow(clippy::too_many_arguments)]
fn check_verdict<T: fmt::Display>(
    out: &mut Vec<Violation>,
    app: &AppReport,
    what: &str,
    want: Option<Verdict>,
    got: Option<Verdict>,
    subjects: &[T],
    noun: &str,
    section: String,
) {
    let Some(want) = want else { return };
    let expectation = format!("expect.{section}.{what}");
    match got {
        None => out.push(Violation {
            expectation,
            message: format!(
                "{} has no {noun} in the inputs, so {what} = \"{want}\" cannot be checked",
                app.app
            ),
        }),
        Some(g) if g > want => out.push(Violation {
            expectation,
            message: format!(
                "{} {what} is {g} ({}), expected {want} or better",
                app.app,
                ids(noun, subjects)
            ),
        }),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        crate::rules::builtin()
    }

    #[test]
    fn a_full_config_parses() {
        let text = r#"
[expect."*"]
max_severity = "high"

[expect.signal]
wire = "sealed"
storage = "sealed"
retained = false
max_severity = "medium"
forbid = ["canary-exposed-on-wire"]

[expect."chat.example.org"]
overall = "server-readable"
"#;
        let c = parse("plainsight.toml", text, &rules()).unwrap();
        assert_eq!(c.expect.len(), 3);
        let s = &c.expect["signal"];
        assert_eq!(s.wire, Some(Verdict::Sealed));
        assert_eq!(s.retained, Some(false));
        assert_eq!(s.max_severity, Some(Severity::Medium));
        assert_eq!(s.forbid, ["canary-exposed-on-wire"]);
        assert_eq!(
            c.expect["chat.example.org"].overall,
            Some(Verdict::ServerReadable)
        );
    }

    #[test]
    fn errors_point_at_file_line_column() {
        let text = "[expect.signal]\nwire = \"sealed\"\nstorage = \"safe\"\nforbid = [\"no-such-rule\"]\n\n[expect.nosuchapp]\nretained = false\n";
        let errs = parse("p.toml", text, &rules()).unwrap_err();
        let shown: Vec<String> = errs
            .iter()
            .map(|e| format!("{}:{}:{}", e.file, e.line, e.column))
            .collect();
        assert!(shown.contains(&"p.toml:3:11".to_string()), "{errs:?}");
        assert!(shown.contains(&"p.toml:4:11".to_string()), "{errs:?}");
        assert!(shown.contains(&"p.toml:6:9".to_string()), "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.message.contains("unknown verdict `safe`"))
        );
        assert!(
            errs.iter()
                .any(|e| e.message.contains("unknown rule `no-such-rule`"))
        );
        let e = parse("p.toml", "[expect]\nwire = \"sealed\"\n", &rules()).unwrap_err();
        assert_eq!((e[0].line, e[0].column), (2, 8));
        assert!(e[0].message.contains("[expect.\"*\"]"), "{}", e[0].message);
        let e = parse("p.toml", "[expect.signal]\nwires = \"sealed\"\n", &rules()).unwrap_err();
        assert_eq!(e[0].line, 2);
        assert!(e[0].message.contains("wires"), "{}", e[0].message);
    }

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(key("signal"), "signal");
        assert_eq!(key("*"), "\"*\"");
        assert_eq!(key("chat.example.org"), "\"chat.example.org\"");
    }
}
