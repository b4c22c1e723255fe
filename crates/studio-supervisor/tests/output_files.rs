//! Output to files (`SupervisorConfig::log_dir`): a unit that logs while no supervisor is alive
//! survives and is re-adopted with what it wrote meanwhile; files are capped and rotated.

mod common;

use std::path::Path;
use std::time::Duration;

use common::host::Host;
use common::*;
use studio_supervisor::{AdoptionRecord, LogLimits, LogStream, SupervisorConfig, UnitSpec};

/// The highest `tick <n>` line in `file` (0 if none yet).
fn last_tick(file: &Path) -> u64 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("tick ")?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// With pipes, the first line the unit writes after the supervisor's SIGKILL kills it (SIGPIPE:
/// nobody reads the pipe any more). With files it keeps writing, and the next supervisor adopts
/// the same process, unrestarted, with the lines written while no supervisor existed.
#[tokio::test]
async fn a_unit_logging_while_no_supervisor_lives_survives_and_its_lines_are_replayed() {
    let dir = tempfile::Builder::new().prefix("logs-").tempdir().unwrap();
    let log_dir = format!("--log-dir={}", dir.path().display());
    let spec = shell(
        "ticker",
        "i=0; while :; do i=$((i+1)); echo tick $i; echo err $i >&2; sleep 0.01; done",
    );
    let spec = serde_json::to_string(&spec).unwrap();

    let mut first = Host::spawn_with_args(&["run", &log_dir], std::slice::from_ref(&spec));
    let running = first.next("running");
    assert_eq!(running["status"]["state"], "running", "{running}");
    let record: AdoptionRecord = serde_json::from_value(running["record"].clone()).unwrap();
    let tailed = first.next("log");
    assert!(
        tailed["line"]["text"]
            .as_str()
            .unwrap()
            .starts_with("tick ")
            || tailed["line"]["text"].as_str().unwrap().starts_with("err "),
        "{tailed}"
    );

    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let out = dir.path().join("ticker.out");
    let at_kill = last_tick(&out);
    // Forty lines written with no supervisor alive (a pipe would have killed the unit at the
    // first one).
    eventually(
        "lines written while no supervisor lives",
        Duration::from_secs(20),
        || last_tick(&out) >= at_kill + 40 || !alive(record.pid),
    )
    .await;
    assert!(alive(record.pid), "the unit died while no supervisor lived");

    let mut second = Host::spawn_with_args(
        &["adopt", &log_dir],
        &[spec, serde_json::to_string(&record).unwrap()],
    );
    let adopted = second.next("running");
    assert_eq!(adopted["status"]["state"], "running", "{adopted}");
    assert_eq!(
        adopted["status"]["pid"], record.pid,
        "the unit was restarted"
    );
    assert_eq!(adopted["status"]["restarts"], 0);

    // Replayed from the files: lines of both streams written while no supervisor lived.
    second.send("logs");
    let logs = second.next("logs");
    let lines = logs["lines"].as_array().unwrap();
    let has = |stream: &str, text: String| {
        lines
            .iter()
            .any(|l| l["stream"] == stream && l["text"] == text.as_str())
    };
    for n in [at_kill + 1, at_kill + 20, at_kill + 39] {
        assert!(has("stdout", format!("tick {n}")), "tick {n} missing");
        assert!(has("stderr", format!("err {n}")), "err {n} missing");
    }
    // And new lines reach the new supervisor live.
    let live = second.next("log");
    let number: u64 = live["line"]["text"]
        .as_str()
        .and_then(|t| t.split_once(' '))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0);
    assert!(number >= at_kill + 40, "{live}");

    second.send("status");
    let status = second.next("status");
    assert_eq!(status["status"]["pid"], record.pid, "{status}");
    assert_eq!(status["status"]["restarts"], 0, "{status}");
    second.send("stop");
    let stopped = second.next("stopped");
    assert_eq!(stopped["outcome"]["Ok"]["state"], "stopped", "{stopped}");
    assert!(!alive(record.pid), "the adopted unit survived its stop");
    drop(second.stdin.take());
    assert!(second.child.wait().unwrap().success());
}

/// A unit writing nine times the cap: the file settles within the cap, the previous
/// generation is kept as `.1`, and the ring holds the newest lines in order.
#[tokio::test]
async fn an_output_file_over_its_cap_is_rotated_and_the_ring_keeps_the_newest_lines() {
    let dir = tempfile::Builder::new().prefix("logs-").tempdir().unwrap();
    let sup = supervisor_with(SupervisorConfig {
        log_dir: Some(dir.path().to_owned()),
        ..SupervisorConfig::default()
    });
    let cap: u64 = 64 << 10;
    let total = 20_000;
    // 200 lines of 34 bytes per burst, a millisecond apart: many rotations while writing.
    let script = format!(
        "let i = 0;\n\
         const burst = () => {{\n\
           let s = '';\n\
           for (let k = 0; k < 200 && i < {total}; k++, i++) s += `line ${{String(i).padStart(7, '0')}} ${{'x'.repeat(20)}}\\n`;\n\
           process.stdout.write(s);\n\
           if (i < {total}) setTimeout(burst, 1);\n\
           else {{ process.stdout.write('done\\n'); setInterval(() => {{}}, 1000); }}\n\
         }};\n\
         burst();"
    );
    let spec = UnitSpec {
        program: "node".into(),
        args: vec!["-e".into(), script],
        log_limits: LogLimits {
            max_lines: 1_000,
            max_file_bytes: cap,
            ..LogLimits::default()
        },
        ..shell("firehose-file", "")
    };
    let unit = sup.add(spec).await.unwrap();
    let pid = unit.start().await.unwrap().pid.unwrap();
    eventually("the last line", Duration::from_secs(60), || {
        unit.logs(5).iter().any(|l| l.text == "done")
    })
    .await;

    // The tailer rotates right after the read that went past the cap, so "done" can be in the
    // ring a moment before the file is truncated; and a tailer that lags behind a busy writer
    // (a loaded machine) finds the file well past the cap. The bound is what it settles to once
    // the writer is quiet: never more than the cap, where it would grow to 680 kB unrotated.
    let file = dir.path().join("firehose-file.out");
    let size = || std::fs::metadata(&file).unwrap().len();
    eventually("the file within its cap", Duration::from_secs(10), || {
        size() <= cap
    })
    .await;
    let previous = std::fs::read_to_string(dir.path().join("firehose-file.out.1")).unwrap();
    assert!(
        previous.len() as u64 > cap && previous.ends_with('\n'),
        "the old generation has {} bytes",
        previous.len()
    );
    let last = format!("line {:07} {}", total - 1, "x".repeat(20));
    let lines: Vec<String> = unit
        .logs(usize::MAX)
        .into_iter()
        .filter(|l| l.stream == LogStream::Stdout)
        .map(|l| l.text)
        .collect();
    assert_eq!(lines.len(), 1_000);
    assert_eq!(lines[lines.len() - 2], last);
    let numbers: Vec<u64> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l[5..12].parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "lines out of order"
    );
    let status = unit.status();
    assert_eq!((status.pid, status.restarts), (Some(pid), 0));
    sup.shutdown().await;
}

/// The files are opened by the supervisor before the fork: a unit that drops to another uid
/// (`run_as`) writes to them although it could not open them itself (0600, in a 0700 directory).
#[tokio::test]
async fn a_unit_run_as_another_user_writes_to_files_it_cannot_open() {
    let dir = tempfile::Builder::new().prefix("logs-").tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let sup = supervisor_with(SupervisorConfig {
        log_dir: Some(log_dir.clone()),
        ..SupervisorConfig::default()
    });
    let mut spec = shell("nobody-logs", "id -u; echo to stderr >&2; exec sleep 300");
    spec.cwd = "/".into();
    // `nobody`: a user that exists on every Debian host and owns nothing here.
    spec.run_as = Some(studio_supervisor::RunAs {
        uid: 65534,
        gid: 65534,
    });
    let unit = sup.add(spec).await.unwrap();
    unit.start().await.unwrap();
    eventually("both lines", Duration::from_secs(10), || {
        let lines = unit.logs(10);
        lines
            .iter()
            .any(|l| l.stream == LogStream::Stdout && l.text == "65534")
            && lines
                .iter()
                .any(|l| l.stream == LogStream::Stderr && l.text == "to stderr")
    })
    .await;
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&log_dir), 0o700);
    assert_eq!(mode(&log_dir.join("nobody-logs.out")), 0o600);
    assert_eq!(mode(&log_dir.join("nobody-logs.err")), 0o600);
    unit.remove().await.unwrap();
}
