//! Units on a Unix listening socket the supervisor binds and hands over as fd 3: readiness over
//! the socket, connections that wait through a crash instead of being refused, nothing left
//! behind by a stop, and never stealing a path someone else serves on.

mod common;

use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use common::*;
use studio_supervisor::{LISTEN_FD_VAR, SupervisorError, UnitState};
use studio_testkit::listeners::{process_tree, tcp_listeners_of};
use studio_testkit::procs::{Signal, signal};

fn socket_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sup-sock-")
        .tempdir()
        .expect("a temp dir")
}

#[tokio::test]
async fn a_node_server_on_the_inherited_socket_is_ready_over_it_and_listens_on_no_port() {
    let dir = socket_dir();
    let socket = dir.path().join("unit.sock");
    let sup = supervisor();
    let unit = sup
        .add(node_server_on_socket("on-socket", &socket, 0))
        .await
        .unwrap();
    let status = unit.start().await.unwrap();
    assert_eq!(status.state, UnitState::Running);
    let leader = status.pid.unwrap();

    let server = unix_pid(&socket, "/").expect("the server answers on the socket");
    let tree = process_tree(leader);
    assert!(
        tree.contains(&server),
        "{server} is not in the unit's tree {tree:?}"
    );
    assert_eq!(tcp_listeners_of(&tree), vec![], "the unit listens on TCP");
    // The server was told where its socket is, and nothing else of the supervisor's leaked.
    let environ = std::fs::read(format!("/proc/{server}/environ")).unwrap();
    let wanted = format!("{LISTEN_FD_VAR}=3");
    assert!(
        environ
            .split(|&b| b == 0)
            .any(|entry| entry == wanted.as_bytes()),
        "no {wanted} in the server's environment"
    );
    sup.shutdown().await;
    assert!(!socket.exists(), "shutdown left the socket file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_during_a_crash_waits_for_the_restarted_instance_instead_of_being_refused() {
    let dir = socket_dir();
    let socket = dir.path().join("crashy.sock");
    let sup = supervisor();
    let unit = sup
        .add(node_server_on_socket("crashy", &socket, 0))
        .await
        .unwrap();
    unit.start().await.unwrap();
    let first = unix_pid(&socket, "/").unwrap();

    let mut watch = unit.watch();
    signal(first, Signal::KILL);
    // Wait until the supervisor has seen the crash: from here until the new instance accepts,
    // nothing of the unit runs, and only the supervisor's listener holds the socket.
    tokio::time::timeout(
        Duration::from_secs(10),
        watch.wait_for(|s| s.state == UnitState::Restarting),
    )
    .await
    .expect("the crash is noticed")
    .unwrap();
    let path = socket.clone();
    let answered = tokio::task::spawn_blocking(move || unix_pid(&path, "/during-the-crash"))
        .await
        .unwrap();
    let second = answered.expect("the request was refused or lost during the restart");
    assert_ne!(second, first, "answered by the killed instance");
    let status = unit
        .wait_for(|s| s.state == UnitState::Running, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(status.crashes, 1);
    assert_eq!(unix_pid(&socket, "/").unwrap(), second);
    unit.remove().await.unwrap();
    assert!(!socket.exists(), "remove left the socket file");
}

#[tokio::test]
async fn stop_removes_the_socket_file_and_the_next_start_binds_it_again() {
    let dir = socket_dir();
    let socket = dir.path().join("stopped.sock");
    let sup = supervisor();
    let unit = sup
        .add(node_server_on_socket("stopped", &socket, 50))
        .await
        .unwrap();
    unit.start().await.unwrap();
    assert!(unix_pid(&socket, "/").is_some());

    unit.stop().await.unwrap();
    assert!(!socket.exists(), "stop left the socket file");
    assert!(UnixStream::connect(&socket).is_err());

    unit.start().await.unwrap();
    assert!(
        unix_pid(&socket, "/").is_some(),
        "no answer after a new start"
    );
    // A requested restart keeps the same listener: the file is never missing in between.
    unit.restart().await.unwrap();
    assert!(unix_pid(&socket, "/").is_some());
    unit.remove().await.unwrap();
    assert!(!socket.exists(), "remove left the socket file");
}

#[tokio::test]
async fn a_path_someone_else_serves_on_is_never_taken_over() {
    let dir = socket_dir();
    let socket = dir.path().join("taken.sock");
    let stranger = UnixListener::bind(&socket).unwrap();
    let sup = supervisor();
    let unit = sup
        .add(node_server_on_socket("thief", &socket, 0))
        .await
        .unwrap();
    let error = unit.start().await.unwrap_err();
    assert!(
        matches!(&error, SupervisorError::Socket { reason, .. } if reason.contains("in use")),
        "{error}"
    );
    assert_eq!(unit.status().state, UnitState::Failed);
    // The stranger still owns its path and still accepts.
    let _client = UnixStream::connect(&socket).expect("the stranger's socket still works");
    stranger.accept().expect("the stranger accepts");
    unit.remove().await.unwrap();
    assert!(socket.exists(), "the stranger's socket file was removed");
}
