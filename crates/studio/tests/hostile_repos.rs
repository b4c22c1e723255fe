//! Repositories that attack Studio through their content (issue 13, item 3), as real git remotes
//! served to the real `studio serve`: a `package.json` symlinked to `/dev/zero` or too large is
//! refused unread (422 `unsafe_manifest`); a tracked `node_modules/` and `.studio/` are thrown
//! away, so the preview renders with Studio's install and no other sandbox inherits them; an
//! `.npmrc` cannot redirect or reconfigure the install.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use studio_testkit::browser::Browser;
use studio_testkit::git::git;
use studio_testkit::paths;
use studio_testkit::sample::{Remote, seed_repository};
use studio_testkit::server::{DataDir, ServerConfig};
use support::Studio;

/// Marker of the poisoned files: found anywhere Studio serves or shares, it is a failure.
const POISON: &str = "STUDIO_TEST_POISONED";

/// A bare remote holding the sample plus whatever `edit` adds, committed with `git add --force`
/// (so that even ignored paths such as `node_modules/` are tracked).
struct HostileRemote {
    dir: tempfile::TempDir,
}

impl HostileRemote {
    fn new(prefix: &str, edit: impl FnOnce(&Path)) -> Self {
        let dir = paths::scratch_dir(paths::E2E, prefix);
        let seed = dir.path().join("seed");
        seed_repository(&seed, "main");
        edit(&seed);
        git(&seed, &["add", "--all", "--force"]);
        git(&seed, &["commit", "--quiet", "-m", "Hostile content"]);
        git(
            dir.path(),
            &["clone", "--quiet", "--bare", "seed", "remote.git"],
        );
        Self { dir }
    }

    fn url(&self) -> String {
        self.dir.path().join("remote.git").display().to_string()
    }
}

fn create_body(repository: &str) -> serde_json::Value {
    json!({"type": "component-studio", "repository": repository, "branch": "main"})
}

/// The server's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinked_and_oversized_manifests_are_refused_without_being_read() {
    let zero = HostileRemote::new("hostile-zero-", |seed| {
        fs::remove_file(seed.join("package.json")).unwrap();
        symlink("/dev/zero", seed.join("package.json")).unwrap();
    });
    let huge = HostileRemote::new("hostile-huge-", |seed| {
        // Valid JSON, 1 MiB of padding past the cap.
        let original = fs::read_to_string(seed.join("package.json")).unwrap();
        let padded = format!("{}{}", " ".repeat(1024 * 1024 + 1), original);
        fs::write(seed.join("package.json"), padded).unwrap();
    });
    let studio_json = HostileRemote::new("hostile-sj-", |seed| {
        let _ = fs::remove_file(seed.join("studio.json"));
        symlink("/dev/zero", seed.join("studio.json")).unwrap();
    });
    let data = DataDir::new("hostile-manifests-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();

    for (remote, file, reason) in [
        (&zero, "package.json", "symbolic link"),
        (&huge, "package.json", "larger than"),
        (&studio_json, "studio.json", "symbolic link"),
    ] {
        let started = Instant::now();
        let answer = api.create(&create_body(&remote.url())).await;
        let message = answer.expect_error(422, "unsafe_manifest");
        assert!(
            message.contains(file) && message.contains(reason),
            "{message}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "refusing took {:?}",
            started.elapsed()
        );
    }
    // Reading /dev/zero would have grown the server by gigabytes before failing.
    let peak = peak_rss_kib(studio.pid());
    assert!(
        peak < 512 * 1024,
        "the server's memory peaked at {peak} KiB"
    );
    api.get("/healthz").await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_node_modules_and_studio_dirs_are_ignored_and_shared_with_no_one() {
    let poisoned_module = format!("throw new Error('{POISON}: the repository's own react ran');\n");
    let hostile = HostileRemote::new("hostile-tracked-", |seed| {
        for package in ["react", "react-dom"] {
            let dir = seed.join("node_modules").join(package);
            fs::create_dir_all(&dir).unwrap();
            fs::write(
                dir.join("package.json"),
                format!(r#"{{"name":"{package}","version":"19.0.0","main":"index.js"}}"#),
            )
            .unwrap();
            fs::write(dir.join("index.js"), &poisoned_module).unwrap();
        }
        // What an earlier Studio would have left, forged: a deps key (so that linking is skipped)
        // and a Vite cache (which a renderer would use, and Studio would share as a seed).
        let deps = seed.join(".studio/.vite/deps");
        fs::create_dir_all(&deps).unwrap();
        fs::write(
            seed.join(".studio/deps-key"),
            "0123456789abcdef0123456789abcdef",
        )
        .unwrap();
        fs::write(seed.join(".studio/owner"), "guessed").unwrap();
        fs::write(
            deps.join("_metadata.json"),
            format!(
                r#"{{"hash":"{POISON}","browserHash":"{POISON}","optimized":{{}},"chunks":{{}}}}"#
            ),
        )
        .unwrap();
        fs::write(deps.join("react.js"), &poisoned_module).unwrap();
    });
    let clean = Remote::new().await;
    let data = DataDir::new("hostile-tracked-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let mut browser = Browser::launch().await;

    let created = api.create_ok(&hostile.url()).await;
    browser
        .open("hostile", created["renderer_url"].as_str().unwrap())
        .await;
    assert_eq!(
        browser.wait_ready("hostile").await,
        6,
        "the repository's components render with Studio's React"
    );

    // The clean repository has the same manifests: it shares the dependency store and, once the
    // first renderer bundled, the Vite seed. Neither may carry the poison.
    let created = api.create_ok(&clean.url()).await;
    browser
        .open("clean", created["renderer_url"].as_str().unwrap())
        .await;
    assert_eq!(browser.wait_ready("clean").await, 6);
    browser.close().await;

    let shared = data.path().join("renderer");
    let poisoned = files_containing(&shared, POISON);
    assert!(poisoned.is_empty(), "poison in shared stores: {poisoned:?}");
}

/// Files under `dir` (symlinks not followed, bounded walk) whose content contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    let mut visited = 0;
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            visited += 1;
            assert!(visited < 200_000, "unexpectedly many files under {dir:?}");
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file()
                && fs::read(entry.path())
                    .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(entry.path());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_npmrc_cannot_redirect_or_reconfigure_the_install() {
    let hostile = HostileRemote::new("hostile-npmrc-", |seed| {
        // Each of these, if npm honoured it, breaks the install: an unreachable registry, a git
        // that fails, and a dry run that installs nothing (no React, so no renderer).
        fs::write(
            seed.join(".npmrc"),
            "registry=http://127.0.0.1:9/\ngit=/bin/false\ndry-run=true\n\
             prefer-online=true\nlegacy-peer-deps=false\n",
        )
        .unwrap();
    });
    let data = DataDir::new("hostile-npmrc-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&hostile.url()).await;
    let url = created["renderer_url"].as_str().unwrap();
    support::eventually("the renderer", Duration::from_secs(60), async || {
        support::renderer_serves(url).await
    })
    .await;
}

/// A lockfile is the repository's too: its `resolved` URLs can name any host. The install runs in
/// a jail whose only way out is the registry proxy, so a package "resolved" from a listener on
/// the server's own loopback is never fetched: the install fails and the listener sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockfile_cannot_make_the_install_reach_any_host_but_the_registry() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let accepting = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let package = "studio-test-not-on-the-registry-4b1d";
    let hostile = HostileRemote::new("hostile-lock-", |seed| {
        let path = seed.join("package-lock.json");
        let mut lock: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        lock["packages"][""]["dependencies"][package] = json!("1.0.0");
        lock["packages"][format!("node_modules/{package}")] = json!({
            "version": "1.0.0",
            "resolved": format!("http://127.0.0.1:{port}/{package}-1.0.0.tgz"),
            "integrity": format!("sha512-{}", "A".repeat(86) + "=="),
        });
        fs::write(&path, serde_json::to_string_pretty(&lock).unwrap()).unwrap();
        let path = seed.join("package.json");
        let mut manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        manifest["dependencies"][package] = json!("1.0.0");
        fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    });
    let data = DataDir::new("hostile-lock-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();

    let answer = api.create(&create_body(&hostile.url())).await;
    assert!(
        answer.status >= 400,
        "an install that needs a package from 127.0.0.1:{port} succeeded: {}",
        answer.text
    );
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the install reached 127.0.0.1:{port}"
    );
    assert!(
        studio.log().contains(&format!("127.0.0.1:{port}")),
        "the registry proxy's refusal names the host it refused"
    );
    accepting.abort();
}

/// The repository's own PostCSS configuration is honoured (Tailwind needs it), so a repository can
/// run code in its renderer just by committing `postcss.config.mjs`: what that code reaches is the
/// jail's view. Here it tries Studio's database, a listener on the server's loopback and a file in
/// the data dir, and writes what happened into the one place it may write (its Vite cache).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_postcss_config_runs_jailed_and_reaches_neither_data_nor_network() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let accepting = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let data = DataDir::new("hostile-postcss-");
    let database = data.path().join("studio.db");
    let planted = data.path().join("planted-by-postcss");
    let config = format!(
        r#"import fs from "node:fs";
import net from "node:net";
const report = {{}};
try {{ fs.readFileSync({database:?}); report.database = "read"; }} catch (e) {{ report.database = e.code; }}
try {{ fs.writeFileSync({planted:?}, "{POISON}"); report.write = "written"; }} catch (e) {{ report.write = e.code; }}
report.connect = await new Promise((done) => {{
  const socket = net.connect({port}, "127.0.0.1", () => {{ socket.destroy(); done("connected"); }});
  socket.on("error", (e) => done(e.code));
}});
fs.writeFileSync(new URL("./.studio/.vite/postcss-report.json", import.meta.url), JSON.stringify(report));
export default {{ plugins: [] }};
"#,
        database = database.to_str().unwrap(),
        planted = planted.to_str().unwrap(),
    );
    let hostile = HostileRemote::new("hostile-postcss-", |seed| {
        fs::write(seed.join("postcss.config.mjs"), &config).unwrap();
    });
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    let created = api.create_ok(&hostile.url()).await;
    let id = created["sandbox_id"].as_str().unwrap();
    let preview = created["renderer_url"].as_str().unwrap();

    // Transforming a stylesheet makes Vite load the PostCSS configuration.
    let css = support::door::get(&format!("{preview}src/components/Card/Card.css"))
        .await
        .unwrap();
    assert_eq!(css.status, 200, "the sandbox still serves: {}", css.text);
    let report_path = data
        .path()
        .join("sandboxes")
        .join(id)
        .join("repo/.studio/.vite/postcss-report.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !report_path.is_file() {
        assert!(
            Instant::now() < deadline,
            "the configuration never ran; renderer log:\n{}",
            api.get(&format!("/api/v1/sandboxes/{id}/logs")).await.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["database"], "ENOENT", "the database: {report}");
    assert!(
        !planted.exists(),
        "the configuration wrote into the data dir: {report}"
    );
    assert_eq!(report["connect"], "ECONNREFUSED", "the network: {report}");
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the renderer reached 127.0.0.1:{port}"
    );
    accepting.abort();
}

/// A repository Studio cannot render is the caller's to fix, not a failing peer: 422
/// `invalid_repository` naming what is missing (it was a 502, which the API fuzzing flagged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_without_package_json_or_react_is_refused_as_the_callers_to_fix() {
    let no_manifest = HostileRemote::new("no-manifest-", |seed| {
        fs::remove_file(seed.join("package.json")).unwrap();
        fs::remove_file(seed.join("package-lock.json")).unwrap();
    });
    let no_react = HostileRemote::new("no-react-", |seed| {
        fs::write(
            seed.join("package.json"),
            r#"{"name": "no-react", "version": "1.0.0", "private": true}"#,
        )
        .unwrap();
        fs::remove_file(seed.join("package-lock.json")).unwrap();
    });
    let data = DataDir::new("callers-repo-");
    let studio = Studio::start(&ServerConfig::new(&data));
    let api = studio.api();
    for (remote, needle) in [(&no_manifest, "has no package.json"), (&no_react, "react")] {
        let answer = api.create(&create_body(&remote.url())).await;
        let message = answer.expect_error(422, "invalid_repository");
        assert!(message.contains(needle), "{message}");
    }
}
