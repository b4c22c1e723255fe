//! Probes and dependencies against real servers: TCP, HTTP, PostgreSQL, other units, ports.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use studio_supervisor::{
    Dependency, ExitReason, Liveness, Probe, RestartPolicy, SupervisorError, UnitSpec, UnitState,
};

#[tokio::test]
async fn a_unit_waits_for_a_late_tcp_dependency_and_starts_within_one_period() {
    let sup = supervisor();
    let dep_port = sup.ports().allocate().unwrap();
    let period = Duration::from_millis(300);
    let spec = UnitSpec {
        depends_on: vec![Dependency::Tcp(format!("127.0.0.1:{dep_port}"))],
        dependency_interval: period,
        ..shell("dependent", "exec sleep 300")
    };
    let unit = sup.add(spec).await.unwrap();
    let mut events = sup.events();
    let starter = tokio::spawn({
        let unit = unit.clone();
        async move { unit.start().await }
    });
    let waiting = unit
        .wait_for(|s| s.state == UnitState::Waiting, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(waiting.message.unwrap().contains(&dep_port.to_string()));
    tokio::time::sleep(Duration::from_millis(700)).await; // the dependency really is late
    assert_eq!(unit.status().state, UnitState::Waiting);

    let _server = TcpListener::bind(("127.0.0.1", dep_port)).unwrap();
    let up_at = time::OffsetDateTime::now_utc();
    let running = starter.await.unwrap().unwrap();
    assert_eq!(running.state, UnitState::Running);
    let starting_at = loop {
        let status = events.recv().await.unwrap();
        if status.state == UnitState::Starting {
            break status.since;
        }
    };
    let delay = starting_at - up_at;
    // Within one period of the dependency coming up (plus scheduling slack on a busy machine).
    assert!(
        delay < period + Duration::from_millis(200),
        "started {delay} after the dependency"
    );
    sup.shutdown().await;
}

#[tokio::test]
async fn a_dependency_that_never_comes_up_fails_the_start_with_its_name() {
    let sup = supervisor();
    let spec = UnitSpec {
        depends_on: vec![Dependency::Http("http://127.0.0.1:1/health".into())],
        dependency_interval: Duration::from_millis(50),
        dependency_timeout: Duration::from_millis(400),
        ..shell("orphaned", "exec sleep 300")
    };
    let unit = sup.add(spec).await.unwrap();
    let error = unit.start().await.unwrap_err();
    assert!(
        matches!(error, SupervisorError::DependencyTimeout { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("http://127.0.0.1:1/health"),
        "{error}"
    );
    assert_eq!(unit.status().state, UnitState::Failed);
    assert_eq!(unit.status().pid, None, "nothing was spawned");
}

#[tokio::test]
async fn a_unit_dependency_waits_for_the_other_unit_to_run() {
    let sup = supervisor();
    let port = sup.ports().allocate().unwrap();
    let server = sup.add(node_server("backend", port, 0)).await.unwrap();
    let spec = UnitSpec {
        depends_on: vec![Dependency::Unit("backend".into())],
        dependency_interval: Duration::from_millis(20),
        ..shell("frontend", "exec sleep 300")
    };
    let frontend = sup.add(spec).await.unwrap();
    let starter = tokio::spawn({
        let frontend = frontend.clone();
        async move { frontend.start().await }
    });
    let waiting = frontend
        .wait_for(|s| s.state == UnitState::Waiting, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(waiting.message.unwrap().contains("unit backend is stopped"));
    server.start().await.unwrap();
    assert_eq!(starter.await.unwrap().unwrap().state, UnitState::Running);
    sup.shutdown().await;
}

#[tokio::test]
async fn a_postgres_dependency_is_met_only_by_a_real_postgres_server() {
    let sup = supervisor();
    let url = std::env::var("STUDIO_TEST_POSTGRES_URL").expect(
        "STUDIO_TEST_POSTGRES_URL: run the tests through tests/run.sh, which starts PostgreSQL",
    );
    let spec = UnitSpec {
        depends_on: vec![Dependency::Postgres(url)],
        ..shell("needs-db", "exec sleep 300")
    };
    let unit = sup.add(spec).await.unwrap();
    assert_eq!(unit.start().await.unwrap().state, UnitState::Running);

    // An HTTP server on the "database" port is not PostgreSQL.
    let port = sup.ports().allocate().unwrap();
    let impostor = sup.add(node_server("impostor", port, 0)).await.unwrap();
    impostor.start().await.unwrap();
    let spec = UnitSpec {
        depends_on: vec![Dependency::Postgres(format!(
            "postgres://postgres:secret@127.0.0.1:{port}/db"
        ))],
        dependency_interval: Duration::from_millis(50),
        dependency_timeout: Duration::from_millis(500),
        ..shell("fooled", "exec sleep 300")
    };
    let error = sup
        .add(spec)
        .await
        .unwrap()
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a PostgreSQL server"), "{error}");
    assert!(
        !error.contains("secret"),
        "the password leaked into an error: {error}"
    );
    sup.shutdown().await;
}

#[tokio::test]
async fn failing_liveness_restarts_the_unit() {
    let sup = supervisor();
    let port = sup.ports().allocate().unwrap();
    let mut spec = node_server("frozen", port, 0);
    spec.liveness = Some(Liveness {
        probe: Probe::http(format!("http://127.0.0.1:{port}/")),
        period: Duration::from_millis(100),
        failure_threshold: 2,
    });
    spec.probe_timeout = Duration::from_millis(300);
    spec.stop_grace = Duration::from_millis(200);
    let unit = sup.add(spec).await.unwrap();
    unit.start().await.unwrap();
    let frozen = http_pid(port).unwrap();
    // SIGSTOP: the server stays up, holds its port, and answers nothing.
    std::process::Command::new("kill")
        .args(["-STOP", &frozen.to_string()])
        .status()
        .unwrap();
    let unhealthy = unit
        .wait_for(|s| s.state == UnitState::Unhealthy, Duration::from_secs(10))
        .await;
    assert!(unhealthy.is_ok(), "never unhealthy: {:?}", unit.status());
    let recovered = unit
        .wait_for(
            |s| s.state == UnitState::Running && s.restarts == 1,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(
        recovered.last_exit,
        Some(ExitReason::LivenessFailed { failures: 2 })
    );
    assert!(!alive(frozen), "the frozen server was not killed");
    assert_ne!(http_pid(port), Some(frozen));
    assert!(http_pid(port).is_some());
    sup.shutdown().await;
}

#[tokio::test]
async fn a_readiness_timeout_reports_the_last_output() {
    let sup = supervisor();
    let port = sup.ports().allocate().unwrap();
    let spec = UnitSpec {
        readiness: Some(Probe::tcp(format!("127.0.0.1:{port}"))),
        startup_timeout: Duration::from_millis(500),
        stop_grace: Duration::from_millis(200),
        ..shell("mute", "echo compiling the universe; exec sleep 300")
    };
    let unit = sup.add(spec).await.unwrap();
    let error = unit.start().await.unwrap_err();
    let SupervisorError::CrashLoop {
        last_exit,
        last_logs,
        ..
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!(*last_exit, ExitReason::ReadinessTimedOut { after_ms: 500 });
    assert!(
        last_logs.iter().any(|l| l == "compiling the universe"),
        "{last_logs:?}"
    );
    assert!(error.to_string().contains("compiling the universe"));
    assert_eq!(unit.status().state, UnitState::Failed);
}

#[tokio::test]
async fn a_port_held_by_a_stranger_is_an_error_naming_its_pid_and_the_stranger_lives() {
    let sup = supervisor();
    let port = sup.ports().allocate().unwrap();
    let stranger = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut spec = node_server("blocked", port, 0);
    spec.port_timeout = Duration::from_millis(300);
    spec.restart = RestartPolicy::never();
    let unit = sup.add(spec).await.unwrap();
    let started = Instant::now();
    let error = unit.start().await.unwrap_err();
    assert_eq!(
        error,
        SupervisorError::PortBusy {
            name: "blocked".into(),
            port,
            pid: Some(std::process::id())
        }
    );
    assert!(
        error
            .to_string()
            .contains(&format!("PID {}", std::process::id()))
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "did not wait for the port"
    );
    assert!(stranger.local_addr().is_ok()); // still ours, never touched
    assert_eq!(unit.status().state, UnitState::Failed);
}
