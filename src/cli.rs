//! Command-line definitions (clap derive). No logic lives here.

use crate::model::Severity;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Verdicts: exposed (readable with no key), server-readable (readable once TLS/QUIC is removed),
retained (deleted content still recoverable), sealed (opened, only ciphertext inside),
opaque (encrypted, not opened), no-content.

Exit codes: 0 finished and no finding reached --fail-on (check: every expectation holds);
1 a finding did (check: an expectation is violated); 2 error.

Start with: plainsight audit fixtures/demo/";

/// Who can read my messages? Verdicts with evidence from traffic and app storage.
#[derive(Debug, Parser)]
#[command(name = "plainsight", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour terminal output (NO_COLOR in the environment turns it off).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print nothing on stderr except errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit traffic and app storage together: one report with a per-app scorecard.
    #[command(after_help = "\
Examples:
  plainsight audit fixtures/demo/
  plainsight audit --pcap session.pcapng --keylog keys.log --store ./app-data/ --canaries canaries.toml
  plainsight audit ./bundle/ --format markdown -o audit.md

A folder is walked and every file recognised by its content, not its name: pcap/pcapng
captures, NSS key logs, canaries files ([[canary]] TOML), rule files ([app], [[check]],
[[store]] TOML) and app data (SQLite, SQLCipher, WAL/journal, backups, other files) for
the storage scan. -v lists what each file was taken for.")]
    Audit(AuditArgs),

    /// Run an audit and check it against the expectations in plainsight.toml (for CI).
    #[command(after_help = "\
Examples:
  plainsight check fixtures/demo/
  plainsight check --config ci/plainsight.toml --baseline known.json --format sarif -o plainsight.sarif captures/
  plainsight check --fail-on high ./bundle/           # no config: fail on new findings only

plainsight.toml:
  [expect.\"*\"]                    # every app
  max_severity = \"high\"
  [expect.whatsapp]
  wire = \"sealed\"                 # no worse than sealed
  storage = \"sealed\"
  retained = false
  forbid = [\"credential-in-clear\"]

Each violated expectation is printed on stderr as one line; exit 1 when any is
violated, 0 when all hold, 2 on errors. --baseline (a previous JSON, JSON Lines or
SARIF report) ignores known findings by fingerprint, so only new ones fail.")]
    Check(CheckArgs),

    /// Replay pcap/pcapng files and give every flow a verdict.
    #[command(after_help = "\
Examples:
  plainsight replay capture.pcapng --canary 'PS-7H2KQ9ZXW4M5'
  plainsight replay a.pcap b.pcapng --keylog keys.log --format json -o report.json
  tcpdump -w - -i eth0 | plainsight replay - --canaries canaries.toml
  plainsight replay session.pcapng -f 'tcp port 443' --fail-on high")]
    Replay(ReplayArgs),

    /// Capture live traffic with libpcap, then report as for replay.
    #[command(after_help = "\
Examples:
  plainsight capture --list-interfaces
  plainsight capture -i eth0 -f 'tcp port 443' --duration 30s -w out.pcapng --canary 'PS-7H2KQ9ZXW4M5'
  sudo plainsight capture -i lo --count 1000 --format json
Stop early with Ctrl-C: the report covers everything captured so far.")]
    Capture(CaptureArgs),

    /// Scan app storage (databases, data folders, backups) for readable and retained messages.
    #[command(after_help = "\
Examples:
  plainsight scan ./extracted-android-data/ --canaries canaries.toml --format json
  plainsight scan msgstore.db msgstore.db-wal wa.db msgstore.db.crypt15
  plainsight scan ./signal-desktop/ --acquisition-time 2026-11-01T12:00:00Z

Inputs are never written: databases are copied aside (with -wal, -shm, -journal) and
opened read-only from the copy; every input is hashed before and after the scan.")]
    Scan(ScanArgs),

    /// List, show and validate rules.
    #[command(subcommand)]
    Rules(RulesCommand),

    /// Print the JSON Schema (draft 2020-12) of the JSON report.
    #[command(after_help = "\
Examples:
  plainsight schema > plainsight-report.schema.json
  plainsight replay capture.pcap --format json | check-jsonschema --schemafile plainsight-report.schema.json -")]
    Schema,

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  plainsight completions bash > /etc/bash_completion.d/plainsight
  plainsight completions zsh > \"${fpath[1]}/_plainsight\"
  plainsight completions fish > ~/.config/fish/completions/plainsight.fish")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Write man pages: one per subcommand into DIR, or the main page to stdout.
    #[command(after_help = "\
Examples:
  plainsight man --out /usr/local/share/man/man1
  plainsight man | man -l -")]
    Man {
        /// Folder to write plainsight.1, plainsight-replay.1, … into.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },

    /// Make canaries: marker messages to send, then search for.
    #[command(subcommand)]
    Canary(CanaryCommand),
}

#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Print new canaries, one per line, and add them to a canaries file.
    #[command(after_help = "\
Each canary is PS- plus 16 random base32 characters (80 bits from the operating
system) and a check character, so it never occurs by chance and a near-miss is
not a hit. Send it in the chat you want to audit, then search for it.

Examples:
  plainsight canary new --count 3 --label 'dm to bob'
  plainsight replay capture.pcapng --canaries canaries.toml")]
    New {
        /// How many canaries to make.
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u32).range(1..=10_000))]
        count: u32,
        /// A note saying where the canary is sent (numbered when --count > 1).
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
        /// The canaries file to add them to (created if missing; existing canaries are kept).
        #[arg(
            short = 'o',
            long = "output",
            value_name = "FILE",
            default_value = "canaries.toml"
        )]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every check and app profile (built in plus --rules).
    #[command(after_help = "Example:\n  plainsight rules list --rules ./my-rules")]
    List {
        /// Extra rule folders to load beside the built-in rules.
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one check or app profile in full.
    #[command(after_help = "Example:\n  plainsight rules show canary-exposed-on-wire")]
    Show {
        /// Check id or app id.
        id: String,
        #[arg(long = "rules", value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Validate the rule files under DIR; errors point at file:line:column.
    #[command(after_help = "Example:\n  plainsight rules check ./my-rules")]
    Check {
        /// A folder of *.toml rule files (or one file).
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terminal tables.
    Table,
    /// One JSON document (the versioned contract; see `plainsight schema`).
    Json,
    /// JSON Lines: one object per flow, store and finding as it is decided, then a summary.
    Jsonl,
    /// SARIF 2.1.0 for code-scanning dashboards.
    Sarif,
    /// Markdown for a pull-request comment.
    Markdown,
}

impl Format {
    /// Formats meant for programs rather than people.
    pub fn is_machine(self) -> bool {
        matches!(self, Format::Json | Format::Jsonl | Format::Sarif)
    }
}

/// Options shared by every command that produces a report.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// A canary (marker message) to search for; repeatable.
    #[arg(long = "canary", value_name = "TEXT")]
    pub canary: Vec<String>,

    /// A canaries.toml file (as written by `plainsight canary new`).
    #[arg(long = "canaries", value_name = "FILE")]
    pub canaries: Vec<PathBuf>,

    /// Extra rule folders to load beside the built-in rules; repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Show message content in evidence instead of a masked snippet.
    #[arg(long)]
    pub show_content: bool,

    /// Exit with status 1 when a finding of this severity or higher is reported.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Treat damaged input (truncated capture, corrupt page) as an error (exit 2).
    #[arg(long)]
    pub strict: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| {
        format!("unknown severity `{s}`, expected one of info, low, medium, high, critical")
    })
}

/// Options for traffic analysis (replay and capture).
#[derive(Debug, Args, Clone)]
pub struct TrafficArgs {
    /// An NSS key log file (SSLKEYLOGFILE format); repeatable. Defaults to $SSLKEYLOGFILE.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylog: Vec<PathBuf>,

    /// A BPF filter expression (libpcap syntax), also applied to files.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,

    /// Most flows tracked at once; the least recently seen are finalised first.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_flows: usize,

    /// Seconds without packets after which a TCP flow is finalised.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub idle_timeout: u64,

    /// Seconds without packets after which a UDP flow is finalised.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub udp_idle_timeout: u64,

    /// Out-of-order bytes buffered per TCP direction.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub reassembly_cap: usize,

    /// Out-of-order bytes buffered across all flows.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    pub memory_cap: usize,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture files (pcap or pcapng); `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub traffic: TrafficArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and folders to scan.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// When the data was acquired (RFC 3339 or Unix seconds): expired
    /// disappearing messages are judged against it. Defaults to the newest
    /// file modification time, never to the analysis clock.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub acquisition_time: Option<i64>,

    /// How deep to descend into folders.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_depth: usize,

    /// Follow symbolic links (by default a scan never leaves the given roots).
    #[arg(long)]
    pub follow_symlinks: bool,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// Parses Unix seconds or an RFC 3339 UTC time (`2026-11-01T12:00:00Z`).
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let bad = || format!("invalid time `{s}`: expected Unix seconds or e.g. 2026-11-01T12:00:00Z");
    let s2 = s.trim_end_matches('Z');
    let (date, time) = s2.split_once(['T', ' ']).unwrap_or((s2, "00:00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|x| {
            x.split('.')
                .next()
                .unwrap_or("0")
                .parse()
                .map_err(|_| bad())
        })
        .collect::<Result<_, _>>()?;
    let ([y, m, dd], [hh, mm, ss]) = (d.as_slice(), t.as_slice()) else {
        return Err(bad());
    };
    if !(1..=12).contains(m) || !(1..=31).contains(dd) || *hh > 23 || *mm > 59 || *ss > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(*y, *m, *dd) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inputs of an audit: paths recognised by content, or named by role.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Files and folders; every file is recognised by its content.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A capture file (pcap or pcapng), whatever it looks like; repeatable.
    #[arg(long = "pcap", value_name = "FILE")]
    pub pcap: Vec<PathBuf>,

    /// App data to scan (a file or a folder), whatever it looks like; repeatable.
    #[arg(long = "store", value_name = "PATH")]
    pub store: Vec<PathBuf>,

    /// When the app data was acquired (RFC 3339 or Unix seconds), to judge
    /// expired disappearing messages; defaults to the newest file modification time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub acquisition_time: Option<i64>,

    /// How deep to descend into folders.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_depth: usize,

    /// Follow symbolic links (by default a walk never leaves the given roots).
    #[arg(long)]
    pub follow_symlinks: bool,

    #[command(flatten)]
    pub traffic: TrafficArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The expectations file [default: the one among the inputs, else ./plainsight.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// A previous report (JSON, JSON Lines or SARIF): its findings are known and do not fail.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    #[command(flatten)]
    pub audit: AuditArgs,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Interface to capture on (see --list-interfaces).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "list_interfaces"
    )]
    pub interface: Option<String>,

    /// List capture interfaces and exit.
    #[arg(long)]
    pub list_interfaces: bool,

    /// Bytes captured per packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: i32,

    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,

    /// Stop after this long (e.g. 30s, 5m, 1h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,

    /// Stop after this many packets.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Also write the captured packets to FILE as pcapng.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    #[command(flatten)]
    pub traffic: TrafficArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// Parses `30s`, `5m`, `1h`, `250ms` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{s}`: expected e.g. 30s, 5m, 1h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("invalid duration unit in `{s}`: use ms, s, m or h")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration `{s}`"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("0").unwrap(), 0);
        assert_eq!(parse_time("2026-11-01T12:00:00Z").unwrap(), 1_793_534_400);
        assert_eq!(parse_time("2000-02-29").unwrap(), 951_782_400);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-13-01").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s").unwrap().as_secs(), 30);
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse_duration("2").unwrap().as_secs(), 2);
        assert!(parse_duration("5 days").is_err());
    }
}
