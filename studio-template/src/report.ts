// What every tile of the page reports to Studio: rendered, or an error with its source location.
//
// Tiles (and broken-file cards) publish their state here under an owner id of their own; Studio
// knows them by component and story. Two owners with the same key (a component name in two files,
// a broken stories file beside its component's tile) report as one, and an error wins: hiding a
// failure behind a sibling's success would be worse than the reverse. Changes reach the socket in
// batches, at most one message per 100 ms, each with at most 100 states; a (re)opened socket gets
// every current state once, since Studio may have missed any of them while it was away.

export interface ComponentState {
  component: string;
  /** The story's export name; absent for a component's own tile. */
  story?: string;
  state: "rendered" | "error";
  /** Repository-relative: the component or stories file, or where the error comes from. */
  file: string;
  /** 1-based source line of an error, when known. */
  line?: number;
  /** `"<name>: <message>"` of an error, at most 1,000 characters. */
  message?: string;
}

export interface StateSink {
  report(states: ComponentState[]): void;
}

declare global {
  interface Window {
    /** The states the page reports now, for tests. */
    __studioStates?: ComponentState[];
    /** States handed to an open socket so far, for tests (what Studio received, in order). */
    __studioReportsSent?: number;
  }
}

const BATCH_INTERVAL_MS = 100;
const BATCH_SIZE = 100;
export const MESSAGE_LIMIT = 1000;

const owned = new Map<string, ComponentState>();
/** Per key, the state last handed to the socket (JSON), so that only changes are sent. */
const sent = new Map<string, string>();
let sink: StateSink | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let lastSentAt = -Infinity;

window.__studioStates = [];

const keyOf = (state: ComponentState) => `${state.component}\u0000${state.story ?? ""}`;

/** The state per key, an error before any rendered one. */
function current(): Map<string, ComponentState> {
  const states = new Map<string, ComponentState>();
  for (const state of owned.values()) {
    const key = keyOf(state);
    if (states.get(key)?.state !== "error") states.set(key, state);
  }
  return states;
}

function flush(): void {
  timer = undefined;
  if (!sink) return;
  const changed = [...current()].filter(([key, state]) => sent.get(key) !== JSON.stringify(state));
  if (changed.length === 0) return;
  const batch = changed.slice(0, BATCH_SIZE);
  for (const [key, state] of batch) sent.set(key, JSON.stringify(state));
  lastSentAt = performance.now();
  sink.report(batch.map(([, state]) => state));
  if (changed.length > batch.length) schedule();
}

function schedule(): void {
  if (!sink || timer !== undefined) return;
  timer = setTimeout(flush, Math.max(0, lastSentAt + BATCH_INTERVAL_MS - performance.now()));
}

/** Sets (or, with null, withdraws: the tile is gone) the state of one owner. */
export function publishState(owner: string, state: ComponentState | null): void {
  const before = owned.get(owner);
  if (state === null ? !before : before && JSON.stringify(before) === JSON.stringify(state)) return;
  if (state === null) owned.delete(owner);
  else owned.set(owner, state);
  window.__studioStates = [...current().values()];
  schedule();
}

/** Where states go from now on (null: nowhere, the DOM keeps them). */
export function attachSink(next: StateSink | null): void {
  sink = next;
  clearTimeout(timer);
  timer = undefined;
  sent.clear();
  schedule();
}

/** The socket (re)opened: every current state goes out again. */
export function resendStates(): void {
  sent.clear();
  schedule();
}

/** `"<name>: <message>"`, without the stack, cut to the protocol's limit. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MESSAGE_LIMIT ? text.slice(0, MESSAGE_LIMIT) : text;
}
