//! The `plainsight` binary: parse, run, map the outcome to an exit code.

use clap::Parser;
use plainsight::cli::Cli;
use plainsight::run::{self, Outcome};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A bug must still end as one clear line and exit code 2, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("plainsight: internal error{at}: {msg} (this is a bug, please report it)");
    }));
    let cli = Cli::parse();
    match std::panic::catch_unwind(|| run::run(cli)) {
        Ok(Ok(outcome)) => ExitCode::from(outcome.code()),
        Ok(Err(e)) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("plainsight: error: {e:#}");
            ExitCode::from(Outcome::Failed.code())
        }
        Err(_) => ExitCode::from(Outcome::Failed.code()),
    }
}

/// `plainsight … | head` must end quietly.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
