//! JSON Lines: one object per line, each with a `type`, for log pipelines
//! (Elasticsearch/OpenSearch, Loki, `jq -c`).
//!
//! Lines, in this order: `flow`, `store` and `finding` objects as they are
//! decided (interleaved, in the order the run decides them; the fields are
//! those of the JSON report's `flows[]`, `stores[]`, `findings[]`), then one
//! `canary` line per canary, one `app` line per scorecard row, and a final
//! `summary` line (schema version, tool, command, inputs, warnings, stats,
//! counts). When streaming, nothing decided is kept after its line is
//! written: memory stays flat however long the capture.

use crate::model::Severity;
use crate::report::apps::Scorecard;
use crate::report::build::Decided;
use crate::report::model::{AppReport, Report};
use crate::rules::RuleSet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// A line: the item's own fields plus `type`.
#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    item: &'a T,
}

#[derive(Serialize)]
struct Summary<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema_version: &'a str,
    tool: &'a crate::report::model::Tool,
    command: &'a str,
    inputs: &'a [crate::report::model::Input],
    warnings: &'a [crate::report::model::Warning],
    stats: &'a crate::report::model::Stats,
    /// Flows and stores per verdict.
    verdicts: BTreeMap<&'static str, u64>,
    /// Findings per severity.
    findings: BTreeMap<&'static str, u64>,
}

fn line<T: Serialize>(w: &mut dyn Write, kind: &'static str, item: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, &Line { kind, item })?;
    w.write_all(b"\n")
}

/// Writes decided subjects as they arrive, then the tail.
pub struct JsonlStream<'w> {
    w: Box<dyn Write + 'w>,
    scorecard: Scorecard,
    verdicts: BTreeMap<&'static str, u64>,
    findings: BTreeMap<&'static str, u64>,
    max_severity: Option<Severity>,
    /// The first write error; later lines are not attempted.
    error: Option<io::Error>,
}

impl<'w> JsonlStream<'w> {
    pub fn new(w: Box<dyn Write + 'w>) -> Self {
        JsonlStream {
            w,
            scorecard: Scorecard::default(),
            verdicts: BTreeMap::new(),
            findings: BTreeMap::new(),
            max_severity: None,
            error: None,
        }
    }

    /// Writes one decided item (the `ReportBuilder::on_decided` callback).
    pub fn decided(&mut self, d: Decided<'_>) {
        let res = match d {
            Decided::Flow(f) => {
                self.scorecard.add_flow(f);
                *self.verdicts.entry(f.verdict.as_str()).or_default() += 1;
                self.write("flow", f)
            }
            Decided::Store(s) => {
                self.scorecard.add_store(s);
                *self.verdicts.entry(s.verdict.as_str()).or_default() += 1;
                self.write("store", s)
            }
            Decided::Finding(f) => {
                *self.findings.entry(f.severity.as_str()).or_default() += 1;
                self.max_severity = self.max_severity.max(Some(f.severity));
                self.write("finding", f)
            }
        };
        if let Err(e) = res {
            self.error = Some(e);
        }
    }

    fn write<T: Serialize>(&mut self, kind: &'static str, item: &T) -> io::Result<()> {
        if self.error.is_some() {
            return Ok(());
        }
        line(&mut *self.w, kind, item)?;
        // A log pipeline should see each line when it is decided.
        self.w.flush()
    }

    /// True once a write failed (e.g. the reader of a pipe went away).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The most severe finding streamed so far.
    pub fn max_severity(&self) -> Option<Severity> {
        self.max_severity
    }

    /// Writes canaries, the scorecard and the summary of a report built
    /// without retained subjects.
    pub fn finish(mut self, report: &Report, rules: &RuleSet) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let apps = std::mem::take(&mut self.scorecard).finish(rules);
        write_tail(&mut *self.w, report, &apps, self.verdicts, self.findings)?;
        self.w.flush()
    }
}

fn write_tail(
    w: &mut dyn Write,
    r: &Report,
    apps: &[AppReport],
    verdicts: BTreeMap<&'static str, u64>,
    findings: BTreeMap<&'static str, u64>,
) -> io::Result<()> {
    for c in &r.canaries {
        line(w, "canary", c)?;
    }
    for a in apps {
        line(w, "app", a)?;
    }
    serde_json::to_writer(
        &mut *w,
        &Summary {
            kind: "summary",
            schema_version: r.schema_version,
            tool: &r.tool,
            command: &r.command,
            inputs: &r.inputs,
            warnings: &r.warnings,
            stats: &r.stats,
            verdicts,
            findings,
        },
    )?;
    w.write_all(b"\n")
}

/// Writes a finished report as JSON Lines (flows, stores, findings, tail).
pub fn write(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut verdicts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for f in &r.flows {
        line(w, "flow", f)?;
        *verdicts.entry(f.verdict.as_str()).or_default() += 1;
    }
    for s in &r.stores {
        line(w, "store", s)?;
        *verdicts.entry(s.verdict.as_str()).or_default() += 1;
    }
    let mut findings: BTreeMap<&'static str, u64> = BTreeMap::new();
    for f in &r.findings {
        line(w, "finding", f)?;
        *findings.entry(f.severity.as_str()).or_default() += 1;
    }
    write_tail(w, r, &r.apps, verdicts, findings)
}
