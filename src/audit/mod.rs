//! `plainsight audit`: traffic and app storage in one run, one report that
//! opens with a per-app scorecard (see [`crate::report::apps`]).
//!
//! Inputs come as paths recognised by content ([`discover`]) or named by
//! role (`--pcap`, `--keylog`, `--store`, `--canaries`, `--rules`). The
//! captures go through the replay engine, the app data through the storage
//! scan, both into the same report builder; rules and canaries found in
//! the bundle join those given on the command line.

pub mod discover;

use crate::cli::AuditArgs;
use crate::evidence::canary::CanarySet;
use crate::proto::dissector::Env;
use crate::report::build::ReportBuilder;
use crate::report::model::{Input, Report};
use crate::rules::RuleSet;
use crate::rules::apps::AppIndex;
use crate::run::{self, Outcome, Streaming, TrafficOutcome, Ui};
use anyhow::{Result, bail};
use discover::{Bundle, Role};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Everything an audit needs before it reads any capture or database:
/// checked first, so a bad rule or canary file fails fast.
pub struct Prepared {
    pub bundle: Bundle,
    pub rules: RuleSet,
    pub canaries: CanarySet,
}

/// Sorts the inputs into roles and loads rules and canaries.
pub fn prepare(a: &AuditArgs, ui: Ui) -> Result<Prepared> {
    if a.paths.is_empty() && a.pcap.is_empty() && a.store.is_empty() {
        bail!(
            "nothing to audit: give files or folders (e.g. `plainsight audit fixtures/demo/`), or --pcap/--store"
        );
    }
    for p in a.paths.iter().chain(&a.pcap).chain(&a.store) {
        if std::fs::symlink_metadata(p).is_err() {
            bail!("{}: no such file or directory", p.display());
        }
    }
    let mut bundle = discover::discover(&a.paths, a.max_depth, a.follow_symlinks);
    for (path, role) in bundle_roles(&bundle) {
        ui.detail(format!("{}: {}", path.display(), role.as_str()));
    }
    bundle.captures.extend(a.pcap.iter().cloned());
    bundle.data.extend(a.store.iter().cloned());
    bundle.keylogs.extend(a.traffic.keylog.iter().cloned());
    if bundle.captures.is_empty() && bundle.data.is_empty() {
        bail!(
            "nothing to audit in {}: no capture and no app data found (key logs, canaries and rules alone give no verdict)",
            a.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut rule_dirs = a.report.rules.clone();
    rule_dirs.extend(bundle.rules.iter().cloned());
    let rules = run::load_rules(&rule_dirs)?;
    let canaries = run::load_canaries(&a.report, &bundle.canaries)?;
    Ok(Prepared {
        bundle,
        rules,
        canaries,
    })
}

fn bundle_roles(b: &Bundle) -> Vec<(&Path, Role)> {
    let mut v: Vec<(&Path, Role)> = Vec::new();
    for (list, role) in [
        (&b.captures, Role::Capture),
        (&b.keylogs, Role::KeyLog),
        (&b.canaries, Role::Canaries),
        (&b.rules, Role::Rules),
        (&b.expectations, Role::Expectations),
        (&b.data, Role::Data),
    ] {
        v.extend(list.iter().map(|p| (p.as_path(), role)));
    }
    v.sort_by_key(|(p, _)| *p);
    v
}

/// What an audit run produced.
pub struct Audited {
    pub report: Report,
    pub streaming: Option<Streaming>,
    /// An input could not be read, or changed while it was scanned.
    pub failed: bool,
    /// An input was truncated or corrupt.
    pub damaged: bool,
}

/// Runs traffic and storage into one report. With `stream`, JSON Lines go
/// out as subjects are decided (only when the args ask for them).
pub fn execute(
    a: &AuditArgs,
    p: &Prepared,
    command: &str,
    stream: bool,
    ui: Ui,
) -> Result<Audited> {
    let start = Instant::now();
    let mut opts = run::build_options(&a.report);
    opts.retain = !stream || !run::streams(&a.report);
    let mut builder = ReportBuilder::new(command, &p.canaries, &p.rules, opts);
    let streaming = if stream {
        Streaming::attach(&a.report, &mut builder)?
    } else {
        None
    };
    for (path, msg) in &p.bundle.warnings {
        builder.warning(path, None, msg.clone());
    }
    for (list, kind) in [(&p.bundle.canaries, "canaries"), (&p.bundle.rules, "rules")] {
        for f in list {
            add_file_input(&mut builder, f, kind)?;
        }
    }
    let secrets = run::load_secrets(&p.bundle.keylogs, &mut builder)?;
    let mut traffic = TrafficOutcome::default();
    if !p.bundle.captures.is_empty() {
        let env = Env::new(p.canaries.clone(), secrets, AppIndex::new(&p.rules.apps));
        let base = builder.inputs_mut().len();
        let no_stop = Cell::new(false);
        let stop = streaming.as_ref().map_or(&no_stop, |s| &*s.stop);
        let stats = {
            let mut engine =
                crate::engine::Engine::new(env, run::engine_config(&a.traffic), &mut builder);
            traffic = run::replay_files(
                &mut engine,
                &p.bundle.captures,
                a.traffic.filter.as_deref(),
                base,
                ui,
                &a.report,
                stop,
            );
            engine.stats()
        };
        *builder.stats_mut() = stats;
    }
    let mut changed = false;
    if !p.bundle.data.is_empty() {
        let opts = crate::store::ScanOptions {
            max_depth: a.max_depth,
            acquisition_time: a.acquisition_time,
            follow_symlinks: a.follow_symlinks,
            ..crate::store::ScanOptions::default()
        };
        let result = run::scan_stores(&p.bundle.data, &p.canaries, &p.rules, &opts, ui, &a.report);
        changed = run::add_scan(&mut builder, result, ui);
    }
    builder.stats_mut().duration_ms = start.elapsed().as_millis() as u64;
    let report = builder.finish();
    Ok(Audited {
        report,
        streaming,
        failed: traffic.failed || changed,
        damaged: traffic.damaged,
    })
}

/// Records a bundle file that is read whole (canaries, rules) with its hash.
fn add_file_input(builder: &mut ReportBuilder<'_>, f: &PathBuf, kind: &str) -> Result<()> {
    let bytes =
        std::fs::read(f).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
    builder.add_input(Input {
        path: f.display().to_string(),
        kind: kind.to_string(),
        size: bytes.len() as u64,
        sha256: Some(run::sha256_hex(&bytes)),
        unchanged: None,
    });
    Ok(())
}

/// `plainsight audit`.
pub fn run(a: AuditArgs, ui: Ui) -> Result<Outcome> {
    let p = prepare(&a, ui)?;
    let done = execute(&a, &p, "audit", true, ui)?;
    let max = run::finish_output(&done.report, &a.report, &p.rules, done.streaming, ui)?;
    Ok(run::outcome(
        max,
        &a.report,
        done.failed || (a.report.strict && done.damaged),
    ))
}
