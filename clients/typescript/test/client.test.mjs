// The client against a real Studio server (started by crates/studio/tests/typescript_client.rs):
// one sandbox driven through its whole life, a second one for what must not be reachable.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { StudioClient, StudioError } from '../dist/index.js';
import { STUDIO_API_TOKEN, STUDIO_SAMPLE_REPO, STUDIO_URL, record, tcpProxy, within } from './support.mjs';

const BUTTON = 'src/components/Button/Button.tsx';
const button = (label) => `export function Button() {\n  return <button type="button">${label}</button>;\n}\n`;

/** The git blob id of a text (what `git hash-object` prints for a file holding it). */
const blobId = (text) => createHash('sha1').update(`blob ${Buffer.byteLength(text)}\0`).update(text).digest('hex');

const client = new StudioClient({ baseUrl: STUDIO_URL, token: STUDIO_API_TOKEN });

/** Asserts that `promise` rejects with a StudioError of this status and code; returns it. */
async function rejectsWith(promise, status, code) {
  const error = await promise.then(
    (value) => assert.fail(`expected StudioError ${status} ${code}, got ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.ok(error instanceof StudioError, `expected a StudioError, got ${error?.stack ?? error}`);
  assert.equal(error.status, status, error.message);
  assert.equal(error.code, code, error.message);
  return error;
}

describe('StudioClient against a real server', () => {
  let created;
  let other;
  let id;
  let events;
  const watching = new AbortController();

  before(async () => {
    // Two at once (each takes seconds): ours, and another that a scoped token must not see.
    [created, other] = await Promise.all([
      client.createSandbox({ repository: STUDIO_SAMPLE_REPO }),
      client.createSandbox({ repository: STUDIO_SAMPLE_REPO }),
    ]);
    id = created.sandbox_id;
    // Everything the sandbox publishes from its first event on, for the tests below.
    events = record(client.watch(id, { since: 0, signal: watching.signal }));
  });

  after(async () => {
    watching.abort();
    await within(5_000, 'the watch to end after abort', events?.done ?? Promise.resolve());
    await Promise.allSettled([id && client.delete(id), other && client.delete(other.sandbox_id)]);
  });

  test('createSandbox answers a running sandbox', () => {
    assert.match(created.sandbox_id, /^sb_[0-9a-f]+$/);
    assert.equal(created.status, 'running');
    assert.match(created.renderer_url, /^http:\/\/sb-[0-9a-f]+\.localhost:\d+\/$/);
    assert.match(created.websocket_url, new RegExp(`/api/v1/sandboxes/${id}/ws$`));
  });

  test('get and list show it', async () => {
    const view = await client.get(id);
    assert.equal(view.id, id);
    assert.equal(view.status, 'running');
    assert.equal(view.repository, STUDIO_SAMPLE_REPO);
    const list = await client.list();
    assert.ok(Array.isArray(list));
    const ids = list.map((s) => s.id);
    assert.ok(ids.includes(id) && ids.includes(other.sandbox_id), `both listed: ${ids}`);
    assert.equal(list.find((s) => s.id === id).status, 'running');
  });

  test('watch replays the sandbox history from since: 0, in seq order', async () => {
    await events.until('status running', (e) => e.type === 'status' && e.payload.status === 'running');
    const seqs = events.items.map((e) => e.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seqs 1, 2, 3, ... without a gap or a repeat');
  });

  let firstCommit;
  let secondCommit;
  test('execute commits, and the commit arrives on watch', async () => {
    const first = await client.execute(id, {
      command: 'write_file',
      file_path: BUTTON,
      content: button('First'),
      description: 'first label',
    });
    assert.match(first.commit_hash, /^[0-9a-f]{40}$/);
    assert.equal(first.output, 'File written successfully');
    firstCommit = first.commit_hash;
    const event = await events.until('the first commit event', (e) => e.type === 'commit' && e.payload.hash === firstCommit);
    assert.match(event.payload.message, /first label/);

    const second = await client.execute(id, {
      command: 'write_file',
      file_path: BUTTON,
      content: button('Second'),
      description: 'second label',
    });
    secondCommit = second.commit_hash;
    assert.notEqual(secondCommit, firstCommit);
    await events.until('the second commit event', (e) => e.type === 'commit' && e.payload.hash === secondCommit);
    const view = await client.get(id);
    assert.deepEqual(view.git_commits.map((c) => c.hash), [firstCommit, secondCommit]);
  });

  test('rollback (steps: 1) goes back one commit and a reload event arrives', async () => {
    const from = events.items.length;
    const answer = await client.rollback(id, { steps: 1 });
    assert.equal(answer.success, true);
    assert.equal(answer.current_hash, firstCommit);
    await events.until('the reload event', (e) => e.type === 'reload' && e.payload.commit_hash === firstCommit, { from });
  });

  test('listFiles and readFile read the checkout, and expected_hash refuses a stale edit', async () => {
    const root = await client.listFiles(id);
    const names = root.map((e) => e.name);
    assert.ok(names.includes('src') && names.includes('package.json'), names.join(', '));
    for (const hidden of ['.git', '.studio', 'node_modules']) assert.ok(!names.includes(hidden), names.join(', '));
    const kinds = root.map((e) => e.kind);
    assert.deepEqual(kinds, [...kinds].sort((a, b) => (a === b ? 0 : a === 'dir' ? -1 : 1)), 'directories first');
    const manifest = root.find((e) => e.name === 'package.json');
    assert.equal(manifest.kind, 'file');
    assert.equal(manifest.path, 'package.json');
    assert.ok(manifest.size > 0);
    assert.equal(root.find((e) => e.name === 'src').size, undefined);
    const dir = await client.listFiles(id, 'src/components/Button');
    assert.ok(dir.some((e) => e.path === BUTTON && e.kind === 'file'), JSON.stringify(dir));

    // Rolled back to the first edit above.
    const read = await client.readFile(id, BUTTON);
    assert.equal(read.path, BUTTON);
    assert.equal(read.content, button('First'));
    assert.equal(read.size, Buffer.byteLength(button('First')));
    assert.equal(read.hash, blobId(button('First')));

    const written = await client.execute(id, {
      command: 'write_file',
      file_path: BUTTON,
      content: button('Third'),
      description: 'third label',
      expected_hash: read.hash,
    });
    assert.match(written.commit_hash, /^[0-9a-f]{40}$/);
    const now = await client.readFile(id, BUTTON);
    assert.equal(now.hash, blobId(button('Third')), 'the hash of what execute wrote');

    const stale = await rejectsWith(
      client.execute(id, {
        command: 'write_file',
        file_path: BUTTON,
        content: button('Lost'),
        expected_hash: read.hash,
      }),
      409,
      'stale_file',
    );
    assert.ok(stale.message.includes(read.hash) && stale.message.includes(now.hash), stale.message);
    assert.equal((await client.readFile(id, BUTTON)).content, button('Third'), 'nothing written');

    await rejectsWith(client.readFile(id, 'src/components/Missing.tsx'), 404, 'file_not_found');
    await rejectsWith(client.listFiles(id, '..'), 400, 'path_outside_repo');
    await rejectsWith(client.readFile(id, 'node_modules/react/package.json'), 400, 'path_generated');
  });

  test('components lists what the preview shows, with stories, props and states', async () => {
    const components = await client.components(id);
    const names = components.map((c) => c.name);
    assert.deepEqual(names, ['Alert', 'InlineAlert', 'Avatar', 'Badge', 'Button', 'Card']);
    const button = components.find((c) => c.name === 'Button');
    assert.ok(button.stories.some((s) => s.export === 'Secondary' && s.args.children === 'Cancel order'), JSON.stringify(button));
    assert.ok(['pending', 'rendered', 'error'].includes(button.state));
    assert.ok(components.find((c) => c.name === 'Alert').props.some((p) => p.name === 'tone'));
    await rejectsWith(client.components('sb_00000000000000ff'), 404, 'sandbox_not_found');
  });

  test('restart, stop and start change the status, and the events say so', async () => {
    let from = events.items.length;
    const restarted = await client.restart(id);
    assert.equal(restarted.id, id);
    await events.until('status restarting', (e) => e.type === 'status' && e.payload.status === 'restarting', { from });
    await events.until('status running after the restart', (e) => e.type === 'status' && e.payload.status === 'running', { from });

    from = events.items.length;
    const stopped = await client.stop(id);
    assert.equal(stopped.status, 'stopped');
    await events.until('status stopped', (e) => e.type === 'status' && e.payload.status === 'stopped', { from });
    assert.equal((await client.get(id)).status, 'stopped');
    await rejectsWith(client.components(id), 409, 'renderer_not_running');

    from = events.items.length;
    const started = await client.start(id);
    assert.equal(started.status, 'running');
    await events.until('status running after start', (e) => e.type === 'status' && e.payload.status === 'running', { from });
  });

  test('logs without follow answers the recent lines and ends', async () => {
    const lines = [];
    for await (const line of client.logs(id, { limit: 50 })) lines.push(line);
    assert.ok(lines.length > 0, 'the renderer printed something');
    assert.ok(lines.length <= 50);
    for (const line of lines) {
      assert.equal(typeof line.line, 'string');
      assert.ok(['stdout', 'stderr'].includes(line.stream), JSON.stringify(line));
      assert.ok(!Number.isNaN(Date.parse(line.timestamp)), JSON.stringify(line));
    }
  });

  test('logs with follow yields a line printed after it started, and ends when aborted', async () => {
    const following = new AbortController();
    const lines = record(client.logs(id, { follow: true, limit: 5, signal: following.signal }));
    // The recent lines come first: once one is here, the server follows for us.
    await lines.until('the recent lines', () => true);
    const restartedAt = Date.now();
    // The renderer prints as it starts again.
    await client.restart(id);
    const line = await lines.until('a line printed after the restart', (l) => Date.parse(l.timestamp) >= restartedAt);
    assert.equal(typeof line.line, 'string');
    following.abort();
    await within(5_000, 'the log stream to end after abort', lines.done);
    assert.equal(lines.failure, undefined, `ended without an error: ${lines.failure}`);
  });

  test('logs with follow reads records split at any byte', async () => {
    const recent = [];
    for await (const line of client.logs(id, { limit: 8 })) recent.push(line);
    assert.ok(recent.length > 0);
    const proxy = await tcpProxy(STUDIO_URL, { pieceBytes: 11 });
    const following = new AbortController();
    try {
      const via = new StudioClient({ baseUrl: proxy.url, token: STUDIO_API_TOKEN });
      const lines = record(via.logs(id, { follow: true, limit: recent.length, signal: following.signal }));
      await lines.until(`${recent.length} records`, () => lines.items.length >= recent.length);
      assert.ok(proxy.pieces > 2 * lines.items.length, `the answer came in ${proxy.pieces} pieces`);
      // The same records (lines printed since could have moved the window on, never changed one).
      const last = Date.parse(recent.at(-1).timestamp);
      for (const line of lines.items) {
        assert.ok(
          recent.some((r) => JSON.stringify(r) === JSON.stringify(line)) || Date.parse(line.timestamp) >= last,
          `a record read in pieces is one the server has: ${JSON.stringify(line)}`,
        );
      }
      following.abort();
      await within(5_000, 'the log stream to end after abort', lines.done);
      assert.equal(lines.failure, undefined, `ended without an error: ${lines.failure}`);
      await proxy.idle();
    } finally {
      following.abort();
      await proxy.close();
    }
  });

  test('previewLink answers a one-time URL on the preview host', async () => {
    const link = await client.previewLink(id);
    const url = new URL(link.url);
    assert.equal(url.origin, new URL(created.renderer_url).origin);
    assert.equal(url.pathname, '/__preview/redeem');
    assert.ok(url.searchParams.get('t'));
    assert.ok(Date.parse(link.expires_at) > Date.now());
  });

  test('a scoped token drives its own sandbox only', async () => {
    const token = await client.createToken(id, { expiresInHours: 1 });
    assert.match(token.id, /^tok_[0-9a-f]+$/);
    assert.match(token.token, /^stk_[0-9a-f]{64}$/);
    const scoped = new StudioClient({ baseUrl: STUDIO_URL, token: token.token });
    assert.equal((await scoped.get(id)).id, id);
    await rejectsWith(scoped.get(other.sandbox_id), 404, 'sandbox_not_found');
    assert.ok((await scoped.listFiles(id)).some((e) => e.name === 'package.json'));
    assert.equal((await scoped.readFile(id, BUTTON)).path, BUTTON);
    await rejectsWith(scoped.listFiles(other.sandbox_id), 404, 'sandbox_not_found');
    await rejectsWith(scoped.readFile(other.sandbox_id, BUTTON), 404, 'sandbox_not_found');
    await rejectsWith(scoped.list(), 403, 'forbidden');
    await rejectsWith(scoped.createToken(id), 403, 'forbidden');
  });

  test('a wrong token is a 401 with the API message verbatim', async () => {
    const wrong = new StudioClient({ baseUrl: STUDIO_URL, token: 'not-the-token' });
    const error = await rejectsWith(wrong.get(id), 401, 'unauthorized');
    const raw = await fetch(`${STUDIO_URL}/api/v1/sandboxes/${id}`, { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(error.message, (await raw.json()).error);
    // The same for the event stream: it ends with the error instead of retrying for ever.
    const stream = record(wrong.watch(id));
    await within(10_000, 'the refused watch to end', stream.done);
    assert.ok(stream.failure instanceof StudioError, String(stream.failure));
    assert.equal(stream.failure.status, 401);
    assert.equal(stream.failure.code, 'unauthorized');
  });

  test('an unreachable server is StudioError 0 network_error', async () => {
    const proxy = await tcpProxy(STUDIO_URL);
    const nowhere = proxy.url;
    await proxy.close();
    await rejectsWith(new StudioClient({ baseUrl: nowhere }).list(), 0, 'network_error');
  });

  test('watch reconnects by itself after a drop and yields every event once, without a gap', async () => {
    const proxy = await tcpProxy(STUDIO_URL);
    const via = new StudioClient({ baseUrl: proxy.url, token: STUDIO_API_TOKEN });
    const stop = new AbortController();
    const seen = record(via.watch(id, { since: 0, signal: stop.signal }));
    try {
      const write = async (label) =>
        (await client.execute(id, { command: 'write_file', file_path: BUTTON, content: button(label), description: label })).commit_hash;
      const before = await write('Before the drop');
      await seen.until('the commit before the drop', (e) => e.type === 'commit' && e.payload.hash === before);
      assert.equal(proxy.accepted, 1);

      // The network fails under the open socket, and stays down while the sandbox moves on.
      proxy.cut();
      const missed = [await write('While down 1'), await write('While down 2')];
      await client.rollback(id, { commit_hash: before });
      proxy.resume();

      for (const hash of missed) {
        await seen.until(`the commit ${hash} made while disconnected`, (e) => e.type === 'commit' && e.payload.hash === hash);
      }
      await seen.until('the reload made while disconnected', (e) => e.type === 'reload' && e.payload.commit_hash === before);
      const afterwards = await write('After the reconnection');
      await seen.until('a commit after the reconnection', (e) => e.type === 'commit' && e.payload.hash === afterwards);
      assert.ok(proxy.accepted >= 2, `reconnected (${proxy.accepted} connections)`);

      // selectComponent goes out on the open socket and comes back as an event.
      via.selectComponent(id, 'Button');
      await seen.until('component-selected', (e) => e.type === 'component-selected' && e.payload.component === 'Button');

      const seqs = seen.items.map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `every seq once, in order: ${seqs}`);
      // The first watch (straight to the server, never cut) saw the same events.
      const last = seqs.at(-1);
      await events.until(`the direct watch to reach seq ${last}`, (e) => e.seq === last);
      assert.deepEqual(seen.items, events.items.slice(0, seen.items.length));
      // Aborting ends the iteration and closes the socket.
      stop.abort();
      await within(5_000, 'the watch to end after abort', seen.done);
      await proxy.idle();
    } finally {
      stop.abort();
      await proxy.close();
    }
    assert.equal(seen.failure, undefined, `ended without an error: ${seen.failure}`);
  });

  test('delete removes the sandbox: get is a 404 and its watch ends with it', async () => {
    // From the first event on: once one has arrived, the socket is open.
    const stream = record(client.watch(other.sandbox_id, { since: 0 }));
    await stream.until('the first event of the other sandbox', (e) => e.seq === 1);
    // Finalize's request reaches the server (which refuses a sandbox without commits).
    await rejectsWith(client.finalize(other.sandbox_id, { title: 'Nothing yet' }), 409, 'no_commits');
    await client.delete(other.sandbox_id);
    await rejectsWith(client.get(other.sandbox_id), 404, 'sandbox_not_found');
    await within(10_000, 'the watch of the deleted sandbox to end', stream.done);
    assert.ok(stream.failure instanceof StudioError, String(stream.failure));
    assert.equal(stream.failure.status, 404);
    assert.equal(stream.failure.code, 'sandbox_not_found');
    other = undefined;
  });
});
