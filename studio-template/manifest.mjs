// The component manifest: what the page shows, as data, for Studio's API
// (`GET /api/v1/sandboxes/{id}/components` asks this over the renderer's socket).
//
// GET /__studio/components → 200 application/json, Cache-Control: no-store:
//   {"components": [{"name", "file", "export", "props": [{"name", "type", "required", "default"?,
//                    "description"?}], "stories": [{"name", "export", "file", "args"}]}],
//    "errors": [{"file", "message", "line"?}], "parsed": <files parsed by this request>}
// - components: exactly the page's cards, same names, same order (the API joins the page's
//   render states by name). The rules of `src/discover.ts` and `src/stories.ts` are applied to
//   the source instead of the imported modules (`manifest/components.mjs`, `manifest/stories.mjs`);
//   `export` is `null` for a stories file whose meta names no discovered component.
// - props: react-docgen's reading of the TypeScript/Flow types and propTypes (`[]` when it finds
//   nothing). Stories' `args` are `preview.args` ← `meta.args` ← `story.args`, evaluated from
//   literals; a function is `"[function]"`, what only runs can tell `"[unknown]"`.
// - errors: files that do not parse (the parser's message and line), files over 1 MiB, and more
//   than 2,000 component and stories files (the rest are cut). The answer is still 200; only a
//   failure of the manifest itself is a 500 `{"error": …}`.
// The globs come from `.studio/components.json` (written by Studio, read on every request). Each
// file's analysis is cached by its content's git blob id: a request re-parses changed files only.

const MANIFEST_PATH = "/__studio/components";

/** The analysis (Babel, react-docgen) loads on the first request, not with the renderer. */
let modules = null;
const loadModules = () => (modules ??= import("./manifest/build.mjs"));

function sendJson(res, status, body) {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Cache-Control", "no-store");
  res.end(JSON.stringify(body));
}

export function studioManifest(settings) {
  let cache = null;
  return {
    name: "studio:manifest",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url ?? "/";
        const queryAt = url.indexOf("?");
        const path = queryAt === -1 ? url : url.slice(0, queryAt);
        if (path !== MANIFEST_PATH || req.method !== "GET") {
          next();
          return;
        }
        loadModules()
          .then(async ({ AnalysisCache, buildManifest }) => {
            cache ??= new AnalysisCache();
            sendJson(res, 200, await buildManifest(settings, cache));
          })
          .catch((error) => {
            server.config.logger.error(`${MANIFEST_PATH}: ${error?.stack ?? error}`, { timestamp: true });
            // A failure after the headers went out cannot become a 500 any more.
            if (res.headersSent) res.destroy();
            else sendJson(res, 500, { error: `${error?.message ?? error}` });
          });
      });
    },
  };
}

