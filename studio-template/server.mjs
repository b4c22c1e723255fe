// The renderer's HTTP server: Vite in middleware mode on the listening socket Studio hands over.
//
// Studio's supervisor binds the renderer's Unix socket (`<data-dir>/run/<sandbox>.sock`) and
// passes the listening descriptor as fd 3, named by `STUDIO_LISTEN_FD`. Nothing here opens a TCP
// port: the page, its modules and Vite's HMR WebSocket (attached to this same server through
// `server.ws.server`) all come through that socket, and Studio's front door is the only way in.
// Because the supervisor keeps the listener across restarts, a request that arrives while this
// process is down waits for the next one instead of being refused.
//
// Everything about the app itself is `vite.config.mjs`; this file only adds what a server owns:
// where to listen and how to stop.
import http from "node:http";
import { fileURLToPath } from "node:url";
import { createServer } from "vite";

// Studio's supervisor gives this process files as stdout and stderr (`<data-dir>/run/logs/`),
// which never lose their reader. A supervisor run without a log directory uses pipes instead; if
// it is killed, a write then fails with EPIPE, which Node turns into an uncaught error that would
// end a renderer that should keep serving: this guard is for that case. (Here, not in
// vite.config.mjs: Vite re-imports its config on every config change, which would add these
// listeners again each time.)
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code !== "EPIPE") throw error;
  });
}

const fd = Number(process.env.STUDIO_LISTEN_FD);
if (!Number.isInteger(fd) || fd < 3) {
  console.error("studio: STUDIO_LISTEN_FD must name the inherited listening socket (e.g. 3)");
  process.exit(64);
}

const httpServer = http.createServer();
const vite = await createServer({
  configFile: fileURLToPath(new URL("./vite.config.mjs", import.meta.url)),
  // Loads the config with Node's import(): nothing is written next to it or into the store.
  configLoader: "native",
  server: {
    middlewareMode: true,
    // HMR upgrades arrive on this server; without it Vite would listen on a port of its own.
    ws: { server: httpServer },
  },
});
// `vite.middlewares` stays the same object when Vite restarts itself (a config change), so this
// one handler keeps serving the new instance.
httpServer.on("request", (req, res) => vite.middlewares(req, res));
httpServer.on("error", (error) => {
  console.error(`studio: cannot serve on fd ${fd}: ${error.message}`);
  process.exit(1);
});
httpServer.listen({ fd }, () => console.log(`studio renderer serving on fd ${fd}, pid ${process.pid}`));

// A stop is SIGTERM to the whole process group. Close Vite (watcher, HMR clients) and exit; the
// listening socket belongs to the supervisor, which keeps or removes it.
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    httpServer.close();
    httpServer.closeAllConnections();
    vite.close().finally(() => process.exit(0));
  });
}
