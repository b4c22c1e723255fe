//! Collection (`studio gc`, and the server's own at start and hourly): caches no sandbox needs
//! go, least recently used first, past the bounds; nothing a live sandbox uses ever does, even
//! while a renderer is being prepared; deleted sandboxes' unpushed commits stay unless asked.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use support::{Studio, door, eventually, renderer_serves};

const BUTTON: &str = "src/components/Button/Button.tsx";

/// Entries no sandbox references, planted as a past server would have left them.
const STALE: [&str; 4] = [
    "renderer/deps/stale-deps/node_modules/left-pad/index.js",
    "renderer/template/stale-template/node_modules/vite/index.js",
    "renderer/vite-deps/stale-seed/deps/react.js",
    "sandboxes/sb_00000000deadbeef/repo/.studio/.vite/deps/react.js",
];

fn plant_stale_entries(data: &Path) {
    for file in STALE {
        let path = data.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![b'x'; 256 * 1024]).unwrap();
    }
}

fn stale_root(data: &Path, file: &str) -> PathBuf {
    // The entry is the directory three components down (`renderer/<kind>/<key>`), or the
    // orphan checkout's `.studio/.vite`.
    let parts: Vec<&str> = file.split('/').collect();
    match parts[0] {
        "renderer" => data.join(parts[..3].join("/")),
        _ => data.join(parts[..5].join("/")),
    }
}

/// `studio gc` on `data`, with the server's npm cache (a shared one is never collected).
#[allow(clippy::unwrap_used)]
fn gc(data: &Path, npm_cache: Option<&String>, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_studio"));
    command
        .arg("gc")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("STUDIO_STORE_MAX_BYTES")
        .env_remove("STUDIO_STORE_MAX_AGE_DAYS")
        .env("STUDIO_LOG", "warn");
    match npm_cache {
        Some(cache) => command.env("STUDIO_NPM_CACHE", cache),
        None => command.env_remove("STUDIO_NPM_CACHE"),
    };
    command.output().unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "studio gc failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The bytes of the `freed N bytes` total line.
fn freed_bytes(stdout: &str) -> u64 {
    let line = stdout.lines().last().unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "free" || *w == "freed")
        .unwrap();
    words[at + 1].parse().unwrap()
}

#[test]
fn gc_dry_run_prints_and_removes_nothing_then_gc_removes_and_prints_the_bytes_freed() {
    let data = DataDir::new("gc-cli-");
    plant_stale_entries(data.path());
    let bounds = ["--store-max-bytes", "1", "--store-max-age-days", "0"];

    let dry = stdout_of(&gc(
        data.path(),
        None,
        &[&bounds[..], &["--dry-run"]].concat(),
    ));
    for file in STALE {
        let entry = stale_root(data.path(), file);
        assert!(
            dry.lines().any(|line| line.starts_with("would remove ")
                && line.contains(&format!(" {} ", entry.display()))),
            "{entry:?} not in:\n{dry}"
        );
        assert!(entry.exists(), "a dry run removed {}", entry.display());
    }
    let would = freed_bytes(&dry);
    assert!(would >= 4 * 256 * 1024, "{dry}");
    assert!(dry.lines().last().unwrap().contains("would free"), "{dry}");

    let started = Instant::now();
    let done = stdout_of(&gc(data.path(), None, &bounds));
    let took = started.elapsed();
    for file in STALE {
        let entry = stale_root(data.path(), file);
        assert!(
            !entry.exists(),
            "{} is still there:\n{done}",
            entry.display()
        );
        assert!(done.contains(&format!("{}", entry.display())), "{done}");
    }
    assert!(done.lines().all(|l| !l.starts_with("would")), "{done}");
    let freed = freed_bytes(&done);
    assert_eq!(
        freed, would,
        "the dry run said what the real run freed:\n{dry}\n{done}"
    );
    assert!(done.lines().last().unwrap().starts_with("freed "), "{done}");
    println!("gc freed {freed} bytes in {took:?}:\n{done}");

    // Nothing left to take: a second run removes nothing.
    let again = stdout_of(&gc(data.path(), None, &bounds));
    assert_eq!(freed_bytes(&again), 0, "{again}");
}

/// Vite serves the module compiled from the checkout's current file.
async fn renderer_module_contains(renderer_url: &str, needle: &str) -> Result<(), String> {
    let answer = door::get(&format!("{renderer_url}{BUTTON}")).await?;
    if answer.status == 200 && answer.text.contains(needle) {
        return Ok(());
    }
    Err(format!("{}: {}", answer.status, answer.text))
}

fn button(label: &str) -> String {
    format!("export function Button() {{\n  return <button>{label}</button>;\n}}\n")
}

/// Every store entry, seed and link a checkout names is on disk.
fn entries_of_checkout_exist(data: &Path, id: &str) {
    let studio = data.join("sandboxes").join(id).join("repo/.studio");
    let key = |file: &str| std::fs::read_to_string(studio.join(file)).unwrap();
    let deps = data.join("renderer/deps").join(key("deps-key").trim());
    assert!(
        deps.join("node_modules").is_dir(),
        "{} is gone",
        deps.display()
    );
    let seed = data.join("renderer/vite-deps").join(key("seed-key").trim());
    assert!(seed.is_dir(), "{} is gone", seed.display());
    let template = std::fs::canonicalize(studio.join("node_modules"));
    assert!(
        template.is_ok_and(|t| t.is_dir()),
        "the template store of {id} is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_never_takes_what_a_live_or_starting_sandbox_uses() {
    let (remote, other) = (Remote::new().await, Remote::new().await);
    let data = DataDir::new("collection-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let npm_cache = studio.config.env.get("STUDIO_NPM_CACHE").cloned();
    let dir = data.path().canonicalize().unwrap();

    // A deleted sandbox with an unpushed commit: its work stays unless asked.
    let gone = api.create_ok(&other.url()).await;
    let gone_id = gone["sandbox_id"].as_str().unwrap().to_owned();
    api.commit(&gone_id, BUTTON, &button("unpushed"), "Unpushed")
        .await;
    api.delete(&format!("/api/v1/sandboxes/{gone_id}"))
        .await
        .expect(204);
    let gone_hex = gone_id.strip_prefix("sb_").unwrap().to_owned();

    let live = api.create_ok(&remote.url()).await;
    let live_id = live["sandbox_id"].as_str().unwrap().to_owned();
    // Its page bundles the dependencies, which the server then publishes as the repository's
    // seed: an entry the next sandbox plants from, and that collection must keep.
    let live_url = live["renderer_url"].as_str().unwrap().to_owned();
    renderer_serves(&live_url).await.unwrap();
    renderer_module_contains(&live_url, "button").await.unwrap();
    let seed_key = std::fs::read_to_string(
        dir.join("sandboxes")
            .join(&live_id)
            .join("repo/.studio/seed-key"),
    )
    .unwrap();
    let seed = dir.join("renderer/vite-deps").join(seed_key.trim());
    eventually(
        "the repository's Vite seed",
        Duration::from_secs(120),
        async || {
            seed.is_dir()
                .then_some(())
                .ok_or_else(|| format!("no {}", seed.display()))
        },
    )
    .await;
    plant_stale_entries(&dir);

    // A create runs while collections with the tightest bounds run one after the other.
    let tight = ["--store-max-bytes", "1", "--store-max-age-days", "0"];
    let url = remote.url();
    let mut create = std::pin::pin!(api.create_ok(&url));
    let mut runs = Vec::new();
    let starting = loop {
        let (gc_dir, cache) = (dir.clone(), npm_cache.clone());
        let mut run = tokio::task::spawn_blocking(move || gc(&gc_dir, cache.as_ref(), &tight));
        tokio::select! {
            created = &mut create => {
                runs.push(run.await.unwrap());
                break created;
            }
            output = &mut run => runs.push(output.unwrap()),
        }
    };
    let outputs: Vec<String> = runs.iter().map(stdout_of).collect();
    println!("{} collections ran during the create", outputs.len());
    let starting_id = starting["sandbox_id"].as_str().unwrap().to_owned();

    // What no sandbox used went; what the two live ones use is all there.
    for file in STALE {
        let entry = stale_root(&dir, file);
        assert!(
            !entry.exists(),
            "{} survived:\n{}",
            entry.display(),
            outputs.join("\n")
        );
    }
    for id in [&live_id, &starting_id] {
        entries_of_checkout_exist(&dir, id);
    }
    let freed: u64 = outputs.iter().map(|o| freed_bytes(o)).sum();
    for output in &outputs {
        println!("{}", output.lines().last().unwrap_or_default());
    }
    assert!(freed >= 4 * 256 * 1024, "{}", outputs.join("\n"));

    // Both serve, take edits that reach the page, and survive a renderer restart.
    for (n, id) in [&live_id, &starting_id].into_iter().enumerate() {
        let status = api.status_of(id).await;
        assert_eq!(status["status"], "running", "{status}");
        let url = status["renderer_url"].as_str().unwrap().to_owned();
        renderer_serves(&url).await.unwrap();
        let label = format!("after-collection-{n}");
        api.commit(id, BUTTON, &button(&label), "After collection")
            .await;
        eventually(
            "the edit in the renderer",
            Duration::from_secs(60),
            async || renderer_module_contains(&url, &label).await,
        )
        .await;
        api.control(id, "restart").await.expect(200);
        eventually(
            "the renderer back after a restart",
            Duration::from_secs(120),
            async || renderer_serves(&url).await,
        )
        .await;
    }

    // The deleted sandbox's unpushed commit kept its refs, so its mirror stayed...
    let mirrors = dir.join("mirrors");
    let refs_of_gone = || {
        let out = std::process::Command::new("git")
            .args(["for-each-ref", "--format=%(refname)"])
            .current_dir(mirror_of(&mirrors, &other.url()))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&gone_hex)
    };
    assert!(refs_of_gone(), "unpushed work lost its refs");
    // ... until the operator says it may go: then the refs, and the mirror no session uses.
    let mirror = mirror_of(&mirrors, &other.url());
    let all = stdout_of(&gc(
        &dir,
        npm_cache.as_ref(),
        &[&tight[..], &["--include-unpushed"]].concat(),
    ));
    assert!(
        all.contains(&format!(
            "session-refs {}",
            mirror.join("refs/studio").join(&gone_hex).display()
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!("mirror {}", mirror.display())),
        "{all}"
    );
    assert!(!mirror.exists(), "{all}");
    // The live sandboxes' mirror is in use: it stays.
    assert!(mirror_of(&mirrors, &remote.url()).is_dir());
    for id in [&live_id, &starting_id] {
        entries_of_checkout_exist(&dir, id);
    }
}

/// The mirror whose `remote.origin.url` is `url`.
fn mirror_of(mirrors: &Path, url: &str) -> PathBuf {
    for entry in std::fs::read_dir(mirrors).unwrap() {
        let path = entry.unwrap().path();
        let out = std::process::Command::new("git")
            .args(["config", "--get", "remote.origin.url"])
            .current_dir(&path)
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).trim().ends_with(url) {
            return path;
        }
    }
    // Gone: a path that does not exist.
    mirrors.join("<gone>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_collects_at_start_within_its_bounds() {
    let data = DataDir::new("collect-at-start-");
    plant_stale_entries(data.path());
    let config = ServerConfig::new(&data)
        .env("STUDIO_STORE_MAX_BYTES", "1KiB")
        .env("STUDIO_STORE_MAX_AGE_DAYS", "0");
    let studio = Studio::start(&config);
    let dir = data.path().to_owned();
    eventually(
        "the start-up collection",
        Duration::from_secs(60),
        async || {
            let left: Vec<_> = STALE
                .iter()
                .map(|file| stale_root(&dir, file))
                .filter(|entry| entry.exists())
                .collect();
            match left.is_empty() && studio.log().contains("collection done") {
                true => Ok(()),
                false => Err(format!("left: {left:?}\n{}", studio.log())),
            }
        },
    )
    .await;
    let log = studio.log();
    let done = log.lines().find(|l| l.contains("collection done")).unwrap();
    assert!(done.contains("bound=1024"), "{done}");
    println!("{done}");
}
