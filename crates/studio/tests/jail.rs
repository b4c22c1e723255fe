//! The renderer's jail, from the inside: hostile code running in a renderer's own Node process (a
//! template whose `server.mjs` imports `hostile.mjs`, see tests/support/hostile.rs) cannot read
//! the database, the server's environment, the tokens or another sandbox's checkout, cannot
//! create files on the host outside its checkout, cannot open a TCP connection (to a listener of
//! the test or to the server), reach another renderer's socket or resolve a name, and does not
//! run as root; it can write Vite's cache in its own `.studio/`, and both its sandbox and the one
//! beside it still serve. With `STUDIO_INSECURE_NO_JAIL=1` the server starts, warns that it is
//! insecure, and is ready.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use studio_testkit::sample::Remote;
use studio_testkit::server::{DataDir, ServerConfig};
use studio_testkit::unix_listeners::renderer_socket;
use support::hostile::{
    OWN_WRITE_FILE, OWN_WRITE_TEXT, TARGETS_FILE, checkout_of, preview_with_link, report_places,
    template_with_hostile_code,
};
use support::{Api, Studio, eventually};

const API_TOKEN: &str = "studio-jailtest-api-token-7f3e9a1c5b2d4e6f";
const GITHUB_TOKEN: &str = "ghp_jailtestToken0123456789abcdefABCDEFxyz";
const BUTTON: &str = "src/components/Button/Button.tsx";
/// The hostile module runs once the renderer serves; its slowest probe (DNS) gives up after 15 s.
const REPORT_WAIT: Duration = Duration::from_secs(120);

/// Codes of a read or write the jail refused (the path is not there, or not ours).
const FS_DENIED: [&str; 4] = ["ENOENT", "EACCES", "EPERM", "EROFS"];
/// Codes of a TCP connection in a network namespace with only `lo` and nothing listening.
const NET_DENIED: [&str; 3] = ["ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH"];
/// Codes of a connection to a Unix socket the jail does not show.
const SOCKET_DENIED: [&str; 4] = ["ENOENT", "EACCES", "EPERM", "ECONNREFUSED"];

/// Host paths the hostile code tries to create; removed whatever happens.
struct Planted(Vec<PathBuf>);

impl Drop for Planted {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A TCP listener on 127.0.0.1 that records who connected.
async fn recording_listener() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((_, peer)) = listener.accept().await {
            record.lock().unwrap().push(peer.to_string());
        }
    });
    (port, accepted)
}

/// The hostile module's report in B's checkout once it is in one of its [`report_places`] (it
/// writes it atomically), and where; after [`REPORT_WAIT`], a panic with what B's `.studio/` holds
/// and B's renderer log.
async fn wait_for_report(api: &Api, id: &str, checkout: &Path) -> (PathBuf, Value) {
    let deadline = Instant::now() + REPORT_WAIT;
    loop {
        for path in report_places(checkout) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let report = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
                return (path, report);
            }
        }
        if Instant::now() > deadline {
            let studio_dir = checkout.join(".studio");
            let listing = std::fs::read_dir(&studio_dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let logs = api.get(&format!("/api/v1/sandboxes/{id}/logs")).await;
            panic!(
                "no report of the hostile module in {:?} after {REPORT_WAIT:?}\n{} holds \
                 {listing:?}\nsandbox {id}'s renderer log: {}",
                report_places(checkout),
                studio_dir.display(),
                logs.text
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One probe of the report, denied with one of `codes`; otherwise a line saying what was reached.
fn denied(report: &Value, probe: &str, what: &str, codes: &[&str]) -> Option<String> {
    let result = &report[probe];
    if result.is_null() {
        return Some(format!("{probe}: no result in the report ({what})"));
    }
    let code = result["code"].as_str().unwrap_or_default();
    if result["ok"] == true {
        return Some(format!("{what}: it worked ({})", result["detail"]));
    }
    (!codes.contains(&code)).then(|| {
        format!(
            "{what}: failed with {code}, expected one of {codes:?} ({})",
            result["detail"]
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_code_in_a_renderer_reaches_nothing_outside_its_own_sandbox_which_still_serves() {
    let remote = Remote::new().await;
    let data = DataDir::new("jail-");
    let data_dir = data.path().canonicalize().unwrap();
    let template = data_dir.join("hostile-template");
    template_with_hostile_code(&template);
    let studio = Studio::start(
        &ServerConfig::new(&data)
            .api_token(API_TOKEN)
            .env("GITHUB_TOKEN", GITHUB_TOKEN)
            .env("COMPONENT_STUDIO_TEMPLATE_DIR", template.display()),
    );
    let api = studio.api();

    // --- sandbox A: its renderer ran the hostile module too, without targets (it did nothing) ---
    let a = api.create_ok(&remote.url()).await;
    let a_id = a["sandbox_id"].as_str().unwrap().to_owned();
    let a_url = a["renderer_url"].as_str().unwrap().to_owned();
    assert_eq!(api.status_of(&a_id).await["status"], "running");
    let a_checkout = checkout_of(&data_dir, &a_url);
    let a_file = a_checkout.join(BUTTON);
    assert!(a_file.is_file(), "{} is a file of A", a_file.display());
    let database = data_dir.join("studio.db");
    assert!(database.is_file(), "the database is {}", database.display());
    let a_socket = renderer_socket(&data_dir, &a_id);
    assert!(
        a_socket.exists(),
        "A's renderer socket {}",
        a_socket.display()
    );

    // --- the targets: in the template, so that the next sandbox's .studio/ gets them ---
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let writes = [
        ("data_dir", data_dir.join(format!("pwned-{nonce}"))),
        ("other_checkout", a_checkout.join(format!("pwned-{nonce}"))),
        (
            "var_tmp",
            PathBuf::from(format!("/var/tmp/studio-jail-pwned-{nonce}")),
        ),
    ];
    let _planted = Planted(writes.iter().map(|(_, p)| p.clone()).collect());
    let (listener_port, accepted) = recording_listener().await;
    let write_targets: serde_json::Map<String, Value> = writes
        .iter()
        .map(|(name, path)| ((*name).to_owned(), json!(path)))
        .collect();
    let targets = json!({
        "database": database,
        "data_dir": data_dir,
        "server_pid": studio.pid(),
        "server_port": studio.port,
        "tokens": {"STUDIO_API_TOKEN": API_TOKEN, "GITHUB_TOKEN": GITHUB_TOKEN},
        "other_checkout": a_checkout,
        "other_checkout_file": a_file,
        "other_renderer_socket": a_socket,
        "writes": write_targets,
        "listener_port": listener_port,
    });
    std::fs::write(
        template.join(TARGETS_FILE),
        serde_json::to_vec_pretty(&targets).unwrap(),
    )
    .unwrap();

    // --- sandbox B runs the hostile module with them ---
    let b = api.create_ok(&remote.url()).await;
    let b_id = b["sandbox_id"].as_str().unwrap().to_owned();
    let b_url = b["renderer_url"].as_str().unwrap().to_owned();
    let b_checkout = checkout_of(&data_dir, &b_url);
    let (report_path, report) = wait_for_report(&api, &b_id, &b_checkout).await;
    let logs = api.get(&format!("/api/v1/sandboxes/{b_id}/logs")).await;
    let context = format!(
        "report of the hostile renderer ({}):\n{report:#}\nB's renderer log:\n{}",
        report_path.display(),
        logs.text
    );
    assert!(
        report.get("crashed").is_none(),
        "the hostile module crashed before probing everything\n{context}"
    );

    // --- what it reached ---
    let mut reached: Vec<String> = Vec::new();
    let mut check = |breach: Option<String>| reached.extend(breach);
    check(denied(
        &report,
        "read_database",
        &format!("read the database {}", database.display()),
        &FS_DENIED,
    ));
    check(denied(
        &report,
        "read_server_environ",
        &format!("read /proc/{}/environ (the server's)", studio.pid()),
        &FS_DENIED,
    ));
    check(denied(
        &report,
        "read_other_checkout",
        &format!("read sandbox A's {}", a_file.display()),
        &FS_DENIED,
    ));
    check(denied(
        &report,
        "list_other_checkout",
        &format!("listed sandbox A's checkout {}", a_checkout.display()),
        &FS_DENIED,
    ));
    for (name, path) in &writes {
        check(written_outside(&report, name, path));
    }
    let listing = &report["list_data_dir"];
    check(
        (listing["ok"] == true
            && listing["detail"]
                .as_str()
                .unwrap_or("")
                .contains("studio.db"))
        .then(|| {
            format!(
                "listed the data dir {} with the database in it: {}",
                data_dir.display(),
                listing["detail"]
            )
        }),
    );
    for token in report["token_scan"]["found"]
        .as_array()
        .into_iter()
        .flatten()
    {
        check(Some(format!("found a token: {token}")));
    }
    check(denied(
        &report,
        "connect_listener",
        &format!("connected to the test's TCP listener 127.0.0.1:{listener_port}"),
        &NET_DENIED,
    ));
    check(denied(
        &report,
        "connect_server",
        &format!("connected to the server 127.0.0.1:{}", studio.port),
        &NET_DENIED,
    ));
    let peers = accepted.lock().unwrap().clone();
    check(
        (!peers.is_empty())
            .then(|| format!("the test's TCP listener accepted connections from {peers:?}")),
    );
    check(denied(
        &report,
        "connect_other_renderer_socket",
        &format!(
            "connected to sandbox A's renderer socket {}",
            a_socket.display()
        ),
        &SOCKET_DENIED,
    ));
    let dns = &report["dns_lookup"];
    check((dns["ok"] != false).then(|| format!("resolved registry.npmjs.org: {dns}")));
    check(
        (report["uid"] == 0 || report["euid"] == 0 || report["uid"].is_null())
            .then(|| format!("runs as uid {} (euid {})", report["uid"], report["euid"])),
    );

    // --- what it may do: write in its own .studio/ (Vite's cache): not read-only everywhere ---
    let own = &report["own_write"];
    check((own["ok"] != true).then(|| format!("could not write its own .studio/.vite/: {own}")));
    let own_file = b_checkout.join(".studio").join(OWN_WRITE_FILE);
    let own_text = std::fs::read_to_string(&own_file).unwrap_or_default();
    check((own_text != OWN_WRITE_TEXT).then(|| {
        format!(
            "{} holds {own_text:?} on the host, not what the renderer wrote",
            own_file.display()
        )
    }));

    // --- both sandboxes still serve, through the front door ---
    for (name, id, url) in [("B", &b_id, &b_url), ("A", &a_id, &a_url)] {
        let status = api.status_of(id).await;
        check(
            (status["status"] != "running")
                .then(|| format!("sandbox {name} is not running: {status}")),
        );
        let page = preview_with_link(&api, id, url).await;
        check(
            (page.status != 200 || !page.text.contains("<title>Studio renderer</title>")).then(
                || {
                    format!(
                        "sandbox {name}'s preview {url}: {} {}",
                        page.status, page.text
                    )
                },
            ),
        );
    }
    // A ran the same module without targets: it reported nothing.
    for a_report in report_places(&a_checkout) {
        check(a_report.exists().then(|| {
            format!(
                "sandbox A's renderer (no targets) wrote {}",
                a_report.display()
            )
        }));
    }

    assert!(
        reached.is_empty(),
        "hostile code in sandbox B's renderer reached:\n- {}\n\n{context}",
        reached.join("\n- ")
    );
}

/// `statfs`'s magic number of tmpfs.
const TMPFS_MAGIC: u64 = 0x0102_1994;

/// The write probe `write_<name>` of `path`: denied with one of [`FS_DENIED`], and nothing at
/// `path` on the host. One exception, because it is no way out: the parents of the checkout's
/// mount point (the data dir's path among them) exist inside the jail only as directories bwrap
/// created on the jail's own tmpfs, so a write there may work but lands in that tmpfs, in memory
/// the jail's cgroup pays for, and never on the host. A write that worked is accepted only when
/// the hostile code saw it land on a tmpfs and the host has no such file.
fn written_outside(report: &Value, name: &str, path: &Path) -> Option<String> {
    let on_host = path.exists();
    if on_host {
        return Some(format!(
            "created {} on the host ({})",
            path.display(),
            report[format!("write_{name}")]
        ));
    }
    let probe = &report[format!("write_{name}")];
    if probe["ok"] == true {
        let fs_type: Option<u64> = probe["fs_type"].as_str().and_then(|t| t.parse().ok());
        return (fs_type != Some(TMPFS_MAGIC)).then(|| {
            format!(
                "created {} inside the jail on a file system other than its own tmpfs \
                 (statfs type {:?}), though not on the host",
                path.display(),
                probe["fs_type"]
            )
        });
    }
    denied(
        report,
        &format!("write_{name}"),
        &format!("created {}", path.display()),
        &FS_DENIED,
    )
}

/// Whether `log` has a line that warns about running without the jail.
fn insecure_warning(log: &str) -> Option<&str> {
    log.lines()
        .find(|line| line.contains("WARN") && line.to_ascii_lowercase().contains("insecure"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_jail_the_server_warns_that_it_is_insecure_and_is_ready() {
    let data = DataDir::new("nojail-");
    let studio = Studio::start(&ServerConfig::new(&data).env("STUDIO_INSECURE_NO_JAIL", 1));
    let line = eventually(
        "a warning that says the server is insecure",
        Duration::from_secs(10),
        async || {
            insecure_warning(&studio.log())
                .map(str::to_owned)
                .ok_or_else(|| studio.log())
        },
    )
    .await;
    assert!(!line.is_empty());
    let ready = studio.api().get("/readyz").await;
    assert_eq!(
        ready.status, 200,
        "/readyz without the jail: {}",
        ready.text
    );
}
