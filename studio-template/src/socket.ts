// The page's connection to Studio's WebSocket for its sandbox.
//
// Messages are `{"type", "payload", "seq"}`. `seq` grows by one per sandbox; the last one seen is
// kept in sessionStorage so that a reconnect (`?since=<seq>`), or the page load that follows a
// `reload` event, neither misses events nor replays them (a replayed `reload` would loop forever).
// The page sends `component-selected` and `component-state` (see report.ts) without a `seq`.

import type { ComponentState } from "./report.ts";

export interface SocketHandlers {
  onSelect(component: string): void;
  onReload(): void;
  /** The socket (re)opened: Studio may have missed anything sent before. */
  onOpen?(): void;
}

export interface StudioSocket {
  /** Tells Studio (and through it every other client) that the designer picked a component. */
  select(component: string): void;
  /** Sends tile states to Studio; dropped while the socket is not open (`onOpen` follows). */
  report(states: ComponentState[]): void;
  close(): void;
}

// A preview embedded in a cross-site iframe (a design tool, the dashboard) may be denied its
// storage: reading `sessionStorage` then throws. The page must work anyway, so the last seq falls
// back to memory (a page load forgets it, which costs a replay of events, not a broken page).
const memory = new Map<string, string>();
const storage = {
  get(key: string): string | null {
    try {
      return sessionStorage.getItem(key);
    } catch {
      return memory.get(key) ?? null;
    }
  },
  set(key: string, value: string): void {
    try {
      sessionStorage.setItem(key, value);
    } catch {
      memory.set(key, value);
    }
  },
};

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5_000;

export function connectStudioSocket(url: string, sandboxId: string | null, handlers: SocketHandlers): StudioSocket {
  const seqKey = `studio:last-seq:${sandboxId ?? url}`;
  let lastSeq = Number(storage.get(seqKey) ?? "NaN");
  let socket: WebSocket | null = null;
  let backoff = MIN_BACKOFF_MS;
  let closed = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const root = document.documentElement;

  const remember = (seq: number) => {
    lastSeq = seq;
    storage.set(seqKey, String(seq));
  };

  const open = () => {
    const target = new URL(url);
    if (Number.isFinite(lastSeq)) target.searchParams.set("since", String(lastSeq));
    const ws = new WebSocket(target);
    socket = ws;
    ws.onopen = () => {
      backoff = MIN_BACKOFF_MS;
      root.dataset.studioSocket = "open";
      handlers.onOpen?.();
    };
    ws.onmessage = (message) => {
      let event: { type?: unknown; payload?: Record<string, unknown>; seq?: unknown };
      try {
        event = JSON.parse(String(message.data));
      } catch {
        return; // Not ours to interpret; Studio only sends JSON.
      }
      if (typeof event.seq === "number") {
        if (Number.isFinite(lastSeq) && event.seq <= lastSeq) return; // already handled
        remember(event.seq);
      }
      if (event.type === "component-selected" && typeof event.payload?.component === "string") {
        handlers.onSelect(event.payload.component);
      } else if (event.type === "reload") {
        handlers.onReload();
      }
    };
    ws.onclose = () => {
      root.dataset.studioSocket = "closed";
      if (socket === ws) socket = null;
      if (closed) return;
      // Exponential backoff with jitter, so that many pages do not stampede a restarted Studio.
      const delay = backoff * (0.75 + Math.random() * 0.5);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      retryTimer = setTimeout(open, delay);
    };
  };

  open();
  return {
    select(component) {
      if (socket?.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "component-selected", payload: { component } }));
      }
    },
    report(states) {
      if (socket?.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "component-state", payload: { states } }));
        window.__studioReportsSent = (window.__studioReportsSent ?? 0) + states.length;
      }
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      socket?.close();
    },
  };
}
