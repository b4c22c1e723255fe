// Makes sure the last write to a file always reaches the page.
//
// Vite's watcher (chokidar 3) drops a `change` of a path that comes within 50 ms of the previous
// one (a leading-edge throttle with no trailing event). A design tool that saves the same file twice
// in quick succession would then see the first version on the page, for good. So for every change
// we remember the file's content and look again a little later: if it differs, we emit the change
// ourselves. Emitting on the watcher bypasses chokidar's throttle and reaches Vite's handlers; an
// unneeded extra change only costs one identical hot update.
import { readFileSync } from "node:fs";

const RECHECK_AFTER_MS = 60;

function contentOf(file) {
  try {
    return readFileSync(file);
  } catch {
    return null; // deleted meanwhile: the unlink event speaks for it
  }
}

export function lateWrites() {
  return {
    name: "studio:late-writes",
    configureServer(server) {
      const pending = new Map();
      server.watcher.on("change", (file) => {
        const seen = contentOf(file);
        clearTimeout(pending.get(file));
        pending.set(
          file,
          setTimeout(() => {
            pending.delete(file);
            const now = contentOf(file);
            if (seen && now && !now.equals(seen)) server.watcher.emit("change", file);
          }, RECHECK_AFTER_MS),
        );
      });
    },
  };
}
