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
/** Creates Vite in middleware mode from `configFile`, its HMR WebSocket on `httpServer`. */
const startVite = (configFile) =>
  createServer({
    configFile,
    // Loads the config with Node's import(): nothing is written next to it or into the store.
    configLoader: "native",
    server: {
      middlewareMode: true,
      // HMR upgrades arrive on this server; without it Vite would listen on a port of its own.
      ws: { server: httpServer },
    },
  });
let vite = await startVite(fileURLToPath(new URL("./vite.config.mjs", import.meta.url)));
// `vite.middlewares` stays the same object when Vite restarts itself (a config change), so this
// one handler keeps serving the new instance. Only a pool hand-over (below) replaces `vite`.
httpServer.on("request", (req, res) => {
  if (vite) return vite.middlewares(req, res);
  res.statusCode = 503;
  res.end("renderer switching sandboxes");
});
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
    (vite ? vite.close() : Promise.resolve()).finally(() => process.exit(0));
  });
}

// Pool mode (`STUDIO_POOL_CONTROL`, see crates/studio-renderer/src/pool.rs): this process was
// started ahead of any sandbox, on a tiny app of Studio's own, so that Node, Vite, the module
// cache, the JIT and the dependency optimizer are warm. It waits on a Unix socket (never a pipe:
// the server may restart meanwhile) for one JSON line naming a sandbox's `.studio/vite.config.mjs`
// and its checkout, which Studio has made visible in this process's jail. Then it drops the
// throwaway Vite, moves into the checkout and serves it with a new Vite on the same listening
// socket (whose path Studio renames to the sandbox's). It answers one JSON line, `{"ok":true}` or
// `{"ok":false,"error":…}` (and exits: a half-switched process is no use to anyone).
const control = process.env.STUDIO_POOL_CONTROL;
if (control) {
  const { createServer: createControlServer } = await import("node:net");
  const { statSync } = await import("node:fs");
  let claimed = false;
  const controlServer = createControlServer((connection) => {
    let buffered = "";
    connection.setEncoding("utf8");
    connection.on("error", () => {});
    connection.on("data", async (chunk) => {
      buffered += chunk;
      const newline = buffered.indexOf("\n");
      if (newline === -1 || claimed) {
        if (buffered.length > 65536) connection.destroy();
        return;
      }
      claimed = true;
      try {
        const { config, cwd } = JSON.parse(buffered.slice(0, newline));
        if (typeof config !== "string" || typeof cwd !== "string") throw new Error("config and cwd must be paths");
        if (!statSync(config).isFile()) throw new Error(`${config} is not a file`);
        process.chdir(cwd);
        const warm = vite;
        vite = null;
        // The throwaway Vite closes while the sandbox's starts: each removes only its own HMR
        // listener from the shared HTTP server.
        const [, next] = await Promise.all([warm.close(), startVite(config)]);
        vite = next;
        controlServer.close();
        console.log(`studio renderer took over ${cwd} (pool hand-over), pid ${process.pid}`);
        connection.end(`${JSON.stringify({ ok: true })}\n`);
      } catch (error) {
        console.error(`studio: pool hand-over failed: ${error.message}`);
        connection.end(`${JSON.stringify({ ok: false, error: String(error.message) })}\n`, () => process.exit(1));
      }
    });
  });
  controlServer.on("error", (error) => {
    console.error(`studio: cannot listen on the pool control socket ${control}: ${error.message}`);
    process.exit(1);
  });
  controlServer.listen(control, () => console.log(`studio pool renderer waiting on ${control}`));
}
