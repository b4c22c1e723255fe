//! Renderers on their Unix sockets across server restarts. The first start after the move to
//! sockets: a sandbox whose record still names a TCP port (its renderer was started by an older
//! Studio) is restarted onto its socket, said once in the log, and its port is forgotten. After a
//! crash of the server, the renderer keeps serving on its socket and is re-adopted.

#![allow(clippy::unwrap_used)]

mod support;

use studio_core::SandboxId;
use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_http;
use support::Studio;

const MOVED: &str = "moves to its Unix socket";

/// The stored runtime record of `id`, read (and optionally changed) with the server stopped.
async fn with_runtime(
    data: &DataDir,
    id: &SandboxId,
    change: impl FnOnce(&mut studio_store::RuntimeState),
) -> studio_store::RuntimeState {
    let data_dir = data.path().canonicalize().unwrap();
    let store = studio_store::connect(&studio_store::default_sqlite_url(&data_dir))
        .await
        .unwrap();
    let mut runtime = store.get_sandbox(id).await.unwrap().unwrap().runtime;
    change(&mut runtime);
    store.update_runtime(id, &runtime).await.unwrap();
    store.close().await;
    runtime
}

fn leader_pid(runtime: &studio_store::RuntimeState) -> u32 {
    let adoption = runtime.adoption.as_ref().expect("an adoption record");
    u32::try_from(adoption["pid"].as_u64().expect("a pid")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renderers_move_off_tcp_once_and_are_readopted_over_their_socket() {
    let remote = Remote::new().await;
    let data = DataDir::new("upgrade-");
    let config = ServerConfig::new(&data);
    let first = Studio::start(&config);
    let created = first.api().create_ok(&remote.url()).await;
    let id: SandboxId = created["sandbox_id"].as_str().unwrap().parse().unwrap();
    let socket = data
        .path()
        .canonicalize()
        .unwrap()
        .join("run")
        .join(format!("{}.sock", id.hex()));
    assert_eq!(
        unix_http::get(&socket, "/__studio/health").map(|a| a.status),
        Some(200),
        "the renderer does not serve on {}",
        socket.display()
    );
    // A crash of the server: its renderer lives on, as an old Studio's would have.
    first.kill();

    // Make the record look like an older Studio's: the renderer "has" a TCP port.
    let runtime = with_runtime(&data, &id, |r| r.renderer_port = Some(5_999)).await;
    let old_leader = leader_pid(&runtime);
    assert!(procs::alive(old_leader));

    let second = Studio::start(&config);
    let status = second.api().status_of(&id.to_string()).await;
    assert_eq!(status["status"], "running", "{status}");
    assert!(
        !procs::alive(old_leader),
        "the renderer of the old record was adopted, not restarted"
    );
    assert_eq!(
        unix_http::get(&socket, "/__studio/health").map(|a| a.status),
        Some(200)
    );
    let (exit, log) = second.terminate();
    assert!(exit.success(), "{log}");
    assert_eq!(log.matches(MOVED).count(), 1, "{log}");
    let runtime = with_runtime(&data, &id, |_| {}).await;
    assert_eq!(
        runtime.renderer_port, None,
        "the old port was not forgotten"
    );

    // The next start has nothing to move.
    let third = Studio::start(&config);
    let status = third.api().status_of(&id.to_string()).await;
    assert_eq!(status["status"], "running", "{status}");
    assert!(!third.log().contains(MOVED), "{}", third.log());

    // A crash of this server: the renderer keeps serving on its socket, and the next start
    // re-adopts the very same process (over the socket: probes, refresh, stop).
    third.kill();
    let leader = leader_pid(&with_runtime(&data, &id, |_| {}).await);
    assert!(procs::alive(leader));
    assert_eq!(
        unix_http::get(&socket, "/__studio/health").map(|a| a.status),
        Some(200),
        "the orphaned renderer stopped serving on its socket"
    );
    let fourth = Studio::start(&config);
    let api = fourth.api();
    let status = api.status_of(&id.to_string()).await;
    assert_eq!(status["status"], "running", "{status}");
    assert!(fourth.log().contains("re-adopted"), "{}", fourth.log());
    assert!(
        procs::alive(leader),
        "the renderer was restarted, not re-adopted"
    );
    api.write_file(
        &id.to_string(),
        "src/components/Alert.tsx",
        "export const Alert = () => <p>adopted</p>;\n",
        "Edit the adopted renderer",
    )
    .await
    .expect(200);
    api.control(&id.to_string(), "stop").await.expect(200);
    assert!(!procs::alive(leader), "the adopted renderer survived stop");
    assert!(!socket.exists(), "stop left the socket file");
    let (exit, log) = fourth.terminate();
    assert!(exit.success(), "{log}");
}
