// What the client's tests share: the server they run against (from the environment; the Rust
// harness crates/studio/tests/typescript_client.rs starts it), an event recorder for `watch`, and
// a TCP proxy that can cut the connections running through it.
import assert from 'node:assert/strict';
import net from 'node:net';

export function env(name) {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (the tests run against a real Studio server)`);
  return value;
}

export const STUDIO_URL = env('STUDIO_URL');
export const STUDIO_API_TOKEN = env('STUDIO_API_TOKEN');
export const STUDIO_SAMPLE_REPO = env('STUDIO_SAMPLE_REPO');

/**
 * Consumes an async iterable in the background, keeping every item; `until` waits (bounded) for an
 * item that matches, among those from index `from` on.
 */
export function record(iterable) {
  const items = [];
  const waiters = new Set();
  let ended = false;
  let failure;
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const done = (async () => {
    try {
      for await (const item of iterable) {
        items.push(item);
        wake();
      }
    } catch (e) {
      failure = e;
    } finally {
      ended = true;
      wake();
    }
  })();
  return {
    items,
    done,
    get failure() {
      return failure;
    },
    get ended() {
      return ended;
    },
    until(what, predicate, { from = 0, ms = 30_000 } = {}) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; seen: ${JSON.stringify(items)}`));
        }, ms);
        function check() {
          const found = items.slice(from).find(predicate);
          if (found !== undefined || ended) {
            clearTimeout(timer);
            waiters.delete(check);
            if (found !== undefined) resolve(found);
            else reject(new Error(`the stream ended (${failure ?? 'no error'}) before ${what}; seen: ${JSON.stringify(items)}`));
          }
        }
        waiters.add(check);
        check();
      });
    },
  };
}

/** Rejects with `what` unless `promise` settles within `ms`. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (`http://host:port`). `cut()` destroys every
 * connection through it (the client sees the network fail, not a close frame) and refuses new ones
 * until `resume()`. `accepted` counts the connections it let through; `idle()` resolves once none
 * is open. With `pieceBytes`, what the server sends reaches the client in pieces of that many bytes,
 * a millisecond apart, so that the client reads records split at arbitrary points.
 */
export async function tcpProxy(target, { pieceBytes } = {}) {
  const { hostname, port } = new URL(target);
  const open = new Set();
  const idleWaiters = [];
  let refusing = false;
  const proxy = {
    accepted: 0,
    /** Writes to the client (more than the server's writes when pieceBytes splits them). */
    pieces: 0,
    url: '',
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    resume() {
      refusing = false;
    },
    idle(ms = 5_000) {
      return within(ms, 'every connection through the proxy to close', new Promise((resolve) => {
        if (open.size === 0) resolve();
        else idleWaiters.push(resolve);
      }));
    },
    close() {
      proxy.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    proxy.accepted += 1;
    const upstream = net.connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      if (open.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    if (!pieceBytes) {
      upstream.on('data', () => (proxy.pieces += 1));
      upstream.pipe(client);
      return;
    }
    // One piece at a time, in order: reading pauses while a chunk is being handed on.
    upstream.on('data', async (chunk) => {
      upstream.pause();
      for (let at = 0; at < chunk.length && !client.destroyed; at += pieceBytes) {
        client.write(chunk.subarray(at, at + pieceBytes));
        proxy.pieces += 1;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      upstream.resume();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  return proxy;
}
