//! `studio`: the Studio server and its command-line client.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use studio::{Cli, CliError, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => finish_server(server_runtime().and_then(|rt| {
            studio::server::init_tracing();
            rt.block_on(studio::server::serve(
                args,
                cli.client.token,
                github_token(),
            ))
        })),
        Command::Demo(args) => finish_server(server_runtime().and_then(|rt| {
            studio::server::init_tracing();
            rt.block_on(studio::demo::demo(args, cli.client.token, github_token()))
        })),
        Command::Migrate(args) => finish_server(server_runtime().and_then(|rt| {
            studio::server::init_tracing();
            rt.block_on(studio::server::migrate(args))
        })),
        Command::Gc(args) => finish_server(server_runtime().and_then(|rt| {
            studio::server::init_tracing();
            rt.block_on(studio::gc::gc(args))
        })),
        Command::Client(command) => finish(run_client(&cli.client, command)),
    }
}

/// `GITHUB_TOKEN`, read once and kept in a redacting wrapper from here on.
fn github_token() -> Option<studio_core::SecretToken> {
    std::env::var("GITHUB_TOKEN")
        .ok()
        .and_then(studio_core::SecretToken::new)
}

fn server_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Server errors: the whole chain of causes on stderr, exit code 1.
fn finish_server(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
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
