//! Running commands: validated configuration in, report and exit status out.
//!
//! `main` parses arguments and maps the [`Outcome`] to an exit code; every
//! command here turns its arguments into checked configuration first (rules,
//! canaries, secrets) so that mistakes are reported before any input is read.

use crate::cli::{
    CaptureArgs, Cli, ColorChoice, Command, ListFormat, ReplayArgs, ReportArgs, RulesCommand,
    ScanArgs, TrafficArgs,
};
use crate::engine::{Engine, EngineConfig};
use crate::evidence::canary::{self, Canary, CanarySet};
use crate::evidence::provenance::KeySource;
use crate::proto::dissector::Env;
use crate::report::build::{BuildOptions, ReportBuilder};
use crate::report::model::{CaptureStats, Input, Report};
use crate::report::table::TableStyle;
use crate::rules::apps::AppIndex;
use crate::rules::{RuleError, RuleSet};
use crate::secrets::SecretStore;
use crate::source;
use anyhow::{Context, Result, bail};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Finished; no finding reached `--fail-on`.
    Clean,
    /// Finished; a finding reached `--fail-on`.
    Findings,
    /// Finished with an error that was reported (unreadable input, damaged input with --strict).
    Failed,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
            Outcome::Failed => 2,
        }
    }
}

/// Output settings decided once from the flags, the environment and the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub color: bool,
    pub quiet: bool,
    pub verbose: u8,
}

impl Ui {
    pub fn from_cli(cli: &Cli) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        Ui {
            color,
            quiet: cli.quiet,
            verbose: cli.verbose,
        }
    }

    fn note(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("plainsight: {}", msg.as_ref());
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    let ui = Ui::from_cli(&cli);
    match cli.command {
        Command::Replay(a) => replay(a, ui),
        Command::Capture(a) => capture(a, ui),
        Command::Scan(a) => scan(a, ui),
        Command::Rules(r) => rules_command(r, ui),
    }
}

/// Rule errors are printed one per line; any error stops the run.
pub fn load_rules(dirs: &[PathBuf]) -> Result<RuleSet> {
    crate::rules::load(dirs).map_err(|errors| rule_errors(&errors))
}

fn rule_errors(errors: &[RuleError]) -> anyhow::Error {
    let mut msg = format!("{} error(s) in rule files:", errors.len());
    for e in errors {
        msg.push('\n');
        msg.push_str(&e.to_string());
    }
    anyhow::anyhow!(msg)
}

/// Canaries from `--canary` and `--canaries`, compiled into one automaton.
pub fn load_canaries(args: &ReportArgs) -> Result<CanarySet> {
    let mut list: Vec<Canary> = args
        .canary
        .iter()
        .map(|t| Canary {
            text: t.clone(),
            label: None,
            created: None,
        })
        .collect();
    for f in &args.canaries {
        list.extend(canary::load_file(f)?);
    }
    Ok(CanarySet::new(list)?)
}

/// Key logs from `--keylog` (or `$SSLKEYLOGFILE`); bad lines become report warnings.
fn load_secrets(traffic: &TrafficArgs, builder: &mut ReportBuilder<'_>) -> Result<SecretStore> {
    let mut store = SecretStore::default();
    let mut files = traffic.keylog.clone();
    if files.is_empty()
        && let Some(env) = std::env::var_os("SSLKEYLOGFILE")
        && !env.is_empty()
    {
        files.push(PathBuf::from(env));
    }
    for f in files {
        let bytes =
            std::fs::read(&f).with_context(|| format!("cannot read key log {}", f.display()))?;
        let name = f.display().to_string();
        for w in store.add_keylog(&bytes, KeySource::KeyLog) {
            builder.warning(&name, None, format!("line {}: {}", w.line, w.message));
        }
        builder.add_input(Input {
            path: name,
            kind: "keylog".into(),
            size: bytes.len() as u64,
            sha256: Some(sha256_hex(&bytes)),
            unchanged: None,
        });
    }
    Ok(store)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn engine_config(t: &TrafficArgs) -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.flows.max_flows = t.max_flows.max(1);
    let ns = |secs: u64| {
        i64::try_from(secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000)
    };
    cfg.flows.tcp_idle_ns = ns(t.idle_timeout);
    cfg.flows.udp_idle_ns = ns(t.udp_idle_timeout);
    cfg.tcp.max_buffer_per_dir = t.reassembly_cap;
    cfg.memory_cap = t.memory_cap;
    cfg
}

fn build_options(r: &ReportArgs) -> BuildOptions {
    BuildOptions {
        show_content: r.show_content,
        ..BuildOptions::default()
    }
}

fn replay(a: ReplayArgs, ui: Ui) -> Result<Outcome> {
    let rules = load_rules(&a.report.rules)?;
    let canaries = load_canaries(&a.report)?;
    let start = Instant::now();
    let mut builder = ReportBuilder::new("replay", &canaries, &rules, build_options(&a.report));
    let secrets = load_secrets(&a.traffic, &mut builder)?;
    let env = Env::new(canaries.clone(), secrets, AppIndex::new(&rules.apps));
    let mut failed = false;
    let mut damaged = false;
    let stats = {
        let mut engine = Engine::new(env, engine_config(&a.traffic), &mut builder);
        for (i, path) in a.files.iter().enumerate() {
            let name = if path == Path::new("-") {
                "-".to_string()
            } else {
                path.display().to_string()
            };
            engine.begin_input(i as u32, &name);
            let res = source::read_file(path, a.traffic.filter.as_deref(), &mut engine);
            engine.end_input();
            match res {
                Ok(sum) => {
                    damaged |= sum.truncated_at.is_some();
                    engine.add_input(
                        Input {
                            path: name,
                            kind: sum.kind.to_string(),
                            size: sum.size,
                            sha256: Some(sum.sha256),
                            unchanged: None,
                        },
                        sum.filtered_out,
                    );
                }
                Err(e) => {
                    failed = true;
                    ui.note(format!("{name}: {e}"));
                    engine.warning_for(&name, format!("not read: {e}"));
                }
            }
        }
        engine.stats()
    };
    *builder.stats_mut() = stats;
    builder.stats_mut().duration_ms = start.elapsed().as_millis() as u64;
    let report = builder.finish();
    emit(&report, &a.report, ui)?;
    Ok(outcome(
        &report,
        &a.report,
        failed || (a.report.strict && damaged),
    ))
}

fn capture(a: CaptureArgs, ui: Ui) -> Result<Outcome> {
    if a.list_interfaces {
        let list = source::list_interfaces()?;
        let mut out = std::io::stdout().lock();
        for i in list {
            let mut flags = Vec::new();
            if i.up {
                flags.push("up");
            }
            if i.running {
                flags.push("running");
            }
            if i.loopback {
                flags.push("loopback");
            }
            writeln!(
                out,
                "{}\t{}\t{}\t{}",
                i.name,
                flags.join(","),
                i.addresses.join(" "),
                i.description.unwrap_or_default()
            )?;
        }
        return Ok(Outcome::Clean);
    }
    let Some(interface) = a.interface.clone() else {
        bail!("--interface is required (see --list-interfaces)");
    };
    let rules = load_rules(&a.report.rules)?;
    let canaries = load_canaries(&a.report)?;
    let start = Instant::now();
    let mut builder = ReportBuilder::new("capture", &canaries, &rules, build_options(&a.report));
    let secrets = load_secrets(&a.traffic, &mut builder)?;
    let env = Env::new(canaries.clone(), secrets, AppIndex::new(&rules.apps));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while we stop is ignored: the report is on its way.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let opts = source::LiveOptions {
        interface: interface.clone(),
        filter: a.traffic.filter.clone(),
        snaplen: a.snaplen,
        promisc: !a.no_promisc,
        duration: a.duration,
        count: a.count,
        write: a.write.clone(),
        buffer_size: 16 << 20,
    };
    ui.note(format!(
        "capturing on {interface}{}; Ctrl-C stops and reports",
        a.duration
            .map_or(String::new(), |d| format!(" for {:.0?}", d))
    ));
    let (stats, summary) = {
        let mut engine = Engine::new(env, engine_config(&a.traffic), &mut builder);
        engine.begin_input(0, &interface);
        let res = source::capture(&opts, &mut engine, &stop);
        engine.end_input();
        (engine.stats(), res)
    };
    let summary = summary?;
    builder.add_input(Input {
        path: interface.clone(),
        kind: "interface".into(),
        size: 0,
        sha256: None,
        unchanged: None,
    });
    if let Some((path, size, sha)) = &summary.written {
        builder.add_input(Input {
            path: path.display().to_string(),
            kind: "pcapng".into(),
            size: *size,
            sha256: Some(sha.clone()),
            unchanged: None,
        });
    }
    *builder.stats_mut() = stats;
    let s = builder.stats_mut();
    s.duration_ms = start.elapsed().as_millis() as u64;
    s.capture = Some(CaptureStats {
        received: summary.received,
        dropped_by_kernel: summary.dropped_by_kernel,
        dropped_by_interface: summary.dropped_by_interface,
    });
    let report = builder.finish();
    emit(&report, &a.report, ui)?;
    Ok(outcome(&report, &a.report, false))
}

fn scan(a: ScanArgs, ui: Ui) -> Result<Outcome> {
    let rules = load_rules(&a.report.rules)?;
    let canaries = load_canaries(&a.report)?;
    for p in &a.paths {
        if std::fs::symlink_metadata(p).is_err() {
            bail!("{}: no such file or directory", p.display());
        }
    }
    let start = Instant::now();
    let opts = crate::store::ScanOptions {
        max_depth: a.max_depth,
        acquisition_time: a.acquisition_time,
        follow_symlinks: a.follow_symlinks,
        ..crate::store::ScanOptions::default()
    };
    let result = crate::store::scan(&a.paths, &canaries, &rules, &opts);
    let mut builder = ReportBuilder::new("scan", &canaries, &rules, build_options(&a.report));
    let changed = add_scan(&mut builder, result, ui);
    builder.stats_mut().duration_ms = start.elapsed().as_millis() as u64;
    let report = builder.finish();
    emit(&report, &a.report, ui)?;
    let damaged = !report.warnings.is_empty();
    Ok(outcome(
        &report,
        &a.report,
        changed || (a.report.strict && damaged),
    ))
}

/// Adds a storage scan to a report; true when an input changed during the scan.
pub fn add_scan(builder: &mut ReportBuilder<'_>, result: crate::store::ScanResult, ui: Ui) -> bool {
    let mut changed = false;
    for i in result.inputs {
        if !i.unchanged {
            changed = true;
            ui.note(format!(
                "{}: changed while it was scanned (hash differs afterwards)",
                i.path
            ));
            builder.warning(
                &i.path,
                None,
                "the file changed during the scan: its SHA-256 differs afterwards",
            );
        }
        builder.add_input(Input {
            path: i.path,
            kind: i.kind,
            size: i.size,
            sha256: Some(i.sha256),
            unchanged: Some(i.unchanged),
        });
    }
    for (path, offset, message) in result.warnings {
        builder.warning(&path, offset, message);
    }
    for s in result.stores {
        builder.add_store(crate::report::build::StoreRecord {
            id: s.id,
            path: s.path,
            kind: s.kind,
            app: s.app,
            evidence: s.evidence,
            omitted: s.evidence_omitted,
            facts: s.facts,
            scanned: 0,
        });
    }
    changed
}

/// Writes the report to `-o FILE` or stdout.
fn emit(report: &Report, args: &ReportArgs, ui: Ui) -> Result<()> {
    let style = TableStyle {
        color: ui.color && args.output.is_none(),
        width: terminal_width(),
        ..TableStyle::default()
    };
    match &args.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            crate::report::write(report, args.format, &style, &mut w)?;
            w.flush()?;
            ui.note(format!("report written to {}", path.display()));
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            crate::report::write(report, args.format, &style, &mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

fn terminal_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &u16| *w >= 40)
        .unwrap_or(120)
}

fn outcome(report: &Report, args: &ReportArgs, failed: bool) -> Outcome {
    if failed {
        return Outcome::Failed;
    }
    match args.fail_on {
        Some(level) if report.findings.iter().any(|f| f.severity >= level) => Outcome::Findings,
        _ => Outcome::Clean,
    }
}

fn rules_command(cmd: RulesCommand, _ui: Ui) -> Result<Outcome> {
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::List { rules, format } => {
            let set = load_rules(&rules)?;
            match format {
                ListFormat::Json => {
                    let checks: Vec<_> = set
                        .checks
                        .iter()
                        .map(|c| {
                            serde_json::json!({
                                "id": c.id, "title": c.title, "severity": c.severity,
                                "verdict": c.verdict, "subject": c.subject, "source": c.source,
                            })
                        })
                        .collect();
                    let apps: Vec<_> = set
                        .apps
                        .iter()
                        .map(|a| serde_json::json!({"id": a.id, "name": a.name, "claim": a.claim, "source": a.source}))
                        .collect();
                    serde_json::to_writer_pretty(
                        &mut out,
                        &serde_json::json!({"checks": checks, "apps": apps}),
                    )?;
                    writeln!(out)?;
                }
                ListFormat::Table => {
                    writeln!(out, "Checks ({})", set.checks.len())?;
                    for c in &set.checks {
                        writeln!(
                            out,
                            "  {:<34} {:<8} {:<16} {}",
                            c.id,
                            c.severity,
                            c.verdict.map_or("-".to_string(), |v| v.to_string()),
                            c.title
                        )?;
                    }
                    writeln!(out, "App profiles ({})", set.apps.len())?;
                    for a in &set.apps {
                        writeln!(out, "  {:<34} {}", a.id, a.name)?;
                    }
                }
            }
            Ok(Outcome::Clean)
        }
        RulesCommand::Show { id, rules } => {
            let set = load_rules(&rules)?;
            if let Some(c) = set.check(&id) {
                writeln!(out, "{} — {}", c.id, c.title)?;
                writeln!(out, "severity: {}", c.severity)?;
                if let Some(v) = c.verdict {
                    writeln!(out, "verdict:  {v}")?;
                }
                writeln!(out, "subject:  {}", c.subject.as_str())?;
                writeln!(out, "source:   {}:{}", c.source, c.line)?;
                writeln!(out, "message:  {}", c.message)?;
                writeln!(out, "\n{}", c.explanation)?;
                if let Some(r) = &c.remediation {
                    writeln!(out, "\nRemediation: {r}")?;
                }
                return Ok(Outcome::Clean);
            }
            if let Some(a) = set.app(&id) {
                serde_json::to_writer_pretty(&mut out, a)?;
                writeln!(out)?;
                return Ok(Outcome::Clean);
            }
            bail!("no check or app profile with id `{id}` (see `plainsight rules list`)")
        }
        RulesCommand::Check { dir } => {
            if !dir.exists() {
                bail!("{}: no such file or directory", dir.display());
            }
            let (set, errors) = crate::rules::load::check_dir(&dir);
            if errors.is_empty() {
                writeln!(
                    out,
                    "{}: {} check(s), {} app profile(s), no errors",
                    dir.display(),
                    set.checks.len(),
                    set.apps.len()
                )?;
                Ok(Outcome::Clean)
            } else {
                let mut err = std::io::stderr().lock();
                for e in &errors {
                    writeln!(err, "{e}")?;
                }
                writeln!(err, "{} error(s)", errors.len())?;
                Ok(Outcome::Failed)
            }
        }
    }
}
