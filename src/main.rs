//! The `osdoctor` binary: parse the command line, call the library, map the verdict to the exit code.

mod cmd;

use std::io;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use osdoctor::cli::{Cli, Command};
use osdoctor::report;

/// Exit code for usage errors, unreadable roots, rules that do not load: UNKNOWN, never CRITICAL.
const EXIT_UNKNOWN: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                // clap exits 2 on usage errors; 2 means CRITICAL to a monitoring system.
                _ => ExitCode::from(EXIT_UNKNOWN),
            };
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(EXIT_UNKNOWN);
            }
            eprintln!("osdoctor: {e:#}");
            ExitCode::from(EXIT_UNKNOWN)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Cgroup(args) => cmd::cgroup::run(args),
        Command::Snapshot(args) => cmd::snapshot::run(args),
        Command::KernelLog(args) => cmd::kernel_log::run(args),
        Command::Rules { action } => cmd::rules::run(action),
        Command::Completions { shell } => cmd::completions::run(shell),
        Command::Schema => {
            cmd::write_out(report::schema::SCHEMA.as_bytes())?;
            Ok(0)
        }
    }
}
