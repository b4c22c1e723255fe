/**
 * A typed client for Studio's REST API and event stream, for Node (>= 20.19; `watch` needs the
 * global `WebSocket`, i.e. Node 22, or Node 20 with `--experimental-websocket`) and browsers.
 *
 * All runtime code is in this one file on purpose: `tsc` turns it into one self-contained ES module
 * (`dist/index.js`, no imports) that Studio also serves to its dashboard as `/dashboard/client.js`.
 * The REST types come from `openapi.ts` (generated from the server's OpenAPI document) and the
 * WebSocket messages from `events.ts`; both are imported as types only.
 */
import type { components } from './openapi.js';
import type { SandboxEvent } from './events.js';
export type { components, paths, operations } from './openapi.js';
export type * from './events.js';
type Schemas = components['schemas'];
export type ErrorBody = Schemas['ErrorBody'];
export type CreateSandboxRequest = Schemas['CreateSandboxRequest'];
export type CreateSandboxResponse = Schemas['CreateSandboxResponse'];
export type SandboxView = Schemas['SandboxView'];
/** Memory and CPU of the sandbox's renderer tree (its cgroup), when the host accounts them. */
export type ResourcesView = Schemas['ResourcesView'];
export type CommitView = Schemas['CommitView'];
export type ExecuteRequest = Schemas['ExecuteRequest'];
export type ExecuteResponse = Schemas['ExecuteResponse'];
export type RollbackResponse = Schemas['RollbackResponse'];
export type FinalizeRequest = Schemas['FinalizeRequest'];
export type FinalizeResponse = Schemas['FinalizeResponse'];
export type LogLineView = Schemas['LogLineView'];
/** One record of `logs()`: a line of renderer output, or `{ skipped: n }` when a follower fell behind. */
export type LogLine = Schemas['LogRecord'];
export type PreviewLinkResponse = Schemas['PreviewLinkResponse'];
export type TokenCreated = Schemas['TokenCreated'];
/** One entry of `listFiles`: a `dir`, or a `file` with its `size` in bytes. */
export type FileEntry = Schemas['FileEntry'];
/** A file's text with its git blob id (`hash`), the `expected_hash` of a later `execute`. */
export type FileContent = Schemas['FileContent'];
/** One component of {@link StudioClient.components}: file, export, stories with args, props, state. */
export type ComponentInfo = Schemas['ComponentView'];
/** `pending` (no open page reported it), `rendered` or `error`. */
export type RenderState = Schemas['RenderStateView'];
export interface StudioClientOptions {
    /** Where Studio is, e.g. `http://127.0.0.1:7700`; `""` means this page's origin (browsers). */
    baseUrl: string;
    /**
     * The API token or a sandbox's scoped token: sent as `Authorization: Bearer`, and as `?token=`
     * on the WebSocket (browsers cannot set headers there).
     */
    token?: string;
    /** Default: `globalThis.fetch`. */
    fetch?: typeof fetch;
    /** Default: `globalThis.WebSocket`. */
    WebSocket?: typeof WebSocket;
}
export interface LogsOptions {
    /** How many recent lines (server default 200, at most 10,000). */
    limit?: number;
    /** Keep streaming new lines until `signal` aborts. */
    follow?: boolean;
    signal?: AbortSignal;
}
export interface WatchOptions {
    /**
     * Replay every event with a larger `seq` first (`0`: the whole history). Without it the stream
     * starts with the events published after the connection opens.
     */
    since?: number;
    /** Ends the iteration (and closes the socket) when aborted. */
    signal?: AbortSignal;
}
/**
 * A failed call. `message` is the API's `error` text verbatim, `code` its machine code
 * (`unauthorized`, `sandbox_not_found`, ...), `status` the HTTP status: 0 and `network_error` when
 * Studio could not be reached.
 */
export declare class StudioError extends Error {
    readonly status: number;
    readonly code: string;
    constructor(status: number, code: string, message: string);
}
export declare class StudioClient {
    #private;
    readonly baseUrl: string;
    constructor(options: StudioClientOptions);
    /** `POST /api/v1/sandboxes`: answers once the renderer serves (this takes seconds). */
    createSandbox(request: CreateSandboxRequest): Promise<CreateSandboxResponse>;
    get(id: string): Promise<SandboxView>;
    list(): Promise<SandboxView[]>;
    /**
     * Writes or deletes a file of the sandbox's checkout; with auto-commit, answers the commit. With
     * `expected_hash` (the `hash` of {@link StudioClient.readFile}) it fails with StudioError 409
     * `stale_file`, writing nothing, when the file changed since it was read.
     */
    execute(id: string, request: ExecuteRequest): Promise<ExecuteResponse>;
    /**
     * `GET …/files?path=`: a directory of the checkout (default: the repository root), directories
     * first, then files; `.git`, `.studio/` and `node_modules/` are never listed.
     */
    listFiles(id: string, path?: string): Promise<FileEntry[]>;
    /** `GET …/files/{path}`: a file's text, size and git blob id (`hash`). */
    readFile(id: string, path: string): Promise<FileContent>;
    /**
     * `GET …/components`: the components as the preview shows them, each with its file, export,
     * stories (and their args), props, and what the open pages last said of it (`state`, `error`
     * with file and line). Fails with StudioError 409 `renderer_not_running` when stopped.
     */
    components(id: string): Promise<ComponentInfo[]>;
    rollback(id: string, target: {
        commit_hash: string;
    } | {
        steps: number;
    }): Promise<RollbackResponse>;
    /** Pushes the session branch and opens a pull request; the sandbox is then torn down. */
    finalize(id: string, request: {
        title: string;
        description?: string;
    }): Promise<FinalizeResponse>;
    start(id: string): Promise<SandboxView>;
    stop(id: string): Promise<SandboxView>;
    restart(id: string): Promise<SandboxView>;
    delete(id: string): Promise<void>;
    /**
     * The renderer's output. Without `follow`: the recent lines, then the iteration ends. With
     * `follow`: those, then every new line (NDJSON) until `signal` aborts (the iteration then ends
     * without an error) or the renderer goes away; `{ skipped: n }` stands for lines a slow reader missed.
     */
    logs(id: string, options?: LogsOptions): AsyncIterable<LogLine>;
    /** A one-time link (valid 3 minutes) that opens the sandbox's preview in a browser. */
    previewLink(id: string): Promise<PreviewLinkResponse>;
    /** A token that can drive this one sandbox (API token only). Its text is shown this once. */
    createToken(id: string, options?: {
        expiresInHours?: number;
    }): Promise<TokenCreated>;
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
    watch(id: string, options?: WatchOptions): AsyncIterable<SandboxEvent>;
    /** Tells the sandbox's clients that `component` is selected, over an open `watch` of it; without one, does nothing. */
    selectComponent(id: string, component: string): void;
}
