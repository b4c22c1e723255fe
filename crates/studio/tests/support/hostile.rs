//! Hostile code inside a renderer's Node process, for the jail's denial tests (tests/jail.rs).
//!
//! [`template_with_hostile_code`] copies `studio-template/` and makes its `server.mjs` import a
//! `hostile.mjs` once the renderer serves. That module does nothing unless [`TARGETS_FILE`] is in
//! its `.studio/` (a copy of the template's, taken when the sandbox was prepared); with it, it
//! tries to read, write and connect to what the file names, and writes what happened, probe by
//! probe with the error code Node gave, to [`REPORT_FILE`] beside itself, or in Vite's cache
//! directory beside itself when the jail keeps `.studio/` read-only (atomically, once).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::api::Api;
use super::door::{self, DoorAnswer};

/// What the hostile code goes after: written into the template copy before the sandbox that
/// runs it is created.
pub const TARGETS_FILE: &str = "jail-targets.json";
/// What it reached: in its own `<checkout>/.studio/`, or where the jail lets it write in there
/// (Vite's cache dir): the first of [`report_places`].
pub const REPORT_FILE: &str = "hostile-report.json";
/// A file it writes in its own `.studio/.vite/` (Vite's cache, which a renderer must write).
pub const OWN_WRITE_FILE: &str = ".vite/hostile-own-write.txt";
/// What [`OWN_WRITE_FILE`] holds.
pub const OWN_WRITE_TEXT: &str = "written from inside the renderer";

/// The hostile module. Every probe is `{ok, code, detail}`: `code` is the error's `code` (`ENOENT`,
/// `EACCES`, `ECONNREFUSED`, …), or `TIMEOUT` when it did not settle in time. A write that worked
/// also has `fs_type`: the `statfs` magic number of the file system it landed on, in decimal.
const HOSTILE_MJS: &str = r#"// Hostile code for crates/studio/tests/jail.rs: what a
// repository's config or component could run inside the renderer's Node. It reports what it
// reached; it never hides a success.
import fs from "node:fs";
import net from "node:net";
import dns from "node:dns";

const here = (name) => new URL(name, import.meta.url);
const TARGETS = here("./jail-targets.json");
// `.studio/` itself, or else Vite's cache directory in it (what the jail hands to the renderer's
// uid): the first of them that takes the file.
const REPORTS = [here("./hostile-report.json"), here("./.vite/hostile-report.json")];

const failure = (error) => ({
  ok: false,
  code: String(error?.code ?? error?.name ?? "Error"),
  detail: String(error?.message ?? error).slice(0, 300),
});

function probe(action) {
  try {
    return { ok: true, code: null, detail: String(action() ?? "").slice(0, 300) };
  } catch (error) {
    return failure(error);
  }
}

async function probeAsync(action, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    const late = { ok: false, code: "TIMEOUT", detail: `no answer in ${ms} ms` };
    timer = setTimeout(() => resolve(late), ms);
  });
  const attempt = (async () => {
    try {
      return { ok: true, code: null, detail: String((await action()) ?? "").slice(0, 300) };
    } catch (error) {
      return failure(error);
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const connect = (options) =>
  new Promise((resolve, reject) => {
    const socket = net.connect(options);
    socket.once("connect", () => {
      socket.write("hostile\n");
      socket.destroy();
      resolve(`connected to ${JSON.stringify(options)}`);
    });
    socket.once("error", reject);
  });

function scanForTokens(tokens) {
  const found = [];
  let readable = 0;
  let entries = [];
  let procError = null;
  try {
    entries = fs.readdirSync("/proc");
  } catch (error) {
    procError = String(error?.code ?? error);
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    for (const file of ["environ", "cmdline"]) {
      let text;
      try {
        text = fs.readFileSync(`/proc/${entry}/${file}`, "latin1");
      } catch {
        continue;
      }
      if (file === "environ") readable += 1;
      for (const [name, value] of Object.entries(tokens)) {
        if (text.includes(value)) found.push(`${name} in /proc/${entry}/${file}`);
      }
    }
  }
  for (const [key, text] of Object.entries(process.env)) {
    for (const [name, value] of Object.entries(tokens)) {
      if (String(text).includes(value)) found.push(`${name} in process.env.${key}`);
    }
  }
  return { readable_environs: readable, proc_error: procError, found };
}

export async function run() {
  if (!fs.existsSync(TARGETS) || REPORTS.some((place) => fs.existsSync(place))) return;
  const report = { pid: process.pid };
  try {
    const t = JSON.parse(fs.readFileSync(TARGETS, "utf8"));
    report.uid = process.getuid();
    report.euid = process.geteuid();
    report.gid = process.getgid();
    report.home = process.env.HOME ?? null;
    report.read_database = probe(() => `${fs.readFileSync(t.database).length} bytes`);
    report.list_data_dir = probe(() => fs.readdirSync(t.data_dir).join(","));
    report.read_server_environ = probe(
      () => `${fs.readFileSync(`/proc/${t.server_pid}/environ`).length} bytes`,
    );
    report.token_scan = scanForTokens(t.tokens);
    report.read_other_checkout = probe(() =>
      fs.readFileSync(t.other_checkout_file, "utf8").slice(0, 80),
    );
    report.list_other_checkout = probe(() => fs.readdirSync(t.other_checkout).join(","));
    for (const [name, path] of Object.entries(t.writes)) {
      const result = probe(() => {
        fs.writeFileSync(path, "written by the hostile renderer\n", { flag: "wx" });
        return `wrote ${path}`;
      });
      // Where a write that worked landed: the file system's magic number (tmpfs: 0x01021994).
      if (result.ok) result.fs_type = probe(() => fs.statfsSync(path).type).detail;
      report[`write_${name}`] = result;
    }
    report.connect_listener = await probeAsync(
      () => connect({ host: "127.0.0.1", port: t.listener_port }),
      10000,
    );
    report.connect_server = await probeAsync(
      () => connect({ host: "127.0.0.1", port: t.server_port }),
      10000,
    );
    report.connect_other_renderer_socket = await probeAsync(
      () => connect({ path: t.other_renderer_socket }),
      10000,
    );
    report.dns_lookup = await probeAsync(
      () => dns.promises.lookup("registry.npmjs.org").then((a) => `resolved to ${a.address}`),
      15000,
    );
    // Its own .studio/ (informative: the jail may keep it read-only) and Vite's cache in it (which
    // the renderer must be able to write).
    report.own_write_studio_dir = probe(() => {
      fs.writeFileSync(here("./hostile-own-write.txt"), "written from inside the renderer");
      return "written";
    });
    report.own_write = probe(() => {
      fs.mkdirSync(here("./.vite/"), { recursive: true });
      fs.writeFileSync(here("./.vite/hostile-own-write.txt"), "written from inside the renderer");
      return "written";
    });
  } catch (error) {
    report.crashed = String(error?.stack ?? error);
  }
  const refused = [];
  for (const place of REPORTS) {
    const temporary = new URL(`${place.href}.tmp`);
    try {
      fs.writeFileSync(temporary, JSON.stringify(report, null, 2));
      fs.renameSync(temporary, place);
      return;
    } catch (error) {
      refused.push(`${place.pathname}: ${error?.code ?? error}`);
    }
  }
  throw new Error(`cannot write the report: ${refused.join("; ")}`);
}
"#;

/// Where the hostile module of the sandbox checked out at `checkout` writes its report: `.studio/`,
/// else `.studio/.vite/`.
pub fn report_places(checkout: &Path) -> [PathBuf; 2] {
    let studio = checkout.join(".studio");
    [
        studio.join(REPORT_FILE),
        studio.join(".vite").join(REPORT_FILE),
    ]
}

/// What `server.mjs` gets appended: the hostile module, run once the renderer serves (after the
/// server's own top-level code, without delaying it).
const SERVER_HOOK: &str = r#"
// --- added by crates/studio/tests/support/hostile.rs ---
import("./hostile.mjs")
  .then((hostile) => hostile.run())
  .catch((error) => console.error(`hostile: ${error?.stack ?? error}`));
"#;

/// A copy of `studio-template/` at `into` whose renderer runs the hostile module (see the module
/// docs). Its installed `node_modules` is left out: the server installs its own store.
pub fn template_with_hostile_code(into: &Path) {
    super::template_with_server_hook(into, SERVER_HOOK);
    std::fs::write(into.join("hostile.mjs"), HOSTILE_MJS).unwrap();
}

/// The checkout of the sandbox whose preview is `renderer_url`: the directory under `data_dir`
/// whose `.studio/settings.json` allows that preview's host.
pub fn checkout_of(data_dir: &Path, renderer_url: &str) -> PathBuf {
    let (host, _) = door::host_and_port(renderer_url);
    let mut found = Vec::new();
    find_settings(data_dir, 0, &mut found);
    let matching: Vec<PathBuf> = found
        .into_iter()
        .filter_map(|settings| {
            let text = std::fs::read_to_string(&settings).ok()?;
            let value: serde_json::Value = serde_json::from_str(&text).ok()?;
            let allowed = value["allowedHosts"].as_array()?;
            allowed
                .iter()
                .any(|h| {
                    h.as_str()
                        .is_some_and(|h| h.split(':').next() == Some(&host))
                })
                .then(|| PathBuf::from(value["root"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "one checkout under {} serves {host}: {matching:?}",
        data_dir.display()
    );
    matching.into_iter().next().unwrap()
}

fn find_settings(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 8 {
        return;
    }
    let settings = dir.join(".studio/settings.json");
    if settings.is_file() {
        out.push(settings);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == "node_modules" || name == ".git" || name == ".studio" {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            find_settings(&entry.path(), depth + 1, out);
        }
    }
}

/// The preview page of sandbox `id` through the front door, on a server with an API token: a
/// one-time link's cookie, then `GET renderer_url` with it.
pub async fn preview_with_link(api: &Api, id: &str, renderer_url: &str) -> DoorAnswer {
    let link = api.preview_link_ok(id).await;
    let redirect = door::get(&link).await.unwrap();
    assert_eq!(redirect.status, 303, "the preview link: {}", redirect.text);
    let cookie = redirect.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (host, port) = door::host_and_port(renderer_url);
    let response = reqwest::Client::builder()
        .resolve(&host, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(renderer_url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {renderer_url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    DoorAnswer {
        status,
        content_type,
        text,
        headers,
    }
}
