//! Running commands: validated configuration in, report and exit status out.
//!
//! `main` parses arguments and maps the [`Outcome`] to an exit code; every
//! command here turns its arguments into checked configuration first (rules,
//! canaries, secrets) so that mistakes are reported before any input is read.
//! `audit` and `check` live in [`crate::audit`] and [`crate::check`] and use
//! the helpers below.

use crate::cli::{
    CanaryCommand, CaptureArgs, Cli, ColorChoice, Command, Format, ListFormat, ReplayArgs,
    ReportArgs, RulesCommand, ScanArgs, TrafficArgs,
};
use crate::engine::{Engine, EngineConfig};
use crate::evidence::canary::{self, Canary, CanarySet};
use crate::evidence::provenance::KeySource;
use crate::model::Severity;
use crate::proto::dissector::Env;
use crate::report::RenderContext;
use crate::report::build::{BuildOptions, ReportBuilder};
use crate::report::jsonl::JsonlStream;
use crate::report::model::{CaptureStats, Input, Report};
use crate::report::table::TableStyle;
use crate::rules::apps::AppIndex;
use crate::rules::{RuleError, RuleSet};
use crate::secrets::SecretStore;
use crate::source::{self, Packet, PacketSink, SecretOrigin};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Finished; no finding reached `--fail-on` (check: every expectation holds).
    Clean,
    /// Finished; a finding reached `--fail-on` (check: an expectation is violated).
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
    pub stdout_tty: bool,
    pub stderr_tty: bool,
}

impl Ui {
    pub fn from_cli(cli: &Cli) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stdout_tty = std::io::stdout().is_terminal();
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && stdout_tty,
        };
        Ui {
            color,
            quiet: cli.quiet,
            verbose: cli.verbose,
            stdout_tty,
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    /// A note on stderr (not with `--quiet`).
    pub fn note(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("plainsight: {}", msg.as_ref());
        }
    }

    /// A detail on stderr with `-v`.
    pub fn detail(&self, msg: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            eprintln!("plainsight: {}", msg.as_ref());
        }
    }

    /// Whether to draw progress on stderr: only on a terminal, never with
    /// `--quiet`, and not when JSON Lines stream to the same terminal (the
    /// bar would tear the lines apart). Machine formats redirected to a file
    /// or a pipe still get a bar: stderr is the person's, stdout the program's.
    pub fn progress(&self, args: &ReportArgs) -> bool {
        self.stderr_tty
            && !self.quiet
            && !(args.format == Format::Jsonl && args.output.is_none() && self.stdout_tty)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    let ui = Ui::from_cli(&cli);
    match cli.command {
        Command::Replay(a) => replay(a, ui),
        Command::Capture(a) => capture(a, ui),
        Command::Scan(a) => scan(a, ui),
        Command::Audit(a) => crate::audit::run(a, ui),
        Command::Check(a) => crate::check::run(a, ui),
        Command::Rules(r) => rules_command(r, ui),
        Command::Canary(c) => canary_command(c, ui),
        Command::Schema => {
            let mut out = std::io::stdout().lock();
            out.write_all(crate::report::schema::REPORT.as_bytes())?;
            out.flush()?;
            Ok(Outcome::Clean)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "plainsight", &mut out);
            out.flush()?;
            Ok(Outcome::Clean)
        }
        Command::Man { out } => man(out.as_deref(), ui),
    }
}

/// Man pages: the main page, and with `--out` one page per visible
/// subcommand (`plainsight-rules-list.1`, …).
fn man(out: Option<&Path>, ui: Ui) -> Result<Outcome> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = out else {
        let mut w = std::io::stdout().lock();
        clap_mangen::Man::new(cmd).render(&mut w)?;
        w.flush()?;
        return Ok(Outcome::Clean);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = 0;
    fn pages(cmd: &clap::Command, name: &str, dir: &Path, written: &mut usize) -> Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.clone().display_name(name)).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))?;
        *written += 1;
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
        }
        Ok(())
    }
    pages(&cmd, "plainsight", dir, &mut written)?;
    ui.note(format!(
        "{written} man page(s) written to {}",
        dir.display()
    ));
    Ok(Outcome::Clean)
}

/// `canary new`: make canaries, print them ready to paste, save them.
fn canary_command(cmd: CanaryCommand, ui: Ui) -> Result<Outcome> {
    let CanaryCommand::New {
        count,
        label,
        output,
    } = cmd;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let created = crate::model::format_ts(i64::try_from(now).unwrap_or(0) * 1_000_000_000)
        .replace(".000000Z", "Z");
    let new = canary::new_canaries(count as usize, label.as_deref(), &created)?;
    canary::append_file(&output, &new)?;
    let mut out = std::io::stdout().lock();
    for c in &new {
        match &c.label {
            Some(l) => writeln!(out, "{}  {l}", c.text)?,
            None => writeln!(out, "{}", c.text)?,
        }
    }
    out.flush()?;
    ui.note(format!(
        "{} canar{} saved to {}; search with --canaries {}",
        new.len(),
        if new.len() == 1 { "y" } else { "ies" },
        output.display(),
        output.display()
    ));
    Ok(Outcome::Clean)
}

/// Rule errors are printed one per line; any error stops the run.
pub fn load_rules(dirs: &[PathBuf]) -> Result<RuleSet> {
    crate::rules::load(dirs).map_err(|errors| rule_errors(&errors))
}

pub fn rule_errors(errors: &[RuleError]) -> anyhow::Error {
    let mut msg = format!("{} error(s) in rule files:", errors.len());
    for e in errors {
        msg.push('\n');
        msg.push_str(&e.to_string());
    }
    anyhow::anyhow!(msg)
}

/// Canaries from `--canary`, `--canaries` and `extra` files, compiled into one automaton.
pub fn load_canaries(args: &ReportArgs, extra: &[PathBuf]) -> Result<CanarySet> {
    let mut list: Vec<Canary> = args
        .canary
        .iter()
        .map(|t| Canary {
            text: t.clone(),
            label: None,
            created: None,
        })
        .collect();
    for f in args.canaries.iter().chain(extra) {
        list.extend(canary::load_file(f)?);
    }
    Ok(CanarySet::new(list)?)
}

/// Key logs from `files` (or `$SSLKEYLOGFILE` when there are none); bad
/// lines become report warnings. The secrets themselves never leave the store.
pub fn load_secrets(files: &[PathBuf], builder: &mut ReportBuilder<'_>) -> Result<SecretStore> {
    let mut store = SecretStore::default();
    let mut files = files.to_vec();
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

pub fn engine_config(t: &TrafficArgs) -> EngineConfig {
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

/// Whether this command streams its report (JSON Lines, subjects dropped
/// once written).
pub fn streams(r: &ReportArgs) -> bool {
    r.format == Format::Jsonl
}

pub fn build_options(r: &ReportArgs) -> BuildOptions {
    BuildOptions {
        show_content: r.show_content,
        retain: !streams(r),
        ..BuildOptions::default()
    }
}

/// Where the report goes: `-o FILE` or standard output.
pub fn open_output(args: &ReportArgs) -> Result<Box<dyn Write>> {
    Ok(match &args.output {
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            Box::new(std::io::BufWriter::new(f))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// A JSON Lines stream wired to a builder: every decided subject is written
/// at once. `stop` turns true when writing failed (the reader went away), so
/// the traffic loop can end early.
pub struct Streaming {
    pub stream: Rc<RefCell<JsonlStream<'static>>>,
    pub stop: Rc<Cell<bool>>,
}

impl Streaming {
    /// Opens the output and hooks the builder, when the format streams.
    pub fn attach(args: &ReportArgs, builder: &mut ReportBuilder<'_>) -> Result<Option<Streaming>> {
        if !streams(args) {
            return Ok(None);
        }
        let stream = Rc::new(RefCell::new(JsonlStream::new(open_output(args)?)));
        let stop = Rc::new(Cell::new(false));
        let (s, st) = (stream.clone(), stop.clone());
        builder.on_decided(move |d| {
            let mut s = s.borrow_mut();
            s.decided(d);
            if s.failed() {
                st.set(true);
            }
        });
        Ok(Some(Streaming { stream, stop }))
    }
}

/// Writes the report (or the tail of a stream) and returns the most severe finding.
pub fn finish_output(
    report: &Report,
    args: &ReportArgs,
    rules: &RuleSet,
    streaming: Option<Streaming>,
    ui: Ui,
) -> Result<Option<Severity>> {
    match streaming {
        Some(s) => {
            let stream = Rc::try_unwrap(s.stream)
                .map_err(|_| anyhow::anyhow!("the report builder still holds the stream"))?
                .into_inner();
            let max = stream.max_severity();
            stream.finish(report, rules)?;
            if let Some(p) = &args.output {
                ui.note(format!("report written to {}", p.display()));
            }
            Ok(max)
        }
        None => {
            emit(report, args, rules, ui)?;
            Ok(report.findings.iter().map(|f| f.severity).max())
        }
    }
}

/// Drives the engine for one input: progress by bytes, early stop.
struct Driver<'e, 'r, 'b> {
    engine: &'e mut Engine<'r, 'b>,
    bar: Option<&'e ProgressBar>,
    base: u64,
    stop: &'e Cell<bool>,
    packets: u64,
}

impl PacketSink for Driver<'_, '_, '_> {
    fn packet(&mut self, p: &Packet<'_>) {
        self.engine.packet(p);
        self.packets += 1;
        if let (Some(bar), Some(off)) = (self.bar, p.file_offset)
            && self.packets.is_multiple_of(64)
        {
            bar.set_position(self.base + off);
        }
    }

    fn secrets(&mut self, text: &[u8], origin: SecretOrigin, offset: u64) {
        self.engine.secrets(text, origin, offset);
    }

    fn format(&mut self, kind: &'static str) {
        self.engine.format(kind);
    }

    fn warning(&mut self, offset: Option<u64>, message: String) {
        self.engine.warning(offset, message);
    }

    fn should_stop(&self) -> bool {
        self.stop.get() || self.engine.should_stop()
    }
}

/// A progress bar over `total` bytes, or a spinner when the total is unknown.
pub fn progress_bar(
    ui: Ui,
    args: &ReportArgs,
    total: Option<u64>,
    msg: &str,
) -> Option<ProgressBar> {
    if !ui.progress(args) {
        return None;
    }
    let bar = match total {
        Some(t) => {
            let b = ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        }
        None => {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                b.set_style(style);
            }
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        }
    };
    bar.set_message(msg.to_string());
    Some(bar)
}

/// What reading captures produced besides the flows.
#[derive(Debug, Default, Clone, Copy)]
pub struct TrafficOutcome {
    /// An input could not be read at all.
    pub failed: bool,
    /// An input was truncated or corrupt.
    pub damaged: bool,
}

/// Replays capture files through an engine. Evidence `input` indexes point
/// into the report's `inputs` (the builder already holds `base` of them).
pub fn replay_files(
    engine: &mut Engine<'_, '_>,
    files: &[PathBuf],
    filter: Option<&str>,
    base: usize,
    ui: Ui,
    args: &ReportArgs,
    stop: &Cell<bool>,
) -> TrafficOutcome {
    let mut out = TrafficOutcome::default();
    let sizes: Vec<Option<u64>> = files
        .iter()
        .map(|p| {
            (p != Path::new("-"))
                .then(|| std::fs::metadata(p).ok().map(|m| m.len()))
                .flatten()
        })
        .collect();
    let total = sizes.iter().copied().sum::<Option<u64>>();
    let bar = progress_bar(ui, args, total, "replaying");
    let mut done = 0u64;
    let mut added = 0usize;
    for (path, size) in files.iter().zip(&sizes) {
        if stop.get() {
            break;
        }
        let name = if path == Path::new("-") {
            "-".to_string()
        } else {
            path.display().to_string()
        };
        ui.detail(format!("replaying {name}"));
        engine.begin_input((base + added) as u32, &name);
        let res = {
            let mut d = Driver {
                engine: &mut *engine,
                bar: bar.as_ref(),
                base: done,
                stop,
                packets: 0,
            };
            source::read_file(path, filter, &mut d)
        };
        engine.end_input();
        done += size.unwrap_or(0);
        if let Some(b) = &bar {
            b.set_position(done);
        }
        match res {
            Ok(sum) => {
                out.damaged |= sum.truncated_at.is_some();
                added += 1;
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
                out.failed = true;
                if let Some(b) = &bar {
                    b.suspend(|| ui.note(format!("{name}: {e}")));
                } else {
                    ui.note(format!("{name}: {e}"));
                }
                engine.warning_for(&name, format!("not read: {e}"));
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out
}

fn replay(a: ReplayArgs, ui: Ui) -> Result<Outcome> {
    let rules = load_rules(&a.report.rules)?;
    let canaries = load_canaries(&a.report, &[])?;
    let start = Instant::now();
    let mut builder = ReportBuilder::new("replay", &canaries, &rules, build_options(&a.report));
    let streaming = Streaming::attach(&a.report, &mut builder)?;
    let secrets = load_secrets(&a.traffic.keylog, &mut builder)?;
    let env = Env::new(canaries.clone(), secrets, AppIndex::new(&rules.apps));
    let base = builder.inputs_mut().len();
    let no_stop = Cell::new(false);
    let stop = streaming.as_ref().map_or(&no_stop, |s| &*s.stop);
    let (stats, traffic) = {
        let mut engine = Engine::new(env, engine_config(&a.traffic), &mut builder);
        let t = replay_files(
            &mut engine,
            &a.files,
            a.traffic.filter.as_deref(),
            base,
            ui,
            &a.report,
            stop,
        );
        (engine.stats(), t)
    };
    *builder.stats_mut() = stats;
    builder.stats_mut().duration_ms = start.elapsed().as_millis() as u64;
    let report = builder.finish();
    let max = finish_output(&report, &a.report, &rules, streaming, ui)?;
    Ok(outcome(
        max,
        &a.report,
        traffic.failed || (a.report.strict && traffic.damaged),
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
    let canaries = load_canaries(&a.report, &[])?;
    let start = Instant::now();
    let mut builder = ReportBuilder::new("capture", &canaries, &rules, build_options(&a.report));
    let streaming = Streaming::attach(&a.report, &mut builder)?;
    let secrets = load_secrets(&a.traffic.keylog, &mut builder)?;
    let base = builder.inputs_mut().len() as u32;
    let env = Env::new(canaries.clone(), secrets, AppIndex::new(&rules.apps));
    // A live capture carries no secrets blocks: keys are all known now.
    let env = Env {
        secrets_may_arrive: false,
        ..env
    };
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
        engine.begin_input(base, &interface);
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
    let max = finish_output(&report, &a.report, &rules, streaming, ui)?;
    Ok(outcome(max, &a.report, false))
}

fn scan(a: ScanArgs, ui: Ui) -> Result<Outcome> {
    let rules = load_rules(&a.report.rules)?;
    let canaries = load_canaries(&a.report, &[])?;
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
    let mut builder = ReportBuilder::new("scan", &canaries, &rules, build_options(&a.report));
    let streaming = Streaming::attach(&a.report, &mut builder)?;
    let result = scan_stores(&a.paths, &canaries, &rules, &opts, ui, &a.report);
    let changed = add_scan(&mut builder, result, ui);
    builder.stats_mut().duration_ms = start.elapsed().as_millis() as u64;
    let report = builder.finish();
    let max = finish_output(&report, &a.report, &rules, streaming, ui)?;
    let damaged = !report.warnings.is_empty();
    Ok(outcome(
        max,
        &a.report,
        changed || (a.report.strict && damaged),
    ))
}

/// The storage scan, with a spinner on a terminal.
pub fn scan_stores(
    paths: &[PathBuf],
    canaries: &CanarySet,
    rules: &RuleSet,
    opts: &crate::store::ScanOptions,
    ui: Ui,
    args: &ReportArgs,
) -> crate::store::ScanResult {
    let bar = progress_bar(ui, args, None, "scanning app data");
    let result = crate::store::scan(paths, canaries, rules, opts);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    ui.detail(format!(
        "scanned {} file(s), {} store(s)",
        result.inputs.len(),
        result.stores.len()
    ));
    result
}

/// Adds a storage scan to a report; true when an input changed during the
/// scan. Evidence `input` indexes are shifted past the inputs already in
/// the report, so they keep pointing at the right file.
pub fn add_scan(builder: &mut ReportBuilder<'_>, result: crate::store::ScanResult, ui: Ui) -> bool {
    let base = builder.inputs_mut().len() as u32;
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
    for mut s in result.stores {
        for e in &mut s.evidence {
            e.origin.input = e.origin.input.map(|i| i + base);
        }
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

/// Writes a finished report to `-o FILE` or stdout.
pub fn emit(report: &Report, args: &ReportArgs, rules: &RuleSet, ui: Ui) -> Result<()> {
    let cx = RenderContext {
        style: TableStyle {
            color: ui.color && args.output.is_none(),
            width: terminal_width(),
            ..TableStyle::default()
        },
        rules,
    };
    let mut w = open_output(args)?;
    crate::report::write(report, args.format, &cx, &mut w)?;
    w.flush()?;
    if let Some(p) = &args.output {
        ui.note(format!("report written to {}", p.display()));
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

/// The exit status from the most severe finding and whether the run failed.
pub fn outcome(max: Option<Severity>, args: &ReportArgs, failed: bool) -> Outcome {
    if failed {
        return Outcome::Failed;
    }
    match (args.fail_on, max) {
        (Some(level), Some(m)) if m >= level => Outcome::Findings,
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
