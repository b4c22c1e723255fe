//! The server's own restarts: after SIGTERM the next start brings the sandbox back on the same
//! socket, at the new server's front door; after SIGKILL the renderer keeps serving on its socket
//! and the next start re-adopts the very same processes.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_http;
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::api::commit_hashes;
use support::{Studio, renderer_serves};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandboxes_survive_a_clean_restart_and_a_crash_of_the_server() {
    let remote = Remote::new().await;
    let data = DataDir::new("recovery-");
    let config = ServerConfig::new(&data);
    let first = Studio::start(&config);
    let api = first.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let hex = id.strip_prefix("sb_").unwrap().to_owned();
    let preview_host = format!("sb-{hex}.localhost");
    // The preview URL names the server's front door, whose port changes with every start here.
    let url_of = |studio: &Studio| format!("http://{preview_host}:{}/", studio.port);
    assert_eq!(created["renderer_url"], url_of(&first));
    let socket = renderer_socket(&data.path().canonicalize().unwrap(), &id);
    // Served on the socket itself, with no server in front.
    let serves_on_its_socket = || {
        unix_http::request(&socket, "GET", "/", &preview_host)
            .is_some_and(|a| a.status == 200 && a.body.contains("<title>Studio renderer</title>"))
    };
    let edit = api
        .write_file(
            &id,
            "src/components/Alert.tsx",
            "export const Alert = () => null;\n",
            "Quiet alert",
        )
        .await;
    let hashes = vec![edit.commit_hash()];
    let before_stop = renderer_pids(&socket, first.pid());
    let group = procs::pgid_of(*before_stop.iter().next().unwrap()).unwrap();

    // --- SIGTERM: a clean stop takes the renderers down with it ---
    let (exit, log) = first.terminate();
    assert!(
        exit.success(),
        "studio exited with {exit} on SIGTERM:\n{log}"
    );
    assert!(
        renderer_pids(&socket, 0).is_empty() && !serves_on_its_socket(),
        "a renderer outlived the clean shutdown"
    );
    assert_eq!(procs::group_members(group), Vec::<u32>::new());

    // --- the next start brings the sandbox back, running, on the same socket ---
    let second = Studio::start(&config);
    let api = second.api();
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running", "{status}");
    let renderer_url = url_of(&second);
    assert_eq!(status["renderer_url"], renderer_url.as_str());
    assert_eq!(commit_hashes(&status), hashes);
    assert_eq!(
        status["websocket_url"],
        format!("{}/api/v1/sandboxes/{id}/ws", second.ws_base()),
        "the WebSocket URL names the new server"
    );
    renderer_serves(&renderer_url).await.unwrap();
    let serving: BTreeSet<u32> = renderer_pids(&socket, second.pid());
    assert!(
        !serving.is_empty() && serving.is_disjoint(&before_stop),
        "{before_stop:?} -> {serving:?}"
    );

    // --- SIGKILL: nobody stops the renderer; it keeps serving on its own ---
    let second_pid = second.pid();
    second.kill();
    assert!(serves_on_its_socket(), "the renderer died with the server");
    assert_eq!(renderer_pids(&socket, second_pid), serving);

    // --- the next start re-adopts it: same processes, nothing started twice ---
    let third = Studio::start(&config);
    let api = third.api();
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running", "{status}");
    let renderer_url = url_of(&third);
    assert_eq!(status["renderer_url"], renderer_url.as_str());
    assert_eq!(
        renderer_pids(&socket, third.pid()),
        serving,
        "the renderer was restarted, not re-adopted"
    );
    renderer_serves(&renderer_url).await.unwrap();
    assert!(
        third.log().contains("re-adopted"),
        "the server did not say it re-adopted the renderer:\n{}",
        third.log()
    );

    // The adopted renderer is really managed: edits commit, stop leaves nothing serving.
    let adopted_group = procs::pgid_of(*serving.iter().next().unwrap()).unwrap();
    let edit = api
        .write_file(
            &id,
            "src/components/Alert.tsx",
            "export const Alert = () => <p/>;\n",
            "Alert again",
        )
        .await;
    edit.expect(200);
    assert_eq!(commit_hashes(&api.status_of(&id).await).len(), 2);
    api.control(&id, "stop").await.expect(200);
    support::eventually(
        "the adopted renderer to stop",
        Duration::from_secs(30),
        async || {
            let left = renderer_pids(&socket, third.pid());
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    )
    .await;
    // (Its processes are no children of this server: once they exit they may linger as zombies
    // of whoever reaps orphans here, which hold nothing; "gone" means not alive.)
    assert_eq!(
        procs::group_members(adopted_group),
        Vec::<u32>::new(),
        "the adopted renderer survived stop"
    );
}
