//! `studio-supervise`: runs one unit under its own supervisor process, driven over stdio.
//!
//! Used by the re-adoption and environment tests (a supervisor that can be SIGKILLed), and handy
//! to try a unit spec by hand:
//!
//! ```text
//! studio-supervise run      stdin line 1: UnitSpec as JSON; adds and starts the unit
//! studio-supervise adopt    stdin line 1: UnitSpec, line 2: AdoptionRecord; adopts the unit
//! ```
//!
//! A second argument `--log-dir=DIR` sets [`SupervisorConfig::log_dir`] (output to files in DIR
//! instead of pipes).
//!
//! Then it prints one JSON object per line on stdout: `{"event":"running","status":..,"record":..}`
//! (or `{"event":"error","message":..}` and exit code 1), then `{"event":"log","line":..}` for
//! every output line of the unit. Input line `stop` stops the unit and prints
//! `{"event":"stopped",..}`; `status` prints the status; `logs` prints
//! `{"event":"logs","lines":[..]}`, the whole ring buffer. At end of input the process exits
//! *without* stopping the unit, leaving it for another supervisor to adopt.

use std::io::Write;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use studio_supervisor::{AdoptionRecord, LogLine, Supervisor, SupervisorConfig, Unit, UnitSpec};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast::Receiver;

#[tokio::main]
async fn main() -> Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let spec: UnitSpec = serde_json::from_str(
        &input
            .next_line()
            .await?
            .context("expected a UnitSpec line")?,
    )
    .context("invalid UnitSpec JSON")?;
    let log_dir = match std::env::args().nth(2) {
        Some(arg) => match arg.strip_prefix("--log-dir=") {
            Some(dir) => Some(dir.into()),
            None => bail!("unknown argument {arg:?}: use --log-dir=DIR"),
        },
        None => None,
    };
    let sup = Supervisor::new(SupervisorConfig {
        log_dir,
        ..SupervisorConfig::default()
    });
    let unit = match mode.as_str() {
        "run" => start(&sup, spec).await,
        "adopt" => {
            let line = input
                .next_line()
                .await?
                .context("expected an AdoptionRecord line")?;
            let record: AdoptionRecord =
                serde_json::from_str(&line).context("invalid AdoptionRecord JSON")?;
            match sup.adopt(spec, record).await {
                Ok(unit) => {
                    let logs = unit.subscribe_logs();
                    Ok((unit, logs))
                }
                Err(e) => Err(e.into()),
            }
        }
        other => bail!("unknown mode {other:?}: use `run` or `adopt`"),
    };
    let (unit, mut logs) = match unit {
        Ok(unit) => unit,
        Err(e) => {
            emit(&json!({ "event": "error", "message": e.to_string() }));
            std::process::exit(1);
        }
    };
    let mut output_open =
        emit(&json!({ "event": "running", "status": unit.status(), "record": unit.record() }));
    while output_open {
        let event = tokio::select! {
            line = logs.recv() => match line {
                Ok(line) => json!({ "event": "log", "line": line }),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => json!({ "event": "lagged", "missed": n }),
                Err(_) => break,
            },
            command = input.next_line() => match command?.as_deref() {
                Some("stop") => {
                    let outcome = unit.stop().await.map_err(|e| e.to_string());
                    json!({ "event": "stopped", "outcome": outcome })
                }
                Some("status") => json!({ "event": "status", "status": unit.status() }),
                Some("logs") => json!({ "event": "logs", "lines": unit.logs(usize::MAX) }),
                Some(other) => json!({ "event": "error", "message": format!("unknown command {other:?}") }),
                None => break, // leave the unit running
            },
        };
        output_open = emit(&event);
    }
    Ok(())
}

/// Prints one event line; `false` once nobody reads our output any more.
fn emit(event: &Value) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{event}").and_then(|()| out.flush()).is_ok()
}

/// Adds and starts the unit, subscribed to its output from the first line on.
async fn start(sup: &Supervisor, spec: UnitSpec) -> Result<(Unit, Receiver<LogLine>)> {
    let unit = sup.add(spec).await?;
    let logs = unit.subscribe_logs();
    unit.start().await?;
    Ok((unit, logs))
}
