//! Work that is cut off half-way leaves whole sandboxes or nothing (issue 14, item 5): a client
//! that hangs up during a create still gets a whole sandbox (the setup runs in its own task, not
//! the request's), a sandbox whose recovery fails after a server crash is `failed`, says why and
//! keeps no process, and deleting a sandbox that no actor owns removes everything it left.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::{Studio, WsClient, eventually};

const WAIT: Duration = Duration::from_secs(90);

async fn sandbox_status(api: &support::Api, id: &str) -> Result<Value, String> {
    let answer = api.sandbox(id).await;
    match answer.status {
        200 => Ok(answer.body),
        other => Err(format!("{other}: {}", answer.text)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_during_create_still_gets_a_whole_sandbox() {
    let remote = Remote::new().await;
    let data = DataDir::new("hangup-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();

    // Far shorter than a create (clone, install, Vite's start): the client is gone mid-setup.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let hung_up = impatient
        .post(format!("{}/api/v1/sandboxes", studio.base))
        .json(&json!({"repository": remote.url(), "branch": "main"}))
        .send()
        .await;
    assert!(hung_up.is_err(), "the create answered within 300 ms");

    // The sandbox the server recorded comes up whole: running, its renderer serving.
    let sandbox = eventually("the abandoned create to finish", WAIT, async || {
        let list = api.get("/api/v1/sandboxes").await;
        let sandboxes = list.body["sandboxes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        match sandboxes.as_slice() {
            [one] if one["status"] == "running" => Ok(one.clone()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let url = sandbox["renderer_url"].as_str().unwrap().to_owned();
    eventually("its preview", WAIT, async || {
        support::renderer_serves(&url).await
    })
    .await;

    let id = sandbox["id"].as_str().unwrap();
    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect(204);
    let checkout = data.path().join("sandboxes").join(id);
    assert!(!checkout.join("repo").exists(), "the checkout is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_recovery_is_failed_keeps_no_process_and_deletes_cleanly() {
    let remote = Remote::new().await;
    let data = DataDir::new("bad-recovery-");
    let config = ServerConfig::new(&data);
    let first = Studio::start(&config);
    let api = first.api();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let socket = renderer_socket(&data.path().canonicalize().unwrap(), &id);
    let renderer = renderer_pids(&socket, first.pid());
    let group = procs::pgid_of(*renderer.iter().next().unwrap()).unwrap();

    // The server dies; its renderer goes on serving (to be re-adopted) ...
    first.kill();
    assert!(
        !procs::group_members(group).is_empty(),
        "the renderer died with the server"
    );
    // ... but the checkout can no longer be opened as a git work tree.
    let checkout = data.path().join("sandboxes").join(&id).join("repo");
    let git = checkout.join(".git");
    if git.is_dir() {
        std::fs::remove_dir_all(&git).unwrap();
    }
    std::fs::write(&git, "gitdir: /nonexistent/studio-test\n").unwrap();

    let second = Studio::start(&config);
    let api = second.api();
    let status = eventually("the sandbox to be failed", WAIT, async || {
        let body = sandbox_status(&api, &id).await?;
        match body["status"].as_str() {
            Some("failed") => Ok(body),
            _ => Err(body.to_string()),
        }
    })
    .await;
    let mut events = WsClient::connect(
        &format!("{}?since=0", status["websocket_url"].as_str().unwrap()),
        None,
    )
    .await
    .unwrap();
    let error = events.next_of("error", WAIT).await;
    assert!(
        error["payload"]["error"]
            .as_str()
            .unwrap()
            .contains("could not be recovered"),
        "{error}"
    );
    assert_eq!(
        procs::group_members(group),
        Vec::<u32>::new(),
        "the renderer of a sandbox that failed its recovery is still running"
    );

    // No actor owns it: a delete removes the record, the checkout and the socket.
    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect(204);
    assert_eq!(api.sandbox(&id).await.status, 404);
    assert!(!checkout.exists(), "the checkout is left behind");
    assert!(!socket.exists(), "the socket file is left behind");
}

/// The cgroup v2 directory of `pid` (`/proc/<pid>/cgroup`'s `0::` line under the v2 mount).
fn cgroup_dir_of(pid: u32) -> std::path::PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let relative = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mount = mountinfo
        .lines()
        .find_map(|line| {
            let (fields, fs) = line.split_once(" - ")?;
            (fs.split_whitespace().next()? == "cgroup2")
                .then(|| fields.split_whitespace().nth(4))?
        })
        .unwrap();
    std::path::Path::new(mount).join(relative)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_renderer_of_a_sandbox_that_no_longer_exists_is_removed_at_start() {
    let remote = Remote::new().await;
    let data = DataDir::new("leftover-");
    let config = ServerConfig::new(&data);
    let first = Studio::start(&config);
    let created = first.api().create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    let socket = renderer_socket(&data.path().canonicalize().unwrap(), &id);
    let leader = *renderer_pids(&socket, first.pid()).iter().next().unwrap();
    let group = procs::pgid_of(leader).unwrap();
    let cgroup = cgroup_dir_of(leader);
    assert!(
        cgroup
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(&format!("{id}-renderer.")),
        "the renderer's own cgroup: {}",
        cgroup.display()
    );

    // The server dies after the sandbox's record is gone (a delete cut off half-way): nothing
    // would ever stop its renderer.
    first.kill();
    let deleted = std::process::Command::new("sqlite3")
        .arg(data.path().join("studio.db"))
        .arg(format!("DELETE FROM sandboxes WHERE id = '{id}'"))
        .status()
        .expect("sqlite3 (tests/setup/system.sh installs it)");
    assert!(deleted.success());
    assert!(!procs::group_members(group).is_empty());

    let second = Studio::start(&config);
    eventually(
        "the leftover renderer to be removed",
        WAIT,
        async || match (procs::group_members(group).is_empty(), cgroup.exists()) {
            (true, false) => Ok(()),
            state => Err(format!("(processes gone, cgroup gone) = {state:?}")),
        },
    )
    .await;
    assert!(
        second
            .log()
            .contains("removed the leftover renderer of a sandbox no actor owns"),
        "{}",
        second.log()
    );
}
