//! Headless Chromium (Debian's `/usr/bin/chromium`, or `$STUDIO_CHROMIUM`) driven through
//! playwright-core by the workspace's `tests/browser/driver.mjs`, one JSON command per line; and
//! the page-side snippets the renderer's tests and benchmark measure with.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::paths;

/// Chromium, driven through `tests/browser/driver.mjs` over JSON lines. Each named page is a tab
/// of its own context. Killed when dropped.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("pid", &self.child.id())
            .field("next_id", &self.next_id)
            .finish()
    }
}

impl Browser {
    /// Starts the driver and waits (up to 60 s) until Chromium runs.
    pub async fn launch() -> Self {
        let browser_dir = paths::workspace_root().join("tests/browser");
        assert!(
            browser_dir.join("node_modules/playwright-core").is_dir(),
            "run tests/setup/npm-browser.sh first (installs playwright-core)"
        );
        let mut child = Command::new("node")
            .arg(browser_dir.join("driver.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node tests/browser/driver.mjs");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("Chromium did not start within 60 s")
            .expect("read the browser driver's output")
            .expect("driver exited before Chromium started");
        let ready: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("driver's first line is not JSON ({e}): {first}"));
        assert_eq!(ready["ready"], true, "{first}");
        Self {
            child,
            stdin,
            lines,
            next_id: 0,
        }
    }

    /// Sends one command and returns its value, or the driver's error message.
    pub async fn call(&mut self, mut command: Value) -> Result<Value, String> {
        self.next_id += 1;
        command["id"] = json!(self.next_id);
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to the browser driver");
        loop {
            let line = self
                .lines
                .next_line()
                .await
                .expect("read from the browser driver")
                .expect("browser driver exited");
            let answer: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("driver answered no JSON ({e}): {line}"));
            if answer["id"] != json!(self.next_id) {
                continue;
            }
            return if answer["ok"] == true {
                Ok(answer["value"].clone())
            } else {
                Err(answer["error"].as_str().unwrap_or("?").to_owned())
            };
        }
    }

    /// Opens `url` in the tab named `page` (created on first use).
    pub async fn open(&mut self, page: &str, url: &str) {
        if let Err(e) = self
            .call(json!({"cmd": "open", "page": page, "url": url}))
            .await
        {
            panic!("opening {url} failed: {e}");
        }
    }

    /// Closes the tab named `page`.
    pub async fn close_page(&mut self, page: &str) {
        if let Err(e) = self.call(json!({"cmd": "close", "page": page})).await {
            panic!("closing page {page} failed: {e}");
        }
    }

    /// Waits until `expr` is truthy in the page; panics with the page's console on timeout.
    pub async fn wait_for(&mut self, page: &str, expr: &str, timeout: Duration) -> Value {
        let command = json!({"cmd": "waitFor", "page": page, "expr": expr, "timeoutMs": timeout.as_millis() as u64});
        match self.call(command).await {
            Ok(value) => value,
            Err(e) => {
                let logs = self
                    .call(json!({"cmd": "logs", "page": page}))
                    .await
                    .unwrap_or_default();
                let text = self.eval(page, "document.body.innerText").await;
                panic!("waiting for `{expr}` failed: {e}\npage text:\n{text}\nconsole:\n{logs:#}");
            }
        }
    }

    /// The value of `expr` evaluated in the page.
    pub async fn eval(&mut self, page: &str, expr: &str) -> Value {
        self.call(json!({"cmd": "eval", "page": page, "expr": expr}))
            .await
            .unwrap_or_else(|e| panic!("evaluating `{expr}` failed: {e}"))
    }

    /// Waits until the renderer marked the page ready and returns the number of components.
    pub async fn wait_ready(&mut self, page: &str) -> u64 {
        let value = self
            .wait_for(
                page,
                "document.documentElement.dataset.studioReady",
                Duration::from_secs(20),
            )
            .await;
        value
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("studioReady is not a component count: {value}"))
    }

    /// The names of the component cards on the page, in order.
    pub async fn component_names(&mut self, page: &str) -> Vec<String> {
        let value = self
            .eval(page, "[...document.querySelectorAll('[data-studio-component]')].map(e => e.dataset.studioComponent)")
            .await;
        serde_json::from_value(value).expect("component names are strings")
    }

    /// Closes the browser (bounded).
    pub async fn close(mut self) {
        let _ = self.stdin.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// JavaScript that records (once) in `window.__seenAt` the wall-clock time at which `text` is
/// first painted.
pub fn observe_text(text: &str) -> String {
    let text = serde_json::to_string(text).expect("a string serialises");
    format!(
        "(() => {{ window.__seenAt = 0; const want = {text}; const check = () => {{
            if (!window.__seenAt && document.body.innerText.includes(want)) {{
              observer.disconnect();
              requestAnimationFrame(() => {{ window.__seenAt = performance.timeOrigin + performance.now(); }});
            }} }};
          const observer = new MutationObserver(check);
          observer.observe(document.body, {{ subtree: true, childList: true, characterData: true }});
          check(); return true; }})()"
    )
}

/// Milliseconds since the Unix epoch, comparable with the page's `performance.timeOrigin`.
pub fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
        * 1000.0
}
