//! The `studio` binary's command-line client: the subcommands a person (or a script) uses to drive
//! a running Studio server over its public REST and WebSocket API (`shared/API.md`).
//!
//! * [`cli`]: the command line (clap types), parsing only;
//! * [`client`]: a typed HTTP client whose errors carry the server's `{"error", "code"}`;
//! * [`api`]: the wire types;
//! * [`output`]: tables and key/value blocks for people, JSON for scripts (`--json`);
//! * [`commands`]: one function that runs a client subcommand; [`watch`]: the event stream;
//! * [`error`]: the `error: <message> (<code>)` line and the exit codes.

pub mod api;
pub mod cli;
pub mod client;
pub mod commands;
pub mod demo;
pub mod error;
pub mod output;
pub mod server;
pub mod watch;

pub use cli::{Cli, ClientCommand, ClientOptions, Command};
pub use client::{Client, ClientError};
pub use error::CliError;
