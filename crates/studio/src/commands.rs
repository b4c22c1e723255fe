//! Runs one client subcommand: builds the request from the arguments, calls the server, prints.

use std::io::{IsTerminal, Write};
use std::path::Path;

use futures::StreamExt;
use serde::Serialize;
use studio_wire::{
    CreateSandboxRequest, EventMessage, ExecuteCommand, ExecuteRequest, FinalizeRequest, LogRecord,
    OneOrMany, RollbackRequest,
};
use tokio::io::AsyncReadExt;

use crate::cli::{ClientCommand, ClientOptions, CreateArgs, ExecArgs, LogsArgs, RollbackArgs};
use crate::client::{Client, ClientError, Control, root_cause};
use crate::error::CliError;
use crate::output;
use crate::watch::{WatchOutput, watch};

pub async fn run(options: &ClientOptions, command: ClientCommand) -> Result<(), CliError> {
    let client = Client::new(options.server.clone(), options.token.clone())?;
    let mut out = Printer {
        json: options.json,
        stdout: std::io::stdout(),
    };
    match command {
        ClientCommand::Create(args) => {
            let created = client.create(&create_request(args)?).await?;
            out.print(&created, output::created)
        }
        ClientCommand::Ls => {
            let list = client.list().await?;
            out.print(&list, |l| output::sandbox_list(&l.sandboxes))
        }
        ClientCommand::Status(a) => out.print(&client.get(&a.id).await?, output::sandbox),
        ClientCommand::Exec(args) => {
            let id = args.id.clone();
            let executed = client.execute(&id, &exec_request(args).await?).await?;
            out.print(&executed, output::executed)
        }
        ClientCommand::Rollback(args) => {
            let rolled_back = client.rollback(&args.id, &rollback_request(&args)).await?;
            out.print(&rolled_back, output::rolled_back)
        }
        ClientCommand::Finalize(a) => {
            let request = FinalizeRequest {
                title: a.title,
                description: a.description,
            };
            out.print(&client.finalize(&a.id, &request).await?, output::finalized)
        }
        ClientCommand::Restart(a) => out.print(
            &client.control(&a.id, Control::Restart).await?,
            output::status_line,
        ),
        ClientCommand::Stop(a) => out.print(
            &client.control(&a.id, Control::Stop).await?,
            output::status_line,
        ),
        ClientCommand::Start(a) => out.print(
            &client.control(&a.id, Control::Start).await?,
            output::status_line,
        ),
        ClientCommand::Rm(a) => {
            client.delete(&a.id).await?;
            if options.json {
                Ok(())
            } else {
                out.write(&format!("deleted {}\n", a.id))
            }
        }
        ClientCommand::Logs(args) => logs(&client, args, &mut out).await,
        ClientCommand::Watch(a) => watch(&client, &a.id, a.since, &mut out).await,
        ClientCommand::Preview(a) => {
            let link = client.preview_link(&a.id).await?;
            if !options.json {
                notice(&format!(
                    "open this link once, before {} UTC (it sets this browser's preview cookie)",
                    output::timestamp(&link.expires_at)
                ));
            }
            out.print(&link, |l| format!("{}\n", l.url))
        }
        ClientCommand::Token(a) => {
            let made = client.create_token(&a.id, a.expires_in_hours).await?;
            if !options.json {
                notice(&format!(
                    "token {} for {} until {} UTC, shown this once; send it as \
                     `Authorization: Bearer <token>`",
                    made.id,
                    a.id,
                    output::timestamp(&made.expires_at)
                ));
            }
            out.print(&made, |t| format!("{}\n", t.token))
        }
    }
}

/// Writes to stdout: JSON with `--json`, the human rendering otherwise.
struct Printer {
    json: bool,
    stdout: std::io::Stdout,
}

impl Printer {
    fn write(&mut self, text: &str) -> Result<(), CliError> {
        let mut stdout = self.stdout.lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(CliError::Output)
    }

    fn print<T: Serialize>(
        &mut self,
        value: &T,
        human: impl Fn(&T) -> String,
    ) -> Result<(), CliError> {
        let text = if self.json {
            output::json(value)
        } else {
            human(value)
        };
        self.write(&text)
    }
}

impl WatchOutput for Printer {
    fn event(&mut self, raw: &str, event: &EventMessage) -> Result<(), CliError> {
        if self.json {
            self.write(&format!("{raw}\n"))
        } else {
            self.write(&output::event(event))
        }
    }

    fn notice(&mut self, message: &str) {
        notice(message);
    }
}

/// A remark for the person at the terminal; stderr keeps stdout parseable.
fn notice(message: &str) {
    let _ = writeln!(std::io::stderr(), "studio: {message}");
}

fn create_request(args: CreateArgs) -> Result<CreateSandboxRequest, CliError> {
    Ok(CreateSandboxRequest {
        branch: args.branch,
        // Always sent, so the request says what the flag meant whatever the server's default.
        auto_commit: Some(!args.no_auto_commit),
        commit_pattern: args.commit_pattern,
        timeout_hours: args.timeout_hours,
        max_restarts: args.max_restarts,
        components: non_empty(args.components).map(OneOrMany::Many),
        github_repo: args.github_repo,
        setup: non_empty(args.setup),
        wrapper: args.wrapper,
        ..CreateSandboxRequest::new(absolute_if_local(&args.repository)?)
    })
}

/// A repeatable flag given no times is left out of the request: the server's default applies.
fn non_empty(values: Vec<String>) -> Option<Vec<String>> {
    (!values.is_empty()).then_some(values)
}

/// A repository given as an existing local path is sent as an absolute path: the server resolves
/// paths from its own working directory, which is rarely the caller's.
pub fn absolute_if_local(repository: &str) -> Result<String, CliError> {
    let path = Path::new(repository);
    if repository.contains("://") || !path.exists() {
        return Ok(repository.to_owned());
    }
    let absolute = std::fs::canonicalize(path).map_err(|e| {
        CliError::Input(format!(
            "cannot resolve repository path {repository:?}: {e}"
        ))
    })?;
    absolute.to_str().map(str::to_owned).ok_or_else(|| {
        CliError::Input(format!(
            "repository path {} is not valid UTF-8",
            absolute.display()
        ))
    })
}

async fn exec_request(args: ExecArgs) -> Result<ExecuteRequest, CliError> {
    let (command, content) = if args.delete {
        (ExecuteCommand::DeleteFile, None)
    } else {
        (
            ExecuteCommand::WriteFile,
            Some(read_content(args.file.as_deref(), &args.file_path).await?),
        )
    };
    Ok(ExecuteRequest {
        command,
        file_path: args.file_path,
        content,
        description: args.description,
        expected_hash: None,
    })
}

/// The new file content, from `--file` or standard input. The API carries it as a JSON string,
/// so it must be UTF-8 text.
async fn read_content(file: Option<&Path>, target: &str) -> Result<String, CliError> {
    let (bytes, source) = match file {
        Some(file) => {
            let bytes = tokio::fs::read(file)
                .await
                .map_err(|e| CliError::Input(format!("cannot read {}: {e}", file.display())))?;
            (bytes, file.display().to_string())
        }
        None => {
            if std::io::stdin().is_terminal() {
                notice(&format!(
                    "reading the new content of {target} from standard input (end with Ctrl-D)"
                ));
            }
            let mut bytes = Vec::new();
            tokio::io::stdin()
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| CliError::Input(format!("cannot read standard input: {e}")))?;
            (bytes, "standard input".to_owned())
        }
    };
    String::from_utf8(bytes).map_err(|e| {
        CliError::Input(format!(
            "{source} is not UTF-8 text (invalid byte at offset {}); only text files can be written",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn rollback_request(args: &RollbackArgs) -> RollbackRequest {
    // clap guarantees exactly one of the two.
    match (&args.to, args.steps) {
        (Some(hash), _) => RollbackRequest::to_commit(hash.clone()),
        (None, steps) => RollbackRequest::by_steps(steps.unwrap_or(1)),
    }
}

async fn logs(client: &Client, args: LogsArgs, out: &mut Printer) -> Result<(), CliError> {
    if !args.follow {
        let logs = client.logs(&args.id, args.lines).await?;
        return out.print(&logs, |l| l.lines.iter().map(output::log_line).collect());
    }
    // Newline-delimited JSON until the renderer goes away: print each complete line as it lands.
    let response = client.follow_logs(&args.id, args.lines).await?;
    let mut body = response.bytes_stream();
    let mut pending = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ClientError::ConnectionLost {
            reason: root_cause(&e),
        })?;
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            print_follow_record(&line[..end], out)?;
        }
    }
    if !pending.is_empty() {
        print_follow_record(&pending, out)?;
    }
    Ok(())
}

fn print_follow_record(line: &[u8], out: &mut Printer) -> Result<(), CliError> {
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    if line.is_empty() {
        return Ok(());
    }
    if out.json {
        return out.write(&format!("{line}\n"));
    }
    match serde_json::from_str::<LogRecord>(line) {
        Ok(record) => out.write(&output::log_record(&record)),
        Err(e) => Err(ClientError::BadResponse {
            what: "log stream".into(),
            reason: e.to_string(),
        }
        .into()),
    }
}
