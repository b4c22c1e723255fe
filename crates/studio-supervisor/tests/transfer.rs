//! Transfer: a running process moves from one unit to another (how a pre-started renderer
//! becomes a sandbox's) without a restart: same PID, serving on the new unit's socket path, in
//! the new unit's cgroup and output files, stopped with the new unit's guarantees.

mod common;

use std::time::Duration;

use common::*;
use studio_supervisor::{SupervisorConfig, SupervisorError, UnitState};
use studio_testkit::node_server::unix_pid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferred_process_keeps_serving_under_the_new_unit_and_is_its_to_stop() {
    let dir = tempfile::Builder::new()
        .prefix("sup-xfer-")
        .tempdir()
        .unwrap();
    let logs = dir.path().join("logs");
    let sup = supervisor_with(SupervisorConfig {
        log_dir: Some(logs.clone()),
        ..SupervisorConfig::default()
    });
    let (from_socket, to_socket) = (dir.path().join("pool.sock"), dir.path().join("sb.sock"));
    let pool = sup
        .add(node_server_on_socket("pool-1", &from_socket, 0))
        .await
        .unwrap();
    let pid = pool.start().await.unwrap().pid.unwrap();
    // The leader is `sh`; the server answering is its child.
    let served = unix_pid(&from_socket, "/").expect("the pool unit serves");
    let before = pool.record().unwrap();

    // A stale claim (another PID) is refused and changes nothing.
    let refused = sup
        .transfer(
            &pool,
            pid + 1,
            node_server_on_socket("sb-renderer", &to_socket, 0),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, SupervisorError::NotReleasable { .. }),
        "{refused}"
    );
    assert_eq!(pool.status().state, UnitState::Running);

    let unit = sup
        .transfer(
            &pool,
            pid,
            node_server_on_socket("sb-renderer", &to_socket, 0),
        )
        .await
        .unwrap();
    let status = unit.status();
    assert_eq!((status.state, status.pid), (UnitState::Running, Some(pid)));
    assert!(
        sup.unit("pool-1").is_none(),
        "the pool unit left the supervisor"
    );
    assert!(
        pool.start().await.is_err(),
        "the old handle talks to nobody"
    );
    assert!(!from_socket.exists(), "the socket moved");
    assert_eq!(
        unix_pid(&to_socket, "/after"),
        Some(served),
        "same process, new path"
    );

    let record = unit.record().unwrap();
    assert_eq!((record.unit.as_str(), record.pid), ("sb-renderer", pid));
    assert_eq!(record.token, before.token, "the instance is the same");
    if let (Some(old), Some(new)) = (&before.cgroup, &record.cgroup) {
        assert!(!old.exists(), "the old cgroup is removed");
        let name = new.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("sb-renderer."), "{name}");
        let procs = std::fs::read_to_string(new.join("cgroup.procs")).unwrap();
        assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    }
    assert!(logs.join("sb-renderer.out").exists() && !logs.join("pool-1.out").exists());

    // A crash now restarts the new unit's spec on the same (moved) socket.
    let mut watch = unit.watch();
    studio_testkit::procs::signal(served, studio_testkit::procs::Signal::KILL);
    tokio::time::timeout(
        Duration::from_secs(20),
        watch.wait_for(|s| s.state == UnitState::Running && s.pid != Some(pid)),
    )
    .await
    .expect("restarted")
    .unwrap();
    let again = unix_pid(&to_socket, "/restarted").expect("serves again");
    assert_ne!(again, served, "a new process serves");

    unit.stop().await.unwrap();
    assert!(!to_socket.exists(), "a stop removes the moved socket too");
    let record_cgroup = unit.record().and_then(|r| r.cgroup);
    assert!(record_cgroup.is_none(), "nothing runs");
    sup.shutdown().await;
}

/// Offers one prepared unit, once.
struct OfferOnce(std::sync::Mutex<Option<(studio_supervisor::Unit, u32)>>);

impl studio_supervisor::ReplacementSource for OfferOnce {
    fn replacement(&self) -> studio_supervisor::ReplacementFuture {
        let offer = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        Box::pin(async move { offer })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_a_unit_takes_over_the_offered_process_instead_of_spawning() {
    let dir = tempfile::Builder::new()
        .prefix("sup-repl-")
        .tempdir()
        .unwrap();
    let sup = supervisor_with(SupervisorConfig {
        log_dir: Some(dir.path().join("logs")),
        ..SupervisorConfig::default()
    });
    let (spare_socket, socket) = (dir.path().join("spare.sock"), dir.path().join("sb.sock"));
    let spare = sup
        .add(node_server_on_socket("spare", &spare_socket, 0))
        .await
        .unwrap();
    let spare_pid = spare.start().await.unwrap().pid.unwrap();
    let spare_served = unix_pid(&spare_socket, "/").unwrap();
    let unit = sup
        .add(node_server_on_socket("sb-renderer", &socket, 0))
        .await
        .unwrap();
    unit.start().await.unwrap();
    let served = unix_pid(&socket, "/").unwrap();
    assert!(
        unit.set_replacement(studio_supervisor::Replacement::new(OfferOnce(
            std::sync::Mutex::new(Some((spare.clone(), spare_pid)))
        )))
    );

    // First crash: the offered process serves, nothing is spawned.
    let mut watch = unit.watch();
    studio_testkit::procs::signal(served, studio_testkit::procs::Signal::KILL);
    let status = tokio::time::timeout(
        Duration::from_secs(20),
        watch.wait_for(|s| s.state == UnitState::Running && s.pid == Some(spare_pid)),
    )
    .await
    .expect("took over the offered process")
    .unwrap()
    .clone();
    assert_eq!(status.restarts, 1, "a crash restart all the same");
    assert_eq!(unix_pid(&socket, "/taken"), Some(spare_served));
    assert!(sup.unit("spare").is_none() && !spare_socket.exists());
    assert_eq!(unit.record().unwrap().pid, spare_pid);

    // Second crash: nothing more is offered, so it spawns.
    studio_testkit::procs::signal(spare_served, studio_testkit::procs::Signal::KILL);
    tokio::time::timeout(
        Duration::from_secs(20),
        watch.wait_for(|s| {
            s.state == UnitState::Running && s.pid.is_some() && s.pid != Some(spare_pid)
        }),
    )
    .await
    .expect("spawned after the second crash")
    .unwrap();
    let again = unix_pid(&socket, "/spawned").expect("serves");
    assert_ne!(again, spare_served);
    unit.stop().await.unwrap();
    assert!(!socket.exists());
    sup.shutdown().await;
}
