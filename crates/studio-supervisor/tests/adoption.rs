//! Re-adoption across a supervisor SIGKILL, and refusal of records that no longer match.

mod common;

use std::process::Command;
use std::time::Duration;

use common::host::Host;
use common::*;
use studio_supervisor::{AdoptionMismatch, AdoptionRecord, SupervisorError};

#[tokio::test]
async fn a_second_supervisor_readopts_the_unit_of_a_sigkilled_one_without_restarting_it() {
    let port = supervisor().ports().allocate().unwrap();
    let mut spec = node_server("adoptee", port, 100);
    spec.env.insert("LOG_REQUESTS".into(), "1".into());
    let spec = serde_json::to_string(&spec).unwrap();

    let mut first = Host::spawn("run", std::slice::from_ref(&spec));
    let running = first.next("running");
    assert_eq!(running["status"]["state"], "running", "{running}");
    let record: AdoptionRecord = serde_json::from_value(running["record"].clone()).unwrap();
    let server = http_pid(port).unwrap();
    assert!(record.cgroup.is_some(), "cgroups are available here");

    // SIGKILL the supervisor: its unit lives on (own process group and cgroup). No request
    // now: the server would log it into a pipe nobody reads (see the `adopt` module docs).
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(alive(record.pid) && alive(server));

    let mut second = Host::spawn("adopt", &[spec, serde_json::to_string(&record).unwrap()]);
    let adopted = second.next("running");
    assert_eq!(adopted["status"]["state"], "running", "{adopted}");
    assert_eq!(adopted["status"]["pid"], record.pid);
    assert_eq!(adopted["status"]["restarts"], 0);
    let url = "/after-adoption";
    assert_eq!(
        http_get_pid(port, url),
        Some(server),
        "the server was restarted"
    );
    // Its output after the adoption reaches the new supervisor through the same pipes.
    let logged = second.next("log");
    assert_eq!(logged["line"]["text"], format!("request {url}"), "{logged}");

    second.send("stop");
    let stopped = second.next("stopped");
    assert!(stopped["outcome"]["Ok"].is_object(), "{stopped}");
    assert_eq!(stopped["outcome"]["Ok"]["state"], "stopped");
    assert!(
        !alive(server) && !alive(record.pid),
        "processes survived the adopted stop"
    );
    assert!(http_pid(port).is_none());
    assert!(
        !record.cgroup.as_ref().unwrap().exists(),
        "the cgroup was not removed"
    );
    drop(second.stdin.take());
    assert!(second.child.wait().unwrap().success());
}

/// The same over the unit's Unix socket: the adopted server keeps serving on the path it
/// inherited (the new supervisor has no copy of the listener); when it later crashes, the new
/// supervisor binds the path afresh, and its stop removes the file.
#[tokio::test]
async fn a_unit_on_a_socket_is_readopted_and_restarted_on_the_same_path() {
    let dir = tempfile::Builder::new()
        .prefix("adopt-sock-")
        .tempdir()
        .unwrap();
    let socket = dir.path().join("adoptee.sock");
    let spec = serde_json::to_string(&node_server_on_socket("adoptee-sock", &socket, 50)).unwrap();

    let mut first = Host::spawn("run", std::slice::from_ref(&spec));
    let running = first.next("running");
    assert_eq!(running["status"]["state"], "running", "{running}");
    let record: AdoptionRecord = serde_json::from_value(running["record"].clone()).unwrap();
    let server = unix_pid(&socket, "/").unwrap();
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert_eq!(
        unix_pid(&socket, "/while-orphaned"),
        Some(server),
        "the orphaned server stopped serving on its socket"
    );

    let mut second = Host::spawn("adopt", &[spec, serde_json::to_string(&record).unwrap()]);
    let adopted = second.next("running");
    assert_eq!(adopted["status"]["pid"], record.pid, "{adopted}");
    assert_eq!(unix_pid(&socket, "/after-adoption"), Some(server));

    // A crash of the adopted server: the new supervisor binds the socket path again.
    studio_testkit::procs::signal(server, studio_testkit::procs::Signal::KILL);
    let mut restarted = None;
    for _ in 0..200 {
        if let Some(pid) = unix_pid(&socket, "/after-the-crash").filter(|&pid| pid != server) {
            restarted = Some(pid);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let restarted = restarted.expect("no new server on the socket after the crash");
    assert!(alive(restarted));

    second.send("stop");
    let stopped = second.next("stopped");
    assert_eq!(stopped["outcome"]["Ok"]["state"], "stopped", "{stopped}");
    assert!(!alive(restarted), "the restarted server survived the stop");
    assert!(!socket.exists(), "the stop left the socket file");
    drop(second.stdin.take());
    assert!(second.child.wait().unwrap().success());
}

#[tokio::test]
async fn records_that_no_longer_match_are_refused_and_nothing_is_signalled() {
    let sup = supervisor();
    let spec = shell("ghost", "exec sleep 300");
    let unit = sup.add(spec.clone()).await.unwrap();
    unit.start().await.unwrap();
    let record = unit.record().unwrap();
    unit.remove().await.unwrap();

    // Dead: the unit was stopped.
    let error = sup.adopt(spec.clone(), record.clone()).await.unwrap_err();
    assert!(
        matches!(
            error,
            SupervisorError::Adoption {
                reason: AdoptionMismatch::Gone { .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(
        sup.unit("ghost").is_none(),
        "a failed adoption registered the unit"
    );

    // A live stranger under the recorded PID (PID reuse), or with the right start time but
    // without the token: both refused, and the stranger is not signalled.
    // Started in a later clock tick than the recorded process (start times count 10 ms ticks, and
    // the unit above may have lived for less than one): otherwise it would not look reused.
    let mut stranger = Command::new("sleep").arg("300").spawn().unwrap();
    for _ in 0..100 {
        if start_time_of(stranger.id()) != record.start_time {
            break;
        }
        stranger.kill().unwrap();
        stranger.wait().unwrap();
        stranger = Command::new("sleep").arg("300").spawn().unwrap();
    }
    let pid = stranger.id();
    assert_ne!(start_time_of(pid), record.start_time, "no later clock tick");
    let reused = AdoptionRecord {
        pid,
        pgid: pid,
        cgroup: None,
        ..record.clone()
    };
    let error = sup.adopt(spec.clone(), reused).await.unwrap_err();
    assert!(
        matches!(
            error,
            SupervisorError::Adoption {
                reason: AdoptionMismatch::PidReused { .. },
                ..
            }
        ),
        "{error}"
    );
    let start_time = proc_start_time(pid);
    let impostor = AdoptionRecord {
        pid,
        pgid: pid,
        start_time,
        cgroup: None,
        ..record.clone()
    };
    let error = sup.adopt(spec.clone(), impostor).await.unwrap_err();
    assert!(
        matches!(
            error,
            SupervisorError::Adoption {
                reason: AdoptionMismatch::TokenMismatch,
                ..
            }
        ),
        "{error}"
    );
    // Not synchronization: the window in which an (unwanted) signal would have taken effect.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "the stranger was signalled"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();

    // A record for another unit name is refused too.
    let error = sup.adopt(shell("other", "true"), record).await.unwrap_err();
    assert!(error.to_string().contains("ghost"), "{error}");
    assert_eq!(sup.units().len(), 0);
}

fn proc_start_time(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("a live process");
    let after_name = text.rfind(')').expect("a stat line") + 2;
    let fields: Vec<&str> = text[after_name..].split_whitespace().collect();
    fields[19].parse().expect("a start time")
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot.
#[allow(clippy::unwrap_used)]
fn start_time_of(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap()
}
