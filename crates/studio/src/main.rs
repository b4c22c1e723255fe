//! `studio`: the Studio server and its command-line client.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use studio::{Cli, CliError, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Client(command) => finish(run_client(&cli.client, command)),
    }
}

fn run_client(
    options: &studio::ClientOptions,
    command: studio::ClientCommand,
) -> Result<(), CliError> {
    // The client does one thing at a time; a single-threaded runtime starts fastest.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Input(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(studio::commands::run(options, command))
}

/// Turns the outcome into the process's exit: `error: <message> (<code>)` on stderr.
fn finish(outcome: Result<(), CliError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{}", e.report());
            ExitCode::from(e.exit_code())
        }
    }
}
