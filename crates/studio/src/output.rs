//! What the commands print: aligned tables and key/value blocks for people, JSON for scripts.
//!
//! Every function here is pure (values in, text out) so the layout is tested without a server.

use serde::Serialize;
use serde_json::Value;
use studio_wire::{
    CommitView, CreateSandboxResponse, EventMessage, ExecuteResponse, FinalizeResponse,
    LogLineView, LogRecord, RollbackResponse, SandboxView,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Columns separated by two spaces, each as wide as its widest cell; no trailing spaces.
#[derive(Debug, Clone, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<const N: usize>(header: [&str; N]) -> Self {
        Self {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths[c].saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key  value` lines with the values aligned.
fn key_values(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}

/// Pretty JSON for `--json`. Serialising our own response types cannot fail; should it ever,
/// the error is printed rather than hidden.
pub fn json<T: Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(text) => text + "\n",
        Err(e) => format!("{{\"error\": \"cannot render JSON: {e}\"}}\n"),
    }
}

/// `2026-11-22T14:30:05.123Z` -> `2026-11-22 14:30:05` (UTC); anything unparsable as given.
pub fn timestamp(rfc3339: &str) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&format).ok())
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// The first 12 hex digits, enough to be unique in a session and to paste into `--to`.
pub fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

pub fn sandbox_list(sandboxes: &[SandboxView]) -> String {
    if sandboxes.is_empty() {
        return "no sandboxes\n".to_owned();
    }
    let mut table = Table::new([
        "ID",
        "STATUS",
        "COMMITS",
        "RESTARTS",
        "LAST ACTIVITY (UTC)",
        "RENDERER",
        "REPOSITORY",
    ]);
    for s in sandboxes {
        table.row(vec![
            s.id.clone(),
            s.status.clone(),
            s.git_commits.len().to_string(),
            s.restarts.to_string(),
            timestamp(&s.last_activity),
            s.renderer_url.clone().unwrap_or_else(|| "-".into()),
            s.repository.clone(),
        ]);
    }
    table.render()
}

pub fn sandbox(s: &SandboxView) -> String {
    let mut pairs = vec![
        ("id", s.id.clone()),
        ("status", s.status.clone()),
        ("repository", s.repository.clone()),
        ("branch", format!("{} (from {})", s.branch, s.base_branch)),
        (
            "renderer",
            s.renderer_url.clone().unwrap_or_else(|| "-".into()),
        ),
        ("websocket", s.websocket_url.clone()),
        ("restarts", s.restarts.to_string()),
        ("created", timestamp(&s.created_at)),
        ("last activity", timestamp(&s.last_activity)),
    ];
    if let Some(used) = &s.resources {
        pairs.push(("memory", mebibytes(used.memory_bytes)));
        pairs.push((
            "cpu time",
            format!("{:.1} s", used.cpu_usage_usec as f64 / 1e6),
        ));
    }
    if let Some(url) = &s.pr_url {
        pairs.push(("pull request", url.clone()));
    }
    if let Some(error) = &s.error {
        pairs.push(("error", error.clone()));
    }
    let mut out = key_values(&pairs);
    out.push('\n');
    out.push_str(&commits(&s.git_commits));
    out
}

/// `104857600` -> `100.0 MiB`.
fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

pub fn commits(commits: &[CommitView]) -> String {
    if commits.is_empty() {
        return "no commits yet\n".to_owned();
    }
    let mut table = Table::new(["COMMIT", "TIME (UTC)", "MESSAGE"]);
    for c in commits {
        table.row(vec![
            short_hash(&c.hash).to_owned(),
            timestamp(&c.timestamp),
            c.message.clone(),
        ]);
    }
    table.render()
}

pub fn created(c: &CreateSandboxResponse) -> String {
    key_values(&[
        ("sandbox", c.sandbox_id.clone()),
        ("status", c.status.clone()),
        ("branch", c.branch.clone()),
        ("renderer", c.renderer_url.clone()),
        ("websocket", c.websocket_url.clone()),
    ])
}

pub fn executed(e: &ExecuteResponse) -> String {
    match &e.commit_hash {
        Some(hash) => format!("{} (commit {})\n", e.output, short_hash(hash)),
        None => format!("{} (nothing committed)\n", e.output),
    }
}

pub fn rolled_back(r: &RollbackResponse) -> String {
    format!("rolled back; the branch is now at {}\n", r.current_hash)
}

pub fn finalized(f: &FinalizeResponse) -> String {
    format!("pull request #{} opened: {}\n", f.pr_number, f.pr_url)
}

pub fn status_line(s: &SandboxView) -> String {
    format!("{}  {}\n", s.id, s.status)
}

pub fn log_line(l: &LogLineView) -> String {
    let time = OffsetDateTime::parse(&l.timestamp, &Rfc3339)
        .ok()
        .and_then(|t| {
            t.to_offset(time::UtcOffset::UTC)
                .format(format_description!("[hour]:[minute]:[second]"))
                .ok()
        })
        .unwrap_or_else(|| l.timestamp.clone());
    let stream = if l.stream == "stderr" { "err" } else { "out" };
    format!("{time} {stream} | {}\n", l.line)
}

pub fn log_record(r: &LogRecord) -> String {
    match r {
        LogRecord::Line(line) => log_line(line),
        LogRecord::Skipped { skipped } => {
            format!("… {skipped} lines skipped (this terminal fell behind)\n")
        }
    }
}

/// One event of `watch`: `seq`, type, and the payload summarised for its type.
pub fn event(e: &EventMessage) -> String {
    let seq = e.seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let text = |key: &str| {
        e.payload
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let summary = match e.kind.as_str() {
        "status" => text("status"),
        "error" => text("error"),
        "reload" => text("commit_hash").map(|h| format!("page reload at {}", short_hash(&h))),
        "commit" => match (text("hash"), text("message")) {
            (Some(hash), Some(message)) => Some(format!("{}  {message}", short_hash(&hash))),
            _ => None,
        },
        "component-selected" => text("component"),
        _ => None,
    }
    .unwrap_or_else(|| e.payload.to_string());
    format!("{seq:>6}  {:<18}  {summary}\n", e.kind)
}
