//! A `studio-supervise` process as a supervisor the test can SIGKILL (see `adoption.rs`).

use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

/// A `studio-supervise` process: a supervisor of its own that the test can SIGKILL.
pub struct Host {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    events: Lines<BufReader<ChildStdout>>,
}

impl Host {
    pub fn spawn(mode: &str, input: &[String]) -> Self {
        Self::spawn_with_args(&[mode], input)
    }

    /// With `--log-dir=DIR` after the mode, say.
    pub fn spawn_with_args(args: &[&str], input: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_studio-supervise"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn studio-supervise");
        let mut stdin = child.stdin.take().expect("piped stdin");
        for line in input {
            writeln!(stdin, "{line}").expect("write to the host");
        }
        let events = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Self {
            child,
            stdin: Some(stdin),
            events,
        }
    }

    /// The next event of the given kind (skipping log lines and others).
    pub fn next(&mut self, kind: &str) -> Value {
        for line in self.events.by_ref() {
            let line = line.expect("read from the host");
            let event: Value = serde_json::from_str(&line).expect("a JSON event");
            if event["event"] == kind || event["event"] == "error" {
                return event;
            }
        }
        panic!("the host exited before a {kind:?} event");
    }

    pub fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{command}").expect("write to the host");
    }
}
