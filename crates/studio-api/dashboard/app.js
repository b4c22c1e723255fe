// Studio's dashboard: sign-in, the table of sandboxes kept live, the Create form, and the address
// (`#<sandbox id>` opens that sandbox's view, detail.js). Plain ES modules, no framework, no build
// step: the API calls are the TypeScript client's (served as ./client.js), so the page holds no
// second copy of them.
//
// Liveness: one `watch` (WebSocket) per listed sandbox; every event re-reads that sandbox and
// updates its row, and a `status` event is shown at once (a restart's `restarting` lasts less
// than a round trip). The list is read again after a create or delete made here, and slowly
// (RELIST_MS) to discover sandboxes created elsewhere and refresh memory and CPU, which change
// without an event. Nothing else polls.
//
// The API token, when the server needs one, is kept in this origin's sessionStorage and sent by
// the client as a bearer header (`?token=` on the WebSocket): never a cookie, which the previews'
// origins could make the browser send. Every text from the API is set as text, never as HTML.

import { StudioClient } from './client.js';
import { addActivity, closeDetail, connectDetail, openDetail, renderDetail } from './detail.js';
import { $, FINAL, LIVE, ago, bytes, cpuTime, dateTime, duration, el, isStudioError, messageOf, renderStatus, setText, showError } from './ui.js';

const TOKEN_KEY = 'studio.apiToken';
/** The slow re-list (see the top of the file). */
const RELIST_MS = 15_000;
/** A finished create's line stays this long. */
const CREATED_NOTE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Session: signed in (or no token needed), with the data and live connections that go with it

/** The current session, or null before sign-in. Late answers of an ended session are dropped. */
let session = null;

function newSession(client, withToken) {
  return {
    client,
    withToken,
    sandboxes: new Map(),
    rows: new Map(),
    watches: new Map(),
    refreshes: new Map(),
    cpu: new Map(),
    relisting: false,
    relistAgain: false,
    timers: [],
    detail: null,
  };
}

/** True (and back to sign-in) when the API refused the token. */
function authFailed(e) {
  if (isStudioError(e) && e.status === 401) {
    sessionEnded(e.message);
    return true;
  }
  return false;
}

async function boot() {
  $('boot').hidden = false;
  $('boot-error').hidden = true;
  const token = sessionStorage.getItem(TOKEN_KEY) || undefined;
  const client = new StudioClient({ baseUrl: '', token });
  try {
    const list = await client.list();
    enter(client, token !== undefined, list);
  } catch (e) {
    $('boot').hidden = true;
    if (isStudioError(e) && (e.status === 401 || e.status === 403)) {
      sessionStorage.removeItem(TOKEN_KEY);
      // No token yet: just the form. A stored one that stopped working: say why.
      showSignIn(token === undefined ? '' : e.message);
    } else {
      $('boot-error-text').textContent = messageOf(e);
      $('boot-error').hidden = false;
    }
  }
}

function showSignIn(error) {
  $('boot').hidden = true;
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  showError($('sign-in-error'), error);
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (form.getAttribute('aria-busy') === 'true') return;
  const input = $('token');
  const token = input.value;
  if (!token) {
    showError($('sign-in-error'), 'Enter the API token.');
    input.focus();
    return;
  }
  form.setAttribute('aria-busy', 'true');
  const client = new StudioClient({ baseUrl: '', token });
  try {
    const list = await client.list();
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = '';
    enter(client, true, list);
  } catch (e) {
    // The API's own words, and nothing else: no data was read.
    showError($('sign-in-error'), messageOf(e));
    input.select();
  } finally {
    form.removeAttribute('aria-busy');
  }
}

function enter(client, withToken, list) {
  leave();
  const s = newSession(client, withToken);
  session = s;
  $('boot').hidden = true;
  $('sign-in').hidden = true;
  showError($('sign-in-error'), '');
  $('sign-out').hidden = !withToken;
  $('app').hidden = false;
  applyList(list);
  s.timers.push(setInterval(relist, RELIST_MS), setInterval(tick, 1000));
  route();
}

/** Ends the session: closes every connection and forgets every sandbox it showed. */
function leave() {
  const s = session;
  if (!s) return;
  closeDetail();
  session = null;
  for (const timer of s.timers) clearInterval(timer);
  for (const controller of s.watches.values()) controller.abort();
  $('sandbox-rows').replaceChildren();
  $('sandboxes').hidden = true;
  $('create-progress').replaceChildren();
  for (const id of ['list-error', 'create-error']) showError($(id), '');
  setText($('notice'), '');
  setText($('list-state'), '');
  $('app').hidden = true;
}

function sessionEnded(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  leave();
  showSignIn(message);
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  leave();
  showSignIn('');
}

// ---------------------------------------------------------------------------------------------
// The list

/** `known`: the sandboxes shown when the list was asked for; one added since is no deletion. */
function applyList(list, known = new Set(session.sandboxes.keys())) {
  const seen = new Set();
  for (const view of list) {
    seen.add(view.id);
    upsert(view);
  }
  for (const id of known) if (!seen.has(id)) removeSandbox(id, 'deleted');
  renderListState();
}

/** Reads the list again; lists never overlap, and one asked for meanwhile runs after. */
async function relist() {
  const s = session;
  if (!s) return;
  if (s.relisting) {
    s.relistAgain = true;
    return;
  }
  s.relisting = true;
  try {
    do {
      s.relistAgain = false;
      const known = new Set(s.sandboxes.keys());
      const list = await s.client.list();
      if (s !== session) return;
      showError($('list-error'), '');
      applyList(list, known);
    } while (s.relistAgain);
  } catch (e) {
    if (s !== session || authFailed(e)) return;
    showError($('list-error'), messageOf(e));
  } finally {
    s.relisting = false;
  }
}

function renderListState() {
  const s = session;
  const empty = s.sandboxes.size === 0;
  $('sandboxes').hidden = empty;
  setText($('list-state'), empty ? 'No sandboxes yet. Create one below.' : '');
}

/** Takes a fresh status body: row, detail view, watch. */
function upsert(view) {
  const s = session;
  const previous = s.sandboxes.get(view.id);
  s.sandboxes.set(view.id, view);
  trackCpu(view);
  renderRow(view);
  if (!FINAL.has(view.status)) ensureWatch(view.id);
  if (s.detail?.id === view.id) renderDetail(view, previous);
  if (!previous) renderListState();
}

function removeSandbox(id, why) {
  const s = session;
  if (!s.sandboxes.has(id)) return;
  s.sandboxes.delete(id);
  s.cpu.delete(id);
  s.rows.get(id)?.tr.remove();
  s.rows.delete(id);
  s.watches.get(id)?.abort();
  s.watches.delete(id);
  if (s.detail?.id === id) {
    closeDetail();
    clearHash();
    setText($('notice'), `Sandbox ${id} was ${why}.`);
    $('list-title').focus();
  }
  renderListState();
}

/** CPU share between two readings at least 2 s apart (CPU time alone grows forever). */
function trackCpu(view) {
  const s = session;
  const usec = view.resources?.cpu_usage_usec;
  if (usec === undefined) {
    s.cpu.delete(view.id);
    return;
  }
  const now = Date.now();
  const last = s.cpu.get(view.id);
  if (!last || usec < last.usec) {
    s.cpu.set(view.id, { usec, at: now, share: undefined });
  } else if (now - last.at >= 2_000) {
    const share = ((usec - last.usec) / ((now - last.at) * 1000)) * 100;
    s.cpu.set(view.id, { usec, at: now, share });
  }
}

function createRow(view) {
  const link = el('a', { href: `#${view.id}`, className: 'sandbox-link' }, view.id);
  const cells = {
    id: el('th', { scope: 'row' }, link),
    repository: el('td', { className: 'repository' }),
    branch: el('span'),
    base: el('span', { className: 'meta' }),
    status: el('span'),
    restarts: el('td', { className: 'number' }),
    uptime: el('td', { className: 'number' }),
    activity: el('td'),
    memory: el('td', { className: 'number' }),
    cpu: el('td', { className: 'number' }),
    pr: el('td'),
  };
  const tr = el(
    'tr',
    { dataset: { id: view.id } },
    cells.id,
    cells.repository,
    el('td', { className: 'branch' }, cells.branch, cells.base),
    el('td', { className: 'status-cell' }, cells.status),
    cells.restarts,
    cells.uptime,
    cells.activity,
    cells.memory,
    cells.cpu,
    cells.pr,
  );
  return { tr, link, ...cells, prUrl: undefined };
}

/** Newest first. */
function placeRow(row, view) {
  const s = session;
  const body = $('sandbox-rows');
  const created = Date.parse(view.created_at);
  for (const tr of body.children) {
    const other = s.sandboxes.get(tr.dataset.id);
    if (other && Date.parse(other.created_at) < created) {
      body.insertBefore(row.tr, tr);
      return;
    }
  }
  body.append(row.tr);
}

function renderRow(view) {
  const s = session;
  let row = s.rows.get(view.id);
  if (!row) {
    row = createRow(view);
    s.rows.set(view.id, row);
    placeRow(row, view);
  }
  setText(row.repository, view.repository);
  row.repository.title = view.repository;
  setText(row.branch, view.branch);
  setText(row.base, view.base_branch ? `from ${view.base_branch}` : '');
  renderStatus(row.status, view);
  setText(row.restarts, String(view.restarts));
  renderTimes(row, view);
  setText(row.memory, view.resources ? bytes(view.resources.memory_bytes) : '—');
  const cpu = s.cpu.get(view.id);
  const share = cpu?.share === undefined ? '' : ` (${cpu.share.toFixed(cpu.share < 10 ? 1 : 0)} %)`;
  setText(row.cpu, view.resources ? `${cpuTime(view.resources.cpu_usage_usec)}${share}` : '—');
  if (row.prUrl !== (view.pr_url ?? null)) {
    row.prUrl = view.pr_url ?? null;
    row.pr.replaceChildren(
      view.pr_url
        ? el('a', { href: view.pr_url, target: '_blank', rel: 'noopener noreferrer' }, view.pr_number ? `#${view.pr_number}` : 'Pull request')
        : '—',
    );
  }
  row.tr.classList.toggle('selected', s.detail?.id === view.id);
}

function renderTimes(row, view) {
  setText(row.uptime, LIVE.has(view.status) ? duration(Date.now() - Date.parse(view.created_at)) : '—');
  setText(row.activity, ago(view.last_activity));
  row.activity.title = dateTime(view.last_activity);
}

/** Once a second: the relative times (computed here, nothing is asked of the API). */
function tick() {
  const s = session;
  if (!s) return;
  for (const [id, row] of s.rows) {
    const view = s.sandboxes.get(id);
    if (view) renderTimes(row, view);
  }
  for (const item of $('create-progress').querySelectorAll('[data-started]')) {
    setText(item.querySelector('.elapsed'), duration(Date.now() - Number(item.dataset.started)));
  }
}

// ---------------------------------------------------------------------------------------------
// Live updates

function ensureWatch(id) {
  const s = session;
  if (s.watches.has(id)) return;
  const controller = new AbortController();
  s.watches.set(id, controller);
  // Without `since` the stream starts at the events published once the socket is open: one
  // published between the list and that moment is caught by the next re-list.
  (async () => {
    try {
      for await (const event of s.client.watch(id, { signal: controller.signal })) {
        if (s !== session || controller.signal.aborted) return;
        onEvent(id, event);
      }
    } catch (e) {
      if (s !== session || controller.signal.aborted || authFailed(e)) return;
      if (isStudioError(e) && e.status === 404) removeSandbox(id, 'deleted');
      else console.warn(`watching ${id}: ${messageOf(e)}`);
    } finally {
      if (s.watches.get(id) === controller) s.watches.delete(id);
    }
  })();
}

function onEvent(id, event) {
  const s = session;
  if (s.detail?.id === id) addActivity(s.detail, event);
  // A reply to a message this page sent (it sends none) is no event of the sandbox.
  if (event.seq === undefined) return;
  if (event.type === 'status') {
    const view = s.sandboxes.get(id);
    if (view && view.status !== event.payload.status) upsert({ ...view, status: event.payload.status });
  }
  // A selection changes nothing the page shows but the activity time: not worth a read.
  if (event.type === 'component-selected') return;
  refresh(id);
}

/** Reads one sandbox again; reads of one sandbox never overlap, and a read asked for meanwhile runs after. */
function refresh(id) {
  const s = session;
  const pending = s.refreshes.get(id);
  if (pending) {
    pending.again = true;
    return;
  }
  const entry = { again: false };
  s.refreshes.set(id, entry);
  (async () => {
    try {
      do {
        entry.again = false;
        const view = await s.client.get(id);
        if (s !== session) return;
        upsert(view);
      } while (entry.again);
    } catch (e) {
      if (s !== session || authFailed(e)) return;
      if (isStudioError(e) && e.status === 404) removeSandbox(id, 'deleted');
      else console.warn(`reading ${id}: ${messageOf(e)}`);
    } finally {
      if (s.refreshes.get(id) === entry) s.refreshes.delete(id);
    }
  })();
}

// ---------------------------------------------------------------------------------------------
// Create

async function create(event) {
  event.preventDefault();
  const s = session;
  if (!s) return;
  const repository = $('create-repository').value.trim();
  const branch = $('create-branch').value.trim();
  showError($('create-error'), '');
  if (!repository) {
    showError($('create-error'), 'Enter a repository.');
    $('create-repository').focus();
    return;
  }
  const elapsed = el('span', { className: 'elapsed' }, '0 s');
  const item = el(
    'li',
    { className: 'pending', dataset: { started: String(Date.now()) } },
    el('span', { className: 'spinner', 'aria-hidden': 'true' }),
    `Starting… ${repository}${branch ? ` (${branch})` : ''} · `,
    elapsed,
  );
  $('create-progress').append(item);
  try {
    const request = { repository };
    if (branch) request.branch = branch;
    const created = await s.client.createSandbox(request);
    if (s !== session) return;
    item.removeAttribute('data-started');
    item.className = 'done';
    item.replaceChildren(el('span', {}, 'Created ', el('a', { href: `#${created.sandbox_id}` }, created.sandbox_id), `: ${created.status}.`));
    setTimeout(() => item.remove(), CREATED_NOTE_MS);
    // Its row at once; the list too, for anything created elsewhere meanwhile.
    refresh(created.sandbox_id);
    await relist();
  } catch (e) {
    item.remove();
    if (s !== session || authFailed(e)) return;
    showError($('create-error'), messageOf(e));
  }
}

// ---------------------------------------------------------------------------------------------
// The address

function clearHash() {
  if (location.hash) history.pushState(null, '', location.pathname + location.search);
}

/** The view follows the address: `#<sandbox id>` opens it, so Back closes it. */
function route() {
  const s = session;
  if (!s) return;
  const id = decodeURIComponent(location.hash.slice(1));
  if (!id) {
    closeDetail();
    return;
  }
  if (s.detail?.id === id) return;
  if (!s.sandboxes.has(id)) {
    closeDetail();
    setText($('notice'), `There is no sandbox ${id}.`);
    return;
  }
  openDetail(id);
}

// ---------------------------------------------------------------------------------------------
// Wiring

$('sign-in-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', signOut);
$('boot-retry').addEventListener('click', boot);
$('create-form').addEventListener('submit', create);
connectDetail({ session: () => session, upsert, refresh, relist, removeSandbox, authFailed, clearHash });
window.addEventListener('hashchange', route);
window.addEventListener('popstate', route);

boot();
