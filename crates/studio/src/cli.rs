//! The command line, as clap types. Parsing only: no I/O happens here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use studio_core::{SandboxId, SecretToken};
use url::Url;

/// The server the client talks to unless told otherwise.
pub const DEFAULT_SERVER: &str = studio_core::defaults::SERVER_URL;

/// Studio: live component-studio sandboxes for design tools.
#[derive(Debug, Parser)]
#[command(name = "studio", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub client: ClientOptions,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Studio server (REST + WebSocket API, renderers under the supervisor).
    Serve(crate::server::ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(crate::server::MigrateArgs),
    /// Remove the caches no sandbox needs past the bounds (least recently used first) and print
    /// what went and the bytes freed.
    Gc(crate::gc::GcArgs),
    /// Start a server, create a sandbox on the bundled examples/design-system, print its URLs.
    Demo(crate::server::ServeArgs),
    /// The subcommands that talk to a running server.
    #[command(flatten)]
    Client(ClientCommand),
}

/// How to reach the server; accepted before or after the subcommand.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server options")]
pub struct ClientOptions {
    /// Base URL of the Studio server.
    #[arg(long, global = true, env = "STUDIO_URL", default_value = DEFAULT_SERVER,
          value_name = "URL", value_parser = parse_server_url)]
    pub server: Url,
    /// API token, sent as `Authorization: Bearer <token>`.
    #[arg(long, global = true, env = "STUDIO_API_TOKEN", hide_env_values = true,
          value_name = "TOKEN", value_parser = parse_token)]
    pub token: Option<SecretToken>,
    /// Print the server's JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ClientCommand {
    /// Create a sandbox on a repository; returns once its renderer is up.
    Create(CreateArgs),
    /// List the sandboxes.
    #[command(visible_alias = "list")]
    Ls,
    /// Show one sandbox and its commits.
    Status(SandboxArg),
    /// Write one file of a sandbox (content from --file or standard input), or delete it.
    Exec(ExecArgs),
    /// Move a sandbox's branch back; commits rolled back past are kept, not destroyed.
    Rollback(RollbackArgs),
    /// Push the branch, open a pull request, and tear the sandbox down.
    Finalize(FinalizeArgs),
    /// Restart the renderer.
    Restart(SandboxArg),
    /// Stop the renderer (the checkout stays).
    Stop(SandboxArg),
    /// Start a stopped renderer.
    Start(SandboxArg),
    /// Delete a sandbox: processes stopped, port released.
    #[command(visible_alias = "delete")]
    Rm(SandboxArg),
    /// Show the renderer's recent output.
    Logs(LogsArgs),
    /// Print a sandbox's live events (status, commits, reloads, errors) as they happen.
    Watch(WatchArgs),
    /// Print a one-time link that opens a sandbox's preview in a browser (needed when the server
    /// has an API token).
    Preview(SandboxArg),
    /// Make a token for a design tool that may call this one sandbox's endpoints; prints it once.
    Token(TokenArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SandboxArg {
    /// Sandbox id (`sb_<hex>`).
    pub id: SandboxId,
}

#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Git URL, `file://` URL or local path of the repository.
    pub repository: String,
    /// Base branch (default: the repository's default branch).
    #[arg(long)]
    pub branch: Option<String>,
    /// Write files without committing them.
    #[arg(long)]
    pub no_auto_commit: bool,
    /// Commit message pattern, e.g. 'AI: {description} - {timestamp}'.
    #[arg(long, value_name = "PATTERN")]
    pub commit_pattern: Option<String>,
    /// Inactivity timeout in hours (decimal, e.g. 0.5).
    #[arg(long, value_name = "HOURS", value_parser = parse_hours, allow_negative_numbers = true)]
    pub timeout_hours: Option<f64>,
    /// Crashes tolerated before the sandbox is `failed`.
    #[arg(long, value_name = "N")]
    pub max_restarts: Option<u32>,
    /// Glob(s) of component files (default: src/components/**/*.{tsx,jsx}).
    #[arg(long, value_name = "GLOB", num_args = 1..)]
    pub components: Vec<String>,
    /// GitHub repository for the pull request (default: derived from the repository URL).
    #[arg(long, value_name = "OWNER/NAME", value_parser = parse_github_repo)]
    pub github_repo: Option<String>,
    /// Repository paths imported before any component (design tokens, global CSS).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub setup: Vec<String>,
    /// Provider component wrapping each rendered component.
    #[arg(long, value_name = "PATH#EXPORT", value_parser = parse_wrapper)]
    pub wrapper: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    pub id: SandboxId,
    /// Path of the file, relative to the repository root.
    pub file_path: String,
    /// Read the new content from this file instead of standard input.
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "delete")]
    pub file: Option<PathBuf>,
    /// What the change does; goes into the commit message.
    #[arg(long, short = 'd', value_name = "TEXT")]
    pub description: Option<String>,
    /// Delete the file instead of writing it.
    #[arg(long)]
    pub delete: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    pub id: SandboxId,
    /// Go back this many commits.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          required_unless_present = "to", conflicts_with = "to")]
    pub steps: Option<u32>,
    /// Go back to this commit of the session's branch.
    #[arg(long, value_name = "HASH", value_parser = parse_commit_hash)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct FinalizeArgs {
    pub id: SandboxId,
    /// Pull request title.
    #[arg(long)]
    pub title: String,
    /// Pull request description.
    #[arg(long, short = 'd', value_name = "TEXT")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    pub id: SandboxId,
    /// Keep printing new output as it arrives.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How many recent lines to show first.
    #[arg(long, short = 'n', value_name = "N")]
    pub lines: Option<usize>,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    pub id: SandboxId,
    /// First replay the events after this sequence number.
    #[arg(long, value_name = "SEQ")]
    pub since: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    pub id: SandboxId,
    /// How long the token works, in hours (1 to 720; default 24).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=720))]
    pub expires_in_hours: Option<u32>,
}

/// Accepts `host:port` too, as people type it, and reads it as `http://host:port`.
pub fn parse_server_url(s: &str) -> Result<Url, String> {
    if s.trim().is_empty() {
        return Err(format!(
            "the server URL is empty (give a URL, or unset STUDIO_URL for {DEFAULT_SERVER})"
        ));
    }
    let with_scheme = if s.contains("://") {
        s.to_owned()
    } else {
        format!("http://{s}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the server URL must use http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the server URL has no host".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the server URL must not have a query or fragment".to_owned());
    }
    Ok(url)
}

fn parse_token(s: &str) -> Result<SecretToken, String> {
    SecretToken::new(s).ok_or_else(|| "the API token is empty".to_owned())
}

fn parse_hours(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 => Ok(h),
        _ => Err(format!(
            "{s:?} is not a positive number of hours (e.g. 4 or 0.5)"
        )),
    }
}

fn parse_github_repo(s: &str) -> Result<String, String> {
    let valid_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match s.split_once('/') {
        Some((owner, name)) if valid_part(owner) && valid_part(name) => Ok(s.to_owned()),
        _ => Err(format!(
            "{s:?} is not a GitHub repository of the form owner/name"
        )),
    }
}

fn parse_wrapper(s: &str) -> Result<String, String> {
    let is_identifier = |e: &str| {
        e.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && e.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    match s.split_once('#') {
        Some((path, export)) if !path.is_empty() && is_identifier(export) => Ok(s.to_owned()),
        _ => Err(format!(
            "{s:?} is not of the form path#Export (e.g. src/theme.tsx#ThemeProvider)"
        )),
    }
}

fn parse_commit_hash(s: &str) -> Result<String, String> {
    if (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("{s:?} is not a commit hash (4 to 40 hex digits)"))
    }
}
