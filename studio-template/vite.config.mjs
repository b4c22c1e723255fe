// Vite configuration of one Studio renderer.
//
// Studio copies this file into `<checkout>/.studio/` and writes `settings.json` (root, allowed
// host, cache dir) and `warmup.json` (files to pre-transform) beside it. `server.mjs` runs it in
// middleware mode on the socket Studio hands over, loaded with the native config loader, so
// loading it writes nothing (the default loader bundles it into `node_modules/.vite-temp`, which
// would be the shared, read-only template store).
//
// Vite's root is the repository checkout, not `.studio/`: that way Vite watches the repository (new
// and deleted component files reach `import.meta.glob`), its tsconfig `paths`, `public/` and CSS
// resolve exactly as in the repository's own tooling, and globs read like the user wrote them.
// The page itself lives in `.studio/index.html`; a middleware serves it at `/`.
import { existsSync, readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { depsSeed } from "./deps-seed.mjs";
import { studioDiagnose } from "./diagnose.mjs";
import { lateWrites } from "./late-writes.mjs";
import { studioManifest } from "./manifest.mjs";

const readJson = (name) => JSON.parse(readFileSync(new URL(name, import.meta.url), "utf8"));
const settings = readJson("./settings.json");
const warmup = readJson("./warmup.json");
const pagePath = `/${settings.studioDir}/index.html`;

/** Studio's readiness probe: answers once Vite serves *and* its file watcher has finished the
 * initial scan, without transforming anything. Before the scan completes, an edit is never seen
 * (the watcher has no baseline for it) while the warmed-up module stays cached, so a sandbox that
 * reported ready too early could keep serving a stale file for good. Under load the scan can take
 * longer than the first HTTP answer. */
const HEALTH_PATH = "/__studio/health";
/** Studio tells the renderer which files it just wrote (`?path=` repeated, repository-relative),
 * or, without a path (after a rollback), that any module may be stale. It never has to rely on the
 * file watcher noticing its own writes in time. */
const REFRESH_PATH = "/__studio/refresh";
/** If the watcher's `ready` event was missed (or watching is off), readiness waits no longer. */
const WATCHER_READY_FALLBACK_MS = 5000;

/** Directories at the repository's root that tools fill and no component imports from: test
 * coverage, Storybook's build, framework and bundler caches. Watching them costs an inotify watch
 * per directory (a per-user limit every renderer shares) and the watcher's memory per file.
 * Vite itself already leaves out `.git`, `node_modules`, `test-results` and `dist` (its build
 * output). A change there that Studio makes still reaches Vite (`/__studio/refresh`). */
const UNWATCHED_DIRS = [
  "coverage",
  "storybook-static",
  ".next",
  ".nuxt",
  ".svelte-kit",
  ".turbo",
  ".cache",
  ".parcel-cache",
  ".yarn",
];

/** Studio's own files in `.studio/` (the page's code, the manifest's, this config) change only
 * with a new template, which comes with a new renderer: watching them would cost an inotify watch
 * per file (a per-user limit every renderer shares, see `WATCHES_PER_RENDERER`) for nothing.
 * `src/generated.js` stays watched, with the directories above it: Studio rewrites it when the
 * component globs change, and the page gets that as a hot update. */
function studioOwnFiles(root, studioDir) {
  const studio = resolvePath(root, studioDir);
  const kept = new Set([studio, resolvePath(studio, "src"), resolvePath(studio, "src/generated.js")]);
  return (path) => path.startsWith(`${studio}/`) && !kept.has(path);
}

/** Glob-escapes an absolute path (the root may hold characters globs treat as special). */
const escapeGlob = (path) => path.replace(/[()[\]{}*?|!+@\\]/g, "\\$&");

/** The watcher's extra ignores: `UNWATCHED_DIRS` at the root, except one a component glob
 * reaches into (a repository may keep its components anywhere). */
function unwatched(root, globs) {
  const wanted = globs.filter((glob) => !glob.startsWith("!"));
  return UNWATCHED_DIRS.filter((dir) => !wanted.some((glob) => glob.startsWith(`${dir}/`))).map(
    (dir) => `${escapeGlob(root)}/${dir}/**`,
  );
}

/** Stories import `fn()` (args spies) from `storybook/test` (Storybook 9+, package `storybook`) or
 * `@storybook/test` (Storybook 8). A repository that depends on the package resolves it itself;
 * for one that does not, a no-op stand-in of the template's lets its stories load. A plugin, not
 * `resolve.alias`: the alias would put this checkout's path into the config Vite hashes for its
 * dependency cache, and no other sandbox's seed would match it (deps-seed.mjs). */
const STORYBOOK_TEST = [
  { specifier: "storybook/test", pkg: "storybook" },
  { specifier: "@storybook/test", pkg: "@storybook/test" },
];

function storybookTestShim(root) {
  let manifest = {};
  try {
    manifest = JSON.parse(readFileSync(resolvePath(root, "package.json"), "utf8"));
  } catch {
    // No readable package.json: nothing of Storybook is installed either.
  }
  const declared = new Set(
    ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"].flatMap((field) =>
      Object.keys(manifest?.[field] ?? {}),
    ),
  );
  const shim = fileURLToPath(new URL("./src/storybook-test-shim.ts", import.meta.url));
  const shimmed = new Set(STORYBOOK_TEST.filter(({ pkg }) => !declared.has(pkg)).map(({ specifier }) => specifier));
  return {
    name: "studio:storybook-test",
    enforce: "pre",
    resolveId(id) {
      return shimmed.has(id) ? shim : null;
    },
  };
}

/** Serves the renderer page for `/` (and `/index.html`), whatever the repository has there, and
 * the health endpoint; once listening, transforms Vite's client (the first module every page
 * load waits for) before the first browser asks for it. */
function studioPage() {
  return {
    name: "studio:page",
    configureServer(server) {
      let watching = false;
      server.watcher?.once("ready", () => {
        watching = true;
      });
      setTimeout(() => {
        watching = true;
      }, WATCHER_READY_FALLBACK_MS).unref();
      // Middleware mode: the HTTP server is server.mjs's, reachable as the HMR server.
      const httpServer = server.httpServer ?? server.config.server.ws?.server;
      const warmClient = () => server.warmupRequest("/@vite/client");
      if (httpServer?.listening) warmClient();
      else httpServer?.once("listening", warmClient);
      server.middlewares.use((req, res, next) => {
        const url = req.url ?? "/";
        const queryAt = url.indexOf("?");
        const path = queryAt === -1 ? url : url.slice(0, queryAt);
        if (path === REFRESH_PATH && req.method === "POST") {
          const files = new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1)).getAll("path");
          if (files.length === 0) {
            for (const environment of Object.values(server.environments ?? {})) {
              environment.moduleGraph?.invalidateAll?.();
            }
            server.moduleGraph?.invalidateAll?.();
          }
          for (const file of files) {
            const absolute = resolvePath(settings.root, file);
            if (!absolute.startsWith(settings.root)) continue;
            server.watcher.emit(existsSync(absolute) ? "change" : "unlink", absolute);
          }
          res.setHeader("Cache-Control", "no-store");
          res.end("ok");
          return;
        }
        if (path === HEALTH_PATH) {
          res.setHeader("Cache-Control", "no-store");
          res.statusCode = watching ? 200 : 503;
          res.end(watching ? "ok" : "watcher starting");
          return;
        }
        if (path === "/" || path === "/index.html") {
          req.url = pagePath + (queryAt === -1 ? "" : url.slice(queryAt));
        }
        next();
      });
    },
  };
}

export default {
  root: settings.root,
  // Inside the sandbox: Vite stamps its dependency cache with the absolute root (see deps-seed.mjs).
  cacheDir: settings.cacheDir,
  clearScreen: false,
  server: {
    // No port here: server.mjs serves on the Unix socket Studio hands over (middleware mode).
    // Only Studio's front door reaches it, on this sandbox's own preview host; other previews are
    // other origins, and no CORS header lets one read another's responses.
    cors: false,
    // Vite always accepts `localhost`, `*.localhost` and IP addresses besides these (Studio's own
    // calls over the socket send `Host: localhost`).
    allowedHosts: settings.allowedHosts,
    // Errors are shown in place, next to the component that has them, never over the whole page.
    hmr: { overlay: false },
    // Studio builds a new node_modules here before swapping it in: not the repository's files.
    watch: {
      ignored: [
        `**/${settings.studioDir}/deps-staging-*/**`,
        studioOwnFiles(settings.root, settings.studioDir),
        ...unwatched(settings.root, warmup),
      ],
    },
    // Transform the page and the component files while the browser is still connecting.
    warmup: { clientFiles: warmup },
  },
  resolve: {
    // One React for the page and every component, even if a package nests its own copy.
    dedupe: ["react", "react-dom"],
    tsconfigPaths: true,
  },
  optimizeDeps: {
    // Crawl from our page only: the repository's own HTML entries are not part of the renderer.
    entries: [pagePath.slice(1)],
    include: ["react", "react/jsx-dev-runtime", "react-dom/client"],
  },
  plugins: [
    studioPage(),
    depsSeed(settings.cacheDir),
    lateWrites(),
    storybookTestShim(settings.root),
    studioManifest(settings),
    studioDiagnose(settings),
  ],
};
