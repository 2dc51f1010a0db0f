//! The `plainsight` binary: parse, run, map the outcome to an exit code.

use clap::Parser;
use plainsight::cli::Cli;
use plainsight::run::{self, Outcome};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("plainsight: error: {e:#}");
            ExitCode::from(Outcome::Failed.code())
        }
    }
}

/// `plainsight … | head` must end quietly.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
