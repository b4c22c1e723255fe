//! Logs: a bounded ring buffer whose tail is exact, that survives restarts, with live subscribers.

mod common;

use std::time::Duration;

use common::*;
use studio_supervisor::{LogLimits, LogStream, UnitSpec};

/// Line `i` of the test output: varying lengths, some multi-byte characters.
fn line(i: usize) -> String {
    format!("line {i:07} {} é€", "x".repeat(i % 97))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_of_stdout_leave_a_byte_exact_tail() {
    let sup = supervisor();
    let total_lines = 155_000; // about 10.5 MB with the lengths above
    let script = format!(
        "const lines = []; for (let i = 0; i < {total_lines}; i++) lines.push(`line ${{String(i).padStart(7, '0')}} ${{'x'.repeat(i % 97)}} é€`);\n\
         const data = lines.join('\\n') + '\\n';\n\
         process.stdout.write(data, () => {{ console.error('bytes ' + Buffer.byteLength(data)); setInterval(() => {{}}, 1000); }});"
    );
    let spec = UnitSpec {
        program: "node".into(),
        args: vec!["-e".into(), script],
        log_limits: LogLimits {
            max_lines: 20_000,
            max_bytes: 1 << 20,
            max_line_bytes: 16 << 10,
            ..LogLimits::default()
        },
        ..shell("firehose", "")
    };
    let unit = sup.add(spec).await.unwrap();
    unit.start().await.unwrap();
    let last = line(total_lines - 1);
    eventually(
        "the last line and the byte count",
        Duration::from_secs(60),
        || {
            let recent = unit.logs(50);
            recent
                .iter()
                .any(|l| l.stream == LogStream::Stdout && l.text == last)
                && recent.iter().any(|l| l.text.starts_with("bytes "))
        },
    )
    .await;

    let written: usize = unit
        .logs(50)
        .iter()
        .find_map(|l| l.text.strip_prefix("bytes ")?.parse().ok())
        .unwrap_or(0);
    assert!(written > 10_000_000, "only {written} bytes written");
    let tail: Vec<String> = unit
        .logs(usize::MAX)
        .into_iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| l.text)
        .collect();
    let kept: usize = tail.iter().map(String::len).sum();
    assert!(
        tail.len() > 1_000 && kept <= 1 << 20,
        "{} lines, {kept} bytes kept",
        tail.len()
    );
    let expected: Vec<String> = (total_lines - tail.len()..total_lines).map(line).collect();
    assert!(tail == expected, "the tail differs from what was written");
    sup.shutdown().await;
}

#[tokio::test]
async fn logs_survive_restarts_and_reach_live_subscribers() {
    let sup = supervisor();
    let unit = sup
        .add(shell("chatty", "echo hello from $$; exec sleep 300"))
        .await
        .unwrap();
    let mut live = unit.subscribe_logs();
    let mut next_stdout_line = async || {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let line = live.recv().await.unwrap();
                if line.stream == LogStream::Stdout {
                    return line.text;
                }
            }
        })
        .await
        .unwrap()
    };
    let first = unit.start().await.unwrap().pid.unwrap();
    assert_eq!(next_stdout_line().await, format!("hello from {first}"));
    let second = unit.restart().await.unwrap().pid.unwrap();
    assert_eq!(next_stdout_line().await, format!("hello from {second}"));
    let expect = [
        format!("hello from {first}"),
        format!("hello from {second}"),
    ];
    let buffered: Vec<String> = unit.logs(100).into_iter().map(|l| l.text).collect();
    for wanted in &expect {
        assert!(buffered.contains(wanted), "{buffered:?}");
    }
    sup.shutdown().await;
}
