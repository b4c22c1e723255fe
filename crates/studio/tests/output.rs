//! Human output rendered from the response samples of docs/api.md.

use serde_json::json;
use studio::output;
use studio_wire::{
    CreateSandboxResponse as Created, EventMessage as WireEvent, ExecuteResponse as Executed,
    FinalizeResponse as Finalized, LogRecord, RollbackResponse as RolledBack, SandboxList,
    SandboxView as Sandbox,
};

const HASH_1: &str = "8f3c2a1b9d4e5f60718293a4b5c6d7e8f9012345";
const HASH_2: &str = "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678";

fn sandbox(id: &str, status: &str, commits: usize) -> serde_json::Value {
    let git_commits: Vec<_> = [HASH_1, HASH_2]
        .iter()
        .take(commits)
        .map(|h| json!({"hash": h, "message": "AI: Updated border-radius - 2026-11-22 14:30", "timestamp": "2026-11-22T14:30:12Z"}))
        .collect();
    json!({
        "id": id, "status": status,
        "renderer_url": "http://127.0.0.1:5173/",
        "websocket_url": format!("ws://127.0.0.1:7700/api/v1/sandboxes/{id}/ws"),
        "repository": "https://github.com/acme/design-system.git",
        "branch": format!("design/studio-{}", &id[3..]), "base_branch": "main",
        "git_commits": git_commits,
        "restarts": 0, "created_at": "2026-11-22T14:00:00Z", "last_activity": "2026-11-22T14:30:12.345+02:00"
    })
}

#[test]
fn the_list_is_an_aligned_table() {
    let list: SandboxList = serde_json::from_value(json!({"sandboxes": [
        sandbox("sb_0123456789abcdef", "running", 2),
        sandbox("sb_fedcba9876543210", "stopped", 0),
    ]}))
    .unwrap();
    let table = output::sandbox_list(&list.sandboxes);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with(
            "ID                   STATUS   COMMITS  RESTARTS  LAST ACTIVITY (UTC)  RENDERER"
        ),
        "{table}"
    );
    assert!(lines[1].starts_with("sb_0123456789abcdef  running  2        0         2026-11-22 12:30:12  http://127.0.0.1:5173/"), "{table}");
    assert!(
        lines[2].starts_with("sb_fedcba9876543210  stopped  0        0"),
        "{table}"
    );
    // Every column starts at the same offset on every line; nothing trails.
    let column = |line: &str| line.find("RENDERER").or_else(|| line.find("http://"));
    assert_eq!(column(lines[0]), column(lines[1]));
    assert!(table.lines().all(|l| !l.ends_with(' ')));

    assert_eq!(output::sandbox_list(&[]), "no sandboxes\n");
}

#[test]
fn status_shows_the_sandbox_and_its_commits() {
    let mut body = sandbox("sb_0123456789abcdef", "failed", 2);
    body["renderer_url"] = json!(null);
    body["error"] = json!("vite exited with status 1");
    let s: Sandbox = serde_json::from_value(body).unwrap();
    let text = output::sandbox(&s);
    assert!(text.contains("status         failed\n"), "{text}");
    assert!(
        text.contains("branch         design/studio-0123456789abcdef (from main)\n"),
        "{text}"
    );
    assert!(text.contains("renderer       -\n"), "{text}");
    assert!(
        !text.contains("memory"),
        "no renderer, no resources: {text}"
    );
    assert!(
        text.contains("error          vite exited with status 1\n"),
        "{text}"
    );
    assert!(
        text.contains("COMMIT        TIME (UTC)           MESSAGE\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "8f3c2a1b9d4e  2026-11-22 14:30:12  AI: Updated border-radius - 2026-11-22 14:30\n"
        ),
        "{text}"
    );
}

#[test]
fn status_shows_what_a_running_renderer_uses() {
    let mut body = sandbox("sb_0123456789abcdef", "running", 0);
    body["resources"] = json!({"memory_bytes": 157_286_400, "cpu_usage_usec": 2_460_000});
    let s: Sandbox = serde_json::from_value(body).unwrap();
    let text = output::sandbox(&s);
    assert!(text.contains("memory         150.0 MiB\n"), "{text}");
    assert!(text.contains("cpu time       2.5 s\n"), "{text}");
}

#[test]
fn answers_of_the_other_commands() {
    let created: Created = serde_json::from_value(json!({
        "sandbox_id": "sb_0123456789abcdef", "renderer_url": "http://127.0.0.1:5173/",
        "websocket_url": "ws://127.0.0.1:7700/api/v1/sandboxes/sb_0123456789abcdef/ws",
        "branch": "design/studio-0123456789abcdef", "status": "running"}))
    .unwrap();
    let text = output::created(&created);
    assert!(
        text.starts_with("sandbox    sb_0123456789abcdef\nstatus     running\n"),
        "{text}"
    );

    let written: Executed = serde_json::from_value(
        json!({"output": "File written successfully", "commit_hash": HASH_1}),
    )
    .unwrap();
    assert_eq!(
        output::executed(&written),
        "File written successfully (commit 8f3c2a1b9d4e)\n"
    );
    let uncommitted: Executed =
        serde_json::from_value(json!({"output": "File written successfully", "commit_hash": null}))
            .unwrap();
    assert_eq!(
        output::executed(&uncommitted),
        "File written successfully (nothing committed)\n"
    );

    let rolled: RolledBack =
        serde_json::from_value(json!({"success": true, "current_hash": HASH_2})).unwrap();
    assert_eq!(
        output::rolled_back(&rolled),
        format!("rolled back; the branch is now at {HASH_2}\n")
    );
    let pr: Finalized = serde_json::from_value(
        json!({"pr_url": "https://github.com/acme/ui/pull/123", "pr_number": 123}),
    )
    .unwrap();
    assert_eq!(
        output::finalized(&pr),
        "pull request #123 opened: https://github.com/acme/ui/pull/123\n"
    );
}

#[test]
fn json_mode_prints_what_the_server_sent() {
    let body = sandbox("sb_0123456789abcdef", "running", 1);
    let mut with_extension = body.clone();
    with_extension["pr_number"] = json!(7);
    let parsed: Sandbox = serde_json::from_value(with_extension.clone()).unwrap();
    let printed: serde_json::Value = serde_json::from_str(&output::json(&parsed)).unwrap();
    assert_eq!(printed, with_extension);
}

#[test]
fn events_and_log_lines() {
    let event = |v| output::event(&serde_json::from_value::<WireEvent>(v).unwrap());
    assert_eq!(
        event(
            json!({"type": "commit", "payload": {"hash": HASH_1, "message": "AI: x"}, "seq": 12})
        ),
        "    12  commit              8f3c2a1b9d4e  AI: x\n"
    );
    assert_eq!(
        event(json!({"type": "status", "payload": {"status": "running"}, "seq": 3})),
        "     3  status              running\n"
    );
    assert_eq!(
        event(json!({"type": "component-selected", "payload": {"component": "Button"}, "seq": 4})),
        "     4  component-selected  Button\n"
    );
    assert_eq!(
        event(json!({"type": "reload", "payload": {"commit_hash": HASH_2}, "seq": 5})),
        "     5  reload              page reload at 1a2b3c4d5e6f\n"
    );
    // Unknown types and replies without seq still print, with their payload as JSON.
    assert_eq!(
        event(
            json!({"type": "error", "payload": {"error": "bad message", "code": "invalid_message"}})
        ),
        "     -  error               bad message\n"
    );
    assert_eq!(
        event(json!({"type": "expiring", "payload": {"in_seconds": 60}, "seq": 9})),
        "     9  expiring            {\"in_seconds\":60}\n"
    );

    let line: LogRecord = serde_json::from_str(
        r#"{"timestamp":"2026-11-22T14:30:05.123Z","stream":"stderr","line":"Error: boom"}"#,
    )
    .unwrap();
    assert_eq!(output::log_record(&line), "14:30:05 err | Error: boom\n");
    assert_eq!(
        output::log_record(&LogRecord::Skipped { skipped: 4 }),
        "… 4 lines skipped (this terminal fell behind)\n"
    );
}
