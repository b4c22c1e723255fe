//! The renderer pool (`--renderer-pool`): a create is served by a pre-started renderer (the very
//! process that waited in the pool), which sees only its own checkout and never `.git`, runs in
//! the sandbox's cgroup and is stopped with it; the pool refills; after a crash of the server the
//! claimed renderer is re-adopted and the old idle ones leave nothing behind.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use studio_testkit::procs;
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::{renderer_pids, renderer_socket};
use support::{Api, Studio, eventually, renderer_serves};

/// Long enough for a pre-started renderer to start on a loaded 2-core machine (Node, Vite, the
/// pool app's dependency optimization).
const FILL: Duration = Duration::from_secs(120);

/// A metric's value in the `/metrics` text.
async fn metric(api: &Api, name: &str) -> Result<u64, String> {
    let text = api.get("/metrics").await.text;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .ok_or_else(|| format!("no {name} in /metrics"))
}

/// Waits until the pool holds `n` idle renderers; returns the PIDs serving on pool sockets.
async fn pool_full(api: &Api, data: &Path, server: u32, n: u64) -> BTreeSet<u32> {
    eventually("the pool to fill", FILL, async || {
        let idle = metric(api, "studio_renderer_pool_idle").await?;
        if idle != n {
            return Err(format!("{idle} idle"));
        }
        Ok(())
    })
    .await;
    pool_sockets(data)
        .iter()
        .flat_map(|socket| renderer_pids(socket, server))
        .collect()
}

/// `<data>/run/pool-*.sock`.
fn pool_sockets(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data.join("run"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("pool-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Mount points at or below `dir` in this (the host's) mount namespace.
fn mounts_below(dir: &Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| Path::new(point).starts_with(dir))
        .map(str::to_owned)
        .collect()
}

/// What process `pid` sees at `path` inside its own mount namespace (its jail).
fn seen_by(pid: u32, path: &Path) -> Option<Vec<String>> {
    let inside = format!("/proc/{pid}/root{}", path.display());
    let mut names: Vec<String> = std::fs::read_dir(inside)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Some(names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_is_served_by_a_prestarted_renderer_that_sees_only_its_checkout() {
    let remote = Remote::new().await;
    let data = DataDir::new("pool-");
    let config = ServerConfig::new(&data).env("STUDIO_RENDERER_POOL", 1);
    let studio = Studio::start(&config);
    let api = studio.api();
    let data_dir = data.path().canonicalize().unwrap();
    assert_eq!(metric(&api, "studio_renderer_pool_target").await, Ok(1));
    let waiting = pool_full(&api, &data_dir, studio.pid(), 1).await;
    assert!(!waiting.is_empty(), "a pool renderer serves on its socket");

    let other = api.create_ok(&remote.url()).await;
    let first_id = other["sandbox_id"].as_str().unwrap().to_owned();
    // The process that waited in the pool now is the sandbox's renderer: in its unit's cgroup.
    // (`/proc/net/unix` keeps the path a socket was bound at, so the pool socket's name still
    // finds it; the sandbox's socket path is the same socket, renamed.)
    let pid = *waiting
        .iter()
        .find(|pid| in_cgroup_of(**pid, &first_id))
        .unwrap_or_else(|| {
            panic!(
                "no process of the pool {waiting:?} serves {first_id}\n{}",
                studio.log()
            )
        });
    assert_eq!(
        metric(&api, "studio_renderer_pool_claims_total").await,
        Ok(1)
    );
    // A second create while the pool refills starts cold or claims the new one: either way the
    // pool counts it.
    let second = api.create_ok(&remote.url()).await;
    let second_id = second["sandbox_id"].as_str().unwrap().to_owned();
    let claims = metric(&api, "studio_renderer_pool_claims_total")
        .await
        .unwrap();
    let misses = metric(&api, "studio_renderer_pool_misses_total")
        .await
        .unwrap();
    assert_eq!(claims + misses, 2, "claims {claims}, misses {misses}");
    let serving = renderer_pids(&renderer_socket(&data_dir, &second_id), studio.pid());

    // It serves the sandbox's page and its components, through the front door.
    let url = other["renderer_url"].as_str().unwrap().to_owned();
    renderer_serves(&url).await.unwrap();
    let module = support::door::get(&format!("{url}src/components/Alert.tsx"))
        .await
        .unwrap();
    assert_eq!(module.status, 200, "{}", module.text);
    assert!(module.text.contains("Alert"), "{}", module.text);

    // An edit reaches it (its watcher and refresh work on the mounted checkout).
    api.write_file(
        &first_id,
        "src/components/Alert.tsx",
        "export const Alert = () => 'pooled edit';\n",
        "Edit a pooled sandbox",
    )
    .await
    .commit_hash();
    eventually(
        "the edit to be served",
        Duration::from_secs(30),
        async || {
            let module = support::door::get(&format!("{url}src/components/Alert.tsx")).await?;
            if module.text.contains("pooled edit") {
                Ok(())
            } else {
                Err(module.text)
            }
        },
    )
    .await;

    // Inside its jail: its own checkout (and no other sandbox's), `.git` empty.
    let checkout = data_dir.join("sandboxes").join(&first_id).join("repo");
    let sandboxes = seen_by(pid, &data_dir.join("sandboxes")).expect("the jail's sandboxes dir");
    assert_eq!(
        sandboxes,
        std::slice::from_ref(&first_id),
        "the pooled renderer sees only its sandbox"
    );
    // A linked worktree's `.git` is a file naming the mirror: inside, it reads empty.
    let git = format!("/proc/{pid}/root{}", checkout.join(".git").display());
    assert_eq!(
        std::fs::read(&git).map_err(|e| e.to_string()),
        Ok(Vec::new()),
        ".git is covered"
    );
    assert!(seen_by(pid, &checkout.join("src")).is_some_and(|names| !names.is_empty()));

    // The pool refills.
    let refilled = pool_full(&api, &data_dir, studio.pid(), 1).await;

    // A crash of the pooled renderer: its replacement is the pool's renderer, not a spawn, and
    // it serves the sandbox's latest files.
    let claims_before = metric(&api, "studio_renderer_pool_claims_total")
        .await
        .unwrap();
    procs::signal(pid, procs::Signal::KILL);
    let replaced = eventually(
        "a pool renderer to replace the crashed one",
        Duration::from_secs(60),
        async || {
            refilled
                .iter()
                .copied()
                .find(|p| in_cgroup_of(*p, &first_id))
                .ok_or_else(|| format!("none of {refilled:?} serves {first_id}"))
        },
    )
    .await;
    assert_eq!(
        metric(&api, "studio_renderer_pool_claims_total").await,
        Ok(claims_before + 1)
    );
    eventually(
        "the replacement to serve the edit",
        Duration::from_secs(30),
        async || {
            let module = support::door::get(&format!("{url}src/components/Alert.tsx")).await?;
            if module.status == 200 && module.text.contains("pooled edit") {
                Ok(())
            } else {
                Err(format!("{} {}", module.status, module.text))
            }
        },
    )
    .await;
    assert_eq!(api.status_of(&first_id).await["status"], "running");
    let pid = replaced;

    // Deleting the sandbox stops the claimed process and unmounts its checkout.
    api.delete(&format!("/api/v1/sandboxes/{first_id}"))
        .await
        .expect(204);
    eventually(
        "the claimed renderer to end",
        Duration::from_secs(30),
        async || {
            if procs::alive(pid) {
                Err(format!("{pid} still runs"))
            } else {
                Ok(())
            }
        },
    )
    .await;
    assert!(
        mounts_below(&data_dir)
            .iter()
            .all(|m| !m.contains(&first_id)),
        "the deleted sandbox's checkout is still mounted: {:?}",
        mounts_below(&data_dir)
    );

    // A clean stop leaves no process and no mount below the data dir.
    let all: BTreeSet<u32> = pool_sockets(&data_dir)
        .iter()
        .flat_map(|s| renderer_pids(s, studio.pid()))
        .chain(serving)
        .chain(waiting)
        .collect();
    let (exit, log) = studio.terminate();
    assert!(exit.success(), "{log}");
    for pid in all {
        assert!(!procs::alive(pid), "{pid} outlived the server\n{log}");
    }
    assert_eq!(mounts_below(&data_dir), Vec::<String>::new(), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_server_crash_the_claimed_renderer_is_readopted_and_idle_ones_replaced() {
    let remote = Remote::new().await;
    let data = DataDir::new("pool-crash-");
    let config = ServerConfig::new(&data).env("STUDIO_RENDERER_POOL", 1);
    let first = Studio::start(&config);
    let api = first.api();
    let data_dir = data.path().canonicalize().unwrap();
    pool_full(&api, &data_dir, first.pid(), 1).await;
    let waiting = pool_sockets(&data_dir)
        .iter()
        .flat_map(|s| renderer_pids(s, first.pid()))
        .collect::<BTreeSet<u32>>();
    let created = api.create_ok(&remote.url()).await;
    let id = created["sandbox_id"].as_str().unwrap().to_owned();
    assert_eq!(
        metric(&api, "studio_renderer_pool_claims_total").await,
        Ok(1)
    );
    let claimed: BTreeSet<u32> = waiting
        .iter()
        .copied()
        .filter(|pid| in_cgroup_of(*pid, &id))
        .collect();
    assert_eq!(claimed.len(), 1, "{waiting:?}");
    let idle: BTreeSet<u32> = pool_full(&api, &data_dir, first.pid(), 1)
        .await
        .difference(&claimed)
        .copied()
        .collect();
    assert!(!idle.is_empty());
    let log = first.kill();

    let second = Studio::start(&config);
    let api = second.api();
    let status = api.status_of(&id).await;
    assert_eq!(status["status"], "running", "{log}");
    let pid = *claimed.iter().next().unwrap();
    assert!(
        procs::alive(pid) && in_cgroup_of(pid, &id),
        "the claimed renderer is re-adopted, not restarted\n{}",
        second.log()
    );
    let checkout = data_dir.join("sandboxes").join(&id).join("repo");
    let inside = seen_by(pid, &checkout.join("src"));
    assert!(
        inside.as_ref().is_some_and(|n| !n.is_empty()),
        "its checkout stays mounted in its jail: {inside:?}; host mounts {:?}; its sandboxes {:?}\n{}",
        mounts_below(&data_dir),
        seen_by(pid, &data_dir.join("sandboxes")),
        second.log()
    );
    renderer_serves(status["renderer_url"].as_str().unwrap())
        .await
        .unwrap();
    for pid in &idle {
        assert!(
            !procs::alive(*pid),
            "an idle renderer of the crashed server is left: {pid}"
        );
    }
    let refilled: BTreeSet<u32> = pool_full(&api, &data_dir, second.pid(), 1)
        .await
        .difference(&claimed)
        .copied()
        .collect();
    assert!(!refilled.is_empty() && refilled.is_disjoint(&idle));

    api.delete(&format!("/api/v1/sandboxes/{id}"))
        .await
        .expect(204);
    let (exit, log) = second.terminate();
    assert!(exit.success(), "{log}");
    for pid in claimed.iter().chain(&refilled) {
        assert!(!procs::alive(*pid), "{pid} outlived the server\n{log}");
    }
    assert_eq!(mounts_below(&data_dir), Vec::<String>::new(), "{log}");
}

/// Whether `pid` runs in the cgroup of sandbox `id`'s renderer unit.
fn in_cgroup_of(pid: u32, id: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .is_ok_and(|cgroups| cgroups.contains(&format!("/{id}-renderer.")))
}
