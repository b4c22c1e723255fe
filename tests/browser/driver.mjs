// A tiny remote control for Debian's Chromium, used by the Rust tests and benchmarks of Studio.
//
// Protocol: one JSON object per line on stdin, one answer per line on stdout.
//   {"id": 1, "cmd": "open", "page": "main", "url": "http://127.0.0.1:5173/"}
//   {"id": 2, "cmd": "waitFor", "page": "main", "expr": "document.title", "timeoutMs": 10000}
//   {"id": 3, "cmd": "eval", "page": "main", "expr": "1 + 1"}
//   {"id": 4, "cmd": "screenshot", "page": "main", "path": "/tmp/shot.png"}
//   {"id": 5, "cmd": "logs", "page": "main"}      (the page's console output and errors)
//   {"id": 6, "cmd": "close", "page": "main"}
//   {"id": 7, "cmd": "frameWaitFor", "page": "main", "frameUrl": "http://sb-1.localhost:7700/", "expr": "…"}
//   {"id": 8, "cmd": "frameEval", "page": "main", "frameUrl": "http://sb-1.localhost:7700/", "expr": "…"}
//       (waitFor and eval inside the page's first frame whose URL starts with frameUrl, e.g. an
//       iframe from another origin, which the page's own scripts cannot reach)
// Answers: {"id": 1, "ok": true, "value": …} or {"id": 1, "ok": false, "error": "…"}.
// The first line written is {"ready": true} once the browser runs. Closing stdin closes the browser.
//
// `expr` is a JavaScript expression evaluated in the page; `waitFor` polls it on every animation
// frame until it is truthy and answers its value. One browser serves the whole test process; each
// named page is a tab of its own context (no shared storage between pages).
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const executablePath = process.env.STUDIO_CHROMIUM ?? "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const pages = new Map();
const MAX_LOG_LINES = 200;

async function pageNamed(name) {
  let entry = pages.get(name);
  if (!entry) {
    const context = await browser.newContext();
    const page = await context.newPage();
    entry = { context, page, logs: [] };
    const log = (line) => {
      entry.logs.push(line);
      if (entry.logs.length > MAX_LOG_LINES) entry.logs.shift();
    };
    page.on("console", (message) => log(`[${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => log(`[pageerror] ${error.message}`));
    pages.set(name, entry);
  }
  return entry;
}

/** The first frame of `tab` whose URL starts with `prefix`, waiting for it up to `timeoutMs`. */
async function frameOf(tab, prefix, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = tab.frames().find((f) => f.url().startsWith(prefix));
    if (frame) return frame;
    if (Date.now() > deadline) {
      throw new Error(`no frame at ${prefix} within ${timeoutMs} ms; frames: ${tab.frames().map((f) => f.url()).join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const commands = {
  async open({ page, url, timeoutMs = 15_000 }) {
    const { page: tab } = await pageNamed(page);
    await tab.goto(url, { waitUntil: "load", timeout: timeoutMs });
    return tab.url();
  },
  async waitFor({ page, expr, timeoutMs = 15_000 }) {
    const { page: tab } = await pageNamed(page);
    const handle = await tab.waitForFunction(expr, undefined, { timeout: timeoutMs, polling: "raf" });
    return handle.jsonValue();
  },
  async eval({ page, expr }) {
    const { page: tab } = await pageNamed(page);
    return tab.evaluate(expr);
  },
  async screenshot({ page, path }) {
    const { page: tab } = await pageNamed(page);
    await tab.screenshot({ path, fullPage: true });
    return path;
  },
  async frameWaitFor({ page, frameUrl, expr, timeoutMs = 15_000 }) {
    const { page: tab } = await pageNamed(page);
    const started = Date.now();
    const frame = await frameOf(tab, frameUrl, timeoutMs);
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    const handle = await frame.waitForFunction(expr, undefined, { timeout: left, polling: "raf" });
    return handle.jsonValue();
  },
  async frameEval({ page, frameUrl, expr }) {
    const { page: tab } = await pageNamed(page);
    return (await frameOf(tab, frameUrl, 5_000)).evaluate(expr);
  },
  async logs({ page }) {
    return (await pageNamed(page)).logs;
  },
  async close({ page }) {
    const entry = pages.get(page);
    pages.delete(page);
    await entry?.context.close();
    return null;
  },
};

const write = (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`);
write({ ready: true, version: browser.version() });

// Requests run concurrently (tests may wait on two pages at once); answers carry the request id.
const lines = createInterface({ input: process.stdin });
const pending = new Set();
lines.on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    write({ id: null, ok: false, error: `not JSON: ${error.message}` });
    return;
  }
  const run = commands[request.cmd];
  const work = (run ? run(request) : Promise.reject(new Error(`unknown command ${request.cmd}`)))
    .then((value) => write({ id: request.id, ok: true, value: value ?? null }))
    .catch((error) => write({ id: request.id, ok: false, error: String(error?.message ?? error) }))
    .finally(() => pending.delete(work));
  pending.add(work);
});
lines.on("close", async () => {
  await Promise.allSettled([...pending]);
  await browser.close();
  process.exit(0);
});
