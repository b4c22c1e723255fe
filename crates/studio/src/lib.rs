//! The `studio` binary's command-line client: the subcommands a person (or a script) uses to drive
//! a running Studio server over its public REST and WebSocket API (`docs/api.md`).
//!
//! * [`cli`]: the command line (clap types), parsing only;
//! * [`client`]: a typed HTTP client whose errors carry the server's `{"error", "code"}`; it reads
//!   and writes `studio_wire`'s types, the very ones the server answers with;
//! * [`output`]: tables and key/value blocks for people, JSON for scripts (`--json`);
//! * [`commands`]: one function that runs a client subcommand; [`watch`]: the event stream;
//! * [`error`]: the `error: <message> (<code>)` line and the exit codes.

pub mod cli;
pub mod client;
pub mod commands;
pub mod demo;
pub mod error;
pub mod gc;
pub mod output;
pub mod server;
pub mod store_bounds;
pub mod watch;

pub use cli::{Cli, ClientCommand, ClientOptions, Command};
pub use client::{Client, ClientError};
pub use error::CliError;
