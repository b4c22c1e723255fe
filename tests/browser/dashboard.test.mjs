// The dashboard in real Chromium (Debian's, through playwright-core; never a downloaded browser),
// against a real Studio server started by crates/studio/tests/dashboard.rs with an API token:
//   STUDIO_URL          http://127.0.0.1:PORT (the API host: the dashboard is at /)
//   STUDIO_API_TOKEN    the server's token
//   STUDIO_SAMPLE_REPO  the sample repository (examples/design-system) as a bare remote
//   STUDIO_GITHUB_REPO  the GitHub repository a sandbox may name for that remote (`github_repo`)
//   STUDIO_EXPECTED_PR_URL  the pull request the GitHub API peer (Prism) answers for
//   STUDIO_TEST_GITHUB_TOKEN  the server's GITHUB_TOKEN, which the page must never show
//   STUDIO_TEST_OUT     where the screenshot goes
// Run with `node --experimental-websocket --test` (the test opens its own WebSocket too).
//
// The tests are one story, in order: each builds on the sandbox the previous ones made. Buttons
// are found by role and name, so their accessible names are checked on the way. Nothing waits
// for a fixed time: every wait is for a condition, with a deadline.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = required('STUDIO_URL');
const TOKEN = required('STUDIO_API_TOKEN');
const REPO = required('STUDIO_SAMPLE_REPO');
const OUT = required('STUDIO_TEST_OUT');
const GITHUB_REPO = required('STUDIO_GITHUB_REPO');
const PR_URL = required('STUDIO_EXPECTED_PR_URL');
const GITHUB_TOKEN = required('STUDIO_TEST_GITHUB_TOKEN');
const ALERT = 'src/components/Alert.tsx';
/** The sample's Alert before any edit (its default children). */
const ORIGINAL_ALERT_TEXT = 'Your changes were saved.';
/** A create installs dependencies and starts Vite: seconds, more on a loaded machine. */
const CREATE_MS = 120_000;
const STATUS_MS = 60_000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (crates/studio/tests/dashboard.rs sets it)`);
  return value;
}

async function api(method, path, body, token = TOKEN) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function alertSource(text) {
  return `export function Alert() {\n  return <div role="alert">${text}</div>;\n}\n`;
}

async function commit(id, text, description) {
  const answer = await api('POST', `/api/v1/sandboxes/${id}/execute`, {
    command: 'write_file',
    file_path: ALERT,
    content: alertSource(text),
    description,
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.match(answer.body.commit_hash, /^[0-9a-f]{40}$/);
  return answer.body.commit_hash;
}

let browser;
let page;
/**
 * The second sandbox, created through the API while the first tests run, naming a GitHub
 * repository: in the screenshot, then finalized from the page.
 */
let otherCreate;
let otherId;
/** The sandbox created from the form. */
let id;
const pageErrors = [];

before(async () => {
  mkdirSync(OUT, { recursive: true });
  otherCreate = api('POST', '/api/v1/sandboxes', { repository: REPO, branch: 'main', github_repo: GITHUB_REPO });
  browser = await chromium.launch({
    executablePath: process.env.STUDIO_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  // Every Content Security Policy violation is recorded (and fails the last test): the policy
  // must allow what the page does (its module, the client, the same-origin WebSocket, the
  // preview frames) and nothing is inline.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.setDefaultTimeout(30_000);
});

after(async () => {
  await browser?.close();
});

const detailStatus = () => page.locator('#detail-status .status-text');
const rowStatus = (sandbox) => page.locator(`#sandbox-rows tr[data-id="${sandbox}"] .status-text`);
const preview = () => page.frameLocator('#preview iframe');

/** Waits until `locator`'s text is exactly `text`. */
async function waitText(locator, text, timeout = STATUS_MS) {
  await locator.filter({ hasText: new RegExp(`^${text}$`) }).waitFor({ timeout });
}

test('the page and its files are served with a strict policy and no token', async () => {
  const response = await fetch(`${BASE}/`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/html/);
  const csp = response.headers.get('content-security-policy');
  for (const part of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", 'frame-src *.localhost:*']) {
    assert.ok(csp.includes(part), `${part} in ${csp}`);
  }
  assert.ok(!csp.includes('unsafe-inline'), csp);
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('cache-control'), 'no-cache');
  for (const [path, type] of [
    ['/dashboard/app.js', /^text\/javascript/],
    ['/dashboard/detail.js', /^text\/javascript/],
    ['/dashboard/ui.js', /^text\/javascript/],
    ['/dashboard/client.js', /^text\/javascript/],
    ['/dashboard/style.css', /^text\/css/],
  ]) {
    const file = await fetch(`${BASE}${path}`);
    assert.equal(file.status, 200, path);
    assert.match(file.headers.get('content-type'), type, path);
    assert.equal(file.headers.get('x-content-type-options'), 'nosniff', path);
  }
  const client = await (await fetch(`${BASE}/dashboard/client.js`)).text();
  assert.ok(client.includes('class StudioClient'), 'the TypeScript client is served');
  // The API itself still needs the token.
  assert.equal((await fetch(`${BASE}/api/v1/sandboxes`)).status, 401);
});

test("a wrong token shows the API's message and no data", { timeout: CREATE_MS }, async () => {
  // There is something to leak: the second sandbox exists before the page asks.
  const created = await otherCreate;
  assert.equal(created.status, 201, JSON.stringify(created.body));
  otherId = created.body.sandbox_id;

  const refused = await api('GET', '/api/v1/sandboxes', undefined, 'not-the-token');
  assert.equal(refused.status, 401);
  const expected = refused.body.error;
  assert.ok(expected, 'the API explains');

  await page.goto(`${BASE}/`);
  await page.getByLabel('API token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const alert = page.locator('#sign-in-error');
  await waitText(alert, expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  assert.equal(await alert.textContent(), expected);

  assert.equal(await page.getByRole('table').count(), 0, 'no table');
  assert.ok(await page.locator('#app').isHidden(), 'nothing of the app');
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes('sb_'), `no sandbox id on the page:\n${text}`);
  assert.ok(!text.includes(REPO), 'no repository on the page');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the wrong token is not kept');
});

test('signing in with the API token shows the sandboxes', async () => {
  // By keyboard this time: Enter in the field submits the form.
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByLabel('API token').press('Enter');
  await page.getByRole('table').waitFor();
  await waitText(rowStatus(otherId), 'running');
  assert.ok(await page.locator('#sign-in').isHidden());
  assert.equal(await page.evaluate(() => sessionStorage.getItem('studio.apiToken')), TOKEN);
  // A bearer header, never a cookie the previews' requests could carry.
  assert.deepEqual(await page.context().cookies(BASE), []);
});

test('a sandbox created from the form reaches running', { timeout: CREATE_MS }, async () => {
  await page.getByLabel('Repository').fill(REPO);
  await page.getByLabel('Branch').fill('main');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator('#create-progress').getByText('Starting…').waitFor({ timeout: 5_000 });
  const created = page.locator('#create-progress li.done a');
  await created.waitFor({ timeout: CREATE_MS });
  id = await created.textContent();
  assert.match(id, /^sb_[0-9a-f]+$/);
  await waitText(rowStatus(id), 'running');
  const row = page.locator(`#sandbox-rows tr[data-id="${id}"]`);
  assert.ok((await row.innerText()).includes(REPO), 'the repository is in the row');
  assert.equal(await page.locator('#sandbox-rows tr').count(), 2);
});

test('the detail view opens from its row by keyboard, with the preview and the log', { timeout: STATUS_MS }, async () => {
  await page.getByRole('table').getByRole('link', { name: id, exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.locator('#detail').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'detail-title', 'focus moves to the view');
  await waitText(detailStatus(), 'running');
  for (const name of ['Start', 'Stop', 'Restart', 'Delete', 'Finalize']) {
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, name);
  }
  await preview().getByText(ORIGINAL_ALERT_TEXT).first().waitFor({ timeout: STATUS_MS });
  await page.locator('#log .log-line').first().waitFor();
});

test('Restart shows restarting then running without a reload, and new log lines arrive live', { timeout: STATUS_MS }, async () => {
  const before = new Set(await page.locator('#log .log-line').evaluateAll((lines) => lines.map((l) => l.dataset.key)));
  // The transient status is caught as the page shows it, however briefly.
  await page.evaluate((sandbox) => {
    window.__pageLoad = 'before restart';
    window.__statuses = { detail: [], row: [] };
    const watch = (name, node) =>
      new MutationObserver(() => {
        const text = node.querySelector('.status-text')?.textContent;
        const seen = window.__statuses[name];
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(node, { subtree: true, childList: true, characterData: true });
    watch('detail', document.getElementById('detail-status'));
    watch('row', document.querySelector(`#sandbox-rows tr[data-id="${sandbox}"] .status-cell`));
  }, id);
  await page.getByRole('button', { name: 'Restart', exact: true }).click();
  const statuses = await page.waitForFunction(
    () => {
      const done = (seen) => seen.includes('restarting') && seen.at(-1) === 'running';
      return done(window.__statuses.detail) && done(window.__statuses.row) && window.__statuses;
    },
    undefined,
    { timeout: STATUS_MS, polling: 'raf' },
  );
  const seen = await statuses.jsonValue();
  for (const list of [seen.detail, seen.row]) {
    assert.ok(list.indexOf('restarting') < list.lastIndexOf('running'), JSON.stringify(seen));
  }
  assert.equal(await page.evaluate(() => window.__pageLoad), 'before restart', 'no page reload');

  // The restarted renderer prints its start-up lines: they appear in the pane as they come.
  await page.waitForFunction(
    (known) => [...document.querySelectorAll('#log .log-line')].some((l) => l.dataset.key && !known.includes(l.dataset.key)),
    [...before],
    { timeout: STATUS_MS, polling: 'raf' },
  );
  await preview().getByText(ORIGINAL_ALERT_TEXT).first().waitFor({ timeout: STATUS_MS });
});

/** Records, in the page, when each commit's timeline entry appears (the page's own clock). */
async function watchTimeline() {
  await page.evaluate(() => {
    window.__commitShown = {};
    const list = document.getElementById('timeline');
    const note = () => {
      for (const li of list.querySelectorAll('li[data-hash]')) window.__commitShown[li.dataset.hash] ??= Date.now();
    };
    note();
    new MutationObserver(note).observe(list, { childList: true });
  });
}

async function commitShownAt(hash) {
  const shown = await page.waitForFunction((h) => window.__commitShown[h], hash, { timeout: 10_000, polling: 'raf' });
  return shown.jsonValue();
}

let firstHash;
const firstText = `Dashboard first edit ${process.pid}`;
const secondText = `Dashboard second edit ${process.pid}`;

test('a commit made through the API appears in the timeline within 1 s', { timeout: STATUS_MS }, async (t) => {
  await watchTimeline();
  firstHash = await commit(id, firstText, 'First dashboard edit');
  const answered = Date.now();
  const shown = await commitShownAt(firstHash);
  t.diagnostic(`timeline latency: ${shown - answered} ms from the API's answer to the entry on the page`);
  assert.ok(shown - answered < 1_000, `the timeline showed the commit ${shown - answered} ms after the API answered`);
  const entry = page.locator(`#timeline li[data-hash="${firstHash}"]`);
  const text = await entry.innerText();
  assert.ok(text.includes(firstHash.slice(0, 7)), text);
  assert.ok(text.includes('First dashboard edit'), text);
  await preview().getByText(firstText).waitFor({ timeout: STATUS_MS });
});

test('Rollback from the timeline sends the reload event and the preview shows the old content', { timeout: STATUS_MS }, async () => {
  const secondHash = await commit(id, secondText, 'Second dashboard edit');
  await commitShownAt(secondHash);
  await preview().getByText(secondText).waitFor({ timeout: STATUS_MS });

  // The test's own WebSocket sees the event too (the page shows what its own socket received).
  const url = new URL(`/api/v1/sandboxes/${id}/ws`, BASE);
  url.protocol = 'ws:';
  url.searchParams.set('token', TOKEN);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error('the test WebSocket did not open'));
  });
  const reloadSeen = new Promise((resolve) => {
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === 'reload') resolve(event);
    };
  });

  try {
    const button = page.locator(`#timeline li[data-hash="${firstHash}"]`).getByRole('button', { name: 'Rollback', exact: true });
    const describedBy = await button.getAttribute('aria-describedby');
    assert.equal(await page.locator(`[id="${describedBy}"]`).textContent(), (await page.locator(`#timeline li[data-hash="${firstHash}"] .commit-message`).textContent()));
    await button.click();
    const event = await Promise.race([
      reloadSeen,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no reload event within 30 s')), 30_000)),
    ]);
    assert.equal(event.payload.commit_hash, firstHash);
  } finally {
    socket.close();
  }
  await page.locator('#activity li[data-type="reload"]').waitFor();
  // The embedded preview reports its tiles: their states are events of the sandbox too.
  const rendered = page.locator('#activity li[data-type="component-rendered"] .event-text');
  await rendered.first().waitFor({ timeout: STATUS_MS });
  assert.ok((await rendered.allTextContents()).some((text) => text.startsWith('Button · ')), 'a story tile of Button rendered');
  // …and the Components pane lists them with those states.
  await page.locator('#components li[data-component="Alert"][data-state="rendered"]').waitFor({ timeout: STATUS_MS });
  assert.equal(await page.locator('#components li[data-component="Button"] .component-file').textContent(), 'src/components/Button/Button.tsx · 5 stories');
  await preview().getByText(firstText).waitFor({ timeout: STATUS_MS });
  assert.equal(await preview().getByText(secondText).count(), 0, 'the rolled-back text is gone');
  // The branch is back at the first commit: it is the current one, the second is off the timeline.
  await page.locator(`#timeline li[data-hash="${secondHash}"]`).waitFor({ state: 'detached' });
  await page.locator(`#timeline li[data-hash="${firstHash}"] .badge`).waitFor();
});

test('Stop then Start, and the preview comes back', { timeout: STATUS_MS * 2 }, async () => {
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await waitText(detailStatus(), 'stopped');
  await waitText(rowStatus(id), 'stopped');
  await page.locator('#preview .preview-note').waitFor();
  assert.equal(await page.locator('#preview iframe').count(), 0);

  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await waitText(detailStatus(), 'running');
  await waitText(rowStatus(id), 'running');
  // Stopping revoked the preview's cookie: the page asked for a new link.
  await preview().getByText(firstText).waitFor({ timeout: STATUS_MS });
});

test("Finalize shows the API's error text when it cannot tell the GitHub repository", { timeout: STATUS_MS }, async () => {
  await page.getByLabel('Title').fill('Dashboard edits');
  await page.getByLabel('Description').fill('Made from the dashboard test');
  await page.getByRole('button', { name: 'Finalize', exact: true }).click();
  const error = page.locator('#finalize-error');
  await error.waitFor();
  // A local remote is no GitHub repository and this sandbox names none: the API refuses before
  // pushing anything.
  const answer = await api('POST', `/api/v1/sandboxes/${id}/finalize`, { title: 'Dashboard edits' });
  assert.ok(answer.status >= 400, JSON.stringify(answer.body));
  assert.equal(answer.body.code, 'github_repo_unknown', JSON.stringify(answer.body));
  assert.equal(await error.textContent(), answer.body.error);
  await waitText(detailStatus(), 'running');
  assert.equal(await page.locator('#finalize-result').textContent(), '', 'no pull request');
});

test('a screenshot of the dashboard with two sandboxes', async () => {
  await waitText(rowStatus(otherId), 'running');
  await waitText(rowStatus(id), 'running');
  assert.equal(await page.locator('#sandbox-rows tr').count(), 2);
  const path = join(OUT, 'dashboard.png');
  await page.screenshot({ path, fullPage: true });
});

const finalizeText = `Dashboard edit to finalize ${process.pid}`;

test('Finalize from the dashboard opens the pull request and the sandbox becomes finalized', { timeout: STATUS_MS * 2 }, async () => {
  // One commit, made through the API, on the sandbox that names a GitHub repository.
  const hash = await commit(otherId, finalizeText, 'Edit to finalize');
  await page.getByRole('table').getByRole('link', { name: otherId, exact: true }).click();
  await waitText(detailStatus(), 'running');
  await page.locator(`#timeline li[data-hash="${hash}"]`).waitFor();
  assert.equal(await page.locator('#finalize-result').textContent(), '', 'no pull request yet');

  await page.getByLabel('Title').fill('Dashboard finalize');
  await page.getByLabel('Description').fill('Opened from the dashboard test');
  await page.getByRole('button', { name: 'Finalize', exact: true }).click();

  // The answer's pull request, linked in the Finalize pane...
  const opened = page.locator('#finalize-result').getByRole('link');
  await opened.waitFor({ timeout: STATUS_MS });
  assert.equal(await opened.getAttribute('href'), PR_URL);
  assert.ok(await page.locator('#finalize-error').isHidden(), await page.locator('#finalize-error').textContent());
  // ...and the sandbox is finalized, in the view and in its row, each linking the pull request.
  await waitText(detailStatus(), 'finalized');
  await waitText(rowStatus(otherId), 'finalized');
  const row = page.locator(`#sandbox-rows tr[data-id="${otherId}"]`);
  const number = PR_URL.split('/').at(-1);
  const rowLink = row.getByRole('link', { name: `#${number}`, exact: true });
  await rowLink.waitFor();
  assert.equal(await rowLink.getAttribute('href'), PR_URL);
  const factLink = page.locator('#detail-facts').getByRole('link', { name: PR_URL, exact: true });
  await factLink.waitFor();
  assert.equal(await factLink.getAttribute('href'), PR_URL);
  await page.locator('#finalize-form').waitFor({ state: 'hidden' });
  await page.waitForFunction(() => document.getElementById('detail-busy').textContent === '', undefined, { polling: 'raf' });

  // The API agrees; the server's GitHub token is nowhere on the page.
  const status = await api('GET', `/api/v1/sandboxes/${otherId}`);
  assert.equal(status.status, 200);
  assert.equal(status.body.status, 'finalized');
  assert.equal(status.body.pr_url, PR_URL);
  assert.deepEqual(status.body.git_commits.map((c) => c.hash), [hash]);
  assert.ok(!(await page.content()).includes(GITHUB_TOKEN), 'GITHUB_TOKEN in the page');
  assert.ok(!JSON.stringify(status.body).includes(GITHUB_TOKEN), 'GITHUB_TOKEN in the API');
});

test('Delete asks first, and Cancel keeps the sandbox', { timeout: STATUS_MS }, async () => {
  await page.getByRole('table').getByRole('link', { name: id, exact: true }).click();
  await waitText(detailStatus(), 'running');
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await api('GET', `/api/v1/sandboxes/${id}`)).status, 200, 'still there');

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.locator(`#sandbox-rows tr[data-id="${id}"]`).waitFor({ state: 'detached' });
  assert.ok(await page.locator('#detail').isHidden(), 'the view closed');
  assert.equal((await api('GET', `/api/v1/sandboxes/${id}`)).status, 404, 'deleted');
  // The finalized sandbox stays listed, with its pull request.
  await waitText(rowStatus(otherId), 'finalized');
});

test('the page ran without errors or policy violations', async () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
});
