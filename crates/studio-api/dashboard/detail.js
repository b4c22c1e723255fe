// The dashboard's view of one sandbox: its controls (Start, Stop, Restart, Delete with a
// confirmation), the preview, its components and whether they render, the commit timeline with Rollback, the sandbox's events, the log
// following live, and Finalize. It reads and changes the page's data through what app.js hands
// it (`connectDetail`): app.js uses this module, never the other way round.

import { $, FINAL, LIVE, dateTime, el, isStudioError, messageOf, plain, renderStatus, setText, shortHash, showError } from './ui.js';

/**
 * What the view needs of the page: the current session (null once signed out) and the page's
 * ways to take a fresh status body, read a sandbox or the list again, forget a sandbox, end the
 * session on a refused token, and clear the address.
 */
let app = null;

export function connectDetail(page) {
  app = page;
}

const current = () => app.session();

/** Lines kept in the log pane. */
const LOG_LINES = 500;
/** Lines asked for when the log (re)connects. */
const LOG_BACKLOG = 200;
/** Events kept in the detail view's event list. */
const ACTIVITY_ITEMS = 100;
/** Component events that come in a burst (a page renders every tile) make one reload of the list. */
const COMPONENTS_SETTLE_MS = 300;

export function openDetail(id) {
  const s = current();
  closeDetail();
  const d = {
    id,
    abort: new AbortController(),
    busy: false,
    iframe: null,
    linking: false,
    previewStale: true,
    previewFailed: false,
    commitsKey: null,
    factsKey: null,
    logKeys: new Set(),
    wakeLogs: null,
    componentsTimer: undefined,
  };
  s.detail = d;
  setText($('notice'), '');
  setText($('detail-id'), id);
  $('detail-status').replaceChildren();
  delete $('detail-status').dataset.status;
  for (const node of ['timeline', 'activity', 'log', 'preview', 'components']) $(node).replaceChildren();
  setText($('components-state'), '');
  $('activity-empty').hidden = false;
  for (const node of ['detail-error', 'finalize-error']) showError($(node), '');
  setText($('detail-busy'), '');
  setText($('finalize-result'), '');
  $('finalize-form').reset();
  $('detail').hidden = false;
  renderDetail(s.sandboxes.get(id), undefined);
  for (const [rowId, row] of s.rows) row.tr.classList.toggle('selected', rowId === id);
  followLogs(d);
  loadComponents(d);
  $('detail-title').focus();
}

export function closeDetail() {
  const s = current();
  const d = s?.detail;
  if (!d) return;
  d.abort.abort();
  clearTimeout(d.componentsTimer);
  s.detail = null;
  $('preview').replaceChildren();
  $('log').replaceChildren();
  $('detail').hidden = true;
  if ($('confirm').open) $('confirm').close('cancel');
  for (const row of s.rows.values()) row.tr.classList.remove('selected');
}

function closeDetailByButton() {
  const id = current()?.detail?.id;
  app.clearHash();
  closeDetail();
  current()?.rows.get(id)?.link.focus();
}

export function renderDetail(view, previous) {
  const d = current().detail;
  renderStatus($('detail-status'), view);
  renderFacts(d, view);
  renderActions(d, view);
  renderTimeline(d, view.git_commits ?? []);
  renderPreview(d, view, previous);
  const over = FINAL.has(view.status);
  $('finalize-form').hidden = over;
  if (view.pr_url && !$('finalize-result').textContent) showPullRequest(view.pr_url, view.pr_number);
  if (previous && previous.status !== view.status && view.status === 'running') {
    d.wakeLogs?.();
    loadComponents(d);
  }
}

function renderFacts(d, view) {
  const facts = [
    ['Repository', view.repository],
    ['Branch', view.branch],
    ['Base branch', view.base_branch],
    ['Created', dateTime(view.created_at)],
    ['Restarts', String(view.restarts)],
  ];
  if (view.error) facts.push(['Error', view.error]);
  const key = JSON.stringify([facts, view.pr_url]);
  if (key === d.factsKey) return;
  d.factsKey = key;
  const list = $('detail-facts');
  list.replaceChildren();
  for (const [name, value] of facts) list.append(el('div', {}, el('dt', {}, name), el('dd', {}, value)));
  if (view.pr_url) {
    list.append(
      el('div', {}, el('dt', {}, 'Pull request'), el('dd', {}, el('a', { href: view.pr_url, target: '_blank', rel: 'noopener noreferrer' }, view.pr_url))),
    );
  }
}

/** What each button can do in each status. `aria-disabled` rather than `disabled`: a focused button keeps its focus. */
function renderActions(d, view) {
  const allowed = {
    start: view.status === 'stopped' || view.status === 'failed',
    stop: LIVE.has(view.status),
    restart: view.status === 'running' || view.status === 'failed',
    delete: true,
  };
  for (const button of document.querySelectorAll('#detail [data-action]')) {
    const off = d.busy || !allowed[button.dataset.action];
    button.setAttribute('aria-disabled', String(off));
  }
  for (const button of $('timeline').querySelectorAll('button')) button.setAttribute('aria-disabled', String(d.busy));
  const finalize = $('finalize-form').querySelector('button');
  finalize.setAttribute('aria-disabled', String(d.busy || view.status !== 'running'));
}

function setBusy(d, text) {
  d.busy = Boolean(text);
  setText($('detail-busy'), text);
  $('detail').setAttribute('aria-busy', String(d.busy));
  const view = current()?.sandboxes.get(d.id);
  if (view) renderActions(d, view);
}

const isOff = (button) => button.getAttribute('aria-disabled') === 'true';

async function act(action, button) {
  const s = current();
  const d = s?.detail;
  if (!d || d.busy || isOff(button)) return;
  if (action === 'delete') {
    askDelete(d);
    return;
  }
  const doing = { start: 'Starting…', stop: 'Stopping…', restart: 'Restarting…' }[action];
  showError($('detail-error'), '');
  setBusy(d, doing);
  try {
    const view = await s.client[action](d.id);
    if (s !== current()) return;
    app.upsert(view);
  } catch (e) {
    if (s !== current() || app.authFailed(e)) return;
    if (s.detail === d) showError($('detail-error'), messageOf(e));
    app.refresh(d.id);
  } finally {
    if (s.detail === d) setBusy(d, '');
  }
}

function askDelete(d) {
  const dialog = $('confirm');
  dialog.dataset.id = d.id;
  setText($('confirm-title'), `Delete ${d.id}?`);
  setText(
    $('confirm-text'),
    'Its renderer stops and its checkout is removed; its commits stay in the repository mirror. This cannot be undone.',
  );
  dialog.returnValue = '';
  dialog.showModal();
}

async function confirmed() {
  const dialog = $('confirm');
  const s = current();
  const d = s?.detail;
  const id = dialog.dataset.id;
  if (!d || d.id !== id) return;
  if (dialog.returnValue !== 'delete') {
    document.querySelector('#detail [data-action="delete"]').focus();
    return;
  }
  showError($('detail-error'), '');
  setBusy(d, 'Deleting…');
  try {
    await s.client.delete(id);
    if (s !== current()) return;
    app.removeSandbox(id, 'deleted');
    await app.relist();
  } catch (e) {
    if (s !== current() || app.authFailed(e)) return;
    if (s.detail === d) {
      setBusy(d, '');
      showError($('detail-error'), messageOf(e));
    }
  }
}

// --- preview

/**
 * The preview is on the sandbox's own origin and needs its cookie: the iframe opens a fresh
 * one-time link. Stopping revokes the cookie, so a preview shown again after a stop needs a new
 * link. A restart keeps the cookie and the page: the renderer page reloads itself once the new
 * renderer answers (studio-template/src/reconnect.ts), so nothing is done here.
 */
function renderPreview(d, view, previous) {
  if (previous && previous.status !== view.status) d.previewFailed = false;
  if (view.status === 'running') {
    if (!d.iframe && !d.previewFailed) linkPreview(d);
    return;
  }
  // The old page stays in view while the renderer comes back.
  if (view.status === 'restarting' && d.iframe) return;
  // A link on its way is for a renderer that is gone.
  d.previewStale = true;
  d.iframe = null;
  previewNote(`The preview is shown while the sandbox is running; it is ${view.status}.`);
}

function previewNote(text, error = false) {
  const pane = $('preview');
  if (pane.firstElementChild?.classList.contains('preview-note') && pane.textContent === text) return;
  pane.replaceChildren(el('p', { className: `preview-note state${error ? ' error' : ''}` }, text));
}

async function linkPreview(d) {
  if (d.linking) return;
  d.linking = true;
  d.previewStale = false;
  const s = current();
  if (!d.iframe) previewNote('Opening the preview…');
  try {
    const link = await s.client.previewLink(d.id);
    if (s !== current() || s.detail !== d || d.previewStale) return;
    if (!d.iframe) {
      d.iframe = el('iframe', {
        title: `Preview of ${d.id}`,
        // Its own origin already keeps it from this page; the sandbox also keeps it from
        // navigating this page away.
        sandbox: 'allow-scripts allow-same-origin allow-forms allow-popups allow-modals allow-downloads',
      });
      $('preview').replaceChildren(d.iframe);
    }
    d.iframe.src = link.url;
  } catch (e) {
    if (s !== current() || app.authFailed(e) || s.detail !== d) return;
    d.previewFailed = true;
    d.iframe = null;
    previewNote(messageOf(e), true);
  } finally {
    d.linking = false;
    // A stop or start while the link was on its way: follow the latest status.
    const view = s.detail === d ? s.sandboxes.get(d.id) : undefined;
    if (view?.status === 'running' && d.previewStale && !d.previewFailed) linkPreview(d);
  }
}

// --- commits

function renderTimeline(d, commits) {
  const key = commits.map((c) => c.hash).join(',');
  if (key === d.commitsKey) return;
  d.commitsKey = key;
  const list = $('timeline');
  const hadFocus = list.contains(document.activeElement);
  const focused = document.activeElement?.closest?.('li')?.dataset.hash;
  list.replaceChildren();
  $('timeline-empty').hidden = commits.length > 0;
  const head = commits.at(-1)?.hash;
  // Newest first; the newest is where the branch is (nothing to roll back to).
  for (const commit of [...commits].reverse()) {
    const messageId = `commit-${commit.hash}`;
    const text = el(
      'div',
      { className: 'commit-text' },
      el('span', { className: 'commit-message', id: messageId }, commit.message),
      el(
        'span',
        { className: 'meta' },
        el('code', { title: commit.hash }, shortHash(commit.hash)),
        ' · ',
        el('time', { datetime: commit.timestamp }, dateTime(commit.timestamp)),
      ),
    );
    const side =
      commit.hash === head
        ? el('span', { className: 'badge' }, 'current')
        : el('button', { type: 'button', 'aria-describedby': messageId, dataset: { hash: commit.hash } }, 'Rollback');
    list.append(el('li', { dataset: { hash: commit.hash } }, text, side));
  }
  if (hadFocus) {
    const again = focused && list.querySelector(`li[data-hash="${focused}"] button`);
    (again || $('timeline-title')).focus();
  }
  const view = current().sandboxes.get(d.id);
  if (view) renderActions(d, view);
}

async function rollback(button) {
  const s = current();
  const d = s?.detail;
  if (!d || d.busy || isOff(button)) return;
  const hash = button.dataset.hash;
  showError($('detail-error'), '');
  setBusy(d, `Rolling back to ${shortHash(hash)}…`);
  try {
    await s.client.rollback(d.id, { commit_hash: hash });
    if (s !== current()) return;
    app.refresh(d.id);
  } catch (e) {
    if (s !== current() || app.authFailed(e)) return;
    if (s.detail === d) showError($('detail-error'), messageOf(e));
  } finally {
    if (s.detail === d) setBusy(d, '');
  }
}

// --- events

function eventSummary(event) {
  const p = event.payload ?? {};
  switch (event.type) {
    case 'status':
      return p.status;
    case 'commit':
      return `${shortHash(p.hash ?? '')} ${p.message ?? ''}`;
    case 'reload':
      return `to ${shortHash(p.commit_hash ?? '')}`;
    case 'error':
      return p.error;
    case 'expiring':
      return `${p.seconds_left} s left before the inactivity timeout`;
    case 'component-selected':
      return p.component;
    case 'component-rendered':
      return [p.component, p.story].filter(Boolean).join(' · ');
    case 'component-error': {
      const where = p.line ? `${p.file}:${p.line}` : p.file;
      return `${[p.component, p.story].filter(Boolean).join(' · ')} (${where}): ${p.message ?? ''}`;
    }
    default:
      return JSON.stringify(p);
  }
}

// --- components

/** Lists the components (`GET …/components`) with what the open previews said of each. */
async function loadComponents(d) {
  const s = current();
  clearTimeout(d.componentsTimer);
  try {
    const components = await s.client.components(d.id);
    if (s.detail !== d) return;
    renderComponents(components);
  } catch (e) {
    if (s.detail !== d) return;
    $('components').replaceChildren();
    setText($('components-state'), isStudioError(e) && e.code === 'renderer_not_running' ? 'Start the sandbox to list its components.' : messageOf(e));
  }
}

function renderComponents(components) {
  const counts = { rendered: 0, error: 0, pending: 0 };
  for (const c of components) counts[c.state] += 1;
  setText(
    $('components-state'),
    components.length === 0
      ? 'No components match this sandbox\'s component globs.'
      : `${counts.rendered} rendered, ${counts.error} failing, ${counts.pending} not shown on an open preview`,
  );
  $('components').replaceChildren(
    ...components.map((c) => {
      const stories = c.stories.length ? ` · ${c.stories.length} ${c.stories.length === 1 ? 'story' : 'stories'}` : '';
      const item = el(
        'li',
        { dataset: { component: c.name, state: c.state } },
        el('span', { className: `component-state state-${c.state}` }, c.state),
        el('span', { className: 'component-name' }, c.name),
        el('span', { className: 'component-file' }, `${c.file}${stories}`),
      );
      if (c.error) {
        const where = c.error.line ? `${c.error.file}:${c.error.line}` : c.error.file;
        item.append(el('span', { className: 'component-error' }, `${where}: ${c.error.message}`));
      }
      return item;
    }),
  );
}

export function addActivity(d, event) {
  if (event.type === 'component-rendered' || event.type === 'component-error') {
    clearTimeout(d.componentsTimer);
    d.componentsTimer = setTimeout(() => loadComponents(d), COMPONENTS_SETTLE_MS);
  }
  const list = $('activity');
  $('activity-empty').hidden = true;
  list.prepend(
    el(
      'li',
      { dataset: { type: event.type, seq: event.seq === undefined ? undefined : String(event.seq) } },
      el('time', {}, new Date().toLocaleTimeString()),
      el('span', { className: `event-type event-${event.type}` }, event.type),
      el('span', { className: 'event-text' }, eventSummary(event) ?? ''),
    ),
  );
  while (list.childElementCount > ACTIVITY_ITEMS) list.lastElementChild.remove();
}

// --- log

/** Waits `ms` before the log reconnects; less when the view closes or the renderer runs again (`wakeLogs`). */
function sleep(ms, d) {
  return new Promise((resolve) => {
    const signal = d.abort.signal;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      d.wakeLogs = null;
      resolve();
    };
    const timer = setTimeout(done, ms);
    d.wakeLogs = done;
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Follows the renderer's output while the view is open; reconnects when the stream ends (a stop, a lost connection). */
async function followLogs(d) {
  const s = current();
  const signal = d.abort.signal;
  let delay = 1_000;
  setText($('log-state'), 'Waiting for the renderer’s output…');
  while (!signal.aborted) {
    try {
      for await (const record of s.client.logs(d.id, { follow: true, limit: LOG_BACKLOG, signal })) {
        if (signal.aborted) return;
        setText($('log-state'), '');
        appendLog(d, record);
        delay = 1_000;
      }
    } catch (e) {
      if (signal.aborted || s !== current() || app.authFailed(e)) return;
      if (isStudioError(e) && e.status === 404) return;
      setText($('log-state'), isStudioError(e) && e.code === 'no_renderer' ? 'No renderer runs now; the log resumes when it starts.' : messageOf(e));
    }
    if (signal.aborted) return;
    await sleep(delay, d);
    delay = Math.min(delay * 2, 10_000);
  }
}

function appendLog(d, record) {
  const log = $('log');
  let line;
  if ('skipped' in record) {
    line = el('div', { className: 'log-line skipped' }, `… ${record.skipped} lines skipped (they came faster than this page read them)`);
  } else {
    // A reconnection sends recent lines again: those already shown are skipped.
    const key = `${record.timestamp}\u0000${record.stream}\u0000${record.line}`;
    if (d.logKeys.has(key)) return;
    d.logKeys.add(key);
    line = el(
      'div',
      { className: `log-line ${record.stream}`, dataset: { key } },
      el('time', { datetime: record.timestamp }, new Date(record.timestamp).toLocaleTimeString()),
      el('span', {}, plain(record.line)),
    );
  }
  const following = log.scrollTop + log.clientHeight >= log.scrollHeight - 16;
  log.append(line);
  while (log.childElementCount > LOG_LINES) {
    const first = log.firstElementChild;
    if (first.dataset.key) d.logKeys.delete(first.dataset.key);
    first.remove();
  }
  if (following) log.scrollTop = log.scrollHeight;
}

// --- finalize

function showPullRequest(url, number) {
  $('finalize-result').replaceChildren(
    'Pull request opened: ',
    el('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, number ? `#${number}` : url),
  );
}

async function finalize(event) {
  event.preventDefault();
  const s = current();
  const d = s?.detail;
  const button = event.currentTarget.querySelector('button');
  if (!d || d.busy || isOff(button)) return;
  const title = $('finalize-title-input').value.trim();
  const description = $('finalize-description').value.trim();
  showError($('finalize-error'), '');
  setBusy(d, 'Pushing the branch and opening the pull request…');
  try {
    const request = { title };
    if (description) request.description = description;
    const answer = await s.client.finalize(d.id, request);
    if (s !== current()) return;
    if (s.detail === d) showPullRequest(answer.pr_url, answer.pr_number);
    app.refresh(d.id);
  } catch (e) {
    if (s !== current() || app.authFailed(e)) return;
    if (s.detail === d) showError($('finalize-error'), messageOf(e));
  } finally {
    if (s.detail === d) setBusy(d, '');
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

$('finalize-form').addEventListener('submit', finalize);
$('detail-close').addEventListener('click', closeDetailByButton);
for (const button of document.querySelectorAll('#detail [data-action]')) {
  button.addEventListener('click', () => act(button.dataset.action, button));
}
$('timeline').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-hash]');
  if (button) rollback(button);
});
$('confirm-cancel').addEventListener('click', () => $('confirm').close('cancel'));
$('confirm-ok').addEventListener('click', () => $('confirm').close('delete'));
$('confirm').addEventListener('close', confirmed);
