// Finding the renderer again after it restarted (a crash, a restart from Studio).
//
// When the HMR WebSocket drops, Vite's client waits for the server with a ping sent from a
// SharedWorker, then reloads the page. In a cross-site iframe (a design tool or Studio's dashboard
// embedding the preview) that worker's ping never reaches the server, and the page would stay
// disconnected for good: no later edit would show. So the page also watches for itself, from the
// document, whose requests carry the preview's cookie: it asks for its own URL until the renderer
// answers, then reloads. Whichever of the two sees the server first reloads; the other is moot.

const FIRST_TRY_MS = 250;
const LONGEST_WAIT_MS = 2000;

export function reloadWhenTheRendererIsBack(): void {
  const hot = import.meta.hot;
  if (!hot) return;
  let waiting = false;
  hot.on("vite:ws:disconnect", () => {
    if (waiting) return;
    waiting = true;
    const attempt = async (wait: number): Promise<void> => {
      try {
        // Studio's door answers 502/503 while the renderer is down or the sandbox is stopped; a
        // request made during a restart waits on the kept socket and is answered by the new one.
        const answer = await fetch(location.href, { cache: "no-store", credentials: "same-origin" });
        if (answer.ok) {
          location.reload();
          return;
        }
      } catch {
        // The connection was refused or cut: try again.
      }
      setTimeout(() => void attempt(Math.min(wait * 2, LONGEST_WAIT_MS)), wait);
    };
    setTimeout(() => void attempt(FIRST_TRY_MS), FIRST_TRY_MS);
  });
}
