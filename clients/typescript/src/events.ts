/**
 * The messages of a sandbox's WebSocket stream (`GET /api/v1/sandboxes/{id}/ws`), written by hand:
 * OpenAPI describes only the upgrade, not what flows over it. See docs/api.md, "WebSocket".
 *
 * Every event is `{type, payload, seq}`; `seq` increases by one per sandbox, so a client that
 * reconnects with `?since=<seq>` gets exactly what it missed. The one message without `seq` is the
 * server's `error` reply to a message this client sent ({@link ClientErrorReply}).
 */

/** A sandbox's lifecycle state, as in the status body. */
export type SandboxStatus =
  | 'starting'
  | 'running'
  | 'restarting'
  | 'stopped'
  | 'failed'
  | 'expired'
  | 'finalized';

/** The sandbox changed state. */
export interface StatusEvent {
  type: 'status';
  payload: { status: SandboxStatus };
  seq: number;
}

/** Something went wrong: a renderer out of memory or crashed past its budget, a failed setup or finalize. */
export interface ErrorEvent {
  type: 'error';
  payload: { error: string };
  seq: number;
}

/** A rollback moved the branch: previews reload. */
export interface ReloadEvent {
  type: 'reload';
  payload: { commit_hash: string };
  seq: number;
}

/** An edit was committed (auto-commit). */
export interface CommitEvent {
  type: 'commit';
  payload: { hash: string; message: string };
  seq: number;
}

/** The inactivity timeout is near. */
export interface ExpiringEvent {
  type: 'expiring';
  payload: { seconds_left: number };
  seq: number;
}

/** A client (a renderer page, a design tool) selected a component. */
export interface ComponentSelectedEvent {
  type: 'component-selected';
  payload: { component: string };
  seq: number;
}

/** Where a component (or one story) stands, as an open renderer page reported it. */
export interface ComponentStatePayload {
  component: string;
  /** The story's export name; absent for a component shown without stories. */
  story?: string;
  /** Repository-relative: the error's source file (through source maps), or the component's file. */
  file: string;
  /** The error's source line; only on `component-error`, when known. */
  line?: number;
  /** The error's message; only on `component-error`. */
  message?: string;
}

/** A component or story rendered on an open page, after it had not (announced once per change). */
export interface ComponentRenderedEvent {
  type: 'component-rendered';
  payload: ComponentStatePayload;
  seq: number;
}

/** A component or story failed to render or to build, or failed differently than before. */
export interface ComponentErrorEvent {
  type: 'component-error';
  payload: ComponentStatePayload & { message: string };
  seq: number;
}

/** One stored event of the sandbox: it has a `seq`. */
export type SandboxEventMessage =
  | StatusEvent
  | ErrorEvent
  | ReloadEvent
  | CommitEvent
  | ExpiringEvent
  | ComponentSelectedEvent
  | ComponentRenderedEvent
  | ComponentErrorEvent;

/**
 * The server's answer, to this client only, to a message it refused (malformed, unknown type, over
 * the rate): not an event of the sandbox, so it has no `seq`.
 */
export interface ClientErrorReply {
  type: 'error';
  payload: { error: string; code: string };
  seq?: undefined;
}

/** What `StudioClient.watch` yields. */
export type SandboxEvent = SandboxEventMessage | ClientErrorReply;

/** Messages a client may send. */
export type ClientMessage =
  | { type: 'component-selected'; payload: { component: string } }
  | { type: 'ping' }
  | { type: 'activity' };
