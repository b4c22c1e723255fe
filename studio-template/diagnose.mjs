// Why a file fails to build, for the page: `GET /@studio/diagnose?path=<repository-relative>`.
//
// A file whose transform fails (a syntax error, an import that does not resolve) reaches the page
// only as a failed dynamic import, which says nothing of where the problem is. Vite knows: this
// transforms the file as the page's import would (a cached result when nothing changed) and answers
// `{"ok": true}` or `{"ok": false, "message", "file", "line", "column"}` from the error's location.
//
// Not under `/__studio/`: Studio's front door keeps those paths for Studio itself, and this one
// the page (a preview visitor) calls. It tells nothing a visitor could not learn by fetching the
// module, and transforms only files under the root, as that fetch would.
import { isAbsolute, relative, resolve, sep } from "node:path";
import { stripVTControlCharacters } from "node:util";

const DIAGNOSE_PATH = "/@studio/diagnose";

function answer(res, status, body) {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Cache-Control", "no-store");
  res.end(JSON.stringify(body));
}

/** The repository-relative path of `path` (the query's), or null if it is absolute, leaves the
 * root or cannot be a module URL (a `?` or `#` would become Vite's query or fragment). */
function repositoryPath(root, path) {
  if (!path || isAbsolute(path) || /^[a-zA-Z]:/.test(path) || /[?#\0\\]/.test(path)) return null;
  const absolute = resolve(root, path);
  if (!absolute.startsWith(root + sep)) return null;
  return relative(root, absolute).split(sep).join("/");
}

/** The error's file, repository-relative (Vite's ids are absolute, possibly with a query). */
function fileOf(root, id, fallback) {
  if (typeof id !== "string") return fallback;
  const file = relative(root, id.replace(/[?#].*$/, ""));
  return !file || file.startsWith("..") || isAbsolute(file) ? fallback : file.split(sep).join("/");
}

/** A parser error's message is its first line; the rest is a code frame drawn for a terminal. */
const firstLine = (text) => stripVTControlCharacters(String(text)).trim().split("\n")[0];

/** What a transform error tells: its message and where it is. Vite's own errors (an import that
 * does not resolve) carry `loc`; Rolldown's parser errors come as `errors`, each with its `loc`. */
export function diagnosis(root, error, fallback) {
  const first = Array.isArray(error?.errors) ? error.errors[0] : undefined;
  const message = first
    ? error.errors.map((each) => firstLine(each?.message ?? each)).join("\n")
    : stripVTControlCharacters(String(error?.message ?? error));
  const loc = error?.loc ?? first?.loc ?? {};
  const body = {
    ok: false,
    message: message.slice(0, 1000),
    file: fileOf(root, loc.file ?? first?.id ?? error?.id, fallback),
  };
  if (Number.isInteger(loc.line) && loc.line > 0) body.line = loc.line;
  if (Number.isInteger(loc.column) && loc.column >= 0) body.column = loc.column;
  return body;
}

export function studioDiagnose(settings) {
  return {
    name: "studio:diagnose",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url ?? "/";
        const queryAt = url.indexOf("?");
        if ((queryAt === -1 ? url : url.slice(0, queryAt)) !== DIAGNOSE_PATH) return next();
        if (req.method !== "GET") return answer(res, 405, { error: "GET only" });
        const requested = new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1)).get("path");
        const path = repositoryPath(settings.root, requested);
        if (!path) return answer(res, 400, { error: "path must be relative to the repository and stay inside it" });
        // The client environment: the page's modules are built by it (Vite 8 keeps
        // `server.transformRequest` as its alias).
        const environment = server.environments?.client ?? server;
        environment.transformRequest(`/${path}`).then(
          (result) =>
            result
              ? answer(res, 200, { ok: true })
              : answer(res, 404, { ok: false, message: `${path} is not a module Vite serves`, file: path }),
          (error) => answer(res, 200, diagnosis(settings.root, error, path)),
        );
      });
    },
  };
}
