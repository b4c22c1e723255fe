/**
 * A typed client for Studio's REST API and event stream, for Node (>= 20.19; `watch` needs the
 * global `WebSocket`, i.e. Node 22, or Node 20 with `--experimental-websocket`) and browsers.
 *
 * All runtime code is in this one file on purpose: `tsc` turns it into one self-contained ES module
 * (`dist/index.js`, no imports) that Studio also serves to its dashboard as `/dashboard/client.js`.
 * The REST types come from `openapi.ts` (generated from the server's OpenAPI document) and the
 * WebSocket messages from `events.ts`; both are imported as types only.
 */
/**
 * A failed call. `message` is the API's `error` text verbatim, `code` its machine code
 * (`unauthorized`, `sandbox_not_found`, ...), `status` the HTTP status: 0 and `network_error` when
 * Studio could not be reached.
 */
export class StudioError extends Error {
    status;
    code;
    constructor(status, code, message) {
        super(message);
        this.name = 'StudioError';
        this.status = status;
        this.code = code;
    }
}
/** Statuses after which a sandbox publishes nothing more (its event stream is closed for good). */
const FINAL_STATUSES = new Set(['expired', 'finalized']);
/** Reconnection backoff of `watch`: doubles from the first to the last. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** A connection that stayed open this long was a good one: the backoff starts over. */
const HEALTHY_CONNECTION_MS = 5_000;
export class StudioClient {
    baseUrl;
    #token;
    #fetch;
    #WebSocket;
    /** Open `watch` streams by sandbox, for `selectComponent`. */
    #watches = new Map();
    constructor(options) {
        this.baseUrl = options.baseUrl.replace(/\/+$/, '');
        this.#token = options.token;
        const fetchImpl = options.fetch ?? globalThis.fetch;
        // Called as a plain function: a browser's fetch refuses to run with another `this`.
        this.#fetch = (input, init) => fetchImpl(input, init);
        this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    }
    /** `POST /api/v1/sandboxes`: answers once the renderer serves (this takes seconds). */
    createSandbox(request) {
        return this.#json('POST', '/api/v1/sandboxes', { body: request });
    }
    get(id) {
        return this.#json('GET', sandboxPath(id));
    }
    async list() {
        const list = await this.#json('GET', '/api/v1/sandboxes');
        return list.sandboxes;
    }
    /**
     * Writes or deletes a file of the sandbox's checkout; with auto-commit, answers the commit. With
     * `expected_hash` (the `hash` of {@link StudioClient.readFile}) it fails with StudioError 409
     * `stale_file`, writing nothing, when the file changed since it was read.
     */
    execute(id, request) {
        return this.#json('POST', `${sandboxPath(id)}/execute`, { body: request });
    }
    /**
     * `GET …/files?path=`: a directory of the checkout (default: the repository root), directories
     * first, then files; `.git`, `.studio/` and `node_modules/` are never listed.
     */
    async listFiles(id, path) {
        const query = path === undefined ? '' : `?${new URLSearchParams({ path })}`;
        const list = await this.#json('GET', `${sandboxPath(id)}/files${query}`);
        return list.entries;
    }
    /** `GET …/files/{path}`: a file's text, size and git blob id (`hash`). */
    readFile(id, path) {
        const segments = path.split('/').map(encodeURIComponent).join('/');
        return this.#json('GET', `${sandboxPath(id)}/files/${segments}`);
    }
    /**
     * `GET …/components`: the components as the preview shows them, each with its file, export,
     * stories (and their args), props, and what the open pages last said of it (`state`, `error`
     * with file and line). Fails with StudioError 409 `renderer_not_running` when stopped.
     */
    async components(id) {
        const list = await this.#json('GET', `${sandboxPath(id)}/components`);
        return list.components;
    }
    rollback(id, target) {
        return this.#json('POST', `${sandboxPath(id)}/rollback`, { body: target });
    }
    /** Pushes the session branch and opens a pull request; the sandbox is then torn down. */
    finalize(id, request) {
        return this.#json('POST', `${sandboxPath(id)}/finalize`, { body: request });
    }
    start(id) {
        return this.#json('POST', `${sandboxPath(id)}/start`);
    }
    stop(id) {
        return this.#json('POST', `${sandboxPath(id)}/stop`);
    }
    restart(id) {
        return this.#json('POST', `${sandboxPath(id)}/restart`);
    }
    async delete(id) {
        await this.#request('DELETE', sandboxPath(id));
    }
    /**
     * The renderer's output. Without `follow`: the recent lines, then the iteration ends. With
     * `follow`: those, then every new line (NDJSON) until `signal` aborts (the iteration then ends
     * without an error) or the renderer goes away; `{ skipped: n }` stands for lines a slow reader missed.
     */
    async *logs(id, options = {}) {
        const query = new URLSearchParams();
        if (options.limit !== undefined)
            query.set('limit', String(options.limit));
        if (options.follow)
            query.set('follow', 'true');
        const search = query.toString();
        const path = `${sandboxPath(id)}/logs${search ? `?${search}` : ''}`;
        // Ours as well as the caller's: leaving the loop early (`break`) must end the request too.
        const stop = new AbortController();
        const signal = options.signal ? anySignal([options.signal, stop.signal]) : stop.signal;
        try {
            let response;
            try {
                response = await this.#request('GET', path, { signal });
            }
            catch (e) {
                if (signal.aborted)
                    return;
                throw e;
            }
            if (!options.follow) {
                const body = (await response.json());
                yield* body.lines;
                return;
            }
            yield* readNdjson(response, signal);
        }
        finally {
            stop.abort();
        }
    }
    /** A one-time link (valid 3 minutes) that opens the sandbox's preview in a browser. */
    previewLink(id) {
        return this.#json('POST', `${sandboxPath(id)}/preview-link`);
    }
    /** A token that can drive this one sandbox (API token only). Its text is shown this once. */
    createToken(id, options = {}) {
        const body = options.expiresInHours === undefined ? undefined : { expires_in_hours: options.expiresInHours };
        return this.#json('POST', `${sandboxPath(id)}/tokens`, { body });
    }
    /**
     * The sandbox's events, in `seq` order, each once: when the connection drops, the stream
     * reconnects by itself (backoff from 100 ms to 5 s) with `?since=<last seq seen>`, after checking
     * that the sandbox still exists. Ends when `signal` aborts, when the consumer stops iterating, or
     * when the sandbox is finalized or expired; throws a {@link StudioError} when the sandbox is gone
     * (404) or the token is refused (401, 403).
     *
     * Without `since`, a drop before the first event resumes from the live stream (there is no seq
     * to resume from yet); pass `since` (e.g. `0`) to make the whole stream gap-free.
     */
    watch(id, options = {}) {
        const host = {
            url: (since) => {
                const url = new URL(`${this.baseUrl}${sandboxPath(id)}/ws`, globalThis.location?.href);
                url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
                if (since !== undefined)
                    url.searchParams.set('since', String(since));
                if (this.#token !== undefined)
                    url.searchParams.set('token', this.#token);
                return url.href;
            },
            open: (url) => {
                if (!this.#WebSocket) {
                    throw new TypeError('no WebSocket implementation: pass options.WebSocket (Node 20 has one with --experimental-websocket)');
                }
                return new this.#WebSocket(url);
            },
            get: (signal) => this.#json('GET', sandboxPath(id), { signal }),
            register: (stream, open) => {
                let streams = this.#watches.get(id);
                if (open) {
                    if (!streams)
                        this.#watches.set(id, (streams = new Set()));
                    streams.add(stream);
                }
                else if (streams) {
                    streams.delete(stream);
                    if (streams.size === 0)
                        this.#watches.delete(id);
                }
            },
        };
        return { [Symbol.asyncIterator]: () => new EventStream(host, options) };
    }
    /** Tells the sandbox's clients that `component` is selected, over an open `watch` of it; without one, does nothing. */
    selectComponent(id, component) {
        const message = { type: 'component-selected', payload: { component } };
        for (const stream of this.#watches.get(id) ?? []) {
            if (stream.send(JSON.stringify(message)))
                return;
        }
    }
    async #json(method, path, init = {}) {
        const response = await this.#request(method, path, init);
        try {
            return (await response.json());
        }
        catch (e) {
            throw new StudioError(response.status, 'invalid_response', `${method} ${path}: the answer is not JSON (${errorText(e)})`);
        }
    }
    /** Sends one request; a non-2xx answer becomes a {@link StudioError}. */
    async #request(method, path, init = {}) {
        const headers = { accept: 'application/json' };
        if (this.#token !== undefined)
            headers.authorization = `Bearer ${this.#token}`;
        let body;
        if (init.body !== undefined) {
            headers['content-type'] = 'application/json';
            body = JSON.stringify(init.body);
        }
        let response;
        try {
            response = await this.#fetch(`${this.baseUrl}${path}`, {
                method,
                headers,
                body,
                signal: init.signal,
            });
        }
        catch (e) {
            // An abort is the caller's own doing: it stays an AbortError.
            if (init.signal?.aborted)
                throw e;
            throw new StudioError(0, 'network_error', `cannot reach Studio at ${this.baseUrl || 'this origin'}: ${errorText(e)}`);
        }
        if (!response.ok)
            throw await errorOf(response);
        return response;
    }
}
function sandboxPath(id) {
    return `/api/v1/sandboxes/${encodeURIComponent(id)}`;
}
function errorText(e) {
    if (e instanceof Error) {
        // undici puts the reason (ECONNREFUSED, ...) in `cause`.
        const cause = e.cause;
        return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
    }
    return String(e);
}
/** The API's `{"error", "code"}` body as a StudioError; any other body keeps its text. */
async function errorOf(response) {
    let text = '';
    try {
        text = await response.text();
    }
    catch {
        // The body broke off: the status still says what happened.
    }
    try {
        const body = JSON.parse(text);
        if (typeof body.error === 'string' && typeof body.code === 'string') {
            return new StudioError(response.status, body.code, body.error);
        }
    }
    catch {
        // Not JSON (a proxy's page, say): fall through.
    }
    return new StudioError(response.status, `http_${response.status}`, text.trim() || `${response.status} ${response.statusText}`);
}
/** An AbortSignal that aborts when any of `signals` does (AbortSignal.any is newer than some targets). */
function anySignal(signals) {
    const controller = new AbortController();
    for (const signal of signals) {
        if (signal.aborted) {
            controller.abort(signal.reason);
            break;
        }
        signal.addEventListener('abort', () => controller.abort(signal.reason), {
            once: true,
            signal: controller.signal,
        });
    }
    return controller.signal;
}
/** The JSON records of a newline-delimited body; ends quietly when `signal` aborts. */
async function* readNdjson(response, signal) {
    if (!response.body)
        return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    // A record may be split across chunks (and a character across bytes): keep the unfinished tail.
    let pending = '';
    try {
        for (;;) {
            let chunk;
            try {
                chunk = await reader.read();
            }
            catch (e) {
                if (signal.aborted)
                    return;
                throw new StudioError(0, 'network_error', `the log stream broke off: ${errorText(e)}`);
            }
            if (chunk.done) {
                pending += decoder.decode();
            }
            else {
                pending += decoder.decode(chunk.value, { stream: true });
            }
            let newline;
            while ((newline = pending.indexOf('\n')) >= 0) {
                const line = pending.slice(0, newline).trim();
                pending = pending.slice(newline + 1);
                if (line)
                    yield parseRecord(line, response.status);
            }
            if (chunk.done) {
                if (pending.trim())
                    yield parseRecord(pending.trim(), response.status);
                return;
            }
        }
    }
    finally {
        // The consumer may leave early: do not leave the body half-read.
        reader.cancel().catch(() => { });
    }
}
function parseRecord(line, status) {
    try {
        return JSON.parse(line);
    }
    catch (e) {
        throw new StudioError(status, 'invalid_response', `a log record is not JSON: ${errorText(e)}`);
    }
}
/** Waits `ms`, or less if `signal` aborts. */
function sleep(ms, signal) {
    return new Promise((resolve) => {
        if (signal.aborted)
            return resolve();
        const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', done, { once: true });
    });
}
/**
 * The iterator behind `watch`: one connection at a time, a queue between the socket and the
 * consumer (messages arrive whether or not `next()` is waiting, and none may be lost), and the
 * last `seq` seen, which both filters repeats and is where a reconnection resumes.
 */
class EventStream {
    #host;
    #userSignal;
    /** Aborted when the stream ends for any reason: stops the loop, its sleeps and its requests. */
    #stop = new AbortController();
    #queue = [];
    #waiters = [];
    #last;
    #socket = null;
    #started = false;
    #done = false;
    #failure = null;
    #onUserAbort = () => this.#finish();
    constructor(host, options) {
        this.#host = host;
        this.#last = options.since;
        this.#userSignal = options.signal;
    }
    next() {
        if (!this.#started)
            this.#start();
        const value = this.#queue.shift();
        if (value !== undefined)
            return Promise.resolve({ value, done: false });
        if (this.#failure) {
            const { error } = this.#failure;
            this.#failure = null;
            return Promise.reject(error);
        }
        if (this.#done)
            return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
    /** The consumer left the loop (`break`, an exception): close everything. */
    return() {
        this.#started = true;
        this.#finish();
        this.#queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
    }
    /** Sends a text message if the socket is open; false if it is not. */
    send(text) {
        const socket = this.#socket;
        if (!socket || socket.readyState !== socket.OPEN)
            return false;
        socket.send(text);
        return true;
    }
    #start() {
        this.#started = true;
        if (this.#userSignal?.aborted) {
            this.#finish();
            return;
        }
        this.#userSignal?.addEventListener('abort', this.#onUserAbort, { once: true });
        this.#host.register(this, true);
        this.#run().catch((error) => this.#fail(error));
    }
    async #run() {
        const signal = this.#stop.signal;
        let delay = BACKOFF_FIRST_MS;
        while (!signal.aborted) {
            const closed = await this.#connect();
            if (signal.aborted)
                return;
            if (closed.opened && closed.lasted >= HEALTHY_CONNECTION_MS)
                delay = BACKOFF_FIRST_MS;
            // Before trying again: is there still something to watch, and may we? (A browser's
            // WebSocket never shows the handshake's status, so a 404 or 401 shows here.)
            try {
                const sandbox = await this.#host.get(signal);
                // Finalized or expired, the server closed the stream for good (1000) after sending all
                // it had: nothing more will come. After a drop instead, reconnect to get what was
                // missed (the stream then stays open with nothing more to come, until `signal` aborts).
                if (FINAL_STATUSES.has(sandbox.status) && closed.opened && closed.code === 1000) {
                    return this.#finish();
                }
            }
            catch (e) {
                if (signal.aborted)
                    return;
                // 4xx: gone, or not allowed. Anything else (unreachable, 5xx) may pass: keep trying.
                if (e instanceof StudioError && e.status >= 400 && e.status < 500)
                    return this.#fail(e);
            }
            await sleep(delay, signal);
            delay = Math.min(delay * 2, BACKOFF_MAX_MS);
        }
    }
    /** Opens one connection and resolves when it is over (closed by either side, or aborted). */
    #connect() {
        return new Promise((resolve) => {
            const signal = this.#stop.signal;
            let socket;
            try {
                socket = this.#host.open(this.#host.url(this.#last));
            }
            catch (e) {
                // No WebSocket at all, or a malformed URL: retrying cannot help.
                this.#fail(e);
                resolve({ opened: false, code: 0, lasted: 0 });
                return;
            }
            this.#socket = socket;
            let openedAt;
            let over = false;
            const finish = (code) => {
                if (over)
                    return;
                over = true;
                signal.removeEventListener('abort', onAbort);
                socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
                if (this.#socket === socket)
                    this.#socket = null;
                resolve({
                    opened: openedAt !== undefined,
                    code,
                    lasted: openedAt === undefined ? 0 : Date.now() - openedAt,
                });
            };
            // `finish` first, then `close`: it drops the handlers, and Node 20's WebSocket fires `error`
            // again, synchronously, when a connecting socket is closed. With the handlers still set,
            // that error closed it again, and so on, until the stack overflowed inside the WebSocket
            // and left this connection neither open nor over: the stream never reconnected.
            const onAbort = () => {
                finish(1000);
                try {
                    socket.close(1000, 'done');
                }
                catch {
                    // Already closing.
                }
            };
            signal.addEventListener('abort', onAbort, { once: true });
            socket.onopen = () => {
                openedAt = Date.now();
            };
            socket.onmessage = (message) => this.#receive(message.data);
            // The standard has a close event follow every error, but some implementations (Node 20's)
            // fire none after a refused handshake: the error ends the connection on its own.
            socket.onerror = () => {
                finish(1006);
                try {
                    socket.close();
                }
                catch {
                    // Already closed.
                }
            };
            socket.onclose = (event) => finish(event.code);
        });
    }
    #receive(data) {
        if (this.#done || typeof data !== 'string')
            return;
        let message;
        try {
            message = JSON.parse(data);
        }
        catch {
            return; // Studio sends JSON only; anything else is not a message of its stream.
        }
        if (typeof message !== 'object' || message === null)
            return;
        if (typeof message.seq === 'number') {
            // A replay after a reconnection may overlap what was already delivered: seq says.
            if (this.#last !== undefined && message.seq <= this.#last)
                return;
            this.#last = message.seq;
        }
        this.#push(message);
    }
    #push(message) {
        const waiter = this.#waiters.shift();
        if (waiter)
            waiter.resolve({ value: message, done: false });
        else
            this.#queue.push(message);
    }
    /** Ends the stream with an error: the consumer gets what is queued first, then the error. */
    #fail(error) {
        if (this.#done)
            return;
        this.#close();
        const waiter = this.#waiters.shift();
        if (waiter)
            waiter.reject(error);
        else
            this.#failure = { error };
        this.#settleWaiters();
    }
    /** Ends the stream: what is queued is still delivered, then `done`. */
    #finish() {
        if (this.#done)
            return;
        this.#close();
        this.#settleWaiters();
    }
    #close() {
        this.#done = true;
        this.#stop.abort();
        this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
        this.#host.register(this, false);
    }
    #settleWaiters() {
        for (const waiter of this.#waiters.splice(0))
            waiter.resolve({ value: undefined, done: true });
    }
}
