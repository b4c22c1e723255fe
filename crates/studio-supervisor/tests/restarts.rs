//! Restarts: no port races, no duplicates, backoff, and no zombies, with real Node servers.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rustix::process::{Pid, Signal, kill_process_group};
use studio_supervisor::{ExitReason, Probe, RestartPolicy, SupervisorError, UnitState};

const RESTARTS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_server_restarted_1000_times_on_a_fixed_port_never_hits_eaddrinuse() {
    let sup = supervisor();
    let port = sup.ports().allocate().unwrap();
    // A 50 ms drain (the issue measured 150 ms): 1,000 cold starts of Node already take minutes
    // on a loaded 2-core machine. What matters is that the server still listens while it drains.
    let unit = sup.add(node_server("races", port, 50)).await.unwrap();
    let first = unit.start().await.unwrap();
    let mut previous = first.pid.unwrap();
    for cycle in 0..RESTARTS {
        let status = unit
            .restart()
            .await
            .unwrap_or_else(|e| panic!("restart {cycle}: {e}"));
        assert_eq!(status.state, UnitState::Running);
        assert_eq!(
            status.crashes, 0,
            "restart {cycle} crashed: {:?}",
            status.last_exit
        );
        let leader = status.pid.unwrap();
        assert_ne!(leader, previous, "restart {cycle} kept the old instance");
        assert!(
            !alive(previous),
            "restart {cycle}: old leader {previous} still alive"
        );
        previous = leader;
        // The new server answers, and it is a child of the new leader.
        let server = http_pid(port).unwrap_or_else(|| panic!("restart {cycle}: no answer"));
        assert_eq!(
            proc_stat(server).map(|s| s.1),
            Some(leader),
            "restart {cycle}"
        );
    }
    let status = unit.status();
    assert_eq!(status.restarts as usize, RESTARTS);
    assert_eq!(status.crashes, 0);
    let races = unit
        .logs(5_000)
        .into_iter()
        .filter(|l| l.text.contains("LISTEN_ERROR"))
        .count();
    assert_eq!(races, 0, "EADDRINUSE happened");
    sup.shutdown().await;
    assert!(http_pid(port).is_none());
}

/// The naive approach, for contrast: signal the whole group but restart as soon as the *leader*
/// (`sh`) exits. The server is still draining and holds the port, so the new one fails to bind.
/// (Its drain is 3 s here, longer than a Node cold start on a loaded machine; with the 150 ms drain
/// above, the race is lost whenever the new server starts faster than the old one drains.)
#[tokio::test]
async fn restarting_when_the_leader_exits_races_the_draining_server_for_the_port() {
    use std::os::unix::process::CommandExt;
    let sup = supervisor();
    let port = sup.ports().allocate().unwrap();
    let script = format!("node {}; exit $?", fixture("server.js").display());
    let spawn = || {
        Command::new("sh")
            .args(["-c", &script])
            .env("PORT", port.to_string())
            .env("GRACE_MS", "3000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap()
    };
    let mut groups = Vec::new();
    let mut current = spawn();
    groups.push(current.id());
    eventually("first server", Duration::from_secs(20), || {
        http_pid(port).is_some()
    })
    .await;
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        kill_process_group(Pid::from_raw(current.id() as i32).unwrap(), Signal::TERM).unwrap();
        current.wait().unwrap(); // the leader is gone at once...
        current = spawn(); // ...so restart now, like a naive supervisor
        groups.push(current.id());
        let deadline = Instant::now() + Duration::from_secs(20);
        let outcome = loop {
            if let Some(status) = current.try_wait().unwrap() {
                break format!("exit {:?}", status.code());
            }
            if http_pid(port).is_some_and(|pid| proc_stat(pid).map(|s| s.1) == Some(current.id())) {
                break "served".to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "the new server neither served nor failed"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        outcomes.push(outcome);
        if outcomes.last().is_some_and(|o| o == "exit Some(98)") {
            break; // EADDRINUSE: shown
        }
        eventually("a server", Duration::from_secs(20), || {
            http_pid(port).is_some()
        })
        .await;
    }
    for pgid in groups {
        let _ = kill_process_group(Pid::from_raw(pgid as i32).unwrap(), Signal::KILL);
    }
    let _ = current.wait();
    assert!(
        outcomes.iter().any(|o| o == "exit Some(98)"),
        "no EADDRINUSE: {outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_restarts_leave_exactly_one_live_instance() {
    let sup = supervisor();
    let port = sup.ports().allocate().unwrap();
    let mark = marker();
    let mut spec = node_server("herd", port, 20);
    spec.env.insert("HERD_MARK".into(), mark.clone());
    let unit = sup.add(spec).await.unwrap();
    unit.start().await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let restarts: Vec<_> = (0..100)
        .map(|_| {
            let (unit, barrier) = (unit.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                unit.restart().await
            })
        })
        .collect();
    for restart in restarts {
        let status = restart.await.unwrap().unwrap();
        assert_eq!(status.state, UnitState::Running);
    }
    let status = unit.status();
    assert!(
        (1..=3).contains(&status.restarts),
        "restarts were not coalesced: {}",
        status.restarts
    );
    // Exactly one sh and one node carry the mark, and the node is the one answering.
    let marked = processes_with_env("HERD_MARK", &mark);
    assert_eq!(marked.len(), 2, "processes of the unit: {marked:?}");
    let server = http_pid(port).unwrap();
    assert!(marked.contains(&server));
    assert!(marked.contains(&status.pid.unwrap()));
    sup.shutdown().await;
    assert!(processes_with_env("HERD_MARK", &mark).is_empty());
}

#[tokio::test]
async fn a_crash_looping_unit_backs_off_exponentially_then_fails() {
    let sup = supervisor();
    let mut spec = shell("crashloop", "echo about to fail; exit 1");
    // Never ready (nothing listens on port 1), so every exit is a crash during start.
    spec.readiness = Some(Probe::tcp("127.0.0.1:1"));
    spec.restart = RestartPolicy {
        max_crashes: 3,
        backoff_min: Duration::from_millis(100),
        backoff_factor: 2.0,
        jitter: true,
        ..RestartPolicy::default()
    };
    let unit = sup.add(spec).await.unwrap();
    let mut events = sup.events();
    let error = unit.start().await.unwrap_err();
    match &error {
        SupervisorError::CrashLoop {
            crashes,
            last_exit,
            last_logs,
            ..
        } => {
            assert_eq!(*crashes, 4);
            assert_eq!(*last_exit, ExitReason::Exited { code: 1 });
            assert!(
                last_logs.iter().any(|l| l == "about to fail"),
                "{last_logs:?}"
            );
        }
        other => panic!("expected a crash loop, got {other}"),
    }
    let status = unit.status();
    assert_eq!((status.state, status.restarts), (UnitState::Failed, 3));

    // The first crash restarts at once; the gaps after the next ones follow 100, 200 ms plus
    // jitter.
    let mut transitions = Vec::new();
    while let Ok(status) = events.try_recv() {
        transitions.push((status.state, status.since));
    }
    let starts: Vec<_> = transitions
        .iter()
        .filter(|t| t.0 == UnitState::Starting)
        .collect();
    assert_eq!(starts.len(), 4, "{transitions:?}");
    let mut gaps = Vec::new();
    for window in transitions.windows(2) {
        if let [(UnitState::Restarting, at), (UnitState::Starting, next)] = window {
            gaps.push((*next - *at).whole_milliseconds());
        }
    }
    assert_eq!(gaps.len(), 3, "{transitions:?}");
    assert!(gaps[0] < 150, "the first crash waits for nothing: {gaps:?}");
    for (gap, base) in gaps.iter().skip(1).zip([100, 200]) {
        // Jitter adds up to 100 %; allow 150 ms for a busy machine on top.
        assert!(
            *gap >= base && *gap < 2 * base + 150,
            "gap {gap} ms for base {base} ms: {gaps:?}"
        );
    }
    // A failed unit starts again on request (and fails again, here).
    assert!(unit.start().await.is_err());
    assert_eq!(unit.status().restarts, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_crashes_leave_no_zombie_and_no_leftover() {
    let sup = supervisor();
    let mark = marker();
    // Each instance leaves a grandchild behind when it crashes.
    let mut spec = shell("crashy", "sleep 30 & exit 3");
    spec.env.insert("CRASH_MARK".to_owned(), mark.clone());
    spec.restart = RestartPolicy {
        max_crashes: 10_000,
        backoff_min: Duration::from_millis(1),
        backoff_max: Duration::from_millis(2),
        ..RestartPolicy::default()
    };
    spec.stop_grace = Duration::from_millis(200);
    let unit = sup.add(spec).await.unwrap();
    let starter = tokio::spawn({
        let unit = unit.clone();
        async move { unit.start().await }
    });
    unit.wait_for(|s| s.restarts >= 200, Duration::from_secs(150))
        .await
        .unwrap();
    unit.stop().await.unwrap();
    // Without a readiness probe the first start returned as soon as the unit was spawned; the
    // crashes were all handled by the unit's task.
    assert!(starter.await.unwrap().is_ok());
    assert!(unit.status().crashes >= 200);

    let me = std::process::id();
    let children: Vec<(u32, char)> = all_pids()
        .into_iter()
        .filter_map(|pid| proc_stat(pid).filter(|s| s.1 == me).map(|s| (pid, s.0)))
        .collect();
    assert!(
        children.is_empty(),
        "children of the supervisor after 200 crashes: {children:?}"
    );
    assert!(
        processes_with_env("CRASH_MARK", &mark).is_empty(),
        "leftover grandchildren"
    );
}
