//! Ten sandboxes created at once on one server all come up, each on its own preview host of the
//! front door and its own renderer; 200 preview and HMR connections at once across them are all
//! answered; and a server started with a low soft limit of open files still takes hundreds of
//! WebSocket clients.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::{Studio, WsClient, door, eventually, renderer_serves};

const SANDBOXES: usize = 10;
const BUTTON: &str = "src/components/Button/Button.tsx";
const CLIENTS: usize = 300;
/// Preview connections held open at once through the door: half HMR WebSockets, half requests.
const PREVIEW_CONNECTIONS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_sandboxes_created_concurrently_each_serve_on_their_own_preview_host() {
    let remote = Remote::new().await;
    let data = DataDir::new("concurrency-");
    // Started the way many service managers start it: 256 open files allowed, more on request.
    let mut config = ServerConfig::new(&data);
    config.launcher = ["prlimit", "--nofile=256:8192", "--"]
        .map(String::from)
        .to_vec();
    let studio = Studio::start(&config);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", studio.pid())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["8192", "8192"],
        "the server raises its soft limit to the hard one: {open_files}"
    );
    let api = studio.api();
    let request = json!({"repository": remote.url(), "branch": "main"});

    let answers = futures::future::join_all((0..SANDBOXES).map(|_| api.create(&request))).await;
    let created: Vec<serde_json::Value> = answers.iter().map(|a| a.expect(201).clone()).collect();

    let ids: BTreeSet<&str> = created
        .iter()
        .map(|c| c["sandbox_id"].as_str().unwrap())
        .collect();
    let urls: BTreeSet<&str> = created
        .iter()
        .map(|c| c["renderer_url"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), SANDBOXES, "ids are unique");
    assert_eq!(
        urls.len(),
        SANDBOXES,
        "every preview has its own host: {urls:?}"
    );
    for sandbox in &created {
        let hex = sandbox["sandbox_id"]
            .as_str()
            .unwrap()
            .strip_prefix("sb_")
            .unwrap();
        assert_eq!(
            sandbox["renderer_url"],
            format!("http://sb-{hex}.localhost:{}/", studio.port),
            "all through the one front door"
        );
    }
    let data_dir = studio.config.data_dir.canonicalize().unwrap();
    let sockets: Vec<_> = created
        .iter()
        .map(|c| renderer_socket(&data_dir, c["sandbox_id"].as_str().unwrap()))
        .collect();
    let branches: BTreeSet<&str> = created
        .iter()
        .map(|c| c["branch"].as_str().unwrap())
        .collect();
    assert_eq!(branches.len(), SANDBOXES);

    // Each host serves its own sandbox: a label written into one checkout only comes back
    // from that sandbox's host.
    for (n, sandbox) in created.iter().enumerate() {
        let id = sandbox["sandbox_id"].as_str().unwrap();
        assert_eq!(api.status_of(id).await["status"], "running");
        let url = sandbox["renderer_url"].as_str().unwrap();
        renderer_serves(url).await.unwrap();
        api.write_file(
            id,
            BUTTON,
            &format!("export const Button = () => <button>label{n}x</button>;\n"),
            "Label",
        )
        .await
        .expect(200);
    }
    for (n, sandbox) in created.iter().enumerate() {
        let url = sandbox["renderer_url"].as_str().unwrap();
        let module = eventually(
            "each preview host to serve its own sandbox's edit",
            Duration::from_secs(30),
            async || {
                let module = door::get(&format!("{url}{BUTTON}")).await?;
                match module.status == 200 && module.text.contains(&format!("label{n}x")) {
                    true => Ok(module),
                    false => Err(format!("{}: {}", module.status, module.text)),
                }
            },
        )
        .await;
        for other in (0..SANDBOXES).filter(|o| *o != n) {
            assert!(
                !module.text.contains(&format!("label{other}x")),
                "{url} served sandbox {other}'s file"
            );
        }
    }
    // Ten different processes serve them, none of them the server.
    let leaders: BTreeSet<u32> = sockets
        .iter()
        .map(|s| *renderer_pids(s, studio.pid()).iter().next().unwrap())
        .collect();
    assert_eq!(leaders.len(), SANDBOXES);

    // 200 connections through the door at once across the ten previews: half are Vite's HMR
    // socket (held open, then pinged), half page and module requests made while they are open.
    let targets: Vec<String> = created
        .iter()
        .map(|c| c["renderer_url"].as_str().unwrap().to_owned())
        .collect();
    let tokens = futures::future::join_all(targets.iter().map(|u| door::hmr_token(u))).await;
    let tokens: Vec<String> = tokens.into_iter().map(Result::unwrap).collect();
    let sockets_open = futures::future::join_all((0..PREVIEW_CONNECTIONS / 2).map(|i| {
        let (url, token) = (&targets[i % SANDBOXES], &tokens[i % SANDBOXES]);
        async move { door::hmr_connect(url, token).await }
    }))
    .await;
    let mut hmr: Vec<door::Hmr> = sockets_open
        .into_iter()
        .map(|s| s.unwrap_or_else(|e| panic!("an HMR socket was refused: {e:?}")))
        .collect();
    let pages = futures::future::join_all((0..PREVIEW_CONNECTIONS / 2).map(|i| {
        let url = &targets[i % SANDBOXES];
        let path = if i % 2 == 0 {
            String::new()
        } else {
            BUTTON.to_owned()
        };
        async move { door::get(&format!("{url}{path}")).await }
    }))
    .await;
    for (i, page) in pages.into_iter().enumerate() {
        let page = page.unwrap();
        assert_eq!(page.status, 200, "request {i}: {}", page.text);
    }
    let pings = futures::future::join_all(hmr.iter_mut().map(door::hmr_ping)).await;
    for (i, ping) in pings.into_iter().enumerate() {
        ping.unwrap_or_else(|e| panic!("HMR socket {i}: {e}"));
    }
    drop(hmr);

    // More WebSocket clients than the soft limit the server was started with.
    let ws_url = created[0]["websocket_url"].as_str().unwrap();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(WsClient::connect(ws_url, None).await.unwrap());
    }
    clients[0]
        .send(&json!({"type": "component-selected", "payload": {"component": "Card"}}))
        .await;
    for client in &mut clients {
        let event = client.event(Duration::from_secs(60)).await;
        assert_eq!(event["payload"]["component"], "Card");
    }
    drop(clients);

    // And all go away together.
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/v1/sandboxes/{id}"))
        .collect();
    let deletes = futures::future::join_all(paths.iter().map(|path| api.delete(path))).await;
    for answer in deletes {
        answer.expect(204);
    }
    for (socket, url) in sockets.iter().zip(&targets) {
        assert!(
            !socket.exists(),
            "{} still there after delete",
            socket.display()
        );
        assert!(renderer_pids(socket, studio.pid()).is_empty());
        let (host, port) = door::host_and_port(url);
        let gone = door::request_with_host(port, &host, "GET", "/")
            .await
            .unwrap();
        assert_eq!(gone.status, 404, "{url} after delete: {}", gone.text);
    }
}
